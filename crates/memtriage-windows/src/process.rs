//! Processes: the active process list and the `_EPROCESS` reader.

use crate::layout::Layout;
use crate::{is_kernel_address, Result, WinError, MAX_LIST_ENTRIES};
use memtriage_paging::AddressSpace;
use serde::Serialize;
use std::collections::HashSet;

/// Longest image path read from SeAuditProcessCreationInfo.
const MAX_PATH_BYTES: u64 = 0x2000;

/// One process as its `_EPROCESS` describes it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Process {
    /// Virtual address of the `_EPROCESS` (kernel space); 0 when only its physical address is
    /// known.
    pub eprocess: u64,
    /// Physical address of the `_EPROCESS`, when known.
    pub eprocess_pa: Option<u64>,
    /// UniqueProcessId.
    pub pid: u64,
    /// InheritedFromUniqueProcessId.
    pub ppid: u64,
    /// ImageFileName (15 bytes, NUL-terminated, printable ASCII kept).
    pub name: String,
    /// Full image path from SeAuditProcessCreationInfo.ImageFileName.
    pub image_path: Option<String>,
    /// CreateTime (FILETIME).
    pub create_time: u64,
    /// ExitTime (FILETIME; 0 = running).
    pub exit_time: u64,
    /// ActiveThreads.
    pub active_threads: Option<u32>,
    /// Handle count from the object table, on builds that keep one.
    pub handle_count: Option<u32>,
    /// Session id, where the profile has `_EPROCESS.SessionId`.
    pub session_id: Option<u32>,
    /// Pointer to the `_EWOW64PROCESS` (or 32-bit PEB on older builds); 0 for native.
    pub wow64_process: u64,
    /// 32-bit PEB address for WoW64 processes.
    pub wow64_peb: Option<u64>,
    /// Pcb.DirectoryTableBase.
    pub dtb: u64,
    /// Pcb.UserDirectoryTableBase (KVA shadow), where set.
    pub user_dtb: Option<u64>,
    /// PEB address in the process's space (0 for System and minimal processes).
    pub peb: u64,
}

impl Process {
    /// Whether the process has exited (ExitTime set).
    pub fn exited(&self) -> bool {
        self.exit_time != 0
    }
    /// Whether the process runs under WoW64.
    pub fn wow64(&self) -> bool {
        self.wow64_process != 0
    }
}

/// The 15-byte ImageFileName as a string (stops at NUL; non-printable bytes escaped).
pub fn image_file_name(raw: &[u8]) -> String {
    let end = raw.iter().position(|&c| c == 0).unwrap_or(raw.len());
    crate::escape_ascii(&raw[..end])
}

/// Whether an ImageFileName is plausible (non-empty, printable).
pub fn plausible_name(raw: &[u8]) -> bool {
    let end = raw.iter().position(|&c| c == 0).unwrap_or(raw.len());
    end > 0 && raw[..end].iter().all(|&c| (0x20..0x7f).contains(&c))
}

/// Decode the fields of an `_EPROCESS` from its bytes. `space` (kernel space) is used to
/// follow pointers (image path, object table, WoW64 block); pass `None` to skip them.
pub fn decode(
    body: &[u8],
    layout: &Layout,
    space: Option<&AddressSpace>,
    eprocess: u64,
) -> Option<Process> {
    let get = |l: &crate::layout::Loc| l.get(body);
    let name_off = usize::try_from(layout.ep_name.offset).ok()?;
    let name_raw = body.get(name_off..name_off + layout.ep_name.size.min(16) as usize)?;
    let wow64_process = layout.ep_wow64.and_then(|l| l.get(body)).unwrap_or(0);
    let mut p = Process {
        eprocess,
        eprocess_pa: None,
        pid: get(&layout.ep_pid)?,
        ppid: get(&layout.ep_ppid)?,
        name: image_file_name(name_raw),
        image_path: None,
        create_time: get(&layout.ep_create_time)?,
        exit_time: get(&layout.ep_exit_time)?,
        active_threads: layout
            .ep_active_threads
            .and_then(|l| l.get(body))
            .map(|v| v as u32),
        handle_count: None,
        session_id: layout
            .ep_session_id
            .and_then(|l| l.get(body))
            .map(|v| v as u32),
        wow64_process,
        wow64_peb: None,
        dtb: get(&layout.ep_dtb)?,
        user_dtb: layout
            .ep_user_dtb
            .and_then(|l| l.get(body))
            .filter(|v| *v != 0 && *v != 1),
        peb: get(&layout.ep_peb)?,
    };
    if let Some(space) = space {
        if let Some(ptr) = layout.ep_audit_image.and_then(|l| l.get(body)) {
            if is_kernel_address(ptr) {
                // _OBJECT_NAME_INFORMATION starts with its UNICODE_STRING Name.
                p.image_path = space
                    .read_unicode_string(ptr, MAX_PATH_BYTES)
                    .ok()
                    .filter(|s| !s.is_empty());
            }
        }
        if let (Some(ot), Some(hc)) = (
            layout.ep_object_table.and_then(|l| l.get(body)),
            layout.handle_table_count,
        ) {
            if is_kernel_address(ot) {
                p.handle_count = space.read_u32(ot + hc.offset).ok();
            }
        }
        p.wow64_peb = match layout.ewow64_peb {
            // Windows 10+: _EWOW64PROCESS.Peb.
            Some(l) if is_kernel_address(wow64_process) => space
                .read_ptr(wow64_process + l.offset)
                .ok()
                .filter(|v| *v != 0),
            Some(_) => None,
            // Windows 7 and 8.1: the field holds the PEB32 address itself.
            None => Some(wow64_process).filter(|v| *v != 0 && *v < 1 << 32),
        };
    }
    Some(p)
}

/// Read the `_EPROCESS` at kernel virtual address `eprocess`.
pub fn read_eprocess(space: &AddressSpace, layout: &Layout, eprocess: u64) -> Result<Process> {
    let mut body = vec![0u8; layout.eprocess_size as usize];
    space.read_exact(eprocess, &mut body)?;
    let mut p = decode(&body, layout, Some(space), eprocess)
        .ok_or_else(|| WinError::Invalid(format!("_EPROCESS at {eprocess:#x} is truncated")))?;
    p.eprocess_pa = space.translate(eprocess).ok().map(|t| t.pa);
    Ok(p)
}

/// The result of walking ActiveProcessLinks.
#[derive(Debug, Clone, Default)]
pub struct ProcessList {
    /// Processes in list order, starting with System.
    pub processes: Vec<Process>,
    /// The list head (PsActiveProcessHead), when the walk came back to it.
    pub head: Option<u64>,
    /// Problems met on the way (the walk stops at the first bad link and keeps what it has).
    pub warnings: Vec<String>,
}

/// Walk ActiveProcessLinks from the System process until the list closes.
///
/// The list head (PsActiveProcessHead) lives in the kernel image, not in an `_EPROCESS`; it is
/// recognised as the System process's Blink and skipped. Bounded, cycle-checked.
pub fn walk_active_list(space: &AddressSpace, layout: &Layout, system: u64) -> ProcessList {
    let mut out = ProcessList::default();
    let start = system.wrapping_add(layout.ep_links);
    let head = space.read_list_entry(start).ok().map(|le| le.blink);
    out.head = head;
    let mut seen = HashSet::new();
    let mut link = start;
    loop {
        // Checked before the entry is read, so a loop never lists a process twice.
        if !seen.insert(link) {
            out.warnings
                .push(format!("process list: loop at {link:#x}"));
            break;
        }
        if Some(link) != head {
            let ep = link.wrapping_sub(layout.ep_links);
            match read_eprocess(space, layout, ep) {
                Ok(p) => out.processes.push(p),
                Err(e) => {
                    out.warnings
                        .push(format!("process list: stopped at _EPROCESS {ep:#x}: {e}"));
                    break;
                }
            }
        }
        if seen.len() > MAX_LIST_ENTRIES {
            out.warnings
                .push("process list: too many entries; stopped".into());
            break;
        }
        let next = match space.read_list_entry(link) {
            Ok(le) => le.flink,
            Err(e) => {
                out.warnings
                    .push(format!("process list: unreadable link at {link:#x}: {e}"));
                break;
            }
        };
        if !is_kernel_address(next) {
            out.warnings.push(format!(
                "process list: non-kernel Flink {next:#x} at {link:#x}"
            ));
            break;
        }
        if next == start {
            break;
        }
        link = next;
    }
    out
}

/// Check that a profile makes sense: System reads as pid 4 "System", the list from System
/// closes (or reaches at least one more process before it breaks), names are printable and
/// PIDs plausible. Returns the number of processes seen.
pub fn validate_list(
    space: &AddressSpace,
    layout: &Layout,
    system: u64,
) -> std::result::Result<usize, String> {
    let sys = read_eprocess(space, layout, system).map_err(|e| e.to_string())?;
    if sys.pid != 4 || !sys.name.eq_ignore_ascii_case("System") {
        return Err(format!(
            "the System EPROCESS at {system:#x} reads as pid {} name {:?}",
            sys.pid, sys.name
        ));
    }
    let list = walk_active_list(space, layout, system);
    // A list broken further on (a smeared or unlinked Flink) still validates the profile when
    // System and at least one more process read plausibly; the session's own walk reports
    // the break as a warning. A list that breaks right after System proves nothing.
    if let Some(w) = list.warnings.first() {
        if list.processes.len() < 2 {
            return Err(w.clone());
        }
    }
    for p in &list.processes {
        if p.pid % 4 != 0 || p.pid > 0x100_0000 || p.name.contains("\\x") || p.name.is_empty() {
            return Err(format!(
                "implausible process at {:#x}: pid {} name {:?}",
                p.eprocess, p.pid, p.name
            ));
        }
    }
    Ok(list.processes.len())
}
