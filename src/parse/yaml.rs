//! A YAML document as a small tree with the byte span of every node, built from the events of
//! `saphyr-parser` (which keeps line and column per event and never expands aliases).
//!
//! Input decides nothing dangerous here: the tree is built with an explicit stack and a depth
//! cap (no recursion), an alias points at the node of its anchor instead of copying it (a
//! billion-laughs file stays as small as it is written), and a duplicate key is an error at the
//! second key, as YAML requires.

use std::collections::HashMap;

use saphyr_parser::{Event, Parser, ScalarStyle};

use super::ParseError;

/// Deeper documents are refused: no real solution file nests past a dozen levels.
pub const MAX_DEPTH: usize = 128;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Kind {
    /// The scalar's text; `plain` when it was written without quotes.
    Scalar {
        text: String,
        plain: bool,
    },
    Seq(Vec<usize>),
    /// Keys and values, as node indices, in file order.
    Map(Vec<(usize, usize)>),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    pub kind: Kind,
    /// Byte offsets in the decoded text.
    pub start: usize,
    pub end: usize,
}

/// A parsed document. `root` is `None` for an empty file.
#[derive(Debug, Clone)]
pub struct Doc {
    pub nodes: Vec<Node>,
    pub root: Option<usize>,
}

/// A borrowed node of a document.
#[derive(Clone, Copy)]
pub struct NodeRef<'d> {
    doc: &'d Doc,
    pub id: usize,
}

impl<'d> NodeRef<'d> {
    pub fn node(&self) -> &'d Node {
        &self.doc.nodes[self.id]
    }

    pub fn start(&self) -> usize {
        self.node().start
    }

    pub fn end(&self) -> usize {
        self.node().end
    }

    pub fn kind_name(&self) -> &'static str {
        match self.node().kind {
            Kind::Scalar { .. } => "a scalar",
            Kind::Seq(_) => "a sequence",
            Kind::Map(_) => "a mapping",
        }
    }

    /// The scalar's text (numbers and booleans as written, quoted or not).
    pub fn text(&self) -> Option<&'d str> {
        match &self.node().kind {
            Kind::Scalar { text, plain } => {
                // `~` and `null` written plain mean nothing.
                (!(*plain && matches!(text.as_str(), "~" | "null" | "Null" | "NULL" | ""))).then_some(text.as_str())
            }
            _ => None,
        }
    }

    /// The members of a mapping, keys as text.
    pub fn entries(&self) -> impl Iterator<Item = (NodeRef<'d>, NodeRef<'d>)> + 'd {
        let doc = self.doc;
        let pairs: &'d [(usize, usize)] = match &self.node().kind {
            Kind::Map(p) => p,
            _ => &[],
        };
        pairs.iter().map(move |(k, v)| (NodeRef { doc, id: *k }, NodeRef { doc, id: *v }))
    }

    /// The value under `key` (compared without case, as the XML the file mirrors is read),
    /// with its key node.
    pub fn entry(&self, key: &str) -> Option<(NodeRef<'d>, NodeRef<'d>)> {
        self.entries().find(|(k, _)| k.text().is_some_and(|t| t.eq_ignore_ascii_case(key)))
    }

    pub fn get(&self, key: &str) -> Option<NodeRef<'d>> {
        self.entry(key).map(|(_, v)| v)
    }

    /// The value under the first of `keys` present: `'@name'` and `name` are the same field
    /// of an XML element transliterated to YAML.
    pub fn get_any(&self, keys: &[&str]) -> Option<(NodeRef<'d>, NodeRef<'d>)> {
        keys.iter().find_map(|k| self.entry(k))
    }

    /// One item or a sequence of them: an XML element that occurs once becomes a mapping, not
    /// a one-item list.
    pub fn items(&self) -> Vec<NodeRef<'d>> {
        match &self.node().kind {
            Kind::Seq(ids) => ids.iter().map(|id| NodeRef { doc: self.doc, id: *id }).collect(),
            Kind::Scalar { .. } if self.text().is_none() => Vec::new(),
            _ => vec![*self],
        }
    }

    pub fn is_map(&self) -> bool {
        matches!(self.node().kind, Kind::Map(_))
    }
}

impl Doc {
    pub fn root(&self) -> Option<NodeRef<'_>> {
        self.root.map(|id| NodeRef { doc: self, id })
    }
}

/// Converts the parser's character positions into byte offsets. Events come in file order,
/// so a cursor that only moves forward (restarting in the rare case it must go back) is linear.
struct Cursor<'t> {
    text: &'t str,
    chars: usize,
    bytes: usize,
}

impl Cursor<'_> {
    fn byte(&mut self, char_index: usize) -> usize {
        if char_index < self.chars {
            self.chars = 0;
            self.bytes = 0;
        }
        let rest = &self.text[self.bytes..];
        let mut it = rest.char_indices();
        while self.chars < char_index {
            match it.next() {
                Some((_, c)) => {
                    self.bytes += c.len_utf8();
                    self.chars += 1;
                }
                None => break,
            }
        }
        self.bytes
    }
}

enum Open {
    Seq(usize),
    /// The mapping, and the key waiting for its value.
    Map(usize, Option<usize>, HashMap<String, ()>),
}

/// Parses the first document of `text`.
pub fn parse(text: &str) -> Result<Doc, ParseError> {
    let mut cursor = Cursor { text, chars: 0, bytes: 0 };
    let mut parser = Parser::new_from_str(text);
    let mut nodes: Vec<Node> = Vec::new();
    let mut anchors: HashMap<usize, usize> = HashMap::new();
    let mut stack: Vec<Open> = Vec::new();
    let mut root = None;
    let mut docs = 0;
    while let Some(next) = parser.next_event() {
        let (event, span) = next.map_err(|e| {
            let at = cursor.byte(e.marker().index());
            ParseError::new(format!("invalid YAML: {}", e.info()), at)
        })?;
        let start = cursor.byte(span.start.index());
        let end = cursor.byte(span.end.index()).max(start);
        let id = match event {
            Event::DocumentStart(_) => {
                docs += 1;
                if docs > 1 {
                    // Solution files hold one document; a second one is read by nobody.
                    break;
                }
                continue;
            }
            Event::StreamStart | Event::StreamEnd | Event::DocumentEnd | Event::Nothing => continue,
            Event::Scalar(value, style, anchor, _) => {
                let id = nodes.len();
                nodes.push(Node {
                    kind: Kind::Scalar {
                        text: value.into_owned(),
                        plain: style == ScalarStyle::Plain,
                    },
                    start,
                    end,
                });
                if anchor > 0 {
                    anchors.insert(anchor, id);
                }
                id
            }
            Event::Alias(anchor) => *anchors
                .get(&anchor)
                .ok_or_else(|| ParseError::new("invalid YAML: an alias to an unknown anchor", start))?,
            Event::SequenceStart(anchor, _) | Event::MappingStart(anchor, _) => {
                if stack.len() >= MAX_DEPTH {
                    return Err(ParseError::new(
                        format!("the YAML nests deeper than {MAX_DEPTH} levels: connref does not read it"),
                        start,
                    ));
                }
                let id = nodes.len();
                let is_seq = matches!(event, Event::SequenceStart(..));
                nodes.push(Node {
                    kind: if is_seq { Kind::Seq(Vec::new()) } else { Kind::Map(Vec::new()) },
                    start,
                    end,
                });
                if anchor > 0 {
                    anchors.insert(anchor, id);
                }
                stack.push(if is_seq {
                    Open::Seq(id)
                } else {
                    Open::Map(id, None, HashMap::new())
                });
                continue;
            }
            Event::SequenceEnd | Event::MappingEnd => {
                let Some(open) = stack.pop() else { continue };
                let id = match open {
                    Open::Seq(id) | Open::Map(id, ..) => id,
                };
                nodes[id].end = end.max(nodes[id].start);
                id
            }
        };
        // `id` is a finished node: attach it to the open collection, or make it the root.
        match stack.last_mut() {
            None => {
                root.get_or_insert(id);
            }
            Some(Open::Seq(seq)) => {
                if let Kind::Seq(items) = &mut nodes[*seq].kind {
                    items.push(id);
                }
            }
            Some(Open::Map(map, pending, seen)) => match pending.take() {
                None => {
                    if let Kind::Scalar { text, .. } = &nodes[id].kind
                        && seen.insert(text.clone(), ()).is_some()
                    {
                        return Err(ParseError::new(
                            format!("invalid YAML: the key `{text}` appears twice in one mapping"),
                            nodes[id].start,
                        ));
                    }
                    *pending = Some(id);
                }
                Some(key) => {
                    if let Kind::Map(pairs) = &mut nodes[*map].kind {
                        pairs.push((key, id));
                    }
                }
            },
        }
    }
    Ok(Doc { nodes, root })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_positions_and_accepts_one_or_many() {
        let text = "a:\n  '@x': 5\n  b:\n  - c: é\n  - c: d\n  one:\n    c: z\n";
        let doc = parse(text).unwrap();
        let a = doc.root().unwrap().get("a").unwrap();
        let (k, v) = a.entry("@x").unwrap();
        assert_eq!(&text[k.start()..k.end()], "'@x'");
        assert_eq!(v.text(), Some("5"));
        assert_eq!(a.get("b").unwrap().items().len(), 2);
        assert_eq!(a.get("one").unwrap().items().len(), 1);
        let last = a.get("b").unwrap().items()[1].get("c").unwrap();
        assert_eq!(&text[last.start()..last.end()], "d");
    }

    #[test]
    fn refuses_what_is_dangerous() {
        assert!(parse("a: 1\na: 2\n").unwrap_err().message.contains("twice"));
        let deep = "[".repeat(100_000);
        assert!(parse(&deep).is_err());
        let deep_block: String = (0..2000).map(|i| format!("{}k:\n", " ".repeat(i))).collect();
        assert!(parse(&deep_block).is_err());
        assert!(parse("a:\n\tb: 1\n").is_err());
        let bomb = "a: &a [x, x, x, x, x, x, x, x, x]\nb: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\nc: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\nd: [*c, *c, *c, *c, *c, *c, *c, *c, *c]\n";
        let doc = parse(bomb).unwrap();
        assert!(doc.nodes.len() < 40, "aliases are shared, not copied");
        assert!(parse("a: *nothing\n").is_err());
    }
}
