//! `gunicorn-workers`: Gunicorn worker count: 2 x CPUs + 1 (3..12), where the deployment decides it.
//!
//! Not implemented yet: its own issue brings the real planning.

use crate::change::Outcome;
use crate::patch::Patch;
use crate::project::Project;

pub struct GunicornWorkers;

impl Patch for GunicornWorkers {
    fn id(&self) -> &'static str {
        "gunicorn-workers"
    }

    fn quick_win(&self) -> &'static str {
        "QW1"
    }

    fn title(&self) -> &'static str {
        "Gunicorn worker count: 2 x CPUs + 1 (3..12), where the deployment decides it"
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
