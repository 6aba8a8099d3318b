//! Kernel discovery in stages: DTB ([`dtb`]), kernel image ([`image`]), build ([`build`]),
//! profile choice and validation ([`profile`]), System process ([`system`]).
//!
//! Each stage is a function returning a typed record of what it found and what it tried;
//! [`Kernel::steps`] renders those records so `memtriage info` can say how every fact was
//! found. A stage that cannot establish its fact returns a [`DiscoveryError`], one line
//! naming the cause.

pub mod build;
pub mod dtb;
pub mod error;
pub mod image;
pub mod profile;
pub mod step;
pub mod system;

pub use dtb::{find_low_stub, looks_like_pml4};
pub use error::{DiscoveryError, LayoutCause, Tried, MACHINE_AMD64};
pub use profile::{LocatedFrom, ProfileFound, RejectReason, Rejected};
pub use step::DiscoveryStep;

use crate::layout::Layout;
use crate::pe::PeInfo;
use crate::validate::{Target, Validation};
use crate::Result;
use memtriage_dump::PhysicalMemory;
use memtriage_paging::{AddressSpace, PagingMode, FRAME_MASK};
use memtriage_symbols::{MatchKind, PdbId, Profile};
use std::path::PathBuf;
use std::sync::Arc;

/// Virtual address of KUSER_SHARED_DATA on x64.
pub const KUSER_SHARED_DATA: u64 = 0xFFFF_F780_0000_0000;
/// Offset of NtMajorVersion in KUSER_SHARED_DATA.
const KUSER_NT_MAJOR: u64 = 0x26C;
/// Offset of NtMinorVersion in KUSER_SHARED_DATA.
const KUSER_NT_MINOR: u64 = 0x270;
/// CR4 bit 12: 57-bit linear addresses (5-level paging).
const CR4_LA57: u64 = 1 << 12;

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
        .is_some_and(|c| c.cr4 & CR4_LA57 != 0);
    if overrides.la57 || cr4_la57 {
        PagingMode::Level5
    } else {
        PagingMode::Level4
    }
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
    /// The profile's checks on this capture.
    pub validation: Validation,
    /// For a layout located from memory, where each structure group comes from.
    pub located: Option<LocatedFrom>,
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

/// Refuse a crash dump whose header names another architecture (ARM64 0xAA64, x86 0x14C),
/// whatever its dump type (triage dumps too). Captures without a header pass: their page
/// tables decide.
pub fn require_x64(meta: &memtriage_dump::DumpMetadata) -> std::result::Result<(), DiscoveryError> {
    match &meta.crash_dump {
        Some(h) if h.machine_image_type != MACHINE_AMD64 => Err(DiscoveryError::NotX64 {
            machine: h.machine_image_type,
        }),
        _ => Ok(()),
    }
}

impl Kernel {
    /// Discover the kernel in `memory`, honouring `overrides`: the five stages in order.
    pub fn discover(memory: Arc<dyn PhysicalMemory>, overrides: &Overrides) -> Result<Kernel> {
        let meta = memory.metadata().clone();
        require_x64(&meta)?;
        let mut steps: Vec<DiscoveryStep> = Vec::new();
        let mut warnings = Vec::new();
        let mode = paging_mode(memory.as_ref(), overrides);
        if mode == PagingMode::Level5 {
            steps.push(DiscoveryStep {
                step: "paging".into(),
                ok: true,
                detail: "5-level paging (LA57)".into(),
            });
        }

        let dtb = dtb::find_dtb(&memory, overrides, mode)?;
        steps.extend(dtb.attempts.render());
        warnings.extend(dtb.warnings.iter().cloned());
        let space = AddressSpace::with_mode(memory.clone(), dtb.dtb, mode);
        let nt_version = kuser_version(&space);

        let image = image::find_image(&space, &meta, dtb.low_stub_entry, overrides)?;
        steps.extend(image.attempts.render());
        if let Some(p) = &image.pdb {
            steps.push(DiscoveryStep {
                step: "kernel:pdb".into(),
                ok: true,
                detail: format!("CodeView RSDS: {} age {}", p.guid, p.age),
            });
        }

        let build = build::find_build(&space, &image.image, &meta, nt_version, overrides)?;
        steps.extend(build.attempts.render());
        warnings.extend(build.warnings.iter().cloned());

        let system = system::find_system_process(&space, &image.image, &meta)?;
        let target = Target {
            space: &space,
            dtb: dtb.dtb,
            system_eprocess: system.eprocess,
        };
        let facts = profile::KernelFacts {
            build: build.build,
            pdb: image.pdb.as_ref(),
            user_isf: overrides.isf.as_deref(),
            user_pdb: overrides.pdb.as_deref(),
        };
        let chosen = profile::choose_profile(&target, &facts)?;
        steps.extend(profile_steps(&chosen));
        warnings.extend(chosen.warnings.iter().cloned());
        warnings.extend(
            chosen
                .layout
                .missing
                .iter()
                .map(|m| format!("profile {} lacks offsets: {m}", chosen.profile.source.name)),
        );
        if let Some(from) = &chosen.located {
            warnings.push(located_warning(build.build, from));
        }

        let facts = system::system_facts(
            &space,
            &image.image,
            &meta,
            &chosen.profile,
            &chosen.layout,
            &system,
        );
        let (pte_format, pte_detail) =
            crate::swpte::software_pte_format(&space, &chosen.profile, image.image.base);
        steps.push(DiscoveryStep {
            step: "pte:format".into(),
            ok: true,
            detail: pte_detail,
        });
        let space = space.with_pte_format(pte_format);
        Ok(Kernel {
            memory,
            space,
            dtb: dtb.dtb,
            dtb_source: dtb.method.source_name().to_string(),
            base: image.image.base,
            image: image.image,
            build: build.build,
            nt_build_number: build.nt_build_number,
            nt_version,
            pdb: image.pdb,
            profile: Arc::new(chosen.profile),
            match_kind: chosen.kind,
            layout: Arc::new(chosen.layout),
            validation: chosen.validation,
            located: chosen.located,
            system_eprocess: system.eprocess,
            ps_active_process_head: facts.ps_active_process_head,
            ps_loaded_module_list: system.ps_loaded_module_list,
            processors: facts.processors,
            system_time: facts.system_time,
            steps,
            warnings,
        })
    }

    /// An address space of a process with page-table base `dtb`, sharing this capture, the
    /// kernel's software-PTE layout and its page files.
    pub fn process_space(&self, dtb: u64) -> AddressSpace {
        self.space.with_dtb(dtb & FRAME_MASK)
    }

    /// Plain words for the report's `system.profile`: which layout, how it was matched and
    /// which checks passed, e.g. "bundled:19041, matched by exact PDB (GUID and age of the
    /// kernel); checks passed: process list (12), VAD trees (11), ...".
    pub fn profile_summary(&self) -> String {
        let layout = match &self.located {
            Some(from) => located_description(from),
            None => self.profile.source.name.clone(),
        };
        format!(
            "{layout}, matched by {}; {}",
            self.match_kind,
            self.validation.passed_summary()
        )
    }
}

fn located_description(from: &LocatedFrom) -> String {
    let part = |name: &Option<String>| name.clone().unwrap_or_else(|| "none".into());
    format!(
        "layout located from memory (processes: {}, VADs: {}, threads: {}, loader: {})",
        from.processes,
        part(&from.vads),
        part(&from.threads),
        part(&from.loader)
    )
}

fn located_warning(build: u32, from: &LocatedFrom) -> String {
    format!(
        "build {build} has no exact layout: every walker runs on a {}, accepted because the checks on this capture pass; results may be incomplete (give --pdb or --isf for an exact layout)",
        located_description(from)
    )
}

/// The profile stage as `info` steps: each dropped candidate, then the chosen one.
fn profile_steps(found: &ProfileFound) -> Vec<DiscoveryStep> {
    let mut out: Vec<DiscoveryStep> = found
        .rejected
        .iter()
        .map(|r| DiscoveryStep {
            step: "profile:validate".into(),
            ok: false,
            detail: match &r.reason {
                RejectReason::Incomplete(e) => format!("{} ({}): {e}", r.name, r.kind),
                RejectReason::Checks(v) => format!(
                    "{} ({}): {}",
                    r.name,
                    r.kind,
                    v.first_failure()
                        .map_or_else(|| v.passed_summary(), ToString::to_string)
                ),
            },
        })
        .collect();
    out.push(DiscoveryStep {
        step: "profile:validate".into(),
        ok: found.validation.accepted(),
        detail: format!(
            "{} ({}): {}",
            found.profile.source.name,
            found.kind,
            found
                .validation
                .checks
                .iter()
                .map(ToString::to_string)
                .collect::<Vec<_>>()
                .join("; ")
        ),
    });
    out
}
