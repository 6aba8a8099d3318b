//! The worked examples of [MS-XCA] section 3 (v20240423), byte for byte, plus the error cases
//! their neighbours produce.

#![allow(clippy::unwrap_used, missing_docs)]

use memtriage_xpress::{decompress_huffman, decompress_plain, HuffmanTableFault, XpressError};

fn hex(s: &str) -> Vec<u8> {
    s.split_whitespace()
        .map(|b| u8::from_str_radix(b, 16).unwrap())
        .collect()
}

fn abc300() -> Vec<u8> {
    b"abc".repeat(100)
}

/// A 256-byte code-length table with the given non-zero bytes.
fn table(nonzero: &[(usize, &str)]) -> Vec<u8> {
    let mut t = vec![0u8; 256];
    for (at, bytes) in nonzero {
        let b = hex(bytes);
        t[*at..*at + b.len()].copy_from_slice(&b);
    }
    t
}

fn alphabet_huffman() -> Vec<u8> {
    let mut v = table(&[
        (48, "50 55 55 55 55 55 55 55 55 55 55 45 44 04"),
        (128, "04"),
    ]);
    v.extend(hex(
        "d8 52 3e d7 94 11 5b e9 19 5f f9 d6 7c df 8d 04 00 00 00 00",
    ));
    v
}

fn abc_huffman() -> Vec<u8> {
    let mut v = table(&[(48, "30 23"), (128, "02"), (143, "20")]);
    v.extend(hex("a8 dc 00 00 ff 26 01"));
    v
}

#[test]
fn plain_alphabet_is_26_literals() {
    let input = hex(
        "3f 00 00 00 61 62 63 64 65 66 67 68 69 6a 6b 6c 6d 6e 6f 70 71 72 73 74 75 76 77 78 79 7a",
    );
    let mut out = [0u8; 26];
    decompress_plain(&input, &mut out).unwrap();
    assert_eq!(&out, b"abcdefghijklmnopqrstuvwxyz");
}

#[test]
fn plain_abc_is_one_long_match() {
    let input = hex("ff ff ff 1f 61 62 63 17 00 0f ff 26 01");
    let mut out = vec![0u8; 300];
    decompress_plain(&input, &mut out).unwrap();
    assert_eq!(out, abc300());
}

#[test]
fn plain_errors() {
    let input = hex("ff ff ff 1f 61 62 63 17 00 0f ff 26 01");
    // One byte short of the expected output: the match overruns it.
    let mut short = vec![0u8; 299];
    assert_eq!(
        decompress_plain(&input, &mut short),
        Err(XpressError::Overrun {
            out: 3,
            len: 297,
            expected: 299
        })
    );
    // Cut inside the 16-bit long length.
    let mut out = vec![0u8; 300];
    assert_eq!(
        decompress_plain(&input[..12], &mut out),
        Err(XpressError::Truncated {
            at: 11,
            produced: 3,
            expected: 300
        })
    );
    // A match before any output.
    let mut out = vec![0u8; 4];
    assert_eq!(
        decompress_plain(&hex("ff ff ff ff 00 00"), &mut out),
        Err(XpressError::DistanceTooFar {
            out: 0,
            distance: 1
        })
    );
    // An escaped 16-bit length below 22 is invalid.
    let mut out = vec![0u8; 300];
    assert_eq!(
        decompress_plain(&hex("ff ff ff 1f 61 62 63 17 00 0f ff 05 00"), &mut out),
        Err(XpressError::BadMatchLength { at: 11 })
    );
}

#[test]
fn huffman_alphabet_is_26_literals() {
    let mut out = [0u8; 26];
    decompress_huffman(&alphabet_huffman(), &mut out).unwrap();
    assert_eq!(&out, b"abcdefghijklmnopqrstuvwxyz");
}

#[test]
fn huffman_abc_is_one_long_match() {
    let mut out = vec![0u8; 300];
    decompress_huffman(&abc_huffman(), &mut out).unwrap();
    assert_eq!(out, abc300());
}

#[test]
fn huffman_errors() {
    let input = abc_huffman();
    let mut short = vec![0u8; 299];
    assert_eq!(
        decompress_huffman(&input, &mut short),
        Err(XpressError::Overrun {
            out: 3,
            len: 297,
            expected: 299
        })
    );
    let mut out = vec![0u8; 300];
    assert!(matches!(
        decompress_huffman(&input[..255], &mut out),
        Err(XpressError::Truncated {
            at: 0,
            produced: 0,
            ..
        })
    ));
    assert!(matches!(
        decompress_huffman(&input[..261], &mut out),
        Err(XpressError::Truncated { .. })
    ));
    // Code lengths that over-subscribe or leave the code incomplete.
    let mut over = input.clone();
    over[48] = 0x11;
    assert_eq!(
        decompress_huffman(&over, &mut out),
        Err(XpressError::BadHuffmanTable {
            at: 0,
            kind: HuffmanTableFault::OverSubscribed
        })
    );
    let mut incomplete = input.clone();
    incomplete[48] = 0x40;
    assert_eq!(
        decompress_huffman(&incomplete, &mut out),
        Err(XpressError::BadHuffmanTable {
            at: 0,
            kind: HuffmanTableFault::Incomplete
        })
    );
    // An empty stream is fine for empty output and truncated for anything else.
    decompress_huffman(&[], &mut []).unwrap();
    decompress_plain(&[], &mut []).unwrap();
    assert!(decompress_huffman(&[], &mut [0u8; 1]).is_err());
}
