//! `connref diff`: the change set between two trees (references, flows, settings entries) with
//! the stability findings; rendered by `report::diff`.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};

use super::revisions::{self, Spec};
use crate::config::Config;
use crate::finding::Counts;
use crate::report::Report;
use crate::report::diff::{Diff, DiffFormat};
use crate::rules::{self, stability};

#[derive(Debug, Clone, Default, clap::Args)]
pub struct Options {
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// The base revision (default: from the GitHub Actions event or pre-commit).
    #[arg(long, value_name = "REV", allow_hyphen_values = true)]
    pub base: Option<String>,
    /// The head revision (default: the working tree).
    #[arg(long, value_name = "REV", allow_hyphen_values = true)]
    pub head: Option<String>,
    /// Compare the index with HEAD.
    #[arg(long, conflicts_with = "head")]
    pub staged: bool,
    /// Read this config instead of the connref.toml found above PATH.
    #[arg(long)]
    pub config: Option<PathBuf>,
}

pub fn compute(opts: &Options) -> Result<Diff> {
    match compute_if_base(opts)? {
        Some(diff) => Ok(diff),
        None => bail!("no base revision to compare with: give --base REV (or --staged)"),
    }
}

/// Like `compute`, but `None` when there is no base to compare with (no `--base`, and none
/// in the GitHub event or the pre-commit environment).
pub fn compute_if_base(opts: &Options) -> Result<Option<Diff>> {
    let path = if opts.path.as_os_str().is_empty() {
        PathBuf::from(".")
    } else {
        opts.path.clone()
    };
    let config = Config::load(opts.config.as_deref(), &path)?;
    let spec = Spec {
        base: opts.base.clone(),
        head: opts.head.clone(),
        staged: opts.staged,
    };
    revisions::check_args(&spec)?;
    let Some(spec) = spec.resolve()? else { return Ok(None) };
    let pair = revisions::load_pair(&path, &spec, &config)?;
    let analysis = stability::analyze(&pair.base, &pair.head, &config);
    let mut findings = pair.base_problems();
    findings.extend(analysis.findings);
    let findings = rules::finish(&config, findings);
    let mut report = Report::default();
    report.add_snapshot(&pair.head);
    report.findings = findings.clone();
    report.read_sources(&*pair.head_source);
    Ok(Some(Diff {
        base: pair.base.label.clone(),
        head: pair.head.label.clone(),
        changes: analysis.changes,
        counts: Counts::of(&findings),
        findings,
        report,
    }))
}

pub fn run(opts: &Options, format: DiffFormat, out: &mut dyn Write) -> Result<u8> {
    let diff = compute(opts)?;
    out.write_all(crate::report::diff::render(&diff, format).as_bytes())
        .context("cannot write the diff")?;
    Ok(u8::from(diff.counts.errors > 0))
}
