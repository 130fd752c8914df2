//! `db-indexes` (QW5, optional in Phase 1): index migrations for the filters and orderings the
//! code runs.
//!
//! Reads the models (models.py or a models/ package), mines the querysets across the project's
//! Python files, and proposes composite indexes (equality fields, then the order field with its
//! direction) that no ForeignKey, primary key, unique field, `db_index=True` or existing index's
//! leading columns already serve; at most 3 per model. Each app gets its model edit(s)
//! (`Meta.indexes`) and one migration depending on its current leaf, sharing one summary:
//! accept both halves or neither. `AddIndexConcurrently` (non-atomic) only when every configured
//! database, test settings included, is PostgreSQL and psycopg is required; else `AddIndex`.
//! More than one leaf migration is an error: the user merges first.

use crate::engine::outcome::Outcome;
use crate::engine::patch::Patch;
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

    fn plan(&self, project: &Project) -> Vec<Outcome> {
        crate::facts::indexes::plan(project)
    }
}
