//! Decompression throughput of both Xpress codecs on page-like data (code, tables, text,
//! zero runs), in 64 KiB sets as hiberfil.sys stores them. Throughput is decompressed bytes.
//!
//! Besides criterion's wall-clock figures it prints throughput per CPU second of the
//! benchmark thread ("per core"), which stays meaningful on a machine shared with other work.
//!
//! Run: `cargo bench -p memtriage-xpress --bench decompress`

#![allow(clippy::unwrap_used, missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use memtriage_xpress::Codec;

/// 16 MiB of mixed page contents, deterministic.
fn corpus() -> Vec<u8> {
    let mut data = Vec::with_capacity(16 << 20);
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let mut rnd = || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    let words: Vec<&[u8]> = vec![
        b"kernel32.dll",
        b"\\Device\\HarddiskVolume3\\Windows\\System32\\",
        b"NtQuerySystemInformation",
        b"\x48\x89\x5c\x24\x08\x57\x48\x83\xec\x20",
        b"\x00\x00\x00\x00",
        b"\xff\xff\xff\xff",
        b"svchost.exe -k netsvcs",
        b"\x4c\x8b\xd1\xb8",
        b"MZ\x90\x00\x03\x00\x00\x00",
    ];
    while data.len() < 16 << 20 {
        match rnd() % 4 {
            // A zero page.
            0 => data.resize(data.len() + 4096, 0),
            // A page of pointers into one region.
            1 => {
                let base = 0xffff_f800_0000_0000u64 | (rnd() & 0xffff_f000);
                for _ in 0..512 {
                    data.extend_from_slice(&(base + (rnd() & 0xfff8)).to_le_bytes());
                }
            }
            // A page of text and code fragments.
            _ => {
                let end = data.len() + 4096;
                while data.len() < end {
                    let w = words[(rnd() % words.len() as u64) as usize];
                    data.extend_from_slice(w);
                    if rnd() % 3 == 0 {
                        data.push(rnd() as u8);
                    }
                }
                data.truncate(end);
            }
        }
    }
    data
}

fn bench(c: &mut Criterion) {
    let data = corpus();
    let sets: Vec<&[u8]> = data.chunks(65536).collect();
    for codec in [Codec::Plain, Codec::Huffman] {
        let compressed: Vec<Vec<u8>> = sets.iter().map(|s| codec.compress(s)).collect();
        let packed: usize = compressed.iter().map(Vec::len).sum();
        eprintln!(
            "{}: {} bytes -> {} bytes ({:.1}%)",
            codec.name(),
            data.len(),
            packed,
            100.0 * packed as f64 / data.len() as f64
        );
        let mut out = vec![0u8; 65536];
        let rounds = 10;
        let t = cpu_time::ThreadTime::now();
        for _ in 0..rounds {
            for (set, packed) in sets.iter().zip(&compressed) {
                codec.decompress(packed, &mut out[..set.len()]).unwrap();
            }
        }
        let cpu = t.elapsed().as_secs_f64();
        eprintln!(
            "{}: {:.0} MiB/s of decompressed output per CPU second",
            codec.name(),
            (rounds * data.len()) as f64 / cpu / (1 << 20) as f64
        );
        let mut g = c.benchmark_group("xpress");
        g.throughput(Throughput::Bytes(data.len() as u64));
        g.sample_size(20);
        g.bench_function(format!("decompress-{}", codec.name()), |b| {
            b.iter(|| {
                for (set, packed) in sets.iter().zip(&compressed) {
                    let o = &mut out[..set.len()];
                    codec.decompress(black_box(packed), o).unwrap();
                }
                black_box(&out);
            })
        });
        g.finish();
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
