//! Markdown for the pull-request comment and the Actions step summary: a one-line verdict, the
//! counts, and a table of findings. Everything that comes from the source (names, paths, messages)
//! is escaped so that nothing in it renders as markdown, HTML or an @mention.

use super::{Report, plural};
use crate::finding::{Finding, Severity};

/// Findings shown open in the table; the rest are folded in `<details>`.
pub const OPEN_ROWS: usize = 20;

/// A code span that survives a table cell: backticks are replaced, `|` escaped.
pub fn code(s: &str) -> String {
    format!("`{}`", s.replace('`', "'").replace('|', "\\|").replace(['\n', '\r'], " "))
}

/// Plain text with markdown, HTML and mentions neutralised, for a table cell.
pub fn text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '&' => out.push_str("&amp;"),
            // A zero-width space after `@` stops GitHub from turning it into a mention.
            '@' => out.push_str("@\u{200b}"),
            '\n' | '\r' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '|' | '#' | '~' | '!' => {
                out.push('\\');
                out.push(c);
            }
            _ => out.push(c),
        }
    }
    out
}

/// A message whose `code spans` (names, as the rules write them) stay code spans, and whose
/// other text is escaped as [`text`]. An unpaired backtick is escaped as text.
pub fn message(s: &str) -> String {
    let parts: Vec<&str> = s.split('`').collect();
    let paired = parts.len() % 2 == 1;
    let mut out = String::new();
    for (i, part) in parts.iter().enumerate() {
        if i % 2 == 1 && (paired || i + 1 < parts.len()) {
            out.push_str(&code(part));
        } else {
            if i % 2 == 1 {
                out.push_str("\\`");
            }
            out.push_str(&text(part));
        }
    }
    out
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

fn row(f: &Finding) -> String {
    let mut message = message(&f.message);
    if let Some(h) = &f.help {
        message.push_str("<br>help: ");
        message.push_str(&self::message(h));
    }
    let location = if f.loc.is_file() {
        code(&format!("{}:{}:{}", f.loc.path, f.loc.line, f.loc.column))
    } else {
        self::message(&super::human::whereabouts(f))
    };
    format!("| {} | {} | {location} | {message} |\n", icon(f.severity), code(f.code()))
}

const HEAD: &str = "| Severity | Code | Location | Message |\n| --- | --- | --- | --- |\n";

/// The findings section: counts, then the table (errors first), long tails folded.
pub fn findings(report: &Report) -> String {
    let mut out = format!("**Findings:** {}\n", counts_line(report));
    if report.findings.is_empty() {
        return out;
    }
    let mut sorted: Vec<&Finding> = report.findings.iter().collect();
    sorted.sort_by_key(|f| std::cmp::Reverse(f.severity));
    out.push('\n');
    out.push_str(HEAD);
    for f in sorted.iter().take(OPEN_ROWS) {
        out.push_str(&row(f));
    }
    if sorted.len() > OPEN_ROWS {
        let rest = &sorted[OPEN_ROWS..];
        let noun = if rest.len() == 1 { "finding" } else { "findings" };
        out.push_str(&format!("\n<details><summary>{} more {noun}</summary>\n\n", rest.len()));
        out.push_str(HEAD);
        for f in rest {
            out.push_str(&row(f));
        }
        out.push_str("\n</details>\n");
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Loc;
    use crate::rules::registry;

    #[test]
    fn names_cannot_render() {
        assert_eq!(code("a|b`c"), "`a\\|b'c`");
        assert_eq!(message("name `a|b` is <b>x</b>"), "name `a\\|b` is &lt;b&gt;x&lt;/b&gt;");
        assert_eq!(message("odd ` tick"), "odd \\` tick");
        assert_eq!(
            text("<img> @team *x* [l](u) a|b"),
            "&lt;img&gt; @\u{200b}team \\*x\\* \\[l\\](u) a\\|b"
        );
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
    }
}
