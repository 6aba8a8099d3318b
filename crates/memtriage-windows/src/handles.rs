//! Handle tables: the levels of `_HANDLE_TABLE.TableCode` and the `_HANDLE_TABLE_ENTRY`
//! pointer encoding of each build family.
//!
//! `TableCode` holds the address of the top table page with the number of indirection levels
//! in its low bits: level 0 is one page of entries, level 1 a page of pointers to entry pages,
//! level 2 a page of pointers to level-1 pages. An entry page holds `4096 / entry size`
//! entries; a handle value is its entry's index times 4. How an entry holds its object pointer
//! depends on the build, and the profile says which: Windows 7 keeps the pointer in
//! `_HANDLE_TABLE_ENTRY.Object` with flag bits 0–2; Windows 8.1 and later keep bits 4–47 of it
//! in the `ObjectPointerBits` bitfield (bit 20 onwards), sign-extended from bit 47.
//! Process handle tables point at the `_OBJECT_HEADER`; PspCidTable points at the object body.

use crate::is_kernel_address;
use crate::layout::{req, Loc};
use memtriage_paging::AddressSpace;
use memtriage_symbols::{Profile, SymbolError};

/// Size of a handle-table page.
const PAGE: u64 = 0x1000;
/// Low bits of `TableCode` that hold the level.
const LEVEL_MASK: u64 = 3;
/// Highest level Windows builds (two levels of pointer pages).
const MAX_LEVEL: u64 = 2;
/// Most entry pages one walk reads (a million handles at 16-byte entries): a smeared pointer
/// page cannot make a walk read unbounded memory.
pub const MAX_ENTRY_PAGES: usize = 4096;

/// How a `_HANDLE_TABLE_ENTRY` holds its object pointer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EntryEncoding {
    /// Windows 7: `Object` is the pointer itself, with flag bits 0–2 (lock, inherit, audit).
    FlaggedPointer(Loc),
    /// Windows 8.1 and later: `ObjectPointerBits` holds bits 4–47 of the pointer; the
    /// pointer is sign-extended from bit 47.
    PointerBits(Loc),
}

impl EntryEncoding {
    /// The object pointer an entry's bytes hold (0 for a free entry).
    pub fn decode(&self, entry: &[u8]) -> u64 {
        match self {
            EntryEncoding::FlaggedPointer(object) => object.get(entry).unwrap_or(0) & !7,
            EntryEncoding::PointerBits(bits) => {
                let v = bits.get(entry).unwrap_or(0) << 4;
                if v == 0 {
                    0
                } else if v & (1 << 47) != 0 {
                    v | 0xFFFF_0000_0000_0000
                } else {
                    v
                }
            }
        }
    }
}

/// Offsets of handle tables, from the profile.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandleLayout {
    /// `_HANDLE_TABLE.TableCode`.
    pub table_code: Loc,
    /// Size of a `_HANDLE_TABLE_ENTRY` (16 on x64).
    pub entry_size: u64,
    /// Where an entry keeps its object pointer.
    pub encoding: EntryEncoding,
}

impl HandleLayout {
    /// The handle-table layout of a profile, or the first type or field it lacks.
    pub fn new(p: &Profile) -> Result<HandleLayout, SymbolError> {
        let entry = "_HANDLE_TABLE_ENTRY";
        let encoding = match p.field(entry, "ObjectPointerBits") {
            Ok(f) => EntryEncoding::PointerBits(f.into()),
            Err(_) => EntryEncoding::FlaggedPointer(req(p, entry, "Object")?),
        };
        let entry_size = p.size_of(entry)?;
        if entry_size == 0 || entry_size > PAGE {
            return Err(SymbolError::NoField {
                ty: entry.to_string(),
                field: format!("(size {entry_size})"),
            });
        }
        Ok(HandleLayout {
            table_code: req(p, "_HANDLE_TABLE", "TableCode")?,
            entry_size,
            encoding,
        })
    }

    fn entries_per_page(&self) -> u64 {
        PAGE / self.entry_size
    }
}

/// One used entry of a handle table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HandleEntry {
    /// The handle value (for PspCidTable: the process or thread id).
    pub handle: u64,
    /// The decoded object pointer (an `_OBJECT_HEADER`, or an object body for PspCidTable).
    pub object: u64,
}

/// The used entries of one handle table, and what could not be read.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct HandleWalk {
    /// Entries whose pointer is a kernel address, in handle order.
    pub entries: Vec<HandleEntry>,
    /// Problems: an impossible TableCode, an unreadable or smeared page. The rest is read.
    pub warnings: Vec<String>,
}

/// Walk the handle table at `table` (the `_HANDLE_TABLE`'s address). `what` names the table
/// in messages ("PspCidTable", "csrss.exe (pid 500) handle table"). A table that cannot be
/// walked at all (unreadable `_HANDLE_TABLE`, an impossible `TableCode`) is an error naming
/// the cause; pages that cannot be read are warnings.
pub fn walk_handle_table(
    space: &AddressSpace,
    layout: &HandleLayout,
    table: u64,
    what: &str,
) -> Result<HandleWalk, String> {
    let mut out = HandleWalk::default();
    let code = layout
        .table_code
        .read(space, table)
        .ok_or_else(|| format!("{what}: _HANDLE_TABLE at {table:#x} unreadable"))?;
    let level = code & LEVEL_MASK;
    let top = code & !7;
    if level > MAX_LEVEL || !is_kernel_address(top) || top & 0xF != 0 {
        return Err(format!(
            "{what}: TableCode {code:#x} is not a handle table (level {level}, table {top:#x})"
        ));
    }
    let mut pages = Vec::new();
    collect_entry_pages(space, top, level, 0, what, &mut pages, &mut out.warnings);
    let per_page = layout.entries_per_page();
    let esize = layout.entry_size as usize;
    let mut buf = vec![0u8; PAGE as usize];
    for (index, page) in pages {
        if space.read_exact(page, &mut buf).is_err() {
            out.warnings
                .push(format!("{what}: handle table page {page:#x} unreadable"));
            continue;
        }
        for (i, entry) in buf.chunks_exact(esize).enumerate() {
            let object = layout.encoding.decode(entry);
            if object == 0 || !is_kernel_address(object) {
                continue;
            }
            out.entries.push(HandleEntry {
                handle: (index * per_page + i as u64) * 4,
                object,
            });
        }
    }
    Ok(out)
}

/// The entry pages under the table page `page` of `level`, each with its index among all
/// entry pages (its first handle is `index * entries_per_page * 4`). `first` is the index of
/// the first entry page under `page`.
fn collect_entry_pages(
    space: &AddressSpace,
    page: u64,
    level: u64,
    first: u64,
    what: &str,
    pages: &mut Vec<(u64, u64)>,
    warnings: &mut Vec<String>,
) {
    if level == 0 {
        if pages.len() < MAX_ENTRY_PAGES {
            pages.push((first, page));
        }
        return;
    }
    let mut buf = vec![0u8; PAGE as usize];
    if space.read_exact(page, &mut buf).is_err() {
        warnings.push(format!(
            "{what}: level-{level} handle table page {page:#x} unreadable"
        ));
        return;
    }
    let per_pointer = (PAGE / 8).pow((level - 1) as u32);
    for (i, raw) in buf.chunks_exact(8).enumerate() {
        let mut b = [0u8; 8];
        b.copy_from_slice(raw);
        let ptr = u64::from_le_bytes(b);
        if ptr == 0 {
            continue;
        }
        if !is_kernel_address(ptr) || ptr & 7 != 0 {
            warnings.push(format!(
                "{what}: level-{level} page {page:#x} entry {i} holds {ptr:#x}, not a table page; skipped"
            ));
            continue;
        }
        if pages.len() >= MAX_ENTRY_PAGES {
            warnings.push(format!(
                "{what}: more than {MAX_ENTRY_PAGES} entry pages; the rest is not read"
            ));
            return;
        }
        collect_entry_pages(
            space,
            ptr,
            level - 1,
            first + i as u64 * per_pointer,
            what,
            pages,
            warnings,
        );
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use memtriage_dump::SparseMemory;
    use std::sync::Arc;

    /// Kernel VA of physical address 0 in [`space`]: one 1 GiB page.
    const K: u64 = 0xffff_8000_0000_0000;

    /// A PML4 at 0x1000 mapping `K..K + 1 GiB` to physical `0..1 GiB`, plus `writes`.
    fn space(writes: &[(u64, u64)]) -> AddressSpace {
        let mut m = SparseMemory::new();
        m.write_u64(0x1000 + 256 * 8, 0x2000 | 0x3);
        m.write_u64(0x2000, 0x83);
        for &(va, v) in writes {
            m.write_u64(va - K, v);
        }
        AddressSpace::new(Arc::new(m), 0x1000)
    }

    fn layout() -> HandleLayout {
        HandleLayout {
            table_code: Loc {
                offset: 8,
                size: 8,
                bits: None,
            },
            entry_size: 16,
            encoding: EntryEncoding::PointerBits(Loc {
                offset: 0,
                size: 8,
                bits: Some((20, 44)),
            }),
        }
    }

    fn entry(ptr: u64) -> u64 {
        (((ptr & 0x0000_ffff_ffff_fff0) >> 4) << 20) | 1
    }

    #[test]
    fn a_two_level_table_gives_each_entry_its_handle_value() {
        let (table, top, mid, page, object) = (
            K + 0x10000,
            K + 0x20000,
            K + 0x30000,
            K + 0x40000,
            K + 0x50040,
        );
        let s = space(&[
            (table + 8, top | 2),
            // Top page: entry 1 -> a level-1 page; entry 2 smeared.
            (top + 8, mid),
            (top + 16, 0x1234),
            // Level-1 page: entry 3 -> an entry page.
            (mid + 24, page),
            // Entry page: entry 5 -> the object; entry 6 free.
            (page + 5 * 16, entry(object)),
        ]);
        let w = walk_handle_table(&s, &layout(), table, "test").unwrap();
        assert_eq!(
            w.entries,
            [HandleEntry {
                handle: ((512 + 3) * 256 + 5) * 4,
                object
            }]
        );
        assert_eq!(
            w.warnings,
            [format!(
                "test: level-2 page {top:#x} entry 2 holds 0x1234, not a table page; skipped"
            )]
        );
    }

    #[test]
    fn an_impossible_table_code_or_an_unreadable_page_is_reported() {
        let table = K + 0x10000;
        let s = space(&[(table + 8, (K + 0x20000) | 3)]);
        assert_eq!(
            walk_handle_table(&s, &layout(), table, "t"),
            Err(format!(
                "t: TableCode {:#x} is not a handle table (level 3, table {:#x})",
                (K + 0x20000) | 3,
                K + 0x20000
            ))
        );
        // Level 0 at a page the capture does not hold: a warning, no entries.
        let s = space(&[(table + 8, K + 0x7000_0000)]);
        let w = walk_handle_table(&s, &layout(), table, "t").unwrap();
        assert!(w.entries.is_empty());
        assert_eq!(
            w.warnings,
            [format!(
                "t: handle table page {:#x} unreadable",
                K + 0x7000_0000
            )]
        );
    }

    #[test]
    fn pointer_bits_sign_extend_from_bit_47() {
        let bits = Loc {
            offset: 0,
            size: 8,
            bits: Some((20, 44)),
        };
        let enc = EntryEncoding::PointerBits(bits);
        // Object header at 0xffffc08c1a2b3c40: bits 4..47 at bit 20, Unlocked bit 0, an
        // attribute bit 17 and a reference count below it, as Windows 10 writes them.
        let ptr = 0xffff_c08c_1a2b_3c40u64;
        let raw = ((ptr & 0x0000_ffff_ffff_fff0) >> 4) << 20 | 1 << 17 | 0x7fff << 1 | 1;
        assert_eq!(enc.decode(&raw.to_le_bytes()), ptr);
        assert_eq!(enc.decode(&[0u8; 16]), 0);
        let win7 = EntryEncoding::FlaggedPointer(Loc {
            offset: 0,
            size: 8,
            bits: None,
        });
        assert_eq!(
            win7.decode(&(0xffff_fa80_0123_4560_u64 | 5).to_le_bytes()),
            0xffff_fa80_0123_4560
        );
    }
}
