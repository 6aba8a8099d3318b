//! `cmdline`: each process's command line and image path from its PEB.

use super::selected;
use crate::{AnalysisError, Plugin, PluginOptions, PluginOutput, Session};
use memtriage_report::{Column, Row, Table};

memtriage_report::row! {
    /// One process's PEB strings.
    pub struct CmdLineRow {
        /// Process id.
        pub pid: u64,
        /// Process name.
        pub process: String,
        /// ProcessParameters.CommandLine.
        pub command_line: Option<String>,
        /// ProcessParameters.ImagePathName.
        pub image_path: Option<String>,
        /// ProcessParameters.CurrentDirectory.DosPath.
        pub current_directory: Option<String>,
    }
}

/// `cmdline`.
pub struct CmdLine;

impl Plugin for CmdLine {
    fn name(&self) -> &'static str {
        "cmdline"
    }
    fn about(&self) -> &'static str {
        "Show each process's command line, image path and current directory (PEB)"
    }
    fn columns(&self) -> Vec<Column> {
        CmdLineRow::columns()
    }
    fn run(
        &self,
        session: &Session,
        options: &PluginOptions,
    ) -> Result<PluginOutput, AnalysisError> {
        let mut t = Table::of::<CmdLineRow>("cmdline");
        for d in selected(session, options, false)? {
            let peb = d.peb.as_ref();
            t.push_row(CmdLineRow {
                pid: d.process.pid,
                process: d.process.name.clone(),
                command_line: peb.and_then(|p| p.command_line.clone()),
                image_path: peb.and_then(|p| p.image_path.clone()),
                current_directory: peb.and_then(|p| p.current_directory.clone()),
            });
        }
        Ok(PluginOutput::table(t))
    }
}
