//! `--verify`: the real tools that are installed, run on the patched tree in a temporary copy
//! before anything is written. `nginx -t` on the files nginx loads ([`nginx`]), `gunicorn
//! --print-config` for every gunicorn start with its environment ([`gunicorn`]) and, with
//! `--verify=django`, an import of each settings module the project declares with the project's
//! interpreter ([`django`], which runs project code, and says so).
//!
//! Each tool runs on the copy as it is first, then patched: a tool that already fails on the
//! files as they are cannot judge the plan (a certificate path outside the project, a service
//! that needs its environment), so it is reported as **not run**, with its own message, never
//! as passed. Only a failure the plan brings is a **failure** (`apply` then writes nothing, exit
//! 2), shown with the tool's own message. A tool that is not installed is named as not run.

pub mod django;
pub mod gunicorn;
pub mod nginx;

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, Result};

use crate::project::Project;
use crate::text::update::FileUpdate;

/// What `--verify` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// nginx and gunicorn.
    Tools,
    /// The tools, and an import of each settings module (runs project code).
    Django,
}

/// One tool's answer about one subject (a main nginx file, a gunicorn start, a settings module).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Run {
    /// The command as a user would type it (`nginx -t -c nginx/nginx.conf`).
    pub tool: String,
    pub verdict: Verdict,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The tool accepts the patched tree; what it confirmed.
    Passed(String),
    /// The tool refuses the patched tree and accepted the original: its own message.
    Failed(String),
    /// Not run, or unable to judge: why (a missing tool, a failure on the original too).
    NotRun(String),
}

impl Run {
    fn new(tool: impl Into<String>, verdict: Verdict) -> Run {
        Run { tool: tool.into(), verdict }
    }

    /// One line for the notes: `passed: nginx -t ...: ...`.
    pub fn describe(&self) -> String {
        match &self.verdict {
            Verdict::Passed(what) => format!("passed: {}: {what}", self.tool),
            Verdict::Failed(message) => format!("FAILED: {}: {}", self.tool, message.trim_end()),
            Verdict::NotRun(why) => format!("not run: {}: {why}", self.tool),
        }
    }
}

/// The project copied twice into a temporary folder: `before/` as it is, `after/` with the
/// updates written.
pub struct Copies {
    _dir: tempfile::TempDir,
    /// The temporary folder (scratch space for the tools lives beside the copies).
    pub scratch: PathBuf,
    pub before: PathBuf,
    pub after: PathBuf,
}

impl Copies {
    fn make(project: &Project, updates: &[FileUpdate]) -> Result<Copies> {
        let dir = tempfile::tempdir().context("--verify: cannot create a temporary folder")?;
        let (before, after) = (dir.path().join("before"), dir.path().join("after"));
        for root in [&before, &after] {
            for path in project.files() {
                let Ok(file) = project.read(path) else { continue };
                write(root, path, &file.text).with_context(|| format!("--verify: copying {}", path.display()))?;
            }
        }
        for update in updates {
            write(&after, &update.path, &update.after)
                .with_context(|| format!("--verify: writing {}", update.path.display()))?;
        }
        Ok(Copies { scratch: dir.path().to_owned(), _dir: dir, before, after })
    }
}

fn write(root: &Path, path: &Path, text: &str) -> std::io::Result<()> {
    let full = root.join(path);
    if let Some(parent) = full.parent() {
        std::fs::create_dir_all(parent)?;
    }
    std::fs::write(full, text)
}

/// Runs the tools of `mode` on the plan's `updates`.
pub fn verify(project: &Project, updates: &[FileUpdate], mode: Mode) -> Result<Vec<Run>> {
    let copies = Copies::make(project, updates)?;
    let after = project.overlay(updates.iter().map(|update| {
        let (bom, mode) = (update.before.as_ref().is_some_and(|b| b.bom), update.mode());
        crate::text::source::SourceFile::new(update.path.clone(), update.after.clone(), bom, mode)
    }));
    let mut runs = nginx::check(&after, &copies);
    runs.extend(gunicorn::check(&after, &copies));
    if mode == Mode::Django {
        runs.extend(django::check(&after, &copies));
    }
    Ok(runs)
}

/// Whether any run failed (`apply` then writes nothing).
pub fn failed(runs: &[Run]) -> bool {
    runs.iter().any(|run| matches!(run.verdict, Verdict::Failed(_)))
}

/// A program on `PATH`, as the shell would find it.
pub fn on_path(program: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path).map(|dir| dir.join(program)).find(|candidate| is_executable(candidate))
}

/// The project's own virtualenv's program (`.venv/bin/gunicorn`, `venv/bin/python`), else `PATH`'s.
pub fn project_program(project: &Project, program: &str) -> Option<PathBuf> {
    [".venv", "venv", "env"]
        .iter()
        .map(|venv| project.root().join(venv).join("bin").join(program))
        .find(|candidate| is_executable(candidate))
        .or_else(|| on_path(program))
}

fn is_executable(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    path.metadata().is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
}

/// The output of a command: success, and stdout and stderr.
pub struct Output {
    pub ok: bool,
    pub stdout: String,
    pub stderr: String,
}

/// Runs `command`, never failing: a command that cannot start is an unsuccessful output saying why.
pub fn run(command: &mut Command) -> Output {
    match command.output() {
        Ok(output) => Output {
            ok: output.status.success(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        },
        Err(err) => Output { ok: false, stdout: String::new(), stderr: format!("cannot run it: {err}") },
    }
}

/// The verdict of a tool run on the original (`before`) and on the patched copy (`after`).
pub fn judge(before: impl FnOnce() -> Output, after: &Output, passed: String) -> Verdict {
    if after.ok {
        return Verdict::Passed(passed);
    }
    let original = before();
    if original.ok {
        Verdict::Failed(format!("{}{}", after.stderr, after.stdout))
    } else {
        Verdict::NotRun(format!(
            "it fails on the files as they are too, so it cannot judge the plan: {}",
            last_lines(&original.stderr, 3)
        ))
    }
}

/// The last `n` non-empty lines of a tool's output, on one line.
pub fn last_lines(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
    lines[lines.len().saturating_sub(n)..].join(" | ")
}
