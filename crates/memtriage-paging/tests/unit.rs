//! Unit tests of translation, reads, strings and range enumeration on hand-built tables.
#![allow(clippy::unwrap_used)] // tests may unwrap

mod common;

use common::*;
use memtriage_paging::*;

const K: u64 = 0xFFFF_F800_0000_0000; // a kernel-half address (PML4 index 0x1F0)

#[test]
fn translates_4k_page_with_effective_flags() {
    let mut pt = Pt::new(PagingMode::Level4);
    pt.map4k(0x7ff6_1234_5000, 0x5_6789_a000, W | U);
    pt.map4k(K + 0x3000, 0x4000, NX); // supervisor, read-only, NX
    let s = pt.space();
    let t = s.translate(0x7ff6_1234_5abc).unwrap();
    assert_eq!(
        t,
        Translation {
            va: 0x7ff6_1234_5abc,
            pa: 0x5_6789_aabc,
            page_size: PageSize::Size4K,
            state: PageState::Valid,
            writable: true,
            user: true,
            nx: false
        }
    );
    let t = s.translate(K + 0x3010).unwrap();
    assert_eq!(
        (t.pa, t.writable, t.user, t.nx),
        (0x4010, false, false, true)
    );
    // a read-only upper level makes the page read-only; NX above makes it NX
    let pdpte = pt.entry_pa(K + 0x3000, 3);
    let mut b = [0u8; 8];
    memtriage_dump::PhysicalMemory::read_phys(&pt.mem, pdpte, &mut b).unwrap();
    let e = u64::from_le_bytes(b);
    pt.mem.write_u64(pdpte, (e & !W) | NX);
    pt.map4k(K + 0x4000, 0x9000, W | U);
    let t = pt.space().translate(K + 0x4000).unwrap();
    assert_eq!((t.writable, t.user, t.nx), (false, true, true));
}

#[test]
fn walk_records_every_step() {
    let mut pt = Pt::new(PagingMode::Level4);
    let va = 0x0000_1234_5678_9000u64;
    pt.map4k(va, 0x7000, W);
    let s = pt.space();
    let w = s.walk(va + 5);
    assert_eq!(w.steps.len(), 4);
    assert_eq!(
        w.steps.iter().map(|s| s.level).collect::<Vec<_>>(),
        vec![4, 3, 2, 1]
    );
    assert_eq!(w.steps[0].entry_pa, pt.dtb + idx(va, 4) * 8);
    assert_eq!(w.steps[0].index as u64, idx(va, 4));
    assert_eq!(w.steps[3].index as u64, idx(va, 1));
    assert_eq!(w.steps[3].entry, 0x7000 | W | P);
    assert_eq!(w.result, s.translate(va + 5));
    assert_eq!(w.result.unwrap().pa, 0x7005);
}

#[test]
fn large_pages_and_pat_bit() {
    let mut pt = Pt::new(PagingMode::Level4);
    pt.set(K, 2, 0x4020_0000 | P | PS | W); // 2 MiB
    pt.set(K + (1 << 30), 3, 0x8000_0000 | P | PS); // 1 GiB
    pt.set(K + 0x20_0000, 2, 0x60_0000 | 0x1000 | P | PS); // PAT bit 12 set: still aligned
    let s = pt.space();
    let t = s.translate(K + 0x1_2345).unwrap();
    assert_eq!((t.pa, t.page_size), (0x4021_2345, PageSize::Size2M));
    assert_eq!(t.page_va(), K);
    let t = s.translate(K + (1 << 30) + 0x1234_5678).unwrap();
    assert_eq!((t.pa, t.page_size), (0x9234_5678, PageSize::Size1G));
    let t = s.translate(K + 0x20_0000 + 0x10).unwrap();
    assert_eq!(t.pa, 0x60_0010);
}

#[test]
fn misaligned_large_page_and_ps_in_pml4_are_bad_entries() {
    let mut pt = Pt::new(PagingMode::Level4);
    let e2 = 0x4020_2000 | P | PS;
    pt.set(K, 2, e2);
    let e3 = 0x8020_0000 | P | PS;
    pt.set(K + (1 << 30), 3, e3);
    let e4 = 0x8000_0000 | P | PS;
    pt.set(0x0000_0080_0000_0000, 4, e4);
    let s = pt.space();
    match s.translate(K + 5) {
        Err(TranslateError::BadEntry {
            va, level, entry, ..
        }) => assert_eq!((va, level, entry), (K + 5, 2, e2)),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        s.translate(K + (1 << 30)),
        Err(TranslateError::BadEntry { level: 3, entry, .. }) if entry == e3
    ));
    let err = s.translate(0x0000_0080_0000_0000).unwrap_err();
    assert!(matches!(err, TranslateError::BadEntry { level: 4, entry, .. } if entry == e4));
    assert!(err.to_string().contains("PML4"), "{err}");
    // ranges skip them and count them
    let scan = s.scan_ranges(0, u64::MAX, DEFAULT_MAX_TABLES);
    assert!(scan.ranges.is_empty(), "{:?}", scan.ranges);
    assert_eq!(scan.bad_entries, 3);
}

#[test]
fn non_canonical_addresses() {
    let pt = Pt::new(PagingMode::Level4);
    let s = pt.space();
    for va in [
        0x0000_8000_0000_0000u64,
        0xFFFF_7FFF_FFFF_FFFF,
        0x1000_0000_0000_0000,
    ] {
        assert_eq!(s.translate(va), Err(TranslateError::NonCanonical { va }));
    }
    assert!(is_canonical(0x0000_7FFF_FFFF_FFFF, PagingMode::Level4));
    assert!(is_canonical(0xFFFF_8000_0000_0000, PagingMode::Level4));
    assert!(!is_canonical(0x0000_8000_0000_0000, PagingMode::Level4));
    assert!(is_canonical(0x0000_8000_0000_0000, PagingMode::Level5));
    assert!(is_canonical(0xFF00_0000_0000_0000, PagingMode::Level5));
    assert!(!is_canonical(0xFE00_0000_0000_0000, PagingMode::Level5));
    assert!(!is_canonical(0x0100_0000_0000_0000, PagingMode::Level5));
    let e = s.read_u64(0x0000_8000_0000_0000).unwrap_err();
    assert_eq!(
        e,
        VirtError::Translate(TranslateError::NonCanonical {
            va: 0x0000_8000_0000_0000
        })
    );
    assert!(e.to_string().starts_with("0x800000000000:"), "{e}");
}

#[test]
fn tables_outside_capture_report_level_and_entry_pa() {
    let mut pt = Pt::new(PagingMode::Level4);
    // PML4 entry → PDPT frame that is not in the capture
    let va = 0x0000_0100_0000_3000u64;
    pt.set(va, 4, 0xAB_C000 | P | W | U);
    let s = pt.space();
    assert_eq!(
        s.translate(va),
        Err(TranslateError::NotInCapture {
            va,
            level: 3,
            pa: 0xAB_C000 + idx(va, 3) * 8
        })
    );
    let w = s.walk(va);
    assert_eq!(w.steps.len(), 1);
    // DTB itself missing
    let s2 = AddressSpace::new(s.memory().clone(), 0x7777_7000);
    assert_eq!(
        s2.translate(K),
        Err(TranslateError::NotInCapture {
            va: K,
            level: 4,
            pa: 0x7777_7000 + idx(K, 4) * 8
        })
    );
    let scan = s.scan_ranges(0, u64::MAX, DEFAULT_MAX_TABLES);
    assert_eq!(scan.tables_missing, 1);
    let scan2 = s2.scan_ranges(0, u64::MAX, DEFAULT_MAX_TABLES);
    assert_eq!((scan2.tables_missing, scan2.ranges.len()), (1, 0));
}

#[test]
fn dtb_low_bits_are_masked() {
    let mut pt = Pt::new(PagingMode::Level4);
    pt.map4k(0x5000, 0x9000, W);
    let s = AddressSpace::new(
        std::sync::Arc::new(pt.mem.clone()),
        pt.dtb | 0x1 | (1 << 63),
    );
    assert_eq!(s.dtb(), pt.dtb);
    assert_eq!(s.mode(), PagingMode::Level4);
    assert_eq!(s.translate(0x5008).unwrap().pa, 0x9008);
}

#[test]
fn self_reference_entry_translates_and_is_skipped_by_ranges() {
    let mut pt = Pt::new(PagingMode::Level4);
    let sr = 0x1EDu64;
    pt.mem.write_u64(pt.dtb + sr * 8, pt.dtb | P | W | NX);
    pt.map4k(0x7000, 0x9000, W | U);
    let s = pt.space();
    // PML4 self-map: the VA whose four indices are all 0x1ED maps the PML4 itself
    let va = canonicalize(
        (sr << 39) | (sr << 30) | (sr << 21) | (sr << 12),
        PagingMode::Level4,
    );
    assert_eq!(va, 0xFFFF_F6FB_7DBE_D000);
    let t = s.translate(va + 0x1ED * 8).unwrap();
    assert_eq!(t.pa, pt.dtb + 0x1ED * 8);
    assert_eq!(s.read_u64(va + sr * 8).unwrap(), pt.dtb | P | W | NX);
    // the PTE of 0x7000 through the self-map
    let pte_va = canonicalize((sr << 39) | (0x7000 >> 9), PagingMode::Level4);
    assert_eq!(s.read_u64(pte_va).unwrap(), 0x9000 | W | U | P);
    let scan = s.scan_ranges(0, u64::MAX, DEFAULT_MAX_TABLES);
    assert_eq!(scan.loops_skipped, 1);
    assert_eq!(
        scan.ranges,
        vec![MappedRange {
            start: 0x7000,
            end: 0x8000,
            state: RangeState::Valid,
            page_size: PageSize::Size4K,
            writable: true,
            user: true,
            nx: false
        }]
    );
}

#[test]
fn loops_terminate_and_work_is_bounded() {
    let mut pt = Pt::new(PagingMode::Level4);
    pt.map4k(0x1000, 0x9000, W | U);
    // PDPT entry 5 points back at the PML4 page
    let pdpte = pt.entry_pa(0x1000, 3) - idx(0x1000, 3) * 8 + 5 * 8;
    pt.mem.write_u64(pdpte, pt.dtb | P | W | U);
    // PD entry 7 points at its own PD page
    let pd_pa = pt.entry_pa(0x1000, 2) & !0xFFF;
    pt.mem.write_u64(pd_pa + 7 * 8, pd_pa | P | W | U);
    let s = pt.space();
    // translate through the loop: 5 << 30 walks PML4 → PDPT → (PML4 as PD) → ...
    let r = s.translate(5 << 30);
    assert!(r.is_ok() || r.is_err()); // terminates
    assert_eq!(s.walk(5 << 30).steps.len(), 4);
    let scan = s.scan_ranges(0, u64::MAX, DEFAULT_MAX_TABLES);
    assert_eq!(scan.loops_skipped, 2);
    assert_eq!(scan.tables_visited, 4);
    assert_eq!(scan.ranges.len(), 1);
    assert_eq!((scan.ranges[0].start, scan.ranges[0].end), (0x1000, 0x2000));
}

#[test]
fn shared_tables_are_bounded_by_the_budget() {
    // every entry of the PDPT and of the PD points at the same (full) lower table: a DAG
    // with 512 * 512 paths to one PT of 512 pages
    let mut pt = Pt::new(PagingMode::Level4);
    let pdpt = pt.alloc();
    let pd = pt.alloc();
    let ptt = pt.alloc();
    pt.mem.write_u64(pt.dtb, pdpt | P | W | U);
    for i in 0..512 {
        pt.mem.write_u64(pdpt + i * 8, pd | P | W | U);
        pt.mem.write_u64(pd + i * 8, ptt | P | W | U);
        pt.mem
            .write_u64(ptt + i * 8, (0x100_0000 + i * 0x1000) | P | W | U);
    }
    let s = pt.space();
    let scan = s.scan_ranges(0, u64::MAX, 1000);
    assert!(scan.truncated);
    assert_eq!(scan.tables_visited, 1000);
    // the part enumerated before the budget ran out is one coalesced run from 0
    assert_eq!(scan.ranges.len(), 1);
    assert_eq!(scan.ranges[0].start, 0);
    // a bounded query only touches the tables it needs
    let scan = s.scan_ranges(0x4000_0000, 0x4040_0000, 1000);
    assert!(!scan.truncated);
    assert_eq!(scan.tables_visited, 5); // PML4, PDPT, PD, 2 PTs
    assert_eq!(
        (scan.ranges[0].start, scan.ranges[0].end),
        (0x4000_0000, 0x4040_0000)
    );
}

#[test]
fn software_states_of_non_present_entries() {
    let mut pt = Pt::new(PagingMode::Level4);
    let base = 0x10_0000_0000u64;
    let proto = 0xFFFF_A000_1234_5400u64 | PROTO; // bit 10, bit 0 clear
    let pf = (0x1_2345u64 << 32) | (3 << 12) | (4 << 5);
    let dz = 4 << 5; // protection READWRITE only
    pt.set(base, 1, proto);
    pt.set(base + 0x1000, 1, pf);
    pt.set(base + 0x2000, 1, dz);
    pt.set(base + 0x3000, 1, 0);
    let s = pt.space();
    let np = |va: u64| match s.translate(va) {
        Err(TranslateError::NotPresent {
            va: v,
            level,
            entry,
            software,
        }) => {
            assert_eq!(v, va);
            (level, entry, software)
        }
        other => panic!("{other:?}"),
    };
    assert_eq!(
        np(base),
        (1, proto, SoftwareState::Prototype { raw: proto })
    );
    let (_, _, sw) = np(base + 0x1000);
    assert_eq!(
        sw,
        SoftwareState::PageFile {
            file: 3,
            offset: 0x1_2345
        }
    );
    assert_eq!(sw.page_file_byte_offset(), Some(0x1234_5000));
    assert_eq!(
        np(base + 0x2000),
        (1, dz, SoftwareState::DemandZero { raw: dz })
    );
    assert_eq!(np(base + 0x3000), (1, 0, SoftwareState::Unmapped));
    // empty subtree: stops at the PDPT
    assert_eq!(np(base + (1 << 30)), (3, 0, SoftwareState::Unmapped));
    let e = s.translate(base + 0x1000).unwrap_err();
    assert!(e.to_string().contains("PT entry"), "{e}");
    assert!(e.to_string().contains("page file 3"), "{e}");
    // non-present PDE with a software state: whole 2 MiB reports it at level 2
    pt.set(base + 0x4000_0000, 2, dz);
    let s = pt.space();
    assert!(matches!(
        s.translate(base + 0x4010_0000),
        Err(TranslateError::NotPresent { level: 2, software: SoftwareState::DemandZero { raw }, .. }) if raw == dz
    ));
    let r = s.ranges(0, u64::MAX);
    let states: Vec<_> = r.iter().map(|r| (r.start, r.end, r.state)).collect();
    assert_eq!(
        states,
        vec![
            (base, base + 0x1000, RangeState::Prototype),
            (base + 0x1000, base + 0x2000, RangeState::PageFile),
            (base + 0x2000, base + 0x3000, RangeState::DemandZero),
        ]
    );
}

#[test]
fn transition_pages_are_readable() {
    let mut pt = Pt::new(PagingMode::Level4);
    let va = 0x20_0000_0000u64;
    let frame = pt.alloc();
    pt.mem.write(frame + 0x10, b"still here");
    pt.set(va, 1, frame | TRANS | W | (4 << 5));
    let s = pt.space();
    let t = s.translate(va + 0x10).unwrap();
    assert_eq!(t.state, PageState::Transition);
    assert_eq!(t.pa, frame + 0x10);
    assert!(t.writable);
    let mut b = [0u8; 10];
    s.read_exact(va + 0x10, &mut b).unwrap();
    assert_eq!(&b, b"still here");
    // a transition PDE: the PT page is in transition; its PTEs are followed, bit 7 ignored
    let va2 = 0x30_0000_0000u64;
    pt.map4k(va2 + 0x5000, frame, W | U);
    let pde = pt.entry_pa(va2, 2);
    let mut e = [0u8; 8];
    memtriage_dump::PhysicalMemory::read_phys(&pt.mem, pde, &mut e).unwrap();
    let pde_v = u64::from_le_bytes(e);
    pt.mem.write_u64(pde, (pde_v & !P) | TRANS | PS);
    let s = pt.space();
    let t = s.translate(va2 + 0x5010).unwrap();
    assert_eq!(
        (t.pa, t.page_size, t.state),
        (frame + 0x10, PageSize::Size4K, PageState::Transition)
    );
    assert_eq!(s.read_u8(va2 + 0x5010).unwrap(), b's');
    let r = s.ranges(0, u64::MAX);
    assert_eq!(r.len(), 2);
    assert!(r
        .iter()
        .all(|r| r.state == RangeState::Transition && r.len() == 0x1000));
}

#[test]
fn read_across_page_boundary_and_large_page() {
    let mut pt = Pt::new(PagingMode::Level4);
    let (f1, f2) = (0x800_0000u64, 0x800_5000u64);
    pt.mem.add_page(f1);
    pt.mem.add_page(f2);
    pt.map4k(0x40_0000, f1, W);
    pt.map4k(0x40_1000, f2, W);
    pt.mem.write(f1 + 0xFFC, &[1, 2, 3, 4]);
    pt.mem.write(f2, &[5, 6, 7, 8]);
    let s = pt.space();
    let mut b = [0u8; 8];
    let rep = s.read(0x40_0FFC, &mut b);
    assert!(rep.is_complete());
    assert_eq!(b, [1, 2, 3, 4, 5, 6, 7, 8]);
    assert_eq!(s.read_u64(0x40_0FFC).unwrap(), 0x0807_0605_0403_0201);
    assert_eq!(s.read_u32(0x40_0FFE).unwrap(), 0x0605_0403);
    assert_eq!(s.read_u16(0x40_0FFF).unwrap(), 0x0504);
    // 2 MiB page backed by two physical pages: a read crossing the 4 KiB boundary inside it
    pt.set(K, 2, 0x20_0000 | P | PS | W);
    pt.mem.write(0x20_0FFE, &[9, 9, 9, 9]);
    let s = pt.space();
    assert_eq!(s.read_u32(K + 0xFFE).unwrap(), 0x0909_0909);
    let le = {
        pt.mem.write_u64(0x20_0100, 0xFFFF_F800_1111_2222);
        pt.mem.write_u64(0x20_0108, 0xFFFF_F800_3333_4444);
        pt.space().read_list_entry(K + 0x100).unwrap()
    };
    assert_eq!(
        le,
        ListEntry {
            flink: 0xFFFF_F800_1111_2222,
            blink: 0xFFFF_F800_3333_4444
        }
    );
    assert_eq!(
        pt.space().read_ptr(K + 0x108).unwrap(),
        0xFFFF_F800_3333_4444
    );
}

#[test]
fn read_with_holes_names_them_exactly() {
    let mut pt = Pt::new(PagingMode::Level4);
    let base = 0x50_0000u64;
    let f0 = pt.alloc();
    pt.mem.write(f0, &[0xAA; 0x1000]);
    pt.map4k(base, f0, W);
    // base+0x1000, base+0x2000: unmapped (PTE zero) — one merged hole
    // base+0x3000: mapped to a frame not in the capture
    pt.map4k(base + 0x3000, 0xDEAD_0000, W);
    let f4 = pt.alloc();
    pt.mem.write(f4, &[0xBB; 0x1000]);
    pt.map4k(base + 0x4000, f4, W);
    let s = pt.space();
    let mut buf = vec![0xFFu8; 0x4000];
    let rep = s.read(base + 0x800, &mut buf);
    assert!(!rep.is_complete());
    assert_eq!(rep.holes.len(), 2);
    assert_eq!((rep.holes[0].va, rep.holes[0].len), (base + 0x1000, 0x2000));
    assert_eq!(
        rep.holes[0].error,
        VirtError::Translate(TranslateError::NotPresent {
            va: base + 0x1000,
            level: 1,
            entry: 0,
            software: SoftwareState::Unmapped
        })
    );
    assert_eq!((rep.holes[1].va, rep.holes[1].len), (base + 0x3000, 0x1000));
    assert_eq!(
        rep.holes[1].error,
        VirtError::NotInDump {
            va: base + 0x3000,
            pa: 0xDEAD_0000
        }
    );
    assert_eq!(rep.missing_bytes(), 0x3000);
    assert!(buf[..0x800].iter().all(|&b| b == 0xAA));
    assert!(buf[0x800..0x3800].iter().all(|&b| b == 0));
    assert!(buf[0x3800..].iter().all(|&b| b == 0xBB));
    let e = s.read_exact(base + 0xFF0, &mut [0u8; 0x20]).unwrap_err();
    assert_eq!(e.va(), base + 0x1000);
}

#[test]
fn unicode_strings() {
    let mut pt = Pt::new(PagingMode::Level4);
    let f = pt.alloc();
    pt.map4k(K, f, W);
    let fb = pt.alloc();
    let fb2 = 0x900_0000u64;
    pt.mem.add_page(fb2);
    pt.map4k(K + 0x1000, fb, W);
    pt.map4k(K + 0x2000, fb2, W);
    // "C:\Ő" crossing from K+0x1FFA into the next page
    let text: Vec<u16> = "C:\\\u{150}x".encode_utf16().collect();
    let bytes: Vec<u8> = text.iter().flat_map(|u| u.to_le_bytes()).collect();
    pt.mem.write(fb + 0xFFA, &bytes[..6]);
    pt.mem.write(fb2, &bytes[6..]);
    let us = |pt: &mut Pt, at: u64, len: u16, max: u16, buf: u64| {
        let mut b = [0u8; 16];
        b[0..2].copy_from_slice(&len.to_le_bytes());
        b[2..4].copy_from_slice(&max.to_le_bytes());
        b[8..16].copy_from_slice(&buf.to_le_bytes());
        pt.mem.write(f + at, &b);
        K + at
    };
    let ok = us(&mut pt, 0x00, 10, 12, K + 0x1FFA);
    let odd = us(&mut pt, 0x10, 9, 12, K + 0x1FFA);
    let big = us(&mut pt, 0x20, 0x400, 0x400, K + 0x1FFA);
    let gone = us(&mut pt, 0x30, 8, 8, 0x1234_0000);
    let over = us(&mut pt, 0x40, 10, 8, K + 0x1FFA);
    let empty = us(&mut pt, 0x50, 0, 0, 0);
    let s = pt.space();
    assert_eq!(s.read_unicode_string(ok, 0x100).unwrap(), "C:\\\u{150}x");
    assert_eq!(
        s.read_unicode_string(odd, 0x100),
        Err(VirtError::BadString {
            va: odd,
            reason: "odd Length for a UTF-16 string"
        })
    );
    assert_eq!(
        s.read_unicode_string(big, 0x100),
        Err(VirtError::TooLarge {
            va: big,
            len: 0x400,
            cap: 0x100
        })
    );
    assert!(matches!(
        s.read_unicode_string(gone, 0x100),
        Err(VirtError::Translate(TranslateError::NotPresent {
            va: 0x1234_0000,
            ..
        }))
    ));
    assert!(matches!(
        s.read_unicode_string(over, 0x100),
        Err(VirtError::BadString { va, .. }) if va == over
    ));
    assert_eq!(s.read_unicode_string(empty, 0x100).unwrap(), "");
    // the structure itself unreadable
    assert!(matches!(
        s.read_unicode_string(0x9_0000, 0x100),
        Err(VirtError::Translate(TranslateError::NotPresent { .. }))
    ));
    // lone surrogate decodes lossily
    pt.mem.write(fb, &[0x00, 0xD8, 0x41, 0x00]);
    let s = pt.space();
    assert_eq!(s.read_utf16(K + 0x1000, 4, 16).unwrap(), "\u{FFFD}A");
    assert!(matches!(
        s.read_utf16(K + 0x1000, 3, 16),
        Err(VirtError::BadString { .. })
    ));
    assert!(matches!(
        s.read_utf16(K + 0x1000, 32, 16),
        Err(VirtError::TooLarge {
            len: 32,
            cap: 16,
            ..
        })
    ));
}

#[test]
fn nul_terminated_strings() {
    let mut pt = Pt::new(PagingMode::Level4);
    let (a, b) = (0x800_0000u64, 0x800_3000u64);
    pt.mem.add_page(a);
    pt.mem.add_page(b);
    pt.map4k(0x1000, a, 0);
    pt.map4k(0x2000, b, 0);
    pt.mem.write(a + 0xFFD, b"ker");
    pt.mem.write(b, b"nel32.dll\0junk");
    // UTF-16 at an odd address straddling the boundary
    let w: Vec<u8> = "ab".encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
    pt.mem.write(a + 0xFFD - 0x100, &w);
    pt.mem.write(a + 0xFFD - 0x100 + 4, &[0, 0]);
    pt.mem.write(b + 0xFFE, b"ab");
    let s = pt.space();
    assert_eq!(s.read_cstring(0x1FFD, 64).unwrap(), "kernel32.dll");
    assert_eq!(s.read_cstring(0x1FFD, 5).unwrap(), "kerne");
    assert_eq!(s.read_wide_cstring(0x1EFD, 64).unwrap(), "ab");
    // odd start, a unit straddling the page boundary
    pt.mem.write(a + 0xFFB, &[b'x', 0, b'y', 0]);
    pt.mem.write(a + 0xFFF, &[0]);
    pt.mem.write(b, &[0, b'z', 0, 0, 0]);
    // units: 0x1FFB "x\0", 0x1FFD "y\0", 0x1FFF+0x2000 "\0\0" → stop
    let s = pt.space();
    assert_eq!(s.read_wide_cstring(0x1FFB, 64).unwrap(), "xy");
    // unterminated string running into an unmapped page fails
    assert!(s.read_cstring(0x2FFE, 64).is_err());
}

#[test]
fn five_level_mode() {
    let mut pt = Pt::new(PagingMode::Level5);
    let va = 0xFFFF_8012_3456_7000u64; // PML5 index 0x1FF
    pt.map4k(va, 0xA000, W);
    let low = 0x0001_0000_0000_0000u64; // beyond 48 bits: PML5 index 1
    pt.map4k(low, 0xB000, W | U);
    pt.mem.write(0xA000, b"x");
    let s = pt.space();
    assert_eq!(s.mode(), PagingMode::Level5);
    assert_eq!(idx(va, 5), 0x1FF);
    let w = s.walk(va + 3);
    assert_eq!(w.steps.len(), 5);
    assert_eq!(w.steps[0].level, 5);
    assert_eq!(w.steps[0].index, 0x1FF);
    assert_eq!(w.result.unwrap().pa, 0xA003);
    assert_eq!(s.translate(low).unwrap().pa, 0xB000);
    assert_eq!(
        s.translate(0xFF00_0000_0000_0000),
        Err(TranslateError::NotPresent {
            va: 0xFF00_0000_0000_0000,
            level: 5,
            entry: 0,
            software: SoftwareState::Unmapped
        })
    );
    assert!(matches!(
        s.translate(0x0100_0000_0000_0000),
        Err(TranslateError::NonCanonical { .. })
    ));
    let r = s.ranges(0, u64::MAX);
    assert_eq!(
        r.iter().map(|r| (r.start, r.end)).collect::<Vec<_>>(),
        vec![(low, low + 0x1000), (va, va + 0x1000)]
    );
    // bit 7 in a PML5 entry
    pt.set(0x0002_0000_0000_0000, 5, 0x4000_0000 | P | PS);
    let s = pt.space();
    assert!(matches!(
        s.translate(0x0002_0000_0000_0000),
        Err(TranslateError::BadEntry { level: 5, .. })
    ));
    // the same tables read as 4-level give different (48-bit) answers
    let s4 = AddressSpace::new(s.memory().clone(), pt.dtb);
    assert!(matches!(
        s4.translate(low),
        Err(TranslateError::NonCanonical { .. })
    ));
}

#[test]
fn ranges_coalesce_and_clip() {
    let mut pt = Pt::new(PagingMode::Level4);
    // 3 adjacent RW pages across a PT boundary, then one RO page, then a 2 MiB page
    let b = 0x1F_E000u64; // PT index 510, 511, then next PT index 0
    pt.map4k(b, 0x1_0000, W | U);
    pt.map4k(b + 0x1000, 0x9_0000, W | U);
    pt.map4k(b + 0x2000, 0x3_0000, W | U);
    pt.map4k(b + 0x3000, 0x4_0000, U);
    pt.set(0x40_0000, 2, 0x80_0000 | P | PS | W | U);
    let s = pt.space();
    let r = s.ranges(0, u64::MAX);
    let v: Vec<_> = r
        .iter()
        .map(|r| (r.start, r.end, r.page_size, r.writable))
        .collect();
    assert_eq!(
        v,
        vec![
            (b, b + 0x3000, PageSize::Size4K, true),
            (b + 0x3000, b + 0x4000, PageSize::Size4K, false),
            (0x40_0000, 0x60_0000, PageSize::Size2M, true),
        ]
    );
    let r = s.ranges(b + 0x1800, 0x40_1000);
    let v: Vec<_> = r.iter().map(|r| (r.start, r.end)).collect();
    assert_eq!(
        v,
        vec![
            (b + 0x1800, b + 0x3000),
            (b + 0x3000, b + 0x4000),
            (0x40_0000, 0x40_1000)
        ]
    );
    assert!(s.ranges(5, 5).is_empty());
    assert!(s.ranges(0x100_0000, 0x10).is_empty());
}
