//! `gunicorn-workers`: Gunicorn worker count: 2 x CPUs + 1 (3..12), where the deployment decides it.
//!
//! Why: a sync gunicorn runs one request per worker, and a count below the CPUs' worth leaves
//! the container idle while requests queue.
//!
//! Where: every WSGI gunicorn start the gunicorn facts find (Dockerfile CMD/ENTRYPOINT, compose
//! command, Kubernetes container, scripts, Procfile, supervisord, systemd), edited at the source
//! that decides the count under gunicorn's precedence (command line > GUNICORN_CMD_ARGS > config
//! file > WEB_CONCURRENCY), in the form it is written in. When nothing sets it: an existing
//! config file gets `workers = N`, else the Dockerfile gets `ENV WEB_CONCURRENCY=N`, else the
//! command line gets `--workers N`.
//!
//! When it does not change anything: a count already at the target or above (never lowered) or
//! a runtime formula (`cpu_count()`, with the container note) is ok; it skips a count decided at
//! runtime or that cannot be edited in place, a Procfile without a count (the platform sets
//! WEB_CONCURRENCY), a start whose count may come from somewhere unseen (runtime arguments, a
//! config file outside the project, unrendered compose templates), an edit inside a template
//! expression, and starts that are not WSGI gunicorn (other servers, `--reload`, ASGI).

use crate::engine::outcome::{Change, Location, Outcome};
use crate::engine::patch::{Patch, PatchInfo, RealTool};
use crate::engine::selfcheck;
use crate::facts::gunicorn::discovery::Invocation;
use crate::facts::gunicorn::resolve::{Setting, SourceKind, Value};
use crate::facts::gunicorn::start::{SetElsewhere, Unseen, Wsgi};
use crate::facts::gunicorn::{self, write};
use crate::project::Project;
use crate::text::edit::Edit;

pub struct GunicornWorkers;

/// What the catalog knows of this patch.
pub static INFO: PatchInfo = PatchInfo {
    id: "gunicorn-workers",
    quick_win: "QW1",
    why_prefix: "QW1 (worker count)",
    title: "Gunicorn worker count: 2 x CPUs + 1 (3..12), where the deployment decides it",
    phase_1: true,
    verify: &["gunicorn --print-config <wsgi module>"],
    checked_by: RealTool::Gunicorn,
};

impl Patch for GunicornWorkers {
    fn info(&self) -> &'static PatchInfo {
        &INFO
    }

    fn plan(&self, project: &Project) -> Vec<Outcome> {
        let analysis = gunicorn::analysis(project);
        let state = crate::facts::django::per_process_state(project);
        let answers = analysis.each_start(|inv, wsgi| {
            per_process_guard(decide(project, inv, wsgi, &analysis.unread_composes), inv, wsgi, state.as_ref())
        });
        answers.into_iter().flat_map(|answer| answer.unwrap_or_else(|not_decided| vec![not_decided.into()])).collect()
    }

    /// On the patched tree, gunicorn takes the worker count from the edited lines, with the planned value.
    fn self_check(&self, before: &Project, after: &Project, change: &Change) -> Result<Option<String>, String> {
        selfcheck::gunicorn::decides(before, after, change, selfcheck::gunicorn::Field::Workers)
    }
}

/// The decision for one WSGI gunicorn start.
fn decide(project: &Project, inv: &Invocation, wsgi: &Wsgi, unread_composes: &[Location]) -> Outcome {
    match &wsgi.resolved.workers {
        Some(setting) => existing(project, inv, wsgi, setting),
        None => match wsgi.workers_set_elsewhere(inv, unread_composes) {
            Some(elsewhere) => Outcome::skipped(Some(inv.location()), set_elsewhere(elsewhere)),
            None => added(project, inv, wsgi),
        },
    }
}

/// A count is set: raised where it is set when below the target.
fn existing(project: &Project, inv: &Invocation, wsgi: &Wsgi, setting: &Setting) -> Outcome {
    let target = wsgi.target;
    let location = Some(setting.location());
    let what = &setting.what;
    match &setting.value {
        Value::Int(n) if *n >= target => Outcome::ok(
            location,
            format!("workers = {n} (from {what}) is already >= the target {target}; never lowered"),
        ),
        Value::Int(n) if let Some(var) = wsgi.overridden_by_opaque_cmd_args(setting) => Outcome::skipped(
            location,
            format!(
                "workers = {n} ({what}), but {var} is known only when the image is built or the process starts \
                     and wins over it if it sets workers: a raised count could be silently overridden; left alone"
            ),
        ),
        Value::Int(n) => {
            let Some(range) = setting.range.clone() else {
                return Outcome::skipped(location, format!("workers = {n} in {what} cannot be edited in place"));
            };
            let text = match project.read(&setting.path) {
                Ok(file) => file.text.clone(),
                Err(err) => return Outcome::from(err),
            };
            let change = Change::modify(INFO.id, &setting.path, vec![Edit::replace(range, target.to_string())])
                .summary(format!("workers {n} -> {target} ({what})"))
                .why(format!(
                    "{what} decides this gunicorn's worker count ({}); so the count is raised there, in the form it is written in",
                    setting.source.why_it_decides()
                ))
                .assumptions(
                    assumptions(wsgi)
                        .into_iter()
                        .chain(env_default_note(wsgi, setting))
                        .chain(unseen_env_note(wsgi, setting)),
                )
                .verify(wsgi.verify(inv))
                .at_line(setting.line);
            change.unless_in_template(&text)
        }
        Value::Formula(formula) => Outcome::ok(
            location,
            format!(
                "workers is computed at start-up ({formula}, {what}); note: in a container cpu_count() sees the host's CPUs, not the container's CPU quota, so this may start too many workers"
            ),
        ),
        Value::Dynamic(expr) => {
            Outcome::skipped(location, format!("workers is decided at runtime by {expr} ({what}); left alone"))
        }
        Value::Text(text) => {
            Outcome::skipped(location, format!("workers = {text:?} ({what}) is not a number; left alone"))
        }
    }
}

/// Why no count is added when nothing visible sets one.
fn set_elsewhere(elsewhere: SetElsewhere) -> String {
    match elsewhere {
        SetElsewhere::Platform(platform) => format!(
            "{} without an explicit worker count: {}",
            platform.describe(),
            platform.sets_web_concurrency().unwrap_or_default()
        ),
        SetElsewhere::Unseen(Unseen::RuntimeArgs(opaque)) => format!(
            "the command line passes {opaque}, known only at runtime, which may set workers; a count added elsewhere could be overridden or override it"
        ),
        SetElsewhere::Unseen(Unseen::OpaqueCmdArgs(var)) => format!(
            "{var} is known only when the image is built or the process starts, and may set workers (it wins over \
             WEB_CONCURRENCY and the config file): a count added here could be silently overridden"
        ),
        SetElsewhere::Unseen(Unseen::OutsideEnv(source)) => format!(
            "nothing visible sets workers, but the environment comes from {source}: it may set WEB_CONCURRENCY or GUNICORN_CMD_ARGS, and a count added here could override it or be overridden"
        ),
        SetElsewhere::Unseen(Unseen::OutsideConfig(unseen)) => format!(
            "the config file {unseen} is not in the project and may set workers; a count added elsewhere could silently override it"
        ),
        SetElsewhere::UnreadComposes(composes) => {
            let files: Vec<String> = composes.iter().map(|l| l.to_string()).collect();
            format!(
                "nothing visible sets workers, but compose files cannot be read until rendered (templates: {}): their \
                 services may set WEB_CONCURRENCY for this start through environment or env_file, and a count added \
                 here would override it; run scalepatch on the rendered project",
                files.join(", ")
            )
        }
    }
}

/// Nothing sets the count (gunicorn would run 1): the config file, else the Dockerfile's
/// environment, else the command line gets the target.
fn added(project: &Project, inv: &Invocation, wsgi: &Wsgi) -> Outcome {
    let target = wsgi.target;
    let line = format!("workers = {target}");
    // A config file another start loads while its count is left to its platform would override
    // that start's count too: the count then goes to this start's own Dockerfile or command line.
    let config = wsgi.resolved.config.as_ref().filter(|_| wsgi.config_shared_with.is_none());
    let (change, text) = if let Some(config) = config {
        let change = Change::modify(INFO.id, &config.path, vec![write::append_line(&config.file, &line)])
            .summary(format!("add `{line}` to {}", config.path.display()))
            .why(format!(
                "nothing sets the worker count (gunicorn would run 1 worker); {} is the config file this gunicorn loads, the least surprising place for it",
                config.path.display()
            ))
            .at_line(config.file.line_of(config.file.text.len()));
        (change, config.file.text.clone())
    } else if let Some(hook) = &inv.dockerfile {
        let shared = shared_config_note(wsgi);
        let file = match project.read(&hook.path) {
            Ok(file) => file,
            Err(err) => return Outcome::from(err),
        };
        let env_line = format!("ENV WEB_CONCURRENCY={target}");
        let change = Change::modify(INFO.id, &hook.path, vec![write::insert_line(&file, hook.insert_at, &env_line)])
            .summary(format!("add `{env_line}` before the command in {}", hook.path.display()))
            .why(format!(
                "nothing sets the worker count (gunicorn would run 1 worker) and {}; gunicorn reads WEB_CONCURRENCY itself, so this works for exec-form CMD too and stays overridable at deploy time",
                shared.as_deref().unwrap_or("there is no config file")
            ))
            .at_line(hook.line);
        (change, file.text.clone())
    } else {
        let count = target.to_string();
        // After the program: the worker class patch adds its flags before the application, so
        // the two never insert at one offset.
        let edit = write::add_flags(inv, None, false, &["--workers", &count]);
        let change = Change::modify(INFO.id, &inv.path, vec![edit])
            .summary(format!("add --workers {target} to the {} command line", inv.origin.describe()))
            .why(match shared_config_note(wsgi) {
                Some(shared) => format!(
                    "nothing sets the worker count (gunicorn would run 1 worker), {shared}, and no Dockerfile holds it; the command line is where this gunicorn is configured"
                ),
                None => "nothing sets the worker count (gunicorn would run 1 worker), and there is no config file or Dockerfile to hold it; the command line is where this gunicorn is configured".to_owned(),
            })
            .at_line(inv.line);
        (change, inv.file.text.clone())
    };
    change.assumptions(assumptions(wsgi)).verify(wsgi.verify(inv)).unless_in_template(&text)
}

/// For a count that is the default of an environment variable in the config file
/// (`int(getenv("WSGI_NUM_WORKERS", 3))`), which no deployment file sets for this start: where
/// production's environment sets it, its value wins over the raised default.
fn env_default_note(wsgi: &Wsgi, setting: &Setting) -> Option<String> {
    let config = wsgi.resolved.config.as_ref().filter(|config| config.path == setting.path)?;
    let var = config.config.workers.as_ref()?.env_var.as_deref()?;
    Some(format!(
        "the raised value is the default of {var}, which no deployment file here sets; where production's environment \
         sets {var}, that value still decides: raise it there too"
    ))
}

/// For a count in the config file or WEB_CONCURRENCY of a start whose environment also comes from
/// a source scalepatch cannot read: GUNICORN_CMD_ARGS set there would win over the raised value.
fn unseen_env_note(wsgi: &Wsgi, setting: &Setting) -> Option<String> {
    let source = wsgi.resolved.unseen_env.as_deref()?;
    matches!(setting.source, SourceKind::ConfigFile | SourceKind::WebConcurrency).then(|| {
        format!(
            "the environment also comes from {source}, which scalepatch cannot read: a GUNICORN_CMD_ARGS with \
             --workers set there would win over this value; check it there"
        )
    })
}

/// Why the start's config file does not take the count, when another start shares it.
fn shared_config_note(wsgi: &Wsgi) -> Option<String> {
    wsgi.config_shared_with.as_ref().map(|shared| {
        format!("the config file is not the place ({shared}: a count written there would override that start's too)")
    })
}

/// The CPU count and the target it gives, as the change states them.
fn assumptions(wsgi: &Wsgi) -> Vec<String> {
    vec![
        format!("CPU count {} ({})", wsgi.cpus.value, wsgi.cpus.source),
        format!("target workers 2 x {} + 1, clamped to 3..12 = {}", wsgi.cpus.value, wsgi.target),
    ]
}

// Per-process state (issue 13.4): the one place this patch reads the Django settings.

/// A raise of the count when the app keeps state in one process (cache sessions in LocMemCache,
/// the in-memory channel layer, see [`crate::facts::django::per_process_state`]): from 1 worker
/// it is skipped (more workers would log users out at random), from more than 1 it goes ahead
/// (the problem is already there) with a warning naming the setting and the fix.
fn per_process_guard(
    outcome: Outcome,
    inv: &Invocation,
    wsgi: &Wsgi,
    state: Option<&(Location, String)>,
) -> Vec<Outcome> {
    let (Some((at, why)), Outcome::Change(_)) = (state, &outcome) else { return vec![outcome] };
    match wsgi.resolved.workers.as_ref().map(|setting| &setting.value) {
        None | Some(Value::Int(0 | 1)) => vec![Outcome::skipped(
            Some(inv.location()),
            format!("this gunicorn runs 1 worker and the app keeps state in that process: {why}"),
        )],
        Some(value) => {
            let count = match value {
                Value::Int(n) => format!("{n} workers"),
                _ => "several workers".to_owned(),
            };
            let warning =
                format!("gunicorn already runs {count} (raised here) and the app keeps state per process: {why}");
            vec![outcome, Outcome::warning(Some(at.clone()), warning)]
        }
    }
}
