//! Driver-object scan: find `_DRIVER_OBJECT`s in `Driv` pool blocks anywhere in physical
//! memory.
//!
//! [`driver_candidates`] is a pure function over one chunk of physical bytes and its physical
//! address; `crate::poolscan::scan_pool` runs it beside the process matcher in the one pool
//! pass over memory, and [`resolve_all`] resolves each candidate through the kernel space
//! (virtual address, object type, name).

use crate::driver_object::{DriverObjectLayout, IO_TYPE_DRIVER};
use crate::is_kernel_address;
use crate::layout::{Layout, Loc};
use crate::poolscan::TypeCheck;
use memtriage_paging::AddressSpace;

/// Bytes scanned per parallel work item.
/// Largest distance between the end of the pool header and the object header (optional
/// headers: creator, name, handle, quota, process info, audit, extended — 16-byte multiples).
const MAX_OPTIONAL_HEADERS: u64 = 0x100;
/// Largest DriverSize believed (larger is not a driver object).
const MAX_DRIVER_SIZE: u64 = 0x1000_0000;
/// Longest DriverName read, in bytes.
const MAX_NAME_BYTES: u64 = 0x400;

/// Object-header offsets the scan needs (from the kernel's [`Layout`]).
#[derive(Debug, Clone, Copy)]
pub struct HeaderLayout {
    /// Offset of the body in `_OBJECT_HEADER`.
    pub body: u64,
    /// `_OBJECT_HEADER.TypeIndex`.
    pub type_index: Loc,
}

impl HeaderLayout {
    /// The object-header offsets of a kernel layout.
    pub fn of(layout: &Layout) -> HeaderLayout {
        HeaderLayout {
            body: layout.oh_body,
            type_index: layout.oh_type_index,
        }
    }
}

/// A driver object as read from one chunk of physical memory, before any virtual read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DriverCandidate {
    /// Physical address of the pool header.
    pub pool_pa: u64,
    /// Physical address of the `_DRIVER_OBJECT`.
    pub object_pa: u64,
    /// The stored (possibly cookie-encoded) object type index.
    pub stored_type_index: u8,
    /// DriverStart.
    pub driver_start: u64,
    /// DriverSize.
    pub driver_size: u64,
    /// DriverSection.
    pub driver_section: u64,
    /// DriverExtension.
    pub driver_extension: u64,
    /// DriverName.Length (bytes).
    pub name_len: u16,
    /// DriverName.Buffer.
    pub name_buffer: u64,
}

/// A driver object found by the scan.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScannedDriver {
    /// Physical address of the pool header.
    pub pool_pa: u64,
    /// Physical address of the `_DRIVER_OBJECT`.
    pub object_pa: u64,
    /// Its virtual address (through `DriverExtension->DriverObject`), when recovered.
    pub object_va: Option<u64>,
    /// DriverStart (0 for driver objects without an image, e.g. `\Driver\WMIxWDM`).
    pub driver_start: u64,
    /// DriverSize.
    pub driver_size: u64,
    /// DriverSection (the loader entry), 0 when none.
    pub driver_section: u64,
    /// DriverName (e.g. `\Driver\disk`), empty when unreadable.
    pub name: String,
}

fn u16_at(b: &[u8], off: u64) -> Option<u16> {
    let o = usize::try_from(off).ok()?;
    Some(u16::from_le_bytes(
        b.get(o..o.checked_add(2)?)?.try_into().ok()?,
    ))
}

fn u32_at(b: &[u8], off: u64) -> Option<u32> {
    let o = usize::try_from(off).ok()?;
    Some(u32::from_le_bytes(
        b.get(o..o.checked_add(4)?)?.try_into().ok()?,
    ))
}

fn u64_at(b: &[u8], off: u64) -> Option<u64> {
    let o = usize::try_from(off).ok()?;
    Some(u64::from_le_bytes(
        b.get(o..o.checked_add(8)?)?.try_into().ok()?,
    ))
}

/// Whether a kernel pointer field holds 0 or a kernel address.
fn null_or_kernel(v: u64) -> bool {
    v == 0 || is_kernel_address(v)
}

/// Decode a `_DRIVER_OBJECT` body; `None` when it is not one.
fn decode_body(d: &DriverObjectLayout, body: &[u8]) -> Option<DriverCandidate> {
    if u16_at(body, d.type_)? != IO_TYPE_DRIVER || u64::from(u16_at(body, d.size_field)?) != d.size
    {
        return None;
    }
    let driver_start = u64_at(body, d.driver_start)?;
    let driver_size = u64::from(u32_at(body, d.driver_size)?);
    let driver_section = u64_at(body, d.driver_section)?;
    let driver_extension = u64_at(body, d.driver_extension)?;
    let name_len = u16_at(body, d.driver_name)?;
    let name_max = u16_at(body, d.driver_name + 2)?;
    let name_buffer = u64_at(body, d.driver_name + 8)?;
    let plausible = null_or_kernel(driver_start)
        && driver_size <= MAX_DRIVER_SIZE
        && null_or_kernel(driver_section)
        && is_kernel_address(driver_extension)
        && name_len % 2 == 0
        && name_len <= name_max
        && null_or_kernel(name_buffer);
    plausible.then_some(DriverCandidate {
        pool_pa: 0,
        object_pa: 0,
        stored_type_index: 0,
        driver_start,
        driver_size,
        driver_section,
        driver_extension,
        name_len,
        name_buffer,
    })
}

/// Driver-object candidates in `data`, the physical bytes starting at `start`: a `Driv` (or,
/// before Windows 8, `Dri\xf6`) tag at +4 of a 16-byte aligned pool header, then an object
/// header after up to [`MAX_OPTIONAL_HEADERS`] of optional headers, then a body whose `Type`
/// is `IO_TYPE_DRIVER`, whose `Size` is `sizeof(_DRIVER_OBJECT)` and whose pointers are
/// plausible. Reads nothing outside `data` (a pool block never crosses a page; chunks are
/// page-aligned), so the result depends on the chunk alone.
pub fn driver_candidates(
    d: &DriverObjectLayout,
    oh: &HeaderLayout,
    start: u64,
    data: &[u8],
) -> Vec<DriverCandidate> {
    let mut out = Vec::new();
    let finder = memchr::memmem::Finder::new(b"Dri");
    for hit in finder.find_iter(data) {
        let tag_pa = start + hit as u64;
        if tag_pa % 16 != 4 || hit < 4 {
            continue;
        }
        match data.get(hit + 3) {
            Some(b'v') | Some(0xF6) => {}
            _ => continue,
        }
        let pool_off = (hit - 4) as u64;
        let Some(ulong1) = u32_at(data, pool_off) else {
            continue;
        };
        let block = u64::from((ulong1 >> 16) & 0xFF) * 16;
        for k in (16..=16 + MAX_OPTIONAL_HEADERS).step_by(16) {
            let body_off = pool_off + k + oh.body;
            if block > 0 && k + oh.body + d.size > block {
                break;
            }
            let Some(body) = usize::try_from(body_off)
                .ok()
                .and_then(|o| data.get(o..o.checked_add(usize::try_from(d.size).ok()?)?))
            else {
                break;
            };
            let Some(mut c) = decode_body(d, body) else {
                continue;
            };
            let header = usize::try_from(pool_off + k)
                .ok()
                .and_then(|o| data.get(o..o.checked_add(usize::try_from(oh.body).ok()?)?));
            c.stored_type_index = header.and_then(|h| oh.type_index.get(h)).unwrap_or(0) as u8;
            c.pool_pa = start + pool_off;
            c.object_pa = start + body_off;
            out.push(c);
            break;
        }
    }
    out
}

/// Whether the object header at `oh_va` (0 when unknown) with stored type index `stored` is
/// of type `name`. Without a type table, or with a cookie and no known header address, the
/// body validation alone decides.
pub fn object_type_is(types: &TypeCheck, stored: u8, oh_va: u64, name: &str) -> bool {
    let Some(names) = &types.names else {
        return true;
    };
    let index = match types.cookie {
        None => stored,
        Some(_) if oh_va == 0 => return true,
        Some(cookie) => stored ^ cookie ^ ((oh_va >> 8) & 0xff) as u8,
    };
    names.get(usize::from(index)).and_then(|n| n.as_deref()) == Some(name)
}

/// Resolve a candidate through the kernel space: its virtual address (the first field of
/// `_DRIVER_EXTENSION` points back at the driver object), its object type (`Driver`), its name.
pub fn resolve(
    space: &AddressSpace,
    oh: &HeaderLayout,
    types: &TypeCheck,
    c: &DriverCandidate,
) -> Option<ScannedDriver> {
    let object_va = space
        .read_ptr(c.driver_extension)
        .ok()
        .filter(|va| is_kernel_address(*va))
        .filter(|va| space.translate(*va).ok().map(|t| t.pa) == Some(c.object_pa));
    let oh_va = object_va.map_or(0, |va| va.wrapping_sub(oh.body));
    if !object_type_is(types, c.stored_type_index, oh_va, "Driver") {
        return None;
    }
    let name = if c.name_len > 0 {
        space
            .read_utf16(c.name_buffer, u64::from(c.name_len), MAX_NAME_BYTES)
            .unwrap_or_default()
    } else {
        String::new()
    };
    Some(ScannedDriver {
        pool_pa: c.pool_pa,
        object_pa: c.object_pa,
        object_va,
        driver_start: c.driver_start,
        driver_size: c.driver_size,
        driver_section: c.driver_section,
        name,
    })
}

/// The driver objects the candidates of a pass resolve to, sorted by physical address (the
/// pass itself is `crate::poolscan::scan_pool`, shared with the process scan).
pub fn resolve_all(
    space: &AddressSpace,
    oh: &HeaderLayout,
    types: &TypeCheck,
    candidates: &[DriverCandidate],
) -> Vec<ScannedDriver> {
    let mut found: Vec<ScannedDriver> = candidates
        .iter()
        .filter_map(|c| resolve(space, oh, types, c))
        .collect();
    found.sort_by_key(|s| s.object_pa);
    found.dedup_by_key(|s| s.object_pa);
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::driver_object::VERIFIED_LAYOUT;

    const OH: HeaderLayout = HeaderLayout {
        body: 0x30,
        type_index: Loc {
            offset: 0x18,
            size: 1,
            bits: None,
        },
    };

    /// A page holding one pool block: header with `tag`, `opt` bytes of optional headers, an
    /// object header with type index 0x21, a driver object with the given fields.
    fn page(tag: &[u8; 4], opt: u64, start: u64, size: u16) -> Vec<u8> {
        let mut p = vec![0u8; 0x1000];
        let at = 0x200usize;
        let block = (16 + opt + 0x30 + 0x150 + 0x40).div_ceil(16);
        p[at..at + 4].copy_from_slice(&((block as u32) << 16).to_le_bytes());
        p[at + 4..at + 8].copy_from_slice(tag);
        let oh = at + 16 + opt as usize;
        p[oh + 0x18] = 0x21;
        let b = oh + 0x30;
        p[b..b + 2].copy_from_slice(&4u16.to_le_bytes());
        p[b + 2..b + 4].copy_from_slice(&size.to_le_bytes());
        p[b + 0x18..b + 0x20].copy_from_slice(&start.to_le_bytes());
        p[b + 0x20..b + 0x24].copy_from_slice(&0x7000u32.to_le_bytes());
        p[b + 0x30..b + 0x38].copy_from_slice(&0xffff_8000_0000_1150u64.to_le_bytes());
        p[b + 0x38..b + 0x3a].copy_from_slice(&8u16.to_le_bytes());
        p[b + 0x3a..b + 0x3c].copy_from_slice(&10u16.to_le_bytes());
        p[b + 0x40..b + 0x48].copy_from_slice(&0xffff_8000_0000_2000u64.to_le_bytes());
        p
    }

    #[test]
    fn a_driver_object_is_found_after_optional_headers_with_either_tag() {
        for (tag, opt) in [(b"Driv", 0u64), (b"Dri\xf6", 0x20), (b"Driv", 0x40)] {
            let p = page(tag, opt, 0xffff_f801_2340_0000, 0x150);
            let got = driver_candidates(&VERIFIED_LAYOUT, &OH, 0x5000, &p);
            assert_eq!(got.len(), 1, "{tag:?} {opt:#x}");
            let c = got[0];
            assert_eq!(c.pool_pa, 0x5200);
            assert_eq!(c.object_pa, 0x5200 + 16 + opt + 0x30);
            assert_eq!(c.stored_type_index, 0x21);
            assert_eq!(c.driver_start, 0xffff_f801_2340_0000);
            assert_eq!(c.driver_size, 0x7000);
            assert_eq!((c.name_len, c.name_buffer), (8, 0xffff_8000_0000_2000));
        }
    }

    #[test]
    fn look_alikes_are_not_driver_objects() {
        // Wrong Size field, user-space DriverStart, other tag, misaligned tag.
        let wrong_size = page(b"Driv", 0, 0xffff_f801_2340_0000, 0x148);
        assert!(driver_candidates(&VERIFIED_LAYOUT, &OH, 0, &wrong_size).is_empty());
        let user_start = page(b"Driv", 0, 0x7ff6_0000_0000, 0x150);
        assert!(driver_candidates(&VERIFIED_LAYOUT, &OH, 0, &user_start).is_empty());
        let other_tag = page(b"Drix", 0, 0xffff_f801_2340_0000, 0x150);
        assert!(driver_candidates(&VERIFIED_LAYOUT, &OH, 0, &other_tag).is_empty());
        let p = page(b"Driv", 0, 0xffff_f801_2340_0000, 0x150);
        assert!(driver_candidates(&VERIFIED_LAYOUT, &OH, 8, &p).is_empty());
        // A chunk that ends inside the body: no read past it, no candidate.
        assert!(driver_candidates(&VERIFIED_LAYOUT, &OH, 0, &p[..0x300]).is_empty());
    }

    #[test]
    fn the_type_index_is_decoded_with_the_header_cookie() {
        let mut names = vec![None; 64];
        names[0x21] = Some("Driver".to_string());
        names[7] = Some("Process".to_string());
        let plain = TypeCheck {
            names: Some(names.clone()),
            cookie: None,
        };
        assert!(object_type_is(&plain, 0x21, 0, "Driver"));
        assert!(!object_type_is(&plain, 7, 0, "Driver"));
        let oh_va = 0xffff_d882_0001_3410u64;
        let cookie = TypeCheck {
            names: Some(names),
            cookie: Some(0x5a),
        };
        assert!(object_type_is(&cookie, 0x21 ^ 0x5a ^ 0x34, oh_va, "Driver"));
        assert!(!object_type_is(&cookie, 0x21, oh_va, "Driver"));
    }
}
