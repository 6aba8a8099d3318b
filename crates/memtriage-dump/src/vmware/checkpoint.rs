//! The VMware checkpoint state format (`.vmss` suspended state, `.vmsn` snapshot): a
//! 12-byte header (magic, a reserved word, the group count), a table of 80-byte group
//! descriptors (name[64], tag-stream offset, size), and for each group a stream of tags.
//!
//! A tag starts with a flags byte and a name-length byte (both 0 end the stream), then the
//! name and up to three `u32` indices (flags bits 6-7). Flags bits 0-5 give the value size;
//! 62 and 63 mark a block: two sizes (8 bytes each, 4 in format version 0), a `u16` padding
//! size, the padding and the block's bytes. Any other size is an inline little-endian value.
//! Only the "memory" group (region map, embedded memory) and the "cpu" group (CR64) are
//! interpreted; other tags, whatever their type, are skipped by their declared size.

use crate::source::Evidence;
use crate::{ElfCpuState, VmwareRegion};
use nom::bytes::complete::take;
use nom::multi::count;
use nom::number::complete::{le_u16, le_u32, le_u64, le_u8};
use nom::sequence::tuple;
use nom::IResult;
use std::collections::BTreeMap;

/// Size of the checkpoint header.
const HEADER_SIZE: u64 = 12;
/// Size of one group descriptor.
const GROUP_SIZE: u64 = 80;
/// The most tags read from one group (a real "cpu" group of a many-vCPU guest holds a few
/// thousand).
const MAX_TAGS: usize = 1 << 20;
/// Size of a CR64 block: cr0..cr8.
const CR64_BLOCK: u64 = 72;
/// Bytes that hold any tag header: flags, name length, a 255-byte name, 3 indices, two
/// 8-byte sizes and the padding size.
const TAG_HEADER_MAX: u64 = 2 + 255 + 12 + 8 + 8 + 2;

/// The checkpoint header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Header {
    /// The magic as stored.
    pub magic: [u8; 4],
    /// Number of group descriptors.
    pub group_count: u32,
}

impl Header {
    /// The format version: the low 4 bits of the first magic byte.
    pub(crate) fn version(&self) -> u32 {
        u32::from(self.magic[0] & 0xF)
    }
}

/// Parse the 12-byte checkpoint header.
pub(crate) fn header(i: &[u8]) -> IResult<&[u8], Header> {
    let (i, (magic, _reserved, group_count)) = tuple((take(4usize), le_u32, le_u32))(i)?;
    let mut m = [0u8; 4];
    m.copy_from_slice(magic);
    Ok((
        i,
        Header {
            magic: m,
            group_count,
        },
    ))
}

/// A group descriptor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Group {
    /// The group's name ("memory", "cpu", ...).
    pub name: String,
    /// File offset of its tag stream.
    pub offset: u64,
    /// Size of its tag stream as declared.
    pub size: u64,
}

/// Parse one 80-byte group descriptor.
pub(crate) fn group(i: &[u8]) -> IResult<&[u8], Group> {
    let (i, (name, offset, size)) = tuple((take(64usize), le_u64, le_u64))(i)?;
    let end = name.iter().position(|&b| b == 0).unwrap_or(name.len());
    let name = String::from_utf8_lossy(name.get(..end).unwrap_or_default()).into_owned();
    Ok((i, Group { name, offset, size }))
}

/// The value part of a tag.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TagValue {
    /// An inline value of `size` bytes (at most 61), at `at` bytes from the tag's start.
    Inline {
        /// Offset of the value from the tag's start.
        at: u64,
        /// Size of the value in bytes.
        size: u8,
    },
    /// A block of `size` bytes at `at` bytes from the tag's start.
    Block {
        /// Offset of the block's bytes from the tag's start.
        at: u64,
        /// Size of the block in the file.
        size: u64,
        /// Size of the block in memory (differs when compressed).
        size_in_memory: u64,
        /// Whether the block is compressed (value size 63).
        compressed: bool,
    },
}

/// A tag's header: name, indices and where its value is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Tag {
    /// The tag's name.
    pub name: String,
    /// Its indices (0 to 3).
    pub indices: Vec<u32>,
    /// Where the value is.
    pub value: TagValue,
}

impl Tag {
    /// Bytes from the tag's start to the next tag.
    pub(crate) fn len(&self) -> u64 {
        match self.value {
            TagValue::Inline { at, size } => at + u64::from(size),
            TagValue::Block { at, size, .. } => at.saturating_add(size),
        }
    }
}

/// Parse a tag header at the start of `i`; `None` at the end-of-group marker (0, 0).
/// `version` is the checkpoint format version (block sizes are 4 bytes in version 0).
pub(crate) fn tag(version: u32, i: &[u8]) -> IResult<&[u8], Option<Tag>> {
    let start = i.len();
    let (i, (flags, name_len)) = tuple((le_u8, le_u8))(i)?;
    if flags == 0 && name_len == 0 {
        return Ok((i, None));
    }
    let (i, name) = take(name_len)(i)?;
    let (i, indices) = count(le_u32, usize::from(flags >> 6))(i)?;
    let size = flags & 0x3F;
    let consumed = |rest: &[u8]| (start - rest.len()) as u64;
    let (i, value) = if size == 62 || size == 63 {
        let (i, (bytes, in_memory)) = if version == 0 {
            let (i, (a, b)) = tuple((le_u32, le_u32))(i)?;
            (i, (u64::from(a), u64::from(b)))
        } else {
            tuple((le_u64, le_u64))(i)?
        };
        let (i, padding) = le_u16(i)?;
        let at = consumed(i) + u64::from(padding);
        (
            i,
            TagValue::Block {
                at,
                size: bytes,
                size_in_memory: in_memory,
                compressed: size == 63,
            },
        )
    } else {
        let at = consumed(i);
        (i, TagValue::Inline { at, size })
    };
    Ok((
        i,
        Some(Tag {
            name: String::from_utf8_lossy(name).into_owned(),
            indices,
            value,
        }),
    ))
}

/// Five little-endian `u64`s (cr0..cr4 of a CR64 block).
fn five_u64(b: &[u8]) -> Option<(u64, u64, u64, u64, u64)> {
    let r: IResult<&[u8], _> = tuple((le_u64, le_u64, le_u64, le_u64, le_u64))(b);
    r.ok().map(|(_, v)| v)
}

/// Little-endian value of up to 8 bytes.
fn le_value(bytes: &[u8]) -> u64 {
    bytes
        .iter()
        .take(8)
        .rev()
        .fold(0u64, |acc, &b| (acc << 8) | u64::from(b))
}

/// What a checkpoint says about the guest's memory and CPU.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Checkpoint {
    /// The format version.
    pub version: u32,
    /// The group descriptors.
    pub groups: Vec<Group>,
    /// `regionsCount` (None when the tag is absent).
    pub regions_count: Option<u64>,
    /// The regions whose three tags are all present, in index order.
    pub regions: Vec<VmwareRegion>,
    /// `cpu:numVCPUs`.
    pub vcpus: Option<u32>,
    /// CR0, CR3 and CR4 of vCPU 0.
    pub cpu: Option<ElfCpuState>,
    /// The "Memory" block (memory stored in the checkpoint): file offset and size.
    pub embedded_memory: Option<(u64, u64)>,
    /// Problems that leave the checkpoint usable.
    pub warnings: Vec<String>,
}

/// Why a checkpoint cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CheckpointError {
    /// Too short for its header.
    Truncated(u64),
    /// The magic is not one of VMware's.
    BadMagic([u8; 4]),
    /// No "memory" group.
    NoMemoryGroup,
}

impl std::fmt::Display for CheckpointError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CheckpointError::Truncated(n) => write!(
                f,
                "VMware checkpoint truncated: {n} bytes, the header needs {HEADER_SIZE}"
            ),
            CheckpointError::BadMagic(m) => write!(
                f,
                "not a VMware checkpoint (magic {:02x}{:02x}{:02x}{:02x})",
                m[0], m[1], m[2], m[3]
            ),
            CheckpointError::NoMemoryGroup => {
                write!(f, "VMware checkpoint without a \"memory\" group")
            }
        }
    }
}

/// CR registers of one vCPU while they are collected.
#[derive(Debug, Default)]
struct Crs {
    cr0: Option<u64>,
    cr3: Option<u64>,
    cr4: Option<u64>,
}

/// Region tags while they are collected, by region index.
#[derive(Debug, Default, Clone, Copy)]
struct PartialRegion {
    ppn: Option<u64>,
    page_num: Option<u64>,
    pages: Option<u64>,
}

/// Read the checkpoint in `ev`: header, groups, and the "memory" and "cpu" groups' tags.
pub(crate) fn read(ev: &Evidence) -> Result<Checkpoint, CheckpointError> {
    let file_len = ev.len();
    let raw = ev.read_upto(0, HEADER_SIZE);
    let Ok((_, h)) = header(&raw) else {
        return Err(CheckpointError::Truncated(file_len));
    };
    if !crate::sniff::VMWARE_MAGICS.contains(&h.magic) {
        return Err(CheckpointError::BadMagic(h.magic));
    }
    let mut cp = Checkpoint {
        version: h.version(),
        ..Checkpoint::default()
    };
    let fit = file_len.saturating_sub(HEADER_SIZE) / GROUP_SIZE;
    let declared = u64::from(h.group_count);
    if declared > fit {
        cp.warnings.push(format!(
            "the checkpoint declares {declared} groups but only {fit} descriptors fit in the \
             file ({file_len} bytes)"
        ));
    }
    let table = ev.read_upto(HEADER_SIZE, declared.min(fit) * GROUP_SIZE);
    for d in table.chunks_exact(GROUP_SIZE as usize) {
        if let Ok((_, g)) = group(d) {
            cp.groups.push(g);
        }
    }
    let memory = cp
        .groups
        .iter()
        .find(|g| g.name == "memory")
        .cloned()
        .ok_or(CheckpointError::NoMemoryGroup)?;
    let mut regions: BTreeMap<u32, PartialRegion> = BTreeMap::new();
    let mut crs = Crs::default();
    let version = cp.version;
    let stopped = walk_tags(ev, &memory, version, |tag, at, ev| {
        let idx = tag.indices.first().copied();
        match (tag.name.as_str(), tag.value, idx) {
            ("regionsCount", TagValue::Inline { .. }, None) => {
                cp.regions_count = inline(ev, at, &tag);
            }
            ("regionPPN", TagValue::Inline { .. }, Some(i)) => {
                regions.entry(i).or_default().ppn = inline(ev, at, &tag);
            }
            ("regionPageNum", TagValue::Inline { .. }, Some(i)) => {
                regions.entry(i).or_default().page_num = inline(ev, at, &tag);
            }
            ("regionSize", TagValue::Inline { .. }, Some(i)) => {
                regions.entry(i).or_default().pages = inline(ev, at, &tag);
            }
            (
                "Memory",
                TagValue::Block {
                    at: rel,
                    size,
                    compressed: false,
                    ..
                },
                _,
            ) => cp.embedded_memory = Some((at.saturating_add(rel), size)),
            ("Memory", TagValue::Block { .. }, _) => cp.warnings.push(
                "the checkpoint's memory is compressed; it is not read (use the .vmem)".into(),
            ),
            _ => {}
        }
    });
    cp.warnings.extend(stopped);
    if let Some(cpu) = cp.groups.iter().find(|g| g.name == "cpu").cloned() {
        let stopped = walk_tags(ev, &cpu, version, |tag, at, ev| {
            match (tag.name.as_str(), tag.value, tag.indices.as_slice()) {
                ("cpu:numVCPUs", TagValue::Inline { .. }, []) => {
                    cp.vcpus = inline(ev, at, &tag).and_then(|v| u32::try_from(v).ok());
                }
                ("CR64", TagValue::Inline { size: 8, .. }, [0, reg]) => {
                    let v = inline(ev, at, &tag);
                    match reg {
                        0 => crs.cr0 = v,
                        3 => crs.cr3 = v,
                        4 => crs.cr4 = v,
                        _ => {}
                    }
                }
                (
                    "CR64",
                    TagValue::Block {
                        at: rel,
                        size: CR64_BLOCK,
                        compressed: false,
                        ..
                    },
                    [0],
                ) => {
                    let b = ev.read_upto(at.saturating_add(rel), CR64_BLOCK);
                    let regs = five_u64(&b);
                    if let Some((cr0, _cr1, _cr2, cr3, cr4)) = regs {
                        crs = Crs {
                            cr0: Some(cr0),
                            cr3: Some(cr3),
                            cr4: Some(cr4),
                        };
                    }
                }
                _ => {}
            }
        });
        cp.warnings.extend(stopped);
    }
    if let Some(cr3) = crs.cr3 {
        cp.cpu = Some(ElfCpuState {
            cr0: crs.cr0.unwrap_or(0),
            cr3,
            cr4: crs.cr4.unwrap_or(0),
        });
    }
    let count = cp.regions_count.unwrap_or(0);
    for (i, r) in &regions {
        if u64::from(*i) >= count {
            cp.warnings.push(format!(
                "memory region {i} lies past regionsCount ({count}); ignored"
            ));
            continue;
        }
        match (r.ppn, r.page_num, r.pages) {
            (Some(ppn), Some(page_num), Some(pages)) => cp.regions.push(VmwareRegion {
                ppn,
                page_num,
                pages,
            }),
            _ => cp.warnings.push(format!(
                "memory region {i} lacks regionPPN, regionPageNum or regionSize; ignored"
            )),
        }
    }
    let described = regions.len() as u64;
    if count > described {
        cp.warnings.push(format!(
            "regionsCount is {count} but the checkpoint describes {described} regions"
        ));
    }
    Ok(cp)
}

/// The inline value of `tag` (starting at file offset `at`).
fn inline(ev: &Evidence, at: u64, tag: &Tag) -> Option<u64> {
    let TagValue::Inline { at: rel, size } = tag.value else {
        return None;
    };
    let b = ev.read_upto(at.checked_add(rel)?, u64::from(size));
    (b.len() == usize::from(size) && size > 0).then(|| le_value(&b))
}

/// Call `visit(tag, file offset of the tag, evidence)` for every tag of `group`, reading one
/// small tag header at a time (blocks are skipped, never read whole). Returns a warning when
/// the stream ends without its end marker.
fn walk_tags(
    ev: &Evidence,
    group: &Group,
    version: u32,
    mut visit: impl FnMut(Tag, u64, &Evidence),
) -> Option<String> {
    let file_len = ev.len();
    // The declared size bounds the stream when it is plausible; the file always does.
    let end = match group.offset.checked_add(group.size) {
        Some(e) if group.size > 0 && e <= file_len => e,
        _ => file_len,
    };
    let mut at = group.offset;
    for _ in 0..MAX_TAGS {
        if at >= end {
            return Some(format!(
                "the \"{}\" group's tags run to the end of the group without an end marker",
                group.name
            ));
        }
        let window = ev.read_upto(at, TAG_HEADER_MAX.min(end - at));
        match tag(version, &window) {
            Ok((_, None)) => return None,
            Ok((_, Some(t))) => {
                let next = at.saturating_add(t.len());
                visit(t, at, ev);
                at = next;
            }
            Err(_) => {
                return Some(format!(
                    "the \"{}\" group has a truncated tag at file offset {at:#x}; the rest of \
                     the group is ignored",
                    group.name
                ));
            }
        }
    }
    Some(format!(
        "the \"{}\" group has more than {MAX_TAGS} tags; the rest is ignored",
        group.name
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn header_group_and_tags() {
        let mut h = vec![0xD2, 0xBE, 0xD2, 0xBE];
        h.extend_from_slice(&0u32.to_le_bytes());
        h.extend_from_slice(&3u32.to_le_bytes());
        let (_, hd) = header(&h).unwrap();
        assert_eq!(hd.group_count, 3);
        assert_eq!(hd.version(), 2);

        let mut g = vec![0u8; 80];
        g[..6].copy_from_slice(b"memory");
        g[64..72].copy_from_slice(&0x1234u64.to_le_bytes());
        g[72..80].copy_from_slice(&0x56u64.to_le_bytes());
        let (_, gr) = group(&g).unwrap();
        assert_eq!(
            gr,
            Group {
                name: "memory".into(),
                offset: 0x1234,
                size: 0x56
            }
        );

        // regionPPN[1] = 0xC0000, a 4-byte value with one index.
        let mut t = vec![4 | (1 << 6), 9];
        t.extend_from_slice(b"regionPPN");
        t.extend_from_slice(&1u32.to_le_bytes());
        t.extend_from_slice(&0xC0000u32.to_le_bytes());
        let (rest, tg) = tag(2, &t).unwrap();
        let tg = tg.unwrap();
        assert!(rest.len() == 4);
        assert_eq!(tg.name, "regionPPN");
        assert_eq!(tg.indices, vec![1]);
        assert_eq!(tg.value, TagValue::Inline { at: 15, size: 4 });
        assert_eq!(tg.len(), 19);
        assert_eq!(le_value(&t[15..19]), 0xC0000);

        // A block: two 8-byte sizes, 2 bytes of padding size (3), padding, data.
        let mut b = vec![62 | (1 << 6), 4];
        b.extend_from_slice(b"CR64");
        b.extend_from_slice(&0u32.to_le_bytes());
        b.extend_from_slice(&72u64.to_le_bytes());
        b.extend_from_slice(&72u64.to_le_bytes());
        b.extend_from_slice(&3u16.to_le_bytes());
        let (_, tg) = tag(2, &b).unwrap();
        assert_eq!(
            tg.unwrap().value,
            TagValue::Block {
                at: 2 + 4 + 4 + 16 + 2 + 3,
                size: 72,
                size_in_memory: 72,
                compressed: false
            }
        );
        // Version 0: 4-byte block sizes.
        let mut b0 = vec![63, 1, b'M'];
        b0.extend_from_slice(&10u32.to_le_bytes());
        b0.extend_from_slice(&20u32.to_le_bytes());
        b0.extend_from_slice(&0u16.to_le_bytes());
        let (_, tg) = tag(0, &b0).unwrap();
        assert_eq!(
            tg.unwrap().value,
            TagValue::Block {
                at: 13,
                size: 10,
                size_in_memory: 20,
                compressed: true
            }
        );
        // End marker, and a tag cut short.
        assert_eq!(tag(2, &[0, 0]).unwrap().1, None);
        assert!(tag(2, &t[..12]).is_err());
    }
}
