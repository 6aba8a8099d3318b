//! Unit tests of `unbacked_thread`, `module_path_mismatch` and `process_lineage` (and of the
//! `threads` table's `started_in` label) on hand-built process details. Regions carry no
//! page tables here, so executability comes from the VAD protection alone. Each test states
//! the exact findings expected.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use memtriage_analysis::detect::{
    lineage_findings, thread_origin, Detector, ModulePathMismatch, ProcessContext, StartedIn,
    UnbackedThreads,
};
use memtriage_analysis::regions::classify;
use memtriage_analysis::ProcessDetail;
use memtriage_dump::SparseMemory;
use memtriage_paging::AddressSpace;
use memtriage_report::{Finding, Severity};
use memtriage_windows::peb::{LoaderEntry, PebInfo};
use memtriage_windows::process::Process;
use memtriage_windows::protection::Protection;
use memtriage_windows::thread::Thread;
use memtriage_windows::vad::Vad;
use serde_json::json;
use std::sync::Arc;

const PAGE_READONLY: u64 = 1;
const PAGE_EXECUTE_READ: u64 = 3;
const PAGE_READWRITE: u64 = 4;
const PAGE_EXECUTE_READWRITE: u64 = 6;

fn space() -> AddressSpace {
    let mut mem = SparseMemory::new();
    mem.add_page(0x1000);
    AddressSpace::new(Arc::new(mem), 0x1000)
}

fn vad(start: u64, pages: u64, protection: u64, private: bool) -> Vad {
    Vad {
        node: 0xffff_8000_0000_0000 + start,
        start,
        end: start + pages * 0x1000 - 1,
        protection: Protection::from_index(protection),
        private,
        commit_charge: u64::from(private) * pages,
        tag: "VadS".into(),
        ..Vad::default()
    }
}

fn image_vad(start: u64, pages: u64, file: &str) -> Vad {
    Vad {
        vad_type: 2,
        tag: "Vad ".into(),
        file: Some(file.into()),
        ..vad(start, pages, 7, false)
    }
}

fn detail(p: Process, vads: Vec<Vad>, peb: Option<PebInfo>, threads: Vec<Thread>) -> ProcessDetail {
    let regions = classify(&space(), &vads, peb.as_ref(), &threads);
    ProcessDetail {
        process: p,
        hidden: false,
        vads,
        regions,
        peb,
        peb32: None,
        threads,
        warnings: Vec::new(),
    }
}

fn process(pid: u64, ppid: u64, name: &str, image_path: Option<&str>, created: u64) -> Process {
    Process {
        pid,
        ppid,
        name: name.into(),
        image_path: image_path.map(Into::into),
        create_time: created,
        eprocess: 0xffff_9000_0000_0000 + pid * 0x1000,
        ..Process::default()
    }
}

fn run(det: &dyn Detector, d: &ProcessDetail) -> Vec<Finding> {
    det.process(&ProcessContext {
        detail: d,
        space: &space(),
    })
}

fn summary(findings: &[Finding]) -> Vec<(String, Severity, u64)> {
    findings
        .iter()
        .map(|f| (f.rule.clone(), f.severity, f.address.map_or(0, |a| a.0)))
        .collect()
}

/// A thread with the two start fields as read; the effective start follows the reader's rule.
fn thread(tid: u64, win32: Option<u64>, raw: Option<u64>) -> Thread {
    Thread {
        tid,
        pid: 300,
        start_address: win32.filter(|v| *v != 0).or(raw).unwrap_or(0),
        win32_start_address: win32,
        raw_start_address: raw,
        ..Thread::default()
    }
}

#[test]
fn unbacked_threads_fire_on_private_mapped_and_no_vad_starts_only() {
    let ntdll = 0x7ff8_0000_0000;
    let vads = vec![
        vad(0x20_0000, 2, PAGE_EXECUTE_READWRITE, true), // shellcode
        vad(0x30_0000, 2, PAGE_READWRITE, true),         // private data
        vad(0x40_0000, 2, PAGE_READONLY, false),         // section, no file
        Vad {
            file: Some("\\Windows\\System32\\locale.nls".into()),
            ..vad(0x50_0000, 2, PAGE_EXECUTE_READ, false) // data view of a file
        },
        image_vad(ntdll, 16, "\\Windows\\System32\\ntdll.dll"),
    ];
    let peb = PebInfo {
        modules: vec![LoaderEntry {
            base: ntdll,
            name: "ntdll.dll".into(),
            path: "C:\\Windows\\SYSTEM32\\ntdll.dll".into(),
            ..LoaderEntry::default()
        }],
        ..PebInfo::default()
    };
    let rtl_user_thread_start = ntdll + 0x2340;
    let threads = vec![
        thread(1, Some(ntdll + 0x100), Some(rtl_user_thread_start)), // image: fine
        thread(2, Some(0x20_0010), Some(rtl_user_thread_start)),     // RWX private: high
        thread(3, Some(0), Some(0x30_0020)), // Win32 zero: StartAddress in RW private
        thread(4, Some(0x40_0040), Some(rtl_user_thread_start)), // section, no file
        thread(5, Some(0x50_0000), None),    // mapped data file
        thread(6, Some(0x4000_1230), Some(rtl_user_thread_start)), // no VAD
        thread(7, Some(0xffff_f800_0000_1000), Some(0xffff_f800_0000_1000)), // kernel
        thread(8, Some(0), Some(0)),         // nothing known
        thread(9, Some(0xdead_beef_dead_beef), None), // not canonical
        thread(10, None, Some(rtl_user_thread_start)), // profile without Win32Start
    ];
    let d = detail(
        process(300, 600, "svchost.exe", None, 1),
        vads,
        Some(peb),
        threads,
    );
    let found = run(&UnbackedThreads, &d);
    assert_eq!(
        summary(&found),
        vec![
            ("unbacked_thread".into(), Severity::High, 0x20_0010),
            ("unbacked_thread".into(), Severity::Medium, 0x30_0020),
            ("unbacked_thread".into(), Severity::Medium, 0x40_0040),
            ("unbacked_thread".into(), Severity::Medium, 0x50_0000),
            ("unbacked_thread".into(), Severity::Medium, 0x4000_1230),
        ]
    );
    assert_eq!(
        json!(found[0].evidence),
        json!({
            "tid": 2,
            "win32_start_address": "0x200010",
            "start_address": "0x7ff800002340",
            "region": {"start": "0x200000", "end": "0x201fff", "type": "private"},
            "protection": "PAGE_EXECUTE_READWRITE",
        })
    );
    assert_eq!(found[0].mitre, vec!["T1055", "T1620"]);
    assert_eq!(found[0].pid, Some(300));
    assert_eq!(found[1].evidence["win32_start_address"], "0x0");
    assert_eq!(found[1].evidence["start_address"], "0x300020");
    assert_eq!(found[2].evidence["region"]["type"], "mapped");
    assert_eq!(found[2].evidence["protection"], "PAGE_READONLY");
    assert_eq!(found[4].evidence["region"], serde_json::Value::Null);
    assert_eq!(found[4].evidence["protection"], serde_json::Value::Null);

    // The threads table's label for each thread, in order.
    let labels: Vec<String> = d
        .threads
        .iter()
        .map(|t| StartedIn::of(&d, thread_origin(&d, t.start_address)).to_string())
        .collect();
    assert_eq!(
        labels,
        [
            "ntdll.dll",
            "private",
            "private",
            "mapped",
            "mapped",
            "no region",
            "kernel",
            "unknown",
            "invalid",
            "ntdll.dll"
        ]
    );
}

#[test]
fn unbacked_threads_need_a_vad_tree() {
    let d = detail(
        process(4, 0, "System", None, 0),
        vec![],
        None,
        vec![thread(8, Some(0x4000_1230), None)],
    );
    assert!(run(&UnbackedThreads, &d).is_empty());
}

fn ldr(base: u64, name: &str, path: &str) -> LoaderEntry {
    LoaderEntry {
        base,
        name: name.into(),
        path: path.into(),
        in_load: true,
        in_mem: true,
        in_init: true,
        ..LoaderEntry::default()
    }
}

#[test]
fn module_path_mismatch_flags_overloading_and_spares_other_spellings() {
    let vads = vec![
        image_vad(0x10_0000, 4, "\\Windows\\Temp\\payload.dll"),
        image_vad(0x20_0000, 4, "\\Windows\\System32\\dbghelp.dll"),
        image_vad(0x30_0000, 4, "\\Windows\\System32\\wintrust.dll"),
        image_vad(0x40_0000, 4, "\\Users\\Public\\updater.exe"), // main image
        image_vad(0x50_0000, 4, "\\Users\\Public\\unlisted.dll"), // no entry
        image_vad(0x60_0000, 4, "\\Windows\\SysWOW64\\kernel32.dll"),
        image_vad(0x70_0000, 4, "\\Windows\\SysWOW64\\user32.dll"),
    ];
    let peb = PebInfo {
        image_base: 0x40_0000,
        modules: vec![
            ldr(
                0x10_0000,
                "version.dll",
                "C:\\Windows\\System32\\version.dll",
            ),
            ldr(
                0x20_0000,
                "DBGHELP.DLL",
                "\\??\\C:\\WINDOWS\\system32\\DBGHELP.DLL",
            ),
            ldr(
                0x30_0000,
                "wintrust.dll",
                "\\SystemRoot\\System32\\WinTrust.dll",
            ),
            ldr(
                0x40_0000,
                "svchost.exe",
                "C:\\Windows\\System32\\svchost.exe",
            ),
        ],
        ..PebInfo::default()
    };
    let peb32 = PebInfo {
        image_base: 0x40_0000,
        modules: vec![
            // The redirector: a 32-bit System32 path is the SysWOW64 file.
            ldr(
                0x60_0000,
                "KERNEL32.DLL",
                "C:\\Windows\\System32\\KERNEL32.DLL",
            ),
            ldr(0x70_0000, "user32.dll", "C:\\Windows\\SysWOW64\\gdi32.dll"),
        ],
        ..PebInfo::default()
    };
    let mut d = detail(
        process(500, 600, "updater.exe", None, 1),
        vads,
        Some(peb),
        vec![],
    );
    d.peb32 = Some(peb32);
    let found = run(&ModulePathMismatch, &d);
    assert_eq!(
        summary(&found),
        vec![
            ("module_path_mismatch".into(), Severity::High, 0x10_0000),
            ("module_path_mismatch".into(), Severity::High, 0x70_0000),
        ]
    );
    assert_eq!(
        json!(found[0].evidence),
        json!({
            "mapped_file": "\\Windows\\Temp\\payload.dll",
            "loader_path": "C:\\Windows\\System32\\version.dll",
            "loader_name": "version.dll",
            "loader_view": "native",
        })
    );
    assert_eq!(found[0].end.map(|e| e.0), Some(0x10_3fff));
    assert_eq!(found[0].mitre, vec!["T1055.001"]);
    assert_eq!(found[1].evidence["loader_view"], "wow64");
}

fn live(p: Process, session: Option<u32>) -> ProcessDetail {
    let peb = PebInfo {
        session_id: session,
        ..PebInfo::default()
    };
    detail(p, vec![], Some(peb), vec![])
}

fn sys32(name: &str) -> String {
    format!("\\Device\\HarddiskVolume3\\Windows\\System32\\{name}")
}

/// A clean boot: System, smss, csrss and wininit of an exited smss (pid 90), services, lsass,
/// two svchost, LsaIso, explorer (session 1, parent gone).
fn clean_boot() -> Vec<ProcessDetail> {
    let s = |n: &str| Some(sys32(n));
    vec![
        live(process(4, 0, "System", None, 0), None),
        live(
            process(88, 4, "smss.exe", s("smss.exe").as_deref(), 1),
            Some(0),
        ),
        live(
            process(96, 90, "csrss.exe", s("csrss.exe").as_deref(), 2),
            Some(0),
        ),
        live(
            process(100, 90, "wininit.exe", s("wininit.exe").as_deref(), 3),
            Some(0),
        ),
        live(
            process(120, 100, "services.exe", s("services.exe").as_deref(), 4),
            Some(0),
        ),
        live(
            process(124, 100, "lsass.exe", s("lsass.exe").as_deref(), 5),
            Some(0),
        ),
        live(
            process(130, 100, "LsaIso.exe", s("LsaIso.exe").as_deref(), 5),
            Some(0),
        ),
        live(
            process(200, 120, "svchost.exe", s("svchost.exe").as_deref(), 6),
            Some(0),
        ),
        live(
            process(204, 120, "SVCHOST.EXE", s("svchost.exe").as_deref(), 7),
            Some(0),
        ),
        live(
            process(
                300,
                280,
                "explorer.exe",
                Some("C:\\Windows\\explorer.exe"),
                8,
            ),
            Some(1),
        ),
    ]
}

fn lineage(all: &[ProcessDetail]) -> Vec<(u64, Vec<String>)> {
    let refs: Vec<&ProcessDetail> = all.iter().collect();
    lineage_findings(&refs)
        .iter()
        .map(|f| {
            assert_eq!(f.rule, "process_lineage");
            assert_eq!(f.severity, Severity::Medium);
            assert_eq!(f.mitre, vec!["T1036", "T1055"]);
            let inv = f.evidence["invariants"]
                .as_array()
                .unwrap()
                .iter()
                .map(|v| v.as_str().unwrap().to_string())
                .collect();
            (f.pid.unwrap(), inv)
        })
        .collect()
}

#[test]
fn process_lineage_is_silent_on_a_clean_boot() {
    assert_eq!(lineage(&clean_boot()), vec![]);
}

#[test]
fn process_lineage_names_every_broken_invariant() {
    let mut all = clean_boot();
    let s = |n: &str| Some(sys32(n));
    // svchost started by explorer, in session 1.
    all.push(live(
        process(400, 300, "svchost.exe", s("svchost.exe").as_deref(), 20),
        Some(1),
    ));
    // A second lsass, outside System32.
    all.push(live(
        process(
            404,
            100,
            "lsass.exe",
            Some("\\Device\\HarddiskVolume3\\Users\\Public\\lsass.exe"),
            21,
        ),
        Some(0),
    ));
    // smss whose parent is not System; csrss whose parent smss is still alive.
    all.push(live(
        process(408, 300, "smss.exe", s("smss.exe").as_deref(), 22),
        Some(0),
    ));
    all.push(live(
        process(412, 88, "csrss.exe", s("csrss.exe").as_deref(), 23),
        Some(1),
    ));
    // services whose parent pid was reused by a later wininit.exe: no live parent.
    all.push(live(
        process(416, 500, "services.exe", s("services.exe").as_deref(), 24),
        Some(0),
    ));
    all.push(live(
        process(500, 4, "wininit.exe", s("wininit.exe").as_deref(), 25),
        Some(0),
    ));
    let got = lineage(&all);
    let want: Vec<(u64, Vec<String>)> = vec![
        (400, vec!["parent_services".into(), "session_zero".into()]),
        (404, vec!["single_lsass".into(), "system32_image".into()]),
        (408, vec!["smss_parent_system".into()]),
        (412, vec!["parent_exited_smss".into()]),
        (416, vec!["parent_wininit".into()]),
        // The second wininit: parent System is alive (it should have exited).
        (500, vec!["parent_exited_smss".into()]),
    ];
    assert_eq!(got, want);
    let refs: Vec<&ProcessDetail> = all.iter().collect();
    let f = lineage_findings(&refs);
    let first = f.iter().find(|f| f.pid == Some(400)).unwrap();
    assert_eq!(first.evidence["parent"], "explorer.exe");
    assert_eq!(first.evidence["ppid"], 300);
    assert_eq!(first.evidence["session_id"], 1);
    assert_eq!(
        first.address.map(|a| a.0),
        Some(0xffff_9000_0000_0000 + 400 * 0x1000)
    );
    let services = f.iter().find(|f| f.pid == Some(416)).unwrap();
    assert_eq!(services.evidence["parent"], serde_json::Value::Null);
}
