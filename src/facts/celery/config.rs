//! The configuration a Celery worker's app loads, read statically from the project.
//!
//! The app is the `Celery(...)` object of the module `-A` names (`-A proj` is `proj`, or
//! `proj.celery` when `proj` has no app of its own, as `celery.app.utils.find_app` looks for it;
//! `-A proj.celery:app` names it directly). Its configuration, by Celery's precedence:
//! 1. `app.conf.x = v` and `app.conf.update(x=v)` / `app.conf.update({"x": v})` in that module:
//!    Celery applies them as changes over the configuration source (`Celery._load_config`
//!    replays `_preconf` after the source is read), whatever their order in the file;
//! 2. the source `app.config_from_object(...)` names: `"django.conf:settings"` with
//!    `namespace="CELERY"` reads the Django setting `CELERY_WORKER_CONCURRENCY` for
//!    `worker_concurrency` ("all Celery configuration options must be specified in uppercase
//!    instead of lowercase, and start with `CELERY_`", docs/django/first-steps-with-django.rst);
//!    without a namespace the Django settings are read by their old upper-case names only
//!    (`CELERYD_CONCURRENCY`; checked with celery 5.7: `WORKER_CONCURRENCY` is not read); a
//!    module (`"celeryconfig"`, `"proj.celeryconfig"`, or an imported module object) is read by
//!    its lower-case names (`worker_concurrency = 4`), or the old upper-case ones.
//!
//! The Django settings module is the one the worker's environment names
//! (`DJANGO_SETTINGS_MODULE`), else the app module's `os.environ.setdefault(...)`, else the one
//! production's web process loads ([`crate::facts::django::production`]); a setting is read in
//! that module and the modules it star-imports (`from .base import *`). Anything that may set a
//! value and cannot be read (`app.conf.update(CONF)`, `config_from_envvar`, a source that is not
//! in the project) is recorded as opaque, so that nothing is added over it blindly.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tree_sitter::Node;

use super::{CeleryProcess, Setting, Source};
use crate::facts::django::production::Production;
use crate::facts::django::settings::{Settings, SettingsModule};
use crate::lang::python::{self, Literal, PyFile, Scope};
use crate::project::Project;
use crate::text::location::Location;

/// Where the app's configuration comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigSource {
    /// `config_from_object("django.conf:settings", namespace=...)`.
    Django { namespace: Option<String>, at: Location },
    /// A configuration module (`celeryconfig`), as a module path (`proj/celeryconfig`, no
    /// extension: see [`module_file`]).
    Module { path: PathBuf, at: Location },
}

/// One Celery app and its configuration.
#[derive(Debug)]
pub struct AppConfig {
    /// The app module.
    pub path: PathBuf,
    /// `app.conf.x = v` / `app.conf.update(x=v)`, by setting name, in source order.
    app_conf: Vec<(String, Setting)>,
    pub source: Option<ConfigSource>,
    /// Places that may set anything and cannot be read, with why.
    pub opaque: Vec<(Location, String)>,
    /// `os.environ.setdefault("DJANGO_SETTINGS_MODULE", "...")` in the app module.
    pub settings_default: Option<String>,
}

/// Every Celery app module of the project.
pub struct AppConfigs {
    apps: Vec<Arc<AppConfig>>,
}

impl AppConfigs {
    /// Reads the app modules the workers name (`apps`: each worker's `-A`, `None` without one):
    /// the files whose module path `-A` may name, or, when a worker has no `-A`, every Python file
    /// that constructs a `Celery(` app; no worker, no file read. A file that does not parse is
    /// passed over: the worker then has no readable configuration, and says so.
    pub fn read(project: &Project, apps: &[Option<&str>]) -> AppConfigs {
        if apps.is_empty() {
            return AppConfigs { apps: Vec::new() };
        }
        let suffixes: Vec<PathBuf> = apps
            .iter()
            .flatten()
            .flat_map(|app| module_names(app))
            .flat_map(|name| Production::suffixes(&name))
            .collect();
        let candidates: Vec<PathBuf> = if apps.iter().any(Option::is_none) {
            project.files_of(crate::project::kinds::is_python).to_vec()
        } else {
            files_ending_with(project, &suffixes)
        };
        let apps = project
            .files_containing(&candidates, "Celery(")
            .into_iter()
            .filter_map(|path| read_app(&parse(project, &path)?).map(Arc::new))
            .collect();
        AppConfigs { apps }
    }

    /// The app `-A` names (see the module doc); without `-A`, the project's only app.
    pub fn for_app(&self, app: Option<&str>) -> Option<Arc<AppConfig>> {
        let Some(app) = app else {
            return (self.apps.len() == 1).then(|| self.apps[0].clone());
        };
        module_names(app).iter().find_map(|name| {
            let [file, package] = Production::suffixes(name);
            self.apps.iter().find(|a| a.path.ends_with(&file) || a.path.ends_with(&package)).cloned()
        })
    }
}

/// The modules `-A app` may name, in the order Celery looks: the module itself, its `celery`
/// submodule, and the module before a trailing attribute (`proj.celery.app`, `proj.celery:app`).
fn module_names(app: &str) -> Vec<String> {
    let module = app.split(':').next().unwrap_or(app);
    let mut names = vec![module.to_owned(), format!("{module}.celery")];
    if let Some((parent, _)) = module.rsplit_once('.') {
        names.push(parent.to_owned());
    }
    names
}

impl AppConfig {
    /// The setting `key` (`worker_concurrency`) as this app gives it to `process`: `app.conf`
    /// first, then the configuration source. A source that cannot be read is added to `opaque`.
    pub fn setting(
        &self,
        project: &Project,
        process: &CeleryProcess,
        key: &str,
        opaque: &mut Vec<(Location, String)>,
    ) -> Option<Setting> {
        if let Some((_, setting)) = self.app_conf.iter().rev().find(|(name, _)| name == key) {
            return Some(setting.clone());
        }
        match self.source.as_ref()? {
            ConfigSource::Django { namespace, at } => {
                let settings = Settings::of(project);
                let module = self.settings_module(project, process, &settings);
                let names = django_names(namespace.as_deref(), key);
                let found = names.iter().find_map(|name| django_value(&settings, module, name));
                if found.is_none() && module.is_none() && !settings.modules.is_empty() {
                    let why = "the Django settings module the worker loads is not known".to_owned();
                    opaque.push((at.clone(), why));
                }
                found
            }
            ConfigSource::Module { path, at } => {
                let Some(file) = module_file(project, path).and_then(|p| parse(project, &p)) else {
                    let why =
                        format!("the configuration module {} is not in the project, or does not parse", path.display());
                    opaque.push((at.clone(), why));
                    return None;
                };
                [key.to_owned(), old_name(key).unwrap_or_default()]
                    .iter()
                    .filter(|n| !n.is_empty())
                    .find_map(|name| module_value(&file, name, Source::ConfigModule))
            }
        }
    }

    /// The settings module the worker's Django loads: its environment's DJANGO_SETTINGS_MODULE,
    /// else the app module's default, else the one production's web process loads.
    pub fn settings_module<'s>(
        &self,
        project: &Project,
        process: &CeleryProcess,
        settings: &'s Settings,
    ) -> Option<&'s SettingsModule> {
        let from_env = process
            .invocation
            .env_var("DJANGO_SETTINGS_MODULE")
            .filter(|var| !var.value.is_dynamic())
            .map(|var| var.value.text.clone());
        let production = Production::of(project);
        let name = from_env
            .or_else(|| self.settings_default.clone())
            .or_else(|| production.loaded.first().map(|l| l.name.clone()))?;
        settings.modules.iter().find(|m| m.is_named(&name))
    }

    /// Whether the configuration source uses Celery's old upper-case names (`CELERYD_*`,
    /// `BROKER_URL`): a new-style name added next to them makes Celery refuse to start ("Cannot
    /// mix new and old setting keys").
    pub fn uses_old_names(&self, project: &Project, module: Option<&SettingsModule>) -> bool {
        match &self.source {
            Some(ConfigSource::Django { namespace: None, .. }) => true,
            Some(ConfigSource::Django { .. }) => module.is_some_and(|m| {
                python::assignments(&m.file).iter().any(|(a, _)| m.file.text(a.left).starts_with("CELERYD_"))
            }),
            Some(ConfigSource::Module { path, .. }) => module_file(project, path)
                .and_then(|p| parse(project, &p))
                .is_some_and(|file| python::assignments(&file).iter().any(|(a, _)| is_old_style(file.text(a.left)))),
            None => false,
        }
    }
}

/// The names a setting has in Django settings: `CELERY_WORKER_CONCURRENCY` with the namespace
/// `CELERY`, the old name (`CELERYD_CONCURRENCY`), which Celery also reads.
pub fn django_names(namespace: Option<&str>, key: &str) -> Vec<String> {
    let mut names = Vec::new();
    if let Some(namespace) = namespace {
        names.push(format!("{namespace}_{}", key.to_uppercase()));
    }
    names.extend(old_name(key));
    names
}

/// Celery's pre-4.0 name of a worker setting (docs/userguide/configuration.rst, "New lowercase
/// settings").
fn old_name(key: &str) -> Option<String> {
    key.strip_prefix("worker_").map(|rest| format!("CELERYD_{}", rest.to_uppercase()))
}

/// An old-style (upper-case) Celery setting in a configuration module.
fn is_old_style(name: &str) -> bool {
    name.starts_with("CELERY") || name.starts_with("BROKER_")
}

/// The setting `name` as the settings module `top` sees it: its own last module-level
/// assignment, else the last one in a module it star-imports; without `top`, the last one
/// anywhere.
fn django_value(settings: &Settings, top: Option<&SettingsModule>, name: &str) -> Option<Setting> {
    let mut found: Vec<_> = settings
        .assignments_to(name)
        .into_iter()
        .filter(|(d, scope)| *scope == Scope::Module && top.is_none_or(|top| settings.sees(top, d.module)))
        .collect();
    found.sort_by_key(|(d, _)| top.is_some_and(|top| std::ptr::eq(d.module, top)));
    let (definition, _) = found.pop()?;
    let file = definition.file();
    let what = format!("{name} in the Django settings {}", definition.module.path().display());
    Some(setting(file, definition.assignment.value, Source::ConfigModule, what))
}

/// The last module-level `name = value` of a configuration module.
fn module_value(file: &PyFile, name: &str, source: Source) -> Option<Setting> {
    let (assignment, _) = python::assignments(file)
        .into_iter()
        .rfind(|(a, scope)| *scope == Scope::Module && file.text(a.left) == name)?;
    let what = format!("{name} in {}", file.source.path.display());
    Some(setting(file, assignment.value, source, what))
}

/// A setting from its value node.
fn setting(file: &PyFile, value: Node, source: Source, what: String) -> Setting {
    let text = &file.source.text;
    let literal = match python::literal(value, text) {
        Some(Literal::Int(n)) => Some(n.to_string()),
        Some(Literal::Str(s)) => Some(s),
        Some(Literal::None) => Some("None".to_owned()),
        _ => None,
    };
    let range = python::string_content(value).or_else(|| (value.kind() == "integer").then(|| value.byte_range()));
    Setting {
        source,
        written: file.text(value).to_owned(),
        value: literal,
        written_as: what.clone(),
        what,
        location: file.location(value),
        range,
    }
}

/// The app a module constructs, and what it configures.
fn read_app(file: &PyFile) -> Option<AppConfig> {
    let text = &file.source.text;
    let path = file.source.path.clone();
    let mut app = AppConfig { path, app_conf: Vec::new(), source: None, opaque: Vec::new(), settings_default: None };
    let mut constructed = false;
    for call in calls(file.root()) {
        let Some(function) = call.child_by_field_name("function") else { continue };
        let callee = file.text(function);
        let method = callee.rsplit('.').next().unwrap_or(callee);
        let location = file.location(call);
        match method {
            "Celery" => constructed = true,
            "config_from_object" => app.source = source_of(file, call, location.clone(), &mut app.opaque),
            "config_from_envvar" | "config_from_cmdline" => {
                app.opaque.push((location, format!("`{callee}(...)` loads settings known only at runtime")))
            }
            "update" if callee.ends_with(".conf.update") => conf_update(file, call, &mut app),
            "setdefault" if callee.ends_with("environ.setdefault") => {
                let args = python::positional_args(call);
                if let [key, value] = args.as_slice()
                    && python::string_value(*key, text).as_deref() == Some("DJANGO_SETTINGS_MODULE")
                {
                    app.settings_default = python::string_value(*value, text);
                }
            }
            _ => {}
        }
    }
    for (assignment, scope) in python::assignments(file) {
        let target = file.text(assignment.left);
        let Some((object, name)) = target.rsplit_once('.') else { continue };
        if object.ends_with(".conf") || object == "conf" {
            if scope != Scope::Module {
                let why = format!("`{target} = ...` is set where it cannot be read statically");
                app.opaque.push((file.location(assignment.statement), why));
                continue;
            }
            let what = format!("{target} in {}", file.source.path.display());
            app.app_conf.push((name.to_owned(), setting(file, assignment.value, Source::AppConf, what)));
        }
    }
    constructed.then_some(app)
}

/// `app.conf.update(x=v)` or `app.conf.update({"x": v})`; anything else may set any setting.
fn conf_update(file: &PyFile, call: Node, app: &mut AppConfig) {
    let text = &file.source.text;
    let path = file.source.path.display().to_string();
    for (name, kwarg) in python::kwargs(call, text) {
        let what = format!("app.conf.update({name}=...) in {path}");
        app.app_conf.push((name, setting(file, kwarg.value, Source::AppConf, what)));
    }
    for argument in python::positional_args(call) {
        if argument.kind() != "dictionary" || python::dict_has_splat(argument) {
            let why = format!("`app.conf.update({})` may set any setting", file.text(argument));
            app.opaque.push((file.location(call), why));
            continue;
        }
        for pair in python::dict_pairs(argument) {
            let Some(name) = python::string_value(pair.key, text) else { continue };
            let what = format!("app.conf.update({{\"{name}\": ...}}) in {path}");
            app.app_conf.push((name, setting(file, pair.value, Source::AppConf, what)));
        }
    }
}

/// The source `config_from_object(...)` names.
fn source_of(file: &PyFile, call: Node, at: Location, opaque: &mut Vec<(Location, String)>) -> Option<ConfigSource> {
    let text = &file.source.text;
    let argument = *python::positional_args(call).first()?;
    let namespace = python::kwargs(call, text)
        .into_iter()
        .find(|(name, _)| name == "namespace")
        .and_then(|(_, kwarg)| python::string_value(kwarg.value, text));
    let named = python::string_value(argument, text).or_else(|| imported_module(file, file.text(argument)));
    match named.as_deref() {
        Some("django.conf:settings") => Some(ConfigSource::Django { namespace, at }),
        Some(module) => Some(ConfigSource::Module { path: python::module_path(&file.source.path, module), at }),
        None => {
            opaque.push((at, format!("`config_from_object({})` cannot be read statically", file.text(argument))));
            None
        }
    }
}

/// The module a name was imported as (`import celeryconfig`, `from proj import celeryconfig`).
fn imported_module(file: &PyFile, name: &str) -> Option<String> {
    let text = &file.source.text;
    python::named_children(file.root()).into_iter().find_map(|statement| {
        let own = file.text(statement);
        match statement.kind() {
            "import_statement" => own.strip_prefix("import ").map(str::trim).filter(|m| *m == name).map(str::to_owned),
            "import_from_statement" => {
                let module = statement.child_by_field_name("module_name")?;
                let imported = own.rsplit("import").next()?.split(',').map(str::trim);
                let module = &text[module.byte_range()];
                let dot = if module.ends_with('.') { "" } else { "." };
                imported.into_iter().any(|n| n == name).then(|| format!("{module}{dot}{name}"))
            }
            _ => None,
        }
    })
}

/// Every call in the module, in source order.
fn calls(root: Node<'_>) -> Vec<Node<'_>> {
    let mut found = Vec::new();
    let mut stack = vec![root];
    while let Some(node) = stack.pop() {
        if node.kind() == "call" {
            found.push(node);
        }
        let mut cursor = node.walk();
        let children: Vec<Node> = node.named_children(&mut cursor).collect();
        stack.extend(children.into_iter().rev());
    }
    found
}

/// The module a configuration source path names, as a project file.
pub fn module_file(project: &Project, path: &Path) -> Option<PathBuf> {
    files_ending_with(project, &[path.with_extension("py"), path.join("__init__.py")]).into_iter().next()
}

/// The project files whose path ends with one of `suffixes`, in path order.
fn files_ending_with(project: &Project, suffixes: &[PathBuf]) -> Vec<PathBuf> {
    let found: std::collections::BTreeSet<&PathBuf> =
        suffixes.iter().flat_map(|suffix| project.files_ending_with(suffix)).collect();
    found.into_iter().cloned().collect()
}

/// A project Python file, parsed (`None` when it cannot be read or does not parse).
pub fn parse(project: &Project, path: &Path) -> Option<PyFile> {
    project.read(path).ok().and_then(|source| python::parse(source).ok())
}

/// A setting added to the app's configuration source: the file, the edit, its line and the
/// statement written.
#[derive(Debug, Clone)]
pub struct Addition {
    pub path: PathBuf,
    pub edit: crate::text::edit::Edit,
    pub line: usize,
    pub statement: String,
    /// Which source it is, in words.
    pub place: String,
}

impl AppConfig {
    /// `key = value` added to the configuration source this worker's app loads, next to the
    /// app's other settings there, in the source's spelling: Django settings with a namespace
    /// (`CELERY_WORKER_MAX_TASKS_PER_CHILD = 1000` after the last `CELERY_*` setting, in the
    /// settings module the worker loads or one it star-imports), or a configuration module
    /// (`worker_max_tasks_per_child = 1000` after its last setting). `None` when neither is there
    /// to write to, or when the source uses Celery's old names (mixing them stops Celery).
    pub fn addition(&self, project: &Project, process: &CeleryProcess, key: &str, value: &str) -> Option<Addition> {
        match self.source.as_ref()? {
            ConfigSource::Django { namespace: Some(namespace), .. } => {
                let settings = Settings::of(project);
                let loaded = self.settings_module(project, process, &settings)?;
                if self.uses_old_names(project, Some(loaded)) {
                    return None;
                }
                let prefix = format!("{namespace}_");
                let last_in = |m: &'_ SettingsModule| {
                    python::assignments(&m.file)
                        .into_iter()
                        .rfind(|(a, scope)| *scope == Scope::Module && m.file.text(a.left).starts_with(&prefix))
                        .map(|(a, _)| a.statement.start_byte())
                };
                let module = std::iter::once(loaded)
                    .chain(settings.modules.iter().filter(|m| settings.sees(loaded, m)))
                    .find(|m| last_in(m).is_some())?;
                let statement = format!("{prefix}{} = {value}", key.to_uppercase());
                let place = format!("the Django settings {} (namespace {namespace:?})", module.path().display());
                Some(insert_after(&module.file, last_in(module)?, statement, place))
            }
            ConfigSource::Module { path, .. } => {
                let file = module_file(project, path).and_then(|p| parse(project, &p))?;
                if self.uses_old_names(project, None) {
                    return None;
                }
                let (last, _) = python::assignments(&file).into_iter().rfind(|(_, scope)| *scope == Scope::Module)?;
                let place = format!("the configuration module {}", file.source.path.display());
                Some(insert_after(&file, last.statement.start_byte(), format!("{key} = {value}"), place))
            }
            ConfigSource::Django { namespace: None, .. } => None,
        }
    }
}

/// A statement inserted after the module-level statement that starts at `start`.
fn insert_after(file: &PyFile, start: usize, statement: String, place: String) -> Addition {
    let node = file.root().named_descendant_for_byte_range(start, start).expect("a statement starts there");
    let mut at = node;
    while let Some(parent) = at.parent().filter(|p| p.kind() != "module") {
        at = parent;
    }
    let edit = python::insert_statements_after(file, at, std::slice::from_ref(&statement), &file.style());
    let line = file.source.line_of(at.end_byte()) + 1;
    Addition { path: file.source.path.clone(), edit, line, statement, place }
}
