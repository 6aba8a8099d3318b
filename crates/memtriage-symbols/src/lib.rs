//! Symbols layer of memtriage.
//!
//! A [`Profile`] answers the questions every walker asks: the offset and size of
//! `Type.Field` (bitfields with position and length), the size of a type, the RVA of a kernel
//! symbol, enum values, and where the profile came from. Profiles load from Volatility 3 ISF
//! files ([`Profile::from_isf_path`]).

mod isf;
mod profile;

pub use profile::{
    BaseType, EnumDef, Field, FieldType, PdbId, Profile, ProfileSource, SourceKind, TypeDef,
};

use std::path::PathBuf;

/// Errors of the symbols layer. Each names the file or the type and field at fault.
#[derive(Debug, thiserror::Error)]
pub enum SymbolError {
    /// A profile file could not be read.
    #[error("{path}: {source}")]
    Io {
        /// The profile file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// A profile file is not valid ISF / PDB.
    #[error("{path}: {reason}")]
    Malformed {
        /// The profile file.
        path: PathBuf,
        /// What is wrong, naming the field where possible.
        reason: String,
    },
    /// The profile has no such type.
    #[error("profile has no type {0}")]
    NoType(String),
    /// The type has no such field.
    #[error("profile has no field {ty}.{field}")]
    NoField {
        /// The type searched.
        ty: String,
        /// The field (or dotted path) asked for.
        field: String,
    },
}
