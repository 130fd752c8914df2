//! gunicorn configuration files (`gunicorn.conf.py`, `-c path`, `-c python:module`): the
//! module-level assignments of `workers`, `worker_class` and `threads`, read with tree-sitter so
//! that comments that mention workers are never mistaken for settings.
//!
//! Parsing and the generic Python shapes come from [`crate::lang::python`]; what is local is
//! gunicorn's meaning: gunicorn executes the file, so only the forms seen in real projects are
//! understood (a literal, `int(os.environ.get("X", "3"))`, `os.getenv`, a `cpu_count()` formula);
//! anything else is reported as decided at runtime.

use std::ops::Range;
use std::sync::Arc;

use tree_sitter::Node;

use super::resolve::Value;
use crate::facts::problem::Problem;
use crate::lang::python::{self, PyFile};
use crate::text::source::SourceFile;

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

/// Reads a config file; an error outcome at the first syntax error.
pub fn read(source: Arc<SourceFile>) -> Result<ConfigFile, Box<Problem>> {
    let file = python::parse(source).map_err(|err| {
        Box::new(Problem::unreadable(
            err.location,
            "Python syntax error; gunicorn could not load this config file either",
        ))
    })?;
    let text = &file.source.text;
    // Counted over the raw text (comments included), as this reader always has: a change of
    // heuristic would change the quotes of existing patches' output.
    let singles = text.matches('\'').count();
    let doubles = text.matches('"').count();
    let mut config = ConfigFile { quote: if singles > doubles { '\'' } else { '"' }, ..ConfigFile::default() };
    visit(&file, file.root(), true, &mut config);
    Ok(config)
}

/// Visits the statements of a block in order. Module-level assignments are read; an assignment
/// inside `if`/`try`/`for`/`with` at module level makes the setting conditional (decided at
/// runtime), unless a later module-level assignment overrides it. Function and class bodies are
/// not module settings.
fn visit(file: &PyFile, block: Node, module_level: bool, config: &mut ConfigFile) {
    for statement in python::named_children(block) {
        match statement.kind() {
            "expression_statement" => assignment(file, statement, module_level, config),
            "function_definition" | "class_definition" | "decorated_definition" => {}
            _ => {
                for child in python::named_children(statement) {
                    if matches!(
                        child.kind(),
                        "block" | "else_clause" | "elif_clause" | "except_clause" | "finally_clause"
                    ) {
                        visit(file, child, false, config);
                    }
                }
                if statement.kind() == "block" {
                    visit(file, statement, false, config);
                }
            }
        }
    }
}

fn assignment(file: &PyFile, statement: Node, module_level: bool, config: &mut ConfigFile) {
    // A chained `workers = threads = 4` is kept: its value is read as computed (decided at runtime).
    let Some(python::Assignment { left, value: right, .. }) = python::assignment_of(statement) else { return };
    let slot = match file.text(left) {
        "workers" => &mut config.workers,
        "worker_class" => &mut config.worker_class,
        "threads" => &mut config.threads,
        _ => return,
    };
    let line = file.line(statement);
    let line_end = file.source.end_of_line(statement.end_byte());
    if module_level {
        let (value, range, env_var) = evaluate(&file.source.text, right);
        *slot = Some(Assignment { value, range, line, env_var, line_end });
    } else {
        let value = Value::Dynamic(format!("a conditional assignment (line {line})"));
        *slot = Some(Assignment { value, range: None, line, env_var: None, line_end });
    }
}

/// The value of an expression as far as it can be known without running it.
fn evaluate(text: &str, node: Node) -> (Value, Option<Range<usize>>, Option<String>) {
    let source = &text[node.byte_range()];
    match node.kind() {
        "integer" => match source.parse() {
            Ok(n) => (Value::Int(n), Some(node.byte_range()), None),
            Err(_) => (Value::Dynamic(source.to_owned()), None, None),
        },
        "string" => match python::string_content(node) {
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
            let arguments = node.child_by_field_name("arguments").map(python::named_children).unwrap_or_default();
            match function {
                "int" | "str" if arguments.len() == 1 => evaluate(text, arguments[0]),
                "os.environ.get" | "os.getenv" | "environ.get" | "getenv" if !arguments.is_empty() => {
                    let var = python::string_content(arguments[0]).map(|r| text[r].to_owned());
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

#[cfg(test)]
mod tests {
    use super::*;

    fn source(text: &str) -> Arc<SourceFile> {
        Arc::new(SourceFile::from_text("gunicorn.conf.py", text))
    }

    #[test]
    fn forms_of_assignments() {
        let text = "import multiprocessing, os\n# workers = 99\nworkers = 3\nworkers = int(os.environ.get(\"GUNICORN_WORKERS\", \"4\"))\nworker_class = 'sync'\nthreads = multiprocessing.cpu_count() * 2\n";
        let config = read(source(text)).unwrap();
        let workers = config.workers.unwrap();
        assert_eq!(workers.value, Value::Int(4));
        assert_eq!(&text[workers.range.unwrap()], "4");
        assert_eq!(workers.env_var.as_deref(), Some("GUNICORN_WORKERS"));
        let class = config.worker_class.unwrap();
        assert_eq!(class.value, Value::Text("sync".into()));
        assert_eq!(&text[class.range.unwrap()], "sync");
        assert!(matches!(config.threads.unwrap().value, Value::Formula(_)));
        assert!(read(source("workers = (\n")).unwrap_err().describe().starts_with("gunicorn.conf.py:1"));
        let conditional =
            read(source("import os\nif os.environ.get('ENV') == 'prod':\n    workers = 8\nelse:\n    workers = 2\n"))
                .unwrap();
        assert!(matches!(conditional.workers.unwrap().value, Value::Dynamic(_)));
        let overridden = read(source("try:\n    import x\n    workers = 8\nexcept ImportError:\n    pass\nworkers = 2\ndef post_fork(server, worker):\n    threads = 9\n")).unwrap();
        assert_eq!(overridden.workers.unwrap().value, Value::Int(2));
        assert!(overridden.threads.is_none());
    }
}
