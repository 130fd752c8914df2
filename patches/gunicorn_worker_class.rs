//! `gunicorn-worker-class`: Gunicorn sync workers -> gthread with 4 threads (WSGI apps only).
//!
//! Why: a sync worker holds one request at a time, so one slow upstream call stalls the worker;
//! gthread runs the same WSGI callable on a thread pool (4 requests in flight per worker) and
//! supports keep-alive.
//!
//! Where: every WSGI gunicorn start the gunicorn facts find, in the place that decides the class
//! under gunicorn's precedence: the class is rewritten where it is set, with `--threads 4` /
//! `threads = 4` right after it (or the threads raised where they are set); when nothing sets
//! the class, the config file gets `worker_class` and `threads`, else the command line gets
//! `-k gthread --threads 4` before the application. `--threads N>1` with sync (gunicorn already
//! swaps in gthread) is only made explicit. A switch spanning several files is all or nothing.
//!
//! When it does not change anything: gthread is ok; gevent, eventlet and other non-sync classes
//! are skipped (monkey-patching, connections leaked with CONN_MAX_AGE), as are a class or threads
//! decided at runtime or not editable in place, a class that may be set somewhere unseen
//! (runtime arguments, a config file outside the project), an edit inside a template expression,
//! and starts that are not WSGI gunicorn (other servers, `--reload`, ASGI).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use crate::engine::outcome::{Change, Outcome};
use crate::engine::patch::{Patch, PatchInfo, RealTool};
use crate::engine::selfcheck;
use crate::facts::gunicorn::discovery::{ArgStyle, Invocation};
use crate::facts::gunicorn::resolve::{Setting, SourceKind};
use crate::facts::gunicorn::start::{Unseen, Wsgi, is_gthread, is_sync};
use crate::facts::gunicorn::target::THREADS;
use crate::facts::gunicorn::{self, write};
use crate::project::Project;
use crate::text::edit::Edit;

pub struct GunicornWorkerClass;

/// What the catalog knows of this patch.
pub static INFO: PatchInfo = PatchInfo {
    id: "gunicorn-worker-class",
    quick_win: "QW1",
    why_prefix: "QW1 / bottleneck 5 (sync workers)",
    title: "Gunicorn sync workers -> gthread with 4 threads (WSGI apps only)",
    phase_1: true,
    verify: &["gunicorn --print-config <wsgi module>"],
    checked_by: RealTool::Gunicorn,
};

impl Patch for GunicornWorkerClass {
    fn info(&self) -> &'static PatchInfo {
        &INFO
    }

    fn plan(&self, project: &Project) -> Vec<Outcome> {
        let analysis = gunicorn::analysis(project);
        let answers = analysis.each_start(|inv, wsgi| decide(project, inv, wsgi));
        answers.into_iter().flat_map(|answer| answer.unwrap_or_else(|not_decided| vec![not_decided.into()])).collect()
    }

    /// On the patched tree, gunicorn takes the worker class and threads from the edited lines, with the planned value.
    fn self_check(&self, before: &Project, after: &Project, change: &Change) -> Result<Option<String>, String> {
        selfcheck::gunicorn::decides(before, after, change, selfcheck::gunicorn::Field::WorkerClass)
    }
}

/// The decision for one WSGI gunicorn start: one outcome, or one change per file it edits.
fn decide(project: &Project, inv: &Invocation, wsgi: &Wsgi) -> Vec<Outcome> {
    let resolved = &wsgi.resolved;
    let class = match wsgi.class_name() {
        Ok(class) => class,
        Err((setting, expr)) => {
            let reason = format!("the worker class is decided at runtime by {expr} ({}); left alone", setting.what);
            return vec![Outcome::skipped(Some(setting.location()), reason)];
        }
    };
    let threads = match wsgi.thread_count() {
        Ok(threads) => threads,
        Err(setting) => {
            let reason = format!("threads is decided at runtime ({}); worker class left alone", setting.what);
            return vec![Outcome::skipped(Some(setting.location()), reason)];
        }
    };
    let class_location = resolved.worker_class.as_ref().map(|s| s.location()).or(Some(inv.location()));
    if is_gthread(&class) {
        return vec![Outcome::ok(class_location, format!("worker class is already gthread ({threads} threads)"))];
    }
    if !is_sync(&class) {
        let reason = format!(
            "worker class {class} is not sync; only sync is switched (gevent/eventlet need monkey-patching and leak connections with CONN_MAX_AGE)"
        );
        return vec![Outcome::skipped(class_location, reason)];
    }
    match switch_edits(project, inv, wsgi, threads) {
        Ok(edits) => switch(project, inv, wsgi, threads, edits),
        Err(skip) => vec![*skip],
    }
}

/// The edits of the sync -> gthread switch, by file. With threads > 1 gunicorn already runs
/// gthread: only the class is made explicit.
fn switch_edits(project: &Project, inv: &Invocation, wsgi: &Wsgi, threads: u32) -> Result<FileEdits, Box<Outcome>> {
    let resolved = &wsgi.resolved;
    let mut edits = FileEdits::default();
    let mut threads_placed = threads > 1;
    // Threads set somewhere (`--threads 1`, `threads = 1`): raised where they are set.
    if !threads_placed && let Some(setting) = &resolved.threads {
        let Some(range) = setting.range.clone() else {
            let reason = format!("threads in {} cannot be edited in place; worker class left alone", setting.what);
            return Err(Box::new(Outcome::skipped(Some(setting.location()), reason)));
        };
        edits.push(&setting.path, setting.line, Edit::replace(range, THREADS.to_string()));
        threads_placed = true;
    }
    match &resolved.worker_class {
        Some(setting) => class_rewritten(project, inv, setting, threads_placed, &mut edits)?,
        None => class_added(inv, wsgi, threads_placed, &mut edits)?,
    }
    Ok(edits)
}

/// The class set to sync somewhere: `gthread` there, and the threads right after it unless
/// they are placed already.
fn class_rewritten(
    project: &Project,
    inv: &Invocation,
    setting: &Setting,
    threads_placed: bool,
    edits: &mut FileEdits,
) -> Result<(), Box<Outcome>> {
    let Some(range) = setting.range.clone() else {
        let reason = format!("the worker class in {} cannot be edited in place", setting.what);
        return Err(Box::new(Outcome::skipped(Some(setting.location()), reason)));
    };
    edits.push(&setting.path, setting.line, Edit::replace(range, "gthread"));
    if threads_placed {
        return Ok(());
    }
    let file = project.read(&setting.path).map_err(|err| Box::new(Outcome::from(err)))?;
    let companion = match (&setting.word, setting.line_end) {
        (Some(word), _) => {
            let style = if setting.source == SourceKind::CommandLine { inv.style.clone() } else { ArgStyle::Shell };
            Some(write::insert_after(&file, &style, word, &["--threads", &THREADS.to_string()]))
        }
        (None, Some(line_end)) => Some(write::insert_line(&file, line_end, &format!("threads = {THREADS}"))),
        (None, None) => None,
    };
    if let Some(edit) = companion {
        edits.push(&setting.path, setting.line, edit);
    }
    Ok(())
}

/// Nothing sets the class: the config file, else the command line (before the application, so
/// that the worker count patch, which adds after the program, never inserts at one offset).
fn class_added(inv: &Invocation, wsgi: &Wsgi, threads_placed: bool, edits: &mut FileEdits) -> Result<(), Box<Outcome>> {
    if let Some(unseen) = wsgi.unseen_options() {
        let reason = match unseen {
            Unseen::RuntimeArgs(opaque) => format!(
                "the command line passes {opaque}, known only at runtime, which may set the worker class; left alone"
            ),
            Unseen::OutsideConfig(config) => {
                format!("the config file {config} is not in the project and may set the worker class; left alone")
            }
            Unseen::OutsideEnv(source) => format!(
                "the environment comes from {source}: it may set the worker class through GUNICORN_CMD_ARGS; left alone"
            ),
            Unseen::OpaqueCmdArgs(var) => format!(
                "{var} is known only when the image is built or the process starts, and may set the worker class \
                 (an ASGI one, say); left alone"
            ),
        };
        return Err(Box::new(Outcome::skipped(Some(inv.location()), reason)));
    }
    let threads = THREADS.to_string();
    if let Some(config) = &wsgi.resolved.config {
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
            flags.extend(["--threads", threads.as_str()]);
        }
        let edit = write::add_flags(inv, wsgi.resolved.cli.flags.target, true, &flags);
        edits.push(&inv.path, inv.line, edit);
    }
    Ok(())
}

/// The switch as one change per file, or the one reason none is made: a switch is all or
/// nothing.
fn switch(project: &Project, inv: &Invocation, wsgi: &Wsgi, threads: u32, edits: FileEdits) -> Vec<Outcome> {
    let explicit_only = threads > 1;
    let summary = if explicit_only {
        format!("worker class sync -> gthread made explicit ({threads} threads already set)")
    } else {
        format!("worker class sync -> gthread with {THREADS} threads")
    };
    let decided_by = wsgi.resolved.worker_class.as_ref().map_or_else(
        || "nothing sets the worker class, so gunicorn runs its default, sync".to_owned(),
        |s| format!("{} sets sync ({})", s.what, s.source.why_it_decides()),
    );
    let why = if explicit_only {
        format!(
            "{decided_by}; with threads = {threads} > 1 gunicorn already swaps in the gthread worker at runtime, so only the class is made explicit"
        )
    } else {
        format!(
            "{decided_by}; the app is WSGI, so gthread (a thread pool per worker) is the safe switch: the same WSGI callable, {THREADS} requests in flight per worker, keep-alive supported. Each thread holds its own database connection."
        )
    };
    let app = wsgi.resolved.target.as_deref().unwrap_or("(from the config file)");
    let mut outcomes = Vec::new();
    for (path, (line, file_edits)) in edits.by_path {
        let text = match project.read(&path) {
            Ok(file) => file.text.clone(),
            Err(err) => return vec![Outcome::from(err)],
        };
        let change = Change::modify(INFO.id, &path, file_edits)
            .summary(summary.clone())
            .why(why.clone())
            .assume(format!("the application {app} is WSGI and thread-safe (Django is)"))
            .verify(wsgi.verify(inv))
            .at_line(line);
        outcomes.push(change.unless_in_template(&text));
    }
    match outcomes.iter().find(|o| !matches!(o, Outcome::Change(_))) {
        Some(skipped) => vec![skipped.clone()],
        None => outcomes,
    }
}

/// Edits grouped by file (one change per file), each with the line it starts at.
#[derive(Default)]
struct FileEdits {
    by_path: BTreeMap<PathBuf, (usize, Vec<Edit>)>,
}

impl FileEdits {
    fn push(&mut self, path: &Path, line: usize, edit: Edit) {
        let entry = self.by_path.entry(path.to_owned()).or_insert((line, Vec::new()));
        entry.0 = entry.0.min(line);
        entry.1.push(edit);
    }
}
