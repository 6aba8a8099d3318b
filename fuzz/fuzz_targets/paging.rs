//! The page-table walker: input = physical memory bytes (from PA 0) and a DTB from its first
//! eight bytes; translate a few addresses and enumerate mapped ranges.
#![no_main]

use libfuzzer_sys::fuzz_target;
use memtriage_dump::SparseMemory;
use memtriage_paging::{AddressSpace, PagingMode};
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    if data.len() < 16 {
        return;
    }
    let dtb = u64::from_le_bytes(data[..8].try_into().unwrap_or([0; 8]));
    let va = u64::from_le_bytes(data[8..16].try_into().unwrap_or([0; 8]));
    // At most 64 pages of physical memory, so one execution stays fast.
    let body = &data[..data.len().min(64 * 4096)];
    let mut mem = SparseMemory::new();
    mem.write(0, body);
    let mem = Arc::new(mem);
    for mode in [PagingMode::Level4, PagingMode::Level5] {
        let space = AddressSpace::with_mode(mem.clone(), dtb & 0x3_FFFF_F000, mode);
        for v in [
            va,
            va ^ 0xFFFF_8000_0000_0000,
            0,
            0xFFFF_F780_0000_0000,
            u64::MAX,
        ] {
            let _ = space.translate(v);
            let _ = space.walk(v);
            let mut buf = [0u8; 64];
            let _ = space.read(v, &mut buf);
            let _ = space.read_unicode_string(v, 0x1000);
            let _ = space.read_cstring(v, 300);
        }
        let scan = space.scan_ranges(0, u64::MAX, 4096);
        let _ = scan;
        let _ = space.ranges(0xFFFF_8000_0000_0000, u64::MAX);
    }
});
