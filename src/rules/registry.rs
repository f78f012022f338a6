//! The rule table: the single source of codes, names, default severities and explanations.
//! Reports, `connref rules`, `connref explain`, SARIF metadata and config validation all read it.

use std::fmt;

use serde::Serialize;

use Severity::{Error, Info, Warning};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Info,
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rule {
    pub code: &'static str,
    pub name: &'static str,
    pub severity: Severity,
    /// One line: what the rule finds.
    pub summary: &'static str,
    /// One paragraph: why it matters and what to do.
    pub explanation: &'static str,
}

/// The family of rules a code belongs to: its hundred. One module of `rules/` runs each of the
/// single-tree families.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    Naming,
    Identity,
    Stability,
    Settings,
    Flows,
    Online,
    /// Files that cannot be read (CR900): found while loading, not by a rule module.
    Input,
}

impl Rule {
    pub const fn family(&self) -> Family {
        match self.code.as_bytes()[2] {
            b'1' => Family::Naming,
            b'2' => Family::Identity,
            b'3' => Family::Stability,
            b'4' => Family::Settings,
            b'5' => Family::Flows,
            b'6' => Family::Online,
            _ => Family::Input,
        }
    }
}

const fn rule(code: &'static str, name: &'static str, severity: Severity, summary: &'static str, explanation: &'static str) -> Rule {
    Rule {
        code,
        name,
        severity,
        summary,
        explanation,
    }
}

pub static CR101: Rule = rule(
    "CR101",
    "naming-template",
    Error,
    "the logical name does not follow the naming template",
    "People pick connection references by name in the import dialog and in deployment settings, so a name must say what the reference is for and which connector it binds. The default template is `{publisher}_{purpose}_{connector}`, e.g. `contoso_invoiceapproval_outlook`: publisher is the solution publisher's CustomizationPrefix (or `naming.publisher`), purpose is one or more segments of ASCII letters and digits joined by `_` (limited to `naming.purposes` when set), connector is the connector's short name. A logical name cannot be renamed once shipped: create the reference under a good name before the first release, or keep the old one and list it in an `[[ignore]]` table with `rules = [\"CR101\", \"CR102\", \"CR103\", \"CR104\"]` (`connref init` writes one for every shipped name): that hides the name's naming findings only, never what breaks a deployment.",
);

pub static CR102: Rule = rule(
    "CR102",
    "publisher-prefix",
    Error,
    "the name's prefix differs from the solution publisher's prefix",
    "A reference whose prefix is not the publisher's CustomizationPrefix (such as `new_` or `cr50e_` inside an `autocoe` solution) was created in another solution or under the default publisher and then added here. It ships under a publisher that does not own it, which confuses ownership and upgrades. Create the reference in this solution, under its publisher, and move the flows to it before the first release.",
);

pub static CR103: Rule = rule(
    "CR103",
    "connector-segment",
    Error,
    "the connector segment of the name names another connector",
    "The last segment of the name must name the connector the reference binds: `contoso_billing_sharepoint` on `shared_office365` misleads everyone who binds it. Built-in aliases cover the common connectors (commondataserviceforapps is dataverse, office365 is outlook, sharepointonline is sharepoint, …); the api name without `shared_` is always accepted; add more under `[naming.connectors]`.",
);

pub static CR104: Rule = rule(
    "CR104",
    "generated-name",
    Error,
    "a platform-generated or generic logical name",
    "Names such as `cat_sharedcommondataserviceforapps_87e06` (made by the maker portal), dotted names made by Copilot Studio agents, and generic names such as `MyDataverseConnection1` say nothing about what the reference is for, so nobody can pick the right connection at import. Create the reference with a name that follows the template (the message suggests one) and bind the flows to it before the first release; after release, keep the name and give it a clear display name instead.",
);

pub static CR201: Rule = rule(
    "CR201",
    "shared-across-identities",
    Error,
    "a reference used by flows of two or more identities",
    "Each service identity (reporting, service writer, portal, admin jobs…) should bind its own reference, so that a noisy flow cannot throttle a critical one through a shared connection and a credential rotation touches one identity only. Give each identity its own reference and move its flows to it.",
);

pub static CR202: Rule = rule(
    "CR202",
    "wrong-identity-reference",
    Error,
    "a flow of one identity bound to a reference of another",
    "The flow runs under the connection of another identity: it gets that identity's permissions and shares its rate limits. Bind the flow to a reference of its own identity.",
);

pub static CR203: Rule = rule(
    "CR203",
    "identities-share-connection",
    Error,
    "references of different identities bound to the same connection in one environment",
    "In that environment the identities collapse into one connection: the separation in source does not exist at run time. Bind each identity's references to a connection of that identity.",
);

pub static CR204: Rule = rule(
    "CR204",
    "flow-without-identity",
    Warning,
    "a flow that matches no configured identity",
    "While identities are configured, every flow should belong to one, so that its reference is checked. Add the flow to an identity's `flows` globs.",
);

pub static CR205: Rule = rule(
    "CR205",
    "identity-duplicate-connector",
    Warning,
    "an identity with two or more references for the same connector",
    "One identity needs one connection per connector. Several references for the same connector mean a rotation must touch several bindings, and they drift apart. Merge them into one.",
);

pub static CR206: Rule = rule(
    "CR206",
    "foreign-identity-connection",
    Error,
    "a reference bound to a connection that belongs to another identity",
    "The deployment settings bind the reference to a ConnectionId that `connections` lists for another identity: the flows run as that identity. Bind it to one of its own identity's connections.",
);

pub static CR207: Rule = rule(
    "CR207",
    "busy-reference",
    Info,
    "a reference used by many flows, with no identities configured",
    "One reference shared by many flows shares one connection's rate limits and one credential. Consider declaring service identities with `[[identity]]` tables in connref.toml and giving each its own reference.",
);

pub static CR301: Rule = rule(
    "CR301",
    "reference-removed",
    Error,
    "a reference that existed at the base is gone",
    "Connection references are immutable once shipped: flows in every target environment are bound to the logical name. Removing it breaks those flows on the next import. Restore the reference.",
);

pub static CR302: Rule = rule(
    "CR302",
    "reference-recreated",
    Error,
    "a reference was deleted and re-created under a new logical name",
    "Re-creating a reference gives it a new logical name: every flow bound to the old one breaks on the next import, and the upgrade fails on solution dependencies. Keep the original reference and change its display name instead.",
);

pub static CR303: Rule = rule(
    "CR303",
    "reference-connector-changed",
    Error,
    "the connector of an existing reference changed",
    "A reference's connector cannot change in a target environment: the import fails or the flows break. Keep the reference and add a new one for the other connector.",
);

pub static CR304: Rule = rule(
    "CR304",
    "flow-recreated",
    Error,
    "a flow was deleted and re-created with a new workflow id",
    "Run history, child-flow calls and app links follow the workflow id. A re-created flow breaks them all. Restore the original flow file and change it in place.",
);

pub static CR305: Rule = rule(
    "CR305",
    "flows-rebound",
    Warning,
    "flows moved from one reference to another",
    "Moving a flow to another reference changes which connection it runs as in every environment. One move is information; many in one change are risky, because flows should migrate one at a time (`stability.max_rebinds`).",
);

pub static CR306: Rule = rule(
    "CR306",
    "flow-removed",
    Warning,
    "a flow was removed",
    "Removing a flow from the source removes it from the next managed import. Make sure that is intended.",
);

pub static CR307: Rule = rule(
    "CR307",
    "solution-removed",
    Warning,
    "a whole solution was removed from the source",
    "The solution's UniqueName is nowhere at the head revision. If it moved, check that the new root is discovered; if it was removed, its references and flows go with it.",
);

pub static CR401: Rule = rule(
    "CR401",
    "settings-missing-reference",
    Error,
    "a reference of the solution is missing from an environment's settings file",
    "The import prompts for the connection, or fails in a pipeline. Add an entry for the reference (`connref settings --env <name> --write` adds every missing one). A settings file is tied to the solution whose folder holds it, else to the only solution, else to the solution that defines the names it lists, or by a `[[settings.map]]` table.",
);

pub static CR402: Rule = rule(
    "CR402",
    "settings-empty-connection",
    Error,
    "a ConnectionId that is empty or a placeholder",
    "The flow imports switched off because its reference is not bound. Empty means `\"\"`, no ConnectionId, or a placeholder: `{...}`, `<...>`, the all-zero GUID, `TODO`, `xxx`, `changeme`. Set the ConnectionId of a connection in that environment, or a pipeline token (`#{...}#`, `$(...)`, `${...}`, `@@...@@`) that the pipeline replaces; with `settings.require_literal_ids = true` in connref.toml tokens count as unbound too.",
);

pub static CR403: Rule = rule(
    "CR403",
    "settings-connector-mismatch",
    Error,
    "the ConnectorId differs from the reference's connector",
    "The entry binds a connection of another connector, which the import rejects. Fix the ConnectorId to match the reference's connectorid.",
);

pub static CR404: Rule = rule(
    "CR404",
    "settings-stale-entry",
    Warning,
    "an entry names a reference (or environment variable) that no solution covered by the file defines",
    "The entry is stale, or was copied from another solution's file. Remove it (`connref settings --prune --write`), or map the file to the right solution with a `[[settings.map]]` table.",
);

pub static CR405: Rule = rule(
    "CR405",
    "settings-duplicate-entry",
    Error,
    "two entries for the same reference (or environment variable) in one file",
    "Which one wins depends on the tool. Keep one entry. Names are compared without regard to case, as Dataverse compares them.",
);

pub static CR406: Rule = rule(
    "CR406",
    "settings-connection-reused",
    Error,
    "the same ConnectionId bound in two environments",
    "A connection belongs to one environment, so one of the files was copied from the other and binds the wrong environment's connection. Set each environment's own connection.",
);

pub static CR407: Rule = rule(
    "CR407",
    "settings-missing-variable",
    Error,
    "an environment variable of the solution is missing from a settings file, or a required one is empty",
    "The import prompts, or the flows read an empty value. Add the variable with its value for that environment.",
);

pub static CR408: Rule = rule(
    "CR408",
    "settings-malformed-connection",
    Warning,
    "a malformed ConnectionId",
    "A ConnectionId is the connection's id from its URL in the maker portal: it holds no `/`, no white space and no connector name. Copy the id itself.",
);

pub static CR409: Rule = rule(
    "CR409",
    "settings-invalid",
    Error,
    "a settings file that is not valid JSON or has the wrong shape",
    "The pipeline cannot read the file: it is not valid JSON or not UTF-8 (UTF-16 with a BOM is read), its root is not an object, a key appears twice in one object, a known key (`ConnectionReferences`, `LogicalName`…) has the wrong letter case, or an object or number stands where an array or string belongs. Fix it at the position shown; the other settings files are still checked.",
);

pub static CR410: Rule = rule(
    "CR410",
    "settings-unmapped",
    Warning,
    "a settings file that cannot be tied to one solution, or names no environment",
    "connref cannot tell which solution the file deploys, so it cannot check it. Add a `[[settings.map]]` table to connref.toml (the message shows one). A file whose name and folder name no environment (`config/deploymentSettings.json`) is checked as environment `default`: name the file or its folder after the environment, or map it with `environment = \"…\"`.",
);

pub static CR411: Rule = rule(
    "CR411",
    "settings-solution-missing",
    Warning,
    "a settings file in the folder of a solution that is not in the tree",
    "The file sits in the folder of a solution (`Old/config/Prod/deploymentSettings.json`) that the checked tree does not hold: the solution was removed or moved, or is not checked. The file is tied to no other solution, so it gets no CR401, CR404 or CR407, and `connref settings` leaves it alone. Delete the file with its solution, or tie it with a `[[settings.map]]` table.",
);

pub static CR501: Rule = rule(
    "CR501",
    "embedded-connection",
    Error,
    "a flow entry embeds a connection instead of a connection reference, or has none",
    "An embedded connection does not travel with the solution: the flow breaks or imports switched off in every other environment. Bind the entry to a connection reference of the solution (open the flow in a solution, and re-select the connection).",
);

pub static CR502: Rule = rule(
    "CR502",
    "undefined-reference",
    Error,
    "a flow is bound to a reference that its solution does not define",
    "The import fails on a missing dependency, or the flow imports switched off. Add the reference to the solution (a listing under MissingDependencies does not add it). When another solution of the repository defines it, or Solution.xml lists it under MissingDependencies with `solution=\"<UniqueName> (<version>)\"`, this is a cross-solution dependency and a warning naming that solution: it must be installed first. A listing with `solution=\"Active\"` (the reference lives in no solution, only in the maker's environment) stays an error.",
);

pub static CR503: Rule = rule(
    "CR503",
    "unused-reference",
    Info,
    "a reference that no flow, app or bot uses",
    "Every reference must be bound in every environment, so an unused one costs a binding for nothing. Remove it from the solution if nothing needs it.",
);

pub static CR504: Rule = rule(
    "CR504",
    "connector-mismatch",
    Error,
    "a flow entry's connector differs from the connector of its reference",
    "The flow expects one connector and the reference binds another: the flow fails at run time. Bind the entry to a reference of the right connector.",
);

pub static CR505: Rule = rule(
    "CR505",
    "flow-off",
    Warning,
    "a flow committed switched off",
    "A flow exported in draft (StateCode 0) imports switched off. Turn it on before exporting, or turn it on after import in the pipeline.",
);

pub static CR506: Rule = rule(
    "CR506",
    "leaked-connection-id",
    Warning,
    "the flow source leaks a development connection id",
    "A `connectionName` beside the reference holds a connection id of the maker's environment. It does nothing elsewhere and leaks an internal id into source. Remove it.",
);

pub static CR507: Rule = rule(
    "CR507",
    "reference-case",
    Warning,
    "a flow spells a logical name with other letter case than its definition",
    "Dataverse compares logical names without case, but tools and settings files often do not. Spell the name exactly as it is defined.",
);

pub static CR508: Rule = rule(
    "CR508",
    "undeclared-connection-key",
    Error,
    "an action uses a connection key that the flow does not declare",
    "`inputs.host.connectionName` must name an entry of `properties.connectionReferences`; otherwise the action has no connection and the flow fails to save or to run. Declare the entry or fix the key.",
);

pub static CR509: Rule = rule(
    "CR509",
    "flow-metadata-missing",
    Info,
    "a flow without its metadata (`.json.data.xml`, `workflow.yml`)",
    "Without the data file the flow's display name and state are unknown, so CR505 cannot be checked, and SolutionPackager cannot pack the flow. Re-export the solution instead of copying flow files by hand.",
);

pub static CR601: Rule = rule(
    "CR601",
    "connection-not-found",
    Error,
    "a settings entry binds a connection that does not exist in the target environment",
    "`connref verify` asks the target environment (Power Platform API) for each ConnectionId of its settings file. A connection that is not there (`ConnectionNotFound`) leaves the reference unbound: the import fails or its flows import switched off. Usually the id was copied from another environment. Create the connection in the target environment (or find it in Power Automate → Connections) and set its id. At info severity: an entry connref could not look up, such as a pipeline token (`#{…}#`, `$(…)`) that only the pipeline replaces; run `connref verify --env NAME --settings FILE` after the replacement step.",
);

pub static CR602: Rule = rule(
    "CR602",
    "connection-not-connected",
    Error,
    "the bound connection is not in the `Connected` state",
    "A connection in an error state (expired credentials, revoked consent, a deleted account) fails every flow that uses it, and a flow switched on during import with it fails at once. The message quotes the status and its error. Open the connection in the target environment, sign in again or fix it, or bind a connection that is `Connected`.",
);

pub static CR603: Rule = rule(
    "CR603",
    "connection-wrong-connector",
    Error,
    "the bound connection is of another connector than the reference",
    "A reference binds connections of one connector. A ConnectionId of another connector's connection is rejected at import, or breaks the flows. Set the id of a connection of the reference's connector (custom connectors compare without their per-environment hash).",
);

pub static CR604: Rule = rule(
    "CR604",
    "connection-not-shared",
    Error,
    "the deploying identity can neither own nor use the bound connection",
    "A pipeline imports as a service principal (an application user). When the import switches a flow on, that identity must own every connection the flow uses or have it shared with it; otherwise the import succeeds and the flow comes up switched off. Owner, CanEdit, CanViewWithShare and CanView (the portal's \"Can use\") all count. To share a connection with the application user: the connection's owner signs in to Power Automate (make.powerautomate.com) in the target environment, opens Data → Connections (or More → Connections), selects the connection, chooses Share, searches for the application user by the app registration's name (the application user that represents the deploying service principal; connections can be shared with a service principal only through its application user), gives it Can use and saves. The application user must exist in the environment first (Power Platform admin center → Environments → the environment → Settings → Users + permissions → Application users). `deployer` in `[environments.<name>]` names the principal's object id; by default it is the identity connref runs as. A share to a group (or to the whole tenant) is reported at info severity as \"cannot be confirmed\": connref cannot see group membership.",
);

pub static CR605: Rule = rule(
    "CR605",
    "connection-owned-by-person",
    Warning,
    "the bound connection belongs to a person",
    "A connection created by a person (`createdBy.type` `User`) stops working when that person leaves or their password changes, and multi-factor prompts break flows that run unattended. Bind a connection of a service principal or a dedicated service account. (How a service principal's connection shows its creator is not documented; connref treats every type but `User` as not a person.)",
);

pub static CR606: Rule = rule(
    "CR606",
    "environment-connector-differs",
    Warning,
    "the target environment already has the reference with another connector",
    "The target environment's Dataverse already holds a connection reference with this logical name for another connector. A reference's connector cannot change on import: the import fails or the flows that use it break. Keep the environment's connector in the solution, or remove the environment's reference before importing.",
);

pub static CR611: Rule = rule(
    "CR611",
    "flow-reference-unbound",
    Error,
    "a cloud flow in the environment is bound to a reference with no connection",
    "`connref audit` reads the environment's cloud flows and connection references from Dataverse. A flow bound to a reference that has no connection (or that the environment does not have) fails at its next run or cannot be switched on. Bind a connection to the reference (the default solution's Connection references, or the settings file of the next import).",
);

pub static CR612: Rule = rule(
    "CR612",
    "flow-off-in-environment",
    Warning,
    "a cloud flow in the environment is switched off or suspended",
    "A flow that is off after a deployment usually means the importing identity could not use one of its connections (see CR604); a suspended flow was stopped by the platform (connection, licence or policy). Find the reason in the flow's details, fix it and turn the flow on, or remove the flow if it is retired.",
);

pub static CR613: Rule = rule(
    "CR613",
    "live-embedded-connection",
    Error,
    "a cloud flow in the environment embeds a connection instead of a reference",
    "A flow with an embedded connection cannot be deployed with its solution: its connection does not travel and the next import breaks it. Open the flow inside a solution and select the connection again, so that the entry binds a connection reference.",
);

pub static CR614: Rule = rule(
    "CR614",
    "reference-bound-to-person",
    Warning,
    "a reference in the environment is bound to a connection that belongs to a person",
    "Every flow using the reference runs as that person: it breaks when they leave, and multi-factor prompts break unattended runs. Bind the reference to a connection of a service principal or a dedicated service account.",
);

pub static CR900: Rule = rule(
    "CR900",
    "unreadable-file",
    Error,
    "a source file that cannot be read or parsed",
    "The file is malformed, empty, binary or not UTF-8. connref checked every other file but nothing in this one. Fix it at the position shown.",
);

/// Every rule, in code order.
/// The naming rules: a name that shipped cannot change, so they never block on one.
pub static NAMING: &[&Rule] = &[&CR101, &CR102, &CR103, &CR104];

pub static RULES: &[&Rule] = &[
    &CR101, &CR102, &CR103, &CR104, &CR201, &CR202, &CR203, &CR204, &CR205, &CR206, &CR207, &CR301, &CR302, &CR303, &CR304, &CR305, &CR306,
    &CR307, &CR401, &CR402, &CR403, &CR404, &CR405, &CR406, &CR407, &CR408, &CR409, &CR410, &CR411, &CR501, &CR502, &CR503, &CR504, &CR505,
    &CR506, &CR507, &CR508, &CR509, &CR601, &CR602, &CR603, &CR604, &CR605, &CR606, &CR611, &CR612, &CR613, &CR614, &CR900,
];

/// The rule with this code or name (`CR104` or `generated-name`, without regard to case).
pub fn lookup(code_or_name: &str) -> Option<&'static Rule> {
    RULES
        .iter()
        .copied()
        .find(|r| r.code.eq_ignore_ascii_case(code_or_name) || r.name.eq_ignore_ascii_case(code_or_name))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_are_unique_and_sorted() {
        for pair in RULES.windows(2) {
            assert!(pair[0].code < pair[1].code, "{} then {}", pair[0].code, pair[1].code);
        }
        let mut names: Vec<_> = RULES.iter().map(|r| r.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), RULES.len(), "rule names are unique");
    }
}
