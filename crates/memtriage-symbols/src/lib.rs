//! Symbols layer of memtriage.
//!
//! A [`Profile`] answers the questions every walker asks: the offset and size of
//! `Type.Field` (bitfields with position and length), the size of a type, the RVA of a kernel
//! symbol, enum values, and where the profile came from. Profiles load from Volatility 3 ISF
//! files ([`Profile::from_isf_path`]), Microsoft PDB files ([`Profile::from_pdb_path`]) and
//! tables compiled into the binary ([`bundled`], one per build [`family`]); [`select_profile`]
//! and [`candidates`] pick one for a kernel (see `docs/profiles.md`). The tables are written by
//! the separate `memtriage-profilegen` crate; this crate only loads them.
#![forbid(unsafe_code)]

pub mod bundled;
pub mod family;
mod isf;
mod pdb;
mod profile;

pub use bundled::{candidates, select_profile, MatchKind, ProfileChoice};
pub use family::{family_of, release_name, Family, Release, FAMILIES};

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
    /// No profile fits the kernel: no bundled profile for its PDB, and its build is in no
    /// known family.
    #[error("no bundled profile for this kernel (PDB {}, build {}, in no known family): name an ISF or PDB file with --isf/--pdb", .pdb.as_deref().unwrap_or("unknown"), .build.map_or_else(|| "unknown".to_string(), |b| b.to_string()))]
    NoProfile {
        /// The kernel's PDB GUID+age, when known.
        pdb: Option<String>,
        /// The kernel's build, when known.
        build: Option<u32>,
    },
    /// The type has no such field.
    #[error("profile has no field {ty}.{field}")]
    NoField {
        /// The type searched.
        ty: String,
        /// The field (or dotted path) asked for.
        field: String,
    },
}
