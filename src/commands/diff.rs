//! `connref diff`: the change set between two trees (references, flows, settings entries) with
//! the stability findings, as a pull-request comment (markdown), JSON or text.

use std::io::Write;
use std::path::PathBuf;

use anyhow::{Context as _, Result, bail};
use clap::ValueEnum;
use serde::Serialize;

use super::revisions::{self, Spec};
use crate::config::Config;
use crate::finding::{Counts, Finding, Severity};
use crate::report::{Report, json::JsonFinding, plural};
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
    /// Text of the head's files, for snippets in the human form.
    report: Report,
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
    let text = match format {
        DiffFormat::Markdown => render_markdown(&diff),
        DiffFormat::Json => render_json(&diff),
        DiffFormat::Human => render_human(&diff),
    };
    out.write_all(text.as_bytes()).context("cannot write the diff")?;
    Ok(u8::from(diff.counts.errors > 0))
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

/// A name as a markdown code span that nothing inside can break out of: the fence is longer
/// than any run of backticks in the name, `|` is escaped for tables, line breaks become spaces.
pub fn code(name: &str) -> String {
    if name.is_empty() {
        return "*(empty)*".to_owned();
    }
    let flat: String = name
        .chars()
        .map(|c| if c == '\n' || c == '\r' { ' ' } else { c })
        .collect::<String>()
        .replace('|', "\\|");
    let mut longest = 0;
    let mut run = 0;
    for c in flat.chars() {
        run = if c == '`' { run + 1 } else { 0 };
        longest = longest.max(run);
    }
    let fence = "`".repeat(longest + 1);
    let pad = if flat.starts_with('`') || flat.ends_with('`') || flat.starts_with(' ') && flat.ends_with(' ') {
        " "
    } else {
        ""
    };
    format!("{fence}{pad}{flat}{pad}{fence}")
}

/// Plain text with every character that markdown, HTML or a mention could act on escaped.
fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '~' | '!' | '&' | '`' => {
                out.push('\\');
                out.push(c);
            }
            // A word joiner after `@` stops GitHub from turning the text into a mention.
            '@' => out.push_str("@\u{2060}"),
            '\n' | '\r' => out.push(' '),
            _ => out.push(c),
        }
    }
    out
}

/// A finding's message: the names it quotes in backticks become safe code spans.
fn message(m: &str) -> String {
    m.split('`')
        .enumerate()
        .map(|(i, part)| if i % 2 == 1 { code(part) } else { text(part) })
        .collect()
}

/// A table, folded in `<details>` when it is long.
fn table(out: &mut String, title: &str, head: &[&str], rows: &[Vec<String>]) {
    if rows.is_empty() {
        return;
    }
    let fold = rows.len() > 10;
    if fold {
        out.push_str(&format!("<details><summary>{title} ({})</summary>\n\n", rows.len()));
    } else {
        out.push_str(&format!("#### {title}\n\n"));
    }
    out.push_str(&format!("| {} |\n", head.join(" | ")));
    out.push_str(&format!("|{}\n", "---|".repeat(head.len())));
    for r in rows {
        out.push_str(&format!("| {} |\n", r.join(" | ")));
    }
    out.push('\n');
    if fold {
        out.push_str("</details>\n\n");
    }
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
    let findings: Vec<Vec<String>> = diff
        .findings
        .iter()
        .map(|x| {
            let sev = match x.severity {
                Severity::Error => "error",
                Severity::Warning => "warning",
                Severity::Info => "info",
            };
            vec![
                sev.to_owned(),
                x.code().to_owned(),
                code(&format!("{}:{}", x.loc.path, x.loc.line)),
                message(&x.message),
            ]
        })
        .collect();
    table(&mut out, "Findings", &["Severity", "Code", "Location", "Message"], &findings);
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
    table(&mut out, "Connection references", &["Change", "Reference", "Detail"], &refs);
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
    table(&mut out, "Flows", &["Change", "Flow", "Detail"], &flows);
    let settings: Vec<Vec<String>> = diff
        .changes
        .settings
        .iter()
        .map(|s| vec![code(&s.environment), code(&s.reference), s.change.replace('_', " ")])
        .collect();
    table(&mut out, "Deployment settings", &["Environment", "Reference", "Change"], &settings);
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
    out.push_str(&crate::report::human::render(&diff.report, false));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_cannot_be_escaped() {
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(code("x`y"), "``x`y``");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(code("<b>@team</b>"), "`<b>@team</b>`");
        assert_eq!(code(""), "*(empty)*");
    }

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

    #[test]
    fn messages_escape_text_and_quote_names() {
        assert_eq!(message("flow `a|b` <x> @y"), "flow `a\\|b` \\<x\\> @\u{2060}y");
    }
}
