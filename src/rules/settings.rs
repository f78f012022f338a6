//! CR401–CR411: deployment settings files against the solutions they deploy. CR409 (a file that
//! cannot be read) comes from `load::settings`; the rest are here.

use std::collections::BTreeMap;

use super::{Context, list};
use crate::finding::{Finding, Loc, Severity, code_span};
use crate::model::settings::{Binding, SettingsFile, classify, literal_id};
use crate::model::{Snapshot, Solution, connector};
use crate::rules::registry::{self, Rule};

pub fn check(ctx: &Context<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for file in ctx.snapshot.settings.iter().filter(|f| !f.invalid) {
        if let Some(missing) = &file.missing_solution {
            out.push(solution_missing(file, missing));
            continue;
        }
        let solutions = covered(ctx.snapshot, file);
        if file.solutions.is_empty() {
            out.push(unmapped(file));
        }
        if file.environment_unknown {
            out.push(no_environment(file));
        }
        let start = out.len();
        references(ctx, file, &solutions, &mut out);
        variables(file, &solutions, &mut out);
        for f in &mut out[start..] {
            f.detail.get_or_insert_with(|| file.path.to_string());
        }
    }
    reused(ctx.snapshot, &mut out);
    out
}

/// The solutions a file covers, one per UniqueName: of twin roots, the one its folder belongs to.
pub fn covered<'a>(snapshot: &'a Snapshot, file: &SettingsFile) -> Vec<&'a Solution> {
    file.solutions
        .iter()
        .filter_map(|n| {
            let mut named = snapshot.solutions.iter().filter(|s| s.manifest.unique_name.eq_ignore_ascii_case(n));
            let first = named.clone().next();
            named.find(|s| file.root.as_deref() == Some(s.root.as_str())).or(first)
        })
        .collect()
}

fn names(solutions: &[&Solution]) -> String {
    list(
        &solutions
            .iter()
            .map(|s| code_span(&s.manifest.unique_name).to_string())
            .collect::<Vec<_>>(),
    )
}

fn on(file: &SettingsFile, rule: &'static Rule, loc: Loc, msg: String) -> Finding {
    let f = Finding::new(rule, loc, msg);
    match file.solutions.as_slice() {
        [one] => f.solution(one),
        _ => f,
    }
}

/// A JSON string literal.
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// The `[[settings.map]]` table that ties `file` to `solution`.
pub fn map_table(file: &SettingsFile, solution: &str) -> String {
    format!(
        "[[settings.map]]\nfiles = [{}]\nenvironment = {}\nsolution = {}",
        quoted(&file.path),
        quoted(&file.environment),
        quoted(solution)
    )
}

/// CR411.
fn solution_missing(file: &SettingsFile, missing: &str) -> Finding {
    Finding::new(
        &registry::CR411,
        file.root_loc.clone(),
        format!(
            "settings file for environment {} is in the folder of solution {}, which is not in the checked tree",
            code_span(&file.environment),
            code_span(missing)
        ),
    )
    .help(format!(
        "delete the file if solution {} was removed; if it was renamed or moved, tie the file in connref.toml:\n{}",
        code_span(missing),
        map_table(file, "<UniqueName>")
    ))
}

/// CR410 for a file that names no environment.
fn no_environment(file: &SettingsFile) -> Finding {
    on(
        file,
        &registry::CR410,
        file.root_loc.clone(),
        "the settings file names no environment (neither its file name nor its folder): it is checked as environment `default`".to_owned(),
    )
    .help(format!(
        "name the file or its folder after the environment (`deploymentSettings.prod.json`, `config/Prod/deploymentSettings.json`), or map it in connref.toml:\n{}",
        map_table(file, file.solutions.first().map_or("<UniqueName>", String::as_str))
    ))
}

/// CR410.
fn unmapped(file: &SettingsFile) -> Finding {
    let (msg, solution) = match (file.mapped, file.candidates.as_slice()) {
        (true, _) => (
            format!(
                "settings file for environment {} is mapped by [[settings.map]] to a solution that is not in the checked tree",
                code_span(&file.environment)
            ),
            "<UniqueName>".to_owned(),
        ),
        (false, []) => (
            format!(
                "settings file for environment {} cannot be tied to a solution: no solution was found",
                code_span(&file.environment)
            ),
            "<UniqueName>".to_owned(),
        ),
        (false, c) => (
            format!(
                "settings file for environment {} cannot be tied to one solution: it could deploy {}",
                code_span(&file.environment),
                either(c)
            ),
            c[0].clone(),
        ),
    };
    Finding::new(&registry::CR410, file.root_loc.clone(), msg).help(format!(
        "tie it in connref.toml with a table such as:\n{}",
        map_table(file, &solution)
    ))
}

/// `a`, `b` or `c`.
fn either(names: &[String]) -> String {
    let quoted: Vec<String> = names.iter().map(|n| format!("{n}", n = code_span(n))).collect();
    match quoted.split_last() {
        Some((last, init)) if !init.is_empty() => format!("{} or {last}", init.join(", ")),
        _ => quoted.join(""),
    }
}

/// What `connref settings` would add, as help.
fn settings_command(file: &SettingsFile) -> String {
    format!(
        "run `connref settings --env {} --write` to add every missing entry",
        if file.environment.contains(' ') {
            quoted(&file.environment)
        } else {
            file.environment.clone()
        }
    )
}

fn references(ctx: &Context<'_>, file: &SettingsFile, solutions: &[&Solution], out: &mut Vec<Finding>) {
    let mut first: BTreeMap<String, &Loc> = BTreeMap::new();
    for e in &file.references {
        let name = &e.logical_name;
        let def = solutions.iter().find_map(|s| s.reference(name).map(|r| (s, r)));
        let mut finding = |rule: &'static Rule, loc: &Loc, msg: String, help: String| {
            let f = on(file, rule, loc.clone(), msg).reference(name).help(help);
            let f = match def {
                Some((s, _)) => f.solution(&s.manifest.unique_name),
                None => f,
            };
            out.push(f);
        };
        if let Some(prev) = first.get(&name.to_ascii_lowercase()) {
            finding(
                &registry::CR405,
                &e.loc,
                format!(
                    "a second entry for reference {name} (the first is on line {})",
                    prev.line,
                    name = code_span(name)
                ),
                "keep one entry: tools disagree on which one wins".into(),
            );
            continue;
        }
        first.insert(name.to_ascii_lowercase(), &e.loc);
        let id_loc = e.connection_id_loc.as_ref().unwrap_or(&e.loc);
        let id = e.connection_id.as_deref();
        match classify(id) {
            Binding::Empty | Binding::Missing => finding(
                &registry::CR402,
                id_loc,
                match id {
                    None => format!("reference {name} has no ConnectionId in environment {}", code_span(&file.environment), name = code_span(name)),
                    Some(v) if v.trim().is_empty() => format!("the ConnectionId of {name} is empty in environment {}", code_span(&file.environment), name = code_span(name)),
                    Some(v) => format!("the ConnectionId of {name} is the placeholder {v} in environment {}", code_span(&file.environment), name = code_span(name), v = code_span(v)),
                },
                "set the id of a connection in that environment (from the connection's URL in the maker portal), or a pipeline token such as `#{connectionreference.<name>}#`".into(),
            ),
            Binding::Token if ctx.config.settings.require_literal_ids => finding(
                &registry::CR402,
                id_loc,
                format!(
                    "the ConnectionId of {name} is the pipeline token {}, and `settings.require_literal_ids` is set",
                    code_span(id.unwrap_or_default()), name = code_span(name)),
                "set the literal id of a connection in that environment".into(),
            ),
            Binding::Token => {}
            Binding::Bound => {
                let v = id.unwrap_or_default();
                if let Some(why) = malformed(v) {
                    finding(
                        &registry::CR408,
                        id_loc,
                        format!("the ConnectionId of {name} is malformed: it {why}", name = code_span(name)),
                        match v.trim_end_matches('/').rsplit_once("/connections/") {
                            Some((_, id)) if !id.contains('/') => format!("use the connection id alone: {id}", id = code_span(id)),
                            _ => "copy the connection's id from its URL in the maker portal (32 hex digits, or `shared-…-<guid>`)".into(),
                        },
                    );
                }
            }
        }
        match def {
            Some((_, r)) => {
                if let (Some(got), Some(want), Some(loc)) = (&e.connector_id, &r.connector_id, &e.connector_id_loc)
                    && !connector::same(got, want)
                {
                    finding(
                        &registry::CR403,
                        loc,
                        format!(
                            "the ConnectorId of {name} is {got}, but the reference binds {want}",
                            name = code_span(name),
                            got = code_span(got),
                            want = code_span(want)
                        ),
                        format!("set the ConnectorId to {want}", want = code_span(want)),
                    );
                }
            }
            None if !solutions.is_empty() && !solutions.iter().any(|s| ctx.snapshot.references_unknown(s)) => {
                let elsewhere: Vec<String> = ctx
                    .snapshot
                    .solutions
                    .iter()
                    .filter(|s| !solutions.iter().any(|c| c.manifest.unique_name == s.manifest.unique_name) && s.reference(name).is_some())
                    .map(|s| code_span(&s.manifest.unique_name).to_string())
                    .collect();
                let note = if elsewhere.is_empty() {
                    String::new()
                } else {
                    format!(" ({} does: was the entry copied from its file?)", list(&elsewhere))
                };
                finding(
                    &registry::CR404,
                    &e.loc,
                    format!(
                        "entry {name} names a reference that solution {} does not define{note}",
                        names(solutions),
                        name = code_span(name)
                    ),
                    "remove the entry (`connref settings --prune --write`), or map the file to the right solution with [[settings.map]]"
                        .into(),
                );
            }
            None => {}
        }
    }
    let at = file.references_loc.as_ref().unwrap_or(&file.root_loc);
    let mut seen: Vec<String> = Vec::new();
    for s in solutions {
        for r in &s.references {
            let lower = r.logical_name.to_ascii_lowercase();
            if seen.contains(&lower) || first.contains_key(&lower) {
                continue;
            }
            seen.push(lower);
            let connector = r.connector_id.as_deref().unwrap_or("");
            out.push(
                Finding::new(
                    &registry::CR401,
                    at.clone(),
                    format!(
                        "reference {} of solution {} is missing from the settings of environment {}",
                        code_span(&r.logical_name),
                        code_span(&s.manifest.unique_name),
                        code_span(&file.environment)
                    ),
                )
                .solution(&s.manifest.unique_name)
                .reference(&r.logical_name)
                .help(format!(
                    "add {{\"LogicalName\": {}, \"ConnectionId\": \"…\", \"ConnectorId\": {}}} to `ConnectionReferences`, or {}",
                    quoted(&r.logical_name),
                    quoted(connector),
                    settings_command(file)
                )),
            );
        }
    }
}

/// Why a literal ConnectionId is malformed, if it is.
fn malformed(id: &str) -> Option<&'static str> {
    if id.contains('/') {
        Some("holds `/` (a connection id is the last segment of the connection's path)")
    } else if id.chars().any(char::is_whitespace) {
        Some("holds white space")
    } else if id.len() > 7 && id.get(..7).is_some_and(|p| p.eq_ignore_ascii_case("shared_")) {
        Some("starts with a connector name (`shared_…`), not a connection id")
    } else {
        None
    }
}

fn variables(file: &SettingsFile, solutions: &[&Solution], out: &mut Vec<Finding>) {
    let Some(vars) = &file.variables else { return };
    let mut first: BTreeMap<String, &Loc> = BTreeMap::new();
    for v in vars {
        let name = &v.schema_name;
        let lower = name.to_ascii_lowercase();
        if let Some(prev) = first.get(&lower) {
            out.push(
                on(
                    file,
                    &registry::CR405,
                    v.loc.clone(),
                    format!(
                        "a second entry for environment variable {name} (the first is on line {})",
                        prev.line,
                        name = code_span(name)
                    ),
                )
                .help("keep one entry: tools disagree on which one wins")
                .detail(&format!("{} {name}", file.path)),
            );
            continue;
        }
        first.insert(lower, &v.loc);
        let def = solutions
            .iter()
            .find_map(|s| s.env_vars.iter().find(|d| d.schema_name.eq_ignore_ascii_case(name)).map(|d| (s, d)));
        match def {
            Some((s, d)) => {
                let empty = v.value.as_deref().is_none_or(|x| x.trim().is_empty());
                let no_default = d.default_value.as_deref().is_none_or(|x| x.trim().is_empty());
                if d.required && no_default && empty {
                    out.push(
                        Finding::new(
                            &registry::CR407,
                            v.value_loc.clone().unwrap_or_else(|| v.loc.clone()),
                            format!(
                                "required environment variable {name} has no default and is left empty in environment {}",
                                code_span(&file.environment),
                                name = code_span(name)
                            ),
                        )
                        .severity(Severity::Warning)
                        .solution(&s.manifest.unique_name)
                        .help("set its value for this environment, or a pipeline token such as `#{environmentvariable.<name>}#`")
                        .detail(&format!("{} {name}", file.path)),
                    );
                }
            }
            None if !solutions.is_empty() => out.push(
                on(
                    file,
                    &registry::CR404,
                    v.loc.clone(),
                    format!(
                        "entry {name} names an environment variable that solution {} does not define",
                        names(solutions),
                        name = code_span(name)
                    ),
                )
                .help("remove the entry (`connref settings --prune --write`), or map the file to the right solution with [[settings.map]]")
                .detail(&format!("{} {name}", file.path)),
            ),
            None => {}
        }
    }
    let at = file.variables_loc.as_ref().unwrap_or(&file.root_loc);
    let mut seen: Vec<String> = Vec::new();
    for s in solutions {
        for d in &s.env_vars {
            let lower = d.schema_name.to_ascii_lowercase();
            if seen.contains(&lower) || first.contains_key(&lower) {
                continue;
            }
            seen.push(lower);
            out.push(
                Finding::new(
                    &registry::CR407,
                    at.clone(),
                    format!(
                        "environment variable {} of solution {} is missing from the settings of environment {}",
                        code_span(&d.schema_name),
                        code_span(&s.manifest.unique_name),
                        code_span(&file.environment)
                    ),
                )
                .solution(&s.manifest.unique_name)
                .help(format!(
                    "add {{\"SchemaName\": {}, \"Value\": \"…\"}} to `EnvironmentVariables`, or {}",
                    quoted(&d.schema_name),
                    settings_command(file)
                ))
                .detail(&format!("{} {}", file.path, d.schema_name)),
            );
        }
    }
}

/// CR406: a literal ConnectionId bound in two environments. One finding per entry, naming the
/// files of the other environments.
fn reused(snapshot: &Snapshot, out: &mut Vec<Finding>) {
    struct Use<'a> {
        file: &'a SettingsFile,
        name: &'a str,
        loc: &'a Loc,
    }
    let mut by_id: BTreeMap<String, Vec<Use<'_>>> = BTreeMap::new();
    // A file of a solution that is not in the tree gets its CR411 and nothing else.
    for file in snapshot.settings.iter().filter(|f| !f.invalid && f.missing_solution.is_none()) {
        for e in &file.references {
            if let (Some(id), Some(loc)) = (literal_id(e.connection_id.as_deref()), &e.connection_id_loc) {
                by_id.entry(id).or_default().push(Use {
                    file,
                    name: &e.logical_name,
                    loc,
                });
            }
        }
    }
    for uses in by_id.values() {
        for u in uses {
            let mut others: Vec<String> = uses
                .iter()
                .filter(|o| !o.file.environment.eq_ignore_ascii_case(&u.file.environment))
                .map(|o| format!("{} ({})", code_span(&o.file.path), o.file.environment))
                .collect();
            others.dedup();
            if others.is_empty() {
                continue;
            }
            out.push(
                on(
                    u.file,
                    &registry::CR406,
                    u.loc.clone(),
                    format!(
                        "reference {} in environment {} is bound to a connection that is also bound in {}",
                        code_span(u.name),
                        code_span(&u.file.environment),
                        list(&others)
                    ),
                )
                .reference(u.name)
                .detail(&u.file.path)
                .help("a connection belongs to one environment: one of the files was copied from the other; set each environment's own connection"),
            );
        }
    }
}
