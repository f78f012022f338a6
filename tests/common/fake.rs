//! A local fake of the three APIs `verify` and `audit` call (Entra ID's token endpoint with
//! GitHub's OIDC endpoint, the Dataverse Web API, the Power Platform API), on a free port of
//! 127.0.0.1. It records every request and answers through a handler, so a test can script
//! errors, pages, drops and silence.
#![allow(dead_code)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    /// Header names in lower case.
    pub headers: HashMap<String, String>,
    pub body: String,
}

impl Request {
    pub fn path(&self) -> &str {
        self.target.split('?').next().unwrap_or(&self.target)
    }

    /// The form fields of a form-encoded body, decoded.
    pub fn form(&self) -> HashMap<String, String> {
        self.body
            .split('&')
            .filter_map(|kv| kv.split_once('='))
            .map(|(k, v)| (decode(k), decode(v)))
            .collect()
    }
}

pub fn decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("00");
                out.push(u8::from_str_radix(hex, 16).unwrap_or(b'?'));
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

pub enum Reply {
    Json(u16, String),
    /// A status with extra headers (`Retry-After`).
    WithHeaders(u16, Vec<(String, String)>, String),
    /// Headers that promise a long body, half of it, then the connection closes.
    DropMidBody(String),
    /// Accepts and never answers.
    Silence,
    /// A 200 whose JSON body is this many bytes long.
    Huge(usize),
}

pub fn json(status: u16, body: impl Into<String>) -> Reply {
    Reply::Json(status, body.into())
}

type Handler = dyn Fn(&Request, usize) -> Reply + Send + Sync;

pub struct Fake {
    pub url: String,
    pub requests: Arc<Mutex<Vec<Request>>>,
}

impl Fake {
    /// Starts the fake. The handler gets each request and how many requests with the same
    /// method and path came before it.
    pub fn start(handler: impl Fn(&Request, usize) -> Reply + Send + Sync + 'static) -> Fake {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let requests: Arc<Mutex<Vec<Request>>> = Arc::new(Mutex::new(Vec::new()));
        let handler: Arc<Handler> = Arc::new(handler);
        let log = Arc::clone(&requests);
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let handler = Arc::clone(&handler);
                let log = Arc::clone(&log);
                std::thread::spawn(move || serve(stream, &*handler, &log));
            }
        });
        Fake { url, requests }
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().expect("log").clone()
    }

    pub fn count(&self, path_part: &str) -> usize {
        self.requests().iter().filter(|r| r.target.contains(path_part)).count()
    }
}

fn serve(stream: TcpStream, handler: &Handler, log: &Mutex<Vec<Request>>) {
    let _ = stream.set_read_timeout(Some(Duration::from_secs(10)));
    let mut reader = BufReader::new(stream.try_clone().expect("clone"));
    let mut line = String::new();
    if reader.read_line(&mut line).unwrap_or(0) == 0 {
        return;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_owned();
    let target = parts.next().unwrap_or_default().to_owned();
    let mut headers = HashMap::new();
    loop {
        let mut h = String::new();
        if reader.read_line(&mut h).unwrap_or(0) == 0 || h.trim().is_empty() {
            break;
        }
        if let Some((k, v)) = h.split_once(':') {
            headers.insert(k.trim().to_ascii_lowercase(), v.trim().to_owned());
        }
    }
    let len: usize = headers.get("content-length").and_then(|v| v.parse().ok()).unwrap_or(0);
    let mut body = vec![0; len];
    let _ = reader.read_exact(&mut body);
    let req = Request {
        method,
        target,
        headers,
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let nth = {
        let mut log = log.lock().expect("log");
        let n = log.iter().filter(|r| r.method == req.method && r.path() == req.path()).count();
        log.push(req.clone());
        n
    };
    let mut stream = stream;
    match handler(&req, nth) {
        Reply::Json(status, body) => write(&mut stream, status, &[], &body),
        Reply::WithHeaders(status, extra, body) => write(&mut stream, status, &extra, &body),
        Reply::DropMidBody(body) => {
            let head = format!(
                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
                body.len() * 2
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(body.as_bytes());
            let _ = stream.flush();
        }
        Reply::Silence => std::thread::sleep(Duration::from_secs(30)),
        Reply::Huge(size) => {
            let head = format!("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {size}\r\nConnection: close\r\n\r\n");
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(b"{\"value\":[\"");
            let chunk = vec![b'x'; 64 * 1024];
            let mut sent = 11;
            // The client hangs up once it has seen enough; stop writing then.
            while sent + chunk.len() < size {
                if stream.write_all(&chunk).is_err() {
                    return;
                }
                sent += chunk.len();
            }
            let _ = stream.write_all(&vec![b'x'; size - sent - 3]);
            let _ = stream.write_all(b"\"]}");
        }
    }
}

fn write(stream: &mut TcpStream, status: u16, extra: &[(String, String)], body: &str) {
    let mut head = format!(
        "HTTP/1.1 {status} X\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    for (k, v) in extra {
        head.push_str(&format!("{k}: {v}\r\n"));
    }
    head.push_str("\r\n");
    let _ = stream.write_all(head.as_bytes());
    let _ = stream.write_all(body.as_bytes());
    let _ = stream.flush();
}
