//! The process cross-view against the fixtures' ground truth on every fixture build: the
//! views that saw each process, `report --fast` against the full report, and damaged tables
//! (a garbage TableCode, a smeared PspCidTable entry) that cost one view a warning while the
//! other views stay exact.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use memtriage_analysis::report::build_report;
use memtriage_analysis::{Session, SessionOptions};
use memtriage_dump::{PhysicalMemory, SparseMemory};
use memtriage_fixtures::{build, isf_path, testdata_isf_dir, Capture, GroundTruth, Scenario};
use memtriage_paging::AddressSpace;
use memtriage_report::{ProcessView, Report};
use memtriage_symbols::Profile;
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

/// Every build the fixtures generate.
const BUILDS: [u32; 8] = [7601, 9600, 14393, 17763, 18362, 19041, 20348, 22000];

fn hex(s: &str) -> u64 {
    u64::from_str_radix(s.trim_start_matches("0x"), 16).unwrap()
}

fn capture(windows_build: u32) -> Capture {
    let sc = Scenario {
        extra_processes: 1,
        vads_per_process: 8,
        physical_mib: 48,
        ..Scenario::new(windows_build, 21)
    };
    build(&sc, &testdata_isf_dir()).unwrap()
}

fn report(memory: &SparseMemory, fast: bool) -> Report {
    let mem: Arc<dyn PhysicalMemory> = Arc::new(memory.clone());
    let session =
        Session::from_memory(Path::new("mem.raw"), mem, SessionOptions::default()).with_fast(fast);
    build_report(&session, None).unwrap()
}

fn view_names(views: &[ProcessView]) -> Vec<String> {
    views.iter().map(|v| v.name().to_string()).collect()
}

/// Views per `_EPROCESS` address, from the report.
fn reported(r: &Report) -> BTreeMap<u64, Vec<String>> {
    r.processes
        .iter()
        .map(|p| (p.offset.0, view_names(&p.views)))
        .collect()
}

/// Views per `_EPROCESS` address, from the truth.
fn expected(t: &GroundTruth) -> BTreeMap<u64, Vec<String>> {
    t.processes
        .iter()
        .map(|p| (hex(&p.eprocess), p.views.clone()))
        .collect()
}

#[test]
fn every_build_reports_the_views_of_the_truth() {
    for build in BUILDS {
        let cap = capture(build);
        let r = report(&cap.memory, false);
        assert_eq!(reported(&r), expected(&cap.truth), "build {build}");
        assert!(!r.coverage.fast);
        assert!(
            r.coverage.views.iter().all(|v| v.available),
            "build {build}: {:?}",
            r.coverage.views
        );
        assert_eq!(
            r.coverage.views.iter().map(|v| v.view).collect::<Vec<_>>(),
            ProcessView::ALL
        );
        // The planted hidden process is seen by every view but the active list, and its
        // finding says so; no other process raises the rule.
        let hidden: Vec<_> = cap.truth.processes.iter().filter(|p| p.hidden).collect();
        assert_eq!(hidden.len(), 1);
        let findings: Vec<_> = r
            .findings
            .iter()
            .filter(|f| f.rule == "hidden_process")
            .collect();
        assert_eq!(findings.len(), 1, "build {build}");
        assert_eq!(findings[0].pid, Some(hidden[0].pid));
        let seen: Vec<String> = hidden[0]
            .views
            .iter()
            .filter(|v| *v != "active_list")
            .cloned()
            .collect();
        assert_eq!(
            findings[0].evidence["views_seen"],
            serde_json::json!(seen),
            "build {build}"
        );
        // Every view is read here: the missing ones are the others (the active list, and the
        // thread view when the fixture left the process's only thread out of PspCidTable).
        let missing: Vec<&str> = ProcessView::ALL
            .iter()
            .map(|v| v.name())
            .filter(|v| !hidden[0].views.iter().any(|s| s == v))
            .collect();
        assert_eq!(missing[0], "active_list");
        assert_eq!(
            findings[0].evidence["views_missing"],
            serde_json::json!(missing),
            "build {build}"
        );
        assert!(
            !r.warnings.iter().any(|w| w.contains("PspCidTable")
                || w.contains("csrss.exe")
                || w.contains("process view")),
            "build {build}: {:?}",
            r.warnings
        );
    }
}

/// The report without what only the pool scan contributes: processes only pool memory
/// holds (and their findings), the `pool` view, the pool coverage line.
fn without_pool(mut r: Report) -> Report {
    let pool_only: Vec<u64> = r
        .processes
        .iter()
        .filter(|p| p.views == [ProcessView::Pool])
        .map(|p| p.pid)
        .collect();
    r.processes.retain(|p| !pool_only.contains(&p.pid));
    r.findings
        .retain(|f| !f.pid.is_some_and(|pid| pool_only.contains(&pid)));
    for p in &mut r.processes {
        p.views.retain(|v| *v != ProcessView::Pool);
    }
    normalise(r)
}

/// Fields that differ by construction between a fast and a full run: the coverage block and
/// the wording of a `hidden_process` finding (which names the views that saw it).
fn normalise(mut r: Report) -> Report {
    r.coverage = Default::default();
    for f in &mut r.findings {
        if f.rule == "hidden_process" {
            f.description.clear();
            if let Some(seen) = f.evidence.get_mut("views_seen") {
                if let Some(a) = seen.as_array_mut() {
                    a.retain(|v| v != "pool");
                }
            }
        }
    }
    r
}

#[test]
fn a_fast_report_is_the_full_report_minus_pool_only_facts() {
    for build in [7601, 19041, 22000] {
        let cap = capture(build);
        let full = report(&cap.memory, false);
        let fast = report(&cap.memory, true);
        assert!(fast.coverage.fast);
        let pool = fast
            .coverage
            .views
            .iter()
            .find(|v| v.view == ProcessView::Pool)
            .unwrap();
        assert!(!pool.available);
        assert_eq!(pool.reason.as_deref(), Some("skipped by --fast"));
        // The exited process is the one pool-only fact of the fixtures.
        let exited: Vec<u64> = cap
            .truth
            .processes
            .iter()
            .filter(|p| p.exited)
            .map(|p| p.pid)
            .collect();
        assert_eq!(exited.len(), 1);
        assert!(full.processes.iter().any(|p| p.pid == exited[0]));
        assert!(!fast.processes.iter().any(|p| p.pid == exited[0]));
        // Driver objects come from the same pass over physical memory, so a fast run finds
        // unlisted driver images by their PE headers alone.
        let (fast, fast_drivers) = split_drivers(fast);
        let (full, full_drivers) = split_drivers(full);
        assert!(fast_drivers.iter().all(|(_, by)| by == "pe_header"));
        let by_header: Vec<u64> = full_drivers
            .iter()
            .filter(|(_, by)| by != "driver_object")
            .map(|(base, _)| *base)
            .collect();
        let fast_bases: Vec<u64> = fast_drivers.iter().map(|(base, _)| *base).collect();
        assert_eq!(fast_bases, by_header, "build {build}");
        assert!(full_drivers.len() > fast_drivers.len(), "build {build}");
        assert_eq!(normalise(fast), without_pool(full), "build {build}");
    }
}

/// The report without its `unlinked_kernel_module` findings, and those findings as
/// `(base, found_by)`.
fn split_drivers(mut r: Report) -> (Report, Vec<(u64, String)>) {
    let mut drivers = Vec::new();
    r.findings.retain(|f| {
        if f.rule != "unlinked_kernel_module" {
            return true;
        }
        let by = f.evidence["found_by"].as_str().unwrap_or("").to_string();
        drivers.push((f.address.map_or(0, |a| a.0), by));
        false
    });
    (r, drivers)
}

/// `(_HANDLE_TABLE of PspCidTable, the profile)` of a capture.
fn cid_table(cap: &Capture) -> (AddressSpace, u64, Profile) {
    let isf =
        Profile::from_isf_path(&isf_path(&testdata_isf_dir(), cap.truth.scenario.build).unwrap())
            .unwrap();
    let mem: Arc<dyn PhysicalMemory> = Arc::new(cap.memory.clone());
    let space = AddressSpace::new(mem, hex(&cap.truth.system.dtb));
    let var = hex(&cap.truth.system.kernel_base) + isf.symbol("PspCidTable").unwrap();
    let table = space.read_u64(var).unwrap();
    (space, table, isf)
}

#[test]
fn a_garbage_table_code_costs_two_views_and_leaves_the_others_exact() {
    let mut cap = capture(19041);
    let (space, table, isf) = cid_table(&cap);
    let tc = table + isf.offset("_HANDLE_TABLE", "TableCode").unwrap();
    let pa = space.translate(tc).unwrap().pa;
    cap.memory.write_u64(pa, 0xdead_beef_0000_0003);
    let r = report(&cap.memory, false);
    let mut want = expected(&cap.truth);
    for views in want.values_mut() {
        views.retain(|v| v != "cid_table" && v != "threads");
    }
    assert_eq!(reported(&r), want);
    let unavailable: Vec<ProcessView> = r
        .coverage
        .views
        .iter()
        .filter(|v| !v.available)
        .map(|v| v.view)
        .collect();
    assert_eq!(unavailable, [ProcessView::CidTable, ProcessView::Threads]);
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("PspCidTable: TableCode 0xdeadbeef00000003 is not a handle table")),
        "{:?}",
        r.warnings
    );
    // The hidden process is still found, by the pool and csrss.exe's handles.
    let f = r
        .findings
        .iter()
        .find(|f| f.rule == "hidden_process")
        .unwrap();
    assert_eq!(
        f.evidence["views_seen"],
        serde_json::json!(["pool", "csrss_handles"])
    );
}

#[test]
fn a_smeared_cid_entry_costs_one_process_its_cid_view_with_a_warning() {
    let mut cap = capture(14393);
    let (space, table, isf) = cid_table(&cap);
    let tc = space
        .read_u64(table + isf.offset("_HANDLE_TABLE", "TableCode").unwrap())
        .unwrap();
    assert_eq!(tc & 3, 1, "the fixture's PspCidTable has two levels");
    let victim = cap
        .truth
        .processes
        .iter()
        .find(|p| p.name == "services.exe")
        .unwrap()
        .clone();
    let index = victim.pid / 4;
    let page = space.read_u64((tc & !7) + 8 * (index / 256)).unwrap();
    let entry = page + 16 * (index % 256);
    // The entry now points into the kernel image: readable, but not a process.
    let bogus = hex(&cap.truth.system.kernel_base) + 0x1040;
    let raw = (((bogus & 0x0000_ffff_ffff_fff0) >> 4) << 20) | 1;
    let pa = space.translate(entry).unwrap().pa;
    cap.memory.write_u64(pa, raw);
    let r = report(&cap.memory, false);
    let mut want = expected(&cap.truth);
    want.get_mut(&hex(&victim.eprocess))
        .unwrap()
        .retain(|v| v != "cid_table");
    assert_eq!(reported(&r), want);
    assert!(r.coverage.views.iter().all(|v| v.available));
    let needle = format!("PspCidTable: entry {:#x} points at {bogus:#x}", victim.pid);
    assert_eq!(
        r.warnings.iter().filter(|w| w.contains(&needle)).count(),
        1,
        "{:?}",
        r.warnings
    );
}

#[test]
fn the_fixture_truth_names_the_views_in_report_vocabulary() {
    let cap = capture(9600);
    let names: Vec<&str> = ProcessView::ALL.iter().map(|v| v.name()).collect();
    for p in &cap.truth.processes {
        assert!(
            p.views.iter().all(|v| names.contains(&v.as_str())),
            "{:?}",
            p.views
        );
        // Listed in ProcessView::ALL order.
        let pos: Vec<usize> = p
            .views
            .iter()
            .map(|v| names.iter().position(|n| n == v).unwrap())
            .collect();
        assert!(pos.windows(2).all(|w| w[0] < w[1]));
    }
}
