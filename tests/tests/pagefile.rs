//! Page files: a capture whose RWX, PEB and heap pages (and the page table mapping the PEB)
//! were paged out gives, with
//! `--pagefile`, the report of the same system with nothing paged out; without it, the same
//! pages are named as missing. Bad page files fail in one line; page-file PTEs past the end
//! of the page file give a warning naming the page.
#![allow(clippy::unwrap_used)]

use memtriage_e2e::{generate, run, run_json, s, Generated};
use memtriage_fixtures::Scenario;
use serde_json::Value;
use std::collections::BTreeSet;

/// Builds checked (their ISFs all place PageFileLow at bit 12 and have SwizzleBit).
const BUILDS: [u32; 3] = [7601, 19041, 22000];

fn paged(build: u32) -> (&'static Generated, &'static Generated) {
    let full = generate(Scenario::new(build, 1));
    let paged = generate(Scenario {
        page_out: true,
        ..Scenario::new(build, 1)
    });
    (full, paged)
}

fn page_file(g: &Generated) -> String {
    g.path("pagefile.sys")
}

fn finding_keys(r: &Value) -> BTreeSet<(String, u64, String)> {
    r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                s(f, "rule").to_string(),
                f["pid"].as_u64().unwrap_or(0),
                f["address"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

fn hexv(v: &Value) -> u64 {
    u64::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

#[test]
fn with_the_page_file_the_report_equals_the_full_report() {
    for build in BUILDS {
        let (full, paged) = paged(build);
        let out = paged.truth["paged_out"].as_array().unwrap();
        assert_eq!(out.len(), 5);
        assert_eq!(out.iter().filter(|p| p["level"] == 2).count(), 1);
        for format in ["raw", "bitmap.dmp"] {
            let want = run_json(&["report", &full.path(format), "--format", "json"]);
            let got = run_json(&[
                "report",
                &paged.path(format),
                "--pagefile",
                &page_file(paged),
                "--format",
                "json",
            ]);
            for key in [
                "system",
                "processes",
                "kernel_modules",
                "findings",
                "warnings",
            ] {
                assert_eq!(got[key], want[key], "{build} {format}: {key}");
            }
        }
    }
}

#[test]
fn without_the_page_file_the_paged_out_pages_are_missing() {
    for build in BUILDS {
        let (full, paged) = paged(build);
        let want = run_json(&["report", &full.path("raw"), "--format", "json"]);
        let got = run_json(&["report", &paged.path("raw"), "--format", "json"]);
        let lost: BTreeSet<_> = finding_keys(&want)
            .difference(&finding_keys(&got))
            .cloned()
            .collect();
        let out = paged.truth["paged_out"].as_array().unwrap();
        // The injected PE's headers are paged out: its injected_pe finding is lost.
        let pe = out
            .iter()
            .find(|p| s(p, "holds").contains("PE image"))
            .unwrap();
        assert!(
            lost.contains(&(
                "injected_pe".to_string(),
                pe["pid"].as_u64().unwrap(),
                s(pe, "va").to_string()
            )),
            "{build}: {lost:?}"
        );
        // The PEB is paged out: a warning names it, and the process has no modules.
        let peb = out.iter().find(|p| s(p, "holds") == "the PEB").unwrap();
        let pid = peb["pid"].as_u64().unwrap();
        let warnings = got["warnings"].as_array().unwrap();
        assert!(
            warnings.iter().any(|w| {
                let w = w.as_str().unwrap();
                w.starts_with(&format!("pid {pid}: PEB {}", s(peb, "va")))
            }),
            "{build}: {warnings:?}"
        );
        let proc_ = got["processes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["pid"].as_u64() == Some(pid))
            .unwrap();
        assert_eq!(proc_["modules"].as_array().map_or(0, Vec::len), 0);
        // Every finding lost is on a paged-out process.
        let pids: BTreeSet<u64> = out.iter().map(|p| p["pid"].as_u64().unwrap()).collect();
        assert!(lost.iter().all(|(_, p, _)| pids.contains(p)), "{lost:?}");
    }
}

#[test]
fn vtop_names_the_page_file_page() {
    let (_, paged) = paged(19041);
    let pf = page_file(paged);
    for p in paged.truth["paged_out"].as_array().unwrap() {
        let va = format!("{:#x}", hexv(&p["va"]) + 0x10);
        let base = ["vtop", &paged.path("raw"), &va, "--dtb", s(p, "dtb")];
        if p["level"] == 2 {
            // A paged-out page table: the walk stops at the PD entry without the page file
            // and goes on through the page file with it.
            let without = run_json(&[&base[..], &["--format", "json"]].concat());
            assert_eq!(without["software_state"]["PageFile"]["offset"], p["page"]);
            assert!(s(&without, "error").contains("PD entry"), "{without}");
            let with = run_json(&[&base[..], &["--pagefile", &pf, "--format", "json"]].concat());
            let pt = &with["levels"][3];
            assert_eq!(s(pt, "level"), "PT");
            assert_eq!(pt["page_file"]["page"], p["page"], "{with}");
            continue;
        }
        // Without the page file the walk stops at the first paged-out level: the page table
        // when it is paged out too, else the PTE.
        let covering = paged.truth["paged_out"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| {
                q["level"] == 2
                    && q["dtb"] == p["dtb"]
                    && (hexv(&q["va"])..hexv(&q["va"]) + 0x20_0000).contains(&hexv(&p["va"]))
            });
        let without = run_json(&[&base[..], &["--format", "json"]].concat());
        assert_eq!(without["software_state"]["PageFile"]["file"], 0, "{p}");
        assert_eq!(
            &without["software_state"]["PageFile"]["offset"],
            covering.map_or(&p["page"], |q| &q["page"])
        );
        match covering {
            Some(_) => assert!(s(&without, "error").contains("PD entry"), "{without}"),
            None => assert_eq!(without["page_file"]["readable"], false),
        }
        let with = run_json(&[&base[..], &["--pagefile", &pf, "--format", "json"]].concat());
        assert_eq!(
            with["page_file"]["offset"].as_u64(),
            Some(hexv(&p["offset"]))
        );
        assert_eq!(with["page_file"]["path"], pf.as_str());
        assert_eq!(with["page_file"]["readable"], true);
        let table = run(&[&base[..], &["--pagefile", &pf, "--format", "table"]].concat());
        let text = String::from_utf8_lossy(&table.stdout);
        assert!(
            text.contains(&format!(
                "=> page file #0 offset {} -> read from {pf}",
                s(p, "offset")
            )),
            "{text}"
        );
    }
}

#[test]
fn bad_page_files_fail_in_one_line() {
    let (_, paged) = paged(19041);
    let dir = tempfile::tempdir().unwrap();
    for (name, len, cause) in [
        ("small.sys", 100usize, "smaller than one 4096-byte page"),
        (
            "ragged.sys",
            0x1800,
            "not a whole number of 4096-byte pages",
        ),
    ] {
        let path = dir.path().join(name);
        std::fs::write(&path, vec![0u8; len]).unwrap();
        let out = run(&[
            "pslist",
            &paged.path("raw"),
            "--pagefile",
            path.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(2), "{name}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(
            err.contains(&format!("{}: not a page file", path.display())) && err.contains(cause),
            "{err}"
        );
    }
    let out = run(&["pslist", &paged.path("raw"), "--pagefile", "16=x.sys"]);
    assert_eq!(out.status.code(), Some(2));
}

#[test]
fn page_file_pages_past_the_end_are_a_warning_naming_the_page() {
    let (_, paged) = paged(19041);
    let dir = tempfile::tempdir().unwrap();
    // Keep pages 0..=2: the PEB, the heap page and the page table mapping the PEB are past
    // the end; reading the PEB stops at its page table.
    let short = dir.path().join("short.sys");
    let bytes = std::fs::read(page_file(paged)).unwrap();
    std::fs::write(&short, &bytes[..3 * 0x1000]).unwrap();
    let r = run_json(&[
        "report",
        &paged.path("raw"),
        "--pagefile",
        short.to_str().unwrap(),
        "--format",
        "json",
    ]);
    let warnings: Vec<&str> = r["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|w| w.as_str().unwrap())
        .collect();
    let peb = paged.truth["paged_out"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| s(p, "holds") == "the page table mapping the PEB")
        .unwrap();
    assert!(peb["page"].as_u64().unwrap() >= 3);
    let named = format!(
        "page {:#x} (offset {})",
        peb["page"].as_u64().unwrap(),
        s(peb, "offset")
    );
    assert!(
        warnings.iter().any(
            |w| w.starts_with(&format!("page file #0 {}", short.display()))
                && w.contains("past its end (0x3000 bytes)")
                && w.contains(&named)
        ),
        "{warnings:?}"
    );
}
