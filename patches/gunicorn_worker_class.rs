//! `gunicorn-worker-class`: Gunicorn sync workers -> gthread with 4 threads (WSGI apps only).
//!
//! Not implemented yet: its own issue brings the real planning.

use crate::change::Outcome;
use crate::patch::Patch;
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

    fn plan(&self, _project: &Project) -> Vec<Outcome> {
        vec![Outcome::not_found("not implemented yet")]
    }
}
