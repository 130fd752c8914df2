//! Starts that a platform file writes out: App Engine's `app.yaml` `entrypoint:` and Fly.io's
//! `fly.toml` `[processes]`, each with the CPU count of the instance that runs it where the file
//! says it.

use std::path::{Path, PathBuf};

use super::discovery::{
    ArgStyle, Discovery, EnvVar, Invocation, Origin, Platform, invocation_from, mentioning_servers, read,
};
use crate::facts::problem::Problem;
use crate::lang::platform::{self, FlyVm, PlatformCommand};
use crate::project::Project;
use crate::project::config::Sourced;
use crate::project::kinds::name_of;
use crate::text::location::Location;

/// App Engine's and Fly.io's files, by name.
fn is_platform_file(path: &Path) -> bool {
    matches!(name_of(path), "app.yaml" | "app.yml" | "fly.toml")
}

/// The server starts of every platform file that names a server.
pub(super) fn platform_starts(project: &Project, out: &mut Discovery) {
    let candidates: Vec<&PathBuf> = project.files_where(is_platform_file).collect();
    for path in mentioning_servers(project, out.programs, candidates) {
        let Some(file) = read(project, &path, &mut out.errors) else { continue };
        if name_of(&path) == "fly.toml" {
            match platform::fly(&file.text) {
                Ok(fly) => {
                    let env = env_vars(&fly.env, &path, "[env]");
                    for command in &fly.processes {
                        let cpus = fly_cpus(&fly.vms, &command.name, &path);
                        push_start(out, &file, command, (Origin::Fly, Platform::Fly), cpus, &env);
                    }
                }
                Err(line) => out
                    .errors
                    .push(Problem::unreadable(Location::new(path.clone(), line), "TOML syntax error in fly.toml")),
            }
        } else if let Some(app) = platform::app_engine(&file.text)
            && let Some(entrypoint) = &app.entrypoint
        {
            let cpus = app_engine_cpus(app.instance_class.as_ref(), &path);
            let env = env_vars(&app.env, &path, "env_variables");
            push_start(out, &file, entrypoint, (Origin::AppEngine, Platform::AppEngine), Some(cpus), &env);
        }
    }
}

fn push_start(
    out: &mut Discovery,
    file: &std::sync::Arc<crate::text::source::SourceFile>,
    command: &PlatformCommand,
    (origin, platform): (Origin, Platform),
    cpus: Option<Sourced<u32>>,
    env: &[EnvVar],
) {
    let Some(found) = out.programs.find(&command.words) else { return };
    let mut inv: Invocation = invocation_from(found, file, command.line, origin, ArgStyle::Shell);
    inv.platform = Some((platform, inv.location()));
    inv.platform_cpus = cpus;
    inv.env = env.to_vec();
    out.invocations.push(inv);
}

/// The environment a platform file sets for its processes.
fn env_vars(values: &[platform::EnvValue], path: &Path, section: &str) -> Vec<EnvVar> {
    values
        .iter()
        .map(|v| EnvVar {
            key: v.key.clone(),
            value: v.value.clone(),
            path: path.to_owned(),
            line: v.line,
            what: format!("{section} of {}", path.display()),
        })
        .collect()
}

/// The CPUs of the `[[vm]]` that runs a Fly.io process: `cpus = N`, else the count its `size`
/// names (`shared-cpu-2x`: 2).
fn fly_cpus(vms: &[FlyVm], process: &str, path: &Path) -> Option<Sourced<u32>> {
    let vm = vms
        .iter()
        .find(|vm| vm.processes.iter().any(|p| p == process))
        .or_else(|| vms.iter().find(|vm| vm.processes.is_empty()))?;
    if let Some(cpus) = &vm.cpus
        && let Ok(value) = cpus.value.parse::<u32>()
    {
        return Some(Sourced { value, source: format!("[[vm]] cpus = {value} ({}:{})", path.display(), cpus.line) });
    }
    let size = vm.size.as_ref()?;
    let value = platform::fly_size_cpus(&size.value)?;
    Some(Sourced { value, source: format!("[[vm]] size {} ({}:{})", size.value, path.display(), size.line) })
}

/// The CPU count of an App Engine instance class. An assumption, stated with it: Google gives
/// the classes in MHz, not cores (F1/B1 600 MHz, F2/B2 1.2 GHz, F4/B4 2.4 GHz, B8 4.8 GHz), read
/// here as 1, 1, 2 and 4 CPUs; F1, the default of the standard environment, has 256 MB.
fn app_engine_cpus(class: Option<&platform::Setting>, path: &Path) -> Sourced<u32> {
    let (name, place) = match class {
        Some(class) => (
            class.value.to_ascii_uppercase(),
            format!("instance_class {} ({}:{})", class.value, path.display(), class.line),
        ),
        None => ("F1".to_owned(), format!("no instance_class in {}: App Engine's default F1", path.display())),
    };
    let value = match name.split('_').next().unwrap_or("") {
        "F4" | "B4" => 2,
        "B8" => 4,
        _ => 1,
    };
    Sourced {
        value,
        source: format!(
            "assumed from the App Engine {place}, whose clock speed Google documents in MHz, not cores: {value} CPU(s)"
        ),
    }
}
