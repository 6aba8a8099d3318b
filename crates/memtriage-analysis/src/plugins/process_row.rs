//! The process columns shared by `pslist`, `psscan` and `pstree`.

use memtriage_report::{FileTime, Hex};
use memtriage_windows::process::Process;

memtriage_report::row! {
    /// One process.
    pub struct ProcessRow {
        /// Process id.
        pub pid: u64,
        /// Parent process id (InheritedFromUniqueProcessId).
        pub ppid: u64,
        /// Image file name from _EPROCESS (15 characters at most; odd bytes escaped).
        pub name: String,
        /// Virtual address of the _EPROCESS.
        pub offset: Hex,
        /// Active threads, where the build keeps the count.
        pub threads: Option<u64>,
        /// Open handles, where the build keeps the count.
        pub handles: Option<u64>,
        /// Session id.
        pub session_id: Option<u64>,
        /// Whether it is a 32-bit process on 64-bit Windows.
        pub wow64: bool,
        /// Creation time (UTC).
        pub create_time: FileTime,
        /// Exit time (UTC), for exited processes.
        pub exit_time: FileTime,
        /// Full image path from SeAuditProcessCreationInfo.
        pub image_path: Option<String>,
        /// Directory table base (kernel CR3).
        pub dtb: Hex,
        /// Address of the PEB.
        pub peb: Hex,
    }
}

impl From<&Process> for ProcessRow {
    fn from(p: &Process) -> Self {
        ProcessRow {
            pid: p.pid,
            ppid: p.ppid,
            name: p.name.clone(),
            offset: Hex(p.eprocess),
            threads: p.active_threads.map(u64::from),
            handles: p.handle_count.map(u64::from),
            session_id: p.session_id.map(u64::from),
            wow64: p.wow64(),
            create_time: FileTime(p.create_time),
            exit_time: FileTime(p.exit_time),
            image_path: p.image_path.clone(),
            dtb: Hex(p.dtb),
            peb: Hex(p.peb),
        }
    }
}
