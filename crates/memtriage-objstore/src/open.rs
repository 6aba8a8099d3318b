//! Open a capture held by a [`ByteSource`].
//!
//! Interim: memtriage-dump is gaining `open_source(Arc<dyn ByteSource>)`, which runs every
//! format reader over a byte source. Until it lands, this module reads raw images directly
//! from the source (range reads through the block cache) and, for the formats whose readers
//! still need a file (crash dumps, ELF cores), copies the object to an unlinked temporary
//! file in large sequential ranges and opens that. When `memtriage_dump::open_source` lands,
//! [`open_source`] becomes a re-export of it.

use crate::client::one_line;
use crate::{ByteSource, ObjStoreError, RawSourceMemory};
use memtriage_dump::PhysicalMemory;
use std::io::Write;
use std::sync::Arc;

/// How the capture behind a source is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReadMode {
    /// Range requests on demand (raw images).
    OnDemand,
    /// Copied once to a local temporary file (formats whose readers need a file, for now).
    Spooled,
}

/// Bytes per request when copying a source to a temporary file.
const SPOOL_CHUNK: u64 = 16 << 20;

/// Magic bytes of the formats whose readers need a file (interim).
fn needs_file(head: &[u8]) -> bool {
    head.starts_with(b"PAGEDU64") || head.starts_with(b"\x7fELF") || head.starts_with(b"PAGEDUMP")
}

/// Open the capture a source holds; the format is sniffed from its magic bytes.
pub fn open_source(
    source: Arc<dyn ByteSource>,
) -> Result<(Box<dyn PhysicalMemory>, ReadMode), ObjStoreError> {
    let name = source.name();
    let io_err = |e: std::io::Error| ObjStoreError::Read {
        url: name.clone(),
        reason: one_line(&e),
    };
    let mut head = [0u8; 8];
    let n = usize::try_from(source.len().min(8)).unwrap_or(0);
    source
        .read_exact_at(0, head.get_mut(..n).unwrap_or_default())
        .map_err(io_err)?;
    if !needs_file(&head) {
        return Ok((Box::new(RawSourceMemory::new(source)), ReadMode::OnDemand));
    }
    let mut tmp = tempfile::NamedTempFile::new().map_err(io_err)?;
    let mut buf = Vec::new();
    let mut off = 0u64;
    while off < source.len() {
        let n = SPOOL_CHUNK.min(source.len() - off);
        buf.resize(
            usize::try_from(n)
                .map_err(std::io::Error::other)
                .map_err(io_err)?,
            0,
        );
        source.read_exact_at(off, &mut buf).map_err(io_err)?;
        tmp.write_all(&buf).map_err(io_err)?;
        off += n;
    }
    tmp.flush().map_err(io_err)?;
    let tmp_path = tmp.path().display().to_string();
    // The reader maps the file; unlinking it afterwards (when `tmp` drops) keeps the mapping.
    let memory = memtriage_dump::open(tmp.path()).map_err(|e| ObjStoreError::Capture {
        message: e.to_string().replace(&tmp_path, &name),
    })?;
    Ok((memory, ReadMode::Spooled))
}
