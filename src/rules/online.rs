//! CR601–CR606 (`connref verify`: the settings entries of one environment against what the
//! environment holds) and CR611–CR614 (`connref audit`: the environment's flows and references).
//! Pure functions of what the environment answered; `online` does the talking.

use std::collections::HashMap;

use super::list;
use super::registry::{self, Rule};
use crate::finding::{Finding, Loc, Severity};
use crate::model::settings::{Binding, SettingsFile, classify};
use crate::model::{Binding as FlowBinding, Snapshot, connector};
use crate::online::dataverse::{ConnectionReference, Workflow};
use crate::online::powerplatform::{Connection, Permission};

/// A connection that a settings entry binds, to be looked up: the api name for the route
/// and the id as the file gives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub api: String,
    pub connection_id: String,
}

impl Target {
    pub fn key(&self) -> (String, String) {
        (self.api.to_ascii_lowercase(), self.connection_id.trim().to_ascii_lowercase())
    }
}

/// A connection as the environment has it, with who may use it; `None` when it is not there.
pub type Looked = Option<(Connection, Vec<Permission>)>;

/// What the environment answered.
#[derive(Debug, Clone, Default)]
pub struct Live {
    /// The environment's name as connref.toml spells it.
    pub environment: String,
    /// The deploying principal's object id, lower case.
    pub deployer: String,
    /// By `Target::key`: the connection with its permissions, `None` when it does not exist.
    pub connections: HashMap<(String, String), Looked>,
    pub references: Vec<ConnectionReference>,
    pub flows: Vec<Workflow>,
    /// Every connection of the environment (audit).
    pub all_connections: Vec<Connection>,
}

/// The connector a settings entry must bind: the reference's `connectorid` in the solution
/// source (what the import binds), else the entry's own `ConnectorId` (a mismatch of the two is
/// CR403's).
fn connector_of(snapshot: &Snapshot, file: &SettingsFile, logical_name: &str, entry_connector: Option<&str>) -> Option<String> {
    let defined = |s: &&crate::model::Solution| {
        file.solutions.is_empty() || file.solutions.iter().any(|n| n.eq_ignore_ascii_case(&s.manifest.unique_name))
    };
    snapshot
        .solutions
        .iter()
        .filter(defined)
        .find_map(|s| s.reference(logical_name).and_then(|r| r.connector_id.clone()))
        .or_else(|| entry_connector.map(str::trim).filter(|c| !c.is_empty()).map(str::to_owned))
}

/// Each literal binding of the files, with the connector it must be: what `verify` looks up.
pub fn targets(snapshot: &Snapshot, files: &[&SettingsFile]) -> Vec<Target> {
    let mut out: Vec<Target> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    for file in files {
        for r in &file.references {
            if classify(r.connection_id.as_deref()) != Binding::Bound {
                continue;
            }
            let Some(connector) = connector_of(snapshot, file, &r.logical_name, r.connector_id.as_deref()) else {
                continue;
            };
            let t = Target {
                api: connector::api_name(&connector).to_owned(),
                connection_id: r.connection_id.clone().unwrap_or_default().trim().to_owned(),
            };
            if seen.insert(t.key()) {
                out.push(t);
            }
        }
    }
    out
}

const PERSON_HELP: &str = "bind a connection of a service principal or a service account: a person's connection breaks when they leave, and multi-factor prompts break flows that run unattended";

/// The roles that let a principal use a connection; the portal's "Can use" is `CanView`.
const USE_ROLES: &[&str] = &["Owner", "CanEdit", "CanViewWithShare", "CanView"];

fn can_use(p: &Permission) -> bool {
    USE_ROLES.iter().any(|r| r.eq_ignore_ascii_case(&p.role))
}

/// A principal that stands for many: membership cannot be seen from the connection.
fn is_group(p: &Permission) -> bool {
    p.principal
        .kind
        .as_deref()
        .is_some_and(|k| k.eq_ignore_ascii_case("Group") || k.eq_ignore_ascii_case("Tenant"))
}

fn is_person(c: &Connection) -> Option<&crate::online::powerplatform::Principal> {
    c.created_by
        .as_ref()
        .filter(|p| p.kind.as_deref().is_some_and(|k| k.eq_ignore_ascii_case("User")))
}

/// How a connection is named in a message: its display name and id.
fn named(c: &Connection) -> String {
    match c.display_name.as_deref().filter(|d| !d.is_empty()) {
        Some(d) => format!("`{d}` ({})", c.name),
        None => format!("`{}`", c.name),
    }
}

fn person(p: &crate::online::powerplatform::Principal) -> String {
    p.upn
        .as_deref()
        .or(p.display_name.as_deref())
        .map_or_else(|| format!("`{}`", p.id), |n| format!("`{n}`"))
}

fn on(file: &SettingsFile, code: &'static Rule, loc: Loc, environment: &str, reference: &str, msg: String) -> Finding {
    let f = Finding::new(code, loc, msg).environment(environment).reference(reference);
    match file.solutions.as_slice() {
        [one] => f.solution(one),
        _ => f,
    }
}

/// CR601–CR606 for the entries of `files` (one environment), from what the environment answered.
pub fn verify(snapshot: &Snapshot, files: &[&SettingsFile], live: &Live) -> Vec<Finding> {
    let env = live.environment.as_str();
    let mut out = Vec::new();
    for file in files {
        let tokens: Vec<_> = file
            .references
            .iter()
            .filter(|r| classify(r.connection_id.as_deref()) == Binding::Token)
            .collect();
        if let Some(first) = tokens.first() {
            let loc = first.connection_id_loc.clone().unwrap_or_else(|| first.loc.clone());
            let names: Vec<String> = tokens.iter().map(|r| format!("`{}`", r.logical_name)).collect();
            out.push(
                Finding::new(
                    &registry::CR601,
                    loc,
                    format!(
                        "{} of environment `{env}` {} a pipeline token ({}): connref cannot verify a connection before the pipeline replaces the token",
                        if tokens.len() == 1 { "1 entry".to_owned() } else { format!("{} entries", tokens.len()) },
                        if tokens.len() == 1 { "binds" } else { "bind" },
                        list(&names)
                    ),
                )
                .severity(Severity::Info)
                .environment(env)
                .help(format!(
                    "run `connref verify --env {env} --settings {}` in the pipeline after the token replacement step",
                    file.path
                )),
            );
        }
        for r in &file.references {
            let expected = connector_of(snapshot, file, &r.logical_name, r.connector_id.as_deref());
            if let Some(expected) = &expected {
                stale_reference(file, r, expected, live, &mut out);
            }
            if classify(r.connection_id.as_deref()) != Binding::Bound {
                // Empty and placeholder ids are CR402's; tokens are reported once per file above.
                continue;
            }
            let id = r.connection_id.as_deref().unwrap_or_default().trim();
            let loc = r.connection_id_loc.clone().unwrap_or_else(|| r.loc.clone());
            let Some(expected) = expected else {
                out.push(
                    on(
                        file,
                        &registry::CR601,
                        loc,
                        env,
                        &r.logical_name,
                        format!(
                            "connection `{id}` of `{}` cannot be looked up: the entry has no `ConnectorId` and no solution below PATH defines the reference",
                            r.logical_name
                        ),
                    )
                    .severity(Severity::Info)
                    .help("add the entry's `ConnectorId` (`connref check` reports the entry too)"),
                );
                continue;
            };
            let target = Target {
                api: connector::api_name(&expected).to_owned(),
                connection_id: id.to_owned(),
            };
            match live.connections.get(&target.key()) {
                None => {}
                Some(None) => out.push(
                    on(
                        file,
                        &registry::CR601,
                        loc,
                        env,
                        &r.logical_name,
                        format!(
                            "connection `{id}` bound to `{}` does not exist in environment `{env}` (ConnectionNotFound)",
                            r.logical_name
                        ),
                    )
                    .help(format!(
                        "create a `{}` connection in environment `{env}` (or find one in Power Automate → Connections) and set its id as the ConnectionId; a connection of another environment never works here",
                        target.api
                    )),
                ),
                Some(Some((c, permissions))) => {
                    connection_findings(file, r, &loc, &expected, c, permissions, live, &mut out);
                }
            }
        }
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn connection_findings(
    file: &SettingsFile,
    r: &crate::model::settings::SettingsReference,
    loc: &Loc,
    expected: &str,
    c: &Connection,
    permissions: &[Permission],
    live: &Live,
    out: &mut Vec<Finding>,
) {
    let env = live.environment.as_str();
    let name = &r.logical_name;
    for s in c.statuses.iter().filter(|s| !s.status.eq_ignore_ascii_case("Connected")) {
        let error = s.error.as_deref().map(|e| format!(": {e}")).unwrap_or_default();
        out.push(
            on(
                file,
                &registry::CR602,
                loc.clone(),
                env,
                name,
                format!("connection {} bound to `{name}` is in the state `{}`{error}", named(c), s.status),
            )
            .help(format!(
                "open the connection in environment `{env}` (Power Automate → Connections), fix or sign in to it again, or bind a connection that is `Connected`"
            )),
        );
    }
    if let Some(api) = c.api_id.as_deref()
        && !connector::same(api, expected)
    {
        out.push(
            on(
                file,
                &registry::CR603,
                loc.clone(),
                env,
                name,
                format!(
                    "connection {} is a `{}` connection, but `{name}` binds `{}`",
                    named(c),
                    connector::api_name(api),
                    connector::api_name(expected)
                ),
            )
            .help(format!(
                "set the ConnectionId of a `{}` connection in environment `{env}`",
                connector::api_name(expected)
            )),
        );
    }
    let deployer = live.deployer.as_str();
    let owns = c.created_by.as_ref().is_some_and(|p| p.id.eq_ignore_ascii_case(deployer));
    let shared = permissions
        .iter()
        .any(|p| can_use(p) && p.principal.id.eq_ignore_ascii_case(deployer));
    if !owns && !shared {
        let groups: Vec<String> = permissions
            .iter()
            .filter(|p| can_use(p) && is_group(p))
            .map(|p| {
                let who = p.principal.display_name.as_deref().unwrap_or(&p.principal.id);
                format!("`{who}` ({}, {})", p.principal.kind.as_deref().unwrap_or("Group"), p.role)
            })
            .collect();
        let finding = if groups.is_empty() {
            on(
                file,
                &registry::CR604,
                loc.clone(),
                env,
                name,
                format!(
                    "flows bound to `{name}` will import switched off: share connection {} with the application user `{deployer}` (Can use)",
                    named(c)
                ),
            )
        } else {
            on(
                file,
                &registry::CR604,
                loc.clone(),
                env,
                name,
                format!(
                    "whether the deployer `{deployer}` can use connection {} bound to `{name}` cannot be confirmed: it is shared with {} and connref cannot see the members",
                    named(c),
                    list(&groups)
                ),
            )
            .severity(Severity::Info)
        };
        out.push(finding.help(format!(
            "the connection's owner opens Power Automate → Connections → {} → Share in environment `{env}` and adds the application user `{deployer}` with Can use; `connref explain CR604` shows the steps",
            c.display_name.as_deref().unwrap_or(&c.name)
        )));
    }
    if let Some(p) = is_person(c).filter(|p| !p.id.eq_ignore_ascii_case(deployer)) {
        out.push(
            on(
                file,
                &registry::CR605,
                loc.clone(),
                env,
                name,
                format!("connection {} bound to `{name}` belongs to a person, {}", named(c), person(p)),
            )
            .help(PERSON_HELP),
        );
    }
}

/// CR606: the environment already has the reference, with another connector.
fn stale_reference(
    file: &SettingsFile,
    r: &crate::model::settings::SettingsReference,
    expected: &str,
    live: &Live,
    out: &mut Vec<Finding>,
) {
    let env = live.environment.as_str();
    let existing = live
        .references
        .iter()
        .find(|x| x.logical_name.eq_ignore_ascii_case(&r.logical_name));
    if let Some(x) = existing
        && let Some(theirs) = x.connector_id.as_deref()
        && !connector::same(theirs, expected)
    {
        out.push(
            on(
                file,
                &registry::CR606,
                r.loc.clone(),
                env,
                &r.logical_name,
                format!(
                    "environment `{env}` already has the reference `{}` for `{}`, but the solution binds it to `{}`",
                    x.logical_name,
                    connector::api_name(theirs),
                    connector::api_name(expected)
                ),
            )
            .help("a reference's connector cannot change on import: the import fails or its flows break; keep the environment's connector, or delete the reference there (and its flows' bindings) before importing"),
        );
    }
}

fn at_flow(code: &'static Rule, env: &str, flow: &Workflow, msg: String) -> Finding {
    Finding::new(code, Loc::none(), msg).environment(env).flow(&flow.name, &flow.id)
}

/// CR611–CR614 and CR900 (a flow definition that does not parse) for one environment.
pub fn audit(live: &Live) -> Vec<Finding> {
    let env = live.environment.as_str();
    let mut out = Vec::new();
    let references: HashMap<String, &ConnectionReference> =
        live.references.iter().map(|r| (r.logical_name.to_ascii_lowercase(), r)).collect();
    for flow in &live.flows {
        match flow.state {
            Some(0) => out.push(
                at_flow(&registry::CR612, env, flow, format!("cloud flow `{}` is switched off in environment `{env}`", flow.name))
                    .help("turn it on (an import switches a flow off when the importing identity cannot use its connections: `connref verify` finds why), or remove it if it is retired"),
            ),
            Some(2) => out.push(
                at_flow(&registry::CR612, env, flow, format!("cloud flow `{}` is suspended in environment `{env}`", flow.name))
                    .help("open the flow's details in Power Automate for the reason (often a connection or a licence), fix it and turn the flow on"),
            ),
            _ => {}
        }
        let Some(text) = flow.clientdata.as_deref().filter(|t| !t.trim().is_empty()) else {
            out.push(
                at_flow(
                    &registry::CR900,
                    env,
                    flow,
                    format!(
                        "cloud flow `{}` has no definition (`clientdata` is empty): its connections cannot be audited",
                        flow.name
                    ),
                )
                .help("open the flow in Power Automate and save it again; connref audited every other flow"),
            );
            continue;
        };
        let source = crate::text::SourceFile::new(&format!("{env}/workflows({})/clientdata", flow.id), text.to_owned());
        let body = match crate::parse::flow::parse_body(&source) {
            Ok(b) => b,
            Err(e) => {
                let (line, column) = source.index.line_col(&source.text, e.offset);
                out.push(
                    at_flow(
                        &registry::CR900,
                        env,
                        flow,
                        format!(
                            "the definition (`clientdata`) of cloud flow `{}` does not parse at line {line}, column {column}: {}",
                            flow.name, e.message
                        ),
                    )
                    .help("connref audited every other flow; export this one to see its definition"),
                );
                continue;
            }
        };
        for e in &body.entries {
            match &e.binding {
                FlowBinding::Reference { logical_name, .. } => match references.get(&logical_name.to_ascii_lowercase()) {
                    None => out.push(
                        at_flow(
                            &registry::CR611,
                            env,
                            flow,
                            format!(
                                "cloud flow `{}` is bound to the reference `{logical_name}`, which environment `{env}` does not have",
                                flow.name
                            ),
                        )
                        .reference(logical_name)
                        .help("import the solution that carries the reference, or bind the flow to a reference of the environment"),
                    ),
                    Some(r) if r.connection_id.is_none() => out.push(
                        at_flow(
                            &registry::CR611,
                            env,
                            flow,
                            format!(
                                "cloud flow `{}` is bound to the reference `{}`, which has no connection in environment `{env}`",
                                flow.name, r.logical_name
                            ),
                        )
                        .reference(&r.logical_name)
                        .help(format!(
                            "bind a connection to `{}` (Power Apps → Solutions → Default solution → Connection references, or the settings file of the next import); the flow fails until then",
                            r.logical_name
                        )),
                    ),
                    Some(_) => {}
                },
                FlowBinding::Embedded { connection, .. } => out.push(
                    at_flow(
                        &registry::CR613,
                        env,
                        flow,
                        format!(
                            "entry `{}` of cloud flow `{}` embeds the connection `{connection}` instead of a connection reference",
                            e.key, flow.name
                        ),
                    )
                    .help("open the flow inside a solution and select the connection again, so that the entry binds a connection reference"),
                ),
                FlowBinding::Empty { .. } => out.push(
                    at_flow(
                        &registry::CR613,
                        env,
                        flow,
                        format!("entry `{}` of cloud flow `{}` has no connection and no connection reference", e.key, flow.name),
                    )
                    .help("open the flow inside a solution and select a connection reference for the entry"),
                ),
            }
        }
    }
    let connections: HashMap<String, &Connection> = live.all_connections.iter().map(|c| (c.name.to_ascii_lowercase(), c)).collect();
    for r in &live.references {
        let Some(id) = r.connection_id.as_deref() else { continue };
        if let Some(c) = connections.get(&id.trim().to_ascii_lowercase())
            && let Some(p) = is_person(c)
        {
            out.push(
                Finding::new(
                    &registry::CR614,
                    Loc::none(),
                    format!(
                        "reference `{}` in environment `{env}` is bound to connection {}, which belongs to a person, {}",
                        r.logical_name,
                        named(c),
                        person(p)
                    ),
                )
                .environment(env)
                .reference(&r.logical_name)
                .help(PERSON_HELP),
            );
        }
    }
    out
}
