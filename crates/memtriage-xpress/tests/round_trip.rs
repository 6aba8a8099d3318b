//! Round trips through the test compressors: every buffer decompresses to itself with both
//! codecs, across block boundaries, long matches, overlapping matches and incompressible data.

#![allow(clippy::unwrap_used, missing_docs)]

use memtriage_xpress::{Codec, XpressError};

fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut x = seed | 1;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

/// Buffers that exercise every encoding path.
fn corpus() -> Vec<Vec<u8>> {
    let mut r = xorshift(7);
    let mut v: Vec<Vec<u8>> = vec![
        vec![],
        vec![0],
        b"ab".to_vec(),
        b"abc".repeat(100),
        vec![0u8; 4096],
        vec![0u8; 65536],
        vec![0xAAu8; 65536 * 3 + 17],
        (0..200_000u32).map(|i| (i % 251) as u8).collect(),
        (0..70_000).map(|_| r() as u8).collect(),
    ];
    // Mixed pages: runs, pointers, text, noise.
    for seed in 0..24u64 {
        let mut r = xorshift(seed + 100);
        let len = (r() % 140_000) as usize;
        let mut b = Vec::with_capacity(len);
        while b.len() < len {
            match r() % 5 {
                0 => b.resize(b.len() + (r() % 5000) as usize, (r() % 3) as u8),
                1 => {
                    b.extend_from_slice(&(0xffff_f800_0000_0000u64 | (r() & 0xfff8)).to_le_bytes())
                }
                2 => b.extend_from_slice(b"\\SystemRoot\\System32\\ntoskrnl.exe"),
                3 => {
                    let back = (r() % 60_000) as usize;
                    let n = (r() % 300) as usize;
                    if back < b.len() {
                        let s = b.len() - back;
                        let e = (s + n).min(b.len());
                        let chunk = b[s..e].to_vec();
                        b.extend_from_slice(&chunk);
                    }
                }
                _ => b.push(r() as u8),
            }
        }
        b.truncate(len);
        v.push(b);
    }
    v
}

#[test]
fn both_codecs_round_trip() {
    for codec in [Codec::Plain, Codec::Huffman] {
        for (i, data) in corpus().iter().enumerate() {
            let packed = codec.compress(data);
            let mut out = vec![0u8; data.len()];
            codec.decompress(&packed, &mut out).unwrap_or_else(|e| {
                panic!("{} buffer {i} ({} bytes): {e}", codec.name(), data.len())
            });
            assert!(out == *data, "{} buffer {i} differs", codec.name());
        }
    }
}

#[test]
fn compressible_data_shrinks() {
    let page = vec![0u8; 65536];
    assert!(Codec::Plain.compress(&page).len() < 64);
    // A block (256-byte table and a few words), then, as the input fills the block exactly,
    // a block of its own for the end-of-data symbol (table and two words).
    let huff = Codec::Huffman.compress(&page);
    assert!(huff.len() < 256 + 32 + 260, "{}", huff.len());
    assert!(Codec::Huffman.compress(&page[..65535]).len() < 256 + 32);
}

#[test]
fn corrupting_streams_gives_errors_or_wrong_bytes_never_panics() {
    let data = b"The quick brown fox jumps over the lazy dog. ".repeat(300);
    for codec in [Codec::Plain, Codec::Huffman] {
        let packed = codec.compress(&data);
        let mut r = xorshift(99);
        let mut out = vec![0u8; data.len()];
        for _ in 0..2000 {
            let mut bad = packed.clone();
            let at = (r() % bad.len() as u64) as usize;
            bad[at] ^= 1 << (r() % 8);
            let cut = (r() % (bad.len() as u64 + 1)) as usize;
            let _ = codec.decompress(&bad[..cut], &mut out);
        }
        // Truncation always fails for a stream that needs every byte.
        assert!(matches!(
            codec.decompress(&packed[..packed.len() / 2], &mut out),
            Err(XpressError::Truncated { .. }) | Err(XpressError::DistanceTooFar { .. })
        ));
    }
}
