//! Why a compressed stream could not be decoded.

/// A corrupt or truncated Xpress stream. Positions are byte offsets into the compressed input
/// (`at`) or the output (`out`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum XpressError {
    /// The input ended before the expected number of bytes was produced.
    #[error("compressed data ends at byte {at} after {produced} of {expected} output bytes")]
    Truncated {
        /// Input offset where more data was needed.
        at: usize,
        /// Output bytes produced so far.
        produced: usize,
        /// Output bytes the caller expected.
        expected: usize,
    },
    /// A match refers to bytes before the start of the output.
    #[error("match at output byte {out} reaches back {distance} bytes, before the start")]
    DistanceTooFar {
        /// Output offset of the match.
        out: usize,
        /// The match distance.
        distance: usize,
    },
    /// A match would write past the expected output size.
    #[error("match of {len} bytes at output byte {out} runs past the expected size {expected}")]
    Overrun {
        /// Output offset of the match.
        out: usize,
        /// The match length.
        len: usize,
        /// Output bytes the caller expected.
        expected: usize,
    },
    /// An escaped match length is smaller than its escape implies.
    #[error("invalid long match length at input byte {at}")]
    BadMatchLength {
        /// Input offset of the length field.
        at: usize,
    },
    /// The 256-byte Huffman code-length table does not describe a complete prefix code.
    #[error("invalid Huffman code-length table at input byte {at}: {kind}")]
    BadHuffmanTable {
        /// Input offset of the table.
        at: usize,
        /// How the code is broken.
        kind: HuffmanTableFault,
    },
}

/// How a Huffman code-length table is broken.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HuffmanTableFault {
    /// The lengths claim more codes than 15 bits can hold.
    #[error("over-subscribed code")]
    OverSubscribed,
    /// The lengths leave codes unassigned.
    #[error("incomplete code")]
    Incomplete,
}
