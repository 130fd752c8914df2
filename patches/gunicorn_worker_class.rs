//! `gunicorn-worker-class`: Gunicorn sync workers -> gthread with 4 threads (WSGI apps only).
//!
//! Only `sync` (explicit or the default) becomes `gthread` with `threads = 4`, in the place that
//! decides the class; `--threads N>1` with sync is made explicit only. gevent, eventlet, gthread
//! and ASGI workers are never touched. The analysis lives in [`crate::facts::gunicorn`].

use crate::engine::outcome::Outcome;
use crate::engine::patch::Patch;
use crate::project::Project;

pub struct GunicornWorkerClass;

impl Patch for GunicornWorkerClass {
    fn id(&self) -> &'static str {
        "gunicorn-worker-class"
    }

    fn quick_win(&self) -> &'static str {
        "QW1"
    }

    fn title(&self) -> &'static str {
        "Gunicorn sync workers -> gthread with 4 threads (WSGI apps only)"
    }

    fn in_phase_1(&self) -> bool {
        true
    }

    fn verify(&self) -> &'static [&'static str] {
        &["gunicorn --print-config <wsgi module>"]
    }

    fn plan(&self, project: &Project) -> Vec<Outcome> {
        crate::facts::gunicorn::analysis(project)
            .worker_class
            .iter()
            .cloned()
            .map(|o| o.with_quick_win("QW1 / bottleneck 5 (sync workers)"))
            .collect()
    }
}
