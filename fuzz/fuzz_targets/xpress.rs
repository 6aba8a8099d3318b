//! Both Xpress decompressors on arbitrary streams, and compress → decompress round trips.
//!
//! Input: byte 0 picks the codec (bit 0) and the mode (bit 1: round trip), bytes 1-2 the
//! expected output size (at most 64 KiB + 255, so both block paths are reached); the rest
//! is the stream (or, for a round trip, the data).
#![no_main]

use libfuzzer_sys::fuzz_target;
use memtriage_xpress::Codec;

fuzz_target!(|data: &[u8]| {
    let [mode, lo, hi, rest @ ..] = data else {
        return;
    };
    let codec = if mode & 1 == 0 { Codec::Plain } else { Codec::Huffman };
    if mode & 2 != 0 {
        let packed = codec.compress(rest);
        let mut out = vec![0u8; rest.len()];
        codec.decompress(&packed, &mut out).expect("own stream decodes");
        assert_eq!(out, rest, "round trip");
        return;
    }
    let size = usize::from(u16::from_le_bytes([*lo, *hi])) + usize::from(mode >> 2);
    let mut out = vec![0u8; size];
    let _ = codec.decompress(rest, &mut out);
});
