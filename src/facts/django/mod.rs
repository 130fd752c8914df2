//! Django projects as scalepatch reads them: where the settings are, and what they assign.

pub mod cache_backends;
pub mod databases;
pub mod engines;
pub mod final_value;
pub mod key_writes;
pub mod production;
pub mod settings;
pub mod state;

pub use state::per_process_state;
