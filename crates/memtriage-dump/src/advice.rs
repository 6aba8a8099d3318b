//! How a scanner tells the capture's memory map what it is about to do with a stretch of it.

/// A hint about the mapped bytes of a stretch of physical memory, passed down to the byte
/// source ([`crate::ByteSource::advise`]). Hints never change what a read returns: sources that
/// are not memory-mapped, and platforms without `madvise`, ignore them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MapAdvice {
    /// The bytes will be read once, front to back: read ahead aggressively
    /// (`MADV_SEQUENTIAL`).
    Sequential,
    /// Back to the default access pattern after a sequential pass (`MADV_NORMAL`).
    Normal,
    /// The bytes will be needed soon: start reading them into the page cache in the
    /// background (`MADV_WILLNEED`).
    WillNeed,
    /// The bytes are about to be read: map every page now, in one call, instead of taking one
    /// page fault per few pages (`MADV_POPULATE_READ`, Linux 5.14 and later).
    Populate,
    /// The bytes have been read and will not be needed again soon: drop them from this
    /// process's resident memory (`MADV_DONTNEED` on the read-only mapping). The pages stay in
    /// the page cache; a later read maps them again, with the same content.
    Release,
}
