//! uWSGI's process and thread counts, for the serving facts.
//!
//! uWSGI is never patched, but the database connection budget and the Redis pool size depend on
//! how many processes and threads serve the app. Without this, a uWSGI deployment counted as one
//! process with one thread (healthchecks runs `processes = 4`, bakerydemo `workers=2 threads=4`).
//!
//! Read, lowest precedence first: `UWSGI_PROCESSES` / `UWSGI_WORKERS` / `UWSGI_THREADS` in the
//! process environment (uWSGI maps every `UWSGI_<OPTION>` variable to an option and reads them
//! before its arguments), then the arguments in order: `--processes N` / `--workers N` / `-p N`,
//! `--threads N`, and ini files (`--ini FILE`, or a lone `FILE.ini`) with `processes`, `workers`
//! and `threads` in their `[uwsgi]` section. The ini path is a container path
//! (`/code/etc/uwsgi.ini`): it is matched to the project file with the longest common suffix.
//! Values that are not plain numbers (`$(ENV)`, `%(placeholders)`) are left out.

use std::path::{Path, PathBuf};

use super::discovery::Invocation;
use crate::project::Project;

/// Processes and threads per process (`None`: uWSGI's default, 1).
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Counts {
    pub processes: Option<u32>,
    pub threads: Option<u32>,
}

/// The counts one uWSGI start runs with.
pub fn counts(project: &Project, inv: &Invocation) -> Counts {
    let mut counts = Counts::default();
    for var in inv.env.iter().filter(|var| var.key.starts_with("UWSGI_")) {
        counts.set(&var.key["UWSGI_".len()..].to_ascii_lowercase(), &var.value.text);
    }
    let words: Vec<&str> = inv.args.iter().map(|w| w.text.as_str()).collect();
    let mut i = 0;
    while i < words.len() {
        let word = words[i];
        let (option, inline) = match word.split_once('=') {
            Some((option, value)) if word.starts_with('-') => (option, Some(value)),
            _ => (word, None),
        };
        let option = option.trim_start_matches('-');
        let takes_value = word.starts_with('-') && matches!(option, "p" | "processes" | "workers" | "threads" | "ini");
        let value = if takes_value && inline.is_none() {
            i += 1;
            words.get(i).copied()
        } else {
            inline
        };
        match (word.starts_with('-'), option, value) {
            (true, "ini", Some(file)) => read_ini(project, file, &mut counts),
            (true, "p", Some(n)) => counts.set("processes", n),
            (true, name, Some(n)) => counts.set(name, n),
            (false, file, _) if file.ends_with(".ini") => read_ini(project, file, &mut counts),
            _ => {}
        }
        i += 1;
    }
    counts
}

impl Counts {
    fn set(&mut self, option: &str, value: &str) {
        let Ok(n) = value.trim().parse::<u32>() else { return };
        match option {
            "processes" | "workers" => self.processes = Some(n),
            "threads" => self.threads = Some(n),
            _ => {}
        }
    }
}

/// Reads `processes` / `workers` / `threads` from the `[uwsgi]` section of the project file that
/// `reference` (a path inside the container) names.
fn read_ini(project: &Project, reference: &str, counts: &mut Counts) {
    let Some(path) = project_file(project, reference) else { return };
    let Ok(file) = project.read(&path) else { return };
    let mut in_uwsgi = true;
    for line in file.text.lines() {
        let line = line.trim();
        if let Some(section) = line.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
            in_uwsgi = section.trim() == "uwsgi";
            continue;
        }
        if !in_uwsgi || line.starts_with(['#', ';']) {
            continue;
        }
        if let Some((key, value)) = line.split_once('=') {
            counts.set(key.trim(), value);
        }
    }
}

/// The project file whose path ends like `reference`, taking the longest match of whole
/// components (`/opt/app/docker/uwsgi.ini` -> `docker/uwsgi.ini` over `uwsgi.ini`).
fn project_file(project: &Project, reference: &str) -> Option<PathBuf> {
    let wanted: Vec<&str> = reference.split('/').filter(|c| !c.is_empty() && *c != ".").collect();
    let matching = |path: &Path| {
        let components: Vec<String> = path.iter().map(|c| c.to_string_lossy().into_owned()).collect();
        components.iter().rev().zip(wanted.iter().rev()).take_while(|(a, b)| a == *b).count()
    };
    project
        .files()
        .iter()
        .filter(|path| path.file_name().is_some_and(|n| Some(n.to_string_lossy().as_ref()) == wanted.last().copied()))
        .map(|path| (matching(path), path))
        .max_by_key(|(score, _)| *score)
        .map(|(_, path)| path.clone())
}
