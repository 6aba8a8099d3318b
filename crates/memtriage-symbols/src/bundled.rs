//! Profiles compiled into memtriage, and the matching of a kernel to a profile.
//!
//! The tables live in `crates/memtriage-symbols/bundled/<build>.json.xz` (written by the
//! `memtriage-profilegen` binary, see `docs/profiles.md`). Each is decompressed and parsed on first use
//! and cached for the life of the process.

use crate::family::family_of;
use crate::{PdbId, Profile, SymbolError};
use serde::Serialize;
use std::io::Read;
use std::path::Path;
use std::sync::OnceLock;

/// One embedded table.
struct Entry {
    /// The build the table was generated for.
    build: u32,
    /// The compressed table.
    bytes: &'static [u8],
    /// The parsed table (None if it fails to parse: a test guarantees it does not).
    cell: OnceLock<Option<Profile>>,
}

macro_rules! entry {
    ($build:literal) => {
        Entry {
            build: $build,
            bytes: include_bytes!(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/bundled/",
                stringify!($build),
                ".json.xz"
            )),
            cell: OnceLock::new(),
        }
    };
}

/// One table per family of [`crate::family::FAMILIES`] (a test checks they agree).
static ENTRIES: [Entry; 15] = [
    entry!(7601),
    entry!(9600),
    entry!(10240),
    entry!(10586),
    entry!(14393),
    entry!(15063),
    entry!(16299),
    entry!(17134),
    entry!(17763),
    entry!(18362),
    entry!(19041),
    entry!(20348),
    entry!(22000),
    entry!(22621),
    entry!(26100),
];

/// Largest decompressed table accepted (the real ones are well under 1 MiB).
const MAX_TABLE_BYTES: u64 = 16 * 1024 * 1024;

fn decode(bytes: &[u8]) -> Option<Profile> {
    let mut json = Vec::new();
    xz2::read::XzDecoder::new(bytes)
        .take(MAX_TABLE_BYTES)
        .read_to_end(&mut json)
        .ok()?;
    serde_json::from_slice(&json).ok()
}

fn table(build: u32) -> Option<&'static Profile> {
    let e = ENTRIES.iter().find(|e| e.build == build)?;
    e.cell.get_or_init(|| decode(e.bytes)).as_ref()
}

/// The table builds compiled in (ascending): one per family.
pub fn tables() -> Vec<u32> {
    ENTRIES.iter().map(|e| e.build).collect()
}

/// The bundled profile generated from exactly this PDB (GUID and age).
pub fn by_pdb(id: &PdbId) -> Option<Profile> {
    ENTRIES.iter().find_map(|e| {
        let p = table(e.build)?;
        let pdb = p.pdb.as_ref()?;
        (pdb.guid.eq_ignore_ascii_case(&id.guid) && pdb.age == id.age).then(|| p.clone())
    })
}

/// The bundled profile of the family of `build` (19041..=19045 → the 19041 table). The
/// profile keeps its table's name and build (`bundled:19041`); `None` when the build is in
/// no family.
pub fn by_build(build: u32) -> Option<Profile> {
    let f = family_of(build)?;
    table(f.table).cloned()
}

/// How a profile was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum MatchKind {
    /// The ISF file the user named.
    UserIsf,
    /// The PDB file the user named.
    UserPdb,
    /// A bundled profile generated from the kernel's own PDB (GUID and age equal).
    ExactPdb,
    /// The bundled profile of the kernel's own build.
    SameBuild,
    /// The bundled profile of another build of the kernel's family (same layout).
    Family {
        /// The family's table build.
        table: u32,
    },
    /// A layout located from memory: per-structure candidates from the bundled families,
    /// accepted because the checks on the capture passed. Not an exact layout.
    LocatedFromMemory,
}

impl MatchKind {
    /// A stable identifier (`ExactPdb`, `SameBuild`, `Family`, `UserIsf`, `UserPdb`,
    /// `LocatedFromMemory`), as `memtriage info` shows it in `profile_match`.
    pub fn name(&self) -> &'static str {
        match self {
            MatchKind::UserIsf => "UserIsf",
            MatchKind::UserPdb => "UserPdb",
            MatchKind::ExactPdb => "ExactPdb",
            MatchKind::SameBuild => "SameBuild",
            MatchKind::Family { .. } => "Family",
            MatchKind::LocatedFromMemory => "LocatedFromMemory",
        }
    }

    /// Whether the layout is known to be the kernel's own (not located from memory).
    pub fn is_exact(&self) -> bool {
        !matches!(self, MatchKind::LocatedFromMemory)
    }
}

impl std::fmt::Display for MatchKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            MatchKind::UserIsf => f.write_str("the ISF file given with --isf"),
            MatchKind::UserPdb => f.write_str("the PDB file given with --pdb"),
            MatchKind::ExactPdb => f.write_str("exact PDB (GUID and age of the kernel)"),
            MatchKind::SameBuild => f.write_str("same build"),
            MatchKind::Family { table } => write!(f, "family of build {table}"),
            MatchKind::LocatedFromMemory => f.write_str("located from memory"),
        }
    }
}

/// A profile and how it was chosen.
#[derive(Debug, Clone)]
pub struct ProfileChoice {
    /// The profile.
    pub profile: Profile,
    /// How it was chosen.
    pub kind: MatchKind,
}

/// Every bundled candidate, best first: exact PDB GUID+age, then the same build, then the
/// build's family. A profile appears once (under its best match). A build in no family gets
/// no family candidate: it never borrows a neighbour's layout. The caller validates each
/// candidate on the capture and drops those that fail.
pub fn candidates(pdb: Option<&PdbId>, build: Option<u32>) -> Vec<ProfileChoice> {
    let mut out: Vec<ProfileChoice> = Vec::new();
    if let Some(p) = pdb.and_then(by_pdb) {
        out.push(ProfileChoice {
            profile: p,
            kind: MatchKind::ExactPdb,
        });
    }
    if let Some((b, f)) = build.and_then(|b| Some((b, family_of(b)?))) {
        let kind = if b == f.table {
            MatchKind::SameBuild
        } else {
            MatchKind::Family { table: f.table }
        };
        if let Some(p) = table(f.table) {
            if !out.iter().any(|c| c.profile.source.name == p.source.name) {
                out.push(ProfileChoice {
                    profile: p.clone(),
                    kind,
                });
            }
        }
    }
    out
}

/// A user's ISF or PDB file first; else exact PDB GUID+age; else same build; else the
/// build's family. Errors: the user's file does not load, or the build is unknown.
pub fn select_profile(
    user_isf: Option<&Path>,
    user_pdb: Option<&Path>,
    pdb: Option<&PdbId>,
    build: Option<u32>,
) -> Result<ProfileChoice, SymbolError> {
    if let Some(path) = user_isf {
        return Ok(ProfileChoice {
            profile: Profile::from_isf_path(path)?,
            kind: MatchKind::UserIsf,
        });
    }
    if let Some(path) = user_pdb {
        return Ok(ProfileChoice {
            profile: Profile::from_pdb_path(path)?,
            kind: MatchKind::UserPdb,
        });
    }
    candidates(pdb, build)
        .into_iter()
        .next()
        .ok_or_else(|| SymbolError::NoProfile {
            pdb: pdb.map(PdbId::guid_age),
            build,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::family::FAMILIES;

    #[test]
    fn one_table_per_family() {
        let families: Vec<u32> = FAMILIES.iter().map(|f| f.table).collect();
        assert_eq!(tables(), families);
        for t in tables() {
            let p = table(t).unwrap_or_else(|| panic!("bundled/{t}.json.xz does not parse"));
            assert_eq!(p.build, Some(t));
        }
    }
}
