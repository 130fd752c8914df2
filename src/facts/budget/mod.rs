//! The database connection budget (domain.md 2.7), with the source of every number.
//!
//! Each serving thread may hold a database connection (one per request in flight, kept open with
//! persistent connections), so the peak is `instances x workers x threads` for the web service,
//! plus one per Celery worker process of one deployment. That peak must stay under the database
//! server's `max_connections` (PostgreSQL 100, MySQL/MariaDB 151, unless the project raises it;
//! see [`database`]) with headroom for migrations, admin shells and the superuser reserve: above
//! 80% the plan warns and names the remedies, above 100% the engine skips the change that pushes
//! it over (see `crate::engine::selfcheck`).
//!
//! Two ways to count the web part: [`Budget::of`] projects Phase 1 on the serving start (the
//! database patch states it), [`Budget::as_written`] reads one start as its files are written
//! (the self-check compares it before and after a plan). A worker count computed on the machine
//! (`cpu_count() * 2 + 1`, `$(nproc)`) is evaluated at the host CPU count (`--host-cpus`, else
//! [`crate::project::config::DEFAULT_HOST_CPUS`], said so): in a container it sees the host.
//!
//! Deployment files are alternatives, not parts of one deployment: `docker-compose.yml` (dev) and
//! `production.yml` (prod) each start their own Celery workers, and only one of them runs against
//! a given database. So workers are counted per deployment file (a compose file together with its
//! `*.override.yml`, whose services replace the base file's services of the same name), and the
//! budget takes the deployment with the most Celery processes, naming it and the alternatives.

pub mod database;
pub mod formula;

use std::path::{Path, PathBuf};

use crate::facts::gunicorn::resolve::{Setting, Value};
use crate::facts::gunicorn::start::{StartKind, Wsgi};
use crate::facts::problem::Problem;
use crate::facts::{celery, gunicorn, serving};
use crate::project::Project;
use crate::project::config::Sourced;
use crate::text::location::Location;
pub use database::{Database, POSTGRES_DEFAULT_MAX_CONNECTIONS, Server};

/// The share of `max_connections` above which the plan warns.
pub const WARN_PERCENT: u32 = 80;

/// Celery workers found in the deployment files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CeleryWorker {
    pub location: Location,
    /// Concurrency and where it comes from (`--concurrency 8`, or the CPU-count default).
    pub concurrency: Sourced<u32>,
}

/// The numbers of the budget, each with its source.
#[derive(Debug, Clone)]
pub struct Budget {
    pub instances: Sourced<u32>,
    pub workers: u32,
    pub threads: u32,
    /// Where the worker and thread counts come from.
    pub serving_source: String,
    /// The Celery workers of the deployment counted (the one with the most processes).
    pub celery: Vec<CeleryWorker>,
    /// That deployment's files (a base compose file and its overrides), for messages.
    pub celery_deployment: Vec<PathBuf>,
    /// The other deployments that start Celery workers and their totals: alternatives, not added.
    pub celery_alternatives: Vec<(Vec<PathBuf>, u32)>,
    /// The database server the connections go to, and where that was read.
    pub database: Database,
    pub max_connections: Sourced<u32>,
}

/// What a budget holds besides its web part: the same for every gunicorn start of a project, so
/// it is read once per project (and once per self-check overlay), not once per start: on a tree
/// with many starts, reading the Celery launchers and the database files per start dominated a
/// plan.
struct Around {
    celery: Vec<CeleryWorker>,
    celery_deployment: Vec<PathBuf>,
    celery_alternatives: Vec<(Vec<PathBuf>, u32)>,
    database: Database,
    max_connections: Sourced<u32>,
}

impl Around {
    fn read(project: &Project) -> Around {
        let mut deployments = deployments(celery_workers(project), compose_combinations(project));
        // The largest first; on a tie, the first file in path order, so the answer is stable.
        deployments.sort_by(|a, b| b.total().cmp(&a.total()).then_with(|| a.files.cmp(&b.files)));
        let mut deployments = deployments.into_iter();
        let chosen = deployments.next().unwrap_or_default();
        let database = database::database(project);
        Around {
            celery_alternatives: deployments.map(|d| (d.files.clone(), d.total())).collect(),
            max_connections: database::max_connections(project, database.server, &chosen.files),
            database,
            celery_deployment: chosen.files,
            celery: chosen.workers,
        }
    }
}

/// The web part of a budget: counts and where they come from.
struct Web {
    instances: Sourced<u32>,
    workers: u32,
    threads: u32,
    source: String,
}

impl Budget {
    /// The budget of `project`, after the gunicorn patches (the serving start's Phase 1
    /// projection; a worker formula evaluated at the host CPU count).
    pub fn of(project: &Project) -> Budget {
        let serving = serving::serving(project);
        let analysis = gunicorn::analysis(project);
        let first_wsgi = analysis.starts.iter().find_map(|start| match &start.kind {
            StartKind::Wsgi(wsgi) => Some(wsgi),
            _ => None,
        });
        let formula = first_wsgi.and_then(|wsgi| formula_workers(project, wsgi));
        let mut source = match &serving.location {
            Some(location) => {
                format!("{} at {location}, after Phase 1", format!("{:?}", serving.server).to_lowercase())
            }
            None => "no server command found: gunicorn's defaults".to_owned(),
        };
        let workers = match formula {
            Some((count, why)) => {
                source.push_str(&format!("; {why}"));
                count
            }
            None => serving.workers.max(1),
        };
        let instances = instances(project, analysis.replicas.clone());
        Budget::assemble(project, Web { instances, workers, threads: serving.threads.max(1), source })
    }

    /// The budget of the start at `index` of the gunicorn analysis as its files are written (no
    /// projection); `None` when that start is not a WSGI gunicorn start.
    pub fn as_written(project: &Project, index: usize) -> Option<Budget> {
        let analysis = gunicorn::analysis(project);
        let start = analysis.starts.get(index)?;
        let StartKind::Wsgi(wsgi) = &start.kind else { return None };
        let (workers, workers_why) = written_workers(project, wsgi);
        let (threads, threads_why) = written_threads(wsgi);
        let source = format!("gunicorn at {}: {workers_why}; {threads_why}", start.location());
        let instances = instances(project, start.invocation.replicas.clone());
        Some(Budget::assemble(project, Web { instances, workers, threads, source }))
    }

    /// The Celery deployment, the database and its limit, around a web part.
    fn assemble(project: &Project, web: Web) -> Budget {
        let around = project.memo(Around::read);
        Budget {
            instances: web.instances,
            workers: web.workers,
            threads: web.threads,
            serving_source: web.source,
            celery: around.celery.clone(),
            celery_deployment: around.celery_deployment.clone(),
            celery_alternatives: around.celery_alternatives.clone(),
            database: around.database.clone(),
            max_connections: around.max_connections.clone(),
        }
    }

    /// Connections the web service may hold at once.
    pub fn web(&self) -> u32 {
        self.instances.value * self.workers * self.threads
    }

    /// Connections the Celery workers may hold at once.
    pub fn celery_total(&self) -> u32 {
        self.celery.iter().map(|c| c.concurrency.value).sum()
    }

    pub fn total(&self) -> u32 {
        self.web() + self.celery_total()
    }

    /// Whether the database has a connection limit at all (SQLite has none; neither has a project
    /// without a database).
    pub fn applies(&self) -> bool {
        !matches!(self.database.server, Server::Sqlite | Server::NoDatabase)
    }

    /// The peak as a share of `max_connections`, in percent.
    pub fn percent(&self) -> u64 {
        self.total() as u64 * 100 / self.max_connections.value.max(1) as u64
    }

    /// The budget in one sentence, with every number's source.
    pub fn describe(&self) -> String {
        let mut text = format!(
            "connection budget: {} instance(s) [{}] x {} worker(s) x {} thread(s) [{}] = {}",
            self.instances.value,
            self.instances.source,
            self.workers,
            self.threads,
            self.serving_source,
            self.web()
        );
        for worker in &self.celery {
            text.push_str(&format!(
                " + Celery {} [{}, {}]",
                worker.concurrency.value, worker.concurrency.source, worker.location
            ));
        }
        if !self.celery.is_empty() {
            text.push_str(&format!(" (Celery from {}", joined(&self.celery_deployment)));
            if !self.celery_alternatives.is_empty() {
                let others: Vec<String> = self
                    .celery_alternatives
                    .iter()
                    .map(|(files, total)| format!("{} with {total}", joined(files)))
                    .collect();
                text.push_str(&format!(
                    ", the deployment with the most Celery processes; alternative deployment files are not added: {}",
                    others.join(", ")
                ));
            }
            text.push_str(&format!(") = {}", self.total()));
        }
        let limit = &self.max_connections;
        match self.database.server {
            Server::Unknown => text.push_str(&format!(
                " of max_connections {} [database server unknown: {}; {} assumed]",
                limit.value, self.database.source, limit.source
            )),
            server => {
                text.push_str(&format!(" of {} max_connections {} [{}]", server.name(), limit.value, limit.source))
            }
        }
        text
    }

    /// The share, and where the database server was read: `76%; the database: ENGINE mysql at
    /// proj/settings.py:9`.
    pub fn share(&self) -> String {
        match self.database.server {
            // Already said in the brackets of the limit.
            Server::Unknown => format!("{}%", self.percent()),
            _ => format!("{}%; the database: {}", self.percent(), self.database.source),
        }
    }

    /// Whether the peak is above [`WARN_PERCENT`] of `max_connections`.
    pub fn over(&self) -> bool {
        self.applies() && self.total() as u64 * 100 > self.max_connections.value as u64 * WARN_PERCENT as u64
    }

    /// Whether the peak is above `max_connections` itself: connections would be refused.
    pub fn exceeded(&self) -> bool {
        self.applies() && self.total() > self.max_connections.value
    }

    /// The remedies, in the words of the server the budget is about.
    pub fn remedies(&self) -> String {
        let pooler = match self.database.server {
            Server::MySql => "a connection pooler (ProxySQL)",
            _ => "pgBouncer (transaction pooling, with DISABLE_SERVER_SIDE_CURSORS = True)",
        };
        format!(
            "fewer threads or workers per instance; or put {pooler} between Django and the database (Phase 3); or raise max_connections"
        )
    }

    /// A warning outcome when the budget is too tight, with the numbers and the remedy.
    pub fn warning(&self) -> Option<Problem> {
        self.over().then(|| {
            Problem::note(
                None,
                format!(
                    "{} ({}, above {WARN_PERCENT}%): persistent connections may exhaust {}. Remedies: {}",
                    self.describe(),
                    self.share(),
                    self.database.server.name(),
                    self.remedies()
                ),
            )
        })
    }
}

/// The instance count: `--instances` / the config, else the deployment's replicas, else 1.
fn instances(project: &Project, replicas: Option<Sourced<u32>>) -> Sourced<u32> {
    project.config().instances.clone().or(replicas).unwrap_or(Sourced {
        value: 1,
        source: "assumed (no --instances or `instances` in the config, no replica count in the deployment files)"
            .to_owned(),
    })
}

/// A worker count computed on the machine, evaluated at the host CPU count, with why; `None`
/// when the count is not a formula.
fn formula_workers(project: &Project, wsgi: &Wsgi) -> Option<(u32, String)> {
    let setting = wsgi.resolved.workers.as_ref()?;
    let Value::Formula(expression) = &setting.value else { return None };
    Some(evaluated(project, setting, expression))
}

/// `expression` at the host CPU count; an expression beyond plain arithmetic counts as the
/// usual `2 x CPUs + 1`, said so.
fn evaluated(project: &Project, setting: &Setting, expression: &str) -> (u32, String) {
    let host = project.config().host_cpus();
    match formula::evaluate(expression, host.value) {
        Some(count) => (
            count,
            format!(
                "workers = {expression} ({}) = {count} at {} host CPUs ({})",
                setting.what, host.value, host.source
            ),
        ),
        None => {
            let count = 2 * host.value + 1;
            (
                count,
                format!(
                    "workers = {expression} ({}), counted as 2 x {} host CPUs + 1 = {count} ({})",
                    setting.what, host.value, host.source
                ),
            )
        }
    }
}

/// The worker count as written, with where it comes from.
fn written_workers(project: &Project, wsgi: &Wsgi) -> (u32, String) {
    let Some(setting) = &wsgi.resolved.workers else {
        return (1, "workers not set (gunicorn's default 1)".to_owned());
    };
    match &setting.value {
        Value::Int(n) => ((*n).max(1), format!("workers {n} ({})", setting.what)),
        Value::Formula(expression) => evaluated(project, setting, expression),
        Value::Dynamic(expression) | Value::Text(expression) => (
            wsgi.target,
            format!(
                "workers decided at runtime by {expression} ({}), counted as the target {}",
                setting.what, wsgi.target
            ),
        ),
    }
}

/// Threads per worker as written (gthread, or sync with threads > 1), with where they come from.
fn written_threads(wsgi: &Wsgi) -> (u32, String) {
    match wsgi.thread_count() {
        Ok(1) => (1, "1 thread".to_owned()),
        Ok(n) => {
            let what = wsgi.resolved.threads.as_ref().map_or_else(String::new, |s| format!(" ({})", s.what));
            (n, format!("threads {n}{what}"))
        }
        Err(setting) => (1, format!("threads decided at runtime ({}), counted as 1", setting.what)),
    }
}

/// `a.yml + b.yml`, for messages.
fn joined(files: &[PathBuf]) -> String {
    files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(" + ")
}

/// The base compose file an override file completes (`docker-compose.override.yml` ->
/// `docker-compose.yml`, as `docker compose` merges them by default); `None` for other files.
fn override_base(path: &Path) -> Option<PathBuf> {
    let name = path.file_name()?.to_str()?;
    let (stem, extension) = name.rsplit_once('.')?;
    let base = stem.strip_suffix(".override")?;
    Some(path.with_file_name(format!("{base}.{extension}")))
}

/// One deployment: its files (base first) and the Celery workers it starts.
#[derive(Debug, Default)]
struct Deployment {
    files: Vec<PathBuf>,
    workers: Vec<CeleryWorker>,
}

impl Deployment {
    fn total(&self) -> u32 {
        self.workers.iter().map(|w| w.concurrency.value).sum()
    }
}

/// The deployments the workers belong to, each a list of files applied in order (later files'
/// services replace earlier files' services of the same name, as `docker compose` merges them):
/// every `-f` combination found in the project's scripts, every base compose file with its
/// `*.override.yml`, and every other file with workers on its own. A file may take part in
/// several deployments (`docker-compose.yml` in dev with its override, in prod with `-f`).
fn deployments(workers: Vec<(CeleryWorker, Option<String>)>, combinations: Vec<Vec<PathBuf>>) -> Vec<Deployment> {
    let mut file_lists: Vec<Vec<PathBuf>> = combinations;
    let mut files_with_workers: Vec<PathBuf> = workers.iter().map(|(w, _)| w.location.path.clone()).collect();
    files_with_workers.sort();
    files_with_workers.dedup();
    for path in &files_with_workers {
        if let Some(base) = override_base(path) {
            let pair = vec![base, path.clone()];
            if !file_lists.contains(&pair) {
                file_lists.push(pair);
            }
        }
    }
    for path in &files_with_workers {
        if !file_lists.iter().any(|files| files.contains(path)) {
            file_lists.push(vec![path.clone()]);
        }
    }
    file_lists
        .into_iter()
        .filter_map(|files| {
            let mut chosen: Vec<&(CeleryWorker, Option<String>)> = Vec::new();
            for file in &files {
                let own: Vec<_> = workers.iter().filter(|(w, _)| &w.location.path == file).collect();
                chosen.retain(|(_, service)| service.is_none() || !own.iter().any(|(_, s)| s == service));
                chosen.extend(own);
            }
            (!chosen.is_empty()).then(|| Deployment {
                files: files.clone(),
                workers: chosen.into_iter().map(|(w, _)| w.clone()).collect(),
            })
        })
        .collect()
}

/// The Celery workers of every deployment file, each with its compose service if it has one
/// (an override file's service replaces the base file's of the same name), counted at their
/// planned concurrency ([`celery::CeleryProcess::planned_concurrency`]).
fn celery_workers(project: &Project) -> Vec<(CeleryWorker, Option<String>)> {
    celery::celery(project)
        .processes
        .iter()
        .filter(|process| process.is_worker())
        .map(|process| {
            let worker = CeleryWorker { location: process.location(), concurrency: process.planned_concurrency() };
            (worker, process.service().map(str::to_owned))
        })
        .collect()
}

/// Compose files used together in one command (`docker compose -f docker-compose.yml -f
/// docker-compose.prod.yml up -d`) in the project's Makefiles, scripts, justfiles, READMEs and CI
/// workflows: each such list (of files the project has) is one deployment.
fn compose_combinations(project: &Project) -> Vec<Vec<PathBuf>> {
    let candidates: Vec<PathBuf> = project
        .files_of(|path| {
            let name = crate::project::kinds::name_of(path);
            matches!(name, "Makefile" | "makefile" | "justfile" | "Justfile")
                || [".sh", ".md", ".mk", ".yml", ".yaml", ".rst", ".txt"].iter().any(|ext| name.ends_with(ext))
        })
        .to_vec();
    let known: std::collections::HashSet<&PathBuf> = project.files().iter().collect();
    let mut found: Vec<Vec<PathBuf>> = Vec::new();
    for path in project.files_containing(&candidates, "compose") {
        let Ok(file) = project.read(&path) else { continue };
        for line in file.text.lines().filter(|line| line.contains("compose")) {
            let words = celery::line_words(line);
            let mut files = Vec::new();
            for (i, word) in words.iter().enumerate() {
                let named = match word.as_str() {
                    "-f" | "--file" => words.get(i + 1).map(String::as_str),
                    other => other.strip_prefix("--file="),
                };
                let Some(named) = named.map(|n| n.trim_start_matches("./")) else { continue };
                // Relative to the project root (where compose commands usually run), else to the script.
                let resolved = [PathBuf::from(named), path.parent().unwrap_or(Path::new("")).join(named)]
                    .into_iter()
                    .find(|candidate| known.contains(candidate));
                files.extend(resolved);
            }
            if files.len() > 1 && !found.contains(&files) {
                found.push(files);
            }
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::config::{Config, Values};

    const POSTGRES_SETTINGS: &str = "DATABASES = {'default': {'ENGINE': 'django.db.backends.postgresql'}}\n";

    fn project(files: &[(&str, &str)], instances: Option<u32>) -> (tempfile::TempDir, Project) {
        let dir = tempfile::tempdir().unwrap();
        // A PostgreSQL database, so that the budget applies.
        std::fs::write(dir.path().join("settings.py"), POSTGRES_SETTINGS).unwrap();
        for (path, text) in files {
            std::fs::write(dir.path().join(path), text).unwrap();
        }
        let config = Config::load(dir.path(), &Values { cpus: Some(4), instances }).unwrap();
        let project = Project::open(dir.path(), config).unwrap();
        (dir, project)
    }

    #[test]
    fn reads_celery_and_max_connections_from_compose() {
        let compose = "services:\n  db:\n    command: postgres -c max_connections=50\n  worker:\n    command: [\"celery\", \"-A\", \"proj\", \"worker\", \"-c\", \"8\"]\n  beat:\n    command: celery -A proj beat\n";
        let (_dir, project) = project(
            &[("docker-compose.yml", compose), ("Procfile", "worker: celery -A proj worker --concurrency=4\n")],
            Some(3),
        );
        let budget = Budget::of(&project);
        assert_eq!(budget.max_connections.value, 50);
        // The Procfile (Heroku) and the compose file are two ways to deploy, not one deployment.
        assert_eq!(budget.celery.iter().map(|c| c.concurrency.value).collect::<Vec<_>>(), [8]);
        assert_eq!(budget.web(), 3 * budget.workers * budget.threads);
        assert_eq!(budget.total(), budget.web() + 8);
        assert!(!budget.over());
        let text = budget.describe();
        assert!(text.contains("docker-compose.yml:3") && text.contains("Procfile with 4"), "{text}");
    }

    fn celery_counts(budget: &Budget) -> Vec<u32> {
        budget.celery.iter().map(|c| c.concurrency.value).collect()
    }

    #[test]
    fn alternative_compose_files_are_not_added_together() {
        let dev =
            "services:\n  django:\n    command: /start\n  celeryworker:\n    command: celery -A proj worker -c 16\n";
        let prod = "services:\n  django:\n    command: /start\n  celeryworker:\n    command: celery -A proj worker --concurrency=16\n  celeryworker-io:\n    command: celery -A proj worker -Q io -c 4\n  postgres:\n    command: postgres -c max_connections=24\n";
        let (_dir, project) = project(
            &[("docker-compose.yml", dev), ("production.yml", prod), ("postgresql.conf", "max_connections = 300\n")],
            None,
        );
        let budget = Budget::of(&project);
        // production.yml: 16 + 4 (two worker services of one deployment add up); not + 16 from dev.
        assert_eq!(celery_counts(&budget), [16, 4]);
        assert_eq!(budget.celery_total(), 20);
        assert_eq!(budget.total(), budget.web() + 20);
        // The counted deployment's own database setting, not another file's.
        assert_eq!(budget.max_connections.source, "production.yml:9");
        assert_eq!(budget.celery_deployment, [PathBuf::from("production.yml")]);
        let warning = budget.warning().expect("web + 20 of 24 is above 80%").describe();
        assert!(
            warning.contains("Celery from production.yml")
                && warning.contains("not added: docker-compose.yml with 16")
                && warning.contains("production.yml:5"),
            "{warning}"
        );
    }

    #[test]
    fn an_override_file_completes_its_base_file() {
        let base = "services:\n  worker:\n    command: celery -A proj worker -c 4\n  beat:\n    command: celery -A proj beat\n";
        let over = "services:\n  worker:\n    command: celery -A proj worker -c 8\n  worker-io:\n    command: celery -A proj worker -c 2\n";
        let other = "services:\n  worker:\n    command: celery -A proj worker -c 9\n";
        let (_dir, project) = project(
            &[("docker-compose.yml", base), ("docker-compose.override.yml", over), ("docker-compose.prod.yml", other)],
            None,
        );
        let budget = Budget::of(&project);
        // The override's `worker` replaces the base's (`docker compose` merges them): 8 + 2, not 4 + 8 + 2,
        // and that deployment (10) beats the alternative prod file (9).
        assert_eq!(celery_counts(&budget), [8, 2]);
        assert_eq!(
            budget.celery_deployment,
            [PathBuf::from("docker-compose.yml"), PathBuf::from("docker-compose.override.yml")]
        );
        assert_eq!(budget.celery_alternatives, [(vec![PathBuf::from("docker-compose.prod.yml")], 9)]);
        assert!(budget.describe().contains("Celery from docker-compose.yml + docker-compose.override.yml"));
    }

    #[test]
    fn compose_files_combined_with_dash_f_are_one_deployment() {
        let base = "services:\n  worker:\n    command: celery -A proj worker -c 4\n";
        let prod = "services:\n  worker:\n    command: celery -A proj worker -c 6\n  worker-io:\n    command: celery -A proj worker -c 3\n";
        let staging = "services:\n  worker:\n    command: celery -A proj worker -c 12\n";
        let makefile = "up:\n\tdocker compose -f docker-compose.yml -f docker-compose.prod.yml up -d\nlogs:\n\tdocker compose logs -f worker\n";
        let (_dir, project) = project(
            &[
                ("docker-compose.yml", base),
                ("docker-compose.prod.yml", prod),
                ("staging.yml", staging),
                ("Makefile", makefile),
            ],
            None,
        );
        assert_eq!(
            compose_combinations(&project),
            [vec![PathBuf::from("docker-compose.yml"), PathBuf::from("docker-compose.prod.yml")]]
        );
        let budget = Budget::of(&project);
        // base + prod: prod's `worker` (6) replaces the base's (4), plus worker-io (3) = 9; staging.yml
        // (12) is another deployment and the largest: 12, never 4 + 6 + 3 + 12.
        assert_eq!(celery_counts(&budget), [12]);
        assert_eq!(
            budget.celery_alternatives,
            [(vec![PathBuf::from("docker-compose.yml"), PathBuf::from("docker-compose.prod.yml")], 9)]
        );
        let text = budget.describe();
        assert!(
            text.contains("Celery from staging.yml")
                && text.contains("docker-compose.yml + docker-compose.prod.yml with 9"),
            "{text}"
        );
    }

    #[test]
    fn override_files_name_their_base() {
        assert_eq!(override_base(Path::new("a/compose.override.yaml")), Some(PathBuf::from("a/compose.yaml")));
        assert_eq!(override_base(Path::new("docker-compose.prod.yml")), None);
    }

    #[test]
    fn warns_above_eighty_percent_with_the_remedy() {
        let (_dir, project) = project(
            &[("Procfile", "worker: celery -A proj worker\n"), ("postgresql.conf", "max_connections = 5\n")],
            None,
        );
        let budget = Budget::of(&project);
        assert_eq!(budget.celery[0].concurrency.value, 4);
        assert_eq!(budget.total(), budget.web() + 4);
        let warning = budget.warning().expect("at least 5 of 5 is above 80%").describe();
        assert!(
            warning.contains("pgBouncer") && warning.contains("max_connections 5") && warning.contains("assumed"),
            "{warning}"
        );
    }
}
