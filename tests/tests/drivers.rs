//! `modules --scan` and `unlinked_kernel_module` against the fixtures' ground truth, on every
//! build with a real ISF: the planted unlisted driver images exactly (how each was found, its
//! driver object), every listed driver and decoy unflagged, and nothing at all on a clean
//! capture.
#![allow(clippy::unwrap_used)]

use memtriage_e2e::{hex, run_json, s, temp_root, BUILDS};
use memtriage_fixtures::{build, testdata_isf_dir, Scenario};
use serde_json::Value;
use std::collections::BTreeMap;

/// Build `scenario` and write only its raw image (cheaper than every format); returns the
/// image path and the truth.
fn raw_capture(scenario: &Scenario, tag: &str) -> (String, Value) {
    let capture = build(scenario, &testdata_isf_dir()).unwrap();
    let dir = temp_root().join(format!("drivers-{tag}-{}", scenario.name()));
    std::fs::create_dir_all(&dir).unwrap();
    let raw = dir.join(format!("{}.raw", scenario.name()));
    capture.write_raw(&raw).unwrap();
    let truth_path = dir.join("truth.json");
    capture.write_truth(&truth_path).unwrap();
    let truth = serde_json::from_slice(&std::fs::read(&truth_path).unwrap()).unwrap();
    (raw.display().to_string(), truth)
}

/// One expected row of `modules --scan`, keyed by base.
#[derive(Debug, PartialEq)]
struct Want {
    in_list: bool,
    by_driver_object: bool,
    by_pe_header: bool,
    driver_name: Option<String>,
    driver_object: Option<u64>,
    offset_physical: Option<u64>,
}

fn expected(truth: &Value) -> BTreeMap<u64, Want> {
    let drivers = truth["drivers"].as_array().cloned().unwrap_or_default();
    let driver_at = |base: u64| {
        drivers
            .iter()
            .find(|d| hex(&d["driver_start"]) == base)
            .cloned()
    };
    let with_driver = |mut w: Want, d: Option<Value>| {
        if let Some(d) = d {
            w.by_driver_object = true;
            w.driver_name = Some(s(&d, "name").to_string());
            w.driver_object = Some(hex(&d["object"]));
            w.offset_physical = Some(hex(&d["object_pa"]));
        }
        w
    };
    let mut out = BTreeMap::new();
    for m in truth["kernel_modules"].as_array().unwrap() {
        let base = hex(&m["base"]);
        let w = Want {
            in_list: true,
            by_driver_object: false,
            // The fixtures' hal.dll is Wine's builtin (subsystem Windows CUI), not a native
            // image: the header scan rightly passes it by. Every other header is native.
            by_pe_header: s(m, "name") != "hal.dll",
            driver_name: None,
            driver_object: None,
            offset_physical: None,
        };
        out.insert(base, with_driver(w, driver_at(base)));
    }
    for a in truth["anomalies"].as_array().unwrap() {
        if s(a, "kind") != "unlinked_kernel_module" {
            continue;
        }
        let base = hex(&a["address"]);
        let wiped = s(a, "detail").contains("wiped");
        let w = Want {
            in_list: false,
            by_driver_object: false,
            by_pe_header: !wiped,
            driver_name: None,
            driver_object: None,
            offset_physical: None,
        };
        out.insert(base, with_driver(w, driver_at(base)));
    }
    out
}

fn got(rows: &Value) -> BTreeMap<u64, Want> {
    let opt_hex = |v: &Value| (!v.is_null()).then(|| hex(v));
    rows.as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                hex(&r["base"]),
                Want {
                    in_list: r["in_list"].as_bool().unwrap(),
                    by_driver_object: r["by_driver_object"].as_bool().unwrap(),
                    by_pe_header: r["by_pe_header"].as_bool().unwrap(),
                    driver_name: r["driver_name"].as_str().map(str::to_string),
                    driver_object: opt_hex(&r["driver_object"]),
                    offset_physical: opt_hex(&r["offset_physical"]),
                },
            )
        })
        .collect()
}

fn unlinked_findings(report: &Value) -> Vec<&Value> {
    report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["rule"] == "unlinked_kernel_module")
        .collect()
}

fn check_planted(build: u32) {
    let (raw, truth) = raw_capture(&Scenario::new(build, 1), "planted");
    let want = expected(&truth);
    assert_eq!(
        want.values().filter(|w| !w.in_list).count(),
        3,
        "{build}: three unlisted images planted"
    );
    let scan = run_json(&["modules", &raw, "--scan", "--format", "json"]);
    assert_eq!(got(&scan["rows"]), want, "{build}: modules --scan");

    let report = run_json(&["report", &raw, "--format", "json"]);
    let mut findings: Vec<(u64, String, String)> = unlinked_findings(&report)
        .iter()
        .map(|f| {
            assert!(f["pid"].is_null() && f["process"].is_null(), "{f}");
            assert_eq!(f["mitre"], serde_json::json!(["T1014"]));
            (
                hex(&f["address"]),
                s(f, "severity").to_string(),
                s(&f["evidence"], "found_by").to_string(),
            )
        })
        .collect();
    findings.sort();
    let mut planted: Vec<(u64, String, String)> = want
        .iter()
        .filter(|(_, w)| !w.in_list)
        .map(|(base, w)| {
            let (severity, found_by) = match (w.by_driver_object, w.by_pe_header) {
                (true, true) => ("high", "both"),
                (true, false) => ("high", "driver_object"),
                _ => ("medium", "pe_header"),
            };
            (*base, severity.to_string(), found_by.to_string())
        })
        .collect();
    planted.sort();
    assert_eq!(
        findings, planted,
        "{build}: unlinked_kernel_module findings"
    );
    for d in truth["decoys"].as_array().unwrap() {
        assert!(
            !unlinked_findings(&report)
                .iter()
                .any(|f| f["address"] == d["address"]),
            "{build}: decoy {d} flagged"
        );
    }
}

fn check_clean(build: u32) {
    let sc = Scenario {
        anomalies: false,
        ..Scenario::new(build, 1)
    };
    let (raw, truth) = raw_capture(&sc, "clean");
    let scan = run_json(&["modules", &raw, "--scan", "--format", "json"]);
    let rows = got(&scan["rows"]);
    assert!(
        rows.values().all(|w| w.in_list),
        "{build}: clean scan {rows:?}"
    );
    assert_eq!(rows, expected(&truth), "{build}: clean modules --scan");
    let report = run_json(&["report", &raw, "--format", "json"]);
    assert!(
        unlinked_findings(&report).is_empty(),
        "{build}: findings on a clean capture"
    );
}

#[test]
fn every_build_finds_exactly_the_planted_unlisted_drivers() {
    for build in BUILDS {
        check_planted(build);
    }
}

#[test]
fn a_clean_capture_has_no_unlisted_driver() {
    for build in BUILDS {
        check_clean(build);
    }
}
