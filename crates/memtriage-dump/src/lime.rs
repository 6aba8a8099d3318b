//! LiME (Linux Memory Extractor) files in the "lime" format: each stored range of physical
//! memory is preceded by a 32-byte range header (magic 0x4C694D45 "EMiL" little-endian,
//! version 1, start address, inclusive end address, 8 reserved bytes). Detected by content;
//! every range is checked against the file's size.

use crate::segmented::{Segment, SegmentedImage};
use crate::source::Evidence;
use crate::{Capture, DumpFormat, DumpMetadata, EmptyCapture, Extents, OpenError, RootCause};
use nom::bytes::complete::take;
use nom::number::complete::{le_u32, le_u64};
use nom::sequence::tuple;
use nom::IResult;

/// The range-header magic, 0x4C694D45.
const MAGIC: u32 = 0x4C69_4D45;
/// The one header version LiME writes.
const VERSION: u32 = 1;
/// Size of a range header.
pub(crate) const HEADER_SIZE: u64 = 32;
/// The most ranges read from one file (LiME writes one per RAM range: a few dozen).
const MAX_RANGES: usize = 1 << 16;

/// A LiME range header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct RangeHeader {
    /// 0x4C694D45 in a valid header.
    pub magic: u32,
    /// 1 in a valid header.
    pub version: u32,
    /// First physical address of the range.
    pub start: u64,
    /// Last physical address of the range (inclusive).
    pub end: u64,
}

/// Parse one 32-byte range header.
pub(crate) fn range_header(i: &[u8]) -> IResult<&[u8], RangeHeader> {
    let (i, (magic, version, start, end, _reserved)) =
        tuple((le_u32, le_u32, le_u64, le_u64, take(8usize)))(i)?;
    Ok((
        i,
        RangeHeader {
            magic,
            version,
            start,
            end,
        },
    ))
}

/// Open a LiME file whose first bytes are "EMiL".
pub(crate) fn open(ev: Evidence) -> Result<Capture, OpenError> {
    let file_len = ev.len();
    let mut meta = DumpMetadata::new(DumpFormat::Lime, file_len);
    let mut segs: Vec<Segment> = Vec::new();
    let mut off = 0u64;
    while off < file_len {
        let raw = ev.read_upto(off, HEADER_SIZE);
        let Ok((_, h)) = range_header(&raw) else {
            meta.warnings.push(format!(
                "LiME range header at file offset {off:#x} truncated: the file ({file_len} \
                 bytes) ends inside it"
            ));
            break;
        };
        if h.magic != MAGIC {
            meta.warnings.push(format!(
                "no LiME range header at file offset {off:#x} (magic {:#010x}); the {} bytes \
                 from there are ignored",
                h.magic,
                file_len - off
            ));
            break;
        }
        if h.version != VERSION {
            if segs.is_empty() {
                return Err(ev.unsupported(format!(
                    "LiME version {} (only version 1 is read)",
                    h.version
                )));
            }
            meta.warnings.push(format!(
                "LiME range header at file offset {off:#x} has version {}, not 1; it and the \
                 rest of the file are ignored",
                h.version
            ));
            break;
        }
        let Some(len) = h.end.checked_sub(h.start).and_then(|n| n.checked_add(1)) else {
            meta.warnings.push(format!(
                "LiME range header at file offset {off:#x} has end {:#x} before start {:#x} \
                 (or spans all 2^64 bytes); it and the rest of the file are ignored",
                h.end, h.start
            ));
            break;
        };
        if segs.len() >= MAX_RANGES {
            meta.warnings.push(format!(
                "more than {MAX_RANGES} LiME ranges; the rest of the file from {off:#x} is \
                 ignored"
            ));
            break;
        }
        let data = off + HEADER_SIZE;
        segs.push(Segment {
            pa: h.start,
            len,
            file_off: data,
        });
        // Past the end of the file SegmentedImage clips the range and warns.
        off = data.saturating_add(len);
    }
    if segs.is_empty() {
        meta.root_cause = Some(RootCause::empty(EmptyCapture::NoLimeRanges));
    }
    Ok(Box::new(SegmentedImage::new(
        ev,
        segs,
        meta,
        Extents::LimeRanges,
    )))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    #[test]
    fn range_header_fields() {
        // As LiME writes it: lime_mem_range_header { magic, version, s_addr, e_addr, reserved }.
        let mut h = Vec::new();
        h.extend_from_slice(&0x4C69_4D45u32.to_le_bytes());
        h.extend_from_slice(&1u32.to_le_bytes());
        h.extend_from_slice(&0x10_0000u64.to_le_bytes());
        h.extend_from_slice(&0x1F_FFFFu64.to_le_bytes());
        h.extend_from_slice(&[0u8; 8]);
        assert_eq!(&h[..4], b"EMiL");
        let (rest, r) = range_header(&h).unwrap();
        assert!(rest.is_empty());
        assert_eq!(
            r,
            RangeHeader {
                magic: MAGIC,
                version: 1,
                start: 0x10_0000,
                end: 0x1F_FFFF
            }
        );
        assert!(range_header(&h[..31]).is_err());
    }
}
