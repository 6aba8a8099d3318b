//! YARA scanning of memory captures with yara-x (the VirusTotal Rust implementation of YARA).
//!
//! This crate is the only one of the workspace that depends on yara-x, so the heavy
//! WebAssembly runtime behind it is built only where YARA is used (the CLI).
//!
//! - [`RuleSet`] compiles a rules file, or every `*.yar`/`*.yara` file of a directory (each in
//!   its own namespace), once per run; a syntax error is one line `FILE:LINE:COL: message`.
//! - [`buffers`] cuts memory into scan buffers: one per VAD of a process (so a match at offset
//!   0 is the region's start, as in Volatility 3's `windows.vadyarascan`), and pieces of the
//!   mapped kernel ranges.
//! - [`scan`] runs the rules over those buffers with a per-buffer timeout and returns
//!   [`YaraMatch`]es plus warnings (timeouts, unreadable pages, skipped regions).
//! - [`rows`] renders the matches as the `yarascan` table, [`findings`] as `yara_match`
//!   findings for `report --yara`.
#![forbid(unsafe_code)]

pub mod buffers;
pub mod findings;
pub mod rows;
pub mod ruleset;
pub mod scan;
pub mod severity;

pub use buffers::{Region, ScanSpace};
pub use findings::yara_findings;
pub use rows::{yara_table, YaraRow, MAX_DATA_BYTES};
pub use ruleset::{RuleSet, YaraError};
pub use scan::{scan_kernel, scan_processes, PatternHit, ScanOptions, ScanOutput, YaraMatch};
pub use severity::meta_severity;
