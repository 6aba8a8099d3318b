//! ELF64 little-endian cores (QEMU `dump-guest-memory`, VirtualBox `dumpvmcore`): PT_LOAD
//! segments give physical memory (`p_paddr`); a "QEMU" note (QEMUCPUState) or a VirtualBox
//! "VBCPU" note (DBGFCORECPU, format versions 0x10004..=0x10006) gives the first CPU's control
//! registers.

use crate::bytes::{u16_at, u32_at, u64_at};
use crate::mapped::Mapped;
use crate::segmented::{Segment, SegmentedImage};
use crate::{Capture, DumpFormat, DumpMetadata, ElfCpuState, OpenError};

const PT_LOAD: u32 = 1;
const PT_NOTE: u32 = 4;
/// e_phnum value meaning "the real count is in section header 0's sh_info".
const PN_XNUM: u16 = 0xFFFF;
const PHDR_SIZE: u64 = 0x38;
/// Offset of cr[0] in QEMU's QEMUCPUState: version, size (2 × u32), 18 general registers,
/// 10 segment descriptors of 24 bytes (cs ds es fs gs ss ldt tr gdt idt).
const QEMU_CR0: usize = 8 + 18 * 8 + 10 * 24;

/// Open an ELF core whose first bytes are "\x7fELF".
pub(crate) fn open(map: Mapped) -> Result<Capture, OpenError> {
    let d = map.bytes();
    let file_len = map.len();
    let class = d.get(4).copied();
    let data = d.get(5).copied();
    if class != Some(2) {
        return Err(map.unsupported(format!(
            "ELF file of class {} (only 64-bit ELF cores are read)",
            class.map_or("?".into(), |c| c.to_string())
        )));
    }
    if data != Some(1) {
        return Err(map.unsupported("big-endian ELF file (only little-endian cores are read)"));
    }
    let e_type = u16_at(d, 0x10);
    let (Some(phoff), Some(shoff), Some(phentsize), Some(phnum16)) = (
        u64_at(d, 0x20),
        u64_at(d, 0x28),
        u16_at(d, 0x36),
        u16_at(d, 0x38),
    ) else {
        return Err(map.malformed(format!(
            "ELF header truncated: file is {file_len} bytes, the ELF64 header needs 64"
        )));
    };
    let mut meta = DumpMetadata::new(DumpFormat::ElfCore, file_len);
    if e_type != Some(4) {
        meta.warnings.push(format!(
            "ELF e_type is {}, not ET_CORE (4)",
            e_type.unwrap_or(0)
        ));
    }
    if u64::from(phentsize) != PHDR_SIZE {
        return Err(map.malformed(format!(
            "ELF program header entry size is {phentsize}, expected {PHDR_SIZE}"
        )));
    }
    let phnum = if phnum16 == PN_XNUM {
        // The real count is sh_info (offset 0x2C) of section header 0.
        usize::try_from(shoff)
            .ok()
            .and_then(|o| u32_at(d, o.checked_add(0x2C)?))
            .map(u64::from)
            .ok_or_else(|| {
                map.malformed("ELF e_phnum is PN_XNUM but section header 0 is not in the file")
            })?
    } else {
        u64::from(phnum16)
    };
    let table_end = phnum
        .checked_mul(PHDR_SIZE)
        .and_then(|n| n.checked_add(phoff));
    if !matches!(table_end, Some(e) if e <= file_len) {
        return Err(map.malformed(format!(
            "ELF program header table ({phnum} entries at {phoff:#x}) extends past the end of \
             the file ({file_len} bytes)"
        )));
    }

    let mut segs = Vec::new();
    let mut beyond_filesz: Vec<(u64, u64)> = Vec::new();
    for i in 0..phnum {
        let o = (phoff + i * PHDR_SIZE) as usize;
        let (Some(p_type), Some(p_offset), Some(p_paddr), Some(p_filesz), Some(p_memsz)) = (
            u32_at(d, o),
            u64_at(d, o + 0x08),
            u64_at(d, o + 0x18),
            u64_at(d, o + 0x20),
            u64_at(d, o + 0x28),
        ) else {
            break;
        };
        match p_type {
            PT_LOAD => {
                if p_memsz > p_filesz {
                    let start = p_paddr.saturating_add(p_filesz);
                    beyond_filesz.push((start, p_paddr.saturating_add(p_memsz)));
                }
                segs.push(Segment {
                    pa: p_paddr,
                    len: p_filesz,
                    file_off: p_offset,
                });
            }
            PT_NOTE if meta.elf_cpu.is_none() => {
                let end = p_offset.saturating_add(p_filesz).min(file_len);
                if let Some(notes) = d.get(p_offset as usize..end as usize) {
                    meta.elf_cpu = parse_notes(notes, &mut meta.warnings);
                }
            }
            _ => {}
        }
    }
    if !beyond_filesz.is_empty() {
        meta.warnings.push(format!(
            "{} PT_LOAD segments have p_memsz > p_filesz: physical {} not in the capture",
            beyond_filesz.len(),
            crate::bytes::fmt_ranges(&beyond_filesz, 8)
        ));
    }
    if segs.is_empty() {
        meta.warnings
            .push("ELF core without PT_LOAD segments: no physical memory".into());
    }
    Ok(Box::new(SegmentedImage::new(
        map,
        segs,
        meta,
        "the PT_LOAD segments",
    )))
}

/// VirtualBox "VBCORE" descriptor magic (DBGFCORE_MAGIC).
const VBCORE_MAGIC: u32 = 0xc01a_c0de;
/// VirtualBox core format versions whose "VBCPU" note is a DBGFCORECPU with the layout
/// checked against VirtualBox's dbgfcorefmt.h (0x10006) and REVEN's reader (0x10004/5):
/// 18 general registers, 6 × 24-byte DBGFCORESEL, then cr0, cr2, cr3, cr4.
const VBCORE_VERSIONS: std::ops::RangeInclusive<u32> = 0x0001_0004..=0x0001_0006;
/// Offset of cr0 in DBGFCORECPU.
const VBCPU_CR0: usize = 18 * 8 + 6 * 24;

/// CPU state from the notes of a PT_NOTE segment: the first "QEMU" note (QEMUCPUState), or
/// the first "VBCPU" note of a VirtualBox core whose "VBCORE" version has a known layout.
fn parse_notes(notes: &[u8], warnings: &mut Vec<String>) -> Option<ElfCpuState> {
    let mut vbox_version: Option<u32> = None;
    let mut o = 0usize;
    while o + 12 <= notes.len() {
        let namesz = u32_at(notes, o)? as usize;
        let descsz = u32_at(notes, o + 4)? as usize;
        let name_start = o + 12;
        let desc_start = name_start.checked_add(namesz.checked_next_multiple_of(4)?)?;
        let next = desc_start.checked_add(descsz.checked_next_multiple_of(4)?)?;
        let name = notes.get(name_start..name_start.checked_add(namesz)?)?;
        let desc = notes.get(desc_start..desc_start.checked_add(descsz)?)?;
        let name = name.strip_suffix(b"\0").unwrap_or(name);
        if name == b"QEMU" {
            return Some(ElfCpuState {
                cr0: u64_at(desc, QEMU_CR0)?,
                cr3: u64_at(desc, QEMU_CR0 + 3 * 8)?,
                cr4: u64_at(desc, QEMU_CR0 + 4 * 8)?,
            });
        }
        if name == b"VBCORE" && u32_at(desc, 0) == Some(VBCORE_MAGIC) {
            vbox_version = u32_at(desc, 4);
        }
        if name == b"VBCPU" {
            match vbox_version {
                Some(v) if VBCORE_VERSIONS.contains(&v) => {
                    return Some(ElfCpuState {
                        cr0: u64_at(desc, VBCPU_CR0)?,
                        cr3: u64_at(desc, VBCPU_CR0 + 2 * 8)?,
                        cr4: u64_at(desc, VBCPU_CR0 + 3 * 8)?,
                    });
                }
                v => {
                    warnings.push(format!(
                        "VirtualBox core format version {}: its VBCPU layout is not one this \
                         reader has verified (0x10004..=0x10006); no CPU state read",
                        v.map_or("unknown".to_string(), |v| format!("{v:#x}"))
                    ));
                    return None;
                }
            }
        }
        o = next;
    }
    None
}
