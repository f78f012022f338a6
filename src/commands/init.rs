//! `connref init [PATH]`: a starter connref.toml at the repository root that records what
//! already shipped, so that the first `check` reports what can still be fixed.

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result, bail};

use crate::config::{self, Config};
use crate::load::{self, worktree::WorkTree};
use crate::model::{Snapshot, connector};
use crate::rules::{self, Context, registry};

#[derive(Debug, Clone, Default, clap::Args)]
pub struct Options {
    /// A folder inside the repository (default: the current folder).
    pub path: Option<PathBuf>,
    /// Overwrite an existing connref.toml.
    #[arg(long)]
    pub force: bool,
}

/// A TOML string literal.
fn quoted(s: &str) -> String {
    // JSON string escapes are valid TOML basic-string escapes.
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

fn list(items: &BTreeSet<String>) -> String {
    items.iter().map(|s| quoted(s)).collect::<Vec<_>>().join(", ")
}

/// The starter config for `snapshot`, checked with the defaults.
pub fn starter(snapshot: &Snapshot) -> String {
    let defaults = Config::default_config();
    let findings = rules::check(&Context::new(snapshot, &defaults));
    let naming_broken: BTreeSet<String> = findings
        .iter()
        .filter(|f| registry::NAMING.contains(&f.rule))
        .filter_map(|f| f.reference.clone())
        .collect();
    let prefixes: BTreeSet<String> = snapshot.solutions.iter().filter_map(|s| s.manifest.prefix.clone()).collect();
    let mut purposes = BTreeSet::new();
    let mut aliases: BTreeMap<String, String> = BTreeMap::new();
    for (_, r) in snapshot.references() {
        if naming_broken.iter().any(|n| n.eq_ignore_ascii_case(&r.logical_name)) {
            continue;
        }
        if let Some(p) = crate::naming_template::purpose_of(defaults.naming.template(), &r.logical_name) {
            purposes.insert(p.to_ascii_lowercase());
        }
        if let (Some(api), Some(segment)) = (r.api_name(), r.logical_name.rsplit('_').next()) {
            let segment = segment.to_ascii_lowercase();
            if segment != connector::short(api) {
                aliases.insert(api.to_ascii_lowercase(), segment);
            }
        }
    }
    let environments: BTreeSet<String> = snapshot
        .settings
        .iter()
        .filter(|s| !s.environment_unknown)
        .map(|s| s.environment.clone())
        .collect();

    let mut out = String::from("# connref.toml, written by `connref init`. `connref explain CODE` explains each rule.\n\n");
    out.push_str("[naming]\ntemplate = \"{publisher}_{purpose}_{connector}\"\n");
    match prefixes.len() {
        0 => {}
        1 => out.push_str(&format!("# publisher prefix found: {}\n", list(&prefixes))),
        _ => out.push_str(&format!(
            "# publisher prefixes found (each solution is checked against its own): {}\n",
            list(&prefixes)
        )),
    }
    if !purposes.is_empty() {
        out.push_str(&format!(
            "# purposes seen in names that follow the template; uncomment to allow only these:\n# purposes = [{}]\n",
            list(&purposes)
        ));
    }
    if !aliases.is_empty() {
        out.push_str("\n# connector names seen in names that follow the template\n[naming.connectors]\n");
        for (api, alias) in &aliases {
            out.push_str(&format!("{api} = {}\n", quoted(alias)));
        }
    }
    if !environments.is_empty() {
        out.push_str(&format!(
            "\n# environments of the deployment settings files found: {}\n",
            list(&environments)
        ));
    }
    if !naming_broken.is_empty() {
        out.push_str(&format!(
            "\n# These references existed when connref was adopted and break the naming rules. A\n# shipped name cannot change (flows in every environment are bound to it), so only the\n# naming rules are ignored for them: every other finding on them is still reported.\n[[ignore]]\nrules = [{}]\nreferences = [\n",
            registry::NAMING.iter().map(|r| quoted(r.code)).collect::<Vec<_>>().join(", ")
        ));
        for name in &naming_broken {
            out.push_str(&format!("  {},\n", quoted(name)));
        }
        out.push_str("]\nreason = \"shipped: the name cannot change\"\n");
    }
    out
}

/// Writes `text` to `path` through a temporary file in the same folder, so that a failure
/// never leaves half a file.
fn write_atomically(path: &Path, text: &str) -> Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let tmp = dir.join(format!(".{}.{}.tmp", config::FILE_NAME, std::process::id()));
    let written = std::fs::File::create(&tmp)
        .and_then(|mut f| f.write_all(text.as_bytes()).and_then(|()| f.sync_all()))
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write `{}`", path.display()));
    }
    Ok(())
}

pub fn run(opts: &Options, out: &mut dyn Write) -> Result<u8> {
    let path = opts.path.clone().unwrap_or_else(|| PathBuf::from("."));
    // The file applies to the whole repository, so it records what the whole repository has.
    let root = crate::load::worktree::repo_top(&path).unwrap_or_else(|| path.clone());
    let tree = WorkTree::open(&root)?;
    let target = root.join(config::FILE_NAME);
    if target.exists() && !opts.force {
        bail!("`{}` already exists: edit it, or give --force to replace it", target.display());
    }
    let snapshot = load::snapshot(&tree, None, &Config::default_config());
    if snapshot.solutions.is_empty() {
        bail!(
            "no solution source below `{}`: run `connref init` in a repository that holds unpacked solutions (Other/Solution.xml)",
            path.display()
        );
    }
    let text = starter(&snapshot);
    // What we write must be a config connref accepts.
    Config::parse(&text).context("the starter config does not parse (a bug in connref)")?;
    write_atomically(&target, &text)?;
    out.write_all(text.as_bytes())?;
    writeln!(out, "\nconnref: wrote {}", target.display())?;
    Ok(0)
}
