//! Which model of the project a class name in a Python file means: by the import that brings
//! the name into the file, never by the bare name alone (another app's `Group`, or a name several
//! apps define, is not guessed). Every lookup is a map, so mining stays linear in the code however
//! many apps reuse a model name.

use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

use crate::lang::python::{self, PyFile};
use crate::text::location::Location;

/// What the miner needs to know about the project's models: every lookup is a map, so mining is
/// linear in the code however many apps reuse a model name.
#[derive(Default)]
pub struct Names<'a> {
    /// Model class name -> model indices (several apps may reuse a name).
    pub models: HashMap<&'a str, Vec<usize>>,
    /// (class name, module path) -> model: the module as a path without `.py` (`shop/models`),
    /// also the package folder of a `models/` package (`blog/models`), each also relative to the
    /// folder Python imports from. A file's `from <module> import <Name>` is looked up here.
    pub by_module: HashMap<(&'a str, PathBuf), usize>,
    /// (class name, app folder) -> model: a bare name in a file of that app.
    pub by_dir: HashMap<(&'a str, &'a Path), usize>,
    /// The first folder of every module that defines a model (as a path and relative to the
    /// folder Python imports from): an import from elsewhere is from outside the project.
    pub roots: HashSet<String>,
    /// Manager or queryset class name -> model index.
    pub managers: HashMap<&'a str, usize>,
    /// Manager attribute names per model (`objects` and the declared ones).
    pub manager_attrs: Vec<Vec<String>>,
}

impl<'a> Names<'a> {
    /// Registers model `index`, named `name`, defined in `file` of the app folder `app_dir`;
    /// `python_root` is the folder Python imports from.
    pub fn add_model(&mut self, index: usize, name: &'a str, file: &Path, app_dir: &'a Path, python_root: &Path) {
        self.models.entry(name).or_default().push(index);
        let module = file.with_extension("");
        let mut keys = vec![module.clone()];
        if file.file_name().is_some_and(|n| n != "__init__.py")
            && let Some(package) = file.parent().filter(|dir| dir.file_name().is_some_and(|n| n == "models"))
        {
            keys.push(package.to_path_buf());
        }
        if file.file_name().is_some_and(|n| n == "__init__.py") {
            keys.push(file.parent().unwrap_or(Path::new("")).to_path_buf());
        }
        let relative: Vec<PathBuf> =
            keys.iter().filter_map(|k| k.strip_prefix(python_root).ok()).map(Path::to_path_buf).collect();
        for key in keys.into_iter().chain(relative) {
            if let Some(first) = key.components().next() {
                self.roots.insert(first.as_os_str().to_string_lossy().into_owned());
            }
            self.by_module.entry((name, key)).or_insert(index);
        }
        self.by_dir.entry((name, app_dir)).or_insert(index);
    }

    /// The model a class name means in this file, by the import that brings the name in: `from
    /// <module> import <Name>` names the module (a module of the project that defines no model of
    /// that name, or one outside it like `django.contrib.auth.models`, is not one of ours); a
    /// name the file does not import is its own class, one of a star import, the model of the
    /// file's app, or the only model of that name. Anything else is recorded as unresolved.
    /// `None` when no model of the project has that name; `Err` with why when the name is not
    /// surely one of them.
    pub fn resolve(&self, name: &str, imports: &Imports, path: &Path) -> Option<Result<usize, String>> {
        let several = self.models.get(name)?;
        Some(match imports.named.get(name) {
            Some((module, dotted)) => self.imported(name, module, dotted, several),
            None => self.unimported(name, several, imports, path),
        })
    }

    /// A name imported from `module`: the model that module defines, or (a re-export) the only
    /// model of that name when the module is the project's own.
    fn imported(&self, name: &str, module: &Path, dotted: &str, several: &[usize]) -> Result<usize, String> {
        if let Some(&model) = self.by_module.get(&(name, module.to_path_buf())) {
            return Ok(model);
        }
        let ours =
            module.components().next().is_some_and(|c| self.roots.contains(c.as_os_str().to_string_lossy().as_ref()));
        match several {
            [only] if ours => Ok(*only),
            _ if ours => Err(format!(
                "`{name}` is imported from `{dotted}`, which defines none of the {} models of that name",
                several.len()
            )),
            _ => Err(format!("`{name}` is imported from `{dotted}`, outside the project: not a model of this project")),
        }
    }

    /// A name the file uses without importing it by name.
    fn unimported(&self, name: &str, several: &[usize], imports: &Imports, path: &Path) -> Result<usize, String> {
        let key = |module: &Path| self.by_module.get(&(name, module.to_path_buf())).copied();
        let found = key(&path.with_extension(""))
            .or_else(|| imports.stars.iter().find_map(|module| key(module)))
            .or_else(|| path.ancestors().skip(1).find_map(|dir| self.by_dir.get(&(name, dir)).copied()));
        match (found, several) {
            (Some(model), _) => Ok(model),
            (None, [only]) => Ok(*only),
            (None, _) => Err(format!(
                "`{name}` is defined by {} apps and this file does not import it from one of them",
                several.len()
            )),
        }
    }
}

/// A query on a name the miner could not tie to one model of the project, and why: a model of
/// another app (`django.contrib.auth`'s `Group`) or a name several apps define.
#[derive(Debug, Clone)]
pub struct Unresolved {
    pub name: String,
    pub location: Location,
    pub why: String,
}

/// What a file imports: each name of `from <module> import <Name>` with its module as a path
/// (relative imports resolved against the file's folder) and as written, and the modules of its
/// star imports.
#[derive(Default)]
pub struct Imports {
    pub named: HashMap<String, (PathBuf, String)>,
    pub stars: Vec<PathBuf>,
}

pub fn imports(file: &PyFile) -> Imports {
    let path = &file.source.path;
    let mut found = Imports::default();
    for statement in python::named_children(file.root()) {
        if statement.kind() != "import_from_statement" {
            continue;
        }
        let Some(module) = statement.child_by_field_name("module_name") else { continue };
        let dotted = file.text(module);
        let module_path = python::module_path(path, dotted);
        let mut cursor = statement.walk();
        if statement.named_children(&mut cursor).any(|c| c.kind() == "wildcard_import") {
            found.stars.push(module_path.clone());
        }
        for name in statement.children_by_field_name("name", &mut cursor) {
            let imported = match name.kind() {
                "aliased_import" => name.child_by_field_name("alias").map(|a| file.text(a)),
                _ => Some(file.text(name)),
            };
            if let Some(imported) = imported {
                found.named.insert(imported.to_owned(), (module_path.clone(), dotted.to_owned()));
            }
        }
    }
    found
}
