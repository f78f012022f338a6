//! GitHub: the sticky pull-request comment, the Actions step summary and step outputs.
//!
//! The body assembly (marker, verdict, truncation) and the decision (create, update, nothing)
//! are plain functions here, built and tested without the `github` feature; the REST calls live in
//! `api` and need it.

pub mod actions;
#[cfg(feature = "github")]
pub mod api;

use crate::report::{Report, markdown};

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

/// The default scope: the workflow and the job, as Actions names them.
pub fn default_scope(workflow: Option<&str>, job: Option<&str>) -> String {
    match (workflow, job) {
        (Some(w), Some(j)) => format!("{w}/{j}"),
        (Some(w), None) => w.to_owned(),
        (None, Some(j)) => j.to_owned(),
        (None, None) => "default".to_owned(),
    }
}

/// The one-line verdict.
pub fn verdict(content: &Content) -> String {
    let c = content.report.counts();
    if c.errors > 0 {
        format!(
            "❌ **connref found {}**: fix {} before merging.",
            crate::report::plural(c.errors, "error", "errors"),
            if c.errors == 1 { "it" } else { "them" }
        )
    } else if c.warnings > 0 {
        format!(
            "⚠️ **connref found {}** and no errors.",
            crate::report::plural(c.warnings, "warning", "warnings")
        )
    } else if content.changed {
        "✅ **connref:** the connection-reference changes look safe.".to_owned()
    } else {
        "✅ **connref:** no findings.".to_owned()
    }
}

/// The markdown shared by the comment and the step summary (no marker).
pub fn summary_markdown(content: &Content) -> String {
    let mut out = format!("### connref\n\n{}\n\n", verdict(content));
    if !content.diff_markdown.trim().is_empty() {
        out.push_str(content.diff_markdown.trim_end());
        out.push_str("\n\n");
    }
    out.push_str(&markdown::findings(&content.report));
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

/// What to do with the comment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Action {
    Create(String),
    Update(u64, String),
    /// Nothing to do, and why.
    Nothing(&'static str),
}

/// Chooses between create, update and nothing, given this job's earlier comment (id, body).
pub fn decide(existing: Option<(u64, &str)>, scope: &str, content: &Content) -> Action {
    match existing {
        None if content.worth_a_comment() => Action::Create(body(scope, content)),
        None => Action::Nothing("no connection-reference changes and no findings: no comment needed"),
        Some((id, old)) => {
            let new = if content.worth_a_comment() {
                body(scope, content)
            } else {
                resolved_body(scope)
            };
            if old.trim_end() == new.trim_end() {
                Action::Nothing("the comment is up to date")
            } else {
                Action::Update(id, new)
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::{Finding, Loc, Severity};
    use crate::rules::registry;

    fn content(n: usize) -> Content {
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

    #[test]
    fn marker_cannot_close_early() {
        assert_eq!(marker("ci/lint"), "<!-- connref:comment scope=ci/lint -->");
        assert_eq!(marker("a-->b"), "<!-- connref:comment scope=a-b -->");
        assert_eq!(default_scope(Some("CI"), Some("lint")), "CI/lint");
        assert_eq!(default_scope(None, None), "default");
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

    #[test]
    fn decisions() {
        assert_eq!(
            decide(None, "s", &content(0)),
            Action::Nothing("no connection-reference changes and no findings: no comment needed")
        );
        let c = content(1);
        let Action::Create(b) = decide(None, "s", &c) else {
            panic!("expected a create")
        };
        assert_eq!(decide(Some((7, &b)), "s", &c), Action::Nothing("the comment is up to date"));
        assert!(matches!(decide(Some((7, "old")), "s", &c), Action::Update(7, _)));
        assert_eq!(decide(Some((7, "old")), "s", &content(0)), Action::Update(7, resolved_body("s")));
        assert_eq!(
            decide(Some((7, &resolved_body("s"))), "s", &content(0)),
            Action::Nothing("the comment is up to date")
        );
        let changed = Content {
            changed: true,
            ..content(0)
        };
        assert!(matches!(decide(None, "s", &changed), Action::Create(_)));
    }
}

/// What an event payload says about the pull request to comment on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EventTarget {
    Number(u64),
    /// A `workflow_run` event without pull requests listed (a fork): find the pull request by head sha.
    HeadSha(String),
    None,
}

/// Reads the pull-request number from an event payload (`pull_request`, `pull_request_target`,
/// `issue_comment`, `workflow_run`).
pub fn event_target(event: &serde_json::Value) -> EventTarget {
    if let Some(n) = event.pointer("/pull_request/number").and_then(|v| v.as_u64()) {
        return EventTarget::Number(n);
    }
    if let Some(n) = event
        .pointer("/issue/number")
        .and_then(|v| v.as_u64())
        .filter(|_| event.pointer("/issue/pull_request").is_some())
    {
        return EventTarget::Number(n);
    }
    if let Some(run) = event.get("workflow_run") {
        if let Some(n) = run.pointer("/pull_requests/0/number").and_then(|v| v.as_u64()) {
            return EventTarget::Number(n);
        }
        if let Some(sha) = run.get("head_sha").and_then(|v| v.as_str()) {
            return EventTarget::HeadSha(sha.to_owned());
        }
    }
    EventTarget::None
}

/// The `next` URL of a `Link` header.
pub fn next_link(link: &str) -> Option<String> {
    link.split(',').find_map(|part| {
        let (url, params) = part.split_once(';')?;
        params
            .split(';')
            .any(|p| p.trim() == "rel=\"next\"")
            .then(|| url.trim().trim_start_matches('<').trim_end_matches('>').to_owned())
    })
}

#[cfg(test)]
mod event_tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn targets() {
        assert_eq!(event_target(&json!({"pull_request": {"number": 12}})), EventTarget::Number(12));
        assert_eq!(
            event_target(&json!({"issue": {"number": 3, "pull_request": {}}})),
            EventTarget::Number(3)
        );
        assert_eq!(event_target(&json!({"issue": {"number": 3}})), EventTarget::None);
        assert_eq!(
            event_target(&json!({"workflow_run": {"pull_requests": [{"number": 9}], "head_sha": "abc"}})),
            EventTarget::Number(9)
        );
        assert_eq!(
            event_target(&json!({"workflow_run": {"pull_requests": [], "head_sha": "abc"}})),
            EventTarget::HeadSha("abc".into())
        );
        assert_eq!(event_target(&json!({"push": {}})), EventTarget::None);
    }

    #[test]
    fn links() {
        let l = r#"<https://api.github.com/x?page=2>; rel="next", <https://api.github.com/x?page=5>; rel="last""#;
        assert_eq!(next_link(l).as_deref(), Some("https://api.github.com/x?page=2"));
        assert_eq!(next_link(r#"<https://a/x?page=1>; rel="prev""#), None);
    }
}
