//! `check --base HEAD~1` against `check` with one flow changed (target: ratio ≤ 1.2), and
//! `history` over 1,000 commits against `git log -p` over the same range (target: ratio ≤ 0.5),
//! on the 2,000-flow repository of `benches/check.rs`, with connref's peak RSS.

mod common;
use common::*;

use std::process::Command;

fn main() {
    serve_measurement();
    // For profiling: `KEEP=1 cargo bench --bench stability` leaves the generated repositories.
    if std::env::var_os("KEEP").is_some() {
        let a = generate(2000, 400);
        std::fs::write(a.path().join(flow_path(17)), flow_json(17, refs_per_solution(2000, 400), 1)).expect("write");
        git(a.path(), &["commit", "-qam", "one flow changed"]);
        let b = generate_history(2000, 400, 1000);
        println!("check repo: {}\nhistory repo: {}", a.dir.keep().display(), b.dir.keep().display());
        return;
    }
    let repo = generate(2000, 400);
    let dir = repo.path().to_path_buf();
    std::fs::write(dir.join(flow_path(17)), flow_json(17, refs_per_solution(2000, 400), 1)).expect("write");
    git(&dir, &["commit", "-qam", "one flow changed"]);
    settle();
    let run = |args: &'static [&'static str]| {
        let dir = dir.clone();
        move || {
            let mut c = Command::new(connref());
            c.args(args).current_dir(&dir);
            c
        }
    };
    let (plain, based) = time_pair(
        11,
        run(&["check", "--format", "json"]),
        run(&["check", "--format", "json", "--base", "HEAD~1"]),
    );
    println!(
        "check, 2000 flows: {} (peak RSS {}) ; check --base HEAD~1: {} (peak RSS {}) ; ratio {:.2} (target ≤ 1.2) ; load {}",
        ms(plain.wall),
        mib(plain.max_rss_kib),
        ms(based.wall),
        mib(based.max_rss_kib),
        based.wall.as_secs_f64() / plain.wall.as_secs_f64(),
        load()
    );

    let hist = generate_history(2000, 400, 1000);
    let hdir = hist.path().to_path_buf();
    let (history, log) = time_pair(
        5,
        || {
            let mut c = Command::new(connref());
            c.args(["history", "--format", "json"]).current_dir(&hdir);
            c
        },
        || {
            let mut c = Command::new("git");
            c.args(["log", "-p", "--first-parent", "HEAD"]).current_dir(&hdir);
            c
        },
    );
    println!(
        "history over 1000 commits (2000 flows): {} (peak RSS {}) ; git log -p: {} ; ratio {:.2} (target ≤ 0.5) ; load {}",
        ms(history.wall),
        mib(history.max_rss_kib),
        ms(log.wall),
        history.wall.as_secs_f64() / log.wall.as_secs_f64(),
        load()
    );
}
