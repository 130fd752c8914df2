//! gunicorn configuration files (`gunicorn.conf.py`, `-c path`, `-c python:module`): the
//! module-level assignments of `workers`, `worker_class` and `threads`, read with tree-sitter so
//! that comments that mention workers are never mistaken for settings.
//!
//! Kept local and small on purpose: gunicorn executes the file, so only the forms seen in real
//! projects are understood (a literal, `int(os.environ.get("X", "3"))`, `os.getenv`, a
//! `cpu_count()` formula); anything else is reported as decided at runtime.

use std::ops::Range;

use tree_sitter::{Node, Parser};

use super::resolve::Value;

/// One assignment of a setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub value: Value,
    /// The bytes to replace with a new value (the digits of `3`, the text inside `'sync'`).
    pub range: Option<Range<usize>>,
    /// 1-based line.
    pub line: usize,
    /// The environment variable read first (`os.environ.get("GUNICORN_WORKERS", "3")`).
    pub env_var: Option<String>,
    /// End of the statement's line (line ending included): where a companion line goes.
    pub line_end: usize,
}

/// What a config file sets (the last module-level assignment of each name wins).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfigFile {
    pub workers: Option<Assignment>,
    pub worker_class: Option<Assignment>,
    pub threads: Option<Assignment>,
    /// The quote the file uses most for strings.
    pub quote: char,
}

/// Reads a config file; `Err((line, message))` for a syntax error.
pub fn read(text: &str) -> Result<ConfigFile, (usize, String)> {
    let mut parser = Parser::new();
    parser.set_language(&tree_sitter_python::LANGUAGE.into()).expect("the Python grammar loads");
    let tree = parser.parse(text, None).ok_or((1, "cannot parse".to_owned()))?;
    let root = tree.root_node();
    if root.has_error() {
        let line = error_line(root);
        return Err((line, "Python syntax error; gunicorn could not load this config file either".to_owned()));
    }
    let singles = text.matches('\'').count();
    let doubles = text.matches('"').count();
    let mut config = ConfigFile { quote: if singles > doubles { '\'' } else { '"' }, ..ConfigFile::default() };
    visit(text, root, true, &mut config);
    Ok(config)
}

/// Visits the statements of a block in order. Module-level assignments are read; an assignment
/// inside `if`/`try`/`for`/`with` at module level makes the setting conditional (decided at
/// runtime), unless a later module-level assignment overrides it. Function and class bodies are
/// not module settings.
fn visit(text: &str, block: Node, module_level: bool, config: &mut ConfigFile) {
    let mut cursor = block.walk();
    for statement in block.named_children(&mut cursor) {
        match statement.kind() {
            "expression_statement" => assignment(text, statement, module_level, config),
            "function_definition" | "class_definition" | "decorated_definition" => {}
            _ => {
                let mut inner = statement.walk();
                for child in statement.named_children(&mut inner) {
                    if matches!(
                        child.kind(),
                        "block" | "else_clause" | "elif_clause" | "except_clause" | "finally_clause"
                    ) {
                        visit(text, child, false, config);
                    }
                }
                if statement.kind() == "block" {
                    visit(text, statement, false, config);
                }
            }
        }
    }
}

fn assignment(text: &str, statement: Node, module_level: bool, config: &mut ConfigFile) {
    let Some(assignment) = statement.named_child(0).filter(|n| n.kind() == "assignment") else { return };
    let (Some(left), Some(right)) = (assignment.child_by_field_name("left"), assignment.child_by_field_name("right"))
    else {
        return;
    };
    let slot = match &text[left.byte_range()] {
        "workers" => &mut config.workers,
        "worker_class" => &mut config.worker_class,
        "threads" => &mut config.threads,
        _ => return,
    };
    let line = statement.start_position().row + 1;
    let end = statement.end_byte();
    let line_end = text[end..].find('\n').map_or(text.len(), |i| end + i + 1);
    if module_level {
        let (value, range, env_var) = evaluate(text, right);
        *slot = Some(Assignment { value, range, line, env_var, line_end });
    } else {
        let value = Value::Dynamic(format!("a conditional assignment (line {line})"));
        *slot = Some(Assignment { value, range: None, line, env_var: None, line_end });
    }
}

fn error_line(node: Node) -> usize {
    if node.is_error() || node.is_missing() {
        return node.start_position().row + 1;
    }
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        if child.has_error() {
            return error_line(child);
        }
    }
    node.start_position().row + 1
}

/// The value of an expression as far as it can be known without running it.
fn evaluate(text: &str, node: Node) -> (Value, Option<Range<usize>>, Option<String>) {
    let source = &text[node.byte_range()];
    match node.kind() {
        "integer" => match source.parse() {
            Ok(n) => (Value::Int(n), Some(node.byte_range()), None),
            Err(_) => (Value::Dynamic(source.to_owned()), None, None),
        },
        "string" => match string_content(node) {
            Some(content) => {
                let value = &text[content.clone()];
                match value.parse::<u32>() {
                    Ok(n) => (Value::Int(n), Some(content), None),
                    Err(_) => (Value::Text(value.to_owned()), Some(content), None),
                }
            }
            None => (Value::Text(String::new()), None, None),
        },
        _ if source.contains("cpu_count") || source.contains("sched_getaffinity") => {
            (Value::Formula(source.to_owned()), None, None)
        }
        "call" => {
            let function = node.child_by_field_name("function").map_or("", |f| &text[f.byte_range()]);
            let arguments: Vec<Node> = node
                .child_by_field_name("arguments")
                .map(|args| {
                    let mut cursor = args.walk();
                    args.named_children(&mut cursor).filter(|n| n.kind() != "comment").collect()
                })
                .unwrap_or_default();
            match function {
                "int" | "str" if arguments.len() == 1 => evaluate(text, arguments[0]),
                "os.environ.get" | "os.getenv" | "environ.get" | "getenv" if !arguments.is_empty() => {
                    let var = string_content(arguments[0]).map(|r| text[r].to_owned());
                    match arguments.get(1) {
                        Some(default) => {
                            let (value, range, _) = evaluate(text, *default);
                            (value, range, var)
                        }
                        None => (Value::Dynamic(source.to_owned()), None, var),
                    }
                }
                _ => (Value::Dynamic(source.to_owned()), None, None),
            }
        }
        _ => (Value::Dynamic(source.to_owned()), None, None),
    }
}

/// The bytes between a string's quotes (none for f-strings or concatenations).
fn string_content(node: Node) -> Option<Range<usize>> {
    if node.kind() != "string" {
        return None;
    }
    let mut cursor = node.walk();
    let children: Vec<Node> = node.named_children(&mut cursor).collect();
    if children.iter().any(|c| c.kind() == "interpolation") {
        return None;
    }
    let start = children.iter().find(|c| c.kind() == "string_start")?.end_byte();
    let end = children.iter().find(|c| c.kind() == "string_end")?.start_byte();
    Some(start..end)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_of_assignments() {
        let text = "import multiprocessing, os\n# workers = 99\nworkers = 3\nworkers = int(os.environ.get(\"GUNICORN_WORKERS\", \"4\"))\nworker_class = 'sync'\nthreads = multiprocessing.cpu_count() * 2\n";
        let config = read(text).unwrap();
        let workers = config.workers.unwrap();
        assert_eq!(workers.value, Value::Int(4));
        assert_eq!(&text[workers.range.unwrap()], "4");
        assert_eq!(workers.env_var.as_deref(), Some("GUNICORN_WORKERS"));
        let class = config.worker_class.unwrap();
        assert_eq!(class.value, Value::Text("sync".into()));
        assert_eq!(&text[class.range.unwrap()], "sync");
        assert!(matches!(config.threads.unwrap().value, Value::Formula(_)));
        assert_eq!(read("workers = (\n").unwrap_err().0, 1);
        let conditional =
            read("import os\nif os.environ.get('ENV') == 'prod':\n    workers = 8\nelse:\n    workers = 2\n").unwrap();
        assert!(matches!(conditional.workers.unwrap().value, Value::Dynamic(_)));
        let overridden = read("try:\n    import x\n    workers = 8\nexcept ImportError:\n    pass\nworkers = 2\ndef post_fork(server, worker):\n    threads = 9\n").unwrap();
        assert_eq!(overridden.workers.unwrap().value, Value::Int(2));
        assert!(overridden.threads.is_none());
    }
}
