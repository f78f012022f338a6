//! `connref.toml`: rule severities, the naming template, excludes and ignores, and the tables
//! of the settings, stability and identity checks. An unknown key is an error with its line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use globset::{Glob, GlobSet, GlobSetBuilder};
use serde::Deserialize;

use crate::finding::{Finding, Severity};
use crate::parse::solution::is_guid;
use crate::rules::registry;

pub const FILE_NAME: &str = "connref.toml";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    Off,
    Info,
    Warning,
    Error,
}

/// Which findings decide the exit code and the verdict when a base is known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum FailOn {
    /// Only what the change introduced (the default).
    #[default]
    New,
    /// Every finding, also those the base already had.
    All,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    /// Which findings fail a check with a base (`--fail-on` overrides it).
    #[serde(default)]
    pub fail_on: Option<FailOn>,
    /// Globs on repository-relative paths that connref never reads.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// `ignore = ["glob", …]` (globs on reference logical names and flow display names, naming
    /// rules CR101–CR104 only) or `[[ignore]]` tables (see [`ScopedIgnore`]).
    #[serde(default, rename = "ignore")]
    ignore_raw: Vec<toml::Value>,
    /// The top-level `ignore = [...]` globs.
    #[serde(skip)]
    pub ignore: Vec<String>,
    /// The `[[ignore]]` tables, in file order.
    #[serde(skip)]
    pub scoped_ignores: Vec<ScopedIgnore>,
    #[serde(default)]
    pub rules: BTreeMap<String, Level>,
    #[serde(default)]
    pub naming: Naming,
    #[serde(default)]
    pub settings: SettingsOptions,
    #[serde(default)]
    pub stability: Stability,
    #[serde(default)]
    pub identities: IdentitiesOptions,
    #[serde(default)]
    pub identity: Vec<Identity>,
    /// `[environments.<Name>]`: the target environments of `verify` and `audit`, as written.
    #[serde(default, rename = "environments")]
    environment_tables: BTreeMap<String, EnvironmentTable>,

    /// The target environments, checked: names as written (matched without case).
    #[serde(skip)]
    pub environments: BTreeMap<String, EnvironmentConfig>,
    /// Where the config was read from, if anywhere.
    #[serde(skip)]
    pub path: Option<PathBuf>,
    #[serde(skip)]
    pub exclude_set: GlobSet,
    #[serde(skip)]
    pub ignore_set: GlobSet,
}

/// One `[[ignore]]` table: findings of `rules` (all rules when left out) whose reference, flow
/// and path match every selector given.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ScopedIgnore {
    /// Codes or names.
    pub rules: Option<Vec<String>>,
    /// Globs on reference logical names (without case, as Dataverse compares them).
    pub references: Option<Vec<String>>,
    /// Globs on flow display names.
    pub flows: Option<Vec<String>>,
    /// Globs on repository-relative paths.
    pub paths: Option<Vec<String>>,
    /// Why, shown by `--show-ignored`.
    pub reason: Option<String>,
    /// The line of its `[[ignore]]` header.
    #[serde(skip)]
    pub line: usize,
    #[serde(skip)]
    rule_codes: Vec<&'static str>,
    #[serde(skip)]
    reference_set: Option<GlobSet>,
    #[serde(skip)]
    flow_set: Option<GlobSet>,
    #[serde(skip)]
    path_set: Option<GlobSet>,
}

impl ScopedIgnore {
    pub fn matches(&self, f: &Finding) -> bool {
        let sel = |set: &Option<GlobSet>, value: Option<&str>| match set {
            None => true,
            Some(set) => value.is_some_and(|v| set.is_match(v)),
        };
        (self.rule_codes.is_empty() || self.rule_codes.contains(&f.code()))
            && sel(&self.reference_set, f.reference.as_deref())
            && sel(&self.flow_set, f.flow.as_deref())
            && sel(&self.path_set, Some(&f.loc.path))
    }

    fn compile(&mut self, line: usize, text: &str) -> Result<()> {
        self.line = line;
        let at = |e: anyhow::Error| anyhow!("line {line}: [[ignore]]: {e:#}");
        for r in self.rules.iter().flatten() {
            match registry::lookup(r) {
                Some(rule) => self.rule_codes.push(rule.code),
                None => bail!("line {line}: [[ignore]]: unknown rule `{r}`: give a code or a name (`connref rules` lists them)"),
            }
        }
        if self.references.is_none() && self.flows.is_none() && self.paths.is_none() && self.rule_codes.is_empty() {
            bail!("line {line}: [[ignore]] needs `rules`, `references`, `flows` or `paths`: as it is, it would hide every finding");
        }
        let set = |globs: &Option<Vec<String>>, what: &str, nocase: bool| -> Result<Option<GlobSet>> {
            globs
                .as_ref()
                .map(|g| {
                    if nocase {
                        glob_set_nocase(g, what, text)
                    } else {
                        glob_set(g, what, text)
                    }
                })
                .transpose()
        };
        self.reference_set = set(&self.references, "references", true).map_err(at)?;
        self.flow_set = set(&self.flows, "flows", false).map_err(at)?;
        self.path_set = set(&self.paths, "paths", false).map_err(at)?;
        Ok(())
    }
}

/// A finding dropped by the config, and what dropped it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ignored {
    pub finding: Finding,
    /// Index into `scoped_ignores`; `None`: the top-level `ignore` globs.
    pub by: Option<usize>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Naming {
    /// Default `{publisher}_{purpose}_{connector}`.
    pub template: Option<String>,
    /// Overrides the solution publisher's CustomizationPrefix.
    pub publisher: Option<String>,
    /// When set, the purpose must be one of these.
    pub purposes: Option<Vec<String>>,
    /// Api name → short name, beside the built-in aliases.
    #[serde(default)]
    pub connectors: BTreeMap<String, String>,
}

impl Naming {
    pub fn template(&self) -> &str {
        self.template.as_deref().unwrap_or("{publisher}_{purpose}_{connector}")
    }

    pub fn connector_aliases(&self) -> Vec<(String, String)> {
        self.connectors.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsOptions {
    /// Pipeline tokens do not count as bound.
    #[serde(default)]
    pub require_literal_ids: bool,
    #[serde(default)]
    pub map: Vec<SettingsMap>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SettingsMap {
    /// Globs on repository-relative paths.
    pub files: Vec<String>,
    pub environment: Option<String>,
    pub solution: Option<String>,
    #[serde(skip)]
    pub file_set: GlobSet,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Stability {
    #[serde(default = "default_max_rebinds")]
    pub max_rebinds: usize,
}

fn default_max_rebinds() -> usize {
    1
}

impl Default for Stability {
    fn default() -> Self {
        Stability {
            max_rebinds: default_max_rebinds(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentitiesOptions {
    #[serde(default = "default_max_flows")]
    pub max_flows_per_reference: usize,
}

fn default_max_flows() -> usize {
    10
}

impl Default for IdentitiesOptions {
    fn default() -> Self {
        IdentitiesOptions {
            max_flows_per_reference: default_max_flows(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Identity {
    pub name: String,
    #[serde(default)]
    pub flows: Vec<String>,
    pub references: Option<Vec<String>>,
    #[serde(default)]
    pub connections: BTreeMap<String, Vec<String>>,

    /// `flows` globs without a `/`: on flow display names.
    #[serde(skip)]
    pub flow_name_set: GlobSet,
    /// `flows` globs with a `/`: on repository-relative flow file paths.
    #[serde(skip)]
    pub flow_path_set: GlobSet,
    /// `references`, compiled without case as Dataverse compares logical names.
    #[serde(skip)]
    pub reference_set: Option<GlobSet>,
}

impl Identity {
    pub fn matches_flow(&self, name: &str, path: &str) -> bool {
        self.flow_name_set.is_match(name) || self.flow_path_set.is_match(path)
    }

    /// Whether `connections` lists `connection_id` for `environment` (both without case).
    pub fn owns_connection(&self, environment: &str, connection_id: &str) -> bool {
        self.connections
            .iter()
            .filter(|(env, _)| env.eq_ignore_ascii_case(environment))
            .flat_map(|(_, ids)| ids)
            .any(|id| id.trim().eq_ignore_ascii_case(connection_id.trim()))
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvironmentTable {
    url: Option<String>,
    id: Option<String>,
    tenant: Option<String>,
    client_id: Option<String>,
    deployer: Option<String>,
}

/// One target environment of `verify` and `audit`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EnvironmentConfig {
    /// The Dataverse URL (`https://contoso.crm.dynamics.com`), without a trailing slash.
    pub url: String,
    /// The environment id, a GUID in lower case.
    pub id: String,
    pub tenant: Option<String>,
    pub client_id: Option<String>,
    /// The object id of the deploying service principal (default: the token's `oid`).
    pub deployer: Option<String>,
}

/// The line of `[environments.<name>]`, and of `key` inside that table.
fn environment_lines(text: &str, name: &str, key: &str) -> (usize, usize) {
    let lines: Vec<&str> = text.lines().collect();
    let header = lines
        .iter()
        .position(|l| {
            let t: String = l.chars().filter(|c| !c.is_whitespace() && *c != '"' && *c != '\'').collect();
            t.starts_with(&format!("[environments.{name}]"))
        })
        .unwrap_or_else(|| line_of(text, name) - 1);
    let key_line = lines
        .iter()
        .enumerate()
        .skip(header + 1)
        .take_while(|(_, l)| !l.trim_start().starts_with('['))
        .find(|(_, l)| l.trim_start().strip_prefix(key).is_some_and(|r| r.trim_start().starts_with('=')))
        .map_or(header + 1, |(i, _)| i + 1);
    (header + 1, key_line)
}

/// Checks `[environments.<Name>]` tables: `url` and `id` present and well-formed.
fn compile_environments(tables: &BTreeMap<String, EnvironmentTable>, text: &str) -> Result<BTreeMap<String, EnvironmentConfig>> {
    let mut out: BTreeMap<String, EnvironmentConfig> = BTreeMap::new();
    for (name, t) in tables {
        let (header, _) = environment_lines(text, name, "");
        let at = |key: &str| environment_lines(text, name, key).1;
        if let Some(other) = out.keys().find(|o| o.eq_ignore_ascii_case(name)) {
            bail!("line {header}: [environments.{name}] and [environments.{other}] name one environment (names are matched without case)");
        }
        let Some(url) = t.url.as_deref().map(str::trim).filter(|u| !u.is_empty()) else {
            bail!("line {header}: [environments.{name}] has no `url` (the Dataverse URL, e.g. url = \"https://contoso.crm.dynamics.com\")");
        };
        let local = ["http://127.0.0.1", "http://localhost", "http://[::1]"]
            .iter()
            .any(|p| url.strip_prefix(p).is_some_and(|r| r.is_empty() || r.starts_with([':', '/'])));
        if !(url.starts_with("https://") || local) {
            bail!(
                "line {}: [environments.{name}] url `{url}` must start with https:// (plain http only for a local test server)",
                at("url")
            );
        }
        let Some(id) = t.id.as_deref().map(str::trim).filter(|u| !u.is_empty()) else {
            bail!(
                "line {header}: [environments.{name}] has no `id` (the environment id, a GUID, shown in the Power Platform admin center)"
            );
        };
        if !is_guid(id) {
            bail!(
                "line {}: [environments.{name}] id `{id}` is not a GUID (like 6f1d3a2e-0c2b-4c8e-9a41-8d2f6b1e7c10)",
                at("id")
            );
        }
        if let Some(d) = &t.deployer
            && !is_guid(d)
        {
            bail!(
                "line {}: [environments.{name}] deployer `{d}` is not a GUID: give the object id of the deploying service principal (Entra ID → Enterprise applications → Object ID), not its name",
                at("deployer")
            );
        }
        let clean = |v: &Option<String>| v.as_deref().map(str::trim).filter(|v| !v.is_empty()).map(str::to_owned);
        out.insert(
            name.clone(),
            EnvironmentConfig {
                url: url.trim_end_matches('/').to_owned(),
                id: id.trim_matches(['{', '}']).to_ascii_lowercase(),
                tenant: clean(&t.tenant),
                client_id: clean(&t.client_id),
                deployer: clean(&t.deployer).map(|d| d.trim_matches(['{', '}']).to_ascii_lowercase()),
            },
        );
    }
    Ok(out)
}

/// `connref.toml` in `start` or the nearest folder above it, up to the repository root: a
/// config above the repository (in a home folder, say) belongs to no one's project.
pub fn find(start: &Path) -> Option<PathBuf> {
    let abs = std::fs::canonicalize(start).ok()?;
    for dir in abs.ancestors() {
        let candidate = dir.join(FILE_NAME);
        if candidate.is_file() {
            return Some(candidate);
        }
        if dir.join(".git").exists() {
            return None;
        }
    }
    None
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines().position(|l| l.contains(needle)).map_or(1, |i| i + 1)
}

/// The line of the `nth` (0-based) `name = "…"` key that holds `name`.
fn name_line(text: &str, name: &str, nth: usize) -> usize {
    let quoted = [format!("\"{name}\""), format!("'{name}'")];
    text.lines()
        .enumerate()
        .filter(|(_, l)| l.trim_start().starts_with("name") && quoted.iter().any(|q| l.contains(q.as_str())))
        .nth(nth)
        .map_or_else(|| line_of(text, name), |(i, _)| i + 1)
}

/// Longest glob accepted: globset compiles a glob to a regex in time that grows faster than its
/// length, and no path or name needs a longer pattern.
const MAX_GLOB_BYTES: usize = 4096;

fn check_glob_len(g: &str, what: &str, text: &str) -> Result<()> {
    if g.len() > MAX_GLOB_BYTES {
        let head: String = g.chars().take(40).collect();
        bail!(
            "line {}: {what} glob `{head}…` is {} bytes long; at most {MAX_GLOB_BYTES} are allowed",
            line_of(text, g),
            g.len()
        );
    }
    Ok(())
}

fn glob_set_nocase(globs: &[String], what: &str, text: &str) -> Result<GlobSet> {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        check_glob_len(g, what, text)?;
        let glob = globset::GlobBuilder::new(g)
            .case_insensitive(true)
            .build()
            .map_err(|e| anyhow!("line {}: {what} glob `{g}` does not compile: {e}", line_of(text, g)))?;
        b.add(glob);
    }
    b.build().map_err(|e| anyhow!("{what} globs do not compile: {e}"))
}

/// Checks `[[identity]]` tables and compiles their globs.
fn compile_identities(identities: &mut [Identity], text: &str) -> Result<()> {
    for i in 0..identities.len() {
        let name = identities[i].name.clone();
        if !crate::naming_template::is_word(&name) {
            bail!(
                "line {}: identity name `{name}` is not a purpose segment (ASCII letters and digits only, as in `servicewriter`)",
                name_line(text, &name, 0)
            );
        }
        if let Some(first) = identities[..i].iter().position(|o| o.name.eq_ignore_ascii_case(&name)) {
            let same_spelling = identities[..i].iter().filter(|o| o.name == name).count();
            bail!(
                "line {}: two identities are named `{name}` (the first is on line {}); give each identity its own name",
                name_line(text, &name, same_spelling),
                name_line(text, &identities[first].name, 0)
            );
        }
        let what = format!("identity `{name}` flows");
        let (paths, names): (Vec<String>, Vec<String>) = identities[i].flows.iter().cloned().partition(|g| g.contains('/'));
        identities[i].flow_name_set = glob_set(&names, &what, text)?;
        identities[i].flow_path_set = glob_set(&paths, &what, text)?;
        if let Some(refs) = &identities[i].references {
            identities[i].reference_set = Some(glob_set_nocase(refs, &format!("identity `{name}` references"), text)?);
        }
    }
    Ok(())
}

pub fn glob_set(globs: &[String], what: &str, text: &str) -> Result<GlobSet> {
    let mut b = GlobSetBuilder::new();
    for g in globs {
        check_glob_len(g, what, text)?;
        let glob = Glob::new(g).map_err(|e| anyhow!("line {}: {what} glob `{g}` does not compile: {e}", line_of(text, g)))?;
        b.add(glob);
    }
    b.build().map_err(|e| anyhow!("{what} globs do not compile: {e}"))
}

impl Config {
    /// Reads `--config FILE`, else the `connref.toml` found above `start`, else defaults.
    pub fn load(explicit: Option<&Path>, start: &Path) -> Result<Config> {
        let path = match explicit {
            Some(p) => Some(p.to_path_buf()),
            None => find(start),
        };
        let Some(path) = path else { return Config::parse("") };
        let text = std::fs::read_to_string(&path).with_context(|| format!("cannot read the config `{}`", path.display()))?;
        let mut cfg = Config::parse(&text).with_context(|| format!("invalid config `{}`", path.display()))?;
        cfg.path = Some(path);
        Ok(cfg)
    }

    /// The defaults, as with no connref.toml.
    pub fn default_config() -> Config {
        // The empty text always parses; the fallback is the same defaults.
        Config::parse("").unwrap_or_default()
    }

    pub fn parse(text: &str) -> Result<Config> {
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        let mut cfg: Config = toml::from_str(text).map_err(|e| anyhow!("{}", e.to_string().trim_end()))?;
        for code in cfg.rules.keys() {
            if registry::lookup(code).is_none() {
                bail!(
                    "line {}: unknown rule `{code}` in [rules]: give a code or a name (`connref rules` lists them)",
                    line_of(text, code)
                );
            }
        }
        cfg.exclude_set = glob_set(&cfg.exclude, "exclude", text)?;
        let headers: Vec<usize> = text
            .lines()
            .enumerate()
            .filter(|(_, l)| l.trim_start().starts_with("[[ignore]]"))
            .map(|(i, _)| i + 1)
            .collect();
        let mut tables = 0;
        for v in std::mem::take(&mut cfg.ignore_raw) {
            match v {
                toml::Value::String(g) => cfg.ignore.push(g),
                toml::Value::Table(t) => {
                    let line = headers.get(tables).copied().unwrap_or_else(|| line_of(text, "ignore"));
                    tables += 1;
                    let mut scoped: ScopedIgnore = toml::Value::Table(t)
                        .try_into()
                        .map_err(|e: toml::de::Error| anyhow!("line {line}: [[ignore]]: {}", e.to_string().trim_end()))?;
                    scoped.compile(line, text)?;
                    cfg.scoped_ignores.push(scoped);
                }
                other => bail!(
                    "line {}: `ignore` takes globs (`ignore = [\"cat_*\"]`) or [[ignore]] tables, not {}",
                    line_of(text, "ignore"),
                    other.type_str()
                ),
            }
        }
        cfg.ignore_set = glob_set(&cfg.ignore, "ignore", text)?;
        for m in &mut cfg.settings.map {
            m.file_set = glob_set(&m.files, "settings.map files", text)?;
        }
        if let Some(p) = &cfg.naming.purposes
            && let Some(bad) = p.iter().find(|s| !crate::naming_template::is_purpose(s))
        {
            bail!(
                "line {}: naming.purposes: `{bad}` is not a purpose (ASCII letters and digits, segments joined by `_`)",
                line_of(text, bad)
            );
        }
        compile_identities(&mut cfg.identity, text)?;
        cfg.environments = compile_environments(&cfg.environment_tables, text)?;
        if let Some(why) = crate::naming_template::template_problem(cfg.naming.template()) {
            bail!("line {}: {why}", line_of(text, "template"));
        }
        Ok(cfg)
    }

    /// The `[environments.<name>]` table for `name` (without case), with its spelling.
    pub fn environment(&self, name: &str) -> Option<(&str, &EnvironmentConfig)> {
        self.environments
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(n, e)| (n.as_str(), e))
    }

    /// Applies `[rules]` severities and `ignore`: drops findings turned off or ignored.
    pub fn apply(&self, findings: Vec<Finding>) -> Vec<Finding> {
        self.apply_keeping_ignored(findings).0
    }

    /// As [`Config::apply`], and returns the ignored findings beside the kept ones.
    pub fn apply_keeping_ignored(&self, findings: Vec<Finding>) -> (Vec<Finding>, Vec<Ignored>) {
        let mut ignored = Vec::new();
        let kept = findings
            .into_iter()
            .filter_map(|mut f| {
                let level = self
                    .rules
                    .iter()
                    .find(|(k, _)| registry::lookup(k).is_some_and(|r| r.code == f.code()))
                    .map(|(_, v)| *v);
                match level {
                    Some(Level::Off) => return None,
                    Some(Level::Info) => f.severity = Severity::Info,
                    Some(Level::Warning) => f.severity = Severity::Warning,
                    Some(Level::Error) => f.severity = Severity::Error,
                    None => {}
                }
                // The old top-level globs are for names that shipped: they never hide what
                // breaks a deployment.
                let by_name = registry::NAMING.contains(&f.rule)
                    && [&f.reference, &f.flow]
                        .into_iter()
                        .flatten()
                        .any(|n| self.ignore_set.is_match(n.as_str()));
                let by = if by_name {
                    Some(None)
                } else {
                    self.scoped_ignores.iter().position(|i| i.matches(&f)).map(Some)
                };
                match by {
                    Some(by) => {
                        ignored.push(Ignored { finding: f, by });
                        None
                    }
                    None => Some(f),
                }
            })
            .collect();
        (kept, ignored)
    }

    /// Why `[[ignore]]` number `i` (or the top-level `ignore`) drops a finding, for `--show-ignored`.
    pub fn ignore_label(&self, by: Option<usize>) -> String {
        match by.and_then(|i| self.scoped_ignores.get(i)) {
            Some(s) => match &s.reason {
                Some(r) => format!("[[ignore]] on line {}: {r}", s.line),
                None => format!("[[ignore]] on line {}", s.line),
            },
            None => "`ignore` (naming rules)".to_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_name_the_key_and_line() {
        let e = Config::parse("exclude = []\n[naming]\ntemplat = \"x\"\n").unwrap_err().to_string();
        assert!(e.contains("line 3") && e.contains("templat"), "{e}");
        let e = Config::parse("[rules]\nCR999 = \"off\"\n").unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("CR999"), "{e}");
        let e = Config::parse("[rules]\nCR503 = \"loud\"\n").unwrap_err().to_string();
        assert!(e.contains("line 2"), "{e}");
    }

    #[test]
    fn reads_every_table() {
        let cfg = Config::parse(
            r#"
exclude = ["legacy/**"]
ignore = ["cat_legacy_*"]
[rules]
CR503 = "off"
CR505 = "error"
[naming]
template = "{publisher}_{purpose}_{connector}"
publisher = "contoso"
purposes = ["billing", "invoice_approval"]
[naming.connectors]
shared_commondataserviceforapps = "dv"
[settings]
require_literal_ids = true
[[settings.map]]
files = ["deploy/*.json"]
environment = "Prod"
solution = "Billing"
[stability]
max_rebinds = 3
[identities]
max_flows_per_reference = 5
[[identity]]
name = "reporting"
flows = ["Report *"]
[identity.connections]
Prod = ["abc"]
"#,
        )
        .unwrap();
        assert!(cfg.exclude_set.is_match("legacy/a/b.json"));
        assert_eq!(cfg.settings.map[0].environment.as_deref(), Some("Prod"));
        assert!(cfg.settings.map[0].file_set.is_match("deploy/prod.json"));
        assert_eq!(cfg.identity[0].connections["Prod"], ["abc"]);
        assert_eq!(cfg.stability.max_rebinds, 3);
    }

    #[test]
    fn identity_tables_are_checked() {
        let e = Config::parse("[[identity]]\nname = \"a\"\n[[identity]]\nname = \"b\"\n[[identity]]\nname = \"A\"\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 6") && e.contains("line 2") && e.contains("`A`"), "{e}");
        let e = Config::parse("[[identity]]\nname = \"service-writer\"\n").unwrap_err().to_string();
        assert!(e.contains("line 2") && e.contains("service-writer"), "{e}");
        let e = Config::parse("[[identity]]\nname = \"a\"\nflows = [\"Report [x\"]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3") && e.contains("Report [x"), "{e}");
        let e = Config::parse("[[identity]]\nname = \"a\"\nreferences = [\"{x\"]\n")
            .unwrap_err()
            .to_string();
        assert!(e.contains("line 3"), "{e}");
        let cfg = Config::parse("[[identity]]\nname = \"a\"\nflows = [\"Report *\", \"src/Workflows/Sync*\"]\nreferences = [\"CAT_*\"]\n")
            .unwrap();
        let a = &cfg.identity[0];
        assert!(a.matches_flow("Report daily", "x/Workflows/Other.json"));
        assert!(a.matches_flow("Other", "src/Workflows/Sync-1.json"));
        assert!(!a.matches_flow("Other", "lib/Workflows/Sync-1.json"));
        assert!(a.reference_set.as_ref().is_some_and(|s| s.is_match("cat_x")));
    }

    #[test]
    fn environment_tables() {
        let cfg = Config::parse(
            "[environments.Prod]\nurl = \"https://contoso.crm.dynamics.com/\"\nid = \"6F1D3A2E-0C2B-4C8E-9A41-8D2F6B1E7C10\"\ntenant = \"contoso.onmicrosoft.com\"\nclient_id = \"c\"\n",
        )
        .unwrap();
        let (name, env) = cfg.environment("prod").expect("found without case");
        assert_eq!(name, "Prod");
        assert_eq!(env.url, "https://contoso.crm.dynamics.com");
        assert_eq!(env.id, "6f1d3a2e-0c2b-4c8e-9a41-8d2f6b1e7c10");
        let bad = |text: &str| Config::parse(text).unwrap_err().to_string();
        let e = bad("exclude = []\n[environments.Prod]\nid = \"6f1d3a2e-0c2b-4c8e-9a41-8d2f6b1e7c10\"\n");
        assert!(e.contains("line 2") && e.contains("no `url`"), "{e}");
        let e = bad("[environments.Test]\nurl = \"https://x.crm.dynamics.com\"\n");
        assert!(e.contains("line 1") && e.contains("no `id`"), "{e}");
        let e = bad("[environments.Test]\nurl = \"https://x.crm.dynamics.com\"\nid = \"prod\"\n");
        assert!(e.contains("line 3") && e.contains("not a GUID"), "{e}");
        let e = bad("[environments.Test]\nurl = \"http://x.crm.dynamics.com\"\nid = \"6f1d3a2e-0c2b-4c8e-9a41-8d2f6b1e7c10\"\n");
        assert!(e.contains("line 2") && e.contains("https://"), "{e}");
        let e = bad("[environments.Test]\nurl = \"https://x\"\nid = \"6f1d3a2e-0c2b-4c8e-9a41-8d2f6b1e7c10\"\nclientid = \"x\"\n");
        assert!(e.contains("line 4") && e.contains("clientid"), "{e}");
        assert!(
            Config::parse("[environments.T]\nurl = \"http://127.0.0.1:4000\"\nid = \"6f1d3a2e-0c2b-4c8e-9a41-8d2f6b1e7c10\"\n").is_ok()
        );
    }

    #[test]
    fn severities_and_ignores_apply() {
        let cfg = Config::parse("ignore = [\"x_*\"]\n[rules]\nCR503 = \"off\"\nCR505 = \"error\"\n").unwrap();
        let loc = crate::finding::Loc::file("a");
        let out = cfg.apply(vec![
            Finding::new(&registry::CR503, loc.clone(), "a"),
            Finding::new(&registry::CR505, loc.clone(), "b"),
            Finding::new(&registry::CR101, loc.clone(), "c").reference("x_y_z"),
            Finding::new(&registry::CR101, loc, "d").reference("y_y_z"),
        ]);
        let got: Vec<_> = out.iter().map(|f| (f.code(), f.severity)).collect();
        assert_eq!(got, [("CR505", Severity::Error), ("CR101", Severity::Error)]);
    }
}
