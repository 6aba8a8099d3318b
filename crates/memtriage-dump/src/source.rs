//! Where a capture's bytes come from ([`ByteSource`]), and the bounded reads every reader
//! makes through it ([`Evidence`]).

use crate::{MapAdvice, OpenError};
use std::ops::Range;
use std::path::PathBuf;
use std::sync::Arc;

/// Where a capture's bytes come from: a memory-mapped file, an object in storage, ...
///
/// Readers never assume a memory map: headers are read into small owned buffers through
/// [`ByteSource::read_exact_at`], and so are pages. Only the zero-copy
/// [`crate::PhysicalMemory::slice`] API uses [`ByteSource::mapped`] when it is there.
pub trait ByteSource: Send + Sync + std::fmt::Debug {
    /// Total length in bytes.
    fn len(&self) -> u64;
    /// Fill `buf` with the bytes at `offset`; an error when they are not all there.
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()>;
    /// The name used in messages (a path or a URL).
    fn name(&self) -> String;
    /// The whole content, zero-copy, when it is memory-mapped.
    fn mapped(&self) -> Option<&[u8]> {
        None
    }
    /// A hint about `bytes`, a stretch of [`ByteSource::mapped`]; ignored by sources that are
    /// not memory-mapped and for bytes that do not lie in the mapping.
    fn advise(&self, bytes: &[u8], advice: MapAdvice) {
        let _ = (bytes, advice);
    }
    /// The parts of `bytes` (a stretch of [`ByteSource::mapped`]) that the source stores, as
    /// offsets into `bytes`, in order; the rest are holes of a sparse file, which read as
    /// zeros. The default: all of it.
    fn stored_parts(&self, bytes: &[u8]) -> Vec<Range<usize>> {
        std::iter::once(0..bytes.len()).collect()
    }
    /// Whether the source holds no bytes.
    fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A capture's bytes as the readers use them: bounded reads into owned buffers and the
/// errors that name the source.
#[derive(Debug, Clone)]
pub(crate) struct Evidence {
    src: Arc<dyn ByteSource>,
    len: u64,
}

impl Evidence {
    /// Wrap a byte source (its length is read once).
    pub(crate) fn new(src: Arc<dyn ByteSource>) -> Self {
        let len = src.len();
        Evidence { src, len }
    }

    /// The source's length in bytes.
    pub(crate) fn len(&self) -> u64 {
        self.len
    }

    /// The source's name as a path, for [`OpenError`].
    pub(crate) fn path(&self) -> PathBuf {
        PathBuf::from(self.src.name())
    }

    /// Copy the bytes at `offset` into `buf`; false when they are not all there.
    pub(crate) fn read_at(&self, offset: u64, buf: &mut [u8]) -> bool {
        let fits = offset
            .checked_add(buf.len() as u64)
            .is_some_and(|end| end <= self.len);
        fits && self.src.read_exact_at(offset, buf).is_ok()
    }

    /// The bytes `[offset, offset + len)` clipped to the end of the source (the allocation
    /// never exceeds what the source holds). A failed read gives an empty buffer.
    pub(crate) fn read_upto(&self, offset: u64, len: u64) -> Vec<u8> {
        let n = self.len.saturating_sub(offset).min(len);
        let Ok(n) = usize::try_from(n) else {
            return Vec::new();
        };
        let mut buf = vec![0u8; n];
        if self.read_at(offset, &mut buf) {
            buf
        } else {
            Vec::new()
        }
    }

    /// The whole content, zero-copy, when the source is memory-mapped.
    pub(crate) fn mapped(&self) -> Option<&[u8]> {
        self.src.mapped()
    }

    /// Pass a hint about mapped bytes (from [`Evidence::mapped`]) to the source.
    pub(crate) fn advise(&self, bytes: &[u8], advice: MapAdvice) {
        self.src.advise(bytes, advice);
    }

    /// The parts of mapped `bytes` the source stores (not holes).
    pub(crate) fn stored_parts(&self, bytes: &[u8]) -> Vec<Range<usize>> {
        self.src.stored_parts(bytes)
    }

    /// An [`OpenError::Malformed`] naming this source.
    pub(crate) fn malformed(&self, reason: impl Into<String>) -> OpenError {
        OpenError::Malformed {
            path: self.path(),
            reason: reason.into(),
        }
    }

    /// An [`OpenError::Unsupported`] naming this source.
    pub(crate) fn unsupported(&self, reason: impl Into<String>) -> OpenError {
        OpenError::Unsupported {
            path: self.path(),
            reason: reason.into(),
        }
    }
}
