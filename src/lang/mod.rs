//! Readers for the languages deployment files are written in. Each keeps byte offsets so that
//! patches can edit the original text in place.

pub mod compose;
pub mod dockerfile;
pub mod envfile;
pub mod launchers;
pub mod nginx;
pub mod platform;
pub mod python;

pub mod shell;
pub mod template;
