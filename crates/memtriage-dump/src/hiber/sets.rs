//! The restore sets of a hibernation file: chains of compressed page sets.
//!
//! A restore set starts at a file page named by the header and holds a stated number of pages.
//! It is a sequence of page sets, each:
//!
//! ```text
//! u32  bits 0-7: descriptor count, bits 8-29: bytes of data, bit 31: Xpress Huffman (else LZ77)
//! u64  descriptor × count: bits 0-3: pages - 1, bits 4-63: first page frame number
//! data pages of all descriptors in order, Xpress-compressed, or stored when the data size
//!      equals pages × 4096
//! ```

use nom::multi::count;
use nom::number::complete::{le_u32, le_u64};
use nom::IResult;

use crate::PAGE_SIZE;

/// Windows puts at most 16 pages (64 KiB) in one page set; more is corruption.
pub(crate) const MAX_SET_PAGES: u32 = 16;
/// Page frame numbers above this would overflow a 64-bit physical address.
const MAX_PFN: u64 = (1 << 52) - 1;

/// How a page set's data is stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SetCodec {
    /// Pages stored as they are.
    Stored,
    /// Compressed with an Xpress variant.
    Xpress(memtriage_xpress::Codec),
}

/// One page set: where its data is and how many pages it decompresses to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PageSet {
    /// File offset of the data.
    pub data_offset: u64,
    /// Bytes of data.
    pub data_len: u32,
    /// Pages the data holds (1 to 16).
    pub pages: u32,
    /// How the data is stored.
    pub codec: SetCodec,
}

/// `pages` physical pages from `pfn` are pages `first_page..` of page set `set`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct PageRun {
    /// First page frame number.
    pub pfn: u64,
    /// Pages in the run.
    pub pages: u32,
    /// Index of the page set.
    pub set: u32,
    /// Index of the run's first page within the set's data.
    pub first_page: u32,
}

impl PageRun {
    pub(crate) fn end(&self) -> u64 {
        self.pfn + u64::from(self.pages)
    }
}

/// A page set header and its descriptors: `(flags word, descriptors)`.
fn set_header(d: &[u8]) -> IResult<&[u8], (u32, Vec<u64>)> {
    let (d, word) = le_u32(d)?;
    let (d, descriptors) = count(le_u64, (word & 0xFF) as usize)(d)?;
    Ok((d, (word, descriptors)))
}

/// Where walking a restore set stopped early.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Shortfall {
    /// Pages the header promised.
    pub promised: u64,
    /// Pages found before the walk stopped.
    pub found: u64,
    /// Why it stopped, in a few words.
    pub reason: String,
}

/// Bytes of the largest page set header: the flags word and 255 descriptors.
const MAX_HEADER: usize = 4 + 255 * 8;

/// Walk the restore set at file offset `start` that promises `promised` pages, appending its
/// page sets to `sets` and its runs to `runs`. `read_at(offset, buf)` fills `buf` from the
/// file (false when the bytes are not all there); `file_len` is the file's size. Stops at the
/// promised count, at the end of the file or at the first malformed page set (returned as a
/// [`Shortfall`]).
pub(crate) fn walk(
    read_at: impl Fn(u64, &mut [u8]) -> bool,
    file_len: u64,
    start: u64,
    promised: u64,
    sets: &mut Vec<PageSet>,
    runs: &mut Vec<PageRun>,
) -> Option<Shortfall> {
    let mut found = 0u64;
    let mut off = start;
    let short = |found: u64, reason: String| {
        Some(Shortfall {
            promised,
            found,
            reason,
        })
    };
    let mut buf = vec![0u8; MAX_HEADER];
    while found < promised {
        let avail = file_len.saturating_sub(off).min(MAX_HEADER as u64) as usize;
        if avail == 0 {
            return short(
                found,
                format!("page set at {off:#x} lies past the end of the file"),
            );
        }
        let head = &mut buf[..avail];
        if !read_at(off, head) {
            return short(found, format!("page set at {off:#x} could not be read"));
        }
        let Ok((after, (word, descriptors))) = set_header(head) else {
            return short(
                found,
                format!("page set header at {off:#x} is cut off by the end of the file"),
            );
        };
        let header_len = (avail - after.len()) as u64;
        let data_len = (word >> 8) & 0x3F_FFFF;
        if descriptors.is_empty() || data_len == 0 {
            return short(
                found,
                format!("page set at {off:#x} is empty (header {word:#010x})"),
            );
        }
        let pages: u64 = descriptors.iter().map(|d| (d & 0xF) + 1).sum();
        if pages > u64::from(MAX_SET_PAGES) {
            return short(
                found,
                format!("page set at {off:#x} claims {pages} pages (at most {MAX_SET_PAGES})"),
            );
        }
        let pages = pages as u32;
        let data_offset = off + header_len;
        let data_end = data_offset + u64::from(data_len);
        if data_end > file_len {
            return short(
                found,
                format!(
                    "page set at {off:#x} has {data_len} bytes of data past the end of the file"
                ),
            );
        }
        let codec = if u64::from(data_len) == u64::from(pages) * PAGE_SIZE {
            SetCodec::Stored
        } else if word & 0x8000_0000 != 0 {
            SetCodec::Xpress(memtriage_xpress::Codec::Huffman)
        } else {
            SetCodec::Xpress(memtriage_xpress::Codec::Plain)
        };
        let set = sets.len() as u32;
        sets.push(PageSet {
            data_offset,
            data_len,
            pages,
            codec,
        });
        let mut first_page = 0u32;
        for d in descriptors {
            let n = (d & 0xF) as u32 + 1;
            let pfn = d >> 4;
            if pfn + u64::from(n) - 1 <= MAX_PFN {
                runs.push(PageRun {
                    pfn,
                    pages: n,
                    set,
                    first_page,
                });
            }
            first_page += n;
        }
        found += u64::from(pages);
        off = data_end;
    }
    None
}

/// Sort runs by page frame number and cut pages listed more than once (the run that starts
/// lower keeps them; of runs with the same start, the one listed first). Returns the number of
/// duplicate pages dropped.
pub(crate) fn sort_runs(runs: &mut Vec<PageRun>) -> u64 {
    // Stable: among equal starts, the run read first stays first.
    runs.sort_by_key(|r| r.pfn);
    let mut out: Vec<PageRun> = Vec::with_capacity(runs.len());
    let mut dropped = 0u64;
    for mut r in runs.drain(..) {
        if let Some(last) = out.last() {
            let covered = last.end();
            if r.pfn < covered {
                let cut = (covered - r.pfn).min(u64::from(r.pages)) as u32;
                dropped += u64::from(cut);
                r.pfn += u64::from(cut);
                r.first_page += cut;
                r.pages -= cut;
                if r.pages == 0 {
                    continue;
                }
            }
        }
        out.push(r);
    }
    *runs = out;
    dropped
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(pfn: u64, pages: u32, set: u32) -> PageRun {
        PageRun {
            pfn,
            pages,
            set,
            first_page: 0,
        }
    }

    #[test]
    fn duplicate_pages_are_cut_once() {
        // Set 0 lists 10..14, set 1 lists 8..12 (overlapping 10, 11), set 2 repeats 10..14,
        // set 3 lists 20..21.
        let mut runs = vec![run(10, 4, 0), run(8, 4, 1), run(10, 4, 2), run(20, 1, 3)];
        assert_eq!(sort_runs(&mut runs), 2 + 4);
        assert_eq!(
            runs,
            vec![
                run(8, 4, 1),
                PageRun {
                    pfn: 12,
                    pages: 2,
                    set: 0,
                    first_page: 2
                },
                run(20, 1, 3),
            ]
        );
    }
}
