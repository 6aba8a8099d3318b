//! Stage 4: choosing the layout and validating it on the capture.
//!
//! Candidates, best first: the user's ISF or PDB file; else the bundled table of the kernel's
//! exact PDB, of its build, of its build's family. Each is checked on the capture
//! ([`crate::validate`]); a failing candidate is dropped and the next is tried. When no bundled
//! candidate exists or none passes, the layout is located from memory: each structure group
//! (processes, VADs, threads, PEB/loader) is taken from whichever bundled family's table reads
//! the capture consistently, and the mix is accepted only when every check passes.

use super::error::{DiscoveryError, LayoutCause};
use crate::layout::Layout;
use crate::validate::{validate, CheckKind, Target, Validation, Verdict};
use memtriage_symbols::{bundled, candidates, MatchKind, PdbId, Profile};
use std::path::Path;

/// A candidate that was checked and dropped.
#[derive(Debug, Clone)]
pub struct Rejected {
    /// The candidate's profile name.
    pub name: String,
    /// How it was matched.
    pub kind: MatchKind,
    /// Why it was dropped: its checks, or the offsets it lacks.
    pub reason: RejectReason,
}

/// Why a candidate was dropped.
#[derive(Debug, Clone)]
pub enum RejectReason {
    /// The profile lacks offsets the process walker needs.
    Incomplete(String),
    /// A check failed on the capture.
    Checks(Validation),
}

/// Where each structure group of a located layout comes from (bundled table names).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocatedFrom {
    /// `_EPROCESS` and object-header offsets.
    pub processes: String,
    /// VAD offsets.
    pub vads: Option<String>,
    /// `_ETHREAD` offsets.
    pub threads: Option<String>,
    /// PEB and loader offsets.
    pub loader: Option<String>,
}

/// The record of the profile stage.
#[derive(Debug, Clone)]
pub struct ProfileFound {
    /// The profile the walkers use.
    pub profile: Profile,
    /// How it was matched.
    pub kind: MatchKind,
    /// Offsets resolved from it.
    pub layout: Layout,
    /// Its checks on the capture.
    pub validation: Validation,
    /// For a located layout, the table each structure group comes from.
    pub located: Option<LocatedFrom>,
    /// Candidates tried before it and dropped.
    pub rejected: Vec<Rejected>,
    /// Non-fatal problems (a user file that does not validate, a GUID that differs).
    pub warnings: Vec<String>,
}

/// What the profile stage needs to know about the kernel.
pub struct KernelFacts<'a> {
    /// The kernel's build.
    pub build: u32,
    /// The kernel's PDB identity.
    pub pdb: Option<&'a PdbId>,
    /// `--isf`.
    pub user_isf: Option<&'a Path>,
    /// `--pdb`.
    pub user_pdb: Option<&'a Path>,
}

/// Choose and validate the layout.
pub fn choose_profile(
    target: &Target<'_>,
    facts: &KernelFacts<'_>,
) -> Result<ProfileFound, DiscoveryError> {
    let pdb_text = facts.pdb.map(PdbId::guid_age);
    let user = match (facts.user_isf, facts.user_pdb) {
        (Some(path), _) => Some((Profile::from_isf_path(path)?, MatchKind::UserIsf)),
        (None, Some(path)) => Some((Profile::from_pdb_path(path)?, MatchKind::UserPdb)),
        (None, None) => None,
    };
    if let Some((profile, kind)) = user {
        return user_profile(target, facts, profile, kind);
    }
    let mut rejected = Vec::new();
    for c in candidates(facts.pdb, Some(facts.build)) {
        match check(target, &c.profile) {
            Ok((layout, validation)) if validation.accepted() => {
                return Ok(ProfileFound {
                    profile: c.profile,
                    kind: c.kind,
                    layout,
                    validation,
                    located: None,
                    rejected,
                    warnings: Vec::new(),
                });
            }
            Ok((_, validation)) => rejected.push(Rejected {
                name: c.profile.source.name.clone(),
                kind: c.kind,
                reason: RejectReason::Checks(validation),
            }),
            Err(reason) => rejected.push(Rejected {
                name: c.profile.source.name.clone(),
                kind: c.kind,
                reason: RejectReason::Incomplete(reason),
            }),
        }
    }
    match locate(target) {
        Ok((profile, layout, validation, from)) => Ok(ProfileFound {
            profile,
            kind: MatchKind::LocatedFromMemory,
            layout,
            validation,
            located: Some(from),
            rejected,
            warnings: Vec::new(),
        }),
        Err(best) => Err(DiscoveryError::NoLayout {
            build: facts.build,
            pdb: pdb_text,
            cause: no_layout_cause(&rejected, best),
        }),
    }
}

/// The cause of a failure: the first bundled candidate's failed check when there was one,
/// else the unknown build with the best located attempt.
fn no_layout_cause(rejected: &[Rejected], best: Option<Validation>) -> LayoutCause {
    if let Some(r) = rejected.first() {
        return match &r.reason {
            RejectReason::Checks(v) => match v.first_failure() {
                Some(c) => LayoutCause::Rejected {
                    candidate: r.name.clone(),
                    check: Box::new(c.clone()),
                },
                None => LayoutCause::Incomplete {
                    reason: format!("{}: {}", r.name, v.passed_summary()),
                },
            },
            RejectReason::Incomplete(e) => LayoutCause::Incomplete {
                reason: format!("{}: {e}", r.name),
            },
        };
    }
    LayoutCause::UnknownBuild {
        located: best
            .as_ref()
            .and_then(Validation::first_failure)
            .map(|c| Box::new(c.clone())),
    }
}

/// Resolve and check one profile.
fn check(target: &Target<'_>, profile: &Profile) -> Result<(Layout, Validation), String> {
    let layout = Layout::new(profile).map_err(|e| e.to_string())?;
    let validation = validate(target, profile, &layout);
    Ok((layout, validation))
}

/// The user's file. It is refused when the process list does not read with it, or when it is
/// for another PDB and fails a check; otherwise it is used (the user named it), with a warning
/// for each failed check and for a GUID that differs from the kernel's.
fn user_profile(
    target: &Target<'_>,
    facts: &KernelFacts<'_>,
    profile: Profile,
    kind: MatchKind,
) -> Result<ProfileFound, DiscoveryError> {
    let refuse = |cause: LayoutCause| DiscoveryError::NoLayout {
        build: facts.build,
        pdb: facts.pdb.map(PdbId::guid_age),
        cause,
    };
    let name = profile.source.name.clone();
    let (layout, validation) = check(target, &profile).map_err(|reason| {
        refuse(LayoutCause::Incomplete {
            reason: format!("{name}: {reason}"),
        })
    })?;
    let other_pdb = match (profile.pdb.as_ref(), facts.pdb) {
        (Some(theirs), Some(ours))
            if !theirs.guid.eq_ignore_ascii_case(&ours.guid) || theirs.age != ours.age =>
        {
            Some((theirs.guid_age(), ours.guid_age()))
        }
        _ => None,
    };
    if let Some(failed) = validation.first_failure() {
        if failed.kind == CheckKind::ProcessList || other_pdb.is_some() {
            return Err(refuse(LayoutCause::Rejected {
                candidate: name,
                check: Box::new(failed.clone()),
            }));
        }
    }
    let mut warnings = Vec::new();
    if let Some((theirs, ours)) = other_pdb {
        let flag = if kind == MatchKind::UserPdb {
            "--pdb"
        } else {
            "--isf"
        };
        warnings.push(format!(
            "the {flag} file is for PDB {theirs} but the kernel's PDB is {ours}; it is used because its layout passes every check on this capture"
        ));
    }
    if let Some(c) = validation.first_failure() {
        warnings.push(format!(
            "the profile you named does not fit this capture cleanly: {c}"
        ));
    }
    Ok(ProfileFound {
        profile,
        kind,
        layout,
        validation,
        located: None,
        rejected: Vec::new(),
        warnings,
    })
}

/// Every bundled table, newest first (newer kernels are likelier for unknown builds).
fn tables() -> Vec<Profile> {
    let mut t: Vec<Profile> = bundled::tables()
        .into_iter()
        .filter_map(bundled::by_build)
        .collect();
    t.reverse();
    t
}

/// Locate a layout from memory by mixing structure groups across the bundled tables.
/// `Err` carries the best attempt's checks (the first whose process list passed), if any.
fn locate(
    target: &Target<'_>,
) -> Result<(Profile, Layout, Validation, LocatedFrom), Option<Validation>> {
    let tables = tables();
    // The process layout: the first table whose process list check passes.
    let mut base: Option<(&Profile, Layout)> = None;
    for p in &tables {
        let Ok(layout) = Layout::new(p) else { continue };
        let v = validate(
            target,
            p,
            &Layout {
                thread: None,
                vad: None,
                ldr: None,
                ..layout.clone()
            },
        );
        if v.verdict(CheckKind::ProcessList) == Some(Verdict::Passed) {
            base = Some((p, layout));
            break;
        }
    }
    let Some((base_profile, base_layout)) = base else {
        return Err(None);
    };
    let mut mixed = Layout {
        thread: None,
        vad: None,
        ldr: None,
        missing: Vec::new(),
        ..base_layout
    };
    let mut from = LocatedFrom {
        processes: base_profile.source.name.clone(),
        vads: None,
        threads: None,
        loader: None,
    };
    // Each group from the first table whose group passes its checks with this process layout.
    for p in &tables {
        let Ok(l) = Layout::new(p) else { continue };
        let try_group = |trial: Layout, kinds: &[CheckKind]| {
            let v = validate(target, base_profile, &trial);
            kinds.iter().all(|k| v.verdict(*k) == Some(Verdict::Passed))
        };
        if from.vads.is_none() && l.vad.is_some() {
            let trial = Layout {
                vad: l.vad.clone(),
                ..mixed.clone()
            };
            if try_group(trial, &[CheckKind::VadTrees, CheckKind::VadBacking]) {
                mixed.vad = l.vad.clone();
                from.vads = Some(p.source.name.clone());
            }
        }
        if from.threads.is_none() && l.thread.is_some() {
            let trial = Layout {
                thread: l.thread.clone(),
                ..mixed.clone()
            };
            if try_group(trial, &[CheckKind::ThreadLists]) {
                mixed.thread = l.thread.clone();
                from.threads = Some(p.source.name.clone());
            }
        }
        if from.loader.is_none() && l.ldr.is_some() {
            let trial = Layout {
                ldr: l.ldr.clone(),
                ..mixed.clone()
            };
            if try_group(trial, &[CheckKind::PebLoader]) {
                mixed.ldr = l.ldr.clone();
                from.loader = Some(p.source.name.clone());
            }
        }
    }
    for (what, missing) in [
        ("threads", from.threads.is_none()),
        ("VADs (memory regions)", from.vads.is_none()),
        ("PEBs and loader lists (modules)", from.loader.is_none()),
    ] {
        if missing {
            mixed.missing.push(format!(
                "{what} not read: no bundled layout fits this capture"
            ));
        }
    }
    let validation = validate(target, base_profile, &mixed);
    if !validation.accepted() {
        return Err(Some(validation));
    }
    // A located layout with no VAD group would silently lose every region: refuse instead.
    if from.vads.is_none() {
        return Err(Some(validation));
    }
    let mut profile = base_profile.clone();
    profile.build = None;
    profile.source.name = format!("located:{}", from.processes.trim_start_matches("bundled:"));
    Ok((profile, mixed, validation, from))
}
