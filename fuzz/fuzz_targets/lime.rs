//! The LiME reader: the input is a LiME file (prefixed with a range-header magic so every
//! input reaches the range parser), read through a non-mapped byte source.
#![no_main]

use libfuzzer_sys::fuzz_target;
use memtriage_fuzz::{exercise, InMemory};
use std::sync::Arc;

fuzz_target!(|data: &[u8]| {
    let mut bytes = b"EMiL".to_vec();
    bytes.extend_from_slice(data);
    if let Ok(mem) = memtriage_dump::open_source(Arc::new(InMemory(bytes))) {
        exercise(mem.as_ref());
    }
});
