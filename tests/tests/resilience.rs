//! One bad object never costs the rest: the committed sample (rebuilt bit for bit from its
//! scenario) tampered in one place at a time — an odd process name in each form, a broken
//! process or thread list, a cut VAD subtree, garbage PEB, Ldr and process-parameters
//! pointers. Each report must hold the golden report exactly for everything not tampered
//! with, raise no false `hidden_process`, and name the tampered object in a warning.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use memtriage_dump::PhysicalMemory;
use memtriage_e2e::{hex, repo, run, temp_root};
use memtriage_fixtures::{build, isf_path, testdata_isf_dir, Capture, Scenario};
use memtriage_paging::AddressSpace;
use memtriage_symbols::Profile;
use memtriage_windows::Layout;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock};

/// The sample's pristine capture, truth, layout and a kernel address space over a copy.
struct Sample {
    cap: Capture,
    truth: Value,
    golden: Value,
    layout: Layout,
    kspace: AddressSpace,
}

fn sample() -> MutexGuard<'static, Sample> {
    static S: OnceLock<Mutex<Sample>> = OnceLock::new();
    S.get_or_init(|| {
        let cap = build(&Scenario::sample(), &testdata_isf_dir()).unwrap();
        let truth: Value = serde_json::from_str(&cap.truth_json()).unwrap();
        let golden: Value = serde_json::from_slice(
            &std::fs::read(repo().join("fixtures/samples/win10-19041.report.json")).unwrap(),
        )
        .unwrap();
        let profile =
            Profile::from_isf_path(&isf_path(&testdata_isf_dir(), 19041).unwrap()).unwrap();
        let layout = Layout::new(&profile).unwrap();
        let copy: Arc<dyn PhysicalMemory> = Arc::new(cap.memory.clone());
        let kspace = AddressSpace::new(copy, hex(&truth["system"]["dtb"]));
        Mutex::new(Sample {
            cap,
            truth,
            golden,
            layout,
            kspace,
        })
    })
    .lock()
    .unwrap_or_else(|e| e.into_inner())
}

impl Sample {
    fn process(&self, name: &str) -> &Value {
        self.truth["processes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|p| p["name"] == name && p["in_active_list"] == true)
            .unwrap_or_else(|| panic!("no listed {name}"))
    }

    fn kpa(&self, va: u64) -> u64 {
        self.kspace.translate(va).unwrap().pa
    }

    fn upa(&self, p: &Value, va: u64) -> u64 {
        self.kspace
            .with_dtb(hex(&p["dtb"]))
            .translate(va)
            .unwrap()
            .pa
    }

    fn read_k(&self, va: u64) -> u64 {
        self.kspace.read_u64(va).unwrap()
    }

    fn read_u(&self, p: &Value, va: u64) -> u64 {
        self.kspace.with_dtb(hex(&p["dtb"])).read_u64(va).unwrap()
    }

    /// The sample with `patches` (physical address, bytes) applied, as a bitmap dump like the
    /// committed one; the in-memory capture is restored afterwards.
    fn tampered(&mut self, name: &str, patches: &[(u64, Vec<u8>)]) -> PathBuf {
        let pristine = self.cap.memory.clone();
        for (pa, bytes) in patches {
            self.cap.memory.write(*pa, bytes);
        }
        let dir = temp_root().join("resilience");
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join(format!("{name}.dmp"));
        self.cap.write_bitmap_dump(&path).unwrap();
        self.cap.memory = pristine;
        path
    }
}

fn le(v: u64) -> Vec<u8> {
    v.to_le_bytes().to_vec()
}

/// `report --format json` of `path`: exit 0 and the document.
fn report(path: &Path) -> Value {
    let out = run(&[
        "report",
        path.to_str().unwrap(),
        "--format",
        "json",
        "--quiet",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

fn by_pid(r: &Value, key: &str, pid: u64) -> Vec<Value> {
    r[key]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["pid"] == pid)
        .cloned()
        .collect()
}

fn others(r: &Value, key: &str, pid: u64) -> Vec<Value> {
    r[key]
        .as_array()
        .unwrap()
        .iter()
        .filter(|x| x["pid"] != pid)
        .cloned()
        .collect()
}

/// Everything but process `pid` equals the golden report, with no false hidden process, and
/// (when `warning` is given) a warning contains it.
fn assert_rest_exact(golden: &Value, got: &Value, pid: u64, warning: Option<&str>) {
    assert_eq!(got["kernel_modules"], golden["kernel_modules"]);
    // `system.profile` counts the objects each layout check saw: the tampered one may be
    // among them. The layout and how it was matched stay the same.
    let system = |r: &Value| {
        let mut s = r["system"].clone();
        let profile = s["profile"].as_str().unwrap_or_default().to_owned();
        s["profile"] = Value::from(profile.split("; checks passed").next().unwrap_or_default());
        s
    };
    assert_eq!(system(got), system(golden));
    assert_eq!(
        others(got, "processes", pid),
        others(golden, "processes", pid)
    );
    assert_eq!(
        others(got, "findings", pid),
        others(golden, "findings", pid)
    );
    let hidden = |r: &Value| -> BTreeSet<u64> {
        r["findings"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|f| f["rule"] == "hidden_process")
            .map(|f| f["pid"].as_u64().unwrap())
            .collect()
    };
    assert_eq!(hidden(got), hidden(golden), "hidden_process findings");
    let Some(warning) = warning else {
        assert_eq!(got["warnings"], golden["warnings"]);
        return;
    };
    let warnings = got["warnings"].to_string();
    assert!(
        got["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains(warning)),
        "no warning with {warning:?}: {warnings}"
    );
}

#[test]
fn odd_process_names_cost_nothing_but_a_finding() {
    let mut s = sample();
    let golden = s.golden.clone();
    let p = s.process("smss.exe").clone();
    let pid = p["pid"].as_u64().unwrap();
    let name_pa = s.kpa(hex(&p["eprocess"]) + s.layout.ep_name.offset);
    let cases: [(&str, &[u8], &str); 5] = [
        ("latin1", b"caf\xe9.exe", "caf\\xe9.exe"),
        ("control", b"smss\x07.exe", "smss\\x07.exe"),
        ("tab", b"a\tb.exe", "a\\x09b.exe"),
        ("empty", b"", ""),
        ("script", b"<script>x.exe", "<script>x.exe"),
    ];
    for (case, raw, escaped) in cases {
        let mut bytes = raw.to_vec();
        bytes.resize(15, 0);
        let path = s.tampered(&format!("name-{case}"), &[(name_pa, bytes)]);
        let got = report(&path);
        // The report with an odd_process_name finding still validates against the schema.
        memtriage_report::check_report_value(&got)
            .unwrap_or_else(|v| panic!("{case}: {} {}", v.pointer, v.message));
        let odd = case != "script";
        let warning = format!("pid {pid}: _EPROCESS");
        assert_rest_exact(&golden, &got, pid, odd.then_some(warning.as_str()));
        let proc_ = &by_pid(&got, "processes", pid)[0];
        let mut want = by_pid(&golden, "processes", pid)[0].clone();
        want["name"] = Value::from(escaped);
        assert_eq!(proc_, &want, "{case}");
        let rules: Vec<Value> = by_pid(&got, "findings", pid)
            .iter()
            .map(|f| f["rule"].clone())
            .collect();
        if odd {
            assert_eq!(rules, vec![Value::from("odd_process_name")], "{case}");
        } else {
            assert!(rules.is_empty(), "{case}: {rules:?}");
        }
    }
}

#[test]
fn a_broken_process_list_is_bridged_without_false_hidden_processes() {
    let mut s = sample();
    let golden = s.golden.clone();
    let p = s.process("services.exe").clone();
    let links = hex(&p["eprocess"]) + s.layout.ep_links;
    let pa = s.kpa(links);
    for (case, bad) in [("garbage", 0xffff_dead_beef_0000u64), ("null", 0)] {
        let path = s.tampered(&format!("pslist-{case}"), &[(pa, le(bad))]);
        let got = report(&path);
        let pid = p["pid"].as_u64().unwrap();
        assert_rest_exact(&golden, &got, pid, Some("process list broken: Flink"));
        // services.exe itself is still reported in full (walked from the Blink side); only
        // the pool scan, which judges an `_EPROCESS` by its list links too, may no longer
        // see it: its views are the golden ones, less at most `pool`.
        let without_views = |r: &Value| {
            let mut v = by_pid(r, "processes", pid);
            let views = v[0]["views"].take();
            (v, views)
        };
        let (got_p, got_views) = without_views(&got);
        let (golden_p, golden_views) = without_views(&golden);
        assert_eq!(got_p, golden_p);
        let mut expected = golden_views.as_array().unwrap().clone();
        if got_views.as_array().unwrap().len() < expected.len() {
            expected.retain(|v| v != "pool");
        }
        assert_eq!(got_views, Value::from(expected), "{case}");
    }
}

#[test]
fn a_broken_thread_list_loses_no_thread() {
    let mut s = sample();
    let golden = s.golden.clone();
    let p = s.process("smss.exe").clone();
    let pid = p["pid"].as_u64().unwrap();
    let head = hex(&p["eprocess"]) + s.layout.ep_thread_list_head;
    let first = s.read_k(head);
    let pa = s.kpa(first);
    let path = s.tampered("threads", &[(pa, le(0x4141_4141_4141_4141))]);
    let got = report(&path);
    let warning = format!("pid {pid}: thread list broken");
    assert_rest_exact(&golden, &got, pid, Some(&warning));
    assert_eq!(got["processes"], golden["processes"]);
}

#[test]
fn a_cut_vad_subtree_costs_only_its_own_regions() {
    let mut s = sample();
    let golden = s.golden.clone();
    let p = s.process("csrss.exe").clone();
    let pid = p["pid"].as_u64().unwrap();
    let vad = s.layout.vad.as_ref().unwrap();
    let root = s.read_k(hex(&p["eprocess"]) + vad.vad_root_in_eprocess);
    let left = root + vad.node_left;
    let pa = s.kpa(left);
    let path = s.tampered("vad-cut", &[(pa, le(0xffff_dead_0000_0000))]);
    let got = report(&path);
    let warning = format!("pid {pid}: VAD node");
    assert_rest_exact(&golden, &got, pid, Some(&warning));
    let want: Vec<Value> = by_pid(&golden, "processes", pid)[0]["regions"]
        .as_array()
        .unwrap()
        .clone();
    let kept = by_pid(&got, "processes", pid)[0]["regions"]
        .as_array()
        .unwrap()
        .clone();
    assert!(!kept.is_empty() && kept.len() < want.len());
    // What is kept is golden regions, exactly.
    for r in &kept {
        assert!(want.contains(r), "{r} is not a golden region");
    }
}

#[test]
fn garbage_peb_ldr_and_parameters_pointers_cost_only_their_process() {
    let mut s = sample();
    let golden = s.golden.clone();
    let p = s.process("services.exe").clone();
    let pid = p["pid"].as_u64().unwrap();
    let ldr_layout = s.layout.ldr.clone().unwrap();
    let peb = hex(&p["peb"]);
    let garbage = le(0x0000_4141_4141_0000);
    let peb_field = s.kpa(hex(&p["eprocess"]) + s.layout.ep_peb.offset);
    let ldr_field = s.upa(&p, peb + ldr_layout.ldr.offset);
    let params_field = s.upa(&p, peb + ldr_layout.params.offset);
    assert_ne!(s.read_u(&p, peb + ldr_layout.ldr.offset), 0);
    let golden_p = by_pid(&golden, "processes", pid)[0].clone();
    for (case, pa, warning) in [
        ("peb", peb_field, format!("pid {pid}: PEB")),
        (
            "ldr",
            ldr_field,
            format!("pid {pid}: InLoadOrderModuleList head"),
        ),
        (
            "params",
            params_field,
            format!("pid {pid}: process parameters"),
        ),
    ] {
        let path = s.tampered(&format!("peb-{case}"), &[(pa, garbage.clone())]);
        let got = report(&path);
        let got_p = by_pid(&got, "processes", pid)[0].clone();
        match case {
            "peb" => {
                assert_rest_exact(&golden, &got, pid, Some(&warning));
                assert_eq!(got_p["modules"], serde_json::json!([]));
                assert_eq!(got_p["command_line"], Value::Null);
            }
            "ldr" => {
                assert_rest_exact(&golden, &got, pid, Some(&warning));
                assert_eq!(got_p["modules"], serde_json::json!([]));
                assert_eq!(got_p["command_line"], golden_p["command_line"]);
            }
            _ => {
                assert_rest_exact(&golden, &got, pid, Some(&warning));
                assert_eq!(got_p["command_line"], Value::Null);
                assert_eq!(got_p["modules"], golden_p["modules"]);
            }
        }
        // The process itself is still listed with what could be read.
        for key in ["pid", "ppid", "name", "offset", "create_time", "threads"] {
            assert_eq!(got_p[key], golden_p[key], "{case}: {key}");
        }
    }
}
