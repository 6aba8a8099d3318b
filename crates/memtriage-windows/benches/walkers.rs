//! Walker and scan throughput on synthetic captures written as raw images (memory-mapped
//! through `memtriage_dump::open`, like the CLI reads them).
//!
//! Captures (build 19041, seed 1, anomalies planted, written once into a temp dir):
//! - `4g-150p`: 4 GiB, 150 processes, ~135 VADs and ~14 loaded modules per user process
//!   (about 20,000 VADs and 2,000 modules in all), with the low stub;
//! - `4g-150p-nostub`: the same without the low stub (discovery's worst case: DTB scan);
//! - `1g-500p`: 1 GiB, 500 processes, 12 VADs each (the process list walk).
//!
//! Benchmarks: kernel discovery with and without the low stub, the active process list walk
//! (500 processes), the VAD walk of every process (150 processes, ~20,000 VADs), and the pool
//! scan (`poolscan::scan_processes`) over the 4 GiB capture in the page cache, as bytes/s.
//!
//! `cargo bench -p memtriage-windows --bench walkers`

#![allow(missing_docs)] // criterion_group! generates undocumented items
#![allow(clippy::unwrap_used)] // a bench's setup may unwrap

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use memtriage_dump::PhysicalMemory;
use memtriage_fixtures::{build, testdata_isf_dir, Scenario};
use memtriage_windows::poolscan::{scan_processes, TypeCheck};
use memtriage_windows::process::walk_active_list;
use memtriage_windows::vad::vads;
use memtriage_windows::{Kernel, Overrides};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

/// Build `sc`, write it as a raw image under the bench temp dir, and open it.
fn capture(tag: &str, sc: &Scenario) -> Arc<dyn PhysicalMemory> {
    let dir = std::env::temp_dir().join(format!("memtriage-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path: PathBuf = dir.join(format!("{tag}.raw"));
    let cap = build(sc, &testdata_isf_dir()).unwrap();
    cap.write_raw(&path).unwrap();
    drop(cap);
    let mem = Arc::from(memtriage_dump::open(&path).unwrap());
    // The mapping stays valid after the file is unlinked.
    std::fs::remove_file(&path).ok();
    mem
}

fn scale_150() -> Scenario {
    Scenario {
        extra_processes: 136,
        vads_per_process: 135,
        extra_modules: 11,
        physical_mib: 4096,
        ..Scenario::new(19041, 1)
    }
}

fn benches(c: &mut Criterion) {
    let big = capture("4g-150p", &scale_150());
    let nostub = capture(
        "4g-150p-nostub",
        &Scenario {
            low_stub: false,
            ..scale_150()
        },
    );
    let many = capture(
        "1g-500p",
        &Scenario {
            extra_processes: 486,
            vads_per_process: 12,
            physical_mib: 1024,
            ..Scenario::new(19041, 1)
        },
    );

    let mut g = c.benchmark_group("kernel_discovery");
    g.sample_size(10).measurement_time(Duration::from_secs(5));
    g.bench_function("4g_low_stub", |b| {
        b.iter(|| Kernel::discover(big.clone(), &Overrides::default()).unwrap())
    });
    g.bench_function("4g_no_low_stub", |b| {
        b.iter(|| Kernel::discover(nostub.clone(), &Overrides::default()).unwrap())
    });
    g.finish();

    let k500 = Kernel::discover(many, &Overrides::default()).unwrap();
    let k150 = Kernel::discover(big.clone(), &Overrides::default()).unwrap();
    let mut g = c.benchmark_group("process_list");
    g.sample_size(20);
    let n = walk_active_list(&k500.space, &k500.layout, k500.system_eprocess)
        .processes
        .len();
    g.throughput(Throughput::Elements(n as u64));
    g.bench_function(format!("walk_{n}_processes"), |b| {
        b.iter(|| walk_active_list(&k500.space, &k500.layout, black_box(k500.system_eprocess)))
    });
    g.finish();

    let list = walk_active_list(&k150.space, &k150.layout, k150.system_eprocess);
    let total_vads: usize = list
        .processes
        .iter()
        .map(|p| vads(&k150.space, &k150.layout, p.eprocess).0.len())
        .sum();
    let mut g = c.benchmark_group("vad_walk");
    g.sample_size(20);
    g.throughput(Throughput::Elements(total_vads as u64));
    g.bench_function(
        format!("{}_processes_{total_vads}_vads", list.processes.len()),
        |b| {
            b.iter(|| {
                list.processes
                    .iter()
                    .map(|p| vads(&k150.space, &k150.layout, p.eprocess).0.len())
                    .sum::<usize>()
            })
        },
    );
    g.finish();

    let types = TypeCheck::for_kernel(&k150);
    let bytes: u64 = big.ranges().iter().map(|r| r.len).sum();
    let mut g = c.benchmark_group("poolscan");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Bytes(bytes));
    g.bench_function("scan_processes_4g", |b| {
        b.iter(|| scan_processes(&k150.space, &k150.layout, &types, None).len())
    });
    g.finish();
}

criterion_group!(walkers, benches);
criterion_main!(walkers);
