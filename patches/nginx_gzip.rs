//! `nginx-gzip`: nginx gzip compression for text responses (never text/html).
//!
//! Not implemented yet: its own issue brings the real planning.

use crate::change::Outcome;
use crate::patch::Patch;
use crate::project::Project;

pub struct NginxGzip;

impl Patch for NginxGzip {
    fn id(&self) -> &'static str {
        "nginx-gzip"
    }

    fn quick_win(&self) -> &'static str {
        "QW4"
    }

    fn title(&self) -> &'static str {
        "nginx gzip compression for text responses (never text/html)"
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
