//! `connref rules` and `connref explain CODE`.

use std::fmt::Write as _;

use anyhow::{Result, bail};

use crate::rules::registry::{self, RULES, Rule};

pub fn list() -> String {
    let mut s = String::new();
    for r in RULES {
        let _ = writeln!(s, "{}  {:<7}  {:<30} {}", r.code, r.severity.as_str(), r.name, r.summary);
    }
    s
}

fn describe(r: &Rule) -> String {
    format!(
        "{} ({}, {} by default): {}\n\n{}\n",
        r.code, r.name, r.severity, r.summary, r.explanation
    )
}

pub fn all() -> String {
    RULES.iter().map(|r| describe(r)).collect::<Vec<_>>().join("\n")
}

pub fn explain(code: &str) -> Result<String> {
    match registry::lookup(code) {
        Some(r) => Ok(describe(r)),
        None => bail!("unknown rule `{code}`: give a code or a name (`connref rules` lists them)"),
    }
}
