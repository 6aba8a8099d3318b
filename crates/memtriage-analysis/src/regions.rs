//! Region classification in the categories Windows tools use (Sysinternals VMMap).

use memtriage_paging::{AddressSpace, RangeState};
use memtriage_report::{RegionCategory, RegionState, RegionType};
use memtriage_windows::peb::PebInfo;
use memtriage_windows::thread::Thread;
use memtriage_windows::vad::Vad;

/// A VAD with its VMMap category, memory type, state and page-state counts.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClassifiedRegion {
    /// The VAD.
    pub vad: Vad,
    /// Image, Mapped File, Shareable, Heap, Stack or Private Data.
    pub category: RegionCategory,
    /// MEM_IMAGE, MEM_MAPPED or MEM_PRIVATE.
    pub mem_type: RegionType,
    /// COMMITTED or RESERVED.
    pub state: RegionState,
    /// Pages whose PTE is valid.
    pub valid_pages: u64,
    /// Pages in transition (still in RAM).
    pub transition_pages: u64,
    /// Pages in a page file.
    pub pagefile_pages: u64,
    /// Demand-zero pages (committed, never touched).
    pub demand_zero_pages: u64,
    /// Pages behind prototype PTEs (shared sections).
    pub prototype_pages: u64,
    /// Details: heap index, stack thread id, or file path.
    pub details: String,
    /// A valid user page of the region is writable and executable in the page tables.
    pub wx_pte: bool,
    /// A valid user page of the region is executable in the page tables.
    pub x_pte: bool,
}

impl ClassifiedRegion {
    /// Pages with any non-empty PTE (committed in the page tables).
    pub fn pte_pages(&self) -> u64 {
        self.valid_pages
            + self.transition_pages
            + self.pagefile_pages
            + self.demand_zero_pages
            + self.prototype_pages
    }
}

/// Classify every VAD of a process.
pub fn classify(
    space: &AddressSpace,
    vads: &[Vad],
    peb: Option<&PebInfo>,
    threads: &[Thread],
) -> Vec<ClassifiedRegion> {
    let heaps: &[u64] = peb.map(|p| p.heaps.as_slice()).unwrap_or(&[]);
    // One enumeration of the process's user page tables, split by VAD below (instead of one
    // walk per VAD). Ranges are sorted and disjoint.
    let mapped = space.ranges(0, space.mode().user_end());
    vads.iter()
        .map(|v| {
            let (mem_type, mut category) = if v.is_image() {
                (RegionType::Image, RegionCategory::Image)
            } else if !v.private {
                if v.file.is_some() {
                    (RegionType::Mapped, RegionCategory::MappedFile)
                } else {
                    (RegionType::Mapped, RegionCategory::Shareable)
                }
            } else {
                (RegionType::Private, RegionCategory::PrivateData)
            };
            let mut details = v.file.clone().unwrap_or_default();
            if v.private {
                if let Some(i) = heaps.iter().position(|h| *h >= v.start && *h <= v.end) {
                    category = RegionCategory::Heap;
                    details = format!("Heap ID: {i}");
                } else if let Some(t) = threads.iter().find(|t| {
                    t.stack_base.is_some_and(|b| b > v.start && b - 1 <= v.end)
                        || t.stack32
                            .is_some_and(|(b, _)| b > v.start && b - 1 <= v.end)
                }) {
                    category = RegionCategory::Stack;
                    details = format!("Thread ID: {}", t.tid);
                }
            }
            let mut r = ClassifiedRegion {
                vad: v.clone(),
                category,
                mem_type,
                state: RegionState::Reserved,
                valid_pages: 0,
                transition_pages: 0,
                pagefile_pages: 0,
                demand_zero_pages: 0,
                prototype_pages: 0,
                details,
                wx_pte: false,
                x_pte: false,
            };
            let end = v.end.saturating_add(1);
            let first = mapped.partition_point(|m| m.end <= v.start);
            for m in mapped[first..].iter().take_while(|m| m.start < end) {
                let (lo, hi) = (m.start.max(v.start), m.end.min(end));
                let pages = (hi - lo) / 0x1000;
                if m.state == RangeState::Valid && m.user && !m.nx {
                    r.x_pte = true;
                    r.wx_pte |= m.writable;
                }
                match m.state {
                    RangeState::Valid => r.valid_pages += pages,
                    RangeState::Transition => r.transition_pages += pages,
                    RangeState::PageFile => r.pagefile_pages += pages,
                    RangeState::DemandZero => r.demand_zero_pages += pages,
                    RangeState::Prototype => r.prototype_pages += pages,
                }
            }
            let committed = if v.private { v.commit_charge > 0 } else { true };
            r.state = if committed {
                RegionState::Committed
            } else {
                RegionState::Reserved
            };
            r
        })
        .collect()
}

/// A gap row for VMMap: free space, or the unusable tail up to the next 64 KiB boundary.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Gap {
    /// First byte.
    pub start: u64,
    /// Last byte (inclusive).
    pub end: u64,
    /// Free or Unusable.
    pub category: RegionCategory,
}

/// Free and Unusable gaps between regions, within the user address range.
pub fn gaps(regions: &[ClassifiedRegion], user_end: u64) -> Vec<Gap> {
    const GRANULARITY: u64 = 0x10000;
    let mut out = Vec::new();
    let mut cursor = 0x10000u64;
    for (i, r) in regions.iter().enumerate() {
        if r.vad.start > cursor {
            out.push(Gap {
                start: cursor,
                end: r.vad.start - 1,
                category: RegionCategory::Free,
            });
        }
        let next = r.vad.end.saturating_add(1);
        let aligned = next.div_ceil(GRANULARITY).saturating_mul(GRANULARITY);
        // Regions are sorted by start: only later ones can start at or after `next`.
        let following = regions[i + 1..]
            .iter()
            .find(|o| o.vad.start >= next)
            .map_or(u64::MAX, |o| o.vad.start);
        if aligned > next && following >= aligned {
            out.push(Gap {
                start: next,
                end: aligned - 1,
                category: RegionCategory::Unusable,
            });
            cursor = aligned;
        } else {
            cursor = cursor.max(next);
        }
    }
    if user_end > cursor {
        out.push(Gap {
            start: cursor,
            end: user_end - 1,
            category: RegionCategory::Free,
        });
    }
    out
}
