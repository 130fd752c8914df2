//! The `db-indexes` analysis: which indexes the code's queries lack, and the two edits that add
//! each (the model's `Meta.indexes` and a migration).
//!
//! [`apps`] finds the apps, [`models`] reads their model classes, [`queries`] mines the querysets
//! across the project's Python files, [`proposals`] decides the indexes, [`migrations`] finds the
//! leaf a new migration depends on, [`databases`] decides between `AddIndex` and
//! `AddIndexConcurrently`, and [`render`] writes both halves.

pub mod apps;
pub mod databases;
pub mod migrations;
pub mod models;
pub mod proposals;
pub mod py;
pub mod queries;
pub mod render;

use std::collections::{BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::engine::outcome::{Change, ChangeKind, Location, Outcome};
use crate::project::Project;
use apps::App;
use models::{FieldKind, ModelClass};
use proposals::{Decision, ModelFacts};
use render::{ModelIndexes, NewIndex};

/// The patch id, for the changes.
pub const PATCH: &str = "db-indexes";

/// A model class of the project, with the app it belongs to.
struct Model {
    class: ModelClass,
    app: usize,
    is_model: bool,
    is_abstract: bool,
}

/// Plans the index changes of the whole project.
pub fn plan(project: &Project) -> Vec<Outcome> {
    let apps = apps::find_apps(project);
    if apps.is_empty() {
        return vec![Outcome::not_found("no Django models (models.py or a models/ package) in the project")];
    }
    let mut outcomes = Vec::new();
    let (models, broken_apps) = read_models(project, &apps, &mut outcomes);
    let python_files: Vec<PathBuf> = project
        .files_where(|p| {
            p.extension().is_some_and(|e| e == "py") && !p.components().any(|c| c.as_os_str() == "migrations")
        })
        .cloned()
        .collect();
    let production_files: Vec<PathBuf> = python_files.iter().filter(|p| !is_test_module(p)).cloned().collect();
    let queries = mine_queries(project, &production_files, &models, &mut outcomes);
    let facts: Vec<ModelFacts> = (0..models.len()).map(|i| facts_of(&models, i)).collect();
    let databases = databases::read(project);
    let python_root = apps::python_root(project);
    let overrides = migrations::migration_modules(project, &python_files);
    let modules_by_dir = migrations::modules_by_dir(project);
    let mut taken: BTreeSet<String> = models
        .iter()
        .filter_map(|m| m.class.meta.as_ref())
        .flat_map(|meta| meta.indexes.iter().filter_map(|i| i.name.clone()))
        .collect();

    let mut queries_by_model: Vec<Vec<&queries::Query>> = vec![Vec::new(); models.len()];
    for query in &queries {
        queries_by_model[query.model].push(query);
    }
    // Decide every app's indexes, and read the histories of those that need a migration, in parallel.
    let planned: Vec<AppPlan> = apps
        .par_iter()
        .enumerate()
        .filter(|(app_index, _)| !broken_apps.contains(app_index))
        .map(|(app_index, app)| {
            let mut decisions: Vec<(usize, Decision)> = Vec::new();
            let mut queried = 0;
            for (i, model) in models.iter().enumerate() {
                if model.app != app_index || !model.is_model || model.is_abstract {
                    continue;
                }
                queried += queries_by_model[i].len();
                decisions.push((i, proposals::decide(&model.class.name, &facts[i], &queries_by_model[i])));
            }
            let history = decisions
                .iter()
                .any(|(_, d)| !d.proposals.is_empty())
                .then(|| migrations::history(project, app, &python_root, &overrides, &modules_by_dir));
            AppPlan { app, decisions, queried, history }
        })
        .collect();
    // Naming is sequential: index names must be unique across the whole project.
    for plan in planned {
        outcomes.extend(plan_app(project, plan, &models, &databases, &mut taken));
    }
    outcomes
}

/// One app's decisions, and its migration history when it needs a new migration.
struct AppPlan<'a> {
    app: &'a App,
    decisions: Vec<(usize, Decision)>,
    queried: usize,
    history: Option<Result<migrations::History, migrations::HistoryProblem>>,
}

/// The classes of one models file, or the error outcome that stops its app.
type ClassesOrError = Result<Vec<ModelClass>, Box<Outcome>>;

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
fn read_models(project: &Project, apps: &[App], outcomes: &mut Vec<Outcome>) -> (Vec<Model>, BTreeSet<usize>) {
    let files: Vec<(usize, &PathBuf)> =
        apps.iter().enumerate().flat_map(|(i, app)| app.model_files.iter().map(move |f| (i, f))).collect();
    let read: Vec<(usize, ClassesOrError)> = files
        .par_iter()
        .map(|(app, path)| {
            let result = project.read(path).map_err(|err| Box::new(Outcome::from(err))).and_then(|source| {
                let file = py::parse_or_template(source, "no index is planned for this app", |err| {
                    Outcome::error(
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

/// Abstract bases of the project that `index` inherits from (nearest first).
fn abstract_bases(models: &[Model], index: usize) -> Vec<usize> {
    let mut found = Vec::new();
    let mut queue = vec![index];
    while let Some(current) = queue.pop() {
        for base in &models[current].class.bases {
            let name = py::last_segment(base);
            if let Some(b) = models.iter().position(|m| m.is_abstract && m.class.name == name)
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
fn inherited_meta(models: &[Model], index: usize) -> Option<(&str, bool)> {
    let model = &models[index].class;
    model.bases.iter().find_map(|base| {
        let b = models.iter().find(|m| m.is_abstract && m.class.name == py::last_segment(base))?;
        let meta = b.class.meta.as_ref()?;
        Some((base.as_str(), !meta.indexes.is_empty() || meta.indexes_list.is_some()))
    })
}

/// Fields, default ordering and existing indexes of a model, abstract bases merged in.
fn facts_of(models: &[Model], index: usize) -> ModelFacts {
    let model = &models[index].class;
    let bases = abstract_bases(models, index);
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
    let mut existing: Vec<Vec<String>> = Vec::new();
    for meta in meta.iter().chain(parent.iter()) {
        existing.extend(meta.indexes.iter().map(|i| i.fields.clone()));
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
    outcomes: &mut Vec<Outcome>,
) -> Vec<queries::Query> {
    let mut by_name: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut managers = HashMap::new();
    let mut manager_attrs = Vec::new();
    for (i, model) in models.iter().enumerate() {
        let queryable = model.is_model && !model.is_abstract;
        if queryable {
            by_name.entry(model.class.name.as_str()).or_default().push(i);
            for (_, manager) in &model.class.managers {
                managers.insert(manager.as_str(), i);
            }
        }
        manager_attrs.push(model.class.managers.iter().map(|(attr, _)| attr.clone()).collect());
    }
    let app_dirs: Vec<&Path> = models.iter().map(|m| m.class.file.parent().unwrap_or(Path::new(""))).collect();
    // The app folder of a model in a models/ package is one level up.
    let app_dirs: Vec<&Path> = app_dirs
        .into_iter()
        .map(|dir| if dir.file_name().is_some_and(|n| n == "models") { dir.parent().unwrap_or(dir) } else { dir })
        .collect();
    let model_files: Vec<&Path> = models.iter().map(|m| m.class.file.as_path()).collect();
    let names = queries::Names { models: by_name, managers, manager_attrs, app_dirs, model_files };
    let needles = Needles::new(models);
    let results: Vec<Result<Vec<queries::Query>, Box<Outcome>>> = project
        .files_matching(python_files, |bytes| needles.found_in(bytes))
        .par_iter()
        .map(|path| {
            let source = project.read(path).map_err(|err| {
                Box::new(Outcome::warning(
                    Some(Location::new(err.path(), err.line())),
                    format!("{err}; its queries were not read"),
                ))
            })?;
            let file = py::parse_or_template(source, "its queries were not read", |err| {
                Outcome::warning(Some(err.location), "syntax error; its queries were not read")
            })?;
            Ok(queries::mine(&file, &names))
        })
        .collect();
    let mut all = Vec::new();
    for result in results {
        match result {
            Ok(found) => all.extend(found),
            Err(warning) => outcomes.push(*warning),
        }
    }
    all
}

/// The outcomes for one app: its change pair, or why it needs none.
fn plan_app(
    project: &Project,
    plan: AppPlan,
    models: &[Model],
    databases: &databases::Databases,
    taken: &mut BTreeSet<String>,
) -> Vec<Outcome> {
    let AppPlan { app, decisions, queried, history } = plan;
    let decisions = decisions.as_slice();
    let app_location = Some(Location::file(&app.model_files[0]));
    let mut outcomes = Vec::new();
    for (i, decision) in decisions {
        if !decision.left_out.is_empty() {
            let list: Vec<String> = decision.left_out.iter().map(describe_columns).collect();
            outcomes.push(Outcome::skipped(
                Some(Location::new(&models[*i].class.file, models[*i].class.line)),
                format!(
                    "{}: at most {} indexes per model in one run; left for later: {}",
                    models[*i].class.name,
                    proposals::MAX_PER_MODEL,
                    list.join(", ")
                ),
            ));
        }
    }
    let notes: Vec<&String> = decisions.iter().flat_map(|(_, d)| &d.notes).collect();
    let wanted: Vec<&(usize, Decision)> = decisions.iter().filter(|(_, d)| !d.proposals.is_empty()).collect();
    if wanted.is_empty() {
        let reason = if queried == 0 {
            format!("{}: no queries on its models found in the project", app.label)
        } else if notes.is_empty() {
            format!("{}: its queries need no index", app.label)
        } else {
            format!(
                "{}: every query is served: {}",
                app.label,
                notes.iter().map(|s| s.as_str()).collect::<Vec<_>>().join("; ")
            )
        };
        outcomes.push(Outcome::ok(app_location, reason));
        return outcomes;
    }
    let history = match history.expect("read for every app with proposals") {
        Ok(history) => history,
        Err(migrations::HistoryProblem::Error(outcome)) => {
            outcomes.push(*outcome);
            return outcomes;
        }
        Err(migrations::HistoryProblem::NoMigrations(dir)) => {
            outcomes.push(Outcome::skipped(
                Some(Location::file(dir)),
                format!("{}: the app has no migrations yet; `makemigrations` writes its first one", app.label),
            ));
            return outcomes;
        }
        Err(migrations::HistoryProblem::Disabled(location)) => {
            outcomes.push(Outcome::skipped(
                Some(location),
                format!("{}: MIGRATION_MODULES disables its migrations", app.label),
            ));
            return outcomes;
        }
    };

    let mut model_changes: Vec<Change> = Vec::new();
    let mut in_migration: Vec<ModelIndexes> = Vec::new();
    let mut reasons: Vec<String> = Vec::new();
    let mut first_site: Option<Location> = None;
    for (i, decision) in wanted {
        let model = &models[*i].class;
        let new: Vec<NewIndex> = decision
            .proposals
            .iter()
            .map(|proposal| {
                let name = render::index_name(&model.name, &proposal.columns, taken);
                taken.insert(name.clone());
                NewIndex { name, columns: proposal.columns.clone() }
            })
            .collect();
        let source = match project.read(&model.file) {
            Ok(source) => source,
            Err(err) => {
                outcomes.push(err.into());
                continue;
            }
        };
        let inherited = if model.meta.is_none() { inherited_meta(models, *i) } else { None };
        match render::meta_edits(&source, model, inherited, &new) {
            Ok(edits) => {
                for (index, proposal) in new.iter().zip(&decision.proposals) {
                    let sites: Vec<String> = proposal.sites.iter().map(|s| s.to_string()).collect();
                    first_site.get_or_insert_with(|| proposal.sites[0].clone());
                    let trimmed = if proposal.trimmed.is_empty() {
                        String::new()
                    } else {
                        format!(" ({})", proposal.trimmed.join("; "))
                    };
                    reasons.push(format!(
                        "{} on {}({}) serves the {} at {}{trimmed}",
                        index.name,
                        model.name,
                        describe_columns(proposal),
                        shape_words(proposal),
                        sites.join(", ")
                    ));
                }
                // One change per file: models of one file share it (their edits never overlap).
                match model_changes.iter_mut().find(|c| c.path == model.file) {
                    Some(Change { kind: ChangeKind::Modify { edits: earlier }, .. }) => earlier.extend(edits),
                    _ => model_changes.push(Change::modify(PATCH, &model.file, edits).at_line(model.line)),
                }
                in_migration.push(ModelIndexes { model_name: model.name.to_lowercase(), indexes: new });
            }
            Err(why) => outcomes.push(Outcome::skipped(
                Some(Location::new(&model.file, model.line)),
                format!("{}: {why}; add the index by hand", model.name),
            )),
        }
    }
    if in_migration.is_empty() {
        return outcomes;
    }
    let count: usize = in_migration.iter().map(|m| m.indexes.len()).sum();
    let number = migrations::next_number(&history.leaf);
    let description = match in_migration.as_slice() {
        [only] if only.indexes.len() == 1 => format!("add_{}", only.indexes[0].name),
        [only] => format!("add_{}_indexes", only.model_name),
        _ => format!("add_{}_indexes", app.label.to_lowercase()),
    };
    let mut migration_name = format!("{number:04}_{description}");
    let mut n = 2;
    while history.names.contains(&migration_name) {
        migration_name = format!("{number:04}_{description}_{n}");
        n += 1;
    }
    let migration_path = history.dir.join(format!("{migration_name}.py"));
    let leaf_quote = project
        .read(&history.dir.join(format!("{}.py", history.leaf)))
        .map(|s| render::quote_of(&s.text))
        .unwrap_or('"');
    let concurrent = databases.concurrent_ok();
    let header = format!(
        "Generated by scalepatch ({PATCH}) for the queries at {}.",
        first_site.map(|s| s.to_string()).unwrap_or_default()
    );
    let contents = render::migration(&app.label, &history.leaf, &in_migration, concurrent, leaf_quote, &header);
    let listed: Vec<String> = in_migration
        .iter()
        .flat_map(|m| m.indexes.iter().map(move |i| format!("{} on {}", i.name, m.model_name)))
        .collect();
    let summary = format!(
        "{}: add {} ({}) in Meta.indexes and migration {migration_name}",
        app.label,
        if count == 1 { "1 index".to_owned() } else { format!("{count} indexes") },
        listed.join(", ")
    );
    let why = format!(
        "QW5 index migrations: {}. No existing index (ForeignKey, primary key, unique, db_index or the leading \
         columns of Meta.indexes) serves these queries. The model's Meta.indexes and the migration carry the same \
         explicit names, so makemigrations sees them agree; the migration depends on the current leaf {}. \
         The review offers the model edit and the migration as one change.",
        reasons.join("; "),
        history.leaf
    );
    let verify = [
        "python manage.py makemigrations --check --dry-run".to_owned(),
        format!("python manage.py sqlmigrate {} {migration_name}", app.label),
    ];
    let finish = |change: Change| {
        let change = change
            .summary(summary.clone())
            .why(why.clone())
            .assume(databases.explain())
            .together(format!("indexes of app {}", app.label));
        verify.iter().fold(change, |c, v| c.verify(v.clone()))
    };
    for change in model_changes {
        outcomes.push(Outcome::Change(finish(change)));
    }
    outcomes.push(Outcome::Change(finish(Change::create(PATCH, migration_path, contents))));
    outcomes
}

fn describe_columns(proposal: &proposals::Proposal) -> String {
    proposal.columns.iter().map(|c| c.spelled()).collect::<Vec<_>>().join(", ")
}

/// "query filtering on conversation and ordered by -created_at", for the why.
fn shape_words(proposal: &proposals::Proposal) -> String {
    let (eq, rest) = proposal.columns.split_at(proposal.equalities);
    let eq: Vec<&str> = eq.iter().map(|c| c.field.as_str()).collect();
    let rest: Vec<String> = rest.iter().map(|c| c.spelled()).collect();
    let plural = if proposal.sites.len() > 1 { "queries" } else { "query" };
    match (eq.is_empty(), rest.is_empty()) {
        (false, false) => format!(
            "{plural} filtering on {} and reading in {} order (or a range of it)",
            eq.join(", "),
            rest.join(", ")
        ),
        (false, true) => format!("{plural} filtering on {}", eq.join(", ")),
        (true, _) => format!("{plural} ordering or ranging on {}", rest.join(", ")),
    }
}
