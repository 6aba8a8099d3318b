//! Why discovery stopped: one typed cause per stage, each rendered as one line.

use crate::validate::Check;

/// Machine type of an x64 Windows crash dump (`IMAGE_FILE_MACHINE_AMD64`).
pub const MACHINE_AMD64: u32 = 0x8664;

/// The methods a stage tried, for the one-line error ("crash-dump header, low stub, scan").
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tried(pub Vec<&'static str>);

impl std::fmt::Display for Tried {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.0.is_empty() {
            f.write_str("nothing")
        } else {
            f.write_str(&self.0.join(", "))
        }
    }
}

/// Why no layout could be used for a kernel.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LayoutCause {
    /// The build is in no bundled family, the PDB matches no bundled table, and no layout
    /// could be located from memory.
    UnknownBuild {
        /// The check that rejected the best located layout, if one got that far.
        located: Option<Box<Check>>,
    },
    /// Bundled candidates exist but every one failed a check on this capture.
    Rejected {
        /// The candidate that came closest (its name).
        candidate: String,
        /// The check it failed.
        check: Box<Check>,
    },
    /// No candidate resolves the offsets the walkers need.
    Incomplete {
        /// The candidate and what it lacks.
        reason: String,
    },
}

/// Why discovery failed. Every variant renders as one line naming the cause.
#[derive(Debug, thiserror::Error)]
pub enum DiscoveryError {
    /// The capture is a crash dump of another architecture.
    #[error("not an x64 capture: the crash-dump header's machine type is {machine:#x} ({}); memtriage reads Windows x64 captures only", machine_name(*machine))]
    NotX64 {
        /// MachineImageType from the header.
        machine: u32,
    },
    /// No page-table root was found.
    #[error("no kernel page tables (DTB) found: tried {tried}; give --dtb")]
    NoDtb {
        /// What was tried.
        tried: Tried,
    },
    /// `--kernel-base` names no readable PE image.
    #[error("--kernel-base {base:#x}: no readable PE image there")]
    KernelBaseOverride {
        /// The address given.
        base: u64,
    },
    /// No kernel image was found in the kernel address space.
    #[error("no kernel image (ntoskrnl) found: tried {tried}; give --kernel-base")]
    NoKernelImage {
        /// What was tried.
        tried: Tried,
    },
    /// No build number could be read.
    #[error("no build number: NtBuildNumber, KUSER_SHARED_DATA and the crash-dump header give none; give --build")]
    NoBuild,
    /// PsInitialSystemProcess is missing or unreadable.
    #[error("the System process is not found: PsInitialSystemProcess of the kernel at {base:#x} is missing or unreadable")]
    NoSystemProcess {
        /// The kernel image base.
        base: u64,
    },
    /// No layout fits the kernel.
    #[error("build {build}{}: {}; give --pdb or --isf with this kernel's symbols", pdb_part(.pdb.as_deref()), cause_text(.cause))]
    NoLayout {
        /// The kernel's build.
        build: u32,
        /// The kernel's PDB GUID+age, when known.
        pdb: Option<String>,
        /// What could not be established.
        cause: LayoutCause,
    },
    /// The ISF or PDB file the user named does not load.
    #[error(transparent)]
    UserProfile(#[from] memtriage_symbols::SymbolError),
}

fn machine_name(machine: u32) -> &'static str {
    match machine {
        0x014C => "x86, 32-bit",
        0xAA64 => "ARM64",
        0x01C4 => "ARM",
        _ => "unknown",
    }
}

fn pdb_part(pdb: Option<&str>) -> String {
    pdb.map(|p| format!(" (PDB {p})")).unwrap_or_default()
}

fn cause_text(cause: &LayoutCause) -> String {
    match cause {
        LayoutCause::UnknownBuild { located: None } => {
            "unknown build: in no bundled family, and no layout could be located from memory (the System process does not read with any bundled layout)".into()
        }
        LayoutCause::UnknownBuild { located: Some(c) } => format!(
            "unknown build: in no bundled family, and no layout could be located from memory ({c})"
        ),
        LayoutCause::Rejected { candidate, check } => {
            format!("the layout of {candidate} does not fit this capture ({check})")
        }
        LayoutCause::Incomplete { reason } => format!("no usable layout ({reason})"),
    }
}
