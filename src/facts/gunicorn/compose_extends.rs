//! `extends: {file: other.yml, service: x}` across compose files: the base service is read from
//! the other file (whatever its name) and merged into the extending one as compose merges it.
//! What the base writes stays where it is written: its `command:` and `environment:` entries keep
//! pointing into the other file (so an edit lands there, once), its `env_file:` and `build:`
//! paths are rebased from that file's folder to the extending file's.

use std::path::{Component, Path, PathBuf};

use super::discovery::read;
use crate::facts::problem::Problem;
use crate::lang::compose::{self, Service};
use crate::project::{Project, kinds};

/// Merges every cross-file `extends:` of `services` (read from `compose`); a base that is not in
/// the project, or not found, leaves the service as written (what it inherits is unknown).
pub(super) fn resolve(project: &Project, compose: &Path, services: &mut [Service], errors: &mut Vec<Problem>) {
    let here = compose.parent().unwrap_or(Path::new(""));
    for service in services.iter_mut() {
        let Some(extends) = service.extends.clone() else { continue };
        let Some(file) = extends.file.as_deref() else { continue };
        let Some(other) = kinds::normalize(&here.join(file)).filter(|p| project.has_file(p)) else { continue };
        let Some(text) = read(project, &other, errors) else { continue };
        let Ok(bases) = compose::services(&text.text) else { continue };
        let Some(base) = bases.into_iter().find(|b| b.name == extends.service) else { continue };
        let base = rebased(base, &other, here);
        *service = service.clone().merged_onto(&base);
    }
}

/// A service read from `file`, as seen from a compose file in `folder`.
fn rebased(mut base: Service, file: &Path, folder: &Path) -> Service {
    let prefix = relative(folder, file.parent().unwrap_or(Path::new("")));
    let rebase = |path: &str| {
        if path.starts_with('/') { path.to_owned() } else { prefix.join(path).to_string_lossy().into_owned() }
    };
    base.env_files = base.env_files.iter().map(|p| rebase(p)).collect();
    if let Some(build) = &mut base.build {
        build.context = rebase(&build.context);
    }
    for entry in &mut base.environment {
        entry.file.get_or_insert_with(|| file.to_owned());
    }
    if base.command.is_some() || base.entrypoint.is_some() {
        base.command_file.get_or_insert_with(|| file.to_owned());
    }
    base
}

/// The path from folder `from` to folder `to`, both relative to the project root.
fn relative(from: &Path, to: &Path) -> PathBuf {
    let from: Vec<Component> = from.components().collect();
    let to: Vec<Component> = to.components().collect();
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut path = PathBuf::new();
    for _ in common..from.len() {
        path.push("..");
    }
    for part in &to[common..] {
        path.push(part);
    }
    path
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relative_folders() {
        assert_eq!(relative(Path::new(""), Path::new("deploy")), PathBuf::from("deploy"));
        assert_eq!(relative(Path::new("deploy/prod"), Path::new("deploy")), PathBuf::from(".."));
        assert_eq!(relative(Path::new("a"), Path::new("b/c")), PathBuf::from("../b/c"));
    }
}
