//! `psscan`: processes found by scanning physical memory for `Proc` pool blocks.

use super::ProcessRow;
use crate::detect::hidden_process_finding;
use crate::{AnalysisError, Needs, Plugin, PluginOptions, PluginOutput, Session};
use memtriage_report::{Cell, CellValue, Column, ColumnKind, Hex, Row, Table};
use std::collections::HashSet;

/// Where a scanned process stands relative to the active list.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScanStatus {
    /// On the active list.
    InList,
    /// Exited (has an exit time) and not on the list.
    Exited,
    /// Live, yet absent from the active list.
    Hidden,
}

impl ScanStatus {
    /// The word shown in the `status` column.
    pub const fn name(self) -> &'static str {
        match self {
            ScanStatus::InList => "in-list",
            ScanStatus::Exited => "exited",
            ScanStatus::Hidden => "hidden",
        }
    }
}

impl CellValue for ScanStatus {
    const KIND: ColumnKind = ColumnKind::Text;
    fn into_cell(self) -> Cell {
        Cell::Text(self.name().to_owned())
    }
}

memtriage_report::row! {
    /// Where the pool scan found a process, before its process columns.
    pub struct ScanStatusRow {
        /// Physical address of the _EPROCESS found by the scan.
        pub offset_physical: Hex,
        /// in-list, hidden or exited.
        pub status: ScanStatus,
    }
}

/// `psscan`.
pub struct PsScan;

impl Plugin for PsScan {
    fn name(&self) -> &'static str {
        "psscan"
    }
    fn about(&self) -> &'static str {
        "Scan physical memory for process objects; mark each in-list, hidden or exited"
    }
    fn needs(&self) -> Needs {
        Needs { pool_scan: true }
    }
    fn columns(&self) -> Vec<Column> {
        <(ScanStatusRow, ProcessRow)>::columns()
    }
    fn run(
        &self,
        session: &Session,
        options: &PluginOptions,
    ) -> Result<PluginOutput, AnalysisError> {
        let listed: HashSet<u64> = session
            .processes()?
            .processes
            .iter()
            .filter_map(|p| p.eprocess_pa)
            .collect();
        let mut t = Table::of::<(ScanStatusRow, ProcessRow)>("psscan");
        let mut findings = Vec::new();
        let cross = session.cross_view()?;
        for s in session.scanned()? {
            let p = &s.process;
            if !options.wants(p.pid) {
                continue;
            }
            let pa = p.eprocess_pa.unwrap_or(0);
            let status = if listed.contains(&pa) {
                ScanStatus::InList
            } else if p.exited() {
                ScanStatus::Exited
            } else {
                findings.push(hidden_process_finding(p, cross));
                ScanStatus::Hidden
            };
            let scan = ScanStatusRow {
                offset_physical: Hex(pa),
                status,
            };
            t.push_row((scan, ProcessRow::from(p)));
        }
        Ok(PluginOutput {
            table: t,
            findings,
            warnings: Vec::new(),
        })
    }
}
