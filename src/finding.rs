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

    /// Report order: by file, then position, then code.
    pub fn sort_key(&self) -> (&str, u32, u32, &str) {
        (&self.loc.path, self.loc.line, self.loc.column, self.rule.code)
    }
}

/// A name quoted in a message as a CommonMark code span, so that every renderer finds where it
/// ends: the fence is one backtick longer than the longest run of backticks inside, and a space
/// pads a name that starts or ends with a backtick (or starts and ends with a space), as
/// CommonMark strips one. Names without backticks read as before: `` `name` ``.
pub fn code_span(name: &str) -> CodeSpan<'_> {
    CodeSpan(name)
}

#[derive(Debug, Clone, Copy)]
pub struct CodeSpan<'a>(&'a str);

impl std::fmt::Display for CodeSpan<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.0;
        let mut longest = 0;
        let mut run = 0;
        for c in s.chars() {
            run = if c == '`' { run + 1 } else { 0 };
            longest = longest.max(run);
        }
        let fence = "`".repeat(longest + 1);
        let spaced = s.starts_with(' ') && s.ends_with(' ') && s.chars().any(|c| c != ' ');
        let pad = if s.starts_with('`') || s.ends_with('`') || spaced {
            " "
        } else {
            ""
        };
        write!(f, "{fence}{pad}{s}{pad}{fence}")
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
