//! Scan buffers: which bytes of a capture one yara-x scan sees.
//!
//! - User memory: each VAD of a process is one buffer from its first to its last byte, read
//!   through the process's address space with unreadable pages zero-filled, as Volatility 3's
//!   `windows.vadyarascan` reads it (`layer.read(start, size, pad=True)`), so a match at
//!   offset 0 is the region's start. VADs larger than [`MAX_REGION_BYTES`] are skipped (the
//!   same 1 GiB sanity check as vadyarascan) and named in a warning; VADs with no page that
//!   could be read (reserved, or only demand-zero PTEs) are not scanned, since their buffer
//!   would be all zeros.
//! - Kernel memory: the readable ranges the kernel page tables map above the user/kernel
//!   split, merged where contiguous and cut into pieces of [`KERNEL_PIECE_BYTES`]; each piece
//!   is scanned together with the next [`KERNEL_OVERLAP_BYTES`] so that a match crossing a
//!   cut is still found (once: matches starting in the overlap belong to the next piece).

use memtriage_analysis::ProcessDetail;
use memtriage_paging::{AddressSpace, RangeState};

/// The largest VAD scanned as one buffer (1 GiB, Volatility's vadyarascan sanity check: a VAD
/// of exactly 1 GiB is scanned, a larger one is not).
pub const MAX_REGION_BYTES: u64 = 1 << 30;

/// Size of one kernel scan piece (16 MiB).
pub const KERNEL_PIECE_BYTES: u64 = 16 << 20;

/// Bytes of the following range scanned with each kernel piece (4 KiB): matches up to this
/// long that cross a piece boundary are found.
pub const KERNEL_OVERLAP_BYTES: u64 = 0x1000;

/// Whose memory a buffer is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum ScanSpace {
    /// A process's user memory (one VAD).
    User,
    /// Kernel memory (a piece of the mapped kernel ranges).
    Kernel,
}

impl ScanSpace {
    /// `user` or `kernel`.
    pub const fn name(self) -> &'static str {
        match self {
            ScanSpace::User => "user",
            ScanSpace::Kernel => "kernel",
        }
    }
}

impl std::fmt::Display for ScanSpace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// One scan buffer: `[start, end]` (inclusive), read with `extra` more bytes after `end`
/// (kernel overlap; matches must start at or before `end` to count).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Region {
    /// First byte.
    pub start: u64,
    /// Last byte (inclusive).
    pub end: u64,
    /// Bytes read after `end` as well (0 for VADs).
    pub extra: u64,
}

impl Region {
    /// Bytes of the region proper (without the overlap).
    pub fn len(&self) -> u64 {
        self.end.saturating_sub(self.start).saturating_add(1)
    }

    /// Always false: a region holds at least one byte.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// Bytes read for the scan (region plus overlap).
    pub fn read_len(&self) -> u64 {
        self.len().saturating_add(self.extra)
    }
}

/// The VAD buffers of a process, with a warning for every VAD too large to scan.
/// `page_files` says whether page files were given (then paged-out pages are readable).
pub fn process_regions(detail: &ProcessDetail, page_files: bool) -> (Vec<Region>, Vec<String>) {
    let mut regions = Vec::new();
    let mut warnings = Vec::new();
    for r in &detail.regions {
        let region = Region {
            start: r.vad.start,
            end: r.vad.end,
            extra: 0,
        };
        if r.vad.end < r.vad.start {
            continue;
        }
        let readable = r.valid_pages
            + r.transition_pages
            + r.prototype_pages
            + if page_files { r.pagefile_pages } else { 0 };
        if readable == 0 {
            continue;
        }
        if region.len() > MAX_REGION_BYTES {
            warnings.push(format!(
                "pid {}: VAD {:#x}-{:#x} is larger than 1 GiB; not scanned with YARA",
                detail.process.pid, region.start, region.end
            ));
            continue;
        }
        regions.push(region);
    }
    (regions, warnings)
}

/// The kernel buffers of `space` (the kernel address space): its readable mapped ranges above
/// the user/kernel split, merged and cut into pieces.
pub fn kernel_regions(space: &AddressSpace, page_files: bool) -> Vec<Region> {
    let start = space.mode().kernel_start();
    let mut runs: Vec<(u64, u64)> = Vec::new(); // [start, end)
    for m in space.ranges(start, u64::MAX) {
        let readable = match m.state {
            RangeState::Valid | RangeState::Transition => true,
            RangeState::PageFile => page_files,
            RangeState::DemandZero | RangeState::Prototype => false,
        };
        if !readable || m.end <= m.start {
            continue;
        }
        match runs.last_mut() {
            Some(last) if last.1 == m.start => last.1 = m.end,
            _ => runs.push((m.start, m.end)),
        }
    }
    pieces(&runs, KERNEL_PIECE_BYTES, KERNEL_OVERLAP_BYTES)
}

/// Cuts runs `[start, end)` into regions of at most `piece` bytes, each read with up to
/// `overlap` bytes of the rest of its run.
pub fn pieces(runs: &[(u64, u64)], piece: u64, overlap: u64) -> Vec<Region> {
    let mut out = Vec::new();
    for &(s, e) in runs {
        let mut at = s;
        while at < e {
            let piece_end = at.saturating_add(piece.max(1)).min(e);
            out.push(Region {
                start: at,
                end: piece_end - 1,
                extra: overlap.min(e - piece_end),
            });
            at = piece_end;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn runs_are_cut_into_pieces_with_overlap_inside_the_run() {
        let r = |start, end, extra| Region { start, end, extra };
        assert_eq!(
            pieces(&[(0x1000, 0x5000), (0x9000, 0xa000)], 0x1800, 0x100),
            [
                r(0x1000, 0x27ff, 0x100),
                r(0x2800, 0x3fff, 0x100),
                r(0x4000, 0x4fff, 0),
                r(0x9000, 0x9fff, 0),
            ]
        );
        assert_eq!(r(0x1000, 0x27ff, 0x100).len(), 0x1800);
        assert_eq!(r(0x1000, 0x27ff, 0x100).read_len(), 0x1900);
        // The top of the address space (end saturated at u64::MAX).
        let top = pieces(&[(u64::MAX - 0x1fff, u64::MAX)], 0x1000, 0x1000);
        assert_eq!(
            top,
            [
                r(u64::MAX - 0x1fff, u64::MAX - 0x1000, 0xfff),
                r(u64::MAX - 0xfff, u64::MAX - 1, 0)
            ]
        );
    }
}
