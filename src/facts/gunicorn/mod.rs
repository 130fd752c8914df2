//! Where a real deployment decides gunicorn's workers, worker class and threads.
//!
//! [`discovery`] finds every server start (Dockerfile, compose, Kubernetes, scripts, Procfile,
//! supervisord, systemd) and its environment; [`start`] classifies each one and, for a WSGI
//! gunicorn start, [`resolve`] applies gunicorn's precedence to its settings and [`target`] gives
//! the CPU count and the Phase 1 targets; [`after`] projects what the start runs with once
//! Phase 1 is applied. The readers ([`flags`], [`config_file`], [`kubernetes`], [`uwsgi`]) and the
//! lossless writers ([`write`]) serve them. The whole analysis runs once per project
//! ([`analysis`]); the two gunicorn patches decide from it, and [`crate::facts::serving`] and the
//! connection budget read it.

pub mod after;
mod compose_extends;
pub mod config_file;
pub mod discovery;
pub mod flags;
pub mod invocation;
pub mod kubernetes;
mod kubernetes_starts;
mod launcher_env;
mod platforms;
pub mod resolve;
mod scripts;
pub mod start;
pub mod target;
pub mod uwsgi;
pub mod write;

use std::sync::Arc;

use crate::facts::problem::Problem;
use crate::project::Project;
use crate::project::config::Sourced;
use crate::text::location::Location;
use start::{Start, StartKind};

/// The gunicorn facts of a project.
#[derive(Debug)]
pub struct Analysis {
    /// The project's CPU count (a start's own container limit may differ: [`start::Wsgi::cpus`]).
    pub cpus: Sourced<u32>,
    /// Input errors: files that could not be read, and templates that cannot be read until
    /// rendered. Every gunicorn patch reports them.
    pub errors: Vec<Problem>,
    /// Compose files skipped as templates (where their first template tag is).
    pub unread_composes: Vec<Location>,
    /// Every server start, in discovery order.
    pub starts: Vec<Start>,
    /// When no start is found: script lines that may start gunicorn in a way discovery cannot
    /// read, with the command as written.
    pub unread_starts: Vec<(Location, String)>,
    /// Templates that name a server (reported as skipped): a start may be in them.
    pub unread_server_templates: Vec<Location>,
    /// Every WSGI gunicorn start and what it will run with after Phase 1, where known.
    pub servers: Vec<PlannedServer>,
    /// How many instances run the serving start, when its deployment files say (compose
    /// `deploy.replicas`, Kubernetes `spec.replicas`).
    pub replicas: Option<Sourced<u32>>,
}

/// What one gunicorn start will resolve to once Phase 1 is applied (`None`: not known
/// statically, or left to the platform).
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

fn compute(project: &Project) -> Analysis {
    let mut found = discovery::discover(project);
    let cpus = target::cpu_count(project, &found);
    let invocations = std::mem::take(&mut found.invocations);
    let mut starts: Vec<Start> =
        invocations.into_iter().map(|inv| Start::classify(project, &found, inv, &cpus)).collect();
    start::mark_shared_configs(&mut starts, &found.unread_composes);
    let unread_starts = if starts.is_empty() { discovery::unread_gunicorn_starts(project) } else { Vec::new() };
    let servers = planned_servers(project, &starts, &found.unread_composes);
    let replicas = serving_replicas(&starts);
    Analysis {
        cpus,
        errors: found.errors,
        unread_composes: found.unread_composes,
        starts,
        unread_starts,
        unread_server_templates: found.unread_server_templates,
        servers,
        replicas,
    }
}

/// Each WSGI start after Phase 1, with only the values Phase 1 leaves known.
fn planned_servers(project: &Project, starts: &[Start], unread_composes: &[Location]) -> Vec<PlannedServer> {
    starts
        .iter()
        .filter_map(|start| {
            let StartKind::Wsgi(wsgi) = &start.kind else { return None };
            // A start in a project template's folder is never edited (see the engine's plan).
            if crate::project::kinds::template_folder(&start.invocation.path).is_some() {
                let location = start.location();
                return Some(PlannedServer { location, workers: None, worker_class: None, threads: None });
            }
            let after = after::after(project, &start.invocation, wsgi, unread_composes);
            Some(PlannedServer {
                location: start.location(),
                workers: after.workers.filter(|_| after.workers_known),
                worker_class: Some(after.worker_class).filter(|_| after.class_known),
                threads: Some(after.threads).filter(|_| after.class_known),
            })
        })
        .collect()
}

/// The replicas of the first WSGI gunicorn start, else of the first start of another server.
fn serving_replicas(starts: &[Start]) -> Option<Sourced<u32>> {
    let first = |wanted: fn(&StartKind) -> bool| {
        starts.iter().find(|start| wanted(&start.kind)).map(|start| start.invocation.replicas.clone())
    };
    first(|kind| matches!(kind, StartKind::Wsgi(_)))
        .or_else(|| first(|kind| matches!(kind, StartKind::OtherServer)))
        .flatten()
}

/// Why no gunicorn-setting decision applies to a start (or to the project), as the facts say it.
#[derive(Debug, Clone)]
pub enum NotDecided {
    /// The start's input cannot be read.
    Problem(Problem),
    /// The start is not gunicorn serving WSGI (another server, ASGI, `--reload`), with why.
    NotWsgiGunicorn { location: Location, why: String },
    /// A command that may start gunicorn through variables nothing resolves.
    Unresolved { location: Location, why: String },
    /// No server start anywhere in the project.
    NoStart(&'static str),
}

impl Analysis {
    /// Walks every start for a patch that sets gunicorn settings: `decide` answers each WSGI
    /// gunicorn start; every other start, every read problem and a project without any start
    /// comes back as [`NotDecided`], in the order the starts were found. Both gunicorn patches
    /// walk the starts this one way.
    pub fn each_start<T>(
        &self,
        mut decide: impl FnMut(&discovery::Invocation, &start::Wsgi) -> T,
    ) -> Vec<Result<T, NotDecided>> {
        let mut answers: Vec<Result<T, NotDecided>> =
            self.errors.iter().map(|problem| Err(NotDecided::Problem(problem.clone()))).collect();
        for found in &self.starts {
            match &found.kind {
                start::StartKind::Wsgi(wsgi) => answers.push(Ok(decide(&found.invocation, wsgi))),
                start::StartKind::Unreadable(problem) => answers.push(Err(NotDecided::Problem((**problem).clone()))),
                _ => answers.extend(
                    found
                        .not_wsgi_gunicorn()
                        .map(|why| Err(NotDecided::NotWsgiGunicorn { location: found.location(), why })),
                ),
            }
        }
        if self.starts.is_empty() {
            for (location, command) in &self.unread_starts {
                answers.push(Err(NotDecided::Unresolved {
                    location: location.clone(),
                    why: start::unread_start(command),
                }));
            }
            if self.unread_starts.is_empty() && self.unread_server_templates.is_empty() {
                answers.push(Err(NotDecided::NoStart(start::NO_SERVER_FOUND)));
            }
        }
        answers
    }
}
