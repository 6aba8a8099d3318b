//! Profiles compiled into memtriage, and the matching of a kernel to a profile.
//!
//! The tables live in `crates/memtriage-symbols/bundled/<build>.json.xz` (written by the
//! `gen-bundled` binary, see `docs/profiles.md`). Each is decompressed and parsed on first use
//! and cached for the life of the process.

use crate::{PdbId, Profile, ProfileSource, SourceKind, SymbolError};
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

static ENTRIES: [Entry; 9] = [
    entry!(7601),
    entry!(9600),
    entry!(10240),
    entry!(14393),
    entry!(17763),
    entry!(19041),
    entry!(22000),
    entry!(22621),
    entry!(26100),
];

/// Every build number a bundled profile describes (ascending).
static BUILDS: [u32; 10] = [
    7601, 9600, 10240, 14393, 17763, 19041, 22000, 22621, 22631, 26100,
];

/// Builds whose layout is that of another build's table: (first, last, table build).
/// 19041–19045 are Windows 10 2004–22H2 (one kernel layout, the build number moved with
/// enablement packages); 22621 and 22631 are Windows 11 22H2/23H2 (identical layouts in
/// `offsets.json`).
const SAME_LAYOUT: &[(u32, u32, u32)] = &[(19041, 19045, 19041), (22621, 22631, 22621)];

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

/// The table build that holds the layout of `build`, if any.
fn table_build(build: u32) -> Option<u32> {
    for (first, last, t) in SAME_LAYOUT {
        if (*first..=*last).contains(&build) {
            return Some(*t);
        }
    }
    ENTRIES.iter().find(|e| e.build == build).map(|e| e.build)
}

/// The bundled build numbers (ascending). 22621 and 22631 share one table.
pub fn builds() -> &'static [u32] {
    &BUILDS
}

/// The bundled profile generated from exactly this PDB (GUID and age).
pub fn by_pdb(id: &PdbId) -> Option<Profile> {
    ENTRIES.iter().find_map(|e| {
        let p = table(e.build)?;
        let pdb = p.pdb.as_ref()?;
        (pdb.guid.eq_ignore_ascii_case(&id.guid) && pdb.age == id.age).then(|| p.clone())
    })
}

/// The bundled profile with the layout of `build` (19041..=19045 → the 19041 table; 22631 →
/// the 22621/22631 table, reported as build 22631).
pub fn by_build(build: u32) -> Option<Profile> {
    let t = table_build(build)?;
    let mut p = table(t)?.clone();
    if BUILDS.contains(&build) && build != t {
        p.build = Some(build);
        p.source = ProfileSource {
            kind: SourceKind::Bundled,
            name: format!("bundled:{build}"),
        };
    }
    Some(p)
}

/// The bundled profile of the highest bundled build lower than `build`.
pub fn closest_lower(build: u32) -> Option<Profile> {
    BUILDS
        .iter()
        .rev()
        .find(|b| **b < build)
        .and_then(|b| by_build(*b))
}

/// How a profile was chosen.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum MatchKind {
    /// The ISF file the user named.
    UserIsf,
    /// The PDB file the user named.
    UserPdb,
    /// A bundled profile generated from the kernel's own PDB (GUID and age equal).
    ExactPdb,
    /// A bundled profile of the kernel's build (same layout).
    SameBuild,
    /// The bundled profile of the closest lower build: the layout may differ.
    ClosestLowerBuild {
        /// The kernel's build.
        requested: u32,
        /// The build of the profile used.
        used: u32,
    },
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
/// closest lower build. A profile appears once (under its best match). The caller validates
/// each by walking the process list and may fall back to the next.
pub fn candidates(pdb: Option<&PdbId>, build: Option<u32>) -> Vec<ProfileChoice> {
    let mut out: Vec<ProfileChoice> = Vec::new();
    let mut push = |profile: Profile, kind: MatchKind| {
        if !out
            .iter()
            .any(|c| c.profile.source.name == profile.source.name)
        {
            out.push(ProfileChoice { profile, kind });
        }
    };
    if let Some(p) = pdb.and_then(by_pdb) {
        push(p, MatchKind::ExactPdb);
    }
    if let Some(b) = build {
        if let Some(p) = by_build(b) {
            push(p, MatchKind::SameBuild);
        }
        // The closest lower build is a fallback even when the build itself is bundled.
        let below = table_build(b).map_or(b, |t| t.min(b));
        if let Some(p) = closest_lower(below) {
            let used = p.build.unwrap_or(0);
            push(p, MatchKind::ClosestLowerBuild { requested: b, used });
        }
    }
    out
}

/// A user's ISF or PDB file first; else exact PDB GUID+age; else same build; else closest
/// lower build. Errors: the user's file does not load, or no bundled profile fits.
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
