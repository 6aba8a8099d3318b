//! LZ77+Huffman compression ([MS-XCA] section 2.1), for fixtures and tests.

use crate::huffman::{BLOCK_OUTPUT, MAX_CODE_LEN, SYMBOLS, TABLE_BYTES};
use crate::matcher::{MatchFinder, MIN_MATCH};
use std::cmp::Reverse;
use std::collections::BinaryHeap;

/// Matches reach back at most 65535 bytes.
const WINDOW: usize = 65535;
/// The end-of-data symbol.
const EOF_SYMBOL: usize = 256;

/// One parsed item of a block.
#[derive(Clone, Copy)]
enum Item {
    Literal(u8),
    Match { len: usize, distance: usize },
}

/// Compress `input` as LZ77+Huffman (greedy parse, one code per 64 KiB block; valid, not
/// ratio-tuned). The stream ends with the end-of-data symbol, as [MS-XCA] recommends: in the
/// last block, or, when the input fills its last block exactly, in a block of its own (so
/// that decoders that stop a block after 64 KiB of output still find it).
pub fn compress_huffman(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() / 2 + TABLE_BYTES + 8);
    let mut finder = MatchFinder::new(input, WINDOW);
    let mut start = 0usize;
    while start < input.len() {
        let end = (start + BLOCK_OUTPUT).min(input.len());
        let items = parse_block(input, start, end, &mut finder);
        let eof_fits = end == input.len() && end - start < BLOCK_OUTPUT;
        encode_block(&items, eof_fits, &mut out);
        if eof_fits {
            return out;
        }
        start = end;
    }
    encode_block(&[], true, &mut out);
    out
}

fn parse_block(input: &[u8], start: usize, end: usize, finder: &mut MatchFinder) -> Vec<Item> {
    let mut items = Vec::new();
    let mut pos = start;
    while pos < end {
        match finder.find(pos, end - pos) {
            Some(m) => {
                for p in pos..pos + m.len {
                    finder.insert(p);
                }
                items.push(Item::Match {
                    len: m.len,
                    distance: m.distance,
                });
                pos += m.len;
            }
            None => {
                finder.insert(pos);
                items.push(Item::Literal(input[pos]));
                pos += 1;
            }
        }
    }
    items
}

fn high_bit(v: usize) -> usize {
    (usize::BITS - 1 - v.leading_zeros()) as usize
}

fn symbol_of(item: Item) -> usize {
    match item {
        Item::Literal(b) => usize::from(b),
        Item::Match { len, distance } => 256 + (len - MIN_MATCH).min(15) + 16 * high_bit(distance),
    }
}

fn encode_block(items: &[Item], last: bool, out: &mut Vec<u8>) {
    let mut freq = [0u64; SYMBOLS];
    for &item in items {
        freq[symbol_of(item)] += 1;
    }
    if last {
        freq[EOF_SYMBOL] += 1;
    }
    let lengths = code_lengths(&freq);
    let codes = canonical_codes(&lengths);
    let table_at = out.len();
    out.resize(table_at + TABLE_BYTES, 0);
    for (symbol, &len) in lengths.iter().enumerate() {
        out[table_at + symbol / 2] |= if symbol & 1 == 0 { len } else { len << 4 };
    }
    let mut w = BitWriter::new(out);
    for &item in items {
        let symbol = symbol_of(item);
        w.bits(u32::from(lengths[symbol]), codes[symbol]);
        if let Item::Match { len, distance } = item {
            let mut len = len - MIN_MATCH;
            if len >= 15 {
                len -= 15;
                if len < 255 {
                    w.byte(len as u8);
                } else {
                    w.byte(255);
                    // Blocks hold at most 64 KiB, so the length fits 16 bits.
                    w.word((len + 15) as u16);
                }
            }
            let hb = high_bit(distance);
            w.bits(hb as u32, (distance - (1 << hb)) as u32);
        }
    }
    if last {
        w.bits(u32::from(lengths[EOF_SYMBOL]), codes[EOF_SYMBOL]);
    }
    w.flush();
}

/// Huffman code lengths of at most 15 bits; at least two symbols get a code so that the code
/// is complete.
fn code_lengths(freq: &[u64; SYMBOLS]) -> [u8; SYMBOLS] {
    let mut f = *freq;
    let used = f.iter().filter(|&&c| c > 0).count();
    if used < 2 {
        // Pad with unused symbols so that the prefix code is complete.
        for (i, c) in f.iter_mut().enumerate() {
            if *c == 0 && (i == 0 || i == 1) {
                *c = 1;
            }
        }
    }
    loop {
        let lengths = huffman_lengths(&f);
        if lengths.iter().all(|&l| u32::from(l) <= MAX_CODE_LEN) {
            return lengths;
        }
        // Flatten the distribution and retry until the tree is shallow enough.
        for c in f.iter_mut().filter(|c| **c > 0) {
            *c = (*c >> 1) | 1;
        }
    }
}

fn huffman_lengths(freq: &[u64; SYMBOLS]) -> [u8; SYMBOLS] {
    // Nodes 0..SYMBOLS are leaves; internal nodes follow.
    let mut parent = vec![usize::MAX; 2 * SYMBOLS];
    let mut heap = BinaryHeap::new();
    for (symbol, &c) in freq.iter().enumerate() {
        if c > 0 {
            heap.push(Reverse((c, symbol)));
        }
    }
    let mut next = SYMBOLS;
    while heap.len() > 1 {
        let (Some(Reverse((ca, a))), Some(Reverse((cb, b)))) = (heap.pop(), heap.pop()) else {
            break;
        };
        parent[a] = next;
        parent[b] = next;
        heap.push(Reverse((ca + cb, next)));
        next += 1;
    }
    let mut lengths = [0u8; SYMBOLS];
    for (symbol, len) in lengths.iter_mut().enumerate() {
        if freq[symbol] == 0 {
            continue;
        }
        let mut depth = 0u32;
        let mut n = symbol;
        while parent[n] != usize::MAX {
            n = parent[n];
            depth += 1;
        }
        *len = depth.min(255) as u8;
    }
    lengths
}

/// Canonical codes: by length, then by symbol, as the decoder's table assigns them.
fn canonical_codes(lengths: &[u8; SYMBOLS]) -> [u32; SYMBOLS] {
    let mut codes = [0u32; SYMBOLS];
    let mut code = 0u32;
    for len in 1..=MAX_CODE_LEN as u8 {
        for (symbol, &l) in lengths.iter().enumerate() {
            if l == len {
                codes[symbol] = code;
                code += 1;
            }
        }
        code <<= 1;
    }
    codes
}

/// The bit writer of [MS-XCA] 2.1.4.3: 16-bit words are reserved two ahead so that raw
/// length bytes land exactly where the decoder's 16-bit reads will find them.
struct BitWriter<'a> {
    out: &'a mut Vec<u8>,
    free: u32,
    word: u32,
    pos1: usize,
    pos2: usize,
}

impl<'a> BitWriter<'a> {
    fn new(out: &'a mut Vec<u8>) -> Self {
        let pos1 = out.len();
        out.extend_from_slice(&[0; 4]);
        BitWriter {
            out,
            free: 16,
            word: 0,
            pos1,
            pos2: pos1 + 2,
        }
    }

    fn put16(&mut self, at: usize, v: u16) {
        self.out[at..at + 2].copy_from_slice(&v.to_le_bytes());
    }

    fn bits(&mut self, n: u32, value: u32) {
        if n == 0 {
            return;
        }
        if self.free >= n {
            self.free -= n;
            self.word = (self.word << n) | value;
        } else {
            let spill = n - self.free;
            self.word = (self.word << self.free) | (value >> spill);
            self.put16(self.pos1, self.word as u16);
            self.pos1 = self.pos2;
            self.pos2 = self.out.len();
            self.out.extend_from_slice(&[0, 0]);
            self.free = 16 - spill;
            self.word = value & ((1 << spill) - 1);
        }
    }

    fn byte(&mut self, b: u8) {
        self.out.push(b);
    }

    fn word(&mut self, w: u16) {
        self.out.extend_from_slice(&w.to_le_bytes());
    }

    fn flush(&mut self) {
        let w = (self.word << self.free) as u16;
        self.put16(self.pos1, w);
        self.put16(self.pos2, 0);
    }
}
