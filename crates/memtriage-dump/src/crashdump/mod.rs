//! Windows 64-bit crash dumps (`DUMP_HEADER64`, "PAGEDU64").

mod header;

use crate::segmented::{Segment, SegmentedImage};
use crate::source::Evidence;
use crate::PAGE_SIZE;
use crate::{
    bitmap, Capture, DumpFormat, DumpMetadata, EmptyCapture, Extents, OpenError, RootCause,
};
pub(crate) use header::MAX_RUNS;
use header::{PAGE_U32, RDMP_HEADER_SIZE, TRIAGE_HEADER_SIZE};

/// Size of `DUMP_HEADER64`.
const HEADER_SIZE: u64 = 0x2000;

/// Open a crash dump whose first 8 bytes are "PAGEDU64".
pub(crate) fn open(ev: Evidence) -> Result<Capture, OpenError> {
    let file_len = ev.len();
    if file_len < HEADER_SIZE {
        return Err(ev.malformed(format!(
            "crash dump header truncated: the file is {file_len} bytes, DUMP_HEADER64 needs \
             {HEADER_SIZE} (0x2000)"
        )));
    }
    let d = ev.read_upto(0, HEADER_SIZE);
    let Ok((_, raw)) = header::dump_header64(&d) else {
        return Err(ev.malformed(format!(
            "crash dump header unreadable: DUMP_HEADER64 needs {HEADER_SIZE} (0x2000) bytes"
        )));
    };
    let mut warnings = Vec::new();
    let mut header = raw.header;
    let runs = match raw.number_of_runs {
        PAGE_U32 => Runs::Absent,
        n if n > MAX_RUNS => Runs::TooMany(n),
        n => Runs::Listed(header::runs(&d, n).map(|(_, r)| r).unwrap_or_default()),
    };

    let dump_type = header.dump_type;
    let format = match dump_type {
        1 => DumpFormat::CrashDumpFull,
        4 => DumpFormat::CrashDumpTriage,
        5 => DumpFormat::CrashDumpBitmap,
        6 => DumpFormat::CrashDumpLiveKernelBitmap,
        8 => DumpFormat::CrashDumpKernel,
        9 => DumpFormat::CrashDumpKernelUser,
        10 => DumpFormat::CrashDumpComplete,
        other => {
            return Err(ev.unsupported(format!(
                "crash dump with DumpType {other} (this reader knows 1 full, 4 triage, 5/6 \
                 bitmap, 8/9/10 RDMP)"
            )))
        }
    };
    match &runs {
        Runs::Absent => {}
        Runs::TooMany(n) => {
            if dump_type == 1 {
                return Err(ev.malformed(format!(
                    "PhysicalMemoryBlock.NumberOfRuns is {n}, but at most {MAX_RUNS} runs fit in \
                     the header (0x98..0x348)"
                )));
            }
            warnings.push(format!(
                "PhysicalMemoryBlock.NumberOfRuns is {n}, more than the {MAX_RUNS} that fit in \
                 the header; runs ignored"
            ));
        }
        Runs::Listed(r) => header.runs = r.clone(),
    }
    let mut meta = DumpMetadata::new(format, file_len);
    meta.warnings = warnings;
    meta.crash_dump = Some(header);

    match dump_type {
        1 => open_full(ev, meta),
        4 => open_triage(ev, meta),
        5 | 6 => bitmap::open(ev, meta),
        _ => open_rdmp(ev, meta),
    }
}

/// The PhysicalMemoryBlock run array as the header states it.
enum Runs {
    /// "PAGE"-filled: the header has no run array.
    Absent,
    /// NumberOfRuns is larger than the header can hold.
    TooMany(u32),
    /// `(BasePage, PageCount)` in header order.
    Listed(Vec<(u64, u64)>),
}

/// DumpType 1: pages stored from 0x2000 in run order.
fn open_full(ev: Evidence, mut meta: DumpMetadata) -> Result<Capture, OpenError> {
    let (runs, stated_pages) = match &meta.crash_dump {
        Some(h) => (h.runs.clone(), h.number_of_pages),
        None => (Vec::new(), 0),
    };
    if runs.is_empty() {
        meta.warnings.push(
            "full crash dump whose PhysicalMemoryBlock lists no runs: no physical memory".into(),
        );
        meta.root_cause = Some(RootCause::empty(EmptyCapture::NoRuns));
    }
    let mut segs = Vec::with_capacity(runs.len());
    let mut file_off = HEADER_SIZE;
    let mut total_pages = 0u64;
    for (i, &(base, count)) in runs.iter().enumerate() {
        let overflow = || {
            ev.malformed(format!(
                "run {i} (BasePage {base:#x}, PageCount {count:#x}) overflows the 64-bit address \
                 space"
            ))
        };
        let pa = base.checked_mul(PAGE_SIZE).ok_or_else(overflow)?;
        let len = count.checked_mul(PAGE_SIZE).ok_or_else(overflow)?;
        pa.checked_add(len).ok_or_else(overflow)?;
        segs.push(Segment { pa, len, file_off });
        // Past the end of the file the offsets no longer matter (the extents get clipped),
        // but they must not wrap.
        file_off = file_off.saturating_add(len);
        total_pages = total_pages.saturating_add(count);
    }
    if !runs.is_empty() && total_pages != stated_pages {
        meta.warnings.push(format!(
            "PhysicalMemoryBlock.NumberOfPages is {stated_pages:#x} but the runs hold \
             {total_pages:#x} pages"
        ));
    }
    Ok(Box::new(SegmentedImage::new(ev, segs, meta, Extents::Runs)))
}

/// DumpType 4: header and triage data only.
fn open_triage(ev: Evidence, mut meta: DumpMetadata) -> Result<Capture, OpenError> {
    meta.warnings.push(
        "triage dump (DumpType 4): it holds no full physical memory, only the header and the \
         triage data (driver list, crashing thread, stack); no physical ranges are readable"
            .into(),
    );
    meta.root_cause = Some(RootCause::empty(EmptyCapture::TriageDump));
    let file_len = ev.len();
    let t = ev.read_upto(HEADER_SIZE, TRIAGE_HEADER_SIZE as u64);
    if let Ok((_, info)) = header::triage_dump64(&t) {
        let within = |off: u32, len: u64| u64::from(off).saturating_add(len) <= file_len;
        let checks = [
            ("ValidOffset", info.valid_offset, 4u64),
            ("ContextOffset", info.context_offset, 1),
            ("PrcbOffset", info.prcb_offset, 1),
            ("ProcessOffset", info.process_offset, 1),
            ("ThreadOffset", info.thread_offset, 1),
            (
                "CallStackOffset",
                info.call_stack_offset,
                u64::from(info.size_of_call_stack),
            ),
            (
                "DriverListOffset",
                info.driver_list_offset,
                u64::from(info.driver_count.min(1)),
            ),
            (
                "StringPoolOffset",
                info.string_pool_offset,
                u64::from(info.string_pool_size),
            ),
            (
                "DebuggerDataOffset",
                info.debugger_data_offset,
                u64::from(info.debugger_data_size),
            ),
            (
                "DataBlocksOffset",
                info.data_blocks_offset,
                u64::from(info.data_block_count) * 16,
            ),
        ];
        for (name, off, len) in checks {
            if off != 0 && !within(off, len) {
                meta.warnings.push(format!(
                    "triage header: {name} {off:#x} (+{len:#x} bytes) lies past the end of the \
                     file ({file_len} bytes)"
                ));
            }
        }
        let mut marker = [0u8; 4];
        if !ev.read_at(u64::from(info.valid_offset), &mut marker) || &marker != b"TRGD" {
            meta.warnings.push(format!(
                "triage header: no \"TRGD\" validity marker at ValidOffset {:#x}",
                info.valid_offset
            ));
        }
        meta.triage = Some(info);
    } else {
        meta.warnings.push(format!(
            "triage header (TRIAGE_DUMP64 at 0x2000, 0x80 bytes) truncated: file is {file_len} \
             bytes"
        ));
    }
    Ok(Box::new(SegmentedImage::new(
        ev,
        Vec::new(),
        meta,
        Extents::TriageDump,
    )))
}

/// DumpType 8/9/10: "RDMP" header with PFN ranges, pages stored from FirstPageOffset.
fn open_rdmp(ev: Evidence, mut meta: DumpMetadata) -> Result<Capture, OpenError> {
    let file_len = ev.len();
    let complete = meta.format == DumpFormat::CrashDumpComplete;
    let raw = ev.read_upto(HEADER_SIZE, RDMP_HEADER_SIZE as u64);
    let Ok((_, h)) = header::rdmp_header(&raw) else {
        return Err(ev.malformed(format!(
            "RDMP header at 0x2000 truncated: file is {file_len} bytes"
        )));
    };
    let (marker, metadata_size, first_page) = (h.marker, h.metadata_size, h.first_page);
    if &h.signature != b"RDMPDUMP" {
        return Err(ev.malformed(format!(
            "{} crash dump without the \"RDMP\" + \"DUMP\" header at file offset 0x2004",
            meta.format.name()
        )));
    }
    if marker != 0x40 {
        meta.warnings
            .push(format!("RDMP header marker is {marker:#x}, expected 0x40"));
    }
    if metadata_size == 0 || first_page == 0 {
        return Err(
            ev.malformed("RDMP header has no metadata size or no first-page offset".to_string())
        );
    }
    if metadata_size.checked_add(0x2020) != Some(first_page) {
        meta.warnings.push(format!(
            "RDMP header: first-page offset {first_page:#x} is not metadata size \
             {metadata_size:#x} + 0x2020"
        ));
    }
    if metadata_size % 16 != 0 {
        meta.warnings.push(format!(
            "RDMP header: metadata size {metadata_size:#x} is not a multiple of 16"
        ));
    }
    let total_pages = if complete { h.total_pages } else { u64::MAX };
    let declared = metadata_size / 16;
    let ranges_at = HEADER_SIZE + RDMP_HEADER_SIZE as u64;
    let fit = file_len.saturating_sub(ranges_at) / 16;
    if declared > fit {
        meta.warnings.push(format!(
            "RDMP header declares {declared} PFN range entries but only {fit} fit in the file"
        ));
    }
    let table = ev.read_upto(ranges_at, declared.min(fit) * 16);
    let mut segs = Vec::new();
    let mut file_off = first_page;
    let mut pages = 0u64;
    for (i, entry) in (0u64..).zip(table.chunks_exact(16)) {
        if pages >= total_pages {
            if pages > total_pages {
                meta.warnings.push(format!(
                    "RDMP PFN ranges hold {pages} pages, more than the header's total \
                     {total_pages}"
                ));
            }
            break;
        }
        let Ok((_, (pfn, count))) = header::rdmp_range(entry) else {
            break;
        };
        if pfn == 0 {
            break; // terminator
        }
        let overflow = || {
            ev.malformed(format!(
                "RDMP PFN range {i} (PFN {pfn:#x}, {count:#x} pages) overflows the 64-bit \
                 address space"
            ))
        };
        let pa = pfn.checked_mul(PAGE_SIZE).ok_or_else(overflow)?;
        let len = count.checked_mul(PAGE_SIZE).ok_or_else(overflow)?;
        pa.checked_add(len).ok_or_else(overflow)?;
        segs.push(Segment { pa, len, file_off });
        file_off = file_off.saturating_add(len);
        pages = pages.saturating_add(count);
    }
    Ok(Box::new(SegmentedImage::new(
        ev,
        segs,
        meta,
        Extents::RdmpRanges,
    )))
}
