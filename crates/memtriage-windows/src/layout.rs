//! Offsets the walkers need, resolved once from a [`Profile`].
//!
//! Every offset and bitfield comes from the profile (never from constants), so one walker
//! serves every build; fields a build lacks are `None`.

use crate::peb::PebLayout;
use memtriage_symbols::{Field, Profile, SymbolError};

/// Which VAD tree a build uses.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VadTreeKind {
    /// Windows 7: `_MM_AVL_TABLE` of `_MMADDRESS_NODE` (BalancedRoot.RightChild is the root).
    AvlTable,
    /// Windows 8.1 and later: `_RTL_AVL_TREE` of `_RTL_BALANCED_NODE`.
    RtlAvlTree,
}

/// A field's location: offset, storage size and optional bit range.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Loc {
    /// Byte offset from the start of the object.
    pub offset: u64,
    /// Storage size in bytes (1, 2, 4 or 8 for scalars).
    pub size: u64,
    /// `(bit_position, bit_length)` for bitfields.
    pub bits: Option<(u32, u32)>,
}

impl From<Field> for Loc {
    fn from(f: Field) -> Self {
        Loc {
            offset: f.offset,
            size: f.size,
            bits: f.bits,
        }
    }
}

impl Loc {
    /// Extract the field from the bytes of the whole object (`None` if out of range).
    pub fn get(&self, obj: &[u8]) -> Option<u64> {
        let start = usize::try_from(self.offset).ok()?;
        let size = usize::try_from(self.size).ok()?.min(8);
        let bytes = obj.get(start..start.checked_add(size)?)?;
        Some(self.decode(bytes))
    }

    /// Read the field of the object at virtual address `object` through `space`.
    pub fn read(&self, space: &memtriage_paging::AddressSpace, object: u64) -> Option<u64> {
        let size = usize::try_from(self.size).ok()?.min(8);
        let mut buf = [0u8; 8];
        space
            .read_exact(object.checked_add(self.offset)?, &mut buf[..size])
            .ok()?;
        Some(self.decode(&buf[..size]))
    }

    fn decode(&self, bytes: &[u8]) -> u64 {
        let mut buf = [0u8; 8];
        let n = bytes.len().min(8);
        buf[..n].copy_from_slice(&bytes[..n]);
        let raw = u64::from_le_bytes(buf);
        match self.bits {
            Some((pos, len)) => {
                let v = raw.checked_shr(pos).unwrap_or(0);
                if len >= 64 {
                    v
                } else {
                    v & ((1u64 << len) - 1)
                }
            }
            None => raw,
        }
    }
}

/// Resolved offsets for processes (required), and for threads, VADs and the PEB/loader data
/// (each group optional: a profile that lacks one still walks processes, and the walkers of
/// the missing group say so in a warning).
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct Layout {
    pub build: Option<u32>,
    // _EPROCESS
    pub eprocess_size: u64,
    pub ep_dtb: Loc,
    pub ep_user_dtb: Option<Loc>,
    pub ep_pid: Loc,
    pub ep_ppid: Loc,
    pub ep_links: u64,
    pub ep_name: Loc,
    pub ep_create_time: Loc,
    pub ep_exit_time: Loc,
    pub ep_peb: Loc,
    pub ep_thread_list_head: u64,
    pub ep_active_threads: Option<Loc>,
    pub ep_object_table: Option<Loc>,
    pub ep_audit_image: Option<Loc>,
    pub ep_wow64: Option<Loc>,
    pub ep_session_id: Option<Loc>,
    pub ep_dispatcher_type: Option<Loc>,
    pub handle_table_count: Option<Loc>,
    pub ewow64_peb: Option<Loc>,
    // object and pool headers
    pub oh_body: u64,
    pub oh_type_index: Loc,
    pub oh_info_mask: Loc,
    pub object_type_name: Option<u64>,
    /// `_ETHREAD` offsets, when the profile has them.
    pub thread: Option<ThreadLayout>,
    /// VAD offsets, when the profile has them.
    pub vad: Option<VadLayout>,
    /// PEB, loader-entry and process-parameter offsets (native, 64-bit), when the profile has
    /// them; also used for the kernel's `_KLDR_DATA_TABLE_ENTRY` list.
    pub ldr: Option<PebLayout>,
    /// What the profile lacks, one line per missing group (for warnings).
    pub missing: Vec<String>,
}

/// `_ETHREAD` offsets.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct ThreadLayout {
    pub et_list_entry: u64,
    pub et_tid: Loc,
    pub et_pid: Loc,
    pub et_start: Option<Loc>,
    pub et_win32_start: Option<Loc>,
    pub et_teb: Loc,
    pub et_create_time: Option<Loc>,
}

/// VAD tree and VAD node offsets.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct VadLayout {
    pub vad_kind: VadTreeKind,
    pub vad_root_in_eprocess: u64,
    pub node_left: u64,
    pub node_right: u64,
    pub vad_start: Loc,
    pub vad_end: Loc,
    pub vad_start_high: Option<Loc>,
    pub vad_end_high: Option<Loc>,
    pub vad_type: Loc,
    pub vad_protection: Loc,
    pub vad_private: Loc,
    pub vad_commit: Loc,
    pub vad_commit_high: Option<Loc>,
    pub vad_short_size: u64,
    pub vad_subsection: Option<Loc>,
    pub subsection_control_area: Loc,
    pub control_area_file_pointer: Loc,
    pub file_object_name: u64,
}

pub(crate) fn req(p: &Profile, ty: &str, path: &str) -> Result<Loc, SymbolError> {
    p.field(ty, path).map(Loc::from)
}

pub(crate) fn opt(p: &Profile, ty: &str, path: &str) -> Option<Loc> {
    p.field(ty, path).ok().map(Loc::from)
}

fn first(p: &Profile, ty: &str, paths: &[&str]) -> Result<Loc, SymbolError> {
    for path in paths {
        if let Ok(f) = p.field(ty, path) {
            return Ok(f.into());
        }
    }
    Err(SymbolError::NoField {
        ty: ty.to_string(),
        field: paths.join("|"),
    })
}

/// A group's layout, or a line in `missing` saying why it is absent.
fn group<T>(what: &str, r: Result<T, SymbolError>, missing: &mut Vec<String>) -> Option<T> {
    r.map_err(|e| missing.push(format!("{what} not read: {e}")))
        .ok()
}

impl ThreadLayout {
    fn new(p: &Profile) -> Result<ThreadLayout, SymbolError> {
        let et = "_ETHREAD";
        Ok(ThreadLayout {
            et_list_entry: p.offset(et, "ThreadListEntry")?,
            et_tid: req(p, et, "Cid.UniqueThread")?,
            et_pid: req(p, et, "Cid.UniqueProcess")?,
            et_start: opt(p, et, "StartAddress"),
            et_win32_start: opt(p, et, "Win32StartAddress"),
            et_teb: req(p, et, "Tcb.Teb")?,
            et_create_time: opt(p, et, "CreateTime"),
        })
    }
}

impl VadLayout {
    fn new(p: &Profile) -> Result<VadLayout, SymbolError> {
        let ep = "_EPROCESS";
        let vs = "_MMVAD_SHORT";
        let vad_kind = if p.has_field(ep, "VadRoot.BalancedRoot") {
            VadTreeKind::AvlTable
        } else {
            VadTreeKind::RtlAvlTree
        };
        let (node_left, node_right, vad_root_in_eprocess) = match vad_kind {
            VadTreeKind::AvlTable => (
                p.offset(vs, "LeftChild")?,
                p.offset(vs, "RightChild")?,
                p.offset(ep, "VadRoot.BalancedRoot.RightChild")?,
            ),
            VadTreeKind::RtlAvlTree => (
                p.offset(vs, "VadNode.Left")?,
                p.offset(vs, "VadNode.Right")?,
                p.offset(ep, "VadRoot.Root")?,
            ),
        };
        Ok(VadLayout {
            vad_kind,
            vad_root_in_eprocess,
            node_left,
            node_right,
            vad_start: req(p, vs, "StartingVpn")?,
            vad_end: req(p, vs, "EndingVpn")?,
            vad_start_high: opt(p, vs, "StartingVpnHigh"),
            vad_end_high: opt(p, vs, "EndingVpnHigh"),
            vad_type: first(p, vs, &["u.VadFlags.VadType"])?,
            vad_protection: first(p, vs, &["u.VadFlags.Protection"])?,
            vad_private: first(p, vs, &["u.VadFlags.PrivateMemory"])?,
            vad_commit: first(
                p,
                vs,
                &["u1.VadFlags1.CommitCharge", "u.VadFlags.CommitCharge"],
            )?,
            vad_commit_high: opt(p, vs, "CommitChargeHigh"),
            vad_short_size: p.size_of(vs)?,
            vad_subsection: opt(p, "_MMVAD", "Subsection"),
            subsection_control_area: req(p, "_SUBSECTION", "ControlArea")?,
            control_area_file_pointer: req(p, "_CONTROL_AREA", "FilePointer")?,
            file_object_name: p.offset("_FILE_OBJECT", "FileName")?,
        })
    }
}

impl Layout {
    /// Resolve every offset the walkers use. Fails naming the first missing type or field of
    /// the process layout; a missing thread, VAD or loader group is recorded in
    /// [`Layout::missing`] instead.
    pub fn new(p: &Profile) -> Result<Layout, SymbolError> {
        let ep = "_EPROCESS";
        let mut missing = Vec::new();
        let thread = group("threads", ThreadLayout::new(p), &mut missing);
        if thread
            .as_ref()
            .is_some_and(|t| t.et_start.is_none() && t.et_win32_start.is_none())
        {
            missing.push(
                "thread start addresses not read: _ETHREAD has neither Win32StartAddress nor \
                 StartAddress (unbacked_thread cannot run)"
                    .to_string(),
            );
        }
        let vad = group("VADs (memory regions)", VadLayout::new(p), &mut missing);
        let ldr = group(
            "PEBs and loader lists (modules)",
            PebLayout::native_from_profile(p),
            &mut missing,
        );
        Ok(Layout {
            build: p.build,
            eprocess_size: p.size_of(ep)?,
            ep_dtb: req(p, ep, "Pcb.DirectoryTableBase")?,
            ep_user_dtb: opt(p, ep, "Pcb.UserDirectoryTableBase"),
            ep_pid: req(p, ep, "UniqueProcessId")?,
            ep_ppid: req(p, ep, "InheritedFromUniqueProcessId")?,
            ep_links: p.offset(ep, "ActiveProcessLinks")?,
            ep_name: req(p, ep, "ImageFileName")?,
            ep_create_time: req(p, ep, "CreateTime")?,
            ep_exit_time: req(p, ep, "ExitTime")?,
            ep_peb: req(p, ep, "Peb")?,
            ep_thread_list_head: p.offset(ep, "ThreadListHead")?,
            ep_active_threads: opt(p, ep, "ActiveThreads"),
            ep_object_table: opt(p, ep, "ObjectTable"),
            ep_audit_image: opt(p, ep, "SeAuditProcessCreationInfo.ImageFileName"),
            ep_wow64: opt(p, ep, "WoW64Process").or_else(|| opt(p, ep, "Wow64Process")),
            ep_session_id: opt(p, ep, "SessionId"),
            ep_dispatcher_type: opt(p, ep, "Pcb.Header.Type"),
            handle_table_count: opt(p, "_HANDLE_TABLE", "HandleCount"),
            ewow64_peb: opt(p, "_EWOW64PROCESS", "Peb"),
            oh_body: p.offset("_OBJECT_HEADER", "Body")?,
            oh_type_index: req(p, "_OBJECT_HEADER", "TypeIndex")?,
            oh_info_mask: req(p, "_OBJECT_HEADER", "InfoMask")?,
            object_type_name: p.offset("_OBJECT_TYPE", "Name").ok(),
            thread,
            vad,
            ldr,
            missing,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every bundled profile gives a process layout; all but the partial 26100 table give every
    /// group, and 26100 says exactly which groups it lacks.
    #[test]
    fn every_bundled_profile_gives_a_layout() {
        for build in &memtriage_symbols::bundled::tables() {
            let p = memtriage_symbols::bundled::by_build(*build).expect("bundled profile");
            let l = Layout::new(&p).unwrap_or_else(|e| panic!("{build}: {e}"));
            if *build == 26100 {
                let groups: Vec<&str> = l
                    .missing
                    .iter()
                    .map(|m| m.split(" not read").next().unwrap_or(""))
                    .collect();
                assert_eq!(groups, ["threads"], "{:?}", l.missing);
                assert!(l.ldr.is_some() && l.vad.is_some());
            } else {
                assert!(l.missing.is_empty(), "{build}: {:?}", l.missing);
            }
        }
    }
}
