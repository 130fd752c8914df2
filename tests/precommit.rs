//! The pre-commit hook of .pre-commit-hooks.yaml, run by the real pre-commit (`pre-commit
//! try-repo`, tests/requirements.txt) on a git copy of the sample: it fails while the quick wins are
//! pending and passes once `scalepatch apply --yes` took them. No network: the hook is
//! `language: system` and runs the `scalepatch` this test puts on PATH.

mod common;

use std::path::Path;
use std::process::{Command, Output};

fn git(dir: &Path, args: &[&str]) {
    let status = Command::new("git")
        .args(["-c", "user.name=test", "-c", "user.email=test@example.invalid", "-c", "commit.gpgsign=false"])
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap();
    assert!(status.status.success(), "git {args:?}: {}", String::from_utf8_lossy(&status.stderr));
}

/// A git repository holding only the hook definition, as a user's `repo:` would.
fn hook_repo(dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    std::fs::copy(common::repo_root().join(".pre-commit-hooks.yaml"), dir.join(".pre-commit-hooks.yaml")).unwrap();
    git(dir, &["init", "-q"]);
    git(dir, &["add", "."]);
    git(dir, &["commit", "-q", "-m", "hooks"]);
}

fn try_repo(project: &Path, hooks: &Path, home: &Path) -> Output {
    let bin = Path::new(env!("CARGO_BIN_EXE_scalepatch")).parent().unwrap().to_path_buf();
    let path =
        std::env::join_paths(std::iter::once(bin).chain(std::env::split_paths(&std::env::var_os("PATH").unwrap())))
            .unwrap();
    Command::new(common::tools::venv_bin().join("pre-commit"))
        .args(["try-repo"])
        .arg(hooks)
        .args(["scalepatch", "--all-files", "--color", "never"])
        .current_dir(project)
        .env("PATH", path)
        .env("PRE_COMMIT_HOME", home)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

#[test]
fn the_hook_fails_while_quick_wins_are_pending_and_passes_after_apply() {
    let tmp = tempfile::tempdir().unwrap();
    let (project, hooks, home) = (tmp.path().join("wingman"), tmp.path().join("hooks"), tmp.path().join("home"));
    common::copy_tree(&common::repo_root().join("fixtures/projects/wingman"), &project);
    git(&project, &["init", "-q"]);
    git(&project, &["add", "."]);
    git(&project, &["commit", "-q", "-m", "sample"]);
    hook_repo(&hooks);

    let pending = try_repo(&project, &hooks, &home);
    let text = String::from_utf8_lossy(&pending.stdout).into_owned();
    assert_eq!(pending.status.code(), Some(1), "{text}{}", String::from_utf8_lossy(&pending.stderr));
    assert!(text.contains("Failed") && text.contains("exit code: 1"), "{text}");
    assert!(text.contains("summary: 7 changes in 4 files"), "{text}");

    let applied =
        Command::new(env!("CARGO_BIN_EXE_scalepatch")).args(["apply", "--yes"]).current_dir(&project).output().unwrap();
    assert!(applied.status.success(), "{}", String::from_utf8_lossy(&applied.stderr));
    let clean = try_repo(&project, &hooks, &home);
    let text = String::from_utf8_lossy(&clean.stdout).into_owned();
    assert_eq!(clean.status.code(), Some(0), "{text}{}", String::from_utf8_lossy(&clean.stderr));
    assert!(text.contains("Passed"), "{text}");
}
