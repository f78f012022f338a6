//! The body of the sticky pull-request comment and of the Actions step summary: a hidden
//! marker (comment only), the verdict, the change tables and the findings.

use super::{Report, markdown, plural};

/// GitHub rejects comment bodies of 65,536 characters or more; stay a little below.
pub const MAX_BODY_CHARS: usize = 65_000;

/// What the body is made of: the change set (the `diff` markdown) and the findings of `check`.
#[derive(Debug, Clone, Default)]
pub struct Content {
    /// Markdown of the change set; empty when there is none to show.
    pub diff_markdown: String,
    /// Whether the change touches connection references or flows at all.
    pub changed: bool,
    pub report: Report,
    /// Where the full report can be read when the comment has to be shortened (the run's URL).
    pub run_url: Option<String>,
    /// `$GITHUB_SERVER_URL/<repo>/blob/<head sha>`: each location links to its line there.
    pub blob_url: Option<String>,
}

impl Content {
    /// A comment is only worth creating when there is something to say.
    pub fn worth_a_comment(&self) -> bool {
        self.changed || !self.report.findings.is_empty()
    }
}

/// The hidden marker that finds this job's earlier comment. The scope keeps two jobs (or two
/// workflows) of one repository from overwriting each other's comment.
pub fn marker(scope: &str) -> String {
    // `--` and `>` would end the HTML comment early.
    let clean: String = scope.replace("--", "-").chars().filter(|c| *c != '>' && !c.is_control()).collect();
    format!("<!-- connref:comment scope={clean} -->")
}

/// The one-line verdict. With a base it speaks of what the change introduced.
pub fn verdict(content: &Content) -> String {
    let c = content.report.counts();
    let compared = content.report.compared && content.report.fail_on == crate::config::FailOn::New;
    let what = if compared { "this change introduces" } else { "connref found" };
    if c.errors > 0 {
        format!(
            "❌ **{what} {}**: fix {} before merging.",
            plural(c.errors, "error", "errors"),
            if c.errors == 1 { "it" } else { "them" }
        )
    } else if c.warnings > 0 {
        format!("⚠️ **{what} {}** and no errors.", plural(c.warnings, "warning", "warnings"))
    } else if compared && content.changed {
        "✅ **connref:** this change introduces no findings; its connection-reference changes look safe.".to_owned()
    } else if compared {
        "✅ **connref:** this change introduces no findings.".to_owned()
    } else if content.changed {
        "✅ **connref:** the connection-reference changes look safe.".to_owned()
    } else {
        "✅ **connref:** no findings.".to_owned()
    }
}

/// The markdown shared by the comment and the step summary (no marker). With a base: the
/// verdict and what the change introduced first, then the change set, then what the base
/// branch already had, folded and counted per code.
pub fn summary_markdown(content: &Content) -> String {
    let report = &content.report;
    let links = content.blob_url.as_deref();
    let mut out = format!("### connref\n\n{}\n\n", verdict(content));
    if report.compared {
        let counted: Vec<_> = report
            .findings
            .iter()
            .filter(|f| report.counts_towards_verdict(f))
            .cloned()
            .collect();
        out.push_str("#### Introduced by this change\n\n");
        out.push_str(&format!("**Findings:** {}\n", markdown::counts_line(report)));
        if !counted.is_empty() {
            out.push('\n');
            out.push_str(&markdown::findings_table_linked(&counted, links));
        }
        out.push('\n');
    }
    if !content.diff_markdown.trim().is_empty() {
        out.push_str(content.diff_markdown.trim_end());
        out.push_str("\n\n");
    }
    if report.compared {
        out.push_str(&markdown::existing(report));
    } else {
        out.push_str(&markdown::findings_linked(report, links));
    }
    out
}

/// The comment body: marker and summary, or, past GitHub's limit, the verdict and the counts.
pub fn body(scope: &str, content: &Content) -> String {
    let full = format!("{}\n{}", marker(scope), summary_markdown(content));
    if full.chars().count() <= MAX_BODY_CHARS {
        return full;
    }
    let mut short = format!(
        "{}\n### connref\n\n{}\n\n**Findings:** {}\n\nThe full report ({} characters) is too long for a comment",
        marker(scope),
        verdict(content),
        markdown::counts_line(&content.report),
        full.chars().count()
    );
    match &content.run_url {
        Some(url) => short.push_str(&format!(": read it in the [job summary]({url}).\n")),
        None => short.push_str(": read it in the job summary or the log.\n"),
    }
    short
}

/// The body once a later push has resolved everything the comment reported.
pub fn resolved_body(scope: &str) -> String {
    format!(
        "{}\n### connref\n\n✅ **connref:** everything reported earlier is resolved: no findings and no connection-reference changes.\n",
        marker(scope)
    )
}

/// A body's content with `n` long CR101 findings, for tests of the body and the decision.
#[cfg(test)]
pub(crate) fn sample_content(n: usize) -> Content {
    use crate::finding::{Finding, Loc};
    use crate::rules::registry;
    Content {
        report: Report {
            findings: (0..n)
                .map(|i| Finding::new(&registry::CR101, Loc::file(&format!("src/f{i}.xml")), "x".repeat(300)))
                .collect(),
            ..Report::default()
        },
        ..Content::default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Severity;

    fn content(n: usize) -> Content {
        sample_content(n)
    }

    #[test]
    fn marker_cannot_close_early() {
        assert_eq!(marker("ci/lint"), "<!-- connref:comment scope=ci/lint -->");
        assert_eq!(marker("a-->b"), "<!-- connref:comment scope=a-b -->");
    }

    #[test]
    fn verdicts() {
        assert!(verdict(&content(2)).starts_with("❌ **connref found 2 errors**: fix them"));
        let mut warn = content(1);
        warn.report.findings[0].severity = Severity::Warning;
        assert!(verdict(&warn).starts_with("⚠️ **connref found 1 warning**"));
        assert_eq!(verdict(&content(0)), "✅ **connref:** no findings.");
    }

    #[test]
    fn long_body_falls_back_to_verdict_and_counts() {
        let mut big = content(400);
        big.run_url = Some("https://github.com/o/r/actions/runs/1".into());
        let b = body("s", &big);
        assert!(b.chars().count() <= MAX_BODY_CHARS);
        assert!(b.starts_with(&marker("s")));
        assert!(b.contains("❌ **connref found 400 errors**"));
        assert!(b.contains("**Findings:** 400 errors, 0 warnings, 0 infos"));
        assert!(b.contains("too long for a comment"));
        assert!(b.contains("(https://github.com/o/r/actions/runs/1)"));
        let small = body("s", &content(3));
        assert!(small.contains("| ❌ error |") && !small.contains("too long"));
    }
}
