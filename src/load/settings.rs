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
use crate::model::Solution;
use crate::model::settings::SettingsFile;
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
const GENERIC_WORDS: &[&str] = &["deploymentsettings", "deployment", "deploy", "settings", "setting", "config", "pac"];

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

/// The environment a file deploys to, from its path: the file-name stem without words such as
/// `deploymentSettings` or `settings` (`deploymentSettings.prod.json`, `settings-prod.json` and
/// `prod.json` are `prod`); when nothing is left, the folder name (`config/Prod/
/// deploymentSettings.json` is `Prod`); when the folder is `config` or the like, `default`.
pub fn environment_of(path: &str) -> String {
    let name = file_name(path);
    let stem = name
        .len()
        .checked_sub(5)
        .filter(|&n| name.get(n..).is_some_and(|ext| ext.eq_ignore_ascii_case(".json")))
        .map_or(name, |n| &name[..n]);
    let words: Vec<&str> = stem
        .split(['.', '-', '_', ' '])
        .filter(|w| !w.is_empty() && !GENERIC_WORDS.contains(&w.to_ascii_lowercase().as_str()))
        .collect();
    if !words.is_empty() {
        return words.join("-");
    }
    let mut segs: Vec<&str> = path.split('/').collect();
    segs.pop();
    match segs.last() {
        Some(folder) if !GENERIC_FOLDERS.contains(&folder.to_ascii_lowercase().as_str()) => (*folder).to_owned(),
        _ => "default".to_owned(),
    }
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

fn holds(home: &str, path: &str) -> bool {
    home.is_empty() || path.strip_prefix(home).is_some_and(|r| r.starts_with('/'))
}

/// UniqueNames in first-seen order, without repeats (twin managed/unmanaged roots share one).
fn names<'a>(it: impl Iterator<Item = &'a Solution>) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for s in it {
        if !out.iter().any(|n| n.eq_ignore_ascii_case(&s.unique_name)) {
            out.push(s.unique_name.clone());
        }
    }
    out
}

/// Ties a file to its solution: the solution whose folder tree holds it, else the only solution,
/// else the solutions that define the names it lists. Returns (solutions, candidates): when
/// it stays ambiguous, no solution and the candidates.
pub fn tie(file: &SettingsFile, solutions: &[Solution]) -> (Vec<String>, Vec<String>) {
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
    let by_names = |pool: Vec<&Solution>| -> (Vec<String>, Vec<String>) {
        let any: Vec<&Solution> = pool.iter().copied().filter(|s| defines(s).0 > 0).collect();
        let any_names = names(any.iter().copied());
        if any_names.len() == 1 {
            return (any_names, Vec::new());
        }
        let all = names(any.iter().copied().filter(|s| {
            let (n, total) = defines(s);
            n == total
        }));
        if all.len() == 1 {
            return (all, Vec::new());
        }
        let candidates = if any_names.is_empty() { names(pool.into_iter()) } else { any_names };
        (Vec::new(), candidates)
    };
    let path: &str = &file.path;
    let holders: Vec<&Solution> = solutions.iter().filter(|s| holds(solution_home(&s.root), path)).collect();
    if let Some(depth) = holders.iter().map(|s| solution_home(&s.root).len()).max() {
        let deepest: Vec<&Solution> = holders.into_iter().filter(|s| solution_home(&s.root).len() == depth).collect();
        let n = names(deepest.iter().copied());
        if n.len() == 1 {
            return (n, Vec::new());
        }
        return by_names(deepest);
    }
    let all = names(solutions.iter());
    if all.len() == 1 {
        return (all, Vec::new());
    }
    by_names(solutions.iter().collect())
}

/// Finds, reads and ties every settings file among `files` (repository-relative, already
/// scoped and sorted). `other_json` (sorted) are the JSON files outside solution source.
pub fn discover(source: &dyn Source, files: &[String], other_json: &[String], solutions: &[Solution], config: &Config) -> Discovered {
    let maps = &config.settings.map;
    let mut candidates: Vec<(&str, Option<&SettingsMap>)> = Vec::new();
    for f in files {
        let map = maps.iter().find(|m| m.file_set.is_match(f.as_str()));
        if map.is_some() || other_json.binary_search(f).is_ok() {
            candidates.push((f, map));
        }
    }
    let mut out = Discovered::default();
    for (path, map) in candidates {
        if map.is_none() && is_custom_settings(path) {
            continue;
        }
        if let Some(mut file) = read(source, path, map.is_some(), &mut out) {
            file.mapped = map.is_some();
            file.environment = match map.and_then(|m| m.environment.clone()) {
                Some(e) => e,
                None => environment_of(path),
            };
            match map.and_then(|m| m.solution.as_deref()) {
                Some(name) => {
                    file.solutions = names(solutions.iter().filter(|s| s.unique_name.eq_ignore_ascii_case(name)));
                }
                None if file.invalid => {
                    let (s, _) = tie(&file, solutions);
                    file.solutions = s;
                }
                None => {
                    let (s, c) = tie(&file, solutions);
                    file.solutions = s;
                    file.candidates = c;
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
        path: Arc::from(path),
        environment: String::new(),
        solutions: Vec::new(),
        candidates: Vec::new(),
        mapped: false,
        invalid: true,
        root_loc,
        references: Vec::new(),
        references_loc: None,
        variables: None,
        variables_loc: None,
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
        assert_eq!(environment_of("Kit/config/Prod/deploymentSettings.json"), "Prod");
        assert_eq!(environment_of("deploymentSettings.prod.json"), "prod");
        assert_eq!(environment_of("x/settings-prod.json"), "prod");
        assert_eq!(environment_of("x/prod.json"), "prod");
        assert_eq!(environment_of("config/deploymentSettings-Test.json"), "Test");
        assert_eq!(environment_of("config/deploymentSettings.json"), "default");
        assert_eq!(environment_of("deploymentSettings.json"), "default");
        assert_eq!(environment_of("deploy/deployment-settings.uat.json"), "uat");
    }

    #[test]
    fn homes() {
        assert_eq!(solution_home("Kit/SolutionPackage/src"), "Kit");
        assert_eq!(solution_home("Kit/SolutionPackage"), "Kit");
        assert_eq!(solution_home("src"), "");
        assert_eq!(solution_home(""), "");
        assert_eq!(solution_home("solutions/Billing"), "solutions/Billing");
        assert!(holds("Kit", "Kit/config/Prod/deploymentSettings.json"));
        assert!(!holds("Kit", "Kit2/config/x.json"));
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
