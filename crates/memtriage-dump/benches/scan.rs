//! Scan throughput per core: the shared physical pass (`scan::scan_windows`) over a
//! memory-mapped raw capture, zero-copy, against the machine's memory bandwidth baseline (the
//! same `memmem` search over a buffer already in process memory) and against the copying path
//! (`read_phys` into a buffer, then the search), all on one thread.
//!
//! Besides criterion's wall-clock figures it prints bytes per CPU second of the process (user +
//! system, so the kernel's work of mapping and releasing pages counts), which is what "per
//! core" means on a machine shared with other work, and each way's ratio to the baseline.
//!
//! Run: `cargo bench -p memtriage-dump --bench scan`

#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use memtriage_dump::open;
use memtriage_dump::scan::{scan_windows, ScanOptions, DEFAULT_WINDOW};
use std::time::Duration;

/// 512 MiB of pattern pages.
const PAGES: u64 = 131_072;

/// What every scanner of the bench does with its bytes: count "Pro" (the pool scan's
/// prefilter) occurrences.
fn count(finder: &memchr::memmem::Finder<'_>, bytes: &[u8]) -> usize {
    finder.find_iter(bytes).count()
}

fn bench(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("raw.img");
    common::write_raw(&path, PAGES);
    let mem = open(&path).unwrap();
    let bytes = PAGES * 0x1000;
    let in_memory: Vec<u8> = std::fs::read(&path).unwrap();
    let finder = memchr::memmem::Finder::new(b"Pro");
    let one = rayon::ThreadPoolBuilder::new()
        .num_threads(1)
        .build()
        .unwrap();

    let zero_copy_scan = || {
        one.install(|| {
            scan_windows(mem.as_ref(), ScanOptions::default(), None, |w| {
                count(&finder, w.bytes())
            })
            .iter()
            .sum::<usize>()
        })
    };
    let mut buf = vec![0u8; DEFAULT_WINDOW];
    let mut copying_scan = || {
        let mut n = 0usize;
        let mut pa = 0u64;
        while pa < bytes {
            let len = (bytes - pa).min(DEFAULT_WINDOW as u64) as usize;
            mem.read_phys(pa, &mut buf[..len]).unwrap();
            n += count(&finder, &buf[..len]);
            pa += len as u64;
        }
        n
    };
    let baseline_scan = || {
        in_memory
            .chunks(DEFAULT_WINDOW)
            .map(|w| count(&finder, w))
            .sum::<usize>()
    };
    let base = per_cpu_second("baseline: memmem over process memory", bytes, baseline_scan);
    let zc = per_cpu_second("scan_windows, zero-copy mmap", bytes, zero_copy_scan);
    let cp = per_cpu_second("read_phys copy, then memmem", bytes, &mut copying_scan);
    println!(
        "ratio to the baseline per CPU second: zero-copy {:.2}, copying {:.2}",
        zc / base,
        cp / base
    );

    let mut g = c.benchmark_group("scan_512MiB_one_core");
    g.throughput(Throughput::Bytes(bytes));
    g.sample_size(10);
    g.warm_up_time(Duration::from_secs(1));
    g.measurement_time(Duration::from_secs(4));
    g.bench_function("baseline_memmem_over_process_memory", |b| {
        b.iter(|| {
            let n: usize = in_memory
                .chunks(DEFAULT_WINDOW)
                .map(|w| count(&finder, w))
                .sum();
            black_box(n)
        })
    });
    g.bench_function("scan_windows_zero_copy_mmap", |b| {
        b.iter(|| {
            one.install(|| {
                let n: Vec<usize> = scan_windows(mem.as_ref(), ScanOptions::default(), None, |w| {
                    count(&finder, w.bytes())
                });
                black_box(n.iter().sum::<usize>())
            })
        })
    });
    g.bench_function("copying_read_phys_then_memmem", |b| {
        let mut buf = vec![0u8; DEFAULT_WINDOW];
        b.iter(|| {
            let mut n = 0usize;
            let mut pa = 0u64;
            while pa < bytes {
                let len = (bytes - pa).min(DEFAULT_WINDOW as u64) as usize;
                mem.read_phys(pa, &mut buf[..len]).unwrap();
                n += count(&finder, &buf[..len]);
                pa += len as u64;
            }
            black_box(n)
        })
    });
    g.finish();
}

/// Run `f` five times; print and return its GiB per CPU second of this process.
fn per_cpu_second(label: &str, bytes: u64, mut f: impl FnMut() -> usize) -> f64 {
    const ROUNDS: u32 = 5;
    let t = cpu_time::ProcessTime::now();
    for _ in 0..ROUNDS {
        black_box(f());
    }
    let cpu = t.elapsed().as_secs_f64();
    let rate = f64::from(ROUNDS) * bytes as f64 / cpu / (1u64 << 30) as f64;
    println!("{label}: {rate:.2} GiB per CPU second");
    rate
}

criterion_group!(benches, bench);
criterion_main!(benches);
