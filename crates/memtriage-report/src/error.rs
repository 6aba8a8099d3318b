//! Error type of the report crate.

use std::path::PathBuf;

/// Errors raised while reading report-related files (suppression lists, saved reports).
///
/// Every variant names the file; parse errors also name the 1-based line.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying I/O error.
        #[source]
        source: std::io::Error,
    },
    /// The file is larger than the crate accepts for its kind.
    #[error("{}: file too large ({size} bytes, limit {limit})", path.display())]
    TooLarge {
        /// The file.
        path: PathBuf,
        /// Its size in bytes.
        size: u64,
        /// The accepted maximum in bytes.
        limit: u64,
    },
    /// A suppression file is malformed (TOML syntax, unknown key, bad glob, missing rule).
    #[error("{}:{line}: {message}", path.display())]
    Suppression {
        /// The file.
        path: PathBuf,
        /// 1-based line of the offending text.
        line: usize,
        /// What is wrong.
        message: String,
    },
    /// A saved report is not valid report JSON.
    #[error("{}:{line}:{column}: {message}", path.display())]
    Json {
        /// The file.
        path: PathBuf,
        /// 1-based line.
        line: usize,
        /// 1-based column.
        column: usize,
        /// What is wrong.
        message: String,
    },
    /// A saved report is JSON of the right schema version but not a valid report: it breaks the
    /// report schema, or a range ends before it starts, or a date does not exist.
    #[error("{}: {pointer}: {message}", path.display())]
    Invalid {
        /// The file.
        path: PathBuf,
        /// JSON pointer of the offending value.
        pointer: String,
        /// What is wrong.
        message: String,
    },
    /// A saved report carries a schema version this crate does not read.
    #[error("{}: unsupported report schema {found:?} (expected {expected:?})", path.display())]
    SchemaVersion {
        /// The file.
        path: PathBuf,
        /// The `schema` value found in the file.
        found: String,
        /// The supported schema version.
        expected: &'static str,
    },
}
