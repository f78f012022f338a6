//! A small element tree over quick-xml that remembers where every element and attribute starts.
//!
//! The files connref reads (Solution.xml, Customizations.xml, `.data.xml`, `.meta.xml`) are read
//! whole and looked up by element name, so a tree is simpler than a streaming state machine and
//! keeps exact positions for findings.

use std::borrow::Cow;
use std::fmt;

use super::swar;
use quick_xml::Reader;
use quick_xml::events::{BytesStart, Event};

/// Deepest element nesting accepted, as for JSON: real exports nest a dozen levels, and the
/// element tree is walked and dropped recursively.
pub const MAX_DEPTH: usize = 512;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct XmlError {
    pub message: String,
    pub offset: usize,
}

impl fmt::Display for XmlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

/// Names and texts borrow from the document where they can: a flow's `.data.xml` is a few
/// dozen elements, and owning each name and text was most of the cost of reading one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attr<'a> {
    /// Local name, without a namespace prefix.
    pub name: &'a str,
    pub value: Cow<'a, str>,
    /// Offset of the attribute name.
    pub offset: usize,
    /// Length of the whole attribute as written, `name="value"`.
    pub len: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Element<'a> {
    /// Local name, without a namespace prefix.
    pub name: &'a str,
    pub attrs: Vec<Attr<'a>>,
    pub children: Vec<Element<'a>>,
    /// Concatenated text and CDATA directly inside the element, entities resolved.
    pub text: Cow<'a, str>,
    /// Offset of the `<` that opens the element.
    pub offset: usize,
    /// Length of the start tag, `<` to `>`.
    pub tag_len: usize,
}

impl<'a> Element<'a> {
    pub fn child(&self, name: &str) -> Option<&Element<'a>> {
        self.children.iter().find(|c| c.name == name)
    }

    /// Like `child`, ignoring ASCII case: hand-made files vary it.
    pub fn child_ci(&self, name: &str) -> Option<&Element<'a>> {
        self.children.iter().find(|c| c.name.eq_ignore_ascii_case(name))
    }

    pub fn children_named<'s>(&'s self, name: &'s str) -> impl Iterator<Item = &'s Element<'a>> + 's {
        self.children.iter().filter(move |c| c.name == name)
    }

    pub fn attr(&self, name: &str) -> Option<&Attr<'a>> {
        self.attrs.iter().find(|a| a.name == name)
    }

    /// Trimmed text of a child element, when present and not empty.
    pub fn child_text(&self, name: &str) -> Option<&str> {
        self.child(name).map(|c| c.text.trim()).filter(|t| !t.is_empty())
    }

    /// Depth-first search for the first descendant with this name.
    pub fn find(&self, name: &str) -> Option<&Element<'a>> {
        self.children
            .iter()
            .find_map(|c| if c.name == name { Some(c) } else { c.find(name) })
    }
}

/// `part` as a slice of `text` when it lies inside it. quick-xml hands out pieces of the
/// document tied to its events; their place in the document gives them its lifetime.
fn within<'a>(text: &'a str, part: &[u8]) -> Option<&'a str> {
    let at = offset_in(text, part)?;
    text.get(at..at.checked_add(part.len())?)
}

/// Where `part` starts in `text`, when it lies inside it.
fn offset_in(text: &str, part: &[u8]) -> Option<usize> {
    let at = (part.as_ptr() as usize).checked_sub(text.as_ptr() as usize)?;
    (at.checked_add(part.len())? <= text.len()).then_some(at)
}

/// `piece` with the document's lifetime: borrowed when quick-xml borrowed it, else owned.
fn keep<'a>(text: &'a str, piece: Cow<'_, str>) -> Cow<'a, str> {
    match piece {
        Cow::Borrowed(b) => within(text, b.as_bytes()).map_or_else(|| Cow::Owned(b.to_owned()), Cow::Borrowed),
        Cow::Owned(o) => Cow::Owned(o),
    }
}

/// The local name (after any `prefix:`) of a qualified name that lies in `text`, in the tag
/// at `offset`.
fn local<'a>(text: &'a str, qualified: &[u8], offset: usize) -> Result<&'a str, XmlError> {
    let name = within(text, qualified).ok_or_else(|| XmlError {
        message: "a name that is not part of the document".into(),
        offset,
    })?;
    // A byte search: `rsplit_once` calls out to a vectorised search, slower on short names.
    Ok(name.bytes().rposition(|b| b == b':').map_or(name, |c| &name[c + 1..]))
}

/// Adds a piece of text to what an element already holds, copying only from the second piece.
pub fn append<'a>(to: &mut Cow<'a, str>, piece: Cow<'a, str>) {
    if to.is_empty() {
        *to = piece;
    } else {
        to.to_mut().push_str(&piece);
    }
}

fn element<'a>(text: &'a str, start: &BytesStart<'_>, offset: usize, end: usize) -> Result<Element<'a>, XmlError> {
    let mut attrs = Vec::new();
    for attr in start.attributes() {
        let attr = attr.map_err(|e| XmlError {
            message: format!("bad attribute: {e}"),
            offset,
        })?;
        let key = attr.key.as_ref();
        // The name and the raw value are slices of the document: the attribute runs from
        // the name to the quote after the value.
        let (at, len) = match (offset_in(text, key.as_bytes()), offset_in(text, attr.value.as_bytes())) {
            (Some(at), Some(value)) if value > at => (at, value + attr.value.len() + 1 - at),
            _ => (offset, 0),
        };
        if !is_name(key) {
            return Err(XmlError {
                message: format!("`{key}` is not an attribute name"),
                offset: at,
            });
        }
        if let Some(lt) = attr.value.find('<') {
            // The raw value ends the attribute as written, before the closing quote.
            let value_at = (at + len).saturating_sub(attr.value.len() + 1);
            return Err(XmlError {
                message: format!("`<` inside the value of attribute `{key}` (write it as `&lt;`)"),
                offset: if len > 0 { value_at + lt } else { at },
            });
        }
        let name = local(text, attr.key.as_ref().as_bytes(), at)?;
        let value = keep(
            text,
            attr.normalized_value(quick_xml::XmlVersion::Implicit1_0).map_err(|e| XmlError {
                message: format!("bad value of attribute `{name}`: {e}"),
                offset,
            })?,
        );
        attrs.push(Attr {
            name,
            value,
            offset: at,
            len,
        });
    }
    Ok(Element {
        name: local(text, start.name().as_ref().as_bytes(), offset)?,
        attrs,
        offset,
        tag_len: end.saturating_sub(offset),
        ..Default::default()
    })
}

/// Whether `name` is an XML name: a letter, `_` or `:` first, then also digits, `-` and `.`.
/// Characters beyond ASCII are taken as they come: exports do not use them in names.
fn is_name(name: &str) -> bool {
    let mut bytes = name.bytes();
    let start = |b: u8| b.is_ascii_alphabetic() || b == b'_' || b == b':' || b >= 0x80;
    bytes.next().is_some_and(start) && bytes.all(|b| start(b) || b.is_ascii_digit() || b == b'-' || b == b'.')
}

/// The first character that XML 1.0 forbids (control characters other than tab, CR and LF,
/// U+FFFE and U+FFFF): quick-xml passes them through, Dataverse rejects the file.
fn forbidden_char(text: &str) -> Option<(usize, char)> {
    let bytes = text.as_bytes();
    let forbidden_at = |i: usize| {
        let b = bytes[i];
        (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'))
            || (b == 0xEF && bytes.get(i + 1) == Some(&0xBF) && matches!(bytes.get(i + 2), Some(0xBE | 0xBF)))
    };
    // Eight bytes at a time past ordinary text, line breaks included; a word with a forbidden
    // control character or 0xEF is looked at byte by byte.
    let mut i = 0;
    let at = loop {
        match swar::word(bytes, i) {
            Some(w) if swar::control(w) & swar::ne(w, b'\n') & swar::ne(w, b'\t') & swar::ne(w, b'\r') | swar::eq(w, 0xEF) == 0 => i += 8,
            Some(_) => match (i..i + 8).find(|&j| forbidden_at(j)) {
                Some(j) => break j,
                None => i += 8,
            },
            None => break (i..bytes.len()).find(|&j| forbidden_at(j))?,
        }
    };
    text[at..].chars().next().map(|c| (at, c))
}

fn is_forbidden(c: char) -> bool {
    (c < '\u{20}' && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
}

/// What a reader does with a document as [`read`] walks it. [`parse`] builds the whole tree;
/// a reader that needs a few elements of a file read thousands of times (a flow's
/// `.json.data.xml`) keeps only those. Either way the document is checked the same.
pub trait Sink<'a> {
    /// An element opens (an empty element opens and closes at once); `depth` is 0 for the root.
    fn open(&mut self, element: Element<'a>, depth: usize);
    /// Text, CDATA or a resolved reference directly inside the innermost open element.
    fn text(&mut self, piece: Cow<'a, str>);
    /// Whether `text` would keep text now: when not, text and CDATA are not even decoded
    /// (they cannot be wrong; references still are, as they can).
    fn wants_text(&self) -> bool {
        true
    }
    /// The innermost open element closes.
    fn close(&mut self);
}

/// Parses a whole document and returns its root element.
pub fn parse(text: &str) -> Result<Element<'_>, XmlError> {
    #[derive(Default)]
    struct Tree<'a> {
        open: Vec<Element<'a>>,
        root: Option<Element<'a>>,
    }
    impl<'a> Sink<'a> for Tree<'a> {
        fn open(&mut self, element: Element<'a>, _: usize) {
            self.open.push(element);
        }
        fn text(&mut self, piece: Cow<'a, str>) {
            if let Some(top) = self.open.last_mut() {
                append(&mut top.text, piece);
            }
        }
        fn close(&mut self) {
            let Some(element) = self.open.pop() else { return };
            match self.open.last_mut() {
                Some(parent) => parent.children.push(element),
                None => self.root = Some(element),
            }
        }
    }
    let mut tree = Tree::default();
    read(text, &mut tree)?;
    tree.root.ok_or_else(no_element)
}

pub fn no_element() -> XmlError {
    XmlError {
        message: "the file holds no XML element".into(),
        offset: 0,
    }
}

/// Checks a whole document and hands its elements and texts to `sink`; `Ok` means there was
/// exactly one root element.
pub fn read<'a>(text: &'a str, sink: &mut impl Sink<'a>) -> Result<(), XmlError> {
    if let Some((offset, c)) = forbidden_char(text) {
        return Err(XmlError {
            message: format!("the control character U+{:04X} is not allowed in XML", c as u32),
            offset,
        });
    }
    let mut reader = Reader::from_str(text);
    reader.config_mut().check_end_names = true;
    // Name and offset of each open element, innermost last.
    let mut open: Vec<(&'a str, usize)> = Vec::new();
    let mut had_root = false;
    // An element that closes at the top is the root, unless there was one already.
    let mut closed_at_top = |open: &[(&str, usize)], offset: usize| {
        if !open.is_empty() {
            return Ok(());
        }
        if std::mem::replace(&mut had_root, true) {
            return Err(XmlError {
                message: "a second root element".into(),
                offset,
            });
        }
        Ok(())
    };
    loop {
        let before = reader.buffer_position() as usize;
        let event = reader.read_event().map_err(|e| XmlError {
            message: e.to_string(),
            offset: reader.error_position() as usize,
        })?;
        let after = reader.buffer_position() as usize;
        // Text events hold the white space before a tag, so `before` is the `<` of a tag.
        match event {
            Event::Start(s) => {
                if open.len() >= MAX_DEPTH {
                    return Err(XmlError {
                        message: format!("elements are nested deeper than {MAX_DEPTH} levels"),
                        offset: before,
                    });
                }
                let el = element(text, &s, before, after)?;
                open.push((el.name, before));
                sink.open(el, open.len() - 1);
            }
            Event::Empty(s) => {
                let el = element(text, &s, before, after)?;
                closed_at_top(&open, before)?;
                sink.open(el, open.len());
                sink.close();
            }
            Event::End(_) => {
                if open.pop().is_none() {
                    return Err(XmlError {
                        message: "unexpected closing tag".into(),
                        offset: before,
                    });
                }
                closed_at_top(&open, before)?;
                sink.close();
            }
            Event::Text(t) => {
                if !open.is_empty() {
                    if sink.wants_text() {
                        sink.text(keep(text, t.xml10_content()));
                    }
                } else if !t.xml10_content().trim().is_empty() {
                    return Err(XmlError {
                        message: "text outside the root element".into(),
                        offset: before,
                    });
                }
            }
            Event::CData(t) => {
                if !open.is_empty() && sink.wants_text() {
                    sink.text(keep(text, t.xml10_content()));
                }
            }
            Event::GeneralRef(r) => {
                let resolved = if r.is_char_ref() {
                    r.resolve_char_ref()
                        .map_err(|e| XmlError {
                            message: e.to_string(),
                            offset: before,
                        })?
                        .map(String::from)
                } else {
                    quick_xml::escape::resolve_predefined_entity(&r.xml10_content()).map(String::from)
                };
                let resolved = resolved.ok_or_else(|| XmlError {
                    message: format!("unknown entity `&{};`", r.xml10_content()),
                    offset: before,
                })?;
                if let Some(c) = resolved.chars().find(|&c| is_forbidden(c)) {
                    return Err(XmlError {
                        message: format!("the control character U+{:04X} is not allowed in XML", c as u32),
                        offset: before,
                    });
                }
                if !open.is_empty() {
                    sink.text(Cow::Owned(resolved));
                }
            }
            Event::Eof => break,
            // quick-xml reports a declaration after a BOM at 0 or after the BOM.
            Event::Decl(_) if before > text.len() - text.trim_start_matches('\u{feff}').len() => {
                return Err(XmlError {
                    message: "an XML declaration (`<?xml …?>`) is allowed only at the very start of the file".into(),
                    offset: before,
                });
            }
            Event::Comment(_) | Event::Decl(_) | Event::PI(_) | Event::DocType(_) => {}
        }
    }
    if let Some((name, offset)) = open.last() {
        return Err(XmlError {
            message: format!("the file ends before `<{name}>` is closed"),
            offset: *offset,
        });
    }
    if had_root { Ok(()) } else { Err(no_element()) }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_positions_of_elements_and_attributes() {
        let text = "<?xml version=\"1.0\"?>\n<a>\n  <b  x = \"1\" name=\"n&amp;m\">t&lt;u</b>\n  <c/>\n</a>";
        let root = parse(text).unwrap();
        let b = root.child("b").unwrap();
        assert_eq!(&text[b.offset..b.offset + 2], "<b");
        assert_eq!(b.attr("name").unwrap().value, "n&m");
        assert_eq!(&text[b.attr("x").unwrap().offset..][..1], "x");
        let name = b.attr("name").unwrap();
        assert_eq!(&text[name.offset..name.offset + name.len], "name=\"n&amp;m\"");
        assert_eq!(b.text, "t<u");
        assert!(root.child("c").is_some());
        // Each attribute as written, whatever its quotes, spacing, prefix or value.
        let text = "<a  x = \"1\"\te=''\n p:q='v\"w' z=\"\" r=\"&#60;\"/>";
        let a = parse(text).unwrap();
        let written: Vec<&str> = a.attrs.iter().map(|at| &text[at.offset..at.offset + at.len]).collect();
        assert_eq!(written, ["x = \"1\"", "e=''", "p:q='v\"w'", "z=\"\"", "r=\"&#60;\""]);
    }

    #[test]
    fn malformed_documents_are_errors() {
        assert!(parse("<a><b></a>").is_err());
        assert!(parse("<a>").unwrap_err().message.contains("closed"));
        assert!(parse("").is_err());
        assert!(parse("<a/><b/>").is_err());
        assert!(parse("<a>&bogus;</a>").is_err());
    }

    #[test]
    fn what_quick_xml_lets_through_is_an_error() {
        assert_eq!(parse("<a x!=\"1\"/>").unwrap_err().offset, 3);
        assert_eq!(parse("<a x=\"1<2\"/>").unwrap_err().offset, 7);
        assert_eq!(parse("<a>\u{1}</a>").unwrap_err().offset, 3);
        assert!(parse("<a>&#1;</a>").is_err());
        assert_eq!(parse("<a/>\n<?xml version=\"1.0\"?>").unwrap_err().offset, 5);
        assert_eq!(parse("\u{feff}<?xml version=\"1.0\"?><a/>").map(|r| r.name), Ok("a"));
        assert!(parse("<?xml version=\"1.0\"?><a x=\"&lt;\" y=\">\">\t\r\n</a>").is_ok());
    }

    #[test]
    fn forbidden_characters_are_found_at_every_alignment() {
        for pad in 0..18 {
            let x = "x".repeat(pad);
            assert_eq!(parse(&format!("<a>{x}\u{1}</a>")).unwrap_err().offset, 3 + pad);
            assert_eq!(parse(&format!("<a>{x}\u{FFFE}</a>")).unwrap_err().offset, 3 + pad);
            assert!(parse(&format!("<a>{x}\t\r\n\u{EFFF}é</a>")).is_ok());
        }
    }

    #[test]
    fn nesting_is_capped() {
        let nest = |n: usize| format!("{}{}", "<a>".repeat(n), "</a>".repeat(n));
        assert!(parse(&nest(MAX_DEPTH)).is_ok());
        let e = parse(&nest(MAX_DEPTH + 1)).unwrap_err();
        assert_eq!(e.offset, 3 * MAX_DEPTH);
    }
}
