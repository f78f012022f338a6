//! A JSON parser that keeps the byte offset of every value and key.
//!
//! serde_json forgets positions, and connref must point at the exact key that is wrong, in
//! minified one-line flows as much as in pretty-printed settings files. Strings without escapes
//! are borrowed from the input, so a large flow costs little more than a scan. A stream first finds
//! where the document's tokens are (`tokens.rs`) and then steps from one to the next; the tree
//! parser, for small files, reads every byte.

use std::borrow::Cow;
use std::collections::HashSet;
use std::fmt;

use super::swar;
use super::tokens::{self, Tokens};

/// Nesting deeper than this is an error rather than a stack overflow.
const MAX_DEPTH: usize = 512;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JsonError {
    pub message: String,
    /// Byte offset in the text where the problem is.
    pub offset: usize,
}

impl fmt::Display for JsonError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

#[derive(Debug, Clone, PartialEq)]
pub enum Kind<'a> {
    Null,
    Bool(bool),
    Number(&'a str),
    String(Cow<'a, str>),
    Array(Vec<Value<'a>>),
    Object(Vec<Member<'a>>),
}

#[derive(Debug, Clone, PartialEq)]
pub struct Value<'a> {
    pub kind: Kind<'a>,
    /// Offset of the first byte of the value (the quote of a string, the brace of an object).
    pub start: usize,
    pub end: usize,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Member<'a> {
    pub key: Cow<'a, str>,
    /// Offset of the key's opening quote.
    pub key_start: usize,
    pub key_end: usize,
    pub value: Value<'a>,
}

/// A parsed document. Duplicate keys are kept in place (a lookup finds the first) and listed,
/// because a settings file with a duplicate key is ambiguous and must be reported.
#[derive(Debug, Clone)]
pub struct Document<'a> {
    pub root: Value<'a>,
    /// Key and key offset of every member whose key already occurred in the same object.
    pub duplicate_keys: Vec<(String, usize)>,
}

impl<'a> Value<'a> {
    pub fn members(&self) -> &[Member<'a>] {
        match &self.kind {
            Kind::Object(m) => m,
            _ => &[],
        }
    }

    pub fn items(&self) -> &[Value<'a>] {
        match &self.kind {
            Kind::Array(v) => v,
            _ => &[],
        }
    }

    pub fn is_object(&self) -> bool {
        matches!(self.kind, Kind::Object(_))
    }

    pub fn member(&self, key: &str) -> Option<&Member<'a>> {
        self.members().iter().find(|m| m.key == key)
    }

    pub fn get(&self, key: &str) -> Option<&Value<'a>> {
        self.member(key).map(|m| &m.value)
    }

    /// Follows a path of keys.
    pub fn at(&self, path: &[&str]) -> Option<&Value<'a>> {
        path.iter().try_fold(self, |v, k| v.get(k))
    }

    pub fn as_str(&self) -> Option<&str> {
        match &self.kind {
            Kind::String(s) => Some(s),
            _ => None,
        }
    }

    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            Kind::Null => "null",
            Kind::Bool(_) => "a boolean",
            Kind::Number(_) => "a number",
            Kind::String(_) => "a string",
            Kind::Array(_) => "an array",
            Kind::Object(_) => "an object",
        }
    }
}

pub fn parse(text: &str) -> Result<Document<'_>, JsonError> {
    // A tree is built from every byte: tokens would not be used.
    let mut p = Parser::bytewise(text, 0);
    p.ws();
    if p.i == p.s.len() {
        return Err(p.err("expected a JSON value, found the end of the file"));
    }
    let root = p.value(0)?;
    p.ws();
    if p.i < p.s.len() {
        return Err(p.err("unexpected content after the JSON value"));
    }
    Ok(Document {
        root,
        duplicate_keys: p.dups,
    })
}

/// What a [`Walker`] does with the value of a member or an item it is shown.
pub enum Visit<M> {
    /// Go through it (when it is an object or an array), showing its members or items in
    /// this mode.
    Walk(M),
    /// Validate it without looking.
    Skip,
    /// Build it as a tree and hand it to [`Walker::take`].
    Take,
}

/// A reader that needs a few values from anywhere in a large document: [`Stream::walk`] shows
/// it every member and item of the containers it walks into, each with the mode its container
/// was walked in, and validates the rest at the speed of a skip.
pub trait Walker<'a> {
    type Mode: Copy;
    fn member(&mut self, mode: Self::Mode, key: &Key<'a>) -> Visit<Self::Mode>;
    fn item(&mut self, mode: Self::Mode) -> Visit<Self::Mode>;
    fn take(&mut self, value: Value<'a>);
}

/// The key of a member a [`Walker`] is shown, decoded only when asked: a skip is shown every
/// key and reads none.
pub struct Key<'a> {
    text: &'a str,
    /// The opening quote, and the byte after the closing one.
    start: usize,
    end: usize,
    escaped: bool,
}

impl<'a> Key<'a> {
    /// The key with its escapes resolved.
    #[inline]
    pub fn get(&self) -> Cow<'a, str> {
        if !self.escaped {
            return Cow::Borrowed(&self.text[self.start + 1..self.end - 1]);
        }
        let mut p = Parser::bytewise(self.text, self.start);
        // The key was validated when it was skipped.
        p.string().unwrap_or_default()
    }

    /// Whether the key is `name`.
    #[inline]
    pub fn is(&self, name: &str) -> bool {
        if self.escaped {
            return self.decoded_is(name);
        }
        // The lengths first: most keys a walker is shown are not the one it asks about, and
        // telling them apart then reads nothing of the text.
        let inner = self.start + 1..self.end.saturating_sub(1);
        inner.len() == name.len() && self.text.as_bytes().get(inner) == Some(name.as_bytes())
    }

    #[cold]
    fn decoded_is(&self, name: &str) -> bool {
        self.get() == name
    }
}

/// The walker of a skip: walks into everything, looks at nothing.
struct Plain;

impl Walker<'_> for Plain {
    type Mode = ();
    fn member(&mut self, _: (), _: &Key<'_>) -> Visit<()> {
        Visit::Walk(())
    }
    fn item(&mut self, _: ()) -> Visit<()> {
        Visit::Walk(())
    }
    fn take(&mut self, _: Value<'_>) {}
}

/// Streaming access for large documents: an object is visited member by member, and only the
/// values a caller asks for become trees. Flows are mostly action definitions that connref
/// only needs to scan, so building them as trees would cost allocations for nothing.
pub struct Stream<'a> {
    p: Parser<'a>,
    depth: usize,
}

impl<'a> Stream<'a> {
    pub fn new(text: &'a str) -> Self {
        Stream {
            p: Parser::new(text),
            depth: 0,
        }
    }

    /// The next byte after white space, without consuming it.
    pub fn peek(&mut self) -> Option<u8> {
        self.p.ws();
        self.p.s.get(self.p.i).copied()
    }

    /// Offset of the next value.
    pub fn offset(&mut self) -> usize {
        self.p.ws();
        self.p.i
    }

    /// What the next value is, for messages (`an array`, `a string`…).
    pub fn kind_name(&mut self) -> &'static str {
        match self.peek() {
            Some(b'{') => "an object",
            Some(b'[') => "an array",
            Some(b'"') => "a string",
            Some(b't' | b'f') => "a boolean",
            Some(b'n') => "null",
            Some(_) => "a number",
            None => "nothing",
        }
    }

    /// Builds the next value as a tree.
    pub fn value(&mut self) -> Result<Value<'a>, JsonError> {
        self.p.ws();
        self.p.build(self.depth)
    }

    /// Consumes the next value without building anything.
    pub fn skip(&mut self) -> Result<(), JsonError> {
        self.p.ws();
        self.p.skip(self.depth)
    }

    /// Consumes the next value, walking it in `mode` with `walker`.
    pub fn walk<W: Walker<'a>>(&mut self, mode: W::Mode, walker: &mut W) -> Result<(), JsonError> {
        self.p.ws();
        self.p.walk(self.depth, mode, walker)
    }

    /// Visits the members of the next value when it is an object (returns `false`, consuming
    /// nothing, when it is not). `f` gets the key and its offset and must consume the value.
    /// `f` may fail with its own error type (a shape error of the caller's format).
    pub fn object<E: From<JsonError>>(&mut self, mut f: impl FnMut(&mut Self, &str, usize) -> Result<(), E>) -> Result<bool, E> {
        if self.peek() != Some(b'{') {
            return Ok(false);
        }
        self.enter().map_err(E::from)?;
        self.p.i += 1;
        if self.peek() == Some(b'}') {
            self.p.i += 1;
            self.depth -= 1;
            return Ok(true);
        }
        loop {
            match self.peek() {
                Some(b'"') => {}
                Some(b'}') => return Err(self.p.err("trailing comma before `}`").into()),
                _ => return Err(self.p.unexpected("a key in double quotes").into()),
            }
            let key_start = self.p.i;
            let key = self.p.string().map_err(E::from)?;
            if self.peek() != Some(b':') {
                return Err(self.p.unexpected("`:` after the key").into());
            }
            self.p.i += 1;
            if self.peek().is_none() {
                return Err(self.p.unexpected("a JSON value").into());
            }
            f(self, &key, key_start)?;
            match self.peek() {
                Some(b',') => self.p.i += 1,
                Some(b'}') => {
                    self.p.i += 1;
                    self.depth -= 1;
                    return Ok(true);
                }
                _ => return Err(self.p.unexpected("`,` or `}`").into()),
            }
        }
    }

    /// Visits the items of the next value when it is an array (see `object`).
    pub fn array<E: From<JsonError>>(&mut self, mut f: impl FnMut(&mut Self) -> Result<(), E>) -> Result<bool, E> {
        if self.peek() != Some(b'[') {
            return Ok(false);
        }
        self.enter().map_err(E::from)?;
        self.p.i += 1;
        if self.peek() == Some(b']') {
            self.p.i += 1;
            self.depth -= 1;
            return Ok(true);
        }
        loop {
            if self.peek() == Some(b']') {
                return Err(self.p.err("trailing comma before `]`").into());
            }
            f(self)?;
            match self.peek() {
                Some(b',') => self.p.i += 1,
                Some(b']') => {
                    self.p.i += 1;
                    self.depth -= 1;
                    return Ok(true);
                }
                _ => return Err(self.p.unexpected("`,` or `]`").into()),
            }
        }
    }

    fn enter(&mut self) -> Result<(), JsonError> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err(self.p.err(format!("nesting is deeper than {MAX_DEPTH} levels")));
        }
        Ok(())
    }

    /// Checks that nothing but white space follows the top-level value.
    pub fn finish(mut self) -> Result<(), JsonError> {
        match self.peek() {
            None => Ok(()),
            Some(_) => Err(self.p.err("unexpected content after the JSON value")),
        }
    }
}

/// How the one grammar moves over the text: byte by byte ([`Bytes`]), or from token to token
/// over the document's index ([`Tokens`]), reading neither white space nor string contents.
/// Both are the same parse: the tests hold one against the other.
trait Steps {
    /// Moves `i` to the next token, past white space.
    fn ws(&self, p: &mut Parser<'_>);
    /// Consumes the one-byte token at `i`: `{`, `[`, `:`, `,`, `}` or `]`.
    fn bump(&self, p: &mut Parser<'_>);
    /// Validates and moves past the string at `i`; whether it holds an escape.
    fn skip_string(&self, p: &mut Parser<'_>) -> Result<bool, JsonError>;
    /// The string at `i`, decoded.
    fn string<'a>(&self, p: &mut Parser<'a>) -> Result<Cow<'a, str>, JsonError>;
    /// A number or a literal was just read byte by byte, each of its bytes a token.
    fn read_bytes(&self, p: &mut Parser<'_>);
}

/// Reading every byte.
struct Bytes;

impl Steps for Bytes {
    #[inline]
    fn ws(&self, p: &mut Parser<'_>) {
        p.ws();
    }
    #[inline]
    fn bump(&self, p: &mut Parser<'_>) {
        p.i += 1;
    }
    #[inline]
    fn skip_string(&self, p: &mut Parser<'_>) -> Result<bool, JsonError> {
        p.skip_string()
    }
    #[inline]
    fn string<'a>(&self, p: &mut Parser<'a>) -> Result<Cow<'a, str>, JsonError> {
        p.string()
    }
    #[inline]
    fn read_bytes(&self, _: &mut Parser<'_>) {}
}

/// Stepping over the index: `next` is always the token at `i`, or the one after it.
impl Steps for Tokens {
    #[inline]
    fn ws(&self, p: &mut Parser<'_>) {
        p.i = p.token(self, p.next);
    }
    #[inline]
    fn bump(&self, p: &mut Parser<'_>) {
        p.i += 1;
        p.next += 1;
    }
    #[inline]
    fn skip_string(&self, p: &mut Parser<'_>) -> Result<bool, JsonError> {
        // Its closing quote is the next token; it was validated with the index.
        let end = p.token(self, p.next + 1) + 1;
        let escaped = p.escaped_before(self, end);
        p.i = end;
        p.next += 2;
        Ok(escaped)
    }
    #[inline]
    fn string<'a>(&self, p: &mut Parser<'a>) -> Result<Cow<'a, str>, JsonError> {
        let (open, close) = (p.i, p.token(self, p.next + 1));
        // Only a string with an escape is read byte by byte, to decode it.
        let text = if p.escaped_before(self, close) {
            p.string()?
        } else {
            Cow::Borrowed(&p.text[open + 1..close])
        };
        p.i = close + 1;
        p.next += 2;
        Ok(text)
    }
    #[inline]
    fn read_bytes(&self, p: &mut Parser<'_>) {
        while self.at.get(p.next).is_some_and(|&at| (at as usize) < p.i) {
            p.next += 1;
        }
    }
}

struct Parser<'a> {
    s: &'a [u8],
    text: &'a str,
    i: usize,
    dups: Vec<(String, usize)>,
    /// Where the document's tokens are, when its strings are sound: a walk or a build then
    /// steps from token to token instead of reading white space and the contents of strings.
    tokens: Option<Tokens>,
    /// The first token not yet passed, and the first escape.
    next: usize,
    next_escape: usize,
}

impl<'a> Parser<'a> {
    /// A parser at the start of `text`, with its tokens found.
    fn new(text: &'a str) -> Self {
        Parser {
            tokens: tokens::tokens(text.as_bytes()),
            ..Parser::bytewise(text, 0)
        }
    }

    /// A parser at `i` that reads every byte.
    fn bytewise(text: &'a str, i: usize) -> Self {
        Parser {
            s: text.as_bytes(),
            text,
            i,
            dups: Vec::new(),
            tokens: None,
            next: 0,
            next_escape: 0,
        }
    }

    fn err(&self, message: impl Into<String>) -> JsonError {
        JsonError {
            message: message.into(),
            offset: self.i,
        }
    }

    fn unexpected(&self, expected: &str) -> JsonError {
        let found = match self.text[self.i.min(self.text.len())..].chars().next() {
            None => "the end of the file".to_owned(),
            Some(c) if c.is_control() => format!("{c:?}"),
            Some(c) => format!("`{c}`"),
        };
        self.err(format!("expected {expected}, found {found}"))
    }

    fn ws(&mut self) {
        loop {
            match self.s.get(self.i) {
                // Indentation comes in runs of spaces: pretty-printed flows are mostly that.
                Some(b' ') => {
                    self.i += 1;
                    while let Some(w) = swar::word(self.s, self.i)
                        && w == swar::splat(b' ')
                    {
                        self.i += 8;
                    }
                }
                Some(b'\t' | b'\n' | b'\r') => self.i += 1,
                _ => return,
            }
        }
    }

    fn literal(&mut self, word: &str, kind: Kind<'a>) -> Result<Kind<'a>, JsonError> {
        if self.s[self.i..].starts_with(word.as_bytes()) {
            self.i += word.len();
            Ok(kind)
        } else {
            Err(self.unexpected("a JSON value"))
        }
    }

    fn number(&mut self) -> Result<Kind<'a>, JsonError> {
        let start = self.i;
        if self.s.get(self.i) == Some(&b'-') {
            self.i += 1;
        }
        let digits = |p: &mut Self| {
            let from = p.i;
            while let Some(b'0'..=b'9') = p.s.get(p.i) {
                p.i += 1;
            }
            p.i > from
        };
        if !digits(self) {
            return Err(self.unexpected("a digit"));
        }
        if self.s.get(self.i) == Some(&b'.') {
            self.i += 1;
            if !digits(self) {
                return Err(self.unexpected("a digit after the decimal point"));
            }
        }
        if let Some(b'e' | b'E') = self.s.get(self.i) {
            self.i += 1;
            if let Some(b'+' | b'-') = self.s.get(self.i) {
                self.i += 1;
            }
            if !digits(self) {
                return Err(self.unexpected("a digit in the exponent"));
            }
        }
        Ok(Kind::Number(&self.text[start..self.i]))
    }

    fn string(&mut self) -> Result<Cow<'a, str>, JsonError> {
        let open = self.i;
        self.i += 1;
        let start = self.i;
        // Fast path: no escapes, borrow the slice.
        self.i = self.string_end(open)?;
        if self.s[self.i] == b'"' {
            let s = &self.text[start..self.i];
            self.i += 1;
            return Ok(Cow::Borrowed(s));
        }
        let mut out = String::from(&self.text[start..self.i]);
        loop {
            match self.s.get(self.i) {
                None => {
                    return Err(JsonError {
                        message: "unterminated string".into(),
                        offset: open,
                    });
                }
                Some(b'"') => {
                    self.i += 1;
                    return Ok(Cow::Owned(out));
                }
                Some(b'\\') => {
                    self.i += 1;
                    let c = match self.s.get(self.i) {
                        Some(b'"') => '"',
                        Some(b'\\') => '\\',
                        Some(b'/') => '/',
                        Some(b'b') => '\u{8}',
                        Some(b'f') => '\u{c}',
                        Some(b'n') => '\n',
                        Some(b'r') => '\r',
                        Some(b't') => '\t',
                        Some(b'u') => {
                            self.i += 1;
                            let hi = self.hex4()?;
                            let code = if (0xD800..0xDC00).contains(&hi)
                                && self.s.get(self.i) == Some(&b'\\')
                                && self.s.get(self.i + 1) == Some(&b'u')
                            {
                                self.i += 2;
                                let lo = self.hex4()?;
                                0x10000 + ((hi - 0xD800) << 10) + (lo.wrapping_sub(0xDC00) & 0x3FF)
                            } else {
                                hi
                            };
                            out.push(char::from_u32(code).unwrap_or('\u{FFFD}'));
                            continue;
                        }
                        _ => return Err(self.err("invalid escape in a string")),
                    };
                    out.push(c);
                    self.i += 1;
                }
                Some(&b) if b < 0x20 => return Err(self.err("control character inside a string (escape it)")),
                Some(_) => {
                    let from = self.i;
                    while let Some(&b) = self.s.get(self.i) {
                        if b == b'"' || b == b'\\' || b < 0x20 {
                            break;
                        }
                        self.i += 1;
                    }
                    out.push_str(&self.text[from..self.i]);
                }
            }
        }
    }

    fn hex4(&mut self) -> Result<u32, JsonError> {
        let digits = self.s.get(self.i..self.i + 4).ok_or_else(|| self.err("incomplete \\u escape"))?;
        let mut v = 0u32;
        for &d in digits {
            let n = (d as char).to_digit(16).ok_or_else(|| self.err("invalid \\u escape"))?;
            v = v * 16 + n;
        }
        self.i += 4;
        Ok(v)
    }

    /// The next value, as a tree, read byte by byte.
    fn value(&mut self, depth: usize) -> Result<Value<'a>, JsonError> {
        self.value_in(&Bytes, depth)
    }

    /// `value`, over the tokens when there are.
    fn build(&mut self, depth: usize) -> Result<Value<'a>, JsonError> {
        let Some(t) = self.take_tokens() else {
            return self.value(depth);
        };
        let built = self.value_in(&t, depth);
        self.tokens = Some(t);
        built
    }

    /// Like `value`, without building anything: validates and moves past the next value.
    fn skip(&mut self, depth: usize) -> Result<(), JsonError> {
        self.walk(depth, (), &mut Plain)
    }

    /// Validates and moves past the next value, showing `walker` the members and items of the
    /// containers it asks to walk; over the tokens when there are.
    fn walk<W: Walker<'a>>(&mut self, depth: usize, mode: W::Mode, walker: &mut W) -> Result<(), JsonError> {
        let Some(t) = self.take_tokens() else {
            return self.walk_in(&Bytes, depth, mode, walker);
        };
        let walked = self.walk_in(&t, depth, mode, walker);
        self.tokens = Some(t);
        walked
    }

    /// The one grammar of values, read by `steps`: byte by byte, or from token to token.
    fn value_in<S: Steps>(&mut self, steps: &S, depth: usize) -> Result<Value<'a>, JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.err(format!("nesting is deeper than {MAX_DEPTH} levels")));
        }
        let start = self.i;
        let kind = match self.s.get(self.i) {
            Some(b'{') => self.object_in(steps, depth)?,
            Some(b'[') => self.array_in(steps, depth)?,
            Some(b'"') => Kind::String(steps.string(self)?),
            _ => self.scalar(steps)?,
        };
        Ok(Value { kind, start, end: self.i })
    }

    /// A value that is neither a container nor a string: `true`, `false`, `null` or a number.
    /// Inlined so that a walk, which drops it, never builds it.
    #[inline]
    fn scalar<S: Steps>(&mut self, steps: &S) -> Result<Kind<'a>, JsonError> {
        let kind = match self.s.get(self.i) {
            Some(b't') => self.literal("true", Kind::Bool(true))?,
            Some(b'f') => self.literal("false", Kind::Bool(false))?,
            Some(b'n') => self.literal("null", Kind::Null)?,
            Some(b'-' | b'0'..=b'9') => self.number()?,
            _ => return Err(self.unexpected("a JSON value")),
        };
        steps.read_bytes(self);
        Ok(kind)
    }

    /// Validates and moves past the next value, showing `walker` the members and items of the
    /// containers it asks to walk. The one loop over containers that builds nothing: a skip is
    /// a walk that looks at nothing ([`Plain`]).
    fn walk_in<S: Steps, W: Walker<'a>>(&mut self, steps: &S, depth: usize, mode: W::Mode, walker: &mut W) -> Result<(), JsonError> {
        if depth > MAX_DEPTH {
            return Err(self.err(format!("nesting is deeper than {MAX_DEPTH} levels")));
        }
        let object = match self.s.get(self.i) {
            Some(b'{') => true,
            Some(b'[') => false,
            Some(b'"') => return steps.skip_string(self).map(drop),
            _ => return self.scalar(steps).map(drop),
        };
        let close = if object { b'}' } else { b']' };
        steps.bump(self);
        steps.ws(self);
        if self.s.get(self.i) == Some(&close) {
            steps.bump(self);
            return Ok(());
        }
        loop {
            steps.ws(self);
            let visit = if object {
                let start = self.i;
                let escaped = match self.s.get(self.i) {
                    Some(b'"') => steps.skip_string(self)?,
                    Some(b'}') => return Err(self.err("trailing comma before `}`")),
                    _ => return Err(self.unexpected("a key in double quotes")),
                };
                let key = Key {
                    text: self.text,
                    start,
                    end: self.i,
                    escaped,
                };
                steps.ws(self);
                if self.s.get(self.i) != Some(&b':') {
                    return Err(self.unexpected("`:` after the key"));
                }
                steps.bump(self);
                steps.ws(self);
                walker.member(mode, &key)
            } else {
                if self.s.get(self.i) == Some(&b']') {
                    return Err(self.err("trailing comma before `]`"));
                }
                walker.item(mode)
            };
            match visit {
                // Most values are strings: no call for them (below the depth cap, where the
                // call would refuse them).
                Visit::Walk(_) | Visit::Skip if depth < MAX_DEPTH && self.s.get(self.i) == Some(&b'"') => {
                    steps.skip_string(self)?;
                }
                Visit::Walk(inner) => self.walk_in(steps, depth + 1, inner, walker)?,
                Visit::Skip => self.walk_in(steps, depth + 1, (), &mut Plain)?,
                Visit::Take => {
                    let value = self.value_in(steps, depth + 1)?;
                    walker.take(value);
                }
            }
            steps.ws(self);
            match self.s.get(self.i) {
                Some(b',') => steps.bump(self),
                Some(&b) if b == close => {
                    steps.bump(self);
                    return Ok(());
                }
                _ => return Err(self.unexpected(if object { "`,` or `}`" } else { "`,` or `]`" })),
            }
        }
    }

    fn array_in<S: Steps>(&mut self, steps: &S, depth: usize) -> Result<Kind<'a>, JsonError> {
        steps.bump(self);
        let mut items = Vec::new();
        steps.ws(self);
        if self.s.get(self.i) == Some(&b']') {
            steps.bump(self);
            return Ok(Kind::Array(items));
        }
        loop {
            steps.ws(self);
            if self.s.get(self.i) == Some(&b']') {
                return Err(self.err("trailing comma before `]`"));
            }
            items.push(self.value_in(steps, depth + 1)?);
            steps.ws(self);
            match self.s.get(self.i) {
                Some(b',') => steps.bump(self),
                Some(b']') => {
                    steps.bump(self);
                    return Ok(Kind::Array(items));
                }
                _ => return Err(self.unexpected("`,` or `]`")),
            }
        }
    }

    fn object_in<S: Steps>(&mut self, steps: &S, depth: usize) -> Result<Kind<'a>, JsonError> {
        steps.bump(self);
        let mut members: Vec<Member<'a>> = Vec::new();
        let mut seen = None;
        steps.ws(self);
        if self.s.get(self.i) == Some(&b'}') {
            steps.bump(self);
            return Ok(Kind::Object(members));
        }
        loop {
            steps.ws(self);
            match self.s.get(self.i) {
                Some(b'"') => {}
                Some(b'}') => return Err(self.err("trailing comma before `}`")),
                _ => return Err(self.unexpected("a key in double quotes")),
            }
            let key_start = self.i;
            let key = steps.string(self)?;
            let key_end = self.i;
            steps.ws(self);
            if self.s.get(self.i) != Some(&b':') {
                return Err(self.unexpected("`:` after the key"));
            }
            steps.bump(self);
            steps.ws(self);
            let value = self.value_in(steps, depth + 1)?;
            self.note_duplicate(&members, &mut seen, &key, key_start);
            members.push(Member {
                key,
                key_start,
                key_end,
                value,
            });
            steps.ws(self);
            match self.s.get(self.i) {
                Some(b',') => steps.bump(self),
                Some(b'}') => {
                    steps.bump(self);
                    return Ok(Kind::Object(members));
                }
                _ => return Err(self.unexpected("`,` or `}`")),
            }
        }
    }

    /// The tokens, with `next` moved to the one at `i`, for a walk or a build over them (what
    /// that reads byte by byte meanwhile, it reads without them).
    fn take_tokens(&mut self) -> Option<Tokens> {
        let t = self.tokens.take()?;
        // Parsing only moves forward: the tokens already passed are not searched again.
        let i = self.i;
        self.next += t.at[self.next.min(t.at.len())..].partition_point(|&at| (at as usize) < i);
        Some(t)
    }

    /// Where token `k` is, or the end of the text past the last one.
    #[inline]
    fn token(&self, t: &Tokens, k: usize) -> usize {
        t.at.get(k).map_or(self.s.len(), |&at| at as usize)
    }

    /// Whether an escape starts between `i` and `end`.
    fn escaped_before(&mut self, t: &Tokens, end: usize) -> bool {
        while t.escapes.get(self.next_escape).is_some_and(|&e| (e as usize) < self.i) {
            self.next_escape += 1;
        }
        t.escapes.get(self.next_escape).is_some_and(|&e| (e as usize) < end)
    }

    /// Offset of the next `"` or `\\` of the string opened at `open`; control characters on
    /// the way are errors.
    fn string_end(&self, open: usize) -> Result<usize, JsonError> {
        let i = swar::string_stop(self.s, self.i);
        match self.s.get(i) {
            None => Err(JsonError {
                message: "unterminated string".into(),
                offset: open,
            }),
            Some(&b) if b < 0x20 => Err(JsonError {
                message: "control character inside a string (escape it)".into(),
                offset: i,
            }),
            Some(_) => Ok(i),
        }
    }

    /// Validates and moves past a string; whether it holds an escape.
    fn skip_string(&mut self) -> Result<bool, JsonError> {
        let open = self.i;
        self.i += 1;
        let mut escaped = false;
        loop {
            self.i = self.string_end(open)?;
            if self.s[self.i] == b'"' {
                self.i += 1;
                return Ok(escaped);
            }
            escaped = true;
            match self.s.get(self.i + 1) {
                Some(b'"' | b'\\' | b'/' | b'b' | b'f' | b'n' | b'r' | b't') => self.i += 2,
                Some(b'u') => {
                    self.i += 2;
                    self.hex4()?;
                }
                _ => {
                    self.i += 1;
                    return Err(self.err("invalid escape in a string"));
                }
            }
        }
    }

    /// Lists `key` when `members` already has it. Objects in flows are small enough that a
    /// linear scan beats hashing; past a few dozen members the keys go in a set, so that a
    /// huge object costs time in proportion to its size, not to its square.
    fn note_duplicate(&mut self, members: &[Member<'a>], seen: &mut Option<HashSet<String>>, key: &str, at: usize) {
        const SCAN: usize = 32;
        let again = match seen {
            Some(set) => !set.insert(key.to_owned()),
            None if members.len() < SCAN => members.iter().any(|m| m.key == key),
            None => {
                let set = seen.insert(members.iter().map(|m| m.key.to_string()).collect());
                !set.insert(key.to_owned())
            }
        };
        if again {
            self.dups.push((key.to_owned(), at));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_offsets_of_keys_and_values() {
        let text = r#"{"a": {"b": "x\"y"}, "n": -1.5e3, "l": [true, null]}"#;
        let doc = parse(text).unwrap();
        let a = doc.root.member("a").unwrap();
        assert_eq!(a.key_start, 1);
        let b = a.value.get("b").unwrap();
        assert_eq!(b.as_str(), Some("x\"y"));
        assert_eq!(&text[b.start..b.end], r#""x\"y""#);
        assert_eq!(doc.root.get("n").unwrap().kind, Kind::Number("-1.5e3"));
        assert_eq!(doc.root.get("l").unwrap().items().len(), 2);
    }

    #[test]
    fn a_key_is_its_name_and_nothing_near_it() {
        let text = r#"{"host": 1, "hosts": 2, "hosT": 3, "ho\u0073t": 4, "": 5, "hôst": 6}"#;
        let mut shown = Vec::new();
        struct Names<'k>(&'k mut Vec<[bool; 4]>);
        impl Walker<'_> for Names<'_> {
            type Mode = ();
            fn member(&mut self, _: (), key: &Key<'_>) -> Visit<()> {
                self.0.push([key.is("host"), key.is(""), key.is("hôst"), key.is("hos")]);
                Visit::Skip
            }
            fn item(&mut self, _: ()) -> Visit<()> {
                Visit::Skip
            }
            fn take(&mut self, _: Value<'_>) {}
        }
        let mut stream = Stream::new(text);
        stream.walk((), &mut Names(&mut shown)).unwrap();
        stream.finish().unwrap();
        let f = false;
        assert_eq!(
            shown,
            [
                [true, f, f, f],
                [f, f, f, f],
                [f, f, f, f],
                [true, f, f, f],
                [f, true, f, f],
                [f, f, true, f]
            ]
        );
    }

    #[test]
    fn unicode_escapes_and_surrogates() {
        let doc = parse(r#"["\u00e9\ud83d\ude00"]"#).unwrap();
        assert_eq!(doc.root.items()[0].as_str(), Some("é😀"));
    }

    #[test]
    fn errors_carry_positions() {
        let e = parse("{\"a\": 1,}").unwrap_err();
        assert_eq!((e.message.as_str(), e.offset), ("trailing comma before `}`", 8));
        assert_eq!(parse("[1 2]").unwrap_err().message, "expected `,` or `]`, found `2`");
        assert_eq!(parse("\"abc").unwrap_err().message, "unterminated string");
        assert_eq!(parse("  ").unwrap_err().message, "expected a JSON value, found the end of the file");
        assert_eq!(parse("{} x").unwrap_err().offset, 3);
        assert!(parse(&"[".repeat(10_000)).unwrap_err().message.contains("nesting"));
        // Just past the cap a string is refused, skipped or built; at the cap it is taken.
        for (levels, refused) in [(513, true), (512, false)] {
            let deep = format!("{}\"s\"{}", "[".repeat(levels), "]".repeat(levels));
            let built = parse(&deep).map(drop);
            assert_eq!(built.is_err(), refused);
            assert_eq!(Stream::new(&deep).skip(), built);
        }
    }

    #[test]
    fn streaming_visits_members_and_skips_the_rest() {
        let text = r#" {"a": [1, {"x": "y\"z"}], "b": {"c": true}, "d": "\u00e9"} "#;
        let mut s = Stream::new(text);
        let mut seen = Vec::new();
        let is_object = s
            .object(|s, key, at| -> Result<(), JsonError> {
                seen.push((key.to_owned(), at));
                if key == "b" {
                    s.value().map(|v| assert!(v.get("c").is_some()))
                } else {
                    s.skip()
                }
            })
            .unwrap();
        assert!(is_object);
        s.finish().unwrap();
        assert_eq!(seen, [("a".to_owned(), 2), ("b".to_owned(), 27), ("d".to_owned(), 45)]);
    }

    #[test]
    fn streaming_errors_match_the_tree_parser() {
        for bad in [
            "{\"a\": [1,]}",
            "{\"a\": {\"b\": 1,}}",
            "{\"a\": \"x",
            "{\"a\": [1 2]}",
            "{\"a\": \"\\q\"}",
            "{\"a\" 1}",
            "{} x",
        ] {
            let tree = parse(bad).unwrap_err();
            let mut s = Stream::new(bad);
            let streamed = s.object(|s, _, _| s.skip()).and_then(|_| s.finish()).unwrap_err();
            assert_eq!(tree, streamed, "{bad}");
            for mode in [Visit::Walk(()), Visit::Skip, Visit::Take] {
                let mut s = Stream::new(bad);
                let walked = s.walk((), &mut Everything(mode, Vec::new())).and_then(|_| s.finish()).unwrap_err();
                assert_eq!(tree, walked, "{bad}");
            }
        }
    }

    /// Walks, skips or takes by the key's length and the item's place, and keeps what it is
    /// shown: a walk that goes every way through one document.
    #[derive(Default)]
    struct Mixed(Vec<String>, usize);

    impl<'a> Walker<'a> for Mixed {
        type Mode = u8;
        fn member(&mut self, mode: u8, key: &Key<'a>) -> Visit<u8> {
            let key = key.get();
            self.0.push(format!("{mode} {key}"));
            match key.len() % 3 {
                _ if key == "host" => Visit::Take,
                0 => Visit::Skip,
                _ => Visit::Walk(mode.wrapping_add(1)),
            }
        }
        fn item(&mut self, mode: u8) -> Visit<u8> {
            self.1 += 1;
            self.0.push(format!("{mode} item"));
            match self.1 % 4 {
                0 => Visit::Take,
                1 => Visit::Skip,
                _ => Visit::Walk(mode),
            }
        }
        fn take(&mut self, value: Value<'a>) {
            self.0.push(format!("took {value:?}"));
        }
    }

    /// What walking `text` shows each walker and how it ends: with the document's tokens (when
    /// it has them) and byte by byte.
    fn walks(text: &str) -> [Vec<String>; 2] {
        let found = tokens::tokens(text.as_bytes());
        [found.is_some(), false].map(|with_tokens| {
            let stream = || Stream {
                p: Parser {
                    tokens: if with_tokens { tokens::tokens(text.as_bytes()) } else { None },
                    ..Parser::bytewise(text, 0)
                },
                depth: 0,
            };
            let mut out = Vec::new();
            for mode in [Visit::Walk(()), Visit::Skip, Visit::Take] {
                let mut s = stream();
                let mut all = Everything(mode, Vec::new());
                let end = s.walk((), &mut all).and_then(|_| s.finish());
                out.extend(all.1);
                out.push(format!("{end:?}"));
            }
            let mut s = stream();
            let mut mixed = Mixed::default();
            let end = s.walk(0, &mut mixed).and_then(|_| s.finish());
            out.extend(mixed.0);
            out.push(format!("{end:?}"));
            let mut s = stream();
            let built = s.value().and_then(|v| s.finish().map(|_| v));
            out.push(format!("{built:?}"));
            out
        })
    }

    #[test]
    fn a_walk_over_the_tokens_is_the_walk_over_the_bytes() {
        let mut texts: Vec<String> = vec![
            r#"{"a": [1, {"x": "y\"z"}], "b": {"c": true, "host": {"k": [null, -1.5e3]}}, "d": "\u00e9", "e": [], "f": {}}"#.into(),
            r#"[{"host": 1}, "s", [[[]]], {"abc": {"de": "f"}}, 0, false]"#.into(),
            r#"{"k\u0065y": {"\\": "\/"}, "é": "\ud83d\ude00", "ho\u0073t": ["x"]}"#.into(),
            " \n\t\r{ \"a\" : [ 1 , 2 ] , \"bb\" : { } } \n".into(),
        ];
        let handmade = texts.len();
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        for dir in [root.join("examples"), root.join("../shared/corpus")] {
            for entry in walkdir::WalkDir::new(dir).into_iter().flatten() {
                if entry.file_name().to_string_lossy().ends_with(".json")
                    && let Ok(text) = std::fs::read_to_string(entry.path())
                {
                    texts.push(text.trim_start_matches('\u{feff}').to_owned());
                }
            }
        }
        assert!(texts.len() > handmade + 10, "the examples hold flows");
        // Every character of the handmade documents taken out, doubled, or replaced by one that
        // matters to the grammar: the errors must be the same ones, at the same places.
        let mut broken = Vec::new();
        for t in &texts[..handmade] {
            for (i, c) in t.char_indices() {
                let (before, after) = (&t[..i], &t[i + c.len_utf8()..]);
                broken.push(format!("{before}{after}"));
                broken.push(format!("{before}{c}{c}{after}"));
                for b in ["\"", "\\", "{", "}", "[", "]", ",", ":", " ", "x", "1", "\u{1}", "é"] {
                    broken.push(format!("{before}{b}{after}"));
                }
            }
        }
        // Real flows broken at random places (a fixed seed: the same ones each run), where
        // blocks of the index meet long strings, escapes and deep nesting.
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = |below: usize| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            (seed % below.max(1) as u64) as usize
        };
        for t in &texts[handmade..] {
            for _ in 0..20 {
                let at = t.floor_char_boundary(next(t.len()));
                let end = t.ceil_char_boundary(at + 1).min(t.len());
                let b = ["\"", "\\", "{", "}", "[", "]", ",", ":", "", "x", "\u{1}", "\\u00"][next(12)];
                broken.push(format!("{}{b}{}", &t[..at], &t[if next(2) == 0 { at } else { end }..]));
            }
        }
        // At the depth cap and past it.
        broken.push(format!("{}{}", "[".repeat(MAX_DEPTH + 1), "]".repeat(MAX_DEPTH + 1)));
        broken.push(format!("{}\"s\"{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH)));
        broken.push(format!("{}1{}", "[".repeat(MAX_DEPTH), "]".repeat(MAX_DEPTH)));
        let mut indexed = 0;
        for t in texts.iter().chain(&broken) {
            let [with_tokens, bytewise] = walks(t);
            assert_eq!(with_tokens, bytewise, "{t}");
            indexed += usize::from(tokens::tokens(t.as_bytes()).is_some());
        }
        // Most documents, broken ones included, were walked over their tokens.
        if cfg!(target_arch = "x86_64") {
            assert!(indexed > (texts.len() + broken.len()) / 2, "{indexed}");
        }
    }

    /// Answers every member and item the same way, and keeps the keys shown and values taken.
    struct Everything(Visit<()>, Vec<String>);

    impl<'a> Walker<'a> for Everything {
        type Mode = ();
        fn member(&mut self, _: (), key: &Key<'a>) -> Visit<()> {
            self.1.push(key.get().into_owned());
            self.item(())
        }
        fn item(&mut self, _: ()) -> Visit<()> {
            match self.0 {
                Visit::Walk(()) => Visit::Walk(()),
                Visit::Skip => Visit::Skip,
                Visit::Take => Visit::Take,
            }
        }
        fn take(&mut self, value: Value<'a>) {
            self.1.push(format!("{}..{}", value.start, value.end));
        }
    }

    #[test]
    fn a_walk_shows_the_members_it_goes_through_and_hands_over_what_it_takes() {
        let text = r#"{"a": {"x\u0079": [1, {"z": 2}]}, "b": {"c": true}, "d": "e"}"#;
        // Keys in document order, escapes decoded, down to the deepest member.
        let mut all = Everything(Visit::Walk(()), Vec::new());
        Stream::new(text).walk((), &mut all).unwrap();
        assert_eq!(all.1, ["a", "xy", "z", "b", "c", "d"]);
        // Skipped values are not looked into; taken ones come whole, with their offsets.
        let mut top = Everything(Visit::Take, Vec::new());
        Stream::new(text).walk((), &mut top).unwrap();
        assert_eq!(top.1, ["a", "6..32", "b", "39..50", "d", "57..60"]);
        let mut none = Everything(Visit::Skip, Vec::new());
        Stream::new(text).walk((), &mut none).unwrap();
        assert_eq!(none.1, ["a", "b", "d"]);
        assert!(
            Stream::new(&format!("{}1{}", "[".repeat(600), "]".repeat(600)))
                .walk((), &mut all)
                .unwrap_err()
                .message
                .contains("nesting")
        );
    }

    #[test]
    fn strings_and_white_space_at_every_length_and_alignment() {
        // The scans go eight bytes at a time: every stop must be found at every position.
        for pad in 0..18 {
            for len in 0..18 {
                let a = "a".repeat(len);
                let lead = format!("{}{}", "\n".repeat(pad % 3), " ".repeat(pad));
                let text = format!("{lead}[{lead}\"{a}\"{lead},{lead}\"{}\"{lead}]{lead}", "é".repeat(len));
                let doc = parse(&text).unwrap();
                assert_eq!(doc.root.items()[0].as_str(), Some(a.as_str()));
                assert_eq!(doc.root.items()[1].as_str(), Some("é".repeat(len).as_str()));
                let bad = format!("\"{a}\u{1}\"");
                assert_eq!(parse(&bad).unwrap_err().offset, 1 + len, "{bad:?}");
                assert_eq!(
                    parse(&format!("\"{a}\\n\"")).unwrap().root.as_str(),
                    Some(format!("{a}\n").as_str())
                );
                assert_eq!(parse(&format!("\"{a}")).unwrap_err().message, "unterminated string");
            }
        }
    }

    #[test]
    fn duplicate_keys_are_listed() {
        let doc = parse(r#"{"a":1,"a":2}"#).unwrap();
        assert_eq!(doc.duplicate_keys, vec![("a".to_owned(), 7)]);
        assert_eq!(doc.root.get("a").unwrap().kind, Kind::Number("1"));
        // Past the members that are scanned, the keys are looked up in a set: the same ones
        // are found, an escaped spelling included.
        let keys: Vec<String> = (0..40)
            .map(|i| format!("k{i}"))
            .chain(["k3".into(), "k\\u0033\\u0039".into(), "k40".into()])
            .collect();
        let text = format!("{{{}}}", keys.iter().map(|k| format!("\"{k}\": 0")).collect::<Vec<_>>().join(", "));
        let found: Vec<String> = parse(&text).unwrap().duplicate_keys.into_iter().map(|(k, _)| k).collect();
        assert_eq!(found, ["k3", "k39"]);
    }
}
