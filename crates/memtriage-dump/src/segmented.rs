//! Captures whose physical memory is a sorted list of contiguous file extents: raw images,
//! run-based full crash dumps, "RDMP" kernel/complete dumps and ELF cores.

use crate::ranges_fmt::fmt_ranges;
use crate::source::Evidence;
use crate::{
    DumpFormat, DumpMetadata, EmptyCapture, Extents, MapAdvice, PhysError, PhysRange,
    PhysicalMemory, RootCause,
};

/// `len` bytes of physical memory from `pa` are stored at file offset `file_off`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Segment {
    /// First physical address.
    pub pa: u64,
    /// Length in bytes.
    pub len: u64,
    /// File offset of the byte at `pa`.
    pub file_off: u64,
}

impl Segment {
    fn end(&self) -> u64 {
        self.pa.saturating_add(self.len)
    }
}

/// Physical memory stored as file extents. Lookup is a binary search over the extents.
#[derive(Debug)]
pub(crate) struct SegmentedImage {
    ev: Evidence,
    /// Sorted by `pa`, non-overlapping, every extent inside the file, adjacent extents that
    /// are contiguous both physically and in the file merged.
    segs: Vec<Segment>,
    ranges: Vec<PhysRange>,
    meta: DumpMetadata,
}

impl SegmentedImage {
    /// A raw image: one extent, file offset = physical address.
    pub(crate) fn raw(ev: Evidence) -> Self {
        let meta = DumpMetadata::new(DumpFormat::Raw, ev.len());
        SegmentedImage::raw_with(ev, meta)
    }

    /// A raw image with prepared metadata (warnings).
    pub(crate) fn raw_with(ev: Evidence, meta: DumpMetadata) -> Self {
        let len = ev.len();
        SegmentedImage::new(
            ev,
            vec![Segment {
                pa: 0,
                len,
                file_off: 0,
            }],
            meta,
            Extents::RawImage,
        )
    }

    /// Build from the extents a header declares (in declaration order). Extents past the end
    /// of the file are clipped and overlapping extents trimmed, with a warning each; `what`
    /// names the extents in warnings and in the root cause of missing pages.
    pub(crate) fn new(
        ev: Evidence,
        declared: Vec<Segment>,
        mut meta: DumpMetadata,
        what: Extents,
    ) -> Self {
        let file_len = ev.len();
        let mut missing: Vec<(u64, u64)> = Vec::new();
        let mut segs: Vec<Segment> = Vec::with_capacity(declared.len());
        for s in declared {
            if s.len == 0 {
                continue;
            }
            let Some(end) = s.pa.checked_add(s.len) else {
                meta.warnings.push(format!(
                    "{what}: extent at physical {:#x} of {:#x} bytes overflows the address \
                     space; ignored",
                    s.pa, s.len
                ));
                continue;
            };
            let avail = file_len.saturating_sub(s.file_off).min(s.len);
            if avail < s.len {
                missing.push((s.pa + avail, end));
            }
            if avail > 0 {
                segs.push(Segment {
                    pa: s.pa,
                    len: avail,
                    file_off: s.file_off,
                });
            }
        }
        if !missing.is_empty() {
            // Saturating: extents read from a header can together exceed 2^64 bytes.
            let bytes = missing
                .iter()
                .fold(0u64, |acc, (a, b)| acc.saturating_add(b - a));
            meta.warnings.push(format!(
                "{what} promise {bytes:#x} bytes ({} pages) that the file ({file_len} bytes) \
                 does not hold; missing physical ranges: {}; reads there return NotInDump",
                bytes.div_ceil(crate::PAGE_SIZE),
                fmt_ranges(&missing, 8)
            ));
            if meta.root_cause.is_none() {
                meta.root_cause = Some(if segs.is_empty() {
                    RootCause::empty(EmptyCapture::HeaderOnly)
                } else {
                    RootCause::PagesMissing {
                        extents: what,
                        pages: bytes.div_ceil(crate::PAGE_SIZE),
                        file_size: file_len,
                    }
                });
            }
        }

        // Sort by physical address (stable: on equal starts the first declared wins), then
        // trim overlaps so each physical byte has exactly one home.
        segs.sort_by_key(|s| s.pa);
        let mut overlaps: Vec<(u64, u64)> = Vec::new();
        let mut clean: Vec<Segment> = Vec::with_capacity(segs.len());
        for mut s in segs {
            if let Some(prev) = clean.last() {
                let prev_end = prev.end();
                if s.pa < prev_end {
                    let cut = (prev_end - s.pa).min(s.len);
                    overlaps.push((s.pa, s.pa + cut));
                    s.pa += cut;
                    s.file_off += cut;
                    s.len -= cut;
                    if s.len == 0 {
                        continue;
                    }
                }
            }
            match clean.last_mut() {
                Some(prev) if prev.end() == s.pa && prev.file_off + prev.len == s.file_off => {
                    prev.len += s.len;
                }
                _ => clean.push(s),
            }
        }
        if !overlaps.is_empty() {
            meta.warnings.push(format!(
                "{what} overlap at physical {}; the extent with the lower start address is used",
                fmt_ranges(&overlaps, 8)
            ));
        }

        if clean.is_empty() && meta.root_cause.is_none() {
            meta.root_cause = Some(RootCause::empty(EmptyCapture::NoRanges));
        }
        let mut ranges: Vec<PhysRange> = Vec::with_capacity(clean.len());
        for s in &clean {
            match ranges.last_mut() {
                Some(r) if r.end() == s.pa => r.len += s.len,
                _ => ranges.push(PhysRange {
                    start: s.pa,
                    len: s.len,
                }),
            }
        }
        SegmentedImage {
            ev,
            segs: clean,
            ranges,
            meta,
        }
    }

    /// The extent holding `pa`.
    fn seg_for(&self, pa: u64) -> Option<&Segment> {
        let idx = self.segs.partition_point(|s| s.end() <= pa);
        self.segs.get(idx).filter(|s| s.pa <= pa)
    }

    /// The mapped file bytes of `seg` from physical `pa` to the end of the extent (empty
    /// when the source is not memory-mapped).
    fn bytes_from(&self, seg: &Segment, pa: u64) -> &[u8] {
        let start = seg.file_off + (pa - seg.pa);
        let end = seg.file_off + seg.len;
        // Extents were clipped to the file at construction, so this never falls back.
        self.ev
            .mapped()
            .and_then(|m| m.get(usize::try_from(start).ok()?..usize::try_from(end).ok()?))
            .unwrap_or(&[])
    }
}

impl PhysicalMemory for SegmentedImage {
    fn read_phys(&self, pa: u64, buf: &mut [u8]) -> Result<(), PhysError> {
        let mut done = 0usize;
        while done < buf.len() {
            let cur = pa
                .checked_add(done as u64)
                .ok_or(PhysError::NotInDump { pa: u64::MAX })?;
            let seg = self.seg_for(cur).ok_or(PhysError::NotInDump { pa: cur })?;
            // Extents were clipped to the file at construction.
            let avail = seg.end() - cur;
            let n = usize::try_from(avail)
                .unwrap_or(usize::MAX)
                .min(buf.len() - done);
            let file_off = seg.file_off + (cur - seg.pa);
            if n == 0 || !self.ev.read_at(file_off, &mut buf[done..done + n]) {
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
        let seg = self.seg_for(pa)?;
        self.bytes_from(seg, pa).get(..len)
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
