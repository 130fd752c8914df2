//! Questions asked of one parsed file: blocks by context path, and what a block holds at any
//! depth. What a block inherits across files (includes, mounts) is a fact of the deployment, not
//! of one file: see `facts::nginx`.

use super::tree::{Config, DirId, Scope};

/// One step of a context path: a directive name and, optionally, its exact arguments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub name: String,
    pub args: Option<Vec<String>>,
}

/// Reads `http > server > location /` (or `location "/"`) into steps. A step without arguments
/// matches any arguments.
pub fn path(text: &str) -> Vec<Step> {
    text.split('>')
        .map(|step| {
            let mut words = step.split_whitespace();
            let name = words.next().unwrap_or_default().to_owned();
            let args: Vec<String> = words.map(|w| w.trim_matches(|c| c == '"' || c == '\'').to_owned()).collect();
            Step { name, args: (!args.is_empty()).then_some(args) }
        })
        .filter(|step| !step.name.is_empty())
        .collect()
}

impl Config {
    /// The blocks at a context path, such as `http > server > location /`, from the top level.
    pub fn select(&self, context: &str) -> Vec<DirId> {
        let steps = path(context);
        let mut current: Vec<Scope> = vec![None];
        for step in &steps {
            current = current
                .iter()
                .flat_map(|&scope| self.children_named(scope, &step.name))
                .filter(|&id| self.directive(id).block.is_some())
                .filter(|&id| step.args.as_ref().is_none_or(|want| self.args(id).iter().eq(want.iter())))
                .map(Some)
                .collect();
        }
        current.into_iter().flatten().collect()
    }

    /// Every directive named `name` inside `scope` (any depth), in tree order.
    pub fn descendants_named(&self, scope: DirId, name: &str) -> Vec<DirId> {
        let mut found = Vec::new();
        let mut stack = vec![scope];
        while let Some(current) = stack.pop() {
            for child in self.children(Some(current)) {
                if self.name(child) == name {
                    found.push(child);
                }
                if self.directive(child).block.is_some() {
                    stack.push(child);
                }
            }
        }
        found.sort();
        found
    }

    /// Every block inside `scope` (any depth), `scope` first, then breadth first.
    pub fn blocks_within(&self, scope: DirId) -> Vec<DirId> {
        let mut found = vec![scope];
        let mut index = 0;
        while index < found.len() {
            let current = found[index];
            index += 1;
            found.extend(self.children(Some(current)).filter(|&c| self.directive(c).block.is_some()));
        }
        found
    }

    /// The directive that contains `id` (`None` at the top level).
    pub fn parent(&self, id: DirId) -> Scope {
        self.directive(id).parent
    }
}

#[cfg(test)]
mod tests {
    use super::super::parse;

    const CONF: &str = "http {\n  proxy_set_header Host $host;\n  gzip on;\n  server {\n    listen 80;\n    location / { proxy_pass http://app; }\n    location /ws/ { proxy_set_header Upgrade $http_upgrade; proxy_pass http://app; }\n  }\n}\n";

    #[test]
    fn select_by_context_path() {
        let config = parse(CONF).unwrap();
        let found = config.select("http > server > location /");
        assert_eq!(found.len(), 1);
        assert_eq!(config.select("http > server > location \"/\""), found);
        assert_eq!(config.describe(found[0]), "location /");
        assert_eq!(config.select("http > server > location").len(), 2);
        assert!(config.select("http > location").is_empty());
    }

    #[test]
    fn descendants_and_blocks_within_a_block() {
        let config = parse(CONF).unwrap();
        let server = config.select("http > server")[0];
        let passes = config.descendants_named(server, "proxy_pass");
        assert_eq!(passes.len(), 2);
        assert!(passes.iter().all(|&p| config.name(p) == "proxy_pass"));
        let blocks: Vec<String> = config.blocks_within(server).into_iter().map(|b| config.describe(b)).collect();
        assert_eq!(blocks, ["server", "location /", "location /ws/"]);
    }
}
