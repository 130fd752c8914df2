//! Finding a project's Django settings modules, and the assignments they make.
//!
//! A settings module is a Python file that Django may import as settings: one named by
//! `DJANGO_SETTINGS_MODULE` (in manage.py, wsgi.py, asgi.py, env files, compose files, Dockerfiles,
//! pytest/tox config), a `settings.py` (or `*settings*.py`), or any module of a `settings/` package
//! (`base.py`, `production.py`, ... glued together with `from .base import *`). Other Python
//! files that happen to say `DATABASES` (a listener's own config, a test helper) are not settings
//! and are never touched.
//!
//! Only files whose bytes mention one of the wanted names are parsed, in parallel (on scoped
//! threads, see [`parallel_map`]); the result is computed once per project and shared by the
//! patches.

use std::collections::{BTreeSet, HashSet};
use std::ffi::OsStr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use tree_sitter::Node;

use crate::facts::django::production::Production;
use crate::facts::problem::Problem;
use crate::lang::python::{self, Assignment, PyFile, Scope};
use crate::lang::template;
use crate::project::Project;
use crate::project::kinds::is_python;
use crate::text::location::Location;

/// The names whose presence makes a settings module worth parsing.
/// (Sessions and channel layers: the per-process state a worker count depends on.)
/// (`include(`: a django-split-settings module that only includes the files that set them.)
const WANTED: &[&str] = &["DATABASES", "CACHES", "SESSION_ENGINE", "CHANNEL_LAYERS", "include("];

/// One parsed settings module.
pub struct SettingsModule {
    pub file: PyFile,
    /// The folder that groups split settings (`proj/settings/` for `proj/settings/base.py`).
    /// Assignments anywhere in one package act on the same settings.
    pub package: PathBuf,
    /// Why it counts as a settings module (for messages).
    pub why: String,
    /// The modules whose settings it runs as its own, in order: star imports (`from .base
    /// import *`) and django-split-settings `include()` / `optional()` files, as project paths
    /// once found (as module path suffixes before, and when not in the project).
    pub star_imports: Vec<PathBuf>,
    /// The module path it is imported as, when a Dockerfile copies it there
    /// (`COPY deploy/settings_prod.py app/settings/local.py`).
    pub imported_as: Option<PathBuf>,
}

impl SettingsModule {
    pub fn path(&self) -> &Path {
        &self.file.source.path
    }

    /// Whether this module is the file `path` (a project path or a module path suffix) names.
    pub fn is(&self, path: &Path) -> bool {
        self.path().ends_with(path) || self.imported_as.as_ref().is_some_and(|a| a.ends_with(path))
    }

    /// Its dotted module names: every suffix of its import path (`proj.settings.prod`,
    /// `settings.prod`, ...), for matching against DJANGO_SETTINGS_MODULE (the import root is
    /// not known).
    pub fn is_named(&self, name: &str) -> bool {
        crate::facts::django::production::Production::suffixes(name).iter().any(|suffix| self.is(suffix))
    }
}

/// The project's settings modules that mention a wanted name, and the ones that could not be
/// read or parsed.
pub struct Settings {
    pub modules: Vec<SettingsModule>,
    pub errors: Vec<Problem>,
    /// `DJANGO_SETTINGS_MODULE` values found, with where (`proj.settings.production`, `manage.py:9`).
    pub declared: Vec<(String, Location)>,
}

/// An assignment to a setting in some settings module.
#[derive(Clone, Copy)]
pub struct Definition<'s> {
    pub module: &'s SettingsModule,
    pub assignment: Assignment<'s>,
}

impl<'s> Definition<'s> {
    pub fn file(&self) -> &'s PyFile {
        &self.module.file
    }

    pub fn location(&self) -> Location {
        self.module.file.location(self.assignment.statement)
    }
}

impl Settings {
    /// The settings of `project`, computed once.
    pub fn of(project: &Project) -> Arc<Settings> {
        project.memo(find_settings)
    }

    /// Every assignment whose target is `name` or a subscript of `name` (`DATABASES = ...`,
    /// `DATABASES["default"]["CONN_MAX_AGE"] = ...`), with its scope, in path then source order.
    pub fn assignments_to(&self, name: &str) -> Vec<(Definition<'_>, Scope)> {
        let mut found = Vec::new();
        for module in &self.modules {
            let text = &module.file.source.text;
            for (assignment, scope) in python::assignments(&module.file) {
                let base = python::subscript_path(assignment.left, text).map(|(base, _)| base);
                if base.as_deref() == Some(name) {
                    found.push((Definition { module, assignment }, scope));
                }
            }
        }
        found
    }

    /// Whether `module` sees the settings of `other`: it is `other`, or star-imports it (directly
    /// or through another settings module), as `production.py` sees `base.py`.
    pub fn sees(&self, module: &SettingsModule, other: &SettingsModule) -> bool {
        let mut stack = vec![module.path().to_path_buf()];
        let mut seen = Vec::new();
        while let Some(path) = stack.pop() {
            if other.is(&path) {
                return true;
            }
            if seen.contains(&path) {
                continue;
            }
            if let Some(found) = self.modules.iter().find(|m| m.is(&path)) {
                stack.extend(found.star_imports.iter().cloned());
            }
            seen.push(path);
        }
        false
    }

    /// The string a module-level constant holds as `module` sees it (`DEFAULT_DB = "default"`,
    /// its own last assignment before one in a module it star-imports): dict keys written as
    /// names (`DATABASES = {DEFAULT_DB: ...}`) are aliases like any other.
    pub fn string_constant(&self, module: &SettingsModule, name: &str) -> Option<String> {
        let mut candidates: Vec<(Definition<'_>, Scope)> = self
            .assignments_to(name)
            .into_iter()
            .filter(|(d, scope)| *scope == Scope::Module && self.sees(module, d.module))
            .collect();
        candidates.sort_by_key(|(d, _)| std::ptr::eq(d.module, module));
        let (definition, _) = candidates.pop()?;
        let text = &definition.file().source.text;
        let (_, indexes) = python::subscript_path(definition.assignment.left, text)?;
        if !indexes.is_empty() {
            return None;
        }
        python::string_value(python::unparenthesized(definition.assignment.value), text)
    }

    /// Functions and methods named `name` (a django-configurations `@property def DATABASES`),
    /// with a description of where they are: settings computed at run time.
    pub fn functions_named(&self, name: &str) -> Vec<(Location, String)> {
        let mut found = Vec::new();
        for module in &self.modules {
            let file = &module.file;
            let mut stack = vec![file.root()];
            while let Some(node) = stack.pop() {
                if node.kind() == "function_definition"
                    && node.child_by_field_name("name").is_some_and(|n| file.text(n) == name)
                {
                    let mut owner = node.parent();
                    while let Some(parent) = owner.filter(|p| p.kind() != "class_definition") {
                        owner = parent.parent();
                    }
                    let what = match owner.and_then(|class| class.child_by_field_name("name")) {
                        Some(class) => format!("method `{name}` of class `{}`", file.text(class)),
                        None => format!("function `{name}`"),
                    };
                    found.push((file.location(node), what));
                }
                let mut cursor = node.walk();
                stack.extend(node.named_children(&mut cursor));
            }
        }
        found.sort_by(|a, b| a.0.cmp(&b.0));
        found
    }
}

fn find_settings(project: &Project) -> Settings {
    let production = Production::of(project);
    let declared = declared_settings_modules(project);
    let names = declared.iter().map(|(module, _)| module).chain(production.loaded.iter().map(|l| &l.name));
    let declared_suffixes: Vec<PathBuf> = names.flat_map(|module| Production::suffixes(module)).collect();
    let python_files = project.files_of(is_python);
    // By the path's bytes: hashing a `Path` walks its components, for every Python file.
    let declared_files: HashSet<&OsStr> =
        declared_suffixes.iter().flat_map(|suffix| project.files_ending_with(suffix)).map(|p| p.as_os_str()).collect();
    // A declared module is read even when it does not mention a wanted name itself: it may
    // star-import the module that does (`prod.py`: `from .common import *`).
    let mut batch: Vec<Candidate> = python_files
        .iter()
        .filter_map(|path| {
            let why = settings_reason(path, &declared_files)?;
            let always = why.starts_with("named by");
            Some(Candidate { path: path.clone(), why, always, imported_as: None })
        })
        .collect();
    // A declared module that a Dockerfile copies into place is the copied file.
    for suffix in &declared_suffixes {
        let Some(source) = production.copied_to(suffix) else { continue };
        let why = format!("copied to {} by a Dockerfile, named by DJANGO_SETTINGS_MODULE", suffix.display());
        batch.retain(|c| &c.path != source);
        batch.push(Candidate { path: source.clone(), why, always: true, imported_as: Some(suffix.clone()) });
    }
    batch.extend(install_template_imports(project, &declared_suffixes, &python_files, &production));
    let finders: Vec<memchr::memmem::Finder> =
        WANTED.iter().map(|w| memchr::memmem::Finder::new(w.as_bytes())).collect();
    let mut settings = Settings { modules: Vec::new(), errors: Vec::new(), declared };
    let mut seen: Vec<PathBuf> = batch.iter().map(|c| c.path.clone()).collect();
    while !batch.is_empty() {
        let parsed = parallel_map(&batch, |candidate| parse_candidate(project, candidate, &finders));
        let mut next = Vec::new();
        for result in parsed {
            match result {
                Ok(Some(mut module)) => {
                    // Star imports and included files lead to more settings (a `common.py`
                    // outside any naming rule, split-settings components).
                    module.star_imports = resolve_imports(project, &module.star_imports, &python_files, &production);
                    let in_project = |path: &Path| is_python(path) && project.has_file(path);
                    for import in &module.star_imports {
                        let (path, imported_as) = match production.copied_to(import) {
                            Some(source) if !in_project(import) => (source, Some(import.clone())),
                            _ => (import, None),
                        };
                        if in_project(path) && !seen.contains(path) {
                            seen.push(path.clone());
                            let why = format!("imported by {}", module.path().display());
                            next.push(Candidate { path: path.clone(), why, always: true, imported_as });
                        }
                    }
                    settings.modules.push(module);
                }
                Ok(None) => {}
                Err(error) => settings.errors.push(*error),
            }
        }
        batch = next;
    }
    settings.modules.sort_by(|a, b| a.path().cmp(b.path()));
    settings
}

/// Suffixes of the template an install copies into place of a settings module the project does
/// not ship (`settings.py.example` -> `settings.py`, as opencve's install script does).
const INSTALL_TEMPLATE_SUFFIXES: [&str; 6] = ["example", "sample", "dist", "default", "template", "tmpl"];

/// The modules that the install template of a declared settings module star-imports, when the
/// module itself is not in the project: production loads them through the file the install makes
/// (`opencve/conf/settings.py`, created from `settings.py.example`, runs `from opencve.conf.base
/// import *`). The template itself is never a settings module: it is not what runs.
fn install_template_imports(
    project: &Project,
    declared_suffixes: &[PathBuf],
    python_files: &[PathBuf],
    production: &Production,
) -> Vec<Candidate> {
    let mut found = Vec::new();
    for suffix in declared_suffixes {
        if project.files_ending_with(suffix).next().is_some() || production.copied_to(suffix).is_some() {
            continue;
        }
        for extension in INSTALL_TEMPLATE_SUFFIXES {
            let mut name = suffix.clone().into_os_string();
            name.push(format!(".{extension}"));
            for template in project.files_ending_with(Path::new(&name)) {
                let Ok(source) = project.read(template) else { continue };
                let Ok(file) = python::parse(source) else { continue };
                let module = template.with_extension("");
                let imports = resolve_imports(project, &star_imports(&file, &module), python_files, production);
                for import in imports.into_iter().filter(|path| is_python(path) && project.has_file(path)) {
                    if found.iter().any(|candidate: &Candidate| candidate.path == import) {
                        continue;
                    }
                    let why = format!(
                        "imported by {}, from which the install makes {}, a settings module the project does not \
                         ship; a setting that file overrides wins over this one",
                        template.display(),
                        module.display()
                    );
                    found.push(Candidate { path: import, why, always: true, imported_as: None });
                }
            }
        }
    }
    found
}

/// The project files `imports` (module path suffixes, split-settings paths and globs) name, in
/// order: a glob gives its matches sorted (as split-settings includes them); a module copied into
/// place by a Dockerfile keeps its import path (its source is found through the copy); one not
/// in the project stays as written.
fn resolve_imports(
    project: &Project,
    imports: &[PathBuf],
    python_files: &[PathBuf],
    production: &Production,
) -> Vec<PathBuf> {
    let mut resolved = Vec::new();
    for import in imports {
        let text = import.to_string_lossy();
        if text.contains('*') || text.contains('?') {
            let mut matches: Vec<PathBuf> = python_files.iter().filter(|p| glob_matches(import, p)).cloned().collect();
            matches.sort();
            resolved.extend(matches);
        } else if production.copied_to(import).is_some() {
            resolved.push(import.clone());
        } else {
            let found = project.files_ending_with(import).find(|p| is_python(p));
            resolved.push(found.map_or(import.clone(), |p| p.clone()));
        }
    }
    resolved
}

/// Whether `path` matches `pattern` (`proj/settings/components/*.py`): same folder, and the
/// file name matches with `*` and `?` wildcards.
pub fn glob_matches(pattern: &Path, path: &Path) -> bool {
    fn matches(pattern: &[u8], name: &[u8]) -> bool {
        match (pattern.first(), name.first()) {
            (None, None) => true,
            (Some(b'*'), _) => matches(&pattern[1..], name) || !name.is_empty() && matches(pattern, &name[1..]),
            (Some(b'?'), Some(_)) => matches(&pattern[1..], &name[1..]),
            (Some(p), Some(n)) if p == n => matches(&pattern[1..], &name[1..]),
            _ => false,
        }
    }
    let (Some(folder), Some(name)) = (pattern.parent(), pattern.file_name()) else { return false };
    path.parent().is_some_and(|p| folder.as_os_str().is_empty() || crate::project::listing::ends_with(p, folder))
        && path.file_name().is_some_and(|n| matches(name.as_encoded_bytes(), n.as_encoded_bytes()))
}

/// `f` over `items` on scoped OS threads, results in order.
///
/// Not rayon: this runs inside [`Project::memo`]'s one-time initialisation, which patches planned
/// in parallel may wait on. A rayon worker waiting for its own parallel jobs steals other queued
/// jobs, and a stolen patch plan that asks for the same memo on that thread would re-enter the
/// initialisation (a deadlock). Plain threads only block.
fn parallel_map<T: Sync, R: Send>(items: &[T], f: impl Fn(&T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism().map_or(2, |n| n.get()).min(items.len().max(1));
    if threads <= 1 {
        return items.iter().map(&f).collect();
    }
    let chunk = items.len().div_ceil(threads);
    std::thread::scope(|scope| {
        let handles: Vec<_> =
            items.chunks(chunk).map(|part| scope.spawn(|| part.iter().map(&f).collect::<Vec<R>>())).collect();
        handles.into_iter().flat_map(|handle| handle.join().expect("settings parser thread panicked")).collect()
    })
}

/// A file that may be a settings module, and why.
struct Candidate {
    path: PathBuf,
    why: String,
    /// Parse it even when it mentions no wanted name (declared or star-imported modules).
    always: bool,
    /// The module path it is imported as, when a Dockerfile copies it there.
    imported_as: Option<PathBuf>,
}

/// Reads and parses a candidate when it mentions a wanted name (or must be read anyway).
fn parse_candidate(
    project: &Project,
    candidate: &Candidate,
    finders: &[memchr::memmem::Finder],
) -> Result<Option<SettingsModule>, Box<Problem>> {
    let path = &candidate.path;
    let mentions_wanted = |bytes: &[u8]| finders.iter().any(|f| f.find(bytes).is_some());
    let source = match project.read(path) {
        Ok(source) => source,
        // Unusable as text: reported when the file is a candidate worth reading (declared, or its
        // raw bytes mention a wanted name, or it cannot be read at all).
        Err(err) => {
            let worth = candidate.always || project.read_bytes(path).map_or(true, |b| mentions_wanted(&b));
            return if worth { Err(Box::new(Problem::from(err))) } else { Ok(None) };
        }
    };
    if !candidate.always && !mentions_wanted(source.text.as_bytes()) {
        return Ok(None);
    }
    let file = python::parse(source.clone()).map_err(|err| match template::first_tag_line(&source.text) {
        Some(line) => {
            Box::new(Problem::template(Location::new(path.clone(), line), template::skip_reason("Python", line)))
        }
        None => Box::new(Problem::from(err)),
    })?;
    let package = path.parent().unwrap_or(Path::new("")).to_path_buf();
    // Relative imports resolve against where the module is imported from.
    let star_imports = star_imports(&file, candidate.imported_as.as_deref().unwrap_or(path));
    let imported_as = candidate.imported_as.clone();
    Ok(Some(SettingsModule { file, package, why: candidate.why.clone(), star_imports, imported_as }))
}

/// The files `from X import *` statements of `file` (at `path`) name: relative imports resolved
/// against its folder, absolute ones as paths (matched against project paths by suffix later).
fn star_imports(file: &PyFile, path: &Path) -> Vec<PathBuf> {
    let mut found = Vec::new();
    // Also inside `if`/`try`/`with` (`if env == "prod": from .prod import *`): they run at import.
    for statement in python::module_statements(file.root()) {
        found.extend(included_files(file, statement, path));
        if statement.kind() != "import_from_statement" {
            continue;
        }
        let mut inner = statement.walk();
        if !statement.named_children(&mut inner).any(|n| n.kind() == "wildcard_import") {
            continue;
        }
        let Some(module) = statement.child_by_field_name("module_name") else { continue };
        found.push(python::module_path(path, file.text(module)).with_extension("py"));
    }
    found
}

/// The files a django-split-settings `include("base.py", optional("local.py"))` statement runs,
/// relative to the including file's folder (globs kept as patterns).
pub fn included_files(file: &PyFile, statement: Node, path: &Path) -> Vec<PathBuf> {
    let text = &file.source.text;
    let Some(call) =
        statement.named_child(0).filter(|c| statement.kind() == "expression_statement" && c.kind() == "call")
    else {
        return Vec::new();
    };
    let named = |call: Node, name: &str| {
        call.child_by_field_name("function")
            .and_then(|f| python::dotted_name(f, text))
            .is_some_and(|f| f == name || f.ends_with(&format!(".{name}")))
    };
    if !named(call, "include") {
        return Vec::new();
    }
    let folder = path.parent().unwrap_or(Path::new(""));
    let mut found = Vec::new();
    for arg in python::positional_args(call) {
        let arg = match arg.kind() {
            "call" if named(arg, "optional") => python::positional_args(arg).first().copied(),
            _ => Some(arg),
        };
        if let Some(name) = arg.and_then(|a| python::string_value(a, text)) {
            let mut joined = folder.to_path_buf();
            for part in Path::new(&name).components() {
                match part {
                    std::path::Component::ParentDir => {
                        joined.pop();
                    }
                    std::path::Component::Normal(p) => joined.push(p),
                    _ => {}
                }
            }
            found.push(joined);
        }
    }
    found
}

/// Why `path` may be a settings module, or `None`.
fn settings_reason(path: &Path, declared: &HashSet<&OsStr>) -> Option<String> {
    if declared.contains(path.as_os_str()) {
        return Some("named by DJANGO_SETTINGS_MODULE".to_owned());
    }
    let name = crate::project::kinds::name_of(path);
    let stem = name.rsplit_once('.').map_or(name, |(stem, _)| stem);
    if stem.contains("settings") {
        return Some("a settings module by name".to_owned());
    }
    if crate::project::kinds::folder_name(path) == "settings" {
        return Some("a module of a settings package".to_owned());
    }
    None
}

/// Files that may set `DJANGO_SETTINGS_MODULE`, by name.
fn may_declare_settings(path: &Path) -> bool {
    let name = crate::project::kinds::name_of(path);
    matches!(
        name,
        "manage.py" | "wsgi.py" | "asgi.py" | "celery.py" | "pytest.ini" | "tox.ini" | "setup.cfg" | "Procfile"
    ) || name == ".env"
        || name.starts_with(".env.")
        || name.ends_with(".env")
        || name.starts_with("Dockerfile")
        || (name.starts_with("docker-compose") || name.starts_with("compose"))
            && (name.ends_with(".yml") || name.ends_with(".yaml"))
        || name == "pyproject.toml"
}

/// Every `DJANGO_SETTINGS_MODULE` value written in the project, with where.
fn declared_settings_modules(project: &Project) -> Vec<(String, Location)> {
    // A handful of small files, read in sequence: this runs inside a memo (see [`parallel_map`]).
    let finder = memchr::memmem::Finder::new(b"DJANGO_SETTINGS_MODULE");
    let mut found = BTreeSet::new();
    for path in project.files_of(may_declare_settings).iter() {
        if !project.file_matches(path, |bytes| finder.find(bytes).is_some()) {
            continue;
        }
        let Ok(file) = project.read(path) else { continue };
        for (index, line) in file.text.lines().enumerate() {
            let Some(at) = line.find("DJANGO_SETTINGS_MODULE") else { continue };
            let rest = &line[at + "DJANGO_SETTINGS_MODULE".len()..];
            let rest = rest.trim_start_matches(|c: char| c.is_whitespace() || "'\",=:]".contains(c));
            let module: String =
                rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.').collect();
            if module.contains('.') || !module.is_empty() && !module.chars().all(|c| c.is_ascii_uppercase() || c == '_')
            {
                found.insert((module, Location::new(path.clone(), index + 1)));
            }
        }
    }
    found.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_settings_modules_and_ignores_decoys() {
        let (_dir, project) = crate::project::test_project(&[
            ("manage.py", "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'proj.conf')\n"),
            ("proj/conf.py", "DATABASES = {}\n"),
            ("proj/settings/base.py", "DATABASES = {}\n"),
            ("proj/settings/production.py", "from .base import *\nDEBUG = False\n"),
            ("listener/config.py", "DATABASES = {}\n"),
            ("proj/settings.py", "LISTENER_DATABASES = {}\n"),
            ("site/prod.py", "from .common import *\n"),
            ("site/common.py", "CACHES = {}\n"),
            ("site/wsgi.py", "os.environ['DJANGO_SETTINGS_MODULE'] = 'site.prod'\n"),
            ("broken/settings.py", "DATABASES = {\n"),
        ]);
        let settings = find_settings(&project);
        let paths: Vec<_> = settings.modules.iter().map(|m| m.path().to_str().unwrap().to_owned()).collect();
        assert_eq!(
            paths,
            ["proj/conf.py", "proj/settings/base.py", "proj/settings.py", "site/common.py", "site/prod.py"]
        );
        assert_eq!(settings.declared[0].0, "proj.conf");
        assert_eq!(settings.errors.len(), 1);
        assert!(settings.errors[0].describe().starts_with("broken/settings.py:"), "{}", settings.errors[0].describe());
        assert_eq!(settings.assignments_to("DATABASES").len(), 2);
    }
}
