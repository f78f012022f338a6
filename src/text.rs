//! Decoding source bytes into text and turning byte offsets into line and column.
//!
//! Columns are 1-based and count characters, as editors and GitHub annotations do. A UTF-8 BOM
//! is removed before anything is parsed, so it never shifts a column on line 1.

use std::fmt;
use std::sync::{Arc, OnceLock};

use crate::finding::Loc;

/// Why a file's bytes are not text that connref can read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecodeError {
    pub message: String,
    /// Byte offset of the problem in the raw file.
    pub offset: usize,
}

impl fmt::Display for DecodeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Decodes a source file: UTF-8 with or without BOM, or UTF-16 with a BOM (some Windows tools
/// write settings files that way). Anything else is reported, never guessed.
pub fn decode(bytes: Vec<u8>) -> Result<String, DecodeError> {
    if bytes.is_empty() {
        return Err(DecodeError {
            message: "the file is empty".into(),
            offset: 0,
        });
    }
    if bytes.starts_with(b"\xEF\xBB\xBF") {
        let mut bytes = bytes;
        bytes.drain(..3);
        return utf8(bytes, 3);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFF\xFE") {
        return utf16(rest, u16::from_le_bytes);
    }
    if let Some(rest) = bytes.strip_prefix(b"\xFE\xFF") {
        return utf16(rest, u16::from_be_bytes);
    }
    if let Some(nul) = memchr::memchr(0, &bytes[..bytes.len().min(8192)]) {
        return Err(DecodeError {
            message: "the file is binary (it holds a NUL byte), not text".into(),
            offset: nul,
        });
    }
    utf8(bytes, 0)
}

/// Takes the buffer without copying it: flows are read whole and can be large.
fn utf8(bytes: Vec<u8>, shift: usize) -> Result<String, DecodeError> {
    String::from_utf8(bytes).map_err(|e| DecodeError {
        message: "the file is not UTF-8 text (save it as UTF-8)".to_owned(),
        offset: e.utf8_error().valid_up_to() + shift,
    })
}

fn utf16(bytes: &[u8], unit: fn([u8; 2]) -> u16) -> Result<String, DecodeError> {
    if !bytes.len().is_multiple_of(2) {
        return Err(DecodeError {
            message: "the UTF-16 file has an odd number of bytes".into(),
            offset: bytes.len() + 1,
        });
    }
    let units: Vec<u16> = bytes.chunks_exact(2).map(|c| unit([c[0], c[1]])).collect();
    String::from_utf16(&units).map_err(|_| DecodeError {
        message: "the UTF-16 file holds an unpaired surrogate".into(),
        offset: 2,
    })
}

/// Offset → (line, column) for one text, in memory that does not grow with its lines: the
/// number of line breaks before every `BLOCK`-th byte, the rest counted on demand. Every file
/// gets an index, and a full table of line starts (8 bytes a line, about a fifth of a pretty
/// flow's size) was the largest allocation after the texts themselves.
#[derive(Debug, Clone, Default)]
pub struct LineIndex {
    /// `breaks[k]`: line breaks in `text[..k * BLOCK]`. Built on the first location past
    /// `NEAR`: most files are asked only about their first few kilobytes (a flow's
    /// `connectionReferences` come first), and most are asked about nothing.
    breaks: OnceLock<Vec<u32>>,
}

/// Small enough that a location costs a short scan (flows ask for dozens per file), large
/// enough that the index is under 2 % of the text.
const BLOCK: usize = 256;

/// Locations before this offset count their line breaks from the start: a bounded scan, so
/// any number of them stays linear in their count.
const NEAR: usize = 4096;

fn count_breaks(bytes: &[u8]) -> usize {
    // Sums in 16-bit lanes, which the compiler turns into wide compares and adds; memchr_iter
    // would stop at every line break, and a usize count widens every lane to 64 bits.
    bytes
        .chunks(usize::from(u16::MAX))
        .map(|c| usize::from(c.iter().fold(0u16, |n, &b| n + u16::from(b == b'\n'))))
        .sum()
}

impl LineIndex {
    fn breaks(&self, bytes: &[u8]) -> &[u32] {
        self.breaks.get_or_init(|| {
            let mut breaks = Vec::with_capacity(bytes.len() / BLOCK + 1);
            let mut seen = 0usize;
            breaks.push(0);
            for chunk in bytes.chunks(BLOCK) {
                seen += count_breaks(chunk);
                // Texts over 4 billion lines would need a wider counter; saturating keeps the
                // arithmetic defined.
                breaks.push(u32::try_from(seen).unwrap_or(u32::MAX));
            }
            breaks
        })
    }

    /// 1-based line and character column of a byte offset (clamped to the text). `text` must
    /// be the text the index was made for.
    pub fn line_col(&self, text: &str, offset: usize) -> (u32, u32) {
        let offset = offset.min(text.len());
        let bytes = text.as_bytes();
        let line = if offset < NEAR {
            count_breaks(&bytes[..offset])
        } else {
            let breaks = self.breaks(bytes);
            let block = (offset / BLOCK).min(breaks.len().saturating_sub(1));
            let before = breaks.get(block).copied().unwrap_or(0) as usize;
            before + count_breaks(&bytes[block * BLOCK..offset])
        };
        let start = line_start(bytes, offset);
        // Counting non-continuation bytes counts chars without decoding; minified flows put
        // a whole megabyte on one line, so this must stay a tight loop.
        let col = bytes[start..offset].iter().filter(|&&b| (b & 0xC0) != 0x80).count();
        (
            u32::try_from(line + 1).unwrap_or(u32::MAX),
            u32::try_from(col + 1).unwrap_or(u32::MAX),
        )
    }

    /// Byte range of the line that holds `offset`, without its line ending.
    pub fn line_range(&self, text: &str, offset: usize) -> std::ops::Range<usize> {
        let offset = offset.min(text.len());
        let bytes = text.as_bytes();
        let start = line_start(bytes, offset);
        let mut end = memchr::memchr(b'\n', &bytes[offset..]).map_or(bytes.len(), |i| offset + i);
        while end > start && matches!(bytes[end - 1], b'\n' | b'\r') {
            end -= 1;
        }
        start..end
    }
}

/// Offset of the first byte of the line that holds `offset`.
fn line_start(bytes: &[u8], offset: usize) -> usize {
    memchr::memrchr(b'\n', &bytes[..offset]).map_or(0, |i| i + 1)
}

/// A decoded source file with its path as reported (repository-relative, `/`-separated).
#[derive(Debug, Clone)]
pub struct SourceFile {
    pub path: Arc<str>,
    /// `Arc<String>` rather than `Arc<str>`: converting would copy every file once more.
    pub text: Arc<String>,
    pub index: Arc<LineIndex>,
}

impl SourceFile {
    pub fn new(path: &str, text: String) -> Self {
        SourceFile {
            path: path.into(),
            text: text.into(),
            index: Arc::default(),
        }
    }

    /// The location of `len` bytes at `offset`.
    pub fn loc(&self, offset: usize, len: usize) -> Loc {
        let (line, column) = self.index.line_col(&self.text, offset);
        let offset = offset.min(self.text.len());
        let len = len.min(self.text.len() - offset);
        Loc {
            path: self.path.clone(),
            line,
            column,
            offset,
            len,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bom_is_stripped_and_utf16_decoded() {
        assert_eq!(decode(b"\xEF\xBB\xBF{}".to_vec()).as_deref(), Ok("{}"));
        let le: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain("{\"a\":1}".encode_utf16().flat_map(u16::to_le_bytes))
            .collect();
        assert_eq!(decode(le).as_deref(), Ok("{\"a\":1}"));
        let be: Vec<u8> = [0xFE, 0xFF]
            .into_iter()
            .chain("ok".encode_utf16().flat_map(u16::to_be_bytes))
            .collect();
        assert_eq!(decode(be).as_deref(), Ok("ok"));
    }

    #[test]
    fn bad_bytes_are_errors() {
        assert_eq!(decode(Vec::new()).unwrap_err().message, "the file is empty");
        assert!(decode(b"ab\0cd".to_vec()).unwrap_err().message.contains("binary"));
        assert_eq!(decode(b"ab\xFFcd".to_vec()).unwrap_err().offset, 2);
        assert_eq!(decode(b"\xEF\xBB\xBFab\xFFcd".to_vec()).unwrap_err().offset, 5);
    }

    #[test]
    fn columns_count_chars_and_survive_crlf() {
        let text = "a\r\nbé\r\n  x";
        let idx = LineIndex::default();
        assert_eq!(idx.line_col(text, 0), (1, 1));
        assert_eq!(idx.line_col(text, 3), (2, 1));
        let x = text.find('x').unwrap();
        assert_eq!(idx.line_col(text, x), (3, 3));
        assert_eq!(&text[idx.line_range(text, 4)], "bé");
        assert_eq!(&text[idx.line_range(text, 0)], "a");
        assert_eq!(&text[idx.line_range(text, text.len())], "  x");
        assert_eq!(idx.line_col(text, text.len()), (3, 4));
    }

    #[test]
    fn lines_are_counted_across_blocks() {
        // Lines of varying length so that block boundaries fall inside lines and on breaks.
        let mut text = String::new();
        let mut expected = Vec::new();
        for n in 0..3000 {
            expected.push((text.len(), n + 1));
            text.push_str(&"é".repeat(n % 7));
            text.push_str(&"x".repeat(n % 13));
            text.push('\n');
        }
        let idx = LineIndex::default();
        for (offset, line) in expected {
            assert_eq!(idx.line_col(&text, offset), (line as u32, 1), "offset {offset}");
        }
        let last = text.len() - 1;
        assert_eq!(idx.line_col(&text, last).0, 3000);
        assert_eq!(idx.line_col(&text, last + 1), (3001, 1));
    }
}
