//! Deployment settings files (`pac solution create-settings` format), one per environment.

use std::sync::Arc;

use crate::finding::Loc;

#[derive(Debug, Clone)]
pub struct SettingsFile {
    pub path: Arc<str>,
    /// The environment the file deploys to (`Prod`, `test`…), as named by config or path.
    pub environment: String,
    /// UniqueNames of the solutions the file covers (empty when it cannot be tied to one).
    pub solutions: Vec<String>,
    /// When the file cannot be tied to one solution: the solutions it could belong to.
    pub candidates: Vec<String>,
    /// Whether `[[settings.map]]` named the file.
    pub mapped: bool,
    /// Neither the file name nor its folder names an environment: it is checked as
    /// `default`, and CR410 says so.
    pub environment_unknown: bool,
    /// The file sits in the folder of a solution that is not in the tree (`Old/config/Prod/…`
    /// after `Old` was removed): that UniqueName, and the file is tied to nothing (CR411).
    pub missing_solution: Option<String>,
    /// The root folder whose solution the file is judged against, when twin roots share the
    /// UniqueName and the file's folder belongs to one of them.
    pub root: Option<String>,
    /// The file could not be read as settings (CR409 was reported): the lists are empty and
    /// the rules skip it, but `connref settings` must still know it is there.
    pub invalid: bool,
    /// The root object (its opening brace): where a missing array belongs.
    pub root_loc: Loc,
    /// Entries of `ConnectionReferences`, in file order.
    pub references: Vec<SettingsReference>,
    /// The `ConnectionReferences` array, where a missing entry belongs.
    pub references_loc: Option<Loc>,
    /// Entries of `EnvironmentVariables`; `None` when the file has no such array.
    pub variables: Option<Vec<SettingsVariable>>,
    pub variables_loc: Option<Loc>,
}

impl SettingsFile {
    /// A file with no entries, tied to nothing yet; discovery fills in the rest.
    pub fn new(path: Arc<str>, root_loc: Loc) -> Self {
        SettingsFile {
            path,
            environment: String::new(),
            solutions: Vec::new(),
            candidates: Vec::new(),
            mapped: false,
            environment_unknown: false,
            missing_solution: None,
            root: None,
            invalid: false,
            root_loc,
            references: Vec::new(),
            references_loc: None,
            variables: None,
            variables_loc: None,
        }
    }
}

#[derive(Debug, Clone)]
pub struct SettingsReference {
    pub logical_name: String,
    /// The entry: its `"LogicalName": "…"` member, which names it on one line.
    pub loc: Loc,
    pub connection_id: Option<String>,
    pub connection_id_loc: Option<Loc>,
    pub connector_id: Option<String>,
    pub connector_id_loc: Option<Loc>,
}

#[derive(Debug, Clone)]
pub struct SettingsVariable {
    pub schema_name: String,
    /// The entry: its `"SchemaName": "…"` member.
    pub loc: Loc,
    pub value: Option<String>,
    pub value_loc: Option<Loc>,
}

/// What a ConnectionId (or an environment-variable value) binds at deploy time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Binding {
    /// A literal connection id.
    Bound,
    /// A pipeline token (`#{...}#`, `$(...)`, `${...}`, `@@...@@`) that the pipeline replaces.
    Token,
    /// Empty, or a placeholder that nothing replaces (`{...}`, `<...>`, `TODO`, the zero GUID…).
    Empty,
    /// No entry at all.
    Missing,
}

impl Binding {
    pub fn as_str(self) -> &'static str {
        match self {
            Binding::Bound => "bound",
            Binding::Token => "token",
            Binding::Empty => "empty",
            Binding::Missing => "missing",
        }
    }
}

/// Whether `value` is (or holds) a pipeline token that the pipeline replaces: `#{...}#`
/// (replace tokens), `$(...)` (Azure DevOps variables), `${...}` (shell, GitHub, terraform),
/// `{{...}}` (templates), `@@...@@`, or the whole value wrapped in `__...__` (replace tokens'
/// other default).
pub fn is_token(value: &str) -> bool {
    let v = value.trim();
    let wrapped = |open: &str, close: &str| v.len() > open.len() + close.len() && v.starts_with(open) && v.ends_with(close);
    // The first opening and the last closing are enough (and keep this linear).
    let holds = |open: &str, close: &str| {
        v.find(open)
            .is_some_and(|i| v[i + open.len()..].rfind(close).is_some_and(|end| end > 0))
    };
    holds("#{", "}#") || holds("$(", ")") || holds("${", "}") || holds("{{", "}}") || wrapped("@@", "@@") || wrapped("__", "__")
}

/// Whether `value` is empty or a placeholder that no pipeline replaces.
pub fn is_placeholder(value: &str) -> bool {
    let v = value.trim();
    if v.is_empty() || is_token(v) {
        return v.is_empty();
    }
    if (v.starts_with('{') && v.ends_with('}')) || (v.starts_with('<') && v.ends_with('>')) {
        // `{00000000-…}` is the zero GUID in braces, `{connection id}` a placeholder: both empty.
        return true;
    }
    let lower = v.to_ascii_lowercase();
    let letters: String = lower.chars().filter(|c| c.is_ascii_alphanumeric()).collect();
    if !letters.is_empty() && letters.bytes().all(|b| b == b'0') {
        return true;
    }
    if letters.len() >= 3 && letters.bytes().all(|b| b == b'x') {
        return true;
    }
    matches!(
        letters.as_str(),
        "todo" | "tbd" | "changeme" | "replaceme" | "placeholder" | "null" | "none" | "na" | "connectionid"
    )
}

/// How a ConnectionId binds: an absent or empty one is `Empty`. The one classification that
/// the settings rules (CR402, CR406), the identity rules and the coverage table share.
pub fn classify(value: Option<&str>) -> Binding {
    match value {
        None => Binding::Empty,
        Some(v) if is_token(v) => Binding::Token,
        Some(v) if is_placeholder(v) => Binding::Empty,
        Some(_) => Binding::Bound,
    }
}

/// The connection a ConnectionId binds, in the form two ids compare in (trimmed, lower case);
/// `None` for a token, a placeholder or nothing.
pub fn literal_id(value: Option<&str>) -> Option<String> {
    let v = value?;
    (classify(Some(v)) == Binding::Bound).then(|| v.trim().to_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_placeholders_and_ids() {
        for t in [
            "#{connectionreference.x}#",
            "$(Conn.Id)",
            "${var.conn}",
            "${CONN}",
            "@@shared_sql@@",
            "{{ conn_id }}",
            "__ConnId__",
            "shared-sql-#{env}#",
        ] {
            assert_eq!(classify(Some(t)), Binding::Token, "{t}");
        }
        for p in [
            "",
            "  ",
            "{connectionId}",
            "<your connection>",
            "00000000-0000-0000-0000-000000000000",
            "{00000000-0000-0000-0000-000000000000}",
            "TODO",
            "xxx",
            "XXXXX",
            "changeme",
            "change-me",
        ] {
            assert_eq!(classify(Some(p)), Binding::Empty, "{p:?}");
        }
        assert_eq!(classify(None), Binding::Empty);
        for b in [
            "e34cedbfbb964b4ca7fc7b806121d17c",
            "shared-office365-a01a5015-243a-4b85-8cf4-ca0541508a2d",
            "x",
        ] {
            assert_eq!(classify(Some(b)), Binding::Bound, "{b}");
        }
        assert!(!is_token("#{}#"));
        assert_eq!(literal_id(Some(" E34CEDBF ")).as_deref(), Some("e34cedbf"));
        assert_eq!(literal_id(Some("${CONN}")), None);
        assert_eq!(literal_id(Some("TODO")), None);
        assert_eq!(literal_id(None), None);
    }
}
