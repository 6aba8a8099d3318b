//! VAD protection: the 5-bit index into MmProtectToValue, decoded to PAGE_* names.

use std::fmt;

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

/// The modifier in bits 3..4 of the index.
const MODIFIER: [&str; 4] = ["", "|PAGE_NOCACHE", "|PAGE_GUARD", "|PAGE_WRITECOMBINE"];

/// A VAD protection: an index (0..=31) into MmProtectToValue.
///
/// The low three bits are the base protection, bits 3..4 add `PAGE_NOCACHE` (+8),
/// `PAGE_GUARD` (+16) or `PAGE_WRITECOMBINE` (+24). Displays as the PAGE_* name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Protection(u8);

impl Protection {
    /// `PAGE_EXECUTE_READWRITE`.
    pub const EXECUTE_READWRITE: Protection = Protection(6);

    /// The protection of VAD index `index` (only the low five bits count).
    pub const fn from_index(index: u64) -> Protection {
        Protection((index & 0x1f) as u8)
    }

    /// The MmProtectToValue index (0..=31).
    pub const fn index(self) -> u8 {
        self.0
    }

    /// Whether it allows execution.
    pub const fn is_executable(self) -> bool {
        matches!(self.0 & 7, 2 | 3 | 6 | 7)
    }

    /// Whether it allows writing (copy-on-write counts).
    pub const fn is_writable(self) -> bool {
        matches!(self.0 & 7, 4..=7)
    }

    /// Whether it is writable and executable without copy-on-write.
    pub const fn is_rwx(self) -> bool {
        self.0 & 7 == 6
    }

    /// The PAGE_* name, e.g. `PAGE_READWRITE|PAGE_GUARD`.
    pub fn name(self) -> String {
        self.to_string()
    }
}

impl fmt::Display for Protection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let base = BASE[usize::from(self.0 & 7)];
        let modifier = MODIFIER[usize::from((self.0 >> 3) & 3)];
        write!(f, "{base}{modifier}")
    }
}

impl serde::Serialize for Protection {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_windows_table() {
        let name = |i| Protection::from_index(i).name();
        assert_eq!(name(0), "PAGE_NOACCESS");
        assert_eq!(name(6), "PAGE_EXECUTE_READWRITE");
        assert_eq!(name(7), "PAGE_EXECUTE_WRITECOPY");
        assert_eq!(name(12), "PAGE_READWRITE|PAGE_NOCACHE");
        assert_eq!(name(20), "PAGE_READWRITE|PAGE_GUARD");
        assert_eq!(name(28), "PAGE_READWRITE|PAGE_WRITECOMBINE");
        assert_eq!(name(32 + 4), "PAGE_READWRITE");
        let p = Protection::from_index;
        assert!(p(3).is_executable() && !p(4).is_executable());
        assert!(p(6).is_rwx() && !p(7).is_rwx() && p(7).is_writable());
        assert_eq!(Protection::EXECUTE_READWRITE, p(6));
    }
}
