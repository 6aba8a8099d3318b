//! Bundled profiles against their sources, regeneration, spot checks and matching.
#![allow(clippy::unwrap_used)]

use memtriage_symbols::{
    bundled, candidates, select_profile, MatchKind, PdbId, Profile, SourceKind, SymbolError,
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

const ISF_BUILDS: [u32; 8] = [7601, 9600, 14393, 17763, 18362, 19041, 20348, 22000];

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
    for build in [10240u32, 10586, 15063, 16299, 17134, 22621, 22631] {
        let entry = &o["builds"][build.to_string()];
        let p = bundled::by_build(build).unwrap();
        // 22631 is read with its family's table (the generator checks the layouts are equal).
        let table = memtriage_symbols::family_of(build).unwrap().table;
        assert_eq!(p.build, Some(table));
        assert_eq!(p.source.name, format!("bundled:{table}"));
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
fn bundled_26100_walker_table_equals_offsets_json() {
    // The field-by-field comparison with the flattened source is in memtriage-profilegen's
    // tests (it needs the generator's reading of the MemProcFS tables).
    let o = offsets();
    let w = &o["builds"]["26100"]["walker"];
    let p = bundled::by_build(26100).unwrap();
    assert_eq!(p.pdb, None);
    assert!(p.symbols.is_empty());
    assert_eq!(
        bundled::by_build(26200).unwrap().source.name,
        "bundled:26100"
    );
    assert!(check_walker_table(&p, w, 26100) >= 10);
    assert_eq!(p.size_of("_EPROCESS").unwrap(), 2112);
}

/// Every `EPROCESS.*` offset and the sizes of the `walker` table of offsets.json resolve to
/// the same values in `p`. Returns how many EPROCESS offsets were compared.
fn check_walker_table(p: &Profile, w: &Value, build: u32) -> usize {
    let mut n = 0;
    for (k, v) in w.as_object().unwrap() {
        let Some(want) = v.as_u64() else { continue };
        if let Some(mut f) = k.strip_prefix("EPROCESS.") {
            // The walker calls it Wow64Process; the PDB's own name is given beside it (the
            // 26100 table, built from the walker view, keeps the walker's name).
            if let Some(name) = w[format!("{k}.field_name")].as_str() {
                if p.has_field("_EPROCESS", name) {
                    f = name;
                }
            }
            assert_eq!(p.offset("_EPROCESS", f).ok(), Some(want), "{build} {k}");
            n += 1;
        }
    }
    assert_eq!(
        p.offset("_EPROCESS", "Pcb.DirectoryTableBase").ok(),
        w["KPROCESS.DirectoryTableBase"].as_u64(),
        "{build}"
    );
    assert_eq!(
        p.size_of("_EPROCESS").ok(),
        w["eprocess_size"].as_u64(),
        "{build}"
    );
    n
}

#[test]
fn every_family_walker_table_equals_offsets_json() {
    let o = offsets();
    for f in memtriage_symbols::FAMILIES {
        for r in f.releases {
            let Some(entry) = o["builds"].get(r.build.to_string()) else {
                continue;
            };
            let p = bundled::by_build(r.build).unwrap();
            assert_eq!(p.source.name, format!("bundled:{}", f.table));
            assert!(
                check_walker_table(&p, &entry["walker"], r.build) >= 10,
                "{}",
                r.build
            );
        }
    }
}

#[test]
fn spot_checks_every_bundled_build() {
    let o = offsets();
    // (build, ActiveProcessLinks, VadFlags.Protection (offset, storage, pos, len),
    //  PrivateMemory bit, sizeof _MMVAD_SHORT)
    type Spot = (u32, u64, (u64, u64, u32, u32), u32, u64);
    let expected: [Spot; 16] = [
        (7601, 0x188, (40, 8, 56, 5), 63, 64),
        (9600, 0x2e8, (48, 4, 3, 5), 15, 64),
        (10240, 0x2f0, (48, 4, 3, 5), 15, 64),
        (10586, 0x2f0, (48, 4, 3, 5), 15, 64),
        (14393, 0x2f0, (48, 4, 3, 5), 15, 64),
        (15063, 0x2e8, (48, 4, 3, 5), 15, 64),
        (16299, 0x2e8, (48, 4, 3, 5), 15, 64),
        (17134, 0x2e8, (48, 4, 3, 5), 14, 64),
        (17763, 0x2e8, (48, 4, 3, 5), 14, 64),
        (18362, 0x2f0, (48, 4, 7, 5), 20, 64),
        (19041, 0x448, (48, 4, 7, 5), 20, 64),
        (20348, 0x448, (48, 4, 7, 5), 21, 64),
        (22000, 0x448, (48, 4, 7, 5), 21, 64),
        (22621, 0x448, (48, 4, 7, 5), 21, 64),
        (22631, 0x448, (48, 4, 7, 5), 21, 64),
        (26100, 0x1d8, (48, 4, 7, 5), 21, 64),
    ];
    let tables: Vec<u32> = memtriage_symbols::FAMILIES
        .iter()
        .map(|f| f.table)
        .collect();
    assert_eq!(bundled::tables(), tables, "bundled tables");
    for (build, apl, (off, storage, pos, len), private_bit, vad_size) in expected {
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
        let private = p.field("_MMVAD_SHORT", "u.VadFlags.PrivateMemory").unwrap();
        assert_eq!(private.bits, Some((private_bit, 1)), "{build}");
        assert_eq!(
            w["VadFlags.PrivateMemory"]["bit_position"].as_u64(),
            Some(u64::from(private_bit)),
            "{build}"
        );
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
fn matching_order_and_families() {
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
    // Another build of the family.
    let c = select_profile(None, None, None, Some(19045)).unwrap();
    assert_eq!(c.kind, MatchKind::Family { table: 19041 });
    assert_eq!(c.kind.to_string(), "family of build 19041");
    assert_eq!(c.profile.build, Some(19041));
    // Unknown GUID with a known build.
    let unknown = PdbId {
        guid: "00000000000000000000000000000001".into(),
        age: 1,
    };
    let c = select_profile(None, None, Some(&unknown), Some(20348)).unwrap();
    assert_eq!(c.kind, MatchKind::SameBuild);
    assert_eq!(c.profile.source.name, "bundled:20348");
    let c = select_profile(None, None, None, Some(18363)).unwrap();
    assert_eq!(
        (c.kind, c.profile.source.name.as_str()),
        (MatchKind::Family { table: 18362 }, "bundled:18362")
    );
    // A build in no family is unknown: no neighbour's layout, above or below.
    for build in [7000, 18364, 19046, 25000, 27000] {
        let err = select_profile(None, None, None, Some(build)).unwrap_err();
        assert!(
            matches!(err, SymbolError::NoProfile { build: Some(b), .. } if b == build),
            "{err}"
        );
        assert!(err.to_string().contains(&build.to_string()), "{err}");
        assert!(candidates(None, Some(build)).is_empty());
    }
    assert!(select_profile(None, None, Some(&unknown), None).is_err());
    // Candidate order, each profile once: the exact PDB is also the build's own table.
    let kinds: Vec<_> = candidates(Some(&pdb19041()), Some(19041))
        .iter()
        .map(|c| c.kind)
        .collect();
    assert_eq!(kinds, vec![MatchKind::ExactPdb]);
    // An exact PDB of one family with a build of another: both, PDB first.
    let all = candidates(Some(&pdb19041()), Some(22631));
    let got: Vec<_> = all
        .iter()
        .map(|c| (c.kind, c.profile.source.name.as_str()))
        .collect();
    assert_eq!(
        got,
        vec![
            (MatchKind::ExactPdb, "bundled:19041"),
            (MatchKind::Family { table: 22621 }, "bundled:22621")
        ]
    );
    assert!(candidates(None, None).is_empty());
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
fn every_known_build_loads_its_family_table() {
    for f in memtriage_symbols::FAMILIES {
        for r in f.releases {
            let p = bundled::by_build(r.build).unwrap();
            assert_eq!(p.build, Some(f.table), "{}", r.build);
            assert!(p.has_type("_EPROCESS"), "{}", r.build);
        }
    }
}
