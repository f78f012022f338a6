//! `connref verify` and `connref audit` against a local fake of Entra ID, GitHub's OIDC
//! endpoint, the Dataverse Web API and the Power Platform API (tests/common/fake.rs). Nothing
//! here leaves 127.0.0.1.

mod common;
#[path = "common/fake.rs"]
mod fake;

use std::collections::HashMap;
use std::process::Command;
use std::sync::Arc;

use common::*;
use fake::{Fake, Reply, Request, json};
use serde_json::{Value, json as j};

const ENV_ID: &str = "6f1d3a2e-0c2b-4c8e-9a41-8d2f6b1e7c10";
const TENANT: &str = "contoso-tenant";
const CLIENT_ID: &str = "11112222-3333-4444-5555-666677778888";
const SECRET: &str = "s3cr3t~client~secret~value";
const OIDC_REQUEST_TOKEN: &str = "gh-request-token-4f9a8b7c6d5e";
const DEPLOYER: &str = "c52d0000-0000-0000-0000-0000000000d1";
const PERSON: &str = "f99f0000-0000-0000-0000-0000000000aa";

fn b64url(bytes: &[u8]) -> String {
    const A: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |acc, (i, b)| acc | (u32::from(*b) << (16 - 8 * i)));
        for i in 0..=chunk.len() {
            out.push(A[((n >> (18 - 6 * i)) & 63) as usize] as char);
        }
    }
    out
}

/// An unsigned JWT with these claims (connref reads `oid` without verifying).
fn jwt(claims: &Value) -> String {
    format!(
        "{}.{}.c2lnbmF0dXJl",
        b64url(br#"{"alg":"RS256","typ":"JWT"}"#),
        b64url(claims.to_string().as_bytes())
    )
}

fn access_token(resource: &str) -> String {
    jwt(&j!({"aud": resource, "oid": DEPLOYER, "tid": TENANT, "marker": "access-token"}))
}

fn github_jwt() -> String {
    jwt(&j!({"aud": "api://AzureADTokenExchange", "sub": "repo:contoso/billing:environment:Prod", "marker": "github-oidc"}))
}

const API: &str = "/providers/Microsoft.PowerApps/apis/";

fn connection(id: &str, api: &str, display: &str, status: Value, created_by: Value) -> Value {
    j!({"name": id, "id": format!("{API}{api}/connections/{id}"),
        "properties": {"apiId": format!("{API}{api}"), "displayName": display, "statuses": [status],
            "createdBy": created_by,
            "environment": {"id": format!("/providers/Microsoft.PowerApps/environments/{ENV_ID}"), "name": ENV_ID}}})
}

fn connected() -> Value {
    j!({"status": "Connected"})
}

fn service_principal() -> Value {
    j!({"id": DEPLOYER, "displayName": "Deploy pipeline", "type": "ServicePrincipal", "tenantId": TENANT})
}

fn person() -> Value {
    j!({"id": PERSON, "displayName": "Megan Bowen", "type": "User", "userPrincipalName": "megan@contoso.com", "tenantId": TENANT})
}

fn permission(role: &str, id: &str, name: &str, kind: &str) -> Value {
    j!({"name": format!("perm-{id}-{role}"), "properties": {"roleName": role,
        "principal": {"id": id, "displayName": name, "type": kind, "tenantId": TENANT}}})
}

/// The connections of the environment, by id.
fn connections() -> HashMap<&'static str, (Value, Vec<Value>)> {
    let mut m = HashMap::new();
    // Near misses: owned by the deployer; shared with the deployer through CanView (two pages).
    m.insert(
        "conn-owned",
        (
            connection(
                "conn-owned",
                "shared_office365",
                "Invoice mail (pipeline)",
                connected(),
                service_principal(),
            ),
            vec![permission("Owner", DEPLOYER, "Deploy pipeline", "ServicePrincipal")],
        ),
    );
    m.insert(
        "conn-canview",
        (
            connection(
                "conn-canview",
                "shared_teams",
                "Teams (flow service)",
                connected(),
                j!({"id": "a0a0", "type": "NotSpecified"}),
            ),
            vec![
                permission("Owner", "a0a0", "Flow service", "NotSpecified"),
                permission("CanView", DEPLOYER, "Deploy pipeline", "ServicePrincipal"),
            ],
        ),
    );
    m.insert(
        "conn-error",
        (
            connection(
                "conn-error",
                "shared_office365",
                "Notices mailbox",
                j!({"status": "Error", "target": "token", "error": {"code": "Unauthenticated", "message": "The refresh token has expired due to inactivity."}}),
                service_principal(),
            ),
            vec![permission("Owner", DEPLOYER, "Deploy pipeline", "ServicePrincipal")],
        ),
    );
    m.insert(
        "conn-wrongapi",
        (
            connection(
                "conn-wrongapi",
                "shared_office365",
                "Mail, not Dataverse",
                connected(),
                service_principal(),
            ),
            vec![permission("Owner", DEPLOYER, "Deploy pipeline", "ServicePrincipal")],
        ),
    );
    m.insert(
        "conn-person",
        (
            connection("conn-person", "shared_sql", "Megan's SQL", connected(), person()),
            vec![permission("Owner", PERSON, "Megan Bowen", "User")],
        ),
    );
    m.insert(
        "conn-group",
        (
            connection(
                "conn-group",
                "shared_excelonlinebusiness",
                "Excel (finance)",
                connected(),
                service_principal_other(),
            ),
            vec![
                permission("Owner", "b0b0", "Flow service", "NotSpecified"),
                permission("CanView", "9e9e", "Finance automation", "Group"),
            ],
        ),
    );
    m
}

fn service_principal_other() -> Value {
    j!({"id": "b0b0", "displayName": "Flow service", "type": "NotSpecified"})
}

/// The fake as a verify and audit of the example environment see it. `tweak` answers first
/// (errors, drops, silence); `None` falls through to the normal answers.
fn start(tweak: impl Fn(&Request, usize) -> Option<Reply> + Send + Sync + 'static) -> Fake {
    let base: Arc<std::sync::OnceLock<String>> = Arc::new(std::sync::OnceLock::new());
    let b = Arc::clone(&base);
    let fake = Fake::start(move |req, nth| {
        if let Some(r) = tweak(req, nth) {
            return r;
        }
        let base = b.get().cloned().unwrap_or_default();
        normal(req, &base)
    });
    let _ = base.set(fake.url.clone());
    fake
}

fn normal(req: &Request, base: &str) -> Reply {
    let path = req.path().to_owned();
    let query = fake::decode(req.target.split_once('?').map_or("", |(_, q)| q));
    if path == format!("/{TENANT}/oauth2/v2.0/token") {
        let scope = req.form().get("scope").cloned().unwrap_or_default();
        let resource = scope.trim_end_matches("/.default").to_owned();
        return json(
            200,
            j!({"token_type": "Bearer", "expires_in": 3599, "access_token": access_token(&resource)}).to_string(),
        );
    }
    if path == "/oidc/token" {
        return json(200, j!({"count": 1, "value": github_jwt()}).to_string());
    }
    if path == "/api/data/v9.2/connectionreferences" {
        let row = |name: &str, api: &str, conn: Option<&str>| {
            j!({"@odata.etag": "W/\"1\"", "connectionreferenceid": format!("{name}-id"), "connectionreferencelogicalname": name,
                "connectionreferencedisplayname": name, "connectorid": format!("{API}{api}"), "connectionid": conn, "statecode": 0})
        };
        if query.contains("skiptoken") {
            return json(
                200,
                j!({"value": [
                    row("contoso_billing_sql", "shared_sql", Some("conn-person")),
                    row("contoso_unbound_dataverse", "shared_commondataserviceforapps", Some(""))
                ]})
                .to_string(),
            );
        }
        return json(
            200,
            j!({"@odata.context": "ctx", "value": [
                row("contoso_invoicemail_outlook", "shared_office365", Some("conn-owned")),
                row("contoso_notify_teams", "shared_office365", Some("conn-canview")),
                row("contoso_reporting_teams", "shared_teams", None)
            ], "@odata.nextLink": format!("{base}/api/data/v9.2/connectionreferences?$select=x&$skiptoken=page2")})
            .to_string(),
        );
    }
    if path == "/api/data/v9.2/workflows" {
        return json(200, workflows(&query, base).to_string());
    }
    if path == "/connectivity/connections" {
        let all = connections();
        let mut ids: Vec<&&str> = all.keys().collect();
        ids.sort();
        let (first, second) = ids.split_at(3);
        let page = |ids: &[&&str]| ids.iter().map(|id| all[**id].0.clone()).collect::<Vec<_>>();
        if query.contains("skip=") {
            return json(200, j!({"value": page(second)}).to_string());
        }
        return json(
            200,
            j!({"value": page(first), "nextLink": format!("{base}/connectivity/connections?api-version=1&skip=3")}).to_string(),
        );
    }
    if let Some(rest) = path.strip_prefix("/connectivity/connectors/") {
        let parts: Vec<&str> = rest.split('/').collect();
        let all = connections();
        match parts.as_slice() {
            [_api, "connections", id] => {
                assert!(query.contains(&format!("$filter=environment eq '{ENV_ID}'")), "{query}");
                return match all.get(id) {
                    Some((c, _)) => json(200, c.to_string()),
                    None => json(
                        404,
                        j!({"error": {"code": "ConnectionNotFound", "message": format!("Could not find connection '{id}'.")}}).to_string(),
                    ),
                };
            }
            [_api, "connections", id, "permissions"] => {
                let Some((_, perms)) = all.get(id) else {
                    return json(404, j!({"error": {"code": "ConnectionNotFound"}}).to_string());
                };
                // Every permission list comes in pages of one.
                let n: usize = query.split("page=").nth(1).and_then(|p| p.parse().ok()).unwrap_or(0);
                let mut page = j!({"value": perms.get(n).cloned().into_iter().collect::<Vec<_>>()});
                if n + 1 < perms.len() {
                    page["nextLink"] = Value::String(format!(
                        "{base}{path}?api-version=1&$filter=environment%20eq%20%27{ENV_ID}%27&page={}",
                        n + 1
                    ));
                }
                return json(200, page.to_string());
            }
            _ => {}
        }
    }
    json(
        404,
        j!({"error": {"code": "NotFound", "message": format!("no route {path}")}}).to_string(),
    )
}

fn clientdata(entries: &[(&str, Value)]) -> String {
    let refs: serde_json::Map<String, Value> = entries.iter().map(|(k, v)| ((*k).to_owned(), v.clone())).collect();
    j!({"properties": {"connectionReferences": refs, "definition": {"triggers": {}, "actions": {}}}, "schemaVersion": "1.0.0.0"})
        .to_string()
}

fn bound(name: &str, api: &str) -> Value {
    j!({"runtimeSource": "embedded", "connection": {"connectionReferenceLogicalName": name}, "api": {"name": api}})
}

fn workflows(query: &str, base: &str) -> Value {
    let flow = |id: &str, name: &str, state: i64, data: Value| j!({"@odata.etag": "W/\"9\"", "workflowid": id, "name": name, "statecode": state, "clientdata": data, "_ownerid_value": DEPLOYER});
    if query.contains("skiptoken") {
        return j!({"value": [
            flow("44444444-0000-0000-0000-000000000004", "Legacy export", 1,
                Value::String(clientdata(&[("shared_sql", j!({"connection": {"name": "shared-sql-7d1c0e0f", "id": "/providers/Microsoft.PowerApps/apis/shared_sql"}, "api": {"name": "shared_sql"}}))]))),
            flow("55555555-0000-0000-0000-000000000005", "Broken definition", 1, Value::String("{\"properties\": {\"connectionReferences\": ".to_owned())),
            flow("66666666-0000-0000-0000-000000000006", "Send invoice", 1,
                Value::String(clientdata(&[("shared_office365", bound("contoso_invoicemail_outlook", "shared_office365"))]))),
        ]});
    }
    j!({"value": [
        flow("11111111-0000-0000-0000-000000000001", "Daily totals", 1,
            Value::String(clientdata(&[("shared_teams", bound("contoso_reporting_teams", "shared_teams"))]))),
        flow("22222222-0000-0000-0000-000000000002", "Archive invoices", 0,
            Value::String(clientdata(&[("shared_commondataserviceforapps", bound("contoso_archive_dataverse", "shared_commondataserviceforapps"))]))),
        flow("33333333-0000-0000-0000-000000000003", "Sync customers", 2,
            Value::String(clientdata(&[("shared_sql", bound("contoso_billing_sql", "shared_sql"))]))),
    ], "@odata.nextLink": format!("{base}/api/data/v9.2/workflows?$filter=category%20eq%205&$skiptoken=2")})
}

/// The repository: one solution, its Prod settings and connref.toml pointing at the fake.
fn project(f: &Fixture, fake: &Fake) {
    solution(
        f,
        "Billing/SolutionPackage/src",
        "ContosoBilling",
        "contoso",
        &[
            ("contoso_invoicemail_outlook", "Invoice mail", "shared_office365"),
            ("contoso_notify_teams", "Notifications", "shared_teams"),
            ("contoso_archive_sharepoint", "Archive", "shared_sharepointonline"),
            ("contoso_notices_outlook", "Notices", "shared_office365"),
            ("contoso_billing_dataverse", "Billing data", "shared_commondataserviceforapps"),
            ("contoso_billing_sql", "Billing SQL", "shared_sql"),
            ("contoso_finance_excel", "Finance workbook", "shared_excelonlinebusiness"),
            ("contoso_reporting_teams", "Reporting", "shared_teams"),
            ("contoso_unset_outlook", "Unset", "shared_office365"),
        ],
    );
    let entry = |name: &str, id: &str, api: &str| {
        format!(
            "    {{\n      \"LogicalName\": \"{name}\",\n      \"ConnectionId\": \"{id}\",\n      \"ConnectorId\": \"{API}{api}\"\n    }}"
        )
    };
    let entries = [
        entry("contoso_invoicemail_outlook", "conn-owned", "shared_office365"),
        entry("contoso_notify_teams", "conn-canview", "shared_teams"),
        entry("contoso_archive_sharepoint", "conn-missing", "shared_sharepointonline"),
        entry("contoso_notices_outlook", "conn-error", "shared_office365"),
        entry("contoso_billing_dataverse", "conn-wrongapi", "shared_commondataserviceforapps"),
        entry("contoso_billing_sql", "conn-person", "shared_sql"),
        entry("contoso_finance_excel", "conn-group", "shared_excelonlinebusiness"),
        entry(
            "contoso_reporting_teams",
            "#{connectionreference.contoso_reporting_teams}#",
            "shared_teams",
        ),
        entry("contoso_unset_outlook", "", "shared_office365"),
    ];
    f.write(
        "Billing/config/Prod/deploymentSettings.json",
        format!(
            "{{\n  \"EnvironmentVariables\": [],\n  \"ConnectionReferences\": [\n{}\n  ]\n}}\n",
            entries.join(",\n")
        ),
    );
    f.write(
        "connref.toml",
        format!(
            "[environments.Prod]\nurl = \"{}\"\nid = \"{ENV_ID}\"\ntenant = \"{TENANT}\"\nclient_id = \"{CLIENT_ID}\"\n",
            fake.url
        ),
    );
}

/// Runs connref against the fake with a client secret (or `env` overrides; a `None` value removes
/// the variable).
fn run(f: &Fixture, fake: &Fake, args: &[&str], env: &[(&str, Option<&str>)]) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_connref"));
    cmd.args(args)
        .current_dir(f.path())
        .env("NO_COLOR", "1")
        .env("CONNREF_AUTHORITY_URL", &fake.url)
        .env("CONNREF_POWERPLATFORM_URL", &fake.url)
        .env("AZURE_CLIENT_SECRET", SECRET)
        .env_remove("AZURE_TENANT_ID")
        .env_remove("AZURE_CLIENT_ID")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_URL")
        .env_remove("ACTIONS_ID_TOKEN_REQUEST_TOKEN")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("GITHUB_OUTPUT")
        .env_remove("HTTPS_PROXY")
        .env_remove("HTTP_PROXY")
        .env_remove("https_proxy")
        .env_remove("http_proxy")
        .env_remove("ALL_PROXY");
    for (k, v) in env {
        match v {
            Some(v) => cmd.env(k, v),
            None => cmd.env_remove(k),
        };
    }
    let out = cmd.output().expect("connref runs");
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Every secret and token the runs could leak.
fn secrets() -> Vec<String> {
    let mut s = vec![SECRET.to_owned(), OIDC_REQUEST_TOKEN.to_owned(), github_jwt()];
    s.push(access_token("https://api.powerplatform.com"));
    s
}

fn assert_no_secret(what: &str, text: &str, fake: &Fake) {
    let mut all = secrets();
    all.push(access_token(&fake.url));
    for s in all {
        assert!(!text.contains(&s), "{what} leaks `{s}`:\n{text}");
        // Also no fragment of a token long enough to be replayed.
        if s.len() > 40 {
            assert!(!text.contains(&s[s.len() - 40..]), "{what} leaks the end of a token:\n{text}");
        }
    }
}

fn codes(out: &Output) -> Vec<(String, String, String)> {
    let v: Value = serde_json::from_str(&out.stdout).unwrap_or_else(|e| panic!("json ({e}): {}\n{}", out.stdout, out.stderr));
    v["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["code"].as_str().unwrap_or_default().to_owned(),
                f["severity"].as_str().unwrap_or_default().to_owned(),
                f["reference"].as_str().or(f["flow"].as_str()).unwrap_or_default().to_owned(),
            )
        })
        .collect()
}

fn has(c: &[(String, String, String)], code: &str, severity: &str, name: &str) -> bool {
    c.iter().any(|(a, b, n)| a == code && b == severity && n == name)
}

#[test]
fn verify_reports_every_code_at_its_settings_entry() {
    let fake = start(|_, _| None);
    let f = Fixture::new();
    project(&f, &fake);
    let out = run(&f, &fake, &["verify", "--env", "prod", "--format", "json"], &[]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let c = codes(&out);
    assert!(has(&c, "CR601", "error", "contoso_archive_sharepoint"), "{c:?}");
    assert!(has(&c, "CR602", "error", "contoso_notices_outlook"), "{c:?}");
    assert!(has(&c, "CR603", "error", "contoso_billing_dataverse"), "{c:?}");
    assert!(has(&c, "CR604", "error", "contoso_billing_sql"), "{c:?}");
    assert!(has(&c, "CR605", "warning", "contoso_billing_sql"), "{c:?}");
    assert!(has(&c, "CR606", "warning", "contoso_notify_teams"), "{c:?}");
    // A group share cannot be confirmed: info, not error.
    assert!(has(&c, "CR604", "info", "contoso_finance_excel"), "{c:?}");
    assert!(!has(&c, "CR604", "error", "contoso_finance_excel"), "{c:?}");
    // Near misses: owned by the deployer, shared through CanView (on the second page).
    for name in ["contoso_invoicemail_outlook", "contoso_notify_teams"] {
        assert!(
            !c.iter()
                .any(|(code, _, n)| n == name && ["CR601", "CR602", "CR603", "CR604", "CR605"].contains(&code.as_str())),
            "{name}: {c:?}"
        );
    }
    // The token entry: one info per file; the empty entry is CR402's, not verify's.
    assert_eq!(
        c.iter().filter(|(code, sev, _)| code == "CR601" && sev == "info").count(),
        1,
        "{c:?}"
    );
    assert!(!c.iter().any(|(_, _, n)| n == "contoso_unset_outlook"), "{c:?}");
    let v: Value = serde_json::from_str(&out.stdout).expect("json");
    let missing = v["findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["code"] == "CR601" && f["severity"] == "error"))
        .expect("CR601");
    assert_eq!(missing["environment"], "Prod");
    assert_eq!(missing["path"], "Billing/config/Prod/deploymentSettings.json");
    assert_eq!((missing["line"].as_u64(), missing["column"].as_u64()), (Some(16), Some(23)));
    assert_eq!(missing["solution"], "ContosoBilling");

    // The token endpoint: client credentials with the secret, once per resource.
    let tokens: Vec<Request> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path().ends_with("/oauth2/v2.0/token"))
        .collect();
    assert_eq!(tokens.len(), 2, "one token per resource, reused");
    let mut scopes: Vec<String> = tokens
        .iter()
        .map(|t| {
            let form = t.form();
            assert_eq!(form.get("grant_type").map(String::as_str), Some("client_credentials"));
            assert_eq!(form.get("client_id").map(String::as_str), Some(CLIENT_ID));
            assert_eq!(form.get("client_secret").map(String::as_str), Some(SECRET));
            assert!(!form.contains_key("client_assertion"));
            assert_eq!(t.method, "POST");
            assert!(t.headers["content-type"].starts_with("application/x-www-form-urlencoded"));
            form["scope"].clone()
        })
        .collect();
    scopes.sort();
    let mut expected = [
        "https://api.powerplatform.com/.default".to_owned(),
        format!("{}/.default", fake.url),
    ];
    expected.sort();
    assert_eq!(scopes, expected);
    // Dataverse: OData headers and the bearer token; both pages read.
    let dv: Vec<Request> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path() == "/api/data/v9.2/connectionreferences")
        .collect();
    assert_eq!(dv.len(), 2, "both pages");
    assert_eq!(dv[0].headers["odata-version"], "4.0");
    assert_eq!(dv[0].headers["odata-maxversion"], "4.0");
    assert_eq!(dv[0].headers["authorization"], format!("Bearer {}", access_token(&fake.url)));
    // The permissions of conn-canview came in two pages.
    assert_eq!(fake.count("/connections/conn-canview/permissions"), 2);
    assert_no_secret("json", &out.stdout, &fake);
}

#[test]
fn verify_human_report() {
    let fake = start(|_, _| None);
    let f = Fixture::new();
    project(&f, &fake);
    let out = run(&f, &fake, &["verify", "--env", "Prod", "--format", "human"], &[]);
    assert_eq!(out.code, 1, "{}", out.stderr);
    crate::snap!("online_verify_human", out.stdout.replace(&fake.url, "http://127.0.0.1:PORT"));
    let gh = run(&f, &fake, &["verify", "--env", "Prod", "--format", "github"], &[]);
    assert!(
        gh.stdout
            .contains("::error file=Billing/config/Prod/deploymentSettings.json,line=16,col=23,title=CR601::"),
        "{}",
        gh.stdout
    );
    let sarif = run(&f, &fake, &["verify", "--env", "Prod", "--format", "sarif"], &[]);
    let v: Value = serde_json::from_str(&sarif.stdout).expect("sarif");
    let results = v["runs"][0]["results"].as_array().expect("results");
    assert!(
        results
            .iter()
            .any(|r| r["ruleId"] == "CR604" && r["properties"]["environment"] == "Prod")
    );
    assert!(
        v["runs"][0]["tool"]["driver"]["rules"]
            .as_array()
            .expect("rules")
            .iter()
            .any(|r| r["id"] == "CR614")
    );
    for o in [&out, &gh, &sarif] {
        assert_no_secret("report", &format!("{}{}", o.stdout, o.stderr), &fake);
    }
}

#[test]
fn verify_writes_the_step_summary_in_actions() {
    let fake = start(|_, _| None);
    let f = Fixture::new();
    project(&f, &fake);
    f.write("runner/summary", "");
    f.write("runner/output", "");
    let summary = f.path().join("runner/summary");
    let output = f.path().join("runner/output");
    let out = run(
        &f,
        &fake,
        &["verify", "--env", "Prod"],
        &[
            ("GITHUB_ACTIONS", Some("true")),
            ("GITHUB_STEP_SUMMARY", summary.to_str()),
            ("GITHUB_OUTPUT", output.to_str()),
        ],
    );
    assert_eq!(out.code, 1);
    assert!(
        out.stdout.starts_with("::error file=Billing/config/Prod/deploymentSettings.json"),
        "{}",
        out.stdout
    );
    let md = std::fs::read_to_string(summary).expect("summary");
    assert!(
        md.starts_with("### connref verify: `Prod`\n\n❌ **connref verify found 4 errors** in environment `Prod`."),
        "{md}"
    );
    assert!(
        md.contains("| ❌ error | `CR604` | `Billing/config/Prod/deploymentSettings.json:"),
        "{md}"
    );
    assert_eq!(
        std::fs::read_to_string(output).expect("outputs"),
        "errors=4\nwarnings=2\nchanged=false\n"
    );
    assert_no_secret("summary", &md, &fake);
}

#[test]
fn github_oidc_token_is_the_client_assertion() {
    let fake = start(|_, _| None);
    let f = Fixture::new();
    project(&f, &fake);
    let url = format!("{}/oidc/token?api-version=2.0", fake.url);
    let out = run(
        &f,
        &fake,
        &["verify", "--env", "Prod", "--format", "json"],
        &[
            ("AZURE_CLIENT_SECRET", None),
            ("ACTIONS_ID_TOKEN_REQUEST_URL", Some(&url)),
            ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", Some(OIDC_REQUEST_TOKEN)),
        ],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let oidc: Vec<Request> = fake.requests().into_iter().filter(|r| r.path() == "/oidc/token").collect();
    assert_eq!(oidc.len(), 1, "the GitHub token is fetched once");
    assert_eq!(oidc[0].method, "GET");
    assert!(
        oidc[0]
            .target
            .ends_with("?api-version=2.0&audience=api%3A%2F%2FAzureADTokenExchange"),
        "{}",
        oidc[0].target
    );
    assert_eq!(oidc[0].headers["authorization"], format!("bearer {OIDC_REQUEST_TOKEN}"));
    let tokens: Vec<Request> = fake
        .requests()
        .into_iter()
        .filter(|r| r.path().ends_with("/oauth2/v2.0/token"))
        .collect();
    assert_eq!(tokens.len(), 2);
    for t in &tokens {
        let form = t.form();
        assert_eq!(form["grant_type"], "client_credentials");
        assert_eq!(form["client_id"], CLIENT_ID);
        assert_eq!(
            form["client_assertion_type"],
            "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
        );
        assert_eq!(form["client_assertion"], github_jwt());
        assert!(!form.contains_key("client_secret"));
    }
    assert_no_secret("oidc run", &format!("{}{}", out.stdout, out.stderr), &fake);
}

#[test]
fn audit_reports_every_code_without_a_file() {
    let fake = start(|_, _| None);
    let f = Fixture::new();
    project(&f, &fake);
    let out = run(&f, &fake, &["audit", "--env", "Prod", "--format", "json"], &[]);
    assert_eq!(out.code, 1, "{}\n{}", out.stdout, out.stderr);
    let c = codes(&out);
    // CR611: the reference has no connection; and a reference the environment lacks.
    assert!(has(&c, "CR611", "error", "contoso_reporting_teams"), "{c:?}");
    assert!(has(&c, "CR611", "error", "contoso_archive_dataverse"), "{c:?}");
    assert!(has(&c, "CR612", "warning", "Archive invoices"), "{c:?}");
    assert!(has(&c, "CR612", "warning", "Sync customers"), "{c:?}");
    assert!(has(&c, "CR613", "error", "Legacy export"), "{c:?}");
    assert!(has(&c, "CR614", "warning", "contoso_billing_sql"), "{c:?}");
    // The flow whose definition does not parse is a finding; the flows after it are audited.
    assert!(has(&c, "CR900", "error", "Broken definition"), "{c:?}");
    // Near misses: `Send invoice` is on and bound to a bound reference; a service principal's
    // connection is no person's.
    assert!(
        !c.iter().any(|(_, _, n)| n == "Send invoice" || n == "contoso_invoicemail_outlook"),
        "{c:?}"
    );
    let v: Value = serde_json::from_str(&out.stdout).expect("json");
    for f in v["findings"].as_array().expect("findings") {
        assert!(
            f.get("path").is_none() && f.get("line").is_none() && f.get("column").is_none(),
            "{f}"
        );
        assert_eq!(f["environment"], "Prod");
    }
    let broken = v["findings"]
        .as_array()
        .and_then(|a| a.iter().find(|f| f["code"] == "CR900"))
        .expect("CR900");
    assert_eq!(broken["flow_id"], "55555555-0000-0000-0000-000000000005");
    // Both pages of flows and of connections were read.
    assert_eq!(fake.count("/api/data/v9.2/workflows"), 2);
    assert_eq!(fake.count("/connectivity/connections?"), 2);
    let dv = fake
        .requests()
        .into_iter()
        .find(|r| r.path() == "/api/data/v9.2/workflows")
        .expect("workflows");
    assert!(fake::decode(&dv.target).contains("$filter=category eq 5"), "{}", dv.target);
    assert_eq!(dv.headers["prefer"], "odata.maxpagesize=50");

    let human = run(&f, &fake, &["audit", "--env", "Prod", "--format", "human"], &[]);
    crate::snap!("online_audit_human", human.stdout.clone());
    let gh = run(&f, &fake, &["audit", "--env", "Prod", "--format", "github"], &[]);
    assert!(gh.stdout.contains("::error title=CR611::"), "{}", gh.stdout);
    assert!(!gh.stdout.contains("file="), "{}", gh.stdout);
    let sarif = run(&f, &fake, &["audit", "--env", "Prod", "--format", "sarif"], &[]);
    let s: Value = serde_json::from_str(&sarif.stdout).expect("sarif");
    let r0 = &s["runs"][0]["results"][0];
    assert!(
        r0["locations"][0]["logicalLocations"][0]["fullyQualifiedName"]
            .as_str()
            .is_some_and(|n| n.contains("environment `Prod`")),
        "{r0}"
    );
    for o in [&out, &human, &gh, &sarif] {
        assert_no_secret("audit", &format!("{}{}", o.stdout, o.stderr), &fake);
    }
}

fn failing(tweak: impl Fn(&Request, usize) -> Option<Reply> + Send + Sync + 'static, args: &[&str]) -> (Output, Fake) {
    let fake = start(tweak);
    let f = Fixture::new();
    project(&f, &fake);
    let mut all = vec![args[0], "--env", "Prod", "--format", "json"];
    all.extend(&args[1..]);
    for (flag, default) in [("--max-retry-wait", "0"), ("--timeout", "2")] {
        if !args.contains(&flag) {
            all.extend([flag, default]);
        }
    }
    let out = run(&f, &fake, &all, &[]);
    assert_no_secret("failure", &format!("{}{}", out.stdout, out.stderr), &fake);
    (out, fake)
}

#[test]
fn power_platform_401_and_403_name_the_registration_command() {
    for status in [401, 403] {
        let (out, _) = failing(
            move |r, _| {
                r.path().starts_with("/connectivity/").then(|| {
                    json(
                        status,
                        r#"{"error":{"code":"Unauthorized","message":"The caller is not authorized."}}"#,
                    )
                })
            },
            &["verify"],
        );
        assert_eq!(out.code, 2, "{}", out.stderr);
        assert!(
            out.stderr
                .contains(&format!("pac admin application register --application-id {CLIENT_ID}")),
            "{}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "no report on a failure: {}", out.stdout);
    }
}

#[test]
fn dataverse_403_names_the_application_user() {
    let (out, _) = failing(
        |r, _| {
            r.path().starts_with("/api/data/").then(|| {
                json(
                    403,
                    r#"{"error":{"code":"0x80072560","message":"The user is not a member of the organization."}}"#,
                )
            })
        },
        &["audit"],
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("application user") && out.stderr.contains(CLIENT_ID),
        "{}",
        out.stderr
    );
    assert!(
        out.stderr.contains("0x80072560: The user is not a member of the organization."),
        "{}",
        out.stderr
    );
}

#[test]
fn throttling_and_server_errors_are_retried() {
    // 429 with Retry-After, then the answer.
    let (out, fake) = failing(
        |r, nth| {
            (r.path() == "/api/data/v9.2/connectionreferences" && nth == 0).then(|| {
                Reply::WithHeaders(
                    429,
                    vec![("Retry-After".into(), "1".into())],
                    r#"{"error":{"code":"0x80072322","message":"Number of requests exceeded the limit"}}"#.into(),
                )
            })
        },
        &["verify", "--max-retry-wait", "5"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(
        fake.count("/api/data/v9.2/connectionreferences"),
        3,
        "the throttled page again, then page 2"
    );
    // A 500, then the answer.
    let (out, fake) = failing(
        |r, nth| (r.path().ends_with("/connections/conn-owned") && nth == 0).then(|| json(500, "{}")),
        &["verify"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    assert_eq!(fake.count("/connections/conn-owned?"), 2);
    // Throttled for good: exit 2 after the retries, never a partial report.
    let (out, fake) = failing(
        |r, _| {
            r.path()
                .starts_with("/connectivity/connectors/")
                .then(|| Reply::WithHeaders(429, vec![("Retry-After".into(), "0".into())], "{}".into()))
        },
        &["verify"],
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("failed 4 times, the last with HTTP 429"), "{}", out.stderr);
    assert_eq!(fake.count("/connectivity/connectors/"), 4);
}

#[test]
fn a_page_that_fails_midway_is_exit_2() {
    // The connection drops in the middle of page 2, every time.
    let (out, fake) = failing(
        |r, _| {
            (r.path() == "/api/data/v9.2/workflows" && r.target.contains("skiptoken"))
                .then(|| Reply::DropMidBody(r#"{"value":[{"workflowid":"77777777-0000-0000-0000-000000000007","name":"Half"#.into()))
        },
        &["audit"],
    );
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(
        out.stderr.contains("page 2 of cloud flows failed: no partial result is reported"),
        "{}",
        out.stderr
    );
    assert!(out.stdout.is_empty());
    assert_eq!(fake.count("skiptoken=2"), 4, "retried, then given up");
    // Dropped once, then answered: the audit completes.
    let (out, _) = failing(
        |r, nth| (r.path() == "/api/data/v9.2/workflows" && nth == 1).then(|| Reply::DropMidBody(r#"{"value":["#.into())),
        &["audit"],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
}

#[test]
fn a_server_that_never_answers_times_out() {
    let (out, _) = failing(
        |r, _| r.path().starts_with("/connectivity/").then_some(Reply::Silence),
        &["verify", "--timeout", "1"],
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("did not answer within 1 s"), "{}", out.stderr);
}

#[test]
fn answers_of_the_wrong_shape_are_exit_2() {
    let (out, _) = failing(
        |r, _| (r.path() == "/api/data/v9.2/connectionreferences").then(|| json(200, r#"{"value":{"not":"an array"}}"#)),
        &["verify"],
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("page 1 of connection references has no `value` array"),
        "{}",
        out.stderr
    );
    let (out, _) = failing(
        |r, _| (r.path() == "/api/data/v9.2/workflows").then(|| json(200, "<html>maintenance</html>")),
        &["audit"],
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("page 1 of cloud flows is not JSON"), "{}", out.stderr);
    let (out, _) = failing(
        |r, _| {
            r.path()
                .ends_with("/connections/conn-owned")
                .then(|| json(200, r#"{"name":"conn-owned"}"#))
        },
        &["verify"],
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("unexpected shape"), "{}", out.stderr);
    // A next link to another host: the token is not sent there.
    let (out, fake) = failing(
        |r, _| {
            (r.path() == "/api/data/v9.2/connectionreferences")
                .then(|| json(200, r#"{"value":[],"@odata.nextLink":"https://evil.example.com/steal"}"#))
        },
        &["verify"],
    );
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("another host"), "{}", out.stderr);
    assert_eq!(fake.count("/api/data/v9.2/connectionreferences"), 1);
}

#[test]
fn a_refused_token_is_exit_2_and_an_echoed_secret_is_redacted() {
    let (out, _) = failing(
        |r, _| {
            r.path().ends_with("/oauth2/v2.0/token").then(|| {
                let echo = r.form().get("client_secret").cloned().unwrap_or_default();
                json(
                    401,
                    j!({"error": "invalid_client", "error_description": format!("AADSTS7000215: Invalid client secret provided ({echo}).\r\nTrace ID: 1")}).to_string(),
                )
            })
        },
        &["verify"],
    );
    assert_eq!(out.code, 2);
    assert!(
        out.stderr
            .contains("invalid_client: AADSTS7000215: Invalid client secret provided ([redacted])"),
        "{}",
        out.stderr
    );
    assert!(out.stderr.contains(CLIENT_ID), "{}", out.stderr);
}

#[test]
fn dumped_responses_hold_no_token() {
    let fake = start(|r, _| {
        // A server that echoes the bearer token in an error body.
        r.path().ends_with("/connections/conn-missing").then(|| {
            json(
                404,
                j!({"error": {"code": "ConnectionNotFound", "message": format!("not found for {}", r.headers.get("authorization").cloned().unwrap_or_default())}}).to_string(),
            )
        })
    });
    let f = Fixture::new();
    project(&f, &fake);
    let dump = f.path().join("dump");
    let out = run(
        &f,
        &fake,
        &[
            "verify",
            "--env",
            "Prod",
            "--format",
            "json",
            "--dump-responses",
            dump.to_str().expect("utf-8"),
        ],
        &[],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let mut names: Vec<String> = std::fs::read_dir(&dump)
        .expect("dump folder")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    assert!(names.iter().any(|n| n.contains("-POST-200-token")), "{names:?}");
    assert!(names.iter().any(|n| n.contains("-GET-404-conn-missing")), "{names:?}");
    assert!(names.contains(&"index.tsv".to_owned()));
    let mut all = String::new();
    for n in &names {
        all.push_str(&std::fs::read_to_string(dump.join(n)).expect("dump file"));
    }
    assert!(all.contains("\"access_token\":\"[redacted]\""), "{all}");
    assert!(all.contains("not found for Bearer [redacted]"), "{all}");
    assert_no_secret("dump", &all, &fake);
}

#[test]
fn token_entries_are_verified_after_replacement_with_settings_file() {
    let fake = start(|_, _| None);
    let f = Fixture::new();
    project(&f, &fake);
    // The pipeline replaced the token in a copy with another name.
    let text = std::fs::read_to_string(f.path().join("Billing/config/Prod/deploymentSettings.json")).expect("settings");
    f.write(
        "out/replaced.json",
        text.replace("#{connectionreference.contoso_reporting_teams}#", "conn-missing-too"),
    );
    let out = run(
        &f,
        &fake,
        &["verify", "--env", "Prod", "--settings", "out/replaced.json", "--format", "json"],
        &[],
    );
    assert_eq!(out.code, 1, "{}", out.stderr);
    let v: Value = serde_json::from_str(&out.stdout).expect("json");
    let findings = v["findings"].as_array().expect("findings");
    assert!(findings.iter().all(|f| f["path"] == "out/replaced.json"), "{findings:?}");
    assert!(
        findings
            .iter()
            .any(|f| f["code"] == "CR601" && f["reference"] == "contoso_reporting_teams" && f["severity"] == "error")
    );
    assert!(!findings.iter().any(|f| f["code"] == "CR601" && f["severity"] == "info"));
}

#[test]
fn bad_setup_is_exit_2_with_the_fix() {
    let fake = start(|_, _| None);
    let f = Fixture::new();
    project(&f, &fake);
    let out = run(&f, &fake, &["verify", "--env", "Test"], &[]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("environment `Test` is not configured") && out.stderr.contains("[environments.Test]"),
        "{}",
        out.stderr
    );
    let toml = std::fs::read_to_string(f.path().join("connref.toml")).expect("toml");
    f.write(
        "connref.toml",
        format!("{toml}[environments.Test]\nurl = \"{}\"\nid = \"{ENV_ID}\"\n", fake.url),
    );
    let out = run(&f, &fake, &["verify", "--env", "Test"], &[]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("no readable settings file for environment `Test`") && out.stderr.contains("(settings files exist for Prod)"),
        "{}",
        out.stderr
    );
    let out = run(&f, &fake, &["verify", "--env", "Prod"], &[("AZURE_CLIENT_SECRET", None)]);
    assert_eq!(out.code, 2);
    assert!(
        out.stderr.contains("AZURE_CLIENT_SECRET") && out.stderr.contains("id-token: write"),
        "{}",
        out.stderr
    );
    f.write(
        "connref.toml",
        format!("[environments.Prod]\nurl = \"{}\"\nid = \"not-a-guid\"\n", fake.url),
    );
    let out = run(&f, &fake, &["audit", "--env", "Prod"], &[]);
    assert_eq!(out.code, 2);
    assert!(out.stderr.contains("line 3") && out.stderr.contains("not a GUID"), "{}", out.stderr);
    assert!(fake.requests().is_empty(), "nothing was called");
}

#[test]
fn only_tokens_is_exit_2_not_a_pass() {
    let fake = start(|_, _| None);
    let f = Fixture::new();
    project(&f, &fake);
    f.write(
        "Billing/config/Prod/deploymentSettings.json",
        r##"{"ConnectionReferences":[{"LogicalName":"contoso_invoicemail_outlook","ConnectionId":"#{connectionreference.contoso_invoicemail_outlook}#"}]}"##,
    );
    let out = run(&f, &fake, &["verify", "--env", "Prod"], &[]);
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(
        out.stderr.contains("(1 of 1 bind pipeline tokens): nothing can be verified"),
        "{}",
        out.stderr
    );
    assert!(fake.requests().is_empty());
}

#[test]
fn a_huge_page_is_refused() {
    let (out, _) = failing(
        |r, _| (r.path() == "/api/data/v9.2/workflows").then_some(Reply::Huge(40 * 1024 * 1024)),
        &["audit"],
    );
    assert_eq!(out.code, 2, "{}", out.stdout);
    assert!(out.stderr.contains("larger than 32 MiB"), "{}", out.stderr);
}

#[test]
fn explain_cr604_says_how_to_share_with_the_application_user() {
    let f = Fixture::new();
    let out = connref(f.path(), &["explain", "CR604"]);
    assert_eq!(out.code, 0);
    assert!(
        out.stdout.contains("Share") && out.stdout.contains("application user") && out.stdout.contains("Can use"),
        "{}",
        out.stdout
    );
    let rules = connref(f.path(), &["rules"]);
    for code in [
        "CR601", "CR602", "CR603", "CR604", "CR605", "CR606", "CR611", "CR612", "CR613", "CR614",
    ] {
        assert!(rules.stdout.contains(code), "{code}");
    }
}
