//! Readers for the languages deployment files are written in. Each keeps byte offsets so that
//! patches can edit the original text in place.

pub mod nginx;
pub mod python;
