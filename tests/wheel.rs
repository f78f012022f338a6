//! The Python wheel (`pyproject.toml`, maturin with `bindings = "bin"`): built here with maturin,
//! installed with pip into a fresh virtual environment, and run from there as `pip install
//! connref` users run it.
//!
//! maturin comes from PyPI (`python3 -m pip install maturin`, done by `.ci/run`). Without it, or
//! without Python's venv module, the test is skipped with the reason, and fails when CI is set.
//! The build has its own target folder below target/tmp, kept between runs, so a warm run only
//! packs the wheel again.

mod common;
use common::*;

use std::path::PathBuf;
use std::process::Command;

fn missing(what: &str) {
    assert!(std::env::var_os("CI").is_none(), "{what} (CI must have it: see .ci/run)");
    println!("skipped: {what}");
}

fn works(cmd: &mut Command) -> bool {
    cmd.output().is_ok_and(|o| o.status.success())
}

#[test]
fn wheel_installs_into_a_fresh_virtualenv_and_runs() {
    if !works(Command::new("maturin").arg("--version")) {
        return missing("maturin is not installed: python3 -m pip install maturin");
    }
    if !works(Command::new("python3").args(["-c", "import venv"])) {
        return missing("python3 with the venv module is not installed");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let wheels = dir.path().join("wheels");
    let target_dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("wheel-target");
    let build = Command::new("maturin")
        .args(["build", "--release", "--locked", "--quiet", "--out"])
        .arg(&wheels)
        .arg("--manifest-path")
        .arg(manifest_dir().join("Cargo.toml"))
        .env("CARGO_TARGET_DIR", &target_dir)
        .output()
        .expect("maturin runs");
    assert!(
        build.status.success(),
        "maturin build failed:\n{}{}",
        String::from_utf8_lossy(&build.stdout),
        String::from_utf8_lossy(&build.stderr)
    );
    let wheel: Vec<PathBuf> = std::fs::read_dir(&wheels)
        .expect("wheel folder")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "whl"))
        .collect();
    assert_eq!(wheel.len(), 1, "one wheel expected: {wheel:?}");
    let name = wheel[0].file_name().expect("name").to_string_lossy().into_owned();
    // A binary wheel: any Python 3, one platform.
    assert!(
        name.starts_with(&format!("connref-{}-py3-none-", env!("CARGO_PKG_VERSION"))),
        "{name}"
    );

    // A venv without its own pip (ensurepip takes seconds), filled by this Python's pip.
    let venv = dir.path().join("venv");
    assert!(
        works(Command::new("python3").args(["-m", "venv", "--without-pip"]).arg(&venv)),
        "python3 -m venv failed"
    );
    let bin = venv.join(if cfg!(windows) { "Scripts" } else { "bin" });
    if !works(
        Command::new("python3")
            .args(["-m", "pip", "--python"])
            .arg(bin.join("python"))
            .arg("--version"),
    ) {
        return missing("python3 -m pip 22.3 or later (for --python) is not installed");
    }
    let pip = Command::new("python3")
        .args(["-m", "pip", "--python"])
        .arg(bin.join("python"))
        .args(["install", "--quiet", "--no-index", "--disable-pip-version-check"])
        .arg(&wheel[0])
        .output()
        .expect("pip runs");
    assert!(pip.status.success(), "pip install failed: {}", String::from_utf8_lossy(&pip.stderr));
    assert!(bin.join("connref").is_file(), "the wheel must put connref in the venv's bin folder");

    let version = Command::new(bin.join("connref"))
        .arg("--version")
        .output()
        .expect("connref from the venv");
    assert_eq!(
        String::from_utf8_lossy(&version.stdout).trim(),
        format!("connref {}", env!("CARGO_PKG_VERSION"))
    );
    // The installed binary is the real tool: the example repository has findings (exit 1).
    let check = Command::new(bin.join("connref"))
        .args(["check", "--format", "json"])
        .arg(manifest_dir().join("examples/contoso"))
        .output()
        .expect("connref check");
    assert_eq!(check.status.code(), Some(1), "{}", String::from_utf8_lossy(&check.stderr));
    assert!(String::from_utf8_lossy(&check.stdout).contains("\"CR502\""));
}

#[test]
fn pyproject_ships_the_binary_with_maturin() {
    let text = std::fs::read_to_string(manifest_dir().join("pyproject.toml")).expect("pyproject.toml");
    for needle in [
        "build-backend = \"maturin\"",
        "bindings = \"bin\"",
        "name = \"connref\"",
        "dynamic = [\"version\"]",
    ] {
        assert!(text.contains(needle), "{needle} missing from pyproject.toml");
    }
}
