//! Windows hibernation files (`hiberfil.sys`, Windows 8 to 11, x64) read as physical memory.
//!
//! The header ([`header`]) names two restore sets (boot loader pages and kernel pages); each
//! is a chain of page sets ([`sets`]) of up to 16 pages, Xpress LZ77 or Xpress Huffman
//! compressed (or stored). Opening walks the chains and builds a sorted index of page runs;
//! reads find the run by binary search and decompress the whole page set into a bounded LRU
//! cache ([`cache`]). Nothing is allocated from an unchecked header field: sets are walked
//! only as far as the file reaches and decompress into at most 64 KiB each.
//!
//! Compressed bytes are read with positioned reads (`pread`), not through the mapping, so
//! resident memory stays at the index plus the cache. A page set that fails to decompress makes its pages read as missing
//! ([`PhysError::NotInDump`]); the rest of the file stays readable.

mod cache;
pub(crate) mod header;
mod sets;

pub use header::{layout_offsets, HiberHeader, HiberLayout, HiberSignature};

use crate::source::Evidence;
use crate::{
    Capture, DumpFormat, DumpMetadata, OpenError, PhysError, PhysRange, PhysicalMemory, PAGE_SIZE,
};
use cache::SetCache;
use header::HeaderFault;
use sets::{PageRun, PageSet, SetCodec};
use std::sync::Arc;

/// What `info` shows about a hibernation file: its header and its page sets.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct HibernationInfo {
    /// The `PO_MEMORY_IMAGE` header fields.
    pub header: HiberHeader,
    /// Counts of the page sets found.
    pub sets: HiberSets,
}

/// What the page sets of a hibernation file hold, for `info`.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct HiberSets {
    /// Page sets in the boot (loader) restore set.
    pub boot_sets: u64,
    /// Page sets in the kernel restore set.
    pub kernel_sets: u64,
    /// Page sets compressed with Xpress LZ77.
    pub lz77_sets: u64,
    /// Page sets compressed with Xpress Huffman.
    pub huffman_sets: u64,
    /// Page sets stored uncompressed.
    pub stored_sets: u64,
    /// Distinct physical pages the file holds.
    pub pages: u64,
    /// Compressed bytes of all page sets.
    pub compressed_bytes: u64,
}

/// Whether `data` (the first bytes of a file of `file_len` bytes) starts like a hibernation
/// file: a known signature, or a zeroed signature in front of an otherwise intact header (a
/// file wiped after resume).
pub(crate) fn sniff(data: &[u8], file_len: u64) -> Option<HiberSignature> {
    let sig = HiberSignature::of(data.get(..4)?)?;
    if sig == HiberSignature::Zeroed {
        // Only when the rest of the header is recognisable: a raw image may start with zeros.
        let h = header::parse(data, sig).ok()?;
        let plausible = h.page_size == PAGE_SIZE as u32
            && h.first_boot_restore_page > 0
            && h.first_boot_restore_page.saturating_mul(PAGE_SIZE) < file_len;
        return plausible.then_some(sig);
    }
    Some(sig)
}

/// Open a hibernation file whose signature is `sig` (see [`sniff`]).
pub(crate) fn open(map: Evidence, sig: HiberSignature) -> Result<Capture, OpenError> {
    if matches!(sig, HiberSignature::Wake | HiberSignature::Zeroed) {
        return Err(map.unsupported(format!(
            "hibernation file already resumed (signature {}): Windows invalidates the image \
             when it resumes, so it holds no memory to read",
            sig.name()
        )));
    }
    let head = map.read_upto(0, header::HEADER_PAGE as u64);
    let header = header::parse(&head, sig).map_err(|fault| match fault {
        HeaderFault::Truncated(len) => map.malformed(format!(
            "hibernation header truncated: the file is {len} bytes, the header page needs {}",
            header::HEADER_PAGE
        )),
        HeaderFault::UnknownLayout(n) => map.unsupported(format!(
            "hibernation file with header size (LengthSelf) {n:#x}: not a Windows 8-11 x64 \
             layout (Windows 7 and 32-bit hibernation files are not read)"
        )),
    })?;
    if u64::from(header.page_size) != PAGE_SIZE {
        return Err(map.unsupported(format!(
            "hibernation file with page size {} (only 4096-byte x64 pages are read)",
            header.page_size
        )));
    }
    let mut warnings = Vec::new();
    if sig == HiberSignature::Rstr {
        warnings.push(
            "hibernation signature is RSTR: a resume had started from this file; pages may be \
             partly overwritten"
                .to_string(),
        );
    }
    let mut page_sets = Vec::new();
    let mut runs = Vec::new();
    let mut stats = HiberSets::default();
    let restore_sets = [
        (
            "boot",
            header.first_boot_restore_page,
            header.num_pages_for_loader,
        ),
        (
            "kernel",
            header.first_kernel_restore_page,
            header.kernel_pages_processed,
        ),
    ];
    for (name, first_page, promised) in restore_sets {
        let before = page_sets.len();
        let start = first_page.saturating_mul(PAGE_SIZE);
        let read_at = |off: u64, buf: &mut [u8]| map.read_at(off, buf);
        if let Some(s) = sets::walk(
            read_at,
            map.len(),
            start,
            promised,
            &mut page_sets,
            &mut runs,
        ) {
            warnings.push(format!(
                "{name} restore set (file page {first_page:#x}) promises {} pages but only {} \
                 were found: {}",
                s.promised, s.found, s.reason
            ));
        }
        let n = (page_sets.len() - before) as u64;
        match name {
            "boot" => stats.boot_sets = n,
            _ => stats.kernel_sets = n,
        }
    }
    let duplicates = sets::sort_runs(&mut runs);
    if duplicates > 0 {
        warnings.push(format!(
            "{duplicates} pages are listed more than once; one listing of each is read"
        ));
    }
    if let Some(last) = runs.last() {
        if last.end() > header.highest_physical_page.saturating_add(1) {
            warnings.push(format!(
                "page frame {:#x} lies above HighestPhysicalPage {:#x}",
                last.end() - 1,
                header.highest_physical_page
            ));
        }
    }
    for s in &page_sets {
        match s.codec {
            SetCodec::Stored => stats.stored_sets += 1,
            SetCodec::Xpress(memtriage_xpress::Codec::Plain) => stats.lz77_sets += 1,
            SetCodec::Xpress(memtriage_xpress::Codec::Huffman) => stats.huffman_sets += 1,
        }
        stats.compressed_bytes += u64::from(s.data_len);
    }
    stats.pages = runs.iter().map(|r| u64::from(r.pages)).sum();
    let ranges = merge_ranges(&runs);
    let mut meta = DumpMetadata::new(DumpFormat::Hibernation, map.len());
    meta.warnings = warnings;
    meta.hibernation = Some(HibernationInfo {
        header,
        sets: stats,
    });
    Ok(Box::new(Hibernation {
        map,
        sets: page_sets,
        runs,
        ranges,
        cache: SetCache::new(cache::CAPACITY),
        meta,
    }))
}

fn merge_ranges(runs: &[PageRun]) -> Vec<PhysRange> {
    let mut ranges: Vec<PhysRange> = Vec::new();
    for r in runs {
        let start = r.pfn * PAGE_SIZE;
        let len = u64::from(r.pages) * PAGE_SIZE;
        match ranges.last_mut() {
            Some(last) if last.end() == start => last.len += len,
            _ => ranges.push(PhysRange { start, len }),
        }
    }
    ranges
}

/// An opened hibernation file.
#[derive(Debug)]
struct Hibernation {
    map: Evidence,
    sets: Vec<PageSet>,
    /// Sorted by page frame number, non-overlapping.
    runs: Vec<PageRun>,
    ranges: Vec<PhysRange>,
    cache: SetCache,
    meta: DumpMetadata,
}

/// A page set that could not be read (its bytes are corrupt).
struct Corrupt;

impl Hibernation {
    /// The run holding page frame `pfn`, and the page's index within its set.
    fn locate(&self, pfn: u64) -> Option<(u32, u32)> {
        let i = self.runs.partition_point(|r| r.end() <= pfn);
        let r = self.runs.get(i).filter(|r| r.pfn <= pfn)?;
        Some((r.set, r.first_page + (pfn - r.pfn) as u32))
    }

    /// The decompressed pages of set `index`. The compressed bytes are read with a
    /// positioned read, not through the mapping, so they never count toward resident memory.
    fn load(&self, index: u32) -> Result<Arc<[u8]>, Corrupt> {
        let set = self.sets.get(index as usize).ok_or(Corrupt)?;
        let size = set.pages as usize * PAGE_SIZE as usize;
        let mut out = vec![0u8; size];
        match set.codec {
            SetCodec::Stored => {
                if !self.map.read_at(set.data_offset, &mut out) {
                    return Err(Corrupt);
                }
            }
            SetCodec::Xpress(codec) => {
                // data_len < 4 MiB (22 bits) and lies inside the file (checked at open).
                let mut input = vec![0u8; set.data_len as usize];
                if !self.map.read_at(set.data_offset, &mut input) {
                    return Err(Corrupt);
                }
                codec.decompress(&input, &mut out).map_err(|_| Corrupt)?;
            }
        }
        Ok(out.into())
    }

    /// Copy bytes of the page holding `pa` into `buf` (which must not cross the page).
    fn read_in_page(&self, pa: u64, buf: &mut [u8]) -> Result<(), PhysError> {
        let missing = PhysError::NotInDump { pa };
        let (set, page) = self.locate(pa / PAGE_SIZE).ok_or(missing)?;
        let in_page = (pa % PAGE_SIZE) as usize;
        let from = page as usize * PAGE_SIZE as usize + in_page;
        if let Some(s) = self
            .sets
            .get(set as usize)
            .filter(|s| s.codec == SetCodec::Stored)
        {
            // Stored pages are read straight from the file, bypassing the cache.
            return match self.map.read_at(s.data_offset + from as u64, buf) {
                true => Ok(()),
                false => Err(missing),
            };
        }
        let pages = self
            .cache
            .get_or_load(set, || self.load(set))
            .map_err(|_| missing)?;
        buf.copy_from_slice(pages.get(from..from + buf.len()).ok_or(missing)?);
        Ok(())
    }
}

impl PhysicalMemory for Hibernation {
    fn read_phys(&self, pa: u64, buf: &mut [u8]) -> Result<(), PhysError> {
        let mut off = 0usize;
        while off < buf.len() {
            let cur = pa
                .checked_add(off as u64)
                .ok_or(PhysError::NotInDump { pa: u64::MAX })?;
            let n = (PAGE_SIZE - cur % PAGE_SIZE).min((buf.len() - off) as u64) as usize;
            self.read_in_page(cur, &mut buf[off..off + n])?;
            off += n;
        }
        Ok(())
    }

    fn ranges(&self) -> &[PhysRange] {
        &self.ranges
    }

    fn slice(&self, _pa: u64, _len: usize) -> Option<&[u8]> {
        // Pages live compressed in the file or decompressed in the cache: never contiguous
        // in the mapping. Readers fall back to `read_phys`.
        None
    }

    fn metadata(&self) -> &DumpMetadata {
        &self.meta
    }
}
