//! The cross-view of processes (as psxview compares them): which of the process views saw
//! each process, which views this run could read, and the processes only the cheap views saw.
//!
//! The views are ActiveProcessLinks, the pool scan (skipped by `report --fast`), PspCidTable,
//! the process handles of `csrss.exe`, and the owners of PspCidTable's threads (see
//! `memtriage_windows::crossview`). Processes are matched by the physical address of their
//! `_EPROCESS`, the one identity every view can establish.

use memtriage_report::{ProcessView, ViewCoverage};
use memtriage_windows::crossview::{
    csrss_handles, read_cid_table, thread_owners, ViewRead, ViewUnavailable,
};
use memtriage_windows::poolscan::{ScannedProcess, TypeCheck};
use memtriage_windows::process::{read_eprocess, Process};
use memtriage_windows::Kernel;
use std::collections::{BTreeSet, HashMap};

/// Why the pool view is not read in a `--fast` run.
pub const FAST_REASON: &str = "skipped by --fast";

/// The views of every process one run read.
#[derive(Debug, Clone, Default)]
pub struct CrossView {
    /// Views per process, keyed by the physical address of its `_EPROCESS`.
    seen: HashMap<u64, BTreeSet<ProcessView>>,
    /// Each view, in [`ProcessView::ALL`] order, with whether it was read.
    pub coverage: Vec<ViewCoverage>,
    /// Processes a cheap view saw that are neither on the active list nor found by the pool
    /// scan (read from their `_EPROCESS`), in the order the views met them.
    pub extra: Vec<Process>,
    /// Problems met: views that could not be read, entries that were skipped.
    pub warnings: Vec<String>,
}

fn available(view: ProcessView) -> ViewCoverage {
    ViewCoverage {
        view,
        available: true,
        reason: None,
    }
}

fn unavailable(view: ProcessView, reason: String) -> ViewCoverage {
    ViewCoverage {
        view,
        available: false,
        reason: Some(reason),
    }
}

impl CrossView {
    /// Read the cheap views and merge them with the active list (`listed`) and, unless the
    /// run is fast (`pool` is `None`), the pool scan.
    pub fn build(
        kernel: &Kernel,
        listed: &[Process],
        pool: Option<&[ScannedProcess]>,
    ) -> CrossView {
        let mut cv = CrossView::default();
        let pa_of = |va: u64| kernel.space.translate(va).ok().map(|t| t.pa);
        let mut known: BTreeSet<u64> = BTreeSet::new();
        for p in listed {
            if let Some(pa) = p.eprocess_pa.or_else(|| pa_of(p.eprocess)) {
                cv.mark(pa, ProcessView::ActiveList);
                known.insert(pa);
            }
        }
        cv.coverage.push(available(ProcessView::ActiveList));
        match pool {
            Some(scanned) => {
                for s in scanned {
                    if let Some(pa) = s.process.eprocess_pa {
                        cv.mark(pa, ProcessView::Pool);
                        known.insert(pa);
                    }
                }
                cv.coverage.push(available(ProcessView::Pool));
            }
            None => cv
                .coverage
                .push(unavailable(ProcessView::Pool, FAST_REASON.to_string())),
        }
        let types = TypeCheck::for_kernel(kernel);
        let cid = read_cid_table(kernel, &types);
        let (cid_view, threads) = match cid {
            Ok(t) => (
                Ok(ViewRead {
                    processes: t.processes,
                    warnings: t.warnings,
                }),
                Ok(t.threads),
            ),
            Err(e) => (Err(e.clone()), Err(e)),
        };
        let owners = threads
            .map_err(|e| ViewUnavailable::NeedsCidTable(Box::new(e)))
            .and_then(|t| thread_owners(kernel, &t));
        let csrss = csrss_handles(kernel, &types, listed);
        for (view, read) in [
            (ProcessView::CidTable, cid_view),
            (ProcessView::CsrssHandles, csrss),
            (ProcessView::Threads, owners),
        ] {
            match read {
                Ok(r) => {
                    cv.warnings.extend(r.warnings);
                    for ep in r.processes {
                        let Some(pa) = pa_of(ep) else {
                            cv.warnings.push(format!(
                                "{view} view: _EPROCESS {ep:#x} does not translate; skipped"
                            ));
                            continue;
                        };
                        cv.mark(pa, view);
                        if known.insert(pa) {
                            match read_eprocess(&kernel.space, &kernel.layout, ep) {
                                Ok(p) => cv.extra.push(p),
                                Err(e) => cv.warnings.push(format!(
                                    "{view} view: _EPROCESS {ep:#x} unreadable: {e}"
                                )),
                            }
                        }
                    }
                    cv.coverage.push(available(view));
                }
                Err(e) => {
                    cv.warnings
                        .push(format!("process view {view} not read: {e}"));
                    cv.coverage.push(unavailable(view, e.to_string()));
                }
            }
        }
        cv
    }

    fn mark(&mut self, pa: u64, view: ProcessView) {
        self.seen.entry(pa).or_default().insert(view);
    }

    /// The views that saw `p` (matched by its `_EPROCESS` physical address), in
    /// [`ProcessView::ALL`] order.
    pub fn views_of(&self, p: &Process) -> Vec<ProcessView> {
        p.eprocess_pa
            .and_then(|pa| self.seen.get(&pa))
            .map(|s| s.iter().copied().collect())
            .unwrap_or_default()
    }

    /// The views that were read but did not see `p`, in [`ProcessView::ALL`] order.
    pub fn views_missing(&self, p: &Process) -> Vec<ProcessView> {
        let seen = self.views_of(p);
        self.coverage
            .iter()
            .filter(|c| c.available && !seen.contains(&c.view))
            .map(|c| c.view)
            .collect()
    }
}
