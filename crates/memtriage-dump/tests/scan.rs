//! The shared physical pass (`scan::scan_windows`) on real capture files: every stored byte is
//! handed over exactly once, with the bytes the synthetic writers put there (`pattern_byte`,
//! a formula independent of the readers), borrowed from the memory map where the format stores
//! the window contiguously.

#![allow(clippy::unwrap_used, missing_docs)]

mod common;

use common::{expected, write_bitmap, write_elf, write_full, write_raw, Load, PAGE};
use memtriage_dump::scan::{scan_windows, ScanOptions};
use memtriage_dump::{open, PhysRange};
use std::path::Path;

/// Scan `path` with small windows; check every window's bytes against the pattern and return
/// (covered ranges merged, windows borrowed from the mapping, windows copied).
fn scan(path: &Path, window: usize, overlap: usize) -> (Vec<PhysRange>, usize, usize) {
    let mem = open(path).unwrap();
    let opts = ScanOptions {
        window,
        overlap,
        skip_holes: false,
    };
    let windows = scan_windows(mem.as_ref(), opts, None, |w| {
        let all = w.with_overlap();
        assert_eq!(
            all,
            expected(w.pa(), all.len()).as_slice(),
            "window at {:#x}",
            w.pa()
        );
        assert!(w.bytes().len() <= all.len());
        (w.pa(), w.bytes().len() as u64, w.is_mapped())
    });
    let mut covered: Vec<PhysRange> = Vec::new();
    for &(pa, len, _) in &windows {
        match covered.last_mut() {
            Some(r) if r.end() == pa => r.len += len,
            Some(r) => {
                assert!(
                    r.end() < pa,
                    "windows overlap or are out of order at {pa:#x}"
                );
                covered.push(PhysRange { start: pa, len });
            }
            None => covered.push(PhysRange { start: pa, len }),
        }
    }
    assert_eq!(
        covered,
        mem.ranges(),
        "windows cover exactly the capture's ranges"
    );
    let mapped = windows.iter().filter(|w| w.2).count();
    (covered, mapped, windows.len() - mapped)
}

#[test]
fn raw_image_windows_are_zero_copy_and_cover_every_byte() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("raw.img");
    write_raw(&path, 300);
    let (covered, mapped, copied) = scan(&path, 0x10000, 0x100);
    assert_eq!(
        covered,
        vec![PhysRange {
            start: 0,
            len: 300 * PAGE
        }]
    );
    // 300 pages in 16-page windows: 19 windows, all borrowed.
    assert_eq!((mapped, copied), (19, 0));
}

#[test]
fn full_dump_runs_with_holes_are_scanned_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("full.dmp");
    write_full(&path, &[(1, 0x9f), (0x100, 0x30), (0x200, 0x11)], None);
    let (_, mapped, copied) = scan(&path, 0x8000, 0x20);
    // Windows of 8 pages aligned to 8 pages: run 1..0xa0 gives 20, 0x100..0x130 six,
    // 0x200..0x211 three.
    assert_eq!((mapped, copied), (29, 0));
}

#[test]
fn bitmap_dump_present_runs_are_scanned_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bitmap.dmp");
    // Every other group of 8 frames present over 128 frames: 8 runs of 8 pages.
    let present: Vec<u64> = (0..128).filter(|p| (p >> 3) & 1 == 0).collect();
    write_bitmap(&path, 5, 128, &present, b"SDMP");
    let (covered, mapped, copied) = scan(&path, 0x4000, 0x100);
    assert_eq!(covered.len(), 8);
    assert_eq!((mapped, copied), (16, 0));
}

#[test]
fn elf_core_loads_are_scanned_in_place_and_unstored_bytes_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("core.elf");
    write_elf(
        &path,
        &[
            Load {
                paddr: 0,
                filesz: 0xa0 * PAGE,
                memsz: 0xa0 * PAGE,
            },
            Load {
                paddr: 0x10_0000,
                filesz: 0x40 * PAGE,
                memsz: 0x40 * PAGE,
            },
        ],
        (0, 0, 0),
    );
    let (covered, mapped, copied) = scan(&path, 0x20000, 0x1000);
    assert_eq!(
        covered,
        vec![
            PhysRange {
                start: 0,
                len: 0xa0 * PAGE
            },
            PhysRange {
                start: 0x10_0000,
                len: 0x40 * PAGE
            }
        ]
    );
    assert_eq!((mapped, copied), (5 + 2, 0));
}

#[test]
fn a_window_across_two_file_extents_is_copied() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("core.elf");
    // Physical 0..0x3000 and 0x3000..0x4000 are adjacent but stored apart in the file.
    write_elf(
        &path,
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
        (0, 0, 0),
    );
    let (covered, mapped, copied) = scan(&path, 0x2000, 0x100);
    assert_eq!(
        covered,
        vec![
            PhysRange {
                start: 0,
                len: 0x4000
            },
            PhysRange {
                start: 0x10000,
                len: 0x2000
            }
        ]
    );
    // [0, 0x2000) and [0x10000, 0x12000) borrowed; [0x2000, 0x4000) straddles: copied.
    assert_eq!((mapped, copied), (2, 1));
}

#[test]
fn holes_of_a_sparse_raw_image_are_skipped_on_request() {
    use std::io::{Seek, SeekFrom, Write};
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sparse.raw");
    // 64 pages; only pages 3..6 and 40..42 are written, the rest are holes.
    let mut f = std::fs::File::create(&path).unwrap();
    f.set_len(64 * PAGE).unwrap();
    for (first, count) in [(3u64, 3u64), (40, 2)] {
        f.seek(SeekFrom::Start(first * PAGE)).unwrap();
        f.write_all(&expected(first * PAGE, (count * PAGE) as usize))
            .unwrap();
    }
    f.sync_all().unwrap();
    drop(f);
    let file = std::fs::read(&path).unwrap();
    let mem = open(&path).unwrap();
    let scan = |skip_holes: bool| {
        let opts = ScanOptions {
            window: 0x8000,
            overlap: 0x800,
            skip_holes,
        };
        scan_windows(mem.as_ref(), opts, None, |w| {
            let at = w.pa() as usize;
            let all = w.with_overlap();
            assert_eq!(all, &file[at..at + all.len()], "window at {:#x}", w.pa());
            (w.pa(), w.bytes().len() as u64)
        })
    };
    // Without skipping: eight windows of eight pages.
    let all: Vec<(u64, u64)> = (0..8).map(|i| (i * 0x8000, 0x8000)).collect();
    assert_eq!(scan(false), all);
    // Skipping: the stored pages only, cut at window boundaries (page 40 starts window 5);
    // a file system without hole support stores everything.
    let stored = scan(true);
    let sparse = vec![(3 * PAGE, 3 * PAGE), (40 * PAGE, 2 * PAGE)];
    assert!(stored == sparse || stored == all, "{stored:x?}");
}
