//! Writers of synthetic captures for the tests and the benchmark. They follow the published
//! layouts (DUMP_HEADER64, the bitmap and RDMP sub-headers, ELF64), written from the format
//! descriptions, not from the reader under test. Page bytes follow `pattern_byte`, so the
//! expected byte at any physical address is a formula, independent of any parser.
#![allow(dead_code, clippy::unwrap_used)]

use std::fs::File;
use std::io::{BufWriter, Seek, SeekFrom, Write};
use std::path::Path;

pub const PAGE: u64 = 0x1000;

/// The byte the synthetic captures store at physical address `pa`.
pub fn pattern_byte(pa: u64) -> u8 {
    let w = (pa / 8).wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ 0x5A5A_5A5A_5A5A_5A5A;
    w.to_le_bytes()[(pa % 8) as usize]
}

/// The 4 KiB of physical page `pfn`.
pub fn page_bytes(pfn: u64) -> Vec<u8> {
    (0..PAGE).map(|i| pattern_byte(pfn * PAGE + i)).collect()
}

/// The expected bytes of `[pa, pa + len)`.
pub fn expected(pa: u64, len: usize) -> Vec<u8> {
    (0..len as u64).map(|i| pattern_byte(pa + i)).collect()
}

/// PhysicalMemoryBlock: NumberOfRuns, NumberOfPages, runs (BasePage, PageCount).
pub type RunBlock = (u32, u64, Vec<(u64, u64)>);

/// Fields of a synthetic DUMP_HEADER64.
pub struct Header {
    pub dump_type: u32,
    pub dtb: u64,
    pub minor: u32,
    pub ps_active: u64,
    pub ps_loaded: u64,
    pub kd_block: u64,
    pub processors: u32,
    pub bugcheck: u32,
    pub params: [u64; 4],
    /// NumberOfRuns, NumberOfPages, runs; `None` leaves the "PAGE" fill.
    pub runs: Option<RunBlock>,
}

impl Header {
    pub fn new(dump_type: u32) -> Header {
        Header {
            dump_type,
            // A DTB outside every synthetic capture, and null list heads, so that
            // kdmp-parser's virtual walks end quietly.
            dtb: 0x7_ffff_f000,
            minor: 19041,
            ps_active: 0,
            ps_loaded: 0,
            kd_block: 0,
            processors: 2,
            bugcheck: 0xE2,
            params: [1, 2, 3, 4],
            runs: None,
        }
    }

    /// The 0x2000 bytes.
    pub fn bytes(&self) -> Vec<u8> {
        let mut h: Vec<u8> = b"PAGE".iter().copied().cycle().take(0x2000).collect();
        let put = |h: &mut Vec<u8>, off: usize, b: &[u8]| h[off..off + b.len()].copy_from_slice(b);
        put(&mut h, 0, b"PAGEDU64");
        put(&mut h, 0x8, &15u32.to_le_bytes());
        put(&mut h, 0xC, &self.minor.to_le_bytes());
        put(&mut h, 0x10, &self.dtb.to_le_bytes());
        put(&mut h, 0x18, &0xFFFF_FA80_0000_0000u64.to_le_bytes());
        put(&mut h, 0x20, &self.ps_loaded.to_le_bytes());
        put(&mut h, 0x28, &self.ps_active.to_le_bytes());
        put(&mut h, 0x30, &0x8664u32.to_le_bytes());
        put(&mut h, 0x34, &self.processors.to_le_bytes());
        put(&mut h, 0x38, &self.bugcheck.to_le_bytes());
        put(&mut h, 0x3C, &0u32.to_le_bytes());
        for (i, p) in self.params.iter().enumerate() {
            put(&mut h, 0x40 + 8 * i, &p.to_le_bytes());
        }
        put(&mut h, 0x80, &self.kd_block.to_le_bytes());
        if let Some((n, pages, runs)) = &self.runs {
            put(&mut h, 0x88, &n.to_le_bytes());
            put(&mut h, 0x8C, &0u32.to_le_bytes());
            put(&mut h, 0x90, &pages.to_le_bytes());
            for (i, (b, c)) in runs.iter().enumerate() {
                put(&mut h, 0x98 + 16 * i, &b.to_le_bytes());
                put(&mut h, 0xA0 + 16 * i, &c.to_le_bytes());
            }
        }
        // ContextRecord and exception record: zeros (kdmp-parser reads a CONTEXT there).
        h[0x348..0xF98].fill(0);
        put(&mut h, 0xF98, &self.dump_type.to_le_bytes());
        put(&mut h, 0xF9C, &0u32.to_le_bytes());
        put(&mut h, 0xFA8, &0x01D7_07F2_3DBB_3399u64.to_le_bytes());
        h
    }
}

/// Write a full dump (DumpType 1) with `runs` of (BasePage, PageCount); the pages of every
/// run are written unless `truncate_pages` says how many pages to keep in total.
pub fn write_full(path: &Path, runs: &[(u64, u64)], truncate_pages: Option<u64>) {
    let total: u64 = runs.iter().map(|r| r.1).sum();
    let mut h = Header::new(1);
    h.runs = Some((runs.len() as u32, total, runs.to_vec()));
    let mut f = BufWriter::new(File::create(path).unwrap());
    f.write_all(&h.bytes()).unwrap();
    let mut left = truncate_pages.unwrap_or(u64::MAX);
    for &(base, count) in runs {
        for p in base..base + count {
            if left == 0 {
                break;
            }
            f.write_all(&page_bytes(p)).unwrap();
            left -= 1;
        }
    }
    f.flush().unwrap();
}

/// Write a bitmap dump (DumpType `dump_type`, 5 or 6) describing `bits` page frames, of which
/// `present` (ascending) are present; `first_page` at the next page boundary after the
/// bitmap unless given.
pub fn write_bitmap(path: &Path, dump_type: u32, bits: u64, present: &[u64], sig: &[u8; 4]) {
    let mut bitmap = vec![0u8; bits.div_ceil(8) as usize];
    for &p in present {
        bitmap[(p / 8) as usize] |= 1 << (p % 8);
    }
    let first_page = (0x2038 + bitmap.len() as u64).next_multiple_of(PAGE);
    let mut f = BufWriter::new(File::create(path).unwrap());
    f.write_all(&Header::new(dump_type).bytes()).unwrap();
    let mut sub = vec![0u8; 0x38];
    sub[0..4].copy_from_slice(sig);
    sub[4..8].copy_from_slice(b"DUMP");
    sub[0x20..0x28].copy_from_slice(&first_page.to_le_bytes());
    sub[0x28..0x30].copy_from_slice(&(present.len() as u64).to_le_bytes());
    sub[0x30..0x38].copy_from_slice(&bits.to_le_bytes());
    f.write_all(&sub).unwrap();
    f.write_all(&bitmap).unwrap();
    let pad = first_page - 0x2038 - bitmap.len() as u64;
    f.write_all(&vec![0u8; pad as usize]).unwrap();
    for &p in present {
        f.write_all(&page_bytes(p)).unwrap();
    }
    f.flush().unwrap();
}

/// Write an "RDMP" dump (DumpType 8, 9 or 10) with PFN ranges `(pfn, count)`.
pub fn write_rdmp(path: &Path, dump_type: u32, ranges: &[(u64, u64)]) {
    // Layout as kdmp-parser reads it: marker 0x40, "RDMP", "DUMP", reserved, MetadataSize,
    // FirstPageOffset (= MetadataSize + 0x2020), then 16 bytes (complete: NumberOfRanges u32,
    // 2 × u16, TotalNumberOfPages u64), PFN ranges from 0x2030, a zero terminator.
    let total: u64 = ranges.iter().map(|r| r.1).sum();
    let entries = ranges.len() as u64 + 1;
    let metadata_size = (entries * 16 + 0x10).next_multiple_of(PAGE);
    let first_page = metadata_size + 0x2020;
    let mut f = BufWriter::new(File::create(path).unwrap());
    f.write_all(&Header::new(dump_type).bytes()).unwrap();
    let mut sub = vec![0u8; 0x30];
    sub[0..4].copy_from_slice(&0x40u32.to_le_bytes());
    sub[4..8].copy_from_slice(b"RDMP");
    sub[8..12].copy_from_slice(b"DUMP");
    sub[0x10..0x18].copy_from_slice(&metadata_size.to_le_bytes());
    sub[0x18..0x20].copy_from_slice(&first_page.to_le_bytes());
    sub[0x20..0x24].copy_from_slice(&(ranges.len() as u32).to_le_bytes());
    sub[0x28..0x30].copy_from_slice(&total.to_le_bytes());
    f.write_all(&sub).unwrap();
    let mut written = 0x2030u64;
    for &(pfn, count) in ranges {
        f.write_all(&pfn.to_le_bytes()).unwrap();
        f.write_all(&count.to_le_bytes()).unwrap();
        written += 16;
    }
    f.write_all(&vec![0u8; (first_page - written) as usize])
        .unwrap();
    for &(pfn, count) in ranges {
        for p in pfn..pfn + count {
            f.write_all(&page_bytes(p)).unwrap();
        }
    }
    f.flush().unwrap();
}

/// One PT_LOAD of a synthetic ELF core: physical address, bytes stored, bytes described.
pub struct Load {
    pub paddr: u64,
    pub filesz: u64,
    pub memsz: u64,
}

/// Write an ELF64 LE core with QEMU's notes (see `qemu_notes`) and the PT_LOADs.
pub fn write_elf(path: &Path, loads: &[Load], cr: (u64, u64, u64)) {
    write_elf_with_notes(path, loads, &qemu_notes(cr));
}

/// Notes as VirtualBox's DBGFCoreWrite writes them: n_namesz excludes the NUL, the name
/// (with NUL) and the descriptor are padded to 8; a "VBCORE" DBGFCOREDESCRIPTOR (magic
/// 0xc01ac0de, `version`, 1 CPU) then one "VBCPU" DBGFCORECPU (18 GPRs, 6 × 24-byte
/// selectors, cr0, cr2, cr3, cr4, ... padded to 8768 bytes).
pub fn vbox_notes(cr: (u64, u64, u64), version: u32) -> Vec<u8> {
    let mut notes = Vec::new();
    let mut note = |name: &str, ty: u32, desc: &[u8]| {
        notes.extend_from_slice(&(name.len() as u32).to_le_bytes());
        notes.extend_from_slice(&(desc.len().next_multiple_of(8) as u32).to_le_bytes());
        notes.extend_from_slice(&ty.to_le_bytes());
        let mut n = name.as_bytes().to_vec();
        n.push(0);
        n.resize(n.len().next_multiple_of(8), 0);
        notes.extend_from_slice(&n);
        let mut d = desc.to_vec();
        d.resize(d.len().next_multiple_of(8), 0);
        notes.extend_from_slice(&d);
    };
    let mut d = Vec::new();
    for v in [0xc01a_c0de_u32, version, 24, 0x0700_0000, 12345, 1] {
        d.extend_from_slice(&v.to_le_bytes());
    }
    note("VBCORE", 0xb00, &d);
    let mut c = Vec::new();
    for i in 0..18u64 {
        c.extend_from_slice(&(0x2222_0000 + i).to_le_bytes());
    }
    c.extend_from_slice(&[0xEE; 6 * 24]);
    for v in [cr.0, 0xC2, cr.1, cr.2] {
        c.extend_from_slice(&v.to_le_bytes());
    }
    c.resize(8768, 0);
    note("VBCPU", 0xb01, &c);
    notes
}

/// Notes as QEMU writes them: a "CORE" note then a "QEMU" note with a QEMUCPUState whose
/// cr[0..5] are `cr0, 0xC1, 0xC2, cr3, cr4`.
pub fn qemu_notes(cr: (u64, u64, u64)) -> Vec<u8> {
    let mut notes = Vec::new();
    let mut note = |name: &[u8], ty: u32, desc: &[u8]| {
        notes.extend_from_slice(&(name.len() as u32).to_le_bytes());
        notes.extend_from_slice(&(desc.len() as u32).to_le_bytes());
        notes.extend_from_slice(&ty.to_le_bytes());
        notes.extend_from_slice(name);
        while notes.len() % 4 != 0 {
            notes.push(0);
        }
        notes.extend_from_slice(desc);
        while notes.len() % 4 != 0 {
            notes.push(0);
        }
    };
    note(b"CORE\0", 1, &[0xCC; 336]); // NT_PRSTATUS stand-in
                                      // QEMUCPUState: version, size, 18 GPRs, 10 × 24-byte segments, cr[5], kernel_gs_base.
    let mut st = Vec::new();
    st.extend_from_slice(&1u32.to_le_bytes());
    st.extend_from_slice(&440u32.to_le_bytes());
    for i in 0..18u64 {
        st.extend_from_slice(&(0x1111_0000 + i).to_le_bytes());
    }
    st.extend_from_slice(&[0xEE; 240]);
    for v in [cr.0, 0xC1, 0xC2, cr.1, cr.2, 0xAB] {
        st.extend_from_slice(&v.to_le_bytes());
    }
    assert_eq!(st.len(), 440);
    note(b"QEMU\0", 0, &st);
    notes
}

/// Write an ELF64 LE core with one PT_NOTE holding `notes` and the PT_LOADs (their bytes
/// follow `pattern_byte` of their physical addresses).
pub fn write_elf_with_notes(path: &Path, loads: &[Load], notes: &[u8]) {
    let phnum = loads.len() as u64 + 1;
    let phoff = 64u64;
    let notes_off = phoff + phnum * 56;
    let mut data_off = (notes_off + notes.len() as u64).next_multiple_of(PAGE);
    let mut f = File::create(path).unwrap();
    let mut eh = vec![0u8; 64];
    eh[0..4].copy_from_slice(b"\x7fELF");
    eh[4] = 2; // ELFCLASS64
    eh[5] = 1; // ELFDATA2LSB
    eh[6] = 1;
    eh[0x10..0x12].copy_from_slice(&4u16.to_le_bytes()); // ET_CORE
    eh[0x12..0x14].copy_from_slice(&62u16.to_le_bytes()); // EM_X86_64
    eh[0x14..0x18].copy_from_slice(&1u32.to_le_bytes());
    eh[0x20..0x28].copy_from_slice(&phoff.to_le_bytes());
    eh[0x34..0x36].copy_from_slice(&64u16.to_le_bytes());
    eh[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
    eh[0x38..0x3A].copy_from_slice(&(phnum as u16).to_le_bytes());
    f.write_all(&eh).unwrap();
    let ph = |ty: u32, off: u64, paddr: u64, filesz: u64, memsz: u64| {
        let mut p = vec![0u8; 56];
        p[0..4].copy_from_slice(&ty.to_le_bytes());
        p[8..16].copy_from_slice(&off.to_le_bytes());
        p[0x18..0x20].copy_from_slice(&paddr.to_le_bytes());
        p[0x20..0x28].copy_from_slice(&filesz.to_le_bytes());
        p[0x28..0x30].copy_from_slice(&memsz.to_le_bytes());
        p
    };
    f.write_all(&ph(4, notes_off, 0, notes.len() as u64, 0))
        .unwrap();
    let mut offs = Vec::new();
    for l in loads {
        f.write_all(&ph(1, data_off, l.paddr, l.filesz, l.memsz))
            .unwrap();
        offs.push(data_off);
        data_off += l.filesz;
    }
    f.write_all(notes).unwrap();
    for (l, off) in loads.iter().zip(offs) {
        f.seek(SeekFrom::Start(off)).unwrap();
        f.write_all(&expected(l.paddr, l.filesz as usize)).unwrap();
    }
    f.flush().unwrap();
}

/// Write a raw image of `pages` pages following the pattern.
pub fn write_raw(path: &Path, pages: u64) {
    let mut f = BufWriter::new(File::create(path).unwrap());
    for p in 0..pages {
        f.write_all(&page_bytes(p)).unwrap();
    }
    f.flush().unwrap();
}
