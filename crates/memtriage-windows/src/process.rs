//! Processes: the active process list and the `_EPROCESS` reader.

use crate::layout::Layout;
use crate::list::walk_both_ways;
use crate::warning::{Structure, Warning};
use crate::{is_kernel_address, Result, WinError, MAX_LIST_ENTRIES};
use memtriage_paging::AddressSpace;
use serde::Serialize;

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
    /// ImageFileName (15 bytes, NUL-terminated, printable ASCII kept, other bytes escaped).
    pub name: String,
    /// The ImageFileName is empty or holds bytes that are not printable ASCII.
    pub odd_name: bool,
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
        odd_name: !plausible_name(name_raw),
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
    /// The list head (PsActiveProcessHead), when System's Blink leads to it.
    pub head: Option<u64>,
    /// Problems met on the way: a break bridged (or not) by walking back from the head, an
    /// entry that could not be read. The rest of the list is still read.
    pub warnings: Vec<Warning>,
}

/// Walk ActiveProcessLinks from both ends.
///
/// The list head (PsActiveProcessHead) lives in the kernel image, not in an `_EPROCESS`; it is
/// found as the System process's Blink. The list is walked along Flink from the head and, if
/// that breaks, along Blink from the head (see [`crate::list`]); an entry whose `_EPROCESS`
/// cannot be read is skipped with a warning. Bounded, cycle-checked.
pub fn walk_active_list(space: &AddressSpace, layout: &Layout, system: u64) -> ProcessList {
    let mut out = ProcessList::default();
    let system_links = system.wrapping_add(layout.ep_links);
    let links = |va: u64| {
        space
            .read_list_entry(va)
            .ok()
            .map(|le| (le.flink, le.blink))
    };
    let valid = |va: u64| is_kernel_address(va) && va >= layout.ep_links;
    // PsActiveProcessHead: System's Blink, if it links back to System.
    let head = links(system_links)
        .map(|(_, blink)| blink)
        .filter(|&h| valid(h) && h != system_links)
        .filter(|&h| links(h).is_some_and(|(f, _)| f == system_links));
    out.head = head;
    let walk = match head {
        Some(h) => walk_both_ways(h, links, valid, MAX_LIST_ENTRIES),
        None => {
            out.warnings.push(Warning::new(
                Structure::ProcessList,
                Some(system_links),
                format!(
                    "process list: System's Blink at {system_links:#x} does not lead to PsActiveProcessHead; walked from System"
                ),
            ));
            let mut w = walk_both_ways(system_links, links, valid, MAX_LIST_ENTRIES);
            w.links.insert(0, system_links);
            w
        }
    };
    for m in walk.messages("process list") {
        out.warnings.push(Warning::new(
            Structure::ProcessList,
            walk.forward_break.map(|b| b.at),
            m,
        ));
    }
    for link in walk.links {
        let ep = link - layout.ep_links;
        match read_eprocess(space, layout, ep) {
            Ok(p) => {
                if p.odd_name {
                    out.warnings.push(
                        Warning::new(
                            Structure::Process,
                            Some(ep),
                            format!(
                                "_EPROCESS {ep:#x}: ImageFileName {:?} is empty or not printable text (escaped)",
                                p.name
                            ),
                        )
                        .for_pid(p.pid),
                    );
                }
                out.processes.push(p)
            }
            Err(e) => out.warnings.push(Warning::new(
                Structure::Process,
                Some(ep),
                format!("process list: _EPROCESS {ep:#x} unreadable: {e}"),
            )),
        }
    }
    out
}

/// Whether a process read through a candidate layout looks like a Windows process: a pid
/// that is a multiple of 4 below 2^24. Names are not judged: an odd name is a finding, not
/// a reason to distrust the layout.
pub fn plausible_pid(pid: u64) -> bool {
    pid % 4 == 0 && pid <= 0x100_0000
}

/// Check that a profile makes sense on this capture: the System `_EPROCESS` reads as pid 4
/// named "System", the list walked from both ends reaches more than System, and the large
/// majority of its entries have plausible pids. Judged on invariants and on the majority,
/// never on every entry: one odd or tampered process does not reject a correct layout.
/// Returns the number of processes seen.
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
    if list.processes.len() < 2 {
        return Err(list.warnings.first().map_or_else(
            || "the process list holds System alone".to_owned(),
            |w| w.to_string(),
        ));
    }
    let implausible: Vec<&Process> = list
        .processes
        .iter()
        .filter(|p| !plausible_pid(p.pid))
        .collect();
    // More than one in four implausible pids: the layout reads the wrong fields.
    if implausible.len() * 4 > list.processes.len() {
        let p = implausible[0];
        return Err(format!(
            "{} of {} processes have implausible pids (e.g. pid {} at {:#x})",
            implausible.len(),
            list.processes.len(),
            p.pid,
            p.eprocess
        ));
    }
    Ok(list.processes.len())
}
