//! The environment a supervisord program or a systemd unit gives the process it starts.
//!
//! supervisord: the `[supervisord]` section's `environment=`, then the program's own (both in
//! the file, the program winning). systemd: `Environment=` assignments, then the
//! `EnvironmentFile=` files, which override them. An env file is read when it lies in the
//! project: a relative path from the unit's folder or the root, an absolute one mapped through
//! `WorkingDirectory=` (`/opt/shop/.env` with `WorkingDirectory=/opt/shop` is `.env` of the
//! project; with `/opt/shop/src`, `src/.env` when the project has `src/`). Anything else
//! (`/etc/shop/env`, a `%i` specifier) is outside the project: its values are unknowable, and
//! the start says so instead of reading "not set".

use std::path::{Path, PathBuf};

use super::discovery::{EnvVar, read};
use crate::facts::problem::Problem;
use crate::lang::envfile;
use crate::lang::launchers::{EnvFileRef, LaunchCommand};
use crate::project::{Project, kinds};

/// The process's environment (lowest precedence first) and the sources it reads that are not in
/// the project, each described for a skip reason.
pub(super) fn launcher_env(
    project: &Project,
    path: &Path,
    command: &LaunchCommand,
    errors: &mut Vec<Problem>,
) -> (Vec<EnvVar>, Vec<String>) {
    let mut env: Vec<EnvVar> = command
        .env
        .iter()
        .map(|var| EnvVar {
            key: var.key.clone(),
            value: var.value.clone(),
            path: path.to_owned(),
            line: var.line,
            what: format!("{} in {}", var.what, path.display()),
        })
        .collect();
    let mut unseen = Vec::new();
    if let Some(line) = command.env_error {
        unseen.push(format!(
            "environment= at {}:{line}, which supervisord cannot read (it refuses the file: quote values with spaces)",
            path.display()
        ));
    }
    for reference in &command.env_files {
        let Some(found) = env_file_in_project(project, path, reference, command.directory.as_deref()) else {
            unseen.push(format!(
                "EnvironmentFile={} ({}:{}), which is not in the project",
                reference.path,
                path.display(),
                reference.line
            ));
            continue;
        };
        let Some(file) = read(project, &found, errors) else { continue };
        env.extend(envfile::parse(&file.text).into_iter().map(|line| EnvVar {
            key: line.key,
            value: line.value,
            path: found.clone(),
            line: line.line,
            what: format!("EnvironmentFile {} of {}", found.display(), path.display()),
        }));
    }
    (env, unseen)
}

/// The project file an `EnvironmentFile=` names, when it is one.
fn env_file_in_project(
    project: &Project,
    unit: &Path,
    reference: &EnvFileRef,
    working_directory: Option<&str>,
) -> Option<PathBuf> {
    let written = reference.path.as_str();
    if written.contains('%') || written.contains('$') || written.is_empty() {
        return None;
    }
    let exists = |candidate: PathBuf| kinds::normalize(&candidate).filter(|p| project.has_file(p));
    if !written.starts_with('/') {
        let here = unit.parent().unwrap_or(Path::new("")).to_owned();
        return exists(here.join(written)).or_else(|| exists(PathBuf::from(written)));
    }
    let directory = working_directory.filter(|d| d.starts_with('/'))?.trim_end_matches('/');
    let rest = written.strip_prefix(directory)?.strip_prefix('/')?;
    project_folders_of(directory).into_iter().find_map(|folder| exists(folder.join(rest)))
}

/// The project folders a launcher's absolute working directory may stand for (none for a
/// relative or templated one): where gunicorn's relative config paths are looked up first.
pub(super) fn working_dirs(directory: Option<&str>) -> Vec<PathBuf> {
    match directory {
        Some(dir) if dir.starts_with('/') && !dir.contains(['%', '$', '{']) => project_folders_of(dir),
        _ => Vec::new(),
    }
}

/// The project folders an absolute working directory may stand for, most specific first: its
/// tails (`/opt/paperless/src` -> `paperless/src`, `src`), then the project root (the checkout
/// installed at `/opt/netbox`). The file must exist there to count.
fn project_folders_of(directory: &str) -> Vec<PathBuf> {
    let parts: Vec<&str> = directory.split('/').filter(|p| !p.is_empty()).collect();
    let mut folders: Vec<PathBuf> = (1..parts.len()).map(|skip| PathBuf::from(parts[skip..].join("/"))).collect();
    folders.push(PathBuf::new());
    folders
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::test_project;

    fn resolve(files: &[(&str, &str)], unit: &str) -> (Vec<(String, String, String)>, Vec<String>) {
        let (_dir, project) = test_project(files);
        let text = files.iter().find(|(p, _)| *p == unit).unwrap().1;
        let command = &crate::lang::launchers::systemd(text)[0];
        let (env, unseen) = launcher_env(&project, Path::new(unit), command, &mut Vec::new());
        let env = env.into_iter().map(|v| (v.key, v.value.text, v.path.display().to_string())).collect();
        (env, unseen)
    }

    #[test]
    fn environment_file_through_the_working_directory() {
        let unit = "[Service]\nWorkingDirectory=/opt/shop/src\nEnvironment=WEB_CONCURRENCY=2\nEnvironmentFile=-/opt/shop/src/deploy/web.env\nExecStart=gunicorn shop.wsgi\n";
        let (env, unseen) = resolve(
            &[("deploy/shop.service", unit), ("src/deploy/web.env", "WEB_CONCURRENCY=3\n"), ("src/shop/wsgi.py", "")],
            "deploy/shop.service",
        );
        assert!(unseen.is_empty(), "{unseen:?}");
        assert_eq!(env[1], ("WEB_CONCURRENCY".to_owned(), "3".to_owned(), "src/deploy/web.env".to_owned()));
    }

    #[test]
    fn environment_file_outside_the_project_is_unseen() {
        let unit = "[Service]\nWorkingDirectory=/opt/shop\nEnvironmentFile=/etc/shop/env\nEnvironmentFile=/opt/shop/missing.env\nExecStart=gunicorn shop.wsgi\n";
        let (env, unseen) = resolve(&[("shop.service", unit)], "shop.service");
        assert!(env.is_empty());
        assert_eq!(unseen.len(), 2);
        assert!(unseen[0].starts_with("EnvironmentFile=/etc/shop/env (shop.service:3)"), "{unseen:?}");
    }
}
