//! Questions asked of one parsed file: blocks by context path, and the values a block gets once
//! nginx has merged its parents' settings into it.

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

/// Directives with names whose values form a list: a level that sets any of them replaces the
/// whole inherited list ("inherited ... if and only if there are no proxy_set_header directives
/// defined on the current level").
pub const ARRAY_DIRECTIVES: &[&str] =
    &["proxy_set_header", "add_header", "proxy_hide_header", "fastcgi_param", "uwsgi_param", "gzip_types"];

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

    /// The directives named `name` that apply inside `scope`: those of the innermost enclosing
    /// block (the block itself first) that sets any. For single-value directives this is the
    /// effective value; for list directives ([`ARRAY_DIRECTIVES`]) the whole effective list, since
    /// a level that sets one loses all inherited ones.
    pub fn inherited(&self, scope: Scope, name: &str) -> Option<(Scope, Vec<DirId>)> {
        let mut current = scope;
        loop {
            let found: Vec<DirId> = self.children_named(current, name).collect();
            if !found.is_empty() {
                return Some((current, found));
            }
            current = self.directive(current?).parent;
        }
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
    fn inheritance_for_lists_stops_at_the_first_level_that_sets_any() {
        let config = parse(CONF).unwrap();
        let root = config.select("http > server > location /")[0];
        let (level, headers) = config.inherited(Some(root), "proxy_set_header").unwrap();
        assert_eq!(level.map(|id| config.name(id)), Some("http"));
        assert_eq!(config.args(headers[0])[0], "Host");
        let ws = config.select("http > server > location /ws/")[0];
        let (level, headers) = config.inherited(Some(ws), "proxy_set_header").unwrap();
        assert_eq!(level, Some(ws));
        assert_eq!(config.args(headers[0])[0], "Upgrade");
        assert_eq!(
            config.inherited(Some(ws), "gzip").map(|(_, d)| config.args(d[0])[0].to_string()),
            Some("on".into())
        );
        assert!(config.inherited(Some(ws), "gzip_vary").is_none());
    }
}
