//! docker compose files (and the YAML helpers Kubernetes manifests need): services with their
//! `command:` (string, list, folded or literal block scalar), `environment:` (map or list),
//! `env_file:`, `build:` and CPU limits. Every scalar keeps its byte offsets.

use std::ops::Range;

use tree_sitter::{Node, Parser, Tree};

use super::shell::{self, Word};

/// A parsed YAML file.
pub struct Yaml {
    pub tree: Tree,
}

/// Parses YAML; `Err(line)` names the first line with a syntax error.
pub fn parse_yaml(text: &str) -> Result<Yaml, usize> {
    let mut parser = Parser::new();
    parser.set_language(&tree_sitter_yaml::LANGUAGE.into()).expect("the YAML grammar loads");
    let tree = parser.parse(text, None).ok_or(1usize)?;
    if tree.root_node().has_error() {
        return Err(first_error_line(tree.root_node()));
    }
    Ok(Yaml { tree })
}

fn first_error_line(node: Node) -> usize {
    if node.is_error() || node.is_missing() {
        return node.start_position().row + 1;
    }
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        if child.has_error() {
            return first_error_line(child);
        }
    }
    node.start_position().row + 1
}

/// Strips `block_node` / `flow_node` wrappers (and anchors or tags) down to the content node.
pub fn content(node: Node) -> Node {
    let mut node = node;
    while matches!(node.kind(), "block_node" | "flow_node") {
        let mut cursor = node.walk();
        let next = node.named_children(&mut cursor).find(|c| !matches!(c.kind(), "anchor" | "tag" | "comment"));
        match next {
            Some(child) => node = child,
            None => break,
        }
    }
    node
}

/// The top-level mapping of the first document.
pub fn root_mapping(yaml: &Yaml) -> Option<Node<'_>> {
    let root = yaml.tree.root_node();
    let mut cursor = root.walk();
    let document = root.named_children(&mut cursor).find(|n| n.kind() == "document")?;
    let mut cursor = document.walk();
    let body = document.named_children(&mut cursor).find(|n| matches!(n.kind(), "block_node" | "flow_node"))?;
    Some(content(body)).filter(|n| matches!(n.kind(), "block_mapping" | "flow_mapping"))
}

/// Every document's top-level mapping (Kubernetes files hold several).
pub fn document_mappings(yaml: &Yaml) -> Vec<Node<'_>> {
    let root = yaml.tree.root_node();
    let mut cursor = root.walk();
    let documents: Vec<Node> = root.named_children(&mut cursor).filter(|n| n.kind() == "document").collect();
    documents
        .into_iter()
        .filter_map(|document| {
            let mut cursor = document.walk();
            let body = document.named_children(&mut cursor).find(|n| matches!(n.kind(), "block_node" | "flow_node"))?;
            Some(content(body)).filter(|n| matches!(n.kind(), "block_mapping" | "flow_mapping"))
        })
        .collect()
}

/// The `(key, value)` pairs of a mapping node; the value is `None` for `key:` with nothing after.
/// An alias value (`environment: *env`) is the node its anchor names, and a merge key
/// (`<<: *app`, `<<: [*a, *b]`) adds the anchored mapping's pairs the mapping does not set
/// itself: the nodes stay those of the anchor, so an edit lands once, where the value is written.
pub fn pairs<'t>(text: &str, mapping: Node<'t>) -> Vec<(String, Option<Node<'t>>)> {
    let mut cursor = mapping.walk();
    let mut own = Vec::new();
    let mut merged = Vec::new();
    for pair in mapping.named_children(&mut cursor).filter(|n| matches!(n.kind(), "block_mapping_pair" | "flow_pair")) {
        let Some(key) = pair.child_by_field_name("key").and_then(|k| scalar(text, content(k))) else { continue };
        let value = pair.child_by_field_name("value").map(|v| resolve_alias(text, content(v)));
        match value {
            Some(value) if key.text == "<<" => {
                let sources = if value.kind().ends_with("sequence") { items(value) } else { vec![value] };
                for source in sources.into_iter().map(|s| resolve_alias(text, s)) {
                    if matches!(source.kind(), "block_mapping" | "flow_mapping") {
                        merged.extend(pairs(text, source));
                    }
                }
            }
            _ => own.push((key.text, value)),
        }
    }
    // YAML's merge: the mapping's own keys win, then the first merged mapping that sets a key.
    for (key, value) in merged {
        if !own.iter().any(|(k, _)| *k == key) {
            own.push((key, value));
        }
    }
    own
}

/// The node an alias (`*app`) stands for: the content of the last anchor of that name before it;
/// any other node as it is.
pub fn resolve_alias<'t>(text: &str, node: Node<'t>) -> Node<'t> {
    if node.kind() != "alias" {
        return node;
    }
    let name = text[node.byte_range()].trim_start_matches('*');
    let mut root = node;
    while let Some(parent) = root.parent() {
        root = parent;
    }
    let mut found = None;
    let mut stack = vec![root];
    while let Some(current) = stack.pop() {
        if current.start_byte() >= node.start_byte() {
            continue;
        }
        if current.kind() == "anchor" && text[current.byte_range()].trim_start_matches('&') == name {
            if found.is_none_or(|f: Node| f.start_byte() < current.start_byte()) {
                found = Some(current);
            }
            continue;
        }
        let mut cursor = current.walk();
        stack.extend(current.children(&mut cursor));
    }
    match found.and_then(|anchor| anchor.parent()) {
        Some(anchored) if anchored.kind() != "alias" => content(anchored),
        _ => node,
    }
}

/// The value of `key` in a mapping.
pub fn get<'t>(text: &str, mapping: Node<'t>, key: &str) -> Option<Node<'t>> {
    if !matches!(mapping.kind(), "block_mapping" | "flow_mapping") {
        return None;
    }
    pairs(text, mapping).into_iter().find(|(k, _)| k == key).and_then(|(_, v)| v)
}

/// The items of a sequence node.
pub fn items<'t>(sequence: Node<'t>) -> Vec<Node<'t>> {
    let mut cursor = sequence.walk();
    match sequence.kind() {
        "block_sequence" => sequence
            .named_children(&mut cursor)
            .filter(|n| n.kind() == "block_sequence_item")
            .filter_map(|item| {
                let mut c = item.walk();
                let value = item.named_children(&mut c).find(|n| n.kind() != "comment");
                value.map(content)
            })
            .collect(),
        "flow_sequence" => {
            sequence.named_children(&mut cursor).filter(|n| n.kind() != "comment").map(content).collect()
        }
        _ => Vec::new(),
    }
}

/// A scalar's value with per-byte offsets (plain, quoted or block scalar).
pub fn scalar(text: &str, node: Node) -> Option<Word> {
    let range = node.byte_range();
    let raw = &text[range.clone()];
    let identity = |r: Range<usize>| Word {
        text: text[r.clone()].to_owned(),
        offsets: r.clone().collect(),
        span: range.clone(),
        vars: Vec::new(),
    };
    match node.kind() {
        "plain_scalar" | "string_scalar" | "integer_scalar" | "float_scalar" | "boolean_scalar" | "null_scalar"
        | "timestamp_scalar" => Some(identity(range.clone())),
        "double_quote_scalar" => {
            let mut word = Word { text: String::new(), offsets: Vec::new(), span: range.clone(), vars: Vec::new() };
            let mut pos = range.start + 1;
            let end = range.end - 1;
            while pos < end {
                let ch = text[pos..].chars().next()?;
                if ch == '\\' && pos + 1 < end {
                    let decoded = match text.as_bytes()[pos + 1] {
                        b'n' => '\n',
                        b't' => '\t',
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        _ => ' ',
                    };
                    word.text.push(decoded);
                    word.offsets.push(pos);
                    pos += 2;
                } else {
                    word.text.push(ch);
                    word.offsets.extend(pos..pos + ch.len_utf8());
                    pos += ch.len_utf8();
                }
            }
            Some(word)
        }
        "single_quote_scalar" => {
            let mut word = Word { text: String::new(), offsets: Vec::new(), span: range.clone(), vars: Vec::new() };
            let mut pos = range.start + 1;
            let end = range.end - 1;
            while pos < end {
                let ch = text[pos..].chars().next()?;
                word.text.push(ch);
                word.offsets.extend(pos..pos + ch.len_utf8());
                pos += ch.len_utf8();
                if ch == '\'' {
                    pos += 1;
                }
            }
            Some(word)
        }
        "block_scalar" => {
            // The header line (`|`, `>-`...) is not content; the lines after it are.
            let header_end = raw.find('\n').map_or(range.end, |i| range.start + i + 1);
            Some(identity(header_end..range.end))
        }
        _ => None,
    }
}

/// How the items of a list are written, for inserting new ones in the same style.
#[derive(Debug, Clone)]
pub enum ListStyle {
    /// `- item` lines; new items go on their own lines with this indentation before `- `.
    Block { indent: String, quote: Option<char> },
    /// `[a, b]`.
    Flow { quote: Option<char> },
}

/// A `command:` or `entrypoint:` value.
#[derive(Debug, Clone)]
pub enum ComposeCommand {
    /// A string that compose splits like a shell would: the words.
    String { words: Vec<Word>, line: usize },
    /// A list: one word per item (spans include quotes).
    List { items: Vec<Word>, style: ListStyle, line: usize },
}

/// One `environment:` entry.
#[derive(Debug, Clone)]
pub struct EnvEntry {
    pub key: String,
    pub value: Option<Word>,
    pub line: usize,
    /// The file it is written in when a service inherits it from another file (`extends:
    /// {file: ...}`), relative to the project root; `None`: the file being read.
    pub file: Option<std::path::PathBuf>,
}

/// One service of a compose file.
#[derive(Debug, Clone)]
pub struct Service {
    pub name: String,
    pub line: usize,
    pub command: Option<ComposeCommand>,
    pub entrypoint: Option<ComposeCommand>,
    pub environment: Vec<EnvEntry>,
    pub env_files: Vec<String>,
    /// `build:` (relative to the compose file's folder).
    pub build: Option<Build>,
    /// `deploy.resources.limits.cpus` or `cpus:`, as written, with its line.
    pub cpus: Option<(String, usize)>,
    /// `deploy.replicas`, as written, with its line: the instance count of the service.
    pub replicas: Option<(String, usize)>,
    /// `extends:` not resolved yet (one naming another file; one in the same file is merged by
    /// [`services`]).
    pub extends: Option<Extends>,
    /// The file `command:` / `entrypoint:` is written in when inherited from another file.
    pub command_file: Option<std::path::PathBuf>,
}

/// `extends: web`, `extends: {service: web}`, `extends: {file: common.yml, service: web}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extends {
    pub service: String,
    pub file: Option<String>,
}

impl Service {
    /// This service with what it inherits from `base` merged in, as compose merges `extends:`:
    /// `command` / `entrypoint` and single values are the service's own when it has them,
    /// `environment` is merged by key (the service's own winning: they come last), `env_file`
    /// lists are appended, `build` is merged field by field.
    pub fn merged_onto(self, base: &Service) -> Service {
        let inherits_command = self.command.is_none() && self.entrypoint.is_none();
        let mut environment = base.environment.clone();
        environment.retain(|entry| !self.environment.iter().any(|own| own.key == entry.key));
        environment.extend(self.environment);
        let build = match (self.build, &base.build) {
            (Some(own), Some(inherited)) => Some(Build {
                context: own.context,
                dockerfile: own.dockerfile.or_else(|| inherited.dockerfile.clone()),
                target: own.target.or_else(|| inherited.target.clone()),
            }),
            (own, inherited) => own.or_else(|| inherited.clone()),
        };
        Service {
            command: if inherits_command { base.command.clone() } else { self.command },
            entrypoint: if inherits_command { base.entrypoint.clone() } else { self.entrypoint },
            command_file: if inherits_command { base.command_file.clone() } else { self.command_file },
            environment,
            env_files: base.env_files.iter().cloned().chain(self.env_files).collect(),
            build,
            cpus: self.cpus.or_else(|| base.cpus.clone()),
            replicas: self.replicas.or_else(|| base.replicas.clone()),
            extends: None,
            ..self
        }
    }
}

/// A service's `build:`: `build: ./app` or `build: {context, dockerfile, target}`.
#[derive(Debug, Clone)]
pub struct Build {
    pub context: String,
    pub dockerfile: Option<String>,
    /// The stage built (`target: production`); the last stage when absent.
    pub target: Option<String>,
}

/// The services of a compose file.
pub fn services(text: &str) -> Result<Vec<Service>, usize> {
    let yaml = parse_yaml(text)?;
    let Some(root) = root_mapping(&yaml) else { return Ok(Vec::new()) };
    let Some(services) = get(text, root, "services") else { return Ok(Vec::new()) };
    if !matches!(services.kind(), "block_mapping" | "flow_mapping") {
        return Ok(Vec::new());
    }
    let line = |node: Node| node.start_position().row + 1;
    let services = pairs(text, services)
        .into_iter()
        .filter_map(|(name, body)| {
            let body = body?;
            let field = |key: &str| get(text, body, key);
            let command = |key: &str| field(key).and_then(|node| compose_command(text, node));
            let environment = field("environment").map(|env| environment(text, env)).unwrap_or_default();
            let env_files = match field("env_file") {
                Some(node) if node.kind().ends_with("sequence") => items(node)
                    .into_iter()
                    .filter_map(|item| match item.kind() {
                        "block_mapping" | "flow_mapping" => get(text, item, "path").and_then(|p| scalar(text, p)),
                        _ => scalar(text, item),
                    })
                    .map(|w| w.text)
                    .collect(),
                Some(node) => scalar(text, node).map(|w| vec![w.text]).unwrap_or_default(),
                None => Vec::new(),
            };
            let build = field("build").and_then(|node| build(text, node));
            let limit = field("deploy")
                .and_then(|d| get(text, d, "resources"))
                .and_then(|r| get(text, r, "limits"))
                .and_then(|l| get(text, l, "cpus"))
                .or_else(|| field("cpus"));
            let cpus = limit.and_then(|node| scalar(text, node).map(|w| (w.text, line(node))));
            let replicas = field("deploy")
                .and_then(|d| get(text, d, "replicas"))
                .and_then(|node| scalar(text, node).map(|w| (w.text, line(node))));
            Some(Service {
                name,
                line: line(body),
                command: command("command"),
                entrypoint: command("entrypoint"),
                environment,
                env_files,
                build,
                cpus,
                replicas,
                extends: field("extends").and_then(|node| extends(text, node)),
                command_file: None,
            })
        })
        .collect();
    Ok(resolve_extends(services))
}

fn extends(text: &str, node: Node) -> Option<Extends> {
    match node.kind() {
        "block_mapping" | "flow_mapping" => Some(Extends {
            service: scalar(text, get(text, node, "service")?)?.text,
            file: get(text, node, "file").and_then(|n| scalar(text, n)).map(|w| w.text),
        }),
        _ => scalar(text, node).map(|w| Extends { service: w.text, file: None }),
    }
}

/// Merges every same-file `extends:` (chains included, a cycle left unmerged); one naming
/// another file stays for the caller, which can read that file.
fn resolve_extends(mut services: Vec<Service>) -> Vec<Service> {
    for _ in 0..services.len() {
        let Some(i) = services.iter().position(|s| {
            s.extends.as_ref().is_some_and(|e| {
                e.file.is_none() && services.iter().any(|b| b.name == e.service && b.extends.is_none())
            })
        }) else {
            break;
        };
        let wanted = services[i].extends.clone().map(|e| e.service).unwrap_or_default();
        let base = services.iter().find(|b| b.name == wanted).cloned().expect("checked above");
        let own = services[i].clone();
        services[i] = own.merged_onto(&base);
    }
    services
}

fn build(text: &str, node: Node) -> Option<Build> {
    let text_of = |key: &str| get(text, node, key).and_then(|n| scalar(text, n)).map(|w| w.text);
    match node.kind() {
        "block_mapping" | "flow_mapping" => Some(Build {
            context: text_of("context").unwrap_or_else(|| ".".to_owned()),
            dockerfile: text_of("dockerfile"),
            target: text_of("target"),
        }),
        _ => scalar(text, node).map(|w| Build { context: w.text, dockerfile: None, target: None }),
    }
}

/// A `command:` / `entrypoint:` (compose) or `command:` / `args:` (Kubernetes) value.
pub fn compose_command(text: &str, node: Node) -> Option<ComposeCommand> {
    let line = node.start_position().row + 1;
    match node.kind() {
        "block_sequence" | "flow_sequence" => {
            let nodes = items(node);
            let words: Vec<Word> = nodes.iter().filter_map(|item| scalar(text, *item)).collect();
            let quote = nodes.first().and_then(|n| match n.kind() {
                "double_quote_scalar" => Some('"'),
                "single_quote_scalar" => Some('\''),
                _ => None,
            });
            let style = if node.kind() == "block_sequence" {
                let start = node.start_byte();
                let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
                ListStyle::Block { indent: text[line_start..start].to_owned(), quote }
            } else {
                ListStyle::Flow { quote }
            };
            Some(ComposeCommand::List { items: words, style, line })
        }
        _ => {
            let value = scalar(text, node)?;
            let words = shell::words(&value.text).iter().map(|w| w.remap(&value.offsets)).collect();
            Some(ComposeCommand::String { words, line })
        }
    }
}

fn environment(text: &str, node: Node) -> Vec<EnvEntry> {
    let line = |node: Node| node.start_position().row + 1;
    match node.kind() {
        // Through `pairs`: `<<: *common-env` merges an anchored environment.
        "block_mapping" | "flow_mapping" => pairs(text, node)
            .into_iter()
            .map(|(key, value)| EnvEntry {
                key,
                line: value.map_or_else(|| line(node), line),
                value: value.and_then(|v| scalar(text, v)),
                file: None,
            })
            .collect(),
        "block_sequence" | "flow_sequence" => items(node)
            .into_iter()
            .filter_map(|item| {
                let word = scalar(text, item)?;
                let (key, value) = match word.text.find('=') {
                    Some(eq) => {
                        let value = Word {
                            text: word.text[eq + 1..].to_owned(),
                            offsets: word.offsets[eq + 1..].to_vec(),
                            span: word.span.clone(),
                            vars: Vec::new(),
                        };
                        (word.text[..eq].to_owned(), Some(value))
                    }
                    None => (word.text.clone(), None),
                };
                Some(EnvEntry { key, value, line: line(item), file: None })
            })
            .collect(),
        _ => Vec::new(),
    }
}

/// A CPU quantity as compose (`"1.5"`, `2`) or Kubernetes (`500m`, `2`) writes it, rounded up
/// to whole CPUs (at least 1).
pub fn whole_cpus(quantity: &str) -> Option<u32> {
    let quantity = quantity.trim().trim_matches(['"', '\'']);
    let cpus = match quantity.strip_suffix('m') {
        Some(milli) => milli.parse::<f64>().ok()? / 1000.0,
        None => quantity.parse::<f64>().ok()?,
    };
    (cpus > 0.0 && cpus.is_finite()).then(|| (cpus.ceil() as u32).max(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn services_commands_and_environment() {
        let text = "services:\n  web:\n    build: .\n    command: >\n      gunicorn app:app\n      --workers 3\n    environment:\n      - WEB_CONCURRENCY=4\n    env_file: [.env]\n    deploy:\n      resources:\n        limits:\n          cpus: \"1.5\"\n  worker:\n    command: [\"celery\", 'worker']\n    environment:\n      GUNICORN_CMD_ARGS: \"-w 2\"\n";
        let services = services(text).unwrap();
        assert_eq!(services.len(), 2);
        let web = &services[0];
        let Some(ComposeCommand::String { words, .. }) = &web.command else { panic!() };
        let texts: Vec<&str> = words.iter().map(|w| w.text.as_str()).collect();
        assert_eq!(texts, ["gunicorn", "app:app", "--workers", "3"]);
        assert_eq!(&text[words[3].source_range(0..1).unwrap()], "3");
        assert_eq!(web.environment[0].key, "WEB_CONCURRENCY");
        assert_eq!(&text[web.environment[0].value.as_ref().unwrap().source_range(0..1).unwrap()], "4");
        assert_eq!(web.env_files, [".env"]);
        assert_eq!(whole_cpus(&web.cpus.as_ref().unwrap().0), Some(2));
        let Some(ComposeCommand::List { items, style, .. }) = &services[1].command else { panic!() };
        assert_eq!(items[1].text, "worker");
        assert!(matches!(style, ListStyle::Flow { quote: Some('"') }));
        assert_eq!(services[1].environment[0].value.as_ref().unwrap().text, "-w 2");
        assert_eq!(whole_cpus("500m"), Some(1));
    }

    #[test]
    fn anchors_and_merge_keys() {
        let text = "x-env: &env\n  WEB_CONCURRENCY: \"2\"\nx-app: &app\n  build: .\n  command: gunicorn app.wsgi -w 2\n  environment:\n    <<: *env\n    DEBUG: \"0\"\nservices:\n  web:\n    <<: *app\n    cpus: 4\n  worker:\n    <<: *app\n    command: celery -A app worker\n    environment: *env\n";
        let services = services(text).unwrap();
        let Some(ComposeCommand::String { words, line }) = &services[0].command else {
            panic!("web inherits the command")
        };
        assert_eq!((words[0].text.as_str(), *line), ("gunicorn", 5), "the anchor's own bytes");
        assert_eq!(
            services[0].environment.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(),
            ["DEBUG", "WEB_CONCURRENCY"]
        );
        assert_eq!(services[0].environment[1].line, 2);
        assert_eq!(services[0].cpus.as_ref().unwrap().0, "4");
        assert!(services[0].build.is_some());
        let Some(ComposeCommand::String { words, .. }) = &services[1].command else { panic!() };
        assert_eq!(words[0].text, "celery", "the service's own key wins over the merged one");
        assert_eq!(services[1].environment[0].key, "WEB_CONCURRENCY");
    }

    #[test]
    fn extends_in_the_same_file() {
        let text = "services:\n  base:\n    build: {context: ., target: prod}\n    command: gunicorn app.wsgi\n    env_file: [common.env]\n    environment: {A: \"1\", B: \"2\"}\n  web:\n    extends: base\n    env_file: web.env\n    environment: {B: \"3\"}\n  worker:\n    extends: {service: web}\n    command: celery -A app worker\n  other:\n    extends: {file: other.yml, service: x}\n";
        let services = services(text).unwrap();
        let web = &services[1];
        let Some(ComposeCommand::String { words, line }) = &web.command else { panic!("web inherits the command") };
        assert_eq!((words[0].text.as_str(), *line), ("gunicorn", 4), "the base's own bytes");
        assert_eq!(web.env_files, ["common.env", "web.env"]);
        let env: Vec<(&str, &str)> =
            web.environment.iter().map(|e| (e.key.as_str(), e.value.as_ref().unwrap().text.as_str())).collect();
        assert_eq!(env, [("A", "1"), ("B", "3")]);
        assert_eq!(web.build.as_ref().unwrap().target.as_deref(), Some("prod"));
        let worker = &services[2];
        let Some(ComposeCommand::String { words, .. }) = &worker.command else { panic!() };
        assert_eq!(words[0].text, "celery", "its own command wins");
        assert_eq!(worker.env_files, ["common.env", "web.env"], "a chain of extends");
        assert_eq!(
            services[3].extends,
            Some(Extends { service: "x".to_owned(), file: Some("other.yml".to_owned()) }),
            "another file's service is left to the caller"
        );
    }
}
