//! Bitmap crash dumps (DumpType 5 and 6): a bitmap of present physical pages at 0x2038, the
//! present pages stored in ascending order from the first-page file offset.
//!
//! Lookups are O(1): a rank index (cumulative popcount every 512 bits) built at open gives
//! the number of present pages below any page frame with at most eight popcounts.

use crate::ranges_fmt::fmt_ranges;
use crate::source::Evidence;
use crate::{
    Capture, DumpMetadata, EmptyCapture, Extents, MapAdvice, OpenError, PhysError, PhysRange,
    PhysicalMemory, RootCause, PAGE_SIZE,
};
use nom::bytes::complete::take;
use nom::number::complete::le_u64;
use nom::sequence::tuple;
use nom::IResult;

/// File offset of the bitmap sub-header.
const SUB_HEADER: u64 = 0x2000;
/// File offset of the bitmap itself.
const BITMAP: u64 = 0x2038;

/// The bitmap sub-header ("SDMP"/"FDMP" + "DUMP") at 0x2000.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SubHeader {
    /// "SDMP" or "FDMP", then "DUMP".
    signature: [u8; 8],
    /// File offset of the first present page.
    first_page: u64,
    /// Number of present pages the header states.
    present_pages: u64,
    /// Number of page frames the bitmap describes.
    bits: u64,
}

/// Parse the 0x38-byte sub-header.
fn sub_header(i: &[u8]) -> IResult<&[u8], SubHeader> {
    let (i, (sig, _reserved, first_page, present_pages, bits)) =
        tuple((take(8usize), take(0x18usize), le_u64, le_u64, le_u64))(i)?;
    let mut signature = [0u8; 8];
    signature.copy_from_slice(sig);
    Ok((
        i,
        SubHeader {
            signature,
            first_page,
            present_pages,
            bits,
        },
    ))
}
/// Words (of 64 bits) per rank block.
const WORDS_PER_BLOCK: usize = 8;

/// A bitmap crash dump.
#[derive(Debug)]
pub(crate) struct BitmapImage {
    ev: Evidence,
    /// The bitmap, bit N = page frame N present; bits past the described count and pages the
    /// file does not actually hold are cleared.
    words: Vec<u64>,
    /// `blocks[i]` = number of set bits in `words[..i * WORDS_PER_BLOCK]`.
    blocks: Vec<u64>,
    /// Number of page frames the bitmap describes.
    bits: u64,
    /// File offset of the first present page.
    first_page: u64,
    ranges: Vec<PhysRange>,
    meta: DumpMetadata,
}

/// Open the bitmap part of a crash dump whose `DUMP_HEADER64` is already in `meta`.
pub(crate) fn open(ev: Evidence, mut meta: DumpMetadata) -> Result<Capture, OpenError> {
    let file_len = ev.len();
    let raw = ev.read_upto(SUB_HEADER, BITMAP - SUB_HEADER);
    let parsed = sub_header(&raw).ok().map(|(_, h)| h);
    let sig_ok = matches!(
        raw.get(..8),
        Some(s) if (s.starts_with(b"SDMP") || s.starts_with(b"FDMP")) && s.ends_with(b"DUMP")
    );
    if !sig_ok {
        return Err(ev.malformed(format!(
            "bitmap crash dump (DumpType {}) without the \"SDMP\"/\"FDMP\" + \"DUMP\" header at \
             file offset 0x2000",
            meta.crash_dump.as_ref().map_or(0, |h| h.dump_type)
        )));
    }
    let Some(SubHeader {
        first_page,
        present_pages: present_claimed,
        bits: bits_claimed,
        ..
    }) = parsed
    else {
        return Err(ev.malformed(format!(
            "bitmap header truncated: file is {file_len} bytes, the header needs {BITMAP}"
        )));
    };
    if first_page < BITMAP {
        return Err(ev.malformed(format!(
            "bitmap header's first-page offset {first_page:#x} lies inside the headers \
             (before {BITMAP:#x})"
        )));
    }

    // The bitmap lies between its header and the first page (and inside the file).
    let bitmap_room = first_page.min(file_len).saturating_sub(BITMAP);
    let max_bits = bitmap_room.saturating_mul(8);
    let bits = if bits_claimed > max_bits {
        meta.warnings.push(format!(
            "bitmap header describes {bits_claimed} pages but only {bitmap_room} bytes of \
             bitmap fit before the first page/end of file; using the first {max_bits} bits"
        ));
        max_bits
    } else {
        bits_claimed
    };
    // At most bitmap_room bytes, which the file holds.
    let raw = ev.read_upto(BITMAP, bits.div_ceil(8));
    let mut words: Vec<u64> = raw
        .chunks(8)
        .map(|c| {
            let mut b = [0u8; 8];
            b[..c.len()].copy_from_slice(c);
            u64::from_le_bytes(b)
        })
        .collect();
    if bits % 64 != 0 {
        if let Some(last) = words.last_mut() {
            *last &= (1u64 << (bits % 64)) - 1;
        }
    }

    // Pages the file really holds; clear the bits of promised pages past the end.
    let avail_pages = file_len.saturating_sub(first_page) / PAGE_SIZE;
    let mut seen = 0u64;
    let mut missing: Vec<(u64, u64)> = Vec::new();
    let mut missing_pages = 0u64;
    for (i, w) in words.iter_mut().enumerate() {
        let n = u64::from(w.count_ones());
        if seen + n <= avail_pages {
            seen += n;
            continue;
        }
        // Keep the lowest (avail_pages - seen) set bits of this word, clear the rest.
        let keep = avail_pages.saturating_sub(seen);
        if keep == 0 && missing.len() >= 64 {
            // Enough ranges to name in the warning: just count the rest.
            missing_pages += n;
            *w = 0;
            continue;
        }
        let mut kept = 0u64;
        let mut x = *w;
        let mut out = 0u64;
        while x != 0 {
            let bit = x.trailing_zeros();
            x &= x - 1;
            if kept < keep {
                out |= 1u64 << bit;
                kept += 1;
            } else {
                let pfn = i as u64 * 64 + u64::from(bit);
                missing_pages += 1;
                let n_missing = missing.len();
                match missing.last_mut() {
                    Some((_, end)) if *end == pfn * PAGE_SIZE => *end += PAGE_SIZE,
                    _ if n_missing < 64 => {
                        missing.push((pfn * PAGE_SIZE, (pfn + 1) * PAGE_SIZE));
                    }
                    _ => {}
                }
            }
        }
        *w = out;
        seen += kept;
    }
    if missing_pages > 0 {
        meta.warnings.push(format!(
            "the bitmap marks {missing_pages} pages present that the file ({file_len} bytes) \
             does not hold; missing physical ranges: {}; reads there return NotInDump",
            fmt_ranges(&missing, 8)
        ));
        meta.root_cause = Some(if seen == 0 {
            RootCause::empty(EmptyCapture::HeaderOnly)
        } else {
            RootCause::PagesMissing {
                extents: Extents::Bitmap,
                pages: missing_pages,
                file_size: file_len,
            }
        });
    }
    if present_claimed != seen + missing_pages {
        meta.warnings.push(format!(
            "bitmap header says {present_claimed} pages are present, the bitmap marks {}",
            seen + missing_pages
        ));
    }

    let mut blocks = Vec::with_capacity(words.len() / WORDS_PER_BLOCK + 1);
    let mut total = 0u64;
    for chunk in words.chunks(WORDS_PER_BLOCK) {
        blocks.push(total);
        total += chunk.iter().map(|w| u64::from(w.count_ones())).sum::<u64>();
    }
    blocks.push(total);

    let ranges = set_bit_ranges(&words);
    Ok(Box::new(BitmapImage {
        ev,
        words,
        blocks,
        bits,
        first_page,
        ranges,
        meta,
    }))
}

/// The runs of set bits as physical byte ranges.
fn set_bit_ranges(words: &[u64]) -> Vec<PhysRange> {
    let mut out = Vec::new();
    let mut start: Option<u64> = None;
    let close = |s: u64, e: u64, out: &mut Vec<PhysRange>| {
        out.push(PhysRange {
            start: s * PAGE_SIZE,
            len: (e - s) * PAGE_SIZE,
        })
    };
    for (i, &w) in words.iter().enumerate() {
        let base = i as u64 * 64;
        if w == 0 {
            if let Some(s) = start.take() {
                close(s, base, &mut out);
            }
            continue;
        }
        if w == u64::MAX {
            start.get_or_insert(base);
            continue;
        }
        let mut bit = 0u32;
        while bit < 64 {
            let x = w >> bit;
            if let Some(s) = start {
                bit += x.trailing_ones();
                if bit < 64 {
                    close(s, base + u64::from(bit), &mut out);
                    start = None;
                }
            } else {
                bit = (bit + x.trailing_zeros()).min(64);
                if bit < 64 {
                    start = Some(base + u64::from(bit));
                }
            }
        }
    }
    if let Some(s) = start {
        close(s, words.len() as u64 * 64, &mut out);
    }
    out
}

impl BitmapImage {
    /// Whether page frame `pfn` is present.
    fn present(&self, pfn: u64) -> bool {
        pfn < self.bits
            && self
                .words
                .get((pfn / 64) as usize)
                .is_some_and(|w| (w >> (pfn % 64)) & 1 == 1)
    }

    /// Number of present pages below page frame `pfn` (`pfn <= bits`).
    fn rank(&self, pfn: u64) -> u64 {
        let w = (pfn / 64) as usize;
        let b = w / WORDS_PER_BLOCK;
        let mut r = self.blocks.get(b).copied().unwrap_or(0);
        if let Some(ws) = self.words.get(b * WORDS_PER_BLOCK..w) {
            r += ws.iter().map(|x| u64::from(x.count_ones())).sum::<u64>();
        }
        if let Some(x) = self.words.get(w) {
            let mask = (1u64 << (pfn % 64)) - 1;
            r += u64::from((x & mask).count_ones());
        }
        r
    }

    /// File offset of the present page `pfn`.
    fn page_offset(&self, pfn: u64) -> u64 {
        self.first_page + self.rank(pfn) * PAGE_SIZE
    }
}

impl PhysicalMemory for BitmapImage {
    fn read_phys(&self, pa: u64, buf: &mut [u8]) -> Result<(), PhysError> {
        let mut done = 0usize;
        while done < buf.len() {
            let cur = pa
                .checked_add(done as u64)
                .ok_or(PhysError::NotInDump { pa: u64::MAX })?;
            let pfn = cur / PAGE_SIZE;
            if !self.present(pfn) {
                return Err(PhysError::NotInDump { pa: cur });
            }
            // Present pages are stored back to back: extend the read over the run of
            // consecutive present pages, so a large read is one `pread`.
            let in_page = cur % PAGE_SIZE;
            let want = (buf.len() - done) as u64;
            let mut span = PAGE_SIZE - in_page;
            let mut next = pfn + 1;
            while span < want && next < self.bits && self.present(next) {
                span += PAGE_SIZE;
                next += 1;
            }
            let n = span.min(want) as usize;
            let off = self.page_offset(pfn) + in_page;
            if !self.ev.read_at(off, &mut buf[done..done + n]) {
                return Err(PhysError::NotInDump { pa: cur });
            }
            done += n;
        }
        Ok(())
    }

    fn ranges(&self) -> &[PhysRange] {
        &self.ranges
    }

    fn slice(&self, pa: u64, len: usize) -> Option<&[u8]> {
        let first = pa / PAGE_SIZE;
        if !self.present(first) {
            return None;
        }
        let last = pa.checked_add(len.max(1) as u64 - 1)? / PAGE_SIZE;
        if last != first {
            // All pages first..=last present and stored back to back.
            if last >= self.bits || self.rank(last + 1) - self.rank(first) != last - first + 1 {
                return None;
            }
        }
        let off = usize::try_from(self.page_offset(first) + pa % PAGE_SIZE).ok()?;
        self.ev.mapped()?.get(off..off.checked_add(len)?)
    }

    fn advise(&self, bytes: &[u8], advice: MapAdvice) {
        self.ev.advise(bytes, advice);
    }

    fn stored_parts(&self, bytes: &[u8]) -> Vec<std::ops::Range<usize>> {
        self.ev.stored_parts(bytes)
    }

    fn metadata(&self) -> &DumpMetadata {
        &self.meta
    }
}
