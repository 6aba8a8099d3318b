//! The `yarascan` table: one row per pattern match (a rule that matches without a pattern
//! match gives one row at the buffer's start, with no pattern).

use memtriage_report::{Hex, Table};

use crate::scan::YaraMatch;

/// Bytes of a match shown in the `data` column; longer matches are cut and end with `…`.
pub const MAX_DATA_BYTES: usize = 64;

memtriage_report::row! {
    /// One YARA match.
    pub struct YaraRow {
        /// Process id (null for kernel memory).
        pub pid: Option<u64>,
        /// Process name (null for kernel memory).
        pub process: Option<String>,
        /// user (a VAD of the process) or kernel (a piece of the mapped kernel ranges).
        pub space: &'static str,
        /// Rule identifier.
        pub rule: String,
        /// Rule namespace: default for a single rules file, else the file's stem.
        pub namespace: String,
        /// Rule tags, comma-separated.
        pub tags: String,
        /// Rule metadata, key=value pairs separated by "; ".
        pub meta: String,
        /// Severity from the rule's severity meta (default medium).
        pub severity: String,
        /// Address of the match (the buffer's start for a rule without a pattern match).
        pub address: Hex,
        /// First byte of the scan buffer (the VAD, or the kernel piece).
        pub region_start: Hex,
        /// Last byte of the scan buffer (inclusive).
        pub region_end: Hex,
        /// Pattern identifier ($a).
        pub pattern: Option<String>,
        /// Offset of the match from the buffer's start.
        pub offset: Option<Hex>,
        /// Length of the match in bytes.
        pub length: Option<u64>,
        /// The matched bytes in hex, at most 64 bytes; a longer match ends with "…".
        pub data: Option<String>,
    }
}

/// `bytes` in lower-case hex (at most [`MAX_DATA_BYTES`]), with `…` when `full_length` is
/// longer than what is shown.
pub fn hex_data(bytes: &[u8], full_length: u64) -> String {
    let shown = bytes.get(..MAX_DATA_BYTES).unwrap_or(bytes);
    let mut s: String = shown.iter().map(|b| format!("{b:02x}")).collect();
    if full_length > shown.len() as u64 {
        s.push('…');
    }
    s
}

/// `key=value; key=value`.
pub fn meta_line(meta: &[(String, String)]) -> String {
    meta.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join("; ")
}

/// The rows of `matches`, sorted by (space, pid, address, namespace, rule, pattern).
pub fn yara_rows(matches: &[YaraMatch]) -> Vec<YaraRow> {
    let mut rows = Vec::new();
    for m in matches {
        let base = YaraRow {
            pid: m.pid,
            process: m.process.clone(),
            space: m.space.name(),
            rule: m.rule.clone(),
            namespace: m.namespace.clone(),
            tags: m.tags.join(","),
            meta: meta_line(&m.meta),
            severity: m.severity.to_string(),
            address: Hex(m.region.start),
            region_start: Hex(m.region.start),
            region_end: Hex(m.region.end),
            pattern: None,
            offset: None,
            length: None,
            data: None,
        };
        if m.hits.is_empty() {
            rows.push(base);
            continue;
        }
        for h in &m.hits {
            rows.push(YaraRow {
                address: Hex(h.address),
                pattern: Some(h.pattern.clone()),
                offset: Some(Hex(h.offset)),
                length: Some(h.length),
                data: Some(hex_data(&h.data, h.length)),
                ..base.clone()
            });
        }
    }
    rows.sort_by(|a, b| {
        (a.space, a.pid, a.address, &a.namespace, &a.rule, &a.pattern).cmp(&(
            b.space,
            b.pid,
            b.address,
            &b.namespace,
            &b.rule,
            &b.pattern,
        ))
    });
    rows
}

/// The `yarascan` table of `matches`.
pub fn yara_table(matches: &[YaraMatch]) -> Table {
    let mut t = Table::of::<YaraRow>("yarascan");
    for row in yara_rows(matches) {
        t.push_row(row);
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn data_is_cut_and_marked() {
        assert_eq!(hex_data(&[0xfc, 0x48], 2), "fc48");
        let long = vec![0xabu8; 100];
        let s = hex_data(&long, 100);
        assert_eq!(s.len(), 128 + '…'.len_utf8());
        assert!(s.ends_with('…'));
        assert_eq!(hex_data(&long[..64], 64).len(), 128);
        assert_eq!(hex_data(&long[..64], 65).chars().last(), Some('…'));
    }
}
