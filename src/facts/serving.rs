//! How the project serves Django after Phase 1: the server, and the workers, threads and worker
//! class it runs per instance. The database and Redis patches read it (connection budget,
//! threads per process, ASGI/gevent skips).
//!
//! Derived from the gunicorn facts ([`crate::facts::gunicorn`]): the first WSGI gunicorn start
//! with its Phase 1 projection ([`crate::facts::gunicorn::after`]), else the first start of
//! another server (uWSGI with its own process and thread counts), else none found.

use std::sync::Arc;

use crate::facts::gunicorn::start::{Start, StartKind};
use crate::facts::gunicorn::{self, after, uwsgi};
use crate::project::Project;
use crate::project::config::Sourced;
use crate::text::location::Location;

/// The server type is a discovery fact (which program a start runs); serving names it.
pub use crate::facts::gunicorn::invocation::ServerKind;

/// The serving facts after Phase 1.
#[derive(Debug, Clone)]
pub struct Serving {
    pub server: ServerKind,
    /// Where the server is started (the first invocation found).
    pub location: Option<Location>,
    /// Worker processes per instance, after Phase 1.
    pub workers: u32,
    /// Threads per worker process, after Phase 1.
    pub threads: u32,
    /// The worker class, after Phase 1 (`sync`, `gthread`, `gevent`...).
    pub worker_class: String,
}

/// The CPU count of the production container, with where it came from: `--cpus`, the config,
/// the deployment's CPU limit for the service that runs gunicorn, else 2 (stated as assumed).
pub fn cpu_count(project: &Project) -> Sourced<u32> {
    gunicorn::analysis(project).cpus.clone()
}

/// The serving facts, computed once per project.
pub fn serving(project: &Project) -> Arc<Serving> {
    project.memo(compute)
}

fn compute(project: &Project) -> Serving {
    let analysis = gunicorn::analysis(project);
    let wsgi = analysis.starts.iter().find_map(|start| match &start.kind {
        StartKind::Wsgi(wsgi) => Some((start, wsgi)),
        _ => None,
    });
    if let Some((start, wsgi)) = wsgi {
        let after = after::after(project, &start.invocation, wsgi, &analysis.unread_composes);
        return Serving {
            server: ServerKind::Gunicorn,
            location: Some(start.location()),
            workers: after.workers.unwrap_or(wsgi.target),
            threads: after.threads,
            worker_class: after.worker_class,
        };
    }
    analysis.starts.iter().find_map(|start| other_server(project, start)).unwrap_or(Serving {
        server: ServerKind::Unknown,
        location: None,
        workers: 1,
        threads: 1,
        worker_class: "sync".to_owned(),
    })
}

/// A start that serves the app without the gunicorn settings: another server, or gunicorn with
/// an ASGI worker class or application (one process, one thread, as far as scalepatch knows).
fn other_server(project: &Project, start: &Start) -> Option<Serving> {
    let (server, workers, threads, class) = match &start.kind {
        StartKind::OtherServer if start.invocation.server == ServerKind::Uwsgi => {
            let counts = uwsgi::counts(project, &start.invocation);
            (ServerKind::Uwsgi, counts.processes.unwrap_or(1), counts.threads.unwrap_or(1), "n/a")
        }
        StartKind::OtherServer => (start.invocation.server.clone(), 1, 1, "n/a"),
        StartKind::AsgiClass { class, .. } => (ServerKind::GunicornAsgi, 1, 1, class.as_str()),
        StartKind::AsgiApp { .. } => (ServerKind::GunicornAsgi, 1, 1, "sync"),
        _ => return None,
    };
    Some(Serving { server, location: Some(start.location()), workers, threads, worker_class: class.to_owned() })
}
