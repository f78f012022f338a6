//! The model: every solution in one tree (a working tree, the index, or a git revision), with
//! the source position of everything a rule may point at. Rules read only this.

pub mod connector;
pub mod settings;

use std::collections::BTreeMap;
use std::hash::{Hash, Hasher};
use std::sync::Arc;

use crate::finding::{Finding, Loc};
use crate::text::SourceFile;

/// A name compared and hashed without ASCII case, as Dataverse compares logical names and
/// ids: the key of maps of names, with no lower-case copy of each name made to build or to
/// look up.
#[derive(Debug, Clone, Copy)]
pub struct Caseless<'a>(pub &'a str);

impl PartialEq for Caseless<'_> {
    fn eq(&self, other: &Self) -> bool {
        self.0.eq_ignore_ascii_case(other.0)
    }
}

impl Eq for Caseless<'_> {}

impl Hash for Caseless<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        let mut lower = [0u8; 64];
        for chunk in self.0.as_bytes().chunks(lower.len()) {
            let lower = &mut lower[..chunk.len()];
            lower.copy_from_slice(chunk);
            lower.make_ascii_lowercase();
            state.write(lower);
        }
        state.write_u8(0xff);
    }
}

/// A commit of first-parent history, as `git log` names it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Commit {
    pub sha: String,
    pub date: String,
    pub subject: String,
}

/// One tree as read: its solutions, the files that could not be read, and the text of every
/// file that was read (for snippets in reports).
#[derive(Debug, Clone, Default)]
pub struct Snapshot {
    /// `worktree`, `index`, or the commit id the tree was read from.
    pub label: String,
    pub solutions: Vec<Solution>,
    /// Deployment settings files found in the tree, sorted by path; those that could not be read
    /// (CR409) are kept with `invalid` set, so that `connref settings` leaves them alone.
    pub settings: Vec<settings::SettingsFile>,
    /// CR900 findings: files that could not be read or parsed.
    pub problems: Vec<Finding>,
    /// How many files were read (decoded, whether or not they parsed).
    pub files: usize,
    /// The texts of the deployment settings files, which `connref settings` edits. Other
    /// texts are not kept after parsing.
    pub sources: BTreeMap<Arc<str>, SourceFile>,
    /// Every solution root discovery found (repository-relative), also those whose manifest is
    /// a look-alike or failed to parse: none at all means connref had nothing to check.
    pub roots: Vec<String>,
}

impl Snapshot {
    /// Whether the file that defines `s`'s references could not be read (a CR900 on it): its
    /// reference set is unknown, so no rule may conclude that a reference is missing or unused.
    pub fn references_unknown(&self, s: &Solution) -> bool {
        self.problems
            .iter()
            .any(|p| p.rule.code == "CR900" && p.loc.path == s.references_loc.path)
    }

    pub fn flows(&self) -> impl Iterator<Item = (&Solution, &Flow)> {
        self.solutions.iter().flat_map(|s| s.flows.iter().map(move |f| (s, &**f)))
    }

    pub fn references(&self) -> impl Iterator<Item = (&Solution, &Reference)> {
        self.solutions.iter().flat_map(|s| s.references.iter().map(move |r| (s, r)))
    }

    /// Solutions other than `except` that define `logical_name` (case-insensitively).
    /// Roots that share their UniqueName with another root (`managed/` and `unmanaged/`,
    /// `src/` and `src-archived/`).
    pub fn twin_roots(&self) -> impl Iterator<Item = &Solution> {
        self.solutions.iter().filter(|s| {
            self.solutions
                .iter()
                .any(|o| !std::ptr::eq(o, *s) && o.manifest.unique_name.eq_ignore_ascii_case(&s.manifest.unique_name))
        })
    }

    pub fn definers<'a>(&'a self, logical_name: &'a str, except: &'a Solution) -> impl Iterator<Item = &'a Solution> + 'a {
        self.solutions
            .iter()
            .filter(move |s| !std::ptr::eq(*s, except) && s.reference(logical_name).is_some())
    }
}

/// Whether `path` (repository-relative) lies below the folder `root` (`""`: the whole
/// repository).
pub fn in_root(root: &str, path: &str) -> bool {
    root.is_empty() || path.strip_prefix(root).is_some_and(|rest| rest.starts_with('/'))
}

/// A root folder as messages name it.
pub fn root_label(root: &str) -> &str {
    if root.is_empty() { "." } else { root }
}

/// What `Other/Solution.xml` (or `solution.yml`) says about a solution, as parsed.
#[derive(Debug, Clone)]
pub struct Manifest {
    pub unique_name: String,
    pub unique_name_loc: Loc,
    pub version: Option<String>,
    /// `0` unmanaged, `1` managed, `2` both.
    pub managed: Option<String>,
    pub publisher: Option<String>,
    /// The publisher's CustomizationPrefix.
    pub prefix: Option<String>,
    pub prefix_loc: Option<Loc>,
    /// References that flows need but the solution does not carry (`MissingDependencies`).
    pub missing_references: Vec<MissingReference>,
}

#[derive(Debug, Clone)]
pub struct Solution {
    /// The root folder, repository-relative (`""` for the repository root).
    pub root: String,
    pub manifest: Manifest,
    pub references: Vec<Reference>,
    /// Where a new reference would be added: the `<connectionreferences>` element, or the
    /// root of Customizations.xml when there is none.
    pub references_loc: Loc,
    /// Shared, so that a base snapshot reuses the head's parsed flows without copying them.
    pub flows: Vec<Arc<Flow>>,
    pub env_vars: Vec<EnvVar>,
    pub apps: Vec<CanvasApp>,
    pub bot_links: Vec<BotLink>,
}

impl Solution {
    /// The reference with this logical name, compared as Dataverse does (ignoring case).
    pub fn reference(&self, logical_name: &str) -> Option<&Reference> {
        self.references.iter().find(|r| r.logical_name.eq_ignore_ascii_case(logical_name))
    }

    /// A copy without flows and with only the references `keep` selects.
    pub fn shell(&self, keep: impl Fn(&Reference) -> bool) -> Solution {
        let s = self;
        Solution {
            root: s.root.clone(),
            manifest: s.manifest.clone(),
            references: s.references.iter().filter(|r| keep(r)).cloned().collect(),
            references_loc: s.references_loc.clone(),
            flows: Vec::new(),
            env_vars: s.env_vars.clone(),
            apps: s.apps.clone(),
            bot_links: s.bot_links.clone(),
        }
    }

    pub fn flow(&self, id: &str) -> Option<&Flow> {
        self.flows.iter().map(|f| &**f).find(|f| f.id.eq_ignore_ascii_case(id))
    }
}

#[derive(Debug, Clone)]
pub struct MissingReference {
    pub logical_name: String,
    pub loc: Loc,
    /// The workflow id of the dependent flow, lower case, when the dependency names one.
    pub dependent_flow: Option<String>,
    /// The solution that carries the reference, from `solution="<UniqueName> (<version>)"`;
    /// `None` for `solution="Active"` (it lives in no solution, only in the maker's
    /// environment) or when the attribute is missing.
    pub solution: Option<DependencySolution>,
}

/// A solution another one depends on, as Solution.xml names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DependencySolution {
    pub unique_name: String,
    pub version: Option<String>,
}

impl DependencySolution {
    /// `Core (1.2.0.0)` → `Core`, `1.2.0.0`; `Active` (and nothing) → `None`.
    pub fn parse(attr: &str) -> Option<Self> {
        let attr = attr.trim();
        let (name, version) = match attr.strip_suffix(')').and_then(|a| a.rsplit_once(" (")) {
            Some((name, version)) => (name.trim(), Some(version.trim().to_owned())),
            None => (attr, None),
        };
        (!name.is_empty() && !name.eq_ignore_ascii_case("Active")).then(|| DependencySolution {
            unique_name: name.to_owned(),
            version,
        })
    }
}

/// Dataverse caps a connection reference's logical name at 200 characters: a longer one cannot
/// be imported, so it is reported rather than matched against anything.
pub const MAX_LOGICAL_NAME_CHARS: usize = 200;

#[derive(Debug, Clone)]
pub struct Reference {
    pub logical_name: String,
    /// The logical-name attribute (or child element in hand-made files).
    pub loc: Loc,
    pub display_name: Option<String>,
    pub connector_id: Option<String>,
    pub connector_loc: Option<Loc>,
    /// The custom connector's record id, for references to custom connectors.
    pub custom_connector_id: Option<String>,
    pub description: Option<String>,
}

impl Reference {
    /// The connector's api name (`shared_office365`), from the last segment of the connector id.
    pub fn api_name(&self) -> Option<&str> {
        self.connector_id.as_deref().map(connector::api_name)
    }
}

#[derive(Debug, Clone)]
pub struct Flow {
    /// The workflow id, lower case without braces.
    pub id: String,
    /// The flow's `.json` file.
    pub path: Arc<str>,
    /// The display name: the data.xml `Name`, else the file name without its GUID.
    pub name: String,
    pub meta: Option<FlowMeta>,
    /// The file that holds a flow's name and state in its layout (`.json.data.xml`,
    /// `workflow.yml`), named when it is missing.
    pub meta_file: &'static str,
    /// Entries of `properties.connectionReferences`, in file order.
    pub entries: Vec<FlowEntry>,
    /// Triggers and actions that use a connection key `entries` does not declare (CR508).
    /// Declared uses are not kept: nothing reads them, and a large flow holds hundreds.
    pub undeclared_hosts: Vec<HostUse>,
    /// Workflow ids of child flows it calls.
    pub child_flows: Vec<(String, Loc)>,
    /// Schema names of the environment variables it reads.
    pub env_vars: Vec<String>,
}

impl Flow {
    pub fn entry(&self, key: &str) -> Option<&FlowEntry> {
        self.entries.iter().find(|e| e.key == key)
    }

    /// Logical names of the references the flow is bound to.
    pub fn bound_references(&self) -> impl Iterator<Item = &str> {
        self.entries.iter().filter_map(|e| match &e.binding {
            Binding::Reference { logical_name, .. } => Some(logical_name.as_str()),
            _ => None,
        })
    }
}

/// A flow's metadata: the `.json.data.xml` beside it, or its `workflow.yml`.
#[derive(Debug, Clone)]
pub struct FlowMeta {
    pub path: Arc<str>,
    pub name: Option<String>,
    /// Where the display name is written.
    pub name_loc: Option<Loc>,
    pub category: Option<String>,
    /// StateCode with the location of its element: `0` draft (off), `1` on, `2` suspended.
    pub state: Option<(String, Loc)>,
    pub status: Option<String>,
}

#[derive(Debug, Clone)]
pub struct FlowEntry {
    /// The local key (`shared_office365_1`): an alias inside the flow, not an identity.
    pub key: String,
    pub key_loc: Loc,
    pub binding: Binding,
    /// `api.name`, with the location of the `name` key.
    pub api_name: Option<(String, Loc)>,
    pub runtime_source: Option<String>,
    /// A sibling `connectionName` that holds a connection id of the maker's environment.
    pub leaked_connection: Option<(String, Loc)>,
}

#[derive(Debug, Clone)]
pub enum Binding {
    /// `connection.connectionReferenceLogicalName`; `loc` is that key.
    Reference { logical_name: String, loc: Loc },
    /// A connection embedded without a reference (`connection.name`, or the legacy package
    /// shape `connectionName` + `id`).
    Embedded { connection: String, loc: Loc },
    /// No connection at all (`"connection": {}` or no `connection`).
    Empty { loc: Loc },
}

#[derive(Debug, Clone)]
pub struct HostUse {
    /// The entry key named by `inputs.host.connectionName`.
    pub key: String,
    pub loc: Loc,
}

#[derive(Debug, Clone)]
pub struct EnvVar {
    pub schema_name: String,
    pub loc: Loc,
    pub kind: Option<String>,
    pub default_value: Option<String>,
    pub required: bool,
}

#[derive(Debug, Clone)]
pub struct CanvasApp {
    pub name: String,
    pub path: Arc<str>,
    /// Connector ids (lower case) the app uses.
    pub connectors: Vec<String>,
    /// Workflow ids (lower case) of flows the app calls.
    pub flows: Vec<String>,
}

/// A bot component bound to a reference (`botcomponent_connectionreferenceset.xml`).
#[derive(Debug, Clone)]
pub struct BotLink {
    pub component: String,
    pub logical_name: String,
    pub loc: Loc,
}

#[cfg(test)]
mod dependency_tests {
    use super::*;

    #[test]
    fn dependency_solutions() {
        let core = DependencySolution::parse("CoreComponents (1.2.0.3)").expect("a solution");
        assert_eq!(
            (core.unique_name.as_str(), core.version.as_deref()),
            ("CoreComponents", Some("1.2.0.3"))
        );
        assert_eq!(DependencySolution::parse("Active"), None);
        assert_eq!(DependencySolution::parse(""), None);
        assert_eq!(DependencySolution::parse("Core").map(|d| d.version), Some(None));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn caseless_names_are_one_key_whatever_their_case_and_length() {
        let long = "contoso_".repeat(20);
        let set: HashSet<Caseless<'_>> = ["Contoso_Billing_SQL", long.as_str()].into_iter().map(Caseless).collect();
        assert!(set.contains(&Caseless("contoso_billing_sql")));
        assert!(set.contains(&Caseless(&long.to_ascii_uppercase())));
        assert!(!set.contains(&Caseless("contoso_billing_sq")));
        assert!(!set.contains(&Caseless(&long[..long.len() - 1])));
        // Only ASCII letters fold, as in Dataverse's logical names.
        assert_ne!(Caseless("É"), Caseless("é"));
    }
}
