//! x64 address translation for memtriage.
//!
//! An [`AddressSpace`] is physical memory (any [`PhysicalMemory`]) plus a DTB (the physical
//! address of the top-level table) and a [`PagingMode`] (4- or 5-level). It answers:
//!
//! - [`AddressSpace::translate`]: the physical address of a virtual one, with the page size,
//!   the effective permissions and whether the page is valid or in transition; for a page that
//!   cannot be read, the Windows software state of the entry the walk stopped at
//!   ([`SoftwareState`]: prototype, page file, demand zero).
//! - [`AddressSpace::walk`]: the same with every table entry the walk read (for `vtop`).
//! - [`AddressSpace::read`] and friends: virtual reads that report exactly which bytes could
//!   not be read ([`ReadReport`]), plus typed readers (integers, pointers, `LIST_ENTRY`,
//!   `_UNICODE_STRING`, NUL-terminated strings).
//! - [`AddressSpace::ranges`]: the mapped ranges of an address space, found by walking the
//!   tables and skipping empty subtrees (never by probing pages).
//!
//! Windows software PTEs (entry bit 0 clear) are interpreted as follows:
//! - `0`: unmapped;
//! - bit 10 set: prototype PTE;
//! - bit 11 set, bit 10 clear: transition — the frame (bits 12..=51) still holds the data, so
//!   reads go through. At the PT level this is a readable 4 KiB page in state
//!   [`PageState::Transition`]; above it, the entry names a *table* page that is in
//!   transition and the walk continues through it (bit 7 of a transition entry is never a
//!   large-page bit);
//! - `PageFileHigh` (bits 32..=63, unswizzled) non-zero: page file (file number in
//!   `PageFileLow`, page index in `PageFileHigh`; where those bits are and how the swizzle
//!   works is the build's [`SoftwarePteFormat`]);
//! - anything else non-zero: demand zero.
//!
//! With [`PageFiles`] given ([`AddressSpace::with_page_files`]), reads of page-file pages are
//! served from the page file (4 KiB at `index * 4096`), and a page-file entry above the PT
//! level (a paged-out page table) is followed into the page file by walks and range
//! enumeration; without them such bytes are holes whose error names the page-file page.
#![forbid(unsafe_code)]

mod pagefile;
mod space;
mod swpte;

pub use memtriage_dump::PhysicalMemory;
pub use pagefile::{
    PageFile, PageFileError, PageFileMiss, PageFileSpec, PageFiles, PagedOut, MAX_PAGE_FILE_NUMBER,
};
pub use space::{AddressSpace, RangeScan, DEFAULT_MAX_TABLES};
pub use swpte::SoftwarePteFormat;

/// Entry bit 0: present.
pub const PTE_PRESENT: u64 = 1 << 0;
/// Entry bit 1: writable.
pub const PTE_WRITABLE: u64 = 1 << 1;
/// Entry bit 2: user-accessible.
pub const PTE_USER: u64 = 1 << 2;
/// Entry bit 7: page size (a 1 GiB page in a PDPTE, a 2 MiB page in a PDE).
pub const PTE_LARGE: u64 = 1 << 7;
/// Entry bit 10 of a non-present entry: Windows prototype PTE.
pub const PTE_PROTOTYPE: u64 = 1 << 10;
/// Entry bit 11 of a non-present entry: Windows transition PTE.
pub const PTE_TRANSITION: u64 = 1 << 11;
/// Entry bit 63: no-execute.
pub const PTE_NX: u64 = 1 << 63;
/// Physical frame bits 12..=51 of an entry.
pub const FRAME_MASK: u64 = 0x000F_FFFF_FFFF_F000;

/// How many levels of tables a walk goes through.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PagingMode {
    /// PML4 → PDPT → PD → PT; 48-bit canonical addresses.
    Level4,
    /// PML5 → PML4 → PDPT → PD → PT; 57-bit canonical addresses.
    Level5,
}

impl PagingMode {
    /// Level number of the top-level table (4 for PML4, 5 for PML5).
    pub fn top_level(self) -> u8 {
        match self {
            PagingMode::Level4 => 4,
            PagingMode::Level5 => 5,
        }
    }

    /// Number of significant virtual-address bits (48 or 57).
    pub fn va_bits(self) -> u32 {
        match self {
            PagingMode::Level4 => 48,
            PagingMode::Level5 => 57,
        }
    }
}

/// Size of a mapped page.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum PageSize {
    /// 4 KiB (a PT entry).
    Size4K,
    /// 2 MiB (a PD entry with bit 7 set).
    Size2M,
    /// 1 GiB (a PDPT entry with bit 7 set).
    Size1G,
}

impl PageSize {
    /// The page size in bytes.
    pub fn bytes(self) -> u64 {
        match self {
            PageSize::Size4K => 0x1000,
            PageSize::Size2M => 0x20_0000,
            PageSize::Size1G => 0x4000_0000,
        }
    }
}

/// How a page that can be read was reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum PageState {
    /// Every entry of the walk was present.
    Valid,
    /// The PT entry (or a table above it) was a Windows transition entry: the page is no
    /// longer mapped but its frame still holds the data.
    Transition,
}

/// A successful translation; the flags are effective across all levels of the walk
/// (writable and user are ANDed, NX is ORed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Translation {
    /// The virtual address that was translated.
    pub va: u64,
    /// Its physical address.
    pub pa: u64,
    /// Size of the page that maps it.
    pub page_size: PageSize,
    /// Valid or transition.
    pub state: PageState,
    /// Writable at every level.
    pub writable: bool,
    /// User-accessible at every level.
    pub user: bool,
    /// No-execute at some level.
    pub nx: bool,
}

impl Translation {
    /// First virtual address of the page that maps `va`.
    pub fn page_va(&self) -> u64 {
        self.va & !(self.page_size.bytes() - 1)
    }
    /// First physical address of the page frame.
    pub fn page_pa(&self) -> u64 {
        self.pa & !(self.page_size.bytes() - 1)
    }
}

/// Windows software state of a non-present entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum SoftwareState {
    /// entry == 0: never touched / not mapped
    Unmapped,
    /// bit 10 set: a prototype PTE (resolution through the section later)
    Prototype {
        /// The raw entry.
        raw: u64,
    },
    /// page file: file number = PageFileLow, offset = page index in PageFileHigh (bits
    /// 32..=63, unswizzled; see [`SoftwarePteFormat`]); byte offset = high * 4096 (see
    /// [`SoftwareState::page_file_byte_offset`]).
    PageFile {
        /// Page file number (0..=15).
        file: u8,
        /// Page index within the page file (PageFileHigh), not a byte offset.
        offset: u64,
    },
    /// non-zero entry, not transition/prototype, PageFileHigh == 0: demand zero
    DemandZero {
        /// The raw entry.
        raw: u64,
    },
}

impl SoftwareState {
    /// Classify a non-present entry with the default [`SoftwarePteFormat`] (the L1TF-era
    /// layout, mask unknown). `None` for a present entry (bit 0 set) or a transition entry
    /// (bit 11 set, bit 10 clear), whose frame is still in RAM.
    pub fn from_entry(entry: u64) -> Option<SoftwareState> {
        SoftwarePteFormat::default().classify(entry)
    }

    /// For [`SoftwareState::PageFile`], the byte offset in the page file (`offset * 4096`).
    pub fn page_file_byte_offset(&self) -> Option<u64> {
        match *self {
            SoftwareState::PageFile { offset, .. } => offset.checked_mul(0x1000),
            _ => None,
        }
    }

    /// The matching [`RangeState`] (`None` for [`SoftwareState::Unmapped`]).
    pub fn range_state(&self) -> Option<RangeState> {
        match self {
            SoftwareState::Unmapped => None,
            SoftwareState::Prototype { .. } => Some(RangeState::Prototype),
            SoftwareState::PageFile { .. } => Some(RangeState::PageFile),
            SoftwareState::DemandZero { .. } => Some(RangeState::DemandZero),
        }
    }
}

impl std::fmt::Display for SoftwareState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match *self {
            SoftwareState::Unmapped => write!(f, "unmapped"),
            SoftwareState::Prototype { raw } => write!(f, "prototype PTE {raw:#x}"),
            SoftwareState::PageFile { file, offset } => {
                write!(f, "in page file {file} at page {offset:#x}")
            }
            SoftwareState::DemandZero { raw } => write!(f, "demand zero ({raw:#x})"),
        }
    }
}

/// Name of a paging level: 5 PML5, 4 PML4, 3 PDPT, 2 PD, 1 PT.
pub fn level_name(level: u8) -> &'static str {
    match level {
        5 => "PML5",
        4 => "PML4",
        3 => "PDPT",
        2 => "PD",
        1 => "PT",
        _ => "?",
    }
}

fn lvl(level: &u8) -> &'static str {
    level_name(*level)
}

/// Why a virtual address could not be translated.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum TranslateError {
    /// The address is not canonical for the paging mode.
    #[error("{va:#x}: non-canonical virtual address")]
    NonCanonical {
        /// The address.
        va: u64,
    },
    /// walk stopped at `level` (4 = PML4 ... 1 = PT; 5 = PML5) on a non-present entry
    #[error("{va:#x}: not present: {} entry {entry:#018x} is {software}", lvl(.level))]
    NotPresent {
        /// The address.
        va: u64,
        /// Level of the non-present entry.
        level: u8,
        /// The raw entry.
        entry: u64,
        /// Its Windows software state.
        software: SoftwareState,
    },
    /// the table page (or transition page) itself is not in the capture
    #[error("{va:#x}: {} table entry at physical {pa:#x} is not in the capture", lvl(.level))]
    NotInCapture {
        /// The address.
        va: u64,
        /// Level of the table that could not be read.
        level: u8,
        /// Physical address of the entry that could not be read.
        pa: u64,
    },
    /// the table at `level` is paged out to a page file that was given, but could not be read
    /// there (past its end)
    #[error("{va:#x}: {} table is in page file #{file} at page {page:#x}, which cannot be read there", lvl(.level))]
    TableNotInPageFile {
        /// The address.
        va: u64,
        /// Level of the paged-out table.
        level: u8,
        /// Page-file number.
        file: u8,
        /// Page index in the page file.
        page: u64,
    },
    /// large-page bit set where the frame is misaligned, or bit 7 in a PML4/PML5 entry
    #[error("{va:#x}: bad {} entry {entry:#018x}: {reason}", lvl(.level))]
    BadEntry {
        /// The address.
        va: u64,
        /// Level of the bad entry.
        level: u8,
        /// The raw entry.
        entry: u64,
        /// What is wrong with it.
        reason: &'static str,
    },
}

impl TranslateError {
    /// The virtual address the error is about.
    pub fn va(&self) -> u64 {
        match *self {
            TranslateError::NonCanonical { va }
            | TranslateError::NotPresent { va, .. }
            | TranslateError::NotInCapture { va, .. }
            | TranslateError::TableNotInPageFile { va, .. }
            | TranslateError::BadEntry { va, .. } => va,
        }
    }
}

/// One table entry read by a walk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct WalkStep {
    /// Level of the table (5 PML5, 4 PML4, 3 PDPT, 2 PD, 1 PT).
    pub level: u8,
    /// Index of the entry in the table (0..512).
    pub index: u16,
    /// Physical address of the entry.
    pub entry_pa: u64,
    /// The raw entry.
    pub entry: u64,
    /// `Some((file, page))` when the table was paged out and read from page file `file` at
    /// page `page`; `entry_pa` is then the entry's byte offset in that page file.
    pub page_file: Option<(u8, u64)>,
}

/// A walk with every entry it read, for `memtriage vtop`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Walk {
    /// The entries read, top level first (a table that could not be read has no step).
    pub steps: Vec<WalkStep>,
    /// The outcome, identical to [`AddressSpace::translate`].
    pub result: Result<Translation, TranslateError>,
}

/// What the pages of a [`MappedRange`] are.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub enum RangeState {
    /// Present at every level.
    Valid,
    /// In transition (readable, see [`PageState::Transition`]).
    Transition,
    /// Prototype PTEs.
    Prototype,
    /// In a page file.
    PageFile,
    /// Demand zero.
    DemandZero,
}

/// A run of virtual pages with the same state, page size and flags.
///
/// For software states (prototype, page file, demand zero) the flags are those of the
/// table levels above the PTE (the PTE's own low bits mean something else).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct MappedRange {
    /// First virtual address.
    pub start: u64,
    /// One past the last virtual address (exclusive; saturates at `u64::MAX`).
    pub end: u64,
    /// State of the pages.
    pub state: RangeState,
    /// Size of the pages.
    pub page_size: PageSize,
    /// Effective writable.
    pub writable: bool,
    /// Effective user.
    pub user: bool,
    /// Effective no-execute.
    pub nx: bool,
}

impl MappedRange {
    /// Length in bytes.
    pub fn len(&self) -> u64 {
        self.end - self.start
    }
    /// Whether the range is empty (never for ranges returned by this crate).
    pub fn is_empty(&self) -> bool {
        self.end == self.start
    }
}

/// Why a virtual read failed.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum VirtError {
    /// The address could not be translated.
    #[error(transparent)]
    Translate(#[from] TranslateError),
    /// translated fine, but the data page is not in the capture
    #[error("{va:#x}: physical {pa:#x} is not in the capture")]
    NotInDump {
        /// The first virtual address that could not be read.
        va: u64,
        /// Its physical address.
        pa: u64,
    },
    /// the page is in a page file that was given, but could not be read from it
    #[error("{va:#x}: page file #{file} page {page:#x}: {miss}")]
    PageFile {
        /// The first virtual address that could not be read.
        va: u64,
        /// Page-file number.
        file: u8,
        /// Page index in the page file.
        page: u64,
        /// Why it could not be read.
        miss: PageFileMiss,
    },
    /// a length field larger than the caller's cap
    #[error("{va:#x}: length {len} exceeds the cap of {cap} bytes")]
    TooLarge {
        /// Address of the structure (or buffer) with the length.
        va: u64,
        /// The length found.
        len: u64,
        /// The caller's cap.
        cap: u64,
    },
    /// odd length, Length > MaximumLength, ...
    #[error("{va:#x}: bad string: {reason}")]
    BadString {
        /// Address of the string structure (or buffer).
        va: u64,
        /// What is wrong.
        reason: &'static str,
    },
}

impl VirtError {
    /// The virtual address the error is about.
    pub fn va(&self) -> u64 {
        match self {
            VirtError::Translate(e) => e.va(),
            VirtError::NotInDump { va, .. }
            | VirtError::PageFile { va, .. }
            | VirtError::TooLarge { va, .. }
            | VirtError::BadString { va, .. } => *va,
        }
    }
}

/// A run of bytes a virtual read could not fill (they are zero in the buffer).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Hole {
    /// First virtual address of the hole.
    pub va: u64,
    /// Length in bytes.
    pub len: u64,
    /// Why the first byte of the hole could not be read (adjacent unreadable pages that
    /// fail the same way are merged into one hole).
    pub error: VirtError,
}

/// What a virtual read could not fill.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ReadReport {
    /// The unreadable runs, in address order; bytes in holes are zero-filled.
    pub holes: Vec<Hole>,
}

impl ReadReport {
    /// Whether every byte was read.
    pub fn is_complete(&self) -> bool {
        self.holes.is_empty()
    }
    /// Total number of bytes in holes.
    pub fn missing_bytes(&self) -> u64 {
        self.holes.iter().map(|h| h.len).sum()
    }
}

/// A `_LIST_ENTRY` (two 64-bit pointers).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ListEntry {
    /// Forward link (offset 0).
    pub flink: u64,
    /// Backward link (offset 8).
    pub blink: u64,
}

/// Whether `va` is canonical for `mode`: bits 47..=63 (4-level) or 56..=63 (5-level) equal.
pub fn is_canonical(va: u64, mode: PagingMode) -> bool {
    let shift = mode.va_bits() - 1;
    let top = va >> shift;
    top == 0 || top == (u64::MAX >> shift)
}

/// Sign-extend a virtual address from the mode's top bit (47 or 56) to 64 bits.
pub fn canonicalize(va: u64, mode: PagingMode) -> u64 {
    let unused = 64 - mode.va_bits();
    (((va << unused) as i64) >> unused) as u64
}
