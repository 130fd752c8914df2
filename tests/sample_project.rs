//! The bundled sample project (fixtures/projects/wingman) is a real Django project: Django's own
//! checks pass on it, its migrations match its models, and every Phase 1 patch finds something to
//! change in it (the README's first command shows that diff).

mod common;

use std::path::Path;
use std::process::{Command, Output};

use scalepatch::engine::outcome::Outcome;
use scalepatch::engine::plan::Plan;
use scalepatch::project::Project;
use scalepatch::project::config::Config;

fn sample() -> std::path::PathBuf {
    common::repo_root().join("fixtures/projects/wingman")
}

/// Runs `manage.py ARGS` with the venv's Django on a scratch copy of the sample, so that no
/// `__pycache__` or database file lands in the repository.
fn manage(args: &[&str]) -> Output {
    let copy = tempfile::tempdir().unwrap();
    common::copy_tree(&sample(), copy.path());
    let output = Command::new(common::tools::python())
        .arg("manage.py")
        .args(args)
        .current_dir(copy.path())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env_remove("DJANGO_SETTINGS_MODULE")
        .output()
        .expect("run manage.py with the venv's python");
    assert_no_files_created(copy.path());
    output
}

fn assert_no_files_created(root: &Path) {
    let pycache: Vec<_> = ignore::WalkBuilder::new(root)
        .hidden(false)
        .git_ignore(false)
        .build()
        .filter_map(Result::ok)
        .filter(|entry| entry.file_name() == "__pycache__")
        .map(|entry| entry.path().to_owned())
        .collect();
    assert!(pycache.is_empty(), "PYTHONDONTWRITEBYTECODE was not honoured: {pycache:?}");
}

fn text(output: &Output) -> String {
    format!("{}{}", String::from_utf8_lossy(&output.stdout), String::from_utf8_lossy(&output.stderr))
}

#[test]
fn django_system_checks_pass() {
    let output = manage(&["check"]);
    assert!(output.status.success(), "manage.py check failed:\n{}", text(&output));
    assert!(text(&output).contains("System check identified no issues"), "{}", text(&output));
}

#[test]
fn migrations_match_the_models() {
    let output = manage(&["makemigrations", "--check", "--dry-run"]);
    assert!(output.status.success(), "models and migrations differ:\n{}", text(&output));
    assert!(text(&output).contains("No changes detected"), "{}", text(&output));
}

#[test]
fn the_settings_describe_the_stack_the_patches_target() {
    let script = "import django, json; django.setup(); from django.conf import settings as s; \
                  from django.db import connections; db = connections.settings['default']; \
                  print(json.dumps([db['ENGINE'], db['CONN_MAX_AGE'], \
                  s.CACHES['default']['BACKEND'], sorted(s.CACHES['default']['OPTIONS']), s.CELERY_BROKER_URL, \
                  'chat' in s.INSTALLED_APPS]))";
    let copy = tempfile::tempdir().unwrap();
    common::copy_tree(&sample(), copy.path());
    let output = Command::new(common::tools::python())
        .args(["-c", script])
        .current_dir(copy.path())
        .env("PYTHONDONTWRITEBYTECODE", "1")
        .env("DJANGO_SETTINGS_MODULE", "wingman.settings")
        .env_remove("REDIS_URL")
        .env_remove("CELERY_BROKER_URL")
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", text(&output));
    let facts: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(
        facts,
        serde_json::json!([
            "django.db.backends.postgresql",
            0,
            "django_redis.cache.RedisCache",
            ["CLIENT_CLASS"],
            "redis://localhost:6379/0",
            true
        ]),
        "the sample must keep Django's defaults that Phase 1 changes (CONN_MAX_AGE 0, no Redis pool options)"
    );
}

#[test]
fn the_entrypoint_is_executable() {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(sample().join("docker/entrypoint.sh")).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o755, "docker/entrypoint.sh must stay executable (mode {mode:o})");
}

#[test]
fn every_phase_1_patch_changes_the_sample() {
    let project = Project::open(&sample(), Config::default()).unwrap();
    let phase_1: Vec<_> = scalepatch::patches::ALL.iter().copied().filter(|patch| patch.in_phase_1()).collect();
    let plan = Plan::build(&project, &phase_1);
    for report in &plan.reports {
        let described: Vec<String> =
            report.outcomes.iter().map(|outcome| format!("{}: {}", outcome.label(), outcome.describe())).collect();
        assert!(
            report.outcomes.iter().any(|outcome| matches!(outcome, Outcome::Change(_))),
            "{} proposes no change on the sample project:\n{}",
            report.patch.id(),
            described.join("\n")
        );
        assert!(
            !report.outcomes.iter().any(|outcome| matches!(outcome, Outcome::Error { .. })),
            "{} reports an error on the sample project:\n{}",
            report.patch.id(),
            described.join("\n")
        );
    }
}
