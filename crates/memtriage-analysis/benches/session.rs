//! `Session::details()`: VADs, classified regions, PEB/loader lists and threads of every
//! process on the active list, in parallel, on a 4 GiB raw capture with 150 processes,
//! ~20,000 VADs and ~2,000 loaded modules (build 19041, seed 1, anomalies planted).
//!
//! Each iteration gets a fresh session whose kernel and process list are already computed
//! (outside the timing), so only `details()` is measured.
//!
//! `cargo bench -p memtriage-analysis --bench session`

#![allow(missing_docs)] // criterion_group! generates undocumented items
#![allow(clippy::unwrap_used)] // a bench's setup may unwrap

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use memtriage_analysis::{Session, SessionOptions};
use memtriage_dump::PhysicalMemory;
use memtriage_fixtures::{build, testdata_isf_dir, Scenario};
use std::sync::Arc;

fn benches(c: &mut Criterion) {
    let sc = Scenario {
        extra_processes: 136,
        vads_per_process: 135,
        extra_modules: 11,
        physical_mib: 4096,
        ..Scenario::new(19041, 1)
    };
    let dir = std::env::temp_dir().join(format!("memtriage-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("4g-150p.raw");
    let cap = build(&sc, &testdata_isf_dir()).unwrap();
    cap.write_raw(&path).unwrap();
    drop(cap);
    let mem: Arc<dyn PhysicalMemory> = Arc::from(memtriage_dump::open(&path).unwrap());
    std::fs::remove_file(&path).ok();

    let fresh = || {
        let s = Session::from_memory(&path, mem.clone(), SessionOptions::default());
        s.processes().unwrap();
        s
    };
    let s = fresh();
    let d = s.details().unwrap();
    let vads: usize = d.iter().map(|d| d.vads.len()).sum();
    let modules: usize = d
        .iter()
        .map(|d| d.peb.as_ref().map_or(0, |p| p.modules.len()))
        .sum();
    eprintln!(
        "details(): {} processes, {vads} VADs, {modules} loaded modules",
        d.len()
    );

    let mut g = c.benchmark_group("session");
    g.sample_size(20);
    g.throughput(Throughput::Elements(vads as u64));
    g.bench_function(
        format!("details_{}p_{vads}_vads_{modules}_modules", d.len()),
        |b| {
            b.iter_batched(
                fresh,
                |s| s.details().unwrap().len(),
                BatchSize::PerIteration,
            )
        },
    );
    g.finish();
}

criterion_group!(session, benches);
criterion_main!(session);
