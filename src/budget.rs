//! The PostgreSQL connection budget after Phase 1 (domain.md 2.7).
//!
//! Persistent connections keep one connection open per serving thread, so the peak is
//! `instances x workers x threads` for the web service (with the worker and thread counts the
//! gunicorn patches would leave), plus one per Celery worker process. That peak must stay under
//! PostgreSQL's `max_connections` (100 unless the project raises it) with headroom for migrations,
//! admin shells and the superuser reserve: above 80% the plan warns and names the Phase 3 remedy.

use std::path::{Path, PathBuf};

use crate::change::{Location, Outcome};
use crate::config::Sourced;
use crate::project::Project;
use crate::serving;

/// PostgreSQL's default `max_connections`.
pub const POSTGRES_DEFAULT_MAX_CONNECTIONS: u32 = 100;

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
    pub celery: Vec<CeleryWorker>,
    pub max_connections: Sourced<u32>,
}

impl Budget {
    /// The budget of `project`, after the gunicorn patches.
    pub fn of(project: &Project) -> Budget {
        let serving = serving::serving(project);
        let instances = project.config().instances.clone().unwrap_or(Sourced {
            value: 1,
            source: "assumed (no --instances or `instances` in the config)".to_owned(),
        });
        Budget {
            instances,
            workers: serving.workers.max(1),
            threads: serving.threads.max(1),
            serving_source: match &serving.location {
                Some(location) => {
                    format!("{} at {location}, after Phase 1", format!("{:?}", serving.server).to_lowercase())
                }
                None => "no server command found: gunicorn's defaults".to_owned(),
            },
            celery: celery_workers(project),
            max_connections: max_connections(project),
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
            text.push_str(&format!(" = {}", self.total()));
        }
        text.push_str(&format!(
            " of PostgreSQL max_connections {} [{}]",
            self.max_connections.value, self.max_connections.source
        ));
        text
    }

    /// Whether the peak is above [`WARN_PERCENT`] of `max_connections`.
    pub fn over(&self) -> bool {
        self.total() as u64 * 100 > self.max_connections.value as u64 * WARN_PERCENT as u64
    }

    /// A warning outcome when the budget is too tight, with the numbers and the remedy.
    pub fn warning(&self) -> Option<Outcome> {
        self.over().then(|| {
            let percent = self.total() as u64 * 100 / self.max_connections.value.max(1) as u64;
            Outcome::warning(
                None,
                format!(
                    "{} ({percent}%, above {WARN_PERCENT}%): persistent connections may exhaust PostgreSQL. \
                     Phase 3 remedy: put pgBouncer (transaction pooling, with DISABLE_SERVER_SIDE_CURSORS = True) \
                     between Django and PostgreSQL, or raise max_connections",
                    self.describe()
                ),
            )
        })
    }
}

/// Deployment files that may start Celery workers or PostgreSQL.
fn deployment_file(path: &Path) -> bool {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let yaml = name.ends_with(".yml") || name.ends_with(".yaml");
    (yaml && (name.starts_with("docker-compose") || name.starts_with("compose")))
        || name == "Procfile"
        || name.starts_with("Dockerfile")
        || name.ends_with(".sh")
        || name.starts_with("supervisord")
        || name.ends_with(".service")
}

/// Splits a command line written in YAML or shell into words (`["celery", "-c", "4"]` too).
fn words(line: &str) -> Vec<String> {
    line.split(|c: char| c.is_whitespace() || "[],'\"".contains(c))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

/// Celery worker commands and their concurrency.
fn celery_workers(project: &Project) -> Vec<CeleryWorker> {
    let candidates: Vec<PathBuf> = project.files_where(deployment_file).cloned().collect();
    let mut found = Vec::new();
    for path in project.files_containing(&candidates, "celery") {
        let Ok(file) = project.read(&path) else { continue };
        for (index, line) in file.text.lines().enumerate() {
            let trimmed = line.trim_start();
            if trimmed.starts_with('#') {
                continue;
            }
            let words = words(line);
            let Some(celery) = words.iter().position(|w| w == "celery" || w.ends_with("/celery")) else { continue };
            if !words[celery..].iter().any(|w| w == "worker") {
                continue;
            }
            let mut concurrency = None;
            for (i, word) in words.iter().enumerate().skip(celery) {
                let value = match word.as_str() {
                    "-c" | "--concurrency" => words.get(i + 1).map(String::as_str),
                    other => other
                        .strip_prefix("--concurrency=")
                        .or_else(|| other.strip_prefix("-c").filter(|v| !v.is_empty())),
                };
                if let Some(n) = value.and_then(|v| v.parse::<u32>().ok()) {
                    concurrency = Some(Sourced { value: n, source: format!("{word} {n}").replace("= ", "=") });
                }
            }
            let concurrency = concurrency.unwrap_or_else(|| {
                let cpus = serving::cpu_count(project);
                Sourced {
                    value: cpus.value,
                    source: format!(
                        "no --concurrency: Celery runs one process per CPU, {} CPUs {}",
                        cpus.value, cpus.source
                    ),
                }
            });
            found.push(CeleryWorker { location: Location::new(path.clone(), index + 1), concurrency });
        }
    }
    found
}

/// `max_connections` from compose (`postgres -c max_connections=200`) or a postgresql.conf in the
/// project; else PostgreSQL's default.
fn max_connections(project: &Project) -> Sourced<u32> {
    let candidates: Vec<PathBuf> = project
        .files_where(|path| deployment_file(path) || path.file_name().is_some_and(|n| n == "postgresql.conf"))
        .cloned()
        .collect();
    for path in project.files_containing(&candidates, "max_connections") {
        let Ok(file) = project.read(&path) else { continue };
        for (index, line) in file.text.lines().enumerate() {
            if line.trim_start().starts_with('#') {
                continue;
            }
            let Some(at) = line.find("max_connections") else { continue };
            let rest = line[at + "max_connections".len()..].trim_start_matches(|c: char| c.is_whitespace() || c == '=');
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if let Ok(value) = digits.parse() {
                return Sourced { value, source: format!("{}:{}", path.display(), index + 1) };
            }
        }
    }
    Sourced { value: POSTGRES_DEFAULT_MAX_CONNECTIONS, source: "PostgreSQL's default".to_owned() }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{Config, Values};

    fn project(files: &[(&str, &str)], instances: Option<u32>) -> (tempfile::TempDir, Project) {
        let dir = tempfile::tempdir().unwrap();
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
        assert_eq!(budget.celery.iter().map(|c| c.concurrency.value).collect::<Vec<_>>(), [4, 8]);
        assert_eq!(budget.web(), 3 * budget.workers * budget.threads);
        assert_eq!(budget.total(), budget.web() + 12);
        assert!(!budget.over());
        assert!(budget.describe().contains("docker-compose.yml:3"), "{}", budget.describe());
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
