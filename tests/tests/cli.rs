//! The CLI contract: the committed sample and its golden report, the JSON schema, JSON Lines,
//! exit codes, bad input, evidence integrity, discovery fallbacks and the real dumps.
#![allow(clippy::unwrap_used)]

use memtriage_e2e::{generate, repo, run, run_json, s, standard};
use memtriage_fixtures::Scenario;
use serde_json::Value;
use std::process::Command;

const SAMPLE: &str = "fixtures/samples/win10-19041.dmp";
const GOLDEN: &str = "fixtures/samples/win10-19041.report.json";

fn run_in_repo(args: &[&str]) -> std::process::Output {
    Command::new(memtriage_e2e::bin())
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap()
}

#[test]
fn sample_report_equals_the_golden_report() {
    let out = run_in_repo(&["report", SAMPLE, "--format", "json"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let got: Value = serde_json::from_slice(&out.stdout).unwrap();
    if std::env::var_os("MEMTRIAGE_BLESS").is_some() {
        std::fs::write(repo().join(GOLDEN), &out.stdout).unwrap();
    }
    let want: Value = serde_json::from_slice(&std::fs::read(repo().join(GOLDEN)).unwrap()).unwrap();
    assert_eq!(
        got, want,
        "report differs from {GOLDEN} (MEMTRIAGE_BLESS=1 regenerates it)"
    );
    // And the golden report's findings are the sample truth's anomalies.
    let truth: Value = serde_json::from_slice(
        &std::fs::read(repo().join("fixtures/samples/win10-19041.truth.json")).unwrap(),
    )
    .unwrap();
    let mut a: Vec<(String, u64, String)> = truth["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                s(a, "kind").into(),
                a["pid"].as_u64().unwrap(),
                s(a, "address").into(),
            )
        })
        .collect();
    let mut b: Vec<(String, u64, String)> = got["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                s(f, "rule").into(),
                // Kernel findings (unlinked_kernel_module) have a null pid; the truth says 0.
                f["pid"].as_u64().unwrap_or(0),
                s(f, "address").into(),
            )
        })
        .collect();
    a.sort();
    b.sort();
    assert_eq!(a, b);
}

fn schema() -> jsonschema::Validator {
    let schema: Value = serde_json::from_slice(
        &std::fs::read(repo().join("docs/schema/report.schema.json")).unwrap(),
    )
    .unwrap();
    jsonschema::validator_for(&schema).unwrap()
}

#[test]
fn reports_validate_against_the_schema() {
    let v = schema();
    for build in [7601, 19041] {
        let g = standard(build);
        let r = run_json(&["report", &g.path("raw"), "--format", "json"]);
        let errors: Vec<String> = v
            .iter_errors(&r)
            .map(|e| format!("{e} at {}", e.instance_path))
            .collect();
        assert!(errors.is_empty(), "{build}: {errors:?}");
    }
    // A numeric address must not validate.
    let mut r = run_json(&[
        "report",
        &standard(19041).path("bitmap.dmp"),
        "--format",
        "json",
    ]);
    r["processes"][0]["offset"] = Value::from(1234);
    assert!(!v.is_valid(&r));
}

#[test]
fn jsonl_lines_are_self_contained_ecs_events() {
    let g = standard(19041);
    let out = run(&[
        "report",
        &g.path("raw"),
        "--format",
        "jsonl",
        "--host",
        "ws42",
    ]);
    assert!(out.status.success());
    let text = String::from_utf8(out.stdout).unwrap();
    let lines: Vec<Value> = text
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let procs = g.truth["processes"].as_array().unwrap().len();
    let anomalies = g.truth["anomalies"].as_array().unwrap().len();
    assert_eq!(lines.len(), procs + anomalies);
    let alerts: Vec<&Value> = lines
        .iter()
        .filter(|l| l["event"]["kind"] == "alert")
        .collect();
    assert_eq!(alerts.len(), anomalies);
    for l in &lines {
        assert_eq!(l["host"]["name"], "ws42");
        assert_eq!(l["@timestamp"], g.truth["system"]["system_time"]);
        // Kernel findings (unlinked_kernel_module) belong to no process.
        let kernel = l["rule"]["id"] == "unlinked_kernel_module";
        assert_eq!(l["process"]["pid"].is_u64(), !kernel, "{l}");
    }
    assert!(alerts
        .iter()
        .all(|a| a["rule"]["id"].is_string() && a["threat"]["technique"]["id"].is_array()));
}

#[test]
fn fail_on_sets_the_exit_code() {
    let g = standard(19041);
    let p = g.path("bitmap.dmp");
    assert_eq!(
        run(&["report", &p, "--format", "json", "--fail-on", "high"])
            .status
            .code(),
        Some(1)
    );
    assert_eq!(
        run(&["report", &p, "--format", "json", "--fail-on", "medium"])
            .status
            .code(),
        Some(1)
    );
    // A clean capture: no anomalies → exit 0 at any threshold.
    let clean = generate(Scenario {
        anomalies: false,
        ..Scenario::new(19041, 7)
    });
    let out = run(&[
        "report",
        &clean.path("bitmap.dmp"),
        "--format",
        "json",
        "--fail-on",
        "low",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(r["findings"], serde_json::json!([]));
    // Suppressing the high rules leaves only medium findings.
    let dir = tempfile::tempdir().unwrap();
    let sup = dir.path().join("suppress.toml");
    std::fs::write(
        &sup,
        // A process pattern never matches a finding without a process (the kernel's): the
        // second entry suppresses those by rule alone.
        "[[suppress]]\nrule = \"*\"\nprocess = \"*\"\nreason = \"all\"\n\n\
         [[suppress]]\nrule = \"unlinked_kernel_module\"\nreason = \"kernel\"\n",
    )
    .unwrap();
    let out = run(&[
        "report",
        &p,
        "--format",
        "json",
        "--suppress",
        sup.to_str().unwrap(),
        "--fail-on",
        "low",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let r: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        r["suppressed"].as_u64().unwrap() as usize,
        g.truth["anomalies"].as_array().unwrap().len()
    );
}

#[test]
fn diff_exits_one_when_reports_differ() {
    let dir = tempfile::tempdir().unwrap();
    let a = dir.path().join("a.json");
    let b = dir.path().join("b.json");
    let full = standard(19041);
    let clean = generate(Scenario {
        anomalies: false,
        ..Scenario::new(19041, 7)
    });
    std::fs::write(
        &a,
        run(&["report", &full.path("raw"), "--format", "json"]).stdout,
    )
    .unwrap();
    std::fs::write(
        &b,
        run(&["report", &clean.path("raw"), "--format", "json"]).stdout,
    )
    .unwrap();
    let same = run(&[
        "diff",
        a.to_str().unwrap(),
        a.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(same.status.code(), Some(0));
    let diff = run(&[
        "diff",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(diff.status.code(), Some(1));
    let d: Value = serde_json::from_slice(&diff.stdout).unwrap();
    assert_eq!(
        d["removed_findings"].as_array().unwrap().len(),
        full.truth["anomalies"].as_array().unwrap().len()
    );
}

fn assert_one_line_error(args: &[&str], needle: &str) {
    let out = run(args);
    assert_eq!(out.status.code(), Some(2), "{args:?}");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{args:?}: {err}");
    assert!(err.contains(needle), "{args:?}: {err}");
}

#[test]
fn bad_input_gives_one_line_and_exit_2() {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty.raw");
    std::fs::write(&empty, b"").unwrap();
    let garbage = dir.path().join("garbage.bin");
    std::fs::write(&garbage, vec![0x5Au8; 1 << 20]).unwrap();
    let truncated = dir.path().join("truncated.dmp");
    std::fs::write(
        &truncated,
        &std::fs::read(repo().join(SAMPLE)).unwrap()[..100],
    )
    .unwrap();
    let e = empty.to_str().unwrap();
    let g = garbage.to_str().unwrap();
    let t = truncated.to_str().unwrap();
    let d = dir.path().to_str().unwrap();
    assert_one_line_error(&["info", e], e);
    assert_one_line_error(&["pslist", e], e);
    assert_one_line_error(&["info", d], d);
    assert_one_line_error(
        &["pslist", "/nonexistent/capture.raw"],
        "/nonexistent/capture.raw",
    );
    assert_one_line_error(&["pslist", g], g);
    assert_one_line_error(&["report", g], g);
    assert_one_line_error(&["info", t], t);
    // Usage errors are exit 2 as well.
    assert_eq!(run(&["pslist"]).status.code(), Some(2));
    assert_eq!(
        run(&["report", e, "--fail-on", "severe"]).status.code(),
        Some(2)
    );
}

#[test]
fn no_command_touches_the_evidence() {
    let g = standard(9600);
    for format in ["raw", "bitmap.dmp"] {
        let path = g.path(format);
        let before = std::fs::read(&path).unwrap();
        let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
        for cmd in [
            "info",
            "pslist",
            "psscan",
            "pstree",
            "threads",
            "modules",
            "vadinfo",
            "vmmap",
            "dlllist",
            "cmdline",
            "envars",
            "ldrmodules",
            "malfind",
            "report",
        ] {
            let out = run(&[cmd, &path, "--format", "json"]);
            assert!(
                out.status.success(),
                "{cmd}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        assert_eq!(
            run(&["vtop", &path, "0xfffff78000000000", "--format", "json"])
                .status
                .code(),
            Some(0)
        );
        assert_eq!(
            std::fs::metadata(&path).unwrap().modified().unwrap(),
            mtime,
            "{path}: mtime changed"
        );
        assert!(
            std::fs::read(&path).unwrap() == before,
            "{path}: bytes changed"
        );
    }
}

#[test]
fn discovery_without_low_stub_and_with_unknown_guid() {
    // No low stub on a raw image: the DTB comes from the low-memory scan.
    let g = generate(Scenario {
        low_stub: false,
        ..Scenario::new(17763, 3)
    });
    let info = run_json(&["info", &g.path("raw"), "--format", "json"]);
    assert_eq!(s(&info["kernel"], "dtb_source"), "scan");
    assert_eq!(s(&info["kernel"], "dtb"), s(&g.truth["system"], "dtb"));
    assert_eq!(
        s(&info["kernel"], "kernel_base"),
        s(&g.truth["system"], "kernel_base")
    );
    // A 19041 layout whose kernel has a GUID no profile knows: matched by build number.
    let g = generate(Scenario {
        unknown_guid: true,
        ..Scenario::new(19041, 5)
    });
    let info = run_json(&["info", &g.path("raw"), "--format", "json"]);
    assert_eq!(s(&info["kernel"], "profile_match"), "SameBuild");
    assert_eq!(
        s(&info["kernel"], "pdb_guid"),
        s(&g.truth["system"], "pdb_guid")
    );
    let r = run_json(&["pslist", &g.path("raw"), "--format", "json"]);
    let active = g.truth["processes"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|p| p["in_active_list"] == true)
        .count();
    assert_eq!(r["rows"].as_array().unwrap().len(), active);
}

#[test]
fn user_isf_profile_is_used_and_agrees() {
    let g = standard(14393);
    let isf = std::fs::read_dir(repo().join("testdata/isf"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with("ntkrnlmp-14393-")
        })
        .unwrap();
    let info = run_json(&[
        "info",
        &g.path("full.dmp"),
        "--isf",
        isf.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(s(&info["kernel"], "profile_match"), "UserIsf");
    let a = run_json(&[
        "vadinfo",
        &g.path("full.dmp"),
        "--isf",
        isf.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let b = run_json(&["vadinfo", &g.path("full.dmp"), "--format", "json"]);
    assert_eq!(a["rows"], b["rows"]);
}

#[test]
fn real_full_dump_header_is_reported_exactly() {
    let path = repo().join("testdata/dumps/fulldump-win10-x64-header-only.dmp");
    let out = run(&["info", path.to_str().unwrap(), "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    let h = &v["crash_dump"];
    // Expected values read independently with Python's struct module (see
    // crates/memtriage-dump/tests/expected_from_python.md).
    assert_eq!(v["format"], "crashdump-full");
    assert_eq!(h["dump_type"], 1);
    assert_eq!(h["minor_version"], 9200);
    assert_eq!(h["major_version"], 15);
    assert_eq!(h["directory_table_base"], "0x3e6b1a000");
    assert_eq!(h["machine_image_type"], "0x8664");
    assert_eq!(h["number_processors"], 8);
    assert_eq!(h["ps_loaded_module_list"], "0xfffff80510a2a2b0");
    assert_eq!(h["ps_active_process_head"], "0xfffff80510a1e060");
    assert_eq!(h["kd_debugger_data_block"], "0xfffff80510a00b20");
    assert_eq!(h["number_of_pages"], 0x3ffc6f);
    let runs: Vec<(String, String)> = h["runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (s(r, "base_page").into(), s(r, "page_count").into()))
        .collect();
    assert_eq!(
        runs,
        vec![
            ("0x1".to_string(), "0x9f".to_string()),
            ("0x100".into(), "0x7f7ef".into()),
            ("0x7fbff".into(), "0x3e1".into()),
            ("0x100000".into(), "0x380000".into()),
        ]
    );
    let warnings = v["warnings"].to_string();
    assert!(
        warnings.contains("missing") || warnings.contains("not in the file"),
        "{warnings}"
    );
}

#[test]
fn real_triage_dump_is_recognised_and_not_a_memory_image() {
    let path = repo().join("testdata/dumps/triage-win10-19041-x64.dmp");
    let out = run(&["info", path.to_str().unwrap(), "--format", "json"]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["format"], "crashdump-triage");
    assert_eq!(v["crash_dump"]["dump_type"], 4);
    assert_eq!(v["crash_dump"]["minor_version"], 19041);
    assert_eq!(v["physical_ranges"]["count"], 0);
    assert!(v["triage"]["note"]
        .as_str()
        .unwrap()
        .contains("no full physical memory"));
}

#[test]
fn a_fleet_of_captures_gets_one_report_each_and_failures_do_not_stop_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let fleet = dir.path().join("fleet");
    std::fs::create_dir(&fleet).unwrap();
    std::fs::copy(repo().join(SAMPLE), fleet.join("a.dmp")).unwrap();
    std::fs::copy(standard(9600).path("bitmap.dmp"), fleet.join("b.dmp")).unwrap();
    std::fs::write(fleet.join("c.dmp"), vec![0x11u8; 1 << 20]).unwrap();
    let out_dir = dir.path().join("reports");
    let out = run(&[
        "report",
        fleet.to_str().unwrap(),
        "--jobs",
        "2",
        "--output-dir",
        out_dir.to_str().unwrap(),
        "--format",
        "json",
    ]);
    assert_eq!(out.status.code(), Some(2), "one capture failed");
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.lines().filter(|l| l.contains("error")).count(),
        1,
        "{err}"
    );
    assert!(err.contains("c.dmp"), "{err}");
    let a: Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("a.dmp.report.json")).unwrap()).unwrap();
    let b: Value =
        serde_json::from_slice(&std::fs::read(out_dir.join("b.dmp.report.json")).unwrap()).unwrap();
    assert_eq!(a["system"]["build"], 19041);
    assert_eq!(b["system"]["build"], 9600);
    assert!(!out_dir.join("c.dmp.report.json").exists());
    // One JSON Lines stream, each event tagged with its capture.
    let out = run(&[
        "report",
        fleet.join("a.dmp").to_str().unwrap(),
        fleet.join("b.dmp").to_str().unwrap(),
        "--format",
        "jsonl",
    ]);
    assert_eq!(out.status.code(), Some(0));
    let text = String::from_utf8(out.stdout).unwrap();
    let images: std::collections::BTreeSet<String> = text
        .lines()
        .map(|l| {
            serde_json::from_str::<Value>(l).unwrap()["memtriage"]["image"]["path"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(images.len(), 2);
}
