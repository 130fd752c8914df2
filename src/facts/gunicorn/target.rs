//! The CPU count of the production container, and the Phase 1 targets: the worker count it
//! calls for, and the threads per worker of the gthread switch.
//!
//! Precedence (spec, "Shared inputs"): `--cpus`, then `cpus` in the user's config, then the limit
//! the deployment files set for the service that runs gunicorn (compose
//! `deploy.resources.limits.cpus` / `cpus:`, Kubernetes `resources.limits.cpu`), else 2, stated as
//! an assumption. Never the CPU count of the machine running scalepatch.

use super::discovery::{Discovery, Invocation};
use super::invocation::ServerKind;
use crate::lang::compose::whole_cpus;
use crate::project::Project;
use crate::project::config::Sourced;

/// The fallback when nothing says how many CPUs the container gets.
pub const ASSUMED_CPUS: u32 = 2;

/// Threads per worker when sync workers become gthread.
pub const THREADS: u32 = 4;

/// `2 x cpus + 1`, clamped to 3..12 (gunicorn's docs: "4-12 workers").
pub fn target_workers(cpus: u32) -> u32 {
    (2 * cpus + 1).clamp(3, 12)
}

/// The CPU count, with where it came from: the first gunicorn start's own limit, else any
/// Kubernetes container's (see [`kubernetes_cpus`]), else assumed.
pub fn cpu_count(project: &Project, discovery: &Discovery) -> Sourced<u32> {
    if let Some(cpus) = project.config().cpus.clone() {
        return cpus;
    }
    let own = discovery
        .invocations
        .iter()
        .filter(|inv| inv.server == ServerKind::Gunicorn)
        .find_map(|inv| own_limit(discovery, inv));
    own.or_else(|| kubernetes_cpus(discovery)).unwrap_or(Sourced {
        value: ASSUMED_CPUS,
        source: "assumed: no --cpus, no cpus in the config, no CPU limit in the deployment files".to_owned(),
    })
}

/// The CPU count for one start: `--cpus` or the config, else the limit of the Kubernetes
/// container or compose service that runs this very start, else the project's count. Two
/// workloads with different limits each get their own worker count.
pub fn cpu_count_for(
    project: &Project,
    discovery: &Discovery,
    inv: &Invocation,
    project_cpus: &Sourced<u32>,
) -> Sourced<u32> {
    if project.config().cpus.is_some() {
        return project_cpus.clone();
    }
    if let Some(own) = own_limit(discovery, inv) {
        return own;
    }
    // A start the platform runs (a Procfile line, the script it names) runs on the platform's
    // instance, not in a compose service or Kubernetes container another start has.
    if let Some((platform, at)) = &inv.platform
        && inv.service.is_none()
        && inv.cpu_limit.is_none()
    {
        return Sourced {
            value: ASSUMED_CPUS,
            source: format!(
                "assumed: no --cpus, no cpus in the config; the {} start ({at}) runs on the platform's instance, whose size the files do not say",
                platform.describe()
            ),
        };
    }
    project_cpus.clone()
}

/// The CPU limit the deployment files give the container that runs `inv`.
fn own_limit(discovery: &Discovery, inv: &Invocation) -> Option<Sourced<u32>> {
    if let Some(cpus) = &inv.platform_cpus {
        return Some(cpus.clone());
    }
    if let Some((quantity, place)) = &inv.cpu_limit
        && let Some(value) = whole_cpus(quantity)
    {
        return Some(Sourced { value, source: format!("Kubernetes resources.limits.cpu {quantity} of {place}") });
    }
    let (compose_path, service) = inv.service.as_ref()?;
    let (path, name, quantity, line) =
        discovery.service_cpus.iter().find(|(path, name, _, _)| path == compose_path && name == service)?;
    let value = whole_cpus(quantity)?;
    Some(Sourced { value, source: format!("CPU limit {quantity} of service {name} ({}:{line})", path.display()) })
}

/// `resources.limits.cpu` of the Kubernetes container that runs gunicorn (or of the only
/// container with a limit), from the manifests discovery already read.
fn kubernetes_cpus(discovery: &Discovery) -> Option<Sourced<u32>> {
    let limits = &discovery.container_cpus;
    let chosen = limits.iter().find(|c| c.runs_gunicorn).or(if limits.len() == 1 { limits.first() } else { None })?;
    let value = whole_cpus(&chosen.quantity)?;
    Some(Sourced { value, source: format!("Kubernetes resources.limits.cpu {} ({})", chosen.quantity, chosen.place) })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn target_is_clamped() {
        assert_eq!(target_workers(1), 3);
        assert_eq!(target_workers(2), 5);
        assert_eq!(target_workers(8), 12);
    }
}
