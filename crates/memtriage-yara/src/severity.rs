//! The severity of a `yara_match` finding, read from the rule's `severity` meta.

use memtriage_report::Severity;

/// The severity a rule's `severity` meta value names: `low`, `medium`, `high` or `critical`
/// (any case; memtriage's highest level is high, so `critical` is high). `None` for any other
/// value; a rule without the meta is medium (see [`meta_severity`]).
pub fn parse_severity(value: &str) -> Option<Severity> {
    match value.trim().to_ascii_lowercase().as_str() {
        "low" => Some(Severity::Low),
        "medium" => Some(Severity::Medium),
        "high" | "critical" => Some(Severity::High),
        _ => None,
    }
}

/// The severity of a rule given its metadata: the first `severity` meta string that names a
/// level, else medium. Also returns the offending value when a `severity` meta is present but
/// names no level (the caller warns once).
pub fn meta_severity<'a>(
    meta: impl IntoIterator<Item = (&'a str, &'a str)>,
) -> (Severity, Option<String>) {
    for (key, value) in meta {
        if key == "severity" {
            return match parse_severity(value) {
                Some(s) => (s, None),
                None => (Severity::Medium, Some(value.to_owned())),
            };
        }
    }
    (Severity::Medium, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn levels_and_default() {
        assert_eq!(parse_severity("LOW"), Some(Severity::Low));
        assert_eq!(parse_severity(" medium "), Some(Severity::Medium));
        assert_eq!(parse_severity("high"), Some(Severity::High));
        assert_eq!(parse_severity("Critical"), Some(Severity::High));
        assert_eq!(parse_severity("info"), None);
        assert_eq!(
            meta_severity([("author", "x"), ("severity", "low")]),
            (Severity::Low, None)
        );
        assert_eq!(meta_severity([("author", "x")]), (Severity::Medium, None));
        assert_eq!(
            meta_severity([("severity", "urgent")]),
            (Severity::Medium, Some("urgent".to_owned()))
        );
    }
}
