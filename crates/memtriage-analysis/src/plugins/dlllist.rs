//! `dlllist`: loader entries in InLoadOrder (all entries, with list membership).

use super::selected;
use crate::{AnalysisError, Plugin, PluginOptions, PluginOutput, Session};
use memtriage_report::{Column, FileTime, Hex, Row, Table};

memtriage_report::row! {
    /// One loader entry.
    pub struct DllRow {
        /// Process id.
        pub pid: u64,
        /// Process name.
        pub process: String,
        /// DllBase.
        pub base: Hex,
        /// SizeOfImage.
        pub size: Hex,
        /// EntryPoint.
        pub entry_point: Hex,
        /// BaseDllName.
        pub name: String,
        /// FullDllName.
        pub path: String,
        /// LoadCount / ObsoleteLoadCount, where the build keeps it.
        pub load_count: Option<u64>,
        /// LoadTime (UTC), where the build keeps it.
        pub load_time: Option<FileTime>,
        /// On InLoadOrderModuleList.
        pub in_load: bool,
        /// On InMemoryOrderModuleList.
        pub in_mem: bool,
        /// On InInitializationOrderModuleList.
        pub in_init: bool,
    }
}

/// `dlllist`.
pub struct DllList;

impl Plugin for DllList {
    fn name(&self) -> &'static str {
        "dlllist"
    }
    fn about(&self) -> &'static str {
        "List each process's DLLs from the PEB loader lists (InLoadOrder first)"
    }
    fn columns(&self) -> Vec<Column> {
        DllRow::columns()
    }
    fn run(
        &self,
        session: &Session,
        options: &PluginOptions,
    ) -> Result<PluginOutput, AnalysisError> {
        let mut t = Table::of::<DllRow>("dlllist");
        if options.wow64 {
            t.title = "dlllist (WoW64 32-bit loader lists)".into();
        }
        for d in selected(session, options, false)? {
            let peb = if options.wow64 { &d.peb32 } else { &d.peb };
            let Some(peb) = peb else { continue };
            for m in &peb.modules {
                t.push_row(DllRow {
                    pid: d.process.pid,
                    process: d.process.name.clone(),
                    base: Hex(m.base),
                    size: Hex(m.size),
                    entry_point: Hex(m.entry_point),
                    name: m.name.clone(),
                    path: m.path.clone(),
                    load_count: m.load_count,
                    load_time: m.load_time.map(FileTime),
                    in_load: m.in_load,
                    in_mem: m.in_mem,
                    in_init: m.in_init,
                });
            }
        }
        Ok(PluginOutput::table(t))
    }
}
