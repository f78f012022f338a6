//! CR201–CR207: one connection reference per service identity. The rules check that each
//! identity's flows bind only its references (see `assignment` for who runs as whom), and that
//! the deployment settings keep the identities apart.

mod assignment;

pub use assignment::{Assignment, FlowInfo, RefInfo, assign, flow_loc, reference_identity};

use std::collections::{BTreeMap, BTreeSet};

use super::{Context, list};
use crate::config::Config;
use crate::finding::{Finding, Loc, code_span};
use crate::model::settings::literal_id;
use crate::model::{Snapshot, Solution, connector};
use crate::rules::registry;

pub fn check(ctx: &Context<'_>) -> Vec<Finding> {
    let a = ctx.assignment();
    let mut out = Vec::new();
    if ctx.config.identity.is_empty() {
        out.extend(busy_references(ctx.config, a));
        return out;
    }
    out.extend(shared_across_identities(ctx.config, a));
    out.extend(wrong_identity_reference(ctx.config, a));
    out.extend(identities_share_connection(ctx.snapshot, ctx.config));
    out.extend(flows_without_identity(ctx.snapshot, a));
    out.extend(duplicate_connectors(ctx.config, a));
    out.extend(foreign_connections(ctx.snapshot, ctx.config));
    out
}

fn ref_loc(r: &RefInfo<'_>) -> Option<Loc> {
    r.reference
        .map(|d| d.loc.clone())
        .or_else(|| r.bindings.first().map(|(_, l)| l.clone()))
}

fn with_solution(f: Finding, s: Option<&Solution>) -> Finding {
    match s {
        Some(s) => f.solution(&s.manifest.unique_name),
        None => f,
    }
}

/// CR201.
fn shared_across_identities(cfg: &Config, a: &Assignment<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for r in &a.references {
        let mut by: BTreeMap<usize, BTreeSet<&str>> = BTreeMap::new();
        for (fi, _) in &r.bindings {
            let f = &a.flows[*fi];
            if let Some(i) = f.identity {
                by.entry(i).or_default().insert(&f.flow.name);
            }
        }
        if by.len() < 2 {
            continue;
        }
        let Some(loc) = ref_loc(r) else { continue };
        let parts: Vec<String> = by
            .iter()
            .map(|(i, fl)| {
                let fl: Vec<String> = fl.iter().map(|n| format!("{n}", n = code_span(n))).collect();
                format!("{} ({})", code_span(&cfg.identity[*i].name), list(&fl))
            })
            .collect();
        let f = Finding::new(
            &registry::CR201,
            loc,
            format!(
                "reference {} is used by flows of {} identities: {}",
                code_span(&r.logical_name),
                by.len(),
                list(&parts)
            ),
        )
        .help(format!(
            "give each identity its own reference, named with the identity as purpose under the template {}, and bind each flow to the reference of its identity",
            code_span(cfg.naming.template())))
        .reference(&r.logical_name);
        out.push(with_solution(f, r.solution));
    }
    out
}

/// CR202.
fn wrong_identity_reference(cfg: &Config, a: &Assignment<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for r in &a.references {
        let Some(owner) = r.identity else { continue };
        for (fi, loc) in &r.bindings {
            let f = &a.flows[*fi];
            let Some(runs_as) = f.identity.filter(|&i| i != owner) else {
                continue;
            };
            let api = r.api_name();
            let own: Vec<String> = a
                .references
                .iter()
                .filter(|o| o.identity == Some(runs_as) && o.reference.is_some())
                .filter(|o| match (api, o.api_name()) {
                    (Some(x), Some(y)) => connector::same(x, y),
                    _ => false,
                })
                .map(|o| code_span(&o.logical_name).to_string())
                .collect();
            let target = if own.is_empty() {
                format!(
                    "a reference of identity {} (create one, e.g. with the purpose {} under the template {})",
                    code_span(&cfg.identity[runs_as].name),
                    code_span(&cfg.identity[runs_as].name),
                    code_span(cfg.naming.template())
                )
            } else {
                format!("{} of identity {}", list(&own), code_span(&cfg.identity[runs_as].name))
            };
            let fd = Finding::new(
                &registry::CR202,
                loc.clone(),
                format!(
                    "flow {} runs as identity {} but is bound to {}, a reference of identity {}",
                    code_span(&f.flow.name),
                    code_span(&cfg.identity[runs_as].name),
                    code_span(&r.logical_name),
                    code_span(&cfg.identity[owner].name)
                ),
            )
            .help(format!("bind it to {target}"))
            .solution(&f.solution.manifest.unique_name)
            .reference(&r.logical_name)
            .flow(&f.flow.name, &f.flow.id);
            out.push(fd);
        }
    }
    out
}

/// CR203.
fn identities_share_connection(snapshot: &Snapshot, cfg: &Config) -> Vec<Finding> {
    // environment (lower case) → connection id → entries seen: (logical name, identity)
    let mut seen: BTreeMap<String, BTreeMap<String, Vec<(String, usize)>>> = BTreeMap::new();
    let mut out = Vec::new();
    for file in &snapshot.settings {
        for r in &file.references {
            let Some(id) = literal_id(r.connection_id.as_deref()) else {
                continue;
            };
            let Some(identity) = reference_identity(cfg, &r.logical_name) else {
                continue;
            };
            let entries = seen
                .entry(file.environment.to_ascii_lowercase())
                .or_default()
                .entry(id)
                .or_default();
            if let Some((other, other_id)) = entries.iter().find(|(_, i)| *i != identity).cloned()
                && !entries.iter().any(|(_, i)| *i == identity)
            {
                let conn = r.connection_id.as_deref().unwrap_or_default().trim();
                out.push(
                    Finding::new(
                        &registry::CR203,
                        r.connection_id_loc.clone().unwrap_or_else(|| r.loc.clone()),
                        format!(
                            "in environment {}, {} (identity {}) and {other} (identity {}) are bound to the same connection {conn}: the identities collapse into one connection there",
                            code_span(&file.environment), code_span(&r.logical_name), code_span(&cfg.identity[identity].name), code_span(&cfg.identity[other_id].name), other = code_span(&other), conn = code_span(conn)),
                    )
                    .help(format!(
                        "bind {} to a connection of identity {} in {}",
                        code_span(&r.logical_name), code_span(&cfg.identity[identity].name), code_span(&file.environment)))
                    .reference(&r.logical_name),
                );
            }
            entries.push((r.logical_name.clone(), identity));
        }
    }
    out
}

/// CR204.
fn flows_without_identity(snapshot: &Snapshot, a: &Assignment<'_>) -> Vec<Finding> {
    a.flows
        .iter()
        .filter(|f| f.identity.is_none())
        .map(|f| {
            let ids: Vec<String> = a.identities.iter().map(|i| code_span(&i.name).to_string()).collect();
            Finding::new(
                &registry::CR204,
                flow_loc(snapshot, f.flow),
                format!("flow {} matches no identity", code_span(&f.flow.name)),
            )
            .help(format!(
                "add it to the `flows` globs of the identity it should run as ({}) in connref.toml, e.g. `flows = [\"{}\"]`",
                list(&ids),
                f.flow.name.replace('"', "\\\"")
            ))
            .solution(&f.solution.manifest.unique_name)
            .flow(&f.flow.name, &f.flow.id)
        })
        .collect()
}

/// CR205.
fn duplicate_connectors(cfg: &Config, a: &Assignment<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    for (i, id) in cfg.identity.iter().enumerate() {
        let mut by: BTreeMap<String, Vec<&RefInfo<'_>>> = BTreeMap::new();
        for r in a.references.iter().filter(|r| r.identity == Some(i)) {
            if let Some(api) = r.api_name() {
                by.entry(connector::identity(api)).or_default().push(r);
            }
        }
        for refs in by.into_values() {
            let Some((keep, extra)) = refs.split_first() else { continue };
            if extra.is_empty() {
                continue;
            }
            let conn = keep.api_name().unwrap_or_default();
            let all: Vec<String> = refs.iter().map(|r| code_span(&r.logical_name).to_string()).collect();
            for r in extra {
                let Some(d) = r.reference else { continue };
                let f = Finding::new(
                    &registry::CR205,
                    d.loc.clone(),
                    format!(
                        "identity {} has {} references for connector {conn}: {}",
                        code_span(&id.name),
                        refs.len(),
                        list(&all),
                        conn = code_span(conn)
                    ),
                )
                .help(format!(
                    "keep one reference per connector for the identity: bind the flows of {} to {} and remove {}",
                    code_span(&r.logical_name),
                    code_span(&keep.logical_name),
                    code_span(&r.logical_name)
                ))
                .reference(&r.logical_name);
                out.push(with_solution(f, r.solution));
            }
        }
    }
    out
}

/// CR206.
fn foreign_connections(snapshot: &Snapshot, cfg: &Config) -> Vec<Finding> {
    let mut out = Vec::new();
    for file in &snapshot.settings {
        for r in &file.references {
            let Some(conn) = r.connection_id.as_deref().filter(|c| literal_id(Some(c)).is_some()) else {
                continue;
            };
            let Some(own) = reference_identity(cfg, &r.logical_name) else {
                continue;
            };
            let owners: Vec<usize> = (0..cfg.identity.len())
                .filter(|&i| i != own && cfg.identity[i].owns_connection(&file.environment, conn))
                .collect();
            let Some(&other) = owners.first() else { continue };
            let mine = cfg.identity[own]
                .connections
                .iter()
                .filter(|(env, _)| env.eq_ignore_ascii_case(&file.environment))
                .flat_map(|(_, ids)| ids.iter().map(|i| code_span(i).to_string()))
                .collect::<Vec<_>>();
            let hint = if mine.is_empty() {
                String::new()
            } else {
                format!(" ({} in connref.toml)", list(&mine))
            };
            out.push(
                Finding::new(
                    &registry::CR206,
                    r.connection_id_loc.clone().unwrap_or_else(|| r.loc.clone()),
                    format!(
                        "in environment {}, reference {} of identity {} is bound to connection {}, which connref.toml lists for identity {}",
                        code_span(&file.environment),
                        code_span(&r.logical_name),
                        code_span(&cfg.identity[own].name),
                        code_span(conn.trim()),
                        code_span(&cfg.identity[other].name)),
                )
                .help(format!(
                    "bind it to a connection of identity {}{hint}; the flows would otherwise run as {}",
                    code_span(&cfg.identity[own].name), code_span(&cfg.identity[other].name)))
                .reference(&r.logical_name),
            );
        }
    }
    out
}

/// CR207.
fn busy_references(cfg: &Config, a: &Assignment<'_>) -> Vec<Finding> {
    let max = cfg.identities.max_flows_per_reference;
    a.references
        .iter()
        .filter(|r| r.bindings.len() > max)
        .filter_map(|r| {
            let loc = ref_loc(r)?;
            let f = Finding::new(
                &registry::CR207,
                loc,
                format!(
                    "reference {} is used by {} flows (more than {max}): they share one connection's rate limits and one credential",
                    code_span(&r.logical_name),
                    r.bindings.len()
                ),
            )
            .help(
                "declare the service identities the flows should run as with `[[identity]]` tables in connref.toml (see the section on service identities in the README) and give each its own reference",
            )
            .reference(&r.logical_name);
            Some(with_solution(f, r.solution))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::settings::{SettingsFile, SettingsReference};

    fn cfg() -> Config {
        Config::parse(
            r#"
[[identity]]
name = "reporting"
flows = ["Report *"]
[identity.connections]
Prod = ["conn-rep"]
[[identity]]
name = "writer"
flows = ["Sync *"]
[identity.connections]
prod = ["conn-wri"]
"#,
        )
        .unwrap()
    }

    fn entry(name: &str, conn: &str, line: u32) -> SettingsReference {
        let loc = Loc {
            line,
            ..Loc::file("deploy/prod.json")
        };
        SettingsReference {
            logical_name: name.to_owned(),
            loc: loc.clone(),
            connection_id: Some(conn.to_owned()),
            connection_id_loc: Some(Loc { column: 20, ..loc }),
            connector_id: None,
            connector_id_loc: None,
        }
    }

    fn settings(env: &str, refs: Vec<SettingsReference>) -> Snapshot {
        Snapshot {
            settings: vec![SettingsFile {
                environment: env.to_owned(),
                references: refs,
                ..SettingsFile::new("deploy/prod.json".into(), Loc::file("deploy/prod.json"))
            }],
            ..Snapshot::default()
        }
    }

    fn codes(snapshot: &Snapshot, config: &Config) -> Vec<(&'static str, u32, String)> {
        check(&Context::new(snapshot, config))
            .into_iter()
            .map(|f| (f.code(), f.loc.line, f.message))
            .collect()
    }

    #[test]
    fn cr203_identities_on_one_connection() {
        let c = cfg();
        let s = settings(
            "Prod",
            vec![
                entry("cat_reporting_dataverse", "conn-x", 3),
                entry("cat_reporting_sql", "CONN-X", 8),
                entry("cat_writer_dataverse", "conn-x", 13),
            ],
        );
        let got = codes(&s, &c);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!((got[0].0, got[0].1), ("CR203", 13));
        assert!(
            got[0]
                .2
                .contains("`cat_writer_dataverse` (identity `writer`) and `cat_reporting_dataverse`"),
            "{}",
            got[0].2
        );
    }

    #[test]
    fn cr203_near_misses() {
        let c = cfg();
        // Same identity on one connection, tokens, and references of no identity are fine.
        let s = settings(
            "Prod",
            vec![
                entry("cat_reporting_dataverse", "conn-x", 3),
                entry("cat_reporting_sql", "conn-x", 8),
                entry("cat_writer_dataverse", "#{WriterConnection}#", 13),
                entry("cat_other_dataverse", "conn-x", 18),
                entry("cat_writer_sql", "", 23),
            ],
        );
        assert_eq!(codes(&s, &c), []);
        // Two identities on the same pipeline token or placeholder are bound to nothing yet:
        // the one classification CR402 uses says so (a token, `TODO`), so no CR203.
        for unbound in [
            "${CONN}",
            "$(Conn)",
            "{{ conn }}",
            "__Conn__",
            "TODO",
            "00000000-0000-0000-0000-000000000000",
        ] {
            let s = settings(
                "Prod",
                vec![
                    entry("cat_reporting_dataverse", unbound, 3),
                    entry("cat_writer_dataverse", unbound, 8),
                ],
            );
            assert_eq!(codes(&s, &c), [], "{unbound}");
        }
    }

    #[test]
    fn cr206_connection_of_another_identity() {
        let c = cfg();
        let s = settings("PROD", vec![entry("cat_writer_dataverse", "Conn-Rep", 4)]);
        let got = codes(&s, &c);
        assert_eq!(got.len(), 1, "{got:?}");
        assert_eq!((got[0].0, got[0].1), ("CR206", 4));
        assert!(got[0].2.contains("lists for identity `reporting`"), "{}", got[0].2);
    }

    #[test]
    fn cr206_near_misses() {
        let c = cfg();
        // Its own connection; another environment's list; a reference of no identity.
        let s = settings(
            "Prod",
            vec![entry("cat_writer_dataverse", "conn-wri", 4), entry("cat_other_x", "conn-rep", 9)],
        );
        assert_eq!(codes(&s, &c), []);
        let s = settings("Test", vec![entry("cat_writer_dataverse", "conn-rep", 4)]);
        assert_eq!(codes(&s, &c), []);
    }

    #[test]
    fn no_identities_no_settings_rules() {
        let s = settings(
            "Prod",
            vec![
                entry("cat_writer_dataverse", "conn-rep", 4),
                entry("cat_reporting_x", "conn-rep", 9),
            ],
        );
        assert_eq!(codes(&s, &Config::default()), []);
    }
}
