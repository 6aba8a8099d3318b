//! Windows 64-bit crash dumps (`DUMP_HEADER64`, "PAGEDU64").

use crate::bytes::{u32_at, u32_or_page, u64_at, u64_or_page, PAGE_U32};
use crate::mapped::Mapped;
use crate::segmented::{Segment, SegmentedImage};
use crate::PAGE_SIZE;
use crate::{bitmap, Capture, CrashDumpHeader, DumpFormat, DumpMetadata, OpenError, TriageInfo};

/// Size of `DUMP_HEADER64`.
const HEADER_SIZE: u64 = 0x2000;
/// Offset of PhysicalMemoryBlock.NumberOfRuns.
const RUNS_COUNT: usize = 0x88;
/// Offset of PhysicalMemoryBlock.NumberOfPages.
const RUNS_PAGES: usize = 0x90;
/// Offset of PhysicalMemoryBlock.Run[0].
const RUNS: usize = 0x98;
/// Offset of ContextRecord, where the run array must end.
const CONTEXT_RECORD: usize = 0x348;
/// Runs that fit between 0x98 and ContextRecord (0x348): 43 × 16 bytes.
pub(crate) const MAX_RUNS: u32 = ((CONTEXT_RECORD - RUNS) / 16) as u32;

/// Open a crash dump whose first 8 bytes are "PAGEDU64".
pub(crate) fn open(map: Mapped) -> Result<Capture, OpenError> {
    let file_len = map.len();
    if file_len < HEADER_SIZE {
        return Err(map.malformed(format!(
            "crash dump header truncated: the file is {file_len} bytes, DUMP_HEADER64 needs \
             {HEADER_SIZE} (0x2000)"
        )));
    }
    let d = map.bytes();
    let mut warnings = Vec::new();
    let mut header = parse_header(d);
    let runs = parse_runs(d);

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
            return Err(map.unsupported(format!(
                "crash dump with DumpType {other} (this reader knows 1 full, 4 triage, 5/6 \
                 bitmap, 8/9/10 RDMP)"
            )))
        }
    };
    match &runs {
        Runs::Absent => {}
        Runs::TooMany(n) => {
            if dump_type == 1 {
                return Err(map.malformed(format!(
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
        1 => open_full(map, meta),
        4 => open_triage(map, meta),
        5 | 6 => bitmap::open(map, meta),
        _ => open_rdmp(map, meta),
    }
}

/// Every `DUMP_HEADER64` field of [`CrashDumpHeader`], "PAGE"-filled fields read as 0.
fn parse_header(d: &[u8]) -> CrashDumpHeader {
    CrashDumpHeader {
        major_version: u32_or_page(d, 0x8),
        minor_version: u32_or_page(d, 0xC),
        directory_table_base: u64_or_page(d, 0x10),
        pfn_database: u64_or_page(d, 0x18),
        ps_loaded_module_list: u64_or_page(d, 0x20),
        ps_active_process_head: u64_or_page(d, 0x28),
        machine_image_type: u32_or_page(d, 0x30),
        number_processors: u32_or_page(d, 0x34),
        bugcheck_code: u32_or_page(d, 0x38),
        bugcheck_parameters: [
            u64_or_page(d, 0x40),
            u64_or_page(d, 0x48),
            u64_or_page(d, 0x50),
            u64_or_page(d, 0x58),
        ],
        kd_debugger_data_block: u64_or_page(d, 0x80),
        dump_type: u32_or_page(d, 0xF98),
        system_time: u64_or_page(d, 0xFA8),
        system_up_time: u64_or_page(d, 0x1030),
        number_of_pages: u64_or_page(d, RUNS_PAGES),
        runs: Vec::new(),
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

fn parse_runs(d: &[u8]) -> Runs {
    match u32_at(d, RUNS_COUNT) {
        None | Some(PAGE_U32) => Runs::Absent,
        Some(n) if n > MAX_RUNS => Runs::TooMany(n),
        Some(n) => Runs::Listed(
            (0..n as usize)
                .map(|i| {
                    let o = RUNS + i * 16;
                    (u64_at(d, o).unwrap_or(0), u64_at(d, o + 8).unwrap_or(0))
                })
                .collect(),
        ),
    }
}

/// DumpType 1: pages stored from 0x2000 in run order.
fn open_full(map: Mapped, mut meta: DumpMetadata) -> Result<Capture, OpenError> {
    let (runs, stated_pages) = match &meta.crash_dump {
        Some(h) => (h.runs.clone(), h.number_of_pages),
        None => (Vec::new(), 0),
    };
    if runs.is_empty() {
        meta.warnings.push(
            "full crash dump whose PhysicalMemoryBlock lists no runs: no physical memory".into(),
        );
    }
    let mut segs = Vec::with_capacity(runs.len());
    let mut file_off = HEADER_SIZE;
    let mut total_pages = 0u64;
    for (i, &(base, count)) in runs.iter().enumerate() {
        let overflow = || {
            map.malformed(format!(
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
    Ok(Box::new(SegmentedImage::new(
        map,
        segs,
        meta,
        "the PhysicalMemoryBlock runs",
    )))
}

/// DumpType 4: header and triage data only.
fn open_triage(map: Mapped, mut meta: DumpMetadata) -> Result<Capture, OpenError> {
    meta.warnings.push(
        "triage dump (DumpType 4): it holds no full physical memory, only the header and the \
         triage data (driver list, crashing thread, stack); no physical ranges are readable"
            .into(),
    );
    let d = map.bytes();
    let file_len = map.len();
    let t = 0x2000usize;
    let r32 = |o: usize| u32_at(d, t + o);
    let r64 = |o: usize| u64_at(d, t + o);
    if r32(0x7C).is_none() {
        meta.warnings.push(format!(
            "triage header (TRIAGE_DUMP64 at 0x2000, 0x80 bytes) truncated: file is {file_len} \
             bytes"
        ));
    } else {
        let g32 = |o: usize| r32(o).unwrap_or(0);
        let g64 = |o: usize| r64(o).unwrap_or(0);
        let info = TriageInfo {
            service_pack_build: g32(0x00),
            size_of_dump: g32(0x04),
            valid_offset: g32(0x08),
            context_offset: g32(0x0C),
            exception_offset: g32(0x10),
            mm_offset: g32(0x14),
            unloaded_drivers_offset: g32(0x18),
            prcb_offset: g32(0x1C),
            process_offset: g32(0x20),
            thread_offset: g32(0x24),
            call_stack_offset: g32(0x28),
            size_of_call_stack: g32(0x2C),
            driver_list_offset: g32(0x30),
            driver_count: g32(0x34),
            string_pool_offset: g32(0x38),
            string_pool_size: g32(0x3C),
            broken_driver_offset: g32(0x40),
            triage_options: g32(0x44),
            top_of_stack: g64(0x48),
            // 0x50..0x60: the IA-64 backing-store union, unused on x64.
            data_page_address: g64(0x60),
            data_page_offset: g32(0x68),
            data_page_size: g32(0x6C),
            debugger_data_offset: g32(0x70),
            debugger_data_size: g32(0x74),
            data_blocks_offset: g32(0x78),
            data_block_count: g32(0x7C),
        };
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
        if d.get(info.valid_offset as usize..(info.valid_offset as usize).saturating_add(4))
            != Some(b"TRGD".as_slice())
        {
            meta.warnings.push(format!(
                "triage header: no \"TRGD\" validity marker at ValidOffset {:#x}",
                info.valid_offset
            ));
        }
        meta.triage = Some(info);
    }
    Ok(Box::new(SegmentedImage::new(
        map,
        Vec::new(),
        meta,
        "the triage dump",
    )))
}

/// Offsets inside the "RDMP" header at 0x2000 (layout as kdmp-parser reads it).
const RDMP: usize = 0x2000;
/// The PFN range array of an RDMP header.
const RDMP_RANGES: usize = RDMP + 0x30;

/// DumpType 8/9/10: "RDMP" header with PFN ranges, pages stored from FirstPageOffset.
fn open_rdmp(map: Mapped, mut meta: DumpMetadata) -> Result<Capture, OpenError> {
    let d = map.bytes();
    let file_len = map.len();
    let complete = meta.format == DumpFormat::CrashDumpComplete;
    let (Some(marker), Some(sig), Some(metadata_size), Some(first_page)) = (
        u32_at(d, RDMP),
        d.get(RDMP + 4..RDMP + 12),
        u64_at(d, RDMP + 0x10),
        u64_at(d, RDMP + 0x18),
    ) else {
        return Err(map.malformed(format!(
            "RDMP header at 0x2000 truncated: file is {file_len} bytes"
        )));
    };
    if sig != b"RDMPDUMP" {
        return Err(map.malformed(format!(
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
            map.malformed("RDMP header has no metadata size or no first-page offset".to_string())
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
    let total_pages = if complete {
        u64_at(d, RDMP + 0x28).unwrap_or(0)
    } else {
        u64::MAX
    };
    let declared = metadata_size / 16;
    let fit = file_len.saturating_sub(RDMP_RANGES as u64) / 16;
    if declared > fit {
        meta.warnings.push(format!(
            "RDMP header declares {declared} PFN range entries but only {fit} fit in the file"
        ));
    }
    let mut segs = Vec::new();
    let mut file_off = first_page;
    let mut pages = 0u64;
    for i in 0..declared.min(fit) {
        if pages >= total_pages {
            if pages > total_pages {
                meta.warnings.push(format!(
                    "RDMP PFN ranges hold {pages} pages, more than the header's total \
                     {total_pages}"
                ));
            }
            break;
        }
        let o = RDMP_RANGES + (i as usize) * 16;
        let (Some(pfn), Some(count)) = (u64_at(d, o), u64_at(d, o + 8)) else {
            break;
        };
        if pfn == 0 {
            break; // terminator
        }
        let overflow = || {
            map.malformed(format!(
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
        map,
        segs,
        meta,
        "the RDMP PFN ranges",
    )))
}
