//! The few Python shapes only the index analysis reads, on top of [`crate::lang::python`]
//! (parsing, strings, dotted names and call arguments come from there): string lists as Django
//! writes field names and migration dependencies, class statements, and class-body assignments.

use tree_sitter::Node;

use crate::lang::python;

/// The strings of a list or tuple literal of strings (`["a", "-b"]`), or the one string of a
/// parenthesized string (`("a")`, which is no tuple); `None` when an element is anything else.
pub fn string_list(node: Node, src: &str) -> Option<Vec<String>> {
    let elements = python::named_children(node);
    match node.kind() {
        "list" | "tuple" => elements.into_iter().map(|item| python::string_value(item, src)).collect(),
        "parenthesized_expression" => {
            elements.first().and_then(|inner| python::string_value(*inner, src)).map(|s| vec![s])
        }
        _ => None,
    }
}

/// The `name = value` a statement of a class body holds, when its target is a plain name (class
/// attributes: model fields, `Meta` options, `label`, `dependencies`).
pub fn named_assignment<'t>(statement: Node<'t>, src: &str) -> Option<(String, Node<'t>)> {
    let assignment = python::assignment_of(statement).filter(|a| a.left.kind() == "identifier")?;
    Some((src[assignment.left.byte_range()].to_owned(), assignment.value))
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

/// The last segment of a dotted name (`ForeignKey` for `models.ForeignKey`): how models, fields
/// and managers are recognised whatever module they are imported through.
pub fn last_segment(name: &str) -> &str {
    name.rsplit('.').next().unwrap_or(name)
}

/// Whether a literal is Python's `True`.
pub fn is_true(node: Node) -> bool {
    node.kind() == "true"
}

/// Parses `source`; when it does not parse and holds template tags (a cookiecutter / copier
/// project's unrendered file), the answer is a skip naming the file, the tag's line and that it is
/// a template: it is not the file that runs. A file without template syntax keeps its syntax error,
/// which `broken` turns into the caller's outcome (an error or a warning, with its context).
pub fn parse_or_template(
    source: std::sync::Arc<crate::text::source::SourceFile>,
    consequence: &str,
    broken: impl FnOnce(python::SyntaxError) -> crate::facts::problem::Problem,
) -> Result<python::PyFile, Box<crate::facts::problem::Problem>> {
    use crate::facts::problem::Problem;
    use crate::lang::template;
    use crate::text::location::Location;
    python::parse(source.clone()).map_err(|err| {
        Box::new(match template::first_tag_line(&source.text) {
            Some(line) => Problem::template(
                Location::new(source.path.clone(), line),
                format!("{}; {consequence}", template::skip_reason("Python", line)),
            ),
            None => broken(err),
        })
    })
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::text::source::SourceFile;

    #[test]
    fn string_lists_and_class_attributes() {
        let src = "x = ['a', \"-b\"]\ny = ('c')\nz = ['a', f'{x}']\n";
        let file = python::parse(Arc::new(SourceFile::from_text("m.py", src))).unwrap();
        let values: Vec<_> = python::named_children(file.root())
            .into_iter()
            .map(|statement| named_assignment(statement, src).map(|(name, value)| (name, string_list(value, src))))
            .collect();
        assert_eq!(
            values,
            [
                Some(("x".into(), Some(vec!["a".into(), "-b".into()]))),
                Some(("y".into(), Some(vec!["c".into()]))),
                Some(("z".into(), None)),
            ]
        );
        assert_eq!(last_segment("models.ForeignKey"), "ForeignKey");
    }
}
