//! VAD protection: the 5-bit index into MmProtectToValue, decoded to PAGE_* names.

/// Base protections for indices 0..7 (the low three bits of the index).
const BASE: [&str; 8] = [
    "PAGE_NOACCESS",
    "PAGE_READONLY",
    "PAGE_EXECUTE",
    "PAGE_EXECUTE_READ",
    "PAGE_READWRITE",
    "PAGE_WRITECOPY",
    "PAGE_EXECUTE_READWRITE",
    "PAGE_EXECUTE_WRITECOPY",
];

/// The PAGE_* name of a VAD protection index (0..=31): base protection plus
/// `PAGE_NOCACHE` (+8), `PAGE_GUARD` (+16) or `PAGE_WRITECOMBINE` (+24).
pub fn protection_name(index: u64) -> String {
    let base = BASE[(index & 7) as usize];
    match (index >> 3) & 3 {
        0 => base.to_string(),
        1 => format!("{base}|PAGE_NOCACHE"),
        2 => format!("{base}|PAGE_GUARD"),
        _ => format!("{base}|PAGE_WRITECOMBINE"),
    }
}

/// Whether the protection index allows execution.
pub fn is_executable(index: u64) -> bool {
    matches!(index & 7, 2 | 3 | 6 | 7)
}

/// Whether the protection index allows writing (copy-on-write counts).
pub fn is_writable(index: u64) -> bool {
    matches!(index & 7, 4..=7)
}

/// Whether the protection index is writable and executable without copy-on-write.
pub fn is_rwx(index: u64) -> bool {
    index & 7 == 6
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_windows_table() {
        assert_eq!(protection_name(0), "PAGE_NOACCESS");
        assert_eq!(protection_name(6), "PAGE_EXECUTE_READWRITE");
        assert_eq!(protection_name(7), "PAGE_EXECUTE_WRITECOPY");
        assert_eq!(protection_name(12), "PAGE_READWRITE|PAGE_NOCACHE");
        assert_eq!(protection_name(20), "PAGE_READWRITE|PAGE_GUARD");
        assert_eq!(protection_name(28), "PAGE_READWRITE|PAGE_WRITECOMBINE");
        assert!(is_executable(3) && !is_executable(4));
        assert!(is_rwx(6) && !is_rwx(7) && is_writable(7));
    }
}
