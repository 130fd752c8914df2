//! `gunicorn --print-config` for every WSGI gunicorn start of the patched tree, with the start's
//! arguments and the environment its deployment gives it (Dockerfile `ENV`, compose
//! `environment:` and `env_file:`), from the project's virtualenv or `PATH`. The application
//! argument is replaced by a stub WSGI module: the project's application is never imported
//! (its gunicorn config file, Python that gunicorn runs, is). The resolved `workers`,
//! `worker_class` and `threads` must be the ones scalepatch reads on the patched tree.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Copies, Output, Run, Verdict, judge, project_program, run};
use crate::facts::gunicorn::discovery::Invocation;
use crate::facts::gunicorn::resolve::Value;
use crate::facts::gunicorn::start::{StartKind, Wsgi};
use crate::facts::gunicorn::{self};
use crate::project::Project;

const STUB: &str = "scalepatch_verify_app";

/// One run per WSGI gunicorn start (none when there is none).
pub fn check(after: &Project, copies: &Copies) -> Vec<Run> {
    let analysis = gunicorn::analysis(after);
    let starts: Vec<(&Invocation, &Wsgi)> = analysis
        .starts
        .iter()
        .filter_map(|start| match &start.kind {
            StartKind::Wsgi(wsgi) => Some((&start.invocation, wsgi.as_ref())),
            _ => None,
        })
        .collect();
    if starts.is_empty() {
        return Vec::new();
    }
    let Some(binary) = project_program(after, "gunicorn") else {
        let why = "gunicorn is not installed (not in the project's .venv/venv, not on PATH)";
        return vec![Run::new("gunicorn --print-config", Verdict::NotRun(why.to_owned()))];
    };
    let stub = copies.scratch.join("stub");
    if std::fs::create_dir_all(&stub).is_err()
        || std::fs::write(stub.join(format!("{STUB}.py")), "def application(environ, start_response):\n    pass\n")
            .is_err()
    {
        return vec![Run::new("gunicorn --print-config", Verdict::NotRun("cannot write the stub application".into()))];
    }
    starts.into_iter().map(|(inv, wsgi)| check_start(&binary, &stub, copies, inv, wsgi)).collect()
}

fn check_start(binary: &Path, stub: &Path, copies: &Copies, inv: &Invocation, wsgi: &Wsgi) -> Run {
    let tool = format!("gunicorn --print-config ({})", inv.location());
    if let Some(word) = inv.args.iter().find(|w| w.is_dynamic()) {
        return Run::new(tool, Verdict::NotRun(format!("the argument `{}` is known only at runtime", word.text)));
    }
    let args: Vec<String> = inv
        .args
        .iter()
        .map(|w| {
            if Some(&w.text) == wsgi.resolved.target.as_ref() { format!("{STUB}:application") } else { w.text.clone() }
        })
        .collect();
    let env: BTreeMap<String, String> = inv.env.iter().map(|var| (var.key.clone(), var.value.text.clone())).collect();
    let print = |root: &Path| print_config(binary, stub, &working_dir(root, inv, &args), &args, &env);
    let after = print(&copies.after);
    let after = compare(after, wsgi);
    let verdict = judge(|| print(&copies.before), &after, after.stdout.clone());
    Run::new(tool, verdict)
}

/// Where gunicorn starts: the folder of the file that starts it when its config file is there,
/// else the project root (as scalepatch resolves `./gunicorn.conf.py` and `-c path`).
fn working_dir(root: &Path, inv: &Invocation, args: &[String]) -> PathBuf {
    let here = root.join(inv.path.parent().unwrap_or(Path::new("")));
    let config = args
        .iter()
        .position(|a| a == "-c" || a == "--config")
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| args.iter().find_map(|a| a.strip_prefix("--config=").map(str::to_owned)))
        .unwrap_or_else(|| "gunicorn.conf.py".to_owned());
    if here.join(&config).exists() { here } else { root.to_owned() }
}

fn print_config(binary: &Path, stub: &Path, cwd: &Path, args: &[String], env: &BTreeMap<String, String>) -> Output {
    let mut command = Command::new(binary);
    command.arg("--print-config").args(args).current_dir(cwd).env_clear().envs(env);
    for key in ["PATH", "HOME", "LANG"] {
        if let Some(value) = std::env::var_os(key) {
            command.env(key, value);
        }
    }
    let pythonpath = std::env::join_paths([stub.to_owned(), cwd.to_owned()]).unwrap_or_default();
    command.env("PYTHONPATH", pythonpath);
    let output = run(&mut command);
    // The settings are printed before the application is loaded.
    let printed = settings(&output.stdout);
    let ok = ["workers", "worker_class", "threads"].iter().all(|key| printed.contains_key(*key));
    let summary: Vec<String> = ["workers", "worker_class", "threads"]
        .iter()
        .filter_map(|k| Some(format!("{k} = {}", printed.get(*k)?)))
        .collect();
    Output { ok, stdout: summary.join(", "), stderr: super::last_lines(&output.stderr, 5) }
}

/// `key = value` lines of `--print-config`.
fn settings(stdout: &str) -> BTreeMap<String, String> {
    stdout
        .lines()
        .filter_map(|line| line.split_once(" = "))
        .map(|(key, value)| (key.trim().to_owned(), value.trim().to_owned()))
        .collect()
}

/// A run whose printed settings differ from what scalepatch reads on the patched tree fails.
fn compare(output: Output, wsgi: &Wsgi) -> Output {
    if !output.ok {
        return output;
    }
    let printed = settings(&output.stdout.replace(", ", "\n"));
    let mut expected = Vec::new();
    if let Some(setting) = &wsgi.resolved.workers
        && let Value::Int(n) = setting.value
    {
        expected.push(("workers", n.to_string()));
    }
    if let Ok(class) = wsgi.class_name() {
        expected.push(("worker_class", class));
    }
    if let Ok(threads) = wsgi.thread_count() {
        expected.push(("threads", threads.to_string()));
    }
    let wrong: Vec<String> = expected
        .into_iter()
        .filter(|(key, value)| {
            printed
                .get(*key)
                .is_some_and(|got| got != value && !(*key == "worker_class" && got.ends_with(value.as_str())))
        })
        .map(|(key, value)| format!("gunicorn resolves {key} = {}, scalepatch reads {value}", printed[key]))
        .collect();
    if wrong.is_empty() {
        return output;
    }
    Output { ok: false, stderr: wrong.join("; "), stdout: output.stdout }
}
