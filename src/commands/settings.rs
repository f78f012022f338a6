//! `connref settings`: create or update each environment's deployment settings file from the
//! source. Every reference and environment variable that the solution defines gets an entry,
//! every existing value is kept, stale entries go only with `--prune`, entries are sorted by
//! name, and the file keeps its layout and line endings. Without `--write` it prints the diff
//! it would make and exits 1 when there is one, so CI can require the files in sync.

pub mod edit;

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use anyhow::{Result, bail};

use crate::config::Config;
use crate::load::settings::{environment_of, known_names, solution_home};
use crate::load::{self, Source, worktree::WorkTree};
use crate::model::settings::SettingsFile;
use crate::model::{Snapshot, Solution};
use crate::report::plural;
use crate::rules::list;
use crate::rules::registry;
use edit::{Placeholder, Style, Want, WantReference};

#[derive(Debug, Clone, Default, clap::Args)]
pub struct Options {
    /// The folder to work on (default: the current folder).
    pub path: Option<PathBuf>,
    /// Read this config instead of the connref.toml found above PATH.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// An environment to create or update; repeat it, or separate names with commas.
    /// Matched to existing environment names without regard to case. Default: every
    /// environment that already has a settings file.
    #[arg(long = "env", value_name = "NAME", value_delimiter = ',')]
    pub envs: Vec<String>,
    /// Write the files (atomically) instead of printing the diff.
    #[arg(long)]
    pub write: bool,
    /// Remove entries that the solution does not define.
    #[arg(long)]
    pub prune: bool,
    /// The value of new entries: `""`, or a pipeline token such as
    /// `#{connectionreference.<name>}#`.
    #[arg(long, value_enum, default_value = "empty")]
    pub placeholder: Placeholder,
}

/// How the file's bytes were encoded, so that it is written back the same way.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Utf8,
    Utf8Bom,
    Utf16Le,
    Utf16Be,
}

impl Encoding {
    fn of(bytes: &[u8]) -> Encoding {
        if bytes.starts_with(b"\xEF\xBB\xBF") {
            Encoding::Utf8Bom
        } else if bytes.starts_with(b"\xFF\xFE") {
            Encoding::Utf16Le
        } else if bytes.starts_with(b"\xFE\xFF") {
            Encoding::Utf16Be
        } else {
            Encoding::Utf8
        }
    }

    fn encode(self, text: &str) -> Vec<u8> {
        match self {
            Encoding::Utf8 => text.as_bytes().to_vec(),
            Encoding::Utf8Bom => [b"\xEF\xBB\xBF".as_slice(), text.as_bytes()].concat(),
            Encoding::Utf16Le => [0xFF, 0xFE]
                .into_iter()
                .chain(text.encode_utf16().flat_map(u16::to_le_bytes))
                .collect(),
            Encoding::Utf16Be => [0xFE, 0xFF]
                .into_iter()
                .chain(text.encode_utf16().flat_map(u16::to_be_bytes))
                .collect(),
        }
    }
}

/// One file to create or change.
struct Change {
    path: String,
    created: bool,
    old: String,
    new: String,
    encoding: Encoding,
    added: Vec<String>,
}

/// Runs the command: the diff (or what was written) goes to `out`, notes to `err`.
pub fn run(opts: &Options, out: &mut dyn Write, err: &mut dyn Write) -> Result<u8> {
    let path = opts.path.clone().unwrap_or_else(|| PathBuf::from("."));
    let config = Config::load(opts.config.as_deref(), &path)?;
    let (tree, snapshot) = load::worktree_snapshot(&path, &config)?;
    let (changes, failures) = plan(opts, &tree, &snapshot, err)?;
    if opts.write {
        let mut failed = failures;
        for c in &changes {
            match write_atomic(&tree.full_path(&c.path), &c.encoding.encode(&c.new)) {
                Ok(()) => {
                    let what = if c.created { "created" } else { "updated" };
                    let added = if c.added.is_empty() {
                        String::new()
                    } else {
                        format!(": added {}", list(&c.added.iter().map(|a| format!("`{a}`")).collect::<Vec<_>>()))
                    };
                    writeln!(out, "{what} {}{added}", c.path)?;
                }
                Err(e) => {
                    writeln!(err, "connref: cannot write `{}`: {e}; the file is left as it was", c.path)?;
                    failed += 1;
                }
            }
        }
        if failed > 0 {
            bail!("{} could not be updated", plural(failed, "settings file", "settings files"));
        }
        return Ok(0);
    }
    for c in &changes {
        let old_name = if c.created {
            "/dev/null".to_owned()
        } else {
            format!("a/{}", c.path)
        };
        let diff = similar::TextDiff::from_lines(&c.old, &c.new);
        write!(
            out,
            "{}",
            diff.unified_diff().context_radius(3).header(&old_name, &format!("b/{}", c.path))
        )?;
    }
    if !changes.is_empty() {
        writeln!(
            err,
            "connref: {} out of sync with the source; `--write` applies the diff above",
            plural(changes.len(), "settings file is", "settings files are")
        )?;
    }
    if failures > 0 {
        bail!("{} could not be updated", plural(failures, "settings file", "settings files"));
    }
    Ok(u8::from(!changes.is_empty()))
}

/// One solution per UniqueName (twin managed/unmanaged roots share one), sorted by name.
fn solutions(snapshot: &Snapshot) -> Vec<&Solution> {
    let mut out: Vec<&Solution> = Vec::new();
    for s in &snapshot.solutions {
        if !out
            .iter()
            .any(|o| o.manifest.unique_name.eq_ignore_ascii_case(&s.manifest.unique_name))
        {
            out.push(s);
        }
    }
    out.sort_by_key(|s| s.manifest.unique_name.to_ascii_lowercase());
    out
}

fn want(s: &Solution) -> Want {
    let mut w = Want::default();
    for r in &s.references {
        if !w.references.iter().any(|x| x.logical_name.eq_ignore_ascii_case(&r.logical_name)) {
            w.references.push(WantReference {
                logical_name: r.logical_name.clone(),
                connector_id: r.connector_id.clone().unwrap_or_default(),
            });
        }
    }
    for v in &s.env_vars {
        if !w.variables.iter().any(|x| x.eq_ignore_ascii_case(&v.schema_name)) {
            w.variables.push(v.schema_name.clone());
        }
    }
    w
}

fn push_unique(list: &mut Vec<String>, name: &str) {
    if !list.iter().any(|e| e.eq_ignore_ascii_case(name)) {
        list.push(name.to_owned());
    }
}

/// Works out every change without touching the disk. Returns the changes and the number of
/// files that cannot be updated (each explained on `err`).
fn plan(opts: &Options, tree: &WorkTree, snapshot: &Snapshot, err: &mut dyn Write) -> Result<(Vec<Change>, usize)> {
    let mut changes: Vec<Change> = Vec::new();
    let mut failures = 0;
    let known_envs: Vec<&str> = snapshot.settings.iter().map(|f| f.environment.as_str()).collect();
    for s in solutions(snapshot) {
        let files: Vec<&SettingsFile> = snapshot
            .settings
            .iter()
            .filter(|f| f.solutions.iter().any(|n| n.eq_ignore_ascii_case(&s.manifest.unique_name)))
            .collect();
        let mut envs: Vec<String> = Vec::new();
        if opts.envs.is_empty() {
            for f in &files {
                push_unique(&mut envs, &f.environment);
            }
        }
        for e in &opts.envs {
            // An existing name of this solution, else of any solution, else as given.
            let name = files
                .iter()
                .map(|f| f.environment.as_str())
                .chain(known_envs.iter().copied())
                .find(|k| k.eq_ignore_ascii_case(e))
                .unwrap_or(e);
            push_unique(&mut envs, name);
        }
        let want = want(s);
        for env in &envs {
            let targets: Vec<&&SettingsFile> = files.iter().filter(|f| f.environment.eq_ignore_ascii_case(env)).collect();
            if targets.is_empty() {
                let path = new_path(snapshot, s, &files, env);
                if tree.files().binary_search(&path).is_ok() || changes.iter().any(|c| c.path == path) {
                    writeln!(
                        err,
                        "connref: cannot create the settings of `{}` for environment `{env}` at `{path}`: another file is there; tie the files with [[settings.map]] tables",
                        s.manifest.unique_name
                    )?;
                    failures += 1;
                    continue;
                }
                let (style, encoding) = match files.iter().find(|f| !f.invalid) {
                    Some(sibling) => {
                        let bytes = tree.read(&sibling.path).unwrap_or_default();
                        let style = snapshot
                            .sources
                            .get(&sibling.path)
                            .map(|f| Style::detect(&f.text))
                            .unwrap_or_default();
                        (style, Encoding::of(&bytes))
                    }
                    None => (Style::default(), Encoding::Utf8),
                };
                let outcome = edit::update(&style.skeleton(), &want, opts.prune, opts.placeholder)
                    .map_err(|e| anyhow::anyhow!("internal error: the skeleton does not parse: {e}"))?;
                changes.push(Change {
                    path,
                    created: true,
                    old: String::new(),
                    new: outcome.text,
                    encoding,
                    added: outcome.added,
                });
                continue;
            }
            for f in targets {
                if f.invalid {
                    let why = snapshot
                        .problems
                        .iter()
                        .find(|p| p.rule == &registry::CR409 && p.loc.path == f.path)
                        .map(|p| format!(" ({}:{}: {})", p.loc.line, p.loc.column, p.message))
                        .unwrap_or_default();
                    writeln!(
                        err,
                        "connref: cannot update `{}`: it is not a valid settings file{why}; fix it first",
                        f.path
                    )?;
                    failures += 1;
                    continue;
                }
                let bytes = match tree.read(&f.path) {
                    Ok(b) => b,
                    Err(e) => {
                        writeln!(err, "connref: cannot read `{}`: {e}", f.path)?;
                        failures += 1;
                        continue;
                    }
                };
                let Some(text) = snapshot.sources.get(&f.path).map(|t| t.text.to_string()) else {
                    failures += 1;
                    continue;
                };
                let outcome = match edit::update(&text, &want, opts.prune, opts.placeholder) {
                    Ok(o) => o,
                    Err(e) => {
                        writeln!(err, "connref: cannot update `{}`: {e}", f.path)?;
                        failures += 1;
                        continue;
                    }
                };
                for name in &outcome.stale {
                    let what = if opts.prune { "removed" } else { "kept (`--prune` removes it)" };
                    writeln!(
                        err,
                        "connref: `{}`: stale entry `{name}`: solution `{}` does not define it; {what}",
                        f.path, s.manifest.unique_name
                    )?;
                }
                if outcome.text != text {
                    changes.push(Change {
                        path: f.path.to_string(),
                        created: false,
                        old: text,
                        new: outcome.text,
                        encoding: Encoding::of(&bytes),
                        added: outcome.added,
                    });
                }
            }
        }
    }
    for f in snapshot.settings.iter().filter(|f| f.solutions.is_empty() && !f.invalid) {
        if !opts.envs.is_empty() && !opts.envs.iter().any(|e| e.eq_ignore_ascii_case(&f.environment)) {
            continue;
        }
        if let Some(missing) = &f.missing_solution {
            writeln!(
                err,
                "connref: skipped `{}`: it is in the folder of solution `{missing}`, which is not in the tree (CR411)",
                f.path
            )?;
        } else {
            writeln!(
                err,
                "connref: skipped `{}`: it cannot be tied to one solution (CR410); add a [[settings.map]] table",
                f.path
            )?;
        }
    }
    Ok((changes, failures))
}

/// Where a new environment's file goes: beside the solution's other environments' files (the
/// environment's folder, or the environment's word in the file name, swapped), else
/// `<solution folder>/config/<Env>/deploymentSettings.json`.
fn new_path(snapshot: &Snapshot, s: &Solution, files: &[&SettingsFile], env: &str) -> String {
    for sibling in files.iter().filter(|f| !f.mapped) {
        let path: &str = &sibling.path;
        let (dir, name) = path.rsplit_once('/').unwrap_or(("", path));
        let (parent, folder) = dir.rsplit_once('/').unwrap_or(("", dir));
        let candidate = if folder == sibling.environment && !dir.is_empty() {
            let parent = if parent.is_empty() { String::new() } else { format!("{parent}/") };
            format!("{parent}{env}/{name}")
        } else {
            match name.to_ascii_lowercase().find(&sibling.environment.to_ascii_lowercase()) {
                Some(i) if !sibling.environment.is_empty() => {
                    let old = &name[i..i + sibling.environment.len()];
                    let new = if old.chars().all(|c| !c.is_uppercase()) {
                        env.to_lowercase()
                    } else if old.chars().all(|c| !c.is_lowercase()) {
                        env.to_uppercase()
                    } else {
                        env.to_owned()
                    };
                    let dir = if dir.is_empty() { String::new() } else { format!("{dir}/") };
                    format!("{dir}{}{new}{}", &name[..i], &name[i + old.len()..])
                }
                _ => continue,
            }
        };
        if environment_of(&candidate, &known_names(&snapshot.solutions)).is_some_and(|e| e.eq_ignore_ascii_case(env)) {
            return candidate;
        }
    }
    // Twin roots of one solution (`managed/` and `unmanaged/`) share the folder above them.
    let homes: Vec<&str> = snapshot
        .solutions
        .iter()
        .filter(|o| o.manifest.unique_name.eq_ignore_ascii_case(&s.manifest.unique_name))
        .map(|o| solution_home(&o.root))
        .collect();
    let mut home: Vec<&str> = homes[0].split('/').filter(|x| !x.is_empty()).collect();
    for h in &homes[1..] {
        let other: Vec<&str> = h.split('/').filter(|x| !x.is_empty()).collect();
        let common = home.iter().zip(&other).take_while(|(a, b)| a == b).count();
        home.truncate(common);
    }
    let home = if home.is_empty() {
        String::new()
    } else {
        format!("{}/", home.join("/"))
    };
    format!("{home}config/{env}/deploymentSettings.json")
}

/// Writes `bytes` to `path` through a temporary file in the same folder and a rename, so that a
/// failure at any point leaves the original file whole.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> io::Result<()> {
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    fs::create_dir_all(dir)?;
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("settings.json");
    let tmp = dir.join(format!(".{name}.connref.tmp"));
    if fs::symlink_metadata(&tmp).is_ok() {
        // A leftover of an interrupted run; anything but a file there is an error.
        fs::remove_file(&tmp)?;
    }
    let result = (|| {
        let mut f = fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        f.write_all(bytes)?;
        if let Ok(meta) = fs::metadata(path) {
            f.set_permissions(meta.permissions())?;
        }
        f.sync_all()?;
        drop(f);
        fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = fs::remove_file(&tmp);
    }
    result
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodings_round_trip() {
        for e in [Encoding::Utf8, Encoding::Utf8Bom, Encoding::Utf16Le, Encoding::Utf16Be] {
            let bytes = e.encode("{\"a\": \"é\"}");
            assert_eq!(Encoding::of(&bytes), e);
            assert_eq!(crate::text::decode(bytes.clone()).unwrap(), "{\"a\": \"é\"}");
        }
    }

    #[test]
    fn atomic_write_replaces_or_leaves_alone() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("a/deploymentSettings.json");
        write_atomic(&p, b"one").unwrap();
        write_atomic(&p, b"two").unwrap();
        assert_eq!(fs::read(&p).unwrap(), b"two");
        fs::create_dir(dir.path().join("a/.deploymentSettings.json.connref.tmp")).unwrap();
        assert!(write_atomic(&p, b"three").is_err());
        assert_eq!(fs::read(&p).unwrap(), b"two");
    }
}
