//! Bounds-checked little-endian reads from untrusted bytes.

/// The "PAGE" fill of unused crash-dump header fields, as a `u32`.
pub(crate) const PAGE_U32: u32 = 0x4547_4150;
/// The "PAGE" fill of unused crash-dump header fields, as a `u64`.
pub(crate) const PAGE_U64: u64 = 0x4547_4150_4547_4150;

/// `u16` at `off`, `None` past the end.
pub(crate) fn u16_at(d: &[u8], off: usize) -> Option<u16> {
    let b = d.get(off..off.checked_add(2)?)?;
    Some(u16::from_le_bytes([b[0], b[1]]))
}

/// `u32` at `off`, `None` past the end.
pub(crate) fn u32_at(d: &[u8], off: usize) -> Option<u32> {
    let b: [u8; 4] = d.get(off..off.checked_add(4)?)?.try_into().ok()?;
    Some(u32::from_le_bytes(b))
}

/// `u64` at `off`, `None` past the end.
pub(crate) fn u64_at(d: &[u8], off: usize) -> Option<u64> {
    let b: [u8; 8] = d.get(off..off.checked_add(8)?)?.try_into().ok()?;
    Some(u64::from_le_bytes(b))
}

/// `u32` at `off` with the "PAGE" fill (and a missing field) read as 0.
pub(crate) fn u32_or_page(d: &[u8], off: usize) -> u32 {
    match u32_at(d, off) {
        Some(PAGE_U32) | None => 0,
        Some(v) => v,
    }
}

/// `u64` at `off` with the "PAGE" fill (and a missing field) read as 0.
pub(crate) fn u64_or_page(d: &[u8], off: usize) -> u64 {
    match u64_at(d, off) {
        Some(PAGE_U64) | None => 0,
        Some(v) => v,
    }
}

/// Format a list of physical ranges `[start, end)` for a warning, at most `max` of them.
pub(crate) fn fmt_ranges(ranges: &[(u64, u64)], max: usize) -> String {
    let mut s: Vec<String> = ranges
        .iter()
        .take(max)
        .map(|(a, b)| format!("{a:#x}-{b:#x}"))
        .collect();
    if ranges.len() > max {
        s.push(format!("and {} more", ranges.len() - max));
    }
    s.join(", ")
}
