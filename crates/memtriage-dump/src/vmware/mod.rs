//! VMware guest memory: a `.vmem` file read through the memory regions of the checkpoint
//! (`.vmss` suspended state or `.vmsn` snapshot) saved with it. The checkpoint's "memory"
//! group maps `.vmem` pages to physical pages (`regionPPN[i]`, `regionPageNum[i]`,
//! `regionSize[i]`), so memory above a hole (usually above 3 GiB) is at its real physical
//! address; its "cpu" group gives vCPU 0's control registers (CR3 for discovery).

mod checkpoint;

use crate::segmented::{Segment, SegmentedImage};
use crate::source::Evidence;
use crate::{Capture, DumpFormat, DumpMetadata, Extents, OpenError, VmwareInfo, PAGE_SIZE};
use std::path::{Path, PathBuf};

/// A `.vmem` larger than this without its checkpoint probably has a memory hole.
const HOLE_SUSPECT: u64 = 3 << 30;

/// Open `memory` (the `.vmem`) through the checkpoint in `meta`.
pub(crate) fn open(memory: Evidence, meta: Evidence) -> Result<Capture, OpenError> {
    let cp = checkpoint::read(&meta).map_err(|e| meta.malformed(e.to_string()))?;
    build(memory, 0, &meta, cp)
}

/// Open a checkpoint that stores the guest's memory itself (an uncompressed "Memory" block in
/// its "memory" group, as in snapshots saved without a `.vmem`); `None` when it does not.
pub(crate) fn open_embedded(meta: Evidence) -> Option<Result<Capture, OpenError>> {
    let cp = match checkpoint::read(&meta) {
        Ok(cp) => cp,
        Err(e) => return Some(Err(meta.malformed(e.to_string()))),
    };
    let (base, _size) = cp.embedded_memory?;
    Some(build(meta.clone(), base, &meta, cp))
}

/// The capture of `memory`, whose `.vmem` page 0 is at file offset `base`, mapped by `cp`.
fn build(
    memory: Evidence,
    base: u64,
    meta: &Evidence,
    cp: checkpoint::Checkpoint,
) -> Result<Capture, OpenError> {
    let vmem_len = memory.len().saturating_sub(base);
    let mut md = DumpMetadata::new(DumpFormat::Vmware, vmem_len);
    md.warnings = cp.warnings.clone();
    md.elf_cpu = cp.cpu.clone();
    md.vmware = Some(VmwareInfo {
        metadata_file: meta.path().display().to_string(),
        version: cp.version,
        groups: u32::try_from(cp.groups.len()).unwrap_or(u32::MAX),
        vcpus: cp.vcpus,
        regions: cp.regions.clone(),
    });
    let mut segs = Vec::with_capacity(cp.regions.len());
    for (i, r) in cp.regions.iter().enumerate() {
        let overflow = || {
            meta.malformed(format!(
                "memory region {i} (regionPPN {:#x}, regionPageNum {:#x}, regionSize {:#x}) \
                 overflows the 64-bit address space",
                r.ppn, r.page_num, r.pages
            ))
        };
        let pa = r.ppn.checked_mul(PAGE_SIZE).ok_or_else(overflow)?;
        let file_off = r
            .page_num
            .checked_mul(PAGE_SIZE)
            .and_then(|o| o.checked_add(base))
            .ok_or_else(overflow)?;
        let len = r.pages.checked_mul(PAGE_SIZE).ok_or_else(overflow)?;
        pa.checked_add(len).ok_or_else(overflow)?;
        segs.push(Segment { pa, len, file_off });
    }
    if segs.is_empty() {
        // No region map: the .vmem is one linear range from physical 0.
        if cp.regions_count.unwrap_or(0) > 0 {
            md.warnings.push(
                "the checkpoint's memory regions are unusable; the .vmem is read as one linear \
                 range from physical address 0"
                    .into(),
            );
        }
        segs.push(Segment {
            pa: 0,
            len: vmem_len,
            file_off: base,
        });
    }
    Ok(Box::new(SegmentedImage::new(
        memory,
        segs,
        md,
        Extents::VmwareRegions,
    )))
}

/// The checkpoint beside a `.vmem`: `X.vmss`, else `X.vmsn`, when its content is a VMware
/// checkpoint.
pub(crate) fn companion_checkpoint(vmem: &Path) -> Option<PathBuf> {
    let ext = vmem.extension()?.to_str()?;
    if !ext.eq_ignore_ascii_case("vmem") {
        return None;
    }
    let upper = ext.chars().all(|c| c.is_ascii_uppercase());
    let candidates = if upper {
        ["VMSS", "VMSN"]
    } else {
        ["vmss", "vmsn"]
    };
    candidates
        .iter()
        .map(|e| vmem.with_extension(e))
        .find(|p| is_checkpoint(p))
}

/// Whether the file at `path` starts with a VMware checkpoint magic.
fn is_checkpoint(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    std::fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && crate::sniff::VMWARE_MAGICS.contains(&magic)
}

/// A raw image; a `.vmem` without its checkpoint gets a warning when its size suggests a
/// memory hole.
pub(crate) fn lone_vmem(ev: Evidence) -> SegmentedImage {
    let len = ev.len();
    let mut md = DumpMetadata::new(DumpFormat::Raw, len);
    let is_vmem = ev
        .path()
        .extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e.eq_ignore_ascii_case("vmem"));
    if is_vmem && len > HOLE_SUSPECT {
        md.warnings.push(format!(
            "VMware .vmem of {len} bytes read as raw without its .vmss/.vmsn: guests with more \
             than 3 GiB usually have a memory hole, and every page above it would be at the \
             wrong physical address; put the checkpoint beside the .vmem or pass --vmware-meta"
        ));
    }
    SegmentedImage::raw_with(ev, md)
}
