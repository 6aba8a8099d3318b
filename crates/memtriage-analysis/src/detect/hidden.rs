//! `hidden_process`: a live process the pool scan found that the active list does not hold.

use super::Detector;
use crate::rules::{Rule, HIDDEN_PROCESS};
use crate::{AnalysisError, Session};
use memtriage_report::{Finding, Severity};
use memtriage_windows::process::Process;

/// The `hidden_process` finding for one process.
pub fn hidden_process_finding(p: &Process) -> Finding {
    let mut f = HIDDEN_PROCESS
        .finding(
            Severity::High,
            format!(
                "process {} (pid {}) is in pool memory but not on the active process list",
                p.name, p.pid
            ),
        )
        .with_process(p.pid, p.name.clone())
        .with_evidence(
            "offset_physical",
            format!("{:#x}", p.eprocess_pa.unwrap_or(0)),
        );
    if p.eprocess != 0 {
        f = f.with_address(p.eprocess);
    }
    f
}

/// The detector.
pub struct HiddenProcesses;

impl Detector for HiddenProcesses {
    fn rules(&self) -> &'static [&'static Rule] {
        &[&HIDDEN_PROCESS]
    }
    fn session(&self, session: &Session) -> Result<Vec<Finding>, AnalysisError> {
        Ok(session
            .unlisted()?
            .iter()
            .filter(|d| d.hidden)
            .map(|d| hidden_process_finding(&d.process))
            .collect())
    }
}
