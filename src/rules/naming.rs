//! CR101–CR104: logical names of connection references.

use std::collections::HashMap;

use super::Context;
use crate::config::Config;
use crate::finding::{Finding, code_span};
use crate::model::connector;
use crate::model::{MAX_LOGICAL_NAME_CHARS, Reference, Solution};
use crate::naming_template::{Matcher, render, tokens, too_long};
use crate::rules::registry;

pub fn check(ctx: &Context<'_>) -> Vec<Finding> {
    // What depends only on the config and the connector is worked out once, not per reference:
    // hundreds of references share a handful of connectors.
    let aliases = ctx.config.naming.connector_aliases();
    let mut words: HashMap<Option<&str>, Vec<String>> = HashMap::new();
    let mut out = Vec::new();
    for (s, r) in ctx.snapshot.references() {
        let api = r.api_name();
        let words = words.entry(api).or_insert_with(|| connector_words(ctx.config, api));
        out.extend(check_reference(ctx.config, &aliases, words, s, r));
    }
    out
}

/// Words that say nothing about purpose.
const FILLER: &[&str] = &[
    "my",
    "new",
    "test",
    "default",
    "the",
    "connection",
    "connections",
    "connectionreference",
    "reference",
    "ref",
    "cr",
    "conn",
    "shared",
    "microsoft",
    "online",
    "business",
    "for",
    "apps",
    "service",
    "api",
];

/// Whether `s` is made only of filler words, connector names and digits. Iterative over the
/// positions that a sequence of words can reach, so a long name costs time linear in its length
/// and no stack.
fn only_filler(s: &str, words: &[String]) -> bool {
    let s = s.as_bytes();
    let mut reached = vec![false; s.len() + 1];
    reached[0] = true;
    for i in 0..s.len() {
        if !reached[i] {
            continue;
        }
        if s[i].is_ascii_digit() {
            let digits = s[i..].iter().take_while(|b| b.is_ascii_digit()).count();
            reached[i + digits] = true;
            continue;
        }
        for w in FILLER.iter().copied().chain(words.iter().map(String::as_str)) {
            if s[i..].starts_with(w.as_bytes()) {
                reached[i + w.len()] = true;
            }
        }
    }
    reached[s.len()]
}

fn connector_words(cfg: &Config, api: Option<&str>) -> Vec<String> {
    let mut words: Vec<String> = connector::ALIASES
        .iter()
        .flat_map(|(k, a)| std::iter::once(*k).chain(a.iter().copied()))
        .map(str::to_owned)
        .collect();
    words.extend(
        cfg.naming
            .connectors
            .iter()
            .flat_map(|(k, v)| [connector::short(k), v.to_ascii_lowercase()]),
    );
    if let Some(api) = api {
        words.extend(connector::short_names(api, &cfg.naming.connector_aliases()));
    }
    words
}

/// Why a name is platform-generated or generic, if it is.
fn generated(name: &str, rest: &str, words: &[String]) -> Option<&'static str> {
    if name.contains('.') {
        return Some("an agent-generated name");
    }
    if let Some((mid, suffix)) = rest.rsplit_once('_') {
        let hex = (5..=8).contains(&suffix.len()) && suffix.bytes().all(|b| b.is_ascii_hexdigit());
        if hex && mid.to_ascii_lowercase().starts_with("shared") {
            return Some("a platform-generated name");
        }
    }
    let flat: String = rest
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    only_filler(&flat, words).then_some("a generic name")
}

/// A purpose segment derived from the display name (or the solution name), for suggestions.
fn suggested_purpose(r: &Reference, s: &Solution, words: &[String], purposes: Option<&[String]>) -> String {
    if let Some(first) = purposes.and_then(|p| p.first()) {
        return first.to_ascii_lowercase();
    }
    let from = |text: &str| -> String {
        text.split(|c: char| !c.is_ascii_alphanumeric())
            .map(str::to_ascii_lowercase)
            .filter(|w| !w.is_empty())
            .filter(|w| !only_filler(w, words))
            .filter(|w| !(w.len() >= 5 && w.bytes().all(|b| b.is_ascii_hexdigit()) && w.bytes().any(|b| b.is_ascii_digit())))
            .collect()
    };
    let purpose = r.display_name.as_deref().map(from).unwrap_or_default();
    let purpose = if purpose.is_empty() {
        from(&s.manifest.unique_name)
    } else {
        purpose
    };
    // Display names often repeat the solution name, which starts with the publisher's name:
    // `contoso_contosobilling_dataverse` says less than `contoso_billing_dataverse`.
    match s.manifest.prefix.as_deref().map(str::to_ascii_lowercase) {
        Some(p) if purpose.len() > p.len() && purpose.starts_with(&p) => purpose[p.len()..].to_owned(),
        _ => purpose,
    }
}

/// The name's publisher prefix and the rest. Split by the publisher's own prefix when the name
/// starts with it and `_`: a CustomizationPrefix may end in `_` (`pre_` gives `pre__billing_sql`).
/// Otherwise at the first `_`.
fn split_prefix<'n>(name: &'n str, expected: Option<&str>) -> (Option<&'n str>, &'n str) {
    if let Some(e) = expected.filter(|e| !e.is_empty()) {
        let n = e.len();
        if name.is_char_boundary(n) && name[..n].eq_ignore_ascii_case(e) && name[n..].starts_with('_') {
            return (Some(&name[..n]), &name[n + 1..]);
        }
    }
    match name.split_once('_') {
        Some((p, rest)) => (Some(p), rest),
        None => (None, name),
    }
}

fn check_reference(cfg: &Config, aliases: &[(String, String)], words: &[String], s: &Solution, r: &Reference) -> Vec<Finding> {
    let name = r.logical_name.as_str();
    let mut out = Vec::new();
    let finding = |code, msg: String| {
        Finding::new(code, r.loc.clone(), msg)
            .solution(&s.manifest.unique_name)
            .reference(name)
    };
    if too_long(name) {
        let head: String = name.chars().take(40).collect();
        return vec![
            finding(
                &registry::CR101,
                format!(
                    "reference `{head}…` is {} characters long; Dataverse allows at most {MAX_LOGICAL_NAME_CHARS}",
                    name.chars().count()
                ),
            )
            .help("the solution cannot be imported with this name: give the reference a shorter name that follows the naming template"),
        ];
    }
    let expected = cfg.naming.publisher.as_deref().or(s.manifest.prefix.as_deref());
    let (actual_prefix, rest) = split_prefix(name, expected);
    let api = r.api_name();
    let short = api
        .map(|a| connector::preferred(a, aliases))
        .unwrap_or_else(|| "connector".to_owned());
    let publisher = expected.or(actual_prefix).unwrap_or("prefix").to_ascii_lowercase();

    let prefix_differs = match (expected, actual_prefix) {
        (Some(e), Some(a)) => !e.eq_ignore_ascii_case(a),
        (Some(_), None) => true,
        _ => false,
    };
    if let (true, Some(e)) = (prefix_differs, expected) {
        let what = match actual_prefix {
            Some(a) => format!("has the prefix {a}", a = code_span(a)),
            None => "has no publisher prefix".to_owned(),
        };
        out.push(
            finding(
                &registry::CR102,
                format!(
                    "reference {name} {what}, but the publisher prefix of solution {} is {e}",
                    code_span(&s.manifest.unique_name),
                    name = code_span(name),
                    e = code_span(e)
                ),
            )
            .help(format!(
                "create the reference in this solution (its name then starts with `{e}_`) and move the flows to it before the first release"
            )),
        );
    }

    let purposes = cfg.naming.purposes.as_deref();
    if let Some(why) = generated(name, rest, words) {
        let suggestion = render(cfg.naming.template(), &publisher, &suggested_purpose(r, s, words, purposes), &short);
        let display = r
            .display_name
            .as_deref()
            .map(|d| format!(" (display name {d})", d = code_span(d)))
            .unwrap_or_default();
        out.push(
            finding(&registry::CR104, format!("reference {name}{display} has {why} that does not say what it is for", name = code_span(name)))
                .help(format!("name it after its purpose, e.g. {suggestion}; once shipped, a name cannot change: keep it, give it a clear display name and list it under `references` of an [[ignore]] of the naming rules in connref.toml (`connref init` writes one)", suggestion = code_span(&suggestion))),
        );
        return out;
    }

    let tokens = tokens(cfg.naming.template());
    // The prefix is CR102's to report; here the template is checked with the name's own prefix.
    let publisher_for_match = if prefix_differs { actual_prefix } else { expected };
    let connectors = api.map(|a| connector::short_names(a, aliases));
    let strict = Matcher {
        publisher: publisher_for_match,
        purposes,
        connectors: connectors.as_deref(),
    };
    if connectors.is_none() || strict.matches(&tokens, name).is_some() {
        return out;
    }
    let loose = Matcher {
        publisher: publisher_for_match,
        purposes,
        connectors: None,
    };
    if let Some(segment) = loose.matches(&tokens, name)
        && let Some(other) = connector::known_connector_of(segment, aliases)
    {
        out.push(
            finding(
                &registry::CR103,
                format!(
                    "reference {name} says {segment} (shared_{other}), but its connector is {}",
                    code_span(api.unwrap_or_default()),
                    name = code_span(name),
                    segment = code_span(segment)
                ),
            )
            .help(format!(
                "end the name with the connector it binds, e.g. {}",
                code_span(&render(
                    cfg.naming.template(),
                    &publisher,
                    &suggested_purpose(r, s, words, purposes),
                    &short
                ))
            )),
        );
        return out;
    }
    let suggestion = render(cfg.naming.template(), &publisher, &suggested_purpose(r, s, words, purposes), &short);
    let purposes_note = purposes
        .map(|p| format!("; purpose is one of: {}", p.join(", ")))
        .unwrap_or_default();
    out.push(
        finding(
            &registry::CR101,
            format!(
                "reference {name} does not follow the naming template {}",
                code_span(cfg.naming.template()),
                name = code_span(name)
            ),
        )
        .help(format!(
            "name it like {suggestion} (connector {short}{purposes_note})",
            suggestion = code_span(&suggestion),
            short = code_span(&short)
        )),
    );
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_split_by_the_publisher_prefix() {
        assert_eq!(split_prefix("pre__billing_sql", Some("pre_")), (Some("pre_"), "billing_sql"));
        assert_eq!(split_prefix("PRE__billing_sql", Some("pre_")), (Some("PRE_"), "billing_sql"));
        assert_eq!(split_prefix("pre_billing_sql", Some("pre_")), (Some("pre"), "billing_sql"));
        assert_eq!(
            split_prefix("contoso_billing_sql", Some("contoso")),
            (Some("contoso"), "billing_sql")
        );
        assert_eq!(split_prefix("new_x", Some("contoso")), (Some("new"), "x"));
        assert_eq!(split_prefix("é_x", Some("e")), (Some("é"), "x"));
        assert_eq!(split_prefix("plain", None), (None, "plain"));
    }

    #[test]
    fn generated_and_generic_names() {
        let w = connector_words(&Config::default(), Some("shared_commondataserviceforapps"));
        assert!(
            generated(
                "cat_sharedcommondataserviceforapps_87e06",
                "sharedcommondataserviceforapps_87e06",
                &w
            )
            .is_some()
        );
        assert!(generated("new_sharedagentnode_001dacbb", "sharedagentnode_001dacbb", &w).is_some());
        assert!(generated("cts_x_Lay9y0.cr.shared_sharepointonline", "x", &w).is_some());
        assert!(generated("MyDataverseConnection1", "MyDataverseConnection1", &w).is_some());
        assert!(generated("contoso_invoiceapproval_dataverse", "invoiceapproval_dataverse", &w).is_none());
        assert!(generated("cat_BusinessApprovalKitDataverse", "BusinessApprovalKitDataverse", &w).is_none());
    }
}
