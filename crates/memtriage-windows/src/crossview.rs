//! Cheap views of the process set beside ActiveProcessLinks and the pool scan, as psxview
//! compares them: PspCidTable (every live process and thread id), the process handles of
//! `csrss.exe`, and the processes that own the threads PspCidTable lists.
//!
//! Each view reads a few pages of kernel memory, not all of physical memory. A view that the
//! capture or the profile cannot support is [`ViewUnavailable`] (a reason, never an empty
//! result); a view that is read but partly unreadable returns what it read with warnings.

use crate::handles::{walk_handle_table, HandleLayout};
use crate::layout::Loc;
use crate::poolscan::TypeCheck;
use crate::process::{plausible_pid, Process};
use crate::{is_kernel_address, Kernel};
use memtriage_symbols::MatchKind;

/// Offset of the `OwnerTag` ("KDBG") in `_KDDEBUGGER_DATA64` (after the 16-byte `List`).
const KDBG_OWNER_TAG: u64 = 0x10;
/// Offset of `KernBase` in `_KDDEBUGGER_DATA64`.
const KDBG_KERN_BASE: u64 = 0x18;
/// Offset of `PspCidTable` in `_KDDEBUGGER_DATA64` (the layout of `wdbgexts.h`, the same on
/// every x64 build; the ISFs do not carry it).
const KDBG_PSP_CID_TABLE: u64 = 0x58;
/// `_DISPATCHER_HEADER.Type` of a process.
const DISPATCHER_PROCESS: u64 = 3;
/// `_DISPATCHER_HEADER.Type` of a thread.
const DISPATCHER_THREAD: u64 = 6;

/// Why a view could not be read at all on this capture.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ViewUnavailable {
    /// The profile lacks `_HANDLE_TABLE` / `_HANDLE_TABLE_ENTRY` offsets.
    #[error("profile has no handle-table layout ({0})")]
    NoHandleLayout(String),
    /// Neither `_KDDEBUGGER_DATA64` nor an exact profile gave the PspCidTable address.
    #[error("PspCidTable not found ({0})")]
    NoCidTable(String),
    /// The profile lacks `_EPROCESS.ObjectTable`.
    #[error("profile has no field _EPROCESS.ObjectTable")]
    NoObjectTable,
    /// No process named `csrss.exe` is on the active process list.
    #[error("no csrss.exe on the active process list")]
    NoCsrss,
    /// The profile lacks `_KTHREAD.Process` (and `_KTHREAD.ApcState.Process`).
    #[error("profile has no field _KTHREAD.Process")]
    NoThreadProcess,
    /// A table the view reads cannot be walked at all (an impossible `TableCode`, an
    /// unreadable `_HANDLE_TABLE`).
    #[error("{0}")]
    Unreadable(String),
    /// The thread view lists the owners of PspCidTable's threads; that table was not read.
    #[error("it needs PspCidTable's threads: {0}")]
    NeedsCidTable(Box<ViewUnavailable>),
}

/// What one view saw: `_EPROCESS` virtual addresses (each once, in table order).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ViewRead {
    /// The processes seen.
    pub processes: Vec<u64>,
    /// Problems met; the rest of the view is still read.
    pub warnings: Vec<String>,
}

/// What PspCidTable holds.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CidTable {
    /// Address of the `_HANDLE_TABLE`.
    pub table: u64,
    /// Process entries (`_EPROCESS` addresses), each once.
    pub processes: Vec<u64>,
    /// Thread entries (`_ETHREAD` addresses), each once.
    pub threads: Vec<u64>,
    /// Problems met (an impossible TableCode, an unreadable page, an entry that is neither a
    /// process nor a thread).
    pub warnings: Vec<String>,
}

/// The kind of an executive object, as far as the views care.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ObjectKind {
    Process,
    Thread,
    Other,
}

/// The kind of the object whose body is at `body`: from its `_OBJECT_HEADER.TypeIndex` when
/// the type table is known, else from its dispatcher header.
fn object_kind(kernel: &Kernel, types: &TypeCheck, body: u64) -> Option<ObjectKind> {
    let layout = &kernel.layout;
    let header = body.checked_sub(layout.oh_body)?;
    if let Some(names) = &types.names {
        let stored = layout.oh_type_index.read(&kernel.space, header)? as u8;
        let index = match types.cookie {
            Some(cookie) => stored ^ cookie ^ ((header >> 8) & 0xff) as u8,
            None => stored,
        };
        return Some(
            match names.get(usize::from(index)).and_then(|n| n.as_deref()) {
                Some("Process") => ObjectKind::Process,
                Some("Thread") => ObjectKind::Thread,
                _ => ObjectKind::Other,
            },
        );
    }
    let ty = layout.ep_dispatcher_type?.read(&kernel.space, body)?;
    Some(match ty {
        DISPATCHER_PROCESS => ObjectKind::Process,
        DISPATCHER_THREAD => ObjectKind::Thread,
        _ => ObjectKind::Other,
    })
}

/// Whether `eprocess` reads as a process: dispatcher type 3 (where the profile has it) and a
/// plausible pid.
fn looks_like_process(kernel: &Kernel, eprocess: u64) -> Option<u64> {
    let layout = &kernel.layout;
    if let Some(t) = layout.ep_dispatcher_type {
        if t.read(&kernel.space, eprocess)? != DISPATCHER_PROCESS {
            return None;
        }
    }
    let pid = layout.ep_pid.read(&kernel.space, eprocess)?;
    plausible_pid(pid).then_some(pid)
}

fn exact_profile(kernel: &Kernel) -> bool {
    matches!(
        kernel.match_kind,
        MatchKind::ExactPdb | MatchKind::UserIsf | MatchKind::UserPdb
    )
}

/// The address of PspCidTable's `_HANDLE_TABLE`: through `_KDDEBUGGER_DATA64.PspCidTable`
/// (the block named by the crash-dump header, ntoskrnl's export, or the exact profile's
/// symbol; it must carry the `KDBG` tag and this kernel's base), else through the exact
/// profile's `PspCidTable` symbol. Windows 8 and later keep the block encoded in a live
/// system (`KdpDataBlockEncoded`); crash dumps hold it decoded.
pub fn cid_table_address(kernel: &Kernel) -> Result<u64, ViewUnavailable> {
    let space = &kernel.space;
    let exact = exact_profile(kernel);
    let mut blocks = Vec::new();
    if let Some(h) = &kernel.memory.metadata().crash_dump {
        blocks.push(h.kd_debugger_data_block);
    }
    if let Some(rva) = kernel.image.export_rva("KdDebuggerDataBlock") {
        blocks.push(kernel.base + rva);
    }
    if exact {
        if let Some(rva) = kernel.profile.symbol("KdDebuggerDataBlock") {
            blocks.push(kernel.base + rva);
        }
    }
    let table_at = |var: u64| {
        space
            .read_ptr(var)
            .ok()
            .filter(|t| is_kernel_address(*t) && t & 7 == 0)
    };
    for kdbg in blocks.into_iter().filter(|v| is_kernel_address(*v)) {
        let mut tag = [0u8; 4];
        let tagged = space.read_exact(kdbg + KDBG_OWNER_TAG, &mut tag).is_ok() && &tag == b"KDBG";
        if !tagged || space.read_ptr(kdbg + KDBG_KERN_BASE).ok() != Some(kernel.base) {
            continue;
        }
        if let Some(t) = space
            .read_ptr(kdbg + KDBG_PSP_CID_TABLE)
            .ok()
            .filter(|v| is_kernel_address(*v))
            .and_then(table_at)
        {
            return Ok(t);
        }
    }
    if exact {
        if let Some(t) = kernel
            .profile
            .symbol("PspCidTable")
            .and_then(|rva| table_at(kernel.base + rva))
        {
            return Ok(t);
        }
    }
    Err(ViewUnavailable::NoCidTable(if exact {
        "no decoded _KDDEBUGGER_DATA64 with PspCidTable, and the profile's PspCidTable symbol does not lead to a table".into()
    } else {
        "no decoded _KDDEBUGGER_DATA64 with PspCidTable, and the profile is not the kernel's exact one".into()
    }))
}

fn handle_layout(kernel: &Kernel) -> Result<HandleLayout, ViewUnavailable> {
    HandleLayout::new(&kernel.profile).map_err(|e| ViewUnavailable::NoHandleLayout(e.to_string()))
}

/// Read PspCidTable: its entries point at object bodies; processes must carry the pid of
/// their entry, threads are kept for [`thread_owners`].
pub fn read_cid_table(kernel: &Kernel, types: &TypeCheck) -> Result<CidTable, ViewUnavailable> {
    let layout = handle_layout(kernel)?;
    let table = cid_table_address(kernel)?;
    let walk = walk_handle_table(&kernel.space, &layout, table, "PspCidTable")
        .map_err(ViewUnavailable::Unreadable)?;
    let mut out = CidTable {
        table,
        warnings: walk.warnings,
        ..CidTable::default()
    };
    for e in walk.entries {
        match object_kind(kernel, types, e.object) {
            Some(ObjectKind::Process) => match looks_like_process(kernel, e.object) {
                Some(pid) if pid == e.handle => {
                    if !out.processes.contains(&e.object) {
                        out.processes.push(e.object)
                    }
                }
                _ => out.warnings.push(format!(
                    "PspCidTable: entry {:#x} points at {:#x}, which does not read as the process with that id; skipped",
                    e.handle, e.object
                )),
            },
            Some(ObjectKind::Thread) => {
                if !out.threads.contains(&e.object) {
                    out.threads.push(e.object)
                }
            }
            Some(ObjectKind::Other) | None => out.warnings.push(format!(
                "PspCidTable: entry {:#x} points at {:#x}, neither a process nor a thread; skipped",
                e.handle, e.object
            )),
        }
    }
    Ok(out)
}

/// The processes `csrss.exe` holds handles to. Every `csrss.exe` on the active list is read
/// (one per session); its handle table entries point at object headers.
pub fn csrss_handles(
    kernel: &Kernel,
    types: &TypeCheck,
    listed: &[Process],
) -> Result<ViewRead, ViewUnavailable> {
    let layout = handle_layout(kernel)?;
    let object_table = kernel
        .layout
        .ep_object_table
        .ok_or(ViewUnavailable::NoObjectTable)?;
    let csrss: Vec<&Process> = listed
        .iter()
        .filter(|p| p.name.eq_ignore_ascii_case("csrss.exe") && p.eprocess != 0 && !p.exited())
        .collect();
    if csrss.is_empty() {
        return Err(ViewUnavailable::NoCsrss);
    }
    let mut out = ViewRead::default();
    let mut errors = Vec::new();
    let count = csrss.len();
    for c in csrss {
        let what = format!("csrss.exe (pid {}) handle table", c.pid);
        let Some(table) = object_table
            .read(&kernel.space, c.eprocess)
            .filter(|t| is_kernel_address(*t))
        else {
            errors.push(format!("{what}: _EPROCESS.ObjectTable unreadable"));
            continue;
        };
        let walk = match walk_handle_table(&kernel.space, &layout, table, &what) {
            Ok(w) => w,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        out.warnings.extend(walk.warnings);
        for e in walk.entries {
            let body = e.object + kernel.layout.oh_body;
            if object_kind(kernel, types, body) != Some(ObjectKind::Process) {
                continue;
            }
            if looks_like_process(kernel, body).is_none() {
                out.warnings.push(format!(
                    "{what}: handle {:#x} names a process object at {body:#x} that does not read as a process; skipped",
                    e.handle
                ));
                continue;
            }
            if !out.processes.contains(&body) {
                out.processes.push(body);
            }
        }
    }
    // One csrss.exe per session: the view stands if any of their tables could be walked.
    if errors.len() == count {
        return Err(ViewUnavailable::Unreadable(errors.join("; ")));
    }
    out.warnings.extend(errors);
    Ok(out)
}

/// `_KTHREAD.Process` (Windows 8.1 and later) or `_KTHREAD.ApcState.Process` (Windows 7) in
/// the `_ETHREAD`.
fn thread_process(kernel: &Kernel) -> Option<Loc> {
    let p = &kernel.profile;
    ["Tcb.Process", "Tcb.ApcState.Process"]
        .iter()
        .find_map(|path| p.field("_ETHREAD", path).ok().map(Loc::from))
}

/// The processes that own `threads` (`_ETHREAD` addresses, e.g. PspCidTable's).
pub fn thread_owners(kernel: &Kernel, threads: &[u64]) -> Result<ViewRead, ViewUnavailable> {
    let owner = thread_process(kernel).ok_or(ViewUnavailable::NoThreadProcess)?;
    let mut out = ViewRead::default();
    for &et in threads {
        match owner
            .read(&kernel.space, et)
            .filter(|ep| is_kernel_address(*ep))
        {
            Some(ep) if looks_like_process(kernel, ep).is_some() => {
                if !out.processes.contains(&ep) {
                    out.processes.push(ep);
                }
            }
            _ => out.warnings.push(format!(
                "thread {et:#x}: its owning process does not read as a process; skipped"
            )),
        }
    }
    Ok(out)
}
