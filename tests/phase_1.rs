//! All of Phase 1 applied to the bundled sample (`scalepatch apply --yes` on a copy of
//! fixtures/projects/wingman), then the real tools on the result, as the deployment runs them:
//! Django's deploy checks on the patched settings, `nginx -t` on the patched nginx files mounted
//! as the compose file mounts them, and `gunicorn --print-config` on the patched start command
//! (the Dockerfile's ENTRYPOINT script ends in `exec "$@"`, so gunicorn gets the CMD's argv).

mod common;

use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Command, Output};

/// The web service's environment in the sample's docker-compose.yml, with a secret key long
/// and random enough for `check --deploy`.
const WEB_ENV: &[(&str, &str)] = &[
    ("DJANGO_SETTINGS_MODULE", "wingman.settings"),
    ("DJANGO_SECRET_KEY", "phase-1-test-7fQ2mZ9xK4vR8pL1sT6wY3nB5cH0jD2gA9eU4iO7qW1zX8"),
    ("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1"),
    ("POSTGRES_DB", "wingman"),
    ("POSTGRES_USER", "wingman"),
    ("POSTGRES_PASSWORD", "wingman"),
    ("POSTGRES_HOST", "postgres"),
    ("REDIS_URL", "redis://redis:6379/0"),
];

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

/// A copy of the sample with every Phase 1 patch applied by the real CLI.
fn applied_sample() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    common::copy_tree(&common::repo_root().join("fixtures/projects/wingman"), tmp.path());
    let output = Command::new(assert_cmd::cargo::cargo_bin("scalepatch"))
        .args(["apply", "--yes"])
        .arg(tmp.path())
        .env("NO_COLOR", "1")
        .output()
        .unwrap();
    assert!(output.status.success(), "scalepatch apply --yes failed:\n{}", text(&output));
    let pending = Command::new(assert_cmd::cargo::cargo_bin("scalepatch"))
        .args(["diff", "--check"])
        .arg(tmp.path())
        .output()
        .unwrap();
    assert!(pending.status.success(), "changes still pending after apply:\n{}", text(&pending));
    tmp
}

/// The workers, threads and worker class the plan announces for the sample's gunicorn.
fn planned_serving() -> (u32, u32, String) {
    let root = common::repo_root().join("fixtures/projects/wingman");
    let project = scalepatch::project::Project::open(&root, scalepatch::project::config::Config::default()).unwrap();
    let serving = scalepatch::facts::serving::serving(&project);
    (serving.workers, serving.threads, serving.worker_class.clone())
}

#[test]
fn phase_1_on_the_sample_passes_the_real_tools() {
    let tmp = applied_sample();
    let root = tmp.path();
    django_deploy_check(root);
    common::nginx::assert_check(root, &common::nginx::wingman_sample(), "wingman after Phase 1");
    gunicorn_print_config(root);
}

/// `manage.py check --deploy --fail-level ERROR`: deploy warnings (HSTS, SSL redirect, ...) are
/// the sample's own business; an error would be ours.
fn django_deploy_check(root: &Path) {
    let output = Command::new(common::tools::python())
        .args(["manage.py", "check", "--deploy", "--fail-level", "ERROR"])
        .current_dir(root)
        .envs(WEB_ENV.iter().copied())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .output()
        .unwrap();
    assert!(output.status.success(), "manage.py check --deploy on the patched sample:\n{}", text(&output));
}

/// The Dockerfile's CMD (exec form) after Phase 1, run by the real gunicorn with `--print-config`.
fn gunicorn_print_config(root: &Path) {
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    let cmd = dockerfile.lines().rev().find_map(|line| line.strip_prefix("CMD ")).expect("a CMD line");
    let argv: Vec<String> = serde_json::from_str(cmd).unwrap_or_else(|err| panic!("CMD {cmd}: {err}"));
    assert_eq!(argv[0], "gunicorn", "{argv:?}");
    let output = Command::new(common::tools::gunicorn())
        .arg("--print-config")
        .args(&argv[1..])
        .current_dir(root)
        .envs(WEB_ENV.iter().copied())
        .env("PYTHONPATH", root)
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("WEB_CONCURRENCY")
        .env_remove("GUNICORN_CMD_ARGS")
        .output()
        .unwrap();
    assert!(output.status.success(), "gunicorn --print-config {argv:?}:\n{}", text(&output));
    let stdout = String::from_utf8_lossy(&output.stdout);
    let config: BTreeMap<&str, &str> =
        stdout.lines().filter_map(|line| line.split_once(" = ")).map(|(k, v)| (k.trim(), v.trim())).collect();
    let (workers, threads, worker_class) = planned_serving();
    // The plan for the sample, stated here as well: 2 CPUs assumed, 2 x 2 + 1 workers, gthread x 4.
    assert_eq!((workers, threads, worker_class.as_str()), (5, 4, "gthread"));
    let got = (config["workers"], config["threads"], config["worker_class"]);
    assert_eq!(got, (workers.to_string().as_str(), threads.to_string().as_str(), worker_class.as_str()), "{argv:?}");
}
