//! The profile model: types, fields, symbols, enums, provenance.

use crate::SymbolError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

/// A kernel's PDB identity: the CodeView GUID (32 upper-case hex digits) and age.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct PdbId {
    /// GUID as 32 upper-case hex digits, in the order Microsoft's symbol server uses.
    pub guid: String,
    /// Age.
    pub age: u32,
}

impl PdbId {
    /// GUID followed by the age in hex: the symbol-server key (`606FF669...1291`).
    pub fn guid_age(&self) -> String {
        format!("{}{:X}", self.guid, self.age)
    }
}

/// Where a profile's data came from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// A Volatility 3 ISF file.
    Isf,
    /// A Microsoft PDB file.
    Pdb,
    /// A table compiled into memtriage.
    Bundled,
}

/// Provenance of a profile.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ProfileSource {
    /// The kind of source.
    pub kind: SourceKind,
    /// A file path, or a bundled table's name.
    pub name: String,
}

/// A base (scalar) type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BaseType {
    /// Size in bytes.
    pub size: u64,
    /// Whether the type is signed.
    pub signed: bool,
}

/// The type of a field.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FieldType {
    /// A base type by name (`unsigned long`, `pointer`, ...).
    Base {
        /// The base type's name.
        name: String,
    },
    /// A pointer (8 bytes on x64) to `subtype`.
    Pointer {
        /// What it points to.
        subtype: Box<FieldType>,
    },
    /// An embedded struct.
    Struct {
        /// The struct's name.
        name: String,
    },
    /// An embedded union.
    Union {
        /// The union's name.
        name: String,
    },
    /// An enum.
    Enum {
        /// The enum's name.
        name: String,
    },
    /// An array of `count` elements.
    Array {
        /// Number of elements.
        count: u64,
        /// Element type.
        subtype: Box<FieldType>,
    },
    /// A bitfield inside a storage unit of type `storage`.
    Bitfield {
        /// First bit, from bit 0 of the storage unit.
        bit_position: u32,
        /// Number of bits.
        bit_length: u32,
        /// The storage unit's type.
        storage: Box<FieldType>,
    },
    /// A function (only ever behind a pointer).
    Function,
}

/// An enum: its storage size and constants.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnumDef {
    /// Size in bytes.
    pub size: u64,
    /// Constant name → value.
    pub constants: BTreeMap<String, i64>,
}

/// A struct or union.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TypeDef {
    /// Size in bytes.
    pub size: u64,
    /// Whether this is a union.
    #[serde(default)]
    pub union: bool,
    /// Fields by name: offset and type.
    pub fields: BTreeMap<String, (u64, FieldType)>,
}

/// A resolved field: where it is and how wide.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Byte offset from the start of the outermost type asked for.
    pub offset: u64,
    /// Size of the field (of the storage unit, for a bitfield) in bytes.
    pub size: u64,
    /// For a bitfield: `(bit_position, bit_length)` within the storage unit.
    pub bits: Option<(u32, u32)>,
    /// The field's type.
    pub ty: FieldType,
}

impl Field {
    /// Extract this field's value from `raw`, the little-endian storage unit read at
    /// [`Field::offset`] (for a plain field, the value itself).
    pub fn extract(&self, raw: u64) -> u64 {
        match self.bits {
            Some((pos, len)) => {
                let shifted = raw.checked_shr(pos).unwrap_or(0);
                if len >= 64 {
                    shifted
                } else {
                    shifted & ((1u64 << len) - 1)
                }
            }
            None => raw,
        }
    }
}

/// Struct layouts, symbol RVAs and enums of one kernel build.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Profile {
    /// Where the data came from.
    pub source: ProfileSource,
    /// The PDB the data describes, when known.
    pub pdb: Option<PdbId>,
    /// The Windows build number the data describes, when known.
    pub build: Option<u32>,
    /// Base types by name.
    pub base_types: BTreeMap<String, BaseType>,
    /// Structs and unions by name.
    pub types: BTreeMap<String, TypeDef>,
    /// Kernel symbol RVAs (relative to the kernel image base) by name.
    pub symbols: BTreeMap<String, u64>,
    /// Enums by name.
    pub enums: BTreeMap<String, EnumDef>,
}

impl Profile {
    /// The struct or union named `ty`.
    pub fn type_def(&self, ty: &str) -> Result<&TypeDef, SymbolError> {
        self.types
            .get(ty)
            .ok_or_else(|| SymbolError::NoType(ty.to_string()))
    }

    /// Whether the profile has the type.
    pub fn has_type(&self, ty: &str) -> bool {
        self.types.contains_key(ty)
    }

    /// Whether `ty` has the (possibly dotted) field `path`.
    pub fn has_field(&self, ty: &str, path: &str) -> bool {
        self.field(ty, path).is_ok()
    }

    /// Size of the struct or union `ty` in bytes.
    pub fn size_of(&self, ty: &str) -> Result<u64, SymbolError> {
        Ok(self.type_def(ty)?.size)
    }

    /// Resolve a field of `ty`. `path` may be dotted through embedded structs and unions:
    /// `profile.field("_EPROCESS", "Pcb.DirectoryTableBase")`.
    pub fn field(&self, ty: &str, path: &str) -> Result<Field, SymbolError> {
        let no_field = || SymbolError::NoField {
            ty: ty.to_string(),
            field: path.to_string(),
        };
        let mut cur = self.type_def(ty)?;
        let mut offset = 0u64;
        let mut parts = path.split('.').peekable();
        while let Some(name) = parts.next() {
            let (off, fty) = cur.fields.get(name).ok_or_else(no_field)?;
            offset += off;
            if parts.peek().is_none() {
                let size = self.size_of_field_type(fty).ok_or_else(no_field)?;
                let bits = match fty {
                    FieldType::Bitfield {
                        bit_position,
                        bit_length,
                        ..
                    } => Some((*bit_position, *bit_length)),
                    _ => None,
                };
                return Ok(Field {
                    offset,
                    size,
                    bits,
                    ty: fty.clone(),
                });
            }
            cur = match fty {
                FieldType::Struct { name } | FieldType::Union { name } => {
                    self.types.get(name).ok_or_else(no_field)?
                }
                _ => return Err(no_field()),
            };
        }
        Err(no_field())
    }

    /// Byte offset of the (possibly dotted) field `path` in `ty`.
    pub fn offset(&self, ty: &str, path: &str) -> Result<u64, SymbolError> {
        Ok(self.field(ty, path)?.offset)
    }

    /// RVA of a kernel symbol, relative to the kernel image base.
    pub fn symbol(&self, name: &str) -> Option<u64> {
        self.symbols.get(name).copied()
    }

    /// Value of an enum constant.
    pub fn enum_value(&self, enum_name: &str, constant: &str) -> Option<i64> {
        self.enums.get(enum_name)?.constants.get(constant).copied()
    }

    /// Size in bytes of a field type (pointers are 8 bytes: profiles are x64).
    pub fn size_of_field_type(&self, ty: &FieldType) -> Option<u64> {
        match ty {
            FieldType::Base { name } => self.base_types.get(name).map(|b| b.size),
            FieldType::Pointer { .. } => Some(8),
            FieldType::Struct { name } | FieldType::Union { name } => {
                self.types.get(name).map(|t| t.size)
            }
            FieldType::Enum { name } => self.enums.get(name).map(|e| e.size),
            FieldType::Array { count, subtype } => {
                self.size_of_field_type(subtype)?.checked_mul(*count)
            }
            FieldType::Bitfield { storage, .. } => self.size_of_field_type(storage),
            FieldType::Function => Some(0),
        }
    }
}
