//! The root cause of a capture that opened but holds little or no physical memory: a typed
//! value that callers print before anything that failed because of it.

use serde::Serialize;

/// Why a capture that opened holds no physical memory, or less than its header promises.
///
/// Set in [`crate::DumpMetadata::root_cause`] when opening; a command that then fails (no
/// kernel found, no page tables) should print this first: it is the innermost cause.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "snake_case", tag = "kind")]
pub enum RootCause {
    /// Nothing of physical memory is readable.
    #[error("the capture holds no physical memory: {reason}")]
    NoPhysicalMemory {
        /// Why.
        reason: EmptyCapture,
    },
    /// The header promises pages that the file does not hold (a truncated capture).
    #[error("{}", missing_message(*.extents, *.pages, *.file_size))]
    PagesMissing {
        /// The extents that promised the pages.
        extents: Extents,
        /// Number of promised pages the file lacks.
        pages: u64,
        /// The file's size in bytes.
        file_size: u64,
    },
}

impl RootCause {
    /// [`RootCause::NoPhysicalMemory`] for `reason`.
    pub fn empty(reason: EmptyCapture) -> Self {
        RootCause::NoPhysicalMemory { reason }
    }
}

fn missing_message(extents: Extents, pages: u64, file_size: u64) -> String {
    match extents {
        Extents::Bitmap => format!(
            "the bitmap marks {pages} pages present that the file ({file_size} bytes) does not \
             hold"
        ),
        other => {
            format!("{other} promise {pages} pages that the file ({file_size} bytes) does not hold")
        }
    }
}

/// Why a capture holds no physical memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum EmptyCapture {
    /// A triage dump (DumpType 4): header, driver list and crashing thread only.
    #[error(
        "it is a triage dump (DumpType 4), which saves only the crashing thread and the driver \
         list"
    )]
    TriageDump,
    /// A crash dump whose PhysicalMemoryBlock lists no runs.
    #[error("the crash dump's PhysicalMemoryBlock lists no runs")]
    NoRuns,
    /// An ELF core without PT_LOAD segments.
    #[error("the ELF core has no PT_LOAD segments")]
    NoLoadSegments,
    /// A LiME file without a valid range header.
    #[error("the LiME file has no readable range")]
    NoLimeRanges,
    /// The header describes memory, but the file ends before the first page.
    #[error("the file ends before its first page (only the header was saved)")]
    HeaderOnly,
    /// The capture lists no physical range for another reason.
    #[error("it lists no physical range")]
    NoRanges,
}

/// The extents a header declares (what promised the pages of a [`RootCause::PagesMissing`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(rename_all = "snake_case")]
pub enum Extents {
    /// The page bitmap of a bitmap crash dump.
    #[error("the bitmap")]
    Bitmap,
    /// The one extent of a raw image.
    #[error("the raw image")]
    RawImage,
    /// The PhysicalMemoryBlock runs of a full crash dump.
    #[error("the PhysicalMemoryBlock runs")]
    Runs,
    /// The (empty) extents of a triage dump.
    #[error("the triage dump")]
    TriageDump,
    /// The PFN ranges of an RDMP kernel/complete dump.
    #[error("the RDMP PFN ranges")]
    RdmpRanges,
    /// The PT_LOAD segments of an ELF core.
    #[error("the PT_LOAD segments")]
    LoadSegments,
    /// The range headers of a LiME file.
    #[error("the LiME ranges")]
    LimeRanges,
    /// The memory regions of a VMware checkpoint.
    #[error("the VMware memory regions")]
    VmwareRegions,
}
