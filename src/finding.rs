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
    /// What within the reference, flow or file the finding is about when those do not say it
    /// alone: a flow's entry key, a settings file's path, an environment variable's name.
    pub detail: Option<String>,
    /// With a base: whether the change introduced it (`false`: the base already had it).
    pub new: Option<bool>,
}

/// What a finding is about, without its position: two findings with the same subject are the
/// same problem, wherever lines moved. Names compare without case, as Dataverse compares them.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Subject {
    pub code: &'static str,
    pub solution: Option<String>,
    pub reference: Option<String>,
    pub flow_id: Option<String>,
    pub detail: Option<String>,
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
            detail: None,
            new: None,
        }
    }

    /// The identity of the finding across revisions (see [`Subject`]). A finding that names no
    /// reference, flow or detail is about its file as a whole.
    pub fn subject(&self) -> Subject {
        let lower = |s: &Option<String>| s.as_deref().map(str::to_ascii_lowercase);
        let detail = match (&self.detail, &self.reference, &self.flow_id) {
            (Some(d), ..) => Some(d.to_ascii_lowercase()),
            (None, None, None) => Some(self.loc.path.to_string()),
            _ => None,
        };
        Subject {
            code: self.rule.code,
            solution: lower(&self.solution),
            reference: lower(&self.reference),
            flow_id: self.flow_id.clone(),
            detail,
        }
    }

    /// Whether it counts towards the verdict: introduced by the change, or there is no base.
    pub fn is_new(&self) -> bool {
        self.new != Some(false)
    }

    pub fn detail(mut self, detail: &str) -> Self {
        self.detail = Some(detail.to_owned());
        self
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
    pub fn of<'a>(findings: impl IntoIterator<Item = &'a Finding>) -> Self {
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

/// Marks each head finding introduced or existing: existing when the base has a finding with the
/// same subject (each base finding matches one head finding), and for the naming rules, when
/// the reference already existed at the base (a shipped name cannot change any more).
pub fn mark_introduced(head: &mut [Finding], base: &[Finding], existed_at_base: impl Fn(&str) -> bool) {
    let mut left: std::collections::HashMap<Subject, usize> = std::collections::HashMap::new();
    for f in base {
        *left.entry(f.subject()).or_default() += 1;
    }
    for f in head.iter_mut() {
        let matched = match left.get_mut(&f.subject()) {
            Some(n) if *n > 0 => {
                *n -= 1;
                true
            }
            _ => false,
        };
        let shipped_name = crate::rules::registry::NAMING.contains(&f.rule) && f.reference.as_deref().is_some_and(&existed_at_base);
        f.new = Some(!(matched || shipped_name));
    }
}
