//! Inputs found by the fuzz targets in `fuzz/` (see docs/robustness.md), kept as regression
//! tests: each must open (or fail) cleanly, never panic.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use memtriage_dump::open;

/// An ELF64 core header with `phdrs` = (p_offset, p_paddr, p_filesz) PT_LOAD entries.
fn elf_core(phdrs: &[(u64, u64, u64)]) -> Vec<u8> {
    let mut d = vec![0u8; 64];
    d[..4].copy_from_slice(b"\x7fELF");
    d[4] = 2; // ELFCLASS64
    d[5] = 1; // little endian
    d[6] = 1;
    d[0x10..0x12].copy_from_slice(&4u16.to_le_bytes()); // ET_CORE
    d[0x12..0x14].copy_from_slice(&0x3Eu16.to_le_bytes()); // x86-64
    d[0x20..0x28].copy_from_slice(&64u64.to_le_bytes()); // e_phoff
    d[0x36..0x38].copy_from_slice(&56u16.to_le_bytes()); // e_phentsize
    d[0x38..0x3A].copy_from_slice(&(phdrs.len() as u16).to_le_bytes());
    for &(off, paddr, filesz) in phdrs {
        let mut p = vec![0u8; 56];
        p[..4].copy_from_slice(&1u32.to_le_bytes()); // PT_LOAD
        p[0x08..0x10].copy_from_slice(&off.to_le_bytes());
        p[0x18..0x20].copy_from_slice(&paddr.to_le_bytes());
        p[0x20..0x28].copy_from_slice(&filesz.to_le_bytes());
        p[0x28..0x30].copy_from_slice(&filesz.to_le_bytes());
        d.extend_from_slice(&p);
    }
    d.resize(0x2000, 0xAB);
    d
}

/// fuzz target `open_capture`: PT_LOAD segments whose missing parts together exceed 2^64 bytes
/// overflowed the sum in the "promise bytes the file does not hold" warning (a panic with
/// overflow checks on).
#[test]
fn elf_segments_missing_more_than_two_to_the_64_bytes() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("huge-segments.elf");
    let data = elf_core(&[
        (0x1000, 0, 0x8000_0000_0000_0000),
        (0x1000, 0x8000_0000_0000_0000, 0x7FFF_FFFF_FFFF_F000),
        (0x1000, 0x10_0000, 0x7FFF_FFFF_FFFF_0000),
    ]);
    std::fs::write(&p, &data).unwrap();
    let mem = open(&p).expect("opens with warnings");
    let meta = mem.metadata();
    assert!(
        meta.warnings
            .iter()
            .any(|w| w.contains("0xffffffffffffffff bytes")),
        "{:?}",
        meta.warnings
    );
    // The part that is in the file reads back.
    let mut b = [0u8; 16];
    mem.read_phys(0, &mut b).unwrap();
    assert_eq!(b, [0xAB; 16]);
}
