//! The final value of a setting key (`DATABASES["default"]["OPTIONS"]["pool"]`,
//! `CACHES["default"]["BACKEND"]`, `SESSION_ENGINE`) in one settings module, after every
//! statement Django runs when it imports that module.
//!
//! The module's statements are read in execution order, with what they run of other modules in
//! place: star imports (`from .base import *`), django-split-settings `include()` / `optional()`
//! files (one module, files in order), `from .x import DATABASES`. Every write to a key path is
//! recorded: dict literals (a literal replaces what was there before it, then sets each entry),
//! subscript assignments (`DATABASES["default"]["OPTIONS"]["pool"] = True`), `.update(...)`,
//! `.setdefault(...)`, and writes in `for alias, db in DATABASES.items()` loops (every alias).
//! A write inside an `if`/`try` branch may or may not run: it is a candidate next to what came
//! before ("a value any reachable branch sets counts"); an unconditional one replaces it.
//! Functions and classes (django-configurations) are not run: their writes are not modelled, and
//! the patches say so with the class or function named.

use tree_sitter::Node;

use crate::facts::django::key_writes::{KeyWrite, Via};
use crate::facts::django::settings::{Settings, SettingsModule, glob_matches, included_files};
use crate::lang::python::{self, Index, Literal};
use crate::text::location::Location;

/// The names whose writes are recorded.
const ROOTS: &[&str] = &["DATABASES", "CACHES", "SESSION_ENGINE", "CHANNEL_LAYERS"];

/// One step of a key path: a string key, or every key (a loop over the aliases).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Key {
    Str(String),
    Any,
}

/// What a write does at its path.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum What<'s> {
    /// Sets this value (not a dict literal: a dict literal is a [`What::Replace`] and its entries).
    Value(Node<'s>),
    /// A dict literal: what was under this path is gone; its entries follow as writes.
    Replace(Node<'s>),
    /// Sets the value only when there is none (`setdefault`).
    Default(Node<'s>),
    /// May set any key under this path (`**splat`, `.update(variable)`): the node that does.
    Unknown(Node<'s>),
}

/// One write to a key path.
#[derive(Clone)]
pub struct Write<'s> {
    pub module: &'s SettingsModule,
    /// The statement or call, for its location.
    pub node: Node<'s>,
    pub path: Vec<Key>,
    pub what: What<'s>,
    /// Inside an `if`/`try` branch: it may not run.
    pub conditional: bool,
}

impl Write<'_> {
    pub fn location(&self) -> Location {
        self.module.file.location(self.node)
    }

    /// The source text of the value it sets, when it sets one.
    pub fn value_text(&self) -> Option<&str> {
        match self.what {
            What::Value(node) | What::Default(node) | What::Unknown(node) | What::Replace(node) => {
                Some(self.module.file.text(node))
            }
        }
    }

    /// The literal it sets, when it sets one.
    pub fn literal(&self) -> Option<Literal> {
        match self.what {
            What::Value(node) | What::Default(node) => python::literal(node, &self.module.file.source.text),
            _ => None,
        }
    }
}

/// Every write `top` runs, in execution order.
pub fn writes<'s>(settings: &'s Settings, top: &'s SettingsModule) -> Vec<Write<'s>> {
    let mut walker = Walker { settings, stack: Vec::new(), out: Vec::new() };
    walker.module(top, false, None);
    walker.out
}

/// The writes that may decide `path` last in `writes` (several when branches differ); empty when
/// nothing sets it. A write of a non-dict value at a shorter path (`DATABASES["default"] =
/// env.db()`) decides everything under it: it is returned, with its shorter path.
pub fn candidates<'a, 's>(writes: &'a [Write<'s>], path: &[&str]) -> Vec<&'a Write<'s>> {
    let mut state: Vec<&Write> = Vec::new();
    for write in writes {
        if write.path.len() > path.len() || !write.path.iter().zip(path).all(|(k, p)| matches_key(k, p)) {
            continue;
        }
        let exact = write.path.len() == path.len();
        match write.what {
            What::Replace(_) if !exact => {
                if !write.conditional {
                    state.clear();
                }
            }
            What::Default(_) => {
                if exact && state.is_empty() {
                    state.push(write);
                }
            }
            What::Unknown(_) => state.push(write),
            What::Value(_) | What::Replace(_) => {
                if !write.conditional {
                    state.clear();
                }
                state.push(write);
            }
        }
    }
    state
}

/// Whether anything in `writes` writes under `root` (`CACHES`).
pub fn mentions(writes: &[Write], root: &str) -> bool {
    writes.iter().any(|w| w.path.first().is_some_and(|k| matches_key(k, root)))
}

fn matches_key(key: &Key, wanted: &str) -> bool {
    match key {
        Key::Str(k) => k == wanted,
        Key::Any => true,
    }
}

struct Walker<'s> {
    settings: &'s Settings,
    /// Modules being walked (an import cycle is walked once).
    stack: Vec<*const SettingsModule>,
    out: Vec<Write<'s>>,
}

impl<'s> Walker<'s> {
    /// The writes of `module`; `names` keeps only writes under those roots (`from .x import DATABASES`).
    fn module(&mut self, module: &'s SettingsModule, conditional: bool, names: Option<&[String]>) {
        if self.stack.contains(&(module as *const _)) {
            return;
        }
        self.stack.push(module);
        let start = self.out.len();
        self.block(module, module.file.root(), conditional);
        if let Some(names) = names {
            let mut index = start;
            while index < self.out.len() {
                let keep = matches!(self.out[index].path.first(), Some(Key::Str(k)) if names.contains(k));
                if keep {
                    index += 1;
                } else {
                    self.out.remove(index);
                }
            }
        }
        self.stack.pop();
    }

    fn block(&mut self, module: &'s SettingsModule, block: Node<'s>, conditional: bool) {
        for statement in python::named_children(block) {
            match statement.kind() {
                "if_statement" | "try_statement" => {
                    for part in python::named_children(statement) {
                        // The `try` body always starts; its branches and the `if` branches may not run.
                        let maybe = conditional || statement.kind() == "if_statement" || part.kind() != "block";
                        self.block(module, part, maybe);
                    }
                }
                "elif_clause" | "else_clause" | "except_clause" | "finally_clause" | "block" => {
                    self.block(module, statement, conditional)
                }
                "with_statement" => self.block(module, statement, conditional),
                "import_from_statement" => self.import(module, statement, conditional),
                "expression_statement" => self.expression(module, statement, conditional),
                "for_statement" => self.for_loop(module, statement, conditional),
                _ => {}
            }
        }
    }

    /// `from .base import *` (everything) and `from .x import DATABASES` (those names).
    fn import(&mut self, module: &'s SettingsModule, statement: Node<'s>, conditional: bool) {
        let file = &module.file;
        let Some(name) = statement.child_by_field_name("module_name") else { return };
        let from = module.imported_as.as_deref().unwrap_or(module.path());
        let path = python::module_path(from, file.text(name)).with_extension("py");
        let children = python::named_children(statement);
        let names: Vec<String> = children
            .iter()
            .skip(1)
            .filter(|n| n.kind() == "dotted_name")
            .map(|n| file.text(*n).to_owned())
            .filter(|n| ROOTS.contains(&n.as_str()))
            .collect();
        let star = children.iter().any(|n| n.kind() == "wildcard_import");
        if !star && names.is_empty() {
            return;
        }
        if let Some(imported) = self.settings.modules.iter().find(|m| m.is(&path)) {
            self.module(imported, conditional, (!star).then_some(names.as_slice()));
        }
    }

    fn expression(&mut self, module: &'s SettingsModule, statement: Node<'s>, conditional: bool) {
        let file = &module.file;
        let text = &file.source.text;
        let from = module.imported_as.as_deref().unwrap_or(module.path());
        for included in included_files(file, statement, from) {
            // A glob includes its matches in path order, as split-settings does.
            let found: Vec<&'s SettingsModule> =
                self.settings.modules.iter().filter(|m| m.is(&included) || glob_matches(&included, m.path())).collect();
            for imported in found {
                self.module(imported, conditional, None);
            }
        }
        if let Some(assignment) = python::assignment_of(statement) {
            if let Some(path) = root_path(assignment.left, text, &[]) {
                self.value(module, statement, path, assignment.value, conditional);
            }
            return;
        }
        let Some(call) = statement.named_child(0).filter(|c| c.kind() == "call") else { return };
        if let Some(write) = KeyWrite::of_call(file, call) {
            self.call(module, &write, conditional, &[]);
        }
    }

    /// `X.update(...)` / `X.setdefault(...)` on a settings path; `aliases` maps loop variables.
    fn call(
        &mut self,
        module: &'s SettingsModule,
        write: &KeyWrite<'s>,
        conditional: bool,
        aliases: &[(&str, Vec<Key>)],
    ) {
        let text = &module.file.source.text;
        let Some(path) = root_path(write.object, text, aliases) else { return };
        match write.via {
            Via::SetDefault => {
                let (Some(key), Some(value)) = (write.key.and_then(|k| python::string_value(k, text)), write.value)
                else {
                    return;
                };
                let mut path = path;
                path.push(Key::Str(key));
                self.push(module, write.node, path, What::Default(value), conditional);
            }
            Via::Update => {
                for (name, kwarg) in python::kwargs(write.node, text) {
                    let mut inner = path.clone();
                    inner.push(Key::Str(name));
                    self.value(module, write.node, inner, kwarg.value, conditional);
                }
                for arg in python::positional_args(write.node) {
                    match python::unparenthesized(arg) {
                        dict if dict.kind() == "dictionary" => {
                            self.entries(module, write.node, &path, dict, conditional)
                        }
                        other => self.push(module, write.node, path.clone(), What::Unknown(other), conditional),
                    }
                }
            }
            Via::Subscript => {}
        }
    }

    /// `for alias, db in DATABASES.items():` (and `.values()`, `for alias in DATABASES`): writes
    /// through the loop variables apply to every alias; other loops that write settings are
    /// unknown writes.
    fn for_loop(&mut self, module: &'s SettingsModule, statement: Node<'s>, conditional: bool) {
        let file = &module.file;
        let text = &file.source.text;
        let (Some(left), Some(right), Some(body)) = (
            statement.child_by_field_name("left"),
            statement.child_by_field_name("right"),
            statement.child_by_field_name("body"),
        ) else {
            return;
        };
        let iterable = match right.kind() {
            "call" => right.child_by_field_name("function").and_then(|f| python::dotted_name(f, text)),
            _ => python::dotted_name(right, text),
        }
        .unwrap_or_default();
        let (root, method) = iterable.split_once('.').unwrap_or((iterable.as_str(), ""));
        let name = |node: Option<Node<'s>>| node.filter(|n| n.kind() == "identifier").map(|n| file.text(n));
        let every = vec![Key::Str(root.to_owned()), Key::Any];
        let mut aliases: Vec<(&str, Vec<Key>)> = Vec::new();
        if ROOTS.contains(&root) {
            match method {
                "items" if left.named_child_count() == 2 => {
                    aliases.extend(name(left.named_child(1)).map(|n| (n, every)))
                }
                "values" => aliases.extend(name(Some(left)).map(|n| (n, every))),
                _ => {}
            }
        }
        for inner in python::named_children(body) {
            if let Some(assignment) = python::assignment_of(inner) {
                if let Some(path) = root_path(assignment.left, text, &aliases) {
                    self.value(module, inner, path, assignment.value, conditional);
                }
            } else if let Some(call) = inner.named_child(0).filter(|c| c.kind() == "call")
                && let Some(write) = KeyWrite::of_call(file, call)
            {
                self.call(module, &write, conditional, &aliases);
            }
        }
    }

    /// A value set at `path`: a dict literal replaces and sets its entries; anything else is one value.
    fn value(
        &mut self,
        module: &'s SettingsModule,
        node: Node<'s>,
        path: Vec<Key>,
        value: Node<'s>,
        conditional: bool,
    ) {
        let value = python::unparenthesized(value);
        if value.kind() == "dictionary" {
            self.push(module, node, path.clone(), What::Replace(value), conditional);
            self.entries(module, node, &path, value, conditional);
        } else {
            self.push(module, node, path, What::Value(value), conditional);
        }
    }

    /// The entries of a dict literal at `path` (a splat may set any key).
    fn entries(&mut self, module: &'s SettingsModule, node: Node<'s>, path: &[Key], dict: Node<'s>, conditional: bool) {
        let text = &module.file.source.text;
        for child in python::named_children(dict) {
            if child.kind() == "dictionary_splat" {
                self.push(module, node, path.to_vec(), What::Unknown(child), conditional);
            }
        }
        for pair in python::dict_pairs(dict) {
            let key = python::unparenthesized(pair.key);
            let key = match python::string_value(key, text) {
                Some(key) => Key::Str(key),
                None => match key.kind() {
                    "identifier" => {
                        self.settings.string_constant(module, module.file.text(key)).map_or(Key::Any, Key::Str)
                    }
                    _ => Key::Any,
                },
            };
            let mut inner = path.to_vec();
            inner.push(key);
            self.value(module, pair.node, inner, pair.value, conditional);
        }
    }

    fn push(&mut self, module: &'s SettingsModule, node: Node<'s>, path: Vec<Key>, what: What<'s>, conditional: bool) {
        self.out.push(Write { module, node, path, what, conditional });
    }
}

/// The key path of a target (`DATABASES["default"]["OPTIONS"]`, `db["OPTIONS"]` for a loop
/// variable in `aliases`), when it is rooted in a recorded setting.
fn root_path(target: Node, text: &str, aliases: &[(&str, Vec<Key>)]) -> Option<Vec<Key>> {
    let (base, indexes) = python::subscript_path(target, text)?;
    let mut path = match aliases.iter().find(|(name, _)| *name == base) {
        Some((_, path)) => path.clone(),
        None if ROOTS.contains(&base.as_str()) => vec![Key::Str(base)],
        None => return None,
    };
    path.extend(indexes.into_iter().map(|index| match index {
        Index::Key(key) => Key::Str(key),
        Index::Name(_) | Index::Other => Key::Any,
    }));
    Some(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn final_of(files: &[(&str, &str)], top: &str, path: &[&str]) -> Vec<String> {
        let (_dir, project) = crate::project::test_project(files);
        let settings = Settings::of(&project);
        let top = settings.modules.iter().find(|m| m.path().ends_with(top)).expect("top module");
        let writes = writes(&settings, top);
        candidates(&writes, path)
            .into_iter()
            .map(|w| format!("{} {}", w.location(), w.value_text().unwrap_or("")))
            .collect()
    }

    #[test]
    fn pool_switched_on_later_by_subscript_in_the_importing_module() {
        let files = [
            ("proj/settings/base.py", "DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql'}}\n"),
            (
                "proj/settings/production.py",
                "from .base import *\nDATABASES['default']['OPTIONS'] = {}\nif USE_POOL:\n    DATABASES['default']['OPTIONS']['pool'] = True\n",
            ),
            ("proj/settings/dev.py", "from .base import *\nDATABASES['default']['OPTIONS'] = {'pool': False}\n"),
        ];
        let pool = ["DATABASES", "default", "OPTIONS", "pool"];
        assert_eq!(final_of(&files, "production.py", &pool), ["proj/settings/production.py:4 True"]);
        assert_eq!(final_of(&files, "dev.py", &pool), ["proj/settings/dev.py:2 False"]);
        assert!(final_of(&files, "base.py", &pool).is_empty());
    }

    #[test]
    fn split_settings_includes_in_order_and_loops() {
        let files = [
            (
                "proj/settings/__init__.py",
                "from split_settings.tools import include, optional\ninclude('components/*.py', optional('local.py'))\n",
            ),
            ("proj/settings/components/a_db.py", "DATABASES = {'default': {'OPTIONS': {'pool': True}}}\n"),
            (
                "proj/settings/components/b_cache.py",
                "for alias, db in DATABASES.items():\n    db['OPTIONS'].update(pool=False)\n",
            ),
            (
                "proj/settings/local.py",
                "CACHES = {'default': {'BACKEND': 'x'}}\nCACHES['default'].setdefault('BACKEND', 'y')\n",
            ),
        ];
        let pool = ["DATABASES", "default", "OPTIONS", "pool"];
        assert_eq!(final_of(&files, "__init__.py", &pool), ["proj/settings/components/b_cache.py:2 False"]);
        assert_eq!(
            final_of(&files, "__init__.py", &["CACHES", "default", "BACKEND"]),
            ["proj/settings/local.py:1 'x'"]
        );
    }
}
