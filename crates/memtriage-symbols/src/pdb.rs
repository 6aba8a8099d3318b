//! Microsoft PDB loader (MSF 7.0 files, via the `pdb` crate): structs and unions with their
//! fields, enums, base types, public symbol RVAs and the PDB identity.

use crate::profile::{
    BaseType, EnumDef, FieldType, PdbId, Profile, ProfileSource, SourceKind, TypeDef,
};
use crate::SymbolError;
use pdb::{FallibleIterator, PrimitiveKind, TypeData, TypeIndex};
use std::collections::BTreeMap;
use std::path::Path;

/// Deepest nesting of modifiers / arrays / pointers followed for one field type.
const MAX_TYPE_DEPTH: u32 = 64;

/// ISF name, size and signedness of a primitive kind.
fn primitive(kind: PrimitiveKind) -> Option<(&'static str, u64, bool)> {
    use PrimitiveKind as K;
    Some(match kind {
        K::Void => ("void", 0, false),
        K::Char | K::RChar | K::I8 => ("char", 1, true),
        K::UChar | K::U8 => ("unsigned char", 1, false),
        K::WChar | K::RChar16 => ("wchar", 2, false),
        K::RChar32 => ("unsigned int", 4, false),
        K::Short | K::I16 => ("short", 2, true),
        K::UShort | K::U16 => ("unsigned short", 2, false),
        K::Long => ("long", 4, true),
        K::ULong => ("unsigned long", 4, false),
        K::I32 => ("int", 4, true),
        K::U32 => ("unsigned int", 4, false),
        K::Quad | K::I64 => ("long long", 8, true),
        K::UQuad | K::U64 => ("unsigned long long", 8, false),
        K::F32 => ("float", 4, true),
        K::F64 => ("double", 8, true),
        K::Bool8 => ("bool", 1, false),
        K::HRESULT => ("HRESULT", 4, true),
        _ => return None,
    })
}

fn is_anonymous(name: &str) -> bool {
    // MSVC and clang name anonymous types `<unnamed-tag>` / `<anonymous-tag>`, possibly
    // qualified by the enclosing type (`_MMVAD_SHORT::<unnamed-tag>`).
    name.is_empty()
        || name.contains("<unnamed-")
        || name.contains("<anonymous-")
        || name.starts_with("__unnamed")
}

struct Loader<'a, 't> {
    finder: &'a pdb::TypeFinder<'t>,
    /// Complete struct/union/enum definitions by (raw) name: size.
    sizes: BTreeMap<String, u64>,
    /// Unique (decorated) name of an anonymous complete type → the name we give it.
    anon_by_unique: BTreeMap<String, String>,
    base_types: BTreeMap<String, BaseType>,
}

impl<'t> Loader<'_, 't> {
    fn parse(&self, idx: TypeIndex) -> Result<TypeData<'t>, String> {
        self.finder
            .find(idx)
            .and_then(|t| t.parse())
            .map_err(|e| format!("type record {idx}: {e}"))
    }

    /// Our name for a class/union/enum record (anonymous types are named by type index, as
    /// Volatility does).
    fn type_name(&self, idx: TypeIndex, name: &str, unique: Option<&str>) -> String {
        if !is_anonymous(name) {
            return name.to_string();
        }
        if let Some(n) = unique.and_then(|u| self.anon_by_unique.get(u)) {
            return n.clone();
        }
        format!("__unnamed_{:x}", idx.0)
    }

    fn base(&mut self, kind: PrimitiveKind, at: &str) -> Result<FieldType, String> {
        let (name, size, signed) =
            primitive(kind).ok_or_else(|| format!("{at}: unsupported primitive type {kind:?}"))?;
        self.base_types
            .insert(name.to_string(), BaseType { size, signed });
        Ok(FieldType::Base { name: name.into() })
    }

    /// Size in bytes of a type record.
    fn size_of(&self, idx: TypeIndex, depth: u32, at: &str) -> Result<u64, String> {
        if depth > MAX_TYPE_DEPTH {
            return Err(format!("{at}: type nesting deeper than {MAX_TYPE_DEPTH}"));
        }
        Ok(match self.parse(idx).map_err(|e| format!("{at}: {e}"))? {
            TypeData::Primitive(p) => match p.indirection {
                Some(_) => 8,
                None => primitive(p.kind)
                    .map(|x| x.1)
                    .ok_or_else(|| format!("{at}: unsupported primitive type {:?}", p.kind))?,
            },
            TypeData::Pointer(p) => u64::from(p.attributes.size()),
            TypeData::Modifier(m) => self.size_of(m.underlying_type, depth + 1, at)?,
            TypeData::Bitfield(b) => self.size_of(b.underlying_type, depth + 1, at)?,
            TypeData::Enumeration(e) => self.size_of(e.underlying_type, depth + 1, at)?,
            TypeData::Array(a) => u64::from(a.dimensions.last().copied().unwrap_or(0)),
            TypeData::Class(c) => self.complete_size(
                idx,
                &c.name.to_string(),
                c.unique_name,
                c.size,
                c.properties.forward_reference(),
                at,
            )?,
            TypeData::Union(u) => self.complete_size(
                idx,
                &u.name.to_string(),
                u.unique_name,
                u.size,
                u.properties.forward_reference(),
                at,
            )?,
            TypeData::Procedure(_) | TypeData::MemberFunction(_) => 0,
            other => {
                return Err(format!(
                    "{at}: type record {idx} of unsupported kind {other:?}"
                ))
            }
        })
    }

    fn complete_size(
        &self,
        idx: TypeIndex,
        name: &str,
        unique: Option<pdb::RawString<'_>>,
        size: u64,
        forward: bool,
        at: &str,
    ) -> Result<u64, String> {
        if !forward {
            return Ok(size);
        }
        let unique = unique.map(|u| u.to_string().into_owned());
        let ours = self.type_name(idx, name, unique.as_deref());
        self.sizes
            .get(&ours)
            .copied()
            .ok_or_else(|| format!("{at}: no definition of {ours}"))
    }

    /// Convert a field's type record.
    fn field_type(&mut self, idx: TypeIndex, depth: u32, at: &str) -> Result<FieldType, String> {
        if depth > MAX_TYPE_DEPTH {
            return Err(format!("{at}: type nesting deeper than {MAX_TYPE_DEPTH}"));
        }
        Ok(match self.parse(idx).map_err(|e| format!("{at}: {e}"))? {
            TypeData::Primitive(p) => {
                let base = self.base(p.kind, at)?;
                match p.indirection {
                    Some(_) => FieldType::Pointer {
                        subtype: Box::new(base),
                    },
                    None => base,
                }
            }
            TypeData::Pointer(p) => FieldType::Pointer {
                subtype: Box::new(self.field_type(p.underlying_type, depth + 1, at)?),
            },
            TypeData::Modifier(m) => self.field_type(m.underlying_type, depth + 1, at)?,
            TypeData::Bitfield(b) => FieldType::Bitfield {
                bit_position: u32::from(b.position),
                bit_length: u32::from(b.length),
                storage: Box::new(self.field_type(b.underlying_type, depth + 1, at)?),
            },
            TypeData::Enumeration(e) => {
                let unique = e.unique_name.map(|u| u.to_string().into_owned());
                FieldType::Enum {
                    name: self.type_name(idx, &e.name.to_string(), unique.as_deref()),
                }
            }
            TypeData::Class(c) => {
                let unique = c.unique_name.map(|u| u.to_string().into_owned());
                FieldType::Struct {
                    name: self.type_name(idx, &c.name.to_string(), unique.as_deref()),
                }
            }
            TypeData::Union(u) => {
                let unique = u.unique_name.map(|x| x.to_string().into_owned());
                FieldType::Union {
                    name: self.type_name(idx, &u.name.to_string(), unique.as_deref()),
                }
            }
            TypeData::Array(a) => {
                // Dimensions are byte sizes, inner first, each including the inner ones.
                let mut ty = self.field_type(a.element_type, depth + 1, at)?;
                let mut inner = self.size_of(a.element_type, depth + 1, at)?;
                for d in &a.dimensions {
                    let d = u64::from(*d);
                    let count = d.checked_div(inner).unwrap_or(0);
                    ty = FieldType::Array {
                        count,
                        subtype: Box::new(ty),
                    };
                    inner = d;
                }
                ty
            }
            TypeData::Procedure(_) | TypeData::MemberFunction(_) => FieldType::Function,
            other => {
                return Err(format!(
                    "{at}: type record {idx} of unsupported kind {other:?}"
                ))
            }
        })
    }

    /// The data members of a field list (following continuations).
    fn members(
        &mut self,
        list: TypeIndex,
        at: &str,
    ) -> Result<BTreeMap<String, (u64, FieldType)>, String> {
        let mut out = BTreeMap::new();
        let mut next = Some(list);
        let mut hops = 0;
        while let Some(idx) = next {
            hops += 1;
            if hops > 1024 {
                return Err(format!("{at}: field list continuation chain too long"));
            }
            let TypeData::FieldList(fl) = self.parse(idx)? else {
                return Err(format!("{at}: type record {idx} is not a field list"));
            };
            for f in &fl.fields {
                if let TypeData::Member(m) = f {
                    let name = m.name.to_string().into_owned();
                    let fat = format!("{at}.{name}");
                    let ty = self.field_type(m.field_type, 0, &fat)?;
                    out.insert(name, (m.offset, ty));
                }
            }
            next = fl.continuation;
        }
        Ok(out)
    }

    fn enumerators(&self, list: TypeIndex, at: &str) -> Result<BTreeMap<String, i64>, String> {
        let mut out = BTreeMap::new();
        let mut next = Some(list);
        let mut hops = 0;
        while let Some(idx) = next {
            hops += 1;
            if hops > 1024 {
                return Err(format!("{at}: field list continuation chain too long"));
            }
            let TypeData::FieldList(fl) = self.parse(idx)? else {
                return Err(format!("{at}: type record {idx} is not a field list"));
            };
            for f in &fl.fields {
                if let TypeData::Enumerate(e) = f {
                    let v = match e.value {
                        pdb::Variant::U8(v) => i64::from(v),
                        pdb::Variant::U16(v) => i64::from(v),
                        pdb::Variant::U32(v) => i64::from(v),
                        pdb::Variant::U64(v) => v as i64,
                        pdb::Variant::I8(v) => i64::from(v),
                        pdb::Variant::I16(v) => i64::from(v),
                        pdb::Variant::I32(v) => i64::from(v),
                        pdb::Variant::I64(v) => v,
                    };
                    out.insert(e.name.to_string().into_owned(), v);
                }
            }
            next = fl.continuation;
        }
        Ok(out)
    }
}

fn load(path: &Path) -> Result<Profile, String> {
    let file = std::fs::File::open(path).map_err(|e| format!("cannot open: {e}"))?;
    let mut pdb = pdb::PDB::open(file).map_err(|e| format!("not a PDB (MSF 7.0) file: {e}"))?;
    let info = pdb
        .pdb_information()
        .map_err(|e| format!("PDB information stream: {e}"))?;
    let guid = format!("{:X}", info.guid.simple());
    let mut age = info.age;
    if let Ok(dbi) = pdb.debug_information() {
        // The DBI age is the one in the image's CodeView record (and symbol-server key).
        if let Some(a) = dbi.age() {
            age = a;
        }
    }
    let type_info = pdb
        .type_information()
        .map_err(|e| format!("TPI stream: {e}"))?;
    let mut finder = type_info.finder();
    let mut iter = type_info.iter();
    let mut records: Vec<TypeIndex> = Vec::new();
    while let Some(t) = iter.next().map_err(|e| format!("TPI stream: {e}"))? {
        finder.update(&iter);
        records.push(t.index());
    }
    let mut loader = Loader {
        finder: &finder,
        sizes: BTreeMap::new(),
        anon_by_unique: BTreeMap::new(),
        base_types: BTreeMap::from([(
            "pointer".to_string(),
            BaseType {
                size: 8,
                signed: false,
            },
        )]),
    };
    // Pass 1: names and sizes of complete definitions.
    for idx in &records {
        let (name, unique, size) = match loader.parse(*idx) {
            Ok(TypeData::Class(c)) if !c.properties.forward_reference() => {
                (c.name, c.unique_name, c.size)
            }
            Ok(TypeData::Union(u)) if !u.properties.forward_reference() => {
                (u.name, u.unique_name, u.size)
            }
            _ => continue,
        };
        let name = name.to_string().into_owned();
        let ours = if is_anonymous(&name) {
            let ours = format!("__unnamed_{:x}", idx.0);
            if let Some(u) = unique {
                loader
                    .anon_by_unique
                    .insert(u.to_string().into_owned(), ours.clone());
            }
            ours
        } else {
            name
        };
        loader.sizes.insert(ours, size);
    }
    // Pass 2: fields.
    let mut types = BTreeMap::new();
    let mut enums = BTreeMap::new();
    for idx in &records {
        let parsed = match loader.parse(*idx) {
            Ok(t) => t,
            // Records of kinds the crate does not parse (e.g. some C++ metadata) are not layouts.
            Err(_) => continue,
        };
        match parsed {
            TypeData::Class(c) if !c.properties.forward_reference() => {
                let unique = c.unique_name.map(|u| u.to_string().into_owned());
                let name = loader.type_name(*idx, &c.name.to_string(), unique.as_deref());
                let fields = match c.fields {
                    Some(list) => loader.members(list, &name)?,
                    None => BTreeMap::new(),
                };
                types.insert(
                    name,
                    TypeDef {
                        size: c.size,
                        union: false,
                        fields,
                    },
                );
            }
            TypeData::Union(u) if !u.properties.forward_reference() => {
                let unique = u.unique_name.map(|x| x.to_string().into_owned());
                let name = loader.type_name(*idx, &u.name.to_string(), unique.as_deref());
                let fields = loader.members(u.fields, &name)?;
                types.insert(
                    name,
                    TypeDef {
                        size: u.size,
                        union: true,
                        fields,
                    },
                );
            }
            TypeData::Enumeration(e) if !e.properties.forward_reference() => {
                let unique = e.unique_name.map(|u| u.to_string().into_owned());
                let name = loader.type_name(*idx, &e.name.to_string(), unique.as_deref());
                let size = loader.size_of(e.underlying_type, 0, &name)?;
                let constants = loader.enumerators(e.fields, &name)?;
                enums.insert(name, EnumDef { size, constants });
            }
            _ => {}
        }
    }
    let base_types = loader.base_types;
    // Public symbols: section:offset → RVA through the section headers / OMAP.
    let mut symbols = BTreeMap::new();
    let address_map = pdb
        .address_map()
        .map_err(|e| format!("section headers / address map: {e}"))?;
    let globals = pdb
        .global_symbols()
        .map_err(|e| format!("global symbol stream: {e}"))?;
    let mut it = globals.iter();
    while let Some(sym) = it
        .next()
        .map_err(|e| format!("global symbol stream: {e}"))?
    {
        if let Ok(pdb::SymbolData::Public(p)) = sym.parse() {
            if let Some(rva) = p.offset.to_rva(&address_map) {
                symbols.insert(p.name.to_string().into_owned(), u64::from(rva.0));
            }
        }
    }
    Ok(Profile {
        source: ProfileSource {
            kind: SourceKind::Pdb,
            name: path.display().to_string(),
        },
        pdb: Some(PdbId { guid, age }),
        build: None,
        base_types,
        types,
        symbols,
        enums,
    })
}

impl Profile {
    /// Load a Microsoft PDB file: structs and unions (fields, offsets, bitfields, nested,
    /// pointer and array types, sizes), enums, base types, public symbol RVAs, and the PDB's
    /// GUID and age. Errors name the file and the record.
    pub fn from_pdb_path(path: &Path) -> Result<Profile, SymbolError> {
        load(path).map_err(|reason| SymbolError::Malformed {
            path: path.to_path_buf(),
            reason,
        })
    }
}
