//! `connref check`: discover, load, model, rules, report.

use std::collections::HashSet;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, Result};

use crate::config::{Config, FailOn};
use crate::finding::{Finding, mark_introduced};
use crate::load::{self, Source};
use crate::model::Snapshot;
use crate::report::{Format, Report, View};
use crate::rules::registry::Family;
use crate::rules::{self, Context, stability};

use super::revisions::{self, Spec};

#[derive(Debug, Clone, Default, clap::Args)]
pub struct Options {
    pub paths: Vec<PathBuf>,
    /// Read this config instead of the connref.toml found above PATH.
    #[arg(long)]
    pub config: Option<PathBuf>,
    /// Output format (default: github inside GitHub Actions, else human).
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Also compare with this revision and report stability breaks (CR301–CR307). Default: the
    /// base of the GitHub Actions event, or PRE_COMMIT_FROM_REF; otherwise no comparison.
    #[arg(long, value_name = "REV", allow_hyphen_values = true)]
    pub base: Option<String>,
    /// Check this revision instead of the working tree (which is not touched).
    #[arg(long, value_name = "REV", allow_hyphen_values = true)]
    pub head: Option<String>,
    /// Check the index (what `git commit` would record) against HEAD.
    #[arg(long, conflicts_with = "head")]
    pub staged: bool,
    /// With a base: fail on the errors the change introduced (`new`, the default) or on every
    /// error (`all`). Overrides `fail_on` in connref.toml.
    #[arg(long, value_enum, value_name = "WHICH")]
    pub fail_on: Option<FailOn>,
    /// With a base: print the findings the base already had in full, not one line per code.
    #[arg(long)]
    pub show_existing: bool,
    /// Also print the findings connref.toml ignores, each with its reason.
    #[arg(long)]
    pub show_ignored: bool,
    /// Print only the findings: no tables, no summed-up lines, no closing line.
    #[arg(long, short)]
    pub quiet: bool,
    /// Print a count per rule (code and name) instead of each finding.
    #[arg(long)]
    pub statistics: bool,
    /// Exit 0 even when there are errors (2 still means connref itself failed).
    #[arg(long)]
    pub exit_zero: bool,
    /// Write the report to FILE instead of stdout; a one-line summary goes to stderr.
    #[arg(long, short, value_name = "FILE")]
    pub output_file: Option<PathBuf>,
    /// Colour: `auto` (on a terminal, unless NO_COLOR is set), `always` or `never`.
    #[arg(long, value_enum, default_value = "auto", value_name = "WHEN")]
    pub color: ColorChoice,
    /// Ignore connref.toml files (defaults for everything).
    #[arg(long, conflicts_with = "config")]
    pub no_config: bool,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, clap::ValueEnum)]
pub enum ColorChoice {
    #[default]
    Auto,
    Always,
    Never,
}

impl ColorChoice {
    /// NO_COLOR wins over `auto`, never over an explicit `always`.
    pub fn enabled(self, terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => terminal && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty()),
        }
    }
}

/// Runs the single-tree rules on every PATH and returns the report.
pub fn report(opts: &Options) -> Result<Report> {
    let paths = if opts.paths.is_empty() {
        vec![PathBuf::from(".")]
    } else {
        opts.paths.clone()
    };
    let config = if opts.no_config {
        Config::parse("")?
    } else {
        Config::load(opts.config.as_deref(), &paths[0])?
    };
    let cwd = std::env::current_dir().ok();
    let config_label = match &config.path {
        Some(p) => {
            let shown = match (std::fs::canonicalize(p).ok(), &cwd) {
                (Some(abs), Some(cwd)) => crate::report::relative(&abs, cwd),
                _ => p.display().to_string(),
            };
            format!("config {shown}")
        }
        None if opts.no_config => "no config (--no-config)".to_owned(),
        None => format!("no {}", crate::config::FILE_NAME),
    };
    let spec = Spec {
        base: opts.base.clone(),
        head: opts.head.clone(),
        staged: opts.staged,
    };
    revisions::check_args(&spec)?;
    let spec = spec.resolve()?;
    let mut report = Report {
        compared: spec.is_some(),
        fail_on: opts.fail_on.or(config.fail_on).unwrap_or_default(),
        config_label: Some(config_label),
        ..Report::default()
    };
    let mut dropped = Vec::new();
    for path in &paths {
        // One loop for both: with a base, the head is read from the revision asked for, and the
        // stability rules and the base's own problems are added; everything else is the same.
        let loaded = spec.as_ref().map(|spec| revisions::load_head(path, spec, &config)).transpose()?;
        let mut worktree = None;
        let (source, snapshot): (&dyn Source, &Snapshot) = match &loaded {
            Some(loaded) => (&*loaded.head_source, &loaded.head),
            None => {
                let (tree, snapshot) = worktree.insert(load::worktree_snapshot(path, &config)?);
                (&*tree, &*snapshot)
            }
        };
        let ctx = Context::new(snapshot, &config);
        // With a base, the base is read and compared with the head while the head's rules run.
        let ((mut findings, ignored), compared) = std::thread::scope(|scope| {
            let compared = loaded.as_ref().map(|loaded| {
                scope.spawn(|| {
                    let base = loaded.base(&config);
                    let stability = stability::check(&base, &loaded.head, &config);
                    (base, stability)
                })
            });
            let head = rules::check_keeping_ignored(&ctx);
            (
                head,
                compared.map(|c| c.join().unwrap_or_else(|panic| std::panic::resume_unwind(panic))),
            )
        });
        dropped.extend(ignored);
        let mut base = None;
        if let (Some(loaded), Some((base_snapshot, stability))) = (&loaded, compared) {
            // The base's own file problems were there before the change: they never block.
            report.findings.extend(
                revisions::base_problems(&base_snapshot, loaded.changed())
                    .into_iter()
                    .map(|f| Finding { new: Some(false), ..f }),
            );
            report
                .findings
                .extend(stability.into_iter().map(|f| Finding { new: Some(true), ..f }));
            // The base's findings only tell the head's apart (introduced or existing): only the
            // families the head has findings of run on the base, and none for a clean head.
            if !findings.is_empty() {
                let families: HashSet<Family> = findings.iter().map(|f| f.rule.family()).collect();
                let (base_findings, _) = rules::check_families(&Context::new(&base_snapshot, &config), |family| families.contains(&family));
                mark_introduced(&mut findings, &base_findings, |name| {
                    base_snapshot.references().any(|(_, r)| r.logical_name.eq_ignore_ascii_case(name))
                });
            }
            base = Some(base_snapshot);
        }
        report.findings.extend(findings);
        report.add_snapshot(snapshot);
        report.read_sources(source);
        report.add_identities(ctx.assignment());
        // With a base, that includes waiting for `git cat-file` to end.
        drop_in_background((base, loaded, worktree));
    }
    let (findings, ignored) = rules::finish_keeping_ignored(&config, std::mem::take(&mut report.findings));
    report.findings = findings;
    dropped.extend(ignored);
    for (i, scoped) in config.scoped_ignores.iter().enumerate() {
        if !dropped.iter().any(|d| d.by == Some(i)) {
            report.warnings.push(format!(
                "{}: line {}: this [[ignore]] matches no finding: remove it, or fix its globs",
                config
                    .path
                    .as_deref()
                    .map_or_else(|| crate::config::FILE_NAME.into(), |p| p.display().to_string()),
                scoped.line
            ));
        }
    }
    report.ignored = dropped.into_iter().map(|d| (d.finding, config.ignore_label(d.by))).collect();
    Ok(report)
}

pub fn run(opts: &Options, out: &mut dyn Write) -> Result<u8> {
    let report = report(opts)?;
    for w in &report.warnings {
        eprintln!("connref: warning: {w}");
    }
    let format = opts.format.unwrap_or_else(Format::default_for_env);
    let terminal = opts.output_file.is_none() && std::io::stdout().is_terminal();
    let view = View {
        color: opts.color.enabled(terminal),
        show_existing: opts.show_existing,
        quiet: opts.quiet,
        statistics: opts.statistics,
        show_ignored: opts.show_ignored,
        relative_to: relative_to(opts.paths.first().map_or(Path::new("."), PathBuf::as_path)),
    };
    let text = report.render(format, &view);
    match &opts.output_file {
        Some(file) => {
            std::fs::write(file, text.as_bytes()).with_context(|| format!("cannot write the report to `{}`", file.display()))?;
            eprintln!("{} (report in {})", crate::report::human::summary(&report), file.display());
        }
        None => out.write_all(text.as_bytes()).context("cannot write the report")?,
    }
    super::summary::write_actions_files(&report, &opts.paths, opts.config.as_deref(), opts.base.as_deref())?;
    Ok(if opts.exit_zero { 0 } else { report.exit_code() })
}

/// Freeing the snapshots (thousands of flows, a few allocations each) takes milliseconds that
/// nobody needs to wait for: the report is ready, and the process usually ends right after.
fn drop_in_background<T: Send + 'static>(value: T) {
    // When no thread can be started, `spawn` drops the value before it returns the error.
    let _ = std::thread::Builder::new().spawn(move || drop(value));
}

/// Findings' paths are relative to the repository's top; a terminal wants them relative to the
/// current folder. Outside a repository they are already as the user gave them.
fn relative_to(path: &Path) -> Option<(PathBuf, PathBuf)> {
    let root = crate::load::worktree::repo_top(path)?;
    let cwd = std::fs::canonicalize(std::env::current_dir().ok()?).ok()?;
    Some((root, cwd))
}
