//! Pool scanning: find `_EPROCESS` objects in `Proc` pool blocks anywhere in physical memory.
//!
//! The scan is one consumer of the shared physical pass ([`memtriage_dump::scan`]): it looks
//! at each window's bytes in place (zero-copy on memory-mapped captures) and yields results
//! sorted by physical address, so output is deterministic. [`ProcessMatcher`] is the
//! per-window matcher, for callers that run several scanners in one pass.

use crate::driver_object::DriverObjectLayout;
use crate::driverscan::{driver_candidates, resolve_all, HeaderLayout, ScannedDriver};
use crate::is_kernel_address;
use crate::layout::Layout;
use crate::process::{decode, Process};
use memtriage_dump::scan::{scan_windows, ScanOptions, Window};
use memtriage_dump::PhysicalMemory;
use memtriage_paging::AddressSpace;
use std::sync::atomic::AtomicU64;
/// Largest distance between the pool header and the object header (optional headers).
const MAX_OPTIONAL_HEADERS: u64 = 0x100;

/// A process found by the pool scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannedProcess {
    /// Physical address of the pool header.
    pub pool_pa: u64,
    /// The decoded process; `eprocess_pa` is set, `eprocess` (VA) when it could be recovered.
    pub process: Process,
}

/// What the scan needs to know about object types.
#[derive(Debug, Clone, Default)]
pub struct TypeCheck {
    /// ObTypeIndexTable resolved: index → type name.
    pub names: Option<Vec<Option<String>>>,
    /// ObHeaderCookie (Windows 10+): the stored TypeIndex is
    /// `index ^ cookie ^ ((object_header_va >> 8) & 0xff)`.
    pub cookie: Option<u8>,
}

impl TypeCheck {
    /// The type table and header cookie of a discovered kernel, where its profile has the
    /// symbols (`ObTypeIndexTable`, `ObHeaderCookie`).
    pub fn for_kernel(kernel: &crate::Kernel) -> TypeCheck {
        let profile = &kernel.profile;
        TypeCheck {
            names: profile
                .symbol("ObTypeIndexTable")
                .and_then(|rva| type_names(&kernel.space, &kernel.layout, kernel.base + rva)),
            cookie: profile
                .symbol("ObHeaderCookie")
                .and_then(|rva| kernel.space.read_u8(kernel.base + rva).ok()),
        }
    }

    /// Whether the object header at `oh_va` (0 when unknown) with stored type index `stored`
    /// is a Process. Without a type table, or with a cookie but no known header address, the
    /// body validation alone decides.
    fn is_process(&self, stored: u8, oh_va: u64) -> bool {
        let Some(names) = &self.names else {
            return true;
        };
        let index = match self.cookie {
            None => stored,
            Some(_) if oh_va == 0 => return true,
            Some(cookie) => stored ^ cookie ^ ((oh_va >> 8) & 0xff) as u8,
        };
        names.get(usize::from(index)).and_then(|n| n.as_deref()) == Some("Process")
    }
}

fn u64_at(b: &[u8], off: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(off..off + 8)?.try_into().ok()?))
}

/// Validate a candidate `_EPROCESS` body read from physical memory.
fn validate_body(mem: &dyn PhysicalMemory, layout: &Layout, body: &[u8]) -> bool {
    if let Some(t) = layout.ep_dispatcher_type {
        if t.get(body) != Some(3) {
            return false;
        }
    }
    let Some(dtb) = layout.ep_dtb.get(body) else {
        return false;
    };
    if dtb == 0 || dtb & 0xFFF != 0 || !mem.contains(dtb) {
        return false;
    }
    let Some(pid) = layout.ep_pid.get(body) else {
        return false;
    };
    if pid % 4 != 0 || pid > 0x100_0000 {
        return false;
    }
    // The name is not judged: an odd or empty ImageFileName is itself a finding
    // (`odd_process_name`), and the dispatcher type, DTB, pid, links and object type already
    // tell a process from other pool data.
    let links = layout.ep_links as usize;
    match (u64_at(body, links), u64_at(body, links + 8)) {
        (Some(f), Some(b)) => is_kernel_address(f) && is_kernel_address(b),
        _ => false,
    }
}

/// Recover the `_EPROCESS` virtual address through the thread list head: the first thread's
/// (or, with no threads, the head's own) back link points at `eprocess + ThreadListHead`.
fn recover_va(space: &AddressSpace, layout: &Layout, body: &[u8], body_pa: u64) -> Option<u64> {
    let off = layout.ep_thread_list_head;
    let flink = u64_at(body, off as usize)?;
    if !is_kernel_address(flink) {
        return None;
    }
    let candidates = [
        flink.checked_sub(off)?,
        space.read_list_entry(flink).ok()?.blink.checked_sub(off)?,
    ];
    candidates
        .into_iter()
        .find(|va| space.translate(*va).ok().map(|t| t.pa) == Some(body_pa))
}

/// Finds `_EPROCESS` objects in `Proc` pool blocks in the windows of a physical scan.
#[derive(Debug, Clone, Copy)]
pub struct ProcessMatcher<'a> {
    space: &'a AddressSpace,
    layout: &'a Layout,
    types: &'a TypeCheck,
}

impl<'a> ProcessMatcher<'a> {
    /// A matcher reading object bodies through the kernel address space `space`.
    pub fn new(space: &'a AddressSpace, layout: &'a Layout, types: &'a TypeCheck) -> Self {
        ProcessMatcher {
            space,
            layout,
            types,
        }
    }

    /// The processes whose pool tag lies in `window`'s own bytes (bodies may extend past it:
    /// they are read from the capture).
    pub fn find(&self, window: &Window<'_>) -> Vec<ScannedProcess> {
        let data = window.bytes();
        let start = window.pa();
        let layout = self.layout;
        let finder = memchr::memmem::Finder::new(b"Pro");
        let mut out = Vec::new();
        let mut body = Vec::new();
        for hit in finder.find_iter(data) {
            // The tag is at +4 of a 16-byte aligned pool header.
            let tag_pa = start + hit as u64;
            if tag_pa % 16 != 4 {
                continue;
            }
            match data.get(hit + 3) {
                Some(b'c') | Some(0xE3) => {}
                _ => continue,
            }
            if body.is_empty() {
                body = vec![0u8; layout.eprocess_size as usize];
            }
            if let Some(p) = self.at_pool(tag_pa - 4, &mut body) {
                out.push(p);
            }
        }
        out
    }

    /// The process in the pool block whose header is at `pool_pa`, if it holds one.
    fn at_pool(&self, pool_pa: u64, body: &mut [u8]) -> Option<ScannedProcess> {
        let (mem, space, layout, types) = (
            self.space.memory().as_ref(),
            self.space,
            self.layout,
            self.types,
        );
        let mut hdr = [0u8; 16];
        mem.read_phys(pool_pa, &mut hdr).ok()?;
        let block =
            u64::from((u32::from_le_bytes([hdr[0], hdr[1], hdr[2], hdr[3]]) >> 16) & 0xFF) * 16;
        let limit = if block > 0 { block } else { 0x1000 };
        let mut k = 16u64;
        while k <= MAX_OPTIONAL_HEADERS + 16
            && k + layout.oh_body < limit.max(layout.oh_body + 16 + MAX_OPTIONAL_HEADERS)
        {
            let oh_pa = pool_pa + k;
            let body_pa = oh_pa + layout.oh_body;
            k += 16;
            if mem.read_phys(body_pa, body).is_err() {
                continue;
            }
            if !validate_body(mem, layout, body) {
                continue;
            }
            let va = recover_va(space, layout, body, body_pa).unwrap_or(0);
            if types.names.is_some() {
                let mut oh = [0u8; 0x30];
                if mem.read_phys(oh_pa, &mut oh).is_err() {
                    continue;
                }
                let stored = layout.oh_type_index.get(&oh).unwrap_or(0) as u8;
                let oh_va = if va != 0 { va - layout.oh_body } else { 0 };
                if !types.is_process(stored, oh_va) {
                    continue;
                }
            }
            if let Some(mut p) = decode(body, layout, Some(space), va) {
                p.eprocess_pa = Some(body_pa);
                return Some(ScannedProcess {
                    pool_pa,
                    process: p,
                });
            }
        }
        None
    }
}

/// Resolve ObTypeIndexTable to type names, on builds that store the plain index.
pub fn type_names(
    space: &AddressSpace,
    layout: &Layout,
    table: u64,
) -> Option<Vec<Option<String>>> {
    let name_off = layout.object_type_name?;
    let mut names = Vec::new();
    for i in 0..64u64 {
        let ptr = space.read_ptr(table + i * 8).unwrap_or(0);
        let name = if is_kernel_address(ptr) {
            space.read_unicode_string(ptr + name_off, 256).ok()
        } else {
            None
        };
        names.push(name);
    }
    names
        .iter()
        .any(|n| n.as_deref() == Some("Process"))
        .then_some(names)
}

/// What one pass over physical memory found in pool blocks.
#[derive(Debug, Default)]
pub struct PoolScan {
    /// Process objects (`Proc`), sorted by pool address, one per `_EPROCESS`.
    pub processes: Vec<ScannedProcess>,
    /// Driver objects (`Driv`), sorted by physical address; `None` when the pass did not look
    /// for them (no verified `_DRIVER_OBJECT` layout).
    pub drivers: Option<Vec<ScannedDriver>>,
}

/// Scan all of physical memory once for process objects and, given their layout, driver
/// objects: both matchers share each window of the pass. `progress` counts scanned bytes.
pub fn scan_pool(
    space: &AddressSpace,
    layout: &Layout,
    types: &TypeCheck,
    drivers: Option<&DriverObjectLayout>,
    progress: Option<&AtomicU64>,
) -> PoolScan {
    let matcher = ProcessMatcher::new(space, layout, types);
    let headers = HeaderLayout::of(layout);
    // A pool tag is never zero: the holes of a sparse capture cannot hold one. A pool block
    // never crosses a page and windows are page-aligned, so no overlap is needed.
    let options = ScanOptions {
        skip_holes: true,
        ..ScanOptions::default()
    };
    let per_window = scan_windows(space.memory().as_ref(), options, progress, |w| {
        let candidates = drivers
            .map(|d| driver_candidates(d, &headers, w.pa(), w.bytes()))
            .unwrap_or_default();
        (matcher.find(w), candidates)
    });
    let mut processes = Vec::new();
    let mut candidates = Vec::new();
    for (p, c) in per_window {
        processes.extend(p);
        candidates.extend(c);
    }
    processes.sort_by_key(|r| r.pool_pa);
    processes.dedup_by_key(|r| r.process.eprocess_pa);
    PoolScan {
        processes,
        drivers: drivers.map(|_| resolve_all(space, &headers, types, &candidates)),
    }
}

/// Scan all of physical memory for processes. `progress` counts scanned bytes.
pub fn scan_processes(
    space: &AddressSpace,
    layout: &Layout,
    types: &TypeCheck,
    progress: Option<&AtomicU64>,
) -> Vec<ScannedProcess> {
    scan_pool(space, layout, types, None, progress).processes
}

#[cfg(test)]
mod tests {
    use super::*;

    fn table() -> Vec<Option<String>> {
        let mut names = vec![None; 64];
        names[7] = Some("Process".to_string());
        names[8] = Some("Thread".to_string());
        names
    }

    #[test]
    fn type_index_decodes_with_and_without_the_header_cookie() {
        let plain = TypeCheck {
            names: Some(table()),
            cookie: None,
        };
        assert!(plain.is_process(7, 0));
        assert!(!plain.is_process(8, 0));
        let oh_va = 0xffff_d882_0001_3410u64; // (oh_va >> 8) & 0xff == 0x34
        let cookie = TypeCheck {
            names: Some(table()),
            cookie: Some(0x5a),
        };
        let stored = 7 ^ 0x5a ^ 0x34;
        assert!(cookie.is_process(stored, oh_va));
        assert!(!cookie.is_process(7, oh_va));
        assert!(!cookie.is_process(stored, oh_va + 0x100));
        // Unknown header address: the body validation decides alone.
        assert!(cookie.is_process(0, 0));
        // No type table: likewise.
        assert!(TypeCheck::default().is_process(0, oh_va));
    }
}
