//! `connref verify --env NAME`: before an import, each `ConnectionReferences` entry of that
//! environment's settings files against the connections the environment holds (CR601–CR606).

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::config::{Config, SettingsMap, glob_set};
use crate::load::{self, worktree::repo_top};
use crate::model::settings::{Binding, SettingsReference, classify};
use crate::online::Session;
use crate::report::{Report, plural};
use crate::rules::online;

use super::remote::{self, Remote};

#[derive(Debug, Clone, clap::Args)]
pub struct Options {
    /// The folder with the solution source and its settings files (default: the current folder).
    pub path: Option<PathBuf>,
    #[command(flatten)]
    pub remote: Remote,
    /// Verify this settings file only (inside PATH; e.g. after the pipeline replaced its tokens),
    /// whatever its name.
    #[arg(long, value_name = "FILE")]
    pub settings: Option<PathBuf>,
}

pub fn run(opts: &Options, out: &mut dyn Write) -> Result<u8> {
    let path = opts.path.clone().unwrap_or_else(|| PathBuf::from("."));
    let mut config = Config::load(opts.remote.config.as_deref(), &path)?;
    let (name, env) = opts.remote.environment(&config)?;
    let (name, env) = (name.to_owned(), env.clone());
    let named = match &opts.settings {
        Some(file) => Some(map_file(&mut config, &path, file, &name)?),
        None => None,
    };
    let (_, snapshot) = load::worktree_snapshot(&path, &config)?;
    let files: Vec<_> = snapshot
        .settings
        .iter()
        .filter(|f| !f.invalid && f.environment.eq_ignore_ascii_case(&name))
        .filter(|f| named.as_deref().is_none_or(|n| *f.path == *n))
        .collect();
    if files.is_empty() {
        let mut envs: Vec<&str> = snapshot.settings.iter().map(|f| f.environment.as_str()).collect();
        envs.sort_unstable();
        envs.dedup();
        bail!(
            "no readable settings file for environment `{name}` below `{}`{}: nothing to verify (`connref check` lists the settings files it finds; `--settings FILE` names one)",
            path.display(),
            if envs.is_empty() {
                String::new()
            } else {
                format!(" (settings files exist for {})", envs.join(", "))
            }
        );
    }
    if files.iter().all(|f| f.references.is_empty()) {
        bail!("the settings files of environment `{name}` have no `ConnectionReferences` entry: nothing to verify");
    }
    let entries: Vec<&SettingsReference> = files.iter().flat_map(|f| &f.references).collect();
    let count = |b: Binding| entries.iter().filter(|r| classify(r.connection_id.as_deref()) == b).count();
    let (literal, tokens) = (count(Binding::Bound), count(Binding::Token));
    if literal == 0 {
        bail!(
            "no entry of environment `{name}` binds a literal ConnectionId ({} of {} bind pipeline tokens): nothing can be verified; run `connref verify --env {name} --settings FILE` after the pipeline replaced the tokens",
            tokens,
            entries.len()
        );
    }
    let targets = online::targets(&snapshot, &files);
    let http = opts.remote.http()?;
    let session = Session::new(&http, &name, &env, &remote::var)?;
    let live = session.fetch_for_verify(&targets)?;
    let mut report = Report {
        findings: crate::rules::finish(&config, online::verify(&snapshot, &files, &live)),
        ..Report::default()
    };
    report.files = files.len();
    let mut solutions: Vec<String> = files
        .iter()
        .flat_map(|f| f.solutions.iter().map(|s| s.to_ascii_lowercase()))
        .collect();
    solutions.sort();
    solutions.dedup();
    report.solutions = solutions.len();
    report.sources = snapshot.sources.clone();
    let unchecked = entries.len() - literal;
    report.checked = Some(format!(
        "{} of environment `{name}` verified{}",
        plural(literal, "settings entry", "settings entries"),
        if unchecked == 0 {
            String::new()
        } else {
            format!(
                "; {unchecked} not: {tokens} pipeline {}, {} empty",
                if tokens == 1 { "token" } else { "tokens" },
                unchecked - tokens
            )
        }
    ));
    remote::finish(&opts.remote, "verify", &name, &report, out)
}

/// Makes discovery read `file` as a settings file of `environment`, whatever its name; returns
/// its repository-relative path.
fn map_file(config: &mut Config, path: &Path, file: &Path, environment: &str) -> Result<String> {
    let abs = std::fs::canonicalize(file).map_err(|e| anyhow::anyhow!("cannot read the settings file `{}`: {e}", file.display()))?;
    // Paths are relative to the repository's top, or to the current folder outside git.
    let base = repo_top(path).unwrap_or_else(|| PathBuf::from("."));
    let top = std::fs::canonicalize(&base).unwrap_or(base);
    let Some(rel) = abs.strip_prefix(&top).ok().and_then(|r| r.to_str()).map(|r| r.replace('\\', "/")) else {
        bail!(
            "the settings file `{}` is not inside `{}`: give a PATH that holds it",
            file.display(),
            top.display()
        );
    };
    let glob = globset::escape(&rel);
    let mut map = SettingsMap {
        files: vec![glob.clone()],
        environment: Some(environment.to_owned()),
        solution: None,
        ..SettingsMap::default()
    };
    map.file_set = glob_set(&[glob], "--settings", "")?;
    config.settings.map.insert(0, map);
    Ok(rel)
}
