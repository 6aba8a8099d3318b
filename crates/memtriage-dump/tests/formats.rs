//! Every reader on synthetic files written by `common`: exact bytes at exact physical
//! addresses (the expected bytes are `pattern_byte(pa)`, or the file bytes at a hand-computed
//! offset), reads across page/run boundaries, holes, ranges, zero-copy slices.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use memtriage_dump::{open, open_raw, DumpFormat, PhysError, PhysRange, PhysicalMemory};

fn read(m: &dyn PhysicalMemory, pa: u64, len: usize) -> Result<Vec<u8>, PhysError> {
    let mut b = vec![0u8; len];
    m.read_phys(pa, &mut b).map(|_| b)
}

fn r(start: u64, len: u64) -> PhysRange {
    PhysRange { start, len }
}

#[test]
fn full_dump_three_runs_with_holes() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("capture.bin"); // the name says nothing about the format
                                            // Runs: pages 1-2, 5-7, 8-9 (the last two physically adjacent).
    write_full(&p, &[(1, 2), (5, 3), (8, 2)], None);
    let m = open(&p).unwrap();
    let md = m.metadata();
    assert_eq!(md.format, DumpFormat::CrashDumpFull);
    assert_eq!(md.file_size, 0x2000 + 7 * 0x1000);
    assert!(md.warnings.is_empty(), "{:?}", md.warnings);
    assert_eq!(m.ranges(), &[r(0x1000, 0x2000), r(0x5000, 0x5000)]);
    assert_eq!(m.total_bytes(), 0x7000);

    // Exact bytes: pa 0x5123 is page 5 = 3rd stored page → file offset 0x2000 + 2*0x1000 + 0x123.
    let file = std::fs::read(&p).unwrap();
    assert_eq!(read(&*m, 0x5123, 1).unwrap(), [file[0x4123]]);
    assert_eq!(read(&*m, 0x5123, 1).unwrap(), [pattern_byte(0x5123)]);
    assert_eq!(
        m.read_u64(0x1000).unwrap(),
        u64::from_le_bytes(file[0x2000..0x2008].try_into().unwrap())
    );
    // Page boundary inside a run, and a run boundary (page 7 → page 8).
    assert_eq!(read(&*m, 0x1ff8, 16).unwrap(), expected(0x1ff8, 16));
    assert_eq!(read(&*m, 0x7ff0, 0x20).unwrap(), expected(0x7ff0, 0x20));
    assert_eq!(read(&*m, 0x1000, 0x2000).unwrap(), expected(0x1000, 0x2000));
    // Holes: the exact first missing address.
    assert_eq!(read(&*m, 0, 4), Err(PhysError::NotInDump { pa: 0 }));
    assert_eq!(
        read(&*m, 0x2ff0, 0x20),
        Err(PhysError::NotInDump { pa: 0x3000 })
    );
    assert_eq!(
        read(&*m, 0x4fff, 2),
        Err(PhysError::NotInDump { pa: 0x4fff })
    );
    assert_eq!(
        read(&*m, 0x9ff8, 16),
        Err(PhysError::NotInDump { pa: 0xa000 })
    );
    assert_eq!(
        read(&*m, u64::MAX - 3, 8),
        Err(PhysError::NotInDump { pa: u64::MAX - 3 })
    );
    assert!(m.contains(0x9fff) && !m.contains(0xa000) && !m.contains(0x3000));
    // Zero-copy: runs 2 and 3 are contiguous in the file too.
    assert_eq!(m.slice(0x7ff0, 0x20).unwrap(), &expected(0x7ff0, 0x20)[..]);
    assert_eq!(m.slice(0x5000, 0x5000).unwrap().len(), 0x5000);
    assert!(m.slice(0x2ff0, 0x20).is_none());
    assert!(m.slice(0x3000, 1).is_none());
    // Header fields as written.
    let h = md.crash_dump.as_ref().unwrap();
    assert_eq!(h.dump_type, 1);
    assert_eq!(h.runs, vec![(1, 2), (5, 3), (8, 2)]);
    assert_eq!(h.number_of_pages, 7);
    assert_eq!(h.directory_table_base, 0x7_ffff_f000);
    assert_eq!(h.bugcheck_code, 0xE2);
    assert_eq!(h.bugcheck_parameters, [1, 2, 3, 4]);
    assert_eq!(h.system_up_time, 0, "PAGE-filled field reads as 0");
}

#[test]
fn full_dump_truncated_pages_warns_and_names_missing_range() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.dmp");
    // 7 pages promised, 4 written: pages 1,2,5,6 present; 7,8,9 missing.
    write_full(&p, &[(1, 2), (5, 3), (8, 2)], Some(4));
    let m = open(&p).unwrap();
    assert_eq!(m.ranges(), &[r(0x1000, 0x2000), r(0x5000, 0x2000)]);
    let w = m.metadata().warnings.join("\n");
    assert!(
        w.contains("0x7000-0x8000") && w.contains("0x8000-0xa000"),
        "{w}"
    );
    assert_eq!(
        read(&*m, 0x6ffc, 8),
        Err(PhysError::NotInDump { pa: 0x7000 })
    );
    assert_eq!(read(&*m, 0x6ff8, 8).unwrap(), expected(0x6ff8, 8));
}

#[test]
fn bitmap_dump_reads_and_ranges() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bitmap.raw");
    let present = [0u64, 1, 2, 63, 64, 65, 511, 512, 513, 700, 999];
    write_bitmap(&p, 5, 1000, &present, b"SDMP");
    let m = open(&p).unwrap();
    let md = m.metadata();
    assert_eq!(md.format, DumpFormat::CrashDumpBitmap);
    assert!(md.warnings.is_empty(), "{:?}", md.warnings);
    assert_eq!(
        m.ranges(),
        &[
            r(0, 0x3000),
            r(63 * 0x1000, 0x3000),
            r(511 * 0x1000, 0x3000),
            r(700 * 0x1000, 0x1000),
            r(999 * 0x1000, 0x1000),
        ]
    );
    // Exact byte through the file: page 512 is the 8th present page; the first page sits
    // at the page boundary after 0x2038 + 125 bitmap bytes = 0x3000.
    let file = std::fs::read(&p).unwrap();
    assert_eq!(
        read(&*m, 512 * 0x1000 + 0x10, 1).unwrap(),
        [file[0x3000 + 7 * 0x1000 + 0x10]]
    );
    for &pfn in &present {
        assert_eq!(
            read(&*m, pfn * 0x1000, 0x1000).unwrap(),
            page_bytes(pfn),
            "pfn {pfn}"
        );
    }
    // Across word (63→64) and rank-block (511→512) boundaries.
    assert_eq!(
        read(&*m, 64 * 0x1000 - 8, 16).unwrap(),
        expected(64 * 0x1000 - 8, 16)
    );
    assert_eq!(
        read(&*m, 512 * 0x1000 - 8, 16).unwrap(),
        expected(512 * 0x1000 - 8, 16)
    );
    assert_eq!(
        read(&*m, 0x2ff8, 16),
        Err(PhysError::NotInDump { pa: 0x3000 })
    );
    assert_eq!(
        read(&*m, 1000 * 0x1000, 1),
        Err(PhysError::NotInDump { pa: 1000 * 0x1000 })
    );
    assert_eq!(
        read(&*m, 998 * 0x1000, 1),
        Err(PhysError::NotInDump { pa: 998 * 0x1000 })
    );
    // Zero-copy across consecutive present pages, not across a hole.
    assert_eq!(
        m.slice(63 * 0x1000, 0x3000).unwrap(),
        &expected(63 * 0x1000, 0x3000)[..]
    );
    assert!(m.slice(0x2000, 0x1001).is_none());
    assert!(m.slice(3 * 0x1000, 4).is_none());
    assert_eq!(m.slice(999 * 0x1000, 0x1000).unwrap(), &page_bytes(999)[..]);
    assert!(m.slice(999 * 0x1000, 0x1001).is_none());
}

/// A deterministic pseudo-random page set over 70 000 frames: every present page reads back
/// whole, every absent one fails at its first byte, ranges match the set.
#[test]
fn bitmap_dump_rank_index_on_many_pages() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big.bin");
    let bits = 70_000u64;
    let mut x = 0x1234_5678u64;
    let present: Vec<u64> = (0..bits)
        .filter(|_| {
            x = x
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            (x >> 33) % 7 == 3
        })
        .collect();
    write_bitmap(&p, 6, bits, &present, b"FDMP");
    let m = open(&p).unwrap();
    assert_eq!(m.metadata().format, DumpFormat::CrashDumpLiveKernelBitmap);
    assert!(m.metadata().warnings.is_empty());
    assert_eq!(m.total_bytes(), present.len() as u64 * 0x1000);
    let set: std::collections::HashSet<u64> = present.iter().copied().collect();
    for pfn in 0..bits {
        let got = read(&*m, pfn * 0x1000 + 0x7f8, 8);
        if set.contains(&pfn) {
            assert_eq!(got.unwrap(), expected(pfn * 0x1000 + 0x7f8, 8), "pfn {pfn}");
        } else {
            assert_eq!(
                got,
                Err(PhysError::NotInDump {
                    pa: pfn * 0x1000 + 0x7f8
                })
            );
        }
    }
    let pages_in_ranges: u64 = m.ranges().iter().map(|r| r.len / 0x1000).sum();
    assert_eq!(pages_in_ranges, present.len() as u64);
    for w in m.ranges().windows(2) {
        assert!(w[0].end() < w[1].start, "ranges merged and sorted");
    }
}

#[test]
fn bitmap_dump_truncated_file_warns() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("bt.dmp");
    write_bitmap(&p, 5, 128, &[3, 4, 5, 6, 100], b"SDMP");
    // Drop the last two stored pages (pfn 6 and 100).
    let f = std::fs::OpenOptions::new().write(true).open(&p).unwrap();
    let len = f.metadata().unwrap().len();
    f.set_len(len - 0x2000).unwrap();
    let m = open(&p).unwrap();
    let w = m.metadata().warnings.join("\n");
    assert!(
        w.contains("0x6000-0x7000") && w.contains("0x64000-0x65000"),
        "{w}"
    );
    assert_eq!(m.ranges(), &[r(0x3000, 0x3000)]);
    assert_eq!(
        read(&*m, 0x5ffc, 8),
        Err(PhysError::NotInDump { pa: 0x6000 })
    );
    assert_eq!(read(&*m, 0x5ff8, 8).unwrap(), expected(0x5ff8, 8));
}

#[test]
fn rdmp_dumps_kernel_and_complete() {
    let dir = tempfile::tempdir().unwrap();
    for (ty, fmt) in [
        (8, DumpFormat::CrashDumpKernel),
        (9, DumpFormat::CrashDumpKernelUser),
        (10, DumpFormat::CrashDumpComplete),
    ] {
        let p = dir.path().join(format!("r{ty}"));
        write_rdmp(&p, ty, &[(1, 3), (0x10, 2), (0x12, 1), (0x400, 4)]);
        let m = open(&p).unwrap();
        assert_eq!(m.metadata().format, fmt);
        assert!(
            m.metadata().warnings.is_empty(),
            "{:?}",
            m.metadata().warnings
        );
        assert_eq!(
            m.ranges(),
            &[r(0x1000, 0x3000), r(0x10000, 0x3000), r(0x400000, 0x4000)]
        );
        assert_eq!(read(&*m, 0x11ff0, 0x20).unwrap(), expected(0x11ff0, 0x20));
        assert_eq!(read(&*m, 0x403ff8, 8).unwrap(), expected(0x403ff8, 8));
        assert_eq!(
            read(&*m, 0x3ff8, 16),
            Err(PhysError::NotInDump { pa: 0x4000 })
        );
        assert_eq!(read(&*m, 0, 1), Err(PhysError::NotInDump { pa: 0 }));
    }
}

#[test]
fn elf_core_with_qemu_note() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("guest.dmp"); // an ELF core named like a crash dump
    write_elf(
        &p,
        &[
            Load {
                paddr: 0,
                filesz: 0x3000,
                memsz: 0x3000,
            },
            Load {
                paddr: 0x10000,
                filesz: 0x2000,
                memsz: 0x4000,
            },
            Load {
                paddr: 0x3000,
                filesz: 0x1000,
                memsz: 0x1000,
            },
        ],
        (0x8005_0033, 0x1ad000, 0x3506f8),
    );
    let m = open(&p).unwrap();
    let md = m.metadata();
    assert_eq!(md.format, DumpFormat::ElfCore);
    let cpu = md.elf_cpu.as_ref().expect("QEMU note");
    assert_eq!(
        (cpu.cr0, cpu.cr3, cpu.cr4),
        (0x8005_0033, 0x1ad000, 0x3506f8)
    );
    // [0, 0x3000) and [0x3000, 0x4000) touch physically: one range.
    assert_eq!(m.ranges(), &[r(0, 0x4000), r(0x10000, 0x2000)]);
    let w = md.warnings.join("\n");
    assert!(w.contains("0x12000-0x14000"), "{w}");
    assert_eq!(read(&*m, 0x2ff0, 0x20).unwrap(), expected(0x2ff0, 0x20));
    assert!(
        m.slice(0x2ff0, 0x20).is_none(),
        "not contiguous in the file"
    );
    assert_eq!(
        m.slice(0x10000, 0x2000).unwrap(),
        &expected(0x10000, 0x2000)[..]
    );
    assert_eq!(
        read(&*m, 0x11ff8, 16),
        Err(PhysError::NotInDump { pa: 0x12000 })
    );
    assert_eq!(
        read(&*m, 0x4000, 1),
        Err(PhysError::NotInDump { pa: 0x4000 })
    );
}

#[test]
fn raw_image_and_sparse_file() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("memory.dmp"); // a raw image named like a crash dump
    write_raw(&p, 4);
    {
        use std::io::Write;
        let mut f = std::fs::OpenOptions::new().append(true).open(&p).unwrap();
        f.write_all(&expected(0x4000, 100)).unwrap();
    }
    let m = open(&p).unwrap();
    assert_eq!(m.metadata().format, DumpFormat::Raw);
    assert_eq!(m.metadata().file_size, 0x4000 + 100);
    assert_eq!(m.ranges(), &[r(0, 0x4000 + 100)]);
    assert_eq!(read(&*m, 0x3ff0, 0x20).unwrap(), expected(0x3ff0, 0x20));
    assert_eq!(
        read(&*m, 0x4000 + 96, 8),
        Err(PhysError::NotInDump { pa: 0x4000 + 100 })
    );
    assert_eq!(m.slice(0, 0x4000 + 100).unwrap(), &expected(0, 0x4064)[..]);
    assert!(m.slice(0, 0x4000 + 101).is_none());

    // A 1 GiB sparse raw image with one written page.
    let s = dir.path().join("sparse");
    let f = std::fs::File::create(&s).unwrap();
    f.set_len(1 << 30).unwrap();
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = f;
        f.seek(SeekFrom::Start(0x2000_0000)).unwrap();
        f.write_all(&page_bytes(0x20000)).unwrap();
    }
    let m = open(&s).unwrap();
    assert_eq!(m.ranges(), &[r(0, 1 << 30)]);
    assert_eq!(
        m.read_u64(0x2000_0008).unwrap(),
        u64::from_le_bytes(expected(0x2000_0008, 8).try_into().unwrap())
    );
    assert_eq!(m.read_u64(0x1000).unwrap(), 0);
}

#[test]
fn open_raw_ignores_the_magic() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("d");
    write_full(&p, &[(1, 1)], None);
    let m = open_raw(&p).unwrap();
    assert_eq!(m.metadata().format, DumpFormat::Raw);
    assert_eq!(read(&*m, 0, 8).unwrap(), b"PAGEDU64");
    assert_eq!(read(&*m, 0x2000, 8).unwrap(), expected(0x1000, 8));
}

#[test]
fn elf_core_from_virtualbox() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("vbox.core");
    let loads = [
        Load {
            paddr: 0,
            filesz: 0xa0000,
            memsz: 0xa0000,
        },
        // An MMIO range: described, not stored.
        Load {
            paddr: 0xa0000,
            filesz: 0,
            memsz: 0x20000,
        },
        Load {
            paddr: 0x100000,
            filesz: 0x3000,
            memsz: 0x3000,
        },
    ];
    write_elf_with_notes(
        &p,
        &loads,
        &vbox_notes((0x8001_0031, 0x1ad000, 0x370678), 0x10006),
    );
    let m = open(&p).unwrap();
    let cpu = m.metadata().elf_cpu.clone().expect("VBCPU note");
    assert_eq!(
        (cpu.cr0, cpu.cr3, cpu.cr4),
        (0x8001_0031, 0x1ad000, 0x370678)
    );
    assert_eq!(m.ranges(), &[r(0, 0xa0000), r(0x100000, 0x3000)]);
    assert!(m.metadata().warnings.join("\n").contains("0xa0000-0xc0000"));
    assert_eq!(read(&*m, 0x101ff8, 16).unwrap(), expected(0x101ff8, 16));
    assert_eq!(
        read(&*m, 0x9fff8, 16),
        Err(PhysError::NotInDump { pa: 0xa0000 })
    );

    // An older core format (CPUMCTX in the note): no CPU state, a warning, memory still read.
    write_elf_with_notes(&p, &loads, &vbox_notes((1, 2, 3), 0x10000));
    let m = open(&p).unwrap();
    assert!(m.metadata().elf_cpu.is_none());
    assert!(m.metadata().warnings.join("\n").contains("0x10000"));
    assert_eq!(read(&*m, 0x1000, 8).unwrap(), expected(0x1000, 8));
}

/// e_phnum = PN_XNUM (0xFFFF): the real count is sh_info of section header 0, as QEMU writes
/// it for guests with many memory ranges.
#[test]
fn elf_core_with_pn_xnum() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("xnum.elf");
    write_elf(
        &p,
        &[
            Load {
                paddr: 0x1000,
                filesz: 0x1000,
                memsz: 0x1000,
            },
            Load {
                paddr: 0x5000,
                filesz: 0x2000,
                memsz: 0x2000,
            },
        ],
        (1, 2, 3),
    );
    let mut b = std::fs::read(&p).unwrap();
    let shoff = b.len() as u64;
    b[0x28..0x30].copy_from_slice(&shoff.to_le_bytes());
    b[0x38..0x3a].copy_from_slice(&0xFFFFu16.to_le_bytes());
    let mut sh = vec![0u8; 64];
    sh[0x2C..0x30].copy_from_slice(&3u32.to_le_bytes()); // PT_NOTE + 2 PT_LOAD
    b.extend_from_slice(&sh);
    std::fs::write(&p, &b).unwrap();
    let m = open(&p).unwrap();
    assert_eq!(m.ranges(), &[r(0x1000, 0x1000), r(0x5000, 0x2000)]);
    assert_eq!(read(&*m, 0x6ff8, 8).unwrap(), expected(0x6ff8, 8));
    assert_eq!(m.metadata().elf_cpu.as_ref().unwrap().cr3, 2);
}
