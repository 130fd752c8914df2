//! scalepatch applies the Phase 1 scaling quick wins to a Django deployment: it finds where each
//! setting is decided, plans the smallest correct edit, shows it as a diff, writes it atomically
//! with backups and a journal, and can revert it.
//!
//! The flow: [`project::Project`] (files, read lazily) -> each [`patch::Patch`] plans
//! [`change::Outcome`]s -> [`plan::Plan`] (conflicts, after-texts) -> [`diff`] / review -> journal.

pub mod budget;
pub mod change;
pub mod cli;
pub mod config;
pub mod diff;
pub mod django;
pub mod edit;
pub mod fs;
pub mod gunicorn;
pub mod indexes;
pub mod journal;
pub mod lang;
pub mod nginx;
pub mod patch;
pub mod plan;
pub mod project;
pub mod review;
pub mod serving;
pub mod source;
pub mod versions;

#[path = "../patches/mod.rs"]
pub mod patches;
