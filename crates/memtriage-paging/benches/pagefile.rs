//! Virtual reads served from a page file versus from physical memory.
//!
//! 4,096 user pages: the even ones mapped to frames in memory, the odd ones page-file PTEs of
//! a 4,096-page page file (16 MiB, in the OS cache after the first pass). Each benchmark reads
//! every page of one kind, 4 KiB at a time, through `AddressSpace::read`.
//!
//! `cargo bench -p memtriage-paging --bench pagefile`

#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use memtriage_dump::{PhysicalMemory, SparseMemory};
use memtriage_paging::{AddressSpace, PageFileSpec, PageFiles, PagingMode};
use std::sync::Arc;

const P: u64 = 1;
const W: u64 = 2;
const U: u64 = 4;
const PAGES: u64 = 4096;
const BASE: u64 = 0x7FF0_0000_0000;

fn build() -> (AddressSpace, std::path::PathBuf) {
    let mut mem = SparseMemory::new();
    let dtb = 0x1000u64;
    mem.add_page(dtb);
    let mut next = 0x10_0000u64;
    let mut table_for = |mem: &mut SparseMemory, va: u64| -> u64 {
        let mut table = dtb;
        for level in (2..=4u32).rev() {
            let epa = table + ((va >> (12 + 9 * (level - 1))) & 0x1FF) * 8;
            let e = mem.read_u64(epa).unwrap_or(0);
            table = if e & P != 0 {
                e & 0x000F_FFFF_FFFF_F000
            } else {
                let t = next;
                next += 0x1000;
                mem.add_page(t);
                mem.write_u64(epa, t | P | W | U);
                t
            };
        }
        table + ((va >> 12) & 0x1FF) * 8
    };
    for i in 0..PAGES {
        let va = BASE + i * 0x1000;
        let pte = table_for(&mut mem, va);
        let entry = if i % 2 == 0 {
            let frame = 0x1_0000_0000 + i * 0x1000;
            mem.write(frame, &[i as u8; 0x1000]);
            frame | P | W | U
        } else {
            (i << 32) | (4 << 5) // page file 0, page i
        };
        mem.write_u64(pte, entry);
    }
    let path = std::env::temp_dir().join(format!("memtriage-bench-pf-{}.sys", std::process::id()));
    let bytes: Vec<u8> = (0..PAGES).flat_map(|i| vec![i as u8; 0x1000]).collect();
    std::fs::write(&path, bytes).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let files = PageFiles::open(&[PageFileSpec {
        number: 0,
        path: path.clone(),
    }])
    .unwrap_or_else(|e| panic!("{e}"));
    let space =
        AddressSpace::with_mode(Arc::new(mem), dtb, PagingMode::Level4).with_page_files(files);
    (space, path)
}

fn read_pages(space: &AddressSpace, odd: u64) -> u64 {
    let mut buf = [0u8; 0x1000];
    let mut acc = 0u64;
    for i in (odd..PAGES).step_by(2) {
        let r = space.read(black_box(BASE + i * 0x1000), &mut buf);
        acc = acc.wrapping_add(u64::from(buf[7])) + r.holes.len() as u64;
    }
    acc
}

fn benches(c: &mut Criterion) {
    let (space, path) = build();
    assert_eq!(
        read_pages(&space, 1),
        (1..PAGES).step_by(2).map(|i| i % 256).sum::<u64>()
    );
    let mut g = c.benchmark_group("read_4k");
    g.throughput(Throughput::Bytes(PAGES / 2 * 0x1000));
    g.bench_function("from_memory_2048_pages", |b| {
        b.iter(|| read_pages(&space, 0))
    });
    g.bench_function("from_page_file_2048_pages", |b| {
        b.iter(|| read_pages(&space, 1))
    });
    g.finish();
    std::fs::remove_file(path).ok();
}

criterion_group!(pagefile, benches);
criterion_main!(pagefile);
