//! The committed bundled profiles are exactly what the generator writes from testdata/, and
//! the partial 26100 table states only what its sources state.
#![allow(clippy::unwrap_used)]

use memtriage_profilegen::generate;
use memtriage_symbols::{bundled, FieldType};
use serde_json::Value;
use std::path::Path;

const DATA: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata");
const BUNDLED: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../memtriage-symbols/bundled");

fn offsets() -> Value {
    let text = std::fs::read(Path::new(DATA).join("layouts/offsets.json")).unwrap();
    serde_json::from_slice(&text).unwrap()
}

#[test]
fn bundled_26100_equals_offsets_json() {
    let o = offsets();
    let entry = &o["builds"]["26100"];
    let shared = Path::new(DATA).join("layouts/offsets.json");
    let (flat, sizes) = generate::flat_26100(entry, &shared).unwrap();
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
    let files = generate::generate(Path::new(DATA)).unwrap();
    let dir = Path::new(BUNDLED);
    let mut names: Vec<String> = files.iter().map(|f| f.file_name.clone()).collect();
    for f in &files {
        let committed = std::fs::read(dir.join(&f.file_name)).unwrap();
        assert!(
            committed == f.bytes,
            "bundled/{} is stale: run memtriage-profilegen (see docs/profiles.md)",
            f.file_name
        );
    }
    let mut on_disk: Vec<String> = std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    on_disk.sort();
    assert_eq!(names, on_disk);
    let total: usize = files.iter().map(|f| f.bytes.len()).sum();
    assert!(total < 2 * 1024 * 1024, "{total}");
}
