//! Every Celery process the deployment starts (workers, beat, Flower, ...), found once per
//! project, and for each worker the settings Celery starts it with: the connection budget counts
//! the workers' processes, nginx leaves alone a server that only proxies to a Celery service, and
//! the `celery-workers` patch decides from the same facts.
//!
//! **Where.** The processes come from the shared deployment discovery
//! ([`crate::facts::gunicorn::discovery::discover_programs`] looking for Celery): Dockerfile
//! `CMD`/`ENTRYPOINT`, compose `command:`/`entrypoint:`, Kubernetes containers, start scripts,
//! Procfile, supervisord, systemd, App Engine and Fly.io files, through the same wrappers
//! (`exec`, `sh -c "..."`, `gosu`, `uv run`, `python -m celery`...), each with the environment,
//! compose service, Kubernetes CPU limit, replicas and platform of the process that runs it.
//!
//! **Which settings, by Celery's precedence** (celery 5.7, read in its sources): for each worker
//! option, the worker's command line wins (`-c 8`; `celery/bin/worker.py` falls back to
//! `app.conf.worker_concurrency` only when the option is empty or 0); the command line may also
//! come from the environment, since `celery/bin/celery.py` runs the CLI with
//! `auto_envvar_prefix="CELERY"` (`CELERY_WORKER_CONCURRENCY=4` is `celery worker -c 4`); then
//! the app's configuration ([`config`]): `app.conf.x = ...` / `app.conf.update(...)` in the app
//! module win over the configuration source (`config_from_object(...)`: Django settings with the
//! namespace given, or a `celeryconfig` module). With nothing set, a prefork worker starts
//! `billiard.cpu_count()` = `os.cpu_count()` children (`celery/worker/worker.py`
//! `setup_defaults`; `celery worker --help`: "The default is the number of CPUs available on your
//! system"): in a container limited by a CPU quota that is the host's CPU count.

pub mod config;

use std::ops::Range;
use std::path::Path;
use std::sync::Arc;

use crate::facts::gunicorn::discovery::{self, Invocation};
use crate::facts::gunicorn::invocation::Programs;
use crate::facts::gunicorn::{self, target};
use crate::lang::shell::Word;
use crate::project::Project;
use crate::project::config::Sourced;
use crate::project::kinds;
use crate::text::location::Location;

pub use config::{AppConfig, ConfigSource};

/// What a Celery process is, from the subcommand after `celery` and its global options.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    Worker,
    Beat,
    Flower,
    /// Another subcommand (`events`, `multi`, `inspect`, ...), as written.
    Other(String),
    /// No subcommand on the command line (it comes from elsewhere, or the line is cut).
    Unknown,
}

/// Where a worker setting is decided, highest precedence first (Celery's order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// The worker's command line.
    CommandLine,
    /// `CELERY_WORKER_<OPTION>` in the process's environment (the command line's option, through
    /// click's `auto_envvar_prefix="CELERY"`).
    Environment,
    /// `app.conf.x = ...` / `app.conf.update(x=...)` in the app module.
    AppConf,
    /// The configuration source the app loads (Django settings, a `celeryconfig` module).
    ConfigModule,
}

/// One worker setting as written, with where it is decided.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub source: Source,
    /// The value as written (`8`, `gevent`, `$CONCURRENCY`, `env.int("C", 4)`).
    pub written: String,
    /// The value Celery reads, when it is known before the process starts; `None` when it is
    /// decided at runtime (an environment variable without a default, a function call).
    pub value: Option<String>,
    /// Where, in words (`--concurrency 8 on the command line (compose command)`).
    pub what: String,
    /// The setting as written in its place, for the connection budget's short sources
    /// (`--concurrency 8`, `CELERY_WORKER_CONCURRENCY=4`, `CELERY_WORKER_CONCURRENCY in proj/settings.py`).
    pub written_as: String,
    pub location: Location,
    /// The bytes of the value in its file, when it can be edited in place.
    pub range: Option<Range<usize>>,
}

impl Setting {
    /// The value as a count, when it is a literal number.
    pub fn number(&self) -> Option<u32> {
        self.value.as_deref()?.trim().parse().ok()
    }

    /// Whether Celery takes the value as unset and falls through to the next source: an empty
    /// value or 0 (`_concurrency_value` in `celery/bin/worker.py`; `either()` skips `None`).
    pub fn falls_through(&self) -> bool {
        matches!(self.value.as_deref().map(str::trim), Some("" | "0" | "None"))
    }
}

/// What a worker starts with, each setting from the source that decides it (`None`: not set
/// anywhere that was read).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WorkerSettings {
    pub concurrency: Option<Setting>,
    pub pool: Option<Setting>,
    pub max_tasks_per_child: Option<Setting>,
    /// `--autoscale max,min`: the pool grows and shrinks between the two; concurrency is its cap.
    pub autoscale: Option<Setting>,
    /// Places that may set any of them and cannot be read (`app.conf.update(CONF)`,
    /// `config_from_envvar(...)`), with what they are.
    pub opaque: Vec<(Location, String)>,
}

impl WorkerSettings {
    /// The pool's name as Celery resolves it: `prefork` when nothing sets it.
    pub fn pool_name(&self) -> Option<&str> {
        match &self.pool {
            None => Some("prefork"),
            Some(setting) => setting.value.as_deref(),
        }
    }

    /// Whether the worker runs the prefork pool (`processes` is its old alias).
    pub fn is_prefork(&self) -> bool {
        matches!(self.pool_name(), Some("prefork" | "processes"))
    }
}

/// One Celery command of the deployment.
#[derive(Debug, Clone)]
pub struct CeleryProcess {
    /// The start as discovery found it: file, line, words, environment, service, CPU limit.
    pub invocation: Invocation,
    pub role: Role,
    /// Where the subcommand (`worker`) is in the invocation's arguments.
    pub subcommand: Option<usize>,
    /// `-A` / `--app` as written.
    pub app: Option<String>,
    /// Whether the same command line also starts a web server (`sh -c "celery ... & gunicorn"`).
    pub serves_web: bool,
    /// The CPU count of the deployment that runs it, with where that count comes from.
    pub cpus: Sourced<u32>,
    /// For a worker: its settings, by Celery's precedence.
    pub settings: WorkerSettings,
    /// For a worker: the app it runs and its configuration, when found in the project.
    pub config: Option<Arc<AppConfig>>,
}

impl CeleryProcess {
    pub fn location(&self) -> Location {
        self.invocation.location()
    }

    /// The compose service that runs it.
    pub fn service(&self) -> Option<&str> {
        self.invocation.service.as_ref().map(|(_, name)| name.as_str())
    }

    pub fn is_worker(&self) -> bool {
        self.role == Role::Worker
    }

    /// Whether Celery is what the command runs: the same command line starts no web server.
    pub fn runs_celery_directly(&self) -> bool {
        !self.serves_web
    }

    /// The command from `celery` on, as one line, for messages.
    pub fn command(&self) -> String {
        let inv = &self.invocation;
        std::iter::once(inv.program_name.as_str())
            .chain(inv.args.iter().map(|w| w.text.as_str()))
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// The worker's arguments after the subcommand.
    pub fn worker_args(&self) -> &[Word] {
        let from = self.subcommand.map_or(self.invocation.args.len(), |i| i + 1);
        &self.invocation.args[from..]
    }

    /// The subcommand word (`worker`): new options go right after it.
    pub fn subcommand_word(&self) -> Option<&Word> {
        self.invocation.args.get(self.subcommand?)
    }

    /// The concurrency the budget counts: the explicit count when there is one, else one
    /// process per CPU of the deployment that runs the worker, which is what `celery-workers`
    /// writes (Celery itself would start one per CPU it sees: the host's, in a container).
    pub fn planned_concurrency(&self) -> Sourced<u32> {
        let cpus = &self.cpus;
        match &self.settings.concurrency {
            Some(setting) if !setting.falls_through() => match setting.number() {
                Some(value) => Sourced { value, source: setting.written_as.clone() },
                None => Sourced {
                    value: cpus.value,
                    source: format!(
                        "concurrency decided at runtime ({}), counted as one per CPU: {} CPUs {}",
                        setting.what, cpus.value, cpus.source
                    ),
                },
            },
            _ => Sourced {
                value: cpus.value,
                source: format!(
                    "no concurrency set: one process per CPU as celery-workers plans it, {} CPUs {}",
                    cpus.value, cpus.source
                ),
            },
        }
    }
}

/// The Celery processes of the project's deployment files, in discovery order.
#[derive(Debug, Default)]
pub struct Celery {
    pub processes: Vec<CeleryProcess>,
    /// Input errors met on the way (unreadable launch files, templates), as discovery reports them.
    pub errors: Vec<crate::facts::problem::Problem>,
}

/// Celery's global options that take a value (`celery -A proj worker`): skipped when looking for
/// the subcommand.
const GLOBAL_VALUE_OPTIONS: &[&str] =
    &["-A", "--app", "-b", "--broker", "--result-backend", "--loader", "--config", "--workdir"];

/// The Celery processes of `project`, read once per project.
pub fn celery(project: &Project) -> Arc<Celery> {
    project.memo(find)
}

/// Files that start processes one command per line: Procfiles, Dockerfiles, shell scripts,
/// supervisord and systemd units, and compose files by name. The connection budget looks for
/// PostgreSQL's `max_connections` in the same files.
pub fn launch_file(path: &Path) -> bool {
    let name = kinds::name_of(path);
    kinds::is_compose_name(path)
        || kinds::is_procfile(path)
        || kinds::is_dockerfile(path)
        || name.ends_with(".sh")
        || name.starts_with("supervisord")
        || name.ends_with(".service")
}

/// Splits a command line written in YAML or shell into words (`["celery", "-c", "4"]` too): the
/// rough split that suits a line of any launcher's syntax.
pub fn line_words(line: &str) -> Vec<String> {
    line.split(|c: char| c.is_whitespace() || "[],'\"".contains(c))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

fn find(project: &Project) -> Celery {
    let found = discovery::discover_programs(project, Programs::Celery);
    let web = gunicorn::analysis(project);
    // `--cpus` / the config name the production container's CPU count: workers take it too.
    let fallback = project.config().cpus.clone().unwrap_or_else(|| Sourced {
        value: target::ASSUMED_CPUS,
        source: "assumed: no --cpus, no cpus in the config, no CPU limit for the container or platform that runs this worker"
            .to_owned(),
    });
    let roles: Vec<(Role, Option<usize>, Option<String>)> =
        found.invocations.iter().map(|inv| role(&inv.args)).collect();
    let workers_apps: Vec<Option<&str>> =
        roles.iter().filter(|(role, _, _)| *role == Role::Worker).map(|(_, _, app)| app.as_deref()).collect();
    let apps = config::AppConfigs::read(project, &workers_apps);
    let processes = found
        .invocations
        .iter()
        .zip(roles.iter().cloned())
        .map(|(inv, (role, subcommand, app))| {
            let serves_web = web.starts.iter().any(|s| s.invocation.path == inv.path && s.invocation.line == inv.line);
            let cpus = target::cpu_count_for(project, &found, inv, &fallback);
            let mut process = CeleryProcess {
                invocation: inv.clone(),
                role,
                subcommand,
                app,
                serves_web,
                cpus,
                settings: WorkerSettings::default(),
                config: None,
            };
            if process.is_worker() {
                process.config = apps.for_app(process.app.as_deref());
                process.settings = resolve(project, &process);
            }
            process
        })
        .collect();
    Celery { processes, errors: found.errors }
}

/// `-A proj`, `-Aproj`, `--app proj` or `--app=proj` among a subcommand's arguments.
fn app_after(args: &[Word]) -> Option<String> {
    args.iter().enumerate().find_map(|(i, word)| {
        let text = word.text.as_str();
        match text {
            "-A" | "--app" => args.get(i + 1).map(|w| w.text.clone()),
            _ => text
                .strip_prefix("--app=")
                .or_else(|| text.strip_prefix("-A").filter(|v| !v.is_empty()))
                .map(str::to_owned),
        }
    })
}

/// The subcommand (with its index in `args`) and `-A`: the first word that is not a global
/// option or its value.
fn role(args: &[Word]) -> (Role, Option<usize>, Option<String>) {
    let mut app = None;
    let mut i = 0;
    while let Some(word) = args.get(i) {
        let text = word.text.as_str();
        if let Some(value) = text.strip_prefix("--app=").or_else(|| text.strip_prefix("-A").filter(|v| !v.is_empty())) {
            app = Some(value.to_owned());
        } else if GLOBAL_VALUE_OPTIONS.contains(&text) {
            if matches!(text, "-A" | "--app") {
                app = args.get(i + 1).map(|w| w.text.clone());
            }
            i += 1;
        } else if !text.starts_with('-') {
            let role = match text {
                "worker" => Role::Worker,
                "beat" => Role::Beat,
                "flower" => Role::Flower,
                other => Role::Other(other.to_owned()),
            };
            // Celery 3 and 4 also read `-A` after the subcommand (`celery worker --app=proj`).
            return (role, Some(i), app.or_else(|| app_after(&args[i + 1..])));
        }
        i += 1;
    }
    (Role::Unknown, None, app)
}

/// The worker options `celery-workers` reads: (the setting's name in the configuration, the
/// command line's spellings, the environment variable that stands for the option).
pub const CONCURRENCY: WorkerOption = WorkerOption { key: "worker_concurrency", flags: &["-c", "--concurrency"] };
pub const POOL: WorkerOption = WorkerOption { key: "worker_pool", flags: &["-P", "--pool"] };
pub const MAX_TASKS_PER_CHILD: WorkerOption =
    WorkerOption { key: "worker_max_tasks_per_child", flags: &["--max-tasks-per-child"] };
pub const AUTOSCALE: WorkerOption = WorkerOption { key: "worker_autoscaler_max", flags: &["--autoscale"] };

/// A worker option: its configuration key and its command-line spellings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WorkerOption {
    pub key: &'static str,
    pub flags: &'static [&'static str],
}

impl WorkerOption {
    /// The long option without dashes, as click names its environment variable
    /// (`CELERY_WORKER_MAX_TASKS_PER_CHILD`).
    pub fn env_var(self) -> String {
        let long = self.flags.iter().find(|f| f.starts_with("--")).expect("every option has a long spelling");
        format!("CELERY_WORKER_{}", long.trim_start_matches('-').replace('-', "_").to_uppercase())
    }
}

/// A worker's settings, each from the source Celery's precedence makes decide it.
fn resolve(project: &Project, process: &CeleryProcess) -> WorkerSettings {
    let config = process.config.as_deref();
    let mut opaque = config.map(|c| c.opaque.clone()).unwrap_or_default();
    let mut pick = |option: WorkerOption| {
        let from_config = config.and_then(|c| c.setting(project, process, option.key, &mut opaque));
        let command_line = command_line_option(process, option).or_else(|| env_option(process, option));
        match command_line {
            // `-P prefork` on the command line loses to a configured pool: Celery's WorkersPool
            // takes the configured one when the command line says the default.
            Some(cli) if option == POOL && cli.value.as_deref() == Some("prefork") && from_config.is_some() => {
                from_config
            }
            Some(cli) if !cli.falls_through() => Some(cli),
            Some(cli) => from_config.filter(|c| !c.falls_through()).or(Some(cli)),
            None => from_config,
        }
    };
    let concurrency = pick(CONCURRENCY);
    let pool = pick(POOL);
    let max_tasks_per_child = pick(MAX_TASKS_PER_CHILD);
    let autoscale = command_line_option(process, AUTOSCALE).or_else(|| env_option(process, AUTOSCALE));
    opaque.sort();
    opaque.dedup();
    WorkerSettings { concurrency, pool, max_tasks_per_child, autoscale, opaque }
}

/// The last value of a worker option on the command line (`-c 8`, `-c8`, `--concurrency=8`,
/// `--concurrency 8`).
fn command_line_option(process: &CeleryProcess, option: WorkerOption) -> Option<Setting> {
    let inv = &process.invocation;
    let args = process.worker_args();
    let mut found = None;
    for (i, word) in args.iter().enumerate() {
        let text = word.text.as_str();
        let (value, start) = if option.flags.contains(&text) {
            match args.get(i + 1) {
                Some(next) => (next, 0),
                None => continue,
            }
        } else if let Some(long) = option.flags.iter().find(|f| f.starts_with("--"))
            && text.starts_with(&format!("{long}="))
        {
            (word, long.len() + 1)
        } else if let Some(short) = option.flags.iter().find(|f| !f.starts_with("--"))
            && text.len() > short.len()
            && text.starts_with(short)
            && !text[short.len()..].starts_with('-')
        {
            (word, short.len())
        } else {
            continue;
        };
        let shown = if start == 0 { format!("{text} {}", value.text) } else { text.to_owned() };
        found = Some(Setting {
            source: Source::CommandLine,
            written: value.text[start..].to_owned(),
            value: (!value.is_dynamic()).then(|| value.text[start..].to_owned()),
            what: format!("{shown} on the command line ({})", inv.origin.describe()),
            written_as: shown,
            location: Location::new(inv.path.clone(), inv.file.line_of(value.span.start)),
            range: value.source_range(start..value.text.len()),
        });
    }
    found
}

/// The option set through the environment (`CELERY_WORKER_CONCURRENCY=4`).
fn env_option(process: &CeleryProcess, option: WorkerOption) -> Option<Setting> {
    let name = option.env_var();
    let var = process.invocation.env_var(&name)?;
    Some(Setting {
        source: Source::Environment,
        written: var.value.text.clone(),
        value: (!var.value.is_dynamic()).then(|| var.value.text.clone()),
        what: format!("{name}={} ({}), which Celery's command line reads as its option", var.value.text, var.what),
        written_as: format!("{name}={}", var.value.text),
        location: Location::new(var.path.clone(), var.line),
        range: var.value.source_range(0..var.value.text.len()),
    })
}

#[cfg(test)]
mod tests;
