//! `celery-workers` (optional): Celery prefork workers sized for the deployment that runs them.
//!
//! Why: a prefork worker without a concurrency starts one child process per CPU it sees
//! (`celery worker --help`: "The default is the number of CPUs available on your system";
//! `celery/worker/worker.py` uses `billiard.cpu_count()`, which is `os.cpu_count()`). In a
//! container limited by a CPU quota that is the host's count: a 64-core node gives 64 children to
//! a worker limited to 2 CPUs, each with its own database connection and memory. Children also
//! live as long as the worker, so a task that leaks memory grows them without bound.
//!
//! What, for each Celery worker the deployment starts ([`crate::facts::celery`]), by Celery's
//! precedence (the worker's command line, then `CELERY_WORKER_*` in its environment, then
//! `app.conf`, then the configuration source):
//! - **concurrency**: an explicit count is `ok` (never changed); none (or `0`, which Celery reads
//!   as none) becomes the CPU count of the deployment that runs this worker (its compose
//!   service's or Kubernetes container's CPU limit rounded up, the platform's instance size,
//!   `--cpus`, else 2, stated), written as `--concurrency N` right after `worker` on its command
//!   line, the only place that is per deployment (an app's configuration is shared by every
//!   worker that runs it), or in place of the `0`;
//! - **max-tasks-per-child**: none becomes [`MAX_TASKS_PER_CHILD`] in the app's configuration
//!   source when it has one in the new spelling (`CELERY_WORKER_MAX_TASKS_PER_CHILD` next to the
//!   other `CELERY_*` Django settings, `worker_max_tasks_per_child` in a `celeryconfig` module),
//!   else on the command line (`--max-tasks-per-child N`). Celery's workers guide: "the maximum
//!   number of tasks a pool worker process can execute before it's replaced with a new one ...
//!   useful if you have memory leaks you have no control over"; its optimizing guide warns not to
//!   set it "too low, or else your workers will spend most of their time forking worker processes
//!   instead of processing tasks": 1000 keeps a replacement (a fork of the parent, which has the
//!   app imported already) rare next to the tasks it serves, and bounds a leak to 1000 tasks. The
//!   option and the setting exist from Celery 4.0 (3.x spells them `--maxtasksperchild` and
//!   refuses the new option): added only when the project pins Celery >= 4 or its app uses
//!   `config_from_object(..., namespace=...)` (4.0's), else skipped saying so. A configuration
//!   source in Celery's old names (`CELERYD_*`) gets no new-style name: Celery refuses to mix
//!   them ("Cannot mix new and old setting keys"), so the command line gets it instead.
//!
//! Only the prefork pool is sized: gevent and eventlet run greenlets (their concurrency is how
//! many I/O waits one process overlaps, often hundreds), `threads` runs threads, `solo` runs one
//! task at a time, and "switching to another mode will silently disable certain features like
//! soft_timeout and max_tasks_per_child" (docs/userguide/concurrency): those are left alone with
//! why. `celery beat` (it schedules, runs no task) and Flower (a monitoring UI) are never touched.
//! No other setting is applied: none is right for every workload. Prefetch 1 with `acks_late`
//! (Celery's optimizing guide, for long tasks) changes delivery semantics (a task is run again if
//! its worker dies: it must be idempotent), so it is only suggested, as a note.
//!
//! Skipped: a pool, concurrency or count decided at runtime, `--autoscale` (it sizes the pool),
//! a command line that forwards arguments known only at runtime (`"$@"`), configuration that
//! cannot be read statically (`app.conf.update(CONF)`), edits inside template expressions.

use crate::engine::outcome::{Change, Outcome};
use crate::engine::patch::{Patch, PatchInfo, RealTool};
use crate::facts::celery::{self, CeleryProcess, Role, Setting, Source};
use crate::facts::gunicorn::write;
use crate::facts::versions::{Known, Versions};
use crate::project::Project;
use crate::text::edit::Edit;

pub struct CeleryWorkers;

/// Tasks a prefork child runs before it is replaced (see the module doc for the choice).
pub const MAX_TASKS_PER_CHILD: u32 = 1000;

/// What the catalog knows of this patch.
pub static INFO: PatchInfo = PatchInfo {
    id: "celery-workers",
    quick_win: "Celery",
    why_prefix: "Celery (optional optimization)",
    title: "Celery prefork workers: concurrency = the deployment's CPUs, max-tasks-per-child 1000",
    phase_1: false,
    verify: &["celery -A <app> inspect stats (pool: max-concurrency, max-tasks-per-child)"],
    checked_by: RealTool::Celery,
};

/// The note that goes with the changes: what depends on the tasks' code is suggested, never applied.
const NOTE: &str = "note, not applied: for long-running tasks Celery's optimizing guide suggests task_acks_late = True \
with worker_prefetch_multiplier = 1 (each child reserves one task at a time); acks_late re-runs a task whose worker \
died, so it is only safe for idempotent tasks; decide per task (@app.task(acks_late=True))";

impl Patch for CeleryWorkers {
    fn info(&self) -> &'static PatchInfo {
        &INFO
    }

    fn plan(&self, project: &Project) -> Vec<Outcome> {
        let found = celery::celery(project);
        let mut outcomes: Vec<Outcome> = found.errors.iter().cloned().map(Outcome::from).collect();
        for process in &found.processes {
            outcomes.extend(decide(project, process));
        }
        if found.processes.is_empty() {
            outcomes.push(Outcome::not_found("no Celery process found in the deployment files"));
        }
        if outcomes.iter().any(|o| matches!(o, Outcome::Change(_))) {
            outcomes.push(Outcome::warning(None, NOTE));
        }
        outcomes
    }

    /// On the patched tree, every worker the change edits reads its settings back as explicit,
    /// from the edited file: the patch has nothing more to add there.
    fn self_check(&self, _before: &Project, after: &Project, change: &Change) -> Result<Option<String>, String> {
        let found = celery::celery(after);
        let mut read = Vec::new();
        for process in found.processes.iter().filter(|p| p.is_worker()) {
            let settings = &process.settings;
            for setting in [&settings.concurrency, &settings.max_tasks_per_child].into_iter().flatten() {
                if setting.location.path == change.path && setting.number().is_some() {
                    read.push(format!("{} ({})", setting.what, process.location()));
                }
            }
        }
        let pending = decide_all(after).into_iter().any(|o| matches!(&o, Outcome::Change(c) if c.path == change.path));
        match (read.is_empty(), pending) {
            (false, false) => Ok(Some(format!("Celery's precedence re-read on the patched tree: {}", read.join("; ")))),
            _ => Err(format!(
                "on the patched tree, Celery's precedence does not take the new value from {}",
                change.path.display()
            )),
        }
    }
}

/// Every outcome of [`decide`] over the project's processes.
fn decide_all(project: &Project) -> Vec<Outcome> {
    celery::celery(project).processes.iter().flat_map(|p| decide(project, p)).collect()
}

/// The answer for one Celery process.
fn decide(project: &Project, process: &CeleryProcess) -> Vec<Outcome> {
    let at = Some(process.location());
    let command = process.command();
    let reason = match &process.role {
        Role::Worker => return worker(project, process),
        Role::Beat => format!("`{command}`: celery beat schedules tasks and runs none; never touched"),
        Role::Flower => format!("`{command}`: Flower is Celery's monitoring UI, not a worker; never touched"),
        Role::Other(sub) if sub == "multi" => {
            format!("`{command}`: celery multi starts its workers with per-node options of its own; left alone")
        }
        Role::Other(sub) => format!("`{command}`: `celery {sub}` is not a worker; left alone"),
        Role::Unknown => format!("`{command}`: no subcommand on the command line; left alone"),
    };
    vec![Outcome::skipped(at, reason)]
}

/// The answers for one worker: its pool first (only prefork is sized), then concurrency and
/// max-tasks-per-child, each `ok`, skipped or changed where Celery's precedence says.
fn worker(project: &Project, process: &CeleryProcess) -> Vec<Outcome> {
    let at = Some(process.location());
    if let Some(why) = pool_not_sized(process) {
        return vec![Outcome::skipped(at, why)];
    }
    if process.app.is_none() && process.invocation.env_var("CELERY_APP").is_none() {
        return vec![Outcome::skipped(
            at,
            format!(
                "`{}` names no Celery app (no -A/--app, no CELERY_APP): a Django project's worker always names its \
                 app, so this is another program's worker (Airflow's image runs `celery worker` as `airflow celery \
                 worker`); left alone",
                process.command()
            ),
        )];
    }
    let mut outcomes = Vec::new();
    let mut cli = Queued::default();
    concurrency(project, process, &mut outcomes, &mut cli);
    max_tasks(project, process, &mut outcomes, &mut cli);
    if cli.items.is_empty() {
        return outcomes;
    }
    let blocked = match (runtime_args(process), unread(process)) {
        (Some(word), _) => Some(format!(
            "the worker's command line passes {word}, known only at runtime, which may set any option; {} not added",
            cli.items.join(" ")
        )),
        (None, Some(opaque)) => Some(format!("{} not added: {opaque}", cli.items.join(" "))),
        (None, None) => None,
    };
    outcomes.push(match blocked {
        Some(why) => Outcome::skipped(at, why),
        None => command_line(process, &cli),
    });
    outcomes
}

/// Options queued for the worker's command line (added as one change: they insert at one
/// offset), with why each.
#[derive(Default)]
struct Queued {
    items: Vec<String>,
    why: Vec<String>,
}

/// The concurrency: `ok` when explicit (or left to `--autoscale`), skipped when decided at
/// runtime, `0` replaced in place, else queued for the command line.
fn concurrency(project: &Project, process: &CeleryProcess, outcomes: &mut Vec<Outcome>, cli: &mut Queued) {
    let settings = &process.settings;
    let cpus = &process.cpus;
    match (&settings.autoscale, &settings.concurrency) {
        (Some(autoscale), _) => outcomes.push(Outcome::ok(
            Some(autoscale.location.clone()),
            format!("{} sizes the pool between its bounds; concurrency left to it", autoscale.what),
        )),
        (None, Some(setting)) if !setting.falls_through() => outcomes.push(explicit("concurrency", setting, process)),
        (None, Some(zero)) if zero.source == Source::CommandLine && zero.range.is_some() => {
            outcomes.push(in_place(project, process, zero))
        }
        (None, _) => {
            cli.items.extend(["--concurrency".to_owned(), cpus.value.to_string()]);
            cli.why.push(format!(
                "nothing sets the concurrency, so this prefork worker would start one child per CPU it sees (the host's, in a container); {} CPUs {}",
                cpus.value, cpus.source
            ));
        }
    }
}

/// Why the pool is not sized: not prefork, or decided at runtime (`None`: prefork).
fn pool_not_sized(process: &CeleryProcess) -> Option<String> {
    let settings = &process.settings;
    let what = settings.pool.as_ref().map(|p| p.what.clone()).unwrap_or_default();
    let name = match settings.pool_name() {
        None => return Some(format!("the pool is decided at runtime ({what}); left alone")),
        Some(_) if settings.is_prefork() => return None,
        Some(name) => name,
    };
    let why = match name {
        "gevent" | "eventlet" => {
            "greenlets: its concurrency is how many I/O waits one process overlaps (often hundreds), not a CPU count"
        }
        "threads" => "threads in one process: its concurrency is a thread count, not a CPU count",
        "solo" => "one task at a time in the worker process: concurrency does not apply",
        _ => "not Celery's prefork pool",
    };
    Some(format!("pool {name} ({what}): {why}; and max-tasks-per-child only applies to prefork children; left alone"))
}

/// A setting that is already explicit: `ok`, or skipped when decided at runtime.
fn explicit(name: &str, setting: &Setting, process: &CeleryProcess) -> Outcome {
    let at = Some(setting.location.clone());
    let worker = process.location();
    match setting.number() {
        Some(n) if name == "concurrency" => Outcome::ok(
            at,
            format!(
                "concurrency {n} is explicit ({}) for the worker at {worker}; never changed (its deployment has {} CPUs {})",
                setting.what, process.cpus.value, process.cpus.source
            ),
        ),
        Some(n) => Outcome::ok(at, format!("{name} {n} is explicit ({}) for the worker at {worker}", setting.what)),
        None => Outcome::skipped(
            at,
            format!("{name} is decided at runtime ({}) for the worker at {worker}; left alone", setting.what),
        ),
    }
}

/// What may set the worker's settings and cannot be read, in words (`None`: nothing).
fn unread(process: &CeleryProcess) -> Option<String> {
    let opaque = &process.settings.opaque;
    (!opaque.is_empty()).then(|| {
        let each: Vec<String> = opaque.iter().map(|(at, why)| format!("{why} ({at})")).collect();
        format!("{}: a value added here could override a deliberate one; left alone", each.join("; "))
    })
}

/// `--concurrency 0` (Celery: as good as unset) becomes the CPU count in place.
fn in_place(project: &Project, process: &CeleryProcess, zero: &Setting) -> Outcome {
    let cpus = &process.cpus;
    let path = &zero.location.path;
    let text = match project.read(path) {
        Ok(file) => file.text.clone(),
        Err(err) => return err.into(),
    };
    let range = zero.range.clone().expect("checked by the caller");
    Change::modify(INFO.id, path, vec![Edit::replace(range, cpus.value.to_string())])
        .summary(format!("concurrency {} -> {} ({})", zero.written, cpus.value, zero.what))
        .why(format!(
            "{} decides this worker's concurrency (the command line wins over every other source Celery reads), and 0 means one child per CPU the worker sees (the host's, in a container); so it is set to the deployment's CPU count there",
            zero.what
        ))
        .assume(format!("CPU count {} ({})", cpus.value, cpus.source))
        .verify(verify_command(process))
        .at_line(zero.location.line)
        .unless_in_template(&text)
}

/// max-tasks-per-child: `ok` when set, skipped before Celery 4.0, else added to the
/// configuration source, or queued for the command line.
fn max_tasks(project: &Project, process: &CeleryProcess, outcomes: &mut Vec<Outcome>, cli: &mut Queued) {
    let settings = &process.settings;
    if let Some(setting) = settings.max_tasks_per_child.as_ref().filter(|s| !s.falls_through()) {
        return outcomes.push(explicit("max-tasks-per-child", setting, process));
    }
    let version = match celery_4(project, process) {
        Ok(version) => version,
        Err(why) => return outcomes.push(Outcome::skipped(Some(process.location()), why)),
    };
    let value = MAX_TASKS_PER_CHILD.to_string();
    let reason = format!(
        "nothing sets max-tasks-per-child, so a prefork child lives as long as the worker and a task that leaks memory grows it without bound; {MAX_TASKS_PER_CHILD} replaces a child after {MAX_TASKS_PER_CHILD} tasks (Celery's workers guide, \"Max tasks per child setting\"), rare enough that forking a replacement costs little (its optimizing guide warns against values too low)"
    );
    let addition =
        process.config.as_ref().and_then(|c| c.addition(project, process, "worker_max_tasks_per_child", &value));
    let Some(addition) = addition.filter(|_| settings.opaque.is_empty()) else {
        cli.items.extend(["--max-tasks-per-child".to_owned(), value]);
        cli.why.push(format!("{reason} ({version})"));
        return;
    };
    let text = match project.read(&addition.path) {
        Ok(file) => file.text.clone(),
        Err(err) => return outcomes.push(err.into()),
    };
    let change = Change::modify(INFO.id, &addition.path, vec![addition.edit])
        .summary(format!("add `{}` ({})", addition.statement, addition.place))
        .why(format!(
            "{reason}. It goes to {}, where this app's other Celery settings are: every worker of the app takes it, and a worker's own --max-tasks-per-child still wins",
            addition.place
        ))
        .assume(version)
        .verify(verify_command(process))
        .at_line(addition.line);
    outcomes.push(change.unless_in_template(&text));
}

/// Whether the worker runs Celery 4.0 or newer, where `--max-tasks-per-child` and
/// `worker_max_tasks_per_child` exist (3.x spells them `--maxtasksperchild` and
/// `CELERYD_MAX_TASKS_PER_CHILD`, and refuses the new option): from the version the project
/// pins, else from `config_from_object(..., namespace=...)`, which 4.0 introduced.
fn celery_4(project: &Project, process: &CeleryProcess) -> Result<String, String> {
    let (known, version) = Versions::of(project).at_least("celery", &[4]);
    let namespace = process.config.as_ref().and_then(|c| match &c.source {
        Some(celery::ConfigSource::Django { namespace: Some(_), at }) => Some(at.clone()),
        _ => None,
    });
    match (known, namespace) {
        (Known::Yes, _) => Ok(version),
        (Known::Unknown, Some(at)) => {
            Ok(format!("{version}; config_from_object(..., namespace=...) at {at} exists from Celery 4.0"))
        }
        _ => Err(format!(
            "max-tasks-per-child not added: {version}, and --max-tasks-per-child / worker_max_tasks_per_child exist from Celery 4.0 (3.x spells them --maxtasksperchild / CELERYD_MAX_TASKS_PER_CHILD and refuses the new option)"
        )),
    }
}

/// The flags queued for the worker's command line, right after `worker`, as one change.
fn command_line(process: &CeleryProcess, queued: &Queued) -> Outcome {
    let inv = &process.invocation;
    let Some(subcommand) = process.subcommand_word() else {
        return Outcome::skipped(Some(process.location()), "no `worker` word on the command line to add options after");
    };
    let items: Vec<&str> = queued.items.iter().map(String::as_str).collect();
    let edit = write::insert_after(&inv.file, &inv.style, subcommand, &items);
    let cpus = &process.cpus;
    let mut summary = format!("add {} to the worker's command line ({})", items.join(" "), inv.origin.describe());
    if items.contains(&"--concurrency") {
        summary.push_str(&format!("; {} CPUs: {}", cpus.value, cpus.source));
    }
    let mut change = Change::modify(INFO.id, &inv.path, vec![edit])
        .summary(summary)
        .why(format!(
            "{}; the worker's command line is the source Celery reads first, and the one place that belongs to this deployment",
            queued.why.join("; ")
        ))
        .verify(verify_command(process))
        .at_line(inv.file.line_of(subcommand.span.start));
    if items.contains(&"--concurrency") {
        change = change.assume(format!("CPU count {} ({})", cpus.value, cpus.source));
    }
    change.unless_in_template(&inv.file.text)
}

/// An argument known only at runtime among the worker's options (`"$@"`, `$CELERY_ARGS`), not
/// the value of an option it follows.
fn runtime_args(process: &CeleryProcess) -> Option<&str> {
    let args = process.worker_args();
    args.iter().enumerate().find_map(|(i, word)| {
        let follows_option = i > 0 && args[i - 1].text.starts_with('-') && !args[i - 1].text.contains('=');
        (word.text.starts_with('$') && word.is_dynamic() && !follows_option).then_some(word.text.as_str())
    })
}

/// How to confirm the worker's pool once deployed.
fn verify_command(process: &CeleryProcess) -> String {
    let app = process.app.as_deref().unwrap_or("<app>");
    format!("celery -A {app} inspect stats  # pool: max-concurrency, max-tasks-per-child")
}
