//! scalepatch applies the Phase 1 scaling quick wins to a Django deployment: it finds where each
//! setting is decided, plans the smallest correct edit, shows it as a diff, writes it atomically
//! with backups and a journal, and can revert it.
//!
//! The flow: [`project::Project`] (files, read lazily) -> each [`engine::patch::Patch`] plans
//! [`engine::outcome::Outcome`]s -> [`engine::plan::Plan`] (conflicts, after-texts) -> [`output::diff`] / review -> journal.

pub mod cli;
pub mod engine;
pub mod facts;
pub mod journal;
pub mod lang;
pub mod output;
pub mod project;
pub mod text;

#[path = "../patches/mod.rs"]
pub mod patches;
