//! `pstree`: the process tree (parent → children) of the active list.

use super::ProcessRow;
use crate::{AnalysisError, Plugin, PluginOptions, PluginOutput, Session};
use memtriage_report::{tree_order, Column, Row, Table};
use memtriage_windows::process::Process;

/// `pstree`.
pub struct PsTree;

impl Plugin for PsTree {
    fn name(&self) -> &'static str {
        "pstree"
    }
    fn about(&self) -> &'static str {
        "Show the process tree (indented table, nested children in JSON)"
    }
    fn columns(&self) -> Vec<Column> {
        ProcessRow::columns()
    }
    fn run(
        &self,
        session: &Session,
        options: &PluginOptions,
    ) -> Result<PluginOutput, AnalysisError> {
        let list = session.processes()?;
        let procs: Vec<&Process> = list
            .processes
            .iter()
            .filter(|p| options.wants(p.pid))
            .collect();
        let nodes: Vec<(u64, u64)> = procs.iter().map(|p| (p.pid, p.ppid)).collect();
        let mut t = Table::of::<ProcessRow>("pstree");
        for (i, depth) in tree_order(&nodes) {
            if let Some(p) = procs.get(i) {
                t.push_row_at_depth(depth, ProcessRow::from(*p));
            }
        }
        let warnings = list.warnings.iter().map(ToString::to_string).collect();
        Ok(PluginOutput::with_warnings(t, warnings))
    }
}
