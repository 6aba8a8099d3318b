//! `vadinfo`: every VAD of every process.

use super::selected;
use crate::{AnalysisError, Plugin, PluginOptions, PluginOutput, Session};
use memtriage_report::{Column, Hex, Row, Table};

memtriage_report::row! {
    /// One VAD.
    pub struct VadRow {
        /// Process id.
        pub pid: u64,
        /// Process name.
        pub process: String,
        /// Address of the VAD node.
        pub node: Hex,
        /// First byte of the region.
        pub start: Hex,
        /// Last byte of the region (inclusive).
        pub end: Hex,
        /// VadType (2 = image).
        pub vad_type: u64,
        /// Protection (PAGE_*).
        pub protection: String,
        /// PrivateMemory flag.
        pub private: bool,
        /// CommitCharge in pages.
        pub commit_charge: u64,
        /// Pool tag of the node (VadS, Vad , VadF, ...).
        pub tag: String,
        /// Mapped file (image and mapped-file VADs).
        pub file: Option<String>,
    }
}

/// `vadinfo`.
pub struct VadInfo;

impl Plugin for VadInfo {
    fn name(&self) -> &'static str {
        "vadinfo"
    }
    fn about(&self) -> &'static str {
        "List each process's VADs: range, type, protection, commit charge, tag, file"
    }
    fn columns(&self) -> Vec<Column> {
        VadRow::columns()
    }
    fn run(
        &self,
        session: &Session,
        options: &PluginOptions,
    ) -> Result<PluginOutput, AnalysisError> {
        let mut t = Table::of::<VadRow>("vadinfo");
        let mut warnings = Vec::new();
        for d in selected(session, options, false)? {
            warnings.extend(d.warnings.iter().map(ToString::to_string));
            for v in &d.vads {
                t.push_row(VadRow {
                    pid: d.process.pid,
                    process: d.process.name.clone(),
                    node: Hex(v.node),
                    start: Hex(v.start),
                    end: Hex(v.end),
                    vad_type: u64::from(v.vad_type),
                    protection: v.protection.name(),
                    private: v.private,
                    commit_charge: v.commit_charge,
                    tag: v.tag.clone(),
                    file: v.file.clone(),
                });
            }
        }
        Ok(PluginOutput::with_warnings(t, warnings))
    }
}
