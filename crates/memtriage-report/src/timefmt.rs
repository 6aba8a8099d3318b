//! Windows FILETIME → ISO-8601 UTC conversion.

use time::OffsetDateTime;

/// 100-ns ticks between 1601-01-01 (FILETIME epoch) and 1970-01-01 (Unix epoch).
const FILETIME_UNIX_EPOCH_TICKS: i128 = 116_444_736_000_000_000;
const TICKS_PER_SECOND: i128 = 10_000_000;

/// Converts a Windows FILETIME (100-ns ticks since 1601-01-01 UTC) to an ISO-8601 UTC string.
///
/// The format is `YYYY-MM-DDTHH:MM:SSZ`, with a 7-digit fraction (`.fffffffZ`, the full
/// FILETIME precision) only when the value has sub-second ticks. Returns `None` for 0 (the
/// Windows "not set" value) and for values past year 9999.
pub fn filetime_to_iso(filetime: u64) -> Option<String> {
    if filetime == 0 {
        return None;
    }
    let ticks = i128::from(filetime) - FILETIME_UNIX_EPOCH_TICKS;
    let secs = i64::try_from(ticks.div_euclid(TICKS_PER_SECOND)).ok()?;
    let frac = ticks.rem_euclid(TICKS_PER_SECOND);
    let dt = OffsetDateTime::from_unix_timestamp(secs).ok()?;
    let mut out = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        dt.year(),
        u8::from(dt.month()),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    );
    if frac != 0 {
        out.push_str(&format!(".{frac:07}"));
    }
    out.push('Z');
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_values() {
        // Python: datetime(1601,1,1) + timedelta(microseconds=133500000000000000//10)
        //   -> datetime(2024, 1, 17, 21, 20, 0)
        assert_eq!(
            filetime_to_iso(133_500_000_000_000_000).as_deref(),
            Some("2024-01-17T21:20:00Z")
        );
        // Python: datetime(1601,1,1) + timedelta(seconds=11644473600) -> 1970-01-01 00:00:00
        assert_eq!(
            filetime_to_iso(116_444_736_000_000_000).as_deref(),
            Some("1970-01-01T00:00:00Z")
        );
        // One tick after the FILETIME epoch.
        assert_eq!(
            filetime_to_iso(1).as_deref(),
            Some("1601-01-01T00:00:00.0000001Z")
        );
        // Python: datetime(1601,1,1) + timedelta(microseconds=0x01D8_0000_0000_0000//10)
        //   0x01D8000000000000 = 132856189007429632 ticks
        //   -> datetime(2022, 1, 2, 17, 41, 40, 742963), and 132856189007429632 % 10 == 2 ticks
        assert_eq!(
            filetime_to_iso(0x01D8_0000_0000_0000).as_deref(),
            Some("2022-01-02T17:41:40.7429632Z")
        );
        assert_eq!(filetime_to_iso(0), None);
        assert_eq!(filetime_to_iso(u64::MAX), None);
    }
}
