//! GitHub: the sticky pull-request comment, the Actions step summary and step outputs.
//!
//! The body assembly (marker, verdict, truncation) and the decision (create, update, nothing)
//! are plain functions here, built and tested without the `github` feature; the REST calls live in
//! `api` and need it.

pub mod actions;
#[cfg(feature = "github")]
pub mod api;

use crate::report::comment::{Content, body, resolved_body};

/// The default scope: the workflow and the job, as Actions names them.
pub fn default_scope(workflow: Option<&str>, job: Option<&str>) -> String {
    match (workflow, job) {
        (Some(w), Some(j)) => format!("{w}/{j}"),
        (Some(w), None) => w.to_owned(),
        (None, Some(j)) => j.to_owned(),
        (None, None) => "default".to_owned(),
    }
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
    use crate::report::comment::sample_content as content;

    #[test]
    fn scopes() {
        assert_eq!(default_scope(Some("CI"), Some("lint")), "CI/lint");
        assert_eq!(default_scope(None, None), "default");
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
