//! `Hex`: a 64-bit value serialized as a lowercase `"0x…"` string.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A 64-bit address or size that serializes as a lowercase `"0x…"` string.
///
/// JSON numbers above 2^53 do not survive most SIEM and JavaScript tools, so every address in
/// a report is a string such as `"0xfffff80000000000"`. Deserialization accepts only strings of
/// the form `0x` followed by 1 to 16 hexadecimal digits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hex(pub u64);

/// Error returned when a string is not a `"0x…"` hexadecimal value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid hex value {0:?}: expected \"0x\" followed by 1 to 16 hex digits")]
pub struct ParseHexError(pub String);

impl Hex {
    /// The wrapped value.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl From<u64> for Hex {
    fn from(v: u64) -> Self {
        Hex(v)
    }
}

impl From<Hex> for u64 {
    fn from(v: Hex) -> Self {
        v.0
    }
}

impl fmt::Display for Hex {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "0x{:x}", self.0)
    }
}

impl FromStr for Hex {
    type Err = ParseHexError;

    /// Parses `0x` + 1..=16 hex digits (either case); anything else is an error.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseHexError(s.chars().take(64).collect());
        let digits = s.strip_prefix("0x").ok_or_else(err)?;
        if digits.is_empty() || digits.len() > 16 || !digits.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err(err());
        }
        u64::from_str_radix(digits, 16).map(Hex).map_err(|_| err())
    }
}

impl Serialize for Hex {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

struct HexVisitor;

impl Visitor<'_> for HexVisitor {
    type Value = Hex;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a \"0x…\" hexadecimal string")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Hex, E> {
        v.parse().map_err(E::custom)
    }
}

impl<'de> Deserialize<'de> for Hex {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(HexVisitor)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_and_parse() {
        assert_eq!(Hex(0).to_string(), "0x0");
        assert_eq!(Hex(0xFFFF_F800_0000_0000).to_string(), "0xfffff80000000000");
        assert_eq!("0xFFfF".parse::<Hex>(), Ok(Hex(0xffff)));
        assert_eq!("0xffffffffffffffff".parse::<Hex>(), Ok(Hex(u64::MAX)));
        for bad in [
            "",
            "0x",
            "ff",
            "0x+1",
            "0x1ffffffffffffffff",
            "0x 1",
            "0X10",
            "-0x1",
        ] {
            assert!(bad.parse::<Hex>().is_err(), "{bad:?} must not parse");
        }
    }
}
