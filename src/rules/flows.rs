//! CR501–CR509: how flows bind connection references, and CR503 for references nothing uses.

use std::collections::{HashMap, HashSet};

use super::{Context, list};
use crate::finding::{Finding, Loc, Severity, code_span};
use crate::model::{Binding, Caseless, Flow, FlowEntry, Reference, Solution, connector, root_label};
use crate::rules::registry::{self, Rule};

pub fn check(ctx: &Context<'_>) -> Vec<Finding> {
    let mut out = Vec::new();
    // Thousands of flows look names up in hundreds of references: index them once.
    let by_name: HashMap<(*const Solution, Caseless<'_>), &Reference> = ctx
        .snapshot
        .references()
        .map(|(s, r)| ((std::ptr::from_ref(s), Caseless(&r.logical_name)), r))
        .collect();
    let lookup = |s: &Solution, name: &str| by_name.get(&(std::ptr::from_ref(s), Caseless(name))).copied();
    for (s, f) in ctx.snapshot.flows() {
        for e in &f.entries {
            let start = out.len();
            entry(ctx, s, f, e, &lookup, &mut out);
            for finding in &mut out[start..] {
                finding.detail = Some(e.key.clone());
            }
        }
        for h in &f.undeclared_hosts {
            out.push(
                on(
                    s,
                    f,
                    &registry::CR508,
                    h.loc.clone(),
                    format!(
                        "an action of flow {} uses the connection key {}, which `properties.connectionReferences` does not declare",
                        code_span(&f.name),
                        code_span(&h.key)
                    ),
                )
                .help(format!(
                    "declare {} under `properties.connectionReferences`, or change the action to one of: {}",
                    code_span(&h.key),
                    list(&f.entries.iter().map(|e| format!("`{}`", e.key)).collect::<Vec<_>>())
                ))
                .detail(&h.key),
            );
        }
        match &f.meta {
            None => out.push(
                on(
                    s,
                    f,
                    &registry::CR509,
                    Loc::file(&f.path),
                    format!(
                        "flow {} has no `{}` beside it: its display name and state are unknown",
                        code_span(&f.name),
                        f.meta_file
                    ),
                )
                .help("export the solution again (`pac solution unpack`, or `pac solution sync` in the YAML layout) instead of copying flow files by hand"),
            ),
            Some(m) => {
                if let Some((state, loc)) = &m.state
                    && state == "0"
                {
                    out.push(
                        on(
                            s,
                            f,
                            &registry::CR505,
                            loc.clone(),
                            format!(
                                "flow {} is committed switched off (StateCode 0): it will import switched off",
                                code_span(&f.name)
                            ),
                        )
                        .help(
                            "turn the flow on in the development environment and export again, or activate it after import in the pipeline",
                        ),
                    );
                }
            }
        }
    }
    out.extend(unused(ctx));
    out
}

fn on(s: &Solution, f: &Flow, rule: &'static Rule, loc: Loc, msg: String) -> Finding {
    Finding::new(rule, loc, msg).solution(&s.manifest.unique_name).flow(&f.name, &f.id)
}

fn entry<'a>(
    ctx: &Context<'_>,
    s: &Solution,
    f: &Flow,
    e: &FlowEntry,
    lookup: &impl Fn(&Solution, &str) -> Option<&'a Reference>,
    out: &mut Vec<Finding>,
) {
    let api = e.api_name.as_ref().map(|(a, _)| a.as_str());
    match &e.binding {
        Binding::Embedded { connection, loc } => out.push(
            on(
                s,
                f,
                &registry::CR501,
                loc.clone(),
                format!(
                    "entry {} of flow {} embeds the connection {connection} instead of a connection reference",
                    code_span(&e.key),
                    code_span(&f.name),
                    connection = code_span(connection)
                ),
            )
            .help(format!(
                "open the flow inside the solution and select the connection again, so that the entry binds {}",
                candidates(s, api)
            )),
        ),
        Binding::Empty { loc } => out.push(
            on(
                s,
                f,
                &registry::CR501,
                loc.clone(),
                format!(
                    "entry {} of flow {} has no connection and no connection reference",
                    code_span(&e.key),
                    code_span(&f.name)
                ),
            )
            .help(format!("bind the entry to {}", candidates(s, api))),
        ),
        Binding::Reference { logical_name, loc } => match lookup(s, logical_name) {
            None if ctx.snapshot.references_unknown(s) => {}
            None => out.push(undefined(ctx, s, f, logical_name, loc)),
            Some(def) => {
                if def.logical_name != *logical_name {
                    out.push(
                        on(
                            s,
                            f,
                            &registry::CR507,
                            loc.clone(),
                            format!(
                                "flow {} spells the reference {logical_name}, but it is defined as {}",
                                code_span(&f.name),
                                code_span(&def.logical_name),
                                logical_name = code_span(logical_name)
                            ),
                        )
                        .reference(&def.logical_name)
                        .help(format!("write {} exactly as defined", code_span(&def.logical_name))),
                    );
                }
                if let (Some((api, api_loc)), Some(def_api)) = (&e.api_name, def.api_name())
                    && !connector::same(api, def_api)
                {
                    out.push(
                        on(
                            s,
                            f,
                            &registry::CR504,
                            api_loc.clone(),
                            format!(
                                "entry {} of flow {} uses connector {api}, but its reference {} binds {def_api}",
                                code_span(&e.key),
                                code_span(&f.name),
                                code_span(&def.logical_name),
                                api = code_span(api),
                                def_api = code_span(def_api)
                            ),
                        )
                        .reference(&def.logical_name)
                        .help(format!(
                            "bind the entry to a reference for {api}, or fix `api.name`",
                            api = code_span(api)
                        )),
                    );
                }
            }
        },
    }
    if let Some((id, loc)) = &e.leaked_connection {
        out.push(
            on(
                s,
                f,
                &registry::CR506,
                loc.clone(),
                format!(
                    "entry {} of flow {} carries `connectionName` {id}, a connection id of the maker's environment",
                    code_span(&e.key),
                    code_span(&f.name),
                    id = code_span(id)
                ),
            )
            .help("delete the `connectionName` line: the connection reference binds the connection in each environment"),
        );
    }
}

/// "a connection reference of solution X for shared_y", naming the ones that exist.
fn candidates(s: &Solution, api: Option<&str>) -> String {
    let Some(api) = api else {
        return format!("a connection reference of solution {}", code_span(&s.manifest.unique_name));
    };
    let same: Vec<String> = s
        .references
        .iter()
        .filter(|r| r.api_name().is_some_and(|a| connector::same(a, api)))
        .map(|r| code_span(&r.logical_name).to_string())
        .collect();
    if same.is_empty() {
        format!(
            "a new connection reference of solution {} for {api}",
            code_span(&s.manifest.unique_name),
            api = code_span(api)
        )
    } else {
        format!(
            "{} (solution {}'s {} for {api})",
            list(&same),
            code_span(&s.manifest.unique_name),
            if same.len() == 1 { "reference" } else { "references" },
            api = code_span(api)
        )
    }
}

fn undefined(ctx: &Context<'_>, s: &Solution, f: &Flow, logical_name: &str, loc: &Loc) -> Finding {
    // A twin root with the same UniqueName is the same solution: saying "solution `X` does
    // not define it; solution `X` does" would contradict itself. Name the twin's root instead.
    let twins: Vec<String> = ctx
        .snapshot
        .definers(logical_name, s)
        .filter(|o| o.manifest.unique_name.eq_ignore_ascii_case(&s.manifest.unique_name))
        .map(|o| code_span(root_label(&o.root)).to_string())
        .collect();
    if !twins.is_empty() {
        return on(
            s,
            f,
            &registry::CR502,
            loc.clone(),
            format!(
                "flow {} is bound to {logical_name}, which root {} of solution {} does not define (its twin root {} does)",
                code_span(&f.name),
                code_span(root_label(&s.root)),
                code_span(&s.manifest.unique_name),
                list(&twins),
                logical_name = code_span(logical_name)
            ),
        )
        .reference(logical_name)
        .help(format!(
            "add the connection reference {logical_name} to root {} too: each root is imported on its own",
            code_span(root_label(&s.root)),
            logical_name = code_span(logical_name)
        ));
    }
    let others: Vec<String> = ctx
        .snapshot
        .definers(logical_name, s)
        .filter(|o| !o.manifest.unique_name.eq_ignore_ascii_case(&s.manifest.unique_name))
        .map(|o| code_span(&o.manifest.unique_name).to_string())
        .collect();
    if !others.is_empty() {
        return on(
            s,
            f,
            &registry::CR502,
            loc.clone(),
            format!(
                "flow {} is bound to {logical_name}, which solution {} does not define; solution {} does (a cross-solution dependency)",
                code_span(&f.name),
                code_span(&s.manifest.unique_name),
                list(&others),
                logical_name = code_span(logical_name)
            ),
        )
        .severity(Severity::Warning)
        .reference(logical_name)
        .help(format!(
            "import {} before {} in every environment, or move the reference into this solution",
            list(&others),
            code_span(&s.manifest.unique_name)
        ));
    }
    let listing = s
        .manifest
        .missing_references
        .iter()
        .find(|m| m.logical_name.eq_ignore_ascii_case(logical_name));
    if let Some(dep) = listing.and_then(|m| m.solution.as_ref()) {
        // A declared dependency: the reference ships in another solution that the target
        // environment must have (extensions of a core solution do this on purpose).
        let version = dep.version.as_deref().map(|v| format!(" {v}")).unwrap_or_default();
        return on(
            s,
            f,
            &registry::CR502,
            loc.clone(),
            format!(
                "flow {} is bound to {logical_name}, which solution {} does not define: the solution manifest declares it a dependency on solution {}{version}",
                code_span(&f.name),
                code_span(&s.manifest.unique_name),
                code_span(&dep.unique_name),
                logical_name = code_span(logical_name)
            ),
        )
        .severity(Severity::Warning)
        .reference(logical_name)
        .help(format!(
            "install solution {}{version} (or later) in every environment before importing {}",
            code_span(&dep.unique_name),
            code_span(&s.manifest.unique_name)
        ));
    }
    let note = if listing.is_some() {
        " (it is only listed under the solution manifest's MissingDependencies)"
    } else {
        ""
    };
    on(
        s,
        f,
        &registry::CR502,
        loc.clone(),
        format!(
            "flow {} is bound to {logical_name}, which solution {} does not define{note}",
            code_span(&f.name),
            code_span(&s.manifest.unique_name),
            logical_name = code_span(logical_name)
        ),
    )
    .reference(logical_name)
    .help(format!(
        "add the connection reference {logical_name} to solution {}, or bind the entry to one it defines",
        code_span(&s.manifest.unique_name),
        logical_name = code_span(logical_name)
    ))
}

/// CR503: references that no flow (in any solution of the tree), app or bot uses.
fn unused(ctx: &Context<'_>) -> Vec<Finding> {
    let bound: HashSet<Caseless<'_>> = ctx.snapshot.flows().flat_map(|(_, f)| f.bound_references().map(Caseless)).collect();
    let mut out = Vec::new();
    for s in &ctx.snapshot.solutions {
        let app_connectors: HashSet<String> = s
            .apps
            .iter()
            .flat_map(|a| a.connectors.iter().map(|c| connector::identity(c)))
            .collect();
        for r in &s.references {
            let by_flow = bound.contains(&Caseless(&r.logical_name));
            let by_app = r
                .connector_id
                .as_deref()
                .is_some_and(|c| app_connectors.contains(&connector::identity(c)));
            let by_bot = s.bot_links.iter().any(|b| b.logical_name.eq_ignore_ascii_case(&r.logical_name));
            if !(by_flow || by_app || by_bot) {
                out.push(
                    Finding::new(
                        &registry::CR503,
                        r.loc.clone(),
                        format!("reference {} is not used by any flow, app or bot", code_span(&r.logical_name)),
                    )
                    .solution(&s.manifest.unique_name)
                    .reference(&r.logical_name)
                    .help("remove it from the solution if nothing needs it: every environment must bind it all the same"),
                );
            }
        }
    }
    out
}
