//! `celery-workers`: every case under `fixtures/patches/celery-workers/` through the generic
//! checks (exact diff and outcomes, `git apply --check`, idempotence, apply and revert through the
//! journal), then Celery itself on the patched tree: each worker a case names in its
//! `celery_check.toml` is run through Celery's own command line (`tests/celery_check.py`: the
//! real click parser of `celery.bin.celery`, with the CLI's `CELERY_` environment prefix, the app
//! `-A` names loaded with its configuration: Django settings, a celeryconfig module, app.conf),
//! and the `app.Worker(...)` the real `celery worker` command would build must run the expected
//! pool, concurrency and max-tasks-per-child. No broker is contacted: the worker is never started.
//!
//! The worker's argv is the patched command line as scalepatch's discovery reads it (the words
//! after `celery`), and its environment the one the deployment gives it (compose `environment:`
//! and `env_file:`, Kubernetes `env:`), plus the case's own `env`; the expected values are
//! written by hand in `celery_check.toml`, so an option inserted where Celery would not read it,
//! or a setting written where the app does not load it, fails here.

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use scalepatch::project::Project;
use scalepatch::project::config::Config;

/// `celery_check.toml`: the workers Celery must confirm, or why the case has none.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct CeleryCheck {
    #[serde(default, rename = "worker")]
    workers: Vec<Worker>,
    /// Why no worker is checked (beat and Flower only, say).
    none: Option<String>,
}

/// One worker start and what Celery must resolve for it.
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Worker {
    /// The start, `file:line`, as the plan names it.
    at: String,
    /// The argv after `celery` the patched file must hold.
    argv: String,
    #[serde(default)]
    env: BTreeMap<String, String>,
    pool: String,
    concurrency: u32,
    max_tasks_per_child: Option<u32>,
}

#[test]
fn every_case_passes_the_generic_checks_and_celery_runs_the_planned_workers() {
    let mut checked = 0;
    for case in common::cases("celery-workers") {
        let applied = case.check();
        let spec = case.dir.join("celery_check.toml");
        let text = std::fs::read_to_string(&spec).unwrap_or_else(|err| panic!("{}: {err}", spec.display()));
        let check: CeleryCheck = toml::from_str(&text).unwrap_or_else(|err| panic!("{}: {err}", spec.display()));
        assert!(
            !check.workers.is_empty() || check.none.is_some(),
            "{}: name the workers Celery checks, or say why there is none",
            case.label()
        );
        for worker in &check.workers {
            run_celery(applied.root(), worker, &case.label());
            checked += 1;
        }
    }
    assert!(checked >= 6, "only {checked} workers were checked by Celery");
}

/// The worker at `worker.at` on the patched tree, run through Celery's command line.
fn run_celery(root: &Path, worker: &Worker, label: &str) {
    let project = Project::open(root, Config::default()).unwrap();
    let celery = scalepatch::facts::celery::celery(&project);
    let process = celery.processes.iter().find(|p| p.location().to_string() == worker.at).unwrap_or_else(|| {
        let found: Vec<String> = celery.processes.iter().map(|p| p.location().to_string()).collect();
        panic!("{label}: no Celery start at {} (found: {found:?})", worker.at)
    });
    let argv: Vec<String> = process.invocation.args.iter().map(|w| w.text.clone()).collect();
    assert_eq!(argv.join(" "), worker.argv, "{label}: the patched command line at {}", worker.at);
    let mut env: BTreeMap<String, String> = process
        .invocation
        .env
        .iter()
        .filter(|var| !var.value.is_dynamic())
        .map(|var| (var.key.clone(), var.value.text.clone()))
        .collect();
    env.extend(worker.env.clone());
    let output = std::process::Command::new(common::tools::python())
        .arg(common::repo_root().join("tests/celery_check.py"))
        .args(&argv)
        .current_dir(root)
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .envs(&env)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{label}: celery {} failed: {stdout}{}",
        argv.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
    let line = stdout.lines().last().unwrap_or_default();
    let got: serde_json::Value = serde_json::from_str(line).unwrap_or_else(|err| panic!("{label}: {err}: {stdout}"));
    let want = serde_json::json!({
        "pool": worker.pool,
        "concurrency": worker.concurrency,
        "max_tasks_per_child": worker.max_tasks_per_child,
    });
    assert_eq!(got, want, "{label}: what Celery runs the worker at {} with", worker.at);
}
