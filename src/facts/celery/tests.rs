use super::*;
use crate::project::test_project;

#[test]
fn compose_services_and_line_files() {
    let compose = "version: '3'\nservices:\n\n  web:\n    image: x\n  worker:\n    command: >\n      celery -A proj\n      worker -P gevent --concurrency=8\n  beat:\n    command: [\"uv\", \"run\", \"celery\", \"--app\", \"proj\", \"beat\"]\n  flower:\n    command: sh -c \"sleep 2 && celery -A proj flower\"\nvolumes:\n  data:\n";
    let procfile =
        "web: gunicorn proj.wsgi\n# worker: celery -A proj worker -c 2\nworker: celery -A proj worker -c4 -c x\n";
    let (_dir, project) = test_project(&[("docker-compose.yml", compose), ("Procfile", procfile)]);
    let celery = celery(&project);
    let seen: Vec<(String, Option<&str>, &Role)> =
        celery.processes.iter().map(|p| (p.location().to_string(), p.service(), &p.role)).collect();
    assert_eq!(
        seen,
        [
            ("docker-compose.yml:7".to_owned(), Some("worker"), &Role::Worker),
            ("docker-compose.yml:11".to_owned(), Some("beat"), &Role::Beat),
            ("docker-compose.yml:13".to_owned(), Some("flower"), &Role::Flower),
            ("Procfile:3".to_owned(), None, &Role::Worker),
        ]
    );
    let [worker, beat, _, procfile] = &celery.processes[..] else { unreachable!() };
    let concurrency = |p: &CeleryProcess| p.settings.concurrency.as_ref().map(|c| (c.written.clone(), c.what.clone()));
    assert_eq!(concurrency(procfile), Some(("x".to_owned(), "-c x on the command line (Procfile)".to_owned())));
    assert_eq!(worker.settings.concurrency.as_ref().and_then(Setting::number), Some(8));
    assert_eq!(worker.settings.pool_name(), Some("gevent"));
    assert_eq!(worker.command(), "celery -A proj worker -P gevent --concurrency=8");
    assert_eq!(beat.command(), "celery --app proj beat");
    assert_eq!(worker.app.as_deref(), Some("proj"));
}

/// Celery's precedence: command line > CELERY_WORKER_* environment > app.conf > the Django
/// settings the namespace names (not `WORKER_CONCURRENCY`); `-P prefork` loses to a configured pool.
#[test]
fn worker_settings_follow_celerys_precedence() {
    let app = "import os\nfrom celery import Celery\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'proj.settings.prod')\napp = Celery('proj')\napp.config_from_object('django.conf:settings', namespace='CELERY')\napp.conf.worker_max_tasks_per_child = 50\napp.conf.update({'worker_pool': 'threads'})\n";
    let base = "DATABASES = {}\nCELERY_WORKER_CONCURRENCY = 3\nCELERY_WORKER_MAX_TASKS_PER_CHILD = 10\nWORKER_CONCURRENCY = 99\n";
    let compose = "services:\n  a:\n    command: celery -A proj worker -P prefork\n  b:\n    command: celery -A proj worker -c 0\n    environment:\n      CELERY_WORKER_CONCURRENCY: '7'\n";
    let (_dir, project) = test_project(&[
        ("proj/celery.py", app),
        ("proj/settings/base.py", base),
        ("proj/settings/prod.py", "from .base import *\n"),
        ("docker-compose.yml", compose),
    ]);
    let celery = celery(&project);
    let [a, b] = &celery.processes[..] else { panic!("{:?}", celery.processes) };
    let value = |s: &Option<Setting>| s.as_ref().map(|s| (s.source, s.value.clone().unwrap_or_default()));
    assert_eq!(value(&a.settings.concurrency), Some((Source::ConfigModule, "3".to_owned())));
    assert!(a.settings.concurrency.as_ref().unwrap().what.contains("proj/settings/base.py"));
    assert_eq!(value(&a.settings.max_tasks_per_child), Some((Source::AppConf, "50".to_owned())));
    assert_eq!(a.settings.pool_name(), Some("threads"), "-P prefork loses to the configured pool");
    // `-c 0` hides the environment's option (click takes the command line's value first) and
    // falls through to the configuration (celery 5.7: `_concurrency_value`), as the real CLI does.
    assert_eq!(value(&b.settings.concurrency), Some((Source::ConfigModule, "3".to_owned())));
}

/// A worker's CPUs are its own deployment's: the Kubernetes limit of its container (rounded
/// up), counted by the budget as the planned concurrency.
#[test]
fn planned_concurrency_is_the_workers_own_cpu_limit() {
    let manifest = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: w\nspec:\n  template:\n    spec:\n      containers:\n        - name: worker\n          command: [\"celery\", \"-A\", \"proj\", \"worker\"]\n          resources:\n            limits:\n              cpu: 2500m\n";
    let celeryconfig = "broker_url = 'redis://'\n";
    let app = "from celery import Celery\napp = Celery('proj')\napp.config_from_object('celeryconfig')\n";
    let (_dir, project) =
        test_project(&[("k8s/worker.yaml", manifest), ("proj.py", app), ("celeryconfig.py", celeryconfig)]);
    let celery = celery(&project);
    let [worker] = &celery.processes[..] else { panic!() };
    let planned = worker.planned_concurrency();
    assert_eq!(planned.value, 3);
    assert!(planned.source.contains("2500m"), "{}", planned.source);
    let config = worker.config.as_ref().expect("the app of -A proj");
    assert!(matches!(&config.source, Some(ConfigSource::Module { path, .. }) if path.ends_with("celeryconfig")));
    let added = config.addition(&project, worker, "worker_max_tasks_per_child", "1000").unwrap();
    assert_eq!(
        (added.path.to_str(), added.statement.as_str()),
        (Some("celeryconfig.py"), "worker_max_tasks_per_child = 1000")
    );
}
