//! Page files: software-PTE layouts of the builds, reads served from a page file, bad page
#![allow(clippy::unwrap_used)] // tests may unwrap
//! files and page-file PTEs that point past the end.

mod common;

use common::*;
use memtriage_paging::*;
use std::io::Write;
use std::path::PathBuf;

/// A page file of `pages` pages in a fresh temporary directory; page `i` is filled with the
/// byte `0x40 + i` and starts with its own index as a u64.
fn page_file(name: &str, pages: u64) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("memtriage-paging-pf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let mut f = std::fs::File::create(&path).unwrap();
    for i in 0..pages {
        let mut page = vec![0x40 + i as u8; 0x1000];
        page[..8].copy_from_slice(&i.to_le_bytes());
        f.write_all(&page).unwrap();
    }
    path
}

#[test]
fn layouts_of_the_builds() {
    // 19041's _MMPTE_SOFTWARE (testdata/isf): PageFileLow@12:4, SwizzleBit@4, PageFileHigh@32.
    let swizzled = SoftwarePteFormat::SWIZZLED;
    let raw = (0x1234u64 << 32) | (3 << 12) | (4 << 5) | (1 << 4);
    assert_eq!(
        swizzled.classify(raw),
        Some(SoftwareState::PageFile {
            file: 3,
            offset: 0x1234
        })
    );
    // Before the L1TF updates: PageFileLow@1:4, no swizzle.
    let raw = (0x1234u64 << 32) | (3 << 1) | (4 << 5);
    assert_eq!(
        SoftwarePteFormat::LEGACY.classify(raw),
        Some(SoftwareState::PageFile {
            file: 3,
            offset: 0x1234
        })
    );
    // The same entry read with the new layout is page file 0 (bits 12..=15 are clear).
    assert_eq!(
        swizzled.classify(raw),
        Some(SoftwareState::PageFile {
            file: 0,
            offset: 0x1234
        })
    );
}

#[test]
fn swizzled_entries_are_unswizzled_with_the_invalid_pte_mask() {
    // MiState.Hardware.InvalidPteMask with bit 35 set: a swizzled PTE (SwizzleBit clear) stores
    // PageFileHigh XOR 0x8; an unswizzled one (SwizzleBit set) stores it as is.
    let f = SoftwarePteFormat::SWIZZLED.with_invalid_pte_mask(0x0000_0008_0000_0000);
    let stored = (0x123Cu64 << 32) | (1 << 12) | (4 << 5);
    assert!(f.is_swizzled(stored));
    assert_eq!(
        f.classify(stored),
        Some(SoftwareState::PageFile {
            file: 1,
            offset: 0x1234
        })
    );
    let plain = (0x1234u64 << 32) | (1 << 12) | (4 << 5) | (1 << 4);
    assert!(!f.is_swizzled(plain));
    assert_eq!(
        f.classify(plain),
        Some(SoftwareState::PageFile {
            file: 1,
            offset: 0x1234
        })
    );
    // A swizzled demand-zero PTE: its stored high half is the mask's, unswizzled 0.
    let dz = (0x8u64 << 32) | (4 << 5);
    assert_eq!(f.classify(dz), Some(SoftwareState::DemandZero { raw: dz }));
    // Prototype and transition entries are not page-file entries whatever the high half.
    assert!(matches!(
        f.classify((0x1234 << 32) | PROTO),
        Some(SoftwareState::Prototype { .. })
    ));
    assert_eq!(f.classify((0x1234 << 32) | TRANS), None);
}

#[test]
fn specs_parse_file_and_number() {
    let s: PageFileSpec = "pagefile.sys".parse().unwrap();
    assert_eq!((s.number, s.path), (0, PathBuf::from("pagefile.sys")));
    let s: PageFileSpec = "2=/evidence/swapfile.sys".parse().unwrap();
    assert_eq!(
        (s.number, s.path),
        (2, PathBuf::from("/evidence/swapfile.sys"))
    );
    // A path with '=' whose left side is not a number is a path.
    let s: PageFileSpec = "a=b".parse().unwrap();
    assert_eq!((s.number, s.path), (0, PathBuf::from("a=b")));
    for bad in ["", "16=x", "1=", "999=x"] {
        let e = bad.parse::<PageFileSpec>().unwrap_err();
        assert!(e.to_string().contains("use FILE or N=FILE"), "{bad}: {e}");
    }
}

#[test]
fn files_that_are_not_page_files_are_refused_in_one_line() {
    let dir = page_file("ok.sys", 1).parent().unwrap().to_path_buf();
    let small = dir.join("small.sys");
    std::fs::write(&small, [0u8; 100]).unwrap();
    let ragged = dir.join("ragged.sys");
    std::fs::write(&ragged, vec![0u8; 0x1800]).unwrap();
    let empty = dir.join("empty.sys");
    std::fs::write(&empty, []).unwrap();
    for (path, what) in [
        (&small, "smaller than one 4096-byte page"),
        (&empty, "smaller than one 4096-byte page"),
        (&ragged, "not a whole number of 4096-byte pages"),
    ] {
        let e = PageFiles::open(&[PageFileSpec {
            number: 0,
            path: path.clone(),
        }])
        .unwrap_err();
        let msg = e.to_string();
        assert!(msg.starts_with(&path.display().to_string()), "{msg}");
        assert!(
            msg.contains("not a page file") && msg.contains(what),
            "{msg}"
        );
        assert!(!msg.contains('\n'), "{msg}");
    }
    let missing = dir.join("missing.sys");
    let e = PageFiles::open(&[PageFileSpec {
        number: 0,
        path: missing.clone(),
    }])
    .unwrap_err();
    assert!(e.to_string().starts_with(&missing.display().to_string()));
    let ok = dir.join("ok.sys");
    let e = PageFiles::open(&[
        PageFileSpec {
            number: 1,
            path: ok.clone(),
        },
        PageFileSpec {
            number: 1,
            path: ok.clone(),
        },
    ])
    .unwrap_err();
    assert!(
        matches!(e, PageFileError::Duplicate { number: 1, .. }),
        "{e}"
    );
}

/// One process-like space: page 0 valid, pages 1 and 2 in page file 0 at pages 2 and 5,
/// page 3 in page file 1 at page 0, page 4 in page file 0 past its end.
fn paged_space() -> (AddressSpace, u64) {
    let mut pt = Pt::new(PagingMode::Level4);
    let base = 0x7FF6_0000_0000u64;
    let data = pt.alloc();
    pt.mem.write(data, &[0xAA; 0x1000]);
    pt.map4k(base, data, W | U);
    let pf = |file: u64, page: u64| (page << 32) | (file << 12) | (4 << 5);
    pt.set(base + 0x1000, 1, pf(0, 2));
    pt.set(base + 0x2000, 1, pf(0, 5));
    pt.set(base + 0x3000, 1, pf(1, 0x1));
    pt.set(base + 0x4000, 1, pf(0, 0x99));
    (pt.space(), base)
}

#[test]
fn page_file_pages_are_read_from_the_page_file() {
    let (space, base) = paged_space();
    let files = PageFiles::open(&[PageFileSpec {
        number: 0,
        path: page_file("pf0.sys", 8),
    }])
    .unwrap();
    assert!(files.warnings().is_empty());
    let with = space.clone().with_page_files(files.clone());
    // A read across the valid page and two paged-out pages.
    let (buf, report) = with.read_vec(base + 0xFF8, 0x2008);
    assert!(report.is_complete(), "{report:?}");
    assert_eq!(&buf[..8], &[0xAA; 8]);
    assert_eq!(&buf[8..16], &2u64.to_le_bytes());
    assert_eq!(buf[16], 0x42);
    assert_eq!(&buf[0x1008..0x1010], &5u64.to_le_bytes());
    assert_eq!(buf[0x1010], 0x45);
    assert_eq!(with.read_u64(base + 0x2000).unwrap(), 5);
    // Without the page file the same bytes are a hole naming the page-file page.
    let (_, report) = space.read_vec(base + 0x1000, 8);
    let hole = &report.holes[0];
    assert_eq!((hole.va, hole.len), (base + 0x1000, 8));
    assert!(
        hole.error
            .to_string()
            .contains("in page file 0 at page 0x2"),
        "{}",
        hole.error
    );
    // A page file that was not given (#1) stays a hole that names it.
    let e = with.read_u64(base + 0x3000).unwrap_err();
    assert!(e.to_string().contains("in page file 1 at page 0x1"), "{e}");
    // A page index past the end of the page file: a hole naming the page, no panic.
    let e = with.read_u64(base + 0x4000).unwrap_err();
    match &e {
        VirtError::PageFile {
            va,
            file: 0,
            page: 0x99,
            miss: PageFileMiss::PastEnd { offset, len, .. },
        } => {
            assert_eq!((*va, *offset, *len), (base + 0x4000, 0x99000, 0x8000));
        }
        other => panic!("{other:?}"),
    }
    assert!(e.to_string().contains("past the end of"), "{e}");
    // The miss is remembered once, for one warning naming the page.
    assert!(with.read_u8(base + 0x4010).is_err());
    let path = files.get(0).unwrap().path().display().to_string();
    assert_eq!(
        files.warnings(),
        vec![format!(
            "page file #0 {path}: 1 page(s) named by page-file PTEs lie past its end (0x8000 bytes), read as missing: page 0x99 (offset 0x99000)"
        )]
    );
    // with_dtb keeps the page files.
    let again = with.with_dtb(with.dtb());
    assert_eq!(again.read_u64(base + 0x1000).unwrap(), 2);
}

#[test]
fn the_swizzle_applies_to_reads() {
    let mut pt = Pt::new(PagingMode::Level4);
    let base = 0x1_0000_0000u64;
    // page 3 of the page file, stored swizzled with a mask whose high half is 0x10
    pt.set(base, 1, ((3u64 ^ 0x10) << 32) | (4 << 5));
    let files = PageFiles::open(&[PageFileSpec {
        number: 0,
        path: page_file("pf-swz.sys", 4),
    }])
    .unwrap();
    let plain = pt.space().with_page_files(files);
    assert!(plain.read_u64(base).is_err(), "0x13 is past the end");
    let fixed =
        plain.with_pte_format(SoftwarePteFormat::SWIZZLED.with_invalid_pte_mask(0x10 << 32));
    assert_eq!(fixed.read_u64(base).unwrap(), 3);
}

#[test]
fn paged_out_page_tables_are_read_from_the_page_file() {
    let mut pt = Pt::new(PagingMode::Level4);
    let base = 0x7FF7_0000_0000u64; // PT index 0 of its 2 MiB
    let data = pt.alloc();
    pt.mem.write(data, &[0xBB; 0x1000]);
    // The PT itself is page 1 of the page file; its entry 0 maps `data` (valid), entry 1 is
    // page 3 of the page file, entry 2 is demand zero.
    let mut table = vec![0u8; 0x1000];
    table[..8].copy_from_slice(&(data | P | W | U).to_le_bytes());
    table[8..16].copy_from_slice(&((3u64 << 32) | (4 << 5)).to_le_bytes());
    table[16..24].copy_from_slice(&(4u64 << 5).to_le_bytes());
    let path = page_file("pf-pt.sys", 4);
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[0x1000..0x2000].copy_from_slice(&table);
    std::fs::write(&path, &bytes).unwrap();
    pt.set(base, 2, (1u64 << 32) | (4 << 5)); // the PD entry: page file 0, page 1
    let files = PageFiles::open(&[PageFileSpec { number: 0, path }]).unwrap();
    let without = pt.space();
    let with = pt.space().with_page_files(files);

    // Without the page file the walk stops at the PD entry and names the table's page.
    match without.translate(base) {
        Err(TranslateError::NotPresent {
            level: 2,
            software: SoftwareState::PageFile { file: 0, offset: 1 },
            ..
        }) => {}
        other => panic!("{other:?}"),
    }
    // With it: through the paged-out PT to the frame in RAM, and to a page in the page file.
    let t = with.translate(base + 0x10).unwrap();
    assert_eq!(t.pa, data + 0x10);
    assert_eq!(with.read_u8(base + 0x10).unwrap(), 0xBB);
    assert_eq!(with.read_u64(base + 0x1000).unwrap(), 3);
    let walk = with.walk(base + 0x1000);
    let last = walk.steps.last().unwrap();
    assert_eq!(
        (last.level, last.page_file, last.entry_pa),
        (1, Some((0, 1)), 0x1008)
    );
    // Range enumeration descends into it too.
    let ranges = with.ranges(base, base + 0x20_0000);
    let states: Vec<_> = ranges
        .iter()
        .map(|r| (r.start - base, r.end - base, r.state))
        .collect();
    assert_eq!(
        states,
        vec![
            (0, 0x1000, RangeState::Valid),
            (0x1000, 0x2000, RangeState::PageFile),
            (0x2000, 0x3000, RangeState::DemandZero),
        ]
    );
    assert!(without.ranges(base, base + 0x20_0000).is_empty());
    // A paged-out table past the end of the page file: a typed error, no panic.
    let mut pt2 = Pt::new(PagingMode::Level4);
    pt2.set(base, 2, (0x50u64 << 32) | (4 << 5));
    let files = with.page_files().clone();
    let e = pt2
        .space()
        .with_page_files(files)
        .translate(base)
        .unwrap_err();
    assert_eq!(
        e,
        TranslateError::TableNotInPageFile {
            va: base,
            level: 1,
            file: 0,
            page: 0x50
        }
    );
}
