//! The read-only memory map of a capture file, the [`ByteSource`] of captures on disk: the
//! one place this crate uses `unsafe`.

use crate::{ByteSource, MapAdvice, OpenError};
use memmap2::{Mmap, MmapOptions};
use std::fs::File;
use std::io;
use std::ops::Range;
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

    /// Hints are best effort: a kernel that does not know one (`MADV_POPULATE_READ` before
    /// Linux 5.14) refuses it and the scan simply takes page faults instead.
    fn advise(&self, bytes: &[u8], advice: MapAdvice) {
        let base = self.map.as_ptr() as usize;
        let Some(offset) = (bytes.as_ptr() as usize).checked_sub(base) else {
            return;
        };
        if bytes.is_empty() || offset.saturating_add(bytes.len()) > self.map.len() {
            return;
        }
        let _ = advise_map(&self.map, offset, bytes.len(), advice);
    }

    /// Asks the file system (`SEEK_DATA`/`SEEK_HOLE`); when it cannot tell, all of `bytes`.
    fn stored_parts(&self, bytes: &[u8]) -> Vec<Range<usize>> {
        let base = self.map.as_ptr() as usize;
        let whole = std::iter::once(0..bytes.len()).collect();
        let Some(start) = (bytes.as_ptr() as usize).checked_sub(base) else {
            return whole;
        };
        let end = start.saturating_add(bytes.len());
        if end > self.map.len() {
            return whole;
        }
        data_extents(&self.file, start as u64, end as u64)
            .map(|parts| {
                parts
                    .into_iter()
                    .map(|(a, b)| (a - start as u64) as usize..(b - start as u64) as usize)
                    .collect()
            })
            .unwrap_or(whole)
    }
}

/// The stretches of `[start, end)` of `file` that hold data (not holes), clipped to the range;
/// `None` when the file system does not answer.
#[cfg(unix)]
fn data_extents(file: &File, start: u64, end: u64) -> Option<Vec<(u64, u64)>> {
    use rustix::fs::{seek, SeekFrom};
    let mut out = Vec::new();
    let mut pos = start;
    while pos < end {
        let data = match seek(file, SeekFrom::Data(pos)) {
            Ok(d) => d,
            // No data at or after `pos`: the rest is a hole.
            Err(rustix::io::Errno::NXIO) => break,
            Err(_) => return None,
        };
        if data >= end {
            break;
        }
        let hole = seek(file, SeekFrom::Hole(data)).ok()?.min(end);
        if hole <= data {
            return None;
        }
        out.push((data, hole));
        pos = hole;
    }
    Some(out)
}

#[cfg(not(unix))]
fn data_extents(_file: &File, start: u64, end: u64) -> Option<Vec<(u64, u64)>> {
    Some(vec![(start, end)])
}

/// Apply `advice` to `len` bytes of `map` from `offset` (in bounds, checked by the caller).
#[cfg(unix)]
fn advise_map(map: &Mmap, offset: usize, len: usize, advice: MapAdvice) -> io::Result<()> {
    use memmap2::Advice;
    let safe = match advice {
        MapAdvice::Sequential => Advice::Sequential,
        MapAdvice::Normal => Advice::Normal,
        MapAdvice::WillNeed => Advice::WillNeed,
        #[cfg(target_os = "linux")]
        MapAdvice::Populate => Advice::PopulateRead,
        #[cfg(not(target_os = "linux"))]
        MapAdvice::Populate => return Ok(()),
        MapAdvice::Release => return release(map, offset, len),
    };
    map.advise_range(safe, offset, len)
}

#[cfg(not(unix))]
fn advise_map(_map: &Mmap, _offset: usize, _len: usize, _advice: MapAdvice) -> io::Result<()> {
    Ok(())
}

/// Drop the pages of `map` in `[offset, offset + len)` from this process (`MADV_DONTNEED`).
#[cfg(unix)]
#[allow(unsafe_code)]
fn release(map: &Mmap, offset: usize, len: usize) -> io::Result<()> {
    // SAFETY: `map` is a read-only (PROT_READ), private mapping of a file that is not modified
    // while it is open (the contract of `MappedFile::open`). No page of it was ever written,
    // so none is a private copy: every mapped page is the page cache's page of the file.
    // MADV_DONTNEED only removes those page-table entries; the next access to any byte of
    // the range, through a borrow that is still alive or a new one, faults the same page
    // cache page (or a fresh read of the same unchanged file) back in. The bytes any `&[u8]`
    // into the mapping observes therefore never change, which is what the borrow requires.
    unsafe { map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, offset, len) }
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
