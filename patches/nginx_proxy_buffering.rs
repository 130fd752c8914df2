//! `nginx-proxy-buffering`: nginx proxy buffers, client body buffer and upstream keep-alive to gunicorn.
//!
//! Not implemented yet: its own issue brings the real planning.

use crate::change::Outcome;
use crate::patch::Patch;
use crate::project::Project;

pub struct NginxProxyBuffering;

impl Patch for NginxProxyBuffering {
    fn id(&self) -> &'static str {
        "nginx-proxy-buffering"
    }

    fn quick_win(&self) -> &'static str {
        "QW4"
    }

    fn title(&self) -> &'static str {
        "nginx proxy buffers, client body buffer and upstream keep-alive to gunicorn"
    }

    fn in_phase_1(&self) -> bool {
        true
    }

    fn verify(&self) -> &'static [&'static str] {
        &["nginx -t"]
    }

    fn plan(&self, _project: &Project) -> Vec<Outcome> {
        vec![Outcome::not_found("not implemented yet")]
    }
}
