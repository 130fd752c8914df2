//! `--verify` (issue 13.2) on the bundled sample: the real nginx and gunicorn judge the patched
//! tree in a temporary copy; a missing tool is named as not run, never as passed; a tool that
//! refuses the patched tree (and accepted the original) makes `apply` write nothing (exit 2).

mod common;

use std::path::Path;

use assert_cmd::Command;

fn scalepatch() -> Command {
    let mut command = Command::cargo_bin("scalepatch").unwrap();
    command.env("NO_COLOR", "1");
    command
}

fn sample() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    common::copy_tree(&common::repo_root().join("fixtures/projects/wingman"), tmp.path());
    tmp
}

/// The venv (gunicorn, python with Django) and the system folders (nginx in /usr/sbin).
fn full_path() -> String {
    format!("{}:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", common::tools::venv_bin().display())
}

fn notes(output: &std::process::Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

#[test]
fn with_nginx_and_gunicorn_installed_both_pass_on_the_patched_sample() {
    common::tools::nginx();
    let project = sample();
    let output =
        scalepatch().arg("diff").arg(project.path()).arg("--verify").env("PATH", full_path()).output().unwrap();
    let notes = notes(&output);
    assert_eq!(output.status.code(), Some(0), "{notes}");
    assert!(
        notes.contains("passed: nginx -t -c nginx/nginx.conf: /etc/nginx/nginx.conf and what it includes"),
        "{notes}"
    );
    assert!(
        notes.contains(
            "passed: gunicorn --print-config (Dockerfile:22): workers = 5, worker_class = gthread, threads = 4"
        ),
        "{notes}"
    );
    assert!(!notes.contains("runs project code"), "plain --verify never imports the settings: {notes}");
}

#[test]
fn a_missing_tool_is_named_as_not_run() {
    let project = sample();
    // /usr/bin only: no nginx (/usr/sbin), no gunicorn (the venv).
    let output = scalepatch().arg("diff").arg(project.path()).arg("--verify").env("PATH", "/usr/bin").output().unwrap();
    let notes = notes(&output);
    assert_eq!(output.status.code(), Some(0), "{notes}");
    assert!(notes.contains("not run: nginx -t: nginx is not installed (not on PATH)"), "{notes}");
    assert!(notes.contains("not run: gunicorn --print-config: gunicorn is not installed"), "{notes}");
    assert!(!notes.contains("passed:"), "{notes}");
}

#[test]
fn verify_django_imports_the_settings_and_says_it_runs_project_code() {
    let project = sample();
    let output =
        scalepatch().arg("diff").arg(project.path()).arg("--verify=django").env("PATH", full_path()).output().unwrap();
    let notes = notes(&output);
    assert!(
        notes.contains(
            "passed: DJANGO_SETTINGS_MODULE=wingman.settings python -c 'import django.conf.settings' (runs project code"
        ),
        "{notes}"
    );
}

/// An nginx that refuses what the plan adds (one built without the gzip module, here a stand-in
/// script that says what that nginx says) makes `apply --verify` write nothing, exit 2, with the
/// tool's own message; without --verify the same apply writes.
#[test]
fn a_tool_that_refuses_the_patched_tree_aborts_apply() {
    let project = sample();
    let bin = tempfile::tempdir().unwrap();
    let fake = bin.path().join("nginx");
    std::fs::write(
        &fake,
        "#!/bin/sh\nwhile [ $# -gt 0 ]; do [ \"$1\" = -c ] && conf=$2; shift; done\n\
         if grep -rq gzip_comp_level \"$(dirname \"$conf\")\"; then\n\
           echo 'nginx: [emerg] unknown directive \"gzip_comp_level\" in '\"$conf\"':29' >&2; exit 1\nfi\n\
         echo 'nginx: configuration file test is successful' >&2\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let path = format!("{}:/usr/bin:/bin", bin.path().display());
    let before = std::fs::read(project.path().join("nginx/nginx.conf")).unwrap();
    let output = scalepatch()
        .arg("apply")
        .arg(project.path())
        .args(["--only", "nginx-gzip", "--yes", "--verify"])
        .env("PATH", &path)
        .output()
        .unwrap();
    let notes = notes(&output);
    assert_eq!(output.status.code(), Some(2), "{notes}");
    assert!(
        notes.contains("FAILED: nginx -t -c nginx/nginx.conf: nginx: [emerg] unknown directive \"gzip_comp_level\""),
        "{notes}"
    );
    assert!(notes.contains("nothing was written"), "{notes}");
    assert_eq!(std::fs::read(project.path().join("nginx/nginx.conf")).unwrap(), before);
    assert!(!Path::new(&project.path().join(".scalepatch")).exists(), "no journal either");
    let output =
        scalepatch().arg("apply").arg(project.path()).args(["--only", "nginx-gzip", "--yes"]).output().unwrap();
    assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
}
