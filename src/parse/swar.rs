//! Byte scans eight bytes at a time in plain integer arithmetic, the same on every target: the
//! parsers look for a few kinds of byte in long runs of ordinary text. Each mask has the high
//! bit of every byte that matches, exactly (no carry from one byte into the next), so the
//! first match is `mask.trailing_zeros() / 8`. The end of a JSON string's plain run, the
//! hottest scan of the byte-by-byte reader, also has a sixteen-byte SSE2 loop on x86_64. (A
//! stream over a sound document does not scan at all: `tokens.rs` has found every token.)

const ONES: u64 = 0x0101_0101_0101_0101;
const HIGH: u64 = 0x8080_8080_8080_8080;

/// The eight bytes at `i`, first byte lowest, when there are eight.
#[inline]
pub fn word(s: &[u8], i: usize) -> Option<u64> {
    s.get(i..i + 8).and_then(|b| b.try_into().ok()).map(u64::from_le_bytes)
}

/// Every byte of `w` repeated: eight spaces, eight quotes.
#[inline]
pub const fn splat(b: u8) -> u64 {
    ONES * b as u64
}

/// The bytes of `w` that are not zero.
#[inline]
fn nonzero(x: u64) -> u64 {
    (((x & !HIGH) + !HIGH) | x) & HIGH
}

/// The bytes of `w` equal to `b`.
#[inline]
pub fn eq(w: u64, b: u8) -> u64 {
    !nonzero(w ^ splat(b)) & HIGH
}

/// The bytes of `w` other than `b`.
#[inline]
pub fn ne(w: u64, b: u8) -> u64 {
    nonzero(w ^ splat(b))
}

/// The bytes of `w` below 0x20 (control characters).
#[inline]
pub fn control(w: u64) -> u64 {
    // A byte under 0x80 plus 0x60 reaches 0x80 exactly when it is at least 0x20, and never
    // carries; bytes from 0x80 up are excluded by `| w`.
    !(((w & !HIGH) + splat(0x60)) | w) & HIGH
}

/// The first byte of `w` that is `a`, `b` or a control character, as a mask that is exact up
/// to that byte only (a borrow out of a match may mark bytes above it): half the arithmetic of
/// `eq(w, a) | eq(w, b) | control(w)`, for scans that only need where they stop. Zero when no
/// byte matches.
#[inline]
pub fn first_stop(w: u64, a: u8, b: u8) -> u64 {
    // `x - 0x01` borrows into the high bit of a zero byte, `x - 0x20` of a byte below 0x20;
    // `& !x` drops bytes whose high bit was already set.
    let zero = |x: u64| x.wrapping_sub(ONES) & !x;
    (zero(w ^ splat(a)) | zero(w ^ splat(b)) | (w.wrapping_sub(splat(0x20)) & !w)) & HIGH
}

/// Position of the first match in a mask, in bytes.
#[inline]
pub fn first(mask: u64) -> usize {
    (mask.trailing_zeros() / 8) as usize
}

/// Offset of the first `"`, `\\` or control character at or after `i`, or the length: where a
/// JSON string's plain run ends. Sixteen bytes at a time where the target has them for
/// certain (SSE2 is part of every x86_64), else eight.
#[inline]
pub fn string_stop(s: &[u8], mut i: usize) -> usize {
    #[cfg(target_arch = "x86_64")]
    {
        use std::arch::x86_64::*;
        while i + 16 <= s.len() {
            // SAFETY: SSE2 is part of the x86_64 baseline, and the 16 bytes read are in `s`.
            let mask = unsafe {
                let v = _mm_loadu_si128(s.as_ptr().add(i).cast());
                let quote = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'"' as i8));
                let slash = _mm_cmpeq_epi8(v, _mm_set1_epi8(b'\\' as i8));
                // Bytes up to 0x1f are those whose unsigned max with 0x1f is 0x1f.
                let control = _mm_cmpeq_epi8(_mm_max_epu8(v, _mm_set1_epi8(0x1f)), _mm_set1_epi8(0x1f));
                _mm_movemask_epi8(_mm_or_si128(_mm_or_si128(quote, slash), control)) as u32
            };
            if mask != 0 {
                return i + mask.trailing_zeros() as usize;
            }
            i += 16;
        }
    }
    while let Some(w) = word(s, i) {
        let hits = first_stop(w, b'"', b'\\');
        if hits != 0 {
            return i + first(hits);
        }
        i += 8;
    }
    while let Some(&b) = s.get(i) {
        if b == b'"' || b == b'\\' || b < 0x20 {
            break;
        }
        i += 1;
    }
    i
}

#[cfg(test)]
mod tests {
    use super::*;

    fn assert_first_stop(bytes: [u8; 8]) {
        let mask = first_stop(u64::from_le_bytes(bytes), b'"', b'\\');
        match bytes.iter().position(|&x| x == b'"' || x == b'\\' || x < 0x20) {
            Some(at) => assert_eq!(first(mask), at, "{bytes:?}"),
            None => assert_eq!(mask, 0, "{bytes:?}"),
        }
    }

    #[test]
    fn first_stop_is_exact_at_the_first_match_with_many_matches() {
        // Borrows chain through runs of matches: every word of bytes drawn from the values
        // around the boundaries, in every combination of two kinds per position.
        let values = [0u8, 0x01, 0x1f, 0x20, 0x21, b'"', 0x23, b'\\', 0x5d, 0x7f, 0x80, 0xa0, 0xff];
        let mut state = 0x9e37_79b9_7f4a_7c15u64;
        for _ in 0..200_000 {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let mut bytes = [0u8; 8];
            for (k, b) in bytes.iter_mut().enumerate() {
                *b = values[((state >> (k * 8)) % values.len() as u64) as usize];
            }
            assert_first_stop(bytes);
        }
    }

    #[test]
    fn string_stop_finds_the_first_stop_at_every_offset() {
        // Runs long enough for the wide loop, the eight-byte loop and the tail, with the stop
        // at every position and the bytes around the boundaries before it.
        let plain = [0x20u8, 0x21, 0x5b, 0x7f, 0x80, 0xff, b'a'];
        let stops = [b'"', b'\\', 0x00, 0x0a, 0x1f];
        for len in 0..40 {
            for stop_at in 0..=len {
                for (k, &stop) in stops.iter().enumerate() {
                    let mut s: Vec<u8> = (0..len).map(|j| plain[(j + k) % plain.len()]).collect();
                    if stop_at < len {
                        s[stop_at] = stop;
                    }
                    for from in 0..=len {
                        let expect = (from..len).find(|&j| s[j] == b'"' || s[j] == b'\\' || s[j] < 0x20).unwrap_or(len);
                        assert_eq!(string_stop(&s, from), expect, "{s:?} from {from}");
                    }
                }
            }
        }
    }

    #[test]
    fn masks_are_exact_in_every_byte() {
        for b in 0..=255u8 {
            for pos in 0..8 {
                // The byte under test among neighbours that would carry or borrow.
                for fill in [0u8, 0x1f, 0x20, 0x7f, 0x80, 0xff, b'"'] {
                    let mut bytes = [fill; 8];
                    bytes[pos] = b;
                    let w = u64::from_le_bytes(bytes);
                    let expect = |f: &dyn Fn(u8) -> bool| {
                        bytes
                            .iter()
                            .enumerate()
                            .fold(0u64, |m, (i, &x)| if f(x) { m | 0x80 << (8 * i) } else { m })
                    };
                    assert_eq!(control(w), expect(&|x| x < 0x20), "{bytes:?}");
                    assert_eq!(eq(w, b'"'), expect(&|x| x == b'"'), "{bytes:?}");
                    assert_eq!(eq(w, 0xEF), expect(&|x| x == 0xEF), "{bytes:?}");
                    assert_eq!(ne(w, b' '), expect(&|x| x != b' '), "{bytes:?}");
                    assert_first_stop(bytes);
                }
            }
        }
    }
}
