//! Statements that set keys of a settings dict after its literal: `X["K"] = v`,
//! `X.setdefault("K", v)` and `X.update({"K": v}, K2=v)`. Such a statement runs after the literal,
//! so the value it sets wins over one a patch would insert there; the database and cache patches
//! read them here, in one way, to edit the place that decides a key or to leave it alone.

use tree_sitter::Node;

use crate::lang::python::{self, Assignment, Index, PyFile, Scope};

/// How a key is set.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Via {
    /// `X["K"] = v`.
    Subscript,
    /// `X.setdefault("K", v)`.
    SetDefault,
    /// `X.update({"K": v}, K2=v)`.
    Update,
}

impl Via {
    /// The method name of a call (`update`), `None` for a subscript.
    pub fn method(self) -> Option<&'static str> {
        match self {
            Via::Subscript => None,
            Via::SetDefault => Some("setdefault"),
            Via::Update => Some("update"),
        }
    }
}

/// One statement or call that sets keys of the dict `object`.
#[derive(Debug, Clone, Copy)]
pub struct KeyWrite<'t> {
    pub via: Via,
    /// The assignment statement, or the call.
    pub node: Node<'t>,
    /// The dict written to: `X`.
    pub object: Node<'t>,
    /// The string literal naming the key (a subscript's or `setdefault`'s first argument).
    pub key: Option<Node<'t>>,
    /// The value set, when one key is set (`X["K"] = v`, `X.setdefault("K", v)`).
    pub value: Option<Node<'t>>,
}

impl<'t> KeyWrite<'t> {
    /// `X["K"] = v` with a string key; `None` for any other assignment.
    pub fn of_assignment(assignment: &Assignment<'t>, text: &str) -> Option<KeyWrite<'t>> {
        let left = assignment.left;
        let key = left.child_by_field_name("subscript").filter(|_| left.kind() == "subscript")?;
        python::string_value(key, text)?;
        Some(KeyWrite {
            via: Via::Subscript,
            node: assignment.statement,
            object: left.child_by_field_name("value")?,
            key: Some(key),
            value: Some(assignment.value),
        })
    }

    /// `X.setdefault("K", v)` or `X.update(...)`; `None` for any other node.
    pub fn of_call(file: &'t PyFile, call: Node<'t>) -> Option<KeyWrite<'t>> {
        let function =
            call.child_by_field_name("function").filter(|f| call.kind() == "call" && f.kind() == "attribute")?;
        let positional = python::positional_args(call);
        let (via, key, value) = match file.text(function.child_by_field_name("attribute")?) {
            "setdefault" => {
                let key = *positional.first()?;
                python::string_value(key, &file.source.text)?;
                (Via::SetDefault, Some(key), positional.get(1).copied())
            }
            "update" => (Via::Update, None, None),
            _ => return None,
        };
        Some(KeyWrite { via, node: call, object: function.child_by_field_name("object")?, key, value })
    }

    /// The keys set: the one key, or for `update` the keys of a dict literal argument and the
    /// keyword names (none when its argument is not a literal: the keys are unknown).
    pub fn keys(&self, text: &str) -> Vec<String> {
        match self.via {
            Via::Subscript | Via::SetDefault => {
                self.key.and_then(|key| python::string_value(key, text)).into_iter().collect()
            }
            Via::Update => {
                let mut keys: Vec<String> = python::kwargs(self.node, text).into_iter().map(|(name, _)| name).collect();
                if let Some(dict) = python::positional_args(self.node).first().filter(|d| d.kind() == "dictionary") {
                    keys.extend(python::dict_pairs(*dict).iter().filter_map(|p| python::string_value(p.key, text)));
                }
                keys
            }
        }
    }

    /// The dict written to as a name and its indexes (`CACHES`, `["default", "OPTIONS"]`), when
    /// it is a plain name or a subscript chain of one.
    pub fn object_path(&self, text: &str) -> Option<(String, Vec<Index>)> {
        python::subscript_path(self.object, text)
    }
}

/// Every `X["K"] = v` of the file, with its scope, in document order.
pub fn assigned(file: &PyFile) -> Vec<(KeyWrite<'_>, Scope)> {
    let text = &file.source.text;
    python::assignments(file)
        .into_iter()
        .filter_map(|(assignment, scope)| Some((KeyWrite::of_assignment(&assignment, text)?, scope)))
        .collect()
}

/// Every `X.setdefault(...)` / `X.update(...)` call of the file, in any scope.
pub fn called(file: &PyFile) -> Vec<KeyWrite<'_>> {
    let mut found = Vec::new();
    let mut stack = vec![file.root()];
    while let Some(node) = stack.pop() {
        let mut cursor = node.walk();
        stack.extend(node.named_children(&mut cursor));
        found.extend(KeyWrite::of_call(file, node));
    }
    found
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::text::source::SourceFile;

    #[test]
    fn subscripts_setdefault_and_update() {
        let src = "X = {}\nX['a'] = 1\nX[k] = 2\nif True:\n    C['d']['OPTIONS'].setdefault('b', 3)\n\
                   def f():\n    X.update({'c': 1}, e=2)\n    X.update(other)\n    X.get('z')\n";
        let file = python::parse(Arc::new(SourceFile::from_text("s.py", src))).unwrap();
        let assigned: Vec<(Vec<String>, Scope)> =
            assigned(&file).into_iter().map(|(w, scope)| (w.keys(src), scope)).collect();
        assert_eq!(assigned, [(vec!["a".to_owned()], Scope::Module)]);
        let mut called: Vec<(Option<&str>, Vec<String>, String)> =
            called(&file).into_iter().map(|w| (w.via.method(), w.keys(src), file.text(w.object).to_owned())).collect();
        called.sort();
        assert_eq!(
            called,
            [
                (Some("setdefault"), vec!["b".to_owned()], "C['d']['OPTIONS']".to_owned()),
                (Some("update"), vec![], "X".to_owned()),
                (Some("update"), vec!["e".to_owned(), "c".to_owned()], "X".to_owned()),
            ]
        );
    }
}
