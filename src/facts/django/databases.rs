//! How a settings package decides its database settings beyond the `DATABASES` literal:
//! statements that set keys later (`DATABASES["default"]["CONN_MAX_AGE"] = ...`, loops over the
//! aliases), calls that change them opaquely (`.update(...)`), and the alias literal a module sees.
//!
//! Patches use this to edit the place that actually decides a value, and never add a second,
//! conflicting one.

use tree_sitter::Node;

use crate::facts::django::final_value::{self, What};
use crate::facts::django::key_writes::KeyWrite;
use crate::facts::django::production::{Loads, Production};
use crate::facts::django::settings::{Definition, Settings, SettingsModule};
use crate::lang::python::{self, Index, Literal, PyFile, Scope};
use crate::text::location::Location;

/// The persistent-connection keys.
pub const MAX_AGE_KEY: &str = "CONN_MAX_AGE";
pub const HEALTH_KEY: &str = "CONN_HEALTH_CHECKS";

/// A key set by a statement outside the DATABASES literal: `DATABASES["default"]["KEY"] = v`,
/// `db["KEY"] = v` in a loop over `DATABASES.items()`, `DATABASES[alias]["KEY"] = v` in a loop
/// over the aliases. Such a statement runs after the literal, so it decides the value.
#[derive(Clone, Copy)]
pub struct Override<'s> {
    pub module: &'s SettingsModule,
    pub statement: Node<'s>,
    pub value: Node<'s>,
    /// `None` for a loop (every alias).
    pub alias: Option<&'s str>,
    pub key: &'s str,
    /// The subscripted name (`DATABASES["default"]` or the loop variable `db`), for siblings.
    pub target: &'s str,
}

/// Whether the alias's definition in `module`'s package says sqlite or pool (a reason to skip).
pub fn alias_blocker(
    settings: &Settings,
    definitions: &[(Definition<'_>, Scope)],
    module: &SettingsModule,
    alias: &str,
) -> Option<String> {
    let dict = alias_dict(settings, definitions, module, alias)?;
    let (file, dict) = dict;
    let text = &file.source.text;
    let engine = python::dict_get(dict, text, "ENGINE").and_then(|p| python::string_value(p.value, text));
    if engine.is_some_and(|e| e.contains("sqlite")) {
        return Some("SQLite: a local file, there is no server connection to keep".to_owned());
    }
    let options = python::dict_get(dict, text, "OPTIONS").map(|p| python::unparenthesized(p.value))?;
    (options.kind() == "dictionary" && python::dict_get(options, text, "pool").is_some())
        .then(|| "OPTIONS[\"pool\"] is set: Django refuses CONN_MAX_AGE with its pool".to_owned())
}

/// The write that may turn Django's connection pool on for `alias` (`OPTIONS["pool"]` truthy or
/// computed) in the final settings of any module production loads through `module`: a dict
/// literal, a later `DATABASES["default"]["OPTIONS"]["pool"] = True`, an `.update(pool=...)`, a
/// split-settings file. Django refuses CONN_MAX_AGE with it, so this is why to skip, with the line.
pub fn pool_switch(
    settings: &Settings,
    production: &Production,
    module: &SettingsModule,
    alias: &str,
) -> Option<String> {
    for top in production.tops(settings, module) {
        let writes = final_value::writes(settings, top);
        let path = ["DATABASES", alias, "OPTIONS", "pool"];
        for write in final_value::candidates(&writes, &path) {
            let on = match (write.what, write.literal()) {
                (What::Value(_) | What::Default(_), Some(Literal::Bool(false) | Literal::None | Literal::Int(0))) => {
                    false
                }
                (What::Value(_) | What::Default(_), _) => write.path.len() == path.len(),
                (What::Unknown(_), _) => write.value_text().is_some_and(|t| t.contains("pool")),
                (What::Replace(_), _) => true,
            };
            if on {
                let shown = write.value_text().unwrap_or("").lines().next().unwrap_or("");
                return Some(format!(
                    "OPTIONS[\"pool\"] is turned on at {} (`{shown}`, in the settings {} loads): Django's pool \
                     refuses CONN_MAX_AGE (\"Pooling doesn't support persistent connections.\")",
                    write.location(),
                    top.path().display()
                ));
            }
        }
    }
    None
}

/// Where the alias defined by `statement` (in `module`) is replaced as a whole in every module
/// production loads through it (`DATABASES = {...}` again in `production.py` after `from .base
/// import *`): an edit here would never reach production. `None` when it is not, or when
/// production's module is unknown.
pub fn replaced_later(
    settings: &Settings,
    production: &Production,
    module: &SettingsModule,
    statement: Node,
    alias: &str,
) -> Option<Location> {
    let Loads::Yes(tops) = production.loads(settings, module) else { return None };
    let mut replaced_at = None;
    for top in tops {
        let writes = final_value::writes(settings, top);
        let decisive = final_value::candidates(&writes, &["DATABASES", alias]);
        let own = |w: &&final_value::Write| {
            std::ptr::eq(w.module, module) && statement.byte_range().contains(&w.node.start_byte())
        };
        if decisive.is_empty() || decisive.iter().any(own) {
            return None;
        }
        replaced_at = decisive.last().map(|w| w.location());
    }
    replaced_at
}

/// Whether the alias literal `module` sees already says `CONN_HEALTH_CHECKS`.
pub fn health_in_definition(
    settings: &Settings,
    definitions: &[(Definition<'_>, Scope)],
    module: &SettingsModule,
    alias: &str,
) -> bool {
    alias_dict(settings, definitions, module, alias)
        .is_some_and(|(file, dict)| python::dict_get(dict, &file.source.text, HEALTH_KEY).is_some())
}

/// The dict literal that defines `alias` as `module` sees it: its own last definition, else the
/// last one in a module it star-imports.
pub fn alias_dict<'s>(
    settings: &Settings,
    definitions: &[(Definition<'s>, Scope)],
    module: &SettingsModule,
    alias: &str,
) -> Option<(&'s PyFile, Node<'s>)> {
    let own = |d: &Definition| std::ptr::eq(d.module, module);
    let mut candidates: Vec<&(Definition<'s>, Scope)> =
        definitions.iter().filter(|(d, scope)| settings.sees(module, d.module) && *scope == Scope::Module).collect();
    candidates.sort_by_key(|(d, _)| own(d));
    candidates
        .into_iter()
        .filter_map(|(d, _)| {
            let file = d.file();
            let text = &file.source.text;
            let (_, indexes) = python::subscript_path(d.assignment.left, text)?;
            let value = python::unparenthesized(d.assignment.value);
            let dict = match indexes.as_slice() {
                [] if value.kind() == "dictionary" => {
                    python::unparenthesized(python::dict_get(value, text, alias)?.value)
                }
                [Index::Key(a)] if a == alias => value,
                _ => return None,
            };
            (dict.kind() == "dictionary").then_some((file, dict))
        })
        .next_back()
}

/// `DATABASES["alias"]["KEY"] = v` statements at module level, and `db["KEY"] = v` inside
/// `for alias, db in DATABASES.items():` (or `.values()`) loops at module level, and
/// `DATABASES[alias]["KEY"] = v` inside `for alias in DATABASES:` (or `.keys()`).
pub fn find_overrides(settings: &Settings) -> Vec<Override<'_>> {
    let mut found = Vec::new();
    let wanted = |key: &str| key == MAX_AGE_KEY || key == HEALTH_KEY;
    for (definition, scope) in settings.assignments_to("DATABASES") {
        let text = &definition.file().source.text;
        if scope != Scope::Module {
            continue;
        }
        let Some(write) = KeyWrite::of_assignment(&definition.assignment, text) else { continue };
        let Some((_, indexes)) = write.object_path(text) else { continue };
        let alias = write.object.child_by_field_name("subscript").and_then(python::string_content);
        let key = write.key.and_then(python::string_content);
        if let ([Index::Key(_)], Some(alias), Some(key)) = (indexes.as_slice(), alias, key)
            && wanted(&text[key.clone()])
        {
            found.push(Override {
                module: definition.module,
                statement: write.node,
                value: definition.assignment.value,
                alias: Some(&text[alias]),
                key: &text[key],
                target: &text[write.object.byte_range()],
            });
        }
    }
    for module in &settings.modules {
        found.extend(loop_overrides(module));
    }
    found
}

pub fn loop_overrides(module: &SettingsModule) -> Vec<Override<'_>> {
    let file = &module.file;
    let text = &file.source.text;
    let mut found = Vec::new();
    let mut cursor = file.root().walk();
    for statement in file.root().named_children(&mut cursor) {
        if statement.kind() != "for_statement" {
            continue;
        }
        let (Some(left), Some(right), Some(body)) = (
            statement.child_by_field_name("left"),
            statement.child_by_field_name("right"),
            statement.child_by_field_name("body"),
        ) else {
            continue;
        };
        let name = |node: Option<Node>| node.filter(|n| n.kind() == "identifier").map(|n| &text[n.byte_range()]);
        // (the alias variable, the settings-dict variable) the loop binds.
        let iterable = match right.kind() {
            "call" => right.child_by_field_name("function").and_then(|f| python::dotted_name(f, text)),
            _ => python::dotted_name(right, text),
        };
        let (alias_var, dict_var) = match iterable.as_deref() {
            Some("DATABASES.items") if left.named_child_count() == 2 => {
                (name(left.named_child(0)), name(left.named_child(1)))
            }
            Some("DATABASES.values") => (None, name(Some(left))),
            Some("DATABASES" | "DATABASES.keys") => (name(Some(left)), None),
            _ => continue,
        };
        let mut body_cursor = body.walk();
        for inner in body.named_children(&mut body_cursor) {
            let Some(assignment) = python::assignment_of(inner) else { continue };
            let Some(write) = KeyWrite::of_assignment(&assignment, text) else { continue };
            let Some((base, indexes)) = write.object_path(text) else { continue };
            let this_loop = match indexes.as_slice() {
                [] => Some(base.as_str()) == dict_var,
                [Index::Name(alias)] => base == "DATABASES" && Some(alias.as_str()) == alias_var,
                _ => false,
            };
            if let Some(range) = write.key.and_then(python::string_content)
                && this_loop
                && (text[range.clone()] == *MAX_AGE_KEY || text[range.clone()] == *HEALTH_KEY)
            {
                found.push(Override {
                    module,
                    statement: inner,
                    value: assignment.value,
                    alias: None,
                    key: &text[range],
                    target: &text[write.object.byte_range()],
                });
            }
        }
    }
    found
}

/// Calls like `DATABASES["default"].update(CONN_MAX_AGE=0)` or `db.setdefault("CONN_MAX_AGE", 0)`
/// (any call on DATABASES or a subscript of it whose text names one of the keys): a value set
/// there would silently win over an inserted key, so the alias is skipped instead.
pub fn find_opaque_changes(settings: &Settings) -> Vec<(Option<String>, &SettingsModule, Location)> {
    let mut found = Vec::new();
    for module in &settings.modules {
        let file = &module.file;
        let text = &file.source.text;
        let mut stack = vec![file.root()];
        while let Some(node) = stack.pop() {
            let mut cursor = node.walk();
            stack.extend(node.named_children(&mut cursor));
            if node.kind() != "call" {
                continue;
            }
            let Some(object) = node
                .child_by_field_name("function")
                .filter(|f| f.kind() == "attribute")
                .and_then(|f| f.child_by_field_name("object"))
            else {
                continue;
            };
            let Some((base, indexes)) = python::subscript_path(object, text) else { continue };
            let names_key = [MAX_AGE_KEY, HEALTH_KEY].iter().any(|key| file.text(node).contains(key));
            if base == "DATABASES" && names_key {
                let alias = match indexes.first() {
                    Some(Index::Key(alias)) => Some(alias.clone()),
                    _ => None,
                };
                found.push((alias, module, file.location(node)));
            }
        }
    }
    found
}
