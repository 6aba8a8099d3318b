//! `threads`: every thread of every process.

use super::selected;
use crate::detect::{thread_origin, StartedIn};
use crate::{AnalysisError, Plugin, PluginOptions, PluginOutput, Session};
use memtriage_report::{Column, FileTime, Hex, Row, Table};

memtriage_report::row! {
    /// One thread.
    pub struct ThreadRow {
        /// Process id.
        pub pid: u64,
        /// Process name.
        pub process: String,
        /// Thread id.
        pub tid: u64,
        /// Virtual address of the _ETHREAD.
        pub ethread: Hex,
        /// Win32StartAddress, else StartAddress.
        pub start_address: Hex,
        /// Where the thread started: the module name, the region type (private, mapped), no region, kernel, invalid or unknown.
        pub started_in: String,
        /// Address of the TEB.
        pub teb: Hex,
        /// Creation time (UTC).
        pub create_time: FileTime,
        /// TEB NtTib.StackBase (64-bit stack).
        pub stack_base: Option<Hex>,
        /// TEB NtTib.StackLimit (64-bit stack).
        pub stack_limit: Option<Hex>,
        /// TEB32 stack base (WoW64 threads).
        pub stack32_base: Option<Hex>,
        /// TEB32 stack limit (WoW64 threads).
        pub stack32_limit: Option<Hex>,
    }
}

/// `threads`.
pub struct Threads;

impl Plugin for Threads {
    fn name(&self) -> &'static str {
        "threads"
    }
    fn about(&self) -> &'static str {
        "List threads: id, start address and where it lies, TEB, create time, stack range"
    }
    fn columns(&self) -> Vec<Column> {
        ThreadRow::columns()
    }
    fn run(
        &self,
        session: &Session,
        options: &PluginOptions,
    ) -> Result<PluginOutput, AnalysisError> {
        let mut t = Table::of::<ThreadRow>("threads");
        for d in selected(session, options, false)? {
            for th in &d.threads {
                t.push_row(ThreadRow {
                    pid: d.process.pid,
                    process: d.process.name.clone(),
                    tid: th.tid,
                    ethread: Hex(th.ethread),
                    start_address: Hex(th.start_address),
                    started_in: StartedIn::of(d, thread_origin(d, th.start_address)).to_string(),
                    teb: Hex(th.teb),
                    create_time: FileTime(th.create_time),
                    stack_base: th.stack_base.map(Hex),
                    stack_limit: th.stack_limit.map(Hex),
                    stack32_base: th.stack32.map(|s| Hex(s.0)),
                    stack32_limit: th.stack32.map(|s| Hex(s.1)),
                });
            }
        }
        Ok(PluginOutput::table(t))
    }
}
