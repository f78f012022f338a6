//! Microsoft Entra ID tokens for a service principal: a client secret (`AZURE_CLIENT_SECRET`), or
//! in GitHub Actions the job's OIDC token as a federated `client_assertion`. One token per
//! resource, fetched once and reused for the whole run.

use std::cell::RefCell;
use std::collections::HashMap;

use anyhow::{Result, anyhow, bail};

use super::http::{Http, Kind, encode};

pub const DEFAULT_AUTHORITY: &str = "https://login.microsoftonline.com";
/// The audience Entra ID expects on a GitHub token it exchanges.
pub const OIDC_AUDIENCE: &str = "api://AzureADTokenExchange";
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

/// How the service principal proves who it is.
#[derive(Clone)]
pub enum Method {
    Secret(String),
    /// GitHub Actions' OIDC endpoint and its request token.
    GithubOidc {
        url: String,
        token: String,
    },
}

impl std::fmt::Debug for Method {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Method::Secret(_) => "Secret([redacted])",
            Method::GithubOidc { .. } => "GithubOidc([redacted])",
        })
    }
}

#[derive(Debug, Clone)]
pub struct Credentials {
    pub authority: String,
    pub tenant: String,
    pub client_id: String,
    pub method: Method,
}

const HELP: &str = "set AZURE_CLIENT_SECRET (with AZURE_TENANT_ID and AZURE_CLIENT_ID, or `tenant` and `client_id` in [environments.<name>] of connref.toml), or in GitHub Actions give the job `permissions: id-token: write` and a federated credential on the app registration";

impl Credentials {
    /// From the environment's config and the process environment (`var`), in the documented
    /// order: a client secret, else GitHub's OIDC token.
    pub fn resolve(tenant: Option<&str>, client_id: Option<&str>, var: &dyn Fn(&str) -> Option<String>) -> Result<Credentials> {
        let pick = |configured: Option<&str>, name: &str| {
            configured
                .map(str::to_owned)
                .or_else(|| var(name))
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let method = match var("AZURE_CLIENT_SECRET").filter(|s| !s.is_empty()) {
            Some(secret) => Method::Secret(secret),
            None => match (
                var("ACTIONS_ID_TOKEN_REQUEST_URL").filter(|s| !s.is_empty()),
                var("ACTIONS_ID_TOKEN_REQUEST_TOKEN").filter(|s| !s.is_empty()),
            ) {
                (Some(url), Some(token)) => Method::GithubOidc { url, token },
                _ => bail!("no credentials: {HELP}"),
            },
        };
        let tenant = pick(tenant, "AZURE_TENANT_ID").ok_or_else(|| anyhow!("no tenant: {HELP}"))?;
        let client_id = pick(client_id, "AZURE_CLIENT_ID").ok_or_else(|| anyhow!("no client id: {HELP}"))?;
        let authority = var("CONNREF_AUTHORITY_URL")
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| DEFAULT_AUTHORITY.to_owned())
            .trim_end_matches('/')
            .to_owned();
        Ok(Credentials {
            authority,
            tenant,
            client_id,
            method,
        })
    }
}

/// Tokens per scope, fetched on first use.
pub struct Tokens<'a> {
    http: &'a Http,
    creds: Credentials,
    cache: RefCell<HashMap<String, String>>,
    assertion: RefCell<Option<String>>,
}

impl<'a> Tokens<'a> {
    pub fn new(http: &'a Http, creds: Credentials) -> Self {
        match &creds.method {
            Method::Secret(s) => http.secret(s),
            Method::GithubOidc { token, .. } => http.secret(token),
        }
        Tokens {
            http,
            creds,
            cache: RefCell::new(HashMap::new()),
            assertion: RefCell::new(None),
        }
    }

    pub fn client_id(&self) -> &str {
        &self.creds.client_id
    }

    /// An access token for `scope` (`https://org.crm.dynamics.com/.default`).
    pub fn get(&self, scope: &str) -> Result<String> {
        if let Some(t) = self.cache.borrow().get(scope) {
            return Ok(t.clone());
        }
        let c = &self.creds;
        let url = format!("{}/{}/oauth2/v2.0/token", c.authority, encode(&c.tenant));
        let mut form: Vec<(&str, &str)> = vec![("grant_type", "client_credentials"), ("client_id", &c.client_id), ("scope", scope)];
        let assertion;
        match &c.method {
            Method::Secret(s) => form.push(("client_secret", s)),
            Method::GithubOidc { .. } => {
                assertion = self.assertion()?;
                form.push(("client_assertion_type", ASSERTION_TYPE));
                form.push(("client_assertion", &assertion));
            }
        }
        let answer = self.http.post_form(&url, &form, Kind::Token)?;
        let parsed: Option<serde_json::Value> = serde_json::from_str(&answer.body).ok();
        let token = parsed
            .as_ref()
            .and_then(|v| v.get("access_token"))
            .and_then(|t| t.as_str())
            .filter(|t| !t.is_empty());
        match token {
            Some(t) if (200..300).contains(&answer.status) => {
                self.http.secret(t);
                self.cache.borrow_mut().insert(scope.to_owned(), t.to_owned());
                Ok(t.to_owned())
            }
            _ => bail!(
                "Entra ID refused a token for `{scope}` (HTTP {}{}) for client id `{}` in tenant `{}`: check the client id, the tenant and the {}",
                answer.status,
                self.http.brief(&answer.body),
                c.client_id,
                c.tenant,
                match c.method {
                    Method::Secret(_) => "secret (AZURE_CLIENT_SECRET)",
                    Method::GithubOidc { .. } =>
                        "federated credential of the app registration (its subject must match this repository and branch or environment)",
                }
            ),
        }
    }

    /// GitHub's OIDC token for Entra ID, fetched once.
    fn assertion(&self) -> Result<String> {
        if let Some(a) = self.assertion.borrow().as_ref() {
            return Ok(a.clone());
        }
        let Method::GithubOidc { url, token } = &self.creds.method else {
            bail!("no OIDC token request URL")
        };
        let sep = if url.contains('?') { '&' } else { '?' };
        let full = format!("{url}{sep}audience={}", encode(OIDC_AUDIENCE));
        let auth = format!("bearer {token}");
        let answer = self
            .http
            .get(&full, &[("Authorization", &auth), ("Accept", "application/json")], Kind::Token)?;
        let value = serde_json::from_str::<serde_json::Value>(&answer.body)
            .ok()
            .and_then(|v| v.get("value").and_then(|t| t.as_str()).map(str::to_owned))
            .filter(|v| !v.is_empty());
        match value {
            Some(v) if (200..300).contains(&answer.status) => {
                self.http.secret(&v);
                *self.assertion.borrow_mut() = Some(v.clone());
                Ok(v)
            }
            _ => bail!(
                "GitHub did not issue an OIDC token (HTTP {}{}): give the job `permissions: id-token: write`",
                answer.status,
                self.http.brief(&answer.body)
            ),
        }
    }
}

/// The `oid` claim (the principal's object id) of an access token, read without verifying it:
/// it only names the deployer when config does not.
pub fn object_id(token: &str) -> Option<String> {
    let payload = token.split('.').nth(1)?;
    let bytes = base64url(payload)?;
    let v: serde_json::Value = serde_json::from_slice(&bytes).ok()?;
    v.get("oid").and_then(|o| o.as_str()).map(str::to_ascii_lowercase)
}

fn base64url(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    let mut acc = 0u32;
    let mut bits = 0;
    for c in s.bytes().take_while(|&c| c != b'=') {
        let v = match c {
            b'A'..=b'Z' => c - b'A',
            b'a'..=b'z' => c - b'a' + 26,
            b'0'..=b'9' => c - b'0' + 52,
            b'-' | b'+' => 62,
            b'_' | b'/' => 63,
            _ => return None,
        };
        acc = (acc << 6) | u32::from(v);
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((acc >> bits) as u8);
            acc &= (1 << bits) - 1;
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_object_id() {
        // {"alg":"none"} . {"oid":"C52D0000-0000-0000-0000-000000000001","aud":"x"}
        let token = "eyJhbGciOiJub25lIn0.eyJvaWQiOiJDNTJEMDAwMC0wMDAwLTAwMDAtMDAwMC0wMDAwMDAwMDAwMDEiLCJhdWQiOiJ4In0.sig";
        assert_eq!(object_id(token).as_deref(), Some("c52d0000-0000-0000-0000-000000000001"));
        assert_eq!(object_id("not-a-jwt"), None);
        assert_eq!(base64url("aGk").as_deref(), Some(&b"hi"[..]));
    }

    #[test]
    fn credentials_in_order() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| (*v).to_owned())
        };
        let c = Credentials::resolve(
            Some("t1"),
            None,
            &env(&[
                ("AZURE_CLIENT_SECRET", "s"),
                ("AZURE_CLIENT_ID", "c"),
                ("ACTIONS_ID_TOKEN_REQUEST_URL", "u"),
                ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "t"),
            ]),
        )
        .expect("resolves");
        assert!(matches!(c.method, Method::Secret(_)));
        assert_eq!(
            (c.tenant.as_str(), c.client_id.as_str(), c.authority.as_str()),
            ("t1", "c", DEFAULT_AUTHORITY)
        );
        let c = Credentials::resolve(
            None,
            None,
            &env(&[
                ("AZURE_TENANT_ID", "t"),
                ("AZURE_CLIENT_ID", "c"),
                ("ACTIONS_ID_TOKEN_REQUEST_URL", "u"),
                ("ACTIONS_ID_TOKEN_REQUEST_TOKEN", "t"),
            ]),
        )
        .expect("resolves");
        assert!(matches!(c.method, Method::GithubOidc { .. }));
        let e = Credentials::resolve(None, None, &env(&[])).unwrap_err().to_string();
        assert!(e.contains("AZURE_CLIENT_SECRET") && e.contains("id-token: write"), "{e}");
        let e = Credentials::resolve(None, None, &env(&[("AZURE_CLIENT_SECRET", "s")]))
            .unwrap_err()
            .to_string();
        assert!(e.contains("no tenant"), "{e}");
    }
}
