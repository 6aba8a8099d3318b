//! The hibernation reader behind a valid header: the input is the restore-set bytes (page
//! set headers, descriptors and Xpress data) from file page 1; the first 16 bytes of input
//! also set NumPagesForLoader and KernelPagesProcessed (the page counts the header claims).
#![no_main]

use libfuzzer_sys::fuzz_target;
use memtriage_dump::{layout_offsets, HiberLayout};
use std::path::PathBuf;
use std::sync::OnceLock;

fn path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        std::env::temp_dir().join(format!("memtriage-fuzz-hiber-{}.sys", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    if data.len() < 16 {
        return;
    }
    let layout = HiberLayout::Windows10Rs5;
    let (boot, kernel, kernel_pages, highest) = layout_offsets(layout);
    let mut file = vec![0u8; 0x1000];
    file[..4].copy_from_slice(b"HIBR");
    file[0xC..0x10].copy_from_slice(&layout.length_self().to_le_bytes());
    file[0x18..0x1C].copy_from_slice(&0x1000u32.to_le_bytes());
    file[0x58..0x60].copy_from_slice(&data[..8]);
    file[boot..boot + 8].copy_from_slice(&1u64.to_le_bytes());
    // The kernel set starts where the data says (page 1 or 2).
    let second = 1 + u64::from(data[8] & 1);
    file[kernel..kernel + 8].copy_from_slice(&second.to_le_bytes());
    file[kernel_pages..kernel_pages + 8].copy_from_slice(&data[8..16]);
    file[highest..highest + 8].copy_from_slice(&0xFFFFu64.to_le_bytes());
    file.extend_from_slice(&data[16..]);
    std::fs::write(path(), &file).expect("temp file");
    let Ok(mem) = memtriage_dump::open(path()) else {
        return;
    };
    let _ = mem.metadata().hibernation.as_ref().expect("read as a hibernation file");
    let mut page = [0u8; 4096];
    for r in mem.ranges().iter().take(64) {
        for pa in (r.start..r.end()).step_by(4096).take(64) {
            let _ = mem.read_phys(pa, &mut page);
            let _ = mem.slice(pa, 4096);
        }
    }
    let mut big = vec![0u8; 70_000];
    if let Some(r) = mem.ranges().first() {
        let _ = mem.read_phys(r.start + 100, &mut big);
    }
});
