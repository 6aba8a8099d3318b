//! The VMware checkpoint parser: the input is a `.vmss`/`.vmsn` (groups and tags), mapping a
//! fixed 64-page `.vmem`.
#![no_main]

use libfuzzer_sys::fuzz_target;
use memtriage_fuzz::{exercise, InMemory};
use std::sync::{Arc, OnceLock};

fn vmem() -> Arc<InMemory> {
    static VMEM: OnceLock<Arc<InMemory>> = OnceLock::new();
    VMEM.get_or_init(|| Arc::new(InMemory((0..64 * 4096u32).map(|i| i as u8).collect())))
        .clone()
}

fuzz_target!(|data: &[u8]| {
    let checkpoint = Arc::new(InMemory(data.to_vec()));
    if let Ok(mem) = memtriage_dump::open_vmware(vmem(), checkpoint) {
        exercise(mem.as_ref());
    }
});
