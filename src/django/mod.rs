//! Django projects as scalepatch reads them: where the settings are, and what they assign.

pub mod databases;
pub mod engines;
pub mod settings;
