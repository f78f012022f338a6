//! Deployment settings files: `{"EnvironmentVariables": [...], "ConnectionReferences": [...]}`
//! as `pac solution create-settings` and the ALM Accelerator write them.
//!
//! Unknown keys (`ConnectionOwner`, `DefaultValue`, `Name`, `Description`…) are fine. What a
//! pipeline cannot read is an error with its exact position: invalid JSON, a root that is not an
//! object, a duplicate key, a known key in the wrong case, an object where an array belongs, an
//! entry without its name, or a value of the wrong type.

use super::ParseError;
use super::json::{self, Kind, Member, Value};
use crate::finding::Loc;
use crate::model::settings::{SettingsFile, SettingsReference, SettingsVariable};
use crate::text::SourceFile;

pub const REFERENCES: &str = "ConnectionReferences";
pub const VARIABLES: &str = "EnvironmentVariables";

/// Keys whose spelling a pipeline depends on, per object kind.
const ROOT_KEYS: &[&str] = &[REFERENCES, VARIABLES];
const REFERENCE_KEYS: &[&str] = &["LogicalName", "ConnectionId", "ConnectorId", "ConnectionOwner"];
const VARIABLE_KEYS: &[&str] = &["SchemaName", "Value"];

/// Whether a parsed JSON root is a settings file: an object with `ConnectionReferences` or
/// `EnvironmentVariables` (in any letter case, so that a misspelt one is reported).
pub fn is_settings_root(root: &Value<'_>) -> bool {
    root.members()
        .iter()
        .any(|m| ROOT_KEYS.iter().any(|k| m.key.eq_ignore_ascii_case(k)))
}

/// Parses a settings file. The environment and the solutions are left empty: they come from
/// the file's place in the tree (`load::settings`).
pub fn parse(file: &SourceFile) -> Result<SettingsFile, ParseError> {
    let doc = json::parse(&file.text)?;
    check_shape(&doc.root)?;
    if let Some((key, offset)) = doc.duplicate_keys.first() {
        return Err(ParseError::new(
            format!("duplicate key `{key}`: tools keep only one of the two values, and not all the same one"),
            *offset,
        ));
    }
    let root = &doc.root;
    let mut out = SettingsFile::new(file.path.clone(), file.loc(root.start, 1));

    check_keys(root, ROOT_KEYS, "the settings file")?;
    if let Some(refs) = root.get(REFERENCES) {
        let items = array(refs, REFERENCES)?;
        out.references_loc = Some(file.loc(refs.start, 1));
        for item in items {
            out.references.push(reference(file, item)?);
        }
    }
    if let Some(vars) = root.get(VARIABLES) {
        let items = array(vars, VARIABLES)?;
        out.variables_loc = Some(file.loc(vars.start, 1));
        out.variables = Some(items.iter().map(|i| variable(file, i)).collect::<Result<_, _>>()?);
    }
    Ok(out)
}

fn check_shape(root: &Value<'_>) -> Result<(), ParseError> {
    match &root.kind {
        Kind::Object(_) => Ok(()),
        Kind::Array(items) => {
            let hint = if items.iter().any(|i| i.get("DeploymentEnvironmentName").is_some()) {
                " (this is an ALM Accelerator deployment profile, not a pac settings file)"
            } else {
                ""
            };
            Err(ParseError::new(
                format!("the root is an array, expected an object with `{VARIABLES}` and `{REFERENCES}` arrays{hint}"),
                root.start,
            ))
        }
        _ => Err(ParseError::new(
            format!(
                "the root is {}, expected an object with `{VARIABLES}` and `{REFERENCES}` arrays",
                root.kind_name()
            ),
            root.start,
        )),
    }
}

/// A key that differs from a known key only in letter case is an error: pipelines read keys
/// case-sensitively and would skip it in silence.
fn check_keys(obj: &Value<'_>, known: &[&str], what: &str) -> Result<(), ParseError> {
    for m in obj.members() {
        if let Some(k) = known.iter().find(|k| m.key.eq_ignore_ascii_case(k) && m.key != **k) {
            return Err(ParseError::new(
                format!(
                    "key `{}` in {what} must be spelled `{k}`: pipelines read keys with their letter case",
                    m.key
                ),
                m.key_start,
            ));
        }
    }
    Ok(())
}

fn array<'v, 'a>(v: &'v Value<'a>, key: &str) -> Result<&'v [Value<'a>], ParseError> {
    match &v.kind {
        Kind::Array(items) => Ok(items),
        _ => Err(ParseError::new(
            format!("`{key}` is {}, expected an array of entries", v.kind_name()),
            v.start,
        )),
    }
}

fn entry_object<'v, 'a>(item: &'v Value<'a>, list: &str) -> Result<&'v Value<'a>, ParseError> {
    if item.is_object() {
        Ok(item)
    } else {
        Err(ParseError::new(
            format!("an entry of `{list}` is {}, expected an object", item.kind_name()),
            item.start,
        ))
    }
}

/// A string member, or `None` when absent or `null`; any other type is an error.
fn string<'v>(file: &SourceFile, obj: &'v Value<'_>, key: &str, list: &str) -> Result<Option<(&'v str, Loc)>, ParseError> {
    let Some(m) = obj.member(key) else { return Ok(None) };
    match &m.value.kind {
        Kind::String(s) => Ok(Some((s, file.loc(m.value.start, m.value.end - m.value.start)))),
        Kind::Null => Ok(None),
        _ => Err(ParseError::new(
            format!("`{key}` of an entry of `{list}` is {}, expected a string", m.value.kind_name()),
            m.value.start,
        )),
    }
}

fn member_loc(file: &SourceFile, m: &Member<'_>) -> Loc {
    file.loc(m.key_start, m.value.end - m.key_start)
}

fn name<'v>(file: &SourceFile, obj: &'v Value<'_>, key: &str, list: &str) -> Result<(&'v str, Loc), ParseError> {
    let missing = || ParseError::new(format!("an entry of `{list}` has no `{key}`"), obj.start);
    let m = obj.member(key).ok_or_else(missing)?;
    match string(file, obj, key, list)? {
        Some((s, _)) if !s.trim().is_empty() => Ok((s, member_loc(file, m))),
        Some(_) => Err(ParseError::new(format!("`{key}` of an entry of `{list}` is empty"), m.value.start)),
        None => Err(missing()),
    }
}

fn reference(file: &SourceFile, item: &Value<'_>) -> Result<SettingsReference, ParseError> {
    let obj = entry_object(item, REFERENCES)?;
    check_keys(obj, REFERENCE_KEYS, &format!("an entry of `{REFERENCES}`"))?;
    let (logical_name, loc) = name(file, obj, "LogicalName", REFERENCES)?;
    let id = string(file, obj, "ConnectionId", REFERENCES)?;
    let connector = string(file, obj, "ConnectorId", REFERENCES)?;
    string(file, obj, "ConnectionOwner", REFERENCES)?;
    let (connection_id, connection_id_loc) = split(id);
    let (connector_id, connector_id_loc) = split(connector);
    Ok(SettingsReference {
        logical_name: logical_name.to_owned(),
        loc,
        connection_id,
        connection_id_loc,
        connector_id,
        connector_id_loc,
    })
}

fn variable(file: &SourceFile, item: &Value<'_>) -> Result<SettingsVariable, ParseError> {
    let obj = entry_object(item, VARIABLES)?;
    check_keys(obj, VARIABLE_KEYS, &format!("an entry of `{VARIABLES}`"))?;
    let (schema_name, loc) = name(file, obj, "SchemaName", VARIABLES)?;
    let (value, value_loc) = split(string(file, obj, "Value", VARIABLES)?);
    Ok(SettingsVariable {
        schema_name: schema_name.to_owned(),
        loc,
        value,
        value_loc,
    })
}

fn split(v: Option<(&str, Loc)>) -> (Option<String>, Option<Loc>) {
    match v {
        Some((s, l)) => (Some(s.to_owned()), Some(l)),
        None => (None, None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> SourceFile {
        SourceFile::new("config/Prod/deploymentSettings.json", text.to_owned())
    }

    fn err(text: &str) -> (String, u32, u32) {
        let f = file(text);
        let e = parse(&f).unwrap_err();
        let loc = f.loc(e.offset, 1);
        (e.message, loc.line, loc.column)
    }

    #[test]
    fn reads_pac_and_powershell_layouts() {
        let ps = "{\n    \"EnvironmentVariables\":  [\n\n                             ],\n    \"ConnectionReferences\":  [\n                                 {\n                                     \"LogicalName\":  \"a_b_c\",\n                                     \"ConnectionId\":  \"#{connectionreference.a_b_c}#\",\n                                     \"ConnectorId\":  \"/providers/Microsoft.PowerApps/apis/shared_approvals\",\n                                     \"ConnectionOwner\":  \"x\"\n                                 }\n                             ]\n}";
        let s = parse(&file(ps)).unwrap();
        assert_eq!(s.variables.as_ref().map(Vec::len), Some(0));
        assert_eq!(s.references.len(), 1);
        let r = &s.references[0];
        assert_eq!(r.logical_name, "a_b_c");
        assert_eq!((r.loc.line, r.loc.column), (7, 38));
        assert_eq!(r.connection_id.as_deref(), Some("#{connectionreference.a_b_c}#"));
        assert_eq!(s.references_loc.as_ref().map(|l| (l.line, l.column)), Some((5, 30)));
        let pac = r#"{"EnvironmentVariables":[{"SchemaName":"a_v","Value":"","DefaultValue":"1","Name":{"Default":"V","ByLcid":{"1033":"V"}}}],"ConnectionReferences":[]}"#;
        let s = parse(&file(pac)).unwrap();
        assert_eq!(s.variables.unwrap()[0].value.as_deref(), Some(""));
        let only_refs = parse(&file(r#"{"ConnectionReferences":[{"LogicalName":"x","ConnectionId":null}]}"#)).unwrap();
        assert!(only_refs.variables.is_none() && only_refs.references[0].connection_id.is_none());
    }

    #[test]
    fn shape_errors_have_positions() {
        assert_eq!(
            err("[\n  {}\n]"),
            (
                "the root is an array, expected an object with `EnvironmentVariables` and `ConnectionReferences` arrays".into(),
                1,
                1
            )
        );
        let (m, l, c) = err("{\n  \"ConnectionReferences\": [],\n}");
        assert_eq!((m.as_str(), l, c), ("invalid JSON: trailing comma before `}`", 3, 1));
        let (m, l, c) = err("{\n  \"ConnectionReferences\": [],\n  \"ConnectionReferences\": []\n}");
        assert!(m.starts_with("duplicate key `ConnectionReferences`"), "{m}");
        assert_eq!((l, c), (3, 3));
        let (m, l, c) = err("{\n  \"connectionReferences\": []\n}");
        assert!(m.contains("must be spelled `ConnectionReferences`"), "{m}");
        assert_eq!((l, c), (2, 3));
        let (m, l, c) = err("{\n  \"ConnectionReferences\": {}\n}");
        assert_eq!(m, "`ConnectionReferences` is an object, expected an array of entries");
        assert_eq!((l, c), (2, 27));
        let (m, _, _) = err("{\"ConnectionReferences\": [{\"logicalName\": \"x\"}]}");
        assert!(m.contains("must be spelled `LogicalName`"), "{m}");
        let (m, _, _) = err("{\"ConnectionReferences\": [{\"ConnectionId\": \"x\"}]}");
        assert_eq!(m, "an entry of `ConnectionReferences` has no `LogicalName`");
        let (m, _, _) = err("{\"EnvironmentVariables\": [{\"SchemaName\": \"x\", \"Value\": 5}]}");
        assert_eq!(m, "`Value` of an entry of `EnvironmentVariables` is a number, expected a string");
        let (m, _, _) = err("{\"EnvironmentVariables\": [\"x\"]}");
        assert_eq!(m, "an entry of `EnvironmentVariables` is a string, expected an object");
    }
}
