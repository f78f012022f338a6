//! Discovery: which files of a tree belong to which solution root.
//!
//! Works on a list of repository-relative paths, so the same code serves the working tree,
//! the index and any git revision. Reading and parsing happen later, in `load`.

use globset::GlobSet;

/// A candidate solution root and the files of it that connref reads.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RootFiles {
    /// `""` for the repository root, else `path/to/root` (no trailing slash).
    pub root: String,
    pub solution_xml: String,
    pub customizations_xml: String,
    /// Each cloud flow's `.json` and its `.json.data.xml` when it exists.
    pub flows: Vec<(String, Option<String>)>,
    pub env_vars: Vec<String>,
    pub apps: Vec<String>,
    pub bot_sets: Vec<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Layout {
    pub roots: Vec<RootFiles>,
    /// `.json` files outside solution roots' component folders: possible settings files.
    pub other_json: Vec<String>,
}

/// Folders that never hold solution source.
pub const SKIPPED_DIRS: &[&str] = &[".git", "target", "node_modules"];

fn join(root: &str, rel: &str) -> String {
    if root.is_empty() { rel.to_owned() } else { format!("{root}/{rel}") }
}

/// Splits `path` into (root, path inside the root) for the deepest root that holds it.
fn owner<'a>(roots: &[String], path: &'a str) -> Option<(usize, &'a str)> {
    roots
        .iter()
        .enumerate()
        .filter_map(|(i, r)| {
            if r.is_empty() {
                Some((i, path))
            } else {
                path.strip_prefix(r.as_str())
                    .and_then(|rest| rest.strip_prefix('/'))
                    .map(|rest| (i, rest))
            }
        })
        .max_by_key(|(i, _)| roots[*i].len())
}

/// `files` must be sorted; `exclude` matches repository-relative paths.
pub fn layout(files: &[String], exclude: &GlobSet) -> Layout {
    let kept: Vec<&String> = files
        .iter()
        .filter(|f| !exclude.is_match(f.as_str()) && !f.split('/').any(|seg| SKIPPED_DIRS.contains(&seg)))
        .collect();
    let set: std::collections::HashSet<&str> = kept.iter().map(|f| f.as_str()).collect();
    let mut root_names: Vec<String> = kept
        .iter()
        .filter_map(|f| {
            let root = if f.as_str() == "Other/Solution.xml" {
                ""
            } else {
                f.strip_suffix("/Other/Solution.xml")?
            };
            set.contains(join(root, "Other/Customizations.xml").as_str())
                .then(|| root.to_owned())
        })
        .collect();
    root_names.sort();
    let mut roots: Vec<RootFiles> = root_names
        .iter()
        .map(|r| RootFiles {
            root: r.clone(),
            solution_xml: join(r, "Other/Solution.xml"),
            customizations_xml: join(r, "Other/Customizations.xml"),
            ..Default::default()
        })
        .collect();
    let mut other_json = Vec::new();
    for f in kept {
        let claimed = match owner(&root_names, f) {
            Some((i, rel)) => claim(&mut roots[i], f, rel, &set),
            None => false,
        };
        if !claimed && f.ends_with(".json") {
            other_json.push(f.clone());
        }
    }
    Layout { roots, other_json }
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

/// Files a root owns. Returns whether the file is solution source (and so no settings file).
fn claim(root: &mut RootFiles, path: &str, rel: &str, set: &std::collections::HashSet<&str>) -> bool {
    let segs: Vec<&str> = rel.split('/').collect();
    match segs.as_slice() {
        [dir, name] if dir.eq_ignore_ascii_case("Workflows") => {
            if name.ends_with(".json") {
                let data = format!("{path}.data.xml");
                let data = set.contains(data.as_str()).then_some(data);
                root.flows.push((path.to_owned(), data));
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
        [first, _, ..] => COMPONENT_DIRS.iter().any(|d| d.eq_ignore_ascii_case(first)),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn files(list: &[&str]) -> Vec<String> {
        let mut v: Vec<String> = list.iter().map(|s| (*s).to_owned()).collect();
        v.sort();
        v
    }

    #[test]
    fn finds_roots_at_any_depth_and_ignores_decoys() {
        let l = layout(
            &files(&[
                "solution.xml",
                "customizations.xml",
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
            ]),
            &GlobSet::empty(),
        );
        let roots: Vec<&str> = l.roots.iter().map(|r| r.root.as_str()).collect();
        assert_eq!(roots, ["", "x/SolutionPackage/src"]);
        assert_eq!(l.roots[0].flows.len(), 1);
        assert!(l.roots[0].flows[0].1.is_some());
        assert_eq!(l.roots[1].flows.len(), 1, "a nested root owns its own flows");
        assert!(l.roots[1].flows[0].1.is_none());
        assert_eq!(
            l.other_json,
            ["config/Test/deploymentSettings.json", "x/config/Prod/deploymentSettings.json"]
        );
    }
}
