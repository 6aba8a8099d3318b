//! Generator of memtriage's bundled kernel profiles.
//!
//! Reads the project's test data (`testdata/isf/*.json.xz` and
//! `testdata/layouts/offsets.json`) and writes one xz-compressed profile per build family into
//! `crates/memtriage-symbols/bundled/`. It runs at development time only (the runtime crate
//! `memtriage-symbols` just loads the tables); the test `regeneration_matches_committed_files`
//! keeps the committed files byte-identical to what [`generate::generate`] writes.
#![forbid(unsafe_code)]

pub mod generate;

use std::path::PathBuf;

/// Errors of the generator, each naming the input file at fault.
#[derive(Debug, thiserror::Error)]
pub enum GenError {
    /// An input or output file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// An input does not say what the generator needs.
    #[error("{path}: {reason}")]
    Malformed {
        /// The input file.
        path: PathBuf,
        /// What is wrong, naming the entry where possible.
        reason: String,
    },
    /// An ISF named by `offsets.json` does not load.
    #[error(transparent)]
    Symbol(#[from] memtriage_symbols::SymbolError),
}
