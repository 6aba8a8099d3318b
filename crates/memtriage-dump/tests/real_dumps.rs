//! The real files in testdata/dumps, against values read independently with Python `struct`
//! (see tests/expected_from_python.md).

#![allow(clippy::unwrap_used, clippy::expect_used)]

use memtriage_dump::{open, DumpFormat, PhysError, PhysRange};
use std::path::Path;

const FULL: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../testdata/dumps/fulldump-win10-x64-header-only.dmp"
);
const TRIAGE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../testdata/dumps/triage-win10-19041-x64.dmp"
);

#[test]
fn real_full_dump_header_only() {
    let m = open(Path::new(FULL)).expect("a header-only dump still opens");
    let md = m.metadata();
    assert_eq!(md.format, DumpFormat::CrashDumpFull);
    assert_eq!(md.file_size, 8192);
    let h = md.crash_dump.as_ref().unwrap();
    assert_eq!(h.dump_type, 1);
    assert_eq!(h.major_version, 15);
    assert_eq!(h.minor_version, 9200);
    assert_eq!(h.directory_table_base, 0x3e6b1a000);
    assert_eq!(h.pfn_database, 0xffffdf8000000000);
    assert_eq!(h.ps_loaded_module_list, 0xfffff80510a2a2b0);
    assert_eq!(h.ps_active_process_head, 0xfffff80510a1e060);
    assert_eq!(h.machine_image_type, 0x8664);
    assert_eq!(h.number_processors, 8);
    assert_eq!(h.bugcheck_code, 0);
    assert_eq!(h.bugcheck_parameters, [0; 4]);
    assert_eq!(h.kd_debugger_data_block, 0xfffff80510a00b20);
    assert_eq!(h.number_of_pages, 0x3ffc6f);
    assert_eq!(
        h.runs,
        vec![
            (0x1, 0x9f),
            (0x100, 0x7f7ef),
            (0x7fbff, 0x3e1),
            (0x100000, 0x380000)
        ]
    );
    assert_eq!(h.system_time, 0x1d64cb3a523a374);
    assert_eq!(
        h.system_up_time, 0,
        "PAGE-filled SystemUpTime reads as absent"
    );
    // No page is in the file: no ranges, a warning naming the missing physical ranges.
    assert_eq!(m.ranges(), &[] as &[PhysRange]);
    let w = md.warnings.join("\n");
    assert!(w.contains("does not hold"), "{w}");
    assert!(w.contains("0x1000-0xa0000"), "{w}");
    assert!(w.contains("0x100000000-0x480000000"), "{w}");
    let mut b = [0u8; 8];
    assert_eq!(
        m.read_phys(0x1000, &mut b),
        Err(PhysError::NotInDump { pa: 0x1000 })
    );
    assert_eq!(
        m.read_phys(0x3e6b1a000, &mut b),
        Err(PhysError::NotInDump { pa: 0x3e6b1a000 })
    );
}

#[test]
fn real_triage_dump() {
    let m = open(Path::new(TRIAGE)).unwrap();
    let md = m.metadata();
    assert_eq!(md.format, DumpFormat::CrashDumpTriage);
    assert_eq!(md.file_size, 1444532);
    let h = md.crash_dump.as_ref().unwrap();
    assert_eq!(h.dump_type, 4);
    assert_eq!(h.major_version, 15);
    assert_eq!(h.minor_version, 19041);
    assert_eq!(h.directory_table_base, 0x1ad000);
    assert_eq!(h.bugcheck_code, 0x1000007e);
    assert_eq!(
        h.bugcheck_parameters,
        [
            0xffffffffc0000005,
            0xfffff8048b58334c,
            0xffff850429891ee8,
            0xffff850429891720
        ]
    );
    assert_eq!(h.number_processors, 16);
    assert_eq!(h.machine_image_type, 0x8664);
    assert_eq!(h.ps_active_process_head, 0xfffff8047c61e200);
    assert_eq!(h.ps_loaded_module_list, 0xfffff8047c62a390);
    assert_eq!(h.kd_debugger_data_block, 0xfffff8047c600b20);
    assert_eq!(h.system_time, 0x1d707f23dbb3399);
    assert_eq!(h.system_up_time, 0x23bc1e9);
    assert_eq!(h.number_of_pages, 0, "PAGE-filled PhysicalMemoryBlock");
    assert!(h.runs.is_empty());
    let t = md.triage.as_ref().unwrap();
    assert_eq!(t.driver_count, 151);
    assert_eq!(t.data_block_count, 1831);
    assert_eq!(t.driver_list_offset, 0x10828);
    assert_eq!(t.data_blocks_offset, 0x19438);
    assert_eq!(t.valid_offset, 0x13a288);
    assert_eq!(t.string_pool_offset, 0x15d18);
    assert_eq!(t.string_pool_size, 0x3720);
    assert_eq!(t.debugger_data_offset, 0x104a8);
    assert_eq!(t.debugger_data_size, 0x380);
    assert_eq!(t.context_offset, 0x348);
    assert!(m.ranges().is_empty());
    // Exactly one warning: the triage statement (no offset complaints on a consistent file).
    assert_eq!(md.warnings.len(), 1, "{:?}", md.warnings);
    assert!(md.warnings[0].contains("no full physical memory"));
    let mut b = [0u8; 1];
    assert_eq!(m.read_phys(0, &mut b), Err(PhysError::NotInDump { pa: 0 }));
}
