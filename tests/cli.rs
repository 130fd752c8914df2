//! The command line as a user runs it: exit codes, what goes to stdout and stderr, and what is
//! (not) written.
//!
//! Tests named `real_patches_*` run on a copy of tests/fixtures-engine/small, a Dockerfile and an
//! nginx.conf that the real `gunicorn-workers` and `nginx-gzip` patches each change once. They
//! pass once those patches exist (their own issues); the others depend on no patch.

mod common;

use std::path::Path;
use std::process::Stdio;

use assert_cmd::Command;
use predicates::prelude::*;

const TWO_PATCHES: &str = "gunicorn-workers,nginx-gzip";

fn scalepatch() -> Command {
    let mut command = Command::cargo_bin("scalepatch").unwrap();
    command.env_remove("SCALEPATCH_FAIL_AFTER_WRITES").env_remove("SCALEPATCH_CRASH_AFTER_WRITES").env("NO_COLOR", "1");
    command
}

/// A scratch copy of the small deployment.
fn small_project() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    common::copy_tree(&common::repo_root().join("tests/fixtures-engine/small"), tmp.path());
    tmp
}

fn stdout_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stdout).into_owned()
}

fn stderr_of(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn apply_without_a_terminal_and_without_yes_exits_2_and_writes_nothing() {
    let project = small_project();
    let before = common::tree_files(project.path());
    scalepatch()
        .arg("apply")
        .arg(project.path())
        .write_stdin("y\n")
        .assert()
        .code(2)
        .stderr(predicate::str::contains("--yes"));
    assert_eq!(common::tree_files(project.path()), before);
    assert!(!project.path().join(".scalepatch").exists(), "no journal created");
}

#[test]
fn an_unknown_patch_id_exits_2_and_lists_the_valid_ids() {
    let project = small_project();
    for command in
        [&["diff", "--only", "gunicorn-wrokers"][..], &["apply", "--yes", "--skip", "nope"], &["diff", "--with", "x"]]
    {
        let output = scalepatch().args(command).arg(project.path()).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{command:?}");
        let stderr = stderr_of(&output);
        assert!(stderr.contains("invalid value"), "{stderr}");
        for id in scalepatch::patches::ids() {
            assert!(stderr.contains(id), "{command:?}: {id} missing from {stderr}");
        }
        assert!(output.stdout.is_empty());
    }
    assert!(!project.path().join(".scalepatch").exists());
}

#[test]
fn a_mistyped_patch_id_gets_did_you_mean_and_help_lists_every_id() {
    let output = scalepatch().args(["diff", "--only", "gunicorn-wrokers"]).output().unwrap();
    assert!(stderr_of(&output).contains("a similar value exists: 'gunicorn-workers'"), "{}", stderr_of(&output));
    let help = scalepatch().arg("--help").output().unwrap();
    assert_eq!(help.status.code(), Some(0));
    for patch in scalepatch::patches::ALL {
        assert!(stdout_of(&help).contains(patch.id()), "{} missing from --help", patch.id());
    }
}

#[test]
fn completions_and_the_man_page() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let output = scalepatch().args(["completions", shell]).output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{shell}");
        assert!(stdout_of(&output).contains("scalepatch"), "{shell}");
    }
    let bash = stdout_of(&scalepatch().args(["completions", "bash"]).output().unwrap());
    assert!(bash.contains("gunicorn-workers"), "patch ids complete");
    let syntax = std::process::Command::new("bash").args(["-n", "-c", &bash]).status().unwrap();
    assert!(syntax.success(), "bash reads the completion script");
    let man = stdout_of(&scalepatch().arg("man").output().unwrap());
    assert!(man.starts_with(".ie") || man.contains(".TH scalepatch"), "{man}");
    assert!(man.replace("\\-", "-").contains("gunicorn-workers"), "the man page lists the patches");
}

#[test]
fn color_follows_the_flag_then_force_color_then_no_color() {
    let project = small_project();
    let colored = |args: &[&str], env: &[(&str, &str)]| {
        let mut command = Command::cargo_bin("scalepatch").unwrap();
        command.env_remove("NO_COLOR").env_remove("FORCE_COLOR").env_remove("CLICOLOR_FORCE");
        command.envs(env.iter().copied()).args(args).arg("diff").arg(project.path());
        stdout_of(&command.output().unwrap()).contains('\x1b')
    };
    assert!(!colored(&[], &[]), "a pipe gets no colour");
    assert!(colored(&[], &[("FORCE_COLOR", "1")]));
    assert!(colored(&["--color", "always"], &[("NO_COLOR", "1")]), "the flag wins");
    assert!(!colored(&["--color", "never"], &[("FORCE_COLOR", "1")]));
    assert!(!colored(&[], &[("FORCE_COLOR", "1"), ("NO_COLOR", "1")]), "NO_COLOR wins over FORCE_COLOR");
}

#[test]
fn without_path_the_project_root_is_found_from_a_subfolder() {
    let project = tempfile::tempdir().unwrap();
    common::copy_tree(&common::repo_root().join("fixtures/projects/wingman"), project.path());
    let root = project.path();
    let plan_from = |dir: &Path| {
        let output = scalepatch().args(["diff", "--format", "json"]).current_dir(dir).output().unwrap();
        assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
        let mut document: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        document.as_object_mut().unwrap().remove("root");
        document
    };
    let from_root = plan_from(root);
    assert!(from_root["summary"]["changes"].as_u64().unwrap() > 0);
    assert_eq!(plan_from(&root.join("chat/migrations")), from_root, "the plan from a subfolder is the root's");
    assert_eq!(plan_from(&root.join("nginx/conf.d")), from_root);
    // The config found at the root is read from a subfolder too.
    std::fs::write(root.join("scalepatch.toml"), "cpus = 4\n").unwrap();
    let output =
        scalepatch().args(["diff", "--only", "gunicorn-workers"]).current_dir(root.join("chat")).output().unwrap();
    assert!(stderr_of(&output).contains("workers 3 -> 9"), "{}", stderr_of(&output));
}

#[test]
fn a_folder_with_no_django_project_says_so_and_exits_2() {
    let empty = tempfile::tempdir().unwrap();
    std::fs::write(empty.path().join("README.md"), "notes\n").unwrap();
    for command in [&["diff"][..], &["list"], &["apply", "--yes"]] {
        let output = scalepatch().args(command).current_dir(empty.path()).output().unwrap();
        assert_eq!(output.status.code(), Some(2), "{command:?}");
        assert!(stderr_of(&output).contains("no Django project"), "{}", stderr_of(&output));
    }
    assert!(!empty.path().join(".scalepatch").exists());
}

#[test]
fn apply_shows_the_dockerignore_line_when_the_image_would_copy_the_journal() {
    let project = tempfile::tempdir().unwrap();
    common::copy_tree(&common::repo_root().join("fixtures/projects/wingman"), project.path());
    let root = project.path();
    let output = scalepatch().args(["apply", "--yes", "--only", "nginx-gzip"]).arg(root).output().unwrap();
    let stdout = stdout_of(&output);
    // The sample's Dockerfile sits at the root and runs `COPY . .`; it has no .dockerignore.
    assert!(stdout.contains("add this line to .dockerignore:\n  .scalepatch/\n"), "{stdout}");
    std::fs::write(root.join(".dockerignore"), ".git\n.scalepatch\n").unwrap();
    let output = scalepatch().args(["apply", "--yes", "--only", "gunicorn-workers"]).arg(root).output().unwrap();
    assert!(stdout_of(&output).contains("applied run"), "{}", stderr_of(&output));
    assert!(!stdout_of(&output).contains(".dockerignore"), "{}", stdout_of(&output));
}

#[test]
fn status_and_revert_without_any_run() {
    let project = small_project();
    scalepatch()
        .arg("status")
        .arg(project.path())
        .assert()
        .code(0)
        .stdout(predicate::str::contains("no scalepatch runs"));
    scalepatch()
        .arg("revert")
        .arg(project.path())
        .assert()
        .code(2)
        .stderr(predicate::str::contains("nothing to revert"));
    assert!(!project.path().join(".scalepatch").exists(), "read-only commands create no journal");
}

#[test]
fn a_lock_held_by_a_live_run_stops_writers_only_and_a_stale_pid_blocks_nothing() {
    let project = small_project();
    std::fs::create_dir_all(project.path().join(".scalepatch/runs")).unwrap();
    let lock_path = project.path().join(".scalepatch/lock");
    std::fs::write(&lock_path, format!("{}\n", std::process::id())).unwrap();
    // Another run holds the OS lock (this test process, as a live scalepatch would).
    let held = std::fs::OpenOptions::new().read(true).write(true).open(&lock_path).unwrap();
    held.lock().unwrap();
    for command in ["revert", "recover"] {
        scalepatch().arg(command).arg(project.path()).assert().code(2).stderr(
            predicate::str::contains("another scalepatch run")
                .and(predicate::str::contains(format!("pid {}", std::process::id()))),
        );
    }
    // Read-only commands do not need the lock.
    scalepatch().arg("status").arg(project.path()).assert().code(0);
    scalepatch().arg("diff").arg(project.path()).assert().code(0);
    drop(held);
    // A lock file naming a live process (this one) or a dead one, but locked by nobody, blocks nothing.
    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    for pid in [std::process::id(), dead, 1] {
        std::fs::write(&lock_path, format!("{pid}\n")).unwrap();
        scalepatch().arg("recover").arg(project.path()).assert().code(0);
    }
}

/// Runs scalepatch with its stdout a pipe whose reading end is closed at once, as `| head -0`
/// does: writing hits a broken pipe, which must end the program quietly with exit 0.
fn assert_broken_pipe_is_quiet(args: &[&str], root: &Path) {
    let mut child = std::process::Command::new(assert_cmd::cargo::cargo_bin("scalepatch"))
        .args(args)
        .arg(root)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    drop(child.stdout.take());
    let output = child.wait_with_output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{args:?}: {}", stderr_of(&output));
    assert!(!stderr_of(&output).contains("panicked"), "{}", stderr_of(&output));
}

#[test]
fn a_broken_pipe_on_list_and_json_diff_exits_0() {
    let project = small_project();
    assert_broken_pipe_is_quiet(&["list"], project.path());
    assert_broken_pipe_is_quiet(&["diff", "--format", "json"], project.path());
}

#[test]
fn real_patches_a_broken_pipe_on_diff_exits_0() {
    let project = small_project();
    assert_broken_pipe_is_quiet(&["diff", "--only", TWO_PATCHES], project.path());
    // And `diff | head -1` through a real shell, pipefail on.
    let output = std::process::Command::new("bash")
        .arg("-c")
        .arg(format!(
            "set -o pipefail; '{}' diff --only {TWO_PATCHES} '{}' | head -1",
            assert_cmd::cargo::cargo_bin("scalepatch").display(),
            project.path().display()
        ))
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", stderr_of(&output));
    assert_eq!(stdout_of(&output).lines().count(), 1);
}

#[test]
fn real_patches_diff_apply_status_revert_round_trip() {
    let project = small_project();
    let root = project.path();
    let before = common::tree_files(root);

    // The dry run: a diff git accepts, notes on stderr, --check exits 1, nothing written.
    let output = scalepatch().args(["diff", "--only", TWO_PATCHES]).arg(root).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let diff = stdout_of(&output);
    assert!(
        diff.contains("diff --git a/Dockerfile b/Dockerfile") && diff.contains("diff --git a/nginx.conf b/nginx.conf"),
        "{diff}"
    );
    assert!(!diff.contains('\x1b'), "no colour in a pipe");
    assert!(stderr_of(&output).contains("gunicorn-workers [change]"), "{}", stderr_of(&output));
    let mut git = std::process::Command::new("git")
        .args(["apply", "--check", "-"])
        .current_dir(root)
        .stdin(Stdio::piped())
        .spawn()
        .unwrap();
    std::io::Write::write_all(&mut git.stdin.take().unwrap(), diff.as_bytes()).unwrap();
    assert!(git.wait().unwrap().success(), "git apply --check refuses:\n{diff}");
    scalepatch().args(["diff", "--check", "--only", TWO_PATCHES]).arg(root).assert().code(1);
    assert_eq!(common::tree_files(root), before);

    // apply --yes: the run id, the files changed, the verify command of each patch.
    let output = scalepatch().args(["apply", "--yes", "--only", TWO_PATCHES]).arg(root).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    let stdout = stdout_of(&output);
    let run_id = stdout
        .lines()
        .find_map(|line| line.strip_prefix("applied run "))
        .and_then(|rest| rest.split_whitespace().next())
        .unwrap_or_else(|| panic!("no run id in {stdout}"))
        .to_owned();
    assert!(stdout.contains("modified Dockerfile") && stdout.contains("modified nginx.conf"), "{stdout}");
    // Each applied patch names the command that confirms it, for this project's own files.
    // gunicorn's check is scalepatch's own --verify (its --print-config with the start's
    // arguments and environment), the description of what it runs after `#`.
    assert!(stdout.contains("--verify --quiet  # gunicorn-workers: gunicorn --print-config app.wsgi"), "{stdout}");
    assert!(stdout.contains("  nginx -t  # nginx-gzip"), "{stdout}");
    assert_ne!(common::tree_files(root), before);
    scalepatch().args(["diff", "--check", "--only", TWO_PATCHES]).arg(root).assert().code(0);

    // status: the run, and each file as applied; then edited since.
    let nginx = std::fs::read_to_string(root.join("nginx.conf")).unwrap();
    std::fs::write(root.join("nginx.conf"), nginx.replace("events {}", "events {}\n# edited by hand")).unwrap();
    let output = scalepatch().arg("status").arg(root).output().unwrap();
    let stdout = stdout_of(&output);
    assert!(stdout.contains(&run_id) && stdout.contains("applied"), "{stdout}");
    assert!(stdout.lines().any(|l| l.contains("as applied") && l.ends_with("Dockerfile")), "{stdout}");
    assert!(stdout.lines().any(|l| l.contains("edited since") && l.ends_with("nginx.conf")), "{stdout}");

    // revert keeps the hand edit and restores the rest byte for byte.
    scalepatch().args(["revert"]).arg(root).arg(&run_id).assert().code(0).stdout(predicate::str::contains("merged"));
    std::fs::write(
        root.join("nginx.conf"),
        std::fs::read_to_string(root.join("nginx.conf")).unwrap().replace("\n# edited by hand", ""),
    )
    .unwrap();
    assert_eq!(common::tree_files(root), before);
    scalepatch().arg("status").arg(root).assert().code(0).stdout(predicate::str::contains("reverted"));
    scalepatch().arg("revert").arg(root).assert().code(2).stderr(predicate::str::contains("no applied run"));
}

#[cfg(feature = "fault-injection")]
#[test]
fn real_patches_a_failure_after_the_first_file_rolls_everything_back() {
    let project = small_project();
    let root = project.path();
    let before = common::tree_files(root);
    let output = scalepatch()
        .args(["apply", "--yes", "--only", TWO_PATCHES])
        .arg(root)
        .env("SCALEPATCH_FAIL_AFTER_WRITES", "1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(3), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains("rolled back"), "{}", stderr_of(&output));
    assert_eq!(common::tree_files(root), before);
    scalepatch().arg("status").arg(root).assert().code(0).stdout(predicate::str::contains("rolled back"));
}

#[cfg(feature = "fault-injection")]
#[test]
fn real_patches_a_crashed_apply_is_rolled_back_by_the_next_command() {
    let project = small_project();
    let root = project.path();
    let before = common::tree_files(root);
    let output = scalepatch()
        .args(["apply", "--yes", "--only", TWO_PATCHES])
        .arg(root)
        .env("SCALEPATCH_CRASH_AFTER_WRITES", "1")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), None, "killed by SIGKILL mid-way");
    assert_ne!(common::tree_files(root), before, "the first file was written before the crash");
    // status reports the interrupted run and how to finish it, and writes nothing.
    let crashed = common::tree_files(root);
    let output = scalepatch().arg("status").arg(root).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert!(
        stderr_of(&output).contains("interrupted") && stderr_of(&output).contains("scalepatch recover"),
        "{}",
        stderr_of(&output)
    );
    assert_eq!(common::tree_files(root), crashed);
    let output = scalepatch().arg("recover").arg(root).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains("rolled back"), "{}", stderr_of(&output));
    assert_eq!(common::tree_files(root), before);
}

#[test]
fn real_patches_an_input_error_makes_apply_write_nothing() {
    let project = small_project();
    let root = project.path();
    std::fs::write(root.join("nginx.conf"), "events {}\nhttp {\n    server {\n        listen 80;\n").unwrap();
    let before = common::tree_files(root);
    let output = scalepatch().args(["apply", "--yes", "--only", TWO_PATCHES]).arg(root).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains("nginx.conf"), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains("--skip"), "{}", stderr_of(&output));
    assert_eq!(common::tree_files(root), before, "nothing written, not even the Dockerfile");
    // diff still prints the other change, and exits 2.
    let output = scalepatch().args(["diff", "--only", TWO_PATCHES]).arg(root).output().unwrap();
    assert_eq!(output.status.code(), Some(2));
    assert!(stdout_of(&output).contains("a/Dockerfile"));
    // Leaving the broken patch out applies the rest.
    scalepatch().args(["apply", "--yes", "--only", TWO_PATCHES, "--skip", "nginx-gzip"]).arg(root).assert().code(0);
    assert_ne!(
        std::fs::read(root.join("Dockerfile")).unwrap(),
        std::fs::read(common::repo_root().join("tests/fixtures-engine/small/Dockerfile")).unwrap()
    );
}

/// A 1 GiB file (sparse: nothing on disk) among the deployment files is named with its size, the
/// run exits 2 and nothing is written. Correctness only; `bench/large_file.sh` measures memory.
#[test]
fn a_file_over_the_size_limit_is_named_and_nothing_is_written() {
    let project = small_project();
    let root = project.path();
    std::fs::File::create(root.join("Dockerfile")).unwrap().set_len(1 << 30).unwrap();
    let nginx = std::fs::read(root.join("nginx.conf")).unwrap();
    for command in [&["diff", "--only", TWO_PATCHES][..], &["apply", "--yes", "--only", TWO_PATCHES]] {
        let output = scalepatch().args(command).arg(root).output().unwrap();
        let stderr = stderr_of(&output);
        assert_eq!(output.status.code(), Some(2), "{command:?}: {stderr}");
        assert!(stderr.contains("Dockerfile: too large (1073741824 bytes"), "{command:?}: {stderr}");
    }
    assert_eq!(std::fs::read(root.join("nginx.conf")).unwrap(), nginx, "nginx.conf not written");
    assert_eq!(std::fs::metadata(root.join("Dockerfile")).unwrap().len(), 1 << 30);
    assert!(!root.join(".scalepatch").exists(), "no journal created");
}

/// A settings file CPython refuses (here a leading-zero integer, which tree-sitter accepts) is an
/// input error naming the file and CPython's line: `diff` exits 2, `apply --yes` writes nothing.
#[test]
fn a_settings_file_cpython_refuses_is_an_input_error_and_nothing_is_written() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    std::fs::write(
        root.join("settings.py"),
        "DATABASES = {\n    \"default\": {\n        \"ENGINE\": \"django.db.backends.postgresql\",\n        \"NAME\": \"app\",\n    }\n}\nx = 05\n",
    )
    .unwrap();
    let before = common::tree_files(root);
    let output = scalepatch().args(["diff", "--only", "db-persistent-connections"]).arg(root).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains("settings.py:7"), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains("leading zeros"), "{}", stderr_of(&output));
    assert_eq!(stdout_of(&output), "", "no diff for a file that is left alone");
    let output =
        scalepatch().args(["apply", "--yes", "--only", "db-persistent-connections"]).arg(root).output().unwrap();
    assert_eq!(output.status.code(), Some(2), "{}", stderr_of(&output));
    assert!(stderr_of(&output).contains("settings.py:7"), "{}", stderr_of(&output));
    assert_eq!(common::tree_files(root), before, "nothing written");
}

/// Runs `args` on `root` with stdout or stderr (or both) pointed at /dev/full.
fn run_into_full_device(args: &[&str], root: &Path, stdout_full: bool, stderr_full: bool) -> std::process::Output {
    let full = || Stdio::from(std::fs::OpenOptions::new().write(true).open("/dev/full").unwrap());
    let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("scalepatch"));
    command.args(args).arg(root).env("NO_COLOR", "1").stdin(Stdio::null());
    command.stdout(if stdout_full { full() } else { Stdio::piped() });
    command.stderr(if stderr_full { full() } else { Stdio::piped() });
    command.output().unwrap()
}

/// A full stdout or stderr never panics (exit 101): read-only commands fail with exit 2 (nothing
/// was written), and a write whose report cannot be printed says so on stderr with the run id
/// and exits 4, because the files *were* written.
#[test]
fn a_full_stdout_or_stderr_never_panics_and_the_exit_code_tells_what_was_written() {
    let project = small_project();
    let root = project.path();
    for args in [&["list"][..], &["diff"], &["diff", "--format", "json"], &["status"]] {
        for (stdout_full, stderr_full) in [(true, false), (false, true), (true, true)] {
            let output = run_into_full_device(args, root, stdout_full, stderr_full);
            let code = output.status.code();
            assert_ne!(code, Some(101), "{args:?} panicked: {}", stderr_of(&output));
            assert!(matches!(code, Some(0 | 2)), "{args:?} ({stdout_full}, {stderr_full}): {code:?}");
        }
    }
    assert!(!root.join(".scalepatch").exists(), "read-only commands wrote no journal");

    let before = common::tree_files(root);
    let output = run_into_full_device(&["apply", "--yes", "--only", TWO_PATCHES], root, true, false);
    assert_eq!(output.status.code(), Some(4), "{}", stderr_of(&output));
    let stderr = stderr_of(&output);
    assert!(stderr.contains("was applied (every file is written"), "{stderr}");
    assert_ne!(common::tree_files(root), before, "the files were written, as exit 4 says");
    let run_id = stderr.split("run ").nth(1).and_then(|rest| rest.split_whitespace().next()).unwrap().to_owned();

    let output = run_into_full_device(&["revert"], root, true, true);
    assert_eq!(output.status.code(), Some(4), "revert with nothing to print to");
    assert_eq!(common::tree_files(root), before, "run {run_id} was reverted all the same");
}
