//! SARIF 2.1.0 for code-scanning upload: one run, the rule table as `tool.driver.rules`, one
//! result per finding with a physical location (line and column are 1-based, as SARIF wants).

use serde_json::{Value, json};

use super::Report;
use crate::finding::{Finding, Severity};
use crate::rules::registry::{RULES, Rule};

pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

fn level(s: Severity) -> &'static str {
    match s {
        Severity::Error => "error",
        Severity::Warning => "warning",
        Severity::Info => "note",
    }
}

fn rule(r: &Rule) -> Value {
    json!({
        "id": r.code,
        "name": r.name,
        "shortDescription": { "text": r.summary },
        "fullDescription": { "text": r.explanation },
        "help": { "text": r.explanation },
        "defaultConfiguration": { "level": level(r.severity) },
        "properties": { "tags": ["connection-references"] },
    })
}

fn result(f: &Finding) -> Value {
    let text = match &f.help {
        Some(h) => format!("{}\nhelp: {h}", f.message),
        None => f.message.clone(),
    };
    let location = if f.loc.is_file() {
        json!({
            "physicalLocation": {
                "artifactLocation": { "uri": &*f.loc.path, "uriBaseId": "%SRCROOT%" },
                "region": { "startLine": f.loc.line, "startColumn": f.loc.column },
            }
        })
    } else {
        // A finding about a live environment has no file: a logical location names it.
        json!({
            "logicalLocations": [{
                "name": f.flow.as_deref().or(f.reference.as_deref()).unwrap_or_default(),
                "fullyQualifiedName": super::human::whereabouts(f),
                "kind": "resource",
            }]
        })
    };
    let mut v = json!({
        "ruleId": f.code(),
        "level": level(f.severity),
        "message": { "text": text },
        "locations": [location],
    });
    if let Some(i) = RULES.iter().position(|r| r.code == f.code()) {
        v["ruleIndex"] = json!(i);
    }
    let mut props = serde_json::Map::new();
    for (k, val) in [
        ("solution", &f.solution),
        ("reference", &f.reference),
        ("flow", &f.flow),
        ("flowId", &f.flow_id),
        ("environment", &f.environment),
    ] {
        if let Some(val) = val {
            props.insert(k.to_owned(), json!(val));
        }
    }
    if !props.is_empty() {
        v["properties"] = Value::Object(props);
    }
    v
}

pub fn render(report: &Report) -> String {
    let doc = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{
            "tool": {
                "driver": {
                    "name": "connref",
                    "version": env!("CARGO_PKG_VERSION"),
                    "rules": RULES.iter().map(|r| rule(r)).collect::<Vec<_>>(),
                }
            },
            "columnKind": "unicodeCodePoints",
            "results": report.findings.iter().map(result).collect::<Vec<_>>(),
        }]
    });
    let mut s = serde_json::to_string_pretty(&doc).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::finding::Loc;
    use crate::rules::registry;

    #[test]
    fn maps_severity_location_and_rule_index() {
        let loc = Loc {
            path: "src/Other/Customizations.xml".into(),
            line: 7,
            column: 5,
            offset: 0,
            len: 0,
        };
        let report = Report {
            findings: vec![
                Finding::new(&registry::CR101, loc.clone(), "bad name")
                    .help("rename it")
                    .reference("x_y"),
                Finding::new(&registry::CR101, loc, "minor").severity(Severity::Info),
            ],
            ..Report::default()
        };
        let v: Value = serde_json::from_str(&render(&report)).expect("valid json");
        assert_eq!(v["version"], "2.1.0");
        let run = &v["runs"][0];
        assert_eq!(run["tool"]["driver"]["rules"].as_array().map(Vec::len), Some(RULES.len()));
        let r = &run["results"][0];
        assert_eq!(r["ruleId"], "CR101");
        assert_eq!(r["level"], "error");
        assert_eq!(r["message"]["text"], "bad name\nhelp: rename it");
        assert_eq!(r["properties"]["reference"], "x_y");
        let region = &r["locations"][0]["physicalLocation"]["region"];
        assert_eq!((region["startLine"].as_u64(), region["startColumn"].as_u64()), (Some(7), Some(5)));
        let idx = r["ruleIndex"].as_u64().and_then(|i| usize::try_from(i).ok()).expect("index");
        assert_eq!(run["tool"]["driver"]["rules"][idx]["id"], "CR101");
        assert_eq!(run["results"][1]["level"], "note");
    }
}
