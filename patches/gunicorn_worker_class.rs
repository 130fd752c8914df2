//! `gunicorn-worker-class`: Gunicorn sync workers -> gthread with 4 threads (WSGI apps only).
//!
//! Only `sync` (explicit or the default) becomes `gthread` with `threads = 4`, in the place that
//! decides the class; `--threads N>1` with sync is made explicit only. gevent, eventlet, gthread
//! and ASGI workers are never touched. The analysis lives in [`crate::facts::gunicorn`].

use crate::engine::outcome::Outcome;
use crate::engine::patch::{Patch, PatchInfo, RealTool};
use crate::project::Project;

pub struct GunicornWorkerClass;

/// What the catalog knows of this patch.
pub static INFO: PatchInfo = PatchInfo {
    id: "gunicorn-worker-class",
    quick_win: "QW1",
    why_prefix: "QW1 / bottleneck 5 (sync workers)",
    title: "Gunicorn sync workers -> gthread with 4 threads (WSGI apps only)",
    phase_1: true,
    verify: &["gunicorn --print-config <wsgi module>"],
    checked_by: RealTool::Gunicorn,
};

impl Patch for GunicornWorkerClass {
    fn info(&self) -> &'static PatchInfo {
        &INFO
    }

    fn plan(&self, project: &Project) -> Vec<Outcome> {
        crate::facts::gunicorn::analysis(project).worker_class.to_vec()
    }
}
