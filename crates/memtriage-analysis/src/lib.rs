//! Analysis layer of memtriage: the [`Session`], the [`Plugin`] trait and its [`registry`],
//! and the detectors that turn what the Windows layer reads into findings.
//!
//! A plugin takes a session (the opened capture, its kernel, its profile, and lazily computed
//! shared results such as the process list and every process's regions) and returns a
//! [`PluginOutput`]: a typed table plus findings. Plugins never print; the CLI (or any
//! downstream crate) renders the output with the writers of `memtriage-report`.
#![forbid(unsafe_code)]

pub mod crossview;
pub mod detect;
pub mod drivers;
pub mod plugins;
pub mod regions;
pub mod report;
pub mod rules;
mod session;

pub use plugins::registry;
pub use session::{ProcessDetail, Session, SessionOptions};

use memtriage_report::{Column, Finding, Table};

/// Errors that stop a plugin (or the session) as a whole.
#[derive(Debug, thiserror::Error)]
pub enum AnalysisError {
    /// The capture could not be opened.
    #[error(transparent)]
    Open(#[from] memtriage_dump::OpenError),
    /// Kernel discovery failed (the message says what was tried).
    #[error("{path}: {message}")]
    Kernel {
        /// The capture.
        path: String,
        /// What went wrong.
        message: String,
    },
    /// A plugin-specific failure.
    #[error("{0}")]
    Plugin(String),
}

/// Options every plugin understands.
#[derive(Debug, Clone, Default)]
pub struct PluginOptions {
    /// Only these process ids (empty = all).
    pub pids: Vec<u64>,
    /// Show WoW64 (32-bit) views where a plugin has them.
    pub wow64: bool,
    /// Show scanned views where a plugin has them (`modules --scan`).
    pub scan: bool,
}

impl PluginOptions {
    /// Whether the process with `pid` passes the `--pid` filter.
    pub fn wants(&self, pid: u64) -> bool {
        self.pids.is_empty() || self.pids.contains(&pid)
    }
}

/// What a plugin returns.
#[derive(Debug, Clone)]
pub struct PluginOutput {
    /// The rows.
    pub table: Table,
    /// Findings raised by the plugin's detectors.
    pub findings: Vec<Finding>,
    /// Problems met (partial results).
    pub warnings: Vec<String>,
}

impl PluginOutput {
    /// A table with no findings or warnings.
    pub fn table(table: Table) -> Self {
        PluginOutput {
            table,
            findings: Vec::new(),
            warnings: Vec::new(),
        }
    }

    /// A table with the warnings met while computing it, and no findings.
    pub fn with_warnings(table: Table, warnings: Vec<String>) -> Self {
        PluginOutput {
            table,
            findings: Vec::new(),
            warnings,
        }
    }
}

/// The shared results a plugin needs beyond the kernel, so that a front end can prepare for
/// them (show progress for a full pool scan, say what `--fast` would skip).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Needs {
    /// A scan of all physical memory for pool blocks (psscan, and every plugin that also
    /// looks at hidden processes).
    pub pool_scan: bool,
}

/// A plugin: one subcommand of the CLI.
pub trait Plugin: Send + Sync {
    /// Subcommand name (`pslist`).
    fn name(&self) -> &'static str;
    /// One-line description for `--help`.
    fn about(&self) -> &'static str;
    /// The columns of its table, in order, with kinds and one-line docs.
    fn columns(&self) -> Vec<Column>;
    /// What it needs computed (default: nothing beyond the kernel and the process list).
    fn needs(&self) -> Needs {
        Needs::default()
    }
    /// Run on a session.
    fn run(
        &self,
        session: &Session,
        options: &PluginOptions,
    ) -> Result<PluginOutput, AnalysisError>;
}
