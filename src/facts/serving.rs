//! How the project serves Django, as the gunicorn patches see it and would leave it. Shared with
//! the database and Redis patches (connection budget, threads per process, ASGI/gevent skips).
//!
//! Computed by the gunicorn analysis ([`crate::facts::gunicorn`]): the first server start found, and the
//! workers, threads and worker class the two gunicorn patches would leave there.

use crate::engine::outcome::Location;
use crate::project::Project;
use crate::project::config::Sourced;

/// Which server runs the app.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerKind {
    /// gunicorn with a WSGI worker class (sync, gthread, gevent, eventlet...).
    Gunicorn,
    /// gunicorn with an ASGI worker class (uvicorn's).
    GunicornAsgi,
    Uvicorn,
    Daphne,
    Granian,
    Uwsgi,
    /// No server command found.
    Unknown,
}

/// The serving facts after Phase 1 (what the gunicorn patches would leave).
#[derive(Debug, Clone)]
pub struct Serving {
    pub server: ServerKind,
    /// Where the server is started (the first invocation found).
    pub location: Option<Location>,
    /// Worker processes per instance, after the gunicorn patches.
    pub workers: u32,
    /// Threads per worker process, after the gunicorn patches.
    pub threads: u32,
    /// The worker class, after the gunicorn patches (`sync`, `gthread`, `gevent`...).
    pub worker_class: String,
}

/// The CPU count of the production container, with where it came from: `--cpus`, the config,
/// the deployment's CPU limit for the service that runs gunicorn, else 2 (stated as assumed).
pub fn cpu_count(project: &Project) -> Sourced<u32> {
    crate::facts::gunicorn::analysis(project).cpus.clone()
}

/// The serving facts, computed once per project.
pub fn serving(project: &Project) -> std::sync::Arc<Serving> {
    project.memo(|project| crate::facts::gunicorn::analysis(project).serving.clone())
}
