//! LiME and VMware (.vmem + .vmss) readers against synthetic files written here from the
//! format descriptions (LiME's range header; VMware's checkpoint groups and tags), with page
//! bytes from `pattern_byte`: exact reads, ranges, metadata, and bad input (truncated or
//! lying metadata, overlapping regions, regions past the file).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::*;
use memtriage_dump::{
    open, open_source, open_with, ByteSource, DumpFormat, EmptyCapture, Extents, MappedFile,
    OpenError, OpenOptions, PhysError, PhysRange, PhysicalMemory, RootCause, VmwareRegion,
};
use std::path::Path;
use std::sync::Arc;

fn read(m: &dyn PhysicalMemory, pa: u64, len: usize) -> Result<Vec<u8>, PhysError> {
    let mut b = vec![0u8; len];
    m.read_phys(pa, &mut b)?;
    Ok(b)
}

fn r(start: u64, len: u64) -> PhysRange {
    PhysRange { start, len }
}

/// A LiME range header: magic "EMiL", version, start, inclusive end, reserved.
fn lime_header(version: u32, start: u64, end: u64) -> Vec<u8> {
    let mut h = b"EMiL".to_vec();
    h.extend_from_slice(&version.to_le_bytes());
    h.extend_from_slice(&start.to_le_bytes());
    h.extend_from_slice(&end.to_le_bytes());
    h.extend_from_slice(&[0u8; 8]);
    h
}

/// A LiME file of `ranges` [start, end) with pattern bytes.
fn lime(ranges: &[(u64, u64)]) -> Vec<u8> {
    let mut d = Vec::new();
    for &(s, e) in ranges {
        d.extend(lime_header(1, s, e - 1));
        d.extend(expected(s, (e - s) as usize));
    }
    d
}

fn msg(e: OpenError) -> String {
    let m = e.to_string();
    assert!(!m.contains('\n'), "one line: {m}");
    m
}

#[test]
fn lime_ranges_read_at_their_physical_addresses() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("mem.lime");
    let ranges = [
        (0x1000, 0x9f000),
        (0x10_0000, 0x30_0000),
        (0x100_0000, 0x100_2000),
    ];
    std::fs::write(&p, lime(&ranges)).unwrap();
    let m = open(&p).unwrap();
    let md = m.metadata();
    assert_eq!(md.format, DumpFormat::Lime);
    assert_eq!(md.warnings, Vec::<String>::new());
    assert_eq!(md.root_cause, None);
    assert_eq!(
        m.ranges(),
        &[
            r(0x1000, 0x9e000),
            r(0x10_0000, 0x20_0000),
            r(0x100_0000, 0x2000)
        ]
    );
    for pa in [0x1000, 0x9eff8, 0x10_0000, 0x2f_fff8, 0x100_1ff8] {
        assert_eq!(read(&*m, pa, 8).unwrap(), expected(pa, 8), "{pa:#x}");
    }
    assert_eq!(
        read(&*m, 0x9eff8, 16),
        Err(PhysError::NotInDump { pa: 0x9f000 })
    );
    assert_eq!(read(&*m, 0, 8), Err(PhysError::NotInDump { pa: 0 }));
    // The header bytes are not physical memory at address 0 (the raw misreading).
    assert!(!m.contains(0));
    assert_eq!(
        m.slice(0x10_0000, 0x1000).unwrap(),
        &expected(0x10_0000, 0x1000)[..]
    );
}

#[test]
fn lime_bad_input() {
    let dir = tempfile::tempdir().unwrap();
    let w = |name: &str, d: &[u8]| {
        let p = dir.path().join(name);
        std::fs::write(&p, d).unwrap();
        p
    };
    // Truncated: the second range runs past the end of the file.
    let mut d = lime(&[(0x1000, 0x3000), (0x10000, 0x14000)]);
    d.truncate(d.len() - 0x2000);
    let m = open(&w("trunc.lime", &d)).unwrap();
    assert_eq!(m.ranges(), &[r(0x1000, 0x2000), r(0x10000, 0x2000)]);
    assert_eq!(
        m.metadata().root_cause,
        Some(RootCause::PagesMissing {
            extents: Extents::LimeRanges,
            pages: 2,
            file_size: d.len() as u64
        })
    );
    assert!(
        m.metadata().warnings[0].contains("0x12000-0x14000"),
        "{:?}",
        m.metadata().warnings
    );
    // Header cut inside the second range header.
    let mut d = lime(&[(0x1000, 0x2000)]);
    d.extend_from_slice(&lime_header(1, 0x5000, 0x5fff)[..20]);
    let m = open(&w("hdr.lime", &d)).unwrap();
    assert_eq!(m.ranges(), &[r(0x1000, 0x1000)]);
    assert!(m
        .metadata()
        .warnings
        .iter()
        .any(|w| w.contains("truncated")));
    // Overlapping ranges: the lower start wins, with a warning.
    let d = lime(&[(0x1000, 0x4000), (0x3000, 0x6000)]);
    let m = open(&w("overlap.lime", &d)).unwrap();
    assert_eq!(m.ranges(), &[r(0x1000, 0x5000)]);
    assert!(m.metadata().warnings.iter().any(|w| w.contains("overlap")));
    assert_eq!(read(&*m, 0x3000, 8).unwrap(), expected(0x3000, 8));
    // End before start: the rest is ignored, with a warning.
    let mut d = lime(&[(0x1000, 0x2000)]);
    d.extend(lime_header(1, 0x9000, 0x8000));
    d.extend(vec![0u8; 0x1000]);
    let m = open(&w("backwards.lime", &d)).unwrap();
    assert_eq!(m.ranges(), &[r(0x1000, 0x1000)]);
    assert!(m
        .metadata()
        .warnings
        .iter()
        .any(|w| w.contains("before start")));
    // Garbage after the last range.
    let mut d = lime(&[(0x1000, 0x2000)]);
    d.extend_from_slice(b"trailing junk that is not a header.......");
    let m = open(&w("junk.lime", &d)).unwrap();
    assert_eq!(m.ranges(), &[r(0x1000, 0x1000)]);
    assert!(m
        .metadata()
        .warnings
        .iter()
        .any(|w| w.contains("no LiME range header")));
    // An unknown version: one-line error naming the file.
    let mut d = lime_header(2, 0, 0xfff);
    d.extend(vec![0u8; 0x1000]);
    let p = w("v2.lime", &d);
    let e = msg(open(&p).err().unwrap());
    assert!(e.contains("v2.lime") && e.contains("LiME version 2"), "{e}");
    // A range of 2^64 bytes and a lone magic: no panic, no memory.
    let d = lime_header(1, 0, u64::MAX);
    let m = open(&w("huge.lime", &d)).unwrap();
    assert!(m.ranges().is_empty());
    assert_eq!(
        m.metadata().root_cause,
        Some(RootCause::empty(EmptyCapture::NoLimeRanges))
    );
    let m = open(&w("magic.lime", b"EMiL")).unwrap();
    assert!(m.ranges().is_empty());
}

/// A checkpoint tag: flags (value size | indices << 6), name length, name, indices, value.
fn tag(out: &mut Vec<u8>, name: &str, idx: &[u32], value: &[u8]) {
    out.push(value.len() as u8 | ((idx.len() as u8) << 6));
    out.push(name.len() as u8);
    out.extend_from_slice(name.as_bytes());
    for i in idx {
        out.extend_from_slice(&i.to_le_bytes());
    }
    out.extend_from_slice(value);
}

/// A block tag: size 62, two u64 sizes, u16 padding size, padding, data.
fn block(out: &mut Vec<u8>, name: &str, idx: &[u32], pad: u16, data: &[u8]) {
    out.push(62 | ((idx.len() as u8) << 6));
    out.push(name.len() as u8);
    out.extend_from_slice(name.as_bytes());
    for i in idx {
        out.extend_from_slice(&i.to_le_bytes());
    }
    out.extend_from_slice(&(data.len() as u64).to_le_bytes());
    out.extend_from_slice(&(data.len() as u64).to_le_bytes());
    out.extend_from_slice(&pad.to_le_bytes());
    out.extend(vec![0xEEu8; pad as usize]);
    out.extend_from_slice(data);
}

/// A checkpoint with the groups `(name, tag stream)`.
fn checkpoint(groups: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = vec![0xD2, 0xBE, 0xD2, 0xBE, 0, 0, 0, 0];
    out.extend_from_slice(&(groups.len() as u32).to_le_bytes());
    let mut at = 12 + 80 * groups.len() as u64;
    for (name, body) in groups {
        let mut d = [0u8; 80];
        d[..name.len()].copy_from_slice(name.as_bytes());
        d[64..72].copy_from_slice(&at.to_le_bytes());
        d[72..80].copy_from_slice(&(body.len() as u64).to_le_bytes());
        out.extend_from_slice(&d);
        at += body.len() as u64;
    }
    for (_, body) in groups {
        out.extend_from_slice(body);
    }
    out
}

/// The "memory" group of `regions` (ppn, page_num, pages), with `count` as regionsCount.
fn memory_group(count: u32, regions: &[(u32, u32, u32)]) -> Vec<u8> {
    let mut m = Vec::new();
    tag(&mut m, "align_mask", &[], &0xFFFFu32.to_le_bytes());
    tag(&mut m, "regionsCount", &[], &count.to_le_bytes());
    for (i, &(ppn, num, pages)) in regions.iter().enumerate() {
        let i = i as u32;
        tag(&mut m, "regionPPN", &[i], &ppn.to_le_bytes());
        tag(&mut m, "regionPageNum", &[i], &num.to_le_bytes());
        tag(&mut m, "regionSize", &[i], &pages.to_le_bytes());
    }
    // Tags of unknown meaning and unusual sizes: skipped by their size.
    tag(&mut m, "oddSized", &[1, 2, 3], &[1, 2, 3, 4, 5, 6, 7]);
    block(&mut m, "someBlock", &[], 5, &[0xAB; 40]);
    m.extend_from_slice(&[0, 0]);
    m
}

/// A "cpu" group with CR64 of vCPU 0 as an inline array (cr0, cr3, cr4) or one 72-byte block.
fn cpu_group(cr3: u64, as_block: bool) -> Vec<u8> {
    let mut c = Vec::new();
    tag(&mut c, "cpu:numVCPUs", &[], &4u32.to_le_bytes());
    block(&mut c, "gpregs", &[0], 0, &[0u8; 128]);
    if as_block {
        let mut crs = Vec::new();
        for v in [0x8005_0033u64, 0, 0, cr3, 0x1000, 0, 0, 0, 0] {
            crs.extend_from_slice(&v.to_le_bytes());
        }
        block(&mut c, "CR64", &[0], 3, &crs);
    } else {
        tag(&mut c, "CR64", &[1, 3], &0xBADu64.to_le_bytes()); // vCPU 1: not used
        tag(&mut c, "CR64", &[0, 0], &0x8005_0033u64.to_le_bytes());
        tag(&mut c, "CR64", &[0, 3], &cr3.to_le_bytes());
        tag(&mut c, "CR64", &[0, 4], &0x20u64.to_le_bytes());
    }
    c.extend_from_slice(&[0, 0]);
    c
}

/// A .vmem holding the pages of `regions` (ppn, page_num, pages) with pattern bytes.
fn vmem(regions: &[(u32, u32, u32)]) -> Vec<u8> {
    let end = regions
        .iter()
        .map(|&(_, n, p)| u64::from(n + p))
        .max()
        .unwrap_or(0);
    let mut d = vec![0u8; (end * PAGE) as usize];
    for &(ppn, num, pages) in regions {
        for k in 0..u64::from(pages) {
            let at = ((u64::from(num) + k) * PAGE) as usize;
            d[at..at + PAGE as usize].copy_from_slice(&page_bytes(u64::from(ppn) + k));
        }
    }
    d
}

fn write_pair(dir: &Path, stem: &str, vm: &[u8], ss: &[u8]) -> std::path::PathBuf {
    let p = dir.join(format!("{stem}.vmem"));
    std::fs::write(&p, vm).unwrap();
    std::fs::write(dir.join(format!("{stem}.vmss")), ss).unwrap();
    p
}

#[test]
fn vmware_regions_map_vmem_pages_to_physical_pages() {
    let dir = tempfile::tempdir().unwrap();
    // 16 pages below a hole, 8 pages from physical page 0x40 stored right after them.
    let regions = [(0, 0, 16), (0x40, 16, 8)];
    let ss = checkpoint(&[
        ("cpu", cpu_group(0x1ab000, false)),
        ("memory", memory_group(2, &regions)),
    ]);
    let p = write_pair(dir.path(), "guest", &vmem(&regions), &ss);
    let m = open(&p).unwrap();
    let md = m.metadata();
    assert_eq!(md.format, DumpFormat::Vmware);
    assert_eq!(md.warnings, Vec::<String>::new());
    assert_eq!(m.ranges(), &[r(0, 0x10000), r(0x40000, 0x8000)]);
    for pa in [0, 0xfff8, 0x40000, 0x47ff8] {
        assert_eq!(read(&*m, pa, 8).unwrap(), expected(pa, 8), "{pa:#x}");
    }
    assert_eq!(
        read(&*m, 0x10000, 8),
        Err(PhysError::NotInDump { pa: 0x10000 })
    );
    let cpu = md.elf_cpu.clone().unwrap();
    assert_eq!((cpu.cr0, cpu.cr3, cpu.cr4), (0x8005_0033, 0x1ab000, 0x20));
    let v = md.vmware.clone().unwrap();
    assert_eq!(v.version, 2);
    assert_eq!(v.vcpus, Some(4));
    assert_eq!(
        v.regions,
        vec![
            VmwareRegion {
                ppn: 0,
                page_num: 0,
                pages: 16
            },
            VmwareRegion {
                ppn: 0x40,
                page_num: 16,
                pages: 8
            }
        ]
    );
    assert!(v.metadata_file.ends_with("guest.vmss"));

    // CR64 as one block, and the .vmsn name.
    let ss = checkpoint(&[
        ("memory", memory_group(2, &regions)),
        ("cpu", cpu_group(0x2000, true)),
    ]);
    let p = dir.path().join("snap.vmem");
    std::fs::write(&p, vmem(&regions)).unwrap();
    std::fs::write(dir.path().join("snap.vmsn"), &ss).unwrap();
    let m = open(&p).unwrap();
    assert_eq!(m.metadata().format, DumpFormat::Vmware);
    assert_eq!(m.metadata().elf_cpu.clone().unwrap().cr3, 0x2000);
    assert_eq!(m.metadata().elf_cpu.clone().unwrap().cr4, 0x1000);

    // The checkpoint elsewhere, by option; opened itself, it opens the .vmem beside it.
    let other = dir.path().join("renamed.vmem");
    std::fs::copy(&p, &other).unwrap();
    assert_eq!(open(&other).unwrap().metadata().format, DumpFormat::Raw);
    let opts = OpenOptions {
        vmware_meta: Some(dir.path().join("snap.vmsn")),
    };
    let m = open_with(&other, &opts).unwrap();
    assert_eq!(read(&*m, 0x40000, 8).unwrap(), expected(0x40000, 8));
    let m = open(&dir.path().join("guest.vmss")).unwrap();
    assert_eq!(m.metadata().format, DumpFormat::Vmware);
    // A lone checkpoint: one line naming it.
    let lone = dir.path().join("lone.vmss");
    std::fs::write(&lone, &ss).unwrap();
    let e = msg(open(&lone).err().unwrap());
    assert!(
        e.contains("lone.vmss") && e.contains("VMware checkpoint"),
        "{e}"
    );
}

#[test]
fn vmware_checkpoint_with_its_memory_inside() {
    let dir = tempfile::tempdir().unwrap();
    let regions = [(0, 0, 4), (0x10, 4, 4)];
    let mut g = memory_group(2, &regions);
    g.truncate(g.len() - 2); // drop the end marker
    block(&mut g, "Memory", &[0, 0], 7, &vmem(&regions));
    g.extend_from_slice(&[0, 0]);
    let p = dir.path().join("suspended.vmss");
    std::fs::write(
        &p,
        checkpoint(&[("cpu", cpu_group(0x5000, false)), ("memory", g)]),
    )
    .unwrap();
    let m = open(&p).unwrap();
    assert_eq!(m.metadata().format, DumpFormat::Vmware);
    assert_eq!(m.ranges(), &[r(0, 0x4000), r(0x10000, 0x4000)]);
    for pa in [0x8, 0x3ff8, 0x10000, 0x13ff8] {
        assert_eq!(read(&*m, pa, 8).unwrap(), expected(pa, 8), "{pa:#x}");
    }
    assert_eq!(m.metadata().elf_cpu.clone().unwrap().cr3, 0x5000);
}

#[test]
fn vmware_bad_metadata() {
    let dir = tempfile::tempdir().unwrap();
    let regions = [(0, 0, 4), (0x10, 4, 4)];
    let vm = vmem(&regions);

    // regionsCount lies (5, three regions missing) and one region lacks its size.
    let mut m = Vec::new();
    tag(&mut m, "regionsCount", &[], &5u32.to_le_bytes());
    for (i, (ppn, num, pages)) in regions.iter().enumerate() {
        tag(&mut m, "regionPPN", &[i as u32], &ppn.to_le_bytes());
        tag(&mut m, "regionPageNum", &[i as u32], &num.to_le_bytes());
        tag(&mut m, "regionSize", &[i as u32], &pages.to_le_bytes());
    }
    tag(&mut m, "regionPPN", &[2], &0x20u32.to_le_bytes());
    m.extend_from_slice(&[0, 0]);
    let p = write_pair(dir.path(), "lying", &vm, &checkpoint(&[("memory", m)]));
    let c = open(&p).unwrap();
    assert_eq!(c.ranges(), &[r(0, 0x4000), r(0x10000, 0x4000)]);
    let w = &c.metadata().warnings;
    assert!(w.iter().any(|w| w.contains("region 2 lacks")), "{w:?}");
    assert!(w.iter().any(|w| w.contains("regionsCount is 5")), "{w:?}");
    assert!(c.metadata().elf_cpu.is_none());

    // A region past the end of the .vmem: clipped, with the root cause.
    let ss = checkpoint(&[("memory", memory_group(2, &[(0, 0, 4), (0x10, 4, 10)]))]);
    let p = write_pair(dir.path(), "past", &vm, &ss);
    let c = open(&p).unwrap();
    assert_eq!(c.ranges(), &[r(0, 0x4000), r(0x10000, 0x4000)]);
    assert_eq!(
        c.metadata().root_cause,
        Some(RootCause::PagesMissing {
            extents: Extents::VmwareRegions,
            pages: 6,
            file_size: vm.len() as u64
        })
    );

    // Overlapping regions: the lower start wins, with a warning.
    let ss = checkpoint(&[("memory", memory_group(2, &[(0, 0, 6), (4, 4, 4)]))]);
    let p = write_pair(dir.path(), "overlap", &vm, &ss);
    let c = open(&p).unwrap();
    assert_eq!(c.ranges(), &[r(0, 0x8000)]);
    assert!(c.metadata().warnings.iter().any(|w| w.contains("overlap")));

    // The memory group's tags cut short: partial result with a warning.
    let mut g = memory_group(2, &regions);
    g.truncate(40);
    let ss = checkpoint(&[("memory", g)]);
    let p = write_pair(dir.path(), "cut", &vm, &ss[..ss.len()]);
    let c = open(&p).unwrap();
    assert!(
        c.metadata()
            .warnings
            .iter()
            .any(|w| w.contains("\"memory\" group")),
        "{:?}",
        c.metadata().warnings
    );

    // No region map at all: the .vmem is linear from 0.
    let mut m = Vec::new();
    tag(&mut m, "regionsCount", &[], &0u32.to_le_bytes());
    m.extend_from_slice(&[0, 0]);
    let p = write_pair(dir.path(), "linear", &vm, &checkpoint(&[("memory", m)]));
    let c = open(&p).unwrap();
    assert_eq!(c.ranges(), &[r(0, vm.len() as u64)]);

    // Unusable checkpoints: one line naming the checkpoint.
    let p = write_pair(
        dir.path(),
        "nomem",
        &vm,
        &checkpoint(&[("cpu", cpu_group(1, false))]),
    );
    let e = msg(open(&p).err().unwrap());
    assert!(
        e.contains("nomem.vmss") && e.contains("\"memory\" group"),
        "{e}"
    );
    let p = dir.path().join("short.vmem");
    std::fs::write(&p, &vm).unwrap();
    let opts = OpenOptions {
        vmware_meta: Some(dir.path().join("short.vmss")),
    };
    std::fs::write(dir.path().join("short.vmss"), [0xD2, 0xBE, 0xD2, 0xBE, 0]).unwrap();
    let e = msg(open_with(&p, &opts).err().unwrap());
    assert!(e.contains("short.vmss") && e.contains("truncated"), "{e}");
    // A group count far beyond the file and a group offset past the end: no panic.
    let mut ss = checkpoint(&[("memory", memory_group(2, &regions))]);
    ss[8..12].copy_from_slice(&u32::MAX.to_le_bytes());
    let p = write_pair(dir.path(), "groups", &vm, &ss);
    let c = open(&p).unwrap();
    assert!(c
        .metadata()
        .warnings
        .iter()
        .any(|w| w.contains("declares 4294967295 groups")));
    let mut ss = checkpoint(&[("memory", memory_group(2, &regions))]);
    ss[12 + 64..12 + 72].copy_from_slice(&u64::MAX.to_le_bytes());
    let p = write_pair(dir.path(), "far", &vm, &ss);
    assert!(open(&p).is_ok());
    // A region whose page numbers overflow: one line.
    let ss = checkpoint(&[("memory", memory_group(1, &[(u32::MAX, u32::MAX, u32::MAX)]))]);
    let p = write_pair(dir.path(), "big", &vm, &ss);
    let c = open(&p).unwrap();
    assert!(c.metadata().root_cause.is_some());
}

#[test]
fn a_lone_large_vmem_warns_about_a_hole() {
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("big.vmem");
    let f = std::fs::File::create(&p).unwrap();
    f.set_len((3 << 30) + 0x1000).unwrap();
    let m = open(&p).unwrap();
    assert_eq!(m.metadata().format, DumpFormat::Raw);
    assert!(m.metadata().warnings[0].contains("memory hole"));
    let small = dir.path().join("small.vmem");
    std::fs::write(&small, vec![0u8; 0x2000]).unwrap();
    assert!(open(&small).unwrap().metadata().warnings.is_empty());
}

/// A byte source that is not a file: the readers see only `read_exact_at`.
#[derive(Debug)]
struct InMemory(Vec<u8>);

impl ByteSource for InMemory {
    fn len(&self) -> u64 {
        self.0.len() as u64
    }
    fn read_exact_at(&self, offset: u64, buf: &mut [u8]) -> std::io::Result<()> {
        let src = usize::try_from(offset)
            .ok()
            .and_then(|o| self.0.get(o..o.checked_add(buf.len())?))
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::UnexpectedEof))?;
        buf.copy_from_slice(src);
        Ok(())
    }
    fn name(&self) -> String {
        "mem://capture".into()
    }
}

#[test]
fn open_source_reads_every_format_without_a_map() {
    let dir = tempfile::tempdir().unwrap();
    let full = dir.path().join("full.dmp");
    write_full(&full, &[(1, 2), (0x10, 3)], None);
    let bm = dir.path().join("bm.dmp");
    write_bitmap(&bm, 5, 0x40, &[1, 2, 5, 0x30], b"SDMP");
    let cases = [
        (
            std::fs::read(&full).unwrap(),
            DumpFormat::CrashDumpFull,
            0x10_000u64,
        ),
        (
            std::fs::read(&bm).unwrap(),
            DumpFormat::CrashDumpBitmap,
            0x30_000,
        ),
        (
            lime(&[(0x1000, 0x3000), (0x8000, 0x9000)]),
            DumpFormat::Lime,
            0x8000,
        ),
    ];
    for (bytes, format, pa) in cases {
        let mapped = Arc::new(InMemory(bytes));
        let m = open_source(mapped).unwrap();
        assert_eq!(m.metadata().format, format);
        assert_eq!(
            read(&*m, pa + 0x10, 16).unwrap(),
            expected(pa + 0x10, 16),
            "{format:?}"
        );
        // Not memory-mapped: no zero-copy slices, reads still work.
        assert!(m.slice(pa, 16).is_none());
    }
    let e = open_source(Arc::new(InMemory(b"just some text\n".to_vec())))
        .err()
        .unwrap();
    assert_eq!(
        e.to_string(),
        "mem://capture: not a memory capture: a text file"
    );
    let e = open_source(Arc::new(InMemory(Vec::new()))).err().unwrap();
    assert!(matches!(e, OpenError::Empty { .. }));
    // The file source: its name is the path, its content mapped.
    let f = MappedFile::open(&full).unwrap();
    assert_eq!(f.name(), full.display().to_string());
    assert_eq!(f.mapped().map(<[u8]>::len), Some(f.len() as usize));
}

#[test]
fn root_causes_of_captures_without_memory() {
    let dir = tempfile::tempdir().unwrap();
    // Triage dump.
    let p = dir.path().join("triage.dmp");
    std::fs::write(&p, Header::new(4).bytes()).unwrap();
    let m = open(&p).unwrap();
    let cause = m.metadata().root_cause.unwrap();
    assert_eq!(cause, RootCause::empty(EmptyCapture::TriageDump));
    assert!(cause
        .to_string()
        .starts_with("the capture holds no physical memory"));
    // Header only: the runs promise pages, the file ends at 0x2000.
    let p = dir.path().join("header-only.dmp");
    write_full(&p, &[(1, 4)], Some(0));
    let m = open(&p).unwrap();
    assert!(m.ranges().is_empty());
    assert_eq!(
        m.metadata().root_cause,
        Some(RootCause::empty(EmptyCapture::HeaderOnly))
    );
    // Truncated bitmap dump: the bitmap marks pages the file does not hold.
    let p = dir.path().join("bm.dmp");
    write_bitmap(&p, 5, 0x40, &[1, 2, 5, 6, 0x30], b"SDMP");
    let d = std::fs::read(&p).unwrap();
    std::fs::write(&p, &d[..d.len() - 2 * PAGE as usize]).unwrap();
    let m = open(&p).unwrap();
    let cause = m.metadata().root_cause.unwrap();
    assert_eq!(
        cause,
        RootCause::PagesMissing {
            extents: Extents::Bitmap,
            pages: 2,
            file_size: (d.len() - 2 * PAGE as usize) as u64
        }
    );
    assert!(cause
        .to_string()
        .starts_with("the bitmap marks 2 pages present that the file"));
    // A complete capture has no root cause.
    let p = dir.path().join("ok.dmp");
    write_full(&p, &[(1, 2)], None);
    assert_eq!(open(&p).unwrap().metadata().root_cause, None);
}
