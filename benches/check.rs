//! `connref check` on 2,000 flows / 400 references against `grep -r` on the same tree.
//! Prints the ratio; issue 2 wants it below 2.

mod common;
use common::*;

use std::process::Command;

fn main() {
    let repo = generate(2000, 400);
    let dir = repo.path().to_path_buf();
    let (check, grep) = time_pair(
        11,
        || {
            let mut c = Command::new(connref());
            c.args(["check", "--format", "json"]).current_dir(&dir);
            c
        },
        || {
            let mut c = Command::new("grep");
            c.args(["-r", "connectionReferenceLogicalName", "."]).current_dir(&dir);
            c
        },
    );
    println!(
        "check on {} flows / {} references: {} ; grep -r: {} ; ratio {:.2} (target < 2)",
        repo.flows,
        repo.references,
        ms(check),
        ms(grep),
        check.as_secs_f64() / grep.as_secs_f64()
    );
}
