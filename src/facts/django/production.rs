//! Which settings module production loads, and why.
//!
//! A project carries several settings modules (base, dev, production, test); an edit only helps
//! where production's value is decided, and an edit to a module production never loads is a
//! false success. Production's module is read per server process, as Django reads it:
//! `DJANGO_SETTINGS_MODULE` in the process's environment (the gunicorn facts give every start's
//! environment), gunicorn's `--env DJANGO_SETTINGS_MODULE=...`, and the WSGI/ASGI module the
//! server loads (`os.environ.setdefault(...)` is a default the environment overrides,
//! `os.environ[...] = ...` wins over it). `manage.py ... --settings=X` in deployment files
//! (migrations, a `runserver` start) counts too. Without any server start, the project's
//! wsgi.py / asgi.py defaults are assumed, then manage.py's, and the assumption is said.
//!
//! A Dockerfile that copies a settings file into place (`COPY deploy/settings_prod.py
//! app/settings/local.py`) makes that file the module production imports under the destination
//! name: [`Production::copies`] maps one to the other.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::facts::django::settings::{Settings, SettingsModule};
use crate::facts::gunicorn::discovery::Invocation;
use crate::facts::gunicorn::{self, start::StartKind};
use crate::lang::dockerfile;
use crate::project::{Project, kinds};
use crate::text::location::Location;

/// The settings module(s) production loads.
#[derive(Debug, Default)]
pub struct Production {
    /// Dotted module names production loads (one per distinct name), each with why.
    pub loaded: Vec<Loaded>,
    /// Whether `loaded` is only assumed (no server start says which module it loads).
    pub assumed: bool,
    /// Files a Dockerfile copies over a module path: (destination as written, source in the project, where).
    pub copies: Vec<(PathBuf, PathBuf, Location)>,
    /// Environment sources outside the project (or values known only at run time) that may set
    /// `DJANGO_SETTINGS_MODULE` for a start whose module is only its wsgi.py default: while any
    /// is, no module is ruled out as "not loaded by production".
    pub unseen: Vec<String>,
}

/// One settings module production loads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Loaded {
    pub name: String,
    pub why: String,
}

impl Production {
    /// Production's settings of `project`, computed once.
    pub fn of(project: &Project) -> Arc<Production> {
        project.memo(find)
    }

    /// The file suffixes a dotted name may be (`proj/settings/prod.py`, `proj/settings/prod/__init__.py`).
    pub fn suffixes(name: &str) -> [PathBuf; 2] {
        let base = PathBuf::from(name.replace('.', "/"));
        [base.with_extension("py"), base.join("__init__.py")]
    }

    /// The project file that is imported as `path` (a module path suffix): the file copied there
    /// by a Dockerfile, when one is.
    pub fn copied_to(&self, path: &Path) -> Option<&PathBuf> {
        self.copies.iter().find(|(dest, _, _)| dest.ends_with(path)).map(|(_, source, _)| source)
    }

    /// One sentence for a plan: which module(s) production loads and why, or that it is unknown.
    pub fn describe(&self) -> String {
        if self.loaded.is_empty() {
            return "production's settings module could not be determined (no server start, wsgi.py, asgi.py or \
                    manage.py names one): every settings module is assumed to be loaded"
                .to_owned();
        }
        let each: Vec<String> = self.loaded.iter().map(|l| format!("{} ({})", l.name, l.why)).collect();
        let assumed = if self.assumed { "assumed: " } else { "" };
        format!("production loads {assumed}{}", each.join("; "))
    }
}

/// Whether production loads a settings module.
pub enum Loads<'s> {
    /// Yes, through these modules (the ones production loads that run it).
    Yes(Vec<&'s SettingsModule>),
    /// No: production loads other modules, none of which runs it.
    No,
    /// Unknown: production's module is not known, or not among the parsed settings; these are
    /// the modules that run it (itself included), any of which production may load.
    Unknown(Vec<&'s SettingsModule>),
}

impl Production {
    /// Whether production loads `module`, and through which modules.
    pub fn loads<'s>(&self, settings: &'s Settings, module: &SettingsModule) -> Loads<'s> {
        let runs_it: Vec<&'s SettingsModule> = settings.modules.iter().filter(|m| settings.sees(m, module)).collect();
        let tops: Vec<Vec<&'s SettingsModule>> =
            self.loaded.iter().map(|l| settings.modules.iter().filter(|m| m.is_named(&l.name)).collect()).collect();
        let known = !tops.is_empty() && tops.iter().all(|found| !found.is_empty()) && self.unseen.is_empty();
        let loading: Vec<&'s SettingsModule> =
            tops.into_iter().flatten().filter(|top| runs_it.iter().any(|m| std::ptr::eq(*m, *top))).collect();
        match (known, loading.is_empty()) {
            // A module only assumed (an unseen source may name another) is not asserted either way.
            (_, false) if self.unseen.is_empty() => Loads::Yes(loading),
            (true, true) => Loads::No,
            _ => Loads::Unknown(runs_it),
        }
    }

    /// Why a change or "ok" in the settings module at `path` would be untrue: production never
    /// loads it.
    pub fn not_loaded(&self, settings: &Settings, path: &Path) -> Option<String> {
        let module = settings.modules.iter().find(|m| m.path() == path)?;
        matches!(self.loads(settings, module), Loads::No).then(|| {
            format!(
                "{} is not loaded by production ({}): a change there is never seen in production, so it is not edited",
                path.display(),
                self.describe()
            )
        })
    }

    /// The modules whose final settings decide what production sees of `module`'s settings.
    pub fn tops<'s>(&self, settings: &'s Settings, module: &SettingsModule) -> Vec<&'s SettingsModule> {
        match self.loads(settings, module) {
            Loads::Yes(tops) | Loads::Unknown(tops) => tops,
            Loads::No => Vec::new(),
        }
    }
}

fn find(project: &Project) -> Production {
    let mut production = Production { copies: copies(project), ..Production::default() };
    let analysis = gunicorn::analysis(project);
    for start in &analysis.starts {
        if matches!(start.kind, StartKind::Development) {
            continue;
        }
        if let Some(chosen) = start_module(project, &start.invocation) {
            if let Some(source) = chosen.unseen {
                production.assumed = true;
                production.unseen.push(source);
            }
            add(&mut production.loaded, chosen.name, chosen.why);
        }
    }
    for (name, why) in settings_flags(project) {
        add(&mut production.loaded, name, why);
    }
    if production.loaded.is_empty() {
        production.assumed = true;
        for file in ["wsgi.py", "asgi.py", "manage.py"] {
            for path in project.files_named(file) {
                if let Some(found) = file_default(project, path) {
                    let why = format!("no server start names it: the default in {}", found.at);
                    add(&mut production.loaded, found.name, why);
                }
            }
            if !production.loaded.is_empty() {
                break;
            }
        }
    }
    production
}

/// The settings module one server start loads, and why; `unseen` names the environment source
/// outside the project that may set `DJANGO_SETTINGS_MODULE` when the module is only the
/// wsgi.py / asgi.py default.
struct Chosen {
    name: String,
    why: String,
    unseen: Option<String>,
}

/// `os.environ[...] = ...` in the app module, else `--env DJANGO_SETTINGS_MODULE`, else the
/// process's environment, else the app module's default. The default is only an assumption when
/// the environment has a source scalepatch cannot read (`EnvironmentFile=/etc/app/env`, a
/// Kubernetes Secret) or sets the variable to a value known only at run time (`${SETTINGS}`):
/// production may set another module there.
fn start_module(project: &Project, inv: &Invocation) -> Option<Chosen> {
    let at = format!("the {} at {}", inv.origin.describe(), inv.location());
    let app = inv.args.iter().find_map(|w| app_module(&w.text));
    let forced_or_default = app.as_deref().and_then(|m| module_default(project, m));
    let variable = inv.env_var("DJANGO_SETTINGS_MODULE");
    let from_env = variable.filter(|var| !var.value.is_dynamic()).map(|var| {
        let place = format!("{}:{}", var.path.display(), var.line);
        (var.value.text.clone(), format!("DJANGO_SETTINGS_MODULE set by {} ({place}) for {at}", var.what))
    });
    let from_flag = env_flag(inv.args.iter().map(|w| w.text.as_str()))
        .map(|name| (name, format!("--env DJANGO_SETTINGS_MODULE on {at}")));
    let known = |(name, why)| Chosen { name, why, unseen: None };
    match forced_or_default {
        Some(Default { forced: true, name, at: place }) => {
            Some(known((name, format!("{place} sets os.environ[\"DJANGO_SETTINGS_MODULE\"] for {at}"))))
        }
        other => from_flag.or(from_env).map(known).or_else(|| {
            let default = other?;
            let unseen = match variable {
                Some(var) => Some(format!(
                    "{} ({}:{}), as {}, known only at run time",
                    var.what,
                    var.path.display(),
                    var.line,
                    var.value.text
                )),
                None => inv.unseen_env.first().map(|unseen| unseen.source.clone()),
            };
            let why = match &unseen {
                Some(source) => {
                    format!("the default in {} for {at}; DJANGO_SETTINGS_MODULE may be set in {source}", default.at)
                }
                None => format!("the default in {} for {at} (nothing sets the variable)", default.at),
            };
            Some(Chosen { name: default.name, why, unseen })
        }),
    }
}

fn add(loaded: &mut Vec<Loaded>, name: String, why: String) {
    if !loaded.iter().any(|l| l.name == name) {
        loaded.push(Loaded { name, why });
    }
}

/// The module a server argument loads: `proj.wsgi:application` or `proj.wsgi` -> `proj.wsgi`.
fn app_module(arg: &str) -> Option<String> {
    let module = arg.split(':').next()?;
    let wsgi_like = module.ends_with("wsgi") || module.ends_with("asgi");
    let dotted = module.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.');
    (wsgi_like && dotted && !module.is_empty()).then(|| module.to_owned())
}

/// `--env DJANGO_SETTINGS_MODULE=x`, `-e DJANGO_SETTINGS_MODULE=x`, `--env=DJANGO_SETTINGS_MODULE=x`.
fn env_flag<'a>(args: impl Iterator<Item = &'a str>) -> Option<String> {
    let mut found = None;
    let mut after_flag = false;
    for arg in args {
        let value = match arg.strip_prefix("--env=") {
            Some(rest) => Some(rest),
            None if after_flag => Some(arg),
            None => None,
        };
        after_flag = arg == "--env" || arg == "-e";
        if let Some(name) = value.and_then(|v| v.strip_prefix("DJANGO_SETTINGS_MODULE=")) {
            found = Some(name.to_owned());
        }
    }
    found
}

/// What a WSGI/ASGI/manage.py module says about DJANGO_SETTINGS_MODULE.
struct Default {
    name: String,
    /// `os.environ["DJANGO_SETTINGS_MODULE"] = ...`: wins over the environment.
    forced: bool,
    at: Location,
}

/// The settings default of the project module `module` (`proj.wsgi`), found by path suffix.
fn module_default(project: &Project, module: &str) -> Option<Default> {
    let [file, package] = Production::suffixes(module);
    let path = project.files_ending_with(&file).chain(project.files_ending_with(&package)).min()?;
    file_default(project, path)
}

/// `os.environ.setdefault("DJANGO_SETTINGS_MODULE", "x")` or `os.environ["DJANGO_SETTINGS_MODULE"] = "x"`.
fn file_default(project: &Project, path: &Path) -> Option<Default> {
    let file = project.read(path).ok()?;
    let mut found = None;
    for (index, line) in file.text.lines().enumerate() {
        let code = line.split('#').next().unwrap_or("");
        let Some(at) = code.find("DJANGO_SETTINGS_MODULE") else { continue };
        let rest = &code[at + "DJANGO_SETTINGS_MODULE".len()..];
        let forced = code.contains("environ[") && rest.trim_start_matches(['"', '\'', ']', ' ']).starts_with('=');
        if !forced && !code.contains("setdefault") {
            continue;
        }
        // Past the key's closing quote (and `] =` or `,`): the value is the next string.
        let rest = rest.strip_prefix(['"', '\'']).unwrap_or(rest);
        if let Some(name) = first_string(rest).filter(|n| !n.is_empty()) {
            found = Some(Default { name, forced, at: Location::new(path.to_path_buf(), index + 1) });
        }
    }
    found
}

/// The first quoted string in `text`.
fn first_string(text: &str) -> Option<String> {
    let start = text.find(['"', '\''])?;
    let quote = text[start..].chars().next()?;
    let rest = &text[start + 1..];
    let end = rest.find(quote)?;
    let value = &rest[..end];
    value.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '.').then(|| value.to_owned())
}

/// `manage.py <command> --settings=X` / `--settings X` in deployment files (Dockerfiles, scripts,
/// Procfiles, compose files): a process production runs with that module.
fn settings_flags(project: &Project) -> Vec<(String, String)> {
    let deployment = |p: &Path| {
        let name = kinds::name_of(p);
        kinds::is_dockerfile(p) || kinds::is_procfile(p) || kinds::is_compose_name(p) || name.ends_with(".sh")
    };
    let mut found = Vec::new();
    for path in project.files_of(deployment).iter() {
        if !project.file_matches(path, |b| memchr::memmem::find(b, b"--settings").is_some()) {
            continue;
        }
        let Ok(file) = project.read(path) else { continue };
        for (index, line) in file.text.lines().enumerate() {
            if !line.contains("manage.py") && !line.contains("django-admin") || line.trim_start().starts_with('#') {
                continue;
            }
            let Some(at) = line.find("--settings") else { continue };
            let rest = line[at + "--settings".len()..].trim_start_matches(['=', ' ']);
            let name: String =
                rest.chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '.').collect();
            if !name.is_empty() {
                let why = format!("`--settings {name}` at {}:{}", path.display(), index + 1);
                found.push((name, why));
            }
        }
    }
    found
}

/// `COPY <src>.py <dest>.py` in the project's Dockerfiles (one source, a file destination), and
/// `cp`/`mv <src>.py <dest>.py` in their `RUN` commands (taiga: `cp docker/config.py
/// settings/config.py`): the source is imported under the destination's module path.
fn copies(project: &Project) -> Vec<(PathBuf, PathBuf, Location)> {
    let mut found = Vec::new();
    for path in project.files_of(kinds::is_dockerfile).iter() {
        let Ok(file) = project.read(path) else { continue };
        for instruction in dockerfile::parse(&file.text).instructions {
            let words: Vec<String> = crate::lang::shell::words(&file.text[instruction.args.clone()])
                .into_iter()
                .map(|w| w.text)
                .filter(|w| !w.starts_with('-'))
                .collect();
            let pairs: Vec<&[String]> = match instruction.keyword.as_str() {
                "COPY" | "ADD" => vec![words.as_slice()],
                "RUN" => words.windows(3).filter(|w| w[0] == "cp" || w[0] == "mv").map(|w| &w[1..]).collect(),
                _ => continue,
            };
            for pair in pairs {
                let [source, dest] = pair else { continue };
                let dest = dest.trim_end_matches([';', '&']);
                if !source.ends_with(".py") || !dest.ends_with(".py") {
                    continue;
                }
                if let Some(source) = copy_source(project, path, source) {
                    let dest = PathBuf::from(dest.trim_start_matches('/'));
                    found.push((dest, source, Location::new(path.clone(), instruction.line)));
                }
            }
        }
    }
    found
}

/// The project file a copy's source names: relative to the Dockerfile's folder (its usual build
/// context), else to the project root.
fn copy_source(project: &Project, dockerfile: &Path, source: &str) -> Option<PathBuf> {
    let source = source.trim_start_matches("./");
    let context = dockerfile.parent().unwrap_or(Path::new(""));
    [context.join(source), PathBuf::from(source)].into_iter().find(|candidate| project.has_file(candidate))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_over_wsgi_default_and_forced_over_env() {
        let (_dir, project) = crate::project::test_project(&[
            ("proj/wsgi.py", "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'proj.settings.dev')\n"),
            (
                "Dockerfile",
                "FROM python\nENV DJANGO_SETTINGS_MODULE=proj.settings.production\nCMD gunicorn proj.wsgi:application\n",
            ),
            ("manage.py", "os.environ.setdefault('DJANGO_SETTINGS_MODULE', 'proj.settings.dev')\n"),
        ]);
        let production = find(&project);
        assert_eq!(production.loaded.len(), 1, "{production:?}");
        assert_eq!(production.loaded[0].name, "proj.settings.production");
        assert!(
            production.loaded[0].why.contains("set by ENV in Dockerfile (Dockerfile:2)"),
            "{}",
            production.loaded[0].why
        );
        assert!(!production.assumed);
    }

    #[test]
    fn wsgi_default_without_starts_and_copies() {
        let (_dir, project) = crate::project::test_project(&[
            ("app/wsgi.py", "os.environ['DJANGO_SETTINGS_MODULE'] = \"app.settings.local\"\n"),
            ("deploy/settings_prod.py", "DEBUG = False\n"),
            ("Dockerfile", "FROM python\nCOPY deploy/settings_prod.py /srv/app/settings/local.py\n"),
            (
                "docker/Dockerfile",
                "FROM python\nRUN set -eux; \\\n    cp docker/config.py app/settings/config.py; \\\n    true\n",
            ),
            ("docker/config.py", "from .common import *\n"),
        ]);
        let production = find(&project);
        assert_eq!(production.loaded[0].name, "app.settings.local");
        assert!(production.assumed);
        assert!(production.describe().contains("assumed: app.settings.local (no server start names it"));
        assert_eq!(
            production.copied_to(Path::new("app/settings/local.py")),
            Some(&PathBuf::from("deploy/settings_prod.py"))
        );
        assert_eq!(production.copied_to(Path::new("app/settings/config.py")), Some(&PathBuf::from("docker/config.py")));
    }

    /// A module that is only wsgi.py's default, with an environment source scalepatch cannot read.
    fn unseen_default(files: &[(&str, &str)]) -> Production {
        let wsgi =
            ("proj/wsgi.py", "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'proj.settings.dev')\n");
        let (_dir, project) = crate::project::test_project(&[files, &[wsgi]].concat());
        let production = find(&project);
        assert_eq!(production.loaded.len(), 1, "{production:?}");
        assert_eq!(production.loaded[0].name, "proj.settings.dev");
        assert!(production.assumed);
        production
    }

    #[test]
    fn default_with_an_unseen_environment_is_assumed() {
        let unit = "[Service]\nEnvironmentFile=/etc/proj/env\nExecStart=/srv/venv/bin/gunicorn proj.wsgi\n";
        let production = unseen_default(&[("deploy/proj.service", unit)]);
        assert!(
            production.describe().contains("may be set in EnvironmentFile=/etc/proj/env (deploy/proj.service:2)"),
            "{}",
            production.describe()
        );
        let render = "services:\n  - type: web\n    name: proj\n    runtime: python\n    startCommand: gunicorn proj.wsgi\n    envVars:\n      - key: DJANGO_SETTINGS_MODULE\n        sync: false\n";
        let production = unseen_default(&[("render.yaml", render)]);
        assert!(production.unseen[0].contains("its value is set on Render"), "{:?}", production.unseen);
    }

    #[test]
    fn app_modules_and_env_flags() {
        assert_eq!(app_module("config.wsgi:application").as_deref(), Some("config.wsgi"));
        assert_eq!(app_module("--workers"), None);
        assert_eq!(env_flag(["-e", "DJANGO_SETTINGS_MODULE=a.b"].into_iter()).as_deref(), Some("a.b"));
        assert_eq!(env_flag(["--env=DJANGO_SETTINGS_MODULE=c.d"].into_iter()).as_deref(), Some("c.d"));
    }
}
