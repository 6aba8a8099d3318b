//! The words Windows tools use for memory regions, as types: category (Sysinternals VMMap)
//! and state. Each serializes to the exact string reports have always carried.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::row::CellValue;
use crate::table::{Cell, ColumnKind};

/// What a region holds, in the categories of Sysinternals VMMap.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum RegionCategory {
    /// An image mapping (EXE, DLL).
    Image,
    /// A mapped data file.
    #[serde(rename = "Mapped File")]
    MappedFile,
    /// Shared memory with no file (pagefile-backed section).
    Shareable,
    /// A process heap (PEB.ProcessHeaps).
    Heap,
    /// A CLR (managed) heap.
    #[serde(rename = "Managed Heap")]
    ManagedHeap,
    /// A thread's stack.
    Stack,
    /// Other private memory.
    #[serde(rename = "Private Data")]
    PrivateData,
    /// Address space no VAD covers.
    Free,
    /// A gap too small to allocate (below the 64 KiB allocation granularity).
    Unusable,
}

impl RegionCategory {
    /// The name Windows tools show ("Mapped File", "Private Data", …).
    pub const fn name(self) -> &'static str {
        match self {
            RegionCategory::Image => "Image",
            RegionCategory::MappedFile => "Mapped File",
            RegionCategory::Shareable => "Shareable",
            RegionCategory::Heap => "Heap",
            RegionCategory::ManagedHeap => "Managed Heap",
            RegionCategory::Stack => "Stack",
            RegionCategory::PrivateData => "Private Data",
            RegionCategory::Free => "Free",
            RegionCategory::Unusable => "Unusable",
        }
    }
}

/// Whether a region's pages are committed, only reserved, or not allocated at all.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum RegionState {
    /// Committed (charged, readable once touched).
    Committed,
    /// Reserved address space without committed pages.
    Reserved,
    /// Not allocated.
    Free,
}

impl RegionState {
    /// The name Windows tools show (`COMMITTED`, `RESERVED`, `FREE`).
    pub const fn name(self) -> &'static str {
        match self {
            RegionState::Committed => "COMMITTED",
            RegionState::Reserved => "RESERVED",
            RegionState::Free => "FREE",
        }
    }
}

/// A way of finding processes; a report says for each process which of them saw it (the
/// cross-view of psxview). `docs/report.md` says what each view reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProcessView {
    /// `_EPROCESS.ActiveProcessLinks`, walked from PsActiveProcessHead.
    ActiveList,
    /// The scan of all physical memory for `Proc` pool blocks (skipped by `report --fast`).
    Pool,
    /// PspCidTable, the kernel's table of process and thread ids.
    CidTable,
    /// The process handles held by `csrss.exe`.
    CsrssHandles,
    /// The owners (`_KTHREAD.Process`) of the threads PspCidTable lists.
    Threads,
}

impl ProcessView {
    /// Every view, in report order.
    pub const ALL: [ProcessView; 5] = [
        ProcessView::ActiveList,
        ProcessView::Pool,
        ProcessView::CidTable,
        ProcessView::CsrssHandles,
        ProcessView::Threads,
    ];

    /// The name reports carry (`active_list`, `pool`, `cid_table`, `csrss_handles`, `threads`).
    pub const fn name(self) -> &'static str {
        match self {
            ProcessView::ActiveList => "active_list",
            ProcessView::Pool => "pool",
            ProcessView::CidTable => "cid_table",
            ProcessView::CsrssHandles => "csrss_handles",
            ProcessView::Threads => "threads",
        }
    }
}

macro_rules! display_and_cell {
    ($($t:ty),*) => {$(
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.name())
            }
        }
        impl CellValue for $t {
            const KIND: ColumnKind = ColumnKind::Text;
            fn into_cell(self) -> Cell {
                Cell::Text(self.name().to_owned())
            }
        }
    )*};
}
display_and_cell!(RegionCategory, RegionState, ProcessView);

#[cfg(test)]
mod tests {
    use super::*;

    fn json<T: Serialize>(v: &T) -> String {
        serde_json::to_string(v).unwrap_or_default()
    }

    #[test]
    fn vocabulary_serializes_to_the_strings_reports_carry() {
        assert_eq!(json(&RegionCategory::MappedFile), "\"Mapped File\"");
        assert_eq!(json(&RegionCategory::PrivateData), "\"Private Data\"");
        assert_eq!(json(&RegionCategory::ManagedHeap), "\"Managed Heap\"");
        assert_eq!(json(&RegionCategory::Image), "\"Image\"");
        assert_eq!(json(&RegionState::Committed), "\"COMMITTED\"");
        assert_eq!(json(&RegionState::Reserved), "\"RESERVED\"");
        for c in [RegionCategory::MappedFile, RegionCategory::Unusable] {
            assert_eq!(json(&c), format!("\"{}\"", c.name()));
        }
        let back: RegionState = serde_json::from_str("\"FREE\"").unwrap_or(RegionState::Committed);
        assert_eq!(back, RegionState::Free);
        for v in ProcessView::ALL {
            assert_eq!(json(&v), format!("\"{}\"", v.name()));
        }
        assert_eq!(json(&ProcessView::CsrssHandles), "\"csrss_handles\"");
    }
}
