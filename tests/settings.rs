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

/// Plans `patch` on a fixture's `before/` tree with the serving facts the gunicorn patches would
/// report (seeded into the project's memo, which is where `serving::serving` keeps them).
fn plan_with_serving(
    patch: &str,
    case: &str,
    serving: scalepatch::facts::serving::Serving,
    instances: Option<u32>,
) -> Vec<scalepatch::engine::outcome::Outcome> {
    let root = common::repo_root().join("fixtures/patches").join(patch).join(case).join("before");
    let config = scalepatch::project::config::Config::load(
        &root,
        &scalepatch::project::config::Values { cpus: None, instances },
    )
    .unwrap();
    let project = scalepatch::project::Project::open(&root, config).unwrap();
    let seeded = project.memo(move |_| serving);
    assert!(std::sync::Arc::ptr_eq(&seeded, &scalepatch::facts::serving::serving(&project)));
    scalepatch::patches::by_id(patch).unwrap().plan(&project)
}

fn serving(
    server: scalepatch::facts::serving::ServerKind,
    workers: u32,
    threads: u32,
    class: &str,
) -> scalepatch::facts::serving::Serving {
    let location = Some(scalepatch::engine::outcome::Location::new("Dockerfile", 12));
    scalepatch::facts::serving::Serving { server, location, workers, threads, worker_class: class.to_owned() }
}

#[test]
fn asgi_and_gevent_serving_skip_persistent_connections() {
    use scalepatch::facts::serving::ServerKind;
    for (facts, words) in [
        (serving(ServerKind::Uvicorn, 4, 1, "uvicorn"), "served through ASGI (Dockerfile:12)"),
        (serving(ServerKind::GunicornAsgi, 4, 1, "uvicorn_worker.UvicornWorker"), "ASGI"),
        (serving(ServerKind::Gunicorn, 4, 1, "gevent"), "gevent workers (Dockerfile:12)"),
    ] {
        for case in ["dict-literal", "split-settings-override", "dj-database-url-config"] {
            let outcomes = plan_with_serving("db-persistent-connections", case, facts.clone(), None);
            assert!(
                outcomes.iter().all(|o| !matches!(o, scalepatch::engine::outcome::Outcome::Change(_))),
                "{case}: {outcomes:#?}"
            );
            assert!(
                outcomes.iter().any(|o| o.label() == "skipped" && o.describe().contains(words)),
                "{case}: {outcomes:#?}"
            );
        }
    }
}

#[test]
fn redis_pool_grows_with_threads() {
    use scalepatch::engine::outcome::{ChangeKind, Outcome};
    let outcomes = plan_with_serving(
        "redis-pool",
        "django-redis-options",
        serving(scalepatch::facts::serving::ServerKind::Gunicorn, 5, 16, "gthread"),
        None,
    );
    let Some(Outcome::Change(change)) = outcomes.first() else { panic!("{outcomes:#?}") };
    let ChangeKind::Modify { edits } = &change.kind else { panic!() };
    assert!(edits.iter().any(|e| e.replacement.contains("{\"max_connections\": 64}")), "{edits:#?}");
}

#[test]
fn budget_uses_gunicorn_workers_threads_and_instances() {
    let facts = serving(scalepatch::facts::serving::ServerKind::Gunicorn, 5, 4, "gthread");
    let outcomes = plan_with_serving("db-persistent-connections", "dict-literal", facts.clone(), Some(4));
    assert!(outcomes.iter().all(|o| o.label() != "warning"), "80% is not above 80%: {outcomes:#?}");
    let outcomes = plan_with_serving("db-persistent-connections", "dict-literal", facts, Some(5));
    let warning = outcomes.iter().find(|o| o.label() == "warning").unwrap_or_else(|| panic!("{outcomes:#?}"));
    let text = warning.describe();
    assert!(
        text.contains(
            "5 instance(s) [--instances] x 5 worker(s) x 4 thread(s) [gunicorn at Dockerfile:12, after Phase 1]"
        ),
        "{text}"
    );
    assert!(text.contains("= 100 of PostgreSQL max_connections 100 [PostgreSQL's default] (100%"), "{text}");
    assert!(text.contains("pgBouncer"), "{text}");
}

/// Issue 13.4: cache sessions with no CACHES (Django's per-process LocMemCache) and a gunicorn
/// that runs 1 worker: more workers would log users out at random, so the count is not raised.
///
/// Not a `fixtures/patches/gunicorn-workers` case: the real-gunicorn check there compares each
/// start with the Phase 1 projection of the gunicorn facts (`facts/gunicorn/after.rs`), which
/// still assumes the target count here (it cannot read the Django settings without a memo cycle:
/// settings -> production's module -> gunicorn starts). The projection is what the connection
/// budget reads, so it errs on the safe side (more connections than will run).
#[test]
fn cache_sessions_keep_one_worker() {
    use scalepatch::engine::outcome::Outcome;
    let settings = "import os\n\nSECRET_KEY = os.environ.get(\"SECRET_KEY\", \"dev\")\n\
                    INSTALLED_APPS = [\"django.contrib.contenttypes\", \"django.contrib.sessions\"]\n\
                    DATABASES = {\"default\": {\"ENGINE\": \"django.db.backends.postgresql\", \"NAME\": \"portal\"}}\n\
                    # Fast sessions: kept in the cache (no CACHES: Django's per-process LocMemCache).\n\
                    SESSION_ENGINE = \"django.contrib.sessions.backends.cache\"\n";
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in [
        (
            "Dockerfile",
            "FROM python:3.12-slim\nCOPY . .\nENV DJANGO_SETTINGS_MODULE=portal.settings\nCMD [\"gunicorn\", \"--bind\", \"0.0.0.0:8000\", \"portal.wsgi:application\"]\n",
        ),
        ("portal/__init__.py", ""),
        ("portal/wsgi.py", "import os\nos.environ.setdefault(\"DJANGO_SETTINGS_MODULE\", \"portal.settings\")\n"),
        ("portal/settings.py", settings),
    ] {
        std::fs::create_dir_all(dir.path().join(path).parent().unwrap()).unwrap();
        std::fs::write(dir.path().join(path), text).unwrap();
    }
    let config = scalepatch::project::config::Config::load(dir.path(), &Default::default()).unwrap();
    let project = scalepatch::project::Project::open(dir.path(), config).unwrap();
    let outcomes = scalepatch::patches::by_id("gunicorn-workers").unwrap().plan(&project);
    let [Outcome::Skipped { location: Some(location), reason }] = outcomes.as_slice() else { panic!("{outcomes:#?}") };
    assert_eq!(location.to_string(), "Dockerfile:4");
    assert!(
        reason.contains(
            "runs 1 worker and the app keeps state in that process: SESSION_ENGINE = \
             \"django.contrib.sessions.backends.cache\" (portal/settings.py:7) with no CACHES"
        ),
        "{reason}"
    );
    assert!(reason.contains("a Redis cache"), "{reason}");
    // Real Django agrees that these settings keep sessions in a per-process LocMemCache.
    let check = "import django; from django.conf import settings; django.setup(); \
                 from django.core.cache import caches; from django.contrib.sessions.backends.cache import SessionStore; \
                 assert type(caches['default']).__name__ == 'LocMemCache'; \
                 assert settings.SESSION_ENGINE == 'django.contrib.sessions.backends.cache'; print('ok')";
    let output = std::process::Command::new(common::tools::python())
        .args(["-c", check])
        .current_dir(dir.path())
        .env("DJANGO_SETTINGS_MODULE", "portal.settings")
        .env("PYTHONPATH", dir.path())
        .output()
        .unwrap();
    assert!(output.status.success(), "{}", String::from_utf8_lossy(&output.stderr));
}
