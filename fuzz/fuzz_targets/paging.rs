//! The page-table walker: input = physical memory bytes (from PA 0) and a DTB from its first
//! eight bytes; translate a few addresses and enumerate mapped ranges.
#![no_main]

use libfuzzer_sys::fuzz_target;
use memtriage_dump::SparseMemory;
use memtriage_paging::{AddressSpace, PageFileSpec, PageFiles, PagingMode, SoftwarePteFormat};
use std::sync::Arc;

/// Page file 0: the first 8 pages of `body` (zero-padded), written to a file per process
/// (rewritten for each input; the file is small).
fn page_files(body: &[u8]) -> Option<PageFiles> {
    let path = std::env::temp_dir().join(format!("memtriage-fuzz-pf-{}.sys", std::process::id()));
    let mut bytes = vec![0u8; 8 * 4096];
    let n = body.len().min(bytes.len());
    bytes.get_mut(..n)?.copy_from_slice(body.get(..n)?);
    std::fs::write(&path, &bytes).ok()?;
    PageFiles::open(&[PageFileSpec { number: 0, path }]).ok()
}

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
        // The same with a page file (whose pages are copies of the input's first pages, so
        // page-file entries lead to tables and data from the input) and the swizzle mask taken
        // from the input: page-file PTEs, paged-out tables, offsets past the end.
        if let Some(files) = page_files(body) {
            let mask = u64::from_le_bytes(data[8..16].try_into().unwrap_or([0; 8]));
            let space = space
                .with_page_files(files)
                .with_pte_format(SoftwarePteFormat::SWIZZLED.with_invalid_pte_mask(mask));
            for v in [va, va ^ 0xFFFF_8000_0000_0000, 0] {
                let _ = space.walk(v);
                let mut buf = [0u8; 64];
                let _ = space.read(v, &mut buf);
                if let Err(e) = space.translate(v) {
                    let _ = space.paged_out(&e).map(|p| p.to_string());
                }
            }
            let _ = space.scan_ranges(0, u64::MAX, 4096);
            let _ = space.page_files().warnings();
        }
    }
});
