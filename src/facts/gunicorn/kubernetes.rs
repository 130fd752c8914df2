//! Kubernetes manifests (Deployment, StatefulSet... any workload with `containers:`): each
//! container's `command:` / `args:` is a server start like a compose `command:`, its `env:` the
//! environment that start gets, its `resources.limits.cpu` the CPUs it has, and the workload's
//! `spec.replicas` the number of instances that run it.
//!
//! `envFrom: - configMapRef: {name: x}` and `env[].valueFrom.configMapKeyRef` are read from the
//! ConfigMap manifests of the project (same namespace when both say one); a Secret's values
//! (`secretRef`, `secretKeyRef`) live only in the cluster and are reported as unknowable.
//!
//! A manifest is recognised by a top-level `apiVersion:` and a `containers:` key, both checked on
//! the bytes before parsing: recorded HTTP cassettes and test data can be megabytes of YAML.

use std::path::{Path, PathBuf};

use tree_sitter::Node;

use super::discovery::EnvVar;
use crate::lang::compose::{self, ComposeCommand, EnvEntry};
use crate::lang::shell::{VarRef, Word};
use crate::project::kinds::is_compose_name;

/// One container of a workload.
#[derive(Debug, Clone)]
pub struct Container {
    /// `Deployment/web, container gunicorn`, for messages.
    pub describe: String,
    /// `command:` (replaces the image's ENTRYPOINT) then `args:` (replaces its CMD).
    pub command: Option<ComposeCommand>,
    pub args: Option<ComposeCommand>,
    /// `env:` entries with a literal `value:`.
    pub env: Vec<EnvEntry>,
    /// `envFrom:` sources and `env[].valueFrom` references, in order.
    pub env_refs: Vec<EnvRef>,
    /// The workload's `metadata.namespace`.
    pub namespace: Option<String>,
    /// `resources.limits.cpu`, as written, with its line.
    pub cpu: Option<(String, usize)>,
    /// The workload's `spec.replicas`, as written, with its line.
    pub replicas: Option<(String, usize)>,
}

/// A ConfigMap or Secret a container's environment comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvRef {
    /// `true` for a Secret (`secretRef`, `secretKeyRef`).
    pub secret: bool,
    /// The ConfigMap's or Secret's name.
    pub name: String,
    /// `valueFrom`: the variable set and the key read; `None` for `envFrom` (every key).
    pub key: Option<(String, String)>,
    /// `envFrom[].prefix`, put before every key.
    pub prefix: String,
    pub line: usize,
}

/// One ConfigMap manifest's `data:`.
#[derive(Debug, Clone)]
pub struct ConfigMap {
    pub path: PathBuf,
    pub name: String,
    pub namespace: Option<String>,
    /// Keys with their values (offsets into the manifest) and lines.
    pub data: Vec<(String, Word, usize)>,
}

/// Whether a file is a candidate manifest by name (YAML, not a compose file).
pub fn is_candidate(path: &Path) -> bool {
    let name = crate::project::kinds::name_of(path);
    (name.ends_with(".yaml") || name.ends_with(".yml")) && !is_compose_name(path)
}

/// The chart folder of a Helm template: a file under `templates/` of a folder holding
/// `Chart.yaml`. helm renders it with the chart's values, so it is never read as YAML.
pub fn helm_chart_of(project: &crate::project::Project, path: &Path) -> Option<PathBuf> {
    path.ancestors()
        .skip(1)
        .filter(|dir| dir.file_name().is_some_and(|n| n == "templates"))
        .find_map(|templates| templates.parent().filter(|chart| project.has_file(&chart.join("Chart.yaml"))))
        .map(Path::to_path_buf)
}

/// Why a server start in a Helm template is left alone.
pub fn helm_skip_reason(chart: &Path, line: usize) -> String {
    format!(
        "a Helm chart template (chart {}): helm renders it with values.yaml, so it is not read as YAML; the server \
         start at line {line} is left alone: edit values.yaml or the template by hand",
        chart.join("Chart.yaml").display()
    )
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
        let first = out.len();
        collect(text, document, &format!("{kind}{name}"), &replicas, &mut out);
        let namespace = metadata_field(text, document, "namespace");
        out[first..].iter_mut().for_each(|c| c.namespace = namespace.clone());
    }
    Ok(out)
}

fn metadata_field(text: &str, document: Node, key: &str) -> Option<String> {
    compose::get(text, document, "metadata")
        .and_then(|m| compose::get(text, m, key))
        .and_then(|n| compose::scalar(text, n))
        .map(|w| w.text)
}

/// The ConfigMaps of every document of a manifest; `Err(line)` for a YAML syntax error.
pub fn config_maps(path: &Path, text: &str) -> Result<Vec<ConfigMap>, usize> {
    let yaml = compose::parse_yaml(text)?;
    let mut out = Vec::new();
    for document in compose::document_mappings(&yaml) {
        let kind = compose::get(text, document, "kind").and_then(|n| compose::scalar(text, n));
        let Some(name) = metadata_field(text, document, "name") else { continue };
        if kind.is_none_or(|k| k.text != "ConfigMap") {
            continue;
        }
        let data = compose::get(text, document, "data")
            .map(|d| compose::pairs(text, d))
            .unwrap_or_default()
            .into_iter()
            .filter_map(|(key, value)| {
                let value = value?;
                Some((key, compose::scalar(text, value)?, line(value)))
            })
            .collect();
        let namespace = metadata_field(text, document, "namespace");
        out.push(ConfigMap { path: path.to_owned(), name, namespace, data });
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
        env_refs: env_refs(text, field("envFrom"), field("env")),
        namespace: None,
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
            Some(EnvEntry { key, value: Some(value), line: line(item), file: None })
        })
        .collect()
}

/// `envFrom:` sources (`configMapRef` / `secretRef`, with `prefix`), then `env[].valueFrom`
/// references (`configMapKeyRef` / `secretKeyRef`).
fn env_refs(text: &str, env_from: Option<Node>, env: Option<Node>) -> Vec<EnvRef> {
    let name_of = |node: Node| compose::get(text, node, "name").and_then(|n| compose::scalar(text, n)).map(|w| w.text);
    let mut refs = Vec::new();
    for item in env_from.map(compose::items).unwrap_or_default() {
        let prefix = compose::get(text, item, "prefix").and_then(|n| compose::scalar(text, n)).map(|w| w.text);
        for (kind, secret) in [("configMapRef", false), ("secretRef", true)] {
            if let Some(source) = compose::get(text, item, kind)
                && let Some(name) = name_of(source)
            {
                let prefix = prefix.clone().unwrap_or_default();
                refs.push(EnvRef { secret, name, key: None, prefix, line: line(item) });
            }
        }
    }
    for item in env.map(compose::items).unwrap_or_default() {
        let Some(from) = compose::get(text, item, "valueFrom") else { continue };
        let Some(variable) = name_of(item) else { continue };
        for (kind, secret) in [("configMapKeyRef", false), ("secretKeyRef", true)] {
            if let Some(source) = compose::get(text, from, kind)
                && let (Some(name), Some(key)) =
                    (name_of(source), compose::get(text, source, "key").and_then(|n| compose::scalar(text, n)))
            {
                let key = Some((variable.clone(), key.text));
                refs.push(EnvRef { secret, name, key, prefix: String::new(), line: line(item) });
            }
        }
    }
    refs
}

/// The variables a container's ConfigMap and Secret references give it (before its literal
/// `env:` values, which win), and the sources whose values are not in the project.
pub fn referenced_env(container: &Container, manifest: &Path, config_maps: &[ConfigMap]) -> (Vec<EnvVar>, Vec<String>) {
    let mut env = Vec::new();
    let mut unseen = Vec::new();
    let place = |r: &EnvRef| format!("{} ({}:{})", container.describe, manifest.display(), r.line);
    for reference in &container.env_refs {
        let kind = if reference.secret { "Secret" } else { "ConfigMap" };
        let matching: Vec<&ConfigMap> = config_maps
            .iter()
            .filter(|map| !reference.secret && map.name == reference.name)
            .filter(|map| {
                map.namespace.is_none() || container.namespace.is_none() || map.namespace == container.namespace
            })
            .collect();
        let [map] = matching.as_slice() else {
            let why = match (reference.secret, matching.len()) {
                (true, _) => "its values are only in the cluster",
                (false, 0) => "no manifest of the project defines it",
                _ => "several manifests of the project define it",
            };
            match &reference.key {
                Some((variable, key)) => env.push(unknown(
                    variable,
                    &format!("{kind} {}, key {key}", reference.name),
                    manifest,
                    reference.line,
                    &place(reference),
                )),
                None => unseen.push(format!("{kind} {} (envFrom of {}): {why}", reference.name, place(reference))),
            }
            continue;
        };
        let what = format!("ConfigMap {} ({}) for {}", map.name, map.path.display(), place(reference));
        for (key, value, line) in &map.data {
            let variable = match &reference.key {
                Some((variable, wanted)) if wanted == key => variable.clone(),
                Some(_) => continue,
                None => format!("{}{key}", reference.prefix),
            };
            env.push(EnvVar {
                key: variable,
                value: value.clone(),
                path: map.path.clone(),
                line: *line,
                what: what.clone(),
            });
        }
    }
    (env, unseen)
}

/// A variable whose value only the cluster knows (a Secret's key, a ConfigMap not in the
/// project): a value that reads as decided at run time.
fn unknown(variable: &str, source: &str, manifest: &Path, line: usize, place: &str) -> EnvVar {
    let text = format!("the value of {source}");
    let value = Word {
        vars: vec![VarRef { name: variable.to_owned(), text_range: 0..text.len(), has_default: false }],
        offsets: Vec::new(),
        span: 0..0,
        text,
    };
    EnvVar { key: variable.to_owned(), value, path: manifest.to_owned(), line, what: format!("valueFrom of {place}") }
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

    #[test]
    fn config_map_references_resolve_by_name_and_namespace() {
        let manifest = "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\n  namespace: prod\nspec:\n  template:\n    spec:\n      containers:\n        - name: web\n          envFrom:\n            - configMapRef: {name: env}\n              prefix: APP_\n            - secretRef: {name: secrets}\n          env:\n            - name: WEB_CONCURRENCY\n              valueFrom: {secretKeyRef: {name: tuning, key: workers}}\n";
        let maps = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: env, namespace: staging}\ndata: {DEBUG: \"1\"}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: env, namespace: prod}\ndata:\n  DEBUG: \"0\"\n";
        let container = &containers(manifest).unwrap()[0];
        assert_eq!(container.namespace.as_deref(), Some("prod"));
        let maps = config_maps(Path::new("maps.yaml"), maps).unwrap();
        let (env, unseen) = referenced_env(container, Path::new("web.yaml"), &maps);
        assert_eq!((env[0].key.as_str(), env[0].value.text.as_str(), env[0].line), ("APP_DEBUG", "0", 10));
        assert!(env[1].value.is_dynamic(), "a Secret's key is only known in the cluster");
        assert_eq!(env[1].key, "WEB_CONCURRENCY");
        assert_eq!(unseen.len(), 1);
        assert!(unseen[0].starts_with("Secret secrets (envFrom of Deployment/web, container web"), "{unseen:?}");
    }
}
