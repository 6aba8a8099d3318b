//! Stage 3: the Windows build number.

use super::error::DiscoveryError;
use super::step::{Attempts, Method};
use super::{Overrides, KUSER_SHARED_DATA};
use crate::pe::PeInfo;
use memtriage_dump::DumpMetadata;
use memtriage_paging::AddressSpace;

/// Offset of NtBuildNumber in KUSER_SHARED_DATA.
const KUSER_NT_BUILD: u64 = 0x260;
/// Plausible build numbers (Windows 7 RTM and later).
const PLAUSIBLE_BUILDS: std::ops::Range<u32> = 7600..100_000;

/// Where the build number came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BuildMethod {
    /// `--build`.
    Override,
    /// The kernel's `NtBuildNumber` export.
    NtBuildNumber,
    /// KUSER_SHARED_DATA.NtBuildNumber.
    KuserSharedData,
    /// MinorVersion of the crash-dump header.
    CrashDumpHeader,
}

impl Method for BuildMethod {
    fn step_name(self) -> &'static str {
        match self {
            BuildMethod::Override => "build:override",
            BuildMethod::NtBuildNumber => "build:NtBuildNumber",
            BuildMethod::KuserSharedData => "build:kuser-shared-data",
            BuildMethod::CrashDumpHeader => "build:crash-dump-header",
        }
    }
    fn label(self) -> &'static str {
        match self {
            BuildMethod::Override => "--build",
            BuildMethod::NtBuildNumber => "NtBuildNumber",
            BuildMethod::KuserSharedData => "KUSER_SHARED_DATA",
            BuildMethod::CrashDumpHeader => "crash-dump header",
        }
    }
}

/// The record of the build stage.
#[derive(Debug, Clone)]
pub struct BuildFound {
    /// The build number (`NtBuildNumber & 0xFFFF`).
    pub build: u32,
    /// Raw NtBuildNumber (top nibble 0xF = free build), if read.
    pub nt_build_number: Option<u32>,
    /// How it was found.
    pub method: BuildMethod,
    /// What was tried.
    pub attempts: Attempts<BuildMethod>,
    /// Non-fatal problems (the sources disagree).
    pub warnings: Vec<String>,
}

/// Read the build: `--build`, the NtBuildNumber export, KUSER_SHARED_DATA, then the header.
pub fn find_build(
    space: &AddressSpace,
    image: &PeInfo,
    meta: &DumpMetadata,
    nt_version: Option<(u32, u32)>,
    overrides: &Overrides,
) -> Result<BuildFound, DiscoveryError> {
    let mut attempts = Attempts::default();
    let mut warnings = Vec::new();
    let nt_build_number = image
        .export_rva("NtBuildNumber")
        .and_then(|rva| space.read_u32(image.base.wrapping_add(rva)).ok());
    let kuser_build = space
        .read_u32(KUSER_SHARED_DATA + KUSER_NT_BUILD)
        .ok()
        .filter(|b| PLAUSIBLE_BUILDS.contains(b));
    let (build, method) = match (overrides.build, nt_build_number) {
        (Some(b), _) => {
            attempts.push(BuildMethod::Override, true, format!("{b} (--build)"));
            (b, BuildMethod::Override)
        }
        (None, Some(n)) => {
            let b = n & 0xFFFF;
            attempts.push(
                BuildMethod::NtBuildNumber,
                true,
                format!("{n:#x} → build {b}"),
            );
            if let Some(k) = kuser_build {
                if nt_version.is_some_and(|(ma, _)| ma >= 10) && k != b {
                    warnings.push(format!(
                        "NtBuildNumber says build {b} but KUSER_SHARED_DATA says {k}"
                    ));
                }
            }
            (b, BuildMethod::NtBuildNumber)
        }
        (None, None) => match (
            kuser_build,
            meta.crash_dump.as_ref().map(|h| h.minor_version),
        ) {
            (Some(k), _) => {
                attempts.push(BuildMethod::KuserSharedData, true, format!("{k}"));
                (k, BuildMethod::KuserSharedData)
            }
            (None, Some(m)) if PLAUSIBLE_BUILDS.contains(&m) => {
                attempts.push(
                    BuildMethod::CrashDumpHeader,
                    true,
                    format!("MinorVersion {m}"),
                );
                (m, BuildMethod::CrashDumpHeader)
            }
            _ => return Err(DiscoveryError::NoBuild),
        },
    };
    Ok(BuildFound {
        build,
        nt_build_number,
        method,
        attempts,
        warnings,
    })
}
