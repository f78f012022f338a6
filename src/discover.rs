//! Discovery: which files of a tree belong to which solution root, and in which layout.
//!
//! Works on a list of repository-relative paths, so the same code serves the working tree,
//! the index and any git revision. Reading and parsing happen later, in `load`; the `Layout`
//! decides here which files make a root and which of its paths are source, and tells `load`
//! which parser each file gets.

use std::collections::{BTreeMap, HashSet};

use globset::GlobSet;

/// How a solution's source is written down.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Layout {
    /// `pac solution unpack` / SolutionPackager: `Other/Solution.xml`, `Other/Customizations.xml`,
    /// `Workflows/*.json` with `.json.data.xml`.
    Xml,
    /// Dataverse Git integration / `pac solution clone`: `solutions/*/solution.yml`,
    /// `connectionreferences/*/connectionreference.yml`, `modernflows/`.
    Yaml,
    /// A solution zip extracted as it is: `solution.xml`, `customizations.xml` and
    /// `[Content_Types].xml` side by side, flows in `Workflows/`.
    Zip,
}

impl Layout {
    pub const ALL: [Layout; 3] = [Layout::Xml, Layout::Yaml, Layout::Zip];

    /// What makes a folder a root of this layout, for messages.
    pub fn markers(self) -> &'static str {
        match self {
            Layout::Xml => "`Other/Solution.xml` with `Other/Customizations.xml` (pac solution unpack)",
            Layout::Yaml => "`solutions/<Name>/solution.yml` (Dataverse Git integration, pac solution clone)",
            Layout::Zip => "`solution.xml`, `customizations.xml` and `[Content_Types].xml` side by side (an extracted solution zip)",
        }
    }

    /// The root that `path` marks in this layout, if it marks one.
    fn root_marked_by<'a>(self, path: &'a str, (dir, name): (&'a str, &str), set: &HashSet<&str>) -> Option<&'a str> {
        match self {
            Layout::Xml => {
                let root = if path == "Other/Solution.xml" {
                    ""
                } else {
                    path.strip_suffix("/Other/Solution.xml")?
                };
                set.contains(join(root, "Other/Customizations.xml").as_str()).then_some(root)
            }
            Layout::Yaml => {
                if name != "solution.yml" {
                    return None;
                }
                let (solutions, _) = split_last(dir);
                let (root, folder) = split_last(solutions);
                (folder == "solutions" && dir.len() > solutions.len()).then_some(root)
            }
            Layout::Zip => (name == "solution.xml"
                && set.contains(join(dir, "customizations.xml").as_str())
                && set.contains(join(dir, "[Content_Types].xml").as_str()))
            .then_some(dir),
        }
    }

    /// Files a root of this layout owns. Returns whether the file is solution source (and so
    /// never a settings file).
    fn claim(self, root: &mut RootFiles, path: &str, rel: &str, set: &HashSet<&str>) -> bool {
        match self {
            Layout::Xml | Layout::Zip => claim_xml(self, root, path, rel, set),
            Layout::Yaml => claim_yaml(root, path, rel, set),
        }
    }
}

/// Whether a change to `path` can change what any layout reads (for git-tree filters).
pub fn is_source(path: &str) -> bool {
    let p = path.to_ascii_lowercase();
    [".json", ".xml", ".yml", ".yaml"].iter().any(|e| p.ends_with(e))
}

/// The parser a flow's metadata file gets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MetaKind {
    /// `<Name>-<GUID>.json.data.xml`
    DataXml,
    /// `modernflows/<guid>/workflow.yml`
    WorkflowYml,
}

impl MetaKind {
    pub fn of(path: &str) -> MetaKind {
        if path.ends_with(".yml") || path.ends_with(".yaml") {
            MetaKind::WorkflowYml
        } else {
            MetaKind::DataXml
        }
    }

    /// The file a flow of this layout keeps its name and state in, for messages.
    pub fn file_name(layout: Layout) -> &'static str {
        match layout {
            Layout::Yaml => "workflow.yml",
            Layout::Xml | Layout::Zip => ".json.data.xml",
        }
    }
}

/// One solution of a YAML root: its `solution.yml` and the files beside it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ManifestFiles {
    pub manifest: String,
    /// `solutioncomponents.yml`: which component paths belong to the solution.
    pub components: Option<String>,
    /// `missingdependencies.yml`.
    pub missing: Option<String>,
}

/// A cloud flow's files.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlowFiles {
    /// The flow's JSON; `None` when its folder holds only metadata.
    pub json: Option<String>,
    /// `.json.data.xml` or `workflow.yml`.
    pub meta: Option<String>,
}

/// A candidate solution root and the files of it that connref reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootFiles {
    /// `""` for the repository root, else `path/to/root` (no trailing slash).
    pub root: String,
    pub layout: Layout,
    /// The solution manifests: one in the XML layouts, one per solution in the YAML layout.
    pub manifests: Vec<ManifestFiles>,
    /// Files that define connection references: `Customizations.xml`, or each
    /// `connectionreference.yml`.
    pub definitions: Vec<String>,
    /// `publishers/*/publisher.yml` (YAML layout).
    pub publishers: Vec<String>,
    pub flows: Vec<FlowFiles>,
    pub env_vars: Vec<String>,
    pub apps: Vec<String>,
    pub bot_sets: Vec<String>,
    /// `modernflows/<folder>/`: its JSON files and its workflow.yml, paired once every file
    /// has been seen.
    modern: BTreeMap<String, (Vec<String>, Option<String>)>,
}

impl RootFiles {
    /// A root at the top with no files yet (to parse a lone flow with its layout's parsers).
    pub fn bare(layout: Layout) -> Self {
        RootFiles::new_empty("", layout)
    }

    fn new_empty(root: &str, layout: Layout) -> Self {
        RootFiles {
            root: root.to_owned(),
            layout,
            manifests: Vec::new(),
            definitions: Vec::new(),
            publishers: Vec::new(),
            flows: Vec::new(),
            env_vars: Vec::new(),
            apps: Vec::new(),
            bot_sets: Vec::new(),
            modern: BTreeMap::new(),
        }
    }

    fn new(root: &str, layout: Layout) -> Self {
        let mut r = RootFiles::new_empty(root, layout);
        let (manifest, custom) = match layout {
            Layout::Xml => ("Other/Solution.xml", "Other/Customizations.xml"),
            Layout::Zip => ("solution.xml", "customizations.xml"),
            Layout::Yaml => return r,
        };
        r.manifests.push(ManifestFiles {
            manifest: join(root, manifest),
            ..ManifestFiles::default()
        });
        r.definitions.push(join(root, custom));
        r
    }
}

/// What discovery found in a tree.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Discovery {
    pub roots: Vec<RootFiles>,
    /// `.json` files outside solution roots' component folders: possible settings files.
    pub other_json: Vec<String>,
}

/// Folders that never hold solution source.
pub const SKIPPED_DIRS: &[&str] = &[".git", "target", "node_modules"];

/// Whether discovery reads `path` at all.
pub fn kept(path: &str, exclude: &GlobSet) -> bool {
    // Matching builds a candidate from the path even for an empty set: thousands of paths.
    (exclude.is_empty() || !exclude.is_match(path)) && !path.split('/').any(|seg| SKIPPED_DIRS.contains(&seg))
}

pub fn join(root: &str, rel: &str) -> String {
    if root.is_empty() { rel.to_owned() } else { format!("{root}/{rel}") }
}

/// (`a/b`, `c`) for `a/b/c`; (``, `c`) for `c`.
fn split_last(path: &str) -> (&str, &str) {
    match path.rsplit_once('/') {
        Some((d, n)) => (d, n),
        None => ("", path),
    }
}

/// Splits `path` into (root, path inside the root) for the deepest root that holds it.
fn owner<'a>(roots: &[RootFiles], path: &'a str) -> Option<(usize, &'a str)> {
    roots
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            if r.root.is_empty() {
                Some((i, path))
            } else {
                path.strip_prefix(r.root.as_str())
                    .and_then(|rest| rest.strip_prefix('/'))
                    .map(|rest| (i, rest))
            }
        })
        .max_by_key(|(i, _)| roots[*i].root.len())
}

/// The roots below `files` (sorted, already filtered), each with the layout that marks it.
/// A folder marked by the YAML layout is a YAML root (pac reads YAML when `solutions/` holds a
/// `solution.yml`); one marked by the XML layout is never also a zip root, so the lower-case
/// look-alikes beside `Other/` stay decoys.
fn roots(files: &[&str], set: &HashSet<&str>) -> Vec<RootFiles> {
    let mut found: std::collections::BTreeMap<&str, Layout> = std::collections::BTreeMap::new();
    for f in files {
        let split = split_last(f);
        for layout in Layout::ALL {
            if let Some(root) = layout.root_marked_by(f, split, set) {
                let rank = |l: Layout| match l {
                    Layout::Yaml => 0,
                    Layout::Xml => 1,
                    Layout::Zip => 2,
                };
                let e = found.entry(root).or_insert(layout);
                if rank(layout) < rank(*e) {
                    *e = layout;
                }
            }
        }
    }
    found.into_iter().map(|(root, layout)| RootFiles::new(root, layout)).collect()
}

/// `files` must be sorted, and hold only what discovery reads ([`kept`]).
pub fn discover(files: &[&str]) -> Discovery {
    let set: HashSet<&str> = files.iter().copied().collect();
    let mut roots = roots(files, &set);
    let mut other_json = Vec::new();
    for &f in files {
        let claimed = match owner(&roots, f) {
            Some((i, rel)) => {
                let layout = roots[i].layout;
                layout.claim(&mut roots[i], f, rel, &set)
            }
            None => false,
        };
        if !claimed && f.ends_with(".json") {
            other_json.push(f.to_owned());
        }
    }
    for r in &mut roots {
        pair_modern_flows(r);
    }
    Discovery { roots, other_json }
}

/// Component folders of SolutionPackager output whose `.json` files are never settings files.
const COMPONENT_DIRS: &[&str] = &[
    "Other",
    "Entities",
    "WebResources",
    "Connectors",
    "bots",
    "botcomponents",
    "customapis",
    "OptionSets",
    "AppModules",
    "AppModuleSiteMaps",
    "PluginAssemblies",
    "dvtablegroups",
    "Roles",
    "Workflows",
    "environmentvariabledefinitions",
    "CanvasApps",
    "Assets",
];

fn claim_xml(layout: Layout, root: &mut RootFiles, path: &str, rel: &str, set: &HashSet<&str>) -> bool {
    // The first four segments, on the stack: this runs for every file, and no pattern below
    // tells four segments from more.
    let mut first = [""; 4];
    let mut count = 0;
    for (slot, seg) in first.iter_mut().zip(rel.split('/')) {
        *slot = seg;
        count += 1;
    }
    match &first[..count] {
        [dir, name] if dir.eq_ignore_ascii_case("Workflows") => {
            if name.ends_with(".json") {
                let data = format!("{path}.data.xml");
                let meta = set.contains(data.as_str()).then_some(data);
                root.flows.push(FlowFiles {
                    json: Some(path.to_owned()),
                    meta,
                });
            }
            true
        }
        [dir, _, name] if dir.eq_ignore_ascii_case("environmentvariabledefinitions") => {
            if name.eq_ignore_ascii_case("environmentvariabledefinition.xml") {
                root.env_vars.push(path.to_owned());
            }
            true
        }
        [dir, name] if dir.eq_ignore_ascii_case("CanvasApps") => {
            if name.ends_with(".meta.xml") {
                root.apps.push(path.to_owned());
            }
            true
        }
        [dir, name] if dir.eq_ignore_ascii_case("Assets") => {
            if name.eq_ignore_ascii_case("botcomponent_connectionreferenceset.xml") {
                root.bot_sets.push(path.to_owned());
            }
            true
        }
        [name] if layout == Layout::Zip => name.eq_ignore_ascii_case("[Content_Types].xml"),
        [first, _, ..] => COMPONENT_DIRS.iter().any(|d| d.eq_ignore_ascii_case(first)),
        _ => false,
    }
}

/// Pairs each `modernflows/<folder>/workflow.yml` with the JSON beside it (the one named by
/// the folder's GUID first). A folder without workflow.yml still yields its flows, whose
/// metadata is then missing (CR509); one without JSON yields a flow the loader reports.
fn pair_modern_flows(root: &mut RootFiles) {
    for (folder, (jsons, meta)) in std::mem::take(&mut root.modern) {
        let suffix = format!("-{}.json", folder.to_ascii_lowercase());
        match meta {
            Some(meta) => {
                let json = jsons
                    .iter()
                    .find(|j| j.to_ascii_lowercase().ends_with(&suffix))
                    .or(jsons.first())
                    .cloned();
                root.flows.push(FlowFiles { json, meta: Some(meta) });
            }
            None => root
                .flows
                .extend(jsons.into_iter().map(|j| FlowFiles { json: Some(j), meta: None })),
        }
    }
}

/// Top-level folders of the YAML layout whose files are never settings files.
const YAML_COMPONENT_DIRS: &[&str] = &[
    "solutions",
    "publishers",
    "connectionreferences",
    "modernflows",
    "workflows",
    "canvasapps",
    "environmentvariabledefinitions",
    "connectors",
    "entities",
    "entityrelationships",
    "optionsets",
    "webresources",
    "bots",
    "botcomponents",
    "botcomponent_connectionreferenceset",
    "botcomponent_workflowset",
    "customapis",
    "appmodules",
    "appmodulesitemaps",
    "roles",
    "pluginassemblies",
    "dvtablegroups",
    "assets",
];

fn claim_yaml(root: &mut RootFiles, path: &str, rel: &str, set: &HashSet<&str>) -> bool {
    let segs: Vec<&str> = rel.split('/').collect();
    match segs.as_slice() {
        ["solutions", _, "solution.yml"] => {
            let dir = split_last(path).0;
            let sibling = |n: &str| Some(join(dir, n)).filter(|p| set.contains(p.as_str()));
            root.manifests.push(ManifestFiles {
                manifest: path.to_owned(),
                components: sibling("solutioncomponents.yml"),
                missing: sibling("missingdependencies.yml"),
            });
            true
        }
        ["publishers", _, "publisher.yml"] => {
            root.publishers.push(path.to_owned());
            true
        }
        ["connectionreferences", _, "connectionreference.yml"] => {
            root.definitions.push(path.to_owned());
            true
        }
        ["modernflows", folder, name] => {
            let slot = root.modern.entry((*folder).to_owned()).or_default();
            if *name == "workflow.yml" {
                slot.1 = Some(path.to_owned());
            } else if name.ends_with(".json") {
                slot.0.push(path.to_owned());
            }
            true
        }
        ["modernflows", name] => {
            if name.ends_with(".json") {
                let data = [format!("{path}.data.xml"), format!("{}.yml", path.trim_end_matches(".json"))]
                    .into_iter()
                    .find(|m| set.contains(m.as_str()));
                root.flows.push(FlowFiles {
                    json: Some(path.to_owned()),
                    meta: data,
                });
            }
            true
        }
        ["environmentvariabledefinitions", _, name] => {
            if name.eq_ignore_ascii_case("environmentvariabledefinition.xml") {
                root.env_vars.push(path.to_owned());
            }
            true
        }
        ["canvasapps", .., name] => {
            if name.ends_with(".meta.xml") {
                root.apps.push(path.to_owned());
            }
            true
        }
        [first, .., name] if first.eq_ignore_ascii_case("botcomponent_connectionreferenceset") || first.eq_ignore_ascii_case("assets") => {
            let named = name.to_ascii_lowercase().starts_with("botcomponent_connectionreferenceset")
                || first.eq_ignore_ascii_case("botcomponent_connectionreferenceset");
            if named && (name.ends_with(".xml") || name.ends_with(".yml")) {
                root.bot_sets.push(path.to_owned());
            }
            true
        }
        [first, _, ..] => YAML_COMPONENT_DIRS.iter().any(|d| d.eq_ignore_ascii_case(first)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Discovery as the loader runs it: sorted, without what is never read.
    fn discover(list: &[&str]) -> Discovery {
        let mut v: Vec<&str> = list.iter().copied().filter(|f| kept(f, &GlobSet::empty())).collect();
        v.sort();
        super::discover(&v)
    }

    #[test]
    fn finds_roots_at_any_depth_and_ignores_decoys() {
        let l = discover(&[
            "solution.xml",
            "customizations.xml",
            "[Content_Types].xml",
            "Other/Solution.xml",
            "Other/Customizations.xml",
            "Workflows/A-625AC674-7D13-2184-4D44-FB6C6D48C11C.json",
            "Workflows/A-625AC674-7D13-2184-4D44-FB6C6D48C11C.json.data.xml",
            "Workflows/B.xaml",
            "x/SolutionPackage/src/Other/Solution.xml",
            "x/SolutionPackage/src/Other/Customizations.xml",
            "x/SolutionPackage/src/Workflows/B-625AC674-7D13-2184-4D44-FB6C6D48C11D.json",
            "x/config/Prod/deploymentSettings.json",
            "y/Other/Solution.xml",
            "config/Test/deploymentSettings.json",
            "Connectors/c_openapidefinition.json",
            "node_modules/z/Other/Solution.xml",
            "node_modules/z/Other/Customizations.xml",
        ]);
        let roots: Vec<(&str, Layout)> = l.roots.iter().map(|r| (r.root.as_str(), r.layout)).collect();
        assert_eq!(roots, [("", Layout::Xml), ("x/SolutionPackage/src", Layout::Xml)]);
        assert_eq!(l.roots[0].flows.len(), 1);
        assert!(l.roots[0].flows[0].meta.is_some());
        assert_eq!(l.roots[1].flows.len(), 1, "a nested root owns its own flows");
        assert!(l.roots[1].flows[0].meta.is_none());
        assert_eq!(
            l.other_json,
            ["config/Test/deploymentSettings.json", "x/config/Prod/deploymentSettings.json"]
        );
    }

    #[test]
    fn finds_yaml_and_zip_roots() {
        let l = discover(&[
            "flows/solutions/Billing/solution.yml",
            "flows/solutions/Billing/solutioncomponents.yml",
            "flows/solutions/Extra/solution.yml",
            "flows/publishers/Contoso/publisher.yml",
            "flows/connectionreferences/c_billing_outlook/connectionreference.yml",
            "flows/modernflows/8a7b6c5d-4e3f-4a1b-9c8d-7e6f5a4b3c21/workflow.yml",
            "flows/modernflows/8a7b6c5d-4e3f-4a1b-9c8d-7e6f5a4b3c21/Pay-8A7B6C5D-4E3F-4A1B-9C8D-7E6F5A4B3C21.json",
            "flows/modernflows/9a7b6c5d-4e3f-4a1b-9c8d-7e6f5a4b3c21/workflow.yml",
            "flows/modernflows/Flat-7A7B6C5D-4E3F-4A1B-9C8D-7E6F5A4B3C21.json",
            "flows/config/Prod/deploymentSettings.json",
            "zip/solution.xml",
            "zip/customizations.xml",
            "zip/[Content_Types].xml",
            "zip/Workflows/A-625AC674-7D13-2184-4D44-FB6C6D48C11C.json",
            "solutions/readme.md",
        ]);
        let roots: Vec<(&str, Layout)> = l.roots.iter().map(|r| (r.root.as_str(), r.layout)).collect();
        assert_eq!(roots, [("flows", Layout::Yaml), ("zip", Layout::Zip)]);
        let y = &l.roots[0];
        assert_eq!(y.manifests.len(), 2);
        assert!(y.manifests[0].components.is_some());
        assert_eq!(y.definitions.len(), 1);
        assert_eq!(y.publishers.len(), 1);
        assert_eq!(y.flows.len(), 3);
        assert!(
            y.flows.iter().any(|f| f.json.is_none()),
            "a folder without its JSON is still a flow"
        );
        assert_eq!(l.roots[1].flows.len(), 1);
        assert_eq!(l.other_json, ["flows/config/Prod/deploymentSettings.json"]);
    }
}
