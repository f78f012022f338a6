//! Editing a settings file in place: add the missing entries, drop stale ones on request, sort
//! the entries by name, and leave every other byte as it was.
//!
//! Existing entries are moved as their original text, so their values and layout survive. New
//! entries copy the layout of an entry already in the file (relative to its column), or else the
//! file's style: PowerShell `ConvertTo-Json` (content at the bracket's column + 4, `":  "`),
//! indented JSON (the file's indentation unit), or one line.

use crate::parse::ParseError;
use crate::parse::json::{self, Value};
use crate::parse::settings::{REFERENCES, VARIABLES};

/// How a file is laid out.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Style {
    /// `"\n"` or `"\r\n"`.
    pub line_ending: &'static str,
    pub indent_char: char,
    /// Indentation step of indented JSON (ignored by the PowerShell layout).
    pub unit: usize,
    /// `ConvertTo-Json` of Windows PowerShell: `":  "` and content aligned to the bracket.
    pub powershell: bool,
    /// Everything on one line.
    pub one_line: bool,
    pub final_newline: bool,
}

impl Default for Style {
    /// What `connref settings` writes when nothing says otherwise: two-space JSON, LF.
    fn default() -> Self {
        Style {
            line_ending: "\n",
            indent_char: ' ',
            unit: 2,
            powershell: false,
            one_line: false,
            final_newline: true,
        }
    }
}

impl Style {
    pub fn detect(text: &str) -> Style {
        let line_ending = if text.contains("\r\n") { "\r\n" } else { "\n" };
        let mut indent_char = ' ';
        let mut unit = usize::MAX;
        for line in text.lines() {
            let ws: String = line.chars().take_while(|c| *c == ' ' || *c == '\t').collect();
            if ws.is_empty() || ws.len() == line.trim_end_matches('\r').len() {
                continue;
            }
            if ws.starts_with('\t') {
                indent_char = '\t';
                unit = 1;
                break;
            }
            unit = unit.min(ws.len());
        }
        Style {
            line_ending,
            indent_char,
            unit: if unit == usize::MAX { 2 } else { unit },
            powershell: text.contains("\":  "),
            one_line: !text.trim_end().contains('\n'),
            final_newline: text.ends_with('\n'),
        }
    }

    fn indent(&self, n: usize) -> String {
        std::iter::repeat_n(self.indent_char, n).collect()
    }

    fn kv(&self) -> &'static str {
        if self.powershell {
            ":  "
        } else if self.one_line {
            ":"
        } else {
            ": "
        }
    }

    /// A settings file with both arrays empty.
    pub fn skeleton(&self) -> String {
        let le = self.line_ending;
        let mut s = if self.one_line {
            format!("{{\"{VARIABLES}\":[],\"{REFERENCES}\":[]}}")
        } else if self.powershell {
            let col = 4 + VARIABLES.len() + 2 + 3;
            let col2 = 4 + REFERENCES.len() + 2 + 3;
            format!(
                "{{{le}    \"{VARIABLES}\":  [{le}{le}{}],{le}    \"{REFERENCES}\":  [{le}{le}{}]{le}}}",
                " ".repeat(col),
                " ".repeat(col2)
            )
        } else {
            let i = self.indent(self.unit);
            format!("{{{le}{i}\"{VARIABLES}\": [],{le}{i}\"{REFERENCES}\": []{le}}}")
        };
        if self.final_newline {
            s.push_str(le);
        }
        s
    }
}

/// What the new entries get as values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Placeholder {
    /// `""`
    #[default]
    Empty,
    /// `#{connectionreference.<name>}#` and `#{environmentvariable.<name>}#`
    Token,
}

/// A reference the file must have an entry for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WantReference {
    pub logical_name: String,
    pub connector_id: String,
}

/// Everything the solution defines, that the file must list.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Want {
    pub references: Vec<WantReference>,
    pub variables: Vec<String>,
}

/// The new text and what changed.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    pub text: String,
    pub added: Vec<String>,
    /// Entries that the solution does not define (removed when pruning).
    pub stale: Vec<String>,
    pub pruned: bool,
}

/// One entry of a rebuilt array.
struct Entry<'t> {
    name: String,
    /// The original text of an existing entry, or `None` for a new one.
    old: Option<&'t str>,
    /// Members of a new entry.
    members: Vec<(&'static str, String)>,
}

fn sort_key(name: &str) -> (String, String) {
    (name.to_ascii_lowercase(), name.to_owned())
}

fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// Column (in characters) of `offset` on its line, and whether only white space precedes it.
fn column(text: &str, offset: usize) -> (usize, bool) {
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    let before = &text[start..offset];
    (before.chars().count(), before.chars().all(|c| c == ' ' || c == '\t'))
}

/// Indentation (in characters) of the line that holds `offset`.
fn line_indent(text: &str, offset: usize) -> usize {
    let start = text[..offset].rfind('\n').map_or(0, |i| i + 1);
    text[start..].chars().take_while(|c| *c == ' ' || *c == '\t').count()
}

/// White space whose last line is an indentation, as (text before the indentation, width).
fn split_ws(ws: &str) -> (&str, Option<usize>) {
    match ws.rfind('\n') {
        Some(i) => (&ws[..=i], Some(ws[i + 1..].chars().count())),
        None => (ws, None),
    }
}

/// The layout of one entry object, with indentation relative to the entry's column.
#[derive(Debug, Clone)]
struct ObjectLayout {
    open: (String, Option<isize>),
    sep: (String, Option<isize>),
    kv: String,
    close: (String, Option<isize>),
}

impl ObjectLayout {
    fn of(text: &str, obj: &Value<'_>) -> Option<ObjectLayout> {
        let m = obj.members();
        let (first, last) = (m.first()?, m.last()?);
        let (col, clean) = column(text, obj.start);
        let base = if clean { col } else { line_indent(text, obj.start) } as isize;
        let rel = |ws: &str| {
            let (head, width) = split_ws(ws);
            (head.to_owned(), width.map(|w| w as isize - base))
        };
        let sep = match m.get(1) {
            Some(second) => rel(&text[first.value.end..second.key_start]),
            None => {
                let (head, w) = rel(&text[obj.start + 1..first.key_start]);
                (format!(",{head}"), w)
            }
        };
        Some(ObjectLayout {
            open: rel(&text[obj.start + 1..first.key_start]),
            sep,
            kv: text[first.key_end..first.value.start].to_owned(),
            close: rel(&text[last.value.end..obj.end - 1]),
        })
    }

    fn default_for(style: &Style) -> ObjectLayout {
        let le = style.line_ending.to_owned();
        if style.one_line {
            return ObjectLayout {
                open: (String::new(), None),
                sep: (",".into(), None),
                kv: ":".into(),
                close: (String::new(), None),
            };
        }
        let step = if style.powershell { 4 } else { style.unit } as isize;
        ObjectLayout {
            open: (le.clone(), Some(step)),
            sep: (format!(",{le}"), Some(step)),
            kv: style.kv().into(),
            close: (le, Some(0)),
        }
    }

    fn render(&self, style: &Style, col: usize, members: &[(&'static str, String)]) -> String {
        let ws = |(head, rel): &(String, Option<isize>)| match rel {
            Some(r) => format!("{head}{}", style.indent((col as isize + r).max(0) as usize)),
            None => head.clone(),
        };
        let mut s = String::from("{");
        s.push_str(&ws(&self.open));
        for (i, (k, v)) in members.iter().enumerate() {
            if i > 0 {
                s.push_str(&ws(&self.sep));
            }
            s.push_str(&quoted(k));
            s.push_str(&self.kv);
            s.push_str(&quoted(v));
        }
        s.push_str(&ws(&self.close));
        s.push('}');
        s
    }
}

/// Where the entries of an array go.
struct Frame {
    open: String,
    sep: String,
    close: String,
    /// Column of each entry's opening brace.
    col: usize,
    /// The text of the array when it ends up empty.
    empty: String,
}

impl Frame {
    /// The frame of an array with no entries whose `[` is at `bracket` (a column).
    fn fresh(style: &Style, bracket: usize, line_indent: usize) -> Frame {
        let le = style.line_ending;
        if style.one_line {
            return Frame {
                open: String::new(),
                sep: ",".into(),
                close: String::new(),
                col: 0,
                empty: "[]".into(),
            };
        }
        let (col, close, empty) = if style.powershell {
            (bracket + 4, bracket, format!("[{le}{le}{}]", " ".repeat(bracket)))
        } else {
            (line_indent + style.unit, line_indent, "[]".to_owned())
        };
        Frame {
            open: format!("{le}{}", style.indent(col)),
            sep: format!(",{le}{}", style.indent(col)),
            close: format!("{le}{}", style.indent(close)),
            col,
            empty,
        }
    }

    fn of(text: &str, style: &Style, arr: &Value<'_>) -> Frame {
        let items = arr.items();
        let (bracket, _) = column(text, arr.start);
        let mut frame = Frame::fresh(style, bracket, line_indent(text, arr.start));
        if let (Some(first), Some(last)) = (items.first(), items.last()) {
            frame.open = text[arr.start + 1..first.start].to_owned();
            frame.close = text[last.end..arr.end - 1].to_owned();
            frame.sep = match items.get(1) {
                Some(second) => text[first.end..second.start].to_owned(),
                None => format!(",{}", frame.open),
            };
            frame.col = column(text, first.start).0;
        }
        frame
    }

    fn render(&self, entries: &[String]) -> String {
        if entries.is_empty() {
            return self.empty.clone();
        }
        format!("[{}{}{}]", self.open, entries.join(&self.sep), self.close)
    }
}

/// One array to bring in line: its key, the key of an entry's name, and what must be there.
struct Spec {
    key: &'static str,
    name_key: &'static str,
    want: Vec<(String, Vec<(&'static str, String)>)>,
}

fn specs(want: &Want, placeholder: Placeholder, with_owner: bool) -> [Spec; 2] {
    let token = |kind: &str, name: &str| match placeholder {
        Placeholder::Empty => String::new(),
        Placeholder::Token => format!("#{{{kind}.{name}}}#"),
    };
    let vars = want
        .variables
        .iter()
        .map(|n| {
            (
                n.clone(),
                vec![("SchemaName", n.clone()), ("Value", token("environmentvariable", n))],
            )
        })
        .collect();
    let refs = want
        .references
        .iter()
        .map(|r| {
            let mut m = vec![
                ("LogicalName", r.logical_name.clone()),
                ("ConnectionId", token("connectionreference", &r.logical_name)),
                ("ConnectorId", r.connector_id.clone()),
            ];
            if with_owner {
                m.push(("ConnectionOwner", token("connectionreference.user", &r.logical_name)));
            }
            (r.logical_name.clone(), m)
        })
        .collect();
    [
        Spec {
            key: VARIABLES,
            name_key: "SchemaName",
            want: vars,
        },
        Spec {
            key: REFERENCES,
            name_key: "LogicalName",
            want: refs,
        },
    ]
}

/// Brings the arrays of `text` in line with `want`. The text must be a valid settings file.
pub fn update(text: &str, want: &Want, prune: bool, placeholder: Placeholder) -> Result<Outcome, ParseError> {
    let doc = json::parse(text)?;
    let root = &doc.root;
    let style = Style::detect(text);
    if !root.is_object() {
        return Err(ParseError::new("the root is not an object", root.start));
    }
    if root.members().is_empty() {
        // `{}`: start from the skeleton in the file's style.
        let mut skeleton_style = style.clone();
        skeleton_style.final_newline = false;
        let skeleton = skeleton_style.skeleton();
        let rebuilt = format!("{}{skeleton}{}", &text[..root.start], &text[root.end..]);
        return update(&rebuilt, want, prune, placeholder);
    }
    let with_owner = root
        .get(REFERENCES)
        .is_some_and(|r| r.items().iter().any(|i| i.get("ConnectionOwner").is_some()));
    // The layout of an entry already in the file, for new entries.
    let any_entry = [VARIABLES, REFERENCES]
        .iter()
        .filter_map(|k| root.get(k))
        .flat_map(|a| a.items().iter())
        .find_map(|i| ObjectLayout::of(text, i));
    let mut outcome = Outcome {
        pruned: prune,
        ..Outcome::default()
    };
    let mut edits: Vec<(std::ops::Range<usize>, String)> = Vec::new();
    for spec in specs(want, placeholder, with_owner) {
        match root.get(spec.key) {
            Some(arr) => {
                let layout = arr
                    .items()
                    .iter()
                    .find_map(|i| ObjectLayout::of(text, i))
                    .or_else(|| any_entry.clone())
                    .unwrap_or_else(|| ObjectLayout::default_for(&style));
                let frame = Frame::of(text, &style, arr);
                if let Some(new) = rebuild(text, arr, &spec, &layout, &frame, &style, prune, &mut outcome) {
                    edits.push((arr.start..arr.end, new));
                }
            }
            None if spec.want.is_empty() => {}
            None => {
                // A new member after the last one, laid out like the members before it.
                let m = root.members();
                let last = &m[m.len() - 1];
                let sep = match m.len() {
                    1 => format!(",{}", &text[root.start + 1..m[0].key_start]),
                    n => text[m[n - 2].value.end..m[n - 1].key_start].to_owned(),
                };
                let kv = &text[last.key_end..last.value.start];
                let (_, indent) = split_ws(&sep);
                let key_col = indent.unwrap_or_else(|| column(text, last.key_start).0);
                let bracket = key_col + spec.key.len() + 2 + kv.chars().count();
                let frame = Frame::fresh(&style, bracket, key_col);
                let layout = any_entry.clone().unwrap_or_else(|| ObjectLayout::default_for(&style));
                let entries: Vec<String> = sorted_new(&spec)
                    .iter()
                    .map(|(n, m)| {
                        outcome.added.push(n.clone());
                        layout.render(&style, frame.col, m)
                    })
                    .collect();
                let member = format!("{sep}{}{kv}{}", quoted(spec.key), frame.render(&entries));
                edits.push((last.value.end..last.value.end, member));
            }
        }
    }
    edits.sort_by_key(|(r, _)| (r.start, r.end));
    let mut out = String::with_capacity(text.len() + 256);
    let mut at = 0;
    for (range, new) in edits {
        out.push_str(&text[at..range.start]);
        out.push_str(&new);
        at = range.end;
    }
    out.push_str(&text[at..]);
    outcome.text = out;
    Ok(outcome)
}

fn sorted_new(spec: &Spec) -> Vec<&(String, Vec<(&'static str, String)>)> {
    let mut v: Vec<_> = spec.want.iter().collect();
    v.sort_by_key(|(n, _)| sort_key(n));
    v
}

/// The new text of an array, or `None` when it stays as it is.
#[allow(clippy::too_many_arguments)]
fn rebuild<'t>(
    text: &'t str,
    arr: &Value<'t>,
    spec: &Spec,
    layout: &ObjectLayout,
    frame: &Frame,
    style: &Style,
    prune: bool,
    outcome: &mut Outcome,
) -> Option<String> {
    let wanted = |name: &str| spec.want.iter().any(|(n, _)| n.eq_ignore_ascii_case(name));
    let mut entries: Vec<Entry<'t>> = Vec::new();
    let mut changed = false;
    for item in arr.items() {
        let name = item.get(spec.name_key).and_then(Value::as_str).unwrap_or_default().to_owned();
        if !wanted(&name) {
            outcome.stale.push(name.clone());
            if prune {
                changed = true;
                continue;
            }
        }
        entries.push(Entry {
            name,
            old: Some(&text[item.start..item.end]),
            members: Vec::new(),
        });
    }
    for (name, members) in sorted_new(spec) {
        if !entries.iter().any(|e| e.name.eq_ignore_ascii_case(name)) {
            outcome.added.push(name.clone());
            changed = true;
            entries.push(Entry {
                name: name.clone(),
                old: None,
                members: members.clone(),
            });
        }
    }
    let before: Vec<String> = entries.iter().map(|e| e.name.clone()).collect();
    entries.sort_by_key(|e| sort_key(&e.name));
    if !changed && entries.iter().map(|e| &e.name).eq(before.iter()) {
        return None;
    }
    let rendered: Vec<String> = entries
        .iter()
        .map(|e| match e.old {
            Some(old) => old.to_owned(),
            None => layout.render(style, frame.col, &e.members),
        })
        .collect();
    Some(frame.render(&rendered))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn want() -> Want {
        Want {
            references: vec![
                WantReference {
                    logical_name: "b_ref".into(),
                    connector_id: "/providers/Microsoft.PowerApps/apis/shared_office365".into(),
                },
                WantReference {
                    logical_name: "a_ref".into(),
                    connector_id: "/providers/Microsoft.PowerApps/apis/shared_teams".into(),
                },
            ],
            variables: vec!["a_var".into()],
        }
    }

    const PS_EMPTY: &str = "{\n    \"EnvironmentVariables\":  [\n\n                             ],\n    \"ConnectionReferences\":  [\n\n                             ]\n}";

    #[test]
    fn fills_a_powershell_file_in_its_layout() {
        let out = update(PS_EMPTY, &want(), false, Placeholder::Token).unwrap();
        let expected = "{\n    \"EnvironmentVariables\":  [\n                                 {\n                                     \"SchemaName\":  \"a_var\",\n                                     \"Value\":  \"#{environmentvariable.a_var}#\"\n                                 }\n                             ],\n    \"ConnectionReferences\":  [\n                                 {\n                                     \"LogicalName\":  \"a_ref\",\n                                     \"ConnectionId\":  \"#{connectionreference.a_ref}#\",\n                                     \"ConnectorId\":  \"/providers/Microsoft.PowerApps/apis/shared_teams\"\n                                 },\n                                 {\n                                     \"LogicalName\":  \"b_ref\",\n                                     \"ConnectionId\":  \"#{connectionreference.b_ref}#\",\n                                     \"ConnectorId\":  \"/providers/Microsoft.PowerApps/apis/shared_office365\"\n                                 }\n                             ]\n}";
        assert_eq!(out.text, expected, "\n{}", out.text);
        assert_eq!(out.added, ["a_var", "a_ref", "b_ref"]);
        let again = update(&out.text, &want(), false, Placeholder::Token).unwrap();
        assert_eq!(again.text, out.text);
        assert!(again.added.is_empty());
    }

    #[test]
    fn keeps_values_sorts_and_prunes() {
        let text = "{\r\n  \"EnvironmentVariables\": [],\r\n  \"ConnectionReferences\": [\r\n    {\r\n      \"LogicalName\": \"z_old\",\r\n      \"ConnectionId\": \"1\"\r\n    },\r\n    {\r\n      \"LogicalName\": \"b_ref\",\r\n      \"ConnectionId\": \"abc\",\r\n      \"ConnectorId\": \"x\"\r\n    }\r\n  ]\r\n}\r\n";
        let out = update(text, &want(), false, Placeholder::Empty).unwrap();
        assert_eq!(out.stale, ["z_old"]);
        assert!(out.text.contains("\"ConnectionId\": \"abc\""), "{}", out.text);
        assert!(out.text.contains("z_old"));
        assert!(!out.text.replace("\r\n", "").contains('\n'), "line endings kept");
        let a = out.text.find("a_ref").unwrap();
        let b = out.text.find("b_ref").unwrap();
        let z = out.text.find("z_old").unwrap();
        assert!(a < b && b < z);
        assert!(
            out.text
                .contains("\r\n    {\r\n      \"LogicalName\": \"a_ref\",\r\n      \"ConnectionId\": \"\",\r\n"),
            "{}",
            out.text
        );
        assert!(
            out.text.contains(
                "\"EnvironmentVariables\": [\r\n    {\r\n      \"SchemaName\": \"a_var\",\r\n      \"Value\": \"\"\r\n    }\r\n  ]"
            ),
            "{}",
            out.text
        );
        let pruned = update(&out.text, &want(), true, Placeholder::Empty).unwrap();
        assert!(!pruned.text.contains("z_old"));
        assert_eq!(update(&pruned.text, &want(), true, Placeholder::Empty).unwrap().text, pruned.text);
    }

    #[test]
    fn one_line_and_missing_arrays() {
        let out = update(
            r#"{"ConnectionReferences":[{"LogicalName":"a_ref","ConnectionId":"x","ConnectorId":"y"}]}"#,
            &want(),
            false,
            Placeholder::Empty,
        )
        .unwrap();
        assert_eq!(
            out.text,
            r#"{"ConnectionReferences":[{"LogicalName":"a_ref","ConnectionId":"x","ConnectorId":"y"},{"LogicalName":"b_ref","ConnectionId":"","ConnectorId":"/providers/Microsoft.PowerApps/apis/shared_office365"}],"EnvironmentVariables":[{"SchemaName":"a_var","Value":""}]}"#
        );
        let empty = update("{}\n", &want(), false, Placeholder::Empty).unwrap();
        assert!(empty.text.starts_with("{\"EnvironmentVariables\":[{"), "{}", empty.text);
        let fresh = Style::default().skeleton();
        let out = update(&fresh, &want(), false, Placeholder::Empty).unwrap();
        assert!(
            out.text
                .starts_with("{\n  \"EnvironmentVariables\": [\n    {\n      \"SchemaName\": \"a_var\",\n"),
            "{}",
            out.text
        );
        assert!(out.text.ends_with("}\n  ]\n}\n"), "{}", out.text);
    }

    #[test]
    fn styles() {
        let s = Style::detect(PS_EMPTY);
        assert!(s.powershell && !s.one_line && !s.final_newline);
        let t = Style::detect("{\n\t\"a\": 1\n}\n");
        assert_eq!((t.indent_char, t.unit, t.final_newline), ('\t', 1, true));
        assert!(Style::detect("{\"a\":1}").one_line);
        assert_eq!(
            Style {
                powershell: true,
                final_newline: false,
                ..Style::default()
            }
            .skeleton(),
            PS_EMPTY
        );
    }
}
