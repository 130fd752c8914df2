//! Kubernetes manifests (Deployment, StatefulSet... any workload with `containers:`): each
//! container's `command:` / `args:` is a server start like a compose `command:`, its `env:` the
//! environment that start gets, its `resources.limits.cpu` the CPUs it has, and the workload's
//! `spec.replicas` the number of instances that run it.
//!
//! A manifest is recognised by a top-level `apiVersion:` and a `containers:` key, both checked on
//! the bytes before parsing: recorded HTTP cassettes and test data can be megabytes of YAML.

use std::path::Path;

use tree_sitter::Node;

use crate::lang::compose::{self, ComposeCommand, EnvEntry};
use crate::lang::shell::Word;
use crate::project::kinds::is_compose_name;

/// One container of a workload.
#[derive(Debug, Clone)]
pub struct Container {
    /// `Deployment/web, container gunicorn`, for messages.
    pub describe: String,
    /// `command:` (replaces the image's ENTRYPOINT) then `args:` (replaces its CMD).
    pub command: Option<ComposeCommand>,
    pub args: Option<ComposeCommand>,
    /// `env:` entries with a literal `value:` (`valueFrom:` is only known in the cluster).
    pub env: Vec<EnvEntry>,
    /// `resources.limits.cpu`, as written, with its line.
    pub cpu: Option<(String, usize)>,
    /// The workload's `spec.replicas`, as written, with its line.
    pub replicas: Option<(String, usize)>,
}

/// Whether a file is a candidate manifest by name (YAML, not a compose file).
pub fn is_candidate(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    (name.ends_with(".yaml") || name.ends_with(".yml")) && !is_compose_name(path)
}

/// Whether the text declares a Kubernetes object (a top-level `apiVersion:`).
pub fn is_manifest(text: &str) -> bool {
    text.starts_with("apiVersion:") || text.contains("\napiVersion:")
}

/// The containers of every document of a manifest; `Err(line)` for a YAML syntax error.
pub fn containers(text: &str) -> Result<Vec<Container>, usize> {
    let yaml = compose::parse_yaml(text)?;
    let mut out = Vec::new();
    for document in compose::document_mappings(&yaml) {
        let field = |key: &str| compose::get(text, document, key);
        let kind = field("kind").and_then(|n| compose::scalar(text, n)).map_or("object".to_owned(), |w| w.text);
        let name = field("metadata")
            .and_then(|m| compose::get(text, m, "name"))
            .and_then(|n| compose::scalar(text, n))
            .map_or_else(String::new, |w| format!("/{}", w.text));
        let replicas = field("spec")
            .and_then(|s| compose::get(text, s, "replicas"))
            .and_then(|n| compose::scalar(text, n).map(|w| (w.text, line(n))));
        collect(text, document, &format!("{kind}{name}"), &replicas, &mut out);
    }
    Ok(out)
}

fn line(node: Node) -> usize {
    node.start_position().row + 1
}

/// Finds `containers:` lists at any depth (Deployment `spec.template.spec`, CronJob
/// `spec.jobTemplate.spec.template.spec`...).
fn collect(text: &str, node: Node, workload: &str, replicas: &Option<(String, usize)>, out: &mut Vec<Container>) {
    if matches!(node.kind(), "block_mapping" | "flow_mapping") {
        for (key, value) in compose::pairs(text, node) {
            let Some(value) = value else { continue };
            if key == "containers" {
                out.extend(compose::items(value).into_iter().map(|c| container(text, c, workload, replicas)));
            } else if key != "initContainers" {
                collect(text, value, workload, replicas, out);
            }
        }
    } else if node.kind().ends_with("sequence") {
        for item in compose::items(node) {
            collect(text, item, workload, replicas, out);
        }
    }
}

fn container(text: &str, node: Node, workload: &str, replicas: &Option<(String, usize)>) -> Container {
    let field = |key: &str| compose::get(text, node, key);
    let name = field("name").and_then(|n| compose::scalar(text, n)).map_or_else(String::new, |w| w.text);
    let cpu = field("resources")
        .and_then(|r| compose::get(text, r, "limits"))
        .and_then(|l| compose::get(text, l, "cpu"))
        .and_then(|n| compose::scalar(text, n).map(|w| (w.text, line(n))));
    Container {
        describe: format!("{workload}, container {name}"),
        command: field("command").and_then(|n| compose::compose_command(text, n)),
        args: field("args").and_then(|n| compose::compose_command(text, n)),
        env: field("env").map(|env| env_entries(text, env)).unwrap_or_default(),
        cpu,
        replicas: replicas.clone(),
    }
}

/// `- name: WEB_CONCURRENCY` / `value: "3"` entries: the value keeps its offsets inside the
/// quotes, so an edit of the number keeps them.
fn env_entries(text: &str, node: Node) -> Vec<EnvEntry> {
    compose::items(node)
        .into_iter()
        .filter_map(|item| {
            let key = compose::get(text, item, "name").and_then(|n| compose::scalar(text, n))?.text;
            let value = compose::get(text, item, "value").and_then(|n| compose::scalar(text, n))?;
            Some(EnvEntry { key, value: Some(value), line: line(item) })
        })
        .collect()
}

/// The words of a container's command line: `command:` then `args:`, and the list that holds the
/// last word (where new arguments go).
pub fn command_line(container: &Container) -> Option<(Vec<Word>, &ComposeCommand)> {
    let words = |c: &ComposeCommand| match c {
        ComposeCommand::String { words, .. } | ComposeCommand::List { items: words, .. } => words.clone(),
    };
    let mut all = container.command.as_ref().map(words).unwrap_or_default();
    all.extend(container.args.as_ref().map(words).unwrap_or_default());
    let last = container.args.as_ref().filter(|a| !words(a).is_empty()).or(container.command.as_ref())?;
    Some((all, last))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_containers_of_every_document() {
        let text = "apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n        - name: app\n          command: [\"gunicorn\"]\n          args:\n            - app.wsgi\n            - -w\n            - \"2\"\n          env:\n            - name: WEB_CONCURRENCY\n              value: \"4\"\n            - name: SECRET\n              valueFrom: {secretKeyRef: {name: s, key: k}}\n          resources:\n            limits:\n              cpu: 500m\n";
        let found = containers(text).unwrap();
        assert_eq!(found.len(), 1);
        let app = &found[0];
        assert_eq!(app.describe, "Deployment/web, container app");
        assert_eq!(app.replicas, Some(("3".to_owned(), 11)));
        assert_eq!(app.cpu, Some(("500m".to_owned(), 28)));
        assert_eq!(app.env.len(), 1);
        let value = app.env[0].value.as_ref().unwrap();
        assert_eq!(&text[value.source_range(0..1).unwrap()], "4");
        let (words, last) = command_line(app).unwrap();
        let texts: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["gunicorn", "app.wsgi", "-w", "2"]);
        assert!(matches!(last, ComposeCommand::List { style: compose::ListStyle::Block { .. }, .. }));
    }
}
