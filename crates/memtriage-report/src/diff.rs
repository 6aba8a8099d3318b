//! Comparison of two reports.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::io::{self, Write};

use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use crate::hex::Hex;
use crate::model::{Finding, Process, Report};

/// Schema version carried by the JSON form of a [`ReportDiff`].
pub const DIFF_SCHEMA_VERSION: &str = "memtriage-diff/1";

/// One field that differs between the old and the new version of a matched item.
///
/// For scalar fields `old` and `new` are the two values. For the list fields of a process
/// (`regions`, `modules`) they hold only the entries that differ: `old` the entries missing
/// from the new process, `new` the entries missing from the old one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FieldChange {
    /// Field name as in the report JSON (e.g. `severity`, `threads`, `regions`).
    pub field: String,
    /// Old value.
    pub old: Value,
    /// New value.
    pub new: Value,
}

/// A finding present in both reports (same rule, pid and address) with other fields changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangedFinding {
    /// Rule id (key).
    pub rule: String,
    /// Process id (key).
    pub pid: Option<u64>,
    /// Address (key).
    pub address: Option<Hex>,
    /// The fields that differ, in report field order.
    pub changes: Vec<FieldChange>,
}

/// A process present in both reports (same pid and offset) with other fields changed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChangedProcess {
    /// Process id (key).
    pub pid: u64,
    /// EPROCESS address (key).
    pub offset: Hex,
    /// Process name in the new report.
    pub name: String,
    /// The fields that differ, in report field order.
    pub changes: Vec<FieldChange>,
}

impl ChangedFinding {
    /// Names of the changed fields.
    pub fn fields(&self) -> Vec<&str> {
        self.changes.iter().map(|c| c.field.as_str()).collect()
    }
}

impl ChangedProcess {
    /// Names of the changed fields.
    pub fn fields(&self) -> Vec<&str> {
        self.changes.iter().map(|c| c.field.as_str()).collect()
    }
}

/// Differences between two reports, see [`diff`].
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ReportDiff {
    /// Findings only in the new report (new report order).
    pub added_findings: Vec<Finding>,
    /// Findings only in the old report (old report order).
    pub removed_findings: Vec<Finding>,
    /// Findings in both with other fields changed (new report order).
    pub changed_findings: Vec<ChangedFinding>,
    /// Processes only in the new report.
    pub added_processes: Vec<Process>,
    /// Processes only in the old report.
    pub removed_processes: Vec<Process>,
    /// Processes in both with other fields changed.
    pub changed_processes: Vec<ChangedProcess>,
}

impl ReportDiff {
    /// True when the reports agree on findings and processes.
    pub fn is_empty(&self) -> bool {
        self.added_findings.is_empty()
            && self.removed_findings.is_empty()
            && self.changed_findings.is_empty()
            && self.added_processes.is_empty()
            && self.removed_processes.is_empty()
            && self.changed_processes.is_empty()
    }
}

/// Matches items by key: returns (pairs (old index, new index), unmatched old, unmatched new).
/// Items sharing a key are paired in order of appearance.
#[allow(clippy::type_complexity)]
fn match_by_key<T, K: std::hash::Hash + Eq>(
    old: &[T],
    new: &[T],
    key: impl Fn(&T) -> K,
) -> (Vec<(usize, usize)>, Vec<usize>, Vec<usize>) {
    let mut pending: HashMap<K, VecDeque<usize>> = HashMap::new();
    for (i, item) in old.iter().enumerate() {
        pending.entry(key(item)).or_default().push_back(i);
    }
    let mut pairs = Vec::new();
    let mut added = Vec::new();
    let mut matched_old = vec![false; old.len()];
    for (j, item) in new.iter().enumerate() {
        match pending.get_mut(&key(item)).and_then(VecDeque::pop_front) {
            Some(i) => {
                if let Some(m) = matched_old.get_mut(i) {
                    *m = true;
                }
                pairs.push((i, j));
            }
            None => added.push(j),
        }
    }
    let removed = matched_old
        .iter()
        .enumerate()
        .filter(|(_, m)| !**m)
        .map(|(i, _)| i)
        .collect();
    (pairs, removed, added)
}

fn change<T: Serialize + PartialEq>(out: &mut Vec<FieldChange>, field: &str, old: &T, new: &T) {
    if old != new {
        out.push(FieldChange {
            field: field.to_owned(),
            old: crate::canonical::sorted(json!(old)),
            new: crate::canonical::sorted(json!(new)),
        });
    }
}

/// Entries of `old` missing from `new` and of `new` missing from `old` (as multisets).
fn list_change<T: Serialize>(out: &mut Vec<FieldChange>, field: &str, old: &[T], new: &[T]) {
    let key = |v: &T| serde_json::to_string(v).unwrap_or_default();
    let mut counts: BTreeMap<String, i64> = BTreeMap::new();
    for v in old {
        *counts.entry(key(v)).or_default() += 1;
    }
    for v in new {
        *counts.entry(key(v)).or_default() -= 1;
    }
    let mut only_old = Vec::new();
    let mut left = counts.clone();
    for v in old {
        if let Some(c) = left.get_mut(&key(v)) {
            if *c > 0 {
                *c -= 1;
                only_old.push(crate::canonical::sorted(json!(v)));
            }
        }
    }
    let mut only_new = Vec::new();
    let mut left = counts;
    for v in new {
        if let Some(c) = left.get_mut(&key(v)) {
            if *c < 0 {
                *c += 1;
                only_new.push(crate::canonical::sorted(json!(v)));
            }
        }
    }
    if !only_old.is_empty() || !only_new.is_empty() {
        out.push(FieldChange {
            field: field.to_owned(),
            old: Value::Array(only_old),
            new: Value::Array(only_new),
        });
    }
}

fn finding_changes(a: &Finding, b: &Finding) -> Vec<FieldChange> {
    let mut out = Vec::new();
    change(&mut out, "severity", &a.severity, &b.severity);
    change(&mut out, "process", &a.process, &b.process);
    change(&mut out, "end", &a.end, &b.end);
    change(&mut out, "description", &a.description, &b.description);
    change(&mut out, "evidence", &a.evidence, &b.evidence);
    change(&mut out, "mitre", &a.mitre, &b.mitre);
    out
}

fn process_changes(a: &Process, b: &Process) -> Vec<FieldChange> {
    let mut out = Vec::new();
    change(&mut out, "ppid", &a.ppid, &b.ppid);
    change(&mut out, "name", &a.name, &b.name);
    change(&mut out, "image_path", &a.image_path, &b.image_path);
    change(&mut out, "command_line", &a.command_line, &b.command_line);
    change(&mut out, "create_time", &a.create_time, &b.create_time);
    change(&mut out, "exit_time", &a.exit_time, &b.exit_time);
    change(&mut out, "wow64", &a.wow64, &b.wow64);
    change(&mut out, "hidden", &a.hidden, &b.hidden);
    change(&mut out, "threads", &a.threads, &b.threads);
    list_change(&mut out, "regions", &a.regions, &b.regions);
    list_change(&mut out, "modules", &a.modules, &b.modules);
    out
}

/// Compares two reports.
///
/// Findings are keyed by (rule, pid, address), processes by (pid, offset). An item whose key
/// is only in `new` is added, only in `old` removed; when the key matches but another field
/// differs the item is changed, with the list of changed fields. Items sharing a key are
/// paired in order of appearance. System facts, kernel modules and warnings are not compared.
pub fn diff(old: &Report, new: &Report) -> ReportDiff {
    let mut d = ReportDiff::default();

    let (pairs, removed, added) = match_by_key(&old.findings, &new.findings, |f| {
        (f.rule.clone(), f.pid, f.address)
    });
    for (i, j) in pairs {
        if let (Some(a), Some(b)) = (old.findings.get(i), new.findings.get(j)) {
            let changes = finding_changes(a, b);
            if !changes.is_empty() {
                d.changed_findings.push(ChangedFinding {
                    rule: b.rule.clone(),
                    pid: b.pid,
                    address: b.address,
                    changes,
                });
            }
        }
    }
    d.removed_findings = removed
        .iter()
        .filter_map(|&i| old.findings.get(i).cloned())
        .collect();
    d.added_findings = added
        .iter()
        .filter_map(|&j| new.findings.get(j).cloned())
        .collect();

    let (pairs, removed, added) =
        match_by_key(&old.processes, &new.processes, |p| (p.pid, p.offset));
    for (i, j) in pairs {
        if let (Some(a), Some(b)) = (old.processes.get(i), new.processes.get(j)) {
            let changes = process_changes(a, b);
            if !changes.is_empty() {
                d.changed_processes.push(ChangedProcess {
                    pid: b.pid,
                    offset: b.offset,
                    name: b.name.clone(),
                    changes,
                });
            }
        }
    }
    d.removed_processes = removed
        .iter()
        .filter_map(|&i| old.processes.get(i).cloned())
        .collect();
    d.added_processes = added
        .iter()
        .filter_map(|&j| new.processes.get(j).cloned())
        .collect();
    d
}

/// Writes `diff` as pretty JSON followed by a newline: `{"schema": "memtriage-diff/1",
/// "added_findings": […], …}` (the six lists of [`ReportDiff`]).
pub fn write_diff_json(w: &mut dyn Write, diff: &ReportDiff) -> io::Result<()> {
    #[derive(Serialize)]
    struct Doc<'a> {
        schema: &'static str,
        #[serde(flatten)]
        diff: &'a ReportDiff,
    }
    let doc = Doc {
        schema: DIFF_SCHEMA_VERSION,
        diff,
    };
    serde_json::to_writer_pretty(&mut *w, &doc).map_err(io::Error::from)?;
    w.write_all(b"\n")
}

fn short(v: &Value) -> String {
    let s = match v {
        Value::String(s) => format!("{s:?}"),
        other => other.to_string(),
    };
    let s: String = s
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(59).collect::<String>())
    } else {
        s
    }
}

fn describe_change(c: &FieldChange) -> String {
    match (&c.old, &c.new) {
        (Value::Array(o), Value::Array(n)) if c.field == "regions" || c.field == "modules" => {
            format!("{} ({} removed, {} added)", c.field, o.len(), n.len())
        }
        (o, n) => format!("{} ({} -> {})", c.field, short(o), short(n)),
    }
}

fn finding_line(f: &Finding) -> String {
    let pid = f.pid.map_or_else(|| "-".to_owned(), |p| p.to_string());
    let addr = f.address.map_or_else(|| "-".to_owned(), |a| a.to_string());
    let name = f.process.as_deref().unwrap_or("-");
    short_text(&format!(
        "{} {} pid {} ({}) {}: {}",
        f.severity, f.rule, pid, name, addr, f.description
    ))
}

fn short_text(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

/// Writes `diff` for humans: `No differences.` when empty, otherwise per section a count line
/// and one line per item, prefixed `+` (added), `-` (removed) or `~` (changed, with the
/// changed fields and their old -> new values).
pub fn write_diff_table(w: &mut dyn Write, diff: &ReportDiff) -> io::Result<()> {
    if diff.is_empty() {
        return writeln!(w, "No differences.");
    }
    writeln!(
        w,
        "Findings: {} added, {} removed, {} changed",
        diff.added_findings.len(),
        diff.removed_findings.len(),
        diff.changed_findings.len()
    )?;
    for f in &diff.added_findings {
        writeln!(w, "  + {}", finding_line(f))?;
    }
    for f in &diff.removed_findings {
        writeln!(w, "  - {}", finding_line(f))?;
    }
    for c in &diff.changed_findings {
        let pid = c.pid.map_or_else(|| "-".to_owned(), |p| p.to_string());
        let addr = c.address.map_or_else(|| "-".to_owned(), |a| a.to_string());
        let fields: Vec<String> = c.changes.iter().map(describe_change).collect();
        writeln!(
            w,
            "  ~ {} pid {} {}: {}",
            short_text(&c.rule),
            pid,
            addr,
            fields.join(", ")
        )?;
    }
    writeln!(
        w,
        "Processes: {} added, {} removed, {} changed",
        diff.added_processes.len(),
        diff.removed_processes.len(),
        diff.changed_processes.len()
    )?;
    for p in &diff.added_processes {
        writeln!(
            w,
            "  + pid {} {} offset {}",
            p.pid,
            short_text(&p.name),
            p.offset
        )?;
    }
    for p in &diff.removed_processes {
        writeln!(
            w,
            "  - pid {} {} offset {}",
            p.pid,
            short_text(&p.name),
            p.offset
        )?;
    }
    for c in &diff.changed_processes {
        let fields: Vec<String> = c.changes.iter().map(describe_change).collect();
        writeln!(
            w,
            "  ~ pid {} {} offset {}: {}",
            c.pid,
            short_text(&c.name),
            c.offset,
            fields.join(", ")
        )?;
    }
    Ok(())
}
