//! What a WSGI gunicorn start runs with once Phase 1 is applied: the Phase 1 targets (workers
//! `2 x CPUs + 1`, never lowered; sync workers -> gthread with [`THREADS`] threads) laid over the
//! resolved settings, where the settings let them be written. The connection budget and the Redis
//! pool size read this projection (through [`crate::facts::serving`]), so it is derived from the
//! facts alone, without running the patches; the gunicorn tests check it against the real
//! `gunicorn --print-config` on every patched fixture.
//!
//! What keeps a target from being reached is read from the facts: a value decided at runtime, a
//! value that cannot be rewritten in place ([`Setting::editable`]), a count or class that may be
//! set where scalepatch cannot see ([`SetElsewhere`]), and a new line or flag that would land
//! inside a template expression. For that last check the projection asks the writers for the
//! places the patches add to (after the program for the count, before the application for the
//! class, the config file's end, before the Dockerfile's command): a patch that moves where it
//! adds a setting must move it here too.
//!
//! [`Setting::editable`]: super::resolve::Setting::editable
//! [`SetElsewhere`]: super::start::SetElsewhere

use super::discovery::{ArgStyle, Invocation};
use super::resolve::{Editable, Setting, SourceKind, Value};
use super::start::{Wsgi, is_gthread, is_sync};
use super::target::THREADS;
use super::write;
use crate::project::Project;
use crate::text::edit::Edit;
use crate::text::location::Location;

/// One start after Phase 1.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct After {
    /// The worker count (`None`: decided at runtime or left to the platform).
    pub workers: Option<u32>,
    /// Whether Phase 1 leaves the count known: the target was written, or the count was already
    /// at least the target.
    pub workers_known: bool,
    pub worker_class: String,
    pub threads: u32,
    /// Whether Phase 1 leaves the class and threads known: switched to gthread, or already gthread.
    pub class_known: bool,
}

/// The projection of one WSGI start.
pub fn after(project: &Project, inv: &Invocation, wsgi: &Wsgi, unread_composes: &[Location]) -> After {
    let (workers, workers_known) = workers(project, inv, wsgi, unread_composes);
    let (worker_class, threads, class_known) = worker_class(project, inv, wsgi);
    After { workers, workers_known, worker_class, threads, class_known }
}

/// The worker count after Phase 1, and whether it is known.
fn workers(project: &Project, inv: &Invocation, wsgi: &Wsgi, unread_composes: &[Location]) -> (Option<u32>, bool) {
    let target = wsgi.target;
    let Some(setting) = &wsgi.resolved.workers else {
        // Nothing sets it: the target is added unless the count may come from elsewhere.
        if wsgi.workers_set_elsewhere(inv, unread_composes).is_some() {
            return (None, false);
        }
        return match workers_added_in_template(project, inv, wsgi) {
            Some(in_template) => (Some(target), !in_template),
            None => (None, false),
        };
    };
    match &setting.value {
        Value::Int(n) if *n >= target => (Some(*n), true),
        // Left alone: GUNICORN_CMD_ARGS, known only at build or run time, may override it.
        Value::Int(_) if wsgi.overridden_by_opaque_cmd_args(setting).is_some() => (None, false),
        Value::Int(n) => match setting.editable(project) {
            Editable::InPlace(_) => (Some(target), true),
            // A template file is not what runs, but the rendered one holds the target.
            Editable::InTemplate => (Some(target), false),
            Editable::NoRange | Editable::Unreadable(_) => (Some(*n), false),
        },
        // Computed at start-up: known only on the machine.
        Value::Formula(_) => (None, true),
        Value::Dynamic(_) | Value::Text(_) => (None, false),
    }
}

/// Whether the count added where nothing sets one (the config file, else before the
/// Dockerfile's command, else after the program) lands inside a template expression; `None`
/// when the Dockerfile cannot be read.
fn workers_added_in_template(project: &Project, inv: &Invocation, wsgi: &Wsgi) -> Option<bool> {
    if let Some(config) = wsgi.resolved.config.as_ref().filter(|_| wsgi.config_shared_with.is_none()) {
        return Some(lands_in_template(&config.file.text, write::append_line(&config.file, "")));
    }
    if let Some(hook) = &inv.dockerfile {
        let file = project.read(&hook.path).ok()?;
        return Some(lands_in_template(&file.text, write::insert_line(&file, hook.insert_at, "")));
    }
    Some(lands_in_template(&inv.file.text, write::add_flags(inv, None, false, &["--workers"])))
}

/// The worker class and threads after Phase 1, and whether they are known.
fn worker_class(project: &Project, inv: &Invocation, wsgi: &Wsgi) -> (String, u32, bool) {
    let Ok(class) = wsgi.class_name() else { return ("sync".to_owned(), 1, false) };
    let Ok(threads) = wsgi.thread_count() else { return (class, 1, false) };
    if is_gthread(&class) {
        return ("gthread".to_owned(), threads, true);
    }
    if !is_sync(&class) {
        return (class, threads, false);
    }
    if !switch_writable(project, inv, wsgi, threads) {
        return ("sync".to_owned(), threads, false);
    }
    // With threads > 1 gunicorn already runs gthread: the switch only makes it explicit.
    ("gthread".to_owned(), if threads > 1 { threads } else { THREADS }, true)
}

/// Whether the sync -> gthread switch can be written: the class (and threads, unless they are
/// already above 1) are rewritten where they are set, with the threads right after the class
/// when nothing sets them, or added where nothing can override them; and none of it lands
/// inside a template expression.
fn switch_writable(project: &Project, inv: &Invocation, wsgi: &Wsgi, threads: u32) -> bool {
    let in_place = |setting: &Setting| matches!(setting.editable(project), Editable::InPlace(_));
    let resolved = &wsgi.resolved;
    if threads <= 1 && resolved.threads.as_ref().is_some_and(|setting| !in_place(setting)) {
        return false;
    }
    let threads_placed = threads > 1 || resolved.threads.is_some();
    match &resolved.worker_class {
        Some(setting) => in_place(setting) && (threads_placed || !companion_in_template(project, inv, setting)),
        None => wsgi.unseen_options().is_none() && !class_added_in_template(inv, wsgi),
    }
}

/// Whether `--threads` right after the class word, or `threads = ` after the class line, lands
/// inside a template expression.
fn companion_in_template(project: &Project, inv: &Invocation, setting: &Setting) -> bool {
    let Ok(file) = project.read(&setting.path) else { return true };
    let companion = match (&setting.word, setting.line_end) {
        (Some(word), _) => {
            let style = if setting.source == SourceKind::CommandLine { inv.style.clone() } else { ArgStyle::Shell };
            write::insert_after(&file, &style, word, &["--threads"])
        }
        (None, Some(line_end)) => write::insert_line(&file, line_end, ""),
        (None, None) => return false,
    };
    lands_in_template(&file.text, companion)
}

/// Whether the class added where nothing sets one (the config file's end, else before the
/// application) lands inside a template expression.
fn class_added_in_template(inv: &Invocation, wsgi: &Wsgi) -> bool {
    match &wsgi.resolved.config {
        Some(config) => lands_in_template(&config.file.text, write::append_lines_before_end(&config.file, &[])),
        None => lands_in_template(&inv.file.text, write::add_flags(inv, wsgi.resolved.cli.flags.target, true, &["-k"])),
    }
}

fn lands_in_template(text: &str, edit: Edit) -> bool {
    write::touches_template(text, &[edit])
}
