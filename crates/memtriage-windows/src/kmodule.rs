//! Kernel modules from PsLoadedModuleList.

use crate::layout::Layout;
use crate::list::walk_both_ways;
use crate::{is_kernel_address, MAX_LIST_ENTRIES};
use memtriage_paging::AddressSpace;
use serde::Serialize;

/// Longest module name read.
const MAX_NAME_BYTES: u64 = 0x1000;

/// A loaded kernel module.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct KernelModule {
    /// Address of the `_KLDR_DATA_TABLE_ENTRY`.
    pub entry: u64,
    /// DllBase.
    pub base: u64,
    /// SizeOfImage.
    pub size: u64,
    /// BaseDllName.
    pub name: String,
    /// FullDllName.
    pub path: String,
}

/// Walk PsLoadedModuleList (`head` is the list head's address). Bounded, cycle-checked.
pub fn kernel_modules(
    space: &AddressSpace,
    layout: &Layout,
    head: u64,
) -> (Vec<KernelModule>, Vec<String>) {
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    // Without loader-entry offsets the layout says so once (`Layout::missing`).
    let Some(layout) = &layout.ldr else {
        return (out, warnings);
    };
    let links = layout.ldr_links[0];
    let read = |va: u64| {
        space
            .read_list_entry(va)
            .ok()
            .map(|le| (le.flink, le.blink))
    };
    if read(head).is_none() {
        warnings.push(format!("PsLoadedModuleList {head:#x} unreadable"));
        return (out, warnings);
    }
    let walk = walk_both_ways(
        head,
        read,
        |va| is_kernel_address(va) && va >= links,
        MAX_LIST_ENTRIES,
    );
    warnings.extend(walk.messages("kernel module list"));
    for link in walk.links {
        let entry = link - links;
        let base = layout.dll_base.read(space, entry).unwrap_or(0);
        let size = layout.size_of_image.read(space, entry).unwrap_or(0);
        let name = space
            .read_unicode_string(entry + layout.base_name, MAX_NAME_BYTES)
            .unwrap_or_default();
        let path = space
            .read_unicode_string(entry + layout.full_name, MAX_NAME_BYTES)
            .unwrap_or_default();
        out.push(KernelModule {
            entry,
            base,
            size,
            name,
            path,
        });
    }
    (out, warnings)
}
