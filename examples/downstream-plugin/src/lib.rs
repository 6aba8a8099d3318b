//! A downstream plugin: `orphans` lists processes whose parent is not (or no longer) running,
//! and raises an `info` finding for each one that is not a well-known orphan.
//!
//! It shows the whole extension surface: declare a typed row with `memtriage_report::row!`,
//! implement [`Plugin`], read the shared results of a [`Session`] (computed once, whoever asks
//! first), return a [`Table`] plus findings, and let the memtriage writers render them in any
//! output format.
#![forbid(unsafe_code)]

use memtriage_analysis::{AnalysisError, Plugin, PluginOptions, PluginOutput, Session};
use memtriage_report::{Column, Finding, Row, Severity, Table};
use std::collections::HashSet;

/// Processes Windows starts from a parent that exits at once (their orphanhood is normal).
const EXPECTED_ORPHANS: &[&str] = &[
    "System",
    "csrss.exe",
    "wininit.exe",
    "winlogon.exe",
    "explorer.exe",
];

memtriage_report::row! {
    /// One process whose parent is gone.
    pub struct OrphanRow {
        /// Process id.
        pub pid: u64,
        /// Process name.
        pub name: String,
        /// The parent process id that is not running.
        pub ppid: u64,
        /// Whether Windows normally leaves this process without a parent.
        pub expected: bool,
    }
}

/// The `orphans` plugin.
pub struct Orphans;

impl Plugin for Orphans {
    fn name(&self) -> &'static str {
        "orphans"
    }

    fn about(&self) -> &'static str {
        "List processes whose parent is not on the active process list"
    }

    fn columns(&self) -> Vec<Column> {
        OrphanRow::columns()
    }

    fn run(
        &self,
        session: &Session,
        options: &PluginOptions,
    ) -> Result<PluginOutput, AnalysisError> {
        let list = session.processes()?;
        let alive: HashSet<u64> = list.processes.iter().map(|p| p.pid).collect();
        let mut table = Table::of::<OrphanRow>("orphans");
        let mut findings = Vec::new();
        for p in list.processes.iter().filter(|p| options.wants(p.pid)) {
            if alive.contains(&p.ppid) {
                continue;
            }
            let expected = EXPECTED_ORPHANS
                .iter()
                .any(|n| n.eq_ignore_ascii_case(&p.name));
            table.push_row(OrphanRow {
                pid: p.pid,
                name: p.name.clone(),
                ppid: p.ppid,
                expected,
            });
            if !expected {
                findings.push(
                    Finding::new(
                        "example_orphan",
                        Severity::Info,
                        format!("{} (pid {}) has no living parent {}", p.name, p.pid, p.ppid),
                    )
                    .with_process(p.pid, p.name.clone())
                    .with_address(p.eprocess),
                );
            }
        }
        Ok(PluginOutput {
            table,
            findings,
            warnings: Vec::new(),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use memtriage_analysis::SessionOptions;
    use std::path::Path;

    #[test]
    fn finds_the_orphans_of_the_committed_sample() {
        let sample =
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fixtures/samples/win10-19041.dmp");
        let session = Session::open(&sample, SessionOptions::default()).expect("sample opens");
        let out = Orphans
            .run(&session, &PluginOptions::default())
            .expect("plugin runs");
        let rows: Vec<String> = out
            .table
            .rows
            .iter()
            .map(|r| format!("{:?}", r[1]))
            .collect();
        // Ground truth (fixtures/samples/win10-19041.truth.json): System (ppid 0), csrss and
        // wininit (their smss parent exited), explorer (its userinit parent exited).
        assert_eq!(
            rows,
            vec![
                r#"Text("System")"#,
                r#"Text("csrss.exe")"#,
                r#"Text("wininit.exe")"#,
                r#"Text("explorer.exe")"#
            ]
        );
        assert!(out.findings.is_empty());
        // The shared process list was computed once and is reused by built-in plugins.
        let pslist = memtriage_analysis::registry()
            .into_iter()
            .find(|p| p.name() == "pslist")
            .expect("pslist");
        let all = pslist
            .run(&session, &PluginOptions::default())
            .expect("pslist runs");
        assert_eq!(
            all.table.rows.len(),
            session.processes().expect("list").processes.len()
        );
    }
}
