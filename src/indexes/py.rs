//! Small tree-sitter-python helpers for the index analysis. Kept local to `indexes` on purpose
//! (the shared `lang::python` module is being written in parallel); to be consolidated later.

use tree_sitter::{Node, Parser, Tree};

/// A parsed Python file, or the 1-based line of its first syntax error.
pub fn parse(text: &str) -> Result<Tree, usize> {
    let mut parser = Parser::new();
    parser.set_language(&tree_sitter_python::LANGUAGE.into()).expect("the Python grammar matches tree-sitter");
    let tree = parser.parse(text, None).ok_or(1usize)?;
    let root = tree.root_node();
    if root.has_error() {
        let line = first_error(root).map_or(1, |node| node.start_position().row + 1);
        return Err(line);
    }
    Ok(tree)
}

/// The first ERROR or MISSING node, depth first.
fn first_error(node: Node) -> Option<Node> {
    if node.is_error() || node.is_missing() {
        return Some(node);
    }
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        if child.has_error()
            && let Some(found) = first_error(child)
        {
            return Some(found);
        }
    }
    None
}

/// The source text of `node`.
pub fn text<'a>(node: Node, src: &'a str) -> &'a str {
    &src[node.byte_range()]
}

/// The value of a plain string literal (`"x"`, `'x'`, `r"x"`); `None` for f-strings, byte strings
/// and concatenations, whose value is not a plain constant.
pub fn string_value(node: Node, src: &str) -> Option<String> {
    if node.kind() != "string" {
        return None;
    }
    let mut value = String::new();
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        match child.kind() {
            "string_start" => {
                let prefix = text(child, src).trim_end_matches(['"', '\'']).to_ascii_lowercase();
                if prefix.contains('f') || prefix.contains('b') {
                    return None;
                }
            }
            "string_content" | "escape_sequence" => value.push_str(text(child, src)),
            "string_end" => {}
            _ => return None,
        }
    }
    Some(value)
}

/// The strings of a list or tuple literal of strings (`["a", "-b"]`); `None` when an element is
/// anything else.
pub fn string_list(node: Node, src: &str) -> Option<Vec<String>> {
    match node.kind() {
        "list" | "tuple" => named(node).into_iter().map(|item| string_value(item, src)).collect(),
        "parenthesized_expression" => named(node).first().and_then(|inner| string_value(*inner, src)).map(|s| vec![s]),
        _ => None,
    }
}

/// The named children of `node`, comments left out.
pub fn named(node: Node) -> Vec<Node> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor).filter(|child| child.kind() != "comment").collect()
}

/// The dotted name of an identifier or attribute chain (`models.ForeignKey`), `None` for anything else.
pub fn dotted(node: Node, src: &str) -> Option<String> {
    match node.kind() {
        "identifier" => Some(text(node, src).to_owned()),
        "attribute" => {
            let object = dotted(node.child_by_field_name("object")?, src)?;
            let attribute = node.child_by_field_name("attribute")?;
            Some(format!("{object}.{}", text(attribute, src)))
        }
        _ => None,
    }
}

/// The last segment of a dotted name (`ForeignKey` for `models.ForeignKey`).
pub fn last_segment(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

/// The keyword arguments of a call: `(name, value)`.
pub fn keyword_args<'t>(call: Node<'t>, src: &str) -> Vec<(String, Node<'t>)> {
    let Some(arguments) = call.child_by_field_name("arguments") else { return Vec::new() };
    named(arguments)
        .into_iter()
        .filter(|arg| arg.kind() == "keyword_argument")
        .filter_map(|arg| {
            Some((text(arg.child_by_field_name("name")?, src).to_owned(), arg.child_by_field_name("value")?))
        })
        .collect()
}

/// The positional arguments of a call.
pub fn positional_args(call: Node) -> Vec<Node> {
    let Some(arguments) = call.child_by_field_name("arguments") else { return Vec::new() };
    named(arguments)
        .into_iter()
        .filter(|arg| !matches!(arg.kind(), "keyword_argument" | "list_splat" | "dictionary_splat"))
        .collect()
}

/// The statements of a block (class or function body), comments left out; decorated
/// definitions are unwrapped to the definition they decorate.
pub fn statements(block: Node) -> Vec<Node> {
    named(block).into_iter().collect()
}

/// The `name = value` of an expression statement, if it is a single plain assignment.
pub fn assignment<'t>(statement: Node<'t>, src: &str) -> Option<(String, Node<'t>)> {
    let inner = if statement.kind() == "expression_statement" { *named(statement).first()? } else { statement };
    if inner.kind() != "assignment" {
        return None;
    }
    let left = inner.child_by_field_name("left")?;
    if left.kind() != "identifier" {
        return None;
    }
    Some((text(left, src).to_owned(), inner.child_by_field_name("right")?))
}

/// Whether a literal is Python's `True`.
pub fn is_true(node: Node) -> bool {
    node.kind() == "true"
}

/// The class definition a statement holds (plain or decorated).
pub fn class_definition(statement: Node) -> Option<Node> {
    match statement.kind() {
        "class_definition" => Some(statement),
        "decorated_definition" => {
            statement.child_by_field_name("definition").filter(|d| d.kind() == "class_definition")
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn strings_and_errors() {
        let src = "x = ['a', \"-b\"]\ny = f'{x}'\n";
        let tree = parse(src).unwrap();
        let root = tree.root_node();
        let stmts = statements(root);
        let (name, value) = assignment(stmts[0], src).unwrap();
        assert_eq!(name, "x");
        assert_eq!(string_list(value, src).unwrap(), ["a", "-b"]);
        let (_, fstring) = assignment(stmts[1], src).unwrap();
        assert_eq!(string_value(fstring, src), None);
        assert_eq!(parse("x = 1\ndef f(:\n").unwrap_err(), 2);
    }
}
