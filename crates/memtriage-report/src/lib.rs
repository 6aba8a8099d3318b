//! memtriage-report: the report document model of memtriage and its writers.
//!
//! This crate is the pure output layer: it knows nothing about captures, paging or Windows
//! structures. The analysis crate fills a [`Report`] (or a generic [`Table`] for a plugin), and
//! this crate turns it into:
//!
//! - pretty JSON ([`write_report_json`], [`write_table_json`]) following
//!   `docs/schema/report.schema.json` (embedded here as [`REPORT_SCHEMA`]);
//! - JSON Lines for SIEM pipelines with ECS field names ([`write_report_jsonl`],
//!   [`write_table_jsonl`]);
//! - human-readable tables ([`write_report_table`], [`write_table`]);
//! - CSV ([`write_table_csv`]);
//! - one self-contained HTML page ([`write_report_html`]) and a fleet index
//!   ([`write_fleet_index`]).
//!
//! It also provides report comparison ([`diff`]), finding suppression ([`SuppressionList`]) and
//! the `--fail-on` helper ([`fail_on`]).
//!
//! Every 64-bit address is a [`Hex`], serialized as a lowercase `"0x…"` string; every time is an
//! ISO-8601 UTC string (see [`filetime_to_iso`]); [`Report::sort`] makes the output order
//! deterministic.
#![forbid(unsafe_code)]

mod canonical;
mod diff;
mod diff_rows;
mod error;
mod hex;
mod html;
mod model;
mod report_tables;
mod row;
mod suppress;
mod table;
mod timefmt;
mod validate;
mod vocab;
mod writers;

pub use canonical::sorted as sorted_json;
pub use diff::{
    diff, write_diff_json, write_diff_table, ChangedFinding, ChangedProcess, FieldChange,
    ReportDiff, DIFF_SCHEMA_VERSION,
};
pub use diff_rows::{diff_table, write_diff_csv, write_diff_jsonl};
pub use error::ReportError;
pub use hex::{Hex, ParseHexError};
pub use html::{write_fleet_index, write_report_html, FleetEntry, FleetOutcome};
pub use model::{
    fail_on, read_report, Coverage, Finding, Image, KernelModule, Module, ParseSeverityError,
    Process, Region, RegionType, Report, Severity, System, Tool, ViewCoverage, SCHEMA_VERSION,
};
pub use report_tables::{
    modules_table, process_list_table, regions_table, report_table, ReportTableKind,
};
pub use row::{CellValue, FileTime, Row};
pub use suppress::{Suppression, SuppressionList};
pub use table::{
    fit_widths, tree_order, truncate_to_width, wrap_to_width, Cell, Column, ColumnKind, Table,
    TextLayout, ELLIPSIS, MAX_TREE_DEPTH,
};
pub use timefmt::filetime_to_iso;
pub use validate::{check_report_value, Violation};
pub use vocab::{ProcessView, RegionCategory, RegionState};
pub use writers::{
    csv_safe_text, findings_table, kernel_modules_table, processes_table, write_report_json,
    write_report_jsonl, write_report_table, write_report_table_with, write_table, write_table_csv,
    write_table_json, write_table_jsonl, write_table_with, JsonlOptions, ECS_VERSION,
};

/// Re-export of `serde_json`, whose `Value` is the type of [`Finding::evidence`] values.
pub use serde_json;

/// The JSON Schema (draft 2020-12) of a serialized [`Report`], `docs/schema/report.schema.json`.
pub const REPORT_SCHEMA: &str = include_str!("../../../docs/schema/report.schema.json");
