//! Oracle: kdmp-parser (an independent crash-dump reader) and memtriage must agree, page by
//! page, on full, bitmap and RDMP dumps written by `common`: the same set of physical pages,
//! and byte-identical contents for every page.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use kdmp_parser::gxa::{Gpa, Gxa};
use kdmp_parser::parse::KernelDumpParser;
use kdmp_parser::phys;
use memtriage_dump::open;
use std::collections::BTreeSet;
use std::path::Path;

fn agree(path: &Path) -> usize {
    let ours = open(path).unwrap();
    let theirs = KernelDumpParser::new(path).expect("kdmp-parser opens the file");
    let their_pages: BTreeSet<u64> = theirs.physmem().map(|(gpa, _)| gpa.u64()).collect();
    let our_pages: BTreeSet<u64> = ours
        .ranges()
        .iter()
        .flat_map(|r| (r.start..r.end()).step_by(0x1000))
        .collect();
    assert_eq!(our_pages, their_pages, "same physical pages");
    let reader = phys::Reader::new(&theirs);
    let mut a = vec![0u8; 0x1000];
    let mut b = vec![0u8; 0x1000];
    for &pa in &their_pages {
        reader.read_exact(Gpa::new(pa), &mut a).unwrap();
        ours.read_phys(pa, &mut b).unwrap();
        assert!(a == b, "page {pa:#x} differs");
        assert_eq!(
            a,
            page_bytes(pa / 0x1000),
            "page {pa:#x} is the written pattern"
        );
    }
    their_pages.len()
}

#[test]
fn full_dump_agrees_with_kdmp_parser() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("full.dmp");
    write_full(&p, &[(1, 2), (5, 3), (8, 2), (0x1000, 17)], None);
    assert_eq!(agree(&p), 24);
}

#[test]
fn bitmap_dumps_agree_with_kdmp_parser() {
    let dir = tempfile::tempdir().unwrap();
    let mut x = 99u64;
    let present: Vec<u64> = (0..5000u64)
        .filter(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 40) % 3 == 1
        })
        .collect();
    for (ty, sig) in [(5, b"SDMP"), (6, b"FDMP")] {
        let p = dir.path().join(format!("bmp{ty}.dmp"));
        write_bitmap(&p, ty, 5000, &present, sig);
        assert_eq!(agree(&p), present.len());
    }
}

#[test]
fn rdmp_dumps_agree_with_kdmp_parser() {
    let dir = tempfile::tempdir().unwrap();
    for ty in [8, 9, 10] {
        let p = dir.path().join(format!("rdmp{ty}.dmp"));
        write_rdmp(&p, ty, &[(1, 3), (0x10, 2), (0x12, 1), (0x400, 4)]);
        assert_eq!(agree(&p), 10);
    }
}

/// The real header-only full dump: kdmp-parser's header fields equal ours.
#[test]
fn real_full_dump_header_agrees_with_kdmp_parser() {
    let path = Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../testdata/dumps/fulldump-win10-x64-header-only.dmp"
    ));
    let ours = open(path).unwrap();
    let h = ours.metadata().crash_dump.clone().unwrap();
    let theirs = KernelDumpParser::new(path).expect("kdmp-parser opens the header");
    let t = theirs.headers();
    assert_eq!(t.major_version, h.major_version);
    assert_eq!(t.minor_version, h.minor_version);
    assert_eq!(t.directory_table_base, h.directory_table_base);
    assert_eq!(t.pfn_database, h.pfn_database);
    assert_eq!(t.ps_loaded_module_list, h.ps_loaded_module_list);
    assert_eq!(t.ps_active_process_head, h.ps_active_process_head);
    assert_eq!(t.machine_image_type, h.machine_image_type);
    assert_eq!(t.number_processors, h.number_processors);
    assert_eq!(t.bug_check_code, h.bugcheck_code);
    assert_eq!(t.bug_check_code_parameters, h.bugcheck_parameters);
    assert_eq!(t.kd_debugger_data_block, h.kd_debugger_data_block);
    assert_eq!(t.dump_type, h.dump_type);
    assert_eq!(t.system_time as u64, h.system_time);
    // kdmp-parser maps every page the runs promise (it never checks the file size).
    let promised: u64 = h.runs.iter().map(|r| r.1).sum();
    assert_eq!(theirs.physmem().len() as u64, promised);
}
