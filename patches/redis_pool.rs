//! `redis-pool`: Redis cache connection pool size and socket timeouts.
//!
//! Not implemented yet: its own issue brings the real planning.

use crate::change::Outcome;
use crate::patch::Patch;
use crate::project::Project;

pub struct RedisPool;

impl Patch for RedisPool {
    fn id(&self) -> &'static str {
        "redis-pool"
    }

    fn quick_win(&self) -> &'static str {
        "QW3"
    }

    fn title(&self) -> &'static str {
        "Redis cache connection pool size and socket timeouts"
    }

    fn in_phase_1(&self) -> bool {
        true
    }

    fn verify(&self) -> &'static [&'static str] {
        &["python manage.py check"]
    }

    fn plan(&self, _project: &Project) -> Vec<Outcome> {
        vec![Outcome::not_found("not implemented yet")]
    }
}
