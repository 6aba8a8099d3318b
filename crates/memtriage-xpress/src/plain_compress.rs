//! Plain LZ77 compression ([MS-XCA] section 2.3), for fixtures and tests.

use crate::matcher::{MatchFinder, MIN_MATCH};

/// Matches reach back at most 2^13 bytes.
const WINDOW: usize = 1 << 13;

/// Compress `input` as Plain LZ77 (greedy parse; valid, not ratio-tuned).
pub fn compress_plain(input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(input.len() + input.len() / 8 + 8);
    let mut finder = MatchFinder::new(input, WINDOW);
    let mut flags = 0u32;
    let mut flag_count = 0u32;
    let mut flag_pos = 0usize;
    out.extend_from_slice(&[0; 4]);
    let mut half_byte: Option<usize> = None;
    let mut pos = 0usize;
    while pos < input.len() {
        let found = finder.find(pos, (input.len() - pos).min(1 << 24));
        match found {
            None => {
                out.push(input[pos]);
                finder.insert(pos);
                pos += 1;
                flags <<= 1;
            }
            Some(m) => {
                let mut len = m.len - MIN_MATCH;
                let word = ((m.distance - 1) << 3) as u16;
                if len < 7 {
                    out.extend_from_slice(&(word | len as u16).to_le_bytes());
                } else {
                    out.extend_from_slice(&(word | 7).to_le_bytes());
                    len -= 7;
                    let needs_more = len >= 15;
                    let nibble = len.min(15) as u8;
                    match half_byte.take() {
                        None => {
                            half_byte = Some(out.len());
                            out.push(nibble);
                        }
                        Some(at) => out[at] |= nibble << 4,
                    }
                    if needs_more {
                        len -= 15;
                        if len < 255 {
                            out.push(len as u8);
                        } else {
                            out.push(255);
                            len += 15 + 7;
                            match u16::try_from(len) {
                                Ok(w) => out.extend_from_slice(&w.to_le_bytes()),
                                Err(_) => {
                                    out.extend_from_slice(&[0, 0]);
                                    out.extend_from_slice(&(len as u32).to_le_bytes());
                                }
                            }
                        }
                    }
                }
                for p in pos..pos + m.len {
                    finder.insert(p);
                }
                pos += m.len;
                flags = (flags << 1) | 1;
            }
        }
        flag_count += 1;
        if flag_count == 32 {
            out[flag_pos..flag_pos + 4].copy_from_slice(&flags.to_le_bytes());
            flag_count = 0;
            flag_pos = out.len();
            out.extend_from_slice(&[0; 4]);
        }
    }
    // The unused flags of the last word are ones.
    let last = if flag_count == 0 {
        u32::MAX
    } else {
        (flags << (32 - flag_count)) | ((1u32 << (32 - flag_count)) - 1)
    };
    out[flag_pos..flag_pos + 4].copy_from_slice(&last.to_le_bytes());
    out
}
