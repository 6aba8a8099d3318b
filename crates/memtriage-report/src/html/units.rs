//! Byte counts for people (`4 KiB`, `1.5 MiB`).

use std::fmt;

/// Display wrapper printing a byte count with a binary unit.
#[derive(Debug, Clone, Copy)]
pub struct Bytes(pub u64);

/// Shorthand for [`Bytes`].
pub fn bytes(n: u64) -> Bytes {
    Bytes(n)
}

impl fmt::Display for Bytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        const UNITS: [&str; 6] = ["KiB", "MiB", "GiB", "TiB", "PiB", "EiB"];
        if self.0 < 1024 {
            return write!(f, "{} B", self.0);
        }
        let mut v = self.0 as f64 / 1024.0;
        let mut unit = 0;
        while v >= 1024.0 && unit + 1 < UNITS.len() {
            v /= 1024.0;
            unit += 1;
        }
        let name = UNITS.get(unit).copied().unwrap_or("EiB");
        if v.fract() == 0.0 {
            write!(f, "{v:.0} {name}")
        } else {
            write!(f, "{v:.1} {name}")
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(bytes(0).to_string(), "0 B");
        assert_eq!(bytes(4096).to_string(), "4 KiB");
        assert_eq!(bytes(1536 * 1024).to_string(), "1.5 MiB");
        assert_eq!(bytes(2 << 40).to_string(), "2 TiB");
    }
}
