//! One pass over all of a capture's physical memory, shared by every scanner.
//!
//! [`scan_windows`] cuts the physical ranges into windows (16 MiB by default, aligned to the
//! window size) and hands each one, in parallel (rayon), to a scanner closure as a
//! [`Window`]: the window's physical address and its bytes. Several scanners share the pass by
//! doing their work in the same closure (`|w| (procs.find(w), drivers.find(w))`); the results
//! come back one per window, in physical-address order, whatever the thread count.
//!
//! Where the capture stores the window's bytes contiguously in its memory map (raw images,
//! run-based and bitmap crash dumps, ELF cores, LiME, VMware `.vmem`), the window borrows the
//! mapped bytes: no copy. The mapped range is advised sequential for the pass, each window is
//! mapped in one call before it is scanned and dropped from the process right after
//! ([`MapAdvice`]), so the resident memory of a scan is a few windows, not the capture.
//! Elsewhere (compressed hibernation files, sources that are not mapped, a window that
//! straddles two extents) the bytes are copied into a per-thread buffer; a window with
//! missing pages is handed over as its readable stretches.

use crate::{MapAdvice, PhysicalMemory, PAGE_SIZE};
use rayon::prelude::*;
use std::ops::Range;
use std::sync::atomic::{AtomicU64, Ordering};

/// Default window size: large enough that per-window costs (a few system calls, one rayon
/// task) vanish, small enough that two windows per core stay far below the memory budget.
pub const DEFAULT_WINDOW: usize = 16 * 1024 * 1024;

/// How the pass cuts physical memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScanOptions {
    /// Bytes per window (rounded up to whole pages; at least one page).
    pub window: usize,
    /// Bytes past each window's end that are handed over too (where the range continues), so
    /// that a pattern starting near the end of one window can be matched in full. A scanner
    /// reports only matches that start inside [`Window::bytes`].
    pub overlap: usize,
    /// Skip the holes of sparse capture files (they read as zeros): only the stored stretches
    /// of a window are handed over, each as its own [`Window`]. For scanners that can never
    /// match in zero bytes (the pool scan: a pool tag is never zero); a match must then also
    /// not run from stored bytes into a hole.
    pub skip_holes: bool,
}

impl Default for ScanOptions {
    fn default() -> Self {
        ScanOptions {
            window: DEFAULT_WINDOW,
            overlap: 0,
            skip_holes: false,
        }
    }
}

/// A stretch of physical memory handed to a scanner.
#[derive(Debug, Clone, Copy)]
pub struct Window<'a> {
    pa: u64,
    data: &'a [u8],
    owned: usize,
    mapped: bool,
}

impl<'a> Window<'a> {
    /// Physical address of the first byte.
    pub fn pa(&self) -> u64 {
        self.pa
    }

    /// The window's own bytes: every physical byte of the capture is in exactly one window's
    /// `bytes` (pages missing from the capture in none).
    pub fn bytes(&self) -> &'a [u8] {
        self.data.get(..self.owned).unwrap_or(self.data)
    }

    /// The window's bytes followed by up to [`ScanOptions::overlap`] bytes of the next window
    /// (fewer where the range or the readable stretch ends).
    pub fn with_overlap(&self) -> &'a [u8] {
        self.data
    }

    /// The `len` bytes at physical `pa`, when they lie in [`Window::with_overlap`].
    pub fn get(&self, pa: u64, len: usize) -> Option<&'a [u8]> {
        let start = usize::try_from(pa.checked_sub(self.pa)?).ok()?;
        self.data.get(start..start.checked_add(len)?)
    }

    /// Whether the bytes are borrowed from the capture's memory map (false: copied).
    pub fn is_mapped(&self) -> bool {
        self.mapped
    }
}

/// One window of the plan: its own bytes `[start, end)`, handed over up to `reach`, in a
/// range that ends at `range_end`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Planned {
    start: u64,
    end: u64,
    reach: u64,
    range_end: u64,
}

/// Cut the capture's ranges into windows aligned to `window` bytes.
fn plan(mem: &dyn PhysicalMemory, window: u64, overlap: u64) -> Vec<Planned> {
    let mut out = Vec::new();
    for r in mem.ranges() {
        let mut s = r.start;
        while s < r.end() {
            let next = (s / window).saturating_add(1).saturating_mul(window);
            let e = next.min(r.end());
            out.push(Planned {
                start: s,
                end: e,
                reach: e.saturating_add(overlap).min(r.end()),
                range_end: r.end(),
            });
            s = e;
        }
    }
    out
}

/// Pass every byte of physical memory to `scanner`, window by window, in parallel; the results
/// in physical-address order (one per window, or per readable stretch of a window with
/// missing pages). `progress` counts the bytes scanned so far.
pub fn scan_windows<H, F>(
    mem: &dyn PhysicalMemory,
    options: ScanOptions,
    progress: Option<&AtomicU64>,
    scanner: F,
) -> Vec<H>
where
    H: Send,
    F: Fn(&Window<'_>) -> H + Sync,
{
    let window = (options.window.max(1) as u64).next_multiple_of(PAGE_SIZE);
    let windows = plan(mem, window, options.overlap as u64);
    // Ranges of at least a window (a bitmap dump can have a million small ones: two system
    // calls each would cost more than they save).
    let whole: Vec<&[u8]> = mem
        .ranges()
        .iter()
        .filter(|r| r.len >= window)
        .filter_map(|r| mem.slice(r.start, usize::try_from(r.len).ok()?))
        .collect();
    for bytes in &whole {
        mem.advise(bytes, MapAdvice::Sequential);
    }
    let per_window: Vec<Vec<H>> = windows
        .par_iter()
        .map_init(Vec::new, |buf, w| {
            let out = scan_one(mem, w, window, options.skip_holes, buf, &scanner);
            if let Some(p) = progress {
                p.fetch_add(w.end - w.start, Ordering::Relaxed);
            }
            out
        })
        .collect();
    for bytes in &whole {
        mem.advise(bytes, MapAdvice::Normal);
    }
    per_window.into_iter().flatten().collect()
}

/// Holes shorter than this between two stored parts are scanned rather than skipped: reading
/// 64 KiB of zeros costs less than the system calls around one more part.
const MIN_SKIPPED_HOLE: usize = 64 * 1024;

/// Join stored parts separated by holes shorter than [`MIN_SKIPPED_HOLE`].
fn merge_small_gaps(parts: Vec<Range<usize>>) -> Vec<Range<usize>> {
    let mut out: Vec<Range<usize>> = Vec::with_capacity(parts.len());
    for p in parts {
        match out.last_mut() {
            Some(last) if p.start.saturating_sub(last.end) < MIN_SKIPPED_HOLE => {
                last.end = last.end.max(p.end);
            }
            _ => out.push(p),
        }
    }
    out
}

/// Scan one planned window: borrowed from the mapping when possible, else copied into `buf`.
fn scan_one<H, F>(
    mem: &dyn PhysicalMemory,
    w: &Planned,
    window: u64,
    skip_holes: bool,
    buf: &mut Vec<u8>,
    scanner: &F,
) -> Vec<H>
where
    F: Fn(&Window<'_>) -> H,
{
    let (Ok(len), Ok(owned)) = (
        usize::try_from(w.reach - w.start),
        usize::try_from(w.end - w.start),
    ) else {
        return Vec::new();
    };
    if let Some(data) = mem.slice(w.start, len) {
        // Read the next window into the page cache while this one is scanned (cold captures).
        let stored = |bytes: &[u8]| {
            if skip_holes {
                merge_small_gaps(mem.stored_parts(bytes))
            } else {
                std::iter::once(0..bytes.len()).collect()
            }
        };
        let ahead = usize::try_from(window.min(w.range_end - w.end)).unwrap_or(0);
        if let Some(next) = mem.slice(w.end, ahead).filter(|n| !n.is_empty()) {
            for part in stored(next) {
                if let Some(bytes) = next.get(part) {
                    mem.advise(bytes, MapAdvice::WillNeed);
                }
            }
        }
        let parts = stored(data);
        let mut out = Vec::with_capacity(parts.len());
        for part in parts.into_iter().filter(|p| p.start < owned) {
            let Some(bytes) = data.get(part.clone()) else {
                continue;
            };
            mem.advise(bytes, MapAdvice::Populate);
            out.push(scanner(&Window {
                pa: w.start + part.start as u64,
                data: bytes,
                owned: part.end.min(owned) - part.start,
                mapped: true,
            }));
        }
        // The whole window: a page fault maps its neighbours too (fault-around), holes
        // included.
        mem.advise(data, MapAdvice::Release);
        return out;
    }
    buf.clear();
    buf.resize(len, 0);
    if mem.read_phys(w.start, buf).is_ok() {
        return vec![scanner(&Window {
            pa: w.start,
            data: buf,
            owned,
            mapped: false,
        })];
    }
    // Pages are missing: hand over each readable stretch that starts inside the window.
    let mut out = Vec::new();
    let mut stretch: Option<u64> = None;
    let mut pa = w.start;
    loop {
        let readable = pa < w.reach && {
            let n = (PAGE_SIZE - pa % PAGE_SIZE).min(w.reach - pa) as usize;
            let off = (pa - w.start) as usize;
            buf.get_mut(off..off + n)
                .is_some_and(|dst| mem.read_phys(pa, dst).is_ok())
        };
        match (readable, stretch) {
            (true, None) => stretch = Some(pa),
            (false, Some(first)) => {
                stretch = None;
                let stop = pa.min(w.reach);
                if first < w.end {
                    let from = (first - w.start) as usize;
                    let to = (stop - w.start) as usize;
                    if let Some(data) = buf.get(from..to) {
                        out.push(scanner(&Window {
                            pa: first,
                            data,
                            owned: (w.end.min(stop) - first) as usize,
                            mapped: false,
                        }));
                    }
                }
            }
            _ => {}
        }
        if pa >= w.reach {
            break;
        }
        pa = (pa / PAGE_SIZE + 1) * PAGE_SIZE;
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::SparseMemory;

    /// Physical memory with two ranges and a missing page, bytes = low byte of the address.
    fn memory() -> SparseMemory {
        let mut m = SparseMemory::new();
        let fill = |m: &mut SparseMemory, from: u64, to: u64| {
            let bytes: Vec<u8> = (from..to).map(|pa| pa as u8).collect();
            m.write(from, &bytes);
        };
        fill(&mut m, 0x1000, 0x9000);
        fill(&mut m, 0x20000, 0x24000);
        m
    }

    #[test]
    fn windows_cover_every_byte_once_in_order() {
        let m = memory();
        let opts = ScanOptions {
            window: 0x3000,
            overlap: 0x10,
            skip_holes: false,
        };
        let got = scan_windows(&m, opts, None, |w| {
            assert!(w.with_overlap().len() >= w.bytes().len());
            for (i, b) in w.with_overlap().iter().enumerate() {
                assert_eq!(*b, (w.pa() + i as u64) as u8);
            }
            (w.pa(), w.bytes().len(), w.with_overlap().len())
        });
        // SparseMemory is not contiguous across pages: copied windows, aligned to 0x3000.
        assert_eq!(
            got,
            vec![
                (0x1000, 0x2000, 0x2010),
                (0x3000, 0x3000, 0x3010),
                (0x6000, 0x3000, 0x3000),
                (0x20000, 0x1000, 0x1010),
                (0x21000, 0x3000, 0x3000),
            ]
        );
    }

    #[test]
    fn a_match_across_a_window_boundary_is_found_once_with_overlap() {
        let mut m = SparseMemory::new();
        m.write(0x0, &[0u8; 0x4000]);
        m.write(0x1ffe, b"NEEDLE");
        m.write(0x3000, b"NEEDLE");
        let find = |overlap: usize| {
            let opts = ScanOptions {
                window: 0x1000,
                overlap,
                skip_holes: false,
            };
            let hits: Vec<Vec<u64>> = scan_windows(&m, opts, None, |w| {
                memchr::memmem::find_iter(w.with_overlap(), b"NEEDLE")
                    .filter(|&i| i < w.bytes().len())
                    .map(|i| w.pa() + i as u64)
                    .collect()
            });
            hits.concat()
        };
        assert_eq!(find(5), vec![0x1ffe, 0x3000]);
        assert_eq!(find(0), vec![0x3000]);
    }

    /// Memory whose ranges claim pages that cannot be read (a damaged compressed set).
    struct Damaged {
        inner: SparseMemory,
        claimed: Vec<crate::PhysRange>,
    }

    impl PhysicalMemory for Damaged {
        fn read_phys(&self, pa: u64, buf: &mut [u8]) -> Result<(), crate::PhysError> {
            self.inner.read_phys(pa, buf)
        }
        fn ranges(&self) -> &[crate::PhysRange] {
            &self.claimed
        }
        fn slice(&self, _pa: u64, _len: usize) -> Option<&[u8]> {
            None
        }
        fn metadata(&self) -> &crate::DumpMetadata {
            self.inner.metadata()
        }
    }

    #[test]
    fn unreadable_pages_split_a_window_into_readable_stretches() {
        let mut inner = SparseMemory::new();
        let bytes: Vec<u8> = (0x1000u64..0x9000).map(|pa| pa as u8).collect();
        inner.write(0x1000, &bytes[..0x3000]);
        inner.write(0x5000, &bytes[0x4000..]);
        let m = Damaged {
            inner,
            claimed: vec![crate::PhysRange {
                start: 0x1000,
                len: 0x8000,
            }],
        };
        let opts = ScanOptions {
            window: 0x6000,
            overlap: 0x1800,
            skip_holes: true,
        };
        let got = scan_windows(&m, opts, None, |w| {
            for (i, b) in w.with_overlap().iter().enumerate() {
                assert_eq!(*b, (w.pa() + i as u64) as u8);
            }
            (w.pa(), w.bytes().len(), w.with_overlap().len())
        });
        // Window [0x1000, 0x6000) reaches 0x7800: stretches 0x1000..0x4000 and 0x5000..0x7800;
        // window [0x6000, 0x9000): one stretch.
        assert_eq!(
            got,
            vec![
                (0x1000, 0x3000, 0x3000),
                (0x5000, 0x1000, 0x2800),
                (0x6000, 0x3000, 0x3000)
            ]
        );
    }

    #[test]
    fn holes_shorter_than_64_kib_are_scanned_through() {
        let parts = vec![
            0..0x1000,
            0x2000..0x3000,
            0x20000..0x21000,
            0x31000..0x32000,
        ];
        assert_eq!(
            merge_small_gaps(parts),
            vec![0..0x3000, 0x20000..0x21000, 0x31000..0x32000]
        );
        assert_eq!(merge_small_gaps(Vec::new()), Vec::<Range<usize>>::new());
    }

    #[test]
    fn progress_counts_every_byte_of_every_range() {
        let m = memory();
        let counter = AtomicU64::new(0);
        let _ = scan_windows(&m, ScanOptions::default(), Some(&counter), |_| ());
        assert_eq!(counter.load(Ordering::Relaxed), m.total_bytes());
    }
}
