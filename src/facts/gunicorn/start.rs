//! Each server start discovery found, classified: a WSGI gunicorn start with its resolved
//! settings and worker target, or why the Phase 1 gunicorn settings do not apply to it (another
//! server, a `--reload` development start, an ASGI worker class or application), or the input
//! error that keeps it from being read.

use std::path::PathBuf;

use super::discovery::{Discovery, Invocation, Platform};
use super::invocation::ServerKind;
use super::resolve::{self, Resolved, Setting, SourceKind, Value};
use super::target;
use crate::facts::problem::Problem;
use crate::project::Project;
use crate::project::config::Sourced;
use crate::text::location::Location;

/// One server start and what it is.
#[derive(Debug)]
pub struct Start {
    pub invocation: Invocation,
    pub kind: StartKind,
}

/// What a start is, as far as the gunicorn settings go.
#[derive(Debug)]
pub enum StartKind {
    /// gunicorn serving a WSGI application: the settings apply.
    Wsgi(Box<Wsgi>),
    /// Another server (uWSGI, uvicorn, daphne, granian).
    OtherServer,
    /// A development start (`--reload`): not how production runs gunicorn.
    Development,
    /// gunicorn with an ASGI worker class (`uvicorn.workers.UvicornWorker`), set at `at`.
    AsgiClass { class: String, at: Location },
    /// gunicorn pointed at an ASGI application (`app.asgi:application`) with a WSGI class.
    AsgiApp { app: String },
    /// Its config file cannot be read: the input error.
    Unreadable(Box<Problem>),
}

/// A WSGI gunicorn start: gunicorn's resolved settings and the worker count its CPUs call for.
#[derive(Debug)]
pub struct Wsgi {
    pub resolved: Resolved,
    /// The CPU count of the container that runs this start.
    pub cpus: Sourced<u32>,
    /// `2 x cpus + 1`, clamped ([`target::target_workers`]).
    pub target: u32,
    /// Another start that loads the same config file and leaves its worker count to its platform
    /// or to a source scalepatch cannot see, described: a count written in the shared file would
    /// override that for it (a config file line beats WEB_CONCURRENCY). Set by
    /// [`mark_shared_configs`].
    pub config_shared_with: Option<String>,
}

/// Sets [`Wsgi::config_shared_with`] on every WSGI start whose config file another start loads
/// while leaving its worker count elsewhere (HackSoftware's styleguide: `gunicorn.conf.py` is
/// loaded both by the Procfile start, sized by the platform's WEB_CONCURRENCY, and by the Docker
/// entrypoint's).
pub fn mark_shared_configs(starts: &mut [Start], unread_composes: &[Location]) {
    let sized_elsewhere: Vec<(PathBuf, Location, String)> = starts
        .iter()
        .filter_map(|start| {
            let StartKind::Wsgi(wsgi) = &start.kind else { return None };
            let config = wsgi.resolved.config.as_ref()?;
            if wsgi.resolved.workers.is_some() {
                return None;
            }
            let why = match wsgi.workers_set_elsewhere(&start.invocation, unread_composes)? {
                SetElsewhere::Platform(platform) => {
                    let sets = platform.sets_web_concurrency().unwrap_or_default();
                    format!("{}: {}", platform.describe(), sets.split(';').next().unwrap_or(sets))
                }
                SetElsewhere::Unseen(_) | SetElsewhere::UnreadComposes(_) => {
                    "its count may be set where scalepatch cannot see".to_owned()
                }
            };
            Some((config.path.clone(), start.location(), why))
        })
        .collect();
    for start in starts.iter_mut() {
        let location = start.location();
        let StartKind::Wsgi(wsgi) = &mut start.kind else { continue };
        let Some(config) = &wsgi.resolved.config else { continue };
        wsgi.config_shared_with = sized_elsewhere
            .iter()
            .find(|(path, at, _)| *path == config.path && *at != location)
            .map(|(path, at, why)| format!("{} is also loaded by the start at {at} ({why})", path.display()));
    }
}

/// Where else a worker count may come from when nothing visible sets one: a count added by
/// scalepatch could be overridden by it, or silently override it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SetElsewhere<'a> {
    /// A start the platform runs (a Procfile line or the script it names) on a platform that sets
    /// WEB_CONCURRENCY itself (Heroku: from the dyno size).
    Platform(Platform),
    /// Something scalepatch cannot see may set any option (the class too).
    Unseen(Unseen<'a>),
    /// Compose files that cannot be read until rendered may give this start WEB_CONCURRENCY.
    UnreadComposes(&'a [Location]),
}

/// Options scalepatch cannot see for a start.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unseen<'a> {
    /// An argument only known at runtime (`"$@"`, `$GUNICORN_ARGS`), as written.
    RuntimeArgs(&'a str),
    /// A `-c` config file that is not in the project, as named.
    OutsideConfig(&'a str),
    /// An environment source that is not in the project (`EnvironmentFile=/etc/app/env`), described.
    OutsideEnv(&'a str),
    /// `GUNICORN_CMD_ARGS` set to a value known only at build or run time, described.
    OpaqueCmdArgs(&'a str),
}

impl Start {
    /// Classifies one start; `project_cpus` is the project's CPU count (a start's own container
    /// limit wins over it).
    pub fn classify(project: &Project, found: &Discovery, inv: Invocation, project_cpus: &Sourced<u32>) -> Start {
        let kind = kind_of(project, found, &inv, project_cpus);
        Start { invocation: inv, kind }
    }

    pub fn location(&self) -> Location {
        self.invocation.location()
    }

    /// Why the gunicorn settings do not apply to this start (`None` for a WSGI gunicorn start and
    /// for an unreadable one, whose input error says it).
    pub fn not_wsgi_gunicorn(&self) -> Option<String> {
        let location = self.location();
        Some(match &self.kind {
            StartKind::Wsgi(_) | StartKind::Unreadable(_) => return None,
            StartKind::OtherServer => format!("served by {} ({location})", self.invocation.server.name()),
            StartKind::Development => {
                format!("development start with --reload ({location}); not how production runs gunicorn")
            }
            StartKind::AsgiClass { class, at } => {
                format!("served by gunicorn with the ASGI worker class {class} ({at})")
            }
            StartKind::AsgiApp { app } => {
                format!("the application {app} is ASGI; gunicorn needs an ASGI worker class for it ({location})")
            }
        })
    }
}

fn kind_of(project: &Project, found: &Discovery, inv: &Invocation, project_cpus: &Sourced<u32>) -> StartKind {
    if inv.server != ServerKind::Gunicorn {
        return StartKind::OtherServer;
    }
    if inv.args.iter().any(|w| w.text == "--reload") {
        return StartKind::Development;
    }
    let resolved = match resolve::resolve(project, inv) {
        Ok(resolved) => resolved,
        Err(error) => return StartKind::Unreadable(error),
    };
    if let Some(setting) = &resolved.worker_class
        && let Value::Text(class) = &setting.value
        && is_asgi_class(class)
    {
        return StartKind::AsgiClass { class: class.clone(), at: setting.location() };
    }
    if let Some(app) = resolved.target.as_deref().filter(|t| t.contains(".asgi") || t.starts_with("asgi")) {
        return StartKind::AsgiApp { app: app.to_owned() };
    }
    let cpus = target::cpu_count_for(project, found, inv, project_cpus);
    let target = target::target_workers(cpus.value);
    StartKind::Wsgi(Box::new(Wsgi { resolved, cpus, target, config_shared_with: None }))
}

impl Wsgi {
    /// Where a worker count may come from when nothing visible sets one (see [`SetElsewhere`]).
    pub fn workers_set_elsewhere<'a>(
        &'a self,
        inv: &Invocation,
        unread_composes: &'a [Location],
    ) -> Option<SetElsewhere<'a>> {
        if let Some((platform, _)) = inv.platform
            && platform.sets_web_concurrency().is_some()
        {
            return Some(SetElsewhere::Platform(platform));
        }
        if let Some(unseen) = self.unseen_options() {
            return Some(SetElsewhere::Unseen(unseen));
        }
        // A config file line or a flag beats WEB_CONCURRENCY, which an unreadable compose file may
        // set for this start (cookiecutter-django: `.envs/.production/.django`). `ENV
        // WEB_CONCURRENCY` in a Dockerfile stays safe: an env_file overrides it.
        (inv.service.is_none() && inv.dockerfile.is_none() && !unread_composes.is_empty())
            .then_some(SetElsewhere::UnreadComposes(unread_composes))
    }

    /// A build- or run-time `GUNICORN_CMD_ARGS` that wins over `setting` if it sets the same
    /// option: a value raised where `setting` is (the config file, WEB_CONCURRENCY) could be
    /// silently overridden. Described.
    pub fn overridden_by_opaque_cmd_args(&self, setting: &Setting) -> Option<&str> {
        matches!(setting.source, SourceKind::ConfigFile | SourceKind::WebConcurrency)
            .then_some(self.resolved.opaque_cmd_args.as_deref())
            .flatten()
    }

    /// Options scalepatch cannot see that may set anything, the worker class included: runtime
    /// arguments, or a config file outside the project.
    pub fn unseen_options(&self) -> Option<Unseen<'_>> {
        if let Some(opaque) = &self.resolved.opaque_args {
            return Some(Unseen::RuntimeArgs(opaque));
        }
        if let Some(opaque) = &self.resolved.opaque_cmd_args {
            return Some(Unseen::OpaqueCmdArgs(opaque));
        }
        let outside_env = self.resolved.unseen_env.as_deref().map(Unseen::OutsideEnv);
        self.resolved.unseen_config.as_deref().map(Unseen::OutsideConfig).or(outside_env)
    }

    /// The command that shows what gunicorn resolves for this start.
    pub fn verify(&self, inv: &Invocation) -> String {
        let app = self.resolved.target.as_deref().unwrap_or("<app module>");
        format!(
            "gunicorn --print-config {app} with the other arguments and the environment of {} | grep -E '^(workers|worker_class|threads) '",
            inv.location()
        )
    }

    /// The worker class as written (`sync` when nothing sets it), or the setting and expression
    /// that decide it at runtime.
    pub fn class_name(&self) -> Result<String, (&Setting, &str)> {
        let Some(setting) = &self.resolved.worker_class else { return Ok("sync".to_owned()) };
        match &setting.value {
            Value::Text(text) => Ok(text.clone()),
            Value::Int(n) => Ok(n.to_string()),
            Value::Dynamic(expr) | Value::Formula(expr) => Err((setting, expr)),
        }
    }

    /// Threads per worker (1 when nothing sets it), or the setting that decides them at runtime.
    pub fn thread_count(&self) -> Result<u32, &Setting> {
        match &self.resolved.threads {
            None => Ok(1),
            Some(Setting { value: Value::Int(n), .. }) => Ok(*n),
            Some(setting) => Err(setting),
        }
    }
}

/// Whether a worker class name is gunicorn's sync worker.
pub fn is_sync(class: &str) -> bool {
    matches!(class, "sync" | "gunicorn.workers.sync.SyncWorker")
}

/// Whether a worker class name is gunicorn's threaded worker.
pub fn is_gthread(class: &str) -> bool {
    class == "gthread" || class.ends_with("ThreadWorker")
}

/// Whether a worker class serves ASGI.
pub fn is_asgi_class(class: &str) -> bool {
    let lower = class.to_ascii_lowercase();
    lower.contains("uvicorn") || lower == "asgi" || lower.contains("asgi")
}

/// Why the gunicorn settings have no start to apply to, for a line that may start gunicorn
/// through variables discovery cannot resolve.
pub fn unread_start(command: &str) -> String {
    format!(
        "`{command}` may start gunicorn through variables scalepatch cannot resolve (the program or its \
         arguments are built at run time); set WEB_CONCURRENCY (gunicorn reads it whatever the command line) or --workers / --worker-class for it by hand"
    )
}

/// Why the gunicorn settings have nothing to apply to when no start is found at all.
pub const NO_SERVER_FOUND: &str = "no gunicorn, uWSGI, uvicorn, daphne or granian command found (Dockerfiles, compose files, Procfiles, shell scripts, supervisord and systemd files)";
