//! The app's migration history read statically: its folder (or the `MIGRATION_MODULES`
//! override), each migration's dependencies on its own app and the `replaces` of squashed ones,
//! and the current leaf that a new migration must depend on.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::apps::App;
use super::py;
use crate::facts::problem::Problem;
use crate::lang::python::{self, PyFile};
use crate::project::Project;
use crate::text::location::Location;
use crate::text::source::SourceFile;

/// One migration module of the app.
#[derive(Debug, Clone)]
pub struct Migration {
    pub name: String,
    /// Names of this app's migrations it depends on.
    pub parents: Vec<String>,
    /// Names it replaces (a squashed migration).
    pub replaces: Vec<String>,
}

/// The app's history as far as a new migration is concerned.
#[derive(Debug, Clone)]
pub struct History {
    pub dir: PathBuf,
    pub leaf: String,
    /// Every migration name on disk (to avoid a file name that exists).
    pub names: BTreeSet<String>,
}

/// Why no migration can be added to the app.
#[derive(Debug)]
pub enum HistoryProblem {
    /// The app has no migrations: `makemigrations` writes its initial one, indexes included.
    NoMigrations(PathBuf),
    /// `MIGRATION_MODULES` maps the app to None: migrations are disabled for it.
    Disabled(Location),
    /// Not readable, or more than one leaf: an error outcome.
    Error(Box<Problem>),
}

/// `MIGRATION_MODULES = {"label": "dotted.module"}` overrides found in the settings modules.
fn migration_modules(project: &Project, candidates: &[PathBuf]) -> BTreeMap<String, (Option<String>, Location)> {
    let mut found = BTreeMap::new();
    for path in project.files_containing(candidates, "MIGRATION_MODULES") {
        let Ok(source) = project.read(&path) else { continue };
        let Ok(file) = python::parse(source) else { continue };
        let src = file.source.text.as_str();
        for statement in python::named_children(file.root()) {
            let Some((name, value)) = py::named_assignment(statement, src) else { continue };
            if name != "MIGRATION_MODULES" || value.kind() != "dictionary" {
                continue;
            }
            for pair in python::dict_pairs(value) {
                if let Some(label) = python::string_value(pair.key, src) {
                    found.insert(label, (python::string_value(pair.value, src), file.location(pair.node)));
                }
            }
        }
    }
    found
}

/// Every Python module of the project, by folder: looked up once per app instead of scanning
/// the whole file list for each.
fn modules_by_dir(project: &Project) -> BTreeMap<PathBuf, Vec<PathBuf>> {
    let mut by_dir: BTreeMap<PathBuf, Vec<PathBuf>> = BTreeMap::new();
    for path in project.files_where(|p| p.extension().is_some_and(|e| e == "py")) {
        by_dir.entry(path.parent().unwrap_or(Path::new("")).to_path_buf()).or_default().push(path.clone());
    }
    by_dir
}

/// Where the apps' migrations live: the `MIGRATION_MODULES` overrides and the project's Python
/// modules by folder, read once per run and looked up for each app.
pub struct Layout {
    python_root: PathBuf,
    overrides: BTreeMap<String, (Option<String>, Location)>,
    modules_by_dir: BTreeMap<PathBuf, Vec<PathBuf>>,
}

impl Layout {
    /// `python_files`: the files that may hold `MIGRATION_MODULES` (the settings among them).
    pub fn read(project: &Project, python_files: &[PathBuf]) -> Layout {
        Layout {
            python_root: super::apps::python_root(project),
            overrides: migration_modules(project, python_files),
            modules_by_dir: modules_by_dir(project),
        }
    }

    /// Reads the app's history and finds its single leaf.
    pub fn history(&self, project: &Project, app: &App) -> Result<History, HistoryProblem> {
        history(project, app, self)
    }
}

fn history(project: &Project, app: &App, layout: &Layout) -> Result<History, HistoryProblem> {
    let dir = match layout.overrides.get(&app.label) {
        Some((None, location)) => return Err(HistoryProblem::Disabled(location.clone())),
        Some((Some(module), _)) => layout.python_root.join(module.replace('.', "/")),
        None => app.dir.join("migrations"),
    };
    let files: Vec<&PathBuf> = layout
        .modules_by_dir
        .get(&dir)
        .into_iter()
        .flatten()
        .filter(|p| p.file_stem().is_some_and(|s| !s.to_string_lossy().starts_with(['_', '~'])))
        .collect();
    if files.is_empty() {
        return Err(HistoryProblem::NoMigrations(dir));
    }
    let mut migrations = Vec::new();
    for path in files {
        let source = project.read(path).map_err(|err| HistoryProblem::Error(Box::new(err.into())))?;
        let header = graph_part(&source.text)
            .and_then(|part| python::parse(std::sync::Arc::new(SourceFile::from_text(path.as_path(), part))).ok());
        if let Some(header) = header {
            let name = path.file_stem().unwrap().to_string_lossy().into_owned();
            migrations.push(read_migration(name, &app.label, &header));
            continue;
        }
        let file = py::parse_or_template(
            source,
            "the migration history cannot be read, no index is planned for this app",
            |err| Problem::unreadable(err.location, "syntax error; the migration history cannot be read"),
        )
        .map_err(HistoryProblem::Error)?;
        let name = path.file_stem().unwrap().to_string_lossy().into_owned();
        migrations.push(read_migration(name, &app.label, &file));
    }
    let names: BTreeSet<String> = migrations.iter().map(|m| m.name.clone()).collect();
    let leaves = leaves(&migrations);
    match leaves.as_slice() {
        [leaf] => Ok(History { dir, leaf: leaf.clone(), names }),
        [] => Err(HistoryProblem::Error(Box::new(Problem::unreadable(
            Location::file(&dir),
            format!("the migrations of {} form a cycle; no leaf migration to depend on", app.label),
        )))),
        many => Err(HistoryProblem::Error(Box::new(Problem::unreadable(
            Location::file(&dir),
            format!(
                "Conflicting migrations detected; multiple leaf nodes in the migration graph: ({} in {}). \
                 Merge them first (python manage.py makemigrations --merge), then run scalepatch again",
                many.join(", "),
                app.label
            ),
        )))),
    }
}

/// The part of a migration module that holds `dependencies` and `replaces`: everything before
/// its `operations = ` line. The operations are most of a migration's text (thousands of lines in
/// a squashed one) and say nothing about the graph, so they are not parsed. `None` when there is
/// no such line, or the graph is named after it: then the whole module is read.
fn graph_part(text: &str) -> Option<&str> {
    let mut offset = 0;
    for line in text.split_inclusive('\n') {
        let trimmed = line.trim_start();
        if trimmed.len() != line.len()
            && let Some(after) = trimmed.strip_prefix("operations")
            && after.trim_start().starts_with('=')
        {
            let rest = &text[offset..];
            return (!rest.contains("dependencies") && !rest.contains("replaces")).then_some(&text[..offset]);
        }
        offset += line.len();
    }
    None
}

/// The dependencies on its own app and the `replaces` of one migration module.
fn read_migration(name: String, label: &str, file: &PyFile) -> Migration {
    let src = file.source.text.as_str();
    let mut migration = Migration { name, parents: Vec::new(), replaces: Vec::new() };
    for statement in python::named_children(file.root()) {
        let Some(class) = py::class_definition(statement) else { continue };
        if class.child_by_field_name("name").is_none_or(|n| file.text(n) != "Migration") {
            continue;
        }
        let Some(body) = class.child_by_field_name("body") else { continue };
        for item in python::named_children(body) {
            let Some((key, value)) = py::named_assignment(item, src) else { continue };
            let target = match key.as_str() {
                "dependencies" => &mut migration.parents,
                "replaces" => &mut migration.replaces,
                _ => continue,
            };
            for pair in python::named_children(value) {
                if let Some([app, parent]) = py::string_list(pair, src).as_deref()
                    && app == label
                {
                    target.push(parent.clone());
                }
            }
        }
    }
    migration
}

/// Leaf migrations: those no other migration of the app depends on, once squashed migrations
/// stand in for the ones they replace (as Django's loader does when the replaced files remain).
pub fn leaves(migrations: &[Migration]) -> Vec<String> {
    let mut stand_in: BTreeMap<&str, &str> = BTreeMap::new();
    for migration in migrations {
        for replaced in &migration.replaces {
            stand_in.insert(replaced.as_str(), migration.name.as_str());
        }
    }
    let resolve = |name: &str| -> String {
        let mut current = name;
        while let Some(next) = stand_in.get(current) {
            if *next == current {
                break;
            }
            current = next;
        }
        current.to_owned()
    };
    let nodes: BTreeSet<String> =
        migrations.iter().filter(|m| !stand_in.contains_key(m.name.as_str())).map(|m| m.name.clone()).collect();
    let mut has_child: BTreeSet<String> = BTreeSet::new();
    for migration in migrations {
        let child = resolve(&migration.name);
        for parent in &migration.parents {
            let parent = resolve(parent);
            if parent != child {
                has_child.insert(parent);
            }
        }
    }
    nodes.into_iter().filter(|name| !has_child.contains(name)).collect()
}

/// The number Django gives the migration after `leaf` (`parse_number` + 1): the leading digits,
/// or the number after `_squashed_`.
pub fn next_number(leaf: &str) -> u32 {
    let digits = |s: &str| s.chars().take_while(char::is_ascii_digit).collect::<String>().parse::<u32>().ok();
    let number = match leaf.split_once("_squashed_") {
        Some((_, after)) => digits(after),
        None => digits(leaf),
    };
    number.unwrap_or(0) + 1
}

#[cfg(test)]
mod tests {
    use super::*;

    fn m(name: &str, parents: &[&str], replaces: &[&str]) -> Migration {
        Migration {
            name: name.into(),
            parents: parents.iter().map(|s| s.to_string()).collect(),
            replaces: replaces.iter().map(|s| s.to_string()).collect(),
        }
    }

    #[test]
    fn the_graph_part_stops_before_the_operations() {
        let text = "from django.db import migrations\n\n\nclass Migration(migrations.Migration):\n    dependencies = [(\"shop\", \"0001_initial\")]\n\n    operations = [\n        migrations.RunSQL(\"x\"),\n    ]\n";
        let part = graph_part(text).unwrap();
        assert!(part.ends_with("0001_initial\")]\n\n"), "{part:?}");
        let file =
            python::parse(std::sync::Arc::new(SourceFile::from_text("shop/migrations/0002_x.py", part))).unwrap();
        assert_eq!(read_migration("0002_x".into(), "shop", &file).parents, ["0001_initial"]);
        // Dependencies written after the operations: the whole module is read.
        let late =
            "class Migration(migrations.Migration):\n    operations = []\n    dependencies = [(\"shop\", \"0001\")]\n";
        assert_eq!(graph_part(late), None);
        assert_eq!(graph_part("x = 1\n"), None);
    }

    #[test]
    fn leaf_with_squash_and_conflicts() {
        let squash = [
            m("0001_initial", &[], &[]),
            m("0002_a", &["0001_initial"], &[]),
            m("0001_squashed_0002_a", &[], &["0001_initial", "0002_a"]),
            m("0003_b", &["0002_a"], &[]),
        ];
        assert_eq!(leaves(&squash), ["0003_b"]);
        let only_squash = [m("0001_squashed_0004_x", &[], &["0001_initial", "0004_x"])];
        assert_eq!(leaves(&only_squash), ["0001_squashed_0004_x"]);
        assert_eq!(next_number("0001_squashed_0004_x"), 5);
        assert_eq!(next_number("0012_auto"), 13);
        let two =
            [m("0001_initial", &[], &[]), m("0002_a", &["0001_initial"], &[]), m("0002_b", &["0001_initial"], &[])];
        assert_eq!(leaves(&two), ["0002_a", "0002_b"]);
    }
}
