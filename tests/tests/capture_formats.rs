//! LiME and VMware (.vmem + .vmss) captures of the same synthetic system as the raw image:
//! `report` gives the raw capture's result (processes, regions, modules, findings), `info`
//! shows the ranges and metadata the writers put there, and a `.vmem` read without its
//! checkpoint shows why the region map matters. Each test writes its own captures (raw, LiME,
//! VMware) into a temp dir that is removed when the build is done, so the shared fixtures of
//! the other test binaries stay as they are.
#![allow(clippy::unwrap_used)]

use memtriage_e2e::{run, run_json, s, BUILDS};
use memtriage_fixtures::{build, testdata_isf_dir, Scenario};
use serde_json::Value;
use std::path::PathBuf;

/// One build's captures in raw, LiME and VMware form, with the ground truth.
struct Generated {
    dir: tempfile::TempDir,
    name: String,
    truth: Value,
}

impl Generated {
    /// Path of the capture with extension `ext` (`raw`, `lime`, `vmem`, `vmss`).
    fn path(&self, ext: &str) -> String {
        self.file(ext).display().to_string()
    }

    fn file(&self, ext: &str) -> PathBuf {
        self.dir.path().join(format!("{}.{ext}", self.name))
    }
}

/// The default scenario of `build` written as raw, LiME and VMware.
fn standard(build_no: u32) -> Generated {
    let scenario = Scenario::new(build_no, 1);
    let capture = build(&scenario, &testdata_isf_dir()).unwrap();
    let g = Generated {
        dir: tempfile::tempdir().unwrap(),
        name: scenario.name(),
        truth: serde_json::from_str(&capture.truth_json()).unwrap(),
    };
    capture.write_raw(&g.file("raw")).unwrap();
    capture.write_lime(&g.file("lime")).unwrap();
    capture.write_vmware(&g.file("vmem")).unwrap();
    g
}

/// The report of `path` without its `image` block (path, format and size differ by format).
fn report_body(path: &str) -> (Value, Value) {
    let mut r = run_json(&["report", path, "--format", "json", "-q"]);
    let image = r.as_object_mut().unwrap().remove("image").unwrap();
    (r, image)
}

fn truth_runs(g: &Generated) -> Vec<(u64, u64)> {
    g.truth["system"]["physical_runs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (hex(&r["start"]), hex(&r["end"])))
        .collect()
}

fn hex(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

#[test]
fn reports_on_lime_and_vmware_equal_the_raw_report() {
    for build in BUILDS {
        let g = &standard(build);
        let (raw, _) = report_body(&g.path("raw"));
        let want_pids: std::collections::BTreeSet<u64> = g.truth["processes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["pid"].as_u64().unwrap())
            .collect();
        let got_pids: std::collections::BTreeSet<u64> = raw["processes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["pid"].as_u64().unwrap())
            .collect();
        assert_eq!(got_pids, want_pids, "{build}: raw processes = truth");
        assert!(!raw["findings"].as_array().unwrap().is_empty());
        assert!(!raw["kernel_modules"].as_array().unwrap().is_empty());
        for (ext, format) in [("lime", "lime"), ("vmem", "vmware")] {
            let path = g.path(ext);
            let (body, image) = report_body(&path);
            assert_eq!(s(&image, "format"), format, "{path}");
            for section in [
                "system",
                "processes",
                "kernel_modules",
                "findings",
                "warnings",
            ] {
                assert_eq!(
                    body[section], raw[section],
                    "{path}: {section} differs from raw"
                );
            }
            assert_eq!(body, raw, "{path}");
        }
    }
}

#[test]
fn info_shows_lime_ranges_and_vmware_regions_and_cpu() {
    let g = &standard(19041);
    let runs = truth_runs(g);
    let top = runs.last().unwrap().1;

    let info = run_json(&["info", &g.path("lime"), "--format", "json"]);
    assert_eq!(s(&info, "format"), "lime");
    let r = &info["physical_ranges"];
    assert_eq!(r["count"].as_u64().unwrap() as usize, runs.len());
    assert_eq!(hex(&r["first"]["start"]), runs[0].0);
    // info's ranges are inclusive (`end` is the last byte), the truth's runs end-exclusive.
    assert_eq!(hex(&r["last"]["end"]), top - 1);
    let total: u64 = runs.iter().map(|(a, b)| b - a).sum();
    assert_eq!(r["total_bytes"].as_u64().unwrap(), total);
    assert_eq!(info["warnings"], serde_json::json!([]));

    let info = run_json(&["info", &g.path("vmem"), "--format", "json"]);
    assert_eq!(s(&info, "format"), "vmware");
    // The writer leaves the gap between the second and third run out of the .vmem: region 0
    // from physical 0 to the end of run 2, region 1 = run 3 (see fixtures/src/writers/vmware.rs).
    let regions = info["vmware"]["regions"].as_array().unwrap();
    assert_eq!(regions.len(), 2);
    let (hole_start, hole_end) = (runs[1].1, runs[2].0);
    assert_eq!(hex(&regions[0]["ppn"]), 0);
    assert_eq!(hex(&regions[0]["page_num"]), 0);
    assert_eq!(regions[0]["pages"].as_u64().unwrap(), hole_start / 0x1000);
    assert_eq!(hex(&regions[1]["ppn"]), hole_end / 0x1000);
    assert_eq!(hex(&regions[1]["page_num"]), hole_start / 0x1000);
    assert_eq!(
        regions[1]["pages"].as_u64().unwrap(),
        (top - hole_end) / 0x1000
    );
    assert_eq!(info["vmware"]["vcpus"], g.truth["system"]["processors"]);
    let r = &info["physical_ranges"];
    assert_eq!(r["count"], 2);
    assert_eq!(hex(&r["first"]["end"]), hole_start - 1);
    assert_eq!(hex(&r["last"]["start"]), hole_end);
    assert_eq!(hex(&r["last"]["end"]), top - 1);
    assert_eq!(s(&info["elf_cpu"], "cr3"), s(&g.truth["system"], "dtb"));
    assert_eq!(s(&info["kernel"], "dtb"), s(&g.truth["system"], "dtb"));
    assert_eq!(s(&info["kernel"], "dtb_source"), "elf-cpu-note");
}

#[test]
fn vmem_without_its_checkpoint_is_raw_and_the_region_map_matters() {
    let g = &standard(19041);
    let dir = tempfile::tempdir().unwrap();
    let alone = dir.path().join("guest.vmem");
    std::fs::copy(g.path("vmem"), &alone).unwrap();
    let alone = alone.display().to_string();
    let info = run_json(&["info", &alone, "--format", "json"]);
    assert_eq!(s(&info, "format"), "raw");
    // Pages above the hole are at the wrong address: no kernel, or not the raw process list.
    let raw_rows = run_json(&["pslist", &g.path("raw"), "--format", "json", "-q"])["rows"].clone();
    assert!(!raw_rows.as_array().unwrap().is_empty());
    let out = run(&["pslist", &alone, "--format", "json", "-q"]);
    let wrong = !out.status.success() || {
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v["rows"] != raw_rows
    };
    assert!(
        wrong,
        "a .vmem with a hole must not read like the raw image"
    );

    // The checkpoint elsewhere, named with --vmware-meta: the raw report again.
    let meta = dir.path().join("elsewhere.vmss");
    std::fs::copy(g.path("vmss"), &meta).unwrap();
    let r = run_json(&[
        "report",
        &alone,
        "--vmware-meta",
        &meta.display().to_string(),
        "--format",
        "json",
        "-q",
    ]);
    let (raw, _) = report_body(&g.path("raw"));
    for section in ["system", "processes", "kernel_modules", "findings"] {
        assert_eq!(r[section], raw[section], "--vmware-meta: {section}");
    }

    // Opening the checkpoint itself opens the .vmem beside it.
    let info = run_json(&["info", &g.path("vmss"), "--format", "json"]);
    assert_eq!(s(&info, "format"), "vmware");
}

#[test]
fn files_that_are_not_captures_exit_2_with_one_line() {
    let dir = tempfile::tempdir().unwrap();
    let mut png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR".to_vec();
    png.resize(300, 0);
    let mut zip = b"PK\x03\x04\x14\0\0\0".to_vec();
    zip.resize(300, 0);
    let mut pe = vec![0u8; 0x400];
    pe[..2].copy_from_slice(b"MZ");
    pe[0x3C..0x40].copy_from_slice(&0x80u32.to_le_bytes());
    pe[0x80..0x84].copy_from_slice(b"PE\0\0");
    let mut so = vec![0u8; 0x100];
    so[..7].copy_from_slice(b"\x7fELF\x02\x01\x01");
    so[0x10] = 3; // ET_DYN
    let cases: [(&str, Vec<u8>, &str); 5] = [
        (
            "notes.txt",
            b"25 bytes of plain text.\n".to_vec(),
            "a text file",
        ),
        ("shot.png", png, "a PNG image"),
        ("evidence.zip", zip, "a ZIP archive"),
        ("tool.exe", pe, "a PE executable"),
        ("libc.so", so, "an ELF shared object"),
    ];
    for (name, bytes, what) in cases {
        let p = dir.path().join(name);
        std::fs::write(&p, bytes).unwrap();
        let p = p.display().to_string();
        for cmd in ["info", "pslist", "report"] {
            let out = run(&[cmd, &p]);
            assert_eq!(out.status.code(), Some(2), "{cmd} {name}");
            let err = String::from_utf8(out.stderr).unwrap();
            assert_eq!(err.lines().count(), 1, "{cmd} {name}: {err}");
            assert!(
                err.contains(&p) && err.contains("not a memory capture") && err.contains(what),
                "{cmd} {name}: {err}"
            );
        }
    }
}
