//! `yara_match` findings for `report --yara`: one per rule per scan buffer.

use memtriage_analysis::rules::YARA_MATCH;
use memtriage_report::{Finding, Hex};
use serde_json::{json, Map, Value};

use crate::rows::hex_data;
use crate::scan::YaraMatch;

/// Pattern matches listed in a finding's evidence (the count is always complete).
pub const MAX_EVIDENCE_HITS: usize = 16;

/// One finding of rule `yara_match` for `m`: address the first match, severity from the
/// rule's `severity` meta; evidence names the rule, its namespace, tags and meta, the
/// region, the number of pattern matches and the first [`MAX_EVIDENCE_HITS`] of them.
pub fn yara_finding(m: &YaraMatch) -> Finding {
    let qualified = format!("{}.{}", m.namespace, m.rule);
    let where_ = match (m.pid, &m.process) {
        (Some(pid), Some(name)) => format!("{name} ({pid})"),
        _ => "kernel memory".to_owned(),
    };
    let description = if m.hits.is_empty() {
        format!(
            "YARA rule {qualified} matched the region {:#x}-{:#x} of {where_}",
            m.region.start, m.region.end
        )
    } else {
        format!(
            "YARA rule {qualified} matched {} time{} in the region {:#x}-{:#x} of {where_}",
            m.hits.len(),
            if m.hits.len() == 1 { "" } else { "s" },
            m.region.start,
            m.region.end
        )
    };
    let mut f = YARA_MATCH.finding(m.severity, description);
    if let (Some(pid), Some(name)) = (m.pid, &m.process) {
        f = f.with_process(pid, name.clone());
    }
    let meta: Map<String, Value> = m
        .meta
        .iter()
        .map(|(k, v)| (k.clone(), Value::String(v.clone())))
        .collect();
    let hits: Vec<Value> = m
        .hits
        .iter()
        .take(MAX_EVIDENCE_HITS)
        .map(|h| {
            json!({
                "pattern": h.pattern,
                "address": Hex(h.address).to_string(),
                "length": h.length,
                "data": hex_data(&h.data, h.length),
            })
        })
        .collect();
    f.with_address(m.address())
        .with_evidence("yara_rule", m.rule.clone())
        .with_evidence("namespace", m.namespace.clone())
        .with_evidence("tags", m.tags.clone())
        .with_evidence("meta", Value::Object(meta))
        .with_evidence("region_start", Hex(m.region.start).to_string())
        .with_evidence("region_end", Hex(m.region.end).to_string())
        .with_evidence("match_count", m.hits.len() as u64)
        .with_evidence("matches", hits)
}

/// The findings of every match.
pub fn yara_findings(matches: &[YaraMatch]) -> Vec<Finding> {
    matches.iter().map(yara_finding).collect()
}
