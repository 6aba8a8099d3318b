//! The HTML report: one self-contained page per capture (inline CSS and SVG, no script, no
//! external resource), and an index page for a fleet of captures.
//!
//! One idea per file: [`page`] is the skeleton and header, [`findings`] the findings cards,
//! [`processes`] the process tree and per-process sections, [`memmap`] the memory-map SVG,
//! [`category`] the VMMap categories, [`escape`] the escaping of capture strings, [`style`]
//! the style sheet, [`units`] byte counts and [`index`] the fleet index.

mod category;
mod escape;
mod findings;
mod index;
mod memmap;
mod page;
mod processes;
mod style;
mod units;

use std::io::{self, Write};

pub use index::{FleetEntry, FleetOutcome};

use crate::model::Report;

/// Writes `report` as one self-contained HTML page (see docs/report.md, "HTML").
pub fn write_report_html(w: &mut dyn Write, report: &Report) -> io::Result<()> {
    let mut out = String::with_capacity(64 * 1024);
    page::write_page(&mut out, report).map_err(io::Error::other)?;
    w.write_all(out.as_bytes())
}

/// Writes the `index.html` of a fleet run: one row per capture, linking to its page (written
/// next to the index) with its finding counts.
pub fn write_fleet_index(w: &mut dyn Write, entries: &[FleetEntry]) -> io::Result<()> {
    let mut out = String::with_capacity(8 * 1024);
    index::write_index(&mut out, entries).map_err(io::Error::other)?;
    w.write_all(out.as_bytes())
}
