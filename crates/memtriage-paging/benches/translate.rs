//! Translation throughput and range enumeration.
//!
//! Address space: 100,000 mapped 4 KiB user pages in runs of 1..=64 pages separated by gaps
//! with varying flags (so the ranges do not all coalesce), a handful of transition and
//! software PTEs, 64 kernel 2 MiB pages, two 1 GiB pages and the self-reference entry.
//!
//! `cargo bench -p memtriage-paging --bench translate`

#![allow(missing_docs)] // criterion_group! generates undocumented items

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use memtriage_dump::{
    DumpFormat, DumpMetadata, PhysError, PhysRange, PhysicalMemory, SparseMemory,
};
use memtriage_paging::{AddressSpace, PagingMode};
use std::sync::Arc;

const P: u64 = 1;
const W: u64 = 2;
const U: u64 = 4;
const PS: u64 = 1 << 7;
const NX: u64 = 1 << 63;

/// Contiguous physical memory from 0, like a memory-mapped raw image.
struct FlatMemory {
    bytes: Vec<u8>,
    ranges: Vec<PhysRange>,
    meta: DumpMetadata,
}

impl FlatMemory {
    fn from_sparse(m: &SparseMemory) -> Self {
        let end = m.page_frames().last().map_or(0, |f| (f + 1) * 0x1000);
        let mut bytes = vec![0u8; end as usize];
        for f in m.page_frames() {
            if let Some(p) = m.page(f) {
                let o = (f * 0x1000) as usize;
                bytes[o..o + 0x1000].copy_from_slice(p);
            }
        }
        FlatMemory {
            ranges: vec![PhysRange { start: 0, len: end }],
            meta: DumpMetadata::new(DumpFormat::Raw, end),
            bytes,
        }
    }
}

impl PhysicalMemory for FlatMemory {
    fn read_phys(&self, pa: u64, buf: &mut [u8]) -> Result<(), PhysError> {
        match self.slice(pa, buf.len()) {
            Some(s) => {
                buf.copy_from_slice(s);
                Ok(())
            }
            None => Err(PhysError::NotInDump { pa }),
        }
    }
    fn ranges(&self) -> &[PhysRange] {
        &self.ranges
    }
    fn slice(&self, pa: u64, len: usize) -> Option<&[u8]> {
        let start = usize::try_from(pa).ok()?;
        self.bytes.get(start..start.checked_add(len)?)
    }
    fn metadata(&self) -> &DumpMetadata {
        &self.meta
    }
}

struct Builder {
    mem: SparseMemory,
    dtb: u64,
    next: u64,
}

impl Builder {
    fn entry_pa(&mut self, va: u64, level: u8) -> u64 {
        let mut table = self.dtb;
        let mut l = 4u8;
        loop {
            let epa = table + ((va >> (12 + 9 * (u32::from(l) - 1))) & 0x1FF) * 8;
            if l == level {
                return epa;
            }
            let e = self.mem.read_u64(epa).unwrap_or(0);
            table = if e & P != 0 {
                e & 0x000F_FFFF_FFFF_F000
            } else {
                let t = self.next;
                self.next += 0x1000;
                self.mem.add_page(t);
                self.mem.write_u64(epa, t | P | W | U);
                t
            };
            l -= 1;
        }
    }
}

/// Returns the space (over sparse and over flat memory) and the 100,000 4 KiB page addresses.
fn build() -> (AddressSpace, AddressSpace, Vec<u64>) {
    let mut b = Builder {
        mem: SparseMemory::new(),
        dtb: 0x1000,
        next: 0x10_0000,
    };
    b.mem.add_page(b.dtb);
    b.mem.write_u64(b.dtb + 0x1ED * 8, b.dtb | P | W | NX); // self-reference
    let mut pages = Vec::with_capacity(100_000);
    let mut va = 0x7FF0_0000_0000u64;
    let mut seed = 0x2545_F491_4F6C_DD1Du64;
    let mut run = 0u64;
    while pages.len() < 100_000 {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        let len = 1 + seed % 64;
        let flags = match run % 3 {
            0 => W | U | NX,
            1 => U,
            _ => W | U,
        };
        for _ in 0..len {
            if pages.len() == 100_000 {
                break;
            }
            let pte = b.entry_pa(va, 1);
            let frame = 0x1_0000_0000 + (pages.len() as u64) * 0x1000;
            let entry = match pages.len() % 997 {
                13 => frame | (1 << 11) | W,                 // transition
                14 => (0x42u64 << 32) | (1 << 1) | (4 << 5), // page file
                15 => 4 << 5,                                // demand zero
                _ => frame | P | flags,
            };
            b.mem.write_u64(pte, entry);
            pages.push(va);
            va += 0x1000;
        }
        va += 0x1000 * (1 + (seed >> 8) % 32); // gap
        run += 1;
    }
    for i in 0..64u64 {
        let kva = 0xFFFF_F800_0000_0000 + i * 0x20_0000;
        let pde = b.entry_pa(kva, 2);
        b.mem
            .write_u64(pde, (0x4000_0000 + i * 0x20_0000) | P | PS | W);
    }
    for i in 0..2u64 {
        let kva = 0xFFFF_F900_0000_0000 + i * 0x4000_0000;
        let pdpte = b.entry_pa(kva, 3);
        b.mem.write_u64(pdpte, ((i + 8) << 30) | P | PS | W | NX);
    }
    let flat = AddressSpace::with_mode(
        Arc::new(FlatMemory::from_sparse(&b.mem)),
        b.dtb,
        PagingMode::Level4,
    );
    let space = AddressSpace::with_mode(Arc::new(b.mem), b.dtb, PagingMode::Level4);
    (space, flat, pages)
}

fn benches(c: &mut Criterion) {
    let (sparse, flat, pages) = build();
    assert_eq!(
        sparse.ranges(0, u64::MAX),
        flat.ranges(0, u64::MAX),
        "backends disagree"
    );
    for (name, space) in [("sparse", &sparse), ("flat", &flat)] {
        one_backend(c, name, space, &pages);
    }
}

fn one_backend(c: &mut Criterion, name: &str, space: &AddressSpace, pages: &[u64]) {
    let scan = space.scan_ranges(0, u64::MAX, memtriage_paging::DEFAULT_MAX_TABLES);
    eprintln!(
        "address space: {} pages, {} ranges, {} tables visited, {} loops skipped",
        pages.len(),
        scan.ranges.len(),
        scan.tables_visited,
        scan.loops_skipped
    );

    let mut g = c.benchmark_group(format!("translate_{name}"));
    g.throughput(Throughput::Elements(pages.len() as u64));
    g.bench_function("cold_100k_distinct_pages", |bch| {
        bch.iter(|| {
            let mut acc = 0u64;
            for &va in pages {
                if let Ok(t) = space.translate(black_box(va + 0x10)) {
                    acc = acc.wrapping_add(t.pa);
                }
            }
            acc
        })
    });
    let hot: Vec<u64> = pages.iter().take(16).copied().collect();
    g.throughput(Throughput::Elements(100_000));
    g.bench_function("warm_16_pages_x6250", |bch| {
        bch.iter(|| {
            let mut acc = 0u64;
            for _ in 0..6250 {
                for &va in &hot {
                    if let Ok(t) = space.translate(black_box(va)) {
                        acc = acc.wrapping_add(t.pa);
                    }
                }
            }
            acc
        })
    });
    g.finish();

    let mut g = c.benchmark_group(format!("ranges_{name}"));
    g.bench_function("full_space_100k_pages", |bch| {
        bch.iter(|| space.ranges(black_box(0), black_box(u64::MAX)).len())
    });
    g.finish();
}

criterion_group!(all, benches);
criterion_main!(all);
