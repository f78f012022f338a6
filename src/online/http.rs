//! The one HTTPS client of `verify` and `audit`: blocking (ureq on rustls), with timeouts,
//! retries of 429, 5xx and dropped connections that honour `Retry-After`, redaction of every
//! secret and token from errors and dumps, and `--dump-responses`.

use std::cell::{Cell, RefCell};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context as _, Result, bail};

/// A response body larger than this is refused: Dataverse pages are asked for in small sizes, so
/// only a broken or hostile server sends more.
pub const MAX_BODY: u64 = 32 * 1024 * 1024;

const REDACTED: &str = "[redacted]";

#[derive(Debug, Clone)]
pub struct Options {
    /// Connect timeout and the longest silence while reading an answer.
    pub timeout: Duration,
    /// Retries after the first attempt, for 429, 5xx and dropped connections.
    pub retries: u32,
    /// The longest wait between two attempts, whatever `Retry-After` asks for.
    pub max_wait: Duration,
    /// `--dump-responses DIR`.
    pub dump: Option<PathBuf>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: Duration::from_secs(30),
            retries: 3,
            max_wait: Duration::from_secs(60),
            dump: None,
        }
    }
}

/// An answer with any status: the API modules decide what a 401, 403 or 404 means.
#[derive(Debug, Clone)]
pub struct Answer {
    pub status: u16,
    pub body: String,
}

/// What a body holds, for the dump: token answers have their tokens blanked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Data,
    Token,
}

pub struct Http {
    agent: ureq::Agent,
    options: Options,
    /// Every secret and token seen so far; blanked in every message and dump.
    secrets: RefCell<Vec<String>>,
    dumped: Cell<usize>,
}

enum Attempt {
    Answer(Answer, Option<Duration>),
    /// A dropped or refused connection: worth another attempt.
    Transient(String),
}

impl Http {
    pub fn new(options: Options) -> Result<Self> {
        if let Some(dir) = &options.dump {
            std::fs::create_dir_all(dir).with_context(|| format!("cannot create the dump folder `{}`", dir.display()))?;
        }
        let t = Some(options.timeout);
        let config = ureq::Agent::config_builder()
            .http_status_as_error(false)
            // A redirect would carry the bearer token to wherever it points.
            .max_redirects(0)
            .timeout_resolve(t)
            .timeout_connect(t)
            .timeout_per_read(t)
            .timeout_per_write(t)
            .user_agent(concat!("connref/", env!("CARGO_PKG_VERSION")))
            .build();
        Ok(Http {
            agent: ureq::Agent::new_with_config(config),
            options,
            secrets: RefCell::new(Vec::new()),
            dumped: Cell::new(0),
        })
    }

    /// Remembers a secret or token so that no message or dump ever shows it.
    pub fn secret(&self, value: &str) {
        let v = value.trim();
        // Short values would blank ordinary words; no real secret or token is this short.
        if v.len() >= 8 && !self.secrets.borrow().iter().any(|s| s == v) {
            self.secrets.borrow_mut().push(v.to_owned());
        }
    }

    /// `text` with every known secret blanked.
    pub fn redact(&self, text: &str) -> String {
        let mut out = text.to_owned();
        for s in self.secrets.borrow().iter() {
            if out.contains(s.as_str()) {
                out = out.replace(s.as_str(), REDACTED);
            }
        }
        out
    }

    pub fn get(&self, url: &str, headers: &[(&str, &str)], kind: Kind) -> Result<Answer> {
        self.send("GET", url, headers, None, kind)
    }

    pub fn post_form(&self, url: &str, form: &[(&str, &str)], kind: Kind) -> Result<Answer> {
        self.send("POST", url, &[], Some(form), kind)
    }

    fn send(&self, method: &str, url: &str, headers: &[(&str, &str)], form: Option<&[(&str, &str)]>, kind: Kind) -> Result<Answer> {
        let shown = self.redact(url);
        let mut last = String::new();
        for attempt in 0..=self.options.retries {
            let (why, retry_after) = match self.attempt(method, url, headers, form, &shown)? {
                Attempt::Answer(a, retry_after) if a.status == 429 || (500..=599).contains(&a.status) => {
                    self.dump(method, url, &a, kind)?;
                    (format!("HTTP {}{}", a.status, self.brief(&a.body)), retry_after)
                }
                Attempt::Answer(a, _) => {
                    self.dump(method, url, &a, kind)?;
                    return Ok(a);
                }
                Attempt::Transient(why) => (why, None),
            };
            last = why;
            if attempt < self.options.retries {
                let backoff = Duration::from_secs(1 << attempt.min(6));
                std::thread::sleep(retry_after.unwrap_or(backoff).min(self.options.max_wait));
            }
        }
        bail!(
            "{method} {shown} failed {} times, the last with {last}; nothing was reported as checked: run again later",
            self.options.retries + 1
        )
    }

    fn attempt(&self, method: &str, url: &str, headers: &[(&str, &str)], form: Option<&[(&str, &str)]>, shown: &str) -> Result<Attempt> {
        let result = match form {
            Some(form) => self
                .agent
                .post(url)
                .header("Accept", "application/json")
                .send_form(form.iter().copied()),
            None => {
                let mut req = self.agent.get(url);
                for (k, v) in headers {
                    req = req.header(*k, *v);
                }
                req.call()
            }
        };
        let mut response = match result {
            Ok(r) => r,
            Err(e) => return self.failure(e, method, shown),
        };
        let status = response.status().as_u16();
        let retry_after = response
            .headers()
            .get("retry-after")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .map(Duration::from_secs);
        let body = response.body_mut().with_config().limit(MAX_BODY).read_to_string();
        match body {
            Ok(body) => Ok(Attempt::Answer(Answer { status, body }, retry_after)),
            Err(ureq::Error::BodyExceedsLimit(_)) => {
                bail!(
                    "{method} {shown}: the answer is larger than {} MiB; connref refuses it",
                    MAX_BODY >> 20
                )
            }
            Err(e) => self.failure(e, method, shown),
        }
    }

    fn failure(&self, e: ureq::Error, method: &str, shown: &str) -> Result<Attempt> {
        let secs = self.options.timeout.as_secs_f64();
        match e {
            ureq::Error::Timeout(ureq::Timeout::Connect | ureq::Timeout::Resolve) => bail!(
                "{method} {shown}: could not connect within {secs} s (check the URL, the network and any proxy; `--timeout` sets the limit)"
            ),
            ureq::Error::Timeout(_) => bail!(
                "{method} {shown}: the server did not answer within {secs} s (`--timeout` sets the limit); nothing was reported as checked"
            ),
            ureq::Error::HostNotFound => bail!("{method} {shown}: the host name does not resolve (check the URL in connref.toml)"),
            ureq::Error::Io(io) => Ok(Attempt::Transient(format!("a broken connection ({io})"))),
            ureq::Error::ConnectionFailed => Ok(Attempt::Transient("a refused connection".to_owned())),
            ureq::Error::Protocol(p) => Ok(Attempt::Transient(format!("a malformed answer ({p})"))),
            other => bail!("{method} {shown}: {}", self.redact(&other.to_string())),
        }
    }

    /// A short, redacted excerpt of an error body for a message.
    pub fn brief(&self, body: &str) -> String {
        let text = error_text(body);
        if text.is_empty() {
            return String::new();
        }
        let short: String = text.chars().take(300).collect();
        format!(": {}", self.redact(&short))
    }

    fn dump(&self, method: &str, url: &str, answer: &Answer, kind: Kind) -> Result<()> {
        if kind == Kind::Token {
            for token in token_values(&answer.body) {
                self.secret(&token);
            }
        }
        let Some(dir) = &self.options.dump else { return Ok(()) };
        let n = self.dumped.get() + 1;
        self.dumped.set(n);
        let path_part = url.split(['?', '#']).next().unwrap_or(url);
        let slug: String = path_part
            .rsplit('/')
            .find(|s| !s.is_empty())
            .unwrap_or("response")
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                    c
                } else {
                    '_'
                }
            })
            .take(60)
            .collect();
        let name = format!("{n:03}-{method}-{}-{slug}.json", answer.status);
        let body = self.redact(&answer.body);
        std::fs::write(dir.join(&name), body).with_context(|| format!("cannot write `{}`", dir.join(&name).display()))?;
        let line = format!("{name}\t{method}\t{}\t{}\n", answer.status, self.redact(url));
        let index = dir.join("index.tsv");
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&index)
            .and_then(|mut f| std::io::Write::write_all(&mut f, line.as_bytes()))
            .with_context(|| format!("cannot write `{}`", index.display()))
    }
}

/// The tokens of a token endpoint's (or the GitHub OIDC endpoint's) answer.
fn token_values(body: &str) -> Vec<String> {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_str::<serde_json::Value>(body) else {
        return Vec::new();
    };
    ["access_token", "refresh_token", "id_token", "value"]
        .iter()
        .filter_map(|k| map.get(*k).and_then(|v| v.as_str()).map(str::to_owned))
        .collect()
}

/// The human part of an error body: OAuth `error`/`error_description`, OData and Power Platform
/// `error.code`/`error.message`, else the text itself.
pub fn error_text(body: &str) -> String {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(body) else {
        return body.trim().replace(['\r', '\n'], " ");
    };
    let s = |v: &serde_json::Value| v.as_str().map(str::to_owned);
    let (code, message) = match v.get("error") {
        Some(serde_json::Value::Object(_)) => (v.pointer("/error/code").and_then(s), v.pointer("/error/message").and_then(s)),
        Some(e) => (s(e), v.get("error_description").and_then(s)),
        None => (v.get("code").and_then(s), v.get("message").and_then(s)),
    };
    let message = message.map(|m| m.lines().next().unwrap_or_default().to_owned());
    match (code, message) {
        (Some(c), Some(m)) => format!("{c}: {m}"),
        (Some(c), None) => c,
        (None, Some(m)) => m,
        (None, None) => String::new(),
    }
}

/// The error code of an error body (`ConnectionNotFound`), when it has one.
pub fn error_code(body: &str) -> Option<String> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    v.pointer("/error/code")
        .or_else(|| v.get("code"))
        .and_then(|c| c.as_str())
        .map(str::to_owned)
}

/// Percent-encodes one path segment or query value: names from settings files go into URLs.
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `scheme://host[:port]` of a URL, lower case, for comparing where links point.
pub fn origin(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    let host = rest.split(['/', '?', '#']).next()?;
    (!host.is_empty()).then(|| format!("{}://{}", scheme.to_ascii_lowercase(), host.to_ascii_lowercase()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_known_secrets() {
        let http = Http::new(Options::default()).expect("client");
        http.secret("s3cr3t-value-123");
        http.secret("short");
        assert_eq!(http.redact("bad s3cr3t-value-123 short"), "bad [redacted] short");
        assert_eq!(token_values(r#"{"access_token":"eyJabc","token_type":"Bearer"}"#), ["eyJabc"]);
    }

    #[test]
    fn error_texts() {
        assert_eq!(
            error_text(r#"{"error":"invalid_client","error_description":"AADSTS7000215: Invalid client secret.\r\nTrace ID: x"}"#),
            "invalid_client: AADSTS7000215: Invalid client secret."
        );
        assert_eq!(
            error_text(r#"{"error":{"code":"ConnectionNotFound","message":"Could not find connection"}}"#),
            "ConnectionNotFound: Could not find connection"
        );
        assert_eq!(
            error_code(r#"{"error":{"code":"ConnectionNotFound"}}"#).as_deref(),
            Some("ConnectionNotFound")
        );
        assert_eq!(error_text("<html>\nBad gateway</html>"), "<html> Bad gateway</html>");
    }

    #[test]
    fn urls() {
        assert_eq!(encode("a b/c'd"), "a%20b%2Fc%27d");
        assert_eq!(
            origin("https://Org.crm.dynamics.com/api/data/v9.2/x?y").as_deref(),
            Some("https://org.crm.dynamics.com")
        );
        assert_eq!(origin("http://127.0.0.1:8080").as_deref(), Some("http://127.0.0.1:8080"));
        assert_eq!(origin("nope"), None);
    }
}
