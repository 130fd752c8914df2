//! Reading the shapes settings, models and config files are written in: assignments with their
//! scope, subscript paths, dicts (following `**splats`), calls' arguments, literals and strings,
//! each with the node it came from so that an edit can be placed by byte offset.

use std::path::{Path, PathBuf};

use tree_sitter::Node;

use super::PyFile;

/// A Python literal as far as a settings patch needs to know it.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

/// The value of a literal expression (`600`, `-1`, `None`, `True`, `"x"`, `'a' 'b'`); `None` for
/// anything computed.
pub fn literal(node: Node, text: &str) -> Option<Literal> {
    let own = &text[node.byte_range()];
    match node.kind() {
        "none" => Some(Literal::None),
        "true" => Some(Literal::Bool(true)),
        "false" => Some(Literal::Bool(false)),
        "integer" => own.replace('_', "").parse().ok().map(Literal::Int),
        "float" => own.replace('_', "").parse().ok().map(Literal::Float),
        "string" | "concatenated_string" => string_value(node, text).map(Literal::Str),
        "parenthesized_expression" => node.named_child(0).and_then(|inner| literal(inner, text)),
        "unary_operator" if own.starts_with('-') => match literal(node.child_by_field_name("argument")?, text)? {
            Literal::Int(value) => Some(Literal::Int(-value)),
            Literal::Float(value) => Some(Literal::Float(-value)),
            _ => None,
        },
        _ => None,
    }
}

/// The value of a plain string literal (prefixes `r`, `u`, `b` allowed; implicit concatenation
/// joined); `None` for f-strings with interpolations and for anything that is not a string. Escape
/// sequences are kept as written: settings keys and dotted paths do not use them.
pub fn string_value(node: Node, text: &str) -> Option<String> {
    match node.kind() {
        "string" => {
            let mut value = String::new();
            let mut cursor = node.walk();
            for child in node.children(&mut cursor) {
                match child.kind() {
                    "string_start" | "string_end" => {}
                    "string_content" | "escape_sequence" => value.push_str(&text[child.byte_range()]),
                    _ => return None,
                }
            }
            Some(value)
        }
        "concatenated_string" => {
            let mut cursor = node.walk();
            node.named_children(&mut cursor).map(|part| string_value(part, text)).collect()
        }
        _ => None,
    }
}

/// The quote character a string literal is written with (`'` or `"`).
pub fn quote_of(node: Node, text: &str) -> Option<char> {
    if node.kind() != "string" {
        return None;
    }
    let start = node.child(0).filter(|c| c.kind() == "string_start")?;
    text[start.byte_range()].chars().find(|c| *c == '\'' || *c == '"')
}

/// A dotted name (`dj_database_url.config`, `env.db`, `DATABASES`) for identifiers and attribute
/// chains; `None` for anything else.
pub fn dotted_name(node: Node, text: &str) -> Option<String> {
    match node.kind() {
        "identifier" => Some(text[node.byte_range()].to_owned()),
        "attribute" => {
            let object = dotted_name(node.child_by_field_name("object")?, text)?;
            let attribute = node.child_by_field_name("attribute")?;
            Some(format!("{object}.{}", &text[attribute.byte_range()]))
        }
        _ => None,
    }
}

/// One step of a subscript chain: `["default"]` is `Key("default")`, `[alias]` is `Name("alias")`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Index {
    Key(String),
    Name(String),
    Other,
}

/// A subscript chain `DATABASES["default"]["CONN_MAX_AGE"]` as its base name and its indexes;
/// `None` when the base is not a plain name.
pub fn subscript_path(node: Node, text: &str) -> Option<(String, Vec<Index>)> {
    match node.kind() {
        "identifier" => Some((text[node.byte_range()].to_owned(), Vec::new())),
        "subscript" => {
            let (base, mut indexes) = subscript_path(node.child_by_field_name("value")?, text)?;
            let index = node.child_by_field_name("subscript")?;
            indexes.push(match index.kind() {
                "identifier" => Index::Name(text[index.byte_range()].to_owned()),
                _ => string_value(index, text).map_or(Index::Other, Index::Key),
            });
            Some((base, indexes))
        }
        _ => None,
    }
}

/// Where an assignment sits, as far as static reading is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Runs when the module is imported (also inside module-level `if`, `try`, `with`).
    Module,
    /// Inside a `for` loop at module level (the loop node's start line).
    Loop { line: usize },
    /// Inside something that cannot be resolved statically: a function, a class, a `match`.
    Opaque { what: String, line: usize },
}

/// An assignment statement `target = value` (or `target: T = value`).
#[derive(Clone, Copy)]
pub struct Assignment<'t> {
    /// The whole `expression_statement`.
    pub statement: Node<'t>,
    pub left: Node<'t>,
    pub value: Node<'t>,
}

/// The assignment an `expression_statement` holds (`target = value`, `target: T = value`); for a
/// chained one (`a = b = 1`) the value is the inner `assignment` node, so that callers decide
/// whether to read it or to treat it as computed. `None` for any other statement.
pub fn assignment_of(statement: Node<'_>) -> Option<Assignment<'_>> {
    let assignment = statement.named_child(0).filter(|n| n.kind() == "assignment")?;
    Some(Assignment {
        statement,
        left: assignment.child_by_field_name("left")?,
        value: assignment.child_by_field_name("right")?,
    })
}

/// Every single-target assignment in the file, in document order, with its scope. Chained
/// (`a = b = 1`) and tuple targets are left out: settings patches never edit them.
pub fn assignments<'t>(file: &'t PyFile) -> Vec<(Assignment<'t>, Scope)> {
    let mut found = Vec::new();
    collect_assignments(file, file.root(), &Scope::Module, &mut found);
    found
}

fn collect_assignments<'t>(file: &'t PyFile, node: Node<'t>, scope: &Scope, out: &mut Vec<(Assignment<'t>, Scope)>) {
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        let inner = |what: &str| match scope {
            Scope::Opaque { .. } => scope.clone(),
            _ => {
                let name =
                    child.child_by_field_name("name").map(|n| format!(" `{}`", file.text(n))).unwrap_or_default();
                Scope::Opaque { what: format!("{what}{name}"), line: file.line(child) }
            }
        };
        match child.kind() {
            "expression_statement" => {
                if let Some(assignment) = assignment_of(child).filter(|a| a.value.kind() != "assignment") {
                    out.push((assignment, scope.clone()));
                }
            }
            "function_definition" => collect_assignments(file, child, &inner("function"), out),
            "class_definition" => collect_assignments(file, child, &inner("class"), out),
            "match_statement" => collect_assignments(file, child, &inner("match statement"), out),
            "lambda" => {}
            "for_statement" | "while_statement" => {
                let looped = match scope {
                    Scope::Module => Scope::Loop { line: file.line(child) },
                    other => other.clone(),
                };
                collect_assignments(file, child, &looped, out)
            }
            _ => collect_assignments(file, child, scope, out),
        }
    }
}

/// One `key: value` entry of a dict literal.
#[derive(Clone, Copy)]
pub struct Pair<'t> {
    pub node: Node<'t>,
    pub key: Node<'t>,
    pub value: Node<'t>,
}

/// The `key: value` pairs of a dict literal (splats `**x` and comprehensions are left out).
pub fn dict_pairs(dict: Node<'_>) -> Vec<Pair<'_>> {
    let mut cursor = dict.walk();
    dict.named_children(&mut cursor)
        .filter(|n| n.kind() == "pair")
        .filter_map(|node| {
            Some(Pair { node, key: node.child_by_field_name("key")?, value: node.child_by_field_name("value")? })
        })
        .collect()
}

/// The pair whose key is the string `key`.
pub fn dict_get<'t>(dict: Node<'t>, text: &str, key: &str) -> Option<Pair<'t>> {
    dict_pairs(dict).into_iter().find(|pair| string_value(pair.key, text).as_deref() == Some(key))
}

/// Whether a dict literal has entries that cannot be read statically (`**base`).
pub fn dict_has_splat(dict: Node) -> bool {
    let mut cursor = dict.walk();
    dict.named_children(&mut cursor).any(|n| n.kind() == "dictionary_splat")
}

/// What a dict literal says about one key, the way Python builds it: later entries win, and
/// `**name` splats of module-level dict literals are read too.
#[derive(Clone, Copy)]
pub enum Lookup<'t> {
    /// The pair that provides the value (possibly inside a splatted dict).
    Found(Pair<'t>),
    /// Neither the dict nor anything it splats sets the key.
    Missing,
    /// A splat that cannot be read (`**defaults()`), which may set it.
    Unknown(Node<'t>),
}

/// Looks `key` up in a dict literal of `file` (see [`Lookup`]).
pub fn dict_lookup<'t>(file: &'t PyFile, dict: Node<'t>, key: &str) -> Lookup<'t> {
    lookup_in(file, dict, key, 0)
}

fn lookup_in<'t>(file: &'t PyFile, dict: Node<'t>, key: &str, depth: usize) -> Lookup<'t> {
    let text = &file.source.text;
    let mut cursor = dict.walk();
    let children: Vec<Node> = dict.named_children(&mut cursor).collect();
    for child in children.into_iter().rev() {
        match child.kind() {
            "pair" => {
                if let (Some(k), Some(value)) = (child.child_by_field_name("key"), child.child_by_field_name("value"))
                    && string_value(k, text).as_deref() == Some(key)
                {
                    return Lookup::Found(Pair { node: child, key: k, value });
                }
            }
            "dictionary_splat" => {
                let splatted = child.named_child(0).map(unparenthesized).and_then(|inner| match inner.kind() {
                    "dictionary" => Some(inner),
                    "identifier" => module_value(file, file.text(inner), dict.start_byte())
                        .map(|a| unparenthesized(a.value))
                        .filter(|value| value.kind() == "dictionary"),
                    _ => None,
                });
                match splatted {
                    Some(inner) if depth < 8 => match lookup_in(file, inner, key, depth + 1) {
                        Lookup::Missing => {}
                        found => return found,
                    },
                    _ => return Lookup::Unknown(child),
                }
            }
            _ => {}
        }
    }
    Lookup::Missing
}

/// One `name=value` argument of a call.
#[derive(Clone, Copy)]
pub struct Kwarg<'t> {
    pub node: Node<'t>,
    pub value: Node<'t>,
}

/// The keyword arguments of a call, by name.
pub fn kwargs<'t>(call: Node<'t>, text: &str) -> Vec<(String, Kwarg<'t>)> {
    let Some(arguments) = call.child_by_field_name("arguments") else { return Vec::new() };
    let mut cursor = arguments.walk();
    arguments
        .named_children(&mut cursor)
        .filter(|n| n.kind() == "keyword_argument")
        .filter_map(|node| {
            let name = node.child_by_field_name("name")?;
            Some((text[name.byte_range()].to_owned(), Kwarg { node, value: node.child_by_field_name("value")? }))
        })
        .collect()
}

/// The positional arguments of a call.
pub fn positional_args(call: Node<'_>) -> Vec<Node<'_>> {
    let Some(arguments) = call.child_by_field_name("arguments") else { return Vec::new() };
    let mut cursor = arguments.walk();
    arguments
        .named_children(&mut cursor)
        .filter(|n| !matches!(n.kind(), "keyword_argument" | "comment" | "list_splat" | "dictionary_splat"))
        .collect()
}

/// The named children of `node` without its comments: the elements of a container or block as
/// the code means them (tree-sitter puts comments among them wherever they are written).
pub fn named_children(node: Node<'_>) -> Vec<Node<'_>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor).filter(|n| n.kind() != "comment").collect()
}

/// The statements a module runs when it is imported, in document order: those at its top level
/// and inside `if`/`elif`/`else`, `try`/`except`/`finally` and `with` blocks there (`if DEBUG:
/// from .dev import *`, `try: from django.db import models`), not those of function or class
/// bodies.
pub fn module_statements(root: Node<'_>) -> Vec<Node<'_>> {
    fn walk<'t>(node: Node<'t>, out: &mut Vec<Node<'t>>) {
        for child in named_children(node) {
            match child.kind() {
                "if_statement" | "elif_clause" | "else_clause" | "try_statement" | "except_clause"
                | "finally_clause" | "with_statement" | "block" => walk(child, out),
                _ => out.push(child),
            }
        }
    }
    let mut statements = Vec::new();
    walk(root, &mut statements);
    statements
}

/// The path (without extension) of the module `from <module> import ...` names in the file at
/// `importer`: a relative import (`.base`, `..models`) resolved against the importer's folder,
/// an absolute one (`blog.models`) as `blog/models`, to be matched against project paths by
/// suffix since the import root is not known.
pub fn module_path(importer: &Path, module: &str) -> PathBuf {
    let dotted = module.trim_start_matches('.');
    let dots = module.len() - dotted.len();
    let mut base = PathBuf::new();
    if dots > 0 {
        base = importer.parent().unwrap_or(Path::new("")).to_path_buf();
        for _ in 1..dots {
            base.pop();
        }
    }
    for part in dotted.split('.').filter(|p| !p.is_empty()) {
        base.push(part);
    }
    base
}

/// Strips parentheses around an expression.
pub fn unparenthesized(mut node: Node<'_>) -> Node<'_> {
    while node.kind() == "parenthesized_expression" {
        match node.named_child(0) {
            Some(inner) => node = inner,
            None => break,
        }
    }
    node
}

/// The module-level assignment `name = ...` in `file` that is last before `before` (a byte
/// offset), as Python would see it when the statement at `before` runs.
pub fn module_value<'t>(file: &'t PyFile, name: &str, before: usize) -> Option<Assignment<'t>> {
    assignments(file)
        .into_iter()
        .filter(|(a, scope)| {
            *scope == Scope::Module && a.statement.end_byte() <= before && a.left.kind() == "identifier"
        })
        .filter(|(a, _)| file.text(a.left) == name)
        .map(|(a, _)| a)
        .next_back()
}

/// The bytes between the quotes of a string literal (empty for `''`, escape sequences as
/// written): what an edit replaces to change its value in place. `None` for f-strings with
/// interpolations, implicit concatenations and anything that is not a string.
pub fn string_content(node: Node<'_>) -> Option<std::ops::Range<usize>> {
    if node.kind() != "string" {
        return None;
    }
    let children = named_children(node);
    if children.iter().any(|c| c.kind() == "interpolation") {
        return None;
    }
    let start = children.iter().find(|c| c.kind() == "string_start")?.end_byte();
    let end = children.iter().find(|c| c.kind() == "string_end")?.start_byte();
    Some(start..end)
}
