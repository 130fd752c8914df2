//! Server starts in Kubernetes manifests: each container's command line, environment (literal
//! `env:`, the ConfigMaps it references), CPU limit and replicas; a container that runs its
//! image's own command is linked to the Dockerfile start when that is unambiguous; Helm chart
//! templates are reported, never parsed.

use std::path::{Path, PathBuf};

use super::discovery::{
    ArgStyle, ContainerCpu, Discovery, EnvVar, Invocation, Origin, UnseenEnv, command_line, invocation_from,
    list_style, names_server, server_line,
};
use super::kubernetes;
use crate::facts::problem::Problem;
use crate::lang::compose::ComposeCommand;
use crate::lang::template;
use crate::project::Project;
use crate::project::config::Sourced;
use crate::text::location::Location;

/// The environment variables gunicorn reads itself.
const GUNICORN_VARIABLES: [&str; 2] = ["WEB_CONCURRENCY", "GUNICORN_CMD_ARGS"];

/// Kubernetes containers whose `command:` / `args:` start a server. Returns the containers that
/// run their image's own command (no `command:` / `args:`), with their manifest.
pub(super) fn kubernetes_starts(
    project: &Project,
    out: &mut Discovery,
) -> (Vec<ImageRunner>, Vec<kubernetes::ConfigMap>) {
    let mut image_runners = Vec::new();
    let candidates: Vec<PathBuf> = project.files_of(kubernetes::is_candidate).to_vec();
    let config_maps = config_maps(project, &candidates);
    for path in project.files_containing(&candidates, "containers:") {
        // Manifests that do not name a server may still set its environment for an image's CMD.
        let Ok(file) = project.read(&path) else { continue };
        if !kubernetes::is_manifest(&file.text) {
            continue;
        }
        if let Some(chart) = kubernetes::helm_chart_of(project, &path) {
            if let Some(line) = server_line(out.programs, &file.text) {
                let at = Location::new(path.clone(), line);
                out.unread_server_templates.push(at.clone());
                out.errors.push(Problem::template(at, kubernetes::helm_skip_reason(&chart, line)));
            }
            continue;
        }
        let relevant =
            names_server(out.programs, &file.text) || GUNICORN_VARIABLES.iter().any(|name| file.text.contains(name));
        let containers = match kubernetes::containers(&file.text) {
            Ok(containers) => containers,
            Err(_) if !relevant => continue,
            Err(line) => {
                out.errors.push(match template::first_tag_line(&file.text) {
                    Some(tag) => {
                        if server_line(out.programs, &file.text).is_some() {
                            out.unread_server_templates.push(Location::new(path.clone(), tag));
                        }
                        Problem::template(Location::new(path.clone(), tag), template::skip_reason("YAML", tag))
                    }
                    None => Problem::unreadable(
                        Location::new(path.clone(), line),
                        "YAML syntax error in Kubernetes manifest",
                    ),
                });
                continue;
            }
        };
        for container in &containers {
            if let Some((quantity, line)) = &container.cpu {
                let runs_gunicorn = kubernetes::command_line(container)
                    .is_some_and(|(words, _)| words.iter().any(|word| word.text.contains("gunicorn")));
                let place = format!("{}:{line}", path.display());
                out.container_cpus.push(ContainerCpu { runs_gunicorn, quantity: quantity.clone(), place });
            }
            let Some((words, last)) = kubernetes::command_line(container) else {
                image_runners.push((path.clone(), container.clone()));
                continue;
            };
            let Some(found) = out.programs.find(&words) else { continue };
            let style = match last {
                _ if found.inside_string => ArgStyle::Shell,
                ComposeCommand::String { .. } => ArgStyle::Shell,
                ComposeCommand::List { style, .. } => list_style(style),
            };
            let line = command_line(container.command.as_ref().unwrap_or(last));
            let mut inv = invocation_from(found, &file, line, Origin::Kubernetes, style);
            run_in_container(&mut inv, &path, container, &config_maps);
            out.invocations.push(inv);
        }
    }
    (image_runners, config_maps)
}

/// A container that runs its image's own command, with its manifest.
pub(super) type ImageRunner = (PathBuf, kubernetes::Container);

/// The ConfigMaps of the project, read only when a manifest references one (the bytes say so
/// before anything is parsed).
fn config_maps(project: &Project, candidates: &[PathBuf]) -> Vec<kubernetes::ConfigMap> {
    if project
        .files_matching(candidates, |b| {
            memchr::memmem::find(b, b"configMapRef").is_some() || memchr::memmem::find(b, b"configMapKeyRef").is_some()
        })
        .is_empty()
    {
        return Vec::new();
    }
    let mut maps = Vec::new();
    for path in project.files_containing(candidates, "ConfigMap") {
        let Ok(file) = project.read(&path) else { continue };
        if kubernetes::is_manifest(&file.text) {
            maps.extend(kubernetes::config_maps(&path, &file.text).unwrap_or_default());
        }
    }
    maps
}

/// The container's environment, CPU limit and replica count apply to a start it runs.
fn run_in_container(
    inv: &mut Invocation,
    path: &Path,
    container: &kubernetes::Container,
    maps: &[kubernetes::ConfigMap],
) {
    let (referenced, unseen) = kubernetes::referenced_env(container, path, maps);
    inv.env.extend(referenced);
    inv.unseen_env.extend(unseen.into_iter().map(UnseenEnv::anything));
    inv.env.extend(container.env.iter().filter_map(|entry| {
        Some(EnvVar {
            key: entry.key.clone(),
            value: entry.value.clone()?,
            path: path.to_owned(),
            line: entry.line,
            what: format!("env of {} in {}", container.describe, path.display()),
        })
    }));
    inv.cpu_limit = container
        .cpu
        .as_ref()
        .map(|(quantity, line)| (quantity.clone(), format!("{} ({}:{line})", container.describe, path.display())));
    inv.replicas = container.replicas.as_ref().and_then(|(count, line)| {
        let value = count.parse::<u32>().ok()?;
        let source = format!("Kubernetes spec.replicas {count} of {} ({}:{line})", container.describe, path.display());
        Some(Sourced { value, source })
    });
}

/// A Kubernetes container without `command:` / `args:` runs its image's CMD. Which image is not
/// knowable from the files (registries, tags), so the link is made only when it is unambiguous:
/// one such container (or one that sets WEB_CONCURRENCY / GUNICORN_CMD_ARGS), and one Dockerfile in the project that starts a server and that no compose
/// service runs. Then the container's `env:` (which overrides the Dockerfile's `ENV`), CPU limit
/// and replicas apply to that start, and to the scripts the Dockerfile runs.
pub(super) fn attach_image_runner(
    invocations: &mut [Invocation],
    runners: &[ImageRunner],
    maps: &[kubernetes::ConfigMap],
) {
    // The one container that sets gunicorn's own variables, else the only container.
    let configuring: Vec<&(PathBuf, kubernetes::Container)> =
        runners.iter().filter(|(_, c)| c.env.iter().any(|e| GUNICORN_VARIABLES.contains(&e.key.as_str()))).collect();
    let (path, container) = match (configuring.as_slice(), runners) {
        ([one], _) => *one,
        ([], [one]) => one,
        _ => return,
    };
    let mut dockerfiles: Vec<&PathBuf> = invocations
        .iter()
        .filter(|inv| inv.service.is_none())
        .filter_map(|inv| inv.dockerfile.as_ref().map(|h| &h.path))
        .collect();
    dockerfiles.dedup();
    let [dockerfile] = dockerfiles.as_slice() else { return };
    let dockerfile = (*dockerfile).clone();
    for inv in invocations.iter_mut() {
        if inv.service.is_none() && inv.dockerfile.as_ref().is_some_and(|h| h.path == dockerfile) {
            run_in_container(inv, path, container, maps);
        }
    }
}
