//! Unit tests of region classification and of every detector on small in-memory captures:
//! a `SparseMemory` holding one process's page tables and pages, with VADs, PEB and loader
//! entries built by hand. Each test states the exact findings expected.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use memtriage_analysis::detect::{
    Detector, ImageIdentity, Malfind, ProcessContext, UnlinkedModules,
};
use memtriage_analysis::regions::{classify, ClassifiedRegion};
use memtriage_analysis::ProcessDetail;
use memtriage_dump::SparseMemory;
use memtriage_paging::AddressSpace;
use memtriage_report::{Finding, RegionCategory, RegionState, RegionType, Severity};
use memtriage_windows::peb::{LoaderEntry, PebInfo};
use memtriage_windows::process::Process;
use memtriage_windows::protection::Protection;
use memtriage_windows::thread::Thread;
use memtriage_windows::vad::Vad;
use std::collections::HashMap;
use std::sync::Arc;

const PRESENT: u64 = 1;
const WRITABLE: u64 = 2;
const USER: u64 = 4;
const NX: u64 = 1 << 63;
const PML4: u64 = 0x1000;

/// A process address space under construction: 4-level tables allocated on demand.
struct Builder {
    mem: SparseMemory,
    next_frame: u64,
    tables: HashMap<(u64, usize), u64>,
}

impl Builder {
    fn new() -> Self {
        let mut mem = SparseMemory::new();
        mem.add_page(PML4);
        Builder {
            mem,
            next_frame: 0x10_0000,
            tables: HashMap::new(),
        }
    }

    fn frame(&mut self) -> u64 {
        let pa = self.next_frame;
        self.next_frame += 0x1000;
        self.mem.add_page(pa);
        pa
    }

    /// Map one 4 KiB page at `va` with leaf `flags`, holding `data`.
    fn map(&mut self, va: u64, flags: u64, data: &[u8]) {
        let mut table = PML4;
        for shift in [39u32, 30, 21] {
            let idx = ((va >> shift) & 511) as usize;
            let key = (table, idx);
            let next = match self.tables.get(&key) {
                Some(t) => *t,
                None => {
                    let t = self.frame();
                    self.mem
                        .write_u64(table + idx as u64 * 8, t | PRESENT | WRITABLE | USER);
                    self.tables.insert(key, t);
                    t
                }
            };
            table = next;
        }
        let page = self.frame();
        self.mem.write(page, data);
        let idx = (va >> 12) & 511;
        self.mem
            .write_u64(table + idx * 8, page | flags | PRESENT | USER);
    }

    fn space(self) -> AddressSpace {
        AddressSpace::new(Arc::new(self.mem), PML4)
    }
}

/// The first bytes of a minimal PE: `MZ`, e_lfanew = 0x40, `PE\0\0`.
fn pe_page() -> Vec<u8> {
    let mut p = vec![0u8; 0x1000];
    p[0..2].copy_from_slice(b"MZ");
    p[0x3c..0x40].copy_from_slice(&0x40u32.to_le_bytes());
    p[0x40..0x44].copy_from_slice(b"PE\0\0");
    p
}

fn vad(start: u64, pages: u64, protection: u64, private: bool, commit: u64) -> Vad {
    Vad {
        node: 0xffff_8000_0000_0000 + start,
        start,
        end: start + pages * 0x1000 - 1,
        protection: Protection::from_index(protection),
        private,
        commit_charge: commit,
        tag: "VadS".into(),
        ..Vad::default()
    }
}

fn image_vad(start: u64, pages: u64, file: &str) -> Vad {
    Vad {
        vad_type: 2,
        tag: "Vad ".into(),
        file: Some(file.into()),
        ..vad(start, pages, 7, false, 0)
    }
}

fn process(pid: u64, name: &str, image_path: &str) -> Process {
    Process {
        pid,
        name: name.into(),
        image_path: Some(image_path.into()),
        eprocess: 0xffff_9000_0000_0000 + pid * 0x1000,
        ..Process::default()
    }
}

fn detail(
    space: &AddressSpace,
    p: Process,
    vads: Vec<Vad>,
    peb: Option<PebInfo>,
    threads: Vec<Thread>,
) -> ProcessDetail {
    let regions = classify(space, &vads, peb.as_ref(), &threads);
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

fn run(det: &dyn Detector, space: &AddressSpace, d: &ProcessDetail) -> Vec<Finding> {
    det.process(&ProcessContext { detail: d, space })
}

fn summary(findings: &[Finding]) -> Vec<(String, Severity, u64)> {
    findings
        .iter()
        .map(|f| (f.rule.clone(), f.severity, f.address.map_or(0, |a| a.0)))
        .collect()
}

fn category_of(
    regions: &[ClassifiedRegion],
    start: u64,
) -> (RegionCategory, RegionType, RegionState) {
    let r = regions
        .iter()
        .find(|r| r.vad.start == start)
        .expect("region");
    (r.category, r.mem_type, r.state)
}

#[test]
fn regions_are_classified_like_vmmap() {
    let mut b = Builder::new();
    b.map(0x10000, NX, &[1; 16]); // heap page (valid)
    b.map(0x30000, 0, &pe_page()); // image page
    let space = b.space();
    let vads = vec![
        vad(0x10000, 4, 4, true, 1), // heap
        vad(0x20000, 2, 4, true, 2), // stack of thread 9
        image_vad(0x30000, 2, "\\Windows\\System32\\ntdll.dll"),
        Vad {
            file: Some("\\Windows\\Fonts\\arial.ttf".into()),
            ..vad(0x40000, 1, 1, false, 0)
        },
        vad(0x50000, 1, 4, false, 0), // shareable, no file
        vad(0x60000, 8, 4, true, 0),  // private, nothing committed
    ];
    let peb = PebInfo {
        heaps: vec![0x10000],
        ..PebInfo::default()
    };
    let threads = vec![Thread {
        tid: 9,
        stack_base: Some(0x22000),
        stack_limit: Some(0x21000),
        ..Thread::default()
    }];
    let regions = classify(&space, &vads, Some(&peb), &threads);
    use RegionCategory as C;
    use RegionState as S;
    use RegionType as T;
    assert_eq!(
        category_of(&regions, 0x10000),
        (C::Heap, T::Private, S::Committed)
    );
    assert_eq!(
        category_of(&regions, 0x20000),
        (C::Stack, T::Private, S::Committed)
    );
    assert_eq!(
        category_of(&regions, 0x30000),
        (C::Image, T::Image, S::Committed)
    );
    assert_eq!(
        category_of(&regions, 0x40000),
        (C::MappedFile, T::Mapped, S::Committed)
    );
    assert_eq!(
        category_of(&regions, 0x50000),
        (C::Shareable, T::Mapped, S::Committed)
    );
    assert_eq!(
        category_of(&regions, 0x60000),
        (C::PrivateData, T::Private, S::Reserved)
    );
    let heap = &regions[0];
    assert_eq!(heap.details, "Heap ID: 0");
    assert_eq!(
        (heap.valid_pages, heap.x_pte, heap.wx_pte),
        (1, false, false)
    );
    assert_eq!(regions[1].details, "Thread ID: 9");
    let image = &regions[2];
    assert_eq!(
        (image.valid_pages, image.x_pte, image.wx_pte),
        (1, true, false)
    );
}

#[test]
fn malfind_flags_rwx_private_and_injected_pe_and_nothing_else() {
    let mut b = Builder::new();
    b.map(0x10000, WRITABLE, &pe_page()); // private RWX by VAD, PE header
    b.map(0x20000, WRITABLE, &[0x90; 64]); // private RW VAD, but a W+X PTE
    b.map(0x30000, 0, &[0xc3; 64]); // private RX, no PE: not injected
    b.map(0x40000, 0, &pe_page()); // image: never malfind
    b.map(0x50000, WRITABLE | NX, &pe_page()); // private RW, PE header, not executable
    let space = b.space();
    let vads = vec![
        vad(0x10000, 1, 6, true, 1),
        vad(0x20000, 1, 4, true, 1),
        vad(0x30000, 1, 3, true, 1),
        image_vad(0x40000, 1, "\\Windows\\System32\\kernel32.dll"),
        vad(0x50000, 1, 4, true, 1),
        vad(0x60000, 1, 6, true, 0), // RWX but only reserved
    ];
    let d = detail(
        &space,
        process(100, "victim.exe", "\\x\\victim.exe"),
        vads,
        None,
        vec![],
    );
    let found = run(&Malfind, &space, &d);
    assert_eq!(
        summary(&found),
        vec![
            ("rwx_private".into(), Severity::Medium, 0x10000),
            ("injected_pe".into(), Severity::High, 0x10000),
            ("rwx_private".into(), Severity::Medium, 0x20000),
        ]
    );
    assert_eq!(found[0].evidence["detected_by"], "vad_protection");
    assert_eq!(found[0].evidence["protection"], "PAGE_EXECUTE_READWRITE");
    assert_eq!(found[0].mitre, vec!["T1055"]);
    assert_eq!(found[1].evidence["type"], "private");
    assert_eq!(found[1].mitre, vec!["T1055.001", "T1620"]);
    assert_eq!(found[2].evidence["detected_by"], "pte");
    assert_eq!(found[2].pid, Some(100));
}

fn entry(base: u64, name: &str, lists: [bool; 3]) -> LoaderEntry {
    LoaderEntry {
        base,
        size: 0x1000,
        name: name.into(),
        path: format!("C:\\Windows\\System32\\{name}"),
        in_load: lists[0],
        in_mem: lists[1],
        in_init: lists[2],
        ..LoaderEntry::default()
    }
}

#[test]
fn unlinked_modules_are_high_when_on_no_list_and_medium_when_on_some() {
    let mut b = Builder::new();
    for va in [0x10000, 0x20000, 0x30000, 0x40000] {
        b.map(va, 0, &pe_page());
    }
    let space = b.space();
    let vads = vec![
        image_vad(0x10000, 1, "\\Windows\\app.exe"),
        image_vad(0x20000, 1, "\\Windows\\System32\\ok.dll"),
        image_vad(0x30000, 1, "\\Users\\x\\evil.dll"),
        image_vad(0x40000, 1, "\\Windows\\System32\\half.dll"),
    ];
    let peb = PebInfo {
        image_base: 0x10000,
        modules: vec![
            entry(0x10000, "app.exe", [true, true, false]), // main image: never on init list
            entry(0x20000, "ok.dll", [true, true, true]),
            entry(0x40000, "half.dll", [true, false, true]),
        ],
        ..PebInfo::default()
    };
    let d = detail(
        &space,
        process(200, "app.exe", "\\Windows\\app.exe"),
        vads,
        Some(peb),
        vec![],
    );
    let found = run(&UnlinkedModules, &space, &d);
    assert_eq!(
        summary(&found),
        vec![
            ("peb_unlinked_module".into(), Severity::High, 0x30000),
            ("peb_unlinked_module".into(), Severity::Medium, 0x40000),
        ]
    );
    assert_eq!(
        found[0].evidence["lists_missing"],
        serde_json::json!(["in_load", "in_mem", "in_init"])
    );
    assert_eq!(
        found[1].evidence["lists_missing"],
        serde_json::json!(["in_mem"])
    );
}

#[test]
fn image_identity_catches_masquerade_and_hollowing_and_spares_the_honest() {
    let mut b = Builder::new();
    b.map(0x10000, WRITABLE, &pe_page());
    b.map(0x40000, 0, &pe_page());
    let space = b.space();
    // Hollowed: PEB.ImageBaseAddress points into private memory; the PEB names another file.
    let peb = PebInfo {
        peb: 0x7000,
        image_base: 0x10000,
        image_path: Some("C:\\Windows\\System32\\svchost.exe".into()),
        ..PebInfo::default()
    };
    let d = detail(
        &space,
        process(
            300,
            "evil.exe",
            "\\Device\\HarddiskVolume2\\Users\\x\\evil.exe",
        ),
        vec![vad(0x10000, 1, 6, true, 1)],
        Some(peb),
        vec![],
    );
    let found = run(&ImageIdentity, &space, &d);
    assert_eq!(
        summary(&found),
        vec![
            ("peb_masquerade".into(), Severity::High, 0x10000),
            ("process_hollowing".into(), Severity::High, 0x10000),
        ]
    );
    assert_eq!(found[0].evidence["peb_address"], "0x7000");
    assert_eq!(found[1].evidence["type"], "private");
    // Honest: same file in every form of its path.
    let peb = PebInfo {
        image_base: 0x40000,
        image_path: Some("C:\\Windows\\notepad.exe".into()),
        ..PebInfo::default()
    };
    let d = detail(
        &space,
        process(
            301,
            "notepad.exe",
            "\\Device\\HarddiskVolume2\\Windows\\notepad.exe",
        ),
        vec![image_vad(0x40000, 1, "\\Windows\\notepad.exe")],
        Some(peb),
        vec![],
    );
    assert!(run(&ImageIdentity, &space, &d).is_empty());
}

#[test]
fn every_rule_raises_only_declared_severities_and_is_documented() {
    let docs = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/rules.md"),
    )
    .unwrap();
    let rules = memtriage_analysis::detect::rules();
    let ids: Vec<&str> = rules.iter().map(|r| r.id).collect();
    assert_eq!(
        ids,
        [
            "rwx_private",
            "injected_pe",
            "peb_unlinked_module",
            "peb_masquerade",
            "process_hollowing",
            "hidden_process",
            "odd_process_name",
            "unbacked_thread",
            "module_path_mismatch",
            "process_lineage",
            "unlinked_kernel_module",
            "yara_match"
        ]
    );
    for r in rules {
        assert!(
            docs.contains(&format!("## `{}`", r.id)),
            "{} undocumented",
            r.id
        );
        for t in r.mitre {
            assert!(docs.contains(t), "{}: {t} not in docs/rules.md", r.id);
        }
        assert!(!r.severities.is_empty());
    }
}
