//! Bad input: no panic, an error naming the file or a usable capture with a warning.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use memtriage_dump::{open, DumpFormat, OpenError, PhysError, PhysRange};
use std::path::Path;

fn err_of(p: &Path) -> String {
    match open(p) {
        Ok(m) => panic!("{} opened as {:?}", p.display(), m.metadata().format),
        Err(e) => {
            let msg = e.to_string();
            assert!(
                msg.contains(&p.display().to_string()),
                "message names the file: {msg}"
            );
            assert!(!msg.contains('\n'), "one line: {msg}");
            msg
        }
    }
}

fn write(p: &Path, bytes: &[u8]) {
    std::fs::write(p, bytes).unwrap();
}

#[test]
fn empty_file_directory_missing_file() {
    let dir = tempfile::tempdir().unwrap();
    let e = dir.path().join("empty.raw");
    write(&e, b"");
    assert!(matches!(open(&e), Err(OpenError::Empty { .. })));
    assert!(err_of(&e).contains("empty"));
    let msg = err_of(dir.path());
    assert!(msg.contains("directory"), "{msg}");
    let missing = dir.path().join("nope.dmp");
    let msg = err_of(&missing);
    assert!(msg.contains("No such file"), "{msg}");
}

#[test]
fn garbage_is_a_raw_image() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("garbage.dmp");
    let g: Vec<u8> = (0..777u32).map(|i| (i * 31 % 251) as u8).collect();
    write(&p, &g);
    let m = open(&p).unwrap();
    assert_eq!(m.metadata().format, DumpFormat::Raw);
    assert_eq!(m.ranges(), &[PhysRange { start: 0, len: 777 }]);
}

#[test]
fn thirty_two_bit_dump_and_elf_unsupported() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("x86.dmp");
    let mut h = b"PAGEDUMP".to_vec();
    h.resize(0x1000, 0);
    write(&p, &h);
    assert!(matches!(open(&p), Err(OpenError::Unsupported { .. })));
    assert!(err_of(&p).contains("32-bit"));
    let e = dir.path().join("elf32");
    let mut h = b"\x7fELF\x01\x01\x01".to_vec();
    h.resize(0x100, 0);
    write(&e, &h);
    assert!(err_of(&e).contains("64-bit"));
    let e = dir.path().join("elfbe");
    let mut h = b"\x7fELF\x02\x02\x01".to_vec();
    h.resize(0x100, 0);
    write(&e, &h);
    assert!(err_of(&e).contains("big-endian"));
}

#[test]
fn truncated_headers() {
    let dir = tempfile::tempdir().unwrap();
    let full = Header::new(1).bytes();
    for len in [8usize, 0x88, 0x1000, 0x1fff] {
        let p = dir.path().join(format!("trunc{len}"));
        write(&p, &full[..len]);
        assert!(err_of(&p).contains("truncated"), "{len}");
    }
    // Bitmap dump cut inside its sub-header.
    let p = dir.path().join("bm");
    let mut b = Header::new(5).bytes();
    b.extend_from_slice(b"SDMPDUMP");
    b.extend_from_slice(&[0; 8]);
    write(&p, &b);
    assert!(err_of(&p).contains("truncated"));
    // ELF header cut short.
    let p = dir.path().join("elf");
    write(&p, b"\x7fELF\x02\x01\x01\0\0\0\0\0\0\0\0\0\x04\0");
    assert!(err_of(&p).contains("truncated"));
    // ELF program headers past the end.
    let p = dir.path().join("elfph");
    let mut e = vec![0u8; 64];
    e[..7].copy_from_slice(b"\x7fELF\x02\x01\x01");
    e[0x10] = 4;
    e[0x20..0x28].copy_from_slice(&64u64.to_le_bytes());
    e[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
    e[0x38..0x3a].copy_from_slice(&1000u16.to_le_bytes());
    write(&p, &e);
    assert!(err_of(&p).contains("past the end"));
    // Triage header cut short: opens, with a warning.
    let p = dir.path().join("tri");
    write(&p, &Header::new(4).bytes());
    let m = open(&p).unwrap();
    assert!(m.metadata().triage.is_none());
    assert!(m
        .metadata()
        .warnings
        .iter()
        .any(|w| w.contains("truncated")));
}

#[test]
fn runs_claiming_more_than_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("lies.dmp");
    // 1 TiB of pages promised, 2 pages written.
    write_full(&p, &[(0x10, 2), (0x1000, 0x1000_0000)], Some(2));
    let m = open(&p).unwrap();
    assert_eq!(
        m.ranges(),
        &[PhysRange {
            start: 0x10000,
            len: 0x2000
        }]
    );
    let w = m.metadata().warnings.join("\n");
    assert!(w.contains("0x1000000-0x10001000000"), "{w}");
    let mut b = [0u8; 8];
    assert_eq!(
        m.read_phys(0x1000000, &mut b),
        Err(PhysError::NotInDump { pa: 0x1000000 })
    );
}

#[test]
fn huge_number_of_runs_and_overflowing_runs() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("runs.dmp");
    let mut h = Header::new(1);
    h.runs = Some((0xFFFF_FFF0, 1, vec![(1, 1)]));
    write(&p, &h.bytes());
    assert!(err_of(&p).contains("NumberOfRuns"));
    // 44 runs: one more than fit before ContextRecord.
    h.runs = Some((44, 1, vec![(1, 1)]));
    write(&p, &h.bytes());
    assert!(err_of(&p).contains("NumberOfRuns"));
    // A run whose page count overflows the address space.
    h.runs = Some((1, 1, vec![(0x10, u64::MAX / 2)]));
    write(&p, &h.bytes());
    assert!(err_of(&p).contains("overflows"));
    h.runs = Some((1, 1, vec![(u64::MAX / 0x1000, 2)]));
    write(&p, &h.bytes());
    assert!(err_of(&p).contains("overflows"));
}

#[test]
fn overlapping_runs_warn_and_stay_usable() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("ov.dmp");
    // Pages 2..6 then 4..8: the second run's first two pages overlap.
    let mut h = Header::new(1);
    h.runs = Some((2, 8, vec![(2, 4), (4, 4)]));
    let mut b = h.bytes();
    for pfn in (2..6).chain(4..8) {
        b.extend_from_slice(&page_bytes(pfn));
    }
    write(&p, &b);
    let m = open(&p).unwrap();
    assert_eq!(
        m.ranges(),
        &[PhysRange {
            start: 0x2000,
            len: 0x6000
        }]
    );
    let w = m.metadata().warnings.join("\n");
    assert!(w.contains("overlap") && w.contains("0x4000-0x6000"), "{w}");
    let mut buf = vec![0u8; 0x6000];
    m.read_phys(0x2000, &mut buf).unwrap();
    assert_eq!(buf, expected(0x2000, 0x6000));
}

#[test]
fn bitmap_with_absurd_bit_count() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bits.dmp");
    write_bitmap(&p, 5, 64, &[1, 2], b"SDMP");
    // Claim 2^63 pages described.
    let mut b = std::fs::read(&p).unwrap();
    b[0x2030..0x2038].copy_from_slice(&(1u64 << 63).to_le_bytes());
    write(&p, &b);
    let m = open(&p).unwrap();
    let w = m.metadata().warnings.join("\n");
    assert!(w.contains("9223372036854775808"), "{w}");
    assert_eq!(
        m.ranges(),
        &[PhysRange {
            start: 0x1000,
            len: 0x2000
        }]
    );
    let mut buf = [0u8; 8];
    m.read_phys(0x2ff8, &mut buf).unwrap();
    assert_eq!(buf.to_vec(), expected(0x2ff8, 8));
    // Bad sub-header signature and a first page inside the headers: unusable.
    let mut bad = b.clone();
    bad[0x2000..0x2004].copy_from_slice(b"XXXX");
    write(&p, &bad);
    assert!(err_of(&p).contains("SDMP"));
    let mut bad = b.clone();
    bad[0x2020..0x2028].copy_from_slice(&0x100u64.to_le_bytes());
    write(&p, &bad);
    assert!(err_of(&p).contains("first-page offset"));
    // A bitmap that marks every page of 64 GiB present in a tiny file.
    let mut all = Header::new(5).bytes();
    let bits = 16u64 << 20;
    let first = 0x2038 + bits / 8;
    let mut sub = vec![0u8; 0x38];
    sub[..8].copy_from_slice(b"SDMPDUMP");
    sub[0x20..0x28].copy_from_slice(&first.to_le_bytes());
    sub[0x28..0x30].copy_from_slice(&bits.to_le_bytes());
    sub[0x30..0x38].copy_from_slice(&bits.to_le_bytes());
    all.extend_from_slice(&sub);
    all.resize(first as usize + 0x1000, 0xFF);
    write(&p, &all);
    let m = open(&p).unwrap();
    assert_eq!(
        m.ranges(),
        &[PhysRange {
            start: 0,
            len: 0x1000
        }]
    );
    let w = m.metadata().warnings.join("\n");
    assert!(w.contains(&format!("{} pages present", bits - 1)), "{w}");
}

#[test]
fn unknown_dump_type_and_bad_rdmp() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t3");
    write(&p, &Header::new(3).bytes());
    assert!(err_of(&p).contains("DumpType 3"));
    let p = dir.path().join("r");
    write_rdmp(&p, 10, &[(1, 1)]);
    let mut b = std::fs::read(&p).unwrap();
    b[0x2004..0x2008].copy_from_slice(b"XXXX");
    write(&p, &b);
    assert!(err_of(&p).contains("RDMP"));
    // PFN range entries claiming far more than the file holds: clipped, warned.
    let mut b = std::fs::read(&p).unwrap();
    b[0x2004..0x2008].copy_from_slice(b"RDMP");
    b[0x2010..0x2018].copy_from_slice(&(u64::MAX - 0x100).to_le_bytes());
    write(&p, &b);
    let m = open(&p).unwrap();
    assert!(!m.metadata().warnings.is_empty());
}
