//! Formatting helpers for warnings about physical ranges.

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
