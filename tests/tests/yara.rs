//! `yarascan` and `report --yara` on the standard 19041 capture: the matches of rules over
//! bytes the fixtures plant are exactly the places the ground truth names, decoy rules match
//! nothing, a rule syntax error is one line and exit 2.
#![allow(clippy::unwrap_used)]

use memtriage_e2e::{hex, repo, run, run_json, s, standard};
use serde_json::Value;
use std::collections::BTreeSet;

const BUILD: u32 = 19041;

/// A directory holding the two rule files of these tests (tests/yara also holds the peer
/// check's rules, which match much more).
fn rules_dir() -> String {
    let dir = memtriage_e2e::temp_root().join("yara-rules");
    std::fs::create_dir_all(&dir).unwrap();
    for name in ["mapped.yar", "shellcode.yar"] {
        std::fs::copy(repo().join("tests/yara").join(name), dir.join(name)).unwrap();
    }
    dir.display().to_string()
}

fn rules_file(name: &str) -> String {
    repo().join("tests/yara").join(name).display().to_string()
}

/// Pids of the processes on the active list.
fn listed(truth: &Value) -> BTreeSet<u64> {
    truth["processes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["in_active_list"].as_bool().unwrap())
        .map(|p| p["pid"].as_u64().unwrap())
        .collect()
}

/// (pid, address) of the planted shellcode regions of listed processes.
fn shellcode(truth: &Value) -> BTreeSet<(u64, u64)> {
    let listed = listed(truth);
    truth["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|a| s(a, "kind") == "rwx_private" && s(a, "detail").contains("shellcode"))
        .map(|a| (a["pid"].as_u64().unwrap(), hex(&a["address"])))
        .filter(|(pid, _)| listed.contains(pid))
        .collect()
}

/// (pid, start) of the locale.nls views of listed processes.
fn locale_views(truth: &Value) -> BTreeSet<(u64, u64)> {
    let mut out = BTreeSet::new();
    for p in truth["processes"].as_array().unwrap() {
        if !p["in_active_list"].as_bool().unwrap() {
            continue;
        }
        for r in p["regions"].as_array().unwrap() {
            if r["file"].as_str() == Some("\\Windows\\System32\\locale.nls") {
                out.insert((p["pid"].as_u64().unwrap(), hex(&r["start"])));
            }
        }
    }
    out
}

fn rows(v: &Value) -> &Vec<Value> {
    v["rows"].as_array().unwrap()
}

/// (pid, namespace.rule, address) of every row.
fn hits(v: &Value) -> BTreeSet<(u64, String, u64)> {
    rows(v)
        .iter()
        .map(|r| {
            (
                r["pid"].as_u64().unwrap(),
                format!("{}.{}", s(r, "namespace"), s(r, "rule")),
                hex(&r["address"]),
            )
        })
        .collect()
}

#[test]
fn a_file_matches_exactly_the_planted_shellcode_and_the_decoy_rule_nothing() {
    let g = standard(BUILD);
    let image = g.path("raw");
    let v = run_json(&[
        "yarascan",
        &image,
        "--rules",
        &rules_file("shellcode.yar"),
        "--format",
        "json",
        "-q",
    ]);
    let expected: BTreeSet<(u64, String, u64)> = shellcode(&g.truth)
        .into_iter()
        .map(|(pid, a)| (pid, "default.shellcode_prologue".to_owned(), a))
        .collect();
    assert!(!expected.is_empty());
    assert_eq!(hits(&v), expected);
    for r in rows(&v) {
        assert_eq!(s(r, "space"), "user");
        assert_eq!(s(r, "tags"), "injection");
        assert_eq!(s(r, "severity"), "high");
        assert_eq!(s(r, "pattern"), "$prologue");
        assert_eq!(hex(&r["offset"]), 0);
        assert_eq!(r["length"].as_u64(), Some(25));
        assert_eq!(
            s(r, "data"),
            "fc4883e4f0e8c0000000415141505251564831d265488b5260"
        );
        assert_eq!(hex(&r["region_start"]), hex(&r["address"]));
        assert_eq!(hex(&r["region_end"]), hex(&r["address"]) + 0x1fff);
        assert!(s(r, "meta").starts_with("severity=high; description=x64 shellcode"));
    }
}

#[test]
fn a_directory_is_one_namespace_per_file_and_pid_selects() {
    let g = standard(BUILD);
    let image = g.path("bitmap.dmp");
    let v = run_json(&[
        "yarascan",
        &image,
        "--rules",
        &rules_dir(),
        "--format",
        "json",
        "-q",
    ]);
    let mut expected: BTreeSet<(u64, String, u64)> = shellcode(&g.truth)
        .into_iter()
        .map(|(pid, a)| (pid, "shellcode.shellcode_prologue".to_owned(), a))
        .collect();
    let views = locale_views(&g.truth);
    // Every listed process but System (which has no user regions) maps locale.nls.
    assert_eq!(views.len(), listed(&g.truth).len() - 1);
    expected.extend(
        views
            .into_iter()
            .map(|(pid, a)| (pid, "mapped.locale_view".to_owned(), a)),
    );
    assert_eq!(hits(&v), expected);

    let (pid, address) = *shellcode(&g.truth).iter().next().unwrap();
    let v = run_json(&[
        "yarascan",
        &image,
        "--rules",
        &rules_dir(),
        "-p",
        &pid.to_string(),
        "--format",
        "json",
        "-q",
    ]);
    let view = locale_views(&g.truth)
        .into_iter()
        .find(|(p, _)| *p == pid)
        .unwrap()
        .1;
    let expected: BTreeSet<(u64, String, u64)> = [
        (pid, "shellcode.shellcode_prologue".to_owned(), address),
        (pid, "mapped.locale_view".to_owned(), view),
    ]
    .into();
    assert_eq!(hits(&v), expected);
}

#[test]
fn kernel_memory_is_scanned_with_kernel() {
    let g = standard(BUILD);
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("kernel.yar");
    // The fixture kernel's entry code at its base + 0x1040 (fixtures/src/kernel.rs).
    std::fs::write(
        &rules,
        "rule kentry { strings: $e = { 48 83 EC 28 90 48 83 C4 28 C3 } condition: $e }",
    )
    .unwrap();
    let rules = rules.display().to_string();
    let image = g.path("raw");
    let user = run_json(&["yarascan", &image, "--rules", &rules, "-f", "json", "-q"]);
    assert!(rows(&user).iter().all(|r| s(r, "space") == "user"));
    let v = run_json(&[
        "yarascan", &image, "--rules", &rules, "--kernel", "-f", "json", "-q",
    ]);
    let kernel: BTreeSet<u64> = rows(&v)
        .iter()
        .filter(|r| s(r, "space") == "kernel")
        .map(|r| {
            assert!(r["pid"].is_null() && r["process"].is_null());
            assert!(hex(&r["region_start"]) <= hex(&r["address"]));
            assert!(hex(&r["address"]) <= hex(&r["region_end"]));
            hex(&r["address"])
        })
        .collect();
    let base = hex(&g.truth["system"]["kernel_base"]);
    assert!(kernel.contains(&(base + 0x1040)), "{kernel:x?}");
}

#[test]
fn a_rule_syntax_error_is_one_line_and_exit_2() {
    let g = standard(BUILD);
    let dir = tempfile::tempdir().unwrap();
    let rules = dir.path().join("broken.yar");
    std::fs::write(
        &rules,
        "rule broken\n{\n    strings: $a = \"x\"\n    condition: $a and\n}\n",
    )
    .unwrap();
    let rules = rules.display().to_string();
    let image = g.path("raw");
    for args in [
        ["yarascan", &image, "--rules", &rules],
        ["report", &image, "--yara", &rules],
    ] {
        let out = run(&args);
        assert_eq!(out.status.code(), Some(2), "{args:?}");
        assert!(out.stdout.is_empty());
        // One line: the file, line and column of the error, then yara-x's message.
        let err = String::from_utf8(out.stderr).unwrap();
        assert!(
            err.starts_with(&format!("memtriage: error: {rules}:5:1: syntax error: ")),
            "{err}"
        );
        assert!(err.ends_with("found `}`\n"), "{err}");
        assert_eq!(err.lines().count(), 1, "{err}");
    }
    let out = run(&["yarascan", &image, "--rules", "/nonexistent/rules.yar"]);
    assert_eq!(out.status.code(), Some(2));
    assert_eq!(
        String::from_utf8(out.stderr).unwrap(),
        "memtriage: error: /nonexistent/rules.yar: No such file or directory (os error 2)\n"
    );
}

#[test]
fn report_yara_adds_findings_with_the_meta_severity() {
    let g = standard(BUILD);
    let image = g.path("full.dmp");
    let report = run_json(&["report", &image, "--yara", &rules_dir(), "-f", "json", "-q"]);
    let schema: Value = serde_json::from_slice(
        &std::fs::read(repo().join("docs/schema/report.schema.json")).unwrap(),
    )
    .unwrap();
    let validator = jsonschema::validator_for(&schema).unwrap();
    assert!(validator.is_valid(&report));
    // Each finding's match count equals yarascan's rows for that process, rule and region.
    let scan = run_json(&[
        "yarascan",
        &image,
        "--rules",
        &rules_dir(),
        "-f",
        "json",
        "-q",
    ]);
    let mut rows_per_region: std::collections::BTreeMap<(u64, String, u64), u64> =
        std::collections::BTreeMap::new();
    for r in rows(&scan) {
        let key = (
            r["pid"].as_u64().unwrap(),
            s(r, "rule").to_owned(),
            hex(&r["region_start"]),
        );
        *rows_per_region.entry(key).or_default() += 1;
    }
    let findings: BTreeSet<(u64, String, u64, String)> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| s(f, "rule") == "yara_match")
        .map(|f| {
            assert!(f["mitre"].as_array().unwrap().is_empty());
            // The shellcode once per region; the locale.nls text once per page that holds it.
            let count = f["evidence"]["match_count"].as_u64().unwrap();
            let key = (
                f["pid"].as_u64().unwrap(),
                s(&f["evidence"], "yara_rule").to_owned(),
                hex(&f["evidence"]["region_start"]),
            );
            assert_eq!(Some(&count), rows_per_region.get(&key), "{key:?}");
            if s(&f["evidence"], "yara_rule") == "shellcode_prologue" {
                assert_eq!(count, 1);
            } else {
                assert!(count >= 1);
            }
            (
                f["pid"].as_u64().unwrap(),
                s(&f["evidence"], "yara_rule").to_owned(),
                hex(&f["address"]),
                s(f, "severity").to_owned(),
            )
        })
        .collect();
    let mut expected: BTreeSet<(u64, String, u64, String)> = shellcode(&g.truth)
        .into_iter()
        .map(|(pid, a)| (pid, "shellcode_prologue".into(), a, "high".into()))
        .collect();
    expected.extend(
        locale_views(&g.truth)
            .into_iter()
            .map(|(pid, a)| (pid, "locale_view".into(), a, "low".into())),
    );
    assert_eq!(findings, expected);
    // The built-in findings are the same with and without --yara.
    let plain = run_json(&["report", &image, "-f", "json", "-q"]);
    let others: Vec<&Value> = report["findings"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| s(f, "rule") != "yara_match")
        .collect();
    let plain: Vec<&Value> = plain["findings"].as_array().unwrap().iter().collect();
    assert_eq!(others, plain);
}

#[test]
fn a_clean_capture_gives_no_shellcode_match() {
    let mut scenario = memtriage_fixtures::Scenario::new(BUILD, 1);
    scenario.anomalies = false;
    let g = memtriage_e2e::generate(scenario);
    let v = run_json(&[
        "yarascan",
        &g.path("raw"),
        "--rules",
        &rules_file("shellcode.yar"),
        "-f",
        "json",
        "-q",
    ]);
    assert!(rows(&v).is_empty(), "{v}");
}
