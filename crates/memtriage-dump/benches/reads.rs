//! Evidence read benchmarks: random 4 KiB physical reads on raw, full and bitmap captures of
//! ~256 MiB, sequential read_phys throughput against a plain copy of the same mapped bytes,
//! and the open time of a bitmap dump describing 64 GiB.
//!
//! Run: `cargo bench -p memtriage-dump --bench reads`

#![allow(clippy::unwrap_used, missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use memtriage_dump::{open, Capture};
use std::io::Write;
use std::path::Path;
use std::time::Duration;

const PAGES: u64 = 65536; // 256 MiB of pages per capture
const MIB: usize = 1 << 20;

fn page_addresses(m: &Capture, n: usize) -> Vec<u64> {
    let pages: Vec<u64> = m
        .ranges()
        .iter()
        .flat_map(|r| (r.start..r.end()).step_by(0x1000))
        .collect();
    let mut x = 0x9E37_79B9u64;
    (0..n)
        .map(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            pages[((x >> 33) as usize) % pages.len()]
        })
        .collect()
}

fn build(dir: &Path) -> Vec<(&'static str, std::path::PathBuf)> {
    let raw = dir.join("raw.img");
    common::write_raw(&raw, PAGES);
    let full = dir.join("full.dmp");
    // Four runs with holes between them, like a real machine's memory map.
    common::write_full(
        &full,
        &[
            (1, 0x9f),
            (0x100, 0x7f00),
            (0x10000, 0x8000),
            (0x100000, PAGES - 0x9f - 0x7f00 - 0x8000),
        ],
        None,
    );
    let bitmap = dir.join("bitmap.dmp");
    // Every other group of 8 pages present over 128 Ki frames: 64 Ki present pages.
    let present: Vec<u64> = (0..2 * PAGES).filter(|p| (p >> 3) & 1 == 0).collect();
    common::write_bitmap(&bitmap, 5, 2 * PAGES, &present, b"SDMP");
    vec![("raw", raw), ("full", full), ("bitmap", bitmap)]
}

/// A bitmap dump describing 64 GiB (16 Mi frames, 2 MiB of bitmap), every other group of 8
/// frames present (1 Mi separate ranges), its 32 GiB of pages left as a sparse hole.
fn build_64g_bitmap(path: &Path) {
    let bits: u64 = 16 << 20;
    let mut f = std::fs::File::create(path).unwrap();
    f.write_all(&common::Header::new(5).bytes()).unwrap();
    let bitmap_len = bits / 8;
    let first_page = (0x2038 + bitmap_len).next_multiple_of(0x1000);
    let present = bits / 2;
    let mut sub = vec![0u8; 0x38];
    sub[..8].copy_from_slice(b"SDMPDUMP");
    sub[0x20..0x28].copy_from_slice(&first_page.to_le_bytes());
    sub[0x28..0x30].copy_from_slice(&present.to_le_bytes());
    sub[0x30..0x38].copy_from_slice(&bits.to_le_bytes());
    f.write_all(&sub).unwrap();
    // (p / 8) % 2 == 0: bytes alternate 0xFF, 0x00.
    let bitmap: Vec<u8> = (0..bitmap_len)
        .map(|i| if i % 2 == 0 { 0xFF } else { 0 })
        .collect();
    f.write_all(&bitmap).unwrap();
    f.set_len(first_page + present * 0x1000).unwrap();
}

fn benches(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let files = build(dir.path());

    let mut g = c.benchmark_group("random_4k_reads");
    g.sample_size(20)
        .measurement_time(Duration::from_secs(2))
        .warm_up_time(Duration::from_millis(500));
    for (name, path) in &files {
        let m = open(path).unwrap();
        let addrs = page_addresses(&m, 4096);
        let mut buf = vec![0u8; 0x1000];
        g.throughput(Throughput::Elements(addrs.len() as u64));
        g.bench_function(*name, |b| {
            b.iter(|| {
                for &pa in &addrs {
                    m.read_phys(pa, &mut buf).unwrap();
                }
                black_box(&buf);
            })
        });
    }
    g.finish();

    let mut g = c.benchmark_group("sequential_1m");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500));
    for (name, path) in &files {
        let m = open(path).unwrap();
        let total = m.total_bytes();
        let mut buf = vec![0u8; MIB];
        g.throughput(Throughput::Bytes(total));
        g.bench_function(format!("{name}/read_phys"), |b| {
            b.iter(|| {
                for r in m.ranges() {
                    let mut pa = r.start;
                    while pa < r.end() {
                        let n = ((r.end() - pa) as usize).min(MIB);
                        m.read_phys(pa, &mut buf[..n]).unwrap();
                        pa += n as u64;
                    }
                }
                black_box(&buf);
            })
        });
        // Baseline: memcpy of the same mapped bytes (zero-copy slices of the same capture).
        g.bench_function(format!("{name}/memcpy_of_mapping"), |b| {
            b.iter(|| {
                for r in m.ranges() {
                    let mut pa = r.start;
                    while pa < r.end() {
                        let n = ((r.end() - pa) as usize).min(MIB);
                        buf[..n].copy_from_slice(m.slice(pa, n).unwrap());
                        pa += n as u64;
                    }
                }
                black_box(&buf);
            })
        });
    }
    g.finish();

    let big = dir.path().join("bitmap-64g.dmp");
    build_64g_bitmap(&big);
    let mut g = c.benchmark_group("open");
    g.sample_size(10)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_millis(500));
    g.bench_function("bitmap_describing_64GiB", |b| {
        b.iter(|| {
            let m = open(&big).unwrap();
            assert_eq!(m.ranges().len(), 1 << 20);
            black_box(m)
        })
    });
    for (name, path) in &files {
        g.bench_function(format!("{name}_256MiB"), |b| {
            b.iter(|| black_box(open(path).unwrap()))
        });
    }
    g.finish();
}

criterion_group!(reads, benches);
criterion_main!(reads);
