//! `vmmap`: regions classified like Sysinternals VMMap, with Free/Unusable gaps and a summary.

use super::selected;
use crate::regions::{gaps, ClassifiedRegion, Gap};
use crate::{AnalysisError, Plugin, PluginOptions, PluginOutput, Session};
use memtriage_report::{Column, Hex, RegionCategory, RegionState, Row, Table};
use std::collections::BTreeMap;

/// The highest 64 KiB of user space is never allocatable (MmHighestUserAddress + 1 lies
/// 64 KiB below the end of the user half).
const NO_ACCESS_TOP: u64 = 0x1_0000;

memtriage_report::row! {
    /// One region, gap or per-category total of a process.
    pub struct VmmapRow {
        /// Process id.
        pub pid: u64,
        /// Process name.
        pub process: String,
        /// First byte (none on total rows).
        pub start: Option<Hex>,
        /// Last byte, inclusive (none on total rows).
        pub end: Option<Hex>,
        /// Size in bytes.
        pub size: Hex,
        /// VMMap category, or "Total: CATEGORY" on summary rows.
        pub category: String,
        /// MEM_IMAGE, MEM_MAPPED or MEM_PRIVATE (regions only).
        pub r#type: Option<&'static str>,
        /// COMMITTED, RESERVED or FREE.
        pub state: Option<RegionState>,
        /// Protection of the VAD (regions only).
        pub protection: Option<String>,
        /// Committed bytes (private: commit charge; shared: pages with a PTE).
        pub committed: Hex,
        /// Pages whose PTE is valid.
        pub valid_pages: Option<u64>,
        /// Pages in transition (still in RAM).
        pub transition_pages: Option<u64>,
        /// Pages in a page file.
        pub pagefile_pages: Option<u64>,
        /// Demand-zero pages.
        pub demand_zero_pages: Option<u64>,
        /// Heap index, stack thread id or file path; on totals the private bytes.
        pub details: Option<String>,
    }
}

/// Per-category sums of one process: size, committed, private committed.
#[derive(Debug, Default, Clone, Copy)]
struct Totals {
    size: u64,
    committed: u64,
    private: u64,
}

fn region_row(pid: u64, process: &str, r: &ClassifiedRegion, committed: u64) -> VmmapRow {
    VmmapRow {
        pid,
        process: process.to_owned(),
        start: Some(Hex(r.vad.start)),
        end: Some(Hex(r.vad.end)),
        size: Hex(r.vad.size()),
        category: r.category.name().to_owned(),
        r#type: Some(r.mem_type.mem_name()),
        state: Some(r.state),
        protection: Some(r.vad.protection.name()),
        committed: Hex(committed),
        valid_pages: Some(r.valid_pages),
        transition_pages: Some(r.transition_pages),
        pagefile_pages: Some(r.pagefile_pages),
        demand_zero_pages: Some(r.demand_zero_pages),
        details: Some(r.details.clone()),
    }
}

fn gap_row(pid: u64, process: &str, g: &Gap) -> VmmapRow {
    let state = if g.category == RegionCategory::Free {
        RegionState::Free
    } else {
        RegionState::Reserved
    };
    VmmapRow {
        pid,
        process: process.to_owned(),
        start: Some(Hex(g.start)),
        end: Some(Hex(g.end)),
        size: Hex(g.end - g.start + 1),
        category: g.category.name().to_owned(),
        r#type: None,
        state: Some(state),
        protection: None,
        committed: Hex(0),
        valid_pages: Some(0),
        transition_pages: Some(0),
        pagefile_pages: Some(0),
        demand_zero_pages: Some(0),
        details: None,
    }
}

fn total_row(pid: u64, process: &str, category: RegionCategory, t: Totals) -> VmmapRow {
    VmmapRow {
        pid,
        process: process.to_owned(),
        start: None,
        end: None,
        size: Hex(t.size),
        category: format!("Total: {}", category.name()),
        r#type: None,
        state: None,
        protection: None,
        committed: Hex(t.committed),
        valid_pages: None,
        transition_pages: None,
        pagefile_pages: None,
        demand_zero_pages: None,
        details: Some(format!(
            "private {:#x}; Managed Heap is not recognised (no CLR heap detection)",
            t.private
        )),
    }
}

/// `vmmap`.
pub struct VmMap;

impl Plugin for VmMap {
    fn name(&self) -> &'static str {
        "vmmap"
    }
    fn about(&self) -> &'static str {
        "Classify each process's user space like VMMap (Image, Mapped File, Heap, Stack, ...) with a summary"
    }
    fn columns(&self) -> Vec<Column> {
        VmmapRow::columns()
    }
    fn run(
        &self,
        session: &Session,
        options: &PluginOptions,
    ) -> Result<PluginOutput, AnalysisError> {
        let k = session.kernel()?;
        let mut t = Table::of::<VmmapRow>("vmmap");
        for d in selected(session, options, false)? {
            let (pid, name) = (d.process.pid, d.process.name.as_str());
            let mut rows: Vec<(u64, VmmapRow)> = Vec::new();
            // Keyed by name: the summary lists categories alphabetically.
            let mut summary: BTreeMap<&str, (RegionCategory, Totals)> = BTreeMap::new();
            for r in &d.regions {
                let committed = if r.vad.private {
                    r.vad.commit_charge.saturating_mul(0x1000)
                } else {
                    r.pte_pages() * 0x1000
                };
                let (_, e) = summary
                    .entry(r.category.name())
                    .or_insert((r.category, Totals::default()));
                e.size += r.vad.size();
                e.committed += committed;
                if r.vad.private {
                    e.private += committed;
                }
                rows.push((r.vad.start, region_row(pid, name, r, committed)));
            }
            let user_end = session.process_space(k, &d.process).mode().user_end();
            for g in gaps(&d.regions, user_end - NO_ACCESS_TOP) {
                summary
                    .entry(g.category.name())
                    .or_insert((g.category, Totals::default()))
                    .1
                    .size += g.end - g.start + 1;
                rows.push((g.start, gap_row(pid, name, &g)));
            }
            rows.sort_by_key(|(s, _)| *s);
            for (_, row) in rows {
                t.push_row(row);
            }
            for (category, totals) in summary.into_values() {
                t.push_row(total_row(pid, name, category, totals));
            }
        }
        Ok(PluginOutput::table(t))
    }
}
