//! Stage 2: the kernel image (ntoskrnl) and its PDB identity.

use super::error::DiscoveryError;
use super::step::{Attempts, Method};
use super::Overrides;
use crate::pe::{pe_signature_offset, read_pe, section_names, PeInfo};
use memtriage_dump::{DumpMetadata, PAGE_SIZE};
use memtriage_paging::{AddressSpace, RangeState};
use memtriage_symbols::PdbId;

/// How far back from a hint the kernel base is searched.
const KERNEL_SEARCH_BACK: u64 = 64 * 1024 * 1024;
/// The part of the system area where x64 Windows loads the kernel image.
const KERNEL_IMAGE_AREA: (u64, u64) = (0xFFFF_F800_0000_0000, 0xFFFF_F880_0000_0000);

/// How the kernel image was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ImageMethod {
    /// `--kernel-base`.
    Override,
    /// Scanning back from a kernel address the capture gives (header, low stub).
    ScanBack,
    /// Scanning the mapped kernel image area.
    Scan,
}

impl Method for ImageMethod {
    fn step_name(self) -> &'static str {
        match self {
            ImageMethod::Override => "kernel:override",
            ImageMethod::ScanBack => "kernel:scan-back",
            ImageMethod::Scan => "kernel:scan",
        }
    }
    fn label(self) -> &'static str {
        match self {
            ImageMethod::Override => "--kernel-base",
            ImageMethod::ScanBack => "scan back from hints",
            ImageMethod::Scan => "scan of the kernel area",
        }
    }
}

/// The record of the kernel-image stage.
#[derive(Debug, Clone)]
pub struct ImageFound {
    /// The parsed kernel image.
    pub image: PeInfo,
    /// How it was found.
    pub method: ImageMethod,
    /// The kernel's PDB identity from its CodeView record.
    pub pdb: Option<PdbId>,
    /// Every method tried.
    pub attempts: Attempts<ImageMethod>,
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
    for range in space.ranges(KERNEL_IMAGE_AREA.0, KERNEL_IMAGE_AREA.1) {
        if range.state != RangeState::Valid {
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

/// Kernel addresses the capture names (crash-dump header fields, the low stub's entry point),
/// from which the image is searched backwards.
fn hints(meta: &DumpMetadata, low_stub_entry: Option<u64>) -> Vec<u64> {
    let mut out = Vec::new();
    if let Some(h) = &meta.crash_dump {
        out.extend(
            [
                h.ps_loaded_module_list,
                h.ps_active_process_head,
                h.kd_debugger_data_block,
            ]
            .into_iter()
            .filter(|v| crate::is_kernel_address(*v)),
        );
    }
    out.extend(low_stub_entry);
    out
}

/// Find the kernel image: `--kernel-base`, then back from each hint, then a scan.
pub fn find_image(
    space: &AddressSpace,
    meta: &DumpMetadata,
    low_stub_entry: Option<u64>,
    overrides: &Overrides,
) -> Result<ImageFound, DiscoveryError> {
    let mut attempts = Attempts::default();
    let mut found: Option<(PeInfo, ImageMethod)> = None;
    if let Some(base) = overrides.kernel_base {
        let image = read_pe(space, base);
        attempts.push(
            ImageMethod::Override,
            image.is_some(),
            format!("{base:#x} (--kernel-base)"),
        );
        let image = image.ok_or(DiscoveryError::KernelBaseOverride { base })?;
        found = Some((image, ImageMethod::Override));
    }
    if found.is_none() {
        for hint in hints(meta, low_stub_entry) {
            if let Some(info) = scan_back(space, hint) {
                attempts.push(
                    ImageMethod::ScanBack,
                    true,
                    format!("from hint {hint:#x}: ntoskrnl at {:#x}", info.base),
                );
                found = Some((info, ImageMethod::ScanBack));
                break;
            }
            attempts.push(
                ImageMethod::ScanBack,
                false,
                format!(
                    "from hint {hint:#x}: no kernel image within {} MiB",
                    KERNEL_SEARCH_BACK >> 20
                ),
            );
        }
    }
    if found.is_none() {
        match scan_kernel_area(space) {
            Some(info) => {
                attempts.push(
                    ImageMethod::Scan,
                    true,
                    format!(
                        "ntoskrnl at {:#x} (PE with kernel CodeView/exports)",
                        info.base
                    ),
                );
                found = Some((info, ImageMethod::Scan));
            }
            None => attempts.push(
                ImageMethod::Scan,
                false,
                "no PE in the mapped system area names ntoskrnl.exe / ntkrnlmp.pdb".into(),
            ),
        }
    }
    let Some((image, method)) = found else {
        return Err(DiscoveryError::NoKernelImage {
            tried: attempts.tried(),
        });
    };
    let pdb = image.codeview.as_ref().map(|(guid, age, _)| PdbId {
        guid: guid.clone(),
        age: *age,
    });
    Ok(ImageFound {
        image,
        method,
        pdb,
        attempts,
    })
}
