//! nginx-gzip and nginx-proxy-buffering: every fixture case gives its expected diff and outcomes,
//! is idempotent, and the configuration, before and after the patch, passes the real `nginx -t`
//! with no `[warn]` line in every deployment its `case.toml` declares (`[[nginx]]`, see
//! `common/nginx.rs`), or fails with the message the case says the patch warns about.

mod common;

use std::collections::BTreeMap;

use common::nginx::{Deployment, Image};
use scalepatch::engine::outcome::Outcome;
use scalepatch::project::Project;
use scalepatch::project::config::Config;

#[test]
fn nginx_gzip_cases() {
    run_cases("nginx-gzip");
}

#[test]
fn nginx_proxy_buffering_cases() {
    run_cases("nginx-proxy-buffering");
}

fn run_cases(patch: &str) {
    let mut checked = 0;
    for case in common::cases(patch) {
        let applied = case.check();
        let label = case.label();
        let deployments = case.spec().nginx;
        assert_declared(&applied, &deployments, &label);
        let before = case.copy();
        for (index, deployment) in deployments.iter().enumerate() {
            common::nginx::assert_check(before.path(), deployment, &format!("{label} (before, deployment {index})"));
            common::nginx::assert_check(applied.root(), deployment, &format!("{label} (patched, deployment {index})"));
            checked += 1;
        }
    }
    assert!(checked > 0, "{patch}: no deployment was checked with nginx -t");
}

/// A case whose patch reads nginx files declares where they go, and every file the patch changes
/// is in a declared mount: a change nginx -t never sees is not checked.
fn assert_declared(applied: &common::Applied, deployments: &[Deployment], label: &str) {
    let unread = applied.outcomes.iter().all(|o| matches!(o, Outcome::Error { .. } | Outcome::NotFound { .. }));
    assert!(unread || !deployments.is_empty(), "{label}: nginx files but no [[nginx]] deployment in case.toml");
    for outcome in &applied.outcomes {
        let Outcome::Change(change) = outcome else { continue };
        let mounted = deployments.iter().flat_map(|d| d.mounts.keys()).any(|m| change.path().starts_with(m));
        assert!(mounted, "{label}: {} is changed but in no [[nginx]] mount", change.path().display());
    }
}

/// A project with one file mounted into the Debian image (for the harness's own tests).
fn debian_with(project: &str, container: &str) -> Deployment {
    Deployment {
        image: Image::Debian,
        mounts: BTreeMap::from([(project.to_owned(), container.to_owned())]),
        env: BTreeMap::new(),
        fails: None,
    }
}

/// The check itself catches the Debian trap: `gzip on;` at the top level of a file included in
/// http, next to the distro's own `gzip on;`, fails `nginx -t`.
#[test]
#[should_panic(expected = "\"gzip\" directive is duplicate")]
fn nginx_t_catches_a_top_level_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("conf.d")).unwrap();
    std::fs::write(dir.path().join("conf.d/app.conf"), "gzip on;\nserver {\n    listen 8081;\n}\n").unwrap();
    common::nginx::assert_check(dir.path(), &debian_with("conf.d/app.conf", "/etc/nginx/conf.d/app.conf"), "duplicate");
}

/// The mapping is the case's, not scalepatch's: a server file mounted where the main file does
/// not include it is not checked by nginx, so a broken file there passes; mounted where it is
/// included, nginx sees it and fails.
#[test]
fn nginx_t_reads_only_the_declared_mounts() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("app.conf"), "server {\n    listen 8081;\n    bogus_directive on;\n}\n").unwrap();
    let unread = debian_with("app.conf", "/etc/nginx/unused/app.conf");
    assert_eq!(common::nginx::check(dir.path(), &unread, "unread"), Ok(()));
    let included = debian_with("app.conf", "/etc/nginx/conf.d/app.conf");
    let err = common::nginx::check(dir.path(), &included, "included").unwrap_err();
    assert!(err.contains("unknown directive \"bogus_directive\""), "{err}");
}

/// Both nginx patches planned together on every case of either: they never edit the same bytes,
/// and the result passes `nginx -t`.
#[test]
fn both_nginx_patches_together() {
    use scalepatch::engine::plan::{Plan, file_updates};
    let both = [
        scalepatch::patches::by_id("nginx-gzip").unwrap(),
        scalepatch::patches::by_id("nginx-proxy-buffering").unwrap(),
    ];
    let mut trees: Vec<(String, tempfile::TempDir, Vec<Deployment>)> = Vec::new();
    for case in common::cases("nginx-gzip").into_iter().chain(common::cases("nginx-proxy-buffering")) {
        let spec = case.spec();
        let fails = spec.nginx.iter().any(|d| d.fails.is_some());
        if !fails && spec.outcomes.iter().all(|o| o.status != "error") {
            trees.push((case.label(), case.copy(), spec.nginx));
        }
    }
    let sample = tempfile::tempdir().unwrap();
    common::copy_tree(&common::repo_root().join("fixtures/projects/wingman"), sample.path());
    trees.push(("projects/wingman".to_owned(), sample, vec![common::nginx::wingman_sample()]));
    for (label, tmp, deployments) in trees {
        let project = Project::open(tmp.path(), Config::default()).unwrap();
        let plan = Plan::build(&project, &both);
        assert!(
            !plan.has_errors(),
            "{label}: {:#?}",
            plan.reports.iter().flat_map(|r| &r.outcomes).collect::<Vec<_>>()
        );
        let changes: Vec<_> = plan.changes().collect();
        let updates = file_updates(&project, &changes).unwrap();
        for update in &updates {
            std::fs::write(tmp.path().join(&update.path), update.after_bytes()).unwrap();
        }
        for deployment in &deployments {
            common::nginx::assert_check(tmp.path(), deployment, &format!("{label} (both patches)"));
        }
    }
}
