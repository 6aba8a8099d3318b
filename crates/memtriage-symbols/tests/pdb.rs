//! PDB loader against a real PDB written by lld-link (tests/data/tiny.pdb, source tiny.c).
//! Expected values: the MSVC x64 layout of tiny.c, as also printed by `llvm-pdbutil dump -types`.
#![allow(clippy::unwrap_used)]

use memtriage_symbols::{FieldType, PdbId, Profile, SourceKind};
use std::path::{Path, PathBuf};

fn tiny() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/tiny.pdb")
}

#[test]
fn real_pdb_layouts_symbols_and_identity() {
    let p = Profile::from_pdb_path(&tiny()).unwrap();
    assert_eq!(p.source.kind, SourceKind::Pdb);
    assert!(p.source.name.ends_with("tiny.pdb"));
    assert_eq!(
        p.pdb,
        Some(PdbId {
            guid: "30F45EF4FEA38C104C4C44205044422E".into(),
            age: 1
        })
    );
    assert_eq!(p.size_of("_LIST_ENTRY").unwrap(), 16);
    assert_eq!(p.size_of("_MMVAD_FLAGS").unwrap(), 4);
    assert_eq!(p.size_of("_MMVAD_SHORT").unwrap(), 88);
    assert_eq!(p.size_of("_EPROCESS").unwrap(), 136);
    let off = |t: &str, f: &str| p.offset(t, f).unwrap();
    assert_eq!(off("_EPROCESS", "UniqueProcessId"), 0);
    assert_eq!(off("_EPROCESS", "ActiveProcessLinks"), 8);
    assert_eq!(off("_EPROCESS", "ActiveProcessLinks.Blink"), 16);
    assert_eq!(off("_EPROCESS", "ImageFileName"), 24);
    assert_eq!(off("_EPROCESS", "VadRoot"), 40);
    assert_eq!(off("_EPROCESS", "Counter"), 128);
    assert_eq!(off("_MMVAD_SHORT", "EndingVpnHigh"), 25);
    assert_eq!(off("_MMVAD_SHORT", "Kind"), 40);
    // Dotted path through an embedded struct, an anonymous union and a bitfield.
    let f = p
        .field("_EPROCESS", "VadRoot.u.VadFlags.Protection")
        .unwrap();
    assert_eq!((f.offset, f.size, f.bits), (40 + 28, 4, Some((7, 5))));
    let f = p.field("_MMVAD_SHORT", "u.VadFlags.PrivateMemory").unwrap();
    assert_eq!((f.offset, f.bits), (28, Some((20, 1))));
    assert!(p.types["_MMVAD_SHORT"].fields["u"].1 != FieldType::Function);
    let union_name = match &p.types["_MMVAD_SHORT"].fields["u"].1 {
        FieldType::Union { name } => name.clone(),
        other => panic!("u is {other:?}"),
    };
    assert!(union_name.starts_with("__unnamed_"), "{union_name}");
    assert!(p.types[&union_name].union);
    assert_eq!(p.types[&union_name].size, 4);
    // 64-bit bitfields.
    let big = p.field("_MMVAD_SHORT", "Big").unwrap();
    assert_eq!((big.offset, big.size, big.bits), (32, 8, Some((0, 40))));
    let small = p.field("_MMVAD_SHORT", "Small").unwrap();
    assert_eq!((small.offset, small.bits), (32, Some((40, 3))));
    // Arrays: 1-D, of pointers, 2-D.
    let a = p.field("_EPROCESS", "ImageFileName").unwrap();
    assert_eq!(a.size, 15);
    assert_eq!(
        a.ty,
        FieldType::Array {
            count: 15,
            subtype: Box::new(FieldType::Base {
                name: "unsigned char".into()
            })
        }
    );
    let c = p.field("_MMVAD_SHORT", "Children").unwrap();
    assert_eq!((c.offset, c.size), (48, 16));
    assert_eq!(
        c.ty,
        FieldType::Array {
            count: 2,
            subtype: Box::new(FieldType::Pointer {
                subtype: Box::new(FieldType::Struct {
                    name: "_MMVAD_SHORT".into()
                })
            })
        }
    );
    let n = p.field("_MMVAD_SHORT", "Name").unwrap();
    assert_eq!((n.offset, n.size), (64, 24));
    let FieldType::Array { count: 3, subtype } = &n.ty else {
        panic!("{:?}", n.ty)
    };
    assert!(matches!(
        subtype.as_ref(),
        FieldType::Array { count: 4, .. }
    ));
    // Pointers, modifiers (const volatile long → long), enums.
    assert_eq!(
        p.field("_EPROCESS", "UniqueProcessId").unwrap().ty,
        FieldType::Pointer {
            subtype: Box::new(FieldType::Base {
                name: "void".into()
            })
        }
    );
    assert_eq!(
        p.field("_EPROCESS", "Counter").unwrap().ty,
        FieldType::Base {
            name: "long".into()
        }
    );
    assert_eq!(p.base_types["long"].size, 4);
    assert!(p.base_types["long"].signed);
    assert_eq!(p.field("_MMVAD_SHORT", "Kind").unwrap().size, 4);
    assert_eq!(p.enum_value("_VAD_TYPE", "VadImageMap"), Some(2));
    assert_eq!(p.enum_value("_VAD_TYPE", "VadBig"), Some(0x7fff_ffff));
    // Public symbols as RVAs (sections: .text 0x1000, .data 0x3000).
    assert_eq!(p.symbol("TinyProtection"), Some(0x1000));
    assert_eq!(p.symbol("TinyCount"), Some(0x3000));
    assert_eq!(p.symbol("PsInitialSystemProcessObject"), Some(0x3008));
}

#[test]
fn malformed_pdb_is_an_error_naming_the_file() {
    let dir = std::env::temp_dir().join(format!("memtriage-pdb-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let bytes = std::fs::read(tiny()).unwrap();
    // Not a PDB at all.
    let junk = dir.join("junk.pdb");
    std::fs::write(&junk, b"this is not an MSF file").unwrap();
    let err = Profile::from_pdb_path(&junk).unwrap_err().to_string();
    assert!(
        err.contains("junk.pdb") && err.contains("not a PDB"),
        "{err}"
    );
    // Truncated: the MSF header promises blocks the file does not have.
    let cut = dir.join("truncated.pdb");
    std::fs::write(&cut, &bytes[..8192]).unwrap();
    let err = Profile::from_pdb_path(&cut).unwrap_err().to_string();
    assert!(err.contains("truncated.pdb"), "{err}");
    // A member whose type index points past the type stream: the error names the record.
    let at = bytes
        .windows(18)
        .position(|w| w[..2] == [0x0d, 0x15] && &w[10..18] == b"Counter\0")
        .expect("LF_MEMBER record of _EPROCESS.Counter");
    let mut bad = bytes.clone();
    bad[at + 4..at + 8].copy_from_slice(&0x7fffu32.to_le_bytes());
    let broken = dir.join("badtype.pdb");
    std::fs::write(&broken, &bad).unwrap();
    let err = Profile::from_pdb_path(&broken).unwrap_err().to_string();
    assert!(err.contains("badtype.pdb"), "{err}");
    assert!(err.contains("_EPROCESS.Counter"), "{err}");
    assert!(err.contains("0x7fff") || err.contains("7fff"), "{err}");
    // Missing file.
    let err = Profile::from_pdb_path(&dir.join("absent.pdb"))
        .unwrap_err()
        .to_string();
    assert!(err.contains("absent.pdb"), "{err}");
    std::fs::remove_dir_all(&dir).ok();
}
