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
use crate::engine::patch::{Patch, PatchInfo, RealTool};
use crate::project::Project;

pub struct DbIndexes;

/// What the catalog knows of this patch.
pub static INFO: PatchInfo = PatchInfo {
    id: "db-indexes",
    quick_win: "QW5",
    why_prefix: "QW5",
    title: "Index migrations for the filters and orderings the code runs",
    phase_1: false,
    verify: &["python manage.py makemigrations --check --dry-run", "python manage.py sqlmigrate <app> <migration>"],
    checked_by: RealTool::Migrations,
};

impl Patch for DbIndexes {
    fn info(&self) -> &'static PatchInfo {
        &INFO
    }

    fn plan(&self, project: &Project) -> Vec<Outcome> {
        crate::facts::indexes::plan(project)
    }
}
