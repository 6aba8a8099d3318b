//! nom parsers of the crash-dump headers: `DUMP_HEADER64`, its PhysicalMemoryBlock, the
//! triage header (`TRIAGE_DUMP64`) and the "RDMP" header of kernel/complete dumps.

use crate::{CrashDumpHeader, TriageInfo};
use nom::bytes::complete::take;
use nom::multi::count;
use nom::number::complete::{le_u32, le_u64};
use nom::sequence::{preceded, tuple};
use nom::IResult;

/// The "PAGE" fill of unused crash-dump header fields, as a `u32`.
pub(crate) const PAGE_U32: u32 = 0x4547_4150;
/// The "PAGE" fill of unused crash-dump header fields, as a `u64`.
const PAGE_U64: u64 = 0x4547_4150_4547_4150;

/// Offset of PhysicalMemoryBlock.Run[0].
const RUNS: usize = 0x98;
/// Offset of ContextRecord, where the run array must end.
const CONTEXT_RECORD: usize = 0x348;
/// Runs that fit between 0x98 and ContextRecord (0x348): 43 × 16 bytes.
pub(crate) const MAX_RUNS: u32 = ((CONTEXT_RECORD - RUNS) / 16) as u32;

/// A "PAGE"-filled `u32` read as 0.
fn or_page32(v: u32) -> u32 {
    if v == PAGE_U32 {
        0
    } else {
        v
    }
}

/// A "PAGE"-filled `u64` read as 0.
fn or_page64(v: u64) -> u64 {
    if v == PAGE_U64 {
        0
    } else {
        v
    }
}

/// `DUMP_HEADER64` as it is stored: every field of [`CrashDumpHeader`] ("PAGE"-filled fields
/// read as 0) plus the raw NumberOfRuns.
pub(crate) struct RawHeader {
    /// The header fields; `runs` is left empty (see [`parse_runs`]).
    pub header: CrashDumpHeader,
    /// PhysicalMemoryBlock.NumberOfRuns as stored ("PAGE" when the block is absent).
    pub number_of_runs: u32,
}

/// Parse the first 0x1038 bytes of `DUMP_HEADER64` (signature and "DU64" are checked by the
/// caller).
pub(crate) fn dump_header64(i: &[u8]) -> IResult<&[u8], RawHeader> {
    let (i, (_signature, major, minor, dtb, pfn_db, loaded, active)) =
        tuple((take(8usize), le_u32, le_u32, le_u64, le_u64, le_u64, le_u64))(i)?;
    let (i, (machine, processors, bugcheck, _pad, params)) =
        tuple((le_u32, le_u32, le_u32, le_u32, count(le_u64, 4)))(i)?;
    // 0x60: VersionUser[32]; 0x80: KdDebuggerDataBlock; 0x88: PhysicalMemoryBlock.
    let (i, (kd_block, number_of_runs, _pad, number_of_pages)) =
        preceded(take(32usize), tuple((le_u64, le_u32, le_u32, le_u64)))(i)?;
    // 0x98 .. 0xF98: runs, ContextRecord, ExceptionRecord, ...; 0xF98: DumpType.
    let (i, (dump_type, _pad, _required_space, system_time)) = preceded(
        take(0xF98usize - 0x98),
        tuple((le_u32, le_u32, le_u64, le_u64)),
    )(i)?;
    // 0xFB0 .. 0x1030: Comment[128]; 0x1030: SystemUpTime.
    let (i, system_up_time) = preceded(take(0x1030usize - 0xFB0), le_u64)(i)?;
    let params: [u64; 4] = [
        or_page64(params.first().copied().unwrap_or(0)),
        or_page64(params.get(1).copied().unwrap_or(0)),
        or_page64(params.get(2).copied().unwrap_or(0)),
        or_page64(params.get(3).copied().unwrap_or(0)),
    ];
    let header = CrashDumpHeader {
        major_version: or_page32(major),
        minor_version: or_page32(minor),
        directory_table_base: or_page64(dtb),
        pfn_database: or_page64(pfn_db),
        ps_loaded_module_list: or_page64(loaded),
        ps_active_process_head: or_page64(active),
        machine_image_type: or_page32(machine),
        number_processors: or_page32(processors),
        bugcheck_code: or_page32(bugcheck),
        bugcheck_parameters: params,
        kd_debugger_data_block: or_page64(kd_block),
        dump_type: or_page32(dump_type),
        system_time: or_page64(system_time),
        system_up_time: or_page64(system_up_time),
        number_of_pages: or_page64(number_of_pages),
        runs: Vec::new(),
    };
    Ok((
        i,
        RawHeader {
            header,
            number_of_runs,
        },
    ))
}

/// The `n` PhysicalMemoryBlock runs `(BasePage, PageCount)` of a `DUMP_HEADER64` (`n` at
/// most [`MAX_RUNS`]).
pub(crate) fn runs(header: &[u8], n: u32) -> IResult<&[u8], Vec<(u64, u64)>> {
    preceded(
        take(RUNS),
        count(tuple((le_u64, le_u64)), n.min(MAX_RUNS) as usize),
    )(header)
}

/// Size of `TRIAGE_DUMP64` as this reader uses it.
pub(crate) const TRIAGE_HEADER_SIZE: usize = 0x80;

/// Parse `TRIAGE_DUMP64` (at file offset 0x2000 of a triage dump).
pub(crate) fn triage_dump64(i: &[u8]) -> IResult<&[u8], TriageInfo> {
    let (i, v) = count(le_u32, 18)(i)?;
    let g = |k: usize| v.get(k).copied().unwrap_or(0);
    // 0x48: TopOfStack; 0x50..0x60: the IA-64 backing-store union, unused on x64.
    let (i, (top_of_stack, _bstore, data_page_address)) =
        tuple((le_u64, take(16usize), le_u64))(i)?;
    let (i, w) = count(le_u32, 6)(i)?;
    let h = |k: usize| w.get(k).copied().unwrap_or(0);
    Ok((
        i,
        TriageInfo {
            service_pack_build: g(0),
            size_of_dump: g(1),
            valid_offset: g(2),
            context_offset: g(3),
            exception_offset: g(4),
            mm_offset: g(5),
            unloaded_drivers_offset: g(6),
            prcb_offset: g(7),
            process_offset: g(8),
            thread_offset: g(9),
            call_stack_offset: g(10),
            size_of_call_stack: g(11),
            driver_list_offset: g(12),
            driver_count: g(13),
            string_pool_offset: g(14),
            string_pool_size: g(15),
            broken_driver_offset: g(16),
            triage_options: g(17),
            top_of_stack,
            data_page_address,
            data_page_offset: h(0),
            data_page_size: h(1),
            debugger_data_offset: h(2),
            debugger_data_size: h(3),
            data_blocks_offset: h(4),
            data_block_count: h(5),
        },
    ))
}

/// The "RDMP" header of kernel/complete dumps (at file offset 0x2000), as kdmp-parser
/// reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct RdmpHeader {
    /// The marker (0x40).
    pub marker: u32,
    /// "RDMPDUMP".
    pub signature: [u8; 8],
    /// Bytes of PFN range entries.
    pub metadata_size: u64,
    /// File offset of the first page.
    pub first_page: u64,
    /// Total pages (complete dumps).
    pub total_pages: u64,
}

/// Size of the RDMP header up to the PFN range array.
pub(crate) const RDMP_HEADER_SIZE: usize = 0x30;

/// Parse the RDMP header (0x30 bytes; the PFN ranges follow).
pub(crate) fn rdmp_header(i: &[u8]) -> IResult<&[u8], RdmpHeader> {
    let (i, (marker, signature, _reserved, metadata_size, first_page, _r2, total_pages)) =
        tuple((le_u32, take(8usize), le_u32, le_u64, le_u64, le_u64, le_u64))(i)?;
    let mut sig = [0u8; 8];
    sig.copy_from_slice(signature);
    Ok((
        i,
        RdmpHeader {
            marker,
            signature: sig,
            metadata_size,
            first_page,
            total_pages,
        },
    ))
}

/// One RDMP PFN range entry: `(first PFN, page count)`.
pub(crate) fn rdmp_range(i: &[u8]) -> IResult<&[u8], (u64, u64)> {
    tuple((le_u64, le_u64))(i)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    /// A DUMP_HEADER64 laid out by offsets from the published structure, independent of the
    /// sequential parser.
    fn header_bytes() -> Vec<u8> {
        let mut h = b"PAGE".repeat(0x800);
        let mut put = |o: usize, b: &[u8]| h[o..o + b.len()].copy_from_slice(b);
        put(0, b"PAGEDU64");
        put(0x8, &0xFu32.to_le_bytes());
        put(0xC, &19041u32.to_le_bytes());
        put(0x10, &0x1aa000u64.to_le_bytes());
        put(0x20, &0xffff_f800_0001_1234u64.to_le_bytes());
        put(0x30, &0x8664u32.to_le_bytes());
        put(0x38, &0xE2u32.to_le_bytes());
        put(0x48, &7u64.to_le_bytes());
        put(0x80, &0xffff_f800_0000_5000u64.to_le_bytes());
        put(0x88, &2u32.to_le_bytes());
        put(0x90, &5u64.to_le_bytes());
        put(0x98, &1u64.to_le_bytes());
        put(0xA0, &2u64.to_le_bytes());
        put(0xA8, &0x100u64.to_le_bytes());
        put(0xB0, &3u64.to_le_bytes());
        put(0xF98, &1u32.to_le_bytes());
        put(0xFA8, &0x01d9_0000_0000_0000u64.to_le_bytes());
        put(0x1030, &12345u64.to_le_bytes());
        h
    }

    #[test]
    fn dump_header64_fields_at_their_offsets() {
        let h = header_bytes();
        let (_, raw) = dump_header64(&h).unwrap();
        let d = raw.header;
        assert_eq!(d.major_version, 0xF);
        assert_eq!(d.minor_version, 19041);
        assert_eq!(d.directory_table_base, 0x1aa000);
        assert_eq!(d.pfn_database, 0, "PAGE fill reads as 0");
        assert_eq!(d.ps_loaded_module_list, 0xffff_f800_0001_1234);
        assert_eq!(d.machine_image_type, 0x8664);
        assert_eq!(d.number_processors, 0);
        assert_eq!(d.bugcheck_code, 0xE2);
        assert_eq!(d.bugcheck_parameters, [0, 7, 0, 0]);
        assert_eq!(d.kd_debugger_data_block, 0xffff_f800_0000_5000);
        assert_eq!(raw.number_of_runs, 2);
        assert_eq!(d.number_of_pages, 5);
        assert_eq!(d.dump_type, 1);
        assert_eq!(d.system_time, 0x01d9_0000_0000_0000);
        assert_eq!(d.system_up_time, 12345);
        assert_eq!(runs(&h, 2).unwrap().1, vec![(1, 2), (0x100, 3)]);
        assert_eq!(runs(&h, 1000).unwrap().1.len(), MAX_RUNS as usize);
    }

    #[test]
    fn short_headers_are_errors_not_panics() {
        let h = header_bytes();
        assert!(dump_header64(&h[..0x1037]).is_err());
        assert!(triage_dump64(&[0u8; 0x7F]).is_err());
        assert!(rdmp_header(&[0u8; 0x2F]).is_err());
    }

    #[test]
    fn triage_and_rdmp_fields() {
        let mut t = vec![0u8; TRIAGE_HEADER_SIZE];
        t[0x08..0x0C].copy_from_slice(&0x1234u32.to_le_bytes());
        t[0x34..0x38].copy_from_slice(&17u32.to_le_bytes());
        t[0x48..0x50].copy_from_slice(&0xffff_8000_0000_1000u64.to_le_bytes());
        t[0x60..0x68].copy_from_slice(&0xabcu64.to_le_bytes());
        t[0x70..0x74].copy_from_slice(&0x99u32.to_le_bytes());
        t[0x7C..0x80].copy_from_slice(&3u32.to_le_bytes());
        let (_, i) = triage_dump64(&t).unwrap();
        assert_eq!(i.valid_offset, 0x1234);
        assert_eq!(i.driver_count, 17);
        assert_eq!(i.top_of_stack, 0xffff_8000_0000_1000);
        assert_eq!(i.data_page_address, 0xabc);
        assert_eq!(i.debugger_data_offset, 0x99);
        assert_eq!(i.data_block_count, 3);

        let mut r = vec![0u8; RDMP_HEADER_SIZE];
        r[0..4].copy_from_slice(&0x40u32.to_le_bytes());
        r[4..12].copy_from_slice(b"RDMPDUMP");
        r[0x10..0x18].copy_from_slice(&0x20u64.to_le_bytes());
        r[0x18..0x20].copy_from_slice(&0x2040u64.to_le_bytes());
        r[0x28..0x30].copy_from_slice(&9u64.to_le_bytes());
        let (_, h) = rdmp_header(&r).unwrap();
        assert_eq!(
            h,
            RdmpHeader {
                marker: 0x40,
                signature: *b"RDMPDUMP",
                metadata_size: 0x20,
                first_page: 0x2040,
                total_pages: 9
            }
        );
    }
}
