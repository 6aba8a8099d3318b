//! Where a thread started: the region (VAD) holding its start address, and a short name for
//! it (the module, the region type, or no region). Shared by `unbacked_thread` and the
//! `threads` plugin's `started_in` column.

use crate::regions::ClassifiedRegion;
use crate::session::ProcessDetail;
use memtriage_report::RegionType;
use memtriage_windows::{is_kernel_address, is_user_address};
use std::fmt;

/// Where a thread's start address lies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ThreadOrigin<'a> {
    /// No start address is known (both start fields zero or unread).
    Unknown,
    /// A kernel-half address (a system thread): no VAD is expected.
    Kernel,
    /// Neither a user nor a kernel address (not canonical): no code can start there.
    Invalid,
    /// A user address inside this region.
    Region(&'a ClassifiedRegion),
    /// A user address inside no VAD of the process.
    NoRegion,
}

/// The region of `d` holding `va` (regions are sorted by start and do not overlap).
pub fn region_at(d: &ProcessDetail, va: u64) -> Option<&ClassifiedRegion> {
    let i = d.regions.partition_point(|r| r.vad.start <= va);
    i.checked_sub(1)
        .and_then(|i| d.regions.get(i))
        .filter(|r| va <= r.vad.end)
}

/// Where the thread starting at `start` (its effective start address) began in process `d`.
pub fn thread_origin(d: &ProcessDetail, start: u64) -> ThreadOrigin<'_> {
    if start == 0 {
        ThreadOrigin::Unknown
    } else if is_kernel_address(start) {
        ThreadOrigin::Kernel
    } else if is_user_address(start) {
        region_at(d, start).map_or(ThreadOrigin::NoRegion, ThreadOrigin::Region)
    } else {
        ThreadOrigin::Invalid
    }
}

/// A short label of where a thread started, for the `threads` table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StartedIn(String);

impl StartedIn {
    /// The label of `origin` in `d`: an image's module name (loader entry at the image base,
    /// else the mapped file's name), the region type (`private`, `mapped`), `no region`,
    /// `kernel`, `invalid` (not canonical) or `unknown` (no start address).
    pub fn of(d: &ProcessDetail, origin: ThreadOrigin<'_>) -> StartedIn {
        StartedIn(match origin {
            ThreadOrigin::Unknown => "unknown".to_string(),
            ThreadOrigin::Kernel => "kernel".to_string(),
            ThreadOrigin::Invalid => "invalid".to_string(),
            ThreadOrigin::NoRegion => "no region".to_string(),
            ThreadOrigin::Region(r) if r.mem_type == RegionType::Image => module_name(d, r),
            ThreadOrigin::Region(r) => r.mem_type.to_string(),
        })
    }

    /// The label.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StartedIn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The module name of an image region: BaseDllName of the loader entry at its base, else the
/// last component of the mapped file's path, else `image`.
fn module_name(d: &ProcessDetail, r: &ClassifiedRegion) -> String {
    let entry = d
        .peb
        .iter()
        .chain(d.peb32.iter())
        .flat_map(|p| p.modules.iter())
        .find(|m| m.base == r.vad.start && !m.name.is_empty());
    if let Some(m) = entry {
        return m.name.clone();
    }
    r.vad
        .file
        .as_deref()
        .and_then(|f| f.rsplit(['\\', '/']).next())
        .filter(|n| !n.is_empty())
        .map_or_else(|| "image".to_string(), str::to_string)
}
