//! `db-persistent-connections`: Persistent database connections: CONN_MAX_AGE = 600 and CONN_HEALTH_CHECKS.
//!
//! Not implemented yet: its own issue brings the real planning.

use crate::change::Outcome;
use crate::patch::Patch;
use crate::project::Project;

pub struct DbPersistentConnections;

impl Patch for DbPersistentConnections {
    fn id(&self) -> &'static str {
        "db-persistent-connections"
    }

    fn quick_win(&self) -> &'static str {
        "QW2"
    }

    fn title(&self) -> &'static str {
        "Persistent database connections: CONN_MAX_AGE = 600 and CONN_HEALTH_CHECKS"
    }

    fn in_phase_1(&self) -> bool {
        true
    }

    fn verify(&self) -> &'static [&'static str] {
        &["python manage.py check --deploy"]
    }

    fn plan(&self, _project: &Project) -> Vec<Outcome> {
        vec![Outcome::not_found("not implemented yet")]
    }
}
