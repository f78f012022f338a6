//! The stability events of first-parent history, each with its commit, as text or JSON.

use clap::ValueEnum;
use serde::Serialize;

use super::json::JsonFinding;
use super::plural;
use crate::finding::Finding;
use crate::model::Commit;
use crate::rules::stability;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum HistoryFormat {
    Json,
    Human,
}

#[derive(Debug, Clone)]
pub struct Event {
    pub finding: Finding,
    pub commit: Commit,
}

#[derive(Debug, Clone, Default)]
pub struct History {
    pub events: Vec<Event>,
    /// Commits walked.
    pub commits: usize,
}

pub fn render(h: &History, format: HistoryFormat) -> String {
    match format {
        HistoryFormat::Json => render_json(h),
        HistoryFormat::Human => render_human(h),
    }
}

#[derive(Serialize)]
struct JsonEvent<'a> {
    #[serde(flatten)]
    finding: JsonFinding<'a>,
    commit: &'a Commit,
}

#[derive(Serialize)]
struct Summary {
    commits: usize,
    events: usize,
}

#[derive(Serialize)]
struct Document<'a> {
    version: u32,
    events: Vec<JsonEvent<'a>>,
    summary: Summary,
}

pub fn render_json(h: &History) -> String {
    let doc = Document {
        version: 1,
        events: h
            .events
            .iter()
            .map(|e| JsonEvent {
                finding: JsonFinding::from(&e.finding),
                commit: &e.commit,
            })
            .collect(),
        summary: Summary {
            commits: h.commits,
            events: h.events.len(),
        },
    };
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

pub fn render_human(h: &History) -> String {
    let mut out = String::new();
    let mut last = "";
    for e in &h.events {
        if e.commit.sha != last {
            last = &e.commit.sha;
            let date = e.commit.date.get(..10).unwrap_or(&e.commit.date);
            out.push_str(&format!("{} {date} {}\n", stability::short(&e.commit.sha), e.commit.subject));
        }
        let f = &e.finding;
        out.push_str(&format!(
            "  {}[{}] {}:{}:{}: {}\n",
            f.severity,
            f.code(),
            f.loc.path,
            f.loc.line,
            f.loc.column,
            f.message
        ));
    }
    out.push_str(&format!(
        "connref history: {}, {} walked\n",
        plural(h.events.len(), "event", "events"),
        plural(h.commits, "commit", "commits")
    ));
    out
}
