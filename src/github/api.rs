//! The few REST calls the comment needs, over octocrab, with retries for 5xx answers and
//! secondary rate limits.

use std::time::Duration;

use anyhow::{Context as _, Result, anyhow};
use octocrab::Octocrab;
use serde_json::{Value, json};

use super::next_link;

/// An answer: status, the `next` page if any, and the JSON body.
pub struct Answer {
    pub status: u16,
    pub next: Option<String>,
    pub body: Value,
}

impl Answer {
    pub fn ok(&self) -> bool {
        (200..300).contains(&self.status)
    }

    /// GitHub's `message`, the only part of an error body worth showing.
    pub fn message(&self) -> String {
        self.body.get("message").and_then(Value::as_str).unwrap_or("no message").to_owned()
    }
}

/// A refused write: the token cannot comment (a pull request from a fork gets a read-only token).
#[derive(Debug)]
pub struct ReadOnly(pub String);

impl std::fmt::Display for ReadOnly {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the token cannot write: {}", self.0)
    }
}

impl std::error::Error for ReadOnly {}

/// A write whose outcome is unknown (5xx or a lost connection).
#[derive(Debug)]
pub struct Unsure(pub String);

impl std::fmt::Display for Unsure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Unsure {}

pub struct Client {
    oc: Octocrab,
    /// First wait before a retry; doubles each time.
    pub backoff: Duration,
    pub retries: u32,
}

enum Method {
    Get,
    Post,
    Patch,
}

fn secondary_rate_limit(status: u16, retry_after: bool, body: &Value) -> bool {
    let msg = body.get("message").and_then(Value::as_str).unwrap_or("").to_ascii_lowercase();
    (status == 403 || status == 429) && (retry_after || msg.contains("rate limit"))
}

impl Client {
    pub fn new(api_url: &str, token: &str, backoff: Duration, retries: u32) -> Result<Self> {
        let oc = Octocrab::builder()
            .personal_token(token.to_owned())
            .base_uri(api_url.trim_end_matches('/'))
            .map_err(|e| anyhow!("bad API URL {api_url}: {e}"))?
            .build()
            .map_err(|e| anyhow!("cannot set up the GitHub client: {e}"))?;
        Ok(Client { oc, backoff, retries })
    }

    async fn send(&self, method: &Method, uri: &str, body: Option<&Value>) -> Result<Answer> {
        let mut attempt = 0;
        loop {
            let sent = match method {
                Method::Get => self.oc._get(uri).await,
                Method::Post => self.oc._post(uri, body).await,
                Method::Patch => self.oc._patch(uri, body).await,
            };
            let (retry, wait, last) = match sent {
                Ok(resp) => {
                    let status = resp.status().as_u16();
                    let header = |n: &str| resp.headers().get(n).and_then(|v| v.to_str().ok()).map(str::to_owned);
                    let next = header("link").as_deref().and_then(next_link);
                    let retry_after = header("retry-after").and_then(|s| s.trim().parse::<u64>().ok());
                    let text = self.oc.body_to_string(resp).await.unwrap_or_default();
                    let body: Value = serde_json::from_str(&text).unwrap_or(Value::Null);
                    let answer = Answer { status, next, body };
                    // A POST that failed with 5xx may still have created the comment: the caller
                    // looks before it tries again (see `create_comment`).
                    let server_error = status >= 500 && !matches!(method, Method::Post);
                    let retry = server_error || secondary_rate_limit(status, retry_after.is_some(), &answer.body);
                    if !retry {
                        return Ok(answer);
                    }
                    let wait = retry_after.map(|s| Duration::from_secs(s.min(60)));
                    (true, wait, Ok(answer))
                }
                Err(e) if matches!(method, Method::Post) => return Err(Unsure(format!("cannot reach {uri}: {e}")).into()),
                Err(e) => (true, None, Err(anyhow!("cannot reach {uri}: {e}"))),
            };
            if !retry || attempt >= self.retries {
                return last;
            }
            let wait = wait.unwrap_or(self.backoff * 2u32.saturating_pow(attempt));
            tokio::time::sleep(wait).await;
            attempt += 1;
        }
    }

    pub async fn get(&self, uri: &str) -> Result<Answer> {
        self.send(&Method::Get, uri, None).await
    }

    /// GET that must succeed.
    pub async fn get_ok(&self, uri: &str, what: &str) -> Result<Answer> {
        let a = self.get(uri).await?;
        if !a.ok() {
            return Err(anyhow!("cannot read {what}: HTTP {} ({})", a.status, a.message()));
        }
        Ok(a)
    }

    async fn write(&self, method: Method, uri: &str, body: &str) -> Result<u64> {
        let a = self.send(&method, uri, Some(&json!({ "body": body }))).await?;
        if a.status == 403 {
            return Err(ReadOnly(a.message()).into());
        }
        if a.status >= 500 && matches!(method, Method::Post) {
            return Err(Unsure(format!("HTTP {} ({})", a.status, a.message())).into());
        }
        if !a.ok() {
            return Err(anyhow!("cannot write the comment: HTTP {} ({})", a.status, a.message()));
        }
        a.body
            .get("id")
            .and_then(Value::as_u64)
            .context("the answer to a comment write has no id")
    }

    /// Creates the comment. A 5xx answer or a lost connection may hide a comment that was created
    /// all the same, so before each new try it looks for it again: never a duplicate.
    pub async fn create_comment(&self, repo: &str, pr: u64, author: &str, marker: &str, body: &str) -> Result<u64> {
        let uri = format!("/repos/{repo}/issues/{pr}/comments");
        let mut attempt = 0;
        loop {
            match self.write(Method::Post, &uri, body).await {
                Err(e) if e.is::<Unsure>() && attempt < self.retries => {
                    tokio::time::sleep(self.backoff * 2u32.saturating_pow(attempt)).await;
                    attempt += 1;
                    if let Some((id, old)) = self.find_comment(repo, pr, author, marker).await? {
                        if old.trim_end() != body.trim_end() {
                            self.update_comment(repo, id, body).await?;
                        }
                        return Ok(id);
                    }
                }
                Err(e) if e.is::<Unsure>() => return Err(anyhow!("cannot create the comment: {e}")),
                other => return other,
            }
        }
    }

    pub async fn update_comment(&self, repo: &str, id: u64, body: &str) -> Result<u64> {
        self.write(Method::Patch, &format!("/repos/{repo}/issues/comments/{id}"), body)
            .await
    }

    /// The token's login; an Actions token cannot read `/user`, and its comments are by
    /// `github-actions[bot]`.
    pub async fn author(&self) -> Result<String> {
        let a = self.get("/user").await?;
        Ok(a.body
            .get("login")
            .and_then(Value::as_str)
            .filter(|_| a.ok())
            .unwrap_or("github-actions[bot]")
            .to_owned())
    }

    /// This job's earlier comment (id, body): the first one, across every page, by `author`
    /// that holds `marker`.
    pub async fn find_comment(&self, repo: &str, pr: u64, author: &str, marker: &str) -> Result<Option<(u64, String)>> {
        let mut uri = format!("/repos/{repo}/issues/{pr}/comments?per_page=100");
        loop {
            let a = self.get_ok(&uri, "the pull request's comments").await?;
            for c in a.body.as_array().into_iter().flatten() {
                let by = c.pointer("/user/login").and_then(Value::as_str);
                let body = c.get("body").and_then(Value::as_str).unwrap_or("");
                if by == Some(author)
                    && body.contains(marker)
                    && let Some(id) = c.get("id").and_then(Value::as_u64)
                {
                    return Ok(Some((id, body.to_owned())));
                }
            }
            match a.next {
                Some(next) => uri = next,
                None => return Ok(None),
            }
        }
    }

    /// The open pull request whose head is `sha` (a `workflow_run` from a fork lists none).
    pub async fn pull_by_head_sha(&self, repo: &str, sha: &str) -> Result<Option<u64>> {
        let mut uri = format!("/repos/{repo}/pulls?state=open&per_page=100");
        loop {
            let a = self.get_ok(&uri, "the open pull requests").await?;
            for p in a.body.as_array().into_iter().flatten() {
                if p.pointer("/head/sha").and_then(Value::as_str) == Some(sha) {
                    return Ok(p.get("number").and_then(Value::as_u64));
                }
            }
            match a.next {
                Some(next) => uri = next,
                None => return Ok(None),
            }
        }
    }
}
