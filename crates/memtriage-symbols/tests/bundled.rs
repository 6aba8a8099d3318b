//! Bundled profiles against their sources, regeneration, spot checks and matching.
#![allow(clippy::unwrap_used)]

use memtriage_symbols::{
    bundled, candidates, select_profile, FieldType, MatchKind, PdbId, Profile, SourceKind,
    SymbolError,
};
use serde_json::Value;
use std::path::{Path, PathBuf};

const SHARED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata");

fn offsets() -> Value {
    let text = std::fs::read(Path::new(SHARED).join("layouts/offsets.json")).unwrap();
    serde_json::from_slice(&text).unwrap()
}

fn isf_path(build: u32) -> PathBuf {
    std::fs::read_dir(Path::new(SHARED).join("isf"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .find(|p| {
            p.file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .starts_with(&format!("ntkrnlmp-{build}-"))
        })
        .unwrap()
}

const ISF_BUILDS: [u32; 6] = [7601, 9600, 14393, 17763, 19041, 22000];

#[test]
fn bundled_isf_profiles_equal_their_isf() {
    let o = offsets();
    for build in ISF_BUILDS {
        let isf = Profile::from_isf_path(&isf_path(build)).unwrap();
        let b = bundled::by_build(build).unwrap();
        assert_eq!(b.source.kind, SourceKind::Bundled);
        assert_eq!(b.source.name, format!("bundled:{build}"));
        assert_eq!(b.build, Some(build));
        assert_eq!(b.pdb, isf.pdb, "{build}");
        assert!(b.pdb.is_some());
        assert_eq!(b.base_types, isf.base_types, "{build}");
        assert!(b.types.len() > 40, "{build}: {}", b.types.len());
        for (name, def) in &b.types {
            // Whole TypeDef: size, union flag, every field's offset and type (bitfields too).
            assert_eq!(Some(def), isf.types.get(name), "{build} {name}");
        }
        for (name, e) in &b.enums {
            assert_eq!(Some(e), isf.enums.get(name), "{build} {name}");
        }
        let listed = o["builds"][build.to_string()]["symbols"]
            .as_object()
            .unwrap();
        assert!(!b.symbols.is_empty());
        for (name, rva) in &b.symbols {
            assert_eq!(Some(rva), isf.symbols.get(name), "{build} {name}");
            // ... which is also what offsets.json says.
            assert_eq!(listed[name]["rva"].as_u64(), Some(*rva), "{build} {name}");
        }
        // Everything offsets.json lists for this build is in the bundled profile.
        for name in listed.keys() {
            assert_eq!(b.symbol(name), isf.symbol(name), "{build} {name}");
        }
        for extra in [
            "_OBJECT_TYPE",
            "_HANDLE_TABLE",
            "_TEB",
            "_KUSER_SHARED_DATA",
            "_MMVAD",
        ] {
            assert!(b.has_type(extra), "{build} {extra}");
        }
        check_structs_and_paths(&b, &o["builds"][build.to_string()], build);
    }
}

/// Every struct size, field and flattened path of an offsets.json build entry resolves in `p`
/// to the same offset, size and bit position.
fn check_structs_and_paths(p: &Profile, entry: &Value, build: u32) -> usize {
    let mut checked = 0;
    for (sname, sv) in entry["structs"].as_object().unwrap() {
        if sv.is_null() {
            continue;
        }
        assert_eq!(
            p.size_of(sname).ok(),
            sv["size"].as_u64(),
            "{build} size {sname}"
        );
        for (fname, f) in sv["fields"].as_object().unwrap() {
            check_field(p, sname, fname, f, build);
            checked += 1;
        }
    }
    for (dotted, f) in entry["paths"].as_object().unwrap() {
        let (ty, rest) = dotted.split_once('.').unwrap();
        check_field(p, ty, rest, f, build);
        checked += 1;
    }
    checked
}

fn check_field(p: &Profile, ty: &str, path: &str, f: &Value, build: u32) {
    let got = p
        .field(ty, path)
        .unwrap_or_else(|e| panic!("{build} {ty}.{path}: {e}"));
    assert_eq!(
        Some(got.offset),
        f["offset"].as_u64(),
        "{build} {ty}.{path}"
    );
    assert_eq!(Some(got.size), f["size"].as_u64(), "{build} {ty}.{path}");
    let want_bits = f["bit_position"]
        .as_u64()
        .map(|pos| (pos as u32, f["bit_length"].as_u64().unwrap() as u32));
    assert_eq!(got.bits, want_bits, "{build} {ty}.{path}");
}

#[test]
fn bundled_vergilius_profiles_equal_offsets_json() {
    let o = offsets();
    for build in [10240u32, 22621, 22631] {
        let entry = &o["builds"][build.to_string()];
        let p = bundled::by_build(build).unwrap();
        assert_eq!(p.build, Some(build));
        assert_eq!(p.source.name, format!("bundled:{build}"));
        assert_eq!(p.pdb, None);
        assert!(p.symbols.is_empty(), "offsets.json has no RVAs for {build}");
        let n = check_structs_and_paths(&p, entry, build);
        assert!(n > 250, "{build}: only {n} values checked");
        // Reverse: every field of the bundled profile is stated by offsets.json (as a struct
        // field, a member of the union it names, or the leaf of a path).
        let structs = entry["structs"].as_object().unwrap();
        let paths = entry["paths"].as_object().unwrap();
        for (tname, def) in &p.types {
            for fname in def.fields.keys() {
                let in_struct = structs
                    .get(tname)
                    .and_then(|s| s["fields"].get(fname))
                    .is_some();
                let in_members = tname.split_once("::").is_some_and(|(outer, f)| {
                    structs
                        .get(outer)
                        .and_then(|s| s["fields"][f]["members"].get(fname))
                        .is_some()
                });
                let in_paths = paths.keys().any(|k| k.ends_with(&format!(".{fname}")));
                assert!(
                    in_struct || in_members || in_paths,
                    "{build}: {tname}.{fname} has no source"
                );
            }
        }
    }
}

#[test]
fn bundled_26100_equals_offsets_json() {
    let o = offsets();
    let entry = &o["builds"]["26100"];
    let shared = Path::new(SHARED).join("layouts/offsets.json");
    let (flat, sizes) = memtriage_symbols::generate::flat_26100(entry, &shared).unwrap();
    let p = bundled::by_build(26100).unwrap();
    assert_eq!(p.pdb, None);
    assert!(p.symbols.is_empty());
    // Every field of the bundled profile is one the source states, with its value.
    let mut checked = 0;
    for (tname, def) in &p.types {
        for (fname, (off, ty)) in &def.fields {
            let src = flat
                .iter()
                .find(|f| f.ty == *tname && f.field == *fname)
                .unwrap_or_else(|| panic!("26100 {tname}.{fname} has no source"));
            assert_eq!(*off, src.offset, "{tname}.{fname}");
            if let Some((pos, len, storage)) = src.bits {
                let FieldType::Bitfield {
                    bit_position,
                    bit_length,
                    ..
                } = ty
                else {
                    panic!("{tname}.{fname} should be a bitfield");
                };
                assert_eq!((*bit_position, *bit_length), (pos, len));
                assert_eq!(p.field(tname, fname).unwrap().size, storage);
            }
            checked += 1;
        }
    }
    assert!(checked > 60, "{checked}");
    for (t, s) in &sizes {
        if p.has_type(t) {
            assert_eq!(p.size_of(t).unwrap(), *s, "{t}");
        }
    }
    // The walker table, read directly.
    let w = &entry["walker"];
    for (k, v) in w.as_object().unwrap() {
        let Some(n) = v.as_u64() else { continue };
        if let Some(f) = k.strip_prefix("EPROCESS.") {
            assert_eq!(p.offset("_EPROCESS", f).unwrap(), n, "{k}");
        }
    }
    assert_eq!(
        p.offset("_EPROCESS", "Pcb.DirectoryTableBase").unwrap(),
        w["KPROCESS.DirectoryTableBase"].as_u64().unwrap()
    );
    assert_eq!(p.size_of("_EPROCESS").unwrap(), 2112);
}

#[test]
fn regeneration_matches_committed_files() {
    let files = memtriage_symbols::generate::generate(Path::new(SHARED)).unwrap();
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("bundled");
    let mut names: Vec<String> = files.iter().map(|f| f.file_name.clone()).collect();
    for f in &files {
        let committed = std::fs::read(dir.join(&f.file_name)).unwrap();
        assert!(
            committed == f.bytes,
            "bundled/{} is stale: run gen-bundled (see docs/profiles.md)",
            f.file_name
        );
    }
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    on_disk.sort();
    assert_eq!(names, on_disk);
    let total: usize = files.iter().map(|f| f.bytes.len()).sum();
    assert!(total < 2 * 1024 * 1024, "{total}");
}

#[test]
fn spot_checks_every_bundled_build() {
    let o = offsets();
    // (build, ActiveProcessLinks, VadFlags.Protection (offset, storage, pos, len), sizeof _MMVAD_SHORT)
    type Spot = (u32, u64, (u64, u64, u32, u32), u64);
    let expected: [Spot; 10] = [
        (7601, 0x188, (40, 8, 56, 5), 64),
        (9600, 0x2e8, (48, 4, 3, 5), 64),
        (10240, 0x2f0, (48, 4, 3, 5), 64),
        (14393, 0x2f0, (48, 4, 3, 5), 64),
        (17763, 0x2e8, (48, 4, 3, 5), 64),
        (19041, 0x448, (48, 4, 7, 5), 64),
        (22000, 0x448, (48, 4, 7, 5), 64),
        (22621, 0x448, (48, 4, 7, 5), 64),
        (22631, 0x448, (48, 4, 7, 5), 64),
        (26100, 0x1d8, (48, 4, 7, 5), 64),
    ];
    assert_eq!(
        bundled::builds(),
        expected.map(|e| e.0).as_slice(),
        "bundled builds"
    );
    for (build, apl, (off, storage, pos, len), vad_size) in expected {
        let p = bundled::by_build(build).unwrap();
        let w = &o["builds"][build.to_string()]["walker"];
        assert_eq!(
            p.offset("_EPROCESS", "ActiveProcessLinks").unwrap(),
            apl,
            "{build}"
        );
        assert_eq!(
            w["EPROCESS.ActiveProcessLinks"].as_u64(),
            Some(apl),
            "{build}"
        );
        assert_eq!(
            p.size_of("_EPROCESS").unwrap(),
            w["eprocess_size"].as_u64().unwrap()
        );
        let f = p.field("_MMVAD_SHORT", "u.VadFlags.Protection").unwrap();
        assert_eq!(
            (f.offset, f.size, f.bits),
            (off, storage, Some((pos, len))),
            "{build}"
        );
        let wp = &w["VadFlags.Protection"];
        assert_eq!(wp["bit_position"].as_u64(), Some(u64::from(pos)));
        assert_eq!(wp["byte_offset_in_MMVAD_SHORT"].as_u64(), Some(off));
        assert_eq!(p.size_of("_MMVAD_SHORT").unwrap(), vad_size, "{build}");
        if let Some(s) = w["mmvad_short_size"].as_u64() {
            assert_eq!(s, vad_size);
        }
        assert_eq!(
            p.offset("_EPROCESS", "Pcb.DirectoryTableBase").unwrap(),
            0x28,
            "{build}"
        );
        // The value extracts as it would from a real VAD.
        assert_eq!(f.extract(0b00100 << pos), 4);
    }
    // Dotted paths through embedded types.
    let p7601 = bundled::by_build(7601).unwrap();
    assert_eq!(
        p7601
            .offset("_EPROCESS", "VadRoot.BalancedRoot.RightChild")
            .unwrap(),
        1096 + 16
    );
    let p19041 = bundled::by_build(19041).unwrap();
    assert_eq!(p19041.offset("_EPROCESS", "VadRoot.Root").unwrap(), 2008);
    assert_eq!(p19041.symbol("PsActiveProcessHead"), Some(0xc1e090));
    assert_eq!(
        bundled::by_build(22621)
            .unwrap()
            .symbol("PsActiveProcessHead"),
        None
    );
}

fn pdb19041() -> PdbId {
    PdbId {
        guid: "606FF669409B00F7FC8C61A9C1670129".into(),
        age: 1,
    }
}

#[test]
fn matching_order_and_fallbacks() {
    // Exact GUID+age.
    let c = select_profile(None, None, Some(&pdb19041()), Some(19041)).unwrap();
    assert_eq!(c.kind, MatchKind::ExactPdb);
    assert_eq!(c.profile.build, Some(19041));
    let lower = PdbId {
        guid: "606ff669409b00f7fc8c61a9c1670129".into(),
        age: 1,
    };
    assert_eq!(bundled::by_pdb(&lower).unwrap().build, Some(19041));
    assert!(bundled::by_pdb(&PdbId {
        age: 2,
        ..pdb19041()
    })
    .is_none());
    // Same build within a layout family.
    let c = select_profile(None, None, None, Some(19045)).unwrap();
    assert_eq!(c.kind, MatchKind::SameBuild);
    assert_eq!(c.profile.build, Some(19041));
    // Unknown GUID with a known build.
    let unknown = PdbId {
        guid: "00000000000000000000000000000001".into(),
        age: 1,
    };
    let c = select_profile(None, None, Some(&unknown), Some(19041)).unwrap();
    assert_eq!(c.kind, MatchKind::SameBuild);
    assert_eq!(c.profile.source.name, "bundled:19041");
    let c = select_profile(None, None, None, Some(22631)).unwrap();
    assert_eq!(
        (c.kind, c.profile.build),
        (MatchKind::SameBuild, Some(22631))
    );
    // Closest lower.
    let c = select_profile(None, None, None, Some(25000)).unwrap();
    assert_eq!(
        c.kind,
        MatchKind::ClosestLowerBuild {
            requested: 25000,
            used: 22631
        }
    );
    assert_eq!(
        c.profile.offset("_EPROCESS", "ActiveProcessLinks").unwrap(),
        0x448
    );
    // Nothing fits.
    let err = select_profile(None, None, None, Some(7000)).unwrap_err();
    assert!(
        matches!(
            err,
            SymbolError::NoProfile {
                build: Some(7000),
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("7000"), "{err}");
    assert!(select_profile(None, None, Some(&unknown), None).is_err());
    // Candidate order with fallbacks, each profile once.
    let all = candidates(Some(&pdb19041()), Some(19041));
    let kinds: Vec<_> = all.iter().map(|c| c.kind.clone()).collect();
    assert_eq!(
        kinds,
        vec![
            MatchKind::ExactPdb,
            MatchKind::ClosestLowerBuild {
                requested: 19041,
                used: 17763
            }
        ]
    );
    let all = candidates(None, Some(22631));
    assert_eq!(all.len(), 2);
    assert_eq!(all[1].profile.build, Some(22000));
    assert!(candidates(None, None).is_empty());
    assert_eq!(bundled::closest_lower(7601).map(|p| p.build), None);
    assert_eq!(bundled::closest_lower(7602).unwrap().build, Some(7601));
}

#[test]
fn user_files_come_first() {
    let isf = isf_path(9600);
    let c = select_profile(Some(&isf), None, Some(&pdb19041()), Some(19041)).unwrap();
    assert_eq!(c.kind, MatchKind::UserIsf);
    assert_eq!(c.profile.build, Some(9600));
    assert_eq!(c.profile.source.kind, SourceKind::Isf);
    // A user file that does not load is an error, not a silent fallback.
    let missing = Path::new("/nonexistent/kernel.json.xz");
    let err = select_profile(Some(missing), None, None, Some(19041)).unwrap_err();
    assert!(
        err.to_string().contains("/nonexistent/kernel.json.xz"),
        "{err}"
    );
}

#[test]
fn malformed_isf_file_names_file_and_field() {
    let dir = std::env::temp_dir().join(format!("memtriage-symbols-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("bad.json");
    std::fs::write(
        &path,
        br#"{"metadata":{},"base_types":{},"user_types":{"_EPROCESS":{"kind":"struct","size":8,"fields":{"Pcb":{"offset":0,"type":{"kind":"bitfield","bit_length":3,"type":{"kind":"base","name":"char"}}}}}}}"#,
    )
    .unwrap();
    let err = Profile::from_isf_path(&path).unwrap_err().to_string();
    assert!(err.contains("bad.json"), "{err}");
    assert!(err.contains("user_types._EPROCESS.fields.Pcb"), "{err}");
    assert!(err.contains("bit_position"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn bundled_first_load_time() {
    let t = std::time::Instant::now();
    for b in bundled::builds() {
        assert!(bundled::by_build(*b).is_some());
    }
    let first = t.elapsed();
    let t = std::time::Instant::now();
    for b in bundled::builds() {
        assert!(bundled::by_build(*b).is_some());
    }
    let cached = t.elapsed();
    eprintln!("bundled: first use of all tables {first:?}, again (clone only) {cached:?}");
    assert!(first.as_secs() < 5);
}
