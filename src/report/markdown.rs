//! The one markdown renderer: escaping, tables and the findings table, shared by the
//! pull-request comment, the step summary and `diff --format markdown`. Everything that comes
//! from the source (names, paths, messages) goes through [`code`], [`text`] or [`message`], so
//! nothing in it renders as markdown, HTML or an @mention, and a name never leaves its code span.

use std::collections::HashMap;

use super::{Report, plural};
use crate::finding::{Finding, Severity, code_span};

/// Findings shown open in the table; the rest are folded in `<details>`.
pub const OPEN_ROWS: usize = 20;

/// Tables of changes longer than this are folded whole in `<details>`.
pub const FOLD_TABLE_ROWS: usize = 10;

/// A name as a code span that nothing inside can break out of, fit for a table cell: the
/// fence is longer than any run of backticks in the name (CommonMark), `|` is escaped for
/// tables, line breaks become spaces.
pub fn code(name: &str) -> String {
    if name.is_empty() {
        return "*(empty)*".to_owned();
    }
    let flat = name.replace(['\n', '\r'], " ").replace('|', "\\|");
    code_span(&flat).to_string()
}

/// Plain text with every character that markdown, HTML or a mention could act on escaped.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '#' | '|' | '~' | '!' | '&' => {
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

/// A finding's message or help: its code spans (the names, quoted by the rules with
/// [`code_span`]) stay code spans, found as CommonMark finds them (a run of backticks closes at
/// the next run of the same length); everything else, an unpaired backtick included, is text.
pub fn message(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut runs: Vec<(usize, usize)> = Vec::new();
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'`' {
            let start = i;
            while i < bytes.len() && bytes[i] == b'`' {
                i += 1;
            }
            runs.push((start, i));
        } else {
            i += 1;
        }
    }
    // The next run of the same length, for each run: one pass from the right keeps this
    // linear however many runs a hostile name holds.
    let mut next = vec![None; runs.len()];
    let mut last: HashMap<usize, usize> = HashMap::new();
    for (k, &(a, b)) in runs.iter().enumerate().rev() {
        next[k] = last.insert(b - a, k);
    }
    let mut out = String::with_capacity(s.len() + 16);
    let mut pos = 0;
    let mut k = 0;
    while k < runs.len() {
        let (a, b) = runs[k];
        match next[k] {
            Some(close) => {
                out.push_str(&text(&s[pos..a]));
                let (c, d) = runs[close];
                let inner = &s[b..c];
                let inner = match inner.strip_prefix(' ').and_then(|x| x.strip_suffix(' ')) {
                    Some(x) if inner.chars().any(|ch| ch != ' ') => x,
                    _ => inner,
                };
                out.push_str(&code(inner));
                pos = d;
                k = close + 1;
            }
            None => k += 1,
        }
    }
    out.push_str(&text(&s[pos..]));
    out
}

/// A table; the cells are markdown already.
pub fn table(head: &[&str], rows: &[Vec<String>]) -> String {
    let mut out = format!("| {} |\n|{}\n", head.join(" | "), " --- |".repeat(head.len()));
    for r in rows {
        out.push_str(&format!("| {} |\n", r.join(" | ")));
    }
    out
}

/// A titled table, folded whole in `<details>` when it is long; nothing when there are no rows.
pub fn section(title: &str, head: &[&str], rows: &[Vec<String>]) -> String {
    if rows.is_empty() {
        return String::new();
    }
    if rows.len() > FOLD_TABLE_ROWS {
        format!(
            "<details><summary>{} ({})</summary>\n\n{}\n</details>\n\n",
            text(title),
            rows.len(),
            table(head, rows)
        )
    } else {
        format!("#### {}\n\n{}\n", text(title), table(head, rows))
    }
}

fn icon(s: Severity) -> &'static str {
    match s {
        Severity::Error => "❌ error",
        Severity::Warning => "⚠️ warning",
        Severity::Info => "ℹ️ info",
    }
}

/// `2 errors, 1 warning, 0 infos (1 solution, 2 flows, 3 references checked)`.
pub fn counts_line(report: &Report) -> String {
    let c = report.counts();
    format!(
        "{}, {}, {} ({})",
        plural(c.errors, "error", "errors"),
        plural(c.warnings, "warning", "warnings"),
        plural(c.infos, "info", "infos"),
        report.checked_text()
    )
}

/// Percent-encodes a repository path for a URL, keeping `/` and the unreserved characters.
fn url_path(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for b in path.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~/".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn row(f: &Finding, links: Option<&str>) -> Vec<String> {
    let mut message = message(&f.message);
    if let Some(h) = &f.help {
        message.push_str("<br>help: ");
        message.push_str(&self::message(h));
    }
    let at = code(&format!("{}:{}:{}", f.loc.path, f.loc.line, f.loc.column));
    let location = match links {
        _ if !f.loc.is_file() => self::message(&super::human::whereabouts(f)),
        Some(base) => format!("[{at}]({}/{}#L{})", base.trim_end_matches('/'), url_path(&f.loc.path), f.loc.line),
        None => at,
    };
    vec![icon(f.severity).to_owned(), code(f.code()), location, message]
}

const HEAD: [&str; 4] = ["Severity", "Code", "Location", "Message"];

/// The findings table (errors first); past [`OPEN_ROWS`], the rest folded in `<details>`.
/// Nothing when there are no findings.
pub fn findings_table(findings: &[Finding]) -> String {
    findings_table_linked(findings, None)
}

/// As [`findings_table`], each location a link to its line under `links` (a blob URL).
pub fn findings_table_linked(findings: &[Finding], links: Option<&str>) -> String {
    if findings.is_empty() {
        return String::new();
    }
    let mut sorted: Vec<&Finding> = findings.iter().collect();
    sorted.sort_by_key(|f| std::cmp::Reverse(f.severity));
    let rows: Vec<Vec<String>> = sorted.iter().map(|f| row(f, links)).collect();
    let open = rows.len().min(OPEN_ROWS);
    let mut out = table(&HEAD, &rows[..open]);
    let rest = &rows[open..];
    if !rest.is_empty() {
        let noun = if rest.len() == 1 { "finding" } else { "findings" };
        out.push_str(&format!("\n<details><summary>{} more {noun}</summary>\n\n", rest.len()));
        out.push_str(&table(&HEAD, rest));
        out.push_str("\n</details>\n");
    }
    out
}

/// The findings section of the comment and the step summary: counts, then the table.
pub fn findings(report: &Report) -> String {
    findings_linked(report, None)
}

/// As [`findings`], each location a link to its line under `links` (a blob URL).
pub fn findings_linked(report: &Report, links: Option<&str>) -> String {
    let mut out = format!("**Findings:** {}\n", counts_line(report));
    if !report.findings.is_empty() {
        out.push('\n');
        out.push_str(&findings_table_linked(&report.findings, links));
    }
    out
}

/// The step summary of `verify` and `audit`: a verdict for the environment, then the findings.
pub fn environment_summary(command: &str, environment: &str, report: &Report) -> String {
    let c = report.counts();
    let env = code(environment);
    let verdict = if c.errors > 0 {
        format!(
            "❌ **connref {command} found {}** in environment {env}.",
            plural(c.errors, "error", "errors")
        )
    } else if c.warnings > 0 {
        format!(
            "⚠️ **connref {command} found {}** and no errors in environment {env}.",
            plural(c.warnings, "warning", "warnings")
        )
    } else {
        format!("✅ **connref {command}:** no problems in environment {env}.")
    };
    format!("### connref {command}: {env}\n\n{verdict}\n\n{}", findings(report))
}

/// With a base: the findings the base branch already had (and that do not count), folded,
/// with a count per code. Nothing when there are none.
pub fn existing(report: &Report) -> String {
    let existing: Vec<&Finding> = report.findings.iter().filter(|f| !report.counts_towards_verdict(f)).collect();
    if existing.is_empty() {
        return String::new();
    }
    let rows: Vec<Vec<String>> = super::human::per_code(existing.iter().copied())
        .into_iter()
        .map(|(rule, c)| vec![code(rule.code), text(rule.name), super::human::nonzero(c)])
        .collect();
    format!(
        "<details><summary>Already on the base branch: {} (not introduced by this change, not counted)</summary>\n\n{}\n</details>\n",
        plural(existing.len(), "finding", "findings"),
        table(&["Code", "Rule", "Findings"], &rows)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Loc;
    use crate::rules::registry;

    #[test]
    fn code_spans_cannot_be_escaped() {
        assert_eq!(code("a|b"), "`a\\|b`");
        assert_eq!(code("x`y"), "``x`y``");
        assert_eq!(code("`x"), "`` `x ``");
        assert_eq!(code("tick`"), "`` tick` ``");
        assert_eq!(code("a``b"), "```a``b```");
        assert_eq!(code("<b>@team</b>"), "`<b>@team</b>`");
        assert_eq!(code("two\nlines"), "`two lines`");
        assert_eq!(code(""), "*(empty)*");
    }

    #[test]
    fn text_cannot_render() {
        assert_eq!(
            text("<img> @team *x* [l](u) a|b `c` &amp; \\"),
            "\\<img\\> @\u{2060}team \\*x\\* \\[l\\](u) a\\|b \\`c\\` \\&amp; \\\\"
        );
    }

    #[test]
    fn messages_keep_names_in_code_spans() {
        assert_eq!(message("flow `a|b` <x> @y"), "flow `a\\|b` \\<x\\> @\u{2060}y");
        assert_eq!(message("name `a|b` is <b>x</b>"), "name `a\\|b` is \\<b\\>x\\</b\\>");
        assert_eq!(message("odd ` tick"), "odd \\` tick");
        // Names quoted by the rules, whatever backticks they hold, come back as one code span.
        for name in ["tick`", "`tick", "a`b", "a``b`c", "`", " x ", "@team <b>", "| pipe"] {
            let m = message(&format!("flow {} is off; `other` too", code_span(name)));
            assert_eq!(m, format!("flow {} is off; `other` too", code(name)), "{name:?}");
        }
    }

    #[test]
    fn hostile_backtick_runs_stay_linear_and_safe() {
        let s: String = (1..2000).map(|n| "`".repeat(n % 7 + 1) + "x").collect();
        let m = message(&s);
        assert!(!m.contains('<') && !m.contains('@'));
    }

    #[test]
    fn long_lists_fold() {
        let f = |i: u32| Finding::new(&registry::CR101, Loc::file(&format!("f{i}.xml")), format!("m{i}"));
        let report = Report {
            findings: (0..25).map(f).collect(),
            ..Report::default()
        };
        let md = findings(&report);
        assert!(md.starts_with("**Findings:** 25 errors, 0 warnings, 0 infos"));
        assert!(md.contains("<details><summary>5 more findings</summary>"));
        assert_eq!(md.matches("| ❌ error |").count(), 25);
        let small = Report {
            findings: (0..3).map(f).collect(),
            ..Report::default()
        };
        assert!(!findings(&small).contains("<details>"));
        let rows: Vec<Vec<String>> = (0..11).map(|i| vec![i.to_string()]).collect();
        assert!(section("Flows", &["n"], &rows).starts_with("<details><summary>Flows (11)</summary>"));
        assert!(section("Flows", &["n"], &rows[..3]).starts_with("#### Flows\n\n| n |\n| --- |\n"));
        assert_eq!(section("Flows", &["n"], &[]), "");
    }
}
