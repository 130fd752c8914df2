//! The analyses behind `db-indexes`: the apps and their models, the queries the code runs, the
//! migration graph and the databases. The patch (`patches/db_indexes.rs`) decides the indexes
//! from them.
//!
//! [`apps`] finds the apps, [`models`] reads their model classes, [`queries`] mines the querysets
//! across the project's Python files, [`shapes`] says which index each query asks for and which
//! existing index serves it, [`migrations`] finds the leaf a new migration depends on,
//! [`databases`] decides between `AddIndex` and `AddIndexConcurrently`, and [`render`] writes the
//! model edit and the migration.

pub mod apps;
pub mod databases;
pub mod migrations;
pub mod models;
pub mod names;
pub mod py;
pub mod queries;
pub mod render;
pub mod shapes;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::facts::problem::Problem;
use crate::project::Project;
use crate::text::location::Location;
use apps::App;
use models::{FieldKind, ModelClass};
use shapes::ModelFacts;

/// A model class of the project, with the app it belongs to.
pub struct Model {
    pub class: ModelClass,
    /// Its app, an index into [`Analysis::apps`].
    pub app: usize,
    /// A Django model (a base is `Model` or a model of the project), not a proxy.
    pub is_model: bool,
    pub is_abstract: bool,
}

impl Model {
    /// A model with a table of its own, whose queries can want an index.
    pub fn has_table(&self) -> bool {
        self.is_model && !self.is_abstract
    }
}

/// What the project's code says about its tables and queries.
pub struct Analysis {
    pub apps: Vec<App>,
    pub models: Vec<Model>,
    /// Per model: fields, ordering and existing indexes, abstract bases merged in.
    pub facts: Vec<ModelFacts>,
    /// Per model: the queries on it found in production code (test modules left out).
    pub queries: Vec<Vec<queries::Query>>,
    /// Per app: its models, indices into [`Analysis::models`].
    pub by_app: Vec<Vec<usize>>,
    /// Queries on a name that is not surely a model of the project (another app's model, a name
    /// several apps define that the file does not import), with why: said, never guessed.
    pub unresolved: Vec<names::Unresolved>,
    /// Apps whose models could not be read: nothing is planned for them.
    pub broken_apps: BTreeSet<usize>,
    /// Where each app's migrations live.
    pub migrations: migrations::Layout,
    /// Why a models file or a file with queries could not be read (an error, a warning, or the
    /// skip of an unrendered template), for the plan's notes.
    pub problems: Vec<Problem>,
}

/// The analysis of `project`; `None` when it has no Django models.
pub fn analyse(project: &Project) -> Option<Analysis> {
    let apps = apps::find_apps(project);
    if apps.is_empty() {
        return None;
    }
    let mut problems = Vec::new();
    let (models, broken_apps) = read_models(project, &apps, &mut problems);
    let python_files: Vec<PathBuf> = project
        .files_of(crate::project::kinds::is_python)
        .iter()
        .filter(|p| !p.components().any(|c| c.as_os_str() == "migrations"))
        .cloned()
        .collect();
    let production_files: Vec<PathBuf> = python_files.iter().filter(|p| !is_test_module(p)).cloned().collect();
    let mut queries: Vec<Vec<queries::Query>> = models.iter().map(|_| Vec::new()).collect();
    let (mined, unresolved) = mine_queries(project, &production_files, &models, &mut problems);
    for query in mined {
        queries[query.model].push(query);
    }
    let abstracts = Abstracts::of(&models);
    let facts = (0..models.len()).map(|i| facts_of(&models, &abstracts, i)).collect();
    let migrations = migrations::Layout::read(project, &python_files);
    let mut by_app: Vec<Vec<usize>> = apps.iter().map(|_| Vec::new()).collect();
    for (i, model) in models.iter().enumerate() {
        by_app[model.app].push(i);
    }
    Some(Analysis { apps, models, by_app, facts, queries, unresolved, broken_apps, migrations, problems })
}

/// The classes of one models file, or the error outcome that stops its app.
type ClassesOrError = Result<Vec<ModelClass>, Box<Problem>>;

/// Test modules (`tests.py`, `test_*.py`, `*_tests.py`, `conftest.py`, anything under `tests/`):
/// their queries exercise the code, they are not the production load indexes are for.
fn is_test_module(path: &Path) -> bool {
    let name = path.file_stem().map(|s| s.to_string_lossy()).unwrap_or_default();
    name == "tests"
        || name == "conftest"
        || name.starts_with("test_")
        || name.ends_with("_tests")
        || name.ends_with("_test")
        || path
            .parent()
            .is_some_and(|dir| dir.components().any(|c| matches!(c.as_os_str().to_str(), Some("tests" | "test"))))
}

/// Reads every models file of every app (in parallel); an unreadable one makes its app an error.
fn read_models(project: &Project, apps: &[App], outcomes: &mut Vec<Problem>) -> (Vec<Model>, BTreeSet<usize>) {
    let files: Vec<(usize, &PathBuf)> =
        apps.iter().enumerate().flat_map(|(i, app)| app.model_files.iter().map(move |f| (i, f))).collect();
    let read: Vec<(usize, ClassesOrError)> = files
        .par_iter()
        .map(|(app, path)| {
            let result = project.read(path).map_err(|err| Box::new(Problem::from(err))).and_then(|source| {
                let file = py::parse_or_template(source, "no index is planned for this app", |err| {
                    Problem::unreadable(
                        err.location,
                        "syntax error; its models cannot be read, no index is planned for this app",
                    )
                })?;
                Ok(models::read_classes(&file))
            });
            (*app, result)
        })
        .collect();
    let mut broken = BTreeSet::new();
    let mut models = Vec::new();
    for (app, result) in read {
        match result {
            Ok(classes) => models.extend(classes.into_iter().map(|class| Model {
                is_abstract: class.meta.as_ref().is_some_and(|m| m.is_abstract),
                class,
                app,
                is_model: false,
            })),
            Err(outcome) => {
                broken.insert(app);
                outcomes.push(*outcome);
            }
        }
    }
    // A class is a model when a base is `Model` (`models.Model`, `TimeStampedModel`, ...) or a
    // model of the project; repeated until nothing changes, for chains of bases.
    loop {
        let known: BTreeSet<String> = models.iter().filter(|m| m.is_model).map(|m| m.class.name.clone()).collect();
        let mut changed = false;
        for model in models.iter_mut().filter(|m| !m.is_model) {
            if model.class.bases.iter().any(|b| {
                let last = py::last_segment(b);
                last.ends_with("Model") || known.contains(last)
            }) {
                model.is_model = true;
                changed = true;
            }
        }
        if !changed {
            break;
        }
    }
    for model in &mut models {
        if model.class.meta.as_ref().is_some_and(|m| m.proxy) {
            model.is_model = false;
        }
    }
    (models, broken)
}

/// The project's abstract models by class name: bases are looked up here, not by scanning
/// every model for every base.
pub struct Abstracts<'m>(HashMap<&'m str, usize>);

impl<'m> Abstracts<'m> {
    pub fn of(models: &'m [Model]) -> Abstracts<'m> {
        let mut map = HashMap::new();
        for (i, model) in models.iter().enumerate().filter(|(_, m)| m.is_abstract) {
            map.entry(model.class.name.as_str()).or_insert(i);
        }
        Abstracts(map)
    }

    fn get(&self, base: &str) -> Option<usize> {
        self.0.get(py::last_segment(base)).copied()
    }
}

/// Abstract bases of the project that `index` inherits from (nearest first).
fn abstract_bases(models: &[Model], abstracts: &Abstracts, index: usize) -> Vec<usize> {
    let mut found = Vec::new();
    let mut queue = vec![index];
    while let Some(current) = queue.pop() {
        for base in &models[current].class.bases {
            if let Some(b) = abstracts.get(base)
                && !found.contains(&b)
            {
                found.push(b);
                queue.push(b);
            }
        }
    }
    found
}

/// The abstract base whose Meta the model inherits when it declares none: the written base
/// expression, and whether that Meta has indexes.
pub fn inherited_meta<'m>(models: &'m [Model], abstracts: &Abstracts, index: usize) -> Option<(&'m str, bool)> {
    let model = &models[index].class;
    model.bases.iter().find_map(|base| {
        let b = &models[abstracts.get(base)?];
        let meta = b.class.meta.as_ref()?;
        Some((base.as_str(), !meta.indexes.is_empty() || meta.indexes_list.is_some()))
    })
}

/// Fields, default ordering and existing indexes of a model, abstract bases merged in.
fn facts_of(models: &[Model], abstracts: &Abstracts, index: usize) -> ModelFacts {
    let model = &models[index].class;
    let bases = abstract_bases(models, abstracts, index);
    let mut fields = model.fields.clone();
    for &b in &bases {
        for field in &models[b].class.fields {
            if !fields.iter().any(|f| f.name == field.name) {
                fields.push(field.clone());
            }
        }
    }
    // The implicit `id` gives way to a primary key declared by an abstract base.
    if fields[model.fields.len()..].iter().any(|f| f.primary) {
        fields.retain(|f| !(f.primary && f.name == "id" && f.kind == FieldKind::Plain));
    }
    // Meta: the model's own; else the inherited one; a Meta extending `Base.Meta` fills gaps from it.
    let base_meta = bases.iter().filter_map(|&b| models[b].class.meta.clone()).next();
    let (meta, parent) = match (&model.meta, base_meta) {
        (Some(own), parent) => {
            let extends = own.bases.iter().any(|b| b.ends_with(".Meta"));
            (Some(own.clone()), if extends { parent } else { None })
        }
        (None, parent) => (parent, None),
    };
    let pick = |get: &dyn Fn(&models::Meta) -> Option<Vec<String>>| {
        meta.as_ref().and_then(get).or_else(|| parent.as_ref().and_then(get))
    };
    let ordering = pick(&|m| m.ordering.clone());
    let get_latest_by = pick(&|m| m.get_latest_by.clone());
    let mut existing: Vec<(Vec<String>, String, bool)> = Vec::new();
    for meta in meta.iter().chain(parent.iter()) {
        existing.extend(meta.indexes.iter().map(|i| (i.fields.clone(), i.what.clone(), i.unique)));
    }
    ModelFacts { fields, ordering, get_latest_by, existing }
}

/// What makes a Python file worth parsing for queries: `.objects`, `queryset`, `_or_404(` (the
/// `get_object_or_404` shortcuts, which take a model by name) or
/// `_default_manager` anywhere, or a name of the models' own managers (`.published`,
/// `PostQuerySet`) as an identifier.
///
/// The model-specific names are looked up in one pass over the file's identifiers, not searched
/// one by one: a project with hundreds of managers would otherwise scan every file hundreds of
/// times (the files without `.objects` are most of a large project, and all of them were).
struct Needles {
    fixed: Vec<memchr::memmem::Finder<'static>>,
    /// Manager attributes, matched after a `.`.
    attrs: HashSet<Vec<u8>>,
    /// Manager and queryset class names.
    names: HashSet<Vec<u8>>,
}

impl Needles {
    fn new(models: &[Model]) -> Needles {
        let fixed = [".objects", "queryset", "_default_manager", "_or_404("]
            .iter()
            .map(|n| memchr::memmem::Finder::new(n.as_bytes()).into_owned())
            .collect();
        let (mut attrs, mut names) = (HashSet::new(), HashSet::new());
        for model in models.iter().filter(|m| m.is_model) {
            for (attr, manager) in &model.class.managers {
                attrs.insert(attr.as_bytes().to_vec());
                names.insert(manager.as_bytes().to_vec());
            }
        }
        Needles { fixed, attrs, names }
    }

    fn found_in(&self, bytes: &[u8]) -> bool {
        if self.fixed.iter().any(|f| f.find(bytes).is_some()) {
            return true;
        }
        if self.attrs.is_empty() && self.names.is_empty() {
            return false;
        }
        let word = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
        let mut at = 0;
        while at < bytes.len() {
            if !word(bytes[at]) {
                at += 1;
                continue;
            }
            let start = at;
            while at < bytes.len() && word(bytes[at]) {
                at += 1;
            }
            let identifier = &bytes[start..at];
            if self.names.contains(identifier)
                || (start > 0 && bytes[start - 1] == b'.' && self.attrs.contains(identifier))
            {
                return true;
            }
        }
        false
    }
}

/// Mines the queries of every Python file that mentions a manager or a queryset, in parallel.
fn mine_queries(
    project: &Project,
    python_files: &[PathBuf],
    models: &[Model],
    outcomes: &mut Vec<Problem>,
) -> (Vec<queries::Query>, Vec<names::Unresolved>) {
    let python_root = apps::python_root(project);
    let mut names = names::Names::default();
    for (i, model) in models.iter().enumerate() {
        if model.has_table() {
            let file = model.class.file.as_path();
            let dir = file.parent().unwrap_or(Path::new(""));
            // The app folder of a model in a models/ package is one level up.
            let app_dir =
                if dir.file_name().is_some_and(|n| n == "models") { dir.parent().unwrap_or(dir) } else { dir };
            names.add_model(i, &model.class.name, file, app_dir, &python_root);
            for (_, manager) in &model.class.managers {
                names.managers.insert(manager.as_str(), i);
            }
        }
        names.manager_attrs.push(model.class.managers.iter().map(|(attr, _)| attr.clone()).collect());
    }
    let needles = Needles::new(models);
    type Mined = (Vec<queries::Query>, Vec<names::Unresolved>);
    let results: Vec<Result<Mined, Box<Problem>>> = project
        .files_matching(python_files, |bytes| needles.found_in(bytes))
        .par_iter()
        .map(|path| {
            let source = project.read(path).map_err(|err| {
                Box::new(Problem::note(
                    Some(Location::new(err.path(), err.line())),
                    format!("{err}; its queries were not read"),
                ))
            })?;
            let file = py::parse_or_template(source, "its queries were not read", |err| {
                Problem::note(Some(err.location), "syntax error; its queries were not read")
            })?;
            Ok(queries::mine(&file, &names))
        })
        .collect();
    let (mut all, mut unresolved) = (Vec::new(), Vec::new());
    for result in results {
        match result {
            Ok((found, skipped)) => {
                all.extend(found);
                unresolved.extend(skipped);
            }
            Err(warning) => outcomes.push(*warning),
        }
    }
    (all, unresolved)
}
