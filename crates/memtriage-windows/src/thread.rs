//! Threads: each process's `_ETHREAD` list and the TEB's stack range.

use crate::layout::Layout;
use crate::list::walk_both_ways;
use crate::process::Process;
use crate::{is_kernel_address, is_user_address, MAX_LIST_ENTRIES};
use memtriage_paging::AddressSpace;
use serde::Serialize;

/// One thread.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Thread {
    /// Virtual address of the `_ETHREAD`.
    pub ethread: u64,
    /// Cid.UniqueThread.
    pub tid: u64,
    /// Cid.UniqueProcess.
    pub pid: u64,
    /// Where the thread started: Win32StartAddress, else StartAddress (0 when neither is
    /// known or both are zero).
    pub start_address: u64,
    /// `_ETHREAD.Win32StartAddress` as read (`None` when the profile lacks it or it is
    /// unreadable).
    pub win32_start_address: Option<u64>,
    /// `_ETHREAD.StartAddress` as read (`None` when the profile lacks it or it is unreadable).
    pub raw_start_address: Option<u64>,
    /// Tcb.Teb (user VA).
    pub teb: u64,
    /// CreateTime (FILETIME).
    pub create_time: u64,
    /// NT_TIB.StackBase from the TEB (64-bit).
    pub stack_base: Option<u64>,
    /// NT_TIB.StackLimit from the TEB (64-bit).
    pub stack_limit: Option<u64>,
    /// 32-bit TEB stack base/limit for WoW64 threads (TEB32 follows the 64-bit TEB at +0x2000).
    pub stack32: Option<(u64, u64)>,
}

/// Threads of a process, with warnings for a list that breaks off.
pub fn threads(
    kspace: &AddressSpace,
    pspace: &AddressSpace,
    layout: &Layout,
    process: &Process,
) -> (Vec<Thread>, Vec<String>) {
    let mut out = Vec::new();
    let mut warnings = Vec::new();
    // Without _ETHREAD offsets the layout says so once (`Layout::missing`).
    let Some(tl) = &layout.thread else {
        return (out, warnings);
    };
    if process.eprocess == 0 {
        return (out, warnings);
    }
    let head = process.eprocess.wrapping_add(layout.ep_thread_list_head);
    let links = |va: u64| {
        kspace
            .read_list_entry(va)
            .ok()
            .map(|le| (le.flink, le.blink))
    };
    let walk = walk_both_ways(
        head,
        links,
        |va| is_kernel_address(va) && va >= tl.et_list_entry,
        MAX_LIST_ENTRIES,
    );
    if walk.links.is_empty() && links(head).is_none() {
        warnings.push(format!(
            "pid {}: thread list head {head:#x} unreadable",
            process.pid
        ));
        return (out, warnings);
    }
    for m in walk.messages("thread list") {
        warnings.push(format!("pid {}: {m}", process.pid));
    }
    for link in walk.links {
        let et = link - tl.et_list_entry;
        let rd = |l: &crate::layout::Loc| l.read(kspace, et);
        let (Some(tid), Some(pid), Some(teb)) = (rd(&tl.et_tid), rd(&tl.et_pid), rd(&tl.et_teb))
        else {
            warnings.push(format!("pid {}: _ETHREAD {et:#x} unreadable", process.pid));
            continue;
        };
        let win32_start_address = tl.et_win32_start.and_then(|l| rd(&l));
        let raw_start_address = tl.et_start.and_then(|l| rd(&l));
        let start_address = win32_start_address
            .filter(|v| *v != 0)
            .or(raw_start_address)
            .unwrap_or(0);
        let create_time = tl.et_create_time.and_then(|l| rd(&l)).unwrap_or(0);
        let (stack_base, stack_limit) = if is_user_address(teb) {
            (
                pspace.read_u64(teb + 8).ok(),
                pspace.read_u64(teb + 0x10).ok(),
            )
        } else {
            (None, None)
        };
        let stack32 = if process.wow64() && is_user_address(teb) {
            let t32 = teb + 0x2000;
            match (pspace.read_u32(t32 + 4), pspace.read_u32(t32 + 8)) {
                (Ok(b), Ok(l)) if b != 0 => Some((u64::from(b), u64::from(l))),
                _ => None,
            }
        } else {
            None
        };
        out.push(Thread {
            ethread: et,
            tid,
            pid,
            start_address,
            win32_start_address,
            raw_start_address,
            teb,
            create_time,
            stack_base,
            stack_limit,
            stack32,
        });
    }
    (out, warnings)
}
