//! Volatility 3 ISF (Intermediate Symbol Format) loader: `.json` and `.json.xz`.

use crate::profile::{
    BaseType, EnumDef, FieldType, PdbId, Profile, ProfileSource, SourceKind, TypeDef,
};
use crate::SymbolError;
use serde::Deserialize;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::Path;

/// Largest decompressed ISF accepted (real kernel ISFs are ~30 MiB).
const MAX_ISF_BYTES: u64 = 512 * 1024 * 1024;

#[derive(Deserialize)]
struct IsfFile {
    metadata: IsfMetadata,
    base_types: BTreeMap<String, IsfBase>,
    user_types: BTreeMap<String, IsfUser>,
    #[serde(default)]
    enums: BTreeMap<String, IsfEnum>,
    #[serde(default)]
    symbols: BTreeMap<String, IsfSymbol>,
}

#[derive(Deserialize)]
struct IsfMetadata {
    #[serde(default)]
    windows: Option<IsfWindows>,
}

#[derive(Deserialize)]
struct IsfWindows {
    pdb: Option<IsfPdb>,
}

#[derive(Deserialize)]
#[allow(non_snake_case)]
struct IsfPdb {
    GUID: String,
    age: u32,
}

#[derive(Deserialize)]
struct IsfBase {
    size: u64,
    #[serde(default)]
    signed: bool,
}

#[derive(Deserialize)]
struct IsfUser {
    kind: String,
    size: u64,
    fields: BTreeMap<String, IsfField>,
}

#[derive(Deserialize)]
struct IsfField {
    offset: u64,
    #[serde(rename = "type")]
    ty: IsfType,
}

#[derive(Deserialize)]
struct IsfType {
    kind: String,
    #[serde(default)]
    name: Option<String>,
    #[serde(default)]
    subtype: Option<Box<IsfType>>,
    #[serde(default, rename = "type")]
    storage: Option<Box<IsfType>>,
    #[serde(default)]
    count: Option<u64>,
    #[serde(default)]
    bit_position: Option<u32>,
    #[serde(default)]
    bit_length: Option<u32>,
}

#[derive(Deserialize)]
struct IsfEnum {
    size: u64,
    constants: BTreeMap<String, i64>,
}

#[derive(Deserialize)]
struct IsfSymbol {
    address: u64,
}

fn convert(t: &IsfType, at: &str) -> Result<FieldType, String> {
    let name = || {
        t.name
            .clone()
            .ok_or_else(|| format!("{at}: type of kind '{}' has no name", t.kind))
    };
    let sub = |what: &Option<Box<IsfType>>, key: &str| -> Result<Box<FieldType>, String> {
        match what {
            Some(s) => Ok(Box::new(convert(s, at)?)),
            None => Err(format!("{at}: type of kind '{}' has no {key}", t.kind)),
        }
    };
    Ok(match t.kind.as_str() {
        "base" => FieldType::Base { name: name()? },
        "struct" | "class" => FieldType::Struct { name: name()? },
        "union" => FieldType::Union { name: name()? },
        "enum" => FieldType::Enum { name: name()? },
        "pointer" => FieldType::Pointer {
            subtype: sub(&t.subtype, "subtype")?,
        },
        "array" => FieldType::Array {
            count: t
                .count
                .ok_or_else(|| format!("{at}: array without count"))?,
            subtype: sub(&t.subtype, "subtype")?,
        },
        "bitfield" => FieldType::Bitfield {
            bit_position: t
                .bit_position
                .ok_or_else(|| format!("{at}: bitfield without bit_position"))?,
            bit_length: t
                .bit_length
                .ok_or_else(|| format!("{at}: bitfield without bit_length"))?,
            storage: sub(&t.storage, "type")?,
        },
        "function" => FieldType::Function,
        other => return Err(format!("{at}: unknown type kind '{other}'")),
    })
}

/// Infer the Windows build number from a PDB-keyed file name such as
/// `ntkrnlmp-19041-<GUID><age>.json.xz`, if it carries one.
fn build_from_file_name(path: &Path) -> Option<u32> {
    let name = path.file_name()?.to_str()?;
    name.split(['-', '.', '_'])
        .filter_map(|p| p.parse::<u32>().ok())
        .find(|b| (2600..100_000).contains(b))
}

impl Profile {
    /// Load a Volatility 3 ISF file (`.json`, or `.json.xz` by its XZ magic).
    pub fn from_isf_path(path: &Path) -> Result<Profile, SymbolError> {
        let io = |source| SymbolError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = std::fs::File::open(path).map_err(io)?;
        let mut head = [0u8; 6];
        let mut raw = Vec::new();
        let mut reader = std::io::BufReader::new(file);
        let n = reader.read(&mut head).map_err(io)?;
        raw.extend_from_slice(&head[..n]);
        let is_xz = n == 6 && head == [0xFD, b'7', b'z', b'X', b'Z', 0];
        let chained = std::io::Cursor::new(raw).chain(reader);
        let mut text = Vec::new();
        if is_xz {
            xz2::read::XzDecoder::new(chained)
                .take(MAX_ISF_BYTES)
                .read_to_end(&mut text)
                .map_err(|e| SymbolError::Malformed {
                    path: path.to_path_buf(),
                    reason: format!("xz decompression failed: {e}"),
                })?;
        } else {
            chained
                .take(MAX_ISF_BYTES)
                .read_to_end(&mut text)
                .map_err(io)?;
        }
        let mut profile = Self::from_isf_bytes(&text).map_err(|reason| SymbolError::Malformed {
            path: path.to_path_buf(),
            reason,
        })?;
        profile.source = ProfileSource {
            kind: SourceKind::Isf,
            name: path.display().to_string(),
        };
        if profile.build.is_none() {
            profile.build = build_from_file_name(path);
        }
        Ok(profile)
    }

    /// Parse ISF JSON text. The error is one line naming the offending field.
    pub fn from_isf_bytes(text: &[u8]) -> Result<Profile, String> {
        let isf: IsfFile =
            serde_json::from_slice(text).map_err(|e| format!("not a valid ISF document: {e}"))?;
        let base_types = isf
            .base_types
            .into_iter()
            .map(|(k, b)| {
                (
                    k,
                    BaseType {
                        size: b.size,
                        signed: b.signed,
                    },
                )
            })
            .collect();
        let mut types = BTreeMap::new();
        for (tname, u) in isf.user_types {
            let mut fields = BTreeMap::new();
            for (fname, f) in u.fields {
                let at = format!("user_types.{tname}.fields.{fname}");
                fields.insert(fname, (f.offset, convert(&f.ty, &at)?));
            }
            types.insert(
                tname,
                TypeDef {
                    size: u.size,
                    union: u.kind == "union",
                    fields,
                },
            );
        }
        let enums = isf
            .enums
            .into_iter()
            .map(|(k, e)| {
                (
                    k,
                    EnumDef {
                        size: e.size,
                        constants: e.constants,
                    },
                )
            })
            .collect();
        let symbols = isf
            .symbols
            .into_iter()
            .map(|(k, s)| (k, s.address))
            .collect();
        let pdb = isf.metadata.windows.and_then(|w| w.pdb).map(|p| PdbId {
            guid: p.GUID.to_ascii_uppercase(),
            age: p.age,
        });
        Ok(Profile {
            source: ProfileSource {
                kind: SourceKind::Isf,
                name: "<memory>".into(),
            },
            pdb,
            build: None,
            base_types,
            types,
            symbols,
            enums,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn shared_isf(build: &str) -> Option<std::path::PathBuf> {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/isf");
        std::fs::read_dir(dir)
            .ok()?
            .filter_map(|e| e.ok())
            .map(|e| e.path())
            .find(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .is_some_and(|n| n.starts_with(&format!("ntkrnlmp-{build}-")))
            })
    }

    #[test]
    fn loads_real_19041_isf_with_exact_layout() {
        let path = shared_isf("19041").expect("testdata/isf holds the 19041 ISF");
        let p = Profile::from_isf_path(&path).unwrap();
        assert_eq!(p.build, Some(19041));
        assert_eq!(
            p.pdb,
            Some(PdbId {
                guid: "606FF669409B00F7FC8C61A9C1670129".into(),
                age: 1
            })
        );
        assert_eq!(p.size_of("_EPROCESS").unwrap(), 2624);
        assert_eq!(p.offset("_EPROCESS", "ActiveProcessLinks").unwrap(), 1096);
        assert_eq!(p.offset("_EPROCESS", "Pcb.DirectoryTableBase").unwrap(), 40);
        let f = p.field("_MMVAD_SHORT", "u.VadFlags.Protection").unwrap();
        assert_eq!((f.offset, f.size, f.bits), (48, 4, Some((7, 5))));
        assert_eq!(f.extract(0b11111 << 7), 31);
        assert_eq!(p.symbol("PsActiveProcessHead"), Some(0xc1e090));
        let arr = p.field("_EPROCESS", "ImageFileName").unwrap();
        assert_eq!((arr.offset, arr.size), (1448, 15));
    }

    #[test]
    fn malformed_isf_names_the_field() {
        let text = br#"{"metadata":{},"base_types":{},"user_types":{"_X":{"kind":"struct","size":8,"fields":{"A":{"offset":0,"type":{"kind":"array","subtype":{"kind":"base","name":"char"}}}}}}}"#;
        let err = Profile::from_isf_bytes(text).unwrap_err();
        assert!(err.contains("user_types._X.fields.A"), "{err}");
    }
}
