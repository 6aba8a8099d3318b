//! Generator of the bundled profiles (`crates/memtriage-symbols/bundled/*.json.xz`).
//!
//! Inputs are the project's test data: the Volatility 3 ISF files in `<data>/isf/` and
//! `<data>/layouts/offsets.json`. The `memtriage-profilegen` binary writes the output; the test `regeneration_matches_committed_files` runs [`generate`] in-process and
//! compares the bytes with the committed files, so they cannot drift silently.
//!
//! * Builds with an ISF (7601, 9600, 14393, 17763, 18362, 19041, 20348, 22000): the struct list of
//!   `offsets.json`, [`EXTRA_TYPES`], every `_OBJECT_HEADER*` type, and every struct, union or
//!   enum those embed by value (transitively), copied unchanged from the ISF; all base types;
//!   the ISF's RVAs of the symbols `offsets.json` lists.
//! * 10240, 10586, 15063, 16299, 17134 and 22621/22631 (Vergilius-derived headers): the `structs` of `offsets.json`
//!   (field offsets, type strings, sizes, bitfield positions), the members of the anonymous
//!   unions they list, opaque size-only stubs for the other types they embed by value, and the
//!   leaf fields of the flattened `paths`. No symbol RVAs.
//! * 26100 (partial): the offsets of the MemProcFS per-PDB table, the walker table and the
//!   invariants inferred across builds; field types (hence field sizes) are those of the same
//!   field in the newest earlier bundled build that has it (22631 first); type sizes not given by the source are lower bounds (end of the last known
//!   field). No symbol RVAs, no PDB identity.

use crate::GenError;
use memtriage_symbols::{
    family_of, BaseType, EnumDef, FieldType, Profile, ProfileSource, SourceKind, TypeDef,
};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Types kept in every ISF-derived bundled profile besides the struct list of `offsets.json`.
pub const EXTRA_TYPES: &[&str] = &[
    "_OBJECT_TYPE",
    "_HANDLE_TABLE",
    "_HANDLE_TABLE_ENTRY",
    "_NT_TIB",
    "_TEB",
    "_KLDR_DATA_TABLE_ENTRY",
    "_KUSER_SHARED_DATA",
    "_MMVAD",
    "_KDDEBUGGER_DATA64",
];

/// XZ preset used for the bundled files (fixed so that output is reproducible).
const XZ_PRESET: u32 = 9;

/// One generated file: its name inside `bundled/` and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundledFile {
    /// File name, e.g. `19041.json.xz`.
    pub file_name: String,
    /// The build the file describes.
    pub build: u32,
    /// The xz-compressed compact JSON of a [`Profile`].
    pub bytes: Vec<u8>,
}

fn malformed(path: &Path, reason: impl Into<String>) -> GenError {
    GenError::Malformed {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Generate every bundled profile from `data` (the repository's `testdata/` folder).
pub fn generate(data: &Path) -> Result<Vec<BundledFile>, GenError> {
    let profiles = generate_profiles(data)?;
    let mut out = Vec::new();
    for p in profiles {
        let build = p.build.unwrap_or(0);
        out.push(BundledFile {
            file_name: format!("{build}.json.xz"),
            build,
            bytes: encode(&p)?,
        });
    }
    Ok(out)
}

/// Serialize a profile as compact JSON and compress it with xz.
pub fn encode(p: &Profile) -> Result<Vec<u8>, GenError> {
    let json =
        serde_json::to_vec(p).map_err(|e| malformed(Path::new("<bundled>"), e.to_string()))?;
    let mut enc = xz2::write::XzEncoder::new(Vec::new(), XZ_PRESET);
    let io = |source| GenError::Io {
        path: PathBuf::from("<bundled>"),
        source,
    };
    enc.write_all(&json).map_err(io)?;
    enc.finish().map_err(io)
}

/// Generate the bundled profiles (uncompressed), one per distinct layout, sorted by build.
pub fn generate_profiles(data: &Path) -> Result<Vec<Profile>, GenError> {
    let offsets_path = data.join("layouts/offsets.json");
    let text = std::fs::read(&offsets_path).map_err(|source| GenError::Io {
        path: offsets_path.clone(),
        source,
    })?;
    let offsets: Value = serde_json::from_slice(&text)
        .map_err(|e| malformed(&offsets_path, format!("not JSON: {e}")))?;
    let builds = offsets
        .get("builds")
        .and_then(Value::as_object)
        .ok_or_else(|| malformed(&offsets_path, "no object 'builds'"))?;

    let mut isf_profiles: BTreeMap<u32, Profile> = BTreeMap::new();
    let mut out = Vec::new();
    // First the ISF builds (the Vergilius builds borrow base types from the newest ISF).
    for (key, entry) in builds {
        let build: u32 = key
            .parse()
            .map_err(|_| malformed(&offsets_path, format!("builds.{key}: not a build number")))?;
        let kind = entry
            .pointer("/source/kind")
            .and_then(Value::as_str)
            .unwrap_or("");
        if kind != "isf" {
            continue;
        }
        let file = entry
            .pointer("/source/file")
            .and_then(Value::as_str)
            .ok_or_else(|| malformed(&offsets_path, format!("builds.{key}.source.file missing")))?;
        let isf = Profile::from_isf_path(&data.join(file))?;
        let p = from_isf(&isf, build, entry, &offsets_path)?;
        isf_profiles.insert(build, isf);
        out.push(p);
    }
    let base_types = isf_profiles
        .values()
        .next_back()
        .map(|p| p.base_types.clone())
        .ok_or_else(|| malformed(&offsets_path, "no ISF build to take base types from"))?;

    let mut vergilius: BTreeMap<u32, Profile> = BTreeMap::new();
    for (key, entry) in builds {
        let build: u32 = key.parse().unwrap_or(0);
        let kind = entry
            .pointer("/source/kind")
            .and_then(Value::as_str)
            .unwrap_or("");
        if kind == "vergilius-header" {
            let p = from_vergilius(build, entry, &base_types, &offsets_path)?;
            vergilius.insert(build, p);
        }
    }
    // A family is emitted once, under its table build; another build of the family that
    // `offsets.json` lists must have exactly the table build's layout.
    let members: Vec<u32> = vergilius.keys().copied().collect();
    for build in members {
        let Some(table) = family_of(build).map(|f| f.table) else {
            return Err(malformed(
                &offsets_path,
                format!("builds.{build} is in no build family (memtriage_symbols::FAMILIES)"),
            ));
        };
        if table == build {
            continue;
        }
        if let (Some(a), Some(b)) = (vergilius.get(&build), vergilius.get(&table)) {
            if a.types != b.types || a.symbols != b.symbols {
                return Err(malformed(
                    &offsets_path,
                    format!("builds.{build} is in the family of {table} but its layout differs"),
                ));
            }
        }
        vergilius.remove(&build);
    }
    out.extend(vergilius.into_values());

    if let Some(entry) = builds.get("26100") {
        // Field types come from the newest earlier build that has the field.
        let mut references: Vec<&Profile> = out.iter().collect();
        references.sort_by_key(|p| std::cmp::Reverse(p.build));
        let p = from_memprocfs(26100, entry, &references, &base_types, &offsets_path)?;
        out.push(p);
    }
    out.sort_by_key(|p| p.build);
    for p in &out {
        let build = p.build.unwrap_or(0);
        if family_of(build).map(|f| f.table) != Some(build) {
            return Err(malformed(
                &offsets_path,
                format!("builds.{build} is not the table build of a family"),
            ));
        }
    }
    Ok(out)
}

fn bundled_source(build: u32) -> ProfileSource {
    ProfileSource {
        kind: SourceKind::Bundled,
        name: format!("bundled:{build}"),
    }
}

/// Struct and union names, and enum names, that `ty` embeds by value.
fn embedded(ty: &FieldType, types: &mut Vec<String>, enums: &mut BTreeSet<String>) {
    match ty {
        FieldType::Struct { name } | FieldType::Union { name } => types.push(name.clone()),
        FieldType::Enum { name } => {
            enums.insert(name.clone());
        }
        FieldType::Array { subtype, .. } => embedded(subtype, types, enums),
        FieldType::Bitfield { storage, .. } => embedded(storage, types, enums),
        FieldType::Base { .. } | FieldType::Pointer { .. } | FieldType::Function => {}
    }
}

fn from_isf(isf: &Profile, build: u32, entry: &Value, at: &Path) -> Result<Profile, GenError> {
    let mut roots: Vec<String> = entry
        .get("structs")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    roots.extend(EXTRA_TYPES.iter().map(|s| s.to_string()));
    roots.extend(
        isf.types
            .keys()
            .filter(|k| k.starts_with("_OBJECT_HEADER"))
            .cloned(),
    );
    let mut types = BTreeMap::new();
    let mut enums = BTreeSet::new();
    while let Some(name) = roots.pop() {
        if types.contains_key(&name) {
            continue;
        }
        let Some(def) = isf.types.get(&name) else {
            continue; // not in this build (e.g. _EWOW64PROCESS on 7601)
        };
        for (_, fty) in def.fields.values() {
            embedded(fty, &mut roots, &mut enums);
        }
        types.insert(name, def.clone());
    }
    let enums = enums
        .into_iter()
        .filter_map(|e| isf.enums.get(&e).map(|d| (e, d.clone())))
        .collect();
    let mut symbols = BTreeMap::new();
    if let Some(listed) = entry.get("symbols").and_then(Value::as_object) {
        for name in listed.keys() {
            if let Some(rva) = isf.symbols.get(name) {
                symbols.insert(name.clone(), *rva);
            }
        }
    }
    let pdb = isf.pdb.clone();
    let want = entry.pointer("/pdb/guid").and_then(Value::as_str);
    if want.map(str::to_ascii_uppercase) != pdb.as_ref().map(|p| p.guid.clone()) {
        return Err(malformed(
            at,
            format!("builds.{build}.pdb.guid differs from the ISF's"),
        ));
    }
    Ok(Profile {
        source: bundled_source(build),
        pdb,
        build: Some(build),
        base_types: isf.base_types.clone(),
        types,
        symbols,
        enums,
    })
}

/// Map a base type name of the Vergilius headers to the ISF's name.
fn vergilius_base(name: &str) -> Option<&'static str> {
    Some(match name {
        "VOID" | "void" => "void",
        "UCHAR" | "unsigned char" => "unsigned char",
        "CHAR" | "char" => "char",
        "USHORT" | "unsigned short" => "unsigned short",
        "SHORT" | "short" => "short",
        "ULONG" | "unsigned long" => "unsigned long",
        "LONG" | "long" => "long",
        "ULONGLONG" | "unsigned long long" => "unsigned long long",
        "LONGLONG" | "long long" => "long long",
        "WCHAR" | "wchar_t" => "wchar",
        "INT" | "int" => "int",
        "UINT" | "unsigned int" => "unsigned int",
        _ => return None,
    })
}

/// Parse a type string of `offsets.json` (`ULONG`, `VOID *`, `UCHAR[15]`, `ULONG : 5 @bit 7`,
/// `struct _LIST_ENTRY`, `union _MMVAD_SHORT::u`, `struct _RTL_BALANCED_NODE *[2]`).
pub fn parse_type_string(s: &str) -> Result<FieldType, String> {
    let s = s.trim();
    if let Some((storage, rest)) = s.split_once(" : ") {
        let (len, pos) = rest
            .split_once(" @bit ")
            .ok_or_else(|| format!("bitfield type '{s}' without '@bit'"))?;
        return Ok(FieldType::Bitfield {
            bit_position: pos
                .trim()
                .parse()
                .map_err(|_| format!("bad bit position in '{s}'"))?,
            bit_length: len
                .trim()
                .parse()
                .map_err(|_| format!("bad bit length in '{s}'"))?,
            storage: Box::new(parse_type_string(storage)?),
        });
    }
    if let Some(inner) = s.strip_suffix(']') {
        let open = inner
            .rfind('[')
            .ok_or_else(|| format!("unbalanced '[' in '{s}'"))?;
        let count = inner[open + 1..]
            .trim()
            .parse()
            .map_err(|_| format!("bad array count in '{s}'"))?;
        return Ok(FieldType::Array {
            count,
            subtype: Box::new(parse_type_string(&inner[..open])?),
        });
    }
    if let Some(inner) = s.strip_suffix('*') {
        return Ok(FieldType::Pointer {
            subtype: Box::new(parse_type_string(inner)?),
        });
    }
    if let Some(n) = s.strip_prefix("struct ") {
        return Ok(FieldType::Struct {
            name: n.trim().into(),
        });
    }
    if let Some(n) = s.strip_prefix("union ") {
        return Ok(FieldType::Union {
            name: n.trim().into(),
        });
    }
    if let Some(n) = s.strip_prefix("enum ") {
        return Ok(FieldType::Enum {
            name: n.trim().into(),
        });
    }
    vergilius_base(s)
        .map(|n| FieldType::Base { name: n.into() })
        .ok_or_else(|| format!("unknown type '{s}'"))
}

fn get_u64(v: &Value, key: &str, at: &str, path: &Path) -> Result<u64, GenError> {
    v.get(key).and_then(Value::as_u64).ok_or_else(|| {
        malformed(
            path,
            format!("{at}.{key}: missing or not an unsigned integer"),
        )
    })
}

/// The field type of a `structs`/`paths` entry: its type string, checked against its explicit
/// `bit_position`/`bit_length`.
fn entry_type(f: &Value, at: &str, path: &Path) -> Result<FieldType, GenError> {
    let ts = f
        .get("type")
        .and_then(Value::as_str)
        .ok_or_else(|| malformed(path, format!("{at}.type missing")))?;
    let ty = parse_type_string(ts).map_err(|e| malformed(path, format!("{at}.type: {e}")))?;
    let explicit = (
        f.get("bit_position").and_then(Value::as_u64),
        f.get("bit_length").and_then(Value::as_u64),
    );
    let parsed = match &ty {
        FieldType::Bitfield {
            bit_position,
            bit_length,
            ..
        } => (Some(u64::from(*bit_position)), Some(u64::from(*bit_length))),
        _ => (None, None),
    };
    if explicit != parsed {
        return Err(malformed(
            path,
            format!("{at}: bit_position/bit_length disagree with type '{ts}'"),
        ));
    }
    Ok(ty)
}

fn from_vergilius(
    build: u32,
    entry: &Value,
    base_types: &BTreeMap<String, BaseType>,
    path: &Path,
) -> Result<Profile, GenError> {
    let mut p = Profile {
        source: bundled_source(build),
        pdb: None,
        build: Some(build),
        base_types: base_types.clone(),
        types: BTreeMap::new(),
        symbols: BTreeMap::new(),
        enums: BTreeMap::new(),
    };
    let structs = entry
        .get("structs")
        .and_then(Value::as_object)
        .ok_or_else(|| malformed(path, format!("builds.{build}.structs missing")))?;
    // Sizes of by-value types known only from the fields that embed them.
    let mut stub_sizes: BTreeMap<String, (bool, u64)> = BTreeMap::new();
    let mut note_stub = |ty: &FieldType, size: u64, at: &str| -> Result<(), GenError> {
        let (name, kind_enum, size) = match ty {
            FieldType::Struct { name } | FieldType::Union { name } => (name, false, size),
            FieldType::Enum { name } => (name, true, size),
            FieldType::Array { count, subtype } => match subtype.as_ref() {
                FieldType::Struct { name } | FieldType::Union { name } if *count > 0 => {
                    (name, false, size / count)
                }
                _ => return Ok(()),
            },
            _ => return Ok(()),
        };
        if let Some((_, old)) = stub_sizes.insert(name.clone(), (kind_enum, size)) {
            if old != size {
                return Err(malformed(
                    path,
                    format!("{at}: type {name} has size {old} and {size}"),
                ));
            }
        }
        Ok(())
    };
    let mut member_unions = BTreeSet::new();
    for (sname, sv) in structs {
        if sv.is_null() {
            continue; // not in this build
        }
        let at = format!("builds.{build}.structs.{sname}");
        let mut def = TypeDef {
            size: get_u64(sv, "size", &at, path)?,
            union: false,
            fields: BTreeMap::new(),
        };
        let fields = sv
            .get("fields")
            .and_then(Value::as_object)
            .ok_or_else(|| malformed(path, format!("{at}.fields missing")))?;
        for (fname, f) in fields {
            let fat = format!("{at}.fields.{fname}");
            let ty = entry_type(f, &fat, path)?;
            let size = get_u64(f, "size", &fat, path)?;
            note_stub(&ty, size, &fat)?;
            if let (Some(members), FieldType::Union { name } | FieldType::Struct { name }) =
                (f.get("members").and_then(Value::as_object), &ty)
            {
                let mut u = TypeDef {
                    size,
                    union: matches!(ty, FieldType::Union { .. }),
                    fields: BTreeMap::new(),
                };
                for (mname, mt) in members {
                    let ts = mt.as_str().ok_or_else(|| {
                        malformed(path, format!("{fat}.members.{mname}: not a type string"))
                    })?;
                    let mty = parse_type_string(ts)
                        .map_err(|e| malformed(path, format!("{fat}.members.{mname}: {e}")))?;
                    u.fields.insert(mname.clone(), (0, mty));
                }
                member_unions.insert(name.clone());
                p.types.insert(name.clone(), u);
            }
            def.fields
                .insert(fname.clone(), (get_u64(f, "offset", &fat, path)?, ty));
        }
        p.types.insert(sname.clone(), def);
    }
    for (name, (is_enum, size)) in stub_sizes {
        if is_enum {
            p.enums.entry(name).or_insert(EnumDef {
                size,
                constants: BTreeMap::new(),
            });
        } else {
            p.types.entry(name).or_insert(TypeDef {
                size,
                union: false,
                fields: BTreeMap::new(),
            });
        }
    }
    // Union members may embed types the source does not describe (their size is unknown):
    // such members are left out.
    for name in &member_unions {
        let Some(def) = p.types.get(name) else {
            continue;
        };
        let unknown: Vec<String> = def
            .fields
            .iter()
            .filter(|(_, (_, t))| p.size_of_field_type(t).is_none())
            .map(|(k, _)| k.clone())
            .collect();
        if let Some(def) = p.types.get_mut(name) {
            for k in unknown {
                def.fields.remove(&k);
            }
        }
    }
    if let Some(paths) = entry.get("paths").and_then(Value::as_object) {
        for (dotted, f) in paths {
            let at = format!("builds.{build}.paths.{dotted}");
            merge_path(&mut p, dotted, f, &at, path)?;
        }
    }
    validate_against_structs(&p, structs, build, path)?;
    Ok(p)
}

/// Resolve `T.a.b.c` of `paths`; a missing last field is added to its (stub) parent.
fn merge_path(
    p: &mut Profile,
    dotted: &str,
    f: &Value,
    at: &str,
    path: &Path,
) -> Result<(), GenError> {
    let (ty, rest) = dotted
        .split_once('.')
        .ok_or_else(|| malformed(path, format!("{at}: not a dotted path")))?;
    let offset = get_u64(f, "offset", at, path)?;
    let size = get_u64(f, "size", at, path)?;
    let fty = entry_type(f, at, path)?;
    if p.field(ty, rest).is_err() {
        let (parent_path, leaf) = match rest.rsplit_once('.') {
            Some((a, b)) => (Some(a), b),
            None => (None, rest),
        };
        let (parent_ty, parent_off) = match parent_path {
            Some(pp) => {
                let pf = p
                    .field(ty, pp)
                    .map_err(|e| malformed(path, format!("{at}: {e}")))?;
                match pf.ty {
                    FieldType::Struct { name } | FieldType::Union { name } => (name, pf.offset),
                    _ => return Err(malformed(path, format!("{at}: {ty}.{pp} is not a struct"))),
                }
            }
            None => (ty.to_string(), 0),
        };
        let rel = offset
            .checked_sub(parent_off)
            .ok_or_else(|| malformed(path, format!("{at}: offset before its parent")))?;
        let def = p
            .types
            .get_mut(&parent_ty)
            .ok_or_else(|| malformed(path, format!("{at}: no type {parent_ty}")))?;
        def.fields.insert(leaf.to_string(), (rel, fty.clone()));
    }
    let got = p
        .field(ty, rest)
        .map_err(|e| malformed(path, format!("{at}: {e}")))?;
    if got.offset != offset || got.size != size || got.ty != fty {
        return Err(malformed(
            path,
            format!(
                "{at}: resolves to offset {} size {} type {:?}, source says {offset} {size} {fty:?}",
                got.offset, got.size, got.ty
            ),
        ));
    }
    Ok(())
}

fn validate_against_structs(
    p: &Profile,
    structs: &serde_json::Map<String, Value>,
    build: u32,
    path: &Path,
) -> Result<(), GenError> {
    for (sname, sv) in structs {
        let Some(fields) = sv.get("fields").and_then(Value::as_object) else {
            continue;
        };
        for (fname, f) in fields {
            let at = format!("builds.{build}.structs.{sname}.fields.{fname}");
            let got = p
                .field(sname, fname)
                .map_err(|e| malformed(path, format!("{at}: {e}")))?;
            if got.size != get_u64(f, "size", &at, path)? {
                return Err(malformed(path, format!("{at}: size {} differs", got.size)));
            }
        }
    }
    // Every field of every type must have a computable size.
    for (tname, def) in &p.types {
        for (fname, (_, fty)) in &def.fields {
            if p.size_of_field_type(fty).is_none() {
                return Err(malformed(
                    path,
                    format!("builds.{build}: {tname}.{fname} has a type of unknown size"),
                ));
            }
        }
    }
    Ok(())
}

/// The structural facts the 26100 source does not spell out: the first member of these types
/// is at offset 0 in every Windows build.
const FIRST_MEMBERS: &[(&str, &str)] = &[("_EPROCESS", "Pcb"), ("_MMVAD", "Core")];

/// Where a 26100 offset comes from (used by the generator and the tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlatOffset {
    /// Type name (`_EPROCESS`).
    pub ty: String,
    /// Field name (`ActiveProcessLinks`).
    pub field: String,
    /// Byte offset.
    pub offset: u64,
    /// Bitfield `(position, length, storage size)`.
    pub bits: Option<(u32, u32, u64)>,
    /// The key in `offsets.json` it came from.
    pub source: String,
}

/// Type name of a walker-table key prefix.
fn walker_type(prefix: &str) -> String {
    match prefix {
        "node" => "_RTL_BALANCED_NODE".into(),
        "VadRoot" => "_RTL_AVL_TREE".into(),
        "VadFlags" => "_MMVAD_FLAGS".into(),
        p if p.starts_with('_') => p.into(),
        p => format!("_{p}"),
    }
}

fn is_ident(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

/// Every `Type.Field` offset (and bitfield) the 26100 entry of `offsets.json` states, from
/// `memprocfs_per_pdb_consistent`, `walker` and `inferred_invariant`; and the type sizes it
/// states. Conflicting statements are an error.
#[allow(clippy::type_complexity)]
pub fn flat_26100(
    entry: &Value,
    path: &Path,
) -> Result<(Vec<FlatOffset>, BTreeMap<String, u64>), GenError> {
    let mut out: BTreeMap<(String, String), FlatOffset> = BTreeMap::new();
    let mut sizes: BTreeMap<String, u64> = BTreeMap::new();
    let mut add = |o: FlatOffset| -> Result<(), GenError> {
        let key = (o.ty.clone(), o.field.clone());
        if let Some(old) = out.get(&key) {
            if old.offset != o.offset || (o.bits.is_some() && old.bits != o.bits) {
                return Err(malformed(
                    path,
                    format!(
                        "builds.26100: {} and {} disagree on {}.{}",
                        old.source, o.source, o.ty, o.field
                    ),
                ));
            }
            if old.bits.is_some() {
                return Ok(());
            }
        }
        out.insert(key, o);
        Ok(())
    };
    let mut add_size = |ty: String, size: u64, src: &str| -> Result<(), GenError> {
        if let Some(old) = sizes.insert(ty.clone(), size) {
            if old != size {
                return Err(malformed(
                    path,
                    format!("builds.26100.{src}: size of {ty} disagrees"),
                ));
            }
        }
        Ok(())
    };
    if let Some(m) = entry
        .get("memprocfs_per_pdb_consistent")
        .and_then(Value::as_object)
    {
        for (k, v) in m {
            let Some(n) = v.as_u64() else { continue };
            let src = format!("memprocfs_per_pdb_consistent.{k}");
            if let Some(ty) = k.strip_prefix("sizeof ") {
                add_size(ty.to_string(), n, &src)?;
            } else if let Some((t, f)) = k.split_once('.') {
                if is_ident(t) && is_ident(f) {
                    add(FlatOffset {
                        ty: walker_type(t),
                        field: f.into(),
                        offset: n,
                        bits: None,
                        source: src,
                    })?;
                }
            }
        }
    }
    if let Some(m) = entry.get("walker").and_then(Value::as_object) {
        for (k, v) in m {
            let src = format!("walker.{k}");
            match k.as_str() {
                "eprocess_size" => {
                    if let Some(n) = v.as_u64() {
                        add_size("_EPROCESS".into(), n, &src)?;
                    }
                    continue;
                }
                "pool_header_size" => {
                    if let Some(n) = v.as_u64() {
                        add_size("_POOL_HEADER".into(), n, &src)?;
                    }
                    continue;
                }
                _ => {}
            }
            if let Some(obj) = v.as_object() {
                // A bitfield: {byte_offset_in_MMVAD_SHORT, storage_size, bit_position, bit_length}.
                let g = |key: &str| obj.get(key).and_then(Value::as_u64);
                let (Some(byte), Some(storage), Some(pos), Some(len)) = (
                    g("byte_offset_in_MMVAD_SHORT"),
                    g("storage_size"),
                    g("bit_position"),
                    g("bit_length"),
                ) else {
                    continue;
                };
                let (pos, len) = (
                    u32::try_from(pos).map_err(|_| {
                        malformed(path, format!("builds.26100.{src}: bit position"))
                    })?,
                    u32::try_from(len)
                        .map_err(|_| malformed(path, format!("builds.26100.{src}: bit length")))?,
                );
                // The flags union holding the bitfield: VadFlags.* in `u`, CommitCharge in `u1`.
                let dotted = obj
                    .get("path")
                    .and_then(Value::as_str)
                    .map(str::to_string)
                    .unwrap_or_else(|| format!("u.{k}"));
                let parts: Vec<&str> = dotted.split('.').collect();
                let [union_field, flags_field, leaf] = parts.as_slice() else {
                    continue;
                };
                let flags_ty = match *flags_field {
                    "VadFlags" => "_MMVAD_FLAGS",
                    "VadFlags1" => "_MMVAD_FLAGS1",
                    _ => continue,
                };
                add(FlatOffset {
                    ty: "_MMVAD_SHORT".into(),
                    field: (*union_field).into(),
                    offset: byte,
                    bits: None,
                    source: src.clone(),
                })?;
                add(FlatOffset {
                    ty: format!("_MMVAD_SHORT::{union_field}"),
                    field: (*flags_field).into(),
                    offset: 0,
                    bits: None,
                    source: src.clone(),
                })?;
                add(FlatOffset {
                    ty: flags_ty.into(),
                    field: (*leaf).into(),
                    offset: 0,
                    bits: Some((pos, len, storage)),
                    source: src,
                })?;
                continue;
            }
            let Some(n) = v.as_u64() else { continue };
            let Some((t, f)) = k.split_once('.') else {
                continue;
            };
            if is_ident(t) && is_ident(f) {
                add(FlatOffset {
                    ty: walker_type(t),
                    field: f.into(),
                    offset: n,
                    bits: None,
                    source: src,
                })?;
            }
        }
    }
    if let Some(m) = entry.get("inferred_invariant").and_then(Value::as_object) {
        for (k, v) in m {
            let Some(n) = v.get("value").and_then(Value::as_u64) else {
                continue;
            };
            let Some((t, f)) = k.split_once('.') else {
                continue;
            };
            if k == "EX_FAST_REF.RefCnt_bits" || !is_ident(t) || !is_ident(f) {
                continue; // a bit count, not an offset
            }
            add(FlatOffset {
                ty: walker_type(t),
                field: f.into(),
                offset: n,
                bits: None,
                source: format!("inferred_invariant.{k}"),
            })?;
        }
    }
    for (t, f) in FIRST_MEMBERS {
        add(FlatOffset {
            ty: (*t).into(),
            field: (*f).into(),
            offset: 0,
            bits: None,
            source: "first member (structural invariant)".into(),
        })?;
    }
    Ok((out.into_values().collect(), sizes))
}

fn storage_base(size: u64) -> Option<&'static str> {
    Some(match size {
        1 => "unsigned char",
        2 => "unsigned short",
        4 => "unsigned long",
        8 => "unsigned long long",
        _ => return None,
    })
}

fn from_memprocfs(
    build: u32,
    entry: &Value,
    references: &[&Profile],
    base_types: &BTreeMap<String, BaseType>,
    path: &Path,
) -> Result<Profile, GenError> {
    let (flat, sizes) = flat_26100(entry, path)?;
    let ref_field = |ty: &str, field: &str| {
        references.iter().find_map(|r| {
            r.types
                .get(ty)
                .and_then(|d| d.fields.get(field))
                .map(|(_, t)| t.clone())
        })
    };
    let ref_type = |ty: &str| references.iter().find_map(|r| r.types.get(ty));
    let ref_enum = |ty: &str| references.iter().find_map(|r| r.enums.get(ty));
    let mut types: BTreeMap<String, TypeDef> = BTreeMap::new();
    let mut union_sizes: BTreeMap<String, u64> = BTreeMap::new();
    for o in &flat {
        let fty = if let Some((pos, len, storage)) = o.bits {
            let base = storage_base(storage).ok_or_else(|| {
                malformed(
                    path,
                    format!("builds.26100.{}: storage size {storage}", o.source),
                )
            })?;
            // The union holding these flags is as wide as their storage unit.
            union_sizes.insert(o.ty.clone(), storage);
            FieldType::Bitfield {
                bit_position: pos,
                bit_length: len,
                storage: Box::new(FieldType::Base { name: base.into() }),
            }
        } else if let Some(t) = ref_field(&o.ty, &o.field) {
            t
        } else {
            continue; // no type known for this field: left out of the partial profile
        };
        let def = types.entry(o.ty.clone()).or_insert_with(|| TypeDef {
            size: 0,
            union: o.ty.contains("::") || ref_type(&o.ty).is_some_and(|d| d.union),
            fields: BTreeMap::new(),
        });
        def.fields.insert(o.field.clone(), (o.offset, fty));
    }
    // Flags unions/structs sized by their storage unit.
    for o in &flat {
        if let Some((_, _, storage)) = o.bits {
            for (tname, def) in types.iter_mut() {
                if def
                    .fields
                    .values()
                    .any(|(_, t)| matches!(t, FieldType::Struct { name } if *name == o.ty))
                    && tname.contains("::")
                {
                    union_sizes.insert(tname.clone(), storage);
                }
            }
        }
    }
    // Stubs for types embedded by value that the source does not describe: sizes of the
    // newest earlier build that has them.
    let mut enums = BTreeMap::new();
    loop {
        let mut wanted = Vec::new();
        let mut wanted_enums = BTreeSet::new();
        for def in types.values() {
            for (_, t) in def.fields.values() {
                embedded(t, &mut wanted, &mut wanted_enums);
            }
        }
        let mut added = false;
        for w in wanted {
            if types.contains_key(&w) {
                continue;
            }
            let r = ref_type(&w).ok_or_else(|| {
                malformed(
                    path,
                    format!("builds.26100: no size known for embedded type {w}"),
                )
            })?;
            types.insert(
                w,
                TypeDef {
                    size: r.size,
                    union: r.union,
                    fields: BTreeMap::new(),
                },
            );
            added = true;
        }
        for e in wanted_enums {
            if let Some(d) = ref_enum(&e) {
                enums.entry(e).or_insert_with(|| d.clone());
            }
        }
        if !added {
            break;
        }
    }
    // Sizes: stated by the source, else the flags' storage unit, else a lower bound.
    let names: Vec<String> = types.keys().cloned().collect();
    let mut p = Profile {
        source: bundled_source(build),
        pdb: None,
        build: Some(build),
        base_types: base_types.clone(),
        types,
        symbols: BTreeMap::new(),
        enums,
    };
    for n in &names {
        if let Some(s) = sizes.get(n).or(union_sizes.get(n)) {
            if let Some(d) = p.types.get_mut(n) {
                d.size = *s;
            }
        }
    }
    // Lower bounds, innermost first (by-value nesting is at most a few levels deep).
    for _ in 0..8 {
        for n in &names {
            if sizes.contains_key(n) || union_sizes.contains_key(n) {
                continue;
            }
            let Some(def) = p.types.get(n) else { continue };
            if def.fields.is_empty() {
                continue; // a stub with its 22631 size
            }
            let mut end = 0;
            for (off, t) in def.fields.values() {
                end = end.max(off + p.size_of_field_type(t).unwrap_or(0));
            }
            if let Some(d) = p.types.get_mut(n) {
                d.size = end;
            }
        }
    }
    // Every stated value must resolve.
    for o in &flat {
        if p.types
            .get(&o.ty)
            .is_some_and(|d| d.fields.contains_key(&o.field))
        {
            let f = p
                .field(&o.ty, &o.field)
                .map_err(|e| malformed(path, format!("builds.26100.{}: {e}", o.source)))?;
            if f.offset != o.offset {
                return Err(malformed(
                    path,
                    format!("builds.26100.{}: offset differs", o.source),
                ));
            }
        }
    }
    for (n, s) in &sizes {
        if let Some(d) = p.types.get(n) {
            if d.size != *s {
                return Err(malformed(
                    path,
                    format!("builds.26100: size of {n} differs"),
                ));
            }
        }
    }
    Ok(p)
}
