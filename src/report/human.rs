//! rustc-style text for a terminal: the offending span underlined, a help line, a count.

use annotate_snippets::{AnnotationKind, Group, Level, Origin, Renderer, Snippet};

use std::collections::BTreeMap;

use super::{Report, View, plural};
use crate::finding::{Counts, Finding, Severity};
use crate::rules::registry::Rule;

pub fn render(report: &Report, view: &View) -> String {
    let renderer = if view.color { Renderer::styled() } else { Renderer::plain() };
    let mut out = String::new();
    if view.statistics {
        out.push_str(&statistics(report, view));
    } else {
        for f in report.in_full(view) {
            let path = view.path(&f.loc.path);
            out.push_str(&renderer.render(&[group(report, f, &path)]));
            out.push_str("\n\n");
        }
    }
    if view.show_ignored {
        out.push_str(&ignored(report, view));
    }
    if view.quiet {
        return out;
    }
    out.push_str(&existing(report, view));
    if !report.coverage.is_empty() {
        out.push_str(&super::coverage::render(&report.coverage));
        out.push('\n');
    }
    out.push_str(&identities(report));
    out.push_str(&summary(report));
    out.push('\n');
    out
}

fn level(s: Severity) -> Level<'static> {
    match s {
        Severity::Error => Level::ERROR,
        Severity::Warning => Level::WARNING,
        Severity::Info => Level::INFO,
    }
}

fn group<'a>(report: &'a Report, f: &'a Finding, path: &'a str) -> Group<'a> {
    let title = level(f.severity).primary_title(f.message.as_str()).id(f.code());
    if !f.loc.is_file() {
        let mut group = title.element(Level::NOTE.message(whereabouts(f)));
        if let Some(help) = &f.help {
            group = group.element(Level::HELP.message(help.as_str()));
        }
        return group;
    }
    let source = report
        .sources
        .get(&f.loc.path)
        .filter(|s| !s.text.is_empty() && (f.loc.len > 0 || f.loc.offset > 0));
    let mut group = match source {
        Some(src) => {
            // Only the line of the finding goes to the renderer: a minified flow is one
            // megabyte-long line, and the renderer trims long lines around the span itself.
            let range = src.index.line_range(&src.text, f.loc.offset);
            let line = &src.text[range.clone()];
            let start = f.loc.offset - range.start;
            let end = (start + f.loc.len.max(1)).min(line.len()).max(start);
            let end = (end..=line.len()).find(|&e| line.is_char_boundary(e)).unwrap_or(line.len());
            title.element(
                Snippet::source(line)
                    .line_start(f.loc.line as usize)
                    .path(path)
                    .annotation(AnnotationKind::Primary.span(start..end)),
            )
        }
        None => title.element(Origin::path(path).line(f.loc.line as usize).char_column(f.loc.column as usize)),
    };
    if let Some(help) = &f.help {
        group = group.element(Level::HELP.message(help.as_str()));
    }
    group
}

/// Where a finding without a file is: its environment, flow and reference.
pub fn whereabouts(f: &Finding) -> String {
    let mut parts = Vec::new();
    if let Some(e) = &f.environment {
        parts.push(format!("environment `{e}`"));
    }
    if let (Some(name), Some(id)) = (&f.flow, &f.flow_id) {
        parts.push(format!("flow `{name}` ({id})"));
    }
    if let Some(r) = &f.reference {
        parts.push(format!("reference `{r}`"));
    }
    format!("in {}", parts.join(", "))
}

/// Flows grouped by the identity they run as; empty when no identity is configured.
pub fn identities(report: &Report) -> String {
    let Some(groups) = &report.identities else { return String::new() };
    let names = |flows: &[super::FlowRef]| flows.iter().map(|f| f.name.as_str()).collect::<Vec<_>>().join(", ");
    let mut out = String::from("identities:\n");
    for g in groups {
        out.push_str(&format!(
            "  {}: {}, {}\n",
            g.name,
            plural(g.references.len(), "reference", "references"),
            plural(g.flows.len(), "flow", "flows")
        ));
        if !g.references.is_empty() {
            out.push_str(&format!("    references: {}\n", g.references.join(", ")));
        }
        if !g.flows.is_empty() {
            out.push_str(&format!("    flows: {}\n", names(&g.flows)));
        }
    }
    if !report.unassigned_flows.is_empty() {
        out.push_str(&format!(
            "  (no identity): {}\n    flows: {}\n",
            plural(report.unassigned_flows.len(), "flow", "flows"),
            names(&report.unassigned_flows)
        ));
    }
    out.push('\n');
    out
}

/// Existing findings per code, in one line each: `CR104 generated-name: 12 errors`.
pub fn per_code<'a>(findings: impl Iterator<Item = &'a Finding>) -> Vec<(&'static Rule, Counts)> {
    let mut by_code: BTreeMap<&'static str, (&'static Rule, Vec<&Finding>)> = BTreeMap::new();
    for f in findings {
        by_code.entry(f.code()).or_insert_with(|| (f.rule, Vec::new())).1.push(f);
    }
    by_code.into_values().map(|(rule, fs)| (rule, Counts::of(fs))).collect()
}

/// `2 errors, 1 warning`, leaving out severities with none.
pub fn nonzero(c: Counts) -> String {
    let parts: Vec<String> = [
        (c.errors, "error", "errors"),
        (c.warnings, "warning", "warnings"),
        (c.infos, "info", "infos"),
    ]
    .into_iter()
    .filter(|(n, ..)| *n > 0)
    .map(|(n, one, many)| plural(n, one, many))
    .collect();
    parts.join(", ")
}

/// `--statistics`: a count per code with its name, most frequent first.
pub fn statistics(report: &Report, view: &View) -> String {
    let mut rows = per_code(report.in_full(view));
    rows.sort_by_key(|(r, c)| (std::cmp::Reverse(c.errors + c.warnings + c.infos), r.code));
    let mut out = String::new();
    for (rule, c) in rows {
        out.push_str(&format!(
            "{:>5}  {}  {:<30} {}\n",
            c.errors + c.warnings + c.infos,
            rule.code,
            rule.name,
            nonzero(c)
        ));
    }
    if !out.is_empty() {
        out.push('\n');
    }
    out
}

/// `--show-ignored`: one line each, with what ignores it.
pub fn ignored(report: &Report, view: &View) -> String {
    if report.ignored.is_empty() {
        return "ignored by the config: none\n\n".to_owned();
    }
    let mut out = format!("ignored by the config ({}):\n", report.ignored.len());
    for (f, by) in &report.ignored {
        out.push_str(&format!("  {} ({by})\n", super::concise::line(f, view)));
    }
    out.push('\n');
    out
}

pub fn existing(report: &Report, view: &View) -> String {
    let rows = per_code(report.summed_up(view));
    if rows.is_empty() {
        return String::new();
    }
    let mut out = String::from("already on the base, not introduced by this change (--show-existing prints them):\n");
    for (rule, c) in rows {
        out.push_str(&format!("  {} {}: {}\n", rule.code, rule.name, nonzero(c)));
    }
    out.push('\n');
    out
}

pub fn summary(report: &Report) -> String {
    let c = if report.compared {
        Counts::of(report.introduced())
    } else {
        report.all_counts()
    };
    let checked = report.checked_text();
    let existing = report.existing().count();
    let checked = match &report.config_label {
        Some(config) => format!("{checked}; {config}"),
        None => checked,
    };
    let counts = format!(
        "{}, {}, {}",
        plural(c.errors, "error", "errors"),
        plural(c.warnings, "warning", "warnings"),
        plural(c.infos, "info", "infos")
    );
    match (report.compared, report.findings.is_empty()) {
        (_, true) => format!("connref: no findings ({checked})"),
        (false, false) => format!("connref: {counts} ({checked})"),
        (true, false) => format!(
            "connref: {counts} introduced by this change, {} already on the base{} ({checked})",
            existing,
            if report.fail_on == crate::config::FailOn::All && existing > 0 {
                " (counted: --fail-on all)"
            } else {
                ""
            }
        ),
    }
}
