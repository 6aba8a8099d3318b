//! Kernel discovery: DTB, kernel image, build, PDB identity, profile.
//!
//! Each step is recorded in [`Kernel::steps`] so `memtriage info` can say how every fact was
//! found, and a failure lists what was tried and what each step saw.

use crate::layout::Layout;
use crate::pe::{pe_signature_offset, read_pe, section_names, PeInfo};
use crate::{process, Result, WinError};
use memtriage_dump::{PhysicalMemory, PAGE_SIZE};
use memtriage_paging::{AddressSpace, PagingMode};
use memtriage_symbols::{MatchKind, PdbId, Profile};
use serde::Serialize;
use std::path::PathBuf;
use std::sync::Arc;

/// Virtual address of KUSER_SHARED_DATA on x64.
pub const KUSER_SHARED_DATA: u64 = 0xFFFF_F780_0000_0000;
/// Offset of NtMajorVersion in KUSER_SHARED_DATA.
const KUSER_NT_MAJOR: u64 = 0x26C;
const KUSER_NT_MINOR: u64 = 0x270;
const KUSER_NT_BUILD: u64 = 0x260;
const KUSER_SYSTEM_TIME: u64 = 0x14;
/// How far back from a hint the kernel base is searched.
const KERNEL_SEARCH_BACK: u64 = 64 * 1024 * 1024;
/// Low physical memory scanned for a PML4 when nothing else gives a DTB.
const DTB_SCAN_LIMIT: u64 = 64 * 1024 * 1024;

/// User-supplied facts that replace discovery steps.
#[derive(Debug, Clone, Default)]
pub struct Overrides {
    /// Use this DTB (physical address of the kernel PML4).
    pub dtb: Option<u64>,
    /// Use this kernel image base.
    pub kernel_base: Option<u64>,
    /// Use this ISF file as the profile.
    pub isf: Option<PathBuf>,
    /// Use this PDB file as the profile.
    pub pdb: Option<PathBuf>,
    /// Assume this build number.
    pub build: Option<u32>,
    /// Use 5-level paging (LA57) even when the capture does not say so.
    pub la57: bool,
}

/// The paging mode: 5-level when asked for or when the capture's CPU state has CR4.LA57.
pub fn paging_mode(memory: &dyn PhysicalMemory, overrides: &Overrides) -> PagingMode {
    let cr4_la57 = memory
        .metadata()
        .elf_cpu
        .as_ref()
        .is_some_and(|c| c.cr4 & (1 << 12) != 0);
    if overrides.la57 || cr4_la57 {
        PagingMode::Level5
    } else {
        PagingMode::Level4
    }
}

/// One discovery step: what was tried and what it saw.
#[derive(Debug, Clone, Serialize)]
pub struct DiscoveryStep {
    /// The step's name (`dtb:crash-dump-header`, `kernel:scan-back`, ...).
    pub step: String,
    /// Whether it produced the fact.
    pub ok: bool,
    /// What it saw.
    pub detail: String,
}

/// The discovered kernel: address space, image, build, profile and key addresses.
#[derive(Clone)]
pub struct Kernel {
    /// The capture's physical memory.
    pub memory: Arc<dyn PhysicalMemory>,
    /// The kernel address space (System DTB).
    pub space: AddressSpace,
    /// Physical address of the kernel PML4.
    pub dtb: u64,
    /// How the DTB was found.
    pub dtb_source: String,
    /// Kernel image base (virtual).
    pub base: u64,
    /// The parsed kernel image.
    pub image: PeInfo,
    /// Windows build number (`NtBuildNumber & 0xFFFF`).
    pub build: u32,
    /// Raw NtBuildNumber (top nibble 0xF = free build), if read.
    pub nt_build_number: Option<u32>,
    /// NtMajorVersion / NtMinorVersion from KUSER_SHARED_DATA.
    pub nt_version: Option<(u32, u32)>,
    /// The kernel's PDB identity from its CodeView record.
    pub pdb: Option<PdbId>,
    /// The profile in use.
    pub profile: Arc<Profile>,
    /// How the profile was matched.
    pub match_kind: MatchKind,
    /// Offsets resolved from the profile.
    pub layout: Arc<Layout>,
    /// Virtual address of the System EPROCESS (PsInitialSystemProcess).
    pub system_eprocess: u64,
    /// PsActiveProcessHead (found from the System process's links).
    pub ps_active_process_head: Option<u64>,
    /// PsLoadedModuleList (the export).
    pub ps_loaded_module_list: Option<u64>,
    /// Processor count (header or KeNumberProcessors).
    pub processors: Option<u32>,
    /// System time as a FILETIME (header or KUSER_SHARED_DATA).
    pub system_time: Option<u64>,
    /// Every step, in order.
    pub steps: Vec<DiscoveryStep>,
    /// Non-fatal problems.
    pub warnings: Vec<String>,
}

impl std::fmt::Debug for Kernel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Kernel")
            .field("dtb", &format_args!("{:#x}", self.dtb))
            .field("base", &format_args!("{:#x}", self.base))
            .field("build", &self.build)
            .field("pdb", &self.pdb)
            .finish()
    }
}

/// KUSER_SHARED_DATA's NtMajorVersion/NtMinorVersion through `space`, if it is a plausible
/// Windows (6.x or 10.0).
pub fn kuser_version(space: &AddressSpace) -> Option<(u32, u32)> {
    let major = space.read_u32(KUSER_SHARED_DATA + KUSER_NT_MAJOR).ok()?;
    let minor = space.read_u32(KUSER_SHARED_DATA + KUSER_NT_MINOR).ok()?;
    ((major == 6 && minor <= 3) || (major == 10 && minor == 0)).then_some((major, minor))
}

/// Whether the page at `pa` looks like an x64 PML4: exactly one self-referencing kernel-half
/// entry, user entry 0 absent or present, and kernel-half entries that are sane.
pub fn looks_like_pml4(mem: &dyn PhysicalMemory, pa: u64) -> Option<usize> {
    let page = pa & !0xFFF;
    let mut buf = [0u8; 4096];
    mem.read_phys(page, &mut buf).ok()?;
    let mut self_refs = Vec::new();
    let mut kernel_present = 0;
    for i in 256..512 {
        let e = u64::from_le_bytes(buf[i * 8..i * 8 + 8].try_into().ok()?);
        if e & 1 == 0 {
            continue;
        }
        if e & 0x80 != 0 {
            return None; // no large pages at the PML4 level
        }
        let frame = e & 0x000F_FFFF_FFFF_F000;
        if frame == page {
            self_refs.push(i);
        } else if !mem.contains(frame) {
            return None;
        }
        kernel_present += 1;
    }
    (self_refs.len() == 1 && kernel_present >= 2).then(|| self_refs[0])
}

fn validate_dtb(
    mem: &Arc<dyn PhysicalMemory>,
    dtb: u64,
    mode: PagingMode,
) -> std::result::Result<(u32, u32), String> {
    let page = dtb & !0xFFF;
    if !mem.contains(page) {
        return Err(format!("{page:#x} is not in the capture"));
    }
    let space = AddressSpace::with_mode(mem.clone(), page, mode);
    kuser_version(&space).ok_or_else(|| {
        format!("KUSER_SHARED_DATA ({KUSER_SHARED_DATA:#x}) does not translate to a Windows 6.x/10 version through {page:#x}")
    })
}

/// Find the low stub (PROCESSOR_START_BLOCK) in the first 1 MiB: `(pml4, kernel_entry)`.
pub fn find_low_stub(mem: &dyn PhysicalMemory) -> Option<(u64, u64, u64)> {
    let mut buf = [0u8; 0xB0];
    let mut pa = 0u64;
    while pa < 0x10_0000 {
        if mem.read_phys(pa, &mut buf).is_ok() {
            let head = u64::from_le_bytes(buf[0..8].try_into().ok()?);
            if head & 0xFFFF_FFFF_FFFF_00FF == 0x0000_0001_0006_00E9 {
                let entry = u64::from_le_bytes(buf[0x70..0x78].try_into().ok()?);
                let pml4 = u64::from_le_bytes(buf[0xA0..0xA8].try_into().ok()?);
                if crate::is_kernel_address(entry) && pml4 & 0xFFF == 0 && pml4 != 0 {
                    return Some((pa, pml4, entry));
                }
            }
        }
        pa += PAGE_SIZE;
    }
    None
}

/// Whether the PE at `base` is the NT kernel: a `POOLCODE` section and export name
/// `ntoskrnl.exe`, or a CodeView record naming `ntkrnlmp.pdb` / `ntoskrnl.pdb`.
fn is_kernel_image(info: &PeInfo) -> bool {
    let export_ok = info
        .export_name
        .as_deref()
        .is_some_and(|n| n.eq_ignore_ascii_case("ntoskrnl.exe"));
    let pool_ok = info.sections.iter().any(|s| s == "POOLCODE");
    let cv_ok = info.codeview.as_ref().is_some_and(|(_, _, n)| {
        let n = n.to_ascii_lowercase();
        n.ends_with("ntkrnlmp.pdb") || n.ends_with("ntoskrnl.pdb") || n.ends_with("ntkrpamp.pdb")
    });
    (export_ok && pool_ok) || cv_ok
}

/// Quick check on a header page before reading a whole image.
fn header_may_be_kernel(header: &[u8]) -> bool {
    pe_signature_offset(header).is_some() && {
        let names = section_names(header);
        names.iter().any(|s| s == "POOLCODE") || names.iter().any(|s| s == ".text")
    }
}

/// The kernel image at `va`, if the page there starts one (cheap checks first).
fn kernel_image_at(space: &AddressSpace, va: u64, header: &mut [u8; 0x1000]) -> Option<PeInfo> {
    if space.read_u16(va).ok() != Some(0x5A4D) || space.read_exact(va, header).is_err() {
        return None;
    }
    if !header_may_be_kernel(header) {
        return None;
    }
    read_pe(space, va).filter(is_kernel_image)
}

/// Scan back from `hint` page by page (bounded) for the kernel image.
fn scan_back(space: &AddressSpace, hint: u64) -> Option<PeInfo> {
    let mut va = hint & !0xFFF;
    let stop = va.saturating_sub(KERNEL_SEARCH_BACK);
    let mut header = [0u8; 0x1000];
    while va >= stop && crate::is_kernel_address(va) {
        if let Some(info) = kernel_image_at(space, va, &mut header) {
            return Some(info);
        }
        va = va.checked_sub(PAGE_SIZE)?;
    }
    None
}

/// Scan the mapped kernel ranges of the system area for the kernel image.
fn scan_kernel_area(space: &AddressSpace) -> Option<PeInfo> {
    let mut header = [0u8; 0x1000];
    for range in space.ranges(0xFFFF_F800_0000_0000, 0xFFFF_F880_0000_0000) {
        if range.state != memtriage_paging::RangeState::Valid {
            continue;
        }
        let mut va = range.start;
        while va < range.end {
            if let Some(info) = kernel_image_at(space, va, &mut header) {
                return Some(info);
            }
            va += PAGE_SIZE;
        }
    }
    None
}

impl Kernel {
    /// Discover the kernel in `memory`, honouring `overrides`.
    pub fn discover(memory: Arc<dyn PhysicalMemory>, overrides: &Overrides) -> Result<Kernel> {
        let mut steps: Vec<DiscoveryStep> = Vec::new();
        let mut warnings = Vec::new();
        let mut step = |name: &str, ok: bool, detail: String| {
            steps.push(DiscoveryStep {
                step: name.to_string(),
                ok,
                detail,
            })
        };
        let meta = memory.metadata().clone();
        let mode = paging_mode(memory.as_ref(), overrides);
        if mode == PagingMode::Level5 {
            step("paging", true, "5-level paging (LA57)".into());
        }
        let header = meta.crash_dump.clone();
        let mut hints: Vec<u64> = Vec::new();

        // --- DTB ---
        let mut found: Option<(u64, String)> = None;
        if let Some(dtb) = overrides.dtb {
            match validate_dtb(&memory, dtb, mode) {
                Ok(_) => {
                    step("dtb:override", true, format!("{dtb:#x} (--dtb)"));
                }
                Err(e) => {
                    step(
                        "dtb:override",
                        true,
                        format!("{dtb:#x} (--dtb; not validated: {e})"),
                    );
                    warnings.push(format!("--dtb {dtb:#x} does not validate: {e}"));
                }
            }
            found = Some((dtb & !0xFFF, "override".into()));
        }
        if let Some(h) = &header {
            for hint in [
                h.ps_loaded_module_list,
                h.ps_active_process_head,
                h.kd_debugger_data_block,
            ] {
                if crate::is_kernel_address(hint) {
                    hints.push(hint);
                }
            }
            if found.is_none() && h.directory_table_base != 0 {
                let dtb = h.directory_table_base & !0xFFF;
                match validate_dtb(&memory, dtb, mode) {
                    Ok((ma, mi)) => {
                        step(
                            "dtb:crash-dump-header",
                            true,
                            format!("{dtb:#x} validated (KUSER_SHARED_DATA says {ma}.{mi})"),
                        );
                        found = Some((dtb, "crash-dump-header".into()));
                    }
                    Err(e) => {
                        step("dtb:crash-dump-header", false, format!("{dtb:#x}: {e}"));
                        warnings.push(format!("the crash-dump header's DTB {dtb:#x} does not validate ({e}); falling back to a scan"));
                    }
                }
            }
        }
        if found.is_none() {
            if let Some(cpu) = &meta.elf_cpu {
                let dtb = cpu.cr3 & 0x000F_FFFF_FFFF_F000;
                match validate_dtb(&memory, dtb, mode) {
                    Ok(_) => {
                        step("dtb:elf-cpu-note", true, format!("CR3 {dtb:#x} validated"));
                        found = Some((dtb, "elf-cpu-note".into()));
                    }
                    Err(e) => step("dtb:elf-cpu-note", false, format!("CR3 {dtb:#x}: {e}")),
                }
            }
        }
        let low_stub = find_low_stub(memory.as_ref());
        if let Some((_, _, entry)) = low_stub {
            hints.push(entry);
        }
        if found.is_none() {
            match low_stub {
                Some((pa, pml4, entry)) => match validate_dtb(&memory, pml4, mode) {
                    Ok(_) => {
                        step(
                            "dtb:low-stub",
                            true,
                            format!("low stub at {pa:#x}: PML4 {pml4:#x}, kernel entry {entry:#x}"),
                        );
                        found = Some((pml4, "low-stub".into()));
                    }
                    Err(e) => step(
                        "dtb:low-stub",
                        false,
                        format!("low stub at {pa:#x} gives PML4 {pml4:#x}: {e}"),
                    ),
                },
                None => step(
                    "dtb:low-stub",
                    false,
                    "no PROCESSOR_START_BLOCK in the first 1 MiB".into(),
                ),
            }
        }
        if found.is_none() {
            let mut seen = 0usize;
            'scan: for r in memory.ranges() {
                let mut pa = (r.start + 0xFFF) & !0xFFF;
                while pa + PAGE_SIZE <= r.end() && pa < DTB_SCAN_LIMIT {
                    if let Some(idx) = looks_like_pml4(memory.as_ref(), pa) {
                        seen += 1;
                        if let Ok((ma, mi)) = validate_dtb(&memory, pa, mode) {
                            step("dtb:scan", true, format!("PML4 at {pa:#x}, self-reference index {idx:#x}, KUSER_SHARED_DATA says {ma}.{mi}"));
                            found = Some((pa, "scan".into()));
                            break 'scan;
                        }
                    }
                    pa += PAGE_SIZE;
                }
            }
            if found.is_none() {
                step("dtb:scan", false, format!("scanned low {} MiB: {seen} self-referencing PML4 candidates, none validated by KUSER_SHARED_DATA", DTB_SCAN_LIMIT >> 20));
            }
        }
        let Some((dtb, dtb_source)) = found else {
            return Err(WinError::Discovery(describe_failure("no DTB", &steps)));
        };
        let space = AddressSpace::with_mode(memory.clone(), dtb, mode);
        let nt_version = kuser_version(&space);

        // --- kernel image ---
        let mut image: Option<PeInfo> = None;
        if let Some(base) = overrides.kernel_base {
            image = read_pe(&space, base);
            step(
                "kernel:override",
                image.is_some(),
                format!("{base:#x} (--kernel-base)"),
            );
            if image.is_none() {
                return Err(WinError::Discovery(format!(
                    "--kernel-base {base:#x}: no readable PE image there"
                )));
            }
        }
        if image.is_none() {
            for hint in &hints {
                if let Some(info) = scan_back(&space, *hint) {
                    step(
                        "kernel:scan-back",
                        true,
                        format!("from hint {hint:#x}: ntoskrnl at {:#x}", info.base),
                    );
                    image = Some(info);
                    break;
                }
                step(
                    "kernel:scan-back",
                    false,
                    format!(
                        "from hint {hint:#x}: no kernel image within {} MiB",
                        KERNEL_SEARCH_BACK >> 20
                    ),
                );
            }
        }
        if image.is_none() {
            match scan_kernel_area(&space) {
                Some(info) => {
                    step(
                        "kernel:scan",
                        true,
                        format!(
                            "ntoskrnl at {:#x} (PE with kernel CodeView/exports)",
                            info.base
                        ),
                    );
                    image = Some(info);
                }
                None => step(
                    "kernel:scan",
                    false,
                    "no PE in the mapped system area names ntoskrnl.exe / ntkrnlmp.pdb".into(),
                ),
            }
        }
        let Some(image) = image else {
            return Err(WinError::Discovery(describe_failure(
                "no kernel image",
                &steps,
            )));
        };
        let base = image.base;
        let pdb = image.codeview.as_ref().map(|(guid, age, _)| PdbId {
            guid: guid.clone(),
            age: *age,
        });
        if let Some(p) = &pdb {
            step(
                "kernel:pdb",
                true,
                format!("CodeView RSDS: {} age {}", p.guid, p.age),
            );
        }

        // --- build ---
        let nt_build_number = image
            .export_rva("NtBuildNumber")
            .and_then(|rva| space.read_u32(base + rva).ok());
        let kuser_build = space
            .read_u32(KUSER_SHARED_DATA + KUSER_NT_BUILD)
            .ok()
            .filter(|b| (7600..100_000).contains(b));
        let build = match (overrides.build, nt_build_number) {
            (Some(b), _) => {
                step("build:override", true, format!("{b} (--build)"));
                b
            }
            (None, Some(n)) => {
                let b = n & 0xFFFF;
                step("build:NtBuildNumber", true, format!("{n:#x} → build {b}"));
                if let Some(k) = kuser_build {
                    if nt_version.is_some_and(|(ma, _)| ma >= 10) && k != b {
                        warnings.push(format!(
                            "NtBuildNumber says build {b} but KUSER_SHARED_DATA says {k}"
                        ));
                    }
                }
                b
            }
            (None, None) => match (
                kuser_build,
                meta.crash_dump.as_ref().map(|h| h.minor_version),
            ) {
                (Some(k), _) => {
                    step("build:kuser-shared-data", true, format!("{k}"));
                    k
                }
                (None, Some(m)) if m > 2600 => {
                    step("build:crash-dump-header", true, format!("MinorVersion {m}"));
                    m
                }
                _ => {
                    return Err(WinError::Discovery(describe_failure(
                        "no build number",
                        &steps,
                    )))
                }
            },
        };

        // --- System process ---
        let system_eprocess = image
            .export_rva("PsInitialSystemProcess")
            .and_then(|rva| space.read_ptr(base + rva).ok())
            .filter(|va| crate::is_kernel_address(*va));
        let ps_loaded_module_list = image
            .export_rva("PsLoadedModuleList")
            .map(|rva| base + rva)
            .or_else(|| {
                header
                    .as_ref()
                    .map(|h| h.ps_loaded_module_list)
                    .filter(|v| crate::is_kernel_address(*v))
            });

        // --- profile ---
        let mut choices: Vec<(Profile, MatchKind)> = Vec::new();
        if let Some(path) = &overrides.isf {
            let p = Profile::from_isf_path(path)?;
            choices.push((p, MatchKind::UserIsf));
        } else if let Some(path) = &overrides.pdb {
            let p = Profile::from_pdb_path(path)?;
            choices.push((p, MatchKind::UserPdb));
        } else {
            for c in memtriage_symbols::candidates(pdb.as_ref(), Some(build)) {
                choices.push((c.profile, c.kind));
            }
        }
        if choices.is_empty() {
            step(
                "profile",
                false,
                format!("no bundled profile for build {build} or below"),
            );
            return Err(WinError::Discovery(describe_failure("no profile", &steps)));
        }
        let user_chosen = overrides.isf.is_some() || overrides.pdb.is_some();
        let Some(system_eprocess) = system_eprocess else {
            step(
                "kernel:PsInitialSystemProcess",
                false,
                "export missing or unreadable".into(),
            );
            return Err(WinError::Discovery(describe_failure(
                "no System process",
                &steps,
            )));
        };
        let mut chosen = None;
        for (profile, kind) in choices {
            let layout = match Layout::new(&profile) {
                Ok(l) => l,
                Err(e) => {
                    step(
                        "profile:validate",
                        false,
                        format!("{}: {e}", profile.source.name),
                    );
                    continue;
                }
            };
            match process::validate_list(&space, &layout, system_eprocess) {
                Ok(n) => {
                    step("profile:validate", true, format!("{} ({kind:?}): the process list walks {n} processes with printable names", profile.source.name));
                    chosen = Some((profile, kind, layout));
                    break;
                }
                Err(e) => {
                    step(
                        "profile:validate",
                        false,
                        format!("{} ({kind:?}): {e}", profile.source.name),
                    );
                    if user_chosen {
                        warnings.push(format!(
                            "the profile you named does not walk the process list cleanly: {e}"
                        ));
                        chosen = Some((profile, kind, layout));
                        break;
                    }
                }
            }
        }
        let Some((profile, match_kind, layout)) = chosen else {
            return Err(WinError::Discovery(describe_failure(
                "no profile walks the process list",
                &steps,
            )));
        };
        warnings.extend(
            layout
                .missing
                .iter()
                .map(|m| format!("profile {} lacks offsets: {m}", profile.source.name)),
        );
        let ps_active_process_head = space
            .read_list_entry(system_eprocess.wrapping_add(layout.ep_links))
            .ok()
            .map(|le| le.blink)
            .filter(|h| *h >= base && *h < base + image.size_of_image);

        let processors = header
            .as_ref()
            .map(|h| h.number_processors)
            .filter(|n| *n > 0 && *n < 4096)
            .or_else(|| {
                profile
                    .symbol("KeNumberProcessors")
                    .and_then(|rva| space.read_u32(base + rva).ok())
                    .filter(|n| *n > 0 && *n < 4096)
            });
        let system_time = header
            .as_ref()
            .map(|h| h.system_time)
            .filter(|t| *t != 0 && *t != 0x4547_4150_4547_4150)
            .or_else(|| {
                let low = space.read_u32(KUSER_SHARED_DATA + KUSER_SYSTEM_TIME).ok()?;
                let high = space
                    .read_u32(KUSER_SHARED_DATA + KUSER_SYSTEM_TIME + 4)
                    .ok()?;
                let t = (u64::from(high) << 32) | u64::from(low);
                (t != 0).then_some(t)
            });
        let (pte_format, pte_detail) = crate::swpte::software_pte_format(&space, &profile, base);
        step("pte:format", true, pte_detail);
        let space = space.with_pte_format(pte_format);
        Ok(Kernel {
            memory,
            space,
            dtb,
            dtb_source,
            base,
            image,
            build,
            nt_build_number,
            nt_version,
            pdb,
            profile: Arc::new(profile),
            match_kind,
            layout: Arc::new(layout),
            system_eprocess,
            ps_active_process_head,
            ps_loaded_module_list,
            processors,
            system_time,
            steps,
            warnings,
        })
    }

    /// An address space of a process with page-table base `dtb`, sharing this capture, the
    /// kernel's software-PTE layout and its page files.
    pub fn process_space(&self, dtb: u64) -> AddressSpace {
        self.space.with_dtb(dtb & 0x000F_FFFF_FFFF_F000)
    }
}

fn describe_failure(what: &str, steps: &[DiscoveryStep]) -> String {
    let tried: Vec<String> = steps
        .iter()
        .map(|s| {
            format!(
                "{} [{}]: {}",
                s.step,
                if s.ok { "ok" } else { "failed" },
                s.detail
            )
        })
        .collect();
    format!("{what}; tried: {}", tried.join("; "))
}
