//! Shared helpers for memtriage's fuzz targets: a copy-on-write overlay over a fixture's
//! physical memory, and a tiny page-table builder that maps fuzz input at a kernel address.
#![forbid(unsafe_code)]

use memtriage_dump::{DumpMetadata, PhysError, PhysRange, PhysicalMemory, SparseMemory, PAGE_SIZE};
use std::collections::BTreeMap;
use std::sync::Arc;

const PAGE: usize = PAGE_SIZE as usize;

/// Physical memory = a shared base plus a few patched pages (cheap per fuzz execution).
pub struct Overlay {
    base: Arc<SparseMemory>,
    patched: BTreeMap<u64, Box<[u8; PAGE]>>,
}

impl Overlay {
    /// An overlay with no patches.
    pub fn new(base: Arc<SparseMemory>) -> Self {
        Overlay {
            base,
            patched: BTreeMap::new(),
        }
    }

    /// XOR `data` into the present page `pfn` at `offset` (wrapping inside the page).
    /// Pages absent from the base are left absent.
    pub fn xor(&mut self, pfn: u64, offset: usize, data: &[u8]) {
        let Some(orig) = self.base.page(pfn) else {
            return;
        };
        let page = self.patched.entry(pfn).or_insert_with(|| Box::new(*orig));
        for (i, b) in data.iter().enumerate() {
            page[(offset + i) % PAGE] ^= b;
        }
    }
}

impl PhysicalMemory for Overlay {
    fn read_phys(&self, pa: u64, buf: &mut [u8]) -> Result<(), PhysError> {
        let mut off = 0usize;
        while off < buf.len() {
            let cur = pa
                .checked_add(off as u64)
                .ok_or(PhysError::NotInDump { pa: u64::MAX })?;
            let pfn = cur / PAGE_SIZE;
            let in_page = (cur % PAGE_SIZE) as usize;
            let n = (PAGE - in_page).min(buf.len() - off);
            let page: &[u8; PAGE] = match self.patched.get(&pfn) {
                Some(p) => p,
                None => self
                    .base
                    .page(pfn)
                    .ok_or(PhysError::NotInDump { pa: cur })?,
            };
            buf[off..off + n].copy_from_slice(&page[in_page..in_page + n]);
            off += n;
        }
        Ok(())
    }

    fn ranges(&self) -> &[PhysRange] {
        self.base.ranges()
    }

    fn slice(&self, pa: u64, len: usize) -> Option<&[u8]> {
        let first = pa / PAGE_SIZE;
        let last = pa.checked_add(len as u64)?.div_ceil(PAGE_SIZE);
        if self.patched.range(first..last).next().is_some() {
            return None;
        }
        self.base.slice(pa, len)
    }

    fn metadata(&self) -> &DumpMetadata {
        self.base.metadata()
    }
}

/// Kernel virtual address where [`map_at_kernel_va`] maps its data.
pub const MAP_VA: u64 = 0xFFFF_F800_0040_0000;
/// Physical address of the PML4 built by [`map_at_kernel_va`].
pub const MAP_DTB: u64 = 0x1000;

/// Physical memory with 4-level page tables (PML4 at [`MAP_DTB`]) mapping `data` (at most
/// 512 pages) read-only at [`MAP_VA`].
pub fn map_at_kernel_va(data: &[u8]) -> SparseMemory {
    let mut mem = SparseMemory::new();
    let (pml4, pdpt, pd, pt) = (MAP_DTB, 0x2000u64, 0x3000u64, 0x4000u64);
    let idx = |shift: u32| (MAP_VA >> shift) & 0x1FF;
    mem.write_u64(pml4 + idx(39) * 8, pdpt | 0x3);
    mem.write_u64(pdpt + idx(30) * 8, pd | 0x3);
    mem.write_u64(pd + idx(21) * 8, pt | 0x3);
    let pages = data.len().div_ceil(PAGE).clamp(1, 512);
    for i in 0..pages {
        let frame = 0x10_0000 + (i as u64) * PAGE_SIZE;
        mem.write_u64(pt + (idx(12) + i as u64) * 8, frame | 0x1);
        let chunk = data
            .get(i * PAGE..((i + 1) * PAGE).min(data.len()))
            .unwrap_or(&[]);
        mem.add_page(frame);
        mem.write(frame, chunk);
    }
    mem
}

/// Fuzz input as a capture's bytes, behind the [`memtriage_dump::ByteSource`] trait (no file,
/// no memory map).
#[derive(Debug)]
pub struct InMemory(pub Vec<u8>);

impl memtriage_dump::ByteSource for InMemory {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }

    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        let src = usize::try_from(offset)
            .ok()
            .and_then(|o| self.0.get(o..o.checked_add(buf.len())?))
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::UnexpectedEof))?;
        buf.copy_from_slice(src);
        Ok(())
    }

    fn name(&self) -> String {
        "fuzz-input".into()
    }
}

/// Read the start, the end and a boundary-crossing stretch of every range (at most 8).
pub fn exercise(mem: &dyn PhysicalMemory) {
    let ranges = mem.ranges().to_vec();
    let _ = mem.metadata();
    let _ = mem.total_bytes();
    let mut page = [0u8; PAGE];
    for r in ranges.iter().take(8) {
        let _ = mem.read_phys(r.start, &mut page);
        let _ = mem.read_phys(r.end().saturating_sub(100), &mut page);
        let _ = mem.slice(r.start, PAGE);
        let _ = mem.contains(r.start);
    }
    let _ = mem.read_phys(u64::MAX - 10, &mut page);
}
