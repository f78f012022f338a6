//! GitHub Actions workflow commands: one annotation per finding.
//!
//! GitHub shows at most 10 annotations of each severity per step (50 per job) and drops the
//! rest in silence. So errors go first, at most 10 of each severity, then one notice that says
//! how many were not annotated; every finding is still printed as a plain log line.

use super::{Report, View, plural};
use crate::finding::{Finding, Severity};

pub const PER_SEVERITY: usize = 10;

/// Escapes a message (the data part of a workflow command).
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25").replace('\r', "%0D").replace('\n', "%0A")
}

/// Escapes a property value: as data, plus `:` and `,`.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

fn command(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "notice",
    }
}

fn annotation(f: &Finding) -> String {
    let message = match &f.help {
        Some(h) => format!("{}\nhelp: {h}", f.message),
        None => f.message.clone(),
    };
    if !f.loc.is_file() {
        // A finding about a live environment: an annotation on the run, not on a file.
        let message = format!("{message}\n{}", super::human::whereabouts(f));
        return format!(
            "::{} title={}::{}",
            command(f.severity),
            escape_property(f.code()),
            escape_data(&message)
        );
    }
    format!(
        "::{} file={},line={},col={},title={}::{}",
        command(f.severity),
        escape_property(&f.loc.path),
        f.loc.line,
        f.loc.column,
        escape_property(f.code()),
        escape_data(&message)
    )
}

/// One `::error` workflow command with a title, for a failure that has no file.
pub fn error_annotation(title: &str, message: &str) -> String {
    format!("::error title={}::{}", escape_property(title), escape_data(message))
}

pub fn render(report: &Report, view: &View) -> String {
    let mut out = String::new();
    let mut hidden = Vec::new();
    for severity in [Severity::Error, Severity::Warning, Severity::Info] {
        let of: Vec<&Finding> = report.in_full(view).filter(|f| f.severity == severity).collect();
        for f in of.iter().take(PER_SEVERITY) {
            out.push_str(&annotation(f));
            out.push('\n');
        }
        hidden.extend(of.into_iter().skip(PER_SEVERITY));
    }
    if !hidden.is_empty() {
        out.push_str(&format!(
            "::notice title=connref::{} not annotated (GitHub shows {PER_SEVERITY} per severity); all are listed below in this log\n",
            plural(hidden.len(), "finding was", "findings were")
        ));
        for f in report.in_full(view) {
            let place = if f.loc.is_file() {
                format!("{}:{}:{}", f.loc.path, f.loc.line, f.loc.column)
            } else {
                super::human::whereabouts(f)
            };
            out.push_str(&format!("{place}: {}[{}] {}\n", f.severity, f.code(), f.message));
        }
    }
    let existing = report.summed_up(view).count();
    if existing > 0 {
        out.push_str(&format!(
            "::notice title=connref::{} already on the base, not annotated ({})\n",
            plural(existing, "finding was", "findings were"),
            escape_data(
                &super::human::per_code(report.summed_up(view))
                    .iter()
                    .map(|(r, c)| format!("{}: {}", r.code, super::human::nonzero(*c)))
                    .collect::<Vec<_>>()
                    .join("; ")
            )
        ));
    }
    out.push_str(&super::human::summary(report));
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes() {
        assert_eq!(escape_data("50%\r\nnext"), "50%25%0D%0Anext");
        assert_eq!(escape_property("a:b,c%"), "a%3Ab%2Cc%25");
    }
}
