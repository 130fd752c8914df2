//! Every Celery process the deployment files start (workers, beat, Flower, ...), found once per
//! project: the connection budget counts the workers' processes, nginx leaves alone a server that
//! only proxies to a Celery service, and a patch that tunes the workers reads the same list.
//!
//! Compose files are read as compose reads them: each service's `command:` and `entrypoint:`,
//! split into words (a `sh -c "..."` string is looked into), so a command folded over several
//! lines is one command and the process belongs to its service. The other launch files (Procfile,
//! Dockerfile, shell scripts, supervisord and systemd units) are read a line at a time: one line
//! is one command there, whatever wraps it (`worker: ...`, `CMD [...]`, `command=`, `ExecStart=`).

use std::path::{Path, PathBuf};

use crate::lang::compose::{self, ComposeCommand};
use crate::lang::shell::{self, Word};
use crate::project::Project;
use crate::project::config::Sourced;
use crate::project::kinds;
use crate::text::location::Location;

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

/// One Celery command of the deployment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CeleryProcess {
    /// The line the `celery` word is on.
    pub location: Location,
    /// The compose service that runs it, when it is a compose command.
    pub service: Option<String>,
    /// The command's words as its launcher splits them (a compose command's words; the whole
    /// line of a line-read file, launcher syntax included).
    pub words: Vec<String>,
    /// Where `celery` (or `.../celery`) is in [`CeleryProcess::words`].
    pub celery_at: usize,
    pub role: Role,
    /// `-P` / `--pool` as written (`-P gevent`), when the command sets it.
    pub pool: Option<Sourced<String>>,
    /// `-c` / `--concurrency` as written (`--concurrency 8`), when the command sets it.
    pub concurrency: Option<Sourced<u32>>,
}

impl CeleryProcess {
    pub fn is_worker(&self) -> bool {
        self.role == Role::Worker
    }

    /// Whether Celery is the program the command runs (possibly through `poetry run`, `uv run`,
    /// `exec`...), not a word inside a shell string or after another tool.
    pub fn runs_celery_directly(&self) -> bool {
        self.words[..self.celery_at].iter().all(|w| WRAPPERS.contains(&w.as_str()))
    }

    /// The command as one line, for messages.
    pub fn command(&self) -> String {
        self.words.join(" ")
    }

    /// The worker's process count: `--concurrency` when set, else Celery's default of one
    /// process per CPU (`cpus` with where that count comes from).
    pub fn concurrency_or_default(&self, cpus: &Sourced<u32>) -> Sourced<u32> {
        self.concurrency.clone().unwrap_or_else(|| Sourced {
            value: cpus.value,
            source: format!("no --concurrency: Celery runs one process per CPU, {} CPUs {}", cpus.value, cpus.source),
        })
    }
}

/// The Celery processes of the project's deployment files, in file order.
#[derive(Debug, Clone, Default)]
pub struct Celery {
    pub processes: Vec<CeleryProcess>,
}

/// Words that run the next word as the program.
const WRAPPERS: &[&str] = &["pipenv", "poetry", "uv", "run", "exec"];

/// Celery's global options that take a value (`celery -A proj worker`): skipped when looking for
/// the subcommand.
const GLOBAL_VALUE_OPTIONS: &[&str] =
    &["-A", "--app", "-b", "--broker", "--result-backend", "--loader", "--config", "--workdir"];

/// The Celery processes of `project`, read once per project.
pub fn celery(project: &Project) -> std::sync::Arc<Celery> {
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

fn find(project: &Project) -> Celery {
    let candidates: Vec<PathBuf> =
        project.files_where(|path| launch_file(path) || kinds::is_yaml(path)).cloned().collect();
    let mut processes = Vec::new();
    for path in project.files_containing(&candidates, "celery") {
        let Ok(file) = project.read(&path) else { continue };
        if kinds::is_compose(&path, &file.text) {
            match compose::services(&file.text) {
                Ok(services) => processes.extend(compose_processes(&path, &file.text, &services)),
                // A compose file that does not parse is still read line by line: its commands count.
                Err(_) => processes.extend(line_processes(&path, &file.text)),
            }
        } else if launch_file(&path) {
            processes.extend(line_processes(&path, &file.text));
        }
    }
    Celery { processes }
}

/// The Celery commands of a compose file's services (`command:`, then `entrypoint:`).
fn compose_processes(path: &Path, text: &str, services: &[compose::Service]) -> Vec<CeleryProcess> {
    let mut found = Vec::new();
    for service in services {
        for command in [&service.command, &service.entrypoint].into_iter().flatten() {
            let words = match command {
                ComposeCommand::String { words, .. } => words,
                ComposeCommand::List { items, .. } => items,
            };
            let Some(words) = celery_words(words) else { continue };
            let texts: Vec<String> = words.iter().map(|w| w.text.clone()).collect();
            let Some(celery_at) = texts.iter().position(|w| is_celery(w)) else { continue };
            let line = text[..words[celery_at].span.start].matches('\n').count() + 1;
            found.push(process(Location::new(path, line), Some(service.name.clone()), texts, celery_at));
        }
    }
    found
}

/// The words in which `celery` is a word: the command's own, else those of the first word that
/// is itself a command line (`sh -c "celery -A proj worker"`), offsets still into the file.
fn celery_words(words: &[Word]) -> Option<Vec<Word>> {
    if words.iter().any(|w| is_celery(&w.text)) {
        return Some(words.to_vec());
    }
    words.iter().filter(|w| w.text.contains(char::is_whitespace)).find_map(|w| {
        let inner: Vec<Word> = shell::words(&w.text).iter().map(|inner| inner.remap(&w.offsets)).collect();
        inner.iter().any(|i| is_celery(&i.text)).then_some(inner)
    })
}

/// The Celery command of each line of a file read a line at a time.
fn line_processes(path: &Path, text: &str) -> Vec<CeleryProcess> {
    let mut found = Vec::new();
    for (index, line) in text.lines().enumerate() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        let words = line_words(line);
        let Some(celery_at) = words.iter().position(|w| is_celery(w)) else { continue };
        found.push(process(Location::new(path, index + 1), None, words, celery_at));
    }
    found
}

/// Splits a command line written in YAML or shell into words (`["celery", "-c", "4"]` too): the
/// rough split that suits a line of any launcher's syntax.
pub fn line_words(line: &str) -> Vec<String> {
    line.split(|c: char| c.is_whitespace() || "[],'\"".contains(c))
        .filter(|w| !w.is_empty())
        .map(str::to_owned)
        .collect()
}

fn is_celery(word: &str) -> bool {
    word == "celery" || word.ends_with("/celery")
}

/// A process from its command words: the role, pool and concurrency read after `celery`.
fn process(location: Location, service: Option<String>, words: Vec<String>, celery_at: usize) -> CeleryProcess {
    let after = &words[celery_at + 1..];
    CeleryProcess {
        role: role(after),
        pool: option(after, ["-P", "--pool"], |value| Some(value.to_owned())),
        concurrency: option(after, ["-c", "--concurrency"], |value| value.parse().ok()),
        location,
        service,
        words,
        celery_at,
    }
}

/// The subcommand: the first word after `celery` that is not a global option or its value.
fn role(after: &[String]) -> Role {
    let mut words = after.iter();
    while let Some(word) = words.next() {
        if GLOBAL_VALUE_OPTIONS.contains(&word.as_str()) {
            words.next();
        } else if !word.starts_with('-') {
            return match word.as_str() {
                "worker" => Role::Worker,
                "beat" => Role::Beat,
                "flower" => Role::Flower,
                other => Role::Other(other.to_owned()),
            };
        }
    }
    Role::Unknown
}

/// The last value of an option that `parse` accepts (`-c 8`, `-c8`, `--concurrency=8`,
/// `--concurrency 8`), with the option as written as its source.
fn option<T>(words: &[String], [short, long]: [&str; 2], parse: impl Fn(&str) -> Option<T>) -> Option<Sourced<T>> {
    let mut found = None;
    for (i, word) in words.iter().enumerate() {
        let written = if word == short || word == long {
            words.get(i + 1).map(|value| (value.as_str(), format!("{word} {value}")))
        } else {
            let attached = word
                .strip_prefix(&format!("{long}="))
                .or_else(|| word.strip_prefix(short).filter(|v| !v.is_empty() && !v.starts_with('-')));
            attached.map(|value| (value, word.clone()))
        };
        if let Some((value, source)) = written
            && let Some(value) = parse(value)
        {
            found = Some(Sourced { value, source });
        }
    }
    found
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::test_project;

    #[test]
    fn compose_services_and_line_files() {
        let compose = "version: '3'\nservices:\n\n  web:\n    image: x\n  worker:\n    command: >\n      celery -A proj\n      worker -P gevent --concurrency=8\n  beat:\n    command: [\"uv\", \"run\", \"celery\", \"--app\", \"proj\", \"beat\"]\n  flower:\n    command: sh -c \"sleep 2 && celery -A proj flower\"\nvolumes:\n  data:\n";
        let procfile =
            "web: gunicorn proj.wsgi\n# worker: celery -A proj worker -c 2\nworker: celery -A proj worker -c4 -c x\n";
        let (_dir, project) = test_project(&[("docker-compose.yml", compose), ("Procfile", procfile)]);
        let celery = celery(&project);
        let seen: Vec<(String, Option<&str>, &Role, bool)> = celery
            .processes
            .iter()
            .map(|p| (p.location.to_string(), p.service.as_deref(), &p.role, p.runs_celery_directly()))
            .collect();
        assert_eq!(
            seen,
            [
                ("Procfile:3".to_owned(), None, &Role::Worker, false),
                ("docker-compose.yml:8".to_owned(), Some("worker"), &Role::Worker, true),
                ("docker-compose.yml:11".to_owned(), Some("beat"), &Role::Beat, true),
                ("docker-compose.yml:13".to_owned(), Some("flower"), &Role::Flower, false),
            ]
        );
        let [procfile, worker, beat, _] = &celery.processes[..] else { unreachable!() };
        assert_eq!(procfile.concurrency.as_ref().map(|c| (c.value, c.source.as_str())), Some((4, "-c4")));
        assert_eq!(worker.concurrency.as_ref().map(|c| (c.value, c.source.as_str())), Some((8, "--concurrency=8")));
        assert_eq!(worker.pool.as_ref().map(|p| p.source.as_str()), Some("-P gevent"));
        assert_eq!(worker.command(), "celery -A proj worker -P gevent --concurrency=8");
        assert_eq!(beat.command(), "uv run celery --app proj beat");
        let cpus = Sourced { value: 2, source: "assumed".to_owned() };
        assert_eq!(beat.concurrency_or_default(&cpus).value, 2);
    }
}
