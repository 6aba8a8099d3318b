//! The address space: walks, reads and range enumeration.

use crate::{
    canonicalize, is_canonical, Hole, ListEntry, MappedRange, PageFiles, PageSize, PageState,
    PagedOut, PagingMode, PhysicalMemory, RangeState, ReadReport, SoftwarePteFormat, SoftwareState,
    TranslateError, Translation, VirtError, Walk, WalkStep, FRAME_MASK, PTE_LARGE, PTE_NX,
    PTE_PRESENT, PTE_PROTOTYPE, PTE_TRANSITION, PTE_USER, PTE_WRITABLE,
};
use memtriage_dump::PhysError;
use std::sync::Arc;

const PAGE: u64 = 0x1000;
/// Bit 12 of a large-page entry is PAT, not part of the frame.
const LARGE_PAT: u64 = 1 << 12;

/// Default bound on the number of tables [`AddressSpace::ranges`] reads (each at most once per
/// path): 262,144 tables = 1 GiB of tables, far above any real address space.
pub const DEFAULT_MAX_TABLES: usize = 1 << 18;

/// A virtual address space: physical memory, the top-level table and the paging mode, plus
/// how software PTEs are laid out and the page files paged-out pages are read from.
#[derive(Clone)]
pub struct AddressSpace {
    mem: Arc<dyn PhysicalMemory>,
    dtb: u64,
    mode: PagingMode,
    pte: SoftwarePteFormat,
    page_files: PageFiles,
}

impl std::fmt::Debug for AddressSpace {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AddressSpace")
            .field("dtb", &format_args!("{:#x}", self.dtb))
            .field("mode", &self.mode)
            .field("pte", &self.pte)
            .field("page_files", &self.page_files.iter().count())
            .finish_non_exhaustive()
    }
}

/// The outcome of a range enumeration with its bookkeeping.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct RangeScan {
    /// The coalesced mapped ranges, sorted by start.
    pub ranges: Vec<MappedRange>,
    /// Tables read (the top-level table included).
    pub tables_visited: usize,
    /// Tables a present (or transition) entry pointed to that are not in the capture.
    pub tables_missing: usize,
    /// Entries skipped as malformed (misaligned large page, bit 7 in PML4/PML5).
    pub bad_entries: usize,
    /// Entries skipped because they point back at a table of the current path (loops, the
    /// Windows self-reference entry).
    pub loops_skipped: usize,
    /// The table budget ran out: the ranges are incomplete.
    pub truncated: bool,
}

/// Where a table page is: in physical memory, or paged out to a page file.
#[derive(Clone, Copy)]
enum TablePage {
    Phys(u64),
    PageFile { file: u8, page: u64 },
}

impl TablePage {
    /// A key unique among table pages, for loop detection (physical addresses are < 2^52).
    fn key(self) -> u64 {
        match self {
            TablePage::Phys(pa) => pa,
            TablePage::PageFile { file, page } => {
                (1 << 63) | (u64::from(file) << 56) | (page & ((1 << 56) - 1))
            }
        }
    }
}

#[derive(Clone, Copy)]
struct Flags {
    writable: bool,
    user: bool,
    nx: bool,
    transition: bool,
}

impl Flags {
    const TOP: Flags = Flags {
        writable: true,
        user: true,
        nx: false,
        transition: false,
    };
    fn with(self, entry: u64) -> Flags {
        Flags {
            writable: self.writable && entry & PTE_WRITABLE != 0,
            user: self.user && entry & PTE_USER != 0,
            nx: self.nx || entry & PTE_NX != 0,
            transition: self.transition || entry & PTE_PRESENT == 0,
        }
    }
}

fn is_transition(entry: u64) -> bool {
    entry & PTE_PRESENT == 0 && entry & PTE_TRANSITION != 0 && entry & PTE_PROTOTYPE == 0
}

fn shift_of(level: u8) -> u32 {
    12 + 9 * (u32::from(level) - 1)
}

/// Check a present entry with bit 7 set at `level` (2 or 3 give a large page; above is bad).
fn large_frame(level: u8, entry: u64) -> Result<(u64, PageSize), &'static str> {
    let size = match level {
        2 => PageSize::Size2M,
        3 => PageSize::Size1G,
        _ => return Err("page-size bit (7) set in a PML4/PML5 entry"),
    };
    let frame = entry & FRAME_MASK & !LARGE_PAT;
    if frame & (size.bytes() - 1) != 0 {
        return Err("large-page frame is not aligned to the page size");
    }
    Ok((frame, size))
}

impl AddressSpace {
    /// A 4-level address space with its PML4 at `dtb` (low 12 bits and bits above 51 ignored).
    pub fn new(mem: Arc<dyn PhysicalMemory>, dtb: u64) -> Self {
        Self::with_mode(mem, dtb, PagingMode::Level4)
    }

    /// An address space with an explicit paging mode.
    pub fn with_mode(mem: Arc<dyn PhysicalMemory>, dtb: u64, mode: PagingMode) -> Self {
        AddressSpace {
            mem,
            dtb: dtb & FRAME_MASK,
            mode,
            pte: SoftwarePteFormat::default(),
            page_files: PageFiles::none(),
        }
    }

    /// The same address space reading paged-out pages from `page_files`.
    pub fn with_page_files(mut self, page_files: PageFiles) -> Self {
        self.page_files = page_files;
        self
    }

    /// The same address space decoding software PTEs with `format`.
    pub fn with_pte_format(mut self, format: SoftwarePteFormat) -> Self {
        self.pte = format;
        self
    }

    /// The page files paged-out pages are read from (empty when none was given).
    pub fn page_files(&self) -> &PageFiles {
        &self.page_files
    }

    /// How software PTEs are decoded.
    pub fn pte_format(&self) -> SoftwarePteFormat {
        self.pte
    }

    /// The PML4/PML5 physical address (low 12 bits masked off).
    pub fn dtb(&self) -> u64 {
        self.dtb
    }

    /// The paging mode.
    pub fn mode(&self) -> PagingMode {
        self.mode
    }

    /// The physical memory read through.
    pub fn memory(&self) -> &Arc<dyn PhysicalMemory> {
        &self.mem
    }

    /// The same physical memory, mode, PTE format and page files with another DTB (e.g.
    /// another process).
    pub fn with_dtb(&self, dtb: u64) -> Self {
        Self::with_mode(self.mem.clone(), dtb, self.mode)
            .with_pte_format(self.pte)
            .with_page_files(self.page_files.clone())
    }

    /// Translate `va`. At most one entry per level is read (4 or 5 reads), so self-referencing
    /// and looping tables are harmless.
    pub fn translate(&self, va: u64) -> Result<Translation, TranslateError> {
        self.walk_with(va, |_| {})
    }

    /// Translate `va` and record every entry read.
    pub fn walk(&self, va: u64) -> Walk {
        let mut steps = Vec::with_capacity(5);
        let result = self.walk_with(va, |s| steps.push(s));
        Walk { steps, result }
    }

    fn walk_with(
        &self,
        va: u64,
        mut on_step: impl FnMut(WalkStep),
    ) -> Result<Translation, TranslateError> {
        if !is_canonical(va, self.mode) {
            return Err(TranslateError::NonCanonical { va });
        }
        let mut table = TablePage::Phys(self.dtb);
        let mut flags = Flags::TOP;
        let mut level = self.mode.top_level();
        loop {
            let index = (va >> shift_of(level)) & 0x1FF;
            let (entry_pa, entry, page_file) = match table {
                TablePage::Phys(t) => {
                    let entry_pa = t + index * 8;
                    let entry =
                        self.mem
                            .read_u64(entry_pa)
                            .map_err(|_| TranslateError::NotInCapture {
                                va,
                                level,
                                pa: entry_pa,
                            })?;
                    (entry_pa, entry, None)
                }
                TablePage::PageFile { file, page } => {
                    let entry = self.page_file_entry(file, page, index).ok_or(
                        TranslateError::TableNotInPageFile {
                            va,
                            level,
                            file,
                            page,
                        },
                    )?;
                    (
                        page.saturating_mul(PAGE).saturating_add(index * 8),
                        entry,
                        Some((file, page)),
                    )
                }
            };
            on_step(WalkStep {
                level,
                index: index as u16,
                entry_pa,
                entry,
                page_file,
            });
            let present = entry & PTE_PRESENT != 0;
            if !present && !is_transition(entry) {
                let software = self.pte.classify(entry).unwrap_or(SoftwareState::Unmapped);
                if let Some(next) = self.paged_out_table(level, software) {
                    table = next;
                    level -= 1;
                    continue;
                }
                return Err(TranslateError::NotPresent {
                    va,
                    level,
                    entry,
                    software,
                });
            }
            flags = flags.with(entry);
            let state = if flags.transition {
                PageState::Transition
            } else {
                PageState::Valid
            };
            if level == 1 {
                return Ok(Translation {
                    va,
                    pa: (entry & FRAME_MASK) | (va & (PAGE - 1)),
                    page_size: PageSize::Size4K,
                    state,
                    writable: flags.writable,
                    user: flags.user,
                    nx: flags.nx,
                });
            }
            if present && entry & PTE_LARGE != 0 {
                let (frame, page_size) =
                    large_frame(level, entry).map_err(|reason| TranslateError::BadEntry {
                        va,
                        level,
                        entry,
                        reason,
                    })?;
                return Ok(Translation {
                    va,
                    pa: frame | (va & (page_size.bytes() - 1)),
                    page_size,
                    state,
                    writable: flags.writable,
                    user: flags.user,
                    nx: flags.nx,
                });
            }
            table = TablePage::Phys(entry & FRAME_MASK);
            level -= 1;
        }
    }

    /// The table an entry at `level` (above the PT) names when it is a page-file entry of a
    /// page file that was given: the paged-out table is read from there.
    fn paged_out_table(&self, level: u8, software: SoftwareState) -> Option<TablePage> {
        match software {
            SoftwareState::PageFile { file, offset } if level > 1 => self
                .page_files
                .get(file)
                .map(|_| TablePage::PageFile { file, page: offset }),
            _ => None,
        }
    }

    /// Entry `index` of the table paged out to page `page` of page file `file`.
    fn page_file_entry(&self, file: u8, page: u64, index: u64) -> Option<u64> {
        let mut b = [0u8; 8];
        self.page_files
            .get(file)?
            .read(page, index * 8, &mut b)
            .ok()?;
        Some(u64::from_le_bytes(b))
    }

    /// Read a whole table page.
    fn read_table(&self, table: TablePage, buf: &mut [u8; PAGE as usize]) -> bool {
        match table {
            TablePage::Phys(pa) => self.mem.read_phys(pa, buf).is_ok(),
            TablePage::PageFile { file, page } => self
                .page_files
                .get(file)
                .is_some_and(|pf| pf.read(page, 0, buf).is_ok()),
        }
    }

    /// Read `buf.len()` bytes at `va`, filling what is readable; unreadable bytes are zero and
    /// named in the report. Crossing page boundaries (and large pages) is ordinary.
    pub fn read(&self, va: u64, buf: &mut [u8]) -> ReadReport {
        let mut report = ReadReport::default();
        let mut cached: Option<Translation> = None;
        let mut off = 0usize;
        while off < buf.len() {
            let cur = va.wrapping_add(off as u64);
            let in_page = (PAGE - (cur & (PAGE - 1))) as usize;
            let n = in_page.min(buf.len() - off);
            let Some(chunk) = buf.get_mut(off..off + n) else {
                break;
            };
            let t = match cached {
                Some(t)
                    if t.page_size != PageSize::Size4K
                        && cur & !(t.page_size.bytes() - 1) == t.page_va() =>
                {
                    Ok(t)
                }
                _ => self.translate(cur),
            };
            match t {
                Ok(t) => {
                    cached = Some(t);
                    let pa = t.page_pa() | (cur & (t.page_size.bytes() - 1));
                    if let Err(PhysError::NotInDump { pa: bad }) = self.mem.read_phys(pa, chunk) {
                        let good = (bad.saturating_sub(pa) as usize).min(n);
                        let missing = chunk.get_mut(good..).unwrap_or_default();
                        missing.fill(0);
                        let hole_va = cur.wrapping_add(good as u64);
                        push_hole(
                            &mut report,
                            hole_va,
                            (n - good) as u64,
                            VirtError::NotInDump {
                                va: hole_va,
                                pa: pa.wrapping_add(good as u64),
                            },
                        );
                    }
                }
                Err(e) => {
                    if let Some(error) = self.read_paged_out(&e, cur, chunk) {
                        chunk.fill(0);
                        push_hole(&mut report, cur, n as u64, error);
                    }
                }
            }
            off += n;
        }
        report
    }

    /// Fill `chunk` (bytes at `va`, within one page) after translation failed with `e`: from
    /// the page file when `e` is a page-file PTE of a page file that was given. `None` when
    /// the bytes were read; otherwise the hole's error.
    fn read_paged_out(&self, e: &TranslateError, va: u64, chunk: &mut [u8]) -> Option<VirtError> {
        let TranslateError::NotPresent {
            level: 1,
            software: SoftwareState::PageFile { file, offset },
            ..
        } = *e
        else {
            return Some(VirtError::Translate(*e));
        };
        let Some(pf) = self.page_files.get(file) else {
            return Some(VirtError::Translate(*e));
        };
        match pf.read(offset, va & (PAGE - 1), chunk) {
            Ok(()) => None,
            Err(miss) => Some(VirtError::PageFile {
                va,
                file,
                page: offset,
                miss,
            }),
        }
    }

    /// For a translation that stopped at a page-file PT entry, where the page's data is (the
    /// page file and offset, and whether a given page file holds it); `None` otherwise
    /// (including page-file entries above the PT level: a paged-out page table).
    pub fn paged_out(&self, e: &TranslateError) -> Option<PagedOut> {
        match *e {
            TranslateError::NotPresent {
                level: 1,
                software: SoftwareState::PageFile { file, offset },
                ..
            } => Some(PagedOut::locate(&self.page_files, file, offset)),
            _ => None,
        }
    }

    /// Read exactly `buf.len()` bytes at `va`; the error is the first hole's.
    pub fn read_exact(&self, va: u64, buf: &mut [u8]) -> Result<(), VirtError> {
        let report = self.read(va, buf);
        match report.holes.into_iter().next() {
            None => Ok(()),
            Some(h) => Err(h.error),
        }
    }

    /// Read `len` bytes at `va` into a new vector, with the holes (`len` is the caller's bound).
    pub fn read_vec(&self, va: u64, len: usize) -> (Vec<u8>, ReadReport) {
        let mut v = vec![0u8; len];
        let r = self.read(va, &mut v);
        (v, r)
    }

    fn read_array<const N: usize>(&self, va: u64) -> Result<[u8; N], VirtError> {
        let mut b = [0u8; N];
        self.read_exact(va, &mut b)?;
        Ok(b)
    }

    /// Read a byte.
    pub fn read_u8(&self, va: u64) -> Result<u8, VirtError> {
        Ok(self.read_array::<1>(va)?[0])
    }
    /// Read a little-endian `u16`.
    pub fn read_u16(&self, va: u64) -> Result<u16, VirtError> {
        self.read_array(va).map(u16::from_le_bytes)
    }
    /// Read a little-endian `u32`.
    pub fn read_u32(&self, va: u64) -> Result<u32, VirtError> {
        self.read_array(va).map(u32::from_le_bytes)
    }
    /// Read a little-endian `u64`.
    pub fn read_u64(&self, va: u64) -> Result<u64, VirtError> {
        self.read_array(va).map(u64::from_le_bytes)
    }
    /// Read a 64-bit pointer.
    pub fn read_ptr(&self, va: u64) -> Result<u64, VirtError> {
        self.read_u64(va)
    }

    /// Read a `_LIST_ENTRY` (Flink @0, Blink @8).
    pub fn read_list_entry(&self, va: u64) -> Result<ListEntry, VirtError> {
        let b: [u8; 16] = self.read_array(va)?;
        let mut f = [0u8; 8];
        let mut k = [0u8; 8];
        f.copy_from_slice(&b[..8]);
        k.copy_from_slice(&b[8..]);
        Ok(ListEntry {
            flink: u64::from_le_bytes(f),
            blink: u64::from_le_bytes(k),
        })
    }

    /// `_UNICODE_STRING` at `va` (Length u16 @0, MaximumLength u16 @2, Buffer ptr @8);
    /// Length > `cap_bytes` → [`VirtError::TooLarge`]; odd Length or Length > MaximumLength →
    /// [`VirtError::BadString`]; decoded as UTF-16LE lossily; Length 0 → "" (Buffer unread).
    pub fn read_unicode_string(&self, va: u64, cap_bytes: u64) -> Result<String, VirtError> {
        let b: [u8; 16] = self.read_array(va)?;
        let len = u16::from_le_bytes([b[0], b[1]]);
        let max = u16::from_le_bytes([b[2], b[3]]);
        let mut p = [0u8; 8];
        p.copy_from_slice(&b[8..16]);
        let buffer = u64::from_le_bytes(p);
        if len == 0 {
            return Ok(String::new());
        }
        if u64::from(len) > cap_bytes {
            return Err(VirtError::TooLarge {
                va,
                len: len.into(),
                cap: cap_bytes,
            });
        }
        if len & 1 != 0 {
            return Err(VirtError::BadString {
                va,
                reason: "odd Length for a UTF-16 string",
            });
        }
        if len > max {
            return Err(VirtError::BadString {
                va,
                reason: "Length > MaximumLength",
            });
        }
        self.read_utf16(buffer, len.into(), cap_bytes)
    }

    /// UTF-16LE buffer of `len_bytes` at `va` (> `cap_bytes` → TooLarge, odd → BadString),
    /// decoded lossily.
    pub fn read_utf16(&self, va: u64, len_bytes: u64, cap_bytes: u64) -> Result<String, VirtError> {
        if len_bytes > cap_bytes {
            return Err(VirtError::TooLarge {
                va,
                len: len_bytes,
                cap: cap_bytes,
            });
        }
        if len_bytes & 1 != 0 {
            return Err(VirtError::BadString {
                va,
                reason: "odd byte length for a UTF-16 string",
            });
        }
        let len = usize::try_from(len_bytes).map_err(|_| VirtError::TooLarge {
            va,
            len: len_bytes,
            cap: cap_bytes,
        })?;
        let mut raw = vec![0u8; len];
        self.read_exact(va, &mut raw)?;
        Ok(decode_utf16(&raw))
    }

    /// NUL-terminated single-byte string at `va`, at most `max_bytes` bytes (without the NUL;
    /// a string that reaches the bound is returned truncated), decoded as UTF-8 lossily.
    pub fn read_cstring(&self, va: u64, max_bytes: usize) -> Result<String, VirtError> {
        let raw = self.read_until_nul(va, max_bytes, 1)?;
        Ok(String::from_utf8_lossy(&raw).into_owned())
    }

    /// NUL-terminated UTF-16LE string at `va`, at most `max_bytes` bytes (without the NUL;
    /// truncated at the bound), decoded lossily.
    pub fn read_wide_cstring(&self, va: u64, max_bytes: usize) -> Result<String, VirtError> {
        let raw = self.read_until_nul(va, max_bytes & !1, 2)?;
        Ok(decode_utf16(&raw))
    }

    /// Read units of `unit` bytes until an all-zero unit or `max_bytes`, page by page.
    fn read_until_nul(&self, va: u64, max_bytes: usize, unit: usize) -> Result<Vec<u8>, VirtError> {
        let mut out = Vec::new();
        let mut page = [0u8; PAGE as usize];
        while out.len() < max_bytes {
            let cur = va.wrapping_add(out.len() as u64);
            let in_page = (PAGE - (cur & (PAGE - 1))) as usize;
            let n = in_page.min(max_bytes - out.len());
            let chunk = page.get_mut(..n).unwrap_or_default();
            self.read_exact(cur, chunk)?;
            // Only whole units are consumed; with unit 2 and an odd `va`, the last byte of a
            // page starts a unit that straddles into the next page (handled below).
            let whole = n - n % unit;
            let chunk = chunk.get(..whole).unwrap_or_default();
            if let Some(pos) = chunk
                .chunks_exact(unit)
                .position(|u| u.iter().all(|&b| b == 0))
            {
                out.extend_from_slice(chunk.get(..pos * unit).unwrap_or_default());
                return Ok(out);
            }
            if whole == 0 {
                // an odd tail shorter than one unit: read the unit straddling the page
                let mut u = [0u8; 2];
                let u = u.get_mut(..unit).unwrap_or_default();
                if out.len() + unit > max_bytes {
                    break;
                }
                self.read_exact(cur, u)?;
                if u.iter().all(|&b| b == 0) {
                    return Ok(out);
                }
                out.extend_from_slice(u);
                continue;
            }
            out.extend_from_slice(chunk);
        }
        Ok(out)
    }

    /// All mapped ranges (valid, transition and non-zero software PTEs) inside
    /// `[start, end)`, coalesced (adjacent pages with the same state and flags merge), found by
    /// walking tables and skipping empty (zero) and non-present subtrees at every level —
    /// never by probing pages. Transition entries above the PT level are followed (their
    /// table page is still in RAM). Entries pointing back at a table of the current path
    /// (the self-reference entry, loops) are skipped; the work is bounded by
    /// [`DEFAULT_MAX_TABLES`] (see [`AddressSpace::scan_ranges`] for the bookkeeping).
    pub fn ranges(&self, start: u64, end: u64) -> Vec<MappedRange> {
        self.scan_ranges(start, end, DEFAULT_MAX_TABLES).ranges
    }

    /// [`AddressSpace::ranges`] with an explicit table budget and the bookkeeping (tables
    /// visited, missing, bad entries, loops skipped, whether the budget ran out).
    pub fn scan_ranges(&self, start: u64, end: u64, max_tables: usize) -> RangeScan {
        let mut e = Enumerator {
            space: self,
            start,
            end,
            max_tables,
            path: [0; 6],
            scan: RangeScan::default(),
        };
        if start < end {
            let top = self.mode.top_level();
            e.visit(TablePage::Phys(self.dtb), top, 0, Flags::TOP, 0);
        }
        e.scan
    }
}

fn decode_utf16(raw: &[u8]) -> String {
    let units = raw
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]));
    char::decode_utf16(units)
        .map(|r| r.unwrap_or(char::REPLACEMENT_CHARACTER))
        .collect()
}

fn same_kind(a: &VirtError, b: &VirtError) -> bool {
    match (a, b) {
        (VirtError::Translate(x), VirtError::Translate(y)) => match (x, y) {
            (
                TranslateError::NotPresent {
                    level: l1,
                    software: s1,
                    ..
                },
                TranslateError::NotPresent {
                    level: l2,
                    software: s2,
                    ..
                },
            ) => l1 == l2 && std::mem::discriminant(s1) == std::mem::discriminant(s2),
            _ => std::mem::discriminant(x) == std::mem::discriminant(y),
        },
        _ => std::mem::discriminant(a) == std::mem::discriminant(b),
    }
}

fn push_hole(report: &mut ReadReport, va: u64, len: u64, error: VirtError) {
    if len == 0 {
        return;
    }
    if let Some(last) = report.holes.last_mut() {
        if last.va.wrapping_add(last.len) == va && same_kind(&last.error, &error) {
            last.len += len;
            return;
        }
    }
    report.holes.push(Hole { va, len, error });
}

struct Enumerator<'a> {
    space: &'a AddressSpace,
    start: u64,
    end: u64,
    max_tables: usize,
    /// Tables on the current path, `path[..depth]`.
    path: [u64; 6],
    scan: RangeScan,
}

impl Enumerator<'_> {
    /// Visit the table at `table_pa` of `level`; `base` holds the index bits of the levels
    /// above (not sign-extended).
    fn visit(&mut self, table_page: TablePage, level: u8, base: u64, flags: Flags, depth: usize) {
        if self.scan.tables_visited >= self.max_tables {
            self.scan.truncated = true;
            return;
        }
        self.scan.tables_visited += 1;
        if let Some(slot) = self.path.get_mut(depth) {
            *slot = table_page.key();
        }
        // A copy, not `slice`: borrowing the mapping would pull every table page of a large
        // capture into this process's resident memory.
        let mut table = [0u8; PAGE as usize];
        if !self.space.read_table(table_page, &mut table) {
            self.scan.tables_missing += 1;
            return;
        }
        let mode = self.space.mode();
        let shift = shift_of(level);
        let span = 1u64 << shift;
        for (index, raw) in table.chunks_exact(8).enumerate() {
            if self.scan.truncated {
                return;
            }
            let mut b = [0u8; 8];
            b.copy_from_slice(raw);
            let entry = u64::from_le_bytes(b);
            if entry == 0 {
                continue;
            }
            let va = canonicalize(base | ((index as u64) << shift), mode);
            // entry covers [va, va + span - 1]
            let last = va.wrapping_add(span - 1);
            if last < self.start || va >= self.end {
                continue;
            }
            let present = entry & PTE_PRESENT != 0;
            if level == 1 {
                if present || is_transition(entry) {
                    let f = flags.with(entry);
                    let state = if f.transition {
                        RangeState::Transition
                    } else {
                        RangeState::Valid
                    };
                    self.emit(va, span, state, PageSize::Size4K, f);
                } else if let Some(state) =
                    self.space.pte.classify(entry).and_then(|s| s.range_state())
                {
                    self.emit(va, span, state, PageSize::Size4K, flags);
                }
                continue;
            }
            if !present && !is_transition(entry) {
                // a paged-out table (followed when its page file was given), else a
                // non-present subtree
                let software = self.space.pte.classify(entry);
                if let Some(next) = software.and_then(|s| self.space.paged_out_table(level, s)) {
                    if self.on_path(next.key(), depth) {
                        self.scan.loops_skipped += 1;
                    } else {
                        self.visit(
                            next,
                            level - 1,
                            va & (u64::MAX >> (64 - mode.va_bits())),
                            flags,
                            depth + 1,
                        );
                    }
                }
                continue;
            }
            let f = flags.with(entry);
            if present && entry & PTE_LARGE != 0 {
                match large_frame(level, entry) {
                    Ok((_, size)) => {
                        let state = if f.transition {
                            RangeState::Transition
                        } else {
                            RangeState::Valid
                        };
                        self.emit(va, span, state, size, f);
                    }
                    Err(_) => self.scan.bad_entries += 1,
                }
                continue;
            }
            let next = entry & FRAME_MASK;
            if self.on_path(next, depth) {
                self.scan.loops_skipped += 1;
                continue;
            }
            self.visit(
                TablePage::Phys(next),
                level - 1,
                va & (u64::MAX >> (64 - mode.va_bits())),
                f,
                depth + 1,
            );
        }
    }

    fn on_path(&self, key: u64, depth: usize) -> bool {
        self.path.get(..=depth).is_some_and(|p| p.contains(&key))
    }

    fn emit(&mut self, va: u64, span: u64, state: RangeState, page_size: PageSize, f: Flags) {
        let start = va.max(self.start);
        let end = va.saturating_add(span).min(self.end);
        if start >= end {
            return;
        }
        if let Some(last) = self.scan.ranges.last_mut() {
            if last.end == start
                && last.state == state
                && last.page_size == page_size
                && last.writable == f.writable
                && last.user == f.user
                && last.nx == f.nx
            {
                last.end = end;
                return;
            }
        }
        self.scan.ranges.push(MappedRange {
            start,
            end,
            state,
            page_size,
            writable: f.writable,
            user: f.user,
            nx: f.nx,
        });
    }
}
