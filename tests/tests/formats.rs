//! Honest formats: every command that accepts `--format jsonl` writes one JSON object per line,
//! every command that accepts `--format csv` writes rectangular CSV, and only `report` accepts
//! `--format html`.
#![allow(clippy::unwrap_used)]

use memtriage_e2e::repo;
use serde_json::Value;
use std::process::{Command, Output};

const SAMPLE: &str = "fixtures/samples/win10-19041.dmp";
const GOLDEN: &str = "fixtures/samples/win10-19041.report.json";

fn run(args: &[&str]) -> Output {
    Command::new(memtriage_e2e::bin())
        .args(args)
        .current_dir(repo())
        .output()
        .unwrap()
}

/// The subcommands listed by `memtriage --help` (built-ins and plugins).
fn commands() -> Vec<String> {
    let out = run(&["--help"]);
    let text = String::from_utf8(out.stdout).unwrap();
    let list = text.split("Commands:").nth(1).unwrap();
    let list = list.split("Options:").next().unwrap();
    let names: Vec<String> = list
        .lines()
        .filter(|l| l.starts_with("  ") && l.chars().nth(2).is_some_and(|c| c.is_ascii_lowercase()))
        .filter_map(|l| l.split_whitespace().next())
        // `completions` and `man` write shell scripts and roff, not data.
        .filter(|n| !matches!(*n, "help" | "completions" | "man"))
        .map(str::to_owned)
        .collect();
    assert!(names.len() >= 15, "commands from --help: {names:?}");
    names
}

/// Arguments of `command` on the sample, before `--format`.
fn args_of(command: &str, tmp: &std::path::Path) -> Vec<String> {
    match command {
        "rules" => vec!["rules".into()],
        "yarascan" => vec![
            "yarascan".into(),
            SAMPLE.into(),
            "--rules".into(),
            "tests/yara/shellcode.yar".into(),
        ],
        "vtop" => vec![
            "vtop".into(),
            SAMPLE.into(),
            // The kernel base of the sample (golden report's system.kernel_base).
            "0xfffff8038ae00000".into(),
        ],
        "diff" => {
            // A changed copy of the golden report: one finding removed (the first injected_pe),
            // one process changed.
            let mut v: Value =
                serde_json::from_slice(&std::fs::read(repo().join(GOLDEN)).unwrap()).unwrap();
            let findings = v["findings"].as_array_mut().unwrap();
            let first = findings
                .iter()
                .position(|f| f["rule"] == "injected_pe")
                .unwrap();
            findings.remove(first);
            v["processes"][1]["threads"] = Value::from(99);
            let new = tmp.join("new.json");
            std::fs::write(&new, serde_json::to_vec(&v).unwrap()).unwrap();
            vec![
                "diff".into(),
                GOLDEN.into(),
                new.to_string_lossy().into_owned(),
            ]
        }
        other => vec![other.into(), SAMPLE.into()],
    }
}

fn check_jsonl(what: &str, stdout: &[u8]) -> usize {
    let text = std::str::from_utf8(stdout).unwrap();
    assert!(
        text.is_empty() || text.ends_with('\n'),
        "{what}: last line unterminated"
    );
    let mut n = 0;
    for (i, line) in text.lines().enumerate() {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("{what}: line {} is not one JSON value: {e}", i + 1));
        assert!(v.is_object(), "{what}: line {} is not an object", i + 1);
        n += 1;
    }
    n
}

fn check_csv(what: &str, stdout: &[u8]) -> usize {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(true)
        .flexible(false)
        .from_reader(stdout);
    let width = reader.headers().unwrap().len();
    assert!(width > 0, "{what}: no header");
    let mut n = 0;
    for r in reader.records() {
        let r = r.unwrap_or_else(|e| panic!("{what}: not rectangular CSV: {e}"));
        assert_eq!(r.len(), width, "{what}");
        for field in r.iter() {
            assert!(
                !field.starts_with(['=', '+', '@', '\t', '\r']),
                "{what}: unguarded formula cell {field:?}"
            );
        }
        n += 1;
    }
    n
}

#[test]
fn every_command_writes_honest_jsonl_and_csv() {
    let tmp = tempfile::tempdir().unwrap();
    for command in commands() {
        let args = args_of(&command, tmp.path());
        for format in ["jsonl", "csv"] {
            let mut full: Vec<&str> = args.iter().map(String::as_str).collect();
            full.extend(["--format", format, "-q"]);
            if command == "rules" || command == "diff" || command == "vtop" || command == "info" {
                full.pop(); // no --quiet
            }
            let out = run(&full);
            let what = format!("{command} --format {format}");
            // Every command can write both formats honestly, so none refuses them; diff exits 1
            // because the two reports differ.
            match (command.as_str(), out.status.code()) {
                (_, Some(0)) | ("diff", Some(1)) => {}
                (_, other) => panic!(
                    "{what}: exit {other:?}: {}",
                    String::from_utf8_lossy(&out.stderr)
                ),
            }
            let rows = match format {
                "jsonl" => check_jsonl(&what, &out.stdout),
                _ => check_csv(&what, &out.stdout),
            };
            // The sample has something for every command.
            assert!(rows > 0, "{what}: no rows");
        }
    }
}

#[test]
fn report_csv_tables_have_one_record_per_item() {
    let golden: Value =
        serde_json::from_slice(&std::fs::read(repo().join(GOLDEN)).unwrap()).unwrap();
    let count = |key: &str| -> usize {
        golden["processes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p[key].as_array().unwrap().len())
            .sum()
    };
    for (table, rows) in [
        ("findings", golden["findings"].as_array().unwrap().len()),
        ("processes", golden["processes"].as_array().unwrap().len()),
        ("regions", count("regions")),
        ("modules", count("modules")),
        (
            "kernel_modules",
            golden["kernel_modules"].as_array().unwrap().len(),
        ),
    ] {
        let out = run(&["report", SAMPLE, "-q", "--format", "csv", "--table", table]);
        assert!(out.status.success(), "--table {table}");
        assert_eq!(check_csv(table, &out.stdout), rows, "--table {table}");
    }
}

#[test]
fn diff_jsonl_and_csv_hold_each_change() {
    let tmp = tempfile::tempdir().unwrap();
    let args = args_of("diff", tmp.path());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let out = run(&[&args[..], &["--format", "jsonl"]].concat());
    assert_eq!(out.status.code(), Some(1));
    let lines: Vec<Value> = std::str::from_utf8(&out.stdout)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    // One removed finding (the golden report's first injected_pe) and one changed process
    // (the golden report's second process), as args_of("diff") made them.
    let golden: Value =
        serde_json::from_slice(&std::fs::read(repo().join(GOLDEN)).unwrap()).unwrap();
    let removed = golden["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["rule"] == "injected_pe")
        .unwrap();
    let changed = &golden["processes"][1];
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["change"], "removed");
    assert_eq!(lines[0]["item"], "finding");
    assert_eq!(lines[0]["finding"]["rule"], "injected_pe");
    assert_eq!(lines[0]["finding"]["address"], removed["address"]);
    assert_eq!(lines[1]["change"], "changed");
    assert_eq!(lines[1]["item"], "process");
    assert_eq!(lines[1]["changes"][0]["field"], "threads");
    assert_eq!(lines[1]["changes"][0]["new"], 99);
    let out = run(&[&args[..], &["--format", "csv"]].concat());
    let s = |v: &Value| v.as_str().unwrap().to_string();
    assert_eq!(
        String::from_utf8(out.stdout).unwrap(),
        format!(
            "change,item,rule,pid,process,address,field,old,new\n\
             removed,finding,injected_pe,{},{},{},,,\n\
             changed,process,,{},{},{},threads,{},99\n",
            removed["pid"],
            s(&removed["process"]),
            s(&removed["address"]),
            changed["pid"],
            s(&changed["name"]),
            s(&changed["offset"]),
            changed["threads"],
        )
    );
}

#[test]
fn only_report_accepts_html() {
    let tmp = tempfile::tempdir().unwrap();
    for command in commands() {
        let mut args = args_of(&command, tmp.path());
        args.extend(["--format".into(), "html".into()]);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run(&args);
        if command == "report" {
            assert!(out.status.success());
            assert!(out.stdout.starts_with(b"<!DOCTYPE html>"));
        } else {
            assert_eq!(out.status.code(), Some(2), "{command} --format html");
            assert!(out.stdout.is_empty());
        }
    }
}

#[test]
fn html_fleet_writes_pages_and_an_index() {
    let tmp = tempfile::tempdir().unwrap();
    let a = tmp.path().join("host-a.dmp");
    let b = tmp.path().join("host-b.dmp");
    std::fs::copy(repo().join(SAMPLE), &a).unwrap();
    std::fs::copy(repo().join(SAMPLE), &b).unwrap();
    let dir = tmp.path().join("out");
    let out = run(&[
        "report",
        a.to_str().unwrap(),
        b.to_str().unwrap(),
        "-q",
        "--format",
        "html",
        "--output-dir",
        dir.to_str().unwrap(),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let index = std::fs::read_to_string(dir.join("index.html")).unwrap();
    for page in ["host-a.dmp.report.html", "host-b.dmp.report.html"] {
        assert!(index.contains(&format!("href=\"./{page}\"")), "{page}");
        let html = std::fs::read_to_string(dir.join(page)).unwrap();
        assert_eq!(html.matches("<svg class=\"memmap").count(), 16);
    }
    // Both captures have the golden report's high and medium findings.
    let golden: Value =
        serde_json::from_slice(&std::fs::read(repo().join(GOLDEN)).unwrap()).unwrap();
    for severity in ["high", "medium"] {
        let n = golden["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["severity"] == severity)
            .count();
        assert!(n > 0, "{severity}");
        let badge = format!(r#"<span class="sev sev-{severity}">{n}</span>"#);
        assert_eq!(index.matches(&badge).count(), 2, "{badge}");
    }
}
