//! `pslist`: the active process list (ActiveProcessLinks).

use super::ProcessRow;
use crate::{AnalysisError, Plugin, PluginOptions, PluginOutput, Session};
use memtriage_report::{Column, Row, Table};

/// `pslist`.
pub struct PsList;

impl Plugin for PsList {
    fn name(&self) -> &'static str {
        "pslist"
    }
    fn about(&self) -> &'static str {
        "List processes on the active process list (ActiveProcessLinks)"
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
        let mut t = Table::of::<ProcessRow>("pslist");
        for p in list.processes.iter().filter(|p| options.wants(p.pid)) {
            t.push_row(ProcessRow::from(p));
        }
        let warnings = list.warnings.iter().map(ToString::to_string).collect();
        Ok(PluginOutput::with_warnings(t, warnings))
    }
}
