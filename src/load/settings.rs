//! Discovery of deployment settings files: which JSON files are settings, which environment
//! each deploys to, and which solution each covers.
//!
//! A settings file is a JSON file whose top-level object has `ConnectionReferences` or
//! `EnvironmentVariables`, or a file that `[[settings.map]]` names. The ALM Accelerator's
//! `customDeploymentSettings.json` and its deployment-profile format are recognised and left
//! alone; any other JSON file (`package.json`…) is ignored quietly.

use std::sync::Arc;

use crate::config::{Config, SettingsMap};
use crate::finding::{Finding, Loc};
use crate::model::settings::SettingsFile;
use crate::model::{Solution, in_root};
use crate::parse::json::{self, Value};
use crate::parse::settings as parser;
use crate::rules::registry;
use crate::text::{self, SourceFile};

use super::Source;

/// What discovery found: the settings files (valid or not), CR409 findings, and the text of
/// every settings file read (for snippets).
#[derive(Debug, Default)]
pub struct Discovered {
    pub files: Vec<SettingsFile>,
    pub problems: Vec<Finding>,
    pub sources: Vec<SourceFile>,
}

pub fn cr409(loc: Loc, message: impl Into<String>) -> Finding {
    Finding::new(&registry::CR409, loc, message.into())
        .help("fix the file at this position: pipelines cannot read it; connref checked every other settings file")
}

/// Words that name the kind of file, not its environment.
const GENERIC_WORDS: &[&str] = &[
    "deploymentsettings",
    "deploymentconfig",
    "deployment",
    "deploy",
    "settings",
    "setting",
    "config",
    "configuration",
    "pac",
];

/// Folder names that hold settings files but are no environment.
const GENERIC_FOLDERS: &[&str] = &[
    "config",
    "configs",
    "settings",
    "deployment",
    "deploy",
    "deploymentsettings",
    "pipelines",
];

fn file_name(path: &str) -> &str {
    path.rsplit('/').next().unwrap_or(path)
}

fn squash(s: &str) -> String {
    s.chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase()
}

/// `deploymentSettings*.json` (and `deployment-settings…`, `deployment_settings…`): named as a
/// settings file, so it is reported when it cannot be read.
fn is_settings_named(path: &str) -> bool {
    let name = squash(file_name(path));
    name.contains("deploymentsettings") && !is_custom_settings(path)
}

/// The ALM Accelerator's `customDeploymentSettings.json`: another format, not read.
fn is_custom_settings(path: &str) -> bool {
    squash(file_name(path)).starts_with("customdeploymentsettings")
}

/// The ALM Accelerator's deployment profile: an array of `{DeploymentEnvironmentName, …}`.
fn is_deployment_profile(root: &Value<'_>) -> bool {
    let items = root.items();
    !items.is_empty() && items.iter().any(|i| i.get("DeploymentEnvironmentName").is_some())
}

/// Whether the text names a settings key, so that a file that fails to parse is still reported.
fn mentions_settings_keys(bytes: &[u8]) -> bool {
    let has = |needle: &[u8]| memchr::memmem::find(bytes, needle).is_some();
    has(b"\"ConnectionReferences\"") || has(b"\"EnvironmentVariables\"")
}

/// A cheap test before parsing: whether the bytes may hold a settings key in any letter case
/// (UTF-16 files are always parsed). Other JSON files are skipped without being parsed.
fn may_hold_settings_keys(bytes: &[u8]) -> bool {
    if bytes.starts_with(b"\xFF\xFE") || bytes.starts_with(b"\xFE\xFF") {
        return true;
    }
    let lower = bytes.to_ascii_lowercase();
    let has = |needle: &[u8]| memchr::memmem::find(&lower, needle).is_some();
    has(b"\"connectionreferences\"") || has(b"\"environmentvariables\"")
}

/// Camel-case parts of a word as byte ranges: `deploymentConfig` → `deployment`, `Config`.
fn camel_parts(word: &str) -> Vec<(usize, usize)> {
    let mut parts = Vec::new();
    let mut start = 0;
    let mut prev: Option<char> = None;
    for (i, c) in word.char_indices() {
        if c.is_uppercase() && prev.is_some_and(|p| p.is_lowercase() || p.is_ascii_digit()) {
            parts.push((start, i));
            start = i;
        }
        prev = Some(c);
    }
    parts.push((start, word.len()));
    parts
}

/// A piece of a GUID or a hash in a file name (`0b3a2f1e`), which names no environment.
fn is_hex_id(word: &str) -> bool {
    word.len() >= 4 && word.bytes().all(|b| b.is_ascii_hexdigit()) && word.bytes().any(|b| b.is_ascii_digit())
}

/// The environment a file deploys to, from its path, as it is spelled there: the file-name
/// stem without words such as `deploymentSettings` or `config` (camel case is split first, so
/// `deploymentConfig` is all generic), without GUIDs and without `known` names (publisher
/// prefixes and solution names): `deploymentSettings.prod.json`, `settings-prod.json`,
/// `prod.json` and `contoso_prod.<guid>.json` are `prod`. When nothing is left, the folder
/// name (`config/Prod/deploymentSettings.json` is `Prod`); when the folder is `config` or the
/// like, `None`.
pub fn environment_of(path: &str, known: &[&str]) -> Option<String> {
    let name = file_name(path);
    let stem = name
        .len()
        .checked_sub(5)
        .filter(|&n| name.get(n..).is_some_and(|ext| ext.eq_ignore_ascii_case(".json")))
        .map_or(name, |n| &name[..n]);
    let mut kept: Vec<(usize, usize)> = Vec::new();
    let mut start = 0;
    for word in stem.split(['.', '-', '_', ' ']) {
        let at = start;
        start += word.len() + 1;
        if word.is_empty() || is_hex_id(word) || known.iter().any(|k| k.eq_ignore_ascii_case(word)) {
            continue;
        }
        let parts: Vec<(usize, usize)> = camel_parts(word)
            .into_iter()
            .filter(|&(a, b)| !GENERIC_WORDS.contains(&word[a..b].to_ascii_lowercase().as_str()))
            .collect();
        if let (Some(first), Some(last)) = (parts.first(), parts.last()) {
            kept.push((at + first.0, at + last.1));
        }
    }
    if let (Some(first), Some(last)) = (kept.first(), kept.last()) {
        return Some(stem[first.0..last.1].to_owned());
    }
    let mut segs: Vec<&str> = path.split('/').collect();
    segs.pop();
    segs.last()
        .filter(|folder| !GENERIC_FOLDERS.contains(&folder.to_ascii_lowercase().as_str()))
        .map(|folder| (*folder).to_owned())
}

/// Publisher prefixes and UniqueNames: words of a settings file name that name no environment.
pub fn known_names(solutions: &[Solution]) -> Vec<&str> {
    let mut out: Vec<&str> = Vec::new();
    for s in solutions {
        out.push(&s.manifest.unique_name);
        if let Some(p) = s.manifest.prefix.as_deref() {
            out.push(p.trim_end_matches('_'));
        }
    }
    out
}

/// The folder that holds a solution's source and its pipeline files: the root without a
/// trailing `src` or `SolutionPackage` (`Kit/SolutionPackage/src` → `Kit`).
pub fn solution_home(root: &str) -> &str {
    let mut home = root;
    loop {
        let (parent, last) = match home.rsplit_once('/') {
            Some((p, l)) => (p, l),
            None => ("", home),
        };
        if !home.is_empty() && (last.eq_ignore_ascii_case("src") || last.eq_ignore_ascii_case("SolutionPackage")) {
            home = parent;
        } else {
            return home;
        }
    }
}

/// UniqueNames in first-seen order, without repeats (twin managed/unmanaged roots share one).
fn names<'a>(it: impl Iterator<Item = &'a Solution>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in it {
        if !out.iter().any(|n| n.eq_ignore_ascii_case(&s.manifest.unique_name)) {
            out.push(s.manifest.unique_name.clone());
        }
    }
    out
}

/// How a settings file is tied to the solutions of the tree.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Tie {
    pub solutions: Vec<String>,
    /// When it stays ambiguous: the solutions it could belong to.
    pub candidates: Vec<String>,
    /// The folder names a solution that is not in the tree.
    pub missing: Option<String>,
    /// The one root that holds the file, when that decides between twin roots.
    pub root: Option<String>,
}

impl Tie {
    fn to(solutions: Vec<String>) -> Self {
        Tie {
            solutions,
            ..Tie::default()
        }
    }
}

/// The folder that a settings file's path names as its solution's: the one above a generic
/// folder (`Old` in `Old/config/Prod/deploymentSettings.json`).
fn solution_folder(path: &str) -> Option<&str> {
    let segs: Vec<&str> = path.split('/').collect();
    let dirs = &segs[..segs.len().saturating_sub(1)];
    dirs.windows(2)
        .rev()
        .find(|w| {
            GENERIC_FOLDERS.contains(&w[1].to_ascii_lowercase().as_str()) && !GENERIC_FOLDERS.contains(&w[0].to_ascii_lowercase().as_str())
        })
        .map(|w| w[0])
}

/// Ties a file to its solution, by folder first: the solution whose folder tree holds it, else
/// the solution its folder names (`Billing/config/…` is `Billing`'s); a folder that names no
/// solution of the tree means that solution is missing. Then the only solution, else the
/// solutions that define the names it lists; when it stays ambiguous, the candidates.
pub fn tie(file: &SettingsFile, solutions: &[Solution]) -> Tie {
    let defines = |s: &Solution| -> (usize, usize) {
        let refs = file.references.iter().map(|r| r.logical_name.as_str());
        let vars = file.variables.iter().flatten().map(|v| v.schema_name.as_str());
        let mut n = 0;
        let mut total = 0;
        for name in refs {
            total += 1;
            n += usize::from(s.reference(name).is_some());
        }
        for name in vars {
            total += 1;
            n += usize::from(s.env_vars.iter().any(|v| v.schema_name.eq_ignore_ascii_case(name)));
        }
        (n, total)
    };
    let by_names = |pool: Vec<&Solution>| -> Tie {
        let any: Vec<&Solution> = pool.iter().copied().filter(|s| defines(s).0 > 0).collect();
        let any_names = names(any.iter().copied());
        if any_names.len() == 1 {
            return Tie::to(any_names);
        }
        let all = names(any.iter().copied().filter(|s| {
            let (n, total) = defines(s);
            n == total
        }));
        if all.len() == 1 {
            return Tie::to(all);
        }
        let candidates = if any_names.is_empty() { names(pool.into_iter()) } else { any_names };
        Tie {
            candidates,
            ..Tie::default()
        }
    };
    let path: &str = &file.path;
    let held_by = |at_top: bool| -> Option<Tie> {
        let holders: Vec<&Solution> = solutions
            .iter()
            .filter(|s| solution_home(&s.root).is_empty() == at_top && in_root(solution_home(&s.root), path))
            .collect();
        let depth = holders.iter().map(|s| solution_home(&s.root).len()).max()?;
        let deepest: Vec<&Solution> = holders.into_iter().filter(|s| solution_home(&s.root).len() == depth).collect();
        let n = names(deepest.iter().copied());
        Some(match (n.len(), deepest.as_slice()) {
            (1, [one]) => Tie {
                root: Some(one.root.clone()),
                ..Tie::to(n)
            },
            (1, _) => Tie::to(n),
            _ => by_names(deepest),
        })
    };
    if let Some(tie) = held_by(false) {
        return tie;
    }
    // A solution at the top of the repository holds every path, so the folder's name is the
    // better evidence when it names one.
    if let Some(folder) = solution_folder(path) {
        let named = names(solutions.iter().filter(|s| {
            s.manifest.unique_name.eq_ignore_ascii_case(folder)
                || solution_home(&s.root)
                    .rsplit('/')
                    .next()
                    .is_some_and(|h| h.eq_ignore_ascii_case(folder))
        }));
        if !named.is_empty() {
            return if named.len() == 1 {
                Tie::to(named)
            } else {
                by_names(solutions.iter().collect())
            };
        }
        // `Old/config/Prod/…` beside other solutions' folders: `Old` was removed. A folder
        // that holds solution roots elsewhere (a `solutions/` parent) is not a solution's.
        let parent = path.split('/').take_while(|s| *s != folder).collect::<Vec<_>>().join("/");
        let folder_path = if parent.is_empty() {
            folder.to_owned()
        } else {
            format!("{parent}/{folder}")
        };
        if !solutions.iter().any(|s| in_root(&folder_path, &s.root) || s.root == folder_path) {
            return Tie {
                missing: Some(folder.to_owned()),
                ..Tie::default()
            };
        }
    }
    if let Some(tie) = held_by(true) {
        return tie;
    }
    let all = names(solutions.iter());
    if all.len() == 1 {
        return Tie::to(all);
    }
    by_names(solutions.iter().collect())
}

/// Finds, reads and ties every settings file among `files` (repository-relative, already
/// scoped and sorted). `other_json` (sorted) are the JSON files outside solution source.
pub fn discover(source: &dyn Source, files: &[&str], other_json: &[String], solutions: &[Solution], config: &Config) -> Discovered {
    let maps = &config.settings.map;
    let mut candidates: Vec<(&str, Option<&SettingsMap>)> = Vec::new();
    for &f in files {
        let map = maps.iter().find(|m| m.file_set.is_match(f));
        if map.is_some() || other_json.binary_search_by(|o| o.as_str().cmp(f)).is_ok() {
            candidates.push((f, map));
        }
    }
    let mut out = Discovered::default();
    let known = known_names(solutions);
    for (path, map) in candidates {
        if map.is_none() && is_custom_settings(path) {
            continue;
        }
        if let Some(mut file) = read(source, path, map.is_some(), &mut out) {
            file.mapped = map.is_some();
            file.environment = match map.and_then(|m| m.environment.clone()) {
                Some(e) => e,
                None => environment_of(path, &known).unwrap_or_else(|| {
                    // The ALM Accelerator reads `config/deploymentSettings.json` as every
                    // environment's fallback: that name is `default` by design. Any other
                    // name that says nothing (`deploymentConfig.json`) is CR410.
                    file.environment_unknown = !file_name(path).eq_ignore_ascii_case("deploymentSettings.json");
                    "default".to_owned()
                }),
            };
            match map.and_then(|m| m.solution.as_deref()) {
                Some(name) => {
                    file.solutions = names(solutions.iter().filter(|s| s.manifest.unique_name.eq_ignore_ascii_case(name)));
                }
                None => {
                    let tie = tie(&file, solutions);
                    file.solutions = tie.solutions;
                    file.missing_solution = tie.missing;
                    file.root = tie.root;
                    if !file.invalid {
                        file.candidates = tie.candidates;
                    }
                }
            }
            out.files.push(file);
        }
    }
    out.files.sort_by(|a, b| a.path.cmp(&b.path));
    out
}

fn invalid(path: &str, root_loc: Loc) -> SettingsFile {
    SettingsFile {
        invalid: true,
        ..SettingsFile::new(Arc::from(path), root_loc)
    }
}

/// Reads one candidate. `None` when it is no settings file; an invalid settings file comes back
/// with `invalid` set, and its CR409 in `out.problems`.
fn read(source: &dyn Source, path: &str, mapped: bool, out: &mut Discovered) -> Option<SettingsFile> {
    let named = mapped || is_settings_named(path);
    let bytes = match source.read(path) {
        Ok(b) => b,
        Err(e) => {
            if !named {
                return None;
            }
            out.problems
                .push(cr409(Loc::file(path), format!("cannot read the settings file: {e}")));
            return Some(invalid(path, Loc::file(path)));
        }
    };
    if !named && !may_hold_settings_keys(&bytes) {
        return None;
    }
    let looks = named || mentions_settings_keys(&bytes);
    let bom = if bytes.starts_with(b"\xEF\xBB\xBF") { 3 } else { 0 };
    let text = match text::decode(bytes) {
        Ok(t) => t,
        Err(e) => {
            if !looks {
                return None;
            }
            // Decoding consumed the buffer; read it again to show the line of the problem. The
            // bytes before the problem are valid, so the lossy text keeps their offsets.
            let bytes = source.read(path).unwrap_or_default();
            let file = SourceFile::new(path, String::from_utf8_lossy(bytes.get(bom..).unwrap_or_default()).into_owned());
            let loc = file.loc(e.offset.saturating_sub(bom), 1);
            out.problems.push(cr409(loc, e.message));
            out.sources.push(file);
            return Some(invalid(path, Loc::file(path)));
        }
    };
    let file = SourceFile::new(path, text);
    let doc = json::parse(&file.text);
    let is_settings = match &doc {
        Err(_) => looks,
        Ok(d) if is_deployment_profile(&d.root) => mapped,
        Ok(d) if d.root.is_object() => named || parser::is_settings_root(&d.root),
        Ok(_) => looks,
    };
    if !is_settings {
        return None;
    }
    out.sources.push(file.clone());
    match parser::parse(&file) {
        Ok(s) => Some(s),
        Err(e) => {
            out.problems.push(cr409(file.loc(e.offset, 1), e.message));
            Some(invalid(path, file.loc(0, 0)))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn environment_names() {
        let env = |p: &str| environment_of(p, &["contoso", "Billing"]);
        assert_eq!(env("Kit/config/Prod/deploymentSettings.json").as_deref(), Some("Prod"));
        assert_eq!(env("deploymentSettings.prod.json").as_deref(), Some("prod"));
        assert_eq!(env("x/settings-prod.json").as_deref(), Some("prod"));
        assert_eq!(env("x/prod.json").as_deref(), Some("prod"));
        assert_eq!(env("config/deploymentSettings-Test.json").as_deref(), Some("Test"));
        assert_eq!(env("config/deploymentSettings.json"), None);
        assert_eq!(env("deploymentSettings.json"), None);
        assert_eq!(env("deploy/deployment-settings.uat.json").as_deref(), Some("uat"));
        // Spelling is kept; prefixes, solution names and GUIDs are no environment.
        assert_eq!(
            env("x/contoso_prod.0b3a2f1e-1111-4222-8333-944455556666.json").as_deref(),
            Some("prod")
        );
        assert_eq!(env("x/deploymentSettings.pre_prod.json").as_deref(), Some("pre_prod"));
        assert_eq!(env("x/Billing-PreProd.json").as_deref(), Some("PreProd"));
        // Camel case is split before generic words are dropped.
        assert_eq!(env("config/deploymentConfig.json"), None);
        assert_eq!(env("Prod/deploymentConfig.json").as_deref(), Some("Prod"));
        assert_eq!(env("x/deploymentSettingsUat.json").as_deref(), Some("Uat"));
        assert_eq!(env("x/é.json").as_deref(), Some("é"));
    }

    #[test]
    fn solution_folders() {
        assert_eq!(solution_folder("Old/config/Prod/deploymentSettings.json"), Some("Old"));
        assert_eq!(solution_folder("a/Old/deployment/settings.json"), Some("Old"));
        assert_eq!(solution_folder("config/Prod/deploymentSettings.json"), None);
        assert_eq!(solution_folder("deploymentSettings.json"), None);
    }

    #[test]
    fn homes() {
        assert_eq!(solution_home("Kit/SolutionPackage/src"), "Kit");
        assert_eq!(solution_home("Kit/SolutionPackage"), "Kit");
        assert_eq!(solution_home("src"), "");
        assert_eq!(solution_home(""), "");
        assert_eq!(solution_home("solutions/Billing"), "solutions/Billing");
        assert!(in_root("Kit", "Kit/config/Prod/deploymentSettings.json"));
        assert!(!in_root("Kit", "Kit2/config/x.json"));
    }

    #[test]
    fn names_of_files() {
        assert!(is_settings_named("a/deploymentSettings.json"));
        assert!(is_settings_named("a/deployment-settings-prod.json"));
        assert!(!is_settings_named("a/customDeploymentSettings.json"));
        assert!(!is_settings_named(".vscode/settings.json"));
        assert!(is_custom_settings("x/customDeploymentSettings.json"));
    }
}
