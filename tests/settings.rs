//! db-persistent-connections and redis-pool: every fixture case (exact diff, `git apply --check`,
//! idempotence), then the patched settings imported by real Django (tests/django_check.py) for the
//! cases that carry a `django_check.json`.

mod common;

use std::path::Path;
use std::process::Command;

/// Runs tests/django_check.py on the patched tree with the case's expectations.
fn django_check(case: &common::Case, root: &Path) -> bool {
    let spec = case.dir.join("django_check.json");
    if !spec.exists() {
        return false;
    }
    let script = common::repo_root().join("tests/django_check.py");
    let output = Command::new(common::tools::python()).arg(&script).arg(root).arg(&spec).output().expect("python runs");
    assert!(
        output.status.success(),
        "{}: real Django rejects the patched settings:\n{}{}",
        case.label(),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    true
}

fn run(patch: &str) {
    let mut checked = 0;
    for case in common::cases(patch) {
        let applied = case.check();
        if django_check(&case, applied.root()) {
            checked += 1;
        }
    }
    assert!(checked > 0, "{patch}: no case was checked with real Django");
}

#[test]
fn db_persistent_connections() {
    run("db-persistent-connections");
}

#[test]
fn redis_pool() {
    run("redis-pool");
}
