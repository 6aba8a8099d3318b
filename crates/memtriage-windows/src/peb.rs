//! The PEB, its loader lists and process parameters, read in the process's own address space.

use crate::layout::Layout;
use crate::{is_user_address, MAX_LIST_ENTRIES};
use memtriage_paging::AddressSpace;
use serde::Serialize;
use std::collections::{BTreeMap, HashSet};

/// Longest path or command line read.
const MAX_STRING_BYTES: u64 = 0x10000;
/// Largest environment block read.
const MAX_ENVIRONMENT_BYTES: u64 = 0x10000;
/// Most heaps read from PEB.ProcessHeaps.
const MAX_HEAPS: u64 = 1024;

/// Which loader list an entry was found on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum LoaderList {
    /// InLoadOrderModuleList.
    Load = 0,
    /// InMemoryOrderModuleList.
    Memory = 1,
    /// InInitializationOrderModuleList.
    Init = 2,
}

/// A loader entry, with its membership in each of the three lists.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct LoaderEntry {
    /// Address of the `_LDR_DATA_TABLE_ENTRY`.
    pub entry: u64,
    /// DllBase.
    pub base: u64,
    /// SizeOfImage.
    pub size: u64,
    /// EntryPoint.
    pub entry_point: u64,
    /// BaseDllName.
    pub name: String,
    /// FullDllName.
    pub path: String,
    /// Load count, where the build keeps one.
    pub load_count: Option<u64>,
    /// Load time (FILETIME), where the build keeps one.
    pub load_time: Option<u64>,
    /// Found on InLoadOrderModuleList.
    pub in_load: bool,
    /// Found on InMemoryOrderModuleList.
    pub in_mem: bool,
    /// Found on InInitializationOrderModuleList.
    pub in_init: bool,
    /// Position on InLoadOrderModuleList (for ordering), if on it.
    pub load_index: Option<usize>,
}

/// What the PEB says.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PebInfo {
    /// PEB address.
    pub peb: u64,
    /// ImageBaseAddress.
    pub image_base: u64,
    /// BeingDebugged.
    pub being_debugged: bool,
    /// Heap base addresses from ProcessHeaps.
    pub heaps: Vec<u64>,
    /// ImagePathName.
    pub image_path: Option<String>,
    /// CommandLine.
    pub command_line: Option<String>,
    /// CurrentDirectory.DosPath.
    pub current_directory: Option<String>,
    /// Environment variables in block order.
    pub environment: Vec<(String, String)>,
    /// Loader entries: every entry found on at least one list, InLoadOrder first.
    pub modules: Vec<LoaderEntry>,
}

/// Walk one loader list; returns entry addresses in list order.
fn walk_list(
    space: &AddressSpace,
    head: u64,
    links: u64,
    warnings: &mut Vec<String>,
    what: &str,
) -> Vec<u64> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    let mut link = match space.read_list_entry(head) {
        Ok(le) => le.flink,
        Err(e) => {
            warnings.push(format!("{what} head {head:#x} unreadable: {e}"));
            return out;
        }
    };
    while link != head {
        if !is_user_address(link) || !seen.insert(link) || seen.len() > MAX_LIST_ENTRIES {
            warnings.push(format!("{what} broken at {link:#x}"));
            break;
        }
        out.push(link - links);
        link = match space.read_list_entry(link) {
            Ok(le) => le.flink,
            Err(e) => {
                warnings.push(format!("{what} link {link:#x} unreadable: {e}"));
                break;
            }
        };
    }
    out
}

fn read_entry(space: &AddressSpace, layout: &Layout, entry: u64) -> LoaderEntry {
    LoaderEntry {
        entry,
        base: layout.ldr_dll_base.read(space, entry).unwrap_or(0),
        size: layout.ldr_size_of_image.read(space, entry).unwrap_or(0),
        entry_point: layout.ldr_entry_point.read(space, entry).unwrap_or(0),
        name: space
            .read_unicode_string(entry + layout.ldr_base_name, MAX_STRING_BYTES)
            .unwrap_or_default(),
        path: space
            .read_unicode_string(entry + layout.ldr_full_name, MAX_STRING_BYTES)
            .unwrap_or_default(),
        load_count: layout.ldr_load_count.and_then(|l| l.read(space, entry)),
        load_time: layout.ldr_load_time.and_then(|l| l.read(space, entry)),
        in_load: false,
        in_mem: false,
        in_init: false,
        load_index: None,
    }
}

/// Parse a UTF-16 environment block ("K=V\0K=V\0\0").
fn parse_environment(space: &AddressSpace, va: u64, size: Option<u64>) -> Vec<(String, String)> {
    let len = size.unwrap_or(0x2000).min(MAX_ENVIRONMENT_BYTES) & !1;
    let mut buf = vec![0u8; len as usize];
    let report = space.read(va, &mut buf);
    let valid = report
        .holes
        .first()
        .map_or(buf.len(), |h| (h.va - va) as usize);
    let units: Vec<u16> = buf[..valid & !1]
        .chunks_exact(2)
        .map(|c| u16::from_le_bytes([c[0], c[1]]))
        .collect();
    let mut out = Vec::new();
    for var in units.split(|&u| u == 0) {
        if var.is_empty() {
            break;
        }
        let s = String::from_utf16_lossy(var);
        // Variables such as "=C:=C:\\" start with '='.
        let split_at = s
            .char_indices()
            .skip(1)
            .find(|(_, c)| *c == '=')
            .map(|(i, _)| i);
        match split_at {
            Some(i) => out.push((s[..i].to_string(), s[i + 1..].to_string())),
            None => out.push((s, String::new())),
        }
    }
    out
}

/// Read the PEB at `peb` in the process space `space`.
pub fn read_peb(space: &AddressSpace, layout: &Layout, peb: u64) -> (Option<PebInfo>, Vec<String>) {
    let mut warnings = Vec::new();
    if !is_user_address(peb) {
        return (None, warnings);
    }
    let image_base = match layout.peb_image_base.read(space, peb) {
        Some(v) => v,
        None => {
            warnings.push(format!(
                "PEB {peb:#x} unreadable (paged out or not in the capture)"
            ));
            return (None, warnings);
        }
    };
    let mut info = PebInfo {
        peb,
        image_base,
        being_debugged: layout.peb_being_debugged.read(space, peb).unwrap_or(0) != 0,
        ..PebInfo::default()
    };
    if let (Some(h), Some(n)) = (layout.peb_process_heaps, layout.peb_number_of_heaps) {
        let heaps = h.read(space, peb).unwrap_or(0);
        let n = n.read(space, peb).unwrap_or(0).min(MAX_HEAPS);
        for i in 0..n {
            match space.read_ptr(heaps + i * 8) {
                Ok(v) if v != 0 => info.heaps.push(v),
                Ok(_) => {}
                Err(e) => {
                    warnings.push(format!("PEB {peb:#x}: ProcessHeaps[{i}] unreadable: {e}"));
                    break;
                }
            }
        }
    }
    if let Some(params) = layout
        .peb_params
        .read(space, peb)
        .filter(|v| is_user_address(*v))
    {
        let s = |off: u64| {
            space
                .read_unicode_string(params + off, MAX_STRING_BYTES)
                .ok()
        };
        info.image_path = s(layout.params_image_path);
        info.command_line = s(layout.params_command_line);
        info.current_directory = layout.params_current_directory.and_then(s);
        if let Some(env) = layout
            .params_environment
            .and_then(|l| l.read(space, params))
            .filter(|v| is_user_address(*v))
        {
            let size = layout
                .params_environment_size
                .and_then(|l| l.read(space, params));
            info.environment = parse_environment(space, env, size);
        }
    }
    if let Some(ldr) = layout
        .peb_ldr
        .read(space, peb)
        .filter(|v| is_user_address(*v))
    {
        let mut entries: BTreeMap<u64, LoaderEntry> = BTreeMap::new();
        let names = [
            "InLoadOrderModuleList",
            "InMemoryOrderModuleList",
            "InInitializationOrderModuleList",
        ];
        for (list, name) in names.iter().enumerate() {
            let addrs = walk_list(
                space,
                ldr + layout.ldr_lists[list],
                layout.ldr_links[list],
                &mut warnings,
                name,
            );
            for (i, e) in addrs.into_iter().enumerate() {
                let le = entries
                    .entry(e)
                    .or_insert_with(|| read_entry(space, layout, e));
                match list {
                    0 => {
                        le.in_load = true;
                        le.load_index = Some(i);
                    }
                    1 => le.in_mem = true,
                    _ => le.in_init = true,
                }
            }
        }
        let mut modules: Vec<LoaderEntry> = entries.into_values().collect();
        modules.sort_by_key(|m| (m.load_index.unwrap_or(usize::MAX), m.base, m.entry));
        info.modules = modules;
    }
    (Some(info), warnings)
}
