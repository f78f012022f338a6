//! `connref comment` against a local server that speaks the parts of GitHub's REST API it uses.
#![cfg(feature = "github")]

mod common;
use common::*;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::Command;
use std::sync::{Arc, Mutex};

use serde_json::{Value, json};

const TOKEN: &str = "ghs_secretTOKEN1234567890";
const REPO: &str = "acme/flows";
const PR: u64 = 5;
/// Small pages, so that every run walks the `Link` header.
const PAGE: usize = 2;

#[derive(Clone)]
struct Comment {
    id: u64,
    login: String,
    body: String,
}

#[derive(Default)]
struct State {
    comments: Vec<Comment>,
    next_id: u64,
    /// `GET /user` answers with this login, or 403 when None (an Actions token).
    login: Option<String>,
    /// Writes answer 403 (a read-only token from a fork).
    read_only: bool,
    /// How many 502 answers to give before the first success, per "METHOD path-without-query".
    fail: HashMap<String, u32>,
    /// Every request: "METHOD path", and whether it carried the token.
    log: Vec<String>,
    unauthorised: usize,
    /// How many writes answer with a secondary rate limit (403 with Retry-After) first.
    limited: u32,
    /// How many creates succeed but answer 502.
    lose_create: u32,
    pulls: Value,
}

struct Server {
    state: Arc<Mutex<State>>,
    url: String,
}

impl Server {
    fn start(login: Option<&str>) -> Server {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let state = Arc::new(Mutex::new(State {
            next_id: 100,
            login: login.map(str::to_owned),
            pulls: json!([]),
            ..State::default()
        }));
        let (s, base) = (state.clone(), url.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let (s, base) = (s.clone(), base.clone());
                std::thread::spawn(move || serve(stream, &s, &base));
            }
        });
        Server { state, url }
    }

    fn seed(&self, login: &str, body: &str) -> u64 {
        let mut s = self.state.lock().expect("lock");
        s.next_id += 1;
        let id = s.next_id;
        s.comments.push(Comment {
            id,
            login: login.into(),
            body: body.into(),
        });
        id
    }

    fn log(&self) -> Vec<String> {
        self.state.lock().expect("lock").log.clone()
    }

    fn writes(&self) -> Vec<String> {
        self.log().into_iter().filter(|l| !l.starts_with("GET")).collect()
    }

    fn ours(&self, login: &str) -> Vec<Comment> {
        let s = self.state.lock().expect("lock");
        s.comments
            .iter()
            .filter(|c| c.login == login && c.body.contains("connref:comment"))
            .cloned()
            .collect()
    }
}

fn serve(stream: TcpStream, state: &Mutex<State>, base: &str) {
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or("").to_owned();
    let target = parts.next().unwrap_or("").to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h == "\r\n" {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let len: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; len];
    reader.read_exact(&mut body).expect("body");
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let (path, query) = target.split_once('?').unwrap_or((&target, ""));
    let page: usize = query
        .split('&')
        .find_map(|p| p.strip_prefix("page="))
        .and_then(|p| p.parse().ok())
        .unwrap_or(1);

    let mut s = state.lock().expect("lock");
    s.log.push(format!("{method} {path}"));
    if headers.get("authorization").map(String::as_str) != Some(&format!("Bearer {TOKEN}")) {
        s.unauthorised += 1;
    }
    let key = format!("{method} {path}");
    let mut retry_after = false;
    let (status, out, link) = if method == "POST" && s.limited > 0 {
        s.limited -= 1;
        retry_after = true;
        (
            403,
            json!({"message": "You have exceeded a secondary rate limit. Please wait a few minutes before you try again."}),
            None,
        )
    } else if let Some(n) = s.fail.get_mut(&key).filter(|n| **n > 0) {
        *n -= 1;
        (502, json!({"message": "Server Error"}), None)
    } else {
        route(&mut s, &method, path, page, &body, base)
    };
    drop(s);
    let text = out.to_string();
    let mut resp = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n",
        text.len()
    );
    if retry_after {
        resp.push_str("Retry-After: 0\r\n");
    }
    if let Some(l) = link {
        resp.push_str(&format!("Link: {l}\r\n"));
    }
    resp.push_str("\r\n");
    resp.push_str(&text);
    let mut stream = stream;
    let _ = stream.write_all(resp.as_bytes());
}

fn route(s: &mut State, method: &str, path: &str, page: usize, body: &Value, base: &str) -> (u16, Value, Option<String>) {
    let comments = format!("/repos/{REPO}/issues/{PR}/comments");
    let comment_json = |c: &Comment| json!({"id": c.id, "body": c.body, "user": {"login": c.login}});
    match (method, path) {
        ("GET", "/user") => match &s.login {
            Some(l) => (200, json!({"login": l}), None),
            None => (403, json!({"message": "Resource not accessible by integration"}), None),
        },
        ("GET", p) if p == comments => {
            let all: Vec<Value> = s.comments.iter().map(comment_json).collect();
            let chunk: Vec<Value> = all.iter().skip((page - 1) * PAGE).take(PAGE).cloned().collect();
            let link = (page * PAGE < all.len()).then(|| format!("<{base}{comments}?per_page=100&page={}>; rel=\"next\"", page + 1));
            (200, Value::Array(chunk), link)
        }
        ("GET", p) if p == format!("/repos/{REPO}/pulls") => (200, s.pulls.clone(), None),
        ("POST", p) if p == comments && s.lose_create > 0 => {
            // The comment is created, but the answer is lost behind a 502.
            s.lose_create -= 1;
            s.next_id += 1;
            let c = Comment {
                id: s.next_id,
                login: s.login.clone().unwrap_or_else(|| "github-actions[bot]".into()),
                body: body["body"].as_str().unwrap_or("").into(),
            };
            s.comments.push(c);
            (502, json!({"message": "Server Error"}), None)
        }
        ("POST", p) if p == comments => {
            if s.read_only {
                // A server that echoes what it got must not make the token visible either.
                return (
                    403,
                    json!({"message": format!("Resource not accessible by integration ({TOKEN})")}),
                    None,
                );
            }
            s.next_id += 1;
            let c = Comment {
                id: s.next_id,
                login: s.login.clone().unwrap_or_else(|| "github-actions[bot]".into()),
                body: body["body"].as_str().unwrap_or("").into(),
            };
            let out = comment_json(&c);
            s.comments.push(c);
            (201, out, None)
        }
        ("PATCH", p) if p.starts_with(&format!("/repos/{REPO}/issues/comments/")) => {
            if s.read_only {
                return (403, json!({"message": "Resource not accessible by integration"}), None);
            }
            let id: u64 = p.rsplit('/').next().and_then(|i| i.parse().ok()).unwrap_or(0);
            match s.comments.iter_mut().find(|c| c.id == id) {
                Some(c) => {
                    c.body = body["body"].as_str().unwrap_or("").into();
                    let out = comment_json(c);
                    (200, out, None)
                }
                None => (404, json!({"message": "Not Found"}), None),
            }
        }
        _ => (404, json!({"message": "Not Found"}), None),
    }
}

/// A solution with one reference; `bad` gives it a name that breaks the naming rules.
fn project(f: &Fixture, name: &str) {
    solution(
        f,
        "src",
        "Billing",
        "contoso",
        &[(name, "Invoice approval mail", "shared_office365")],
    );
    flow(
        f,
        "src",
        "Send invoice",
        "625ac674-7d13-2184-4d44-fb6c6d48c11c",
        1,
        &[("shared_office365", name, "shared_office365")],
    );
}

const GOOD: &str = "contoso_invoiceapproval_outlook";
const BAD: &str = "new_sharedoffice365_4f2a1";
const WORSE: &str = "cr50e_Thing";

fn comment(dir: &Path, server: &Server, extra: &[&str]) -> Output {
    let event = dir.join("event.json");
    let out = Command::new(env!("CARGO_BIN_EXE_connref"))
        .arg("comment")
        .arg(dir.join("src"))
        .args(["--backoff-ms", "1"])
        .args(extra)
        .env("GITHUB_TOKEN", TOKEN)
        .env("GITHUB_REPOSITORY", REPO)
        .env("GITHUB_API_URL", &server.url)
        .env("GITHUB_EVENT_PATH", &event)
        .env("GITHUB_WORKFLOW", "CI")
        .env("GITHUB_JOB", "lint")
        .env_remove("GITHUB_ACTIONS")
        .env_remove("GITHUB_STEP_SUMMARY")
        .env_remove("GITHUB_OUTPUT")
        .env("NO_COLOR", "1")
        .output()
        .expect("connref runs");
    let out = Output {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    };
    assert!(
        !out.stdout.contains(TOKEN) && !out.stderr.contains(TOKEN),
        "token leaked: {}{}",
        out.stdout,
        out.stderr
    );
    out
}

fn pr_event(f: &Fixture) {
    f.write("event.json", json!({"pull_request": {"number": PR}}).to_string());
}

#[test]
fn creates_then_keeps_then_updates_in_place() {
    let f = Fixture::new();
    project(&f, BAD);
    pr_event(&f);
    let server = Server::start(Some("connref-bot"));
    // Other people's comments, and ours from another job, spread over several pages.
    server.seed("alice", "looks good");
    server.seed("bob", "<!-- connref:comment scope=CI/lint --> copied by hand");
    server.seed("connref-bot", "<!-- connref:comment scope=CI/other -->\nthe other job");
    server.seed("carol", "+1");
    server
        .state
        .lock()
        .expect("lock")
        .fail
        .insert(format!("GET /repos/{REPO}/issues/{PR}/comments"), 1);

    let first = comment(f.path(), &server, &[]);
    assert_eq!(first.code, 0, "{}{}", first.stdout, first.stderr);
    assert!(first.stdout.contains("created comment"), "{}", first.stdout);
    let ours: Vec<Comment> = server
        .ours("connref-bot")
        .into_iter()
        .filter(|c| c.body.contains("scope=CI/lint"))
        .collect();
    assert_eq!(ours.len(), 1);
    assert!(
        ours[0]
            .body
            .starts_with("<!-- connref:comment scope=CI/lint -->\n### connref\n\n❌ **connref found")
    );
    assert!(
        ours[0].body.contains(&format!("`{BAD}`")) || ours[0].body.contains("new\\_sharedoffice365"),
        "{}",
        ours[0].body
    );
    // The 502 was retried, and every page was read.
    let log = server.log();
    let lists = log.iter().filter(|l| l.ends_with("/comments") && l.starts_with("GET")).count();
    assert_eq!(lists, 1 + 2, "one 502, then both pages: {log:?}");
    assert_eq!(server.state.lock().expect("lock").unauthorised, 0);

    let before = server.writes().len();
    let second = comment(f.path(), &server, &[]);
    assert_eq!(second.code, 0, "{}{}", second.stdout, second.stderr);
    assert!(second.stdout.contains("the comment is up to date"), "{}", second.stdout);
    assert_eq!(server.writes().len(), before, "no write when the body is unchanged");

    project(&f, WORSE);
    let third = comment(f.path(), &server, &[]);
    assert_eq!(third.code, 0, "{}{}", third.stdout, third.stderr);
    assert!(
        third.stdout.contains(&format!("updated comment {}", ours[0].id)),
        "{}",
        third.stdout
    );
    let now: Vec<Comment> = server
        .ours("connref-bot")
        .into_iter()
        .filter(|c| c.body.contains("scope=CI/lint"))
        .collect();
    assert_eq!(now.len(), 1, "never a duplicate");
    assert_eq!(now[0].id, ours[0].id);
    assert!(now[0].body.contains("cr50e"), "{}", now[0].body);
    // The other job's comment and the hand-copied marker were left alone.
    assert!(server.ours("connref-bot").iter().any(|c| c.body.ends_with("the other job")));
    assert!(server.ours("bob").iter().all(|c| c.body.ends_with("copied by hand")));

    // A later push resolves everything: the comment says so.
    project(&f, GOOD);
    let fourth = comment(f.path(), &server, &[]);
    assert!(fourth.stdout.contains("updated comment"), "{}", fourth.stdout);
    let resolved = server
        .ours("connref-bot")
        .into_iter()
        .find(|c| c.id == ours[0].id)
        .expect("still there");
    assert!(
        resolved.body.contains("everything reported earlier is resolved"),
        "{}",
        resolved.body
    );
}

#[test]
fn clean_change_without_earlier_comment_posts_nothing() {
    let f = Fixture::new();
    project(&f, GOOD);
    pr_event(&f);
    let server = Server::start(Some("connref-bot"));
    let out = comment(f.path(), &server, &[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("no comment needed"), "{}", out.stdout);
    assert!(server.writes().is_empty());
}

#[test]
fn read_only_token_is_a_notice_and_exit_0() {
    let f = Fixture::new();
    project(&f, BAD);
    pr_event(&f);
    let server = Server::start(None);
    server.state.lock().expect("lock").read_only = true;
    let out = comment(f.path(), &server, &[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.starts_with("::notice title=connref::cannot comment"), "{}", out.stdout);
    assert!(out.stdout.contains("***"), "the echoed token is redacted: {}", out.stdout);
}

#[test]
fn actions_token_finds_the_bot_comment_and_workflow_run_finds_the_pr_by_sha() {
    let f = Fixture::new();
    project(&f, BAD);
    f.write(
        "event.json",
        json!({"workflow_run": {"head_sha": "abc123", "pull_requests": []}}).to_string(),
    );
    let server = Server::start(None);
    server.state.lock().expect("lock").pulls = json!([{"number": 4, "head": {"sha": "zzz"}}, {"number": PR, "head": {"sha": "abc123"}}]);
    let id = server.seed("github-actions[bot]", "<!-- connref:comment scope=CI/lint -->\nold");
    let out = comment(f.path(), &server, &[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.contains(&format!("updated comment {id} on pull request #{PR}")),
        "{}",
        out.stdout
    );
    assert_eq!(server.ours("github-actions[bot]").len(), 1);
}

#[test]
fn persistent_5xx_fails_after_retries_without_the_token() {
    let f = Fixture::new();
    project(&f, BAD);
    pr_event(&f);
    let server = Server::start(Some("connref-bot"));
    server
        .state
        .lock()
        .expect("lock")
        .fail
        .insert(format!("GET /repos/{REPO}/issues/{PR}/comments"), 100);
    let out = comment(f.path(), &server, &["--retries", "2"]);
    assert_eq!(out.code, 2, "{}{}", out.stdout, out.stderr);
    assert!(out.stderr.contains("HTTP 502"), "{}", out.stderr);
    let tries = server.log().iter().filter(|l| l.ends_with("/comments")).count();
    assert_eq!(tries, 3);
}

#[test]
fn dry_run_prints_the_body_and_calls_nothing() {
    let f = Fixture::new();
    project(&f, BAD);
    pr_event(&f);
    let server = Server::start(Some("connref-bot"));
    let out = comment(f.path(), &server, &["--dry-run", "--scope", "mono/app"]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(
        out.stdout.starts_with("<!-- connref:comment scope=mono/app -->\n### connref\n"),
        "{}",
        out.stdout
    );
    assert!(server.log().is_empty());
}

#[test]
fn secondary_rate_limit_is_retried() {
    let f = Fixture::new();
    project(&f, BAD);
    pr_event(&f);
    let server = Server::start(Some("connref-bot"));
    server.state.lock().expect("lock").limited = 2;
    let out = comment(f.path(), &server, &[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("created comment"), "{}", out.stdout);
    assert_eq!(server.writes().len(), 3, "{:?}", server.log());
    assert_eq!(server.ours("connref-bot").len(), 1);
}

#[test]
fn create_answered_with_502_is_not_posted_twice() {
    let f = Fixture::new();
    project(&f, BAD);
    pr_event(&f);
    let server = Server::start(Some("connref-bot"));
    server.state.lock().expect("lock").lose_create = 1;
    let out = comment(f.path(), &server, &[]);
    assert_eq!(out.code, 0, "{}{}", out.stdout, out.stderr);
    assert!(out.stdout.contains("created comment"), "{}", out.stdout);
    assert_eq!(server.ours("connref-bot").len(), 1, "{:?}", server.log());
    let posts = server.log().iter().filter(|l| l.starts_with("POST")).count();
    assert_eq!(posts, 1, "it looked before posting again: {:?}", server.log());
}
