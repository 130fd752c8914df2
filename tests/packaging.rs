//! The Python wheel: `maturin build` (from tests/requirements.txt) makes it from pyproject.toml,
//! it installs into a fresh virtualenv without the network, and the `scalepatch` it puts on PATH
//! runs. A build of its own (its own target folder, so that it never waits for the lock of the
//! `cargo test` running it), with the dev profile: what is tested is the packaging, and an
//! unoptimised build of the dependencies takes a fraction of a release build's minutes on CI's two
//! cores. Still minutes when cold, so it is ignored by a plain `cargo test` and run by scripts/test
//! (`cargo test --test packaging -- --ignored`).

mod common;

use std::path::PathBuf;
use std::process::Command;

fn run(command: &mut Command, what: &str) -> String {
    let output = command.output().unwrap_or_else(|err| panic!("{what}: {err}"));
    let text = format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr));
    assert!(output.status.success(), "{what} failed:\n{text}");
    text
}

/// Where the wheel's build goes: beside the tests' own target folder, kept between runs.
fn wheel_target() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| common::repo_root().join("target"), PathBuf::from);
    target.join("wheel")
}

#[test]
#[ignore = "a build of the wheel (minutes): scripts/test runs it with --ignored"]
fn the_wheel_installs_into_a_fresh_venv_and_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let wheels = tmp.path().join("wheels");
    let maturin = common::tools::venv_bin().join("maturin");
    run(
        Command::new(&maturin)
            .args(["build", "--profile", "dev", "--out"])
            .arg(&wheels)
            .current_dir(common::repo_root())
            .env("CARGO_TARGET_DIR", wheel_target()),
        "maturin build",
    );
    let wheel: Vec<PathBuf> = std::fs::read_dir(&wheels).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(wheel.len(), 1, "one wheel: {wheel:?}");
    let name = wheel[0].file_name().unwrap().to_string_lossy().into_owned();
    assert!(name.starts_with(&format!("scalepatch-{}-py3-none-", env!("CARGO_PKG_VERSION"))), "{name}");

    // A fresh virtualenv with its own pip (ensurepip, offline), installing the wheel offline.
    let venv = tmp.path().join("venv");
    run(Command::new(common::tools::python()).args(["-m", "venv"]).arg(&venv), "python -m venv");
    run(
        Command::new(venv.join("bin/pip"))
            .args(["install", "--no-index", "--no-deps", "--quiet", "--disable-pip-version-check"])
            .arg(&wheel[0]),
        "pip install the wheel",
    );
    let installed = venv.join("bin/scalepatch");
    let version = run(Command::new(&installed).arg("--version"), "scalepatch --version");
    assert_eq!(version.trim(), format!("scalepatch {}", env!("CARGO_PKG_VERSION")));
    let sample = tmp.path().join("wingman");
    common::copy_tree(&common::repo_root().join("fixtures/projects/wingman"), &sample);
    let status = Command::new(&installed).args(["diff", "--check", "--quiet"]).current_dir(&sample).output().unwrap();
    assert_eq!(status.status.code(), Some(1), "the installed command plans the sample: changes pending");
}
