//! `unbacked_thread`, `module_path_mismatch` and `process_lineage` end to end, against the
//! fixture's ground truth: severities and evidence of every planted anomaly, the `threads`
//! table's `started_in` column for every thread, and silence on a clean capture. (The exact
//! set of findings of every rule on every build is checked by ground_truth.rs.)
#![allow(clippy::unwrap_used)]

use memtriage_e2e::{generate, hex, run_json, s, standard, Generated};
use memtriage_fixtures::Scenario;
use serde_json::Value;
use std::collections::BTreeMap;

const RULES: [&str; 3] = ["unbacked_thread", "module_path_mismatch", "process_lineage"];

fn arr(v: &Value) -> &Vec<Value> {
    v.as_array().unwrap()
}

fn truth_process(t: &Value, pid: u64) -> &Value {
    arr(&t["processes"])
        .iter()
        .find(|p| p["pid"] == pid)
        .unwrap()
}

/// The truth region of `p` holding `va`.
fn region_at(p: &Value, va: u64) -> Option<&Value> {
    arr(&p["regions"])
        .iter()
        .find(|r| hex(&r["start"]) <= va && va <= hex(&r["end"]))
}

fn findings<'a>(report: &'a Value, rule: &str) -> Vec<&'a Value> {
    arr(&report["findings"])
        .iter()
        .filter(|f| f["rule"] == rule)
        .collect()
}

fn check_unbacked(g: &Generated, report: &Value) {
    let found = findings(report, "unbacked_thread");
    let planted = arr(&g.truth["anomalies"])
        .iter()
        .filter(|a| a["kind"] == "unbacked_thread")
        .count();
    assert_eq!(found.len(), planted);
    assert_eq!(planted, 4);
    for f in found {
        let pid = f["pid"].as_u64().unwrap();
        let p = truth_process(&g.truth, pid);
        let start = hex(&f["address"]);
        let th = arr(&p["threads"])
            .iter()
            .find(|t| t["tid"] == f["evidence"]["tid"])
            .unwrap();
        assert_eq!(th["start_address"], f["address"]);
        assert_eq!(
            th["win32_start_address"],
            f["evidence"]["win32_start_address"]
        );
        assert_eq!(th["raw_start_address"], f["evidence"]["start_address"]);
        match region_at(p, start) {
            Some(r) => {
                let executable = s(r, "protection").contains("EXECUTE");
                let private = r["private"].as_bool().unwrap();
                let want = if private && executable {
                    "high"
                } else {
                    "medium"
                };
                assert_eq!(s(f, "severity"), want, "{f}");
                assert_eq!(f["evidence"]["region"]["start"], r["start"]);
                assert_eq!(f["evidence"]["region"]["end"], r["end"]);
                let ty = if private { "private" } else { "mapped" };
                assert_eq!(f["evidence"]["region"]["type"], ty);
                assert_eq!(f["evidence"]["protection"], r["protection"]);
            }
            None => {
                assert_eq!(s(f, "severity"), "medium");
                assert_eq!(f["evidence"]["region"], Value::Null);
            }
        }
    }
}

fn check_module_path(g: &Generated, report: &Value) {
    let found = findings(report, "module_path_mismatch");
    assert_eq!(found.len(), 1);
    let f = found[0];
    let p = truth_process(&g.truth, f["pid"].as_u64().unwrap());
    let r = region_at(p, hex(&f["address"])).unwrap();
    let m = arr(&p["modules"])
        .iter()
        .find(|m| m["base"] == f["address"])
        .unwrap();
    assert_eq!(f["evidence"]["mapped_file"], r["file"]);
    assert_eq!(f["evidence"]["loader_path"], m["path"]);
    assert_eq!(f["evidence"]["loader_name"], m["name"]);
    assert_eq!(f["end"], r["end"]);
    assert_eq!(s(f, "severity"), "high");
}

fn check_lineage(g: &Generated, report: &Value) {
    let want: BTreeMap<u64, Value> = arr(&g.truth["lineage"])
        .iter()
        .map(|l| (l["pid"].as_u64().unwrap(), l["invariants"].clone()))
        .collect();
    let got: BTreeMap<u64, Value> = findings(report, "process_lineage")
        .iter()
        .map(|f| {
            (
                f["pid"].as_u64().unwrap(),
                f["evidence"]["invariants"].clone(),
            )
        })
        .collect();
    assert_eq!(got, want);
    assert_eq!(want.len(), 2);
    for f in findings(report, "process_lineage") {
        let p = truth_process(&g.truth, f["pid"].as_u64().unwrap());
        assert_eq!(f["address"], p["eprocess"]);
        assert_eq!(f["evidence"]["ppid"], p["ppid"]);
        assert_eq!(f["evidence"]["session_id"], p["session_id"]);
        assert_eq!(f["evidence"]["image_path"], p["image_path"]);
    }
}

/// What the `threads` table must say for a truth thread of process `p`.
fn started_in(p: &Value, start: u64) -> String {
    if start == 0 {
        return "unknown".into();
    }
    if start >= 0xffff_8000_0000_0000 {
        return "kernel".into();
    }
    if start > 0x7fff_ffff_ffff {
        return "invalid".into();
    }
    match region_at(p, start) {
        None => "no region".into(),
        Some(r) if r["vad_type"] == 2 => {
            let base = &r["start"];
            arr(&p["modules"])
                .iter()
                .chain(p["modules32"].as_array().into_iter().flatten())
                .find(|m| &m["base"] == base)
                .map(|m| s(m, "name").to_string())
                .unwrap_or_else(|| s(r, "file").rsplit('\\').next().unwrap().to_string())
        }
        Some(r) if r["private"].as_bool().unwrap() => "private".into(),
        Some(_) => "mapped".into(),
    }
}

fn check_threads_column(g: &Generated, path: &str) {
    let rows = run_json(&["threads", path, "--format", "json"]);
    let mut checked = 0;
    for row in arr(&rows["rows"]) {
        let p = truth_process(&g.truth, row["pid"].as_u64().unwrap());
        assert_eq!(
            s(row, "started_in"),
            started_in(p, hex(&row["start_address"])),
            "{row}"
        );
        checked += 1;
    }
    assert!(checked > 20);
}

#[test]
fn planted_thread_module_and_lineage_anomalies_have_their_evidence() {
    for build in [7601, 19041] {
        let g = standard(build);
        let path = g.path("bitmap.dmp");
        let report = run_json(&["report", &path, "--format", "json"]);
        check_unbacked(g, &report);
        check_module_path(g, &report);
        check_lineage(g, &report);
        check_threads_column(g, &path);
    }
}

#[test]
fn a_clean_capture_gives_none_of_the_three_rules() {
    let clean = generate(Scenario {
        anomalies: false,
        ..Scenario::new(19041, 7)
    });
    let report = run_json(&["report", &clean.path("raw"), "--format", "json"]);
    for rule in RULES {
        assert_eq!(findings(&report, rule).len(), 0, "{rule}");
    }
    // Its threads all start in an image (or in the kernel for System).
    check_threads_column(clean, &clean.path("raw"));
    let rows = run_json(&["threads", &clean.path("raw"), "--format", "json"]);
    assert!(arr(&rows["rows"]).iter().all(|r| ![
        "private",
        "mapped",
        "no region",
        "unknown",
        "invalid"
    ]
    .contains(&s(r, "started_in"))));
}
