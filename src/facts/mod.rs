//! The deployment as production runs it: each shared analysis is defined once here and computed
//! once per run (memoised on the [`crate::project::Project`]). Patches decide from these facts.

pub mod budget;
pub mod celery;
pub mod django;
pub mod gunicorn;
pub mod indexes;
pub mod nginx;
pub mod problem;
pub mod serving;
pub mod versions;
