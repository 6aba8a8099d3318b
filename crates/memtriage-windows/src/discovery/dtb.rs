//! Stage 1: the kernel's page-table root (DTB).

use super::error::DiscoveryError;
use super::step::{Attempts, Method};
use super::{kuser_version, Overrides, KUSER_SHARED_DATA};
use memtriage_dump::{PhysicalMemory, PAGE_SIZE};
use memtriage_paging::{AddressSpace, PagingMode, FRAME_MASK, PTE_LARGE, PTE_PRESENT};
use std::sync::Arc;

/// Low physical memory scanned for a PML4 when nothing else gives a DTB.
const DTB_SCAN_LIMIT: u64 = 64 * 1024 * 1024;

/// Where the DTB came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DtbMethod {
    /// `--dtb`.
    Override,
    /// DirectoryTableBase of the crash-dump header.
    CrashDumpHeader,
    /// CR3 of an ELF core's CPU note.
    ElfCpuNote,
    /// The PML4 of the low stub (PROCESSOR_START_BLOCK).
    LowStub,
    /// A scan of low physical memory for a self-referencing PML4.
    Scan,
}

impl Method for DtbMethod {
    fn step_name(self) -> &'static str {
        match self {
            DtbMethod::Override => "dtb:override",
            DtbMethod::CrashDumpHeader => "dtb:crash-dump-header",
            DtbMethod::ElfCpuNote => "dtb:elf-cpu-note",
            DtbMethod::LowStub => "dtb:low-stub",
            DtbMethod::Scan => "dtb:scan",
        }
    }
    fn label(self) -> &'static str {
        match self {
            DtbMethod::Override => "--dtb",
            DtbMethod::CrashDumpHeader => "crash-dump header",
            DtbMethod::ElfCpuNote => "ELF CPU note",
            DtbMethod::LowStub => "low stub",
            DtbMethod::Scan => "PML4 scan",
        }
    }
}

impl DtbMethod {
    /// The source name shown by `info` (`kernel.dtb_source`).
    pub fn source_name(self) -> &'static str {
        match self {
            DtbMethod::Override => "override",
            DtbMethod::CrashDumpHeader => "crash-dump-header",
            DtbMethod::ElfCpuNote => "elf-cpu-note",
            DtbMethod::LowStub => "low-stub",
            DtbMethod::Scan => "scan",
        }
    }
}

/// The record of the DTB stage.
#[derive(Debug, Clone)]
pub struct DtbFound {
    /// Physical address of the kernel's top-level table.
    pub dtb: u64,
    /// How it was found.
    pub method: DtbMethod,
    /// Kernel entry point of the low stub, a hint for the image search.
    pub low_stub_entry: Option<u64>,
    /// Every method tried.
    pub attempts: Attempts<DtbMethod>,
    /// Non-fatal problems.
    pub warnings: Vec<String>,
}

/// Whether the page at `pa` looks like an x64 PML4: exactly one self-referencing kernel-half
/// entry, user entry 0 absent or present, and kernel-half entries that are sane.
pub fn looks_like_pml4(mem: &dyn PhysicalMemory, pa: u64) -> Option<usize> {
    let page = pa & FRAME_MASK;
    let mut buf = [0u8; 4096];
    mem.read_phys(page, &mut buf).ok()?;
    let mut self_refs = Vec::new();
    let mut kernel_present = 0;
    for (i, raw) in buf.chunks_exact(8).enumerate().skip(256) {
        let e = u64::from_le_bytes(raw.try_into().ok()?);
        if e & PTE_PRESENT == 0 {
            continue;
        }
        if e & PTE_LARGE != 0 {
            return None; // no large pages at the PML4 level
        }
        let frame = e & FRAME_MASK;
        if frame == page {
            self_refs.push(i);
        } else if !mem.contains(frame) {
            return None;
        }
        kernel_present += 1;
    }
    match self_refs.as_slice() {
        [one] if kernel_present >= 2 => Some(*one),
        _ => None,
    }
}

fn validate_dtb(
    mem: &Arc<dyn PhysicalMemory>,
    dtb: u64,
    mode: PagingMode,
) -> Result<(u32, u32), String> {
    let page = dtb & FRAME_MASK;
    if !mem.contains(page) {
        return Err(format!("{page:#x} is not in the capture"));
    }
    let space = AddressSpace::with_mode(mem.clone(), page, mode);
    kuser_version(&space).ok_or_else(|| {
        format!("KUSER_SHARED_DATA ({KUSER_SHARED_DATA:#x}) does not translate to a Windows 6.x/10 version through {page:#x}")
    })
}

/// Find the low stub (PROCESSOR_START_BLOCK) in the first 1 MiB: `(address, pml4, kernel_entry)`.
pub fn find_low_stub(mem: &dyn PhysicalMemory) -> Option<(u64, u64, u64)> {
    let mut buf = [0u8; 0xB0];
    let mut pa = 0u64;
    let field = |b: &[u8], at: usize| -> Option<u64> {
        Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
    };
    while pa < 0x10_0000 {
        if mem.read_phys(pa, &mut buf).is_ok() {
            let head = field(&buf, 0)?;
            if head & 0xFFFF_FFFF_FFFF_00FF == 0x0000_0001_0006_00E9 {
                let entry = field(&buf, 0x70)?;
                let pml4 = field(&buf, 0xA0)?;
                if crate::is_kernel_address(entry) && pml4 & 0xFFF == 0 && pml4 != 0 {
                    return Some((pa, pml4, entry));
                }
            }
        }
        pa += PAGE_SIZE;
    }
    None
}

/// Find the DTB: `--dtb`, the crash-dump header, an ELF CPU note, the low stub, then a scan.
pub fn find_dtb(
    memory: &Arc<dyn PhysicalMemory>,
    overrides: &Overrides,
    mode: PagingMode,
) -> Result<DtbFound, DiscoveryError> {
    let meta = memory.metadata();
    let mut attempts = Attempts::default();
    let mut warnings = Vec::new();
    let mut found: Option<(u64, DtbMethod)> = None;
    if let Some(dtb) = overrides.dtb {
        match validate_dtb(memory, dtb, mode) {
            Ok(_) => attempts.push(DtbMethod::Override, true, format!("{dtb:#x} (--dtb)")),
            Err(e) => {
                attempts.push(
                    DtbMethod::Override,
                    true,
                    format!("{dtb:#x} (--dtb; not validated: {e})"),
                );
                warnings.push(format!("--dtb {dtb:#x} does not validate: {e}"));
            }
        }
        found = Some((dtb & FRAME_MASK, DtbMethod::Override));
    }
    if let Some(h) = meta.crash_dump.as_ref().filter(|_| found.is_none()) {
        if h.directory_table_base != 0 {
            let dtb = h.directory_table_base & FRAME_MASK;
            match validate_dtb(memory, dtb, mode) {
                Ok((ma, mi)) => {
                    attempts.push(
                        DtbMethod::CrashDumpHeader,
                        true,
                        format!("{dtb:#x} validated (KUSER_SHARED_DATA says {ma}.{mi})"),
                    );
                    found = Some((dtb, DtbMethod::CrashDumpHeader));
                }
                Err(e) => {
                    attempts.push(DtbMethod::CrashDumpHeader, false, format!("{dtb:#x}: {e}"));
                    warnings.push(format!("the crash-dump header's DTB {dtb:#x} does not validate ({e}); falling back to a scan"));
                }
            }
        }
    }
    if let Some(cpu) = meta.elf_cpu.as_ref().filter(|_| found.is_none()) {
        let dtb = cpu.cr3 & FRAME_MASK;
        match validate_dtb(memory, dtb, mode) {
            Ok(_) => {
                attempts.push(
                    DtbMethod::ElfCpuNote,
                    true,
                    format!("CR3 {dtb:#x} validated"),
                );
                found = Some((dtb, DtbMethod::ElfCpuNote));
            }
            Err(e) => attempts.push(DtbMethod::ElfCpuNote, false, format!("CR3 {dtb:#x}: {e}")),
        }
    }
    let low_stub = find_low_stub(memory.as_ref());
    if found.is_none() {
        match low_stub {
            Some((pa, pml4, entry)) => match validate_dtb(memory, pml4, mode) {
                Ok(_) => {
                    attempts.push(
                        DtbMethod::LowStub,
                        true,
                        format!("low stub at {pa:#x}: PML4 {pml4:#x}, kernel entry {entry:#x}"),
                    );
                    found = Some((pml4, DtbMethod::LowStub));
                }
                Err(e) => attempts.push(
                    DtbMethod::LowStub,
                    false,
                    format!("low stub at {pa:#x} gives PML4 {pml4:#x}: {e}"),
                ),
            },
            None => attempts.push(
                DtbMethod::LowStub,
                false,
                "no PROCESSOR_START_BLOCK in the first 1 MiB".into(),
            ),
        }
    }
    if found.is_none() {
        found = scan(memory, mode, &mut attempts);
    }
    let Some((dtb, method)) = found else {
        return Err(DiscoveryError::NoDtb {
            tried: attempts.tried(),
        });
    };
    Ok(DtbFound {
        dtb,
        method,
        low_stub_entry: low_stub.map(|(_, _, entry)| entry),
        attempts,
        warnings,
    })
}

/// Scan low physical memory for a self-referencing PML4 that validates.
fn scan(
    memory: &Arc<dyn PhysicalMemory>,
    mode: PagingMode,
    attempts: &mut Attempts<DtbMethod>,
) -> Option<(u64, DtbMethod)> {
    let mut seen = 0usize;
    for r in memory.ranges() {
        let mut pa = (r.start + 0xFFF) & !0xFFF;
        while pa + PAGE_SIZE <= r.end() && pa < DTB_SCAN_LIMIT {
            if let Some(idx) = looks_like_pml4(memory.as_ref(), pa) {
                seen += 1;
                if let Ok((ma, mi)) = validate_dtb(memory, pa, mode) {
                    attempts.push(DtbMethod::Scan, true, format!("PML4 at {pa:#x}, self-reference index {idx:#x}, KUSER_SHARED_DATA says {ma}.{mi}"));
                    return Some((pa, DtbMethod::Scan));
                }
            }
            pa += PAGE_SIZE;
        }
    }
    attempts.push(DtbMethod::Scan, false, format!("scanned low {} MiB: {seen} self-referencing PML4 candidates, none validated by KUSER_SHARED_DATA", DTB_SCAN_LIMIT >> 20));
    None
}
