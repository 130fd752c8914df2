//! The gunicorn self-check, for the patches that set workers, the worker class or threads: on the
//! patched tree, re-run [`crate::facts::gunicorn::analysis`] and require, for the setting a change
//! writes, that some start now takes it from the lines the change edited (nothing of higher
//! precedence, and no later change, overrides it: a change production would never see is not
//! offered), with the value the plan intended (the Phase 1 projection of that start, read before
//! the plan).

use std::ops::RangeInclusive;

use crate::engine::outcome::Change;
use crate::facts::gunicorn::resolve::{Setting, Value};
use crate::facts::gunicorn::start::{StartKind, Wsgi, is_gthread};
use crate::facts::gunicorn::{self, PlannedServer};
use crate::project::Project;

/// A gunicorn setting a patch writes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    Workers,
    /// The worker class and its threads (a switch may put them in two files).
    WorkerClass,
}

impl Field {
    fn name(self) -> &'static str {
        match self {
            Field::Workers => "worker count",
            Field::WorkerClass => "worker class or threads",
        }
    }

    /// The settings of a start this field covers.
    fn settings(self, wsgi: &Wsgi) -> Vec<&Setting> {
        match self {
            Field::Workers => wsgi.resolved.workers.iter().collect(),
            Field::WorkerClass => wsgi.resolved.worker_class.iter().chain(&wsgi.resolved.threads).collect(),
        }
    }
}

/// The check (see the module doc); `Ok` says what was confirmed, `Err` why the change is not offered.
pub fn decides(before: &Project, after: &Project, change: &Change, field: Field) -> Result<Option<String>, String> {
    let (was, now) = (gunicorn::analysis(before), gunicorn::analysis(after));
    if was.starts.len() != now.starts.len() {
        return Err(format!(
            "re-read on the patched tree, gunicorn discovery finds {} server starts instead of {}",
            now.starts.len(),
            was.starts.len()
        ));
    }
    let edited = edited_lines(before, after, change);
    let mut confirmed = Vec::new();
    for (index, start) in now.starts.iter().enumerate() {
        let StartKind::Wsgi(wsgi) = &start.kind else { continue };
        let decided_here = field.settings(wsgi).into_iter().any(|s| {
            s.path == change.path && value_lines(after, s).iter().any(|l| edited.iter().any(|e| e.contains(l)))
        });
        if !decided_here {
            continue;
        }
        let planned = was.servers.iter().find(|server| server.location == was.starts[index].location());
        let (resolved, intended) = compare(wsgi, planned, field);
        if let Some(intended) = intended.filter(|intended| *intended != resolved) {
            return Err(format!(
                "re-read on the patched tree, gunicorn at {} resolves {resolved}, not the planned {intended}",
                start.location()
            ));
        }
        confirmed.push(format!("gunicorn at {} resolves {resolved} from {}", start.location(), change.path.display()));
    }
    if confirmed.is_empty() {
        return Err(format!(
            "re-read on the patched tree, no gunicorn start takes its {} from the lines this change edits in {}: \
             something of higher precedence (or a later change) decides it, so production would never see the edit",
            field.name(),
            change.path.display()
        ));
    }
    Ok(Some(format!("{} (the planned value)", confirmed.join("; "))))
}

/// What a start resolves for `field` on the patched tree, and what the plan intended (when the
/// projection knows it), in the same words.
fn compare(wsgi: &Wsgi, planned: Option<&PlannedServer>, field: Field) -> (String, Option<String>) {
    match field {
        Field::Workers => {
            let resolved = match &wsgi.resolved.workers {
                Some(Setting { value: Value::Int(n), .. }) => format!("workers {n}"),
                Some(setting) => format!("workers {:?}", setting.value),
                None => "workers 1 (gunicorn's default)".to_owned(),
            };
            (resolved, planned.and_then(|p| p.workers).map(|n| format!("workers {n}")))
        }
        Field::WorkerClass => {
            let class = wsgi.class_name().unwrap_or_else(|(_, expr)| expr.to_owned());
            let class = if is_gthread(&class) { "gthread".to_owned() } else { class };
            let threads = wsgi.thread_count().map_or_else(|s| format!("{:?}", s.value), |n| n.to_string());
            let intended =
                planned.and_then(|p| Some(format!("{} with {} threads", p.worker_class.as_ref()?, p.threads?)));
            (format!("{class} with {threads} threads"), intended)
        }
    }
}

/// The lines that hold a setting: its statement's line, and the line its value's bytes are on (a
/// continued `ENV` instruction starts a line above its `WEB_CONCURRENCY=5`).
fn value_lines(after: &Project, setting: &Setting) -> Vec<usize> {
    let value_line =
        setting.range.as_ref().and_then(|range| Some(after.read(&setting.path).ok()?.line_of(range.start)));
    std::iter::once(setting.line).chain(value_line).collect()
}

/// The lines of the patched file that differ from the original (1-based, in the after-text).
fn edited_lines(before: &Project, after: &Project, change: &Change) -> Vec<RangeInclusive<usize>> {
    let old = before.read(&change.path).map(|f| f.text.clone()).unwrap_or_default();
    let Ok(new) = after.read(&change.path) else { return Vec::new() };
    let diff = similar::TextDiff::from_lines(old.as_str(), new.text.as_str());
    diff.ops()
        .iter()
        .filter(|op| !matches!(op.tag(), similar::DiffTag::Equal))
        .map(|op| {
            let range = op.new_range();
            // A pure deletion leaves no new line: the line after it stands for it.
            range.start + 1..=range.end.max(range.start + 1)
        })
        .collect()
}
