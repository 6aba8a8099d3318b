//! Reading the first bytes of a region and recognising a PE header in them.

use memtriage_paging::AddressSpace;
use memtriage_windows::pe::pe_signature_offset;

/// The first `n` bytes at `va`, or `None` when any of them is unreadable.
pub(crate) fn first_bytes(space: &AddressSpace, va: u64, n: usize) -> Option<Vec<u8>> {
    let mut buf = vec![0u8; n];
    space.read_exact(va, &mut buf).ok()?;
    Some(buf)
}

/// Lowercase hex of `b`, no separators.
pub(crate) fn hex_bytes(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Whether the bytes start a PE (`MZ` and `PE\0\0` at e_lfanew).
pub fn starts_with_pe(head: &[u8]) -> bool {
    pe_signature_offset(head).is_some()
}
