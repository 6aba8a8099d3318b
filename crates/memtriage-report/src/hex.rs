//! `Hex`: a 64-bit value serialized as a lowercase `"0x…"` string.

use std::fmt;
use std::str::FromStr;

use serde::de::{self, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A 64-bit address or size that serializes as a lowercase `"0x…"` string.
///
/// JSON numbers above 2^53 do not survive most SIEM and JavaScript tools, so every address in
/// a report is a string such as `"0xfffff80000000000"`. Deserialization accepts only the
/// canonical form that serialization writes ([`Hex::parse_canonical`]): `0x` followed by 1 to 16
/// lowercase hexadecimal digits without leading zeros, as the report schema requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hex(pub u64);

/// Error returned when a string is not a `"0x…"` hexadecimal value.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "invalid hex value {0:?}: expected \"0x\" followed by 1 to 16 hex digits (in a report: lowercase, without leading zeros)"
)]
pub struct ParseHexError(pub String);

impl Hex {
    /// The wrapped value.
    pub const fn get(self) -> u64 {
        self.0
    }

    /// Parses only the canonical form written by `Display`: `0x0`, or `0x` + 1 to 16 lowercase
    /// hex digits without a leading zero (`^0x(0|[1-9a-f][0-9a-f]*)$`).
    pub fn parse_canonical(s: &str) -> Result<Hex, ParseHexError> {
        let err = || ParseHexError(s.chars().take(64).collect());
        let digits = s.strip_prefix("0x").ok_or_else(err)?;
        let lower = digits
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        let leading_zero = digits.len() > 1 && digits.starts_with('0');
        if digits.is_empty() || digits.len() > 16 || !lower || leading_zero {
            return Err(err());
        }
        u64::from_str_radix(digits, 16).map(Hex).map_err(|_| err())
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
        Hex::parse_canonical(v).map_err(E::custom)
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

    #[test]
    fn canonical_form_only_when_deserializing() {
        for good in ["0x0", "0x1", "0xfffff80000000000", "0xffffffffffffffff"] {
            let v: Hex = serde_json::from_value(serde_json::json!(good)).unwrap_or_default();
            assert_eq!(v.to_string(), good);
            assert_eq!(
                Hex::parse_canonical(good).map(|h| h.to_string()),
                Ok(good.into())
            );
        }
        for bad in [
            "0x00",
            "0x0001000",
            "0xFF",
            "0xAbc",
            "0x",
            "0x10000000000000000",
            "1",
        ] {
            assert!(Hex::parse_canonical(bad).is_err(), "{bad:?}");
            assert!(
                serde_json::from_value::<Hex>(serde_json::json!(bad)).is_err(),
                "{bad:?}"
            );
        }
    }
}
