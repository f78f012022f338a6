//! Cloud flows: `Workflows/<Name>-<GUID>.json` and the `.json.data.xml` beside it.

use std::borrow::Cow;

use super::json::{Key, Member, Stream, Value, Visit, Walker};
use super::solution::{is_guid, normalize_guid};
use super::{ParseError, xml};
use crate::finding::Loc;
use crate::model::{Binding, FlowEntry, FlowMeta, HostUse};
use crate::text::SourceFile;

/// What the flow's JSON says about connections.
#[derive(Debug, Clone, Default)]
pub struct FlowBody {
    pub entries: Vec<FlowEntry>,
    /// Uses of a connection key that `entries` does not declare.
    pub undeclared_hosts: Vec<HostUse>,
    pub child_flows: Vec<(String, Loc)>,
    pub env_vars: Vec<String>,
}

/// Splits `Name-625AC674-7D13-2184-4D44-FB6C6D48C11C.json` into the sanitized name and the
/// lower-case GUID. Names may contain `-`, so the GUID is taken from the end.
pub fn split_file_name(file_name: &str) -> Option<(&str, String)> {
    let stem = file_name.strip_suffix(".json")?;
    // A name ending in a multi-byte character must not be split inside it.
    if stem.len() < 36 || !stem.is_char_boundary(stem.len() - 36) {
        return None;
    }
    let (name, guid) = stem.split_at(stem.len() - 36);
    if !is_guid(guid) {
        return None;
    }
    Some((name.strip_suffix('-').unwrap_or(name), guid.to_ascii_lowercase()))
}

fn span(file: &SourceFile, m: &Member<'_>) -> Loc {
    file.loc(m.key_start, m.value.end - m.key_start)
}

fn expect_object<'v>(v: &'v Value<'_>, what: &str) -> Result<&'v Value<'v>, ParseError> {
    if v.is_object() {
        Ok(v)
    } else {
        Err(ParseError::new(format!("{what} is {}, expected an object", v.kind_name()), v.start))
    }
}

pub fn parse_body(file: &SourceFile) -> Result<FlowBody, ParseError> {
    let mut body = FlowBody::default();
    let mut stream = Stream::new(&file.text);
    let root_at = stream.offset();
    if stream.peek().is_none() {
        return Err(ParseError::new(
            "invalid JSON: expected a JSON value, found the end of the file",
            root_at,
        ));
    }
    let mut has_properties = false;
    let is_object = stream.object(|s, key, _| match key {
        "properties" => {
            has_properties = true;
            properties(file, s, &mut body)
        }
        _ => Ok(s.skip()?),
    })?;
    if !is_object {
        let kind = stream.kind_name();
        stream.skip()?;
        stream.finish()?;
        return Err(ParseError::new(format!("the flow is {kind}, expected an object"), root_at));
    }
    stream.finish()?;
    if !has_properties {
        return Err(ParseError::new("the flow has no `properties` object", root_at));
    }
    // Uses met before `connectionReferences` (when `definition` comes first) were all kept.
    let entries = &body.entries;
    body.undeclared_hosts.retain(|h| !entries.iter().any(|e| e.key == h.key));
    Ok(body)
}

fn properties(file: &SourceFile, s: &mut Stream<'_>, body: &mut FlowBody) -> Result<(), ParseError> {
    let at = s.offset();
    let is_object = s.object(|s, key, _| match key {
        "connectionReferences" => {
            let refs = s.value()?;
            if !refs.is_object() {
                return Err(ParseError::new(
                    format!("`properties.connectionReferences` is {}, expected an object", refs.kind_name()),
                    refs.start,
                ));
            }
            for m in refs.members() {
                body.entries.push(entry(file, m)?);
            }
            Ok(())
        }
        "definition" => {
            let handled = s.object(|s, key, _| match key {
                "parameters" => {
                    let params = s.value()?;
                    for p in params.members() {
                        if let Some(schema) = p.value.at(&["metadata", "schemaName"]).and_then(Value::as_str) {
                            body.env_vars.push(schema.to_owned());
                        }
                    }
                    Ok(())
                }
                _ => s.walk(false, &mut Hosts { file, body: &mut *body }).map_err(ParseError::from),
            })?;
            if handled { Ok(()) } else { Ok(s.skip()?) }
        }
        _ => Ok(s.skip()?),
    })?;
    if is_object {
        Ok(())
    } else {
        Err(ParseError::new(
            format!("`properties` is {}, expected an object", s.kind_name()),
            at,
        ))
    }
}

fn entry(file: &SourceFile, m: &Member<'_>) -> Result<FlowEntry, ParseError> {
    let v = expect_object(&m.value, &format!("connection reference entry `{}`", m.key))?;
    let key_loc = file.loc(m.key_start, m.key_end - m.key_start);
    let str_member = |obj: &'_ Value<'_>, k: &str| {
        obj.member(k)
            .and_then(|mm| mm.value.as_str().map(|s| (s.to_owned(), span(file, mm))))
    };
    let connection = v.member("connection");
    let binding = match connection {
        Some(c) if c.value.is_object() => {
            if let Some((name, loc)) = str_member(&c.value, "connectionReferenceLogicalName").filter(|(n, _)| !n.trim().is_empty()) {
                Binding::Reference {
                    logical_name: name.trim().to_owned(),
                    loc,
                }
            } else if let Some((name, loc)) = str_member(&c.value, "name").filter(|(n, _)| !n.is_empty()) {
                Binding::Embedded { connection: name, loc }
            } else {
                Binding::Empty { loc: span(file, c) }
            }
        }
        Some(c) => Binding::Empty { loc: span(file, c) },
        // The legacy package shape: `connectionName` + `id` and no `connection` object.
        None => match str_member(v, "connectionName") {
            Some((name, loc)) => Binding::Embedded { connection: name, loc },
            None => Binding::Empty { loc: key_loc.clone() },
        },
    };
    let api_name = v
        .get("api")
        .and_then(|api| str_member(api, "name"))
        .or_else(|| str_member(v, "id").map(|(id, loc)| (crate::model::connector::api_name(&id).to_owned(), loc)));
    let leaked_connection = match (&binding, connection) {
        (Binding::Reference { .. }, Some(_)) => str_member(v, "connectionName"),
        _ => None,
    };
    Ok(FlowEntry {
        key: m.key.to_string(),
        key_loc,
        binding,
        api_name,
        runtime_source: v
            .get("runtimeSource")
            .or_else(|| v.get("source"))
            .and_then(Value::as_str)
            .map(str::to_owned),
        leaked_connection,
    })
}

/// Finds every trigger and action that uses a connection or calls a child flow, however deep
/// it is nested (scopes, conditions, switches, loops). Only `inputs.host` objects are built.
/// The rest of `inputs` (request bodies, headers, queries: most of a flow's bytes) is only
/// validated: the workflow definition language nests actions under `actions`, `else`, `cases`
/// and `default`, never inside an action's inputs. The mode is whether the container walked is
/// the value of an `inputs`.
struct Hosts<'f> {
    file: &'f SourceFile,
    body: &'f mut FlowBody,
}

impl<'a> Walker<'a> for Hosts<'_> {
    type Mode = bool;

    fn member(&mut self, in_inputs: bool, key: &Key<'a>) -> Visit<bool> {
        match in_inputs {
            true if key.is("host") => Visit::Take,
            true => Visit::Skip,
            false => Visit::Walk(key.is("inputs")),
        }
    }

    fn item(&mut self, _: bool) -> Visit<bool> {
        Visit::Walk(false)
    }

    fn take(&mut self, host: Value<'a>) {
        read_host(self.file, &host, self.body);
    }
}

fn read_host(file: &SourceFile, host: &Value<'_>, body: &mut FlowBody) {
    let used = match host.member("connectionName") {
        Some(m) => m.value.as_str().map(|key| (key, m)),
        // Logic Apps style: "@parameters('$connections')['key']['connectionId']".
        None => host
            .get("connection")
            .and_then(|c| c.member("name"))
            .and_then(|m| Some((m.value.as_str().and_then(legacy_key)?, m))),
    };
    if let Some((key, m)) = used
        && !body.entries.iter().any(|e| e.key == key)
    {
        body.undeclared_hosts.push(HostUse {
            key: key.to_owned(),
            loc: span(file, m),
        });
    }
    if let Some(m) = host.member("workflowReferenceName")
        && let Some(id) = m.value.as_str()
    {
        body.child_flows.push((normalize_guid(id), span(file, m)));
    }
}

fn legacy_key(expr: &str) -> Option<&str> {
    let rest = &expr[expr.find("$connections')['")? + "$connections')['".len()..];
    Some(&rest[..rest.find('\'')?])
}

/// The children of `<Workflow>` that connref reads, in the order of [`Meta::picked`].
const META_CHILDREN: [&str; 3] = ["StateCode", "Category", "StatusCode"];

/// A `.json.data.xml` as it goes by: the root element and the first of each child that
/// connref reads. A flow has one such file, and building its whole element tree cost more
/// than checking it.
#[derive(Default)]
struct Meta<'a> {
    root: Option<xml::Element<'a>>,
    /// How many elements are open.
    open: usize,
    /// The `META_CHILDREN` index of the open child of the root being kept, if any.
    current: Option<usize>,
    /// Offset, start-tag length and text of each kept child.
    picked: [Picked<'a>; 3],
}

impl<'a> xml::Sink<'a> for Meta<'a> {
    fn open(&mut self, element: xml::Element<'a>, depth: usize) {
        self.open = depth + 1;
        match depth {
            0 => self.root = Some(element),
            1 => {
                self.current = META_CHILDREN
                    .iter()
                    .position(|c| *c == element.name)
                    .filter(|&i| self.picked[i].is_none());
                if let Some(i) = self.current {
                    self.picked[i] = Some((element.offset, element.tag_len, Cow::Borrowed("")));
                }
            }
            _ => {}
        }
    }

    fn text(&mut self, piece: Cow<'a, str>) {
        if self.wants_text()
            && let Some((_, _, text)) = self.current.and_then(|i| self.picked[i].as_mut())
        {
            xml::append(text, piece);
        }
    }

    /// Only text directly inside a kept child of the root.
    fn wants_text(&self) -> bool {
        self.open == 2 && self.current.is_some()
    }

    fn close(&mut self) {
        if self.open == 2 {
            self.current = None;
        }
        self.open = self.open.saturating_sub(1);
    }
}

/// The `.json.data.xml`: display name, category, state.
pub fn parse_meta(file: &SourceFile) -> Result<(Option<String>, FlowMeta), ParseError> {
    let mut meta = Meta::default();
    xml::read(&file.text, &mut meta)?;
    let root = meta.root.ok_or_else(xml::no_element)?;
    meta_of(file, &root, meta.picked)
}

/// A kept child of `<Workflow>`: offset, start-tag length and text.
type Picked<'a> = Option<(usize, usize, Cow<'a, str>)>;

/// The metadata in the root element and its kept children (in the order of `META_CHILDREN`).
fn meta_of(
    file: &SourceFile,
    root: &xml::Element<'_>,
    [state, category, status]: [Picked<'_>; 3],
) -> Result<(Option<String>, FlowMeta), ParseError> {
    if root.name != "Workflow" {
        return Err(ParseError::new(
            format!("expected the root element <Workflow>, found <{}>", root.name),
            root.offset,
        ));
    }
    let text = |child: Picked<'_>| child.map(|(_, _, t)| t.trim().to_owned()).filter(|t| !t.is_empty());
    let name = root.attr("Name").filter(|a| !a.value.is_empty());
    Ok((
        root.attr("WorkflowId").map(|a| normalize_guid(&a.value)),
        FlowMeta {
            path: file.path.clone(),
            name: name.map(|a| a.value.to_string()),
            name_loc: name.map(|a| {
                // The value inside its quotes, as written.
                let raw = file.text.get(a.offset..a.offset + a.len).unwrap_or_default();
                let open = raw.find(['"', '\'']).map_or(0, |q| q + 1);
                file.loc(a.offset + open, raw.len().saturating_sub(open + 1))
            }),
            category: text(category),
            state: state.map(|(offset, tag_len, t)| (t.trim().to_owned(), file.loc(offset, tag_len))),
            status: text(status),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn guid_is_taken_from_the_end_of_the_file_name() {
        let (name, id) = split_file_name("BACoreApprovalTime-out-625AC674-7D13-2184-4D44-FB6C6D48C11C.json").unwrap();
        assert_eq!(name, "BACoreApprovalTime-out");
        assert_eq!(id, "625ac674-7d13-2184-4d44-fb6c6d48c11c");
        assert!(split_file_name("notes.json").is_none());
        assert!(split_file_name("x-625AC674-7D13-2184-4D44-FB6C6D48C11Z.json").is_none());
        // 36 bytes from the end fall inside `é`: no GUID, and no panic.
        assert!(split_file_name("é12345678901234567890123456789012345.json").is_none());
    }

    #[test]
    fn reads_every_entry_shape() {
        let text = r#"{"properties":{"connectionReferences":{
          "a":{"runtimeSource":"embedded","connection":{"connectionReferenceLogicalName":"x_y_outlook"},"api":{"name":"shared_office365"},"connectionName":"shared-office365-a01a5015"},
          "b":{"connection":{"name":"shared-embedded-123"},"api":{"name":"shared_sql"}},
          "c":{"runtimeSource":"invoker","connection":{},"api":{"name":"shared_sql"}},
          "d":{"connectionName":"shared-sharepointonl-1","source":"Embedded","id":"/providers/Microsoft.PowerApps/apis/shared_sharepointonline"}},
          "definition":{"actions":{"s":{"type":"Scope","actions":{"x":{"type":"OpenApiConnection","inputs":{"host":{"connectionName":"a"}}},
            "c":{"type":"Workflow","inputs":{"host":{"workflowReferenceName":"ABC"}}},
            "l":{"type":"ApiConnection","inputs":{"host":{"connection":{"name":"@parameters('$connections')['b']['connectionId']"}}}}}}}}}}"#;
        let body = parse_body(&SourceFile::new("f.json", text.to_owned())).unwrap();
        assert!(matches!(&body.entries[0].binding, Binding::Reference { logical_name, .. } if logical_name == "x_y_outlook"));
        assert_eq!(body.entries[0].leaked_connection.as_ref().unwrap().0, "shared-office365-a01a5015");
        assert!(matches!(&body.entries[1].binding, Binding::Embedded { connection, .. } if connection == "shared-embedded-123"));
        assert!(matches!(&body.entries[2].binding, Binding::Empty { .. }));
        assert!(matches!(&body.entries[3].binding, Binding::Embedded { .. }));
        assert_eq!(body.entries[3].api_name.as_ref().unwrap().0, "shared_sharepointonline");
        // `a` and `b` are declared; only a use of an undeclared key is kept.
        assert!(body.undeclared_hosts.is_empty());
        assert_eq!(body.child_flows[0].0, "abc");
    }

    #[test]
    fn keeps_the_uses_of_undeclared_keys_in_either_order() {
        let definition = r#""definition":{"actions":{"s":{"type":"Scope","actions":{
            "x":{"inputs":{"host":{"connectionName":"a"}}},
            "y":{"inputs":{"host":{"connectionName":"z"}}},
            "l":{"inputs":{"host":{"connection":{"name":"@parameters('$connections')['q']['connectionId']"}}}}}}}}"#;
        let references = r#""connectionReferences":{"a":{"connection":{"connectionReferenceLogicalName":"x_y_outlook"}}}"#;
        for text in [
            format!("{{\"properties\":{{{references},{definition}}}}}"),
            format!("{{\"properties\":{{{definition},{references}}}}}"),
        ] {
            let body = parse_body(&SourceFile::new("f.json", text.clone())).unwrap();
            let keys: Vec<_> = body.undeclared_hosts.iter().map(|h| h.key.as_str()).collect();
            assert_eq!(keys, ["z", "q"], "{text}");
            let z = &body.undeclared_hosts[0].loc;
            assert_eq!(&text[z.offset..z.offset + z.len], r#""connectionName":"z""#);
        }
    }

    #[test]
    fn a_flow_definition_carried_in_an_action_body_is_not_read_as_this_flow() {
        // The Power Automate Management connector creates flows: its body holds a whole
        // definition, whose hosts belong to the flow it creates.
        let text = r#"{"properties":{"connectionReferences":{"m":{"connection":{"connectionReferenceLogicalName":"x_flows_flowmanagement"}}},
          "definition":{"actions":{"Create_flow":{"type":"OpenApiConnection","inputs":{"host":{"connectionName":"m"},
            "parameters":{"Flow/properties/definition":{"actions":{"a":{"inputs":{"host":{"connectionName":"other","workflowReferenceName":"ABC"}}}}}}}}}}}}"#;
        let body = parse_body(&SourceFile::new("f.json", text.to_owned())).unwrap();
        assert!(body.undeclared_hosts.is_empty(), "{:?}", body.undeclared_hosts);
        assert!(body.child_flows.is_empty());
        // The body is still validated.
        let broken = text.replace(r#""ABC"}"#, r#""ABC",}"#);
        assert!(parse_body(&SourceFile::new("f.json", broken)).is_err());
    }

    #[test]
    fn keys_written_with_escapes_are_read_as_their_names() {
        let text = r#"{"properties":{"connectionReferences":{},"definition":{"actions":{"a":{"type":"OpenApiConnection",
          "\u0069nputs":{"h\u006fst":{"connectionName":"k"}}}}}}}"#;
        let body = parse_body(&SourceFile::new("f.json", text.to_owned())).unwrap();
        assert_eq!(body.undeclared_hosts.iter().map(|h| h.key.as_str()).collect::<Vec<_>>(), ["k"]);
    }

    /// The children `parse_meta` keeps, found in the element tree: the streaming reader must
    /// pick the same ones and fail the same way.
    fn meta_by_tree(file: &SourceFile) -> Result<(Option<String>, FlowMeta), ParseError> {
        let root = xml::parse(&file.text)?;
        let picked = META_CHILDREN.map(|name| root.child(name).map(|c| (c.offset, c.tag_len, c.text.clone())));
        meta_of(file, &root, picked)
    }

    #[test]
    fn metadata_is_read_as_the_element_tree_reads_it() {
        let mut texts: Vec<String> = [
            "<Workflow WorkflowId=\"{AB-CD}\" Name=\"Pay &amp; go\"><StateCode>1</StateCode><Category> 5 </Category></Workflow>",
            "<Workflow><StateCode>0</StateCode><StateCode>1</StateCode><StatusCode/></Workflow>",
            "<Workflow><StateCode><x>9</x>1<![CDATA[2]]>&#51;<!-- c --></StateCode><Category></Category></Workflow>",
            "<Workflow><StateCode><x>&#57;<![CDATA[8]]>&amp;</x>1</StateCode><Category>&#53;<y>&lt;</y></Category></Workflow>",
            "<Workflow><LocalizedNames><StateCode>7</StateCode></LocalizedNames><StatusCode>\n 2 \n</StatusCode></Workflow>",
            "<?xml version=\"1.0\"?>\n<Process Name=\"x\"><StateCode>1</StateCode></Process>",
            "<Workflow Name=''><StateCode>1</StateCode></Workflow><Workflow/>",
            "<Workflow>text</Workflow> tail",
            "<Workflow><StateCode>&bogus;</StateCode></Workflow>",
            "",
        ]
        .map(str::to_owned)
        .to_vec();
        let handmade = texts.len();
        let example = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("examples");
        let corpus = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
        for dir in [example, corpus] {
            for entry in walkdir::WalkDir::new(dir).into_iter().flatten() {
                if entry.file_name().to_string_lossy().ends_with(".json.data.xml")
                    && let Ok(text) = std::fs::read_to_string(entry.path())
                {
                    texts.push(text.trim_start_matches('\u{feff}').to_owned());
                }
            }
        }
        assert!(texts.len() > handmade, "the examples hold .json.data.xml files");
        // Every way a file can end early, for the handmade ones and the first real ones.
        for t in texts.clone().iter().take(handmade + 3) {
            texts.extend(t.char_indices().map(|(i, _)| t[..i].to_owned()));
        }
        for t in &texts {
            let file = SourceFile::new("f.json.data.xml", t.clone());
            assert_eq!(format!("{:?}", parse_meta(&file)), format!("{:?}", meta_by_tree(&file)), "{t}");
        }
    }

    #[test]
    fn wrong_shapes_are_errors_with_positions() {
        let file = SourceFile::new("f.json", r#"{"properties":{"connectionReferences":[]}}"#.to_owned());
        let e = parse_body(&file).unwrap_err();
        assert!(e.message.contains("expected an object"));
        assert_eq!(e.offset, 38);
    }
}
