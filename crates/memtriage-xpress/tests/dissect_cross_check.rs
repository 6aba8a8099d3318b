//! Cross-check against an independent implementation: buffers compressed by our compressors
//! are decompressed by dissect.util's `lzxpress` and `lzxpress_huffman` (Python, from PyPI)
//! and by ours; both must give back the original bytes. dissect.util's Huffman decoder takes
//! no expected size and stops when its input is used up, so the script pads the stream (see
//! tests/dissect_decompress.py) and the first `len` bytes of its output are compared.
//!
//! `.ci/run` installs dissect.util. Without python3 or dissect.util the test prints why and
//! passes, unless `MEMTRIAGE_REQUIRE_DISSECT=1` (set by CI) makes that a failure.

#![allow(clippy::unwrap_used, missing_docs)]

use memtriage_xpress::Codec;
use std::path::Path;
use std::process::Command;

fn xorshift(seed: u64) -> impl FnMut() -> u64 {
    let mut x = seed | 1;
    move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    }
}

/// 160 buffers of page-like data: zero runs, repeated pointers, strings, back-references,
/// noise, of lengths from 1 byte to 64 KiB (one hibernation page set) and a few beyond.
fn corpus() -> Vec<Vec<u8>> {
    (0..160u64)
        .map(|seed| {
            let mut r = xorshift(seed * 7919 + 1);
            let len = match seed % 10 {
                0 => 65536,
                1 => 4096 * (1 + (r() % 16) as usize),
                2 => 65536 * 2 + (r() % 5000) as usize,
                _ => 1 + (r() % 65536) as usize,
            };
            let mut b = Vec::with_capacity(len);
            while b.len() < len {
                match r() % 6 {
                    0 => b.resize(b.len() + (r() % 3000) as usize, 0),
                    1 => b.extend_from_slice(
                        &(0xffff_f800_0000_0000u64 | (r() & 0xfff8)).to_le_bytes(),
                    ),
                    2 => b.extend_from_slice(b"C:\\Windows\\System32\\svchost.exe -k netsvcs"),
                    3 => {
                        let back = 1 + (r() % 65535) as usize;
                        if back <= b.len() {
                            let s = b.len() - back;
                            let n = (r() % 600) as usize;
                            for i in 0..n {
                                let v = b[s + i];
                                b.push(v);
                            }
                        }
                    }
                    _ => b.push(r() as u8),
                }
            }
            b.truncate(len);
            b
        })
        .collect()
}

#[test]
fn dissect_util_decompresses_what_we_compress_and_so_do_we() {
    let require = std::env::var("MEMTRIAGE_REQUIRE_DISSECT").is_ok_and(|v| v == "1");
    let dir = std::env::temp_dir().join(format!("memtriage-xpress-dissect-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let data = corpus();
    for (i, d) in data.iter().enumerate() {
        std::fs::write(
            dir.join(format!("{i:03}-{}.lz77", d.len())),
            Codec::Plain.compress(d),
        )
        .unwrap();
        std::fs::write(
            dir.join(format!("{i:03}-{}.huff", d.len())),
            Codec::Huffman.compress(d),
        )
        .unwrap();
    }
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/dissect_decompress.py");
    let status = Command::new("python3").arg(&script).arg(&dir).status();
    let skip = match &status {
        Err(e) => Some(format!("python3 not runnable: {e}")),
        Ok(s) if s.code() == Some(3) => {
            Some("dissect.util is not installed (pip install dissect.util)".into())
        }
        Ok(s) if !s.success() => panic!("{} failed: {s}", script.display()),
        Ok(_) => None,
    };
    if let Some(why) = skip {
        std::fs::remove_dir_all(&dir).ok();
        assert!(!require, "MEMTRIAGE_REQUIRE_DISSECT=1 but {why}");
        eprintln!("SKIPPED dissect.util cross-check: {why}");
        return;
    }
    for (i, d) in data.iter().enumerate() {
        for (codec, ext) in [(Codec::Plain, "lz77"), (Codec::Huffman, "huff")] {
            let packed = std::fs::read(dir.join(format!("{i:03}-{}.{ext}", d.len()))).unwrap();
            let theirs = std::fs::read(dir.join(format!("{i:03}-{}.{ext}.out", d.len()))).unwrap();
            let mut ours = vec![0u8; d.len()];
            codec.decompress(&packed, &mut ours).unwrap();
            assert!(
                ours == *d,
                "{ext} buffer {i}: our decompressor differs from the input"
            );
            assert!(
                theirs.get(..ours.len()) == Some(&ours[..]),
                "{ext} buffer {i}: dissect.util and memtriage differ (lengths {} and {}, first difference at {:?})",
                theirs.len(),
                ours.len(),
                theirs.iter().zip(&ours).position(|(a, b)| a != b)
            );
            if codec == Codec::Plain {
                assert_eq!(
                    theirs.len(),
                    ours.len(),
                    "lz77 buffer {i}: dissect.util output length"
                );
            }
        }
    }
    std::fs::remove_dir_all(&dir).ok();
}
