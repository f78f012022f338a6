//! Reports: the same findings as rustc-style text, GitHub workflow commands, or JSON.

pub mod comment;
pub mod concise;
pub mod coverage;
pub mod diff;
pub mod github;
pub mod graph;
pub mod history;
pub mod human;
pub mod json;
pub mod markdown;
pub mod sarif;

use std::collections::BTreeMap;
use std::sync::Arc;

use clap::ValueEnum;
use serde::Serialize;

use crate::config::FailOn;
use crate::finding::{Counts, Finding};
use crate::model::Snapshot;
use crate::rules::identity::Assignment;
use crate::text::SourceFile;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Github,
    Json,
    /// SARIF 2.1.0, for code-scanning upload.
    Sarif,
    /// One line a finding: `path:line:col: severity[CODE] message`.
    Concise,
}

impl Format {
    /// `github` inside GitHub Actions, else `human`.
    pub fn default_for_env() -> Format {
        if std::env::var("GITHUB_ACTIONS").is_ok_and(|v| v == "true") {
            Format::Github
        } else {
            Format::Human
        }
    }
}

/// How a report is shown, beside what it says.
#[derive(Debug, Clone, Default)]
pub struct View {
    pub color: bool,
    /// With a base: the existing findings in full, not one line per code.
    pub show_existing: bool,
    /// Findings only: no tables, no summed-up lines, no closing line (human and concise).
    pub quiet: bool,
    /// A count per code instead of the findings (human and concise).
    pub statistics: bool,
    /// The findings the config ignores, each with its reason (human and concise).
    pub show_ignored: bool,
    /// Human and concise paths are shown relative to `cwd`; findings' paths are relative to
    /// `root` (the repository's top). Both absolute; `None`: shown as they are.
    pub relative_to: Option<(std::path::PathBuf, std::path::PathBuf)>,
}

impl View {
    /// A finding's path as a terminal user can open it: relative to the current folder.
    pub fn path<'a>(&self, path: &'a str) -> std::borrow::Cow<'a, str> {
        match &self.relative_to {
            Some((root, cwd)) => relative(&root.join(path), cwd).into(),
            None => path.into(),
        }
    }
}

/// `target` relative to `from` (both absolute), with forward slashes.
pub fn relative(target: &std::path::Path, from: &std::path::Path) -> String {
    let t: Vec<_> = target.components().collect();
    let f: Vec<_> = from.components().collect();
    let common = t.iter().zip(&f).take_while(|(a, b)| a == b).count();
    let mut parts: Vec<String> = std::iter::repeat_n("..".to_owned(), f.len() - common).collect();
    parts.extend(t[common..].iter().map(|c| c.as_os_str().to_string_lossy().into_owned()));
    if parts.is_empty() { ".".to_owned() } else { parts.join("/") }
}

/// Everything a report shows: the findings, the text of the files they point into, and what
/// was checked.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub sources: BTreeMap<Arc<str>, SourceFile>,
    pub files: usize,
    /// Solution roots checked.
    pub solutions: usize,
    /// Roots that share their UniqueName with another root.
    pub twin_roots: usize,
    pub flows: usize,
    pub references: usize,
    /// Reference × environment for the solutions that have settings files.
    pub coverage: Vec<coverage::SolutionCoverage>,
    /// Flows grouped by identity; `None` when no identity is configured.
    pub identities: Option<Vec<IdentityGroup>>,
    /// Flows that match no identity (only filled while identities are configured).
    pub unassigned_flows: Vec<FlowRef>,
    /// What was checked, when it is not solution source (`verify`, `audit`): replaces the
    /// solution, flow and reference counts in the summary line.
    pub checked: Option<String>,
    /// Config that is valid but useless here; printed on stderr, not part of the report.
    pub warnings: Vec<String>,
    /// Whether a base was known: each finding is then marked introduced or existing.
    pub compared: bool,
    /// With a base: whether existing findings count towards the exit code and the verdict.
    pub fail_on: FailOn,
    /// The config in use, for the closing line (`None`: not told, as in `diff`).
    pub config_label: Option<String>,
    /// Findings the config ignores, with what ignores each (`--show-ignored`).
    pub ignored: Vec<(Finding, String)>,
}

/// One identity with its references and the flows that run as it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IdentityGroup {
    pub name: String,
    pub references: Vec<String>,
    pub flows: Vec<FlowRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize)]
pub struct FlowRef {
    pub name: String,
    pub id: String,
    pub path: String,
}

impl Report {
    /// Reads again, from the tree they were found in, the files that findings point into and
    /// whose texts were not kept, so that the human report can show their lines. A file that
    /// cannot be read again is shown without a snippet.
    pub fn read_sources(&mut self, source: &dyn crate::load::Source) {
        let wanted: std::collections::BTreeSet<Arc<str>> = self
            .findings
            .iter()
            .filter(|f| f.loc.is_file() && (f.loc.len > 0 || f.loc.offset > 0))
            .map(|f| f.loc.path.clone())
            .filter(|p| !self.sources.contains_key(p))
            .collect();
        let paths: Vec<&str> = wanted.iter().map(|p| &**p).collect();
        source.prefetch(&paths);
        for path in wanted {
            if let Ok(file) = crate::load::read_source(source, &path) {
                self.sources.insert(path, file);
            }
        }
    }

    pub fn add_snapshot(&mut self, snapshot: &Snapshot) {
        self.files += snapshot.files;
        self.solutions += snapshot.solutions.len();
        self.twin_roots += snapshot.twin_roots().count();
        self.flows += snapshot.solutions.iter().map(|s| s.flows.len()).sum::<usize>();
        self.references += snapshot.solutions.iter().map(|s| s.references.len()).sum::<usize>();
        self.sources.extend(snapshot.sources.iter().map(|(k, v)| (k.clone(), v.clone())));
        self.coverage.extend(coverage::compute(snapshot));
    }

    /// Adds one snapshot's flows and references to the identity groups (merged by name over
    /// several paths), and its config warnings.
    pub fn add_identities(&mut self, a: &Assignment<'_>) {
        for w in &a.warnings {
            if !self.warnings.contains(w) {
                self.warnings.push(w.clone());
            }
        }
        if a.identities.is_empty() {
            return;
        }
        let groups = self.identities.get_or_insert_with(|| {
            a.identities
                .iter()
                .map(|i| IdentityGroup {
                    name: i.name.clone(),
                    references: Vec::new(),
                    flows: Vec::new(),
                })
                .collect()
        });
        for r in &a.references {
            if let Some(g) = r.identity.and_then(|i| groups.get_mut(i))
                && r.reference.is_some()
                && !g.references.contains(&r.logical_name)
            {
                g.references.push(r.logical_name.clone());
            }
        }
        for f in &a.flows {
            let fr = FlowRef {
                name: f.flow.name.clone(),
                id: f.flow.id.clone(),
                path: f.flow.path.to_string(),
            };
            match f.identity.and_then(|i| groups.get_mut(i)) {
                Some(g) => g.flows.push(fr),
                None => self.unassigned_flows.push(fr),
            }
        }
        for g in groups.iter_mut() {
            g.references.sort();
            g.flows.sort();
            g.flows.dedup();
        }
        self.unassigned_flows.sort();
        self.unassigned_flows.dedup();
    }

    /// `1 solution, 3 flows, 4 references checked`, or what `checked` says.
    pub fn checked_text(&self) -> String {
        match &self.checked {
            Some(c) => c.clone(),
            None => format!(
                "{}, {}, {} checked",
                self.solutions_checked(),
                plural(self.flows, "flow", "flows"),
                plural(self.references, "reference", "references")
            ),
        }
    }

    /// Findings the change introduced (every finding when there is no base).
    pub fn introduced(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.is_new())
    }

    /// Findings the base already had (none when there is no base).
    pub fn existing(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| !f.is_new())
    }

    /// Findings shown in full: those that count, and all with `--show-existing`.
    pub fn in_full<'a>(&'a self, view: &View) -> impl Iterator<Item = &'a Finding> {
        let all = view.show_existing;
        self.findings.iter().filter(move |f| all || self.counts_towards_verdict(f))
    }

    /// Findings summed up one line per code: the existing ones that do not count.
    pub fn summed_up(&self, view: &View) -> impl Iterator<Item = &Finding> {
        let all = view.show_existing;
        self.findings.iter().filter(move |f| !all && !self.counts_towards_verdict(f))
    }

    /// Whether `f` counts towards the exit code and the verdict.
    pub fn counts_towards_verdict(&self, f: &Finding) -> bool {
        self.fail_on == FailOn::All || f.is_new()
    }

    /// Counts of the findings that decide the verdict: with a base, those the change
    /// introduced (all with `--fail-on all`); without one, all.
    pub fn counts(&self) -> Counts {
        Counts::of(self.findings.iter().filter(|f| self.counts_towards_verdict(f)))
    }

    /// Counts of every finding, introduced or existing.
    pub fn all_counts(&self) -> Counts {
        Counts::of(&self.findings)
    }

    /// Exit code 1 when a finding that counts is an error.
    pub fn exit_code(&self) -> u8 {
        u8::from(self.counts().errors > 0)
    }

    pub fn render(&self, format: Format, view: &View) -> String {
        match format {
            Format::Human => human::render(self, view),
            Format::Github => github::render(self, view),
            Format::Json => json::render(self),
            Format::Sarif => sarif::render(self),
            Format::Concise => concise::render(self, view),
        }
    }
}

impl Report {
    /// `3 solutions`, or with twin roots `3 solution roots, 2 sharing a UniqueName`.
    pub fn solutions_checked(&self) -> String {
        if self.twin_roots == 0 {
            plural(self.solutions, "solution", "solutions")
        } else {
            format!(
                "{}, {} sharing a UniqueName",
                plural(self.solutions, "solution root", "solution roots"),
                self.twin_roots
            )
        }
    }
}

/// `1 error`, `2 warnings`.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
