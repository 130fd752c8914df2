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
