//! Evidence layer of memtriage.
//!
//! Every capture format (raw image, Windows crash dump, ELF core) is exposed through one
//! trait, [`PhysicalMemory`]: read bytes at a physical address, list the physical ranges that
//! exist, and report what the file's header says ([`DumpMetadata`]). A page that is not in the
//! capture is an error value ([`PhysError::NotInDump`]) naming the physical address, never
//! silent zeros; callers decide whether to zero-fill.
//!
//! Captures are opened read-only through a [`ByteSource`] (a memory-mapped file,
//! [`MappedFile`], for captures on disk); the format is sniffed from magic bytes, never from
//! the file name (see [`open_source`]).
//!
//! | magic at offset 0      | reader                                                        |
//! |------------------------|---------------------------------------------------------------|
//! | `PAGEDU64`             | Windows 64-bit crash dump (DumpType 1, 4, 5, 6, 8, 9, 10)     |
//! | `\x7fELF`              | ELF64 little-endian core (QEMU `dump-guest-memory`, VirtualBox) |
//! | `EMiL`                 | LiME: a range header before each stored range                 |
//! | VMware checkpoint      | `.vmss`/`.vmsn`: metadata of the `.vmem` beside it ([`open`]) |
//! | `PAGEDUMP`             | 32-bit crash dump: rejected with [`OpenError::Unsupported`]   |
//! | PNG, ZIP, PE, text, .. | not a memory capture: [`OpenError::NotACapture`]              |
//! | `HIBR`/`RSTR`          | hibernation file, Windows 8-11 x64 (`WAKE`/zeroed: refused, already resumed) |
//! | anything else          | raw image: file offset = physical address                     |
//!
//! A `.vmem` whose `.vmss` or `.vmsn` checkpoint lies beside it (or is named in
//! [`OpenOptions::vmware_meta`]) is read through the checkpoint's memory regions.

#![deny(unsafe_code)]

mod advice;
mod bitmap;
mod cause;
mod crashdump;
mod elf;
mod hiber;
mod lime;
mod mapped;
mod memory;
mod metadata;
mod ranges_fmt;
pub mod scan;
mod segmented;
mod sniff;
mod source;
mod vmware;

pub use advice::MapAdvice;
pub use cause::{EmptyCapture, Extents, RootCause};
pub use hiber::{
    layout_offsets, HiberHeader, HiberLayout, HiberSets, HiberSignature, HibernationInfo,
};
pub use mapped::MappedFile;
pub use memory::SparseMemory;
pub use metadata::{
    CrashDumpHeader, DumpFormat, DumpMetadata, ElfCpuState, TriageInfo, VmwareInfo, VmwareRegion,
};
pub use sniff::NotACapture;
pub use source::ByteSource;

use sniff::Sniffed;
use source::Evidence;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// Size of a small x64 page.
pub const PAGE_SIZE: u64 = 0x1000;

/// A contiguous range of physical addresses that the capture holds: `[start, start + len)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct PhysRange {
    /// First physical address of the range.
    pub start: u64,
    /// Length in bytes.
    pub len: u64,
}

impl PhysRange {
    /// One past the last physical address of the range.
    pub fn end(&self) -> u64 {
        self.start.saturating_add(self.len)
    }
    /// Whether `pa` lies in the range.
    pub fn contains(&self, pa: u64) -> bool {
        pa >= self.start && pa < self.end()
    }
}

/// Why a physical read failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PhysError {
    /// The byte at `pa` is not in the capture (a hole between runs, a page missing from a
    /// bitmap dump, past the end of a truncated file, ...).
    #[error("physical address {pa:#x} is not in the capture")]
    NotInDump {
        /// The first physical address that could not be read.
        pa: u64,
    },
}

/// Physical memory as a capture holds it.
///
/// Implementations must be cheap to read from many threads at once (`Sync`), and every read
/// is bounded by the caller's buffer: no allocation sized by header fields.
pub trait PhysicalMemory: Send + Sync {
    /// Fill `buf` with the bytes at physical address `pa`. Reads may cross page and run
    /// boundaries. On failure the error names the first missing physical address; the bytes
    /// of `buf` before that address have been filled, the rest are unspecified.
    fn read_phys(&self, pa: u64, buf: &mut [u8]) -> Result<(), PhysError>;

    /// The physical ranges the capture holds, sorted by start and non-overlapping.
    fn ranges(&self) -> &[PhysRange];

    /// Zero-copy access: the `len` bytes at `pa` when they are stored contiguously in the
    /// capture (e.g. within one run), `None` otherwise. Scanners use this for speed and fall
    /// back to [`PhysicalMemory::read_phys`].
    fn slice(&self, pa: u64, len: usize) -> Option<&[u8]>;

    /// A hint about `bytes`, a stretch this memory returned from [`PhysicalMemory::slice`]
    /// (scanners: read sequentially, map now, release after use). It never changes what a
    /// read returns; the default ignores it, as do captures that are not memory-mapped.
    fn advise(&self, bytes: &[u8], advice: MapAdvice) {
        let _ = (bytes, advice);
    }

    /// The parts of `bytes`, a stretch this memory returned from [`PhysicalMemory::slice`],
    /// that the capture file actually stores, as offsets into `bytes`, in order. The rest lies
    /// in holes of a sparse file and reads as zeros, so a scanner that cannot match in zero
    /// bytes may skip it without reading it. The default: all of it.
    fn stored_parts(&self, bytes: &[u8]) -> Vec<std::ops::Range<usize>> {
        std::iter::once(0..bytes.len()).collect()
    }

    /// What the file is and what its header says.
    fn metadata(&self) -> &DumpMetadata;

    /// Whether the byte at `pa` is in the capture.
    fn contains(&self, pa: u64) -> bool {
        let ranges = self.ranges();
        let idx = ranges.partition_point(|r| r.end() <= pa);
        ranges.get(idx).is_some_and(|r| r.contains(pa))
    }

    /// Total number of bytes of physical memory the capture holds.
    fn total_bytes(&self) -> u64 {
        self.ranges().iter().map(|r| r.len).sum()
    }

    /// Read a little-endian `u64` at `pa`.
    fn read_u64(&self, pa: u64) -> Result<u64, PhysError> {
        let mut b = [0u8; 8];
        self.read_phys(pa, &mut b)?;
        Ok(u64::from_le_bytes(b))
    }
}

/// Why a capture could not be opened. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// The operating system refused (missing file, no permission, a directory, ...).
    #[error("{path}: {source}")]
    Io {
        /// The capture file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is empty.
    #[error("{path}: empty file (0 bytes), not a memory capture")]
    Empty {
        /// The capture file.
        path: PathBuf,
    },
    /// The file's header is malformed or lies in a way that makes it unusable.
    #[error("{path}: {reason}")]
    Malformed {
        /// The capture file.
        path: PathBuf,
        /// What is wrong, in one line.
        reason: String,
    },
    /// The file is not a memory capture at all (text, an image, an archive, a program, ...).
    #[error("{path}: not a memory capture: {kind}")]
    NotACapture {
        /// The file.
        path: PathBuf,
        /// What the file is.
        kind: NotACapture,
    },
    /// The file is a capture format memtriage recognises but does not read (a 32-bit crash
    /// dump, a 32-bit or big-endian ELF core, an unknown crash-dump type).
    #[error("{path}: unsupported capture: {reason}")]
    Unsupported {
        /// The capture file.
        path: PathBuf,
        /// What the file is and why it cannot be read, in one line.
        reason: String,
    },
}

/// An opened capture: the physical memory of any format behind the trait object.
pub type Capture = Box<dyn PhysicalMemory>;

/// How to open a capture beyond its content.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct OpenOptions {
    /// The VMware checkpoint (`.vmss`/`.vmsn`) that maps the `.vmem`'s pages, when it does not
    /// lie beside the `.vmem` under the same name.
    pub vmware_meta: Option<PathBuf>,
}

/// Open a capture read-only, choosing the reader by its content (never by file name).
///
/// `PAGEDU64` → 64-bit Windows crash dump, `\x7fELF` → ELF core, `EMiL` → LiME, `PAGEDUMP` →
/// an [`OpenError::Unsupported`] error (32-bit crash dump), a well-known non-capture file
/// (text, PNG, ZIP, PE, ...) → [`OpenError::NotACapture`], anything else → raw image. A
/// `.vmem` with a VMware checkpoint (`.vmss`, else `.vmsn`) beside it is read through the
/// checkpoint's memory regions; opening the checkpoint itself opens the `.vmem` beside it, or
/// the memory stored in the checkpoint when it holds an uncompressed "Memory" block.
/// Problems that leave the capture usable (pages the header promises but the file lacks,
/// overlapping runs, ...) are reported in [`DumpMetadata::warnings`] (and the innermost one
/// in [`DumpMetadata::root_cause`]); unusable files are an [`OpenError`] whose message names
/// the file and the cause.
pub fn open(path: &Path) -> Result<Capture, OpenError> {
    open_with(path, &OpenOptions::default())
}

/// [`open`] with options (an explicit VMware checkpoint).
pub fn open_with(path: &Path, options: &OpenOptions) -> Result<Capture, OpenError> {
    let file: Arc<dyn ByteSource> = Arc::new(MappedFile::open(path)?);
    if let Some(meta) = &options.vmware_meta {
        let checkpoint: Arc<dyn ByteSource> = Arc::new(MappedFile::open(meta)?);
        return vmware::open(Evidence::new(file), Evidence::new(checkpoint));
    }
    let ev = Evidence::new(file.clone());
    let head = ev.read_upto(0, sniff::SNIFF_LEN);
    match sniff::sniff(&head) {
        Sniffed::VmwareCheckpoint => {
            let vmem = path.with_extension("vmem");
            if vmem.is_file() {
                let memory: Arc<dyn ByteSource> = Arc::new(MappedFile::open(&vmem)?);
                vmware::open(Evidence::new(memory), ev)
            } else if let Some(capture) = vmware::open_embedded(ev.clone()) {
                capture
            } else {
                Err(ev.unsupported(format!(
                    "VMware checkpoint (suspended or snapshot state): it describes the guest's \
                     memory but holds none; open the .vmem ({}) instead",
                    vmem.display()
                )))
            }
        }
        Sniffed::Raw => match vmware::companion_checkpoint(path) {
            Some(meta) => {
                let checkpoint: Arc<dyn ByteSource> = Arc::new(MappedFile::open(&meta)?);
                vmware::open(ev, Evidence::new(checkpoint))
            }
            None => open_source(file),
        },
        _ => open_source(file),
    }
}

/// Sniff and open a capture from any byte source.
///
/// The same readers as [`open`], chosen by content. A VMware `.vmem` alone is read as raw
/// here: give its checkpoint with [`open_vmware`].
pub fn open_source(source: Arc<dyn ByteSource>) -> Result<Capture, OpenError> {
    let ev = Evidence::new(source);
    if ev.len() == 0 {
        return Err(OpenError::Empty { path: ev.path() });
    }
    let head = ev.read_upto(0, sniff::SNIFF_LEN);
    match sniff::sniff(&head) {
        Sniffed::CrashDump64 => crashdump::open(ev),
        Sniffed::Elf => elf::open(ev),
        Sniffed::Lime => lime::open(ev),
        Sniffed::CrashDump32 => Err(ev.unsupported(
            "32-bit Windows crash dump (\"PAGEDUMP\"); only 64-bit dumps (\"PAGEDU64\") are read",
        )),
        Sniffed::VmwareCheckpoint => vmware::open_embedded(ev.clone()).unwrap_or_else(|| {
            Err(ev.unsupported(
                "VMware checkpoint (suspended or snapshot state): it describes the guest's \
                 memory but holds none; open the .vmem beside it",
            ))
        }),
        Sniffed::NotACapture(kind) => Err(OpenError::NotACapture {
            path: ev.path(),
            kind,
        }),
        Sniffed::Raw => match hiber::sniff(&head, ev.len()) {
            Some(sig) => hiber::open(ev, sig),
            None => Ok(Box::new(vmware::lone_vmem(ev))),
        },
    }
}

/// Open VMware guest memory from byte sources: `memory` (the `.vmem`) read through the
/// memory regions of `checkpoint` (the `.vmss` or `.vmsn`).
pub fn open_vmware(
    memory: Arc<dyn ByteSource>,
    checkpoint: Arc<dyn ByteSource>,
) -> Result<Capture, OpenError> {
    vmware::open(Evidence::new(memory), Evidence::new(checkpoint))
}

/// Open any file as a raw image (file offset = physical address), whatever its magic bytes.
///
/// For captures whose first bytes happen to look like a known header, or to inspect a crash
/// dump's bytes as they are stored.
pub fn open_raw(path: &Path) -> Result<Capture, OpenError> {
    let file: Arc<dyn ByteSource> = Arc::new(MappedFile::open(path)?);
    Ok(Box::new(segmented::SegmentedImage::raw(Evidence::new(
        file,
    ))))
}
