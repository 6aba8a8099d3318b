//! Stage 5: the System process and the kernel's list heads, processor count and time.

use super::error::DiscoveryError;
use super::KUSER_SHARED_DATA;
use crate::layout::Layout;
use crate::pe::PeInfo;
use memtriage_dump::DumpMetadata;
use memtriage_paging::AddressSpace;
use memtriage_symbols::Profile;

/// Offset of SystemTime in KUSER_SHARED_DATA.
const KUSER_SYSTEM_TIME: u64 = 0x14;
/// The crash-dump header's fill pattern ("PAGE" repeated): the field was not written.
const HEADER_FILL: u64 = 0x4547_4150_4547_4150;
/// Most processors a header or KeNumberProcessors may claim.
const MAX_PROCESSORS: u32 = 4096;

/// Where the System process is, before any layout is chosen.
#[derive(Debug, Clone, Copy)]
pub struct SystemProcess {
    /// Virtual address of the System `_EPROCESS` (PsInitialSystemProcess).
    pub eprocess: u64,
    /// PsLoadedModuleList (the export, else the crash-dump header's).
    pub ps_loaded_module_list: Option<u64>,
}

/// The facts read once the layout is known.
#[derive(Debug, Clone, Copy)]
pub struct SystemFacts {
    /// PsActiveProcessHead (the System process's Blink, inside the kernel image).
    pub ps_active_process_head: Option<u64>,
    /// Processor count (header or KeNumberProcessors).
    pub processors: Option<u32>,
    /// System time as a FILETIME (header or KUSER_SHARED_DATA).
    pub system_time: Option<u64>,
}

/// Read PsInitialSystemProcess and PsLoadedModuleList.
pub fn find_system_process(
    space: &AddressSpace,
    image: &PeInfo,
    meta: &DumpMetadata,
) -> Result<SystemProcess, DiscoveryError> {
    let base = image.base;
    let eprocess = image
        .export_rva("PsInitialSystemProcess")
        .and_then(|rva| space.read_ptr(base.wrapping_add(rva)).ok())
        .filter(|va| crate::is_kernel_address(*va))
        .ok_or(DiscoveryError::NoSystemProcess { base })?;
    let ps_loaded_module_list = image
        .export_rva("PsLoadedModuleList")
        .map(|rva| base.wrapping_add(rva))
        .or_else(|| {
            meta.crash_dump
                .as_ref()
                .map(|h| h.ps_loaded_module_list)
                .filter(|v| crate::is_kernel_address(*v))
        });
    Ok(SystemProcess {
        eprocess,
        ps_loaded_module_list,
    })
}

/// The list head, processor count and system time, with the chosen layout.
pub fn system_facts(
    space: &AddressSpace,
    image: &PeInfo,
    meta: &DumpMetadata,
    profile: &Profile,
    layout: &Layout,
    system: &SystemProcess,
) -> SystemFacts {
    let base = image.base;
    let image_end = base.saturating_add(image.size_of_image);
    let ps_active_process_head = space
        .read_list_entry(system.eprocess.wrapping_add(layout.ep_links))
        .ok()
        .map(|le| le.blink)
        .filter(|h| (base..image_end).contains(h));
    let header = meta.crash_dump.as_ref();
    let plausible = |n: &u32| (1..MAX_PROCESSORS).contains(n);
    let processors = header
        .map(|h| h.number_processors)
        .filter(plausible)
        .or_else(|| {
            profile
                .symbol("KeNumberProcessors")
                .and_then(|rva| space.read_u32(base.wrapping_add(rva)).ok())
                .filter(plausible)
        });
    let system_time = header
        .map(|h| h.system_time)
        .filter(|t| *t != 0 && *t != HEADER_FILL)
        .or_else(|| {
            let low = space.read_u32(KUSER_SHARED_DATA + KUSER_SYSTEM_TIME).ok()?;
            let high = space
                .read_u32(KUSER_SHARED_DATA + KUSER_SYSTEM_TIME + 4)
                .ok()?;
            let t = (u64::from(high) << 32) | u64::from(low);
            (t != 0).then_some(t)
        });
    SystemFacts {
        ps_active_process_head,
        processors,
        system_time,
    }
}
