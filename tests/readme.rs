//! The README's rule tables are checked against the registry, the one source of codes and
//! default severities: every rule is documented, every documented code exists, and each
//! severity column says the registry's default.

mod common;
use common::*;

use connref::rules::registry::RULES;

/// `(code, severity column)` of a table row, or `(first, last)` of a range row.
type Pair = (String, String);

/// `(code, severity column)` of every table row that starts with a rule code, and the ranges
/// (`CR201–CR207`) of the summary table.
fn readme_rows() -> (Vec<Pair>, Vec<Pair>) {
    let text = std::fs::read_to_string(manifest_dir().join("README.md")).expect("README.md");
    let mut rows = Vec::new();
    let mut ranges = Vec::new();
    for line in text.lines() {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        let [_, code, severity, ..] = cells.as_slice() else { continue };
        if !code.starts_with("CR") {
            continue;
        }
        match code.split_once('–') {
            Some((a, b)) => ranges.push((a.to_owned(), b.to_owned())),
            None => rows.push(((*code).to_owned(), (*severity).to_owned())),
        }
    }
    (rows, ranges)
}

#[test]
fn readme_rule_tables_match_the_registry() {
    let (rows, ranges) = readme_rows();
    assert!(rows.len() >= RULES.len(), "the README documents {} rows", rows.len());
    for r in RULES {
        let documented: Vec<&Pair> = rows.iter().filter(|(c, _)| c == r.code).collect();
        assert!(!documented.is_empty(), "{} is not in a README rule table", r.code);
        for (_, severity) in documented {
            // A rule whose severity depends on config or case says both (`info, warning above…`).
            assert!(
                severity.contains(r.severity.as_str()),
                "README says {} is `{severity}`, the registry says `{}`",
                r.code,
                r.severity
            );
        }
    }
    for (code, _) in &rows {
        assert!(
            RULES.iter().any(|r| r.code == code),
            "the README documents {code}, which the registry does not have"
        );
    }
    for (a, b) in &ranges {
        let first = RULES.iter().filter(|r| r.code.starts_with(&a[..3])).map(|r| r.code).min();
        let last = RULES.iter().filter(|r| r.code.starts_with(&a[..3])).map(|r| r.code).max();
        assert_eq!((first, last), (Some(a.as_str()), Some(b.as_str())), "the README's range {a}–{b}");
    }
}
