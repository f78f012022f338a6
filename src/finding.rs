//! What a rule reports: a code, a severity, a message with its fix, and an exact location.

use std::sync::Arc;

use serde::Serialize;

use crate::rules::registry::Rule;
pub use crate::rules::registry::Severity;

/// A place in a source file. `line` and `column` are 1-based (columns count characters);
/// `offset` and `len` are the byte span in the decoded text, for underlining.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Loc {
    pub path: Arc<str>,
    pub line: u32,
    pub column: u32,
    pub offset: usize,
    pub len: usize,
}

impl Loc {
    /// No file at all: a finding about what a live environment holds (`connref audit`).
    /// Reports show it without path, line, column or snippet.
    pub fn none() -> Self {
        Loc {
            path: "".into(),
            line: 0,
            column: 0,
            offset: 0,
            len: 0,
        }
    }

    /// Whether the location points into a file (see [`Loc::none`]).
    pub fn is_file(&self) -> bool {
        !self.path.is_empty()
    }

    /// A location for a file as a whole (a file that is missing or could not be decoded).
    pub fn file(path: &str) -> Self {
        Loc {
            path: path.into(),
            line: 1,
            column: 1,
            offset: 0,
            len: 0,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub rule: &'static Rule,
    pub severity: Severity,
    pub message: String,
    /// What to do about it, shown as a help line.
    pub help: Option<String>,
    pub loc: Loc,
    pub solution: Option<String>,
    pub reference: Option<String>,
    pub flow: Option<String>,
    pub flow_id: Option<String>,
    /// The target environment a finding of `verify` or `audit` is about.
    pub environment: Option<String>,
}

impl Finding {
    /// A finding of `rule` with its default severity.
    pub fn new(rule: &'static Rule, loc: Loc, message: impl Into<String>) -> Self {
        Finding {
            rule,
            severity: rule.severity,
            message: message.into(),
            help: None,
            loc,
            solution: None,
            reference: None,
            flow: None,
            flow_id: None,
            environment: None,
        }
    }

    pub fn code(&self) -> &'static str {
        self.rule.code
    }

    pub fn severity(mut self, severity: Severity) -> Self {
        self.severity = severity;
        self
    }

    pub fn help(mut self, help: impl Into<String>) -> Self {
        self.help = Some(help.into());
        self
    }

    pub fn solution(mut self, name: &str) -> Self {
        self.solution = Some(name.to_owned());
        self
    }

    pub fn reference(mut self, name: &str) -> Self {
        self.reference = Some(name.to_owned());
        self
    }

    pub fn flow(mut self, name: &str, id: &str) -> Self {
        self.flow = Some(name.to_owned());
        self.flow_id = Some(id.to_ascii_lowercase());
        self
    }

    pub fn environment(mut self, name: &str) -> Self {
        self.environment = Some(name.to_owned());
        self
    }

    /// Report order: by file, then position, then code.
    pub fn sort_key(&self) -> (&str, u32, u32, &str) {
        (&self.loc.path, self.loc.line, self.loc.column, self.rule.code)
    }
}

/// Counts of findings by severity.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Counts {
    pub errors: usize,
    pub warnings: usize,
    pub infos: usize,
}

impl Counts {
    pub fn of(findings: &[Finding]) -> Self {
        let mut c = Counts::default();
        for f in findings {
            match f.severity {
                Severity::Error => c.errors += 1,
                Severity::Warning => c.warnings += 1,
                Severity::Info => c.infos += 1,
            }
        }
        c
    }
}
