//! `ldrmodules`: every image mapping and its presence on each loader list.

use super::selected;
use crate::detect::{image_list_membership, Detector, ProcessContext, UnlinkedModules};
use crate::{AnalysisError, Needs, Plugin, PluginOptions, PluginOutput, Session};
use memtriage_report::{Column, Hex, Row, Table};

memtriage_report::row! {
    /// One image mapping.
    pub struct LdrModuleRow {
        /// Process id.
        pub pid: u64,
        /// Process name.
        pub process: String,
        /// Start of the image VAD.
        pub base: Hex,
        /// An InLoadOrder entry has this base.
        pub in_load: bool,
        /// An InInitializationOrder entry has this base.
        pub in_init: bool,
        /// An InMemoryOrder entry has this base.
        pub in_mem: bool,
        /// The file the VAD maps.
        pub mapped_path: Option<String>,
    }
}

/// `ldrmodules`.
pub struct LdrModules;

impl Plugin for LdrModules {
    fn name(&self) -> &'static str {
        "ldrmodules"
    }
    fn about(&self) -> &'static str {
        "Show every image mapping and whether each PEB loader list has it (finds unlinked DLLs)"
    }
    fn needs(&self) -> Needs {
        Needs { pool_scan: true }
    }
    fn columns(&self) -> Vec<Column> {
        LdrModuleRow::columns()
    }
    fn run(
        &self,
        session: &Session,
        options: &PluginOptions,
    ) -> Result<PluginOutput, AnalysisError> {
        let k = session.kernel()?;
        let mut t = Table::of::<LdrModuleRow>("ldrmodules");
        let mut findings = Vec::new();
        for d in selected(session, options, true)? {
            for (r, lists) in image_list_membership(d) {
                t.push_row(LdrModuleRow {
                    pid: d.process.pid,
                    process: d.process.name.clone(),
                    base: Hex(r.vad.start),
                    in_load: lists.in_load,
                    in_init: lists.in_init,
                    in_mem: lists.in_mem,
                    mapped_path: r.vad.file.clone(),
                });
            }
            let space = session.process_space(k, &d.process);
            let cx = ProcessContext {
                detail: d,
                space: &space,
            };
            findings.extend(UnlinkedModules.process(&cx));
        }
        Ok(PluginOutput {
            table: t,
            findings,
            warnings: Vec::new(),
        })
    }
}
