//! An in-memory, sparse physical memory: for tests and the fixture builder.

use crate::{DumpFormat, DumpMetadata, PhysError, PhysRange, PhysicalMemory, PAGE_SIZE};
use std::collections::BTreeMap;

/// Physical memory held in process memory as a sparse set of 4 KiB pages.
///
/// Pages that were never written are not present: reads there fail with
/// [`PhysError::NotInDump`], exactly like a hole in a capture.
#[derive(Debug, Clone)]
pub struct SparseMemory {
    pages: BTreeMap<u64, Box<[u8; PAGE_SIZE as usize]>>,
    ranges: Vec<PhysRange>,
    metadata: DumpMetadata,
}

impl Default for SparseMemory {
    fn default() -> Self {
        Self::new()
    }
}

impl SparseMemory {
    /// An empty physical memory.
    pub fn new() -> Self {
        SparseMemory {
            pages: BTreeMap::new(),
            ranges: Vec::new(),
            metadata: DumpMetadata::new(DumpFormat::Raw, 0),
        }
    }

    /// Make the page holding `pa` present (zero-filled if new).
    pub fn add_page(&mut self, pa: u64) {
        let pfn = pa / PAGE_SIZE;
        if let std::collections::btree_map::Entry::Vacant(e) = self.pages.entry(pfn) {
            e.insert(Box::new([0u8; PAGE_SIZE as usize]));
            self.rebuild_ranges();
        }
    }

    /// Write `data` at `pa`, making every touched page present.
    pub fn write(&mut self, pa: u64, data: &[u8]) {
        let mut off = 0usize;
        let mut added = false;
        while off < data.len() {
            let cur = pa + off as u64;
            let pfn = cur / PAGE_SIZE;
            let in_page = (cur % PAGE_SIZE) as usize;
            let n = (PAGE_SIZE as usize - in_page).min(data.len() - off);
            let page = self.pages.entry(pfn).or_insert_with(|| {
                added = true;
                Box::new([0u8; PAGE_SIZE as usize])
            });
            page[in_page..in_page + n].copy_from_slice(&data[off..off + n]);
            off += n;
        }
        if added {
            self.rebuild_ranges();
        }
    }

    /// Write a little-endian `u64` at `pa`.
    pub fn write_u64(&mut self, pa: u64, value: u64) {
        self.write(pa, &value.to_le_bytes());
    }

    /// The present page frame numbers, in order.
    pub fn page_frames(&self) -> impl Iterator<Item = u64> + '_ {
        self.pages.keys().copied()
    }

    /// The bytes of a present page.
    pub fn page(&self, pfn: u64) -> Option<&[u8; PAGE_SIZE as usize]> {
        self.pages.get(&pfn).map(|b| &**b)
    }

    fn rebuild_ranges(&mut self) {
        self.ranges.clear();
        for &pfn in self.pages.keys() {
            let start = pfn * PAGE_SIZE;
            match self.ranges.last_mut() {
                Some(last) if last.end() == start => last.len += PAGE_SIZE,
                _ => self.ranges.push(PhysRange {
                    start,
                    len: PAGE_SIZE,
                }),
            }
        }
        self.metadata.file_size = self.ranges.last().map_or(0, |r| r.end());
    }
}

impl PhysicalMemory for SparseMemory {
    fn read_phys(&self, pa: u64, buf: &mut [u8]) -> Result<(), PhysError> {
        let mut off = 0usize;
        while off < buf.len() {
            let cur = pa
                .checked_add(off as u64)
                .ok_or(PhysError::NotInDump { pa: u64::MAX })?;
            let page = self
                .pages
                .get(&(cur / PAGE_SIZE))
                .ok_or(PhysError::NotInDump { pa: cur })?;
            let in_page = (cur % PAGE_SIZE) as usize;
            let n = (PAGE_SIZE as usize - in_page).min(buf.len() - off);
            buf[off..off + n].copy_from_slice(&page[in_page..in_page + n]);
            off += n;
        }
        Ok(())
    }

    fn ranges(&self) -> &[PhysRange] {
        &self.ranges
    }

    fn slice(&self, pa: u64, len: usize) -> Option<&[u8]> {
        let in_page = (pa % PAGE_SIZE) as usize;
        if in_page + len > PAGE_SIZE as usize {
            return None;
        }
        self.pages
            .get(&(pa / PAGE_SIZE))
            .map(|p| &p[in_page..in_page + len])
    }

    fn metadata(&self) -> &DumpMetadata {
        &self.metadata
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn reads_back_across_pages_and_reports_holes() {
        let mut m = SparseMemory::new();
        m.write(0x1ffe, &[1, 2, 3, 4]);
        let mut b = [0u8; 4];
        m.read_phys(0x1ffe, &mut b).unwrap();
        assert_eq!(b, [1, 2, 3, 4]);
        assert_eq!(
            m.ranges(),
            &[PhysRange {
                start: 0x1000,
                len: 0x2000
            }]
        );
        let mut b = [0u8; 2];
        assert_eq!(
            m.read_phys(0x2fff, &mut b),
            Err(PhysError::NotInDump { pa: 0x3000 })
        );
        assert!(m.contains(0x2fff));
        assert!(!m.contains(0x3000));
    }
}
