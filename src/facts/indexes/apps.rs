//! Django apps of the project: folders holding a `models.py` or a `models/` package, with their
//! label (from `apps.py` when it sets one) and their dotted module path.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use super::py;
use crate::lang::python;
use crate::project::Project;

/// One Django app found on disk.
#[derive(Debug, Clone)]
pub struct App {
    /// The app label Django uses in migrations (`AppConfig.label`, default: the folder name).
    pub label: String,
    /// The app folder, relative to the project root.
    pub dir: PathBuf,
    /// `models.py`, or every module of the `models/` package.
    pub model_files: Vec<PathBuf>,
    /// The app's dotted module (`apps.chat`), relative to the folder holding manage.py.
    pub module: String,
}

/// The folder Python imports the project from: the one holding manage.py (the shallowest one),
/// else the project root.
pub fn python_root(project: &Project) -> PathBuf {
    project
        .files_named("manage.py")
        .min_by_key(|path| path.components().count())
        .and_then(|path| path.parent().map(Path::to_path_buf))
        .unwrap_or_default()
}

/// Every app with models, sorted by folder.
pub fn find_apps(project: &Project) -> Vec<App> {
    let root = python_root(project);
    let mut apps: Vec<App> = Vec::new();
    // Apps by folder: a map, not a scan of the apps found so far for each file.
    let mut by_dir: HashMap<PathBuf, usize> = HashMap::new();
    for path in project.files_of(crate::project::kinds::is_python).iter() {
        let in_migrations = path.components().any(|c| c.as_os_str() == "migrations");
        if in_migrations {
            continue;
        }
        let Some(parent) = path.parent() else { continue };
        // A module of a `models/` package belongs to the app above it, a `models/models.py`
        // (netbox's extras) included: that folder is not an app of its own.
        let app_dir =
            if parent.file_name().is_some_and(|n| n == "models") && project.has_file(&parent.join("__init__.py")) {
                parent.parent().unwrap_or(Path::new("")).to_path_buf()
            } else if path.file_name().is_some_and(|n| n == "models.py") {
                parent.to_path_buf()
            } else {
                continue;
            };
        match by_dir.get(&app_dir) {
            Some(&index) => apps[index].model_files.push(path.clone()),
            None => {
                by_dir.insert(app_dir.clone(), apps.len());
                apps.push(App {
                    label: String::new(),
                    module: module_of(&root, &app_dir),
                    dir: app_dir,
                    model_files: vec![path.clone()],
                });
            }
        }
    }
    let mut apps = fold_model_modules(project, apps);
    for app in &mut apps {
        app.model_files.sort();
        app.label = label_from_apps_py(project, &app.dir).unwrap_or_else(|| default_label(&app.dir));
    }
    apps.sort_by(|a, b| a.dir.cmp(&b.dir));
    apps
}

/// A folder with a `models.py` inside another app's folder, with neither an `apps.py` nor a
/// `migrations/` of its own, is a module of that app, not an app: DefectDojo's
/// `dojo/announcement/models.py` is re-exported by `dojo/models.py`, and its models migrate with
/// `dojo`. Taken for apps, each such folder was "an app without migrations yet" and its models
/// were never indexed.
fn fold_model_modules(project: &Project, apps: Vec<App>) -> Vec<App> {
    let own_app =
        |dir: &Path| project.has_file(&dir.join("apps.py")) || !project.files_under(&dir.join("migrations")).is_empty();
    let dirs: std::collections::HashSet<PathBuf> = apps.iter().map(|app| app.dir.clone()).collect();
    let owner_of = |app: &App| -> Option<PathBuf> {
        if own_app(&app.dir) {
            return None;
        }
        app.dir.ancestors().skip(1).find(|dir| dirs.contains(*dir)).map(Path::to_path_buf)
    };
    let owners: Vec<Option<PathBuf>> = apps.iter().map(owner_of).collect();
    let mut kept: Vec<App> = Vec::new();
    let mut folded: Vec<(PathBuf, Vec<PathBuf>)> = Vec::new();
    for (app, owner) in apps.into_iter().zip(owners) {
        match owner {
            Some(owner) => folded.push((owner, app.model_files)),
            None => kept.push(app),
        }
    }
    for (owner, files) in folded {
        // The owner may itself be folded into an app above it: follow the chain to a kept app.
        let target = owner.ancestors().find_map(|dir| kept.iter().position(|app| app.dir == dir));
        if let Some(index) = target {
            kept[index].model_files.extend(files);
        }
    }
    kept
}

/// The dotted module of `dir` relative to the Python root (`apps/chat` -> `apps.chat`).
pub fn module_of(root: &Path, dir: &Path) -> String {
    let relative = dir.strip_prefix(root).unwrap_or(dir);
    relative.components().map(|c| c.as_os_str().to_string_lossy().into_owned()).collect::<Vec<_>>().join(".")
}

fn default_label(dir: &Path) -> String {
    dir.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default()
}

/// `label = "..."` in the app's `apps.py` AppConfig, when there is one.
fn label_from_apps_py(project: &Project, dir: &Path) -> Option<String> {
    let path = dir.join("apps.py");
    if !project.has_file(&path) {
        return None;
    }
    let file = python::parse(project.read(&path).ok()?).ok()?;
    let src = file.source.text.as_str();
    for statement in python::named_children(file.root()) {
        let Some(class) = py::class_definition(statement) else { continue };
        let body = class.child_by_field_name("body")?;
        for item in python::named_children(body) {
            if let Some((name, value)) = py::named_assignment(item, src)
                && name == "label"
            {
                return python::string_value(value, src);
            }
        }
    }
    None
}
