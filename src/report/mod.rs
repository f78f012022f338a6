//! Reports: the same findings as rustc-style text, GitHub workflow commands, or JSON.

pub mod github;
pub mod human;
pub mod json;
pub mod markdown;
pub mod sarif;

use std::collections::BTreeMap;
use std::sync::Arc;

use clap::ValueEnum;

use crate::finding::{Counts, Finding};
use crate::model::Snapshot;
use crate::text::SourceFile;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Human,
    Github,
    Json,
    /// SARIF 2.1.0, for code-scanning upload.
    Sarif,
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

/// Everything a report shows: the findings, the text of the files they point into, and what
/// was checked.
#[derive(Debug, Clone, Default)]
pub struct Report {
    pub findings: Vec<Finding>,
    pub sources: BTreeMap<Arc<str>, SourceFile>,
    pub files: usize,
    pub solutions: usize,
    pub flows: usize,
    pub references: usize,
}

impl Report {
    pub fn add_snapshot(&mut self, snapshot: &Snapshot) {
        self.files += snapshot.sources.len();
        self.solutions += snapshot.solutions.len();
        self.flows += snapshot.solutions.iter().map(|s| s.flows.len()).sum::<usize>();
        self.references += snapshot.solutions.iter().map(|s| s.references.len()).sum::<usize>();
        self.sources.extend(snapshot.sources.iter().map(|(k, v)| (k.clone(), v.clone())));
    }

    pub fn counts(&self) -> Counts {
        Counts::of(&self.findings)
    }

    /// Exit code 1 when any finding is an error.
    pub fn exit_code(&self) -> u8 {
        u8::from(self.counts().errors > 0)
    }

    pub fn render(&self, format: Format, color: bool) -> String {
        match format {
            Format::Human => human::render(self, color),
            Format::Github => github::render(self),
            Format::Json => json::render(self),
            Format::Sarif => sarif::render(self),
        }
    }
}

/// `1 error`, `2 warnings`.
pub fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}
