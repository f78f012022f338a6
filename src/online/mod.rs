//! Talking to a target environment (`connref verify`, `connref audit`; cargo feature `online`):
//! tokens, the Dataverse Web API and the Power Platform API, over one blocking HTTPS client.
//! What the environment answers goes to the pure rules in `rules::online`.

pub mod auth;
pub mod dataverse;
pub mod http;
pub mod powerplatform;

use std::collections::HashMap;

use anyhow::{Context as _, Result, anyhow, bail};
use serde_json::Value;

use crate::config::EnvironmentConfig;
use crate::rules::online::{Live, Target};
use auth::{Credentials, Tokens};
use dataverse::Dataverse;
use http::{Answer, Http, Kind};
use powerplatform::PowerPlatform;

/// A listing that pages past this is a server that loops; no environment has that many pages.
const MAX_PAGES: usize = 10_000;

pub struct Page<'a> {
    /// `@odata.nextLink` (Dataverse) or `nextLink` (Power Platform API).
    pub next_key: &'a str,
    pub what: &'a str,
}

/// Every item of every page, following the next link. A page that fails fails the whole
/// listing: a partial list would read as "all good".
pub fn list(
    http: &Http,
    first: &str,
    headers: &[(&str, &str)],
    page: Page<'_>,
    refusal: &dyn Fn(&Answer) -> anyhow::Error,
) -> Result<Vec<Value>> {
    let origin = http::origin(first).ok_or_else(|| anyhow!("`{first}` is not a URL"))?;
    let mut items = Vec::new();
    let mut url = first.to_owned();
    for n in 1..=MAX_PAGES {
        let answer = http
            .get(&url, headers, Kind::Data)
            .with_context(|| format!("page {n} of {} failed: no partial result is reported", page.what))?;
        if !(200..300).contains(&answer.status) {
            return Err(refusal(&answer)).with_context(|| format!("page {n} of {}", page.what));
        }
        let mut doc: Value = serde_json::from_str(&answer.body).map_err(|e| {
            anyhow!(
                "page {n} of {} is not JSON ({e}); `--dump-responses DIR` keeps the answer for a bug report",
                page.what
            )
        })?;
        let next = doc.get(page.next_key).and_then(Value::as_str).map(str::to_owned);
        match doc.get_mut("value").map(Value::take) {
            Some(Value::Array(v)) => items.extend(v),
            _ => bail!(
                "page {n} of {} has no `value` array: not the shape connref expects; `--dump-responses DIR` keeps the answer for a bug report",
                page.what
            ),
        }
        match next.filter(|u| !u.is_empty()) {
            None => return Ok(items),
            Some(next) => {
                // The bearer token goes with every page: never to another host.
                if http::origin(&next).as_deref() != Some(origin.as_str()) {
                    bail!(
                        "page {n} of {} links its next page to another host ({}); connref does not send the token there",
                        page.what,
                        http.redact(&http::origin(&next).unwrap_or(next))
                    );
                }
                url = next;
            }
        }
    }
    bail!(
        "{} has more than {MAX_PAGES} pages: the server keeps linking to a next page",
        page.what
    )
}

/// One run's connection to one environment: its config, the client and the tokens.
pub struct Session<'a> {
    pub name: String,
    pub env: EnvironmentConfig,
    http: &'a Http,
    tokens: Tokens<'a>,
    power_platform_url: String,
}

impl<'a> Session<'a> {
    /// `var` reads the process environment (tests pass their own).
    pub fn new(http: &'a Http, name: &str, env: &EnvironmentConfig, var: &dyn Fn(&str) -> Option<String>) -> Result<Self> {
        let creds = Credentials::resolve(env.tenant.as_deref(), env.client_id.as_deref(), var)?;
        let power_platform_url = var("CONNREF_POWERPLATFORM_URL")
            .filter(|s| !s.is_empty())
            .unwrap_or_else(|| powerplatform::environment_host(&env.id))
            .trim_end_matches('/')
            .to_owned();
        Ok(Session {
            name: name.to_owned(),
            env: env.clone(),
            http,
            tokens: Tokens::new(http, creds),
            power_platform_url,
        })
    }

    fn dataverse(&self) -> Result<Dataverse<'a>> {
        let url = self.env.url.trim_end_matches('/').to_owned();
        Ok(Dataverse {
            http: self.http,
            token: self.tokens.get(&Dataverse::scope(&url))?,
            url,
            client_id: self.tokens.client_id().to_owned(),
        })
    }

    fn power_platform(&self) -> Result<PowerPlatform<'a>> {
        Ok(PowerPlatform {
            http: self.http,
            base: self.power_platform_url.clone(),
            environment_id: self.env.id.clone(),
            token: self.tokens.get(powerplatform::SCOPE)?,
            client_id: self.tokens.client_id().to_owned(),
        })
    }

    /// The deploying principal's object id: from config, else the `oid` of the token connref
    /// runs with.
    fn deployer(&self, pp: &PowerPlatform<'_>) -> Result<String> {
        if let Some(d) = &self.env.deployer {
            return Ok(d.to_ascii_lowercase());
        }
        auth::object_id(&pp.token).ok_or_else(|| {
            anyhow!(
                "the access token carries no `oid` claim, so connref cannot tell who deploys: set `deployer` (the object id of the deploying service principal) in [environments.{}]",
                self.name
            )
        })
    }

    /// What `verify` needs: each target connection with its permissions, and the environment's
    /// connection references.
    pub fn fetch_for_verify(&self, targets: &[Target]) -> Result<Live> {
        let pp = self.power_platform()?;
        let deployer = self.deployer(&pp)?;
        let mut connections = HashMap::new();
        for t in targets {
            let key = t.key();
            if connections.contains_key(&key) {
                continue;
            }
            let found = pp.connection(&t.api, &t.connection_id)?;
            let permissions = match &found {
                Some(_) => pp.permissions(&t.api, &t.connection_id)?,
                None => Vec::new(),
            };
            connections.insert(key, found.map(|c| (c, permissions)));
        }
        let references = self.dataverse()?.connection_references()?;
        Ok(Live {
            environment: self.name.clone(),
            deployer,
            connections,
            references,
            flows: Vec::new(),
            all_connections: Vec::new(),
        })
    }

    /// What `audit` needs: the environment's references, cloud flows and connections.
    pub fn fetch_for_audit(&self) -> Result<Live> {
        let dv = self.dataverse()?;
        let references = dv.connection_references()?;
        let flows = dv.cloud_flows()?;
        let pp = self.power_platform()?;
        let all_connections = pp.connections()?;
        Ok(Live {
            environment: self.name.clone(),
            deployer: String::new(),
            connections: HashMap::new(),
            references,
            flows,
            all_connections,
        })
    }
}
