//! `process_lineage`: public invariants of the Windows system processes (parent, image
//! folder, session, instance count), checked over every live process of the session.

use super::paths::normalize_path;
use super::Detector;
use crate::rules::{Rule, PROCESS_LINEAGE};
use crate::session::ProcessDetail;
use crate::{AnalysisError, Session};
use memtriage_report::{Finding, Severity};
use std::collections::HashMap;
use std::fmt;

/// Pid of the System process.
const SYSTEM_PID: u64 = 4;

/// One invariant a system process can break.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Invariant {
    /// smss.exe's parent is System (pid 4).
    SmssParentSystem,
    /// csrss.exe and wininit.exe are started by an smss instance that has exited: their
    /// parent pid is no live process.
    ParentExitedSmss,
    /// services.exe and lsass.exe have a live wininit.exe as parent.
    ParentWininit,
    /// svchost.exe has a live services.exe as parent.
    ParentServices,
    /// There is one lsass.exe; every later-created one breaks this.
    SingleLsass,
    /// The image is `\Windows\System32\<name>`.
    System32Image,
    /// smss, wininit, services, lsass and svchost run in session 0.
    SessionZero,
}

impl Invariant {
    /// The invariant's name in evidence and docs, e.g. `parent_services`.
    pub const fn name(self) -> &'static str {
        match self {
            Invariant::SmssParentSystem => "smss_parent_system",
            Invariant::ParentExitedSmss => "parent_exited_smss",
            Invariant::ParentWininit => "parent_wininit",
            Invariant::ParentServices => "parent_services",
            Invariant::SingleLsass => "single_lsass",
            Invariant::System32Image => "system32_image",
            Invariant::SessionZero => "session_zero",
        }
    }
}

impl fmt::Display for Invariant {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// The system processes the invariants speak about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum SystemProcess {
    Smss,
    Csrss,
    Wininit,
    Services,
    Lsass,
    Svchost,
}

impl SystemProcess {
    /// The process named `name` (ImageFileName, any case), if it is one of them.
    fn of(name: &str) -> Option<SystemProcess> {
        Some(match name.to_ascii_lowercase().as_str() {
            "smss.exe" => SystemProcess::Smss,
            "csrss.exe" => SystemProcess::Csrss,
            "wininit.exe" => SystemProcess::Wininit,
            "services.exe" => SystemProcess::Services,
            "lsass.exe" => SystemProcess::Lsass,
            "svchost.exe" => SystemProcess::Svchost,
            _ => return None,
        })
    }

    /// Whether it always runs in session 0 (csrss runs in every session).
    fn session_zero(self) -> bool {
        self != SystemProcess::Csrss
    }
}

/// The session id of a process: the kernel's, else the PEB's.
fn session_id(d: &ProcessDetail) -> Option<u32> {
    d.process
        .session_id
        .or_else(|| d.peb.as_ref().and_then(|p| p.session_id))
}

/// The live parent of `d`: the live process with its parent pid, created no later than `d`
/// (a later one reuses a pid of an exited parent).
fn parent_of<'a>(
    d: &ProcessDetail,
    live: &HashMap<u64, &'a ProcessDetail>,
) -> Option<&'a ProcessDetail> {
    live.get(&d.process.ppid).copied().filter(|p| {
        p.process.pid != d.process.pid && p.process.create_time <= d.process.create_time
    })
}

/// The invariants `d` breaks, given the live processes by pid and the pids of the lsass
/// instances after the first.
fn broken(
    d: &ProcessDetail,
    kind: SystemProcess,
    live: &HashMap<u64, &ProcessDetail>,
    later_lsass: &[u64],
) -> Vec<Invariant> {
    let p = &d.process;
    let parent = parent_of(d, live).map(|d| d.process.name.to_ascii_lowercase());
    let parent_is = |name: &str| parent.as_deref() == Some(name);
    let mut out = Vec::new();
    match kind {
        SystemProcess::Smss if p.ppid != SYSTEM_PID => out.push(Invariant::SmssParentSystem),
        SystemProcess::Csrss | SystemProcess::Wininit if parent.is_some() => {
            out.push(Invariant::ParentExitedSmss);
        }
        SystemProcess::Services | SystemProcess::Lsass if !parent_is("wininit.exe") => {
            out.push(Invariant::ParentWininit);
        }
        SystemProcess::Svchost if !parent_is("services.exe") => {
            out.push(Invariant::ParentServices);
        }
        _ => {}
    }
    if kind == SystemProcess::Lsass && later_lsass.contains(&p.pid) {
        out.push(Invariant::SingleLsass);
    }
    if let Some(path) = &p.image_path {
        let want = format!("\\windows\\system32\\{}", p.name.to_ascii_lowercase());
        if normalize_path(path) != want {
            out.push(Invariant::System32Image);
        }
    }
    if kind.session_zero() && session_id(d).is_some_and(|s| s != 0) {
        out.push(Invariant::SessionZero);
    }
    out
}

/// Findings over a set of live processes (those on the active list and hidden ones that
/// have not exited).
pub fn lineage_findings(live: &[&ProcessDetail]) -> Vec<Finding> {
    let by_pid: HashMap<u64, &ProcessDetail> = live.iter().map(|d| (d.process.pid, *d)).collect();
    let mut lsass: Vec<&ProcessDetail> = live
        .iter()
        .copied()
        .filter(|d| SystemProcess::of(&d.process.name) == Some(SystemProcess::Lsass))
        .collect();
    // The first-created lsass is taken as the real one.
    lsass.sort_by_key(|d| (d.process.create_time, d.process.pid));
    let later_lsass: Vec<u64> = lsass.iter().skip(1).map(|d| d.process.pid).collect();
    let mut out = Vec::new();
    for d in live {
        let Some(kind) = SystemProcess::of(&d.process.name) else {
            continue;
        };
        let invariants = broken(d, kind, &by_pid, &later_lsass);
        if invariants.is_empty() {
            continue;
        }
        let p = &d.process;
        let names: Vec<String> = invariants.iter().map(ToString::to_string).collect();
        let parent = parent_of(d, &by_pid).map(|d| d.process.name.clone());
        let mut f = PROCESS_LINEAGE
            .finding(
                Severity::Medium,
                format!(
                    "{} (pid {}) breaks the system-process invariant(s): {}",
                    p.name,
                    p.pid,
                    names.join(", ")
                ),
            )
            .with_process(p.pid, p.name.clone())
            .with_evidence("invariants", names)
            .with_evidence("ppid", p.ppid)
            .with_evidence("parent", parent.map_or(serde_json::Value::Null, Into::into))
            .with_evidence(
                "image_path",
                p.image_path
                    .clone()
                    .map_or(serde_json::Value::Null, Into::into),
            )
            .with_evidence(
                "session_id",
                session_id(d).map_or(serde_json::Value::Null, Into::into),
            );
        if p.eprocess != 0 {
            f = f.with_address(p.eprocess);
        }
        out.push(f);
    }
    out
}

/// The detector.
pub struct ProcessLineage;

impl Detector for ProcessLineage {
    fn rules(&self) -> &'static [&'static Rule] {
        &[&PROCESS_LINEAGE]
    }

    fn session(&self, session: &Session) -> Result<Vec<Finding>, AnalysisError> {
        let live: Vec<&ProcessDetail> = session
            .details()?
            .iter()
            .chain(session.unlisted()?.iter().filter(|d| d.hidden))
            .filter(|d| !d.process.exited())
            .collect();
        Ok(lineage_findings(&live))
    }
}
