//! Microsoft Xpress decompression as [MS-XCA] specifies it: **Plain LZ77** (section 2.4) and
//! **LZ77+Huffman** (section 2.2), the two codecs Windows 8 and later use for the page sets of
//! `hiberfil.sys`.
//!
//! Both decompressors write into a caller-sized output buffer: the caller states how many
//! bytes the stream must produce, nothing is ever allocated from a length found in the input,
//! and corrupt input is a typed [`XpressError`], never a panic or an out-of-bounds access.
//!
//! The matching compressors ([`compress_plain`], [`compress_huffman`]) exist for the fixture
//! generator, round-trip tests and benchmarks; they produce valid streams that Windows and
//! other decoders read, but make no attempt at Windows' compression ratio.

#![deny(unsafe_code)]

mod error;
mod huffman;
mod huffman_compress;
mod matcher;
mod plain;
mod plain_compress;

pub use error::{HuffmanTableFault, XpressError};
pub use huffman::decompress_huffman;
pub use huffman_compress::compress_huffman;
pub use plain::decompress_plain;
pub use plain_compress::compress_plain;

/// The two Xpress variants.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Codec {
    /// Plain LZ77 ([MS-XCA] 2.3/2.4): byte-oriented, 32-bit flag words.
    Plain,
    /// LZ77+Huffman ([MS-XCA] 2.1/2.2): canonical Huffman codes over 512 symbols per 64 KiB block.
    Huffman,
}

impl Codec {
    /// Decompress `input` into `out`, which must be filled exactly.
    pub fn decompress(self, input: &[u8], out: &mut [u8]) -> Result<(), XpressError> {
        match self {
            Codec::Plain => decompress_plain(input, out),
            Codec::Huffman => decompress_huffman(input, out),
        }
    }

    /// Compress `input` (for fixtures and tests).
    pub fn compress(self, input: &[u8]) -> Vec<u8> {
        match self {
            Codec::Plain => compress_plain(input),
            Codec::Huffman => compress_huffman(input),
        }
    }

    /// A stable name ("xpress-lz77", "xpress-huffman").
    pub fn name(self) -> &'static str {
        match self {
            Codec::Plain => "xpress-lz77",
            Codec::Huffman => "xpress-huffman",
        }
    }
}
