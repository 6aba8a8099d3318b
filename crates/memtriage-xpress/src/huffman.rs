//! LZ77+Huffman decompression ([MS-XCA] section 2.2).

use crate::error::{HuffmanTableFault, XpressError};
use crate::plain::copy_match;

/// Bytes of the code-length table at the start of every block (512 symbols, 4 bits each).
pub(crate) const TABLE_BYTES: usize = 256;
/// Output bytes per block.
pub(crate) const BLOCK_OUTPUT: usize = 65536;
/// The longest code length the format allows.
pub(crate) const MAX_CODE_LEN: u32 = 15;
/// Number of Huffman symbols: 256 literals, then 256 match symbols.
pub(crate) const SYMBOLS: usize = 512;

/// Decompress an LZ77+Huffman stream into `out`, which must be filled exactly.
///
/// The stream is a series of blocks of up to 64 KiB of output, each opening with its own
/// code-length table. Decoding stops as soon as `out` is full (the end-of-data symbol is not
/// required). Truncated input, a code-length table that is not a complete prefix code, a match
/// reaching before the start of the output or past its end, and an invalid escaped length are
/// errors.
pub fn decompress_huffman(input: &[u8], out: &mut [u8]) -> Result<(), XpressError> {
    let expected = out.len();
    let mut table = vec![0u16; 1 << MAX_CODE_LEN];
    let mut ip = 0usize;
    let mut op = 0usize;
    while op < expected {
        let lengths = input
            .get(ip..ip + TABLE_BYTES)
            .ok_or(XpressError::Truncated {
                at: ip,
                produced: op,
                expected,
            })?;
        build_table(lengths, &mut table)
            .map_err(|kind| XpressError::BadHuffmanTable { at: ip, kind })?;
        let mut bits = BitReader::new(input, ip + TABLE_BYTES);
        let block_end = op.saturating_add(BLOCK_OUTPUT).min(expected);
        while op < block_end {
            let entry = table[bits.peek15()];
            bits.consume(u32::from(entry & 0xF));
            let symbol = usize::from(entry >> 4);
            if symbol < 256 {
                out[op] = symbol as u8;
                op += 1;
                bits.check(op, expected)?;
                continue;
            }
            let m = symbol - 256;
            let offset_bits = (m >> 4) as u32;
            let mut len = m & 0xF;
            if len == 15 {
                len = usize::from(bits.byte(op, expected)?);
                if len == 255 {
                    let at = bits.pos;
                    len = usize::from(bits.word(op, expected)?);
                    len = len
                        .checked_sub(15)
                        .ok_or(XpressError::BadMatchLength { at })?;
                }
                len += 15;
            }
            len += 3;
            let distance = (bits.peek(offset_bits) | (1 << offset_bits)) as usize;
            bits.consume(offset_bits);
            bits.check(op, expected)?;
            copy_match(out, op, distance, len)?;
            op += len;
        }
        ip = bits.pos;
    }
    Ok(())
}

/// Fill the 2^15-entry decoding table from the 256-byte code-length table: each entry is
/// `symbol << 4 | code length`, codes assigned canonically (by length, then symbol).
fn build_table(lengths: &[u8], table: &mut [u16]) -> Result<(), HuffmanTableFault> {
    let len_of = |symbol: usize| -> u32 {
        let b = lengths.get(symbol / 2).copied().unwrap_or(0);
        u32::from(if symbol & 1 == 0 { b & 0xF } else { b >> 4 })
    };
    let mut count = [0u32; MAX_CODE_LEN as usize + 1];
    for symbol in 0..SYMBOLS {
        count[len_of(symbol) as usize] += 1;
    }
    let mut next = [0usize; MAX_CODE_LEN as usize + 1];
    let mut used = 0usize;
    for len in 1..=MAX_CODE_LEN {
        next[len as usize] = used;
        used += (count[len as usize] as usize) << (MAX_CODE_LEN - len);
    }
    match used.cmp(&(1 << MAX_CODE_LEN)) {
        std::cmp::Ordering::Greater => return Err(HuffmanTableFault::OverSubscribed),
        std::cmp::Ordering::Less => return Err(HuffmanTableFault::Incomplete),
        std::cmp::Ordering::Equal => {}
    }
    for symbol in 0..SYMBOLS {
        let len = len_of(symbol);
        if len == 0 {
            continue;
        }
        let start = next[len as usize];
        let span = 1usize << (MAX_CODE_LEN - len);
        table[start..start + span].fill(((symbol as u16) << 4) | len as u16);
        next[len as usize] = start + span;
    }
    Ok(())
}

/// The 32-bit register of [MS-XCA] 2.2.4: at least the next 16 bits of the stream, refilled
/// 16 bits at a time. Reads past the end of the input yield zero bits; [`BitReader::check`]
/// turns the consumption of such bits into an error.
struct BitReader<'a> {
    input: &'a [u8],
    /// The next input byte to load.
    pos: usize,
    bits: u32,
    /// Valid bits in `bits` beyond the first 16.
    extra: i32,
}

impl<'a> BitReader<'a> {
    fn new(input: &'a [u8], pos: usize) -> Self {
        let mut r = BitReader {
            input,
            pos,
            bits: 0,
            extra: 16,
        };
        r.bits = (u32::from(r.load16()) << 16) | u32::from(r.load16());
        r
    }

    fn load16(&mut self) -> u16 {
        let w = self
            .input
            .get(self.pos..self.pos + 2)
            .and_then(|b| b.try_into().ok())
            .map_or(0, u16::from_le_bytes);
        self.pos += 2;
        w
    }

    fn peek15(&self) -> usize {
        (self.bits >> (32 - MAX_CODE_LEN)) as usize
    }

    fn peek(&self, n: u32) -> u32 {
        if n == 0 {
            0
        } else {
            self.bits >> (32 - n)
        }
    }

    fn consume(&mut self, n: u32) {
        self.bits = self.bits.checked_shl(n).unwrap_or(0);
        self.extra -= n as i32;
        if self.extra < 0 {
            let w = u32::from(self.load16());
            self.bits |= w << (-self.extra) as u32;
            self.extra += 16;
        }
    }

    /// An error when bits past the end of the input have been consumed.
    fn check(&self, produced: usize, expected: usize) -> Result<(), XpressError> {
        if self.pos > self.input.len() {
            let padded_bits = (self.pos - self.input.len()) * 8;
            let unconsumed = (16 + self.extra) as usize;
            if padded_bits > unconsumed {
                return Err(XpressError::Truncated {
                    at: self.input.len(),
                    produced,
                    expected,
                });
            }
        }
        Ok(())
    }

    /// The next raw byte of the stream (long match lengths).
    fn byte(&mut self, produced: usize, expected: usize) -> Result<u8, XpressError> {
        let b = self
            .input
            .get(self.pos)
            .copied()
            .ok_or(XpressError::Truncated {
                at: self.pos,
                produced,
                expected,
            })?;
        self.pos += 1;
        Ok(b)
    }

    /// The next raw little-endian 16-bit word of the stream (long match lengths).
    fn word(&mut self, produced: usize, expected: usize) -> Result<u16, XpressError> {
        let w = self
            .input
            .get(self.pos..self.pos + 2)
            .and_then(|b| b.try_into().ok())
            .map(u16::from_le_bytes)
            .ok_or(XpressError::Truncated {
                at: self.pos,
                produced,
                expected,
            })?;
        self.pos += 2;
        Ok(w)
    }
}
