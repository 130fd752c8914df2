//! The CPU count of the production container and the worker count it calls for.
//!
//! Precedence (spec, "Shared inputs"): `--cpus`, then `cpus` in the user's config, then the limit
//! the deployment files set for the service that runs gunicorn (compose
//! `deploy.resources.limits.cpus` / `cpus:`, Kubernetes `resources.limits.cpu`), else 2, stated as
//! an assumption. Never the CPU count of the machine running scalepatch.

use std::path::Path;

use tree_sitter::Node;

use super::discovery::{Discovery, Invocation, is_compose};
use crate::config::Sourced;
use crate::lang::compose::{self, whole_cpus};
use crate::project::Project;
use crate::serving::ServerKind;

/// The fallback when nothing says how many CPUs the container gets.
pub const ASSUMED_CPUS: u32 = 2;

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
    own.or_else(|| kubernetes_cpus(project)).unwrap_or(Sourced {
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
    own_limit(discovery, inv).unwrap_or_else(|| project_cpus.clone())
}

/// The CPU limit the deployment files give the container that runs `inv`.
fn own_limit(discovery: &Discovery, inv: &Invocation) -> Option<Sourced<u32>> {
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
/// container with a limit).
fn kubernetes_cpus(project: &Project) -> Option<Sourced<u32>> {
    let yaml_files: Vec<_> = project
        .files_where(|p| {
            let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
            (name.ends_with(".yaml") || name.ends_with(".yml")) && !is_compose(p)
        })
        .cloned()
        .collect();
    let mut limits: Vec<(bool, String, String)> = Vec::new();
    // `containers:` and a top-level `apiVersion:` before parsing: test fixtures and recorded HTTP
    // cassettes can be megabytes of YAML that merely mention "containers" (saleor: 2.3 MB, over
    // a second to parse in a debug build).
    for path in project.files_containing(&yaml_files, "containers:") {
        let Ok(file) = project.read(&path) else { continue };
        if !(file.text.starts_with("apiVersion:") || file.text.contains("\napiVersion:")) {
            continue;
        }
        let Ok(yaml) = compose::parse_yaml(&file.text) else { continue };
        for document in compose::document_mappings(&yaml) {
            collect_containers(&file.text, document, &path, &mut limits);
        }
    }
    let chosen =
        limits.iter().find(|(gunicorn, _, _)| *gunicorn).or(if limits.len() == 1 { limits.first() } else { None })?;
    let value = whole_cpus(&chosen.1)?;
    Some(Sourced { value, source: format!("Kubernetes resources.limits.cpu {} ({})", chosen.1, chosen.2) })
}

fn collect_containers(text: &str, node: Node, path: &Path, out: &mut Vec<(bool, String, String)>) {
    if matches!(node.kind(), "block_mapping" | "flow_mapping") {
        for (key, value) in compose::pairs(text, node) {
            let Some(value) = value else { continue };
            if key == "containers" {
                for container in compose::items(value) {
                    let cpu = compose::get(text, container, "resources")
                        .and_then(|r| compose::get(text, r, "limits"))
                        .and_then(|l| compose::get(text, l, "cpu"));
                    if let Some(cpu) = cpu.and_then(|n| compose::scalar(text, n)) {
                        let runs_gunicorn = text[container.byte_range()].contains("gunicorn");
                        let line = cpu.offsets.first().map_or(0, |&o| text[..o].matches('\n').count() + 1);
                        out.push((runs_gunicorn, cpu.text, format!("{}:{line}", path.display())));
                    }
                }
            } else {
                collect_containers(text, value, path, out);
            }
        }
    } else if node.kind().ends_with("sequence") {
        for item in compose::items(node) {
            collect_containers(text, item, path, out);
        }
    }
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
