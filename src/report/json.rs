//! Machine-readable findings: `{"version":1,"findings":[…],"summary":{…}}`, plus
//! `"coverage":[…]` (reference × environment) when the tree has deployment settings files.

use serde::Serialize;

use super::Report;
use crate::finding::{Finding, Severity};

#[derive(Serialize)]
pub struct JsonFinding<'a> {
    pub code: &'a str,
    pub severity: Severity,
    pub message: &'a str,
    /// Left out for a finding about a live environment (`audit`), which has no file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub line: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub column: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub solution: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub flow_id: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub environment: Option<&'a str>,
    /// What to do about it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub help: Option<&'a str>,
    /// Only with a base: whether the change introduced it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub new: Option<bool>,
}

impl<'a> From<&'a Finding> for JsonFinding<'a> {
    fn from(f: &'a Finding) -> Self {
        JsonFinding {
            code: f.code(),
            severity: f.severity,
            message: &f.message,
            path: f.loc.is_file().then_some(&*f.loc.path),
            line: f.loc.is_file().then_some(f.loc.line),
            column: f.loc.is_file().then_some(f.loc.column),
            solution: f.solution.as_deref(),
            reference: f.reference.as_deref(),
            flow: f.flow.as_deref(),
            flow_id: f.flow_id.as_deref(),
            environment: f.environment.as_deref(),
            help: f.help.as_deref(),
            new: f.new,
        }
    }
}

#[derive(Serialize)]
struct Summary {
    errors: usize,
    warnings: usize,
    infos: usize,
    files: usize,
    solutions: usize,
    /// Only with a base: how many findings the base already had.
    #[serde(skip_serializing_if = "Option::is_none")]
    existing: Option<usize>,
}

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    findings: Vec<JsonFinding<'a>>,
    summary: Summary,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    coverage: &'a [super::coverage::SolutionCoverage],
    /// Only while identities are configured.
    #[serde(skip_serializing_if = "Option::is_none")]
    identities: Option<&'a [super::IdentityGroup]>,
}

pub fn render(report: &Report) -> String {
    let c = report.all_counts();
    let doc = Document {
        version: 1,
        findings: report.findings.iter().map(JsonFinding::from).collect(),
        summary: Summary {
            errors: c.errors,
            warnings: c.warnings,
            infos: c.infos,
            files: report.files,
            solutions: report.solutions,
            existing: report.compared.then(|| report.existing().count()),
        },
        coverage: &report.coverage,
        identities: report.identities.as_deref(),
    };
    // Serializing plain structs of strings and numbers cannot fail.
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}
