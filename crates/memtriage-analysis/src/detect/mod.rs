//! Detectors: turn the shared results of a session into findings.
//!
//! Each detector family is one file; a detector names the [`Rule`]s it raises and looks at
//! one process at a time ([`Detector::process`]) or at the whole session
//! ([`Detector::session`]). Adding a rule means adding its constant in `rules.rs`, a file
//! here, and one line in [`detectors`]. Rule ids are a public contract (docs/rules.md).

mod bytes;
mod hidden;
mod image_identity;
mod lineage;
mod malfind;
mod module_path;
mod paths;
mod process_name;
mod thread_start;
mod unbacked;
mod unlinked;
mod unlinked_driver;

pub use bytes::starts_with_pe;
pub use hidden::{hidden_process_finding, HiddenProcesses};
pub use image_identity::ImageIdentity;
pub use lineage::{lineage_findings, Invariant, ProcessLineage};
pub use malfind::{malfind_hits, Malfind, MalfindHit, RwxEvidence};
pub use module_path::{LoaderView, ModulePathMismatch};
pub use paths::normalize_path;
pub use process_name::OddProcessName;
pub use thread_start::{region_at, thread_origin, StartedIn, ThreadOrigin};
pub use unbacked::UnbackedThreads;
pub use unlinked::{image_list_membership, ListMembership, UnlinkedModules};
pub use unlinked_driver::{unlinked_driver_finding, UnlinkedDrivers};

use crate::rules::Rule;
use crate::session::ProcessDetail;
use crate::{AnalysisError, Session};
use memtriage_paging::AddressSpace;
use memtriage_report::Finding;

/// What a per-process detector sees: the process's details and its address space.
#[derive(Debug, Clone, Copy)]
pub struct ProcessContext<'a> {
    /// Everything read for the process.
    pub detail: &'a ProcessDetail,
    /// Its user address space.
    pub space: &'a AddressSpace,
}

/// A detector family.
pub trait Detector: Send + Sync {
    /// The rules it can raise.
    fn rules(&self) -> &'static [&'static Rule];
    /// Findings in one process (listed or found only by the pool scan).
    fn process(&self, _cx: &ProcessContext) -> Vec<Finding> {
        Vec::new()
    }
    /// Findings about the session as a whole.
    fn session(&self, _session: &Session) -> Result<Vec<Finding>, AnalysisError> {
        Ok(Vec::new())
    }
}

/// Every built-in detector, in the order `report` runs them.
pub fn detectors() -> Vec<Box<dyn Detector>> {
    vec![
        Box::new(Malfind),
        Box::new(UnlinkedModules),
        Box::new(ImageIdentity),
        Box::new(HiddenProcesses),
        Box::new(OddProcessName),
        Box::new(UnbackedThreads),
        Box::new(ModulePathMismatch),
        Box::new(ProcessLineage),
        Box::new(UnlinkedDrivers),
    ]
}

/// Every rule of every built-in detector, in detector order, then the rules raised outside
/// them ([`crate::rules::EXTERNAL_RULES`]: `yara_match`).
pub fn rules() -> Vec<&'static Rule> {
    detectors()
        .iter()
        .flat_map(|d| d.rules().iter().copied())
        .chain(crate::rules::EXTERNAL_RULES.iter().copied())
        .collect()
}

/// All findings of every detector over the whole session (used by `report`).
pub fn all_findings(session: &Session) -> Result<Vec<Finding>, AnalysisError> {
    let k = session.kernel()?;
    let detectors = detectors();
    let mut out = Vec::new();
    for d in session.details()?.iter().chain(session.unlisted()?.iter()) {
        let space = session.process_space(k, &d.process);
        let cx = ProcessContext {
            detail: d,
            space: &space,
        };
        for det in &detectors {
            out.extend(det.process(&cx));
        }
    }
    for det in &detectors {
        out.extend(det.session(session)?);
    }
    Ok(out)
}
