//! `hidden_process`: a live process that the active list does not hold, found by the pool scan
//! or by one of the cheap views of the [`CrossView`].

use super::Detector;
use crate::crossview::CrossView;
use crate::rules::{Rule, HIDDEN_PROCESS};
use crate::{AnalysisError, Session};
use memtriage_report::{Finding, ProcessView, Severity};
use memtriage_windows::process::Process;

fn names(views: &[ProcessView]) -> Vec<&'static str> {
    views.iter().map(|v| v.name()).collect()
}

/// The `hidden_process` finding for one process; its evidence lists the views that saw it
/// (`views_seen`) and the views that were read and did not (`views_missing`).
pub fn hidden_process_finding(p: &Process, cross: &CrossView) -> Finding {
    let seen = cross.views_of(p);
    let missing = cross.views_missing(p);
    let found_in = if seen.contains(&ProcessView::Pool) {
        "pool memory".to_string()
    } else {
        names(&seen).join(", ")
    };
    let mut f = HIDDEN_PROCESS
        .finding(
            Severity::High,
            format!(
                "process {} (pid {}) is in {found_in} but not on the active process list",
                p.name, p.pid
            ),
        )
        .with_process(p.pid, p.name.clone())
        .with_evidence(
            "offset_physical",
            format!("{:#x}", p.eprocess_pa.unwrap_or(0)),
        )
        .with_evidence("views_seen", names(&seen))
        .with_evidence("views_missing", names(&missing));
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
        let cross = session.cross_view()?;
        Ok(session
            .unlisted()?
            .iter()
            .filter(|d| d.hidden)
            .map(|d| hidden_process_finding(&d.process, cross))
            .collect())
    }
}
