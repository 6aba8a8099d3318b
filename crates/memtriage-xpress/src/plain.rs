//! Plain LZ77 decompression ([MS-XCA] section 2.4).

use crate::error::XpressError;

/// Decompress a Plain LZ77 stream into `out`, which must be filled exactly.
///
/// Decoding stops as soon as `out` is full; input after that point is ignored. Input that
/// ends early, a match reaching before the start of the output or past its end, and an
/// invalid escaped length are errors.
pub fn decompress_plain(input: &[u8], out: &mut [u8]) -> Result<(), XpressError> {
    let expected = out.len();
    let truncated = |at: usize, produced: usize| XpressError::Truncated {
        at,
        produced,
        expected,
    };
    let byte_at =
        |at: usize, produced: usize| input.get(at).copied().ok_or(truncated(at, produced));
    let u16_at = |at: usize, produced: usize| {
        input
            .get(at..at + 2)
            .and_then(|b| b.try_into().ok())
            .map(u16::from_le_bytes)
            .ok_or(truncated(at, produced))
    };
    let u32_at = |at: usize, produced: usize| {
        input
            .get(at..at + 4)
            .and_then(|b| b.try_into().ok())
            .map(u32::from_le_bytes)
            .ok_or(truncated(at, produced))
    };

    let mut ip = 0usize;
    let mut op = 0usize;
    let mut flags = 0u32;
    let mut flag_count = 0u32;
    // Position of the byte whose high nibble holds the next 4-bit length extension.
    let mut half_byte: Option<usize> = None;
    while op < expected {
        if flag_count == 0 {
            flags = u32_at(ip, op)?;
            ip += 4;
            flag_count = 32;
        }
        if flags & (1 << (flag_count - 1)) == 0 {
            // A run of literals: as many as there are zero flags in a row.
            let window = flags & (u32::MAX >> (32 - flag_count));
            let zeros = window.leading_zeros() - (32 - flag_count);
            let n = (zeros as usize).min(expected - op);
            let available = input.len().saturating_sub(ip);
            if available < n {
                return Err(truncated(input.len(), op + available));
            }
            out[op..op + n].copy_from_slice(&input[ip..ip + n]);
            ip += n;
            op += n;
            flag_count -= n as u32;
            continue;
        }
        flag_count -= 1;
        let word = u16_at(ip, op)?;
        ip += 2;
        let distance = usize::from(word >> 3) + 1;
        let mut len = usize::from(word & 7);
        if len == 7 {
            len = match half_byte.take() {
                Some(at) => usize::from(byte_at(at, op)? >> 4),
                None => {
                    half_byte = Some(ip);
                    let b = byte_at(ip, op)?;
                    ip += 1;
                    usize::from(b & 0xF)
                }
            };
            if len == 15 {
                len = usize::from(byte_at(ip, op)?);
                ip += 1;
                if len == 255 {
                    let at = ip;
                    len = usize::from(u16_at(ip, op)?);
                    ip += 2;
                    if len == 0 {
                        len = u32_at(ip, op)? as usize;
                        ip += 4;
                    }
                    len = len
                        .checked_sub(15 + 7)
                        .ok_or(XpressError::BadMatchLength { at })?;
                }
                len += 15;
            }
            len += 7;
        }
        len += 3;
        copy_match(out, op, distance, len)?;
        op += len;
    }
    Ok(())
}

/// Copy `len` bytes from `distance` bytes back to `out[op..]`, with LZ77 overlap semantics
/// (a distance shorter than the length repeats the pattern).
pub(crate) fn copy_match(
    out: &mut [u8],
    op: usize,
    distance: usize,
    len: usize,
) -> Result<(), XpressError> {
    let src = op
        .checked_sub(distance)
        .ok_or(XpressError::DistanceTooFar { out: op, distance })?;
    if op.checked_add(len).is_none_or(|end| end > out.len()) {
        return Err(XpressError::Overrun {
            out: op,
            len,
            expected: out.len(),
        });
    }
    if distance >= len && len >= 32 {
        out.copy_within(src..src + len, op);
        return Ok(());
    }
    if distance >= 8 && op + len + 8 <= out.len() {
        // Short and long matches alike in 8-byte steps; each step reads only finished bytes
        // and may write up to 7 bytes past the match, which later items overwrite.
        let mut i = 0;
        while i < len {
            out.copy_within(src + i..src + i + 8, op + i);
            i += 8;
        }
        return Ok(());
    }
    if distance == 1 {
        let b = out[src];
        out[op..op + len].fill(b);
        return Ok(());
    }
    if distance >= len {
        out.copy_within(src..src + len, op);
        return Ok(());
    }
    // Overlapping: the pattern of period `distance` doubles with every copy.
    let mut done = 0;
    while done < len {
        let chunk = (len - done).min(distance + done);
        out.copy_within(src..src + chunk, op + done);
        done += chunk;
    }
    Ok(())
}
