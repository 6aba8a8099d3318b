//! Format sniffing and every evidence reader: the input is a capture file.
#![no_main]

use libfuzzer_sys::fuzz_target;
use std::path::PathBuf;
use std::sync::OnceLock;

fn path() -> &'static PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        std::env::temp_dir().join(format!("memtriage-fuzz-open-{}.bin", std::process::id()))
    })
}

fuzz_target!(|data: &[u8]| {
    let path = path();
    std::fs::write(path, data).expect("temp file");
    let Ok(mem) = memtriage_dump::open(path) else {
        return;
    };
    let ranges = mem.ranges().to_vec();
    let _ = mem.metadata();
    let _ = mem.total_bytes();
    let mut page = [0u8; 4096];
    for r in ranges.iter().take(8) {
        let _ = mem.read_phys(r.start, &mut page);
        let _ = mem.read_phys(r.end().saturating_sub(100), &mut page);
        let _ = mem.slice(r.start, 4096);
        let _ = mem.contains(r.start);
    }
    // A read that crosses a run boundary and one far past the end.
    if let Some(r) = ranges.first() {
        let mut big = vec![0u8; 3 * 4096];
        let _ = mem.read_phys(r.end().saturating_sub(4096), &mut big);
    }
    let _ = mem.read_phys(u64::MAX - 10, &mut page);
    let _ = mem.read_u64(0x1000);
});
