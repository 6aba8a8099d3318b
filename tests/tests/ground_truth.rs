//! Every build × format: what memtriage reports equals the fixture's ground truth exactly.
#![allow(clippy::unwrap_used)]

use memtriage_e2e::{hex, run_json, s, standard, Generated, FORMATS};
use serde_json::Value;
use std::collections::BTreeSet;

fn truth_processes(t: &Value) -> Vec<&Value> {
    t["processes"].as_array().unwrap().iter().collect()
}

fn check_info(g: &Generated, path: &str) {
    let info = run_json(&["info", path, "--format", "json"]);
    let sys = &g.truth["system"];
    let k = &info["kernel"];
    assert_eq!(s(k, "dtb"), s(sys, "dtb"), "{path}: dtb");
    assert_eq!(
        s(k, "kernel_base"),
        s(sys, "kernel_base"),
        "{path}: kernel base"
    );
    assert_eq!(k["build"], sys["build"], "{path}: build");
    assert_eq!(s(k, "pdb_guid"), s(sys, "pdb_guid"), "{path}: pdb guid");
    assert_eq!(k["pdb_age"], sys["pdb_age"], "{path}: pdb age");
    assert_eq!(s(k, "profile_match"), "ExactPdb", "{path}");
    assert_eq!(
        k["ps_active_process_head"], sys["ps_active_process_head"],
        "{path}: PsActiveProcessHead"
    );
    assert_eq!(
        s(k, "system_eprocess"),
        s(sys, "ps_initial_system_process"),
        "{path}"
    );
}

type ProcKey = (u64, u64, String, String, String, bool, String);

fn check_report(g: &Generated, path: &str) {
    let r = run_json(&["report", path, "--format", "json"]);
    let t = &g.truth;
    assert_eq!(s(&r["system"], "dtb"), s(&t["system"], "dtb"));
    assert_eq!(
        s(&r["system"], "kernel_base"),
        s(&t["system"], "kernel_base")
    );
    assert_eq!(r["system"]["build"], t["system"]["build"]);

    // Processes: active, hidden and exited, with their identity fields.
    let want: BTreeSet<ProcKey> = truth_processes(t)
        .iter()
        .map(|p| {
            (
                p["pid"].as_u64().unwrap(),
                p["ppid"].as_u64().unwrap(),
                s(p, "name").to_string(),
                p["create_time"].to_string(),
                s(p, "eprocess").to_string(),
                p["hidden"].as_bool().unwrap(),
                p["exit_time"].to_string(),
            )
        })
        .collect();
    let got: BTreeSet<ProcKey> = r["processes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            (
                p["pid"].as_u64().unwrap(),
                p["ppid"].as_u64().unwrap(),
                s(p, "name").to_string(),
                p["create_time"].to_string(),
                s(p, "offset").to_string(),
                p["hidden"].as_bool().unwrap(),
                p["exit_time"].to_string(),
            )
        })
        .collect();
    assert_eq!(got, want, "{path}: processes");

    for tp in truth_processes(t) {
        if tp["exited"].as_bool() == Some(true) {
            continue;
        }
        let pid = tp["pid"].as_u64().unwrap();
        let rp = r["processes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["pid"] == pid && p["exit_time"].is_null())
            .unwrap();
        // The truth writes "" where the kernel has no image path (System); the report null.
        assert_eq!(
            rp["image_path"].as_str().unwrap_or(""),
            s(tp, "image_path"),
            "{path}: pid {pid} image path"
        );
        assert_eq!(
            rp["threads"].as_u64().unwrap() as usize,
            tp["threads"].as_array().unwrap().len(),
            "{path}: pid {pid} threads"
        );
        if !tp["command_line"].as_str().unwrap_or("").is_empty() {
            assert_eq!(
                rp["command_line"], tp["command_line"],
                "{path}: pid {pid} command line"
            );
        }
        let want: Vec<Value> = tp["regions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                serde_json::json!([
                    x["start"],
                    x["end"],
                    x["protection"],
                    x["private"],
                    x["commit_charge"],
                    x["file"],
                    x["category"],
                    if x["committed"].as_bool().unwrap() {
                        "COMMITTED"
                    } else {
                        "RESERVED"
                    }
                ])
            })
            .collect();
        let got: Vec<Value> = rp["regions"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| {
                serde_json::json!([
                    x["start"],
                    x["end"],
                    x["protection"],
                    x["private"],
                    x["commit_charge"],
                    x["file"],
                    x["category"],
                    x["state"]
                ])
            })
            .collect();
        assert_eq!(got, want, "{path}: pid {pid} regions");
        // The report lists the 64-bit loader entries and, for WoW64 processes, the 32-bit ones,
        // then every image mapping on no loader list, with the VAD's size and file.
        let on_a_list =
            |m: &Value| m["in_load"] == true || m["in_mem"] == true || m["in_init"] == true;
        let mut want: Vec<Value> = tp["modules"]
            .as_array()
            .unwrap()
            .iter()
            .chain(tp["modules32"].as_array().into_iter().flatten())
            .map(|m| {
                if on_a_list(m) {
                    return serde_json::json!([
                        m["base"],
                        m["size"],
                        m["name"],
                        m["path"],
                        m["in_load"],
                        m["in_mem"],
                        m["in_init"]
                    ]);
                }
                let vad = tp["regions"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .find(|r| r["start"] == m["base"] && r["vad_type"] == 2)
                    .unwrap_or_else(|| panic!("pid {pid}: no image VAD at {}", m["base"]));
                let file = s(vad, "file");
                let size = hex(&vad["end"]) - hex(&vad["start"]) + 1;
                serde_json::json!([
                    m["base"],
                    format!("{size:#x}"),
                    file.rsplit('\\').next().unwrap(),
                    file,
                    false,
                    false,
                    false
                ])
            })
            .collect();
        want.sort_by_key(|v| v.to_string());
        let mut got: Vec<Value> = rp["modules"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| {
                serde_json::json!([
                    m["base"],
                    m["size"],
                    m["name"],
                    m["path"],
                    m["in_load"],
                    m["in_mem"],
                    m["in_init"]
                ])
            })
            .collect();
        got.sort_by_key(|v| v.to_string());
        assert_eq!(got, want, "{path}: pid {pid} modules");
    }

    // Findings: exactly the planted anomalies, nothing on the decoys.
    let want: BTreeSet<(String, u64, String)> = t["anomalies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            (
                s(a, "kind").to_string(),
                a["pid"].as_u64().unwrap(),
                s(a, "address").to_string(),
            )
        })
        .collect();
    let got: BTreeSet<(String, u64, String)> = r["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            (
                s(f, "rule").to_string(),
                // Kernel findings (unlinked_kernel_module) have a null pid; the truth says 0.
                f["pid"].as_u64().unwrap_or(0),
                s(f, "address").to_string(),
            )
        })
        .collect();
    assert_eq!(got, want, "{path}: findings");
    for d in t["decoys"].as_array().unwrap() {
        assert!(
            !r["findings"]
                .as_array()
                .unwrap()
                .iter()
                .any(|f| f["pid"] == d["pid"] && f["address"] == d["address"]),
            "{path}: decoy {d} was flagged"
        );
    }
    for f in r["findings"].as_array().unwrap() {
        if s(f, "rule") == "peb_unlinked_module" {
            let a = t["anomalies"]
                .as_array()
                .unwrap()
                .iter()
                .find(|a| a["address"] == f["address"])
                .unwrap();
            assert_eq!(
                f["evidence"]["lists_missing"], a["lists_missing"],
                "{path}: lists missing"
            );
            let all = a["lists_missing"].as_array().unwrap().len() == 3;
            assert_eq!(s(f, "severity"), if all { "high" } else { "medium" });
        }
    }

    let want: Vec<Value> = t["kernel_modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| serde_json::json!([m["base"], m["size"], m["name"], m["path"]]))
        .collect();
    let mut want = want;
    want.sort_by_key(|v| v[0].as_str().unwrap().to_string());
    let got: Vec<Value> = r["kernel_modules"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| serde_json::json!([m["base"], m["size"], m["name"], m["path"]]))
        .collect();
    assert_eq!(got, want, "{path}: kernel modules");
    assert_eq!(r["warnings"], serde_json::json!([]), "{path}: warnings");
}

/// Kernel-only threads have no TEB: the truth writes 0x0 for their stack, memtriage null.
fn or_zero(v: &Value) -> Value {
    if v.is_null() {
        Value::String("0x0".into())
    } else {
        v.clone()
    }
}

fn check_threads(g: &Generated, path: &str) {
    let rows = run_json(&["threads", path, "--format", "json"]);
    let rows = rows["rows"].as_array().unwrap();
    let mut want = Vec::new();
    for p in truth_processes(&g.truth) {
        if !p["in_active_list"].as_bool().unwrap() {
            continue;
        }
        for th in p["threads"].as_array().unwrap() {
            want.push(serde_json::json!([
                p["pid"],
                th["tid"],
                th["start_address"],
                th["teb"],
                th["stack_base"],
                th["stack_limit"],
                th["create_time"],
                th["stack32_base"],
                th["stack32_limit"]
            ]));
        }
    }
    let mut got: Vec<Value> = rows
        .iter()
        .map(|r| {
            serde_json::json!([
                r["pid"],
                r["tid"],
                r["start_address"],
                r["teb"],
                or_zero(&r["stack_base"]),
                or_zero(&r["stack_limit"]),
                r["create_time"],
                r["stack32_base"],
                r["stack32_limit"]
            ])
        })
        .collect();
    let key = |v: &Value| (v[0].as_u64().unwrap(), v[1].as_u64().unwrap());
    want.sort_by_key(key);
    got.sort_by_key(key);
    assert_eq!(got, want, "{path}: threads");
}

fn check_pslist_psscan(g: &Generated, path: &str) {
    let pslist = run_json(&["pslist", path, "--format", "json"]);
    let got: BTreeSet<(u64, String)> = pslist["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["pid"].as_u64().unwrap(), s(r, "offset").to_string()))
        .collect();
    let want: BTreeSet<(u64, String)> = truth_processes(&g.truth)
        .iter()
        .filter(|p| p["in_active_list"].as_bool().unwrap())
        .map(|p| (p["pid"].as_u64().unwrap(), s(p, "eprocess").to_string()))
        .collect();
    assert_eq!(got, want, "{path}: pslist");
    let psscan = run_json(&["psscan", path, "--format", "json"]);
    let got: BTreeSet<(u64, String, String)> = psscan["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            (
                r["pid"].as_u64().unwrap(),
                s(r, "offset_physical").to_string(),
                s(r, "status").to_string(),
            )
        })
        .collect();
    let want: BTreeSet<(u64, String, String)> = truth_processes(&g.truth)
        .iter()
        .map(|p| {
            let status = if p["in_active_list"].as_bool().unwrap() {
                "in-list"
            } else if p["exited"].as_bool().unwrap() {
                "exited"
            } else {
                "hidden"
            };
            (
                p["pid"].as_u64().unwrap(),
                s(p, "eprocess_pa").to_string(),
                status.to_string(),
            )
        })
        .collect();
    assert_eq!(
        got, want,
        "{path}: psscan (no false positives, every process found)"
    );
}

fn check_vtop(g: &Generated, path: &str) {
    for tr in g.truth["translations"].as_array().unwrap() {
        let v = run_json(&[
            "vtop",
            path,
            s(tr, "va"),
            "--dtb",
            s(tr, "dtb"),
            "--format",
            "json",
        ]);
        match s(tr, "state") {
            "valid" | "transition" => {
                assert_eq!(v["pa"], tr["pa"], "{path}: vtop {tr}");
                let size = match s(tr, "page_size") {
                    "4K" => "Size4K",
                    "2M" => "Size2M",
                    _ => "Size1G",
                };
                assert_eq!(s(&v, "page_size"), size, "{path}: vtop {tr}");
                let state = if s(tr, "state") == "valid" {
                    "Valid"
                } else {
                    "Transition"
                };
                assert_eq!(s(&v, "state"), state, "{path}: vtop {tr}");
            }
            "pagefile" => {
                let sw = &v["software_state"]["PageFile"];
                assert_eq!(sw["file"], tr["file"], "{path}: vtop {tr}");
                let off = sw["offset"].as_u64().unwrap() * 0x1000;
                assert_eq!(format!("{off:#x}"), s(tr, "offset"), "{path}: vtop {tr}");
            }
            "demand_zero" => assert!(
                v["software_state"].get("DemandZero").is_some(),
                "{path}: vtop {tr}: {v}"
            ),
            "unmapped" => assert_eq!(v["software_state"], "Unmapped", "{path}: vtop {tr}: {v}"),
            other => panic!("unexpected state {other}"),
        }
    }
}

/// `info` names the format, the physical ranges the file holds and the header fields.
fn check_info_ranges(g: &Generated) {
    let runs = g.truth["system"]["physical_runs"].as_array().unwrap();
    let first_run = s(&runs[0], "start");
    let last_end = s(runs.last().unwrap(), "end");
    for (ext, name) in [
        ("raw", "raw"),
        ("full.dmp", "crashdump-full"),
        ("bitmap.dmp", "crashdump-bitmap"),
        ("elf", "elf-core"),
    ] {
        let path = g.path(ext);
        let info = run_json(&["info", &path, "--format", "json"]);
        assert_eq!(s(&info, "format"), name, "{path}");
        let r = &info["physical_ranges"];
        match ext {
            "raw" => {
                assert_eq!(r["count"], 1, "{path}");
                assert_eq!(s(&r["first"], "start"), "0x0", "{path}");
            }
            "full.dmp" | "elf" => {
                assert_eq!(r["count"].as_u64().unwrap() as usize, runs.len(), "{path}");
                assert_eq!(s(&r["first"], "start"), first_run, "{path}");
                // info's ranges are inclusive, the truth's runs end-exclusive.
                let hex = |v: &str| u64::from_str_radix(v.trim_start_matches("0x"), 16).unwrap();
                assert_eq!(hex(s(&r["last"], "end")), hex(last_end) - 1, "{path}");
            }
            _ => assert!(r["count"].as_u64().unwrap() > 1, "{path}"),
        }
        if ext.ends_with(".dmp") {
            let h = &info["crash_dump"];
            assert_eq!(
                s(h, "directory_table_base"),
                s(&g.truth["system"], "dtb"),
                "{path}"
            );
            assert_eq!(h["minor_version"], g.truth["system"]["build"], "{path}");
            assert_eq!(
                h["dump_type"],
                if ext == "full.dmp" { 1 } else { 5 },
                "{path}"
            );
            assert_eq!(
                s(h, "ps_active_process_head"),
                s(&g.truth["system"], "ps_active_process_head"),
                "{path}"
            );
            assert_eq!(
                s(h, "ps_loaded_module_list"),
                s(&g.truth["system"], "ps_loaded_module_list"),
                "{path}"
            );
            assert_eq!(
                h["number_processors"], g.truth["system"]["processors"],
                "{path}"
            );
            assert_eq!(s(h, "machine_image_type"), "0x8664", "{path}");
        }
        if ext == "elf" {
            assert_eq!(
                s(&info["elf_cpu"], "cr3"),
                s(&g.truth["system"], "dtb"),
                "{path}"
            );
        }
    }
}

/// `dlllist --wow64` shows exactly the 32-bit loader entries of WoW64 processes.
fn check_wow64(g: &Generated, path: &str) {
    let rows = run_json(&["dlllist", path, "--wow64", "--format", "json"]);
    let mut got: Vec<String> = rows["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| {
            format!(
                "{} {} {} {} {} {} {}",
                r["pid"],
                s(r, "base"),
                s(r, "name"),
                s(r, "path"),
                r["in_load"],
                r["in_mem"],
                r["in_init"]
            )
        })
        .collect();
    let mut want: Vec<String> = truth_processes(&g.truth)
        .iter()
        .filter(|p| p["in_active_list"] == true)
        .flat_map(|p| {
            p["modules32"]
                .as_array()
                .into_iter()
                .flatten()
                .map(move |m| {
                    format!(
                        "{} {} {} {} {} {} {}",
                        p["pid"],
                        s(m, "base"),
                        s(m, "name"),
                        s(m, "path"),
                        m["in_load"],
                        m["in_mem"],
                        m["in_init"]
                    )
                })
        })
        .collect();
    got.sort();
    want.sort();
    assert!(!want.is_empty(), "{path}: the scenario has a WoW64 process");
    assert_eq!(got, want, "{path}: dlllist --wow64");
}

fn check_build(build: u32) {
    let g = standard(build);
    for format in FORMATS {
        let path = g.path(format);
        check_info(g, &path);
        check_report(g, &path);
        check_threads(g, &path);
        check_pslist_psscan(g, &path);
        check_wow64(g, &path);
    }
    for format in FORMATS {
        check_vtop(g, &g.path(format));
    }
    check_info_ranges(g);
    check_info(g, &g.path("elf"));
}

#[test]
fn windows_7_sp1_7601() {
    check_build(7601);
}
#[test]
fn windows_8_1_9600() {
    check_build(9600);
}
#[test]
fn windows_10_1607_14393() {
    check_build(14393);
}
#[test]
fn windows_10_1809_17763() {
    check_build(17763);
}
#[test]
fn windows_10_1903_18362() {
    check_build(18362);
}
#[test]
fn windows_10_2004_19041() {
    check_build(19041);
}
#[test]
fn windows_server_2022_20348() {
    check_build(20348);
}
#[test]
fn windows_11_21h2_22000() {
    check_build(22000);
}
