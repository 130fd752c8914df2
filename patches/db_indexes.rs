//! `db-indexes`: Index migrations for the filters and orderings the code runs.
//!
//! Not implemented yet: its own issue brings the real planning.

use crate::change::Outcome;
use crate::patch::Patch;
use crate::project::Project;

pub struct DbIndexes;

impl Patch for DbIndexes {
    fn id(&self) -> &'static str {
        "db-indexes"
    }

    fn quick_win(&self) -> &'static str {
        "QW5"
    }

    fn title(&self) -> &'static str {
        "Index migrations for the filters and orderings the code runs"
    }

    fn in_phase_1(&self) -> bool {
        false
    }

    fn verify(&self) -> &'static [&'static str] {
        &["python manage.py makemigrations --check --dry-run", "python manage.py sqlmigrate <app> <migration>"]
    }

    fn plan(&self, _project: &Project) -> Vec<Outcome> {
        vec![Outcome::not_found("not implemented yet")]
    }
}
