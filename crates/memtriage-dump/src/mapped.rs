//! The read-only memory map of a capture file, the [`ByteSource`] of captures on disk: the
//! one place this crate uses `unsafe`.

use crate::{ByteSource, OpenError};
use memmap2::{Mmap, MmapOptions};
use std::fs::File;
use std::io;
use std::path::{Path, PathBuf};

/// A capture file mapped read-only, with its path for error messages.
#[derive(Debug)]
pub struct MappedFile {
    map: Mmap,
    file: File,
    path: PathBuf,
}

impl MappedFile {
    /// Open and map `path` read-only; refuses directories, devices, empty files and files
    /// larger than the address space.
    pub fn open(path: &Path) -> Result<MappedFile, OpenError> {
        let io_err = |source: io::Error| OpenError::Io {
            path: path.to_path_buf(),
            source,
        };
        let meta = std::fs::metadata(path).map_err(io_err)?;
        if meta.is_dir() {
            return Err(io_err(io::Error::other(
                "is a directory, not a capture file",
            )));
        }
        if !meta.is_file() {
            return Err(io_err(io::Error::other(
                "is not a regular file (device, pipe or socket); save the capture to a file first",
            )));
        }
        let file = File::open(path).map_err(io_err)?;
        let len = file.metadata().map_err(io_err)?.len();
        if len == 0 {
            return Err(OpenError::Empty {
                path: path.to_path_buf(),
            });
        }
        if usize::try_from(len).is_err() {
            return Err(io_err(io::Error::other(format!(
                "file of {len} bytes is larger than this platform's address space"
            ))));
        }
        let map = map_read_only(&file).map_err(io_err)?;
        Ok(MappedFile {
            map,
            file,
            path: path.to_path_buf(),
        })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl ByteSource for MappedFile {
    fn len(&self) -> u64 {
        self.map.len() as u64
    }

    /// Reads go through `pread` rather than the mapping, so the pages they touch stay in the
    /// page cache and never count toward this process's resident memory: walkers that read
    /// scattered pages of a multi-gigabyte capture keep a small, constant footprint. The
    /// mapping serves the zero-copy `slice` API.
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> io::Result<()> {
        #[cfg(unix)]
        {
            use std::os::unix::fs::FileExt;
            self.file.read_exact_at(buf, offset)
        }
        #[cfg(not(unix))]
        {
            let src = usize::try_from(offset)
                .ok()
                .and_then(|start| self.map.get(start..start.checked_add(buf.len())?))
                .ok_or_else(|| io::Error::from(io::ErrorKind::UnexpectedEof))?;
            buf.copy_from_slice(src);
            Ok(())
        }
    }

    fn name(&self) -> String {
        self.path.display().to_string()
    }

    fn mapped(&self) -> Option<&[u8]> {
        Some(&self.map)
    }
}

/// Map `file` read-only and private.
#[allow(unsafe_code)]
fn map_read_only(file: &File) -> io::Result<Mmap> {
    // SAFETY: the mapping is PROT_READ and MAP_PRIVATE (`map_copy_read_only`): this process
    // can never write through it, and nothing we do can change the evidence on disk. The
    // remaining hazard of any file mapping is another process truncating or rewriting the
    // file while it is mapped; evidence files are opened read-only and are not modified
    // during analysis (a contract documented on `open`), and the `Mmap` is only ever
    // exposed as an immutable `&[u8]` whose lifetime is tied to the owning reader.
    unsafe { MmapOptions::new().map_copy_read_only(file) }
}
