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

/// A throwaway project on disk for the tests of this module: settings discovery reads real files.
#[cfg(test)]
pub(crate) fn test_project(files: &[(&str, &str)]) -> (tempfile::TempDir, crate::project::Project) {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    }
    let project = crate::project::Project::open(dir.path(), crate::project::config::Config::default()).unwrap();
    (dir, project)
}
