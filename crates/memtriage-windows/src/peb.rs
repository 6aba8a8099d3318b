//! The PEB, its loader lists and process parameters, read in the process's own address space.

use crate::layout::{opt, req, Layout, Loc};
use crate::list::walk_both_ways;
use crate::{is_user_address, MAX_LIST_ENTRIES};
use memtriage_paging::AddressSpace;
use memtriage_symbols::SymbolError;
use serde::Serialize;
use std::collections::BTreeMap;

/// Longest path or command line read.
const MAX_STRING_BYTES: u64 = 0x10000;
/// Largest environment block read.
const MAX_ENVIRONMENT_BYTES: u64 = 0x10000;
/// Most heaps read from PEB.ProcessHeaps.
const MAX_HEAPS: u64 = 1024;

/// Where the PEB, its loader data and its parameters keep their fields, and how wide pointers
/// are: the native 64-bit layout comes from the profile, the WoW64 32-bit one from `_PEB32` in
/// the profile plus the 32-bit loader layouts, which are the same on every Windows build
/// (checked against `testdata/layouts/offsets.json` in the tests).
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct PebLayout {
    /// Pointer size in bytes (8 native, 4 WoW64).
    pub ptr: u64,
    pub being_debugged: Loc,
    pub image_base: Loc,
    pub ldr: Loc,
    pub params: Loc,
    pub process_heaps: Option<Loc>,
    pub number_of_heaps: Option<Loc>,
    pub session_id: Option<Loc>,
    pub ldr_lists: [u64; 3],
    pub ldr_links: [u64; 3],
    pub dll_base: Loc,
    pub entry_point: Loc,
    pub size_of_image: Loc,
    pub full_name: u64,
    pub base_name: u64,
    pub load_count: Option<Loc>,
    pub load_time: Option<Loc>,
    pub params_image_path: u64,
    pub params_command_line: u64,
    pub params_current_directory: Option<u64>,
    pub params_environment: Option<Loc>,
    pub params_environment_size: Option<Loc>,
}

const fn loc(offset: u64, size: u64) -> Loc {
    Loc {
        offset,
        size,
        bits: None,
    }
}

/// 32-bit `_PEB_LDR_DATA` list heads (InLoad, InMemory, InInit).
pub const LDR32_LISTS: [u64; 3] = [0x0C, 0x14, 0x1C];
/// 32-bit `_LDR_DATA_TABLE_ENTRY` links (InLoad, InMemory, InInit).
pub const LDR32_LINKS: [u64; 3] = [0x00, 0x08, 0x10];
/// 32-bit `_LDR_DATA_TABLE_ENTRY`: DllBase, EntryPoint, SizeOfImage, FullDllName, BaseDllName,
/// load count.
pub const LDR32_FIELDS: [u64; 6] = [0x18, 0x1C, 0x20, 0x24, 0x2C, 0x38];
/// 32-bit `_RTL_USER_PROCESS_PARAMETERS`: CurrentDirectory.DosPath, ImagePathName, CommandLine,
/// Environment, EnvironmentSize.
pub const PARAMS32_FIELDS: [u64; 5] = [0x24, 0x38, 0x40, 0x48, 0x290];

impl PebLayout {
    /// The native (64-bit) layout resolved with the kernel's profile, when it has one.
    pub fn native(layout: &Layout) -> Option<PebLayout> {
        layout.ldr.clone()
    }

    /// Resolve the native (64-bit) layout from `_PEB`, `_PEB_LDR_DATA`,
    /// `_LDR_DATA_TABLE_ENTRY` and `_RTL_USER_PROCESS_PARAMETERS`.
    pub fn native_from_profile(p: &memtriage_symbols::Profile) -> Result<PebLayout, SymbolError> {
        let le = "_LDR_DATA_TABLE_ENTRY";
        let rp = "_RTL_USER_PROCESS_PARAMETERS";
        Ok(PebLayout {
            ptr: 8,
            being_debugged: req(p, "_PEB", "BeingDebugged")?,
            image_base: req(p, "_PEB", "ImageBaseAddress")?,
            ldr: req(p, "_PEB", "Ldr")?,
            params: req(p, "_PEB", "ProcessParameters")?,
            process_heaps: opt(p, "_PEB", "ProcessHeaps"),
            number_of_heaps: opt(p, "_PEB", "NumberOfHeaps"),
            session_id: opt(p, "_PEB", "SessionId"),
            ldr_lists: [
                p.offset("_PEB_LDR_DATA", "InLoadOrderModuleList")?,
                p.offset("_PEB_LDR_DATA", "InMemoryOrderModuleList")?,
                p.offset("_PEB_LDR_DATA", "InInitializationOrderModuleList")?,
            ],
            ldr_links: [
                p.offset(le, "InLoadOrderLinks")?,
                p.offset(le, "InMemoryOrderLinks")?,
                p.offset(le, "InInitializationOrderLinks")?,
            ],
            dll_base: req(p, le, "DllBase")?,
            entry_point: req(p, le, "EntryPoint")?,
            size_of_image: req(p, le, "SizeOfImage")?,
            full_name: p.offset(le, "FullDllName")?,
            base_name: p.offset(le, "BaseDllName")?,
            load_count: opt(p, le, "ObsoleteLoadCount").or_else(|| opt(p, le, "LoadCount")),
            load_time: opt(p, le, "LoadTime"),
            params_image_path: p.offset(rp, "ImagePathName")?,
            params_command_line: p.offset(rp, "CommandLine")?,
            params_current_directory: p.offset(rp, "CurrentDirectory.DosPath").ok(),
            params_environment: opt(p, rp, "Environment"),
            params_environment_size: opt(p, rp, "EnvironmentSize"),
        })
    }

    /// The WoW64 layout: `_PEB32` from the profile, 32-bit loader structures.
    pub fn wow64(p: &memtriage_symbols::Profile) -> Option<PebLayout> {
        let f = |field: &str| p.field("_PEB32", field).ok().map(Loc::from);
        Some(PebLayout {
            ptr: 4,
            being_debugged: f("BeingDebugged")?,
            image_base: f("ImageBaseAddress")?,
            ldr: f("Ldr")?,
            params: f("ProcessParameters")?,
            process_heaps: f("ProcessHeaps"),
            number_of_heaps: f("NumberOfHeaps"),
            session_id: f("SessionId"),
            ldr_lists: LDR32_LISTS,
            ldr_links: LDR32_LINKS,
            dll_base: loc(LDR32_FIELDS[0], 4),
            entry_point: loc(LDR32_FIELDS[1], 4),
            size_of_image: loc(LDR32_FIELDS[2], 4),
            full_name: LDR32_FIELDS[3],
            base_name: LDR32_FIELDS[4],
            load_count: Some(loc(LDR32_FIELDS[5], 2)),
            load_time: None,
            params_image_path: PARAMS32_FIELDS[1],
            params_command_line: PARAMS32_FIELDS[2],
            params_current_directory: Some(PARAMS32_FIELDS[0]),
            params_environment: Some(loc(PARAMS32_FIELDS[3], 4)),
            params_environment_size: Some(loc(PARAMS32_FIELDS[4], 4)),
        })
    }

    fn read_ptr(&self, space: &AddressSpace, va: u64) -> Option<u64> {
        if self.ptr == 4 {
            space.read_u32(va).ok().map(u64::from)
        } else {
            space.read_u64(va).ok()
        }
    }

    /// `(Flink, Blink)` of the `LIST_ENTRY` (or `LIST_ENTRY32`) at `va`.
    fn links(&self, space: &AddressSpace, va: u64) -> Option<(u64, u64)> {
        if self.ptr == 4 {
            let f = space.read_u32(va).ok()?;
            let b = space.read_u32(va.wrapping_add(4)).ok()?;
            Some((u64::from(f), u64::from(b)))
        } else {
            space
                .read_list_entry(va)
                .ok()
                .map(|le| (le.flink, le.blink))
        }
    }

    /// A `_UNICODE_STRING` (64-bit) or `UNICODE_STRING32` at `va`.
    fn string(&self, space: &AddressSpace, va: u64) -> Option<String> {
        if self.ptr == 4 {
            let len = space.read_u16(va).ok()?;
            let buf = space.read_u32(va + 4).ok()?;
            if len == 0 {
                return Some(String::new());
            }
            space
                .read_utf16(u64::from(buf), u64::from(len), MAX_STRING_BYTES)
                .ok()
        } else {
            space.read_unicode_string(va, MAX_STRING_BYTES).ok()
        }
    }
}

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
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
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
    /// SessionId (where the profile has `_PEB.SessionId` and the field is readable).
    pub session_id: Option<u32>,
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

/// Walk one loader list from both ends; returns entry addresses in list order.
fn walk_list(
    space: &AddressSpace,
    layout: &PebLayout,
    head: u64,
    links: u64,
    warnings: &mut Vec<String>,
    what: &str,
) -> Vec<u64> {
    let read = |va: u64| layout.links(space, va);
    if read(head).is_none() {
        warnings.push(format!("{what} head {head:#x} unreadable"));
        return Vec::new();
    }
    // A link below the links offset cannot belong to an entry (and would underflow).
    let walk = walk_both_ways(
        head,
        read,
        |va| is_user_address(va) && va.checked_sub(links).is_some_and(is_user_address),
        MAX_LIST_ENTRIES,
    );
    warnings.extend(walk.messages(what));
    walk.links.into_iter().map(|l| l - links).collect()
}

fn read_entry(space: &AddressSpace, layout: &PebLayout, entry: u64) -> LoaderEntry {
    LoaderEntry {
        entry,
        base: layout.dll_base.read(space, entry).unwrap_or(0),
        size: layout.size_of_image.read(space, entry).unwrap_or(0),
        entry_point: layout.entry_point.read(space, entry).unwrap_or(0),
        name: layout
            .string(space, entry + layout.base_name)
            .unwrap_or_default(),
        path: layout
            .string(space, entry + layout.full_name)
            .unwrap_or_default(),
        load_count: layout.load_count.and_then(|l| l.read(space, entry)),
        load_time: layout.load_time.and_then(|l| l.read(space, entry)),
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
        .map_or(buf.len(), |h| h.va.saturating_sub(va) as usize)
        .min(buf.len());
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

/// Read the PEB at `peb` in the process space `space` (native or WoW64 per `layout`).
pub fn read_peb(
    space: &AddressSpace,
    layout: &PebLayout,
    peb: u64,
) -> (Option<PebInfo>, Vec<String>) {
    let mut warnings = Vec::new();
    if !is_user_address(peb) {
        return (None, warnings);
    }
    let Some(image_base) = layout.image_base.read(space, peb) else {
        warnings.push(format!(
            "PEB {peb:#x} unreadable (paged out or not in the capture)"
        ));
        return (None, warnings);
    };
    let mut info = PebInfo {
        peb,
        image_base,
        being_debugged: layout.being_debugged.read(space, peb).unwrap_or(0) != 0,
        session_id: layout
            .session_id
            .and_then(|l| l.read(space, peb))
            .and_then(|v| u32::try_from(v).ok()),
        ..PebInfo::default()
    };
    if let (Some(h), Some(n)) = (layout.process_heaps, layout.number_of_heaps) {
        let heaps = h.read(space, peb).unwrap_or(0);
        let n = n.read(space, peb).unwrap_or(0).min(MAX_HEAPS);
        for i in 0..n {
            match layout.read_ptr(space, heaps + i * layout.ptr) {
                Some(0) => {}
                Some(v) => info.heaps.push(v),
                None => {
                    warnings.push(format!("PEB {peb:#x}: ProcessHeaps[{i}] unreadable"));
                    break;
                }
            }
        }
    }
    if let Some(params) = layout
        .params
        .read(space, peb)
        .filter(|v| is_user_address(*v))
    {
        let s = |off: u64| layout.string(space, params + off);
        info.image_path = s(layout.params_image_path);
        info.command_line = s(layout.params_command_line);
        if info.image_path.is_none() && info.command_line.is_none() {
            warnings.push(format!(
                "process parameters {params:#x} unreadable (ImagePathName and CommandLine)"
            ));
        }
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
    if let Some(ldr) = layout.ldr.read(space, peb).filter(|v| is_user_address(*v)) {
        let mut entries: BTreeMap<u64, LoaderEntry> = BTreeMap::new();
        let names = [
            "InLoadOrderModuleList",
            "InMemoryOrderModuleList",
            "InInitializationOrderModuleList",
        ];
        for (list, name) in names.iter().enumerate() {
            let addrs = walk_list(
                space,
                layout,
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
        for m in modules
            .iter()
            .filter(|m| m.path.is_empty() || m.name.is_empty())
        {
            warnings.push(format!(
                "loader entry {:#x} (DllBase {:#x}): FullDllName or BaseDllName unreadable or too long",
                m.entry, m.base
            ));
        }
        modules.sort_by_key(|m| (m.load_index.unwrap_or(usize::MAX), m.base, m.entry));
        info.modules = modules;
    }
    (Some(info), warnings)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The 32-bit loader constants equal the x86 layouts in testdata/layouts/offsets.json for
    /// Windows 7, 10 1507 and 10 2004.
    #[test]
    fn wow64_constants_match_the_x86_layouts() {
        let path = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../testdata/layouts/offsets.json"
        );
        let text = std::fs::read_to_string(path).expect("testdata/layouts/offsets.json");
        let v: serde_json::Value = serde_json::from_str(&text).expect("offsets.json parses");
        for k in [
            "x86-kernel-6.1.7601.17514",
            "x86-kernel-10.0.10240.16384",
            "x86-kernel-10.0.19041.1288",
        ] {
            let s = &v["wow64_32bit"][k]["structs"];
            let off = |t: &str, f: &str| s[t]["fields"][f]["offset"].as_u64();
            let lists = [
                "InLoadOrderModuleList",
                "InMemoryOrderModuleList",
                "InInitializationOrderModuleList",
            ];
            for (i, l) in lists.iter().enumerate() {
                assert_eq!(off("_PEB_LDR_DATA", l), Some(LDR32_LISTS[i]), "{k} {l}");
            }
            let links = [
                "InLoadOrderLinks",
                "InMemoryOrderLinks",
                "InInitializationOrderLinks",
            ];
            for (i, l) in links.iter().enumerate() {
                assert_eq!(
                    off("_LDR_DATA_TABLE_ENTRY", l),
                    Some(LDR32_LINKS[i]),
                    "{k} {l}"
                );
            }
            let fields = [
                "DllBase",
                "EntryPoint",
                "SizeOfImage",
                "FullDllName",
                "BaseDllName",
            ];
            for (i, f) in fields.iter().enumerate() {
                assert_eq!(
                    off("_LDR_DATA_TABLE_ENTRY", f),
                    Some(LDR32_FIELDS[i]),
                    "{k} {f}"
                );
            }
            let count = off("_LDR_DATA_TABLE_ENTRY", "ObsoleteLoadCount")
                .or_else(|| off("_LDR_DATA_TABLE_ENTRY", "LoadCount"));
            assert_eq!(count, Some(LDR32_FIELDS[5]), "{k} load count");
            let p = [
                "CurrentDirectory",
                "ImagePathName",
                "CommandLine",
                "Environment",
                "EnvironmentSize",
            ];
            for (i, f) in p.iter().enumerate() {
                assert_eq!(
                    off("_RTL_USER_PROCESS_PARAMETERS", f),
                    Some(PARAMS32_FIELDS[i]),
                    "{k} {f}"
                );
            }
            assert_eq!(off("_CURDIR", "DosPath"), Some(0));
        }
    }
}
