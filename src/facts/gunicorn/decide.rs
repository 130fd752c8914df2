//! The decisions of both patches for one gunicorn invocation: which source decides the setting,
//! whether it already satisfies the quick win, and the smallest edit where it does not.

use super::discovery::{ArgStyle, Invocation, Origin};
use super::resolve::{Resolved, Setting, SourceKind, Value};
use super::write;
use crate::engine::outcome::{Change, Location, Outcome};
use crate::project::config::Sourced;
use crate::text::edit::Edit;

pub const WORKERS: &str = "gunicorn-workers";
pub const WORKER_CLASS: &str = "gunicorn-worker-class";
/// Threads per worker when switching sync -> gthread.
pub const THREADS: u32 = 4;

/// What planning needs besides the invocation.
#[derive(Clone)]
pub struct Context {
    pub cpus: Sourced<u32>,
    pub target: u32,
    /// Compose files that could not be read (templates): their services may hand any start an
    /// env_file with WEB_CONCURRENCY that scalepatch cannot see.
    pub unread_composes: Vec<Location>,
}

impl Context {
    fn assumptions(&self) -> Vec<String> {
        vec![
            format!("CPU count {} ({})", self.cpus.value, self.cpus.source),
            format!("target workers 2 x {} + 1, clamped to 3..12 = {}", self.cpus.value, self.target),
        ]
    }
}

/// A plan for one setting: the outcome and the value the server will have after it.
pub struct Decision {
    /// One outcome, or one change per file the decision edits.
    pub outcomes: Vec<Outcome>,
    pub workers: Option<u32>,
    pub worker_class: Option<String>,
    pub threads: Option<u32>,
}

fn why_source(setting: &Setting) -> &'static str {
    match setting.source {
        SourceKind::CommandLine => "the command line wins over every other source gunicorn reads",
        SourceKind::CmdArgs => {
            "GUNICORN_CMD_ARGS wins over the config file and WEB_CONCURRENCY, and the command line does not set it"
        }
        SourceKind::ConfigFile => {
            "the config file wins over WEB_CONCURRENCY, and neither the command line nor GUNICORN_CMD_ARGS set it"
        }
        SourceKind::WebConcurrency => {
            "WEB_CONCURRENCY is gunicorn's default for workers and nothing of higher precedence sets it; a new flag would silently override it"
        }
    }
}

fn verify(inv: &Invocation, resolved: &Resolved) -> String {
    let app = resolved.target.as_deref().unwrap_or("<app module>");
    format!(
        "gunicorn --print-config {app} with the other arguments and the environment of {} | grep -E '^(workers|worker_class|threads) '",
        inv.location()
    )
}

/// Guards a change against template expressions in the file it edits.
fn guarded(change: Change, text: &str) -> Outcome {
    let edits = match &change.kind {
        crate::engine::outcome::ChangeKind::Modify { edits } => edits.clone(),
        crate::engine::outcome::ChangeKind::Create { .. } => Vec::new(),
    };
    if write::touches_template(text, &edits) {
        let location = Some(Location::new(change.path.clone(), change.line));
        return Outcome::skipped(
            location,
            format!("template file: the edit ({}) would fall inside a template expression", change.summary),
        );
    }
    Outcome::Change(change)
}

/// `gunicorn-workers` for one invocation.
pub fn workers(ctx: &Context, inv: &Invocation, resolved: &Resolved, project: &crate::project::Project) -> Decision {
    let target = ctx.target;
    let keep = |outcome: Outcome, n: Option<u32>| Decision {
        outcomes: vec![outcome],
        workers: n,
        worker_class: None,
        threads: None,
    };
    if let Some(setting) = &resolved.workers {
        let location = Some(setting.location());
        return match &setting.value {
            Value::Int(n) if *n >= target => keep(
                Outcome::ok(
                    location,
                    format!("workers = {n} (from {}) is already >= the target {target}; never lowered", setting.what),
                ),
                Some(*n),
            ),
            Value::Int(n) => {
                let Some(range) = setting.range.clone() else {
                    return keep(
                        Outcome::skipped(
                            location,
                            format!("workers = {n} in {} cannot be edited in place", setting.what),
                        ),
                        Some(*n),
                    );
                };
                let text = match project.read(&setting.path) {
                    Ok(file) => file.text.clone(),
                    Err(err) => return keep(Outcome::from(err), Some(*n)),
                };
                let change = Change::modify(WORKERS, &setting.path, vec![Edit::replace(range, target.to_string())])
                    .summary(format!("workers {n} -> {target} ({})", setting.what))
                    .why(format!(
                        "{} decides this gunicorn's worker count ({}); so the count is raised there, in the form it is written in",
                        setting.what,
                        why_source(setting)
                    ))
                    .assumptions(ctx.assumptions())
                    .verify(verify(inv, resolved))
                    .at_line(setting.line);
                keep(guarded(change, &text), Some(target))
            }
            Value::Formula(formula) => keep(
                Outcome::ok(
                    location,
                    format!(
                        "workers is computed at start-up ({formula}, {}); note: in a container cpu_count() sees the host's CPUs, not the container's CPU quota, so this may start too many workers",
                        setting.what
                    ),
                ),
                None,
            ),
            Value::Dynamic(expr) => keep(
                Outcome::skipped(
                    location,
                    format!("workers is decided at runtime by {expr} ({}); left alone", setting.what),
                ),
                None,
            ),
            Value::Text(text) => keep(
                Outcome::skipped(
                    location,
                    format!("workers = {text:?} ({}) is not a number; left alone", setting.what),
                ),
                None,
            ),
        };
    }
    // Nothing sets workers: gunicorn runs 1.
    if inv.origin == Origin::Procfile {
        return keep(
            Outcome::skipped(
                Some(inv.location()),
                "Procfile without an explicit worker count: Heroku-style platforms set WEB_CONCURRENCY from the dyno size; a flag would override the platform",
            ),
            None,
        );
    }
    if let Some(opaque) = &resolved.opaque_args {
        let reason = format!(
            "the command line passes {opaque}, known only at runtime, which may set workers; a count added elsewhere could be overridden or override it"
        );
        return keep(Outcome::skipped(Some(inv.location()), reason), None);
    }
    if let Some(unseen) = &resolved.unseen_config {
        let reason = format!(
            "the config file {unseen} is not in the project and may set workers; a count added elsewhere could silently override it"
        );
        return keep(Outcome::skipped(Some(inv.location()), reason), None);
    }
    // A config file line or a flag beats WEB_CONCURRENCY: with a compose file we cannot read, the
    // project may set it for this start (cookiecutter-django: `.envs/.production/.django`), and
    // adding a count would silently override that knob. `ENV WEB_CONCURRENCY` in the Dockerfile
    // stays safe: an env_file overrides it.
    if inv.service.is_none() && inv.dockerfile.is_none() && !ctx.unread_composes.is_empty() {
        let files: Vec<String> = ctx.unread_composes.iter().map(|l| l.to_string()).collect();
        let reason = format!(
            "nothing visible sets workers, but compose files cannot be read until rendered (templates: {}): their \
             services may set WEB_CONCURRENCY for this start through environment or env_file, and a count added \
             here would override it; run scalepatch on the rendered project",
            files.join(", ")
        );
        return keep(Outcome::skipped(Some(inv.location()), reason), None);
    }
    let line = format!("workers = {target}");
    let (change, text) = if let Some(config) = &resolved.config {
        let change = Change::modify(WORKERS, &config.path, vec![write::append_line(&config.file, &line)])
            .summary(format!("add `{line}` to {}", config.path.display()))
            .why(format!(
                "nothing sets the worker count (gunicorn would run 1 worker); {} is the config file this gunicorn loads, the least surprising place for it",
                config.path.display()
            ))
            .at_line(config.file.line_of(config.file.text.len()));
        (change, config.file.text.clone())
    } else if let Some(hook) = &inv.dockerfile {
        let file = match project.read(&hook.path) {
            Ok(file) => file,
            Err(err) => return keep(Outcome::from(err), None),
        };
        let env_line = format!("ENV WEB_CONCURRENCY={target}");
        let change = Change::modify(WORKERS, &hook.path, vec![write::insert_line(&file, hook.insert_at, &env_line)])
            .summary(format!("add `{env_line}` before the command in {}", hook.path.display()))
            .why(
                "nothing sets the worker count (gunicorn would run 1 worker) and there is no config file; gunicorn reads WEB_CONCURRENCY itself, so this works for exec-form CMD too and stays overridable at deploy time",
            )
            .at_line(hook.line);
        (change, file.text.clone())
    } else {
        let count = target.to_string();
        let edit = write::add_flags(inv, None, false, &["--workers", &count]);
        let change = Change::modify(WORKERS, &inv.path, vec![edit])
            .summary(format!("add --workers {target} to the {} command line", inv.origin.describe()))
            .why("nothing sets the worker count (gunicorn would run 1 worker), and there is no config file or Dockerfile to hold it; the command line is where this gunicorn is configured")
            .at_line(inv.line);
        (change, inv.file.text.clone())
    };
    let change = change.assumptions(ctx.assumptions()).verify(verify(inv, resolved));
    keep(guarded(change, &text), Some(target))
}

/// Whether a worker class name is gunicorn's sync worker.
fn is_sync(class: &str) -> bool {
    matches!(class, "sync" | "gunicorn.workers.sync.SyncWorker")
}

/// Whether a worker class serves ASGI.
pub fn is_asgi_class(class: &str) -> bool {
    let lower = class.to_ascii_lowercase();
    lower.contains("uvicorn") || lower == "asgi" || lower.contains("asgi")
}

/// `gunicorn-worker-class` for one invocation.
pub fn worker_class(
    _ctx: &Context,
    inv: &Invocation,
    resolved: &Resolved,
    project: &crate::project::Project,
) -> Decision {
    let decision = |outcome: Outcome, class: &str, threads: u32| Decision {
        outcomes: vec![outcome],
        workers: None,
        worker_class: Some(class.to_owned()),
        threads: Some(threads),
    };
    let class_value = match resolved.worker_class.as_ref().map(|s| &s.value) {
        None => "sync".to_owned(),
        Some(Value::Text(text)) => text.clone(),
        Some(Value::Int(n)) => n.to_string(),
        Some(Value::Dynamic(expr) | Value::Formula(expr)) => {
            let setting = resolved.worker_class.as_ref().expect("matched Some");
            return decision(
                Outcome::skipped(
                    Some(setting.location()),
                    format!("the worker class is decided at runtime by {expr} ({}); left alone", setting.what),
                ),
                "sync",
                1,
            );
        }
    };
    let threads = match resolved.threads.as_ref().map(|s| &s.value) {
        None => 1,
        Some(Value::Int(n)) => *n,
        Some(_) => {
            let setting = resolved.threads.as_ref().expect("matched Some");
            return decision(
                Outcome::skipped(
                    Some(setting.location()),
                    format!("threads is decided at runtime ({}); worker class left alone", setting.what),
                ),
                &class_value,
                1,
            );
        }
    };
    let class_location = resolved.worker_class.as_ref().map(|s| s.location()).or(Some(inv.location()));
    if class_value == "gthread" || class_value.ends_with("ThreadWorker") {
        return decision(
            Outcome::ok(class_location, format!("worker class is already gthread ({threads} threads)")),
            "gthread",
            threads,
        );
    }
    if !is_sync(&class_value) {
        return decision(
            Outcome::skipped(
                class_location,
                format!(
                    "worker class {class_value} is not sync; only sync is switched (gevent/eventlet need monkey-patching and leak connections with CONN_MAX_AGE)"
                ),
            ),
            &class_value,
            threads,
        );
    }
    // sync: switch to gthread. With threads > 1 gunicorn already runs gthread: make it explicit only.
    let make_explicit_only = threads > 1;
    let threads_str = THREADS.to_string();
    let mut edits = FileEdits::default();
    let mut threads_placed = make_explicit_only;
    // Threads set somewhere (`--threads 1`, `threads = 1`): raised where they are set.
    if !make_explicit_only && let Some(setting) = &resolved.threads {
        let Some(range) = setting.range.clone() else {
            let reason = format!("threads in {} cannot be edited in place; worker class left alone", setting.what);
            return decision(Outcome::skipped(Some(setting.location()), reason), "sync", threads);
        };
        edits.push(&setting.path, setting.line, Edit::replace(range, threads_str.clone()));
        threads_placed = true;
    }
    match &resolved.worker_class {
        Some(setting) => {
            let Some(range) = setting.range.clone() else {
                let reason = format!("the worker class in {} cannot be edited in place", setting.what);
                return decision(Outcome::skipped(Some(setting.location()), reason), "sync", threads);
            };
            edits.push(&setting.path, setting.line, Edit::replace(range, "gthread"));
            if !threads_placed {
                let file = match project.read(&setting.path) {
                    Ok(file) => file,
                    Err(err) => return decision(Outcome::from(err), "sync", threads),
                };
                let companion = match (&setting.word, setting.line_end) {
                    (Some(word), _) => {
                        let style =
                            if setting.source == SourceKind::CommandLine { inv.style.clone() } else { ArgStyle::Shell };
                        Some(write::insert_after(&file, &style, word, &["--threads", &threads_str]))
                    }
                    (None, Some(line_end)) => {
                        Some(write::insert_line(&file, line_end, &format!("threads = {THREADS}")))
                    }
                    (None, None) => None,
                };
                if let Some(edit) = companion {
                    edits.push(&setting.path, setting.line, edit);
                }
            }
        }
        None => {
            if let Some(opaque) = &resolved.opaque_args {
                let reason = format!(
                    "the command line passes {opaque}, known only at runtime, which may set the worker class; left alone"
                );
                return decision(Outcome::skipped(Some(inv.location()), reason), "sync", threads);
            }
            if let Some(unseen) = &resolved.unseen_config {
                let reason =
                    format!("the config file {unseen} is not in the project and may set the worker class; left alone");
                return decision(Outcome::skipped(Some(inv.location()), reason), "sync", threads);
            }
            if let Some(config) = &resolved.config {
                let q = config.config.quote;
                let mut lines = vec![format!("worker_class = {q}gthread{q}")];
                if !threads_placed {
                    lines.push(format!("threads = {THREADS}"));
                }
                let line = config.file.line_of(config.file.text.len());
                edits.push(&config.path, line, write::append_lines_before_end(&config.file, &lines));
            } else {
                let mut flags = vec!["-k", "gthread"];
                if !threads_placed {
                    flags.extend(["--threads", threads_str.as_str()]);
                }
                edits.push(&inv.path, inv.line, write::add_flags(inv, resolved.cli.flags.target, true, &flags));
            }
        }
    }
    let final_threads = if make_explicit_only { threads } else { THREADS };
    let summary = if make_explicit_only {
        format!("worker class sync -> gthread made explicit ({threads} threads already set)")
    } else {
        format!("worker class sync -> gthread with {THREADS} threads")
    };
    let decided_by = resolved.worker_class.as_ref().map_or_else(
        || "nothing sets the worker class, so gunicorn runs its default, sync".to_owned(),
        |s| format!("{} sets sync ({})", s.what, why_source(s)),
    );
    let why = if make_explicit_only {
        format!(
            "{decided_by}; with threads = {threads} > 1 gunicorn already swaps in the gthread worker at runtime, so only the class is made explicit"
        )
    } else {
        format!(
            "{decided_by}; the app is WSGI, so gthread (a thread pool per worker) is the safe switch: the same WSGI callable, {THREADS} requests in flight per worker, keep-alive supported. Each thread holds its own database connection."
        )
    };
    let app = resolved.target.as_deref().unwrap_or("(from the config file)");
    let mut outcomes = Vec::new();
    for (path, (line, file_edits)) in edits.by_path {
        let text = match project.read(&path) {
            Ok(file) => file.text.clone(),
            Err(err) => return decision(Outcome::from(err), "sync", threads),
        };
        let change = Change::modify(WORKER_CLASS, &path, file_edits)
            .summary(summary.clone())
            .why(why.clone())
            .assume(format!("the application {app} is WSGI and thread-safe (Django is)"))
            .verify(verify(inv, resolved))
            .at_line(line);
        outcomes.push(guarded(change, &text));
    }
    // A switch is all or nothing: when one of its files cannot be edited, none is.
    if let Some(skipped) = outcomes.iter().find(|o| !matches!(o, Outcome::Change(_))) {
        return decision(skipped.clone(), "sync", threads);
    }
    Decision { outcomes, workers: None, worker_class: Some("gthread".to_owned()), threads: Some(final_threads) }
}

/// Edits grouped by file (one change per file), each with the line it starts at.
#[derive(Default)]
struct FileEdits {
    by_path: std::collections::BTreeMap<std::path::PathBuf, (usize, Vec<Edit>)>,
}

impl FileEdits {
    fn push(&mut self, path: &std::path::Path, line: usize, edit: Edit) {
        let entry = self.by_path.entry(path.to_owned()).or_insert((line, Vec::new()));
        entry.0 = entry.0.min(line);
        entry.1.push(edit);
    }
}
