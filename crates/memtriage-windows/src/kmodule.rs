//! Kernel modules from PsLoadedModuleList.

use crate::layout::Layout;
use crate::{is_kernel_address, MAX_LIST_ENTRIES};
use memtriage_paging::AddressSpace;
use serde::Serialize;
use std::collections::HashSet;

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
    let mut seen = HashSet::new();
    let links = layout.ldr_links[0];
    let mut link = match space.read_list_entry(head) {
        Ok(le) => le.flink,
        Err(e) => {
            warnings.push(format!("PsLoadedModuleList {head:#x} unreadable: {e}"));
            return (out, warnings);
        }
    };
    while link != head {
        if !is_kernel_address(link) || !seen.insert(link) || seen.len() > MAX_LIST_ENTRIES {
            warnings.push(format!("kernel module list broken at {link:#x}"));
            break;
        }
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
        link = match space.read_list_entry(link) {
            Ok(le) => le.flink,
            Err(e) => {
                warnings.push(format!("kernel module link {link:#x} unreadable: {e}"));
                break;
            }
        };
    }
    (out, warnings)
}
