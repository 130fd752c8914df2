//! Which folder a command works on when no PATH is given: the project root, found the way ruff
//! finds its configuration (walking up from the current folder), so that running scalepatch from
//! `app/templates/` plans exactly what running it from the root does (same files, same config).
//!
//! The markers are tried in tiers, nearest first within a tier: `scalepatch.toml`; else
//! `pyproject.toml` or `.git`; else `manage.py`. `manage.py` comes last because real projects often
//! keep it below the folder holding their deployment files (paperless-ngx: `src/manage.py`, the
//! Dockerfile and `docker/` at the repository root): the nearest `manage.py` would plan without them.

use std::path::{Path, PathBuf};

/// The files that mark a project root, by tier.
pub const MARKERS: [&[&str]; 3] = [&["scalepatch.toml"], &["pyproject.toml", ".git"], &["manage.py"]];

/// PATH when given; else the nearest folder from `cwd` up holding one of [`MARKERS`]; else `cwd`.
pub fn resolve(path: Option<PathBuf>, cwd: &Path) -> PathBuf {
    match path {
        Some(path) => path,
        None => find_root(cwd).unwrap_or_else(|| cwd.to_path_buf()),
    }
}

/// The nearest ancestor of `start` (itself included) holding a marker of the first tier that any
/// ancestor holds.
pub fn find_root(start: &Path) -> Option<PathBuf> {
    MARKERS.iter().find_map(|tier| {
        start.ancestors().find(|dir| tier.iter().any(|marker| dir.join(marker).exists())).map(Path::to_path_buf)
    })
}

/// The current folder, for [`resolve`].
pub fn current_dir() -> anyhow::Result<PathBuf> {
    use anyhow::Context;
    std::env::current_dir().context("cannot read the current folder")
}

/// Files whose presence says a folder is a Django project or its deployment, even when no patch
/// finds anything to look at.
const DJANGO_MARKERS: [&str; 4] = ["manage.py", "settings.py", "wsgi.py", "asgi.py"];

/// Whether a plan in which every patch found nothing is a folder with no Django project: no
/// `manage.py`, settings, WSGI or ASGI module anywhere in it.
pub fn is_not_a_django_project(project: &crate::project::Project, plan: &crate::engine::plan::Plan) -> bool {
    let nothing_found = plan
        .reports
        .iter()
        .all(|r| r.outcomes.iter().all(|o| matches!(o, crate::engine::outcome::Outcome::NotFound { .. })));
    let django_file = project
        .files()
        .iter()
        .any(|file| file.file_name().and_then(|name| name.to_str()).is_some_and(|name| DJANGO_MARKERS.contains(&name)));
    nothing_found && !django_file
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_nearest_marked_folder_is_the_root() {
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path().join("repo");
        std::fs::create_dir_all(root.join("app/templates/deep")).unwrap();
        std::fs::write(root.join("manage.py"), "").unwrap();
        assert_eq!(find_root(&root.join("app/templates/deep")), Some(root.clone()));
        std::fs::write(root.join("app/pyproject.toml"), "").unwrap();
        assert_eq!(find_root(&root.join("app/templates")), Some(root.join("app")));
        // A manage.py below the repository root does not hide the root's deployment files.
        std::fs::create_dir_all(root.join(".git")).unwrap();
        std::fs::remove_file(root.join("app/pyproject.toml")).unwrap();
        std::fs::write(root.join("app/manage.py"), "").unwrap();
        assert_eq!(find_root(&root.join("app/templates")), Some(root.clone()));
        // scalepatch.toml wins over a nearer pyproject.toml.
        std::fs::write(root.join("scalepatch.toml"), "").unwrap();
        std::fs::write(root.join("app/pyproject.toml"), "").unwrap();
        assert_eq!(find_root(&root.join("app/templates")), Some(root.clone()));
        assert_eq!(resolve(Some(PathBuf::from("x")), &root), PathBuf::from("x"));
    }
}
