//! A greedy LZ77 match finder over hash chains, shared by both test compressors.

const HASH_BITS: u32 = 15;
const NONE: u32 = u32::MAX;
/// Candidates examined per position.
const CHAIN_DEPTH: usize = 24;
/// The shortest match either format encodes.
pub(crate) const MIN_MATCH: usize = 3;

/// A back-reference: `len` bytes from `distance` bytes back.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Match {
    pub len: usize,
    pub distance: usize,
}

/// Hash chains of 3-byte prefixes.
pub(crate) struct MatchFinder<'a> {
    data: &'a [u8],
    head: Vec<u32>,
    prev: Vec<u32>,
    window: usize,
}

impl<'a> MatchFinder<'a> {
    /// A finder over `data` whose matches reach back at most `window` bytes.
    pub(crate) fn new(data: &'a [u8], window: usize) -> Self {
        MatchFinder {
            data,
            head: vec![NONE; 1 << HASH_BITS],
            prev: vec![NONE; data.len()],
            window,
        }
    }

    fn hash(&self, pos: usize) -> Option<usize> {
        let b = self.data.get(pos..pos + MIN_MATCH)?;
        let v = u32::from(b[0]) | u32::from(b[1]) << 8 | u32::from(b[2]) << 16;
        Some((v.wrapping_mul(0x9E37_79B1) >> (32 - HASH_BITS)) as usize)
    }

    /// Record that a match may start at `pos`.
    pub(crate) fn insert(&mut self, pos: usize) {
        if let Some(h) = self.hash(pos) {
            self.prev[pos] = self.head[h];
            self.head[h] = pos as u32;
        }
    }

    /// The longest match at `pos` of at most `max_len` bytes, if one of at least 3 exists.
    pub(crate) fn find(&self, pos: usize, max_len: usize) -> Option<Match> {
        let h = self.hash(pos)?;
        let here = &self.data[pos..];
        let max_len = max_len.min(here.len());
        let mut best: Option<Match> = None;
        let mut cand = self.head[h];
        for _ in 0..CHAIN_DEPTH {
            if cand == NONE {
                break;
            }
            let c = cand as usize;
            let distance = pos - c;
            if distance > self.window {
                break;
            }
            let len = here
                .iter()
                .zip(&self.data[c..])
                .take(max_len)
                .take_while(|(a, b)| a == b)
                .count();
            if len >= MIN_MATCH && best.is_none_or(|b| len > b.len) {
                best = Some(Match { len, distance });
                if len == max_len {
                    break;
                }
            }
            cand = self.prev[c];
        }
        best
    }
}
