//! VAD trees: `_EPROCESS.VadRoot` for both tree kinds.

use crate::is_kernel_address;
use crate::layout::{Layout, VadLayout};
use crate::protection::Protection;
use memtriage_paging::AddressSpace;
use serde::Serialize;
use std::collections::HashSet;

/// Deepest VAD tree walked (balanced trees of millions of nodes are ~40 deep).
pub const MAX_DEPTH: usize = 256;
/// Most VAD nodes read per process.
pub const MAX_NODES: usize = 1_000_000;
/// Longest file name read.
const MAX_NAME_BYTES: u64 = 0x2000;

/// One VAD: a reserved or committed user-space region.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Vad {
    /// Address of the VAD node.
    pub node: u64,
    /// First byte of the region.
    pub start: u64,
    /// Last byte of the region (inclusive).
    pub end: u64,
    /// VadType (0 none/private or mapped, 1 physical, 2 image, 3 AWE, 4 write-watch, 5 large pages, ...).
    pub vad_type: u8,
    /// Protection (the MmProtectToValue index, shown as PAGE_*).
    pub protection: Protection,
    /// PrivateMemory flag.
    pub private: bool,
    /// CommitCharge (pages).
    pub commit_charge: u64,
    /// Pool tag 12 bytes before the node (`VadS`, `Vad `, `VadF`, ...), printable or escaped.
    pub tag: String,
    /// Mapped file (image and mapped-file VADs).
    pub file: Option<String>,
}

impl Vad {
    /// Whether this is an image mapping (VadType 2).
    pub fn is_image(&self) -> bool {
        self.vad_type == 2
    }
    /// Size in bytes.
    pub fn size(&self) -> u64 {
        self.end.saturating_sub(self.start).saturating_add(1)
    }
}

fn tag_string(raw: u32) -> String {
    crate::escape_ascii(&raw.to_le_bytes())
}

/// Read the file name behind a long VAD: Subsection → ControlArea → FilePointer → FileName.
fn vad_file(space: &AddressSpace, layout: &VadLayout, node: u64) -> Option<String> {
    let sub = layout.vad_subsection?.read(space, node)?;
    if !is_kernel_address(sub) {
        return None;
    }
    let ca = layout.subsection_control_area.read(space, sub)?;
    if !is_kernel_address(ca) {
        return None;
    }
    let fp = layout.control_area_file_pointer.read(space, ca)? & !0xF;
    if !is_kernel_address(fp) {
        return None;
    }
    space
        .read_unicode_string(fp + layout.file_object_name, MAX_NAME_BYTES)
        .ok()
        .filter(|s| !s.is_empty())
}

fn read_node(space: &AddressSpace, layout: &VadLayout, node: u64) -> Option<(Vad, u64, u64)> {
    let mut buf = vec![0u8; layout.vad_short_size as usize];
    space.read_exact(node, &mut buf).ok()?;
    let g = |l: &crate::layout::Loc| l.get(&buf);
    let mut start_vpn = g(&layout.vad_start)?;
    let mut end_vpn = g(&layout.vad_end)?;
    if let Some(h) = layout.vad_start_high {
        start_vpn |= h.get(&buf)? << 32;
    }
    if let Some(h) = layout.vad_end_high {
        end_vpn |= h.get(&buf)? << 32;
    }
    let mut commit = g(&layout.vad_commit)?;
    if let Some(h) = layout.vad_commit_high {
        commit |= h.get(&buf)? << layout.vad_commit.bits.map_or(32, |(_, len)| len);
    }
    let protection = Protection::from_index(g(&layout.vad_protection)?);
    let tag = space
        .read_u32(node.wrapping_sub(12))
        .ok()
        .map(tag_string)
        .unwrap_or_default();
    let left = g(&crate::layout::Loc {
        offset: layout.node_left,
        size: 8,
        bits: None,
    })?;
    let right = g(&crate::layout::Loc {
        offset: layout.node_right,
        size: 8,
        bits: None,
    })?;
    let vad = Vad {
        node,
        start: start_vpn << 12,
        end: (end_vpn << 12) | 0xFFF,
        vad_type: g(&layout.vad_type)? as u8,
        protection,
        private: g(&layout.vad_private)? != 0,
        commit_charge: commit,
        tag,
        file: None,
    };
    Some((vad, left, right))
}

/// All VADs of a process, sorted by start, with warnings for skipped subtrees.
///
/// The root comes from `_EPROCESS.VadRoot`: `BalancedRoot.RightChild` of Windows 7's
/// `_MM_AVL_TABLE` (the balanced root is a sentinel), `Root` of later `_RTL_AVL_TREE`s.
///
/// `eprocess` is the `_EPROCESS` virtual address in the kernel space `space` (VAD nodes live
/// in kernel pool).
pub fn vads(space: &AddressSpace, layout: &Layout, eprocess: u64) -> (Vec<Vad>, Vec<String>) {
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    // Without VAD offsets the layout says so once (`Layout::missing`).
    let Some(layout) = &layout.vad else {
        return (out, warnings);
    };
    let root = match space.read_ptr(eprocess.wrapping_add(layout.vad_root_in_eprocess)) {
        Ok(r) => r,
        Err(e) => {
            warnings.push(format!(
                "VadRoot of _EPROCESS {eprocess:#x} unreadable: {e}"
            ));
            return (out, warnings);
        }
    };
    let mut seen = HashSet::new();
    let mut stack = vec![(root, 0usize)];
    while let Some((node, depth)) = stack.pop() {
        if node == 0 {
            continue;
        }
        if !is_kernel_address(node) {
            warnings.push(format!(
                "VAD node {node:#x} is not a kernel address; subtree skipped"
            ));
            continue;
        }
        if !seen.insert(node) {
            warnings.push(format!("VAD tree cycle at {node:#x}; subtree skipped"));
            continue;
        }
        if depth > MAX_DEPTH || seen.len() > MAX_NODES {
            warnings.push(format!(
                "VAD tree too deep or too large at {node:#x}; subtree skipped"
            ));
            continue;
        }
        let Some((mut vad, left, right)) = read_node(space, layout, node) else {
            warnings.push(format!("VAD node {node:#x} unreadable; subtree skipped"));
            continue;
        };
        if vad.end < vad.start {
            warnings.push(format!("VAD node {node:#x} has a reversed range; skipped"));
        } else {
            if !vad.private && vad.tag != "VadS" {
                vad.file = vad_file(space, layout, node);
            }
            out.push(vad);
        }
        stack.push((right, depth + 1));
        stack.push((left, depth + 1));
    }
    out.sort_by_key(|v| (v.start, v.node));
    (out, warnings)
}
