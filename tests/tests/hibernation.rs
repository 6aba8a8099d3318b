//! End to end on a hibernation file: `memtriage report` on hiberfil.sys equals the report on
//! the raw image of the same system (processes, regions, modules, findings: everything but
//! the image block), `info` shows the header and page sets, and a resumed file is a one-line
//! error with exit status 2.
#![allow(clippy::unwrap_used)]

use memtriage_e2e::{run, run_json};
use memtriage_fixtures::{build, testdata_isf_dir, Scenario};
use serde_json::Value;
use std::path::PathBuf;
use std::sync::OnceLock;

struct Files {
    raw: String,
    hiber: String,
    dir: PathBuf,
}

fn files() -> &'static Files {
    static F: OnceLock<Files> = OnceLock::new();
    F.get_or_init(|| {
        let cap = build(&Scenario::new(19041, 1), &testdata_isf_dir()).unwrap();
        let dir = std::env::temp_dir().join(format!("memtriage-e2e-hiber-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let raw = dir.join("w19041.raw");
        let hiber = dir.join("w19041.hiberfil.sys");
        cap.write_raw(&raw).unwrap();
        cap.write_hibernation(&hiber).unwrap();
        Files {
            raw: raw.display().to_string(),
            hiber: hiber.display().to_string(),
            dir,
        }
    })
}

fn without_image(mut report: Value) -> Value {
    report.as_object_mut().unwrap().remove("image");
    report
}

#[test]
fn report_on_hiberfil_equals_report_on_raw() {
    let f = files();
    let raw = run_json(&["report", &f.raw, "--format", "json"]);
    let hib = run_json(&["report", &f.hiber, "--format", "json"]);
    assert_eq!(hib["image"]["format"], "hibernation");
    assert_eq!(raw["image"]["format"], "raw");
    // Sanity: the report has content to compare.
    assert!(raw["processes"].as_array().unwrap().len() >= 10);
    assert!(!raw["findings"].as_array().unwrap().is_empty());
    assert_eq!(without_image(hib), without_image(raw));
}

#[test]
fn info_shows_the_hibernation_header() {
    let f = files();
    let info = run_json(&["info", &f.hiber, "--format", "json"]);
    assert_eq!(info["format"], "hibernation");
    let h = &info["hibernation"];
    assert_eq!(h["header"]["signature"], "hibr");
    assert_eq!(h["header"]["layout"], "windows10_rs5");
    assert_eq!(h["header"]["length_self"], 0x3E0);
    assert_eq!(h["header"]["first_boot_restore_page"], 6);
    assert_eq!(h["windows"], "Windows 10 1809-22H2");
    assert!(h["sets"]["lz77_sets"].as_u64().unwrap() > 0);
    assert!(h["sets"]["huffman_sets"].as_u64().unwrap() > 0);
    let raw = run_json(&["info", &f.raw, "--format", "json"]);
    assert_eq!(info["kernel"], raw["kernel"]);
}

#[test]
fn resumed_hiberfil_is_a_one_line_error() {
    let f = files();
    let mut bytes = std::fs::read(&f.hiber).unwrap();
    bytes[..4].copy_from_slice(b"WAKE");
    let woke = f.dir.join("woke.hiberfil.sys");
    std::fs::write(&woke, &bytes).unwrap();
    let out = run(&["report", woke.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8(out.stderr).unwrap();
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(
        err.contains("woke.hiberfil.sys") && err.contains("already resumed"),
        "{err}"
    );
}
