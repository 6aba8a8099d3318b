//! The byte-source abstraction a capture reader reads through.
//!
//! Interim copy: memtriage-dump is gaining exactly this trait (and `open_source`). Until it
//! lands there, this crate defines it under the same names; when it does, this file is
//! replaced by `pub use memtriage_dump::ByteSource;`.

/// Random-access, read-only bytes of a capture: a local file, an object in a bucket, ...
// The shape is memtriage-dump's (no `is_empty`: an empty source is refused when opened).
#[allow(clippy::len_without_is_empty)]
pub trait ByteSource: Send + Sync + std::fmt::Debug {
    /// Length in bytes.
    fn len(&self) -> u64;
    /// Fill `buf` with the bytes at `offset`; an error when they are not all there.
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()>;
    /// What to call the source in messages (a path or a URL).
    fn name(&self) -> String;
    /// The whole source as one slice when it is memory-mapped.
    fn mapped(&self) -> Option<&[u8]> {
        None
    }
}
