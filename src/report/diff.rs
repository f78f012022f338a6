//! The change set between two trees, and what it breaks, as markdown (the `diff` command's
//! pull-request form; its change tables also go into the comment and the step summary), JSON
//! or text.

use clap::ValueEnum;
use serde::Serialize;

use super::json::JsonFinding;
use super::markdown::{code, findings_table, section};
use super::{Report, plural};
use crate::finding::{Counts, Finding};
use crate::rules::stability;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum DiffFormat {
    Markdown,
    Json,
    Human,
}

/// The change set between a base and a head, and what it breaks.
#[derive(Debug, Clone)]
pub struct Diff {
    /// The base commit id.
    pub base: String,
    /// The head commit id, `worktree` or `index`.
    pub head: String,
    pub changes: stability::Changes,
    pub findings: Vec<Finding>,
    pub counts: Counts,
    /// What the head holds (its files, for snippets in the human form).
    pub report: Report,
}

pub fn render(diff: &Diff, format: DiffFormat) -> String {
    match format {
        DiffFormat::Markdown => render_markdown(diff),
        DiffFormat::Json => render_json(diff),
        DiffFormat::Human => render_human(diff),
    }
}

#[derive(Serialize)]
struct JsonDiff<'a> {
    version: u32,
    base: &'a str,
    head: &'a str,
    references: &'a stability::ReferenceChanges,
    flows: &'a stability::FlowChanges,
    settings: &'a [stability::SettingsChange],
    findings: Vec<JsonFinding<'a>>,
}

pub fn render_json(diff: &Diff) -> String {
    let doc = JsonDiff {
        version: 1,
        base: &diff.base,
        head: &diff.head,
        references: &diff.changes.references,
        flows: &diff.changes.flows,
        settings: &diff.changes.settings,
        findings: diff.findings.iter().map(JsonFinding::from).collect(),
    };
    // Plain structs of strings and numbers always serialize.
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

fn rev(label: &str) -> String {
    code(stability::short(label))
}

pub fn render_markdown(diff: &Diff) -> String {
    let c = diff.counts;
    let r = &diff.changes.references;
    let f = &diff.changes.flows;
    let range = format!("{} → {}", rev(&diff.base), rev(&diff.head));
    let changes = r.added.len()
        + r.removed.len()
        + r.recreated.len()
        + r.connector_changed.len()
        + r.display_name_changed.len()
        + f.added.len()
        + f.removed.len()
        + f.recreated.len()
        + f.moved.len()
        + diff.changes.settings.len();
    let verdict = if c.errors > 0 {
        format!(
            "❌ **connref: this change breaks connection references or flows** ({}, {}) in {range}",
            plural(c.errors, "error", "errors"),
            plural(c.warnings, "warning", "warnings")
        )
    } else if c.warnings > 0 {
        format!("⚠️ **connref: {} to review** in {range}", plural(c.warnings, "warning", "warnings"))
    } else if changes > 0 {
        format!(
            "✅ **connref: no stability problem** in {range} ({})",
            plural(changes, "change", "changes")
        )
    } else {
        format!("✅ **connref: no change to connection references or flows** in {range}")
    };
    let mut out = format!("{verdict}\n\n");
    if !diff.findings.is_empty() {
        out.push_str("#### Findings\n\n");
        out.push_str(&findings_table(&diff.findings));
        out.push('\n');
    }
    out.push_str(&render_changes_markdown(diff));
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

/// The change tables alone, for a report that has its own verdict and findings table (the
/// pull-request comment and the step summary).
pub fn render_changes_markdown(diff: &Diff) -> String {
    let r = &diff.changes.references;
    let f = &diff.changes.flows;
    let mut out = String::new();
    let mut refs: Vec<Vec<String>> = Vec::new();
    refs.extend(
        r.recreated
            .iter()
            .map(|x| vec!["re-created".into(), code(&x.to), format!("was {}", code(&x.from))]),
    );
    refs.extend(r.removed.iter().map(|x| vec!["removed".into(), code(x), String::new()]));
    refs.extend(r.connector_changed.iter().map(|x| {
        vec![
            "connector changed".into(),
            code(&x.reference),
            format!("{} → {}", code(&x.from), code(&x.to)),
        ]
    }));
    refs.extend(r.display_name_changed.iter().map(|x| {
        vec![
            "display name changed".into(),
            code(&x.reference),
            format!("{} → {}", code(&x.from), code(&x.to)),
        ]
    }));
    refs.extend(r.added.iter().map(|x| vec!["added".into(), code(x), String::new()]));
    out.push_str(&section("Connection references", &["Change", "Reference", "Detail"], &refs));
    let mut flows: Vec<Vec<String>> = Vec::new();
    flows.extend(f.recreated.iter().map(|x| {
        vec![
            "re-created".into(),
            code(&x.flow),
            format!("id {} → {}", code(&x.from_id), code(&x.to_id)),
        ]
    }));
    flows.extend(f.removed.iter().map(|x| vec!["removed".into(), code(x), String::new()]));
    flows.extend(
        f.moved
            .iter()
            .map(|x| vec!["moved".into(), code(&x.flow), format!("{} → {}", code(&x.from), code(&x.to))]),
    );
    flows.extend(f.added.iter().map(|x| vec!["added".into(), code(x), String::new()]));
    out.push_str(&section("Flows", &["Change", "Flow", "Detail"], &flows));
    let settings: Vec<Vec<String>> = diff
        .changes
        .settings
        .iter()
        .map(|s| vec![code(&s.environment), code(&s.reference), s.change.replace('_', " ")])
        .collect();
    out.push_str(&section("Deployment settings", &["Environment", "Reference", "Change"], &settings));
    out.truncate(out.trim_end().len());
    out.push('\n');
    out
}

pub fn render_human(diff: &Diff) -> String {
    let r = &diff.changes.references;
    let f = &diff.changes.flows;
    let mut out = format!("connref diff {} → {}\n", stability::short(&diff.base), stability::short(&diff.head));
    let mut line = |what: &str, items: Vec<String>| {
        for i in items {
            out.push_str(&format!("  {what}: {i}\n"));
        }
    };
    line(
        "reference re-created",
        r.recreated.iter().map(|x| format!("{} (was {})", x.to, x.from)).collect(),
    );
    line("reference removed", r.removed.clone());
    line(
        "connector changed",
        r.connector_changed
            .iter()
            .map(|x| format!("{}: {} → {}", x.reference, x.from, x.to))
            .collect(),
    );
    line(
        "display name changed",
        r.display_name_changed
            .iter()
            .map(|x| format!("{}: {} → {}", x.reference, x.from, x.to))
            .collect(),
    );
    line("reference added", r.added.clone());
    line(
        "flow re-created",
        f.recreated
            .iter()
            .map(|x| format!("{} ({} → {})", x.flow, x.from_id, x.to_id))
            .collect(),
    );
    line("flow removed", f.removed.clone());
    line(
        "flow moved",
        f.moved.iter().map(|x| format!("{}: {} → {}", x.flow, x.from, x.to)).collect(),
    );
    line("flow added", f.added.clone());
    line(
        "settings",
        diff.changes
            .settings
            .iter()
            .map(|s| format!("{} {}: {}", s.environment, s.reference, s.change.replace('_', " ")))
            .collect(),
    );
    if diff.changes.is_empty() {
        out.push_str("  no change to connection references or flows\n");
    }
    out.push('\n');
    out.push_str(&super::human::render(&diff.report, &super::View::default()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_lists_fold_and_the_verdict_comes_first() {
        let mut changes = stability::Changes::default();
        changes.references.added = (0..12).map(|i| format!("contoso_p{i}_outlook")).collect();
        changes.flows.added = vec!["@octocat <img src=x>".into()];
        let diff = Diff {
            base: "0123456789012345678901234567890123456789".into(),
            head: "worktree".into(),
            changes,
            findings: Vec::new(),
            counts: Counts::default(),
            report: Report::default(),
        };
        let md = render_markdown(&diff);
        assert!(
            md.starts_with("✅ **connref: no stability problem** in `0123456` → `worktree` (13 changes)\n"),
            "{md}"
        );
        assert!(md.contains("<details><summary>Connection references (12)</summary>"), "{md}");
        assert!(md.contains("#### Flows"), "{md}");
        assert!(md.contains("| added | `@octocat <img src=x>` |  |"), "{md}");
    }
}
