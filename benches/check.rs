//! `connref check` against `grep -r -c connectionReferenceLogicalName --exclude-dir=.git` on the
//! same tree: 2,000 flows (four solutions of 500) and 200 flows (one solution, the pre-commit
//! case where process start and discovery weigh most). Flows have the sizes of the real exports
//! in shared/corpus. Prints medians of interleaved runs, the ratios and connref's peak RSS, and
//! `check --staged` (the pre-commit hook's command) against `check` on the same trees.

mod common;
use common::*;

use std::process::Command;

fn main() {
    serve_measurement();
    // For profiling: `KEEP=1 cargo bench --bench check` leaves the 2,000-flow repository
    // (`KEEP=200` the 200-flow one).
    if let Some(keep) = std::env::var_os("KEEP") {
        let flows = if keep == "200" { 200 } else { 2000 };
        let repo = generate(flows, flows / 5);
        println!("check repo: {}", repo.dir.keep().display());
        return;
    }
    for (flows, refs, runs, targets) in [(2000, 400, 21, "ratio ≤ 1.5, RSS ≤ 48 MiB"), (200, 40, 41, "ratio ≤ 1.2")] {
        let repo = generate(flows, refs);
        let dir = repo.path().to_path_buf();
        let (check, grep) = time_pair(
            runs,
            || {
                let mut c = Command::new(connref());
                c.args(["check", "--format", "json"]).current_dir(&dir);
                c
            },
            || {
                let mut c = Command::new("grep");
                c.args(["-r", "-c", "connectionReferenceLogicalName", "--exclude-dir=.git", "."])
                    .current_dir(&dir);
                c
            },
        );
        println!(
            "check, {flows} flows ({:.1} MB without .git): {} (peak RSS {}) ; grep -r -c: {} ; ratio {:.2} ({targets}) ; load {}",
            repo.tree_bytes() as f64 / 1e6,
            ms(check.wall),
            mib(check.max_rss_kib),
            ms(grep.wall),
            check.wall.as_secs_f64() / grep.wall.as_secs_f64(),
            load()
        );
        // The pre-commit hook runs `check --staged`: the index, against HEAD. No target; shown
        // so that the hook's own command is measured too.
        let (staged, plain) = time_pair(
            runs,
            || {
                let mut c = Command::new(connref());
                c.args(["check", "--staged", "--format", "json"]).current_dir(&dir);
                c
            },
            || {
                let mut c = Command::new(connref());
                c.args(["check", "--format", "json"]).current_dir(&dir);
                c
            },
        );
        println!(
            "check --staged, {flows} flows: {} (peak RSS {}) ; check: {} ; ratio {:.2} ; load {}",
            ms(staged.wall),
            mib(staged.max_rss_kib),
            ms(plain.wall),
            staged.wall.as_secs_f64() / plain.wall.as_secs_f64(),
            load()
        );
    }
}
