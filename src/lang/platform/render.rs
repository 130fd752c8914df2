//! Render's Blueprint file, `render.yaml`: the `services[]` that run a process (`type: web`,
//! `worker`, `pserv`), with the command Render starts (`startCommand` on a native runtime,
//! `dockerCommand` on `runtime: docker`, else the image's own CMD), the environment
//! (`envVars`, and the `envVarGroups` a service links with `fromGroup`), the instance type
//! (`plan`) and the instance count (`numInstances`, `scaling`).
//!
//! Field names as the Blueprint YAML reference documents them (render.com/docs/blueprint-spec).

use tree_sitter::Node;

use super::{EnvValue, PlatformCommand, Setting, command_at, line, setting};
use crate::lang::compose::{Yaml, get, items, pairs, parse_yaml, root_mapping, scalar};

/// One Render service that runs a process.
#[derive(Debug, Clone, Default)]
pub struct RenderService {
    pub name: String,
    /// `runtime:` (or the older `env:`): `python`, `docker`, `image`...
    pub runtime: String,
    /// `startCommand` (native runtimes) or `dockerCommand` (Docker): the command Render runs.
    pub command: Option<PlatformCommand>,
    /// `dockerfilePath`, `dockerContext` and `rootDir`, as written.
    pub dockerfile: Option<String>,
    pub docker_context: Option<String>,
    pub root_dir: Option<String>,
    /// `envVars` entries with a literal `value`, linked groups' first, then the service's own.
    pub env: Vec<EnvValue>,
    /// `envVars` entries whose value is only known on Render (`fromDatabase`, `fromService`,
    /// `generateValue`, `sync: false`): key, why, line.
    pub unknown_env: Vec<(String, String, usize)>,
    pub plan: Option<Setting>,
    /// `numInstances`, and `scaling.maxInstances` (autoscaling: up to that many).
    pub instances: Option<Setting>,
    pub max_instances: Option<Setting>,
    /// 1-based line of the service.
    pub line: usize,
}

impl RenderService {
    /// Whether Render builds the service from a Dockerfile.
    pub fn is_docker(&self) -> bool {
        self.runtime == "docker"
    }
}

/// Reads a `render.yaml`; `Err(line)` names the line of a YAML syntax error.
pub fn render(text: &str) -> Result<Vec<RenderService>, usize> {
    let yaml = parse_yaml(text)?;
    let Some(root) = root_mapping(&yaml) else { return Ok(Vec::new()) };
    let groups = env_groups(text, &yaml);
    let Some(services) = get(text, root, "services") else { return Ok(Vec::new()) };
    Ok(items(services).into_iter().filter_map(|node| service(text, node, &groups)).collect())
}

/// `envVarGroups[]`: name -> its literal values.
fn env_groups(text: &str, yaml: &Yaml) -> Vec<(String, Vec<EnvValue>)> {
    let Some(root) = root_mapping(yaml) else { return Vec::new() };
    let Some(groups) = get(text, root, "envVarGroups") else { return Vec::new() };
    items(groups)
        .into_iter()
        .filter_map(|group| {
            let name = scalar(text, get(text, group, "name")?)?.text;
            let mut unknown = Vec::new();
            let env =
                get(text, group, "envVars").map(|vars| env_vars(text, vars, &[], &mut unknown)).unwrap_or_default();
            Some((name, env))
        })
        .collect()
}

fn service(text: &str, node: Node, groups: &[(String, Vec<EnvValue>)]) -> Option<RenderService> {
    let field = |key: &str| get(text, node, key);
    let value = |key: &str| field(key).and_then(|n| scalar(text, n)).map(|w| w.text);
    let kind = value("type").unwrap_or_default();
    if !matches!(kind.as_str(), "web" | "worker" | "pserv") {
        return None;
    }
    let name = value("name").unwrap_or_else(|| kind.clone());
    let runtime = value("runtime").or_else(|| value("env")).unwrap_or_default();
    let command_key = if runtime == "docker" || runtime == "image" { "dockerCommand" } else { "startCommand" };
    let command = field(command_key).and_then(|n| command_at(text, n, command_key));
    let mut unknown_env = Vec::new();
    let env = field("envVars").map(|vars| env_vars(text, vars, groups, &mut unknown_env)).unwrap_or_default();
    let scaling = field("scaling");
    Some(RenderService {
        name,
        runtime,
        command,
        dockerfile: value("dockerfilePath"),
        docker_context: value("dockerContext"),
        root_dir: value("rootDir"),
        env,
        unknown_env,
        plan: field("plan").and_then(|n| setting(text, n)),
        instances: field("numInstances").and_then(|n| setting(text, n)),
        max_instances: scaling.and_then(|s| get(text, s, "maxInstances")).and_then(|n| setting(text, n)),
        line: line(node),
    })
}

/// The literal values of an `envVars` list, in order: a `fromGroup` entry brings its group's
/// values where it stands; the entries Render fills in itself are listed in `unknown`.
fn env_vars(
    text: &str,
    vars: Node,
    groups: &[(String, Vec<EnvValue>)],
    unknown: &mut Vec<(String, String, usize)>,
) -> Vec<EnvValue> {
    let mut env = Vec::new();
    for entry in items(vars) {
        let fields = pairs(text, entry);
        let text_of =
            |key: &str| fields.iter().find(|(k, _)| k == key).and_then(|(_, v)| *v).and_then(|v| scalar(text, v));
        if let Some(group) = text_of("fromGroup") {
            env.extend(groups.iter().filter(|(name, _)| *name == group.text).flat_map(|(_, values)| values.clone()));
            continue;
        }
        let Some(key) = text_of("key").map(|k| k.text) else { continue };
        let value = fields.iter().find(|(k, _)| k == "value").and_then(|(_, v)| *v);
        match value.and_then(|v| scalar(text, v).map(|w| (w, line(v)))) {
            Some((value, line)) => env.push(EnvValue { key, value, line }),
            None => {
                let why = fields
                    .iter()
                    .map(|(k, _)| k.as_str())
                    .find(|k| *k != "key")
                    .map_or("no value".to_owned(), |k| format!("`{k}`"));
                unknown.push((key, why, line(entry)));
            }
        }
    }
    env
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_env_and_sizes() {
        let text = "envVarGroups:\n  - name: tuning\n    envVars:\n      - key: GUNICORN_CMD_ARGS\n        value: --timeout 30\nservices:\n  - type: web\n    name: shop\n    runtime: python\n    plan: standard\n    numInstances: 2\n    startCommand: \"python manage.py migrate && gunicorn shop.wsgi -w 2\"\n    envVars:\n      - fromGroup: tuning\n      - key: WEB_CONCURRENCY\n        value: 3\n      - key: SECRET_KEY\n        generateValue: true\n  - type: redis\n    name: cache\n";
        let services = render(text).unwrap();
        assert_eq!(services.len(), 1);
        let web = &services[0];
        let command = web.command.as_ref().unwrap();
        assert_eq!(command.line, 12);
        assert_eq!(&text[command.words.last().unwrap().span.clone()], "2");
        assert_eq!(
            web.env.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(),
            ["GUNICORN_CMD_ARGS", "WEB_CONCURRENCY"]
        );
        assert_eq!(&text[web.env[1].value.source_range(0..1).unwrap()], "3");
        assert_eq!(web.unknown_env, [("SECRET_KEY".to_owned(), "`generateValue`".to_owned(), 17)]);
        assert_eq!(web.plan.as_ref().unwrap().value, "standard");
        assert_eq!(web.instances.as_ref().unwrap().value, "2");
        let docker = render("services:\n  - type: web\n    name: api\n    runtime: docker\n    dockerfilePath: ./deploy/Dockerfile\n    scaling:\n      minInstances: 1\n      maxInstances: 4\n").unwrap();
        assert!(docker[0].is_docker() && docker[0].command.is_none());
        assert_eq!(docker[0].dockerfile.as_deref(), Some("./deploy/Dockerfile"));
        assert_eq!(docker[0].max_instances.as_ref().unwrap().value, "4");
        assert!(render("services:\n  - type: [web\n").is_err());
    }
}
