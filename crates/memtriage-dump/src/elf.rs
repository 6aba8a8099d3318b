//! ELF64 little-endian cores (QEMU `dump-guest-memory`, VirtualBox `dumpvmcore`): PT_LOAD
//! segments give physical memory (`p_paddr`); a "QEMU" note (QEMUCPUState) or a VirtualBox
//! "VBCPU" note (DBGFCORECPU, format versions 0x10004..=0x10006) gives the first CPU's control
//! registers. Headers and notes are parsed with nom from small owned buffers.

use crate::segmented::{Segment, SegmentedImage};
use crate::source::Evidence;
use crate::{Capture, DumpFormat, DumpMetadata, ElfCpuState, EmptyCapture, Extents, OpenError};
use crate::{NotACapture, RootCause};
use nom::bytes::complete::take;
use nom::number::complete::{le_u16, le_u32, le_u64};
use nom::sequence::{preceded, tuple};
use nom::IResult;

const PT_LOAD: u32 = 1;
const PT_NOTE: u32 = 4;
/// e_type of a core file.
const ET_CORE: u16 = 4;
/// e_phnum value meaning "the real count is in section header 0's sh_info".
const PN_XNUM: u16 = 0xFFFF;
const PHDR_SIZE: u64 = 0x38;
/// Size of the ELF64 header.
const EHDR_SIZE: u64 = 64;
/// The most note bytes read from one PT_NOTE segment (CPU notes are a few hundred bytes).
const MAX_NOTES: u64 = 16 << 20;
/// Offset of cr[0] in QEMU's QEMUCPUState: version, size (2 × u32), 18 general registers,
/// 10 segment descriptors of 24 bytes (cs ds es fs gs ss ldt tr gdt idt).
const QEMU_CR0: usize = 8 + 18 * 8 + 10 * 24;

/// The fields of the ELF64 header this reader uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ElfHeader {
    e_type: u16,
    phoff: u64,
    shoff: u64,
    phentsize: u16,
    phnum: u16,
}

/// Parse the 64-byte ELF64 header (identification checked by the caller).
fn elf_header(i: &[u8]) -> IResult<&[u8], ElfHeader> {
    let (i, (e_type, _machine, _version, _entry, phoff, shoff)) = preceded(
        take(16usize),
        tuple((le_u16, le_u16, le_u32, le_u64, le_u64, le_u64)),
    )(i)?;
    let (i, (_flags, _ehsize, phentsize, phnum, _shentsize, _shnum, _shstrndx)) =
        tuple((le_u32, le_u16, le_u16, le_u16, le_u16, le_u16, le_u16))(i)?;
    Ok((
        i,
        ElfHeader {
            e_type,
            phoff,
            shoff,
            phentsize,
            phnum,
        },
    ))
}

/// The fields of an ELF64 program header this reader uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct ProgramHeader {
    p_type: u32,
    p_offset: u64,
    p_paddr: u64,
    p_filesz: u64,
    p_memsz: u64,
}

/// Parse one 56-byte ELF64 program header.
fn program_header(i: &[u8]) -> IResult<&[u8], ProgramHeader> {
    let (i, (p_type, _flags, p_offset, _vaddr, p_paddr, p_filesz, p_memsz, _align)) = tuple((
        le_u32, le_u32, le_u64, le_u64, le_u64, le_u64, le_u64, le_u64,
    ))(i)?;
    Ok((
        i,
        ProgramHeader {
            p_type,
            p_offset,
            p_paddr,
            p_filesz,
            p_memsz,
        },
    ))
}

/// One ELF note: its name (without the NUL) and descriptor.
fn note(i: &[u8]) -> IResult<&[u8], (&[u8], &[u8])> {
    let (i, (namesz, descsz, _type)) = tuple((le_u32, le_u32, le_u32))(i)?;
    let pad4 = |n: u32| (n as usize).next_multiple_of(4);
    let (i, name) = take(pad4(namesz))(i)?;
    let (i, desc) = take(pad4(descsz))(i)?;
    let name = name.get(..namesz as usize).unwrap_or(name);
    let desc = desc.get(..descsz as usize).unwrap_or(desc);
    Ok((i, (name.strip_suffix(b"\0").unwrap_or(name), desc)))
}

/// Control registers cr0, cr3 and cr4 where cr0 starts at `cr0` in `desc` (cr0..cr4 as u64).
fn control_registers(desc: &[u8], cr0: usize) -> Option<ElfCpuState> {
    let regs = desc.get(cr0..)?;
    let (_, (cr0, _cr1, _cr2, cr3, cr4)) =
        tuple((le_u64::<_, ()>, le_u64, le_u64, le_u64, le_u64))(regs).ok()?;
    Some(ElfCpuState { cr0, cr3, cr4 })
}

/// Open an ELF core whose first bytes are "\x7fELF".
pub(crate) fn open(ev: Evidence) -> Result<Capture, OpenError> {
    let file_len = ev.len();
    let ident = ev.read_upto(0, EHDR_SIZE);
    let class = ident.get(4).copied();
    let data = ident.get(5).copied();
    if class != Some(2) {
        return Err(ev.unsupported(format!(
            "ELF file of class {} (only 64-bit ELF cores are read)",
            class.map_or("?".into(), |c| c.to_string())
        )));
    }
    if data != Some(1) {
        return Err(ev.unsupported("big-endian ELF file (only little-endian cores are read)"));
    }
    let Ok((_, h)) = elf_header(&ident) else {
        return Err(ev.malformed(format!(
            "ELF header truncated: file is {file_len} bytes, the ELF64 header needs 64"
        )));
    };
    if let Some(kind) = NotACapture::elf_object(h.e_type) {
        return Err(OpenError::NotACapture {
            path: ev.path(),
            kind,
        });
    }
    let mut meta = DumpMetadata::new(DumpFormat::ElfCore, file_len);
    if h.e_type != ET_CORE {
        meta.warnings
            .push(format!("ELF e_type is {}, not ET_CORE (4)", h.e_type));
    }
    if u64::from(h.phentsize) != PHDR_SIZE {
        return Err(ev.malformed(format!(
            "ELF program header entry size is {}, expected {PHDR_SIZE}",
            h.phentsize
        )));
    }
    let phnum = if h.phnum == PN_XNUM {
        // The real count is sh_info (offset 0x2C) of section header 0.
        let sh_info = ev.read_upto(h.shoff.saturating_add(0x2C), 4);
        le_u32::<_, ()>(sh_info.as_slice())
            .map(|(_, n)| u64::from(n))
            .map_err(|_| {
                ev.malformed("ELF e_phnum is PN_XNUM but section header 0 is not in the file")
            })?
    } else {
        u64::from(h.phnum)
    };
    let phoff = h.phoff;
    let table_end = phnum
        .checked_mul(PHDR_SIZE)
        .and_then(|n| n.checked_add(phoff));
    if !matches!(table_end, Some(e) if e <= file_len) {
        return Err(ev.malformed(format!(
            "ELF program header table ({phnum} entries at {phoff:#x}) extends past the end of \
             the file ({file_len} bytes)"
        )));
    }
    // Inside the file (checked above), so the buffer is bounded by the file's size.
    let table = ev.read_upto(phoff, phnum * PHDR_SIZE);

    let mut segs = Vec::new();
    let mut beyond_filesz: Vec<(u64, u64)> = Vec::new();
    for entry in table.chunks_exact(PHDR_SIZE as usize) {
        let Ok((_, p)) = program_header(entry) else {
            break;
        };
        match p.p_type {
            PT_LOAD => {
                if p.p_memsz > p.p_filesz {
                    let start = p.p_paddr.saturating_add(p.p_filesz);
                    beyond_filesz.push((start, p.p_paddr.saturating_add(p.p_memsz)));
                }
                segs.push(Segment {
                    pa: p.p_paddr,
                    len: p.p_filesz,
                    file_off: p.p_offset,
                });
            }
            PT_NOTE if meta.elf_cpu.is_none() => {
                let notes = ev.read_upto(p.p_offset, p.p_filesz.min(MAX_NOTES));
                meta.elf_cpu = parse_notes(&notes, &mut meta.warnings);
            }
            _ => {}
        }
    }
    if !beyond_filesz.is_empty() {
        meta.warnings.push(format!(
            "{} PT_LOAD segments have p_memsz > p_filesz: physical {} not in the capture",
            beyond_filesz.len(),
            crate::ranges_fmt::fmt_ranges(&beyond_filesz, 8)
        ));
    }
    if segs.is_empty() {
        meta.warnings
            .push("ELF core without PT_LOAD segments: no physical memory".into());
        meta.root_cause = Some(RootCause::empty(EmptyCapture::NoLoadSegments));
    }
    Ok(Box::new(SegmentedImage::new(
        ev,
        segs,
        meta,
        Extents::LoadSegments,
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
    let mut rest = notes;
    while rest.len() >= 12 {
        let (next, (name, desc)) = note(rest).ok()?;
        rest = next;
        if name == b"QEMU" {
            return control_registers(desc, QEMU_CR0);
        }
        if name == b"VBCORE" {
            if let Ok((_, (magic, version))) = tuple((le_u32::<_, ()>, le_u32))(desc) {
                if magic == VBCORE_MAGIC {
                    vbox_version = Some(version);
                }
            }
        }
        if name == b"VBCPU" {
            match vbox_version {
                Some(v) if VBCORE_VERSIONS.contains(&v) => {
                    // DBGFCORECPU: cr0, cr2, cr3, cr4 (no cr1).
                    let (_, (cr0, _cr2, cr3, cr4)) =
                        tuple((le_u64::<_, ()>, le_u64, le_u64, le_u64))(desc.get(VBCPU_CR0..)?)
                            .ok()?;
                    return Some(ElfCpuState { cr0, cr3, cr4 });
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
    }
    None
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn header_program_header_and_note_fields() {
        let mut e = vec![0u8; 64];
        e[..4].copy_from_slice(b"\x7fELF");
        e[0x10..0x12].copy_from_slice(&4u16.to_le_bytes());
        e[0x20..0x28].copy_from_slice(&0x40u64.to_le_bytes());
        e[0x28..0x30].copy_from_slice(&0x1234u64.to_le_bytes());
        e[0x36..0x38].copy_from_slice(&56u16.to_le_bytes());
        e[0x38..0x3A].copy_from_slice(&3u16.to_le_bytes());
        let (_, h) = elf_header(&e).unwrap();
        assert_eq!(
            h,
            ElfHeader {
                e_type: 4,
                phoff: 0x40,
                shoff: 0x1234,
                phentsize: 56,
                phnum: 3
            }
        );
        assert!(elf_header(&e[..63]).is_err());

        let mut p = vec![0u8; 56];
        p[0..4].copy_from_slice(&1u32.to_le_bytes());
        p[0x08..0x10].copy_from_slice(&0x1000u64.to_le_bytes());
        p[0x18..0x20].copy_from_slice(&0x20_0000u64.to_le_bytes());
        p[0x20..0x28].copy_from_slice(&0x3000u64.to_le_bytes());
        p[0x28..0x30].copy_from_slice(&0x4000u64.to_le_bytes());
        let (_, ph) = program_header(&p).unwrap();
        assert_eq!(
            ph,
            ProgramHeader {
                p_type: 1,
                p_offset: 0x1000,
                p_paddr: 0x20_0000,
                p_filesz: 0x3000,
                p_memsz: 0x4000
            }
        );

        // namesz 5 ("QEMU\0", padded to 8), descsz 6 (padded to 8).
        let mut n = Vec::new();
        n.extend_from_slice(&5u32.to_le_bytes());
        n.extend_from_slice(&6u32.to_le_bytes());
        n.extend_from_slice(&0u32.to_le_bytes());
        n.extend_from_slice(b"QEMU\0\0\0\0");
        n.extend_from_slice(b"abcdef\0\0");
        n.extend_from_slice(b"tail");
        let (rest, (name, desc)) = note(&n).unwrap();
        assert_eq!(
            (name, desc, rest),
            (&b"QEMU"[..], &b"abcdef"[..], &b"tail"[..])
        );
        // A descriptor size past the end is an error, not a panic.
        n[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert!(note(&n).is_err());
    }
}
