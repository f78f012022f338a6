//! Every markdown output goes through one renderer: names with backticks, pipes, HTML and
//! mentions stay inside their code spans in the step summary (the same body as the comment).

mod common;
use common::*;

/// Flow display names (as written in `.json.data.xml`, XML-escaped) and the code span each
/// must become in the findings table.
const NASTY: &[(&str, &str, &str)] = &[
    ("tick`", "tick`", "`` tick` ``"),
    ("`x` *y*", "`x` *y*", "`` `x` *y* ``"),
    ("a``b", "a``b", "```a``b```"),
    ("@team &lt;b&gt;hi", "@team <b>hi", "`@team <b>hi`"),
    ("| pipe", "| pipe", "`\\| pipe`"),
];

#[test]
fn nasty_flow_names_stay_in_code_spans_in_the_step_summary() {
    let f = Fixture::new();
    solution(
        &f,
        "src",
        "Billing",
        "contoso",
        &[("contoso_billing_outlook", "Outlook", "shared_office365")],
    );
    for (i, (xml_name, _, _)) in NASTY.iter().enumerate() {
        flow(
            &f,
            "src",
            xml_name,
            &format!("0b3a2f1e-1111-4222-8333-94445555666{i}"),
            0,
            &[("shared_office365", "contoso_billing_outlook", "shared_office365")],
        );
    }
    let summary = f.path().join("summary.md");
    let out = connref_with_env(
        f.path(),
        &["check", "src", "--format", "json"],
        &[("GITHUB_STEP_SUMMARY", summary.as_path())],
    );
    let json: serde_json::Value = serde_json::from_str(&out.stdout).expect("json report");
    let md = std::fs::read_to_string(&summary).expect("the step summary is written");
    let flows: Vec<&str> = json["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .filter(|f| f["code"] == "CR505")
        .filter_map(|f| f["flow"].as_str())
        .collect();
    for (_, name, span) in NASTY {
        assert!(flows.contains(name), "CR505 fires for {name:?}: {flows:?}");
        assert!(
            md.contains(&format!("| flow {span} is committed switched off")),
            "{name:?} must render as {span} in\n{md}"
        );
    }
    // Outside the code spans, nothing is left that renders.
    assert_eq!(md.matches("<b>").count(), 1, "{md}");
}
