//! Checks of a candidate layout on the capture itself, before any walker trusts it.
//!
//! A layout that reads the process list, VAD trees, PEB/loader heads and thread lists
//! consistently is accepted; one that fails any check is dropped and the next candidate is
//! tried. Every check is judged on invariants and on the large majority of the objects it
//! looks at, never on every object: one odd process name or one smeared VAD must not reject
//! the correct layout, while a wrong layout fails on most objects at once (a moved
//! `_MMVAD_FLAGS.PrivateMemory` bit misreads every private VAD).

use crate::layout::{Layout, Loc, VadLayout};
use crate::process::{self, Process};
use crate::{is_kernel_address, is_user_address};
use memtriage_paging::{AddressSpace, FRAME_MASK};
use memtriage_symbols::Profile;
use serde::Serialize;
use std::collections::HashSet;

/// Processes whose VADs, PEB and threads are checked (the first ones of the list): enough to
/// tell a right layout from a wrong one, bounded on large captures.
pub const SAMPLED_PROCESSES: usize = 24;
/// VADs looked at per process.
const SAMPLED_VADS: usize = 512;
/// Tolerance: a check fails when more than one object in `TOLERANCE` disagrees.
const TOLERANCE: usize = 10;

/// What a check looks at.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckKind {
    /// System is pid 4 "System" on the kernel DTB; the active list's PIDs and names.
    ProcessList,
    /// VAD trees: in order, non-overlapping, in user space, node count = VadCount.
    VadTrees,
    /// Image VADs have a control area with a file object; private VADs have none.
    VadBacking,
    /// PEB → Ldr list heads link back to themselves.
    PebLoader,
    /// Each thread's list entry links back to its process.
    ThreadLists,
}

impl CheckKind {
    /// Plain-words name of the check.
    pub fn label(self) -> &'static str {
        match self {
            CheckKind::ProcessList => "process list",
            CheckKind::VadTrees => "VAD trees",
            CheckKind::VadBacking => "image/private VAD backing",
            CheckKind::PebLoader => "PEB loader lists",
            CheckKind::ThreadLists => "thread lists",
        }
    }
}

/// The verdict of one check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Verdict {
    /// The objects looked at agree with the layout.
    Passed,
    /// Too many objects disagree: the layout is wrong.
    Failed,
    /// Nothing to judge (the layout lacks the group, or nothing readable).
    NotJudged,
}

/// One check's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// What was checked.
    pub kind: CheckKind,
    /// The verdict.
    pub verdict: Verdict,
    /// Objects judged.
    pub judged: usize,
    /// Objects that disagreed with the layout.
    pub disagreed: usize,
    /// The first disagreement (or why nothing was judged).
    pub first_problem: Option<String>,
}

impl Check {
    fn tally(kind: CheckKind, judged: usize, problems: Vec<String>, why_none: &str) -> Check {
        let disagreed = problems.len();
        let verdict = if judged == 0 {
            Verdict::NotJudged
        } else if disagreed * TOLERANCE > judged {
            Verdict::Failed
        } else {
            Verdict::Passed
        };
        let first_problem = problems
            .into_iter()
            .next()
            .or_else(|| (judged == 0).then(|| why_none.to_string()));
        Check {
            kind,
            verdict,
            judged,
            disagreed,
            first_problem,
        }
    }

    fn failed(kind: CheckKind, problem: String) -> Check {
        Check {
            kind,
            verdict: Verdict::Failed,
            judged: 1,
            disagreed: 1,
            first_problem: Some(problem),
        }
    }
}

impl std::fmt::Display for Check {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.verdict {
            Verdict::Passed => write!(f, "{} passed ({} checked", self.kind.label(), self.judged)?,
            Verdict::Failed => write!(
                f,
                "{} failed ({} of {} disagree",
                self.kind.label(),
                self.disagreed,
                self.judged
            )?,
            Verdict::NotJudged => write!(f, "{} not judged (", self.kind.label())?,
        }
        match (&self.first_problem, self.verdict) {
            (Some(p), Verdict::NotJudged) => write!(f, "{p})"),
            (Some(p), _) => write!(f, "; first: {p})"),
            (None, _) => f.write_str(")"),
        }
    }
}

/// Every check of one candidate layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Validation {
    /// The checks, in the order they ran.
    pub checks: Vec<Check>,
    /// Processes on the active list (when it could be walked).
    pub processes: usize,
}

impl Validation {
    /// Whether the layout is accepted: the process list passed and no check failed.
    pub fn accepted(&self) -> bool {
        self.verdict(CheckKind::ProcessList) == Some(Verdict::Passed)
            && self.checks.iter().all(|c| c.verdict != Verdict::Failed)
    }

    /// The verdict of one check, if it ran.
    pub fn verdict(&self, kind: CheckKind) -> Option<Verdict> {
        self.checks
            .iter()
            .find(|c| c.kind == kind)
            .map(|c| c.verdict)
    }

    /// The first failed check, if any.
    pub fn first_failure(&self) -> Option<&Check> {
        self.checks.iter().find(|c| c.verdict == Verdict::Failed)
    }

    /// Plain words: "process list (54), VAD trees (310), ... passed".
    pub fn passed_summary(&self) -> String {
        let passed: Vec<String> = self
            .checks
            .iter()
            .filter(|c| c.verdict == Verdict::Passed)
            .map(|c| format!("{} ({})", c.kind.label(), c.judged))
            .collect();
        if passed.is_empty() {
            "no check passed".into()
        } else {
            format!("checks passed: {}", passed.join(", "))
        }
    }
}

/// What validation reads from the capture besides the layout.
pub struct Target<'a> {
    /// The kernel address space.
    pub space: &'a AddressSpace,
    /// Physical address of the kernel's top-level table (the System DTB).
    pub dtb: u64,
    /// Virtual address of the System `_EPROCESS` (PsInitialSystemProcess).
    pub system_eprocess: u64,
}

/// Run every check of `layout` (resolved from `profile`) on the capture.
pub fn validate(target: &Target<'_>, profile: &Profile, layout: &Layout) -> Validation {
    let (list_check, processes) = check_process_list(target, layout);
    let mut v = Validation {
        processes: processes.len(),
        checks: vec![list_check],
    };
    if v.checks.iter().any(|c| c.verdict == Verdict::Failed) {
        return v;
    }
    let sample: Vec<&Process> = processes
        .iter()
        .filter(|p| p.pid != 4 && p.eprocess != 0)
        .take(SAMPLED_PROCESSES)
        .collect();
    let vad_count = profile.field("_EPROCESS", "VadCount").ok().map(Loc::from);
    v.checks
        .extend(check_vads(target, layout, vad_count.as_ref(), &sample));
    v.checks.push(check_peb_loader(target, layout, &sample));
    v.checks.push(check_threads(target, layout, &sample));
    v
}

/// A process whose fields read as a real process would.
fn plausible(p: &Process) -> bool {
    // Names are not judged: an odd or empty ImageFileName is a finding (`odd_process_name`),
    // not evidence against the layout.
    process::plausible_pid(p.pid) && p.dtb != 0 && p.dtb & 0xFFF == 0
}

fn check_process_list(target: &Target<'_>, layout: &Layout) -> (Check, Vec<Process>) {
    let kind = CheckKind::ProcessList;
    let sys = match process::read_eprocess(target.space, layout, target.system_eprocess) {
        Ok(p) => p,
        Err(e) => {
            let msg = format!(
                "System _EPROCESS {:#x} unreadable: {e}",
                target.system_eprocess
            );
            return (Check::failed(kind, msg), Vec::new());
        }
    };
    if sys.pid != 4 || !sys.name.eq_ignore_ascii_case("System") {
        let msg = format!(
            "the System _EPROCESS at {:#x} reads as pid {} name {:?}",
            target.system_eprocess, sys.pid, sys.name
        );
        return (Check::failed(kind, msg), Vec::new());
    }
    if sys.dtb & FRAME_MASK != target.dtb & FRAME_MASK {
        let msg = format!(
            "System's DirectoryTableBase reads {:#x}, the kernel DTB is {:#x}",
            sys.dtb, target.dtb
        );
        return (Check::failed(kind, msg), Vec::new());
    }
    let list = process::walk_active_list(target.space, layout, target.system_eprocess);
    if list.processes.len() < 2 {
        let msg = list.warnings.first().map_or_else(
            || "the list holds System only".to_owned(),
            ToString::to_string,
        );
        return (Check::failed(kind, msg), list.processes);
    }
    let mut problems = Vec::new();
    let mut pids = HashSet::new();
    for p in &list.processes {
        if !plausible(p) {
            problems.push(format!(
                "implausible process at {:#x}: pid {} name {:?}",
                p.eprocess, p.pid, p.name
            ));
        } else if !pids.insert(p.pid) && !p.exited() {
            problems.push(format!("pid {} listed twice", p.pid));
        }
    }
    let check = Check::tally(kind, list.processes.len(), problems, "");
    (check, list.processes)
}

/// A VAD node's fields read with the layout.
struct Node {
    start: u64,
    end: u64,
    left: u64,
    right: u64,
    vad_type: u64,
    private: bool,
    tag: Option<[u8; 4]>,
}

fn read_node(space: &AddressSpace, l: &VadLayout, node: u64) -> Option<Node> {
    let size = usize::try_from(l.vad_short_size).ok()?.clamp(0x40, 0x100);
    let mut buf = vec![0u8; size];
    space.read_exact(node, &mut buf).ok()?;
    let vpn = |lo: &Loc, hi: &Option<Loc>| -> Option<u64> {
        let low = lo.get(&buf)?;
        let high = hi.as_ref().and_then(|h| h.get(&buf)).unwrap_or(0);
        Some(low | (high << 32))
    };
    let ptr = |off: u64| Loc {
        offset: off,
        size: 8,
        bits: None,
    };
    let mut tag = [0u8; 4];
    let tag = space
        .read_exact(node.wrapping_sub(12), &mut tag)
        .ok()
        .map(|_| tag);
    Some(Node {
        start: vpn(&l.vad_start, &l.vad_start_high)? << 12,
        end: (vpn(&l.vad_end, &l.vad_end_high)? << 12) | 0xFFF,
        left: ptr(l.node_left).get(&buf)?,
        right: ptr(l.node_right).get(&buf)?,
        vad_type: l.vad_type.get(&buf)?,
        private: l.vad_private.get(&buf)? != 0,
        tag,
    })
}

/// The file object behind a long VAD: Subsection → ControlArea → FilePointer (fast ref).
fn control_area(space: &AddressSpace, l: &VadLayout, node: u64) -> Option<(u64, u64)> {
    let sub = l.vad_subsection?.read(space, node)?;
    if !is_kernel_address(sub) {
        return None;
    }
    let ca = l.subsection_control_area.read(space, sub)?;
    if !is_kernel_address(ca) {
        return None;
    }
    let file = l.control_area_file_pointer.read(space, ca)? & !0xF;
    Some((ca, file))
}

/// VAD trees and VAD backing of the sampled processes.
fn check_vads(
    target: &Target<'_>,
    layout: &Layout,
    vad_count: Option<&Loc>,
    sample: &[&Process],
) -> [Check; 2] {
    let Some(vl) = &layout.vad else {
        let why = "the layout has no VAD offsets";
        return [
            Check::tally(CheckKind::VadTrees, 0, Vec::new(), why),
            Check::tally(CheckKind::VadBacking, 0, Vec::new(), why),
        ];
    };
    let space = target.space;
    let (mut trees, mut tree_problems) = (0usize, Vec::new());
    let (mut vads, mut backing_problems) = (0usize, Vec::new());
    for p in sample {
        let Ok(root) = space.read_ptr(p.eprocess.wrapping_add(vl.vad_root_in_eprocess)) else {
            continue;
        };
        if root == 0 {
            continue;
        }
        trees += 1;
        // In-order walk: starts ascend, ranges do not overlap, all in user space.
        let mut stack = Vec::new();
        let mut node = root;
        let mut last_end: Option<u64> = None;
        let mut count = 0u64;
        let mut seen = HashSet::new();
        let mut problem: Option<String> = None;
        'walk: while (node != 0 || !stack.is_empty()) && problem.is_none() {
            while node != 0 {
                if !is_kernel_address(node) || !seen.insert(node) || seen.len() > 100_000 {
                    problem = Some(format!("pid {}: VAD link {node:#x} is not a node", p.pid));
                    break 'walk;
                }
                let Some(n) = read_node(space, vl, node) else {
                    problem = Some(format!("pid {}: VAD node {node:#x} unreadable", p.pid));
                    break 'walk;
                };
                let left = n.left;
                stack.push((node, n));
                node = left;
            }
            let Some((addr, n)) = stack.pop() else { break };
            count += 1;
            if n.end < n.start || !is_user_address(n.start.max(1)) || !is_user_address(n.end) {
                problem = Some(format!(
                    "pid {}: VAD {addr:#x} range {:#x}-{:#x} is not in user space",
                    p.pid, n.start, n.end
                ));
            } else if last_end.is_some_and(|e| n.start <= e) {
                problem = Some(format!(
                    "pid {}: VAD {addr:#x} at {:#x} is out of order or overlaps",
                    p.pid, n.start
                ));
            }
            last_end = Some(n.end);
            if count as usize <= SAMPLED_VADS {
                vads += 1;
                if let Some(b) = backing_problem(space, vl, addr, &n) {
                    backing_problems.push(format!("pid {}: VAD {:#x}: {b}", p.pid, n.start));
                }
            }
            node = n.right;
        }
        if problem.is_none() {
            if let Some(want) = vad_count.and_then(|l| l.read(space, p.eprocess)) {
                if want != count {
                    problem = Some(format!(
                        "pid {}: {count} VAD nodes, VadCount says {want}",
                        p.pid
                    ));
                }
            }
        }
        if let Some(pr) = problem {
            tree_problems.push(pr);
        }
    }
    let why = "no sampled process has a VAD tree";
    [
        Check::tally(CheckKind::VadTrees, trees, tree_problems, why),
        Check::tally(CheckKind::VadBacking, vads, backing_problems, why),
    ]
}

/// Why a VAD's flags disagree with what backs it, if they do.
fn backing_problem(space: &AddressSpace, vl: &VadLayout, node: u64, n: &Node) -> Option<String> {
    const IMAGE: u64 = 2;
    let short = n.tag.is_some_and(|t| &t == b"VadS");
    if n.private {
        if n.vad_type == IMAGE {
            return Some("private and image at once".into());
        }
        if !short && control_area(space, vl, node).is_some_and(|(_, f)| f != 0) {
            return Some("private but backed by a file".into());
        }
        return None;
    }
    if short {
        return Some("a short (VadS) node that is not private".into());
    }
    match control_area(space, vl, node) {
        None => Some("mapped but without a control area".into()),
        Some((_, file)) if n.vad_type == IMAGE && !is_kernel_address(file) => {
            Some("image without a file object".into())
        }
        Some(_) => None,
    }
}

/// PEB → Ldr → InLoadOrderModuleList: the head's Flink and Blink lead back to the head.
fn check_peb_loader(target: &Target<'_>, layout: &Layout, sample: &[&Process]) -> Check {
    let kind = CheckKind::PebLoader;
    let Some(pl) = &layout.ldr else {
        return Check::tally(kind, 0, Vec::new(), "the layout has no PEB offsets");
    };
    let (mut judged, mut problems) = (0usize, Vec::new());
    for p in sample {
        if p.peb == 0 || p.exited() {
            continue;
        }
        if !is_user_address(p.peb) {
            judged += 1;
            problems.push(format!(
                "pid {}: Peb {:#x} is not a user address",
                p.pid, p.peb
            ));
            continue;
        }
        let space = target.space.with_dtb(p.dtb & FRAME_MASK);
        // An unreadable (paged-out) PEB proves nothing either way.
        let Some(ldr) = pl.ldr.read(&space, p.peb) else {
            continue;
        };
        if ldr == 0 {
            continue; // a process still starting
        }
        judged += 1;
        if !is_user_address(ldr) {
            problems.push(format!(
                "pid {}: PEB.Ldr {ldr:#x} is not a user address",
                p.pid
            ));
            continue;
        }
        let head = ldr.wrapping_add(pl.ldr_lists[0]);
        let Ok(le) = space.read_list_entry(head) else {
            judged -= 1;
            continue;
        };
        let back = |link: u64, forward: bool| {
            space
                .read_list_entry(link)
                .ok()
                .map(|e| if forward { e.blink } else { e.flink })
        };
        if !is_user_address(le.flink) || back(le.flink, true) != Some(head) {
            problems.push(format!(
                "pid {}: loader list head {head:#x}: Flink {:#x} does not link back",
                p.pid, le.flink
            ));
        } else if back(le.blink, false) != Some(head) {
            problems.push(format!(
                "pid {}: loader list head {head:#x}: Blink {:#x} does not link back",
                p.pid, le.blink
            ));
        }
    }
    Check::tally(kind, judged, problems, "no sampled PEB is readable")
}

/// The first thread of each sampled process links back to the list head and names the
/// process's pid.
fn check_threads(target: &Target<'_>, layout: &Layout, sample: &[&Process]) -> Check {
    let kind = CheckKind::ThreadLists;
    let Some(tl) = &layout.thread else {
        return Check::tally(kind, 0, Vec::new(), "the layout has no _ETHREAD offsets");
    };
    let space = target.space;
    let (mut judged, mut problems) = (0usize, Vec::new());
    for p in sample {
        if p.exited() {
            continue;
        }
        let head = p.eprocess.wrapping_add(layout.ep_thread_list_head);
        let Ok(le) = space.read_list_entry(head) else {
            continue;
        };
        if le.flink == head {
            continue; // no threads
        }
        judged += 1;
        if !is_kernel_address(le.flink) {
            problems.push(format!("pid {}: thread list Flink {:#x}", p.pid, le.flink));
            continue;
        }
        let back = space.read_list_entry(le.flink).ok().map(|e| e.blink);
        let et = le.flink.wrapping_sub(tl.et_list_entry);
        let owner = tl.et_pid.read(space, et);
        if back != Some(head) {
            problems.push(format!(
                "pid {}: first thread {et:#x} does not link back to the list head",
                p.pid
            ));
        } else if owner != Some(p.pid) {
            problems.push(format!(
                "pid {}: thread {et:#x} names process {}",
                p.pid,
                owner.map_or_else(|| "?".into(), |o| o.to_string())
            ));
        }
    }
    Check::tally(kind, judged, problems, "no sampled process has threads")
}
