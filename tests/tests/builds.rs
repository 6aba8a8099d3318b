//! Every Windows build: layouts no bundled family has are refused in one line (never partly
//! read), captures of other architectures are refused, and a user's ISF for another PDB is
//! named in a warning.
#![allow(clippy::unwrap_used)]

use memtriage_e2e::{generate, repo, run, run_json, s};
use memtriage_fixtures::{build_with_profile, isf_path, testdata_isf_dir, Scenario};
use memtriage_symbols::{FieldType, Profile};
use std::path::PathBuf;

/// A build number in no family.
const UNKNOWN_BUILD: u32 = 27000;

/// The 19041 layout with the `_EPROCESS` fields after the `Pcb` shifted by 16 bytes and
/// `_MMVAD_FLAGS.PrivateMemory` moved from bit 20 to bit 23: a layout no bundled family has.
fn shifted_profile() -> Profile {
    let mut p = Profile::from_isf_path(&isf_path(&testdata_isf_dir(), 19041).unwrap()).unwrap();
    let pcb_end = p.size_of("_KPROCESS").unwrap();
    let ep = p.types.get_mut("_EPROCESS").unwrap();
    for (offset, _) in ep.fields.values_mut() {
        if *offset >= pcb_end {
            *offset += 16;
        }
    }
    ep.size += 16;
    let flags = p.types.get_mut("_MMVAD_FLAGS").unwrap();
    let (_, ty) = flags.fields.get_mut("PrivateMemory").unwrap();
    let FieldType::Bitfield { bit_position, .. } = ty else {
        panic!("PrivateMemory is a bitfield");
    };
    assert_eq!(*bit_position, 20);
    *bit_position = 23;
    p
}

fn shifted_capture() -> (PathBuf, PathBuf) {
    let dir = std::env::temp_dir().join(format!("memtriage-builds-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sc = Scenario {
        build: UNKNOWN_BUILD,
        unknown_guid: true,
        ..Scenario::new(UNKNOWN_BUILD, 1)
    };
    let capture = build_with_profile(&sc, &shifted_profile()).unwrap();
    let raw = dir.join("w27000.raw");
    let full = dir.join("w27000.full.dmp");
    capture.write_raw(&raw).unwrap();
    capture.write_full_dump(&full).unwrap();
    (raw, full)
}

/// Removes the shifted captures' folder when the test ends.
struct Cleanup(PathBuf);

impl Drop for Cleanup {
    fn drop(&mut self) {
        std::fs::remove_dir_all(&self.0).ok();
    }
}

#[test]
fn shifted_layout_of_an_unknown_build_is_refused_in_one_line() {
    let (raw, full) = shifted_capture();
    let _cleanup = Cleanup(raw.parent().unwrap().to_path_buf());
    for path in [&raw, &full] {
        let path = path.to_str().unwrap();
        for cmd in ["report", "pslist", "vadinfo"] {
            let out = run(&[cmd, path]);
            assert_eq!(out.status.code(), Some(2), "{cmd} {path}");
            // Nothing half-read reaches stdout.
            assert!(
                out.stdout.is_empty(),
                "{cmd}: {}",
                String::from_utf8_lossy(&out.stdout)
            );
            let err = String::from_utf8_lossy(&out.stderr);
            assert_eq!(err.trim_end().lines().count(), 1, "{err}");
            assert!(err.contains(path), "{err}");
            assert!(err.contains("build 27000"), "{err}");
            assert!(err.contains("unknown build"), "{err}");
            assert!(err.contains("--pdb or --isf"), "{err}");
        }
    }
    // The same capture reads exactly once the user names the layout... which no file has, so
    // the refusal stands for the bundled 19041 ISF too: its process list does not read.
    let isf = isf_path(&testdata_isf_dir(), 19041).unwrap();
    let out = run(&[
        "report",
        "--isf",
        isf.to_str().unwrap(),
        raw.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("process list failed"), "{err}");
}

#[test]
fn arm64_crash_dump_is_refused_in_one_line() {
    let g = generate(Scenario::new(19041, 1));
    let mut bytes = std::fs::read(g.path("full.dmp")).unwrap();
    // MachineImageType at 0x30 of the 64-bit header.
    bytes[0x30..0x34].copy_from_slice(&0xAA64u32.to_le_bytes());
    let path = g.dir.join("arm64.full.dmp");
    std::fs::write(&path, &bytes).unwrap();
    let out = run(&["report", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("not an x64 capture"), "{err}");
    assert!(err.contains("0xaa64 (ARM64)"), "{err}");
    // A triage dump (no physical memory to walk) is refused by info too.
    let mut triage =
        std::fs::read(repo().join("testdata/dumps/triage-win10-19041-x64.dmp")).unwrap();
    triage[0x30..0x34].copy_from_slice(&0xAA64u32.to_le_bytes());
    let path = g.dir.join("arm64.triage.dmp");
    std::fs::write(&path, &triage).unwrap();
    let out = run(&["info", path.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("not an x64 capture"), "{err}");
}

#[test]
fn user_isf_for_another_pdb_is_named_in_a_warning() {
    // The capture's kernel has a GUID no ISF has; the 20348 ISF has the right layout.
    let g = generate(Scenario {
        unknown_guid: true,
        ..Scenario::new(20348, 1)
    });
    let isf = isf_path(&testdata_isf_dir(), 20348).unwrap();
    let info = run_json(&["info", "--isf", isf.to_str().unwrap(), &g.path("raw")]);
    let k = &info["kernel"];
    assert_eq!(s(k, "profile_match"), "UserIsf");
    let ours = format!("{}{}", s(k, "pdb_guid"), k["pdb_age"]);
    let warnings: Vec<&str> = info["warnings"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|w| w.as_str())
        .collect();
    let w = warnings
        .iter()
        .find(|w| w.contains("--isf file is for PDB"))
        .unwrap_or_else(|| panic!("{warnings:?}"));
    assert!(w.contains("C2EADB24A615E9472CE47C8ADD31F1301"), "{w}");
    assert!(w.contains(&ours), "{w}");
    // Without the file, the same build's bundled table is used (no exact PDB).
    let info = run_json(&["info", &g.path("raw")]);
    assert_eq!(s(&info["kernel"], "profile_match"), "SameBuild");
    assert_eq!(s(&info["kernel"], "profile"), "bundled:20348");
}

#[test]
fn a_wrong_user_isf_is_refused_by_the_vad_backing_check() {
    // 19041's layout reads a 20348 process list, but its PrivateMemory bit is 20, not 21.
    let g = generate(Scenario::new(20348, 1));
    let isf = isf_path(&testdata_isf_dir(), 19041).unwrap();
    let out = run(&["report", "--isf", isf.to_str().unwrap(), &g.path("raw")]);
    assert_eq!(out.status.code(), Some(2));
    assert!(out.stdout.is_empty());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.contains("image/private VAD backing failed"), "{err}");
}

#[test]
fn system_profile_says_in_plain_words_which_layout_how_and_which_checks() {
    for build in [18362u32, 20348] {
        let g = generate(Scenario::new(build, 1));
        let r = run_json(&["report", &g.path("raw")]);
        let profile = s(&r["system"], "profile");
        assert!(
            profile.starts_with(&format!(
                "bundled:{build}, matched by exact PDB (GUID and age of the kernel); checks passed: process list ("
            )),
            "{profile}"
        );
        for check in [
            "VAD trees (",
            "image/private VAD backing (",
            "PEB loader lists (",
            "thread lists (",
        ] {
            assert!(profile.contains(check), "{profile}");
        }
        assert!(
            !profile.contains('{') && !profile.contains("Pdb"),
            "{profile}"
        );
    }
}

#[test]
fn an_unknown_build_with_a_known_layout_is_located_from_memory_and_read_exactly() {
    // Build 27000 with the 20348 layout and a GUID no table has: no family, no exact PDB.
    let isf = isf_path(&testdata_isf_dir(), 20348).unwrap();
    let profile = Profile::from_isf_path(&isf).unwrap();
    let dir = std::env::temp_dir().join(format!("memtriage-located-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let sc = Scenario {
        unknown_guid: true,
        ..Scenario::new(UNKNOWN_BUILD, 1)
    };
    let capture = build_with_profile(&sc, &profile).unwrap();
    let raw = dir.join("w27000-20348.raw");
    capture.write_raw(&raw).unwrap();
    let truth_path = dir.join("truth.json");
    capture.write_truth(&truth_path).unwrap();
    let truth: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&truth_path).unwrap()).unwrap();

    let r = run_json(&["report", raw.to_str().unwrap()]);
    let profile = s(&r["system"], "profile");
    assert!(
        profile.starts_with("layout located from memory (processes: bundled:"),
        "{profile}"
    );
    assert!(
        profile.contains("matched by located from memory"),
        "{profile}"
    );
    let warnings = r["warnings"].to_string();
    assert!(
        warnings.contains("build 27000 has no exact layout"),
        "{warnings}"
    );
    // Exactly the truth's processes and, per process, its regions.
    let pids = |v: &serde_json::Value| {
        let mut p: Vec<u64> = v["processes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|p| p["pid"].as_u64().unwrap())
            .collect();
        p.sort_unstable();
        p
    };
    assert_eq!(pids(&r), pids(&truth));
    for p in truth["processes"].as_array().unwrap() {
        let Some(want) = p["regions"].as_array() else {
            continue;
        };
        let got = r["processes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|q| q["pid"] == p["pid"])
            .unwrap();
        assert_eq!(
            got["regions"].as_array().unwrap().len(),
            want.len(),
            "pid {}",
            p["pid"]
        );
    }
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn another_build_of_a_family_reads_with_the_family_table() {
    // Build 19045 (Windows 10 22H2) is the 19041 layout under a new build number.
    let profile = Profile::from_isf_path(&isf_path(&testdata_isf_dir(), 19041).unwrap()).unwrap();
    let dir = std::env::temp_dir().join(format!("memtriage-family-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let _cleanup = Cleanup(dir.clone());
    let sc = Scenario {
        unknown_guid: true,
        ..Scenario::new(19045, 1)
    };
    let capture = build_with_profile(&sc, &profile).unwrap();
    let raw = dir.join("w19045.raw");
    capture.write_raw(&raw).unwrap();
    let info = run_json(&["info", raw.to_str().unwrap()]);
    assert_eq!(s(&info["kernel"], "profile_match"), "Family");
    assert_eq!(s(&info["kernel"], "profile"), "bundled:19041");
    assert_eq!(
        s(&info["kernel"], "version"),
        "Windows 10 22H2 (NT 10.0, build 19045)"
    );
    let r = run_json(&["report", raw.to_str().unwrap()]);
    let profile = s(&r["system"], "profile");
    assert!(
        profile.starts_with("bundled:19041, matched by family of build 19041; checks passed:"),
        "{profile}"
    );
    assert_eq!(
        r["processes"].as_array().unwrap().len(),
        capture.truth.processes.len()
    );
}

#[test]
fn one_odd_process_name_does_not_reject_the_right_layout() {
    let g = generate(Scenario::new(20348, 1));
    let truth = &g.truth["processes"];
    // A listed process other than System: its ImageFileName becomes control bytes.
    let victim = truth
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["in_active_list"] == true && p["pid"].as_u64() != Some(4))
        .unwrap();
    let pa = u64::from_str_radix(s(victim, "eprocess_pa").trim_start_matches("0x"), 16).unwrap();
    let p = Profile::from_isf_path(&isf_path(&testdata_isf_dir(), 20348).unwrap()).unwrap();
    let name_at = (pa + p.offset("_EPROCESS", "ImageFileName").unwrap()) as usize;
    let mut bytes = std::fs::read(g.path("raw")).unwrap();
    bytes[name_at..name_at + 4].copy_from_slice(b"\x01\x02\x03\x00");
    let path = g.dir.join("odd-name.raw");
    std::fs::write(&path, &bytes).unwrap();
    let info = run_json(&["info", path.to_str().unwrap()]);
    assert_eq!(s(&info["kernel"], "profile_match"), "ExactPdb");
    assert_eq!(s(&info["kernel"], "profile"), "bundled:20348");
    let r = run_json(&["pslist", path.to_str().unwrap()]);
    let text = r.to_string();
    assert!(text.contains("\\\\x01\\\\x02\\\\x03"), "{text}");
}

#[test]
fn elf_cores_of_the_new_families_report_exactly_what_raw_images_do() {
    for build in [18362u32, 20348] {
        let g = generate(Scenario::new(build, 1));
        let raw = run_json(&["report", &g.path("raw")]);
        let elf = run_json(&["report", &g.path("elf")]);
        for key in ["system", "processes", "kernel_modules", "findings"] {
            assert_eq!(raw[key], elf[key], "{build} {key}");
        }
        assert_eq!(
            raw["processes"].as_array().unwrap().len(),
            g.truth["processes"].as_array().unwrap().len(),
            "{build}"
        );
    }
}
