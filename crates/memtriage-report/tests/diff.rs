//! Report diff: added, removed and changed findings and processes, and the diff writers.
#![allow(clippy::unwrap_used)]

mod common;

use memtriage_report::serde_json::{self, json, Value};
use memtriage_report::*;

fn render(f: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> String {
    let mut out = Vec::new();
    f(&mut out).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn identical_reports_have_an_empty_diff() {
    let r = common::sample_report();
    let d = diff(&r, &r.clone());
    assert!(d.is_empty());
    assert_eq!(d, ReportDiff::default());
    assert_eq!(render(|w| write_diff_table(w, &d)), "No differences.\n");
    assert_eq!(
        render(|w| write_diff_json(w, &d)),
        concat!(
            "{\n",
            "  \"schema\": \"memtriage-diff/1\",\n",
            "  \"added_findings\": [],\n",
            "  \"removed_findings\": [],\n",
            "  \"changed_findings\": [],\n",
            "  \"added_processes\": [],\n",
            "  \"removed_processes\": [],\n",
            "  \"changed_processes\": []\n",
            "}\n"
        )
    );
}

#[test]
fn system_and_warnings_are_not_compared() {
    let old = common::sample_report();
    let mut new = old.clone();
    new.system.build = Some(22000);
    new.warnings.clear();
    new.image.path = "other.raw".into();
    assert!(diff(&old, &new).is_empty());
}

#[test]
fn added_removed_and_changed() {
    let old = common::sample_report();
    let mut new = old.clone();

    // Finding: same key (rule, pid, address) with new severity and description -> changed.
    new.findings[0].severity = Severity::Medium;
    new.findings[0].description = "rwx memory".into();
    // Same rule and pid, other address -> a new finding.
    new.findings.push(
        Finding::new("rwx_private", Severity::High, "second region")
            .with_process(1337, "java.exe")
            .with_address(0x7ff000100000),
    );
    // An old finding that disappears.
    let mut old = old;
    old.findings.push(
        Finding::new("hidden_process", Severity::High, "carved").with_process(666, "evil.exe"),
    );

    // Process 666 gone, process 2000 new, 1337 changed (threads, one region replaced, module
    // unchanged); 4 unchanged.
    new.processes.retain(|p| p.pid != 666);
    new.processes.push(Process {
        pid: 2000,
        ppid: 4,
        name: "cmd.exe".into(),
        offset: Hex(0xffffa0000d000000),
        ..Process::default()
    });
    new.processes[1].threads = 13;
    new.processes[1].regions[0].protection = "PAGE_EXECUTE_READ".into();

    let d = diff(&old, &new);
    assert!(!d.is_empty());

    assert_eq!(d.added_findings.len(), 1);
    assert_eq!(d.added_findings[0].address, Some(Hex(0x7ff000100000)));
    assert_eq!(d.removed_findings.len(), 1);
    assert_eq!(d.removed_findings[0].rule, "hidden_process");
    assert_eq!(d.changed_findings.len(), 1);
    let cf = &d.changed_findings[0];
    assert_eq!(
        (cf.rule.as_str(), cf.pid, cf.address),
        ("rwx_private", Some(1337), Some(Hex(0x7ff000000000)))
    );
    assert_eq!(cf.fields(), vec!["severity", "description"]);
    assert_eq!(cf.changes[0].old, json!("high"));
    assert_eq!(cf.changes[0].new, json!("medium"));

    let added: Vec<u64> = d.added_processes.iter().map(|p| p.pid).collect();
    let removed: Vec<u64> = d.removed_processes.iter().map(|p| p.pid).collect();
    assert_eq!(added, vec![2000]);
    assert_eq!(removed, vec![666]);
    assert_eq!(d.changed_processes.len(), 1);
    let cp = &d.changed_processes[0];
    assert_eq!((cp.pid, cp.offset), (1337, Hex(0xffffa0000b000080)));
    assert_eq!(cp.fields(), vec!["threads", "regions"]);
    assert_eq!(
        (&cp.changes[0].old, &cp.changes[0].new),
        (&json!(12), &json!(13))
    );
    // Only the differing region on each side.
    assert_eq!(cp.changes[1].old[0]["protection"], "PAGE_EXECUTE_READWRITE");
    assert_eq!(cp.changes[1].new[0]["protection"], "PAGE_EXECUTE_READ");
    assert_eq!(cp.changes[1].old.as_array().unwrap().len(), 1);

    assert_eq!(
        render(|w| write_diff_table(w, &d)),
        concat!(
            "Findings: 1 added, 1 removed, 1 changed\n",
            "  + high rwx_private pid 1337 (java.exe) 0x7ff000100000: second region\n",
            "  - high hidden_process pid 666 (evil.exe) -: carved\n",
            "  ~ rwx_private pid 1337 0x7ff000000000: severity (\"high\" -> \"medium\"), description (\"private executable and writable memory\" -> \"rwx memory\")\n",
            "Processes: 1 added, 1 removed, 1 changed\n",
            "  + pid 2000 cmd.exe offset 0xffffa0000d000000\n",
            "  - pid 666 evil.exe offset 0xffffa0000c0000c0\n",
            "  ~ pid 1337 java.exe offset 0xffffa0000b000080: threads (12 -> 13), regions (1 removed, 1 added)\n",
        )
    );

    let v: Value = serde_json::from_str(&render(|w| write_diff_json(w, &d))).unwrap();
    assert_eq!(v["schema"], "memtriage-diff/1");
    assert_eq!(v["changed_processes"][0]["offset"], "0xffffa0000b000080");
    assert_eq!(v["changed_processes"][0]["changes"][0]["field"], "threads");
    assert_eq!(v["added_findings"][0]["address"], "0x7ff000100000");
    assert_eq!(v["removed_processes"][0]["pid"], 666);
    // The JSON reads back into the same diff.
    let back: ReportDiff = serde_json::from_value(v).unwrap();
    assert_eq!(back, d);
}

#[test]
fn process_key_includes_offset() {
    // Same pid at another EPROCESS address (pid reuse): one removed, one added, none changed.
    let old = common::sample_report();
    let mut new = old.clone();
    new.processes[2].offset = Hex(0xffffa0000e000000);
    let d = diff(&old, &new);
    assert_eq!(d.removed_processes.len(), 1);
    assert_eq!(d.added_processes.len(), 1);
    assert_eq!(d.removed_processes[0].offset, Hex(0xffffa0000c0000c0));
    assert_eq!(d.added_processes[0].offset, Hex(0xffffa0000e000000));
    assert!(d.changed_processes.is_empty());
}

#[test]
fn duplicate_keys_pair_in_order() {
    // Two findings with the same key in both reports; only the second differs.
    let mut old = common::sample_report();
    old.findings.push(old.findings[0].clone());
    let mut new = old.clone();
    new.findings[1].mitre = vec!["T1055.012".into()];
    let d = diff(&old, &new);
    assert!(d.added_findings.is_empty() && d.removed_findings.is_empty());
    assert_eq!(d.changed_findings.len(), 1);
    assert_eq!(d.changed_findings[0].fields(), vec!["mitre"]);
    // One extra copy on the new side is added.
    new.findings.push(new.findings[0].clone());
    assert_eq!(diff(&old, &new).added_findings.len(), 1);
}
