//! `envars`: each process's environment block.

use super::selected;
use crate::{AnalysisError, Plugin, PluginOptions, PluginOutput, Session};
use memtriage_report::{Column, Row, Table};

memtriage_report::row! {
    /// One environment variable of one process.
    pub struct EnvRow {
        /// Process id.
        pub pid: u64,
        /// Process name.
        pub process: String,
        /// Variable name.
        pub variable: String,
        /// Its value.
        pub value: String,
    }
}

/// `envars`.
pub struct EnVars;

impl Plugin for EnVars {
    fn name(&self) -> &'static str {
        "envars"
    }
    fn about(&self) -> &'static str {
        "Show each process's environment variables (PEB)"
    }
    fn columns(&self) -> Vec<Column> {
        EnvRow::columns()
    }
    fn run(
        &self,
        session: &Session,
        options: &PluginOptions,
    ) -> Result<PluginOutput, AnalysisError> {
        let mut t = Table::of::<EnvRow>("envars");
        for d in selected(session, options, false)? {
            let Some(peb) = &d.peb else { continue };
            for (k, v) in &peb.environment {
                t.push_row(EnvRow {
                    pid: d.process.pid,
                    process: d.process.name.clone(),
                    variable: k.clone(),
                    value: v.clone(),
                });
            }
        }
        Ok(PluginOutput::table(t))
    }
}
