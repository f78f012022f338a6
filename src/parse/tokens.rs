//! Where the tokens of a JSON document are, found sixty-four bytes at a time before parsing
//! (the first stage of simdjson, in SSE2, or AVX2 where the processor has it: 1.4 times as
//! fast): the offset of every byte outside strings that is not white space, and of both quotes
//! of every string.
//!
//! A pretty-printed flow is about half indentation and half string contents. Scanning both a
//! byte or a run at a time cost a mispredicted branch at the end of every run; with this
//! index the parser steps from token to token instead, and the scan itself has no branch that
//! depends on the text.
//!
//! The index is only built for a document whose strings are sound: closed, free of control
//! characters, with valid escapes, and no backslash outside them. Any other document gets no
//! index and is parsed byte by byte, so that every error is found and worded by one parser.

/// The tokens of a document, in order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tokens {
    /// Every byte outside strings that is not white space, and both quotes of each string.
    pub at: Vec<u32>,
    /// Every backslash that starts an escape: which strings must be decoded.
    pub escapes: Vec<u32>,
}

/// The tokens of `s`, or `None` when the document must be read byte by byte: its strings are
/// not sound, it is too large for 32-bit offsets, it is so dense in tokens that their index
/// would outgrow the text (more than one token in four bytes: real flows, even minified, have
/// one in six to nine), or the target is not x86_64 (where SSE2 is always there; other targets
/// parse as before).
pub fn tokens(s: &[u8]) -> Option<Tokens> {
    #[cfg(target_arch = "x86_64")]
    {
        if u32::try_from(s.len()).is_err() {
            return None;
        }
        if std::arch::is_x86_feature_detected!("avx2") {
            // SAFETY: the processor has AVX2, checked on the line above.
            unsafe { scan_avx2(s) }
        } else {
            scan(s, masks)
        }
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        let _ = s;
        None
    }
}

/// One bit a byte, for sixty-four bytes.
#[cfg(target_arch = "x86_64")]
#[derive(Default)]
struct Masks {
    quote: u64,
    backslash: u64,
    white: u64,
    control: u64,
}

#[cfg(target_arch = "x86_64")]
fn masks(block: &[u8; 64]) -> Masks {
    use std::arch::x86_64::*;
    let mut m = Masks::default();
    for (part, chunk) in block.chunks_exact(16).enumerate() {
        // SAFETY: SSE2 is part of the x86_64 baseline, and the 16 bytes read are `chunk`.
        let (quote, backslash, white, control) = unsafe {
            let v = _mm_loadu_si128(chunk.as_ptr().cast());
            let is = |b: u8| _mm_cmpeq_epi8(v, _mm_set1_epi8(b as i8));
            let white = _mm_or_si128(_mm_or_si128(is(b' '), is(b'\n')), _mm_or_si128(is(b'\r'), is(b'\t')));
            // Bytes up to 0x1f are those whose unsigned max with 0x1f is 0x1f.
            let control = _mm_cmpeq_epi8(_mm_max_epu8(v, _mm_set1_epi8(0x1f)), _mm_set1_epi8(0x1f));
            (
                _mm_movemask_epi8(is(b'"')),
                _mm_movemask_epi8(is(b'\\')),
                _mm_movemask_epi8(white),
                _mm_movemask_epi8(control),
            )
        };
        let at = 16 * part;
        m.quote |= u64::from(quote as u16) << at;
        m.backslash |= u64::from(backslash as u16) << at;
        m.white |= u64::from(white as u16) << at;
        m.control |= u64::from(control as u16) << at;
    }
    m
}

/// `masks` thirty-two bytes at a time.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn masks_avx2(block: &[u8; 64]) -> Masks {
    use std::arch::x86_64::*;
    let mut m = Masks::default();
    for (part, chunk) in block.chunks_exact(32).enumerate() {
        // SAFETY: the 32 bytes read are `chunk`.
        let v = unsafe { _mm256_loadu_si256(chunk.as_ptr().cast()) };
        let is = |b: u8| _mm256_cmpeq_epi8(v, _mm256_set1_epi8(b as i8));
        // White space by its low four bits: the table holds the one white-space byte with
        // those bits (a byte with the high bit set looks up 0, which it is not).
        let table = _mm256_setr_epi8(
            0x20, -1, -1, -1, -1, -1, -1, -1, -1, 0x09, 0x0a, -1, -1, 0x0d, -1, -1, //
            0x20, -1, -1, -1, -1, -1, -1, -1, -1, 0x09, 0x0a, -1, -1, 0x0d, -1, -1,
        );
        let white = _mm256_cmpeq_epi8(_mm256_shuffle_epi8(table, v), v);
        let control = _mm256_cmpeq_epi8(_mm256_max_epu8(v, _mm256_set1_epi8(0x1f)), _mm256_set1_epi8(0x1f));
        let at = 32 * part;
        m.quote |= u64::from(_mm256_movemask_epi8(is(b'"')) as u32) << at;
        m.backslash |= u64::from(_mm256_movemask_epi8(is(b'\\')) as u32) << at;
        m.white |= u64::from(_mm256_movemask_epi8(white) as u32) << at;
        m.control |= u64::from(_mm256_movemask_epi8(control) as u32) << at;
    }
    m
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
fn scan_avx2(s: &[u8]) -> Option<Tokens> {
    scan(s, |block| masks_avx2(block))
}

/// Bit `i` set when an odd number of bits `0..=i` of `x` are: with quotes as `x`, the bytes
/// from an opening quote up to (not including) its closing one.
#[cfg(target_arch = "x86_64")]
#[inline]
fn prefix_xor(mut x: u64) -> u64 {
    x ^= x << 1;
    x ^= x << 2;
    x ^= x << 4;
    x ^= x << 8;
    x ^= x << 16;
    x ^= x << 32;
    x
}

/// The bytes a backslash escapes. `carry` is bit 0 when the block starts with an escaped byte,
/// and is set for the next block the same way. Backslashes are rare in flows, so they are
/// taken one at a time.
#[cfg(target_arch = "x86_64")]
#[inline]
fn escaped(backslash: u64, carry: &mut u64) -> u64 {
    let mut escaped = *carry;
    *carry = 0;
    let mut rest = backslash;
    while rest != 0 {
        let i = rest.trailing_zeros();
        rest &= rest - 1;
        // A backslash that is itself escaped escapes nothing.
        if escaped & (1 << i) != 0 {
            continue;
        }
        if i == 63 {
            *carry = 1;
        } else {
            escaped |= 1 << (i + 1);
        }
    }
    escaped
}

/// Whether the escape whose letter is at `at` is one JSON has.
#[cfg(any(target_arch = "x86_64", test))]
fn valid_escape(s: &[u8], at: usize) -> bool {
    match s.get(at) {
        Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => true,
        Some(b'u') => s.get(at + 1..at + 5).is_some_and(|h| h.iter().all(u8::is_ascii_hexdigit)),
        _ => false,
    }
}

#[cfg(target_arch = "x86_64")]
#[inline(always)]
fn scan(s: &[u8], masks: impl Fn(&[u8; 64]) -> Masks) -> Option<Tokens> {
    // Flows have a token every eight bytes or so.
    let mut out = Tokens {
        at: Vec::with_capacity(s.len() / 6 + 16),
        escapes: Vec::new(),
    };
    let most = s.len() / 4 + 64;
    let mut in_string = 0u64;
    let mut carry = 0u64;
    let mut base = 0usize;
    while base < s.len() {
        let block: [u8; 64] = match s.get(base..base + 64) {
            Some(b) => b.try_into().ok()?,
            None => {
                // The tail, padded with white space.
                let mut b = [b' '; 64];
                b[..s.len() - base].copy_from_slice(&s[base..]);
                b
            }
        };
        let m = masks(&block);
        let escaped = if m.backslash | carry == 0 {
            0
        } else {
            escaped(m.backslash, &mut carry)
        };
        let quote = m.quote & !escaped;
        // The opening quote and what follows it up to the closing quote.
        let string = prefix_xor(quote) ^ in_string;
        in_string = ((string as i64) >> 63) as u64;
        let inside = string & !quote;
        if m.control & inside != 0 || m.backslash & !inside != 0 {
            return None;
        }
        let mut letters = escaped;
        while letters != 0 {
            let i = letters.trailing_zeros() as usize;
            letters &= letters - 1;
            if !valid_escape(s, base + i) {
                return None;
            }
            // The backslash is the byte before, in this block or at the end of the last.
            out.escapes.push((base + i - 1) as u32);
        }
        let mut tokens = (!m.white & !string) | quote;
        while tokens != 0 {
            let i = tokens.trailing_zeros() as usize;
            tokens &= tokens - 1;
            // Within u32: checked by `tokens`.
            out.at.push((base + i) as u32);
        }
        if out.at.len() > most {
            return None;
        }
        base += 64;
    }
    // A string still open at the end, or a backslash escaping past it.
    if in_string != 0 || carry != 0 {
        return None;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The index read byte by byte, as the parser reads the document.
    fn reference(s: &[u8]) -> Option<Tokens> {
        let mut out = Tokens::default();
        let mut i = 0;
        while let Some(&b) = s.get(i) {
            match b {
                b' ' | b'\n' | b'\r' | b'\t' => i += 1,
                b'\\' => return None,
                b'"' => {
                    out.at.push(i as u32);
                    i += 1;
                    loop {
                        match *s.get(i)? {
                            b'"' => break,
                            b'\\' if valid_escape(s, i + 1) => {
                                out.escapes.push(i as u32);
                                i += 2;
                            }
                            b if b == b'\\' || b < 0x20 => return None,
                            _ => i += 1,
                        }
                    }
                    out.at.push(i as u32);
                    i += 1;
                }
                _ => {
                    out.at.push(i as u32);
                    i += 1;
                }
            }
        }
        (out.at.len() <= s.len() / 4 + 64).then_some(out)
    }

    /// The index as each scan this processor can run finds it: SSE2, and AVX2 when it has it.
    fn every_scan(s: &[u8]) -> Vec<Option<Tokens>> {
        #[cfg(target_arch = "x86_64")]
        {
            let mut found = vec![scan(s, masks)];
            if std::arch::is_x86_feature_detected!("avx2") {
                // SAFETY: the processor has AVX2, checked on the line above.
                found.push(unsafe { scan_avx2(s) });
            }
            found
        }
        // Other targets build no index: every document is read byte by byte.
        #[cfg(not(target_arch = "x86_64"))]
        {
            let _ = s;
            Vec::new()
        }
    }

    /// A small deterministic generator: the same inputs on every run.
    fn bytes(seed: &mut u64, len: usize, alphabet: &[u8]) -> Vec<u8> {
        (0..len)
            .map(|_| {
                *seed ^= *seed << 13;
                *seed ^= *seed >> 7;
                *seed ^= *seed << 17;
                alphabet[(*seed % alphabet.len() as u64) as usize]
            })
            .collect()
    }

    #[test]
    fn the_index_is_what_a_byte_by_byte_read_finds() {
        // Quotes, backslashes and escape letters dense enough to meet at every block edge, and
        // sparse enough that many documents are sound.
        let dense: &[u8] = b"\"\\\"\\ \n\t\r{}[]:,ab0u/ntx\x01";
        let sparse: &[u8] = b"\"\"\\      \n{}[]:,abcdefghijklmnopqrstu0123456789/\t\xc3\xa9";
        let mut seed = 0x2545_f491_4f6c_dd1d;
        let mut checked = (0, 0);
        for round in 0..20_000 {
            let text = bytes(&mut seed, round % 200, if round % 2 == 0 { dense } else { sparse });
            let want = reference(&text);
            for got in every_scan(&text) {
                assert_eq!(got, want, "{:?}", String::from_utf8_lossy(&text));
            }
            checked.1 += usize::from(want.is_some());
            checked.0 += 1;
        }
        // Both kinds of input came up often: sound documents and ones read byte by byte.
        assert!(checked.1 > 1_000 && checked.0 - checked.1 > 1_000, "{checked:?}");
    }

    #[test]
    fn every_byte_is_classed_as_it_is_read_at_every_place_in_a_block() {
        for b in 0..=255u8 {
            for at in 0..66 {
                let mut outside = vec![b' '; at];
                outside.extend([b, b'\n']);
                let mut inside = vec![b' '; at];
                inside.extend([b'"', b, b'"']);
                for text in [outside, inside] {
                    let want = reference(&text);
                    for got in every_scan(&text) {
                        assert_eq!(got, want, "{b:#04x} at {at}");
                    }
                }
            }
        }
    }

    #[test]
    fn a_document_denser_in_tokens_than_a_flow_is_read_byte_by_byte() {
        let dense = format!("[{}1]", "1,".repeat(10_000));
        assert_eq!(reference(dense.as_bytes()), None);
        for got in every_scan(dense.as_bytes()) {
            assert_eq!(got, None);
        }
        // A minified flow is not that dense.
        let minified = r#"{"properties":{"connectionReferences":{"shared_office365":{"connection":{"connectionReferenceLogicalName":"contoso_mail_outlook"}}}}}"#.repeat(3);
        for got in every_scan(minified.as_bytes()) {
            assert!(got.is_some());
        }
    }

    #[test]
    fn strings_and_escapes_across_block_edges() {
        for pad in 0..140 {
            for body in [
                r#""a\"b""#,
                r#""\\""#,
                r#""\u00e9x""#,
                r#""é""#,
                r#""a\\\"""#,
                "\"\"",
                r#""\/\b\f\n\r\t""#,
            ] {
                let text = format!("{}[{body}, 1]", " ".repeat(pad));
                let want = reference(text.as_bytes());
                assert!(want.is_some(), "{text:?}");
                for got in every_scan(text.as_bytes()) {
                    assert_eq!(got, want, "{text:?}");
                }
            }
            for bad in [r#""\q""#, r#""\u12""#, "\"a\u{1}\"", r#""a\"#, r#"\"a""#, "\"a\nb\""] {
                let text = format!("{}[{bad}]", " ".repeat(pad));
                assert_eq!(reference(text.as_bytes()), None, "{text:?}");
                for got in every_scan(text.as_bytes()) {
                    assert_eq!(got, None, "{text:?}");
                }
            }
        }
    }
}
