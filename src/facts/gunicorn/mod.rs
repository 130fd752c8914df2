//! Quick win 1: where a real deployment decides gunicorn's workers, worker class and threads.
//!
//! [`discovery`] finds every server start (Dockerfile, compose, scripts, Procfile, supervisord,
//! systemd) and its environment; [`resolve`] applies gunicorn's precedence to each; [`decide`]
//! plans both patches. The whole analysis runs once per project ([`analysis`]) and is shared by
//! the two patches and by [`crate::facts::serving`].

pub mod config_file;
pub mod decide;
pub mod discovery;
pub mod flags;
pub mod invocation;
pub mod kubernetes;
pub mod resolve;
pub mod target;
pub mod uwsgi;
pub mod write;

use std::sync::Arc;

use crate::engine::outcome::{Location, Outcome};
use crate::facts::serving::{ServerKind, Serving};
use crate::project::Project;
use crate::project::config::Sourced;

/// Both patches' outcomes and the serving facts they leave.
#[derive(Debug)]
pub struct Analysis {
    pub cpus: Sourced<u32>,
    pub workers: Vec<Outcome>,
    pub worker_class: Vec<Outcome>,
    pub serving: Serving,
    /// Every gunicorn (WSGI) start and what it will run with after both patches, where known.
    pub servers: Vec<PlannedServer>,
    /// How many instances run the serving start, when its deployment files say (compose
    /// `deploy.replicas`, Kubernetes `spec.replicas`).
    pub replicas: Option<Sourced<u32>>,
}

/// What one gunicorn start will resolve to once the planned changes are applied (`None`: not
/// known statically, or left to the platform).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlannedServer {
    pub location: Location,
    pub workers: Option<u32>,
    pub worker_class: Option<String>,
    pub threads: Option<u32>,
}

/// The analysis, computed once per project.
pub fn analysis(project: &Project) -> Arc<Analysis> {
    project.memo(compute)
}

fn server_name(kind: &ServerKind) -> &'static str {
    match kind {
        ServerKind::Gunicorn => "gunicorn",
        ServerKind::GunicornAsgi => "gunicorn with an ASGI worker class",
        ServerKind::Uvicorn => "uvicorn",
        ServerKind::Daphne => "daphne",
        ServerKind::Granian => "granian",
        ServerKind::Uwsgi => "uWSGI",
        ServerKind::Unknown => "an unknown server",
    }
}

fn compute(project: &Project) -> Analysis {
    let found = discovery::discover(project);
    let cpus = target::cpu_count(project, &found);
    let ctx = decide::Context {
        target: target::target_workers(cpus.value),
        cpus: cpus.clone(),
        unread_composes: found.unread_composes.clone(),
    };
    let mut workers = found.errors.clone();
    let mut worker_class = found.errors.clone();
    let mut serving: Option<Serving> = None;
    let mut fallback: Option<Serving> = None;
    let mut servers = Vec::new();
    let mut replicas: Option<Option<Sourced<u32>>> = None;
    let mut fallback_replicas: Option<Option<Sourced<u32>>> = None;
    for inv in &found.invocations {
        let location = inv.location();
        if inv.server != ServerKind::Gunicorn {
            let reason = format!("served by {} ({location})", server_name(&inv.server));
            workers.push(Outcome::skipped(Some(location.clone()), reason.clone()));
            worker_class.push(Outcome::skipped(Some(location.clone()), reason));
            fallback_replicas.get_or_insert_with(|| inv.replicas.clone());
            fallback.get_or_insert_with(|| {
                let (processes, threads) = match inv.server {
                    ServerKind::Uwsgi => {
                        let counts = uwsgi::counts(project, inv);
                        (counts.processes.unwrap_or(1), counts.threads.unwrap_or(1))
                    }
                    _ => (1, 1),
                };
                facts(inv.server.clone(), &location, processes, threads, "n/a")
            });
            continue;
        }
        if inv.args.iter().any(|w| w.text == "--reload") {
            let reason = format!("development start with --reload ({location}); not how production runs gunicorn");
            workers.push(Outcome::skipped(Some(location.clone()), reason.clone()));
            worker_class.push(Outcome::skipped(Some(location.clone()), reason));
            continue;
        }
        let resolved = match resolve::resolve(project, inv) {
            Ok(resolved) => resolved,
            Err(error) => {
                workers.push((*error).clone());
                worker_class.push(*error);
                continue;
            }
        };
        let asgi_class = resolved.worker_class.as_ref().and_then(|s| match &s.value {
            resolve::Value::Text(class) if decide::is_asgi_class(class) => Some((class.clone(), s.location())),
            _ => None,
        });
        if let Some((class, class_location)) = asgi_class {
            let reason = format!("served by gunicorn with the ASGI worker class {class} ({class_location})");
            workers.push(Outcome::skipped(Some(location.clone()), reason.clone()));
            worker_class.push(Outcome::skipped(Some(location.clone()), reason));
            fallback.get_or_insert_with(|| facts(ServerKind::GunicornAsgi, &location, 1, 1, &class));
            continue;
        }
        if resolved.target.as_deref().is_some_and(|t| t.contains(".asgi") || t.starts_with("asgi")) {
            let reason = format!(
                "the application {} is ASGI; gunicorn needs an ASGI worker class for it ({location})",
                resolved.target.as_deref().unwrap_or("")
            );
            workers.push(Outcome::skipped(Some(location.clone()), reason.clone()));
            worker_class.push(Outcome::skipped(Some(location.clone()), reason));
            fallback.get_or_insert_with(|| facts(ServerKind::GunicornAsgi, &location, 1, 1, "sync"));
            continue;
        }
        let cpus = target::cpu_count_for(project, &found, inv, &ctx.cpus);
        let ctx = decide::Context { target: target::target_workers(cpus.value), cpus, ..ctx.clone() };
        let w = decide::workers(&ctx, inv, &resolved, project);
        let c = decide::worker_class(&ctx, inv, &resolved, project);
        replicas.get_or_insert_with(|| inv.replicas.clone());
        serving.get_or_insert_with(|| {
            let class = c.worker_class.clone().unwrap_or_else(|| "sync".to_owned());
            facts(ServerKind::Gunicorn, &location, w.workers.unwrap_or(ctx.target), c.threads.unwrap_or(1), &class)
        });
        let known =
            |outcomes: &[Outcome]| outcomes.iter().all(|o| matches!(o, Outcome::Change(_) | Outcome::Ok { .. }));
        servers.push(PlannedServer {
            location: location.clone(),
            workers: w.workers.filter(|_| known(&w.outcomes)),
            worker_class: c.worker_class.clone().filter(|_| known(&c.outcomes)),
            threads: c.threads.filter(|_| known(&c.outcomes)),
        });
        workers.extend(w.outcomes);
        worker_class.extend(c.outcomes);
    }
    if found.invocations.is_empty() {
        let unread = discovery::unread_gunicorn_starts(project);
        for (location, command) in &unread {
            let reason = format!(
                "`{command}` may start gunicorn through variables scalepatch cannot resolve (the program or its \
                 arguments are built at run time); set WEB_CONCURRENCY (gunicorn reads it whatever the command line) or --workers / --worker-class for it by hand"
            );
            workers.push(Outcome::skipped(Some(location.clone()), reason.clone()));
            worker_class.push(Outcome::skipped(Some(location.clone()), reason));
        }
        if unread.is_empty() {
            let reason = "no gunicorn, uWSGI, uvicorn, daphne or granian command found (Dockerfiles, compose files, Procfiles, shell scripts, supervisord and systemd files)";
            workers.push(Outcome::not_found(reason));
            worker_class.push(Outcome::not_found(reason));
        }
    }
    let serving = serving.or(fallback).unwrap_or(Serving {
        server: ServerKind::Unknown,
        location: None,
        workers: 1,
        threads: 1,
        worker_class: "sync".to_owned(),
    });
    let replicas = replicas.or(fallback_replicas).flatten();
    Analysis { cpus, workers, worker_class, serving, servers, replicas }
}

fn facts(server: ServerKind, location: &Location, workers: u32, threads: u32, class: &str) -> Serving {
    Serving { server, location: Some(location.clone()), workers, threads, worker_class: class.to_owned() }
}
