//! The gunicorn patches on every fixture case: the exact diff, `git apply --check`, idempotence
//! (`Case::check`), then the real `gunicorn --print-config` on the project after both patches:
//! for every gunicorn start, the workers, worker class and threads gunicorn resolves (command
//! line, GUNICORN_CMD_ARGS, config file, WEB_CONCURRENCY, all as the deployment gives them) are
//! the ones the plan announced. The argv comes from scalepatch's readers and, wherever the test
//! has an independent way (the real `sh`/`bash` running the script, shell-form command or Procfile
//! line with stub programs; serde_json for exec form; Python's configparser and shlex for
//! supervisord and systemd), the two must agree.

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use scalepatch::engine::plan::{Plan, file_updates};
use scalepatch::facts::gunicorn::discovery::{self, Invocation, Origin};
use scalepatch::facts::serving::ServerKind;
use scalepatch::project::Project;
use scalepatch::project::config::{Config, Values};

fn open(root: &Path, case: &common::Case) -> Project {
    let spec = case.spec();
    let config = Config::load(root, &Values { cpus: spec.cpus, instances: spec.instances }).unwrap();
    Project::open(root, config).unwrap()
}

/// Plans both gunicorn patches together on a copy of the case and writes the result.
fn apply_both(case: &common::Case) -> (tempfile::TempDir, Vec<scalepatch::facts::gunicorn::PlannedServer>) {
    let tmp = case.copy();
    let project = open(tmp.path(), case);
    let patches: Vec<&'static dyn scalepatch::engine::patch::Patch> = ["gunicorn-workers", "gunicorn-worker-class"]
        .iter()
        .map(|id| scalepatch::patches::by_id(id).unwrap())
        .collect();
    let plan = Plan::build(&project, &patches);
    for outcome in plan.reports.iter().flat_map(|r| &r.outcomes) {
        assert!(
            !matches!(outcome, scalepatch::engine::outcome::Outcome::Error { message, .. } if message.contains("collides")),
            "{}: the two patches collide: {}",
            case.label(),
            outcome.describe()
        );
    }
    let changes: Vec<_> = plan.changes().collect();
    let planned = scalepatch::facts::gunicorn::analysis(&project).servers.clone();
    for update in file_updates(&project, &changes).unwrap() {
        std::fs::write(tmp.path().join(&update.path), update.after_bytes()).unwrap();
    }
    (tmp, planned)
}

/// A tiny WSGI application importable as `target` (`pkg.wsgi:application`, `app.wsgi`).
fn write_app(dir: &Path, target: &str) {
    let (module, attr) = target.split_once(':').unwrap_or((target, "application"));
    let parts: Vec<&str> = module.split('.').collect();
    let mut folder = dir.to_path_buf();
    for package in &parts[..parts.len() - 1] {
        folder.push(package);
        std::fs::create_dir_all(&folder).unwrap();
        std::fs::write(folder.join("__init__.py"), "").unwrap();
    }
    let body = format!(
        "def {attr}(environ, start_response):\n    start_response(\"200 OK\", [(\"Content-Type\", \"text/plain\")])\n    return [b\"ok\"]\n"
    );
    std::fs::write(folder.join(format!("{}.py", parts[parts.len() - 1])), body).unwrap();
}

/// argv as the process gets it: `$VAR` set earlier in the script replaced by its value.
fn argv(inv: &Invocation) -> Vec<String> {
    inv.args
        .iter()
        .map(|word| {
            let text = word.text.trim_start_matches('$').trim_matches(['{', '}']);
            match inv.script_vars.iter().rev().find(|(name, _)| word.text.starts_with('$') && name == text) {
                Some((_, value)) => value.text.clone(),
                None => word.text.clone(),
            }
        })
        .collect()
}

/// Whether the command line holds template expressions (`{{ workers }}`).
fn templated(inv: &Invocation) -> bool {
    inv.args.iter().any(|w| w.text.contains("{{") || w.text.contains("{%"))
}

/// Stub programs for running a start command with the real shell: `gunicorn` writes the argv it
/// receives (NUL-separated) to `$ARGV_DUMP`; the wrappers pass through to the next program.
const STUBS: &[(&str, &str)] = &[
    ("gunicorn", "#!/bin/sh\nfor a in \"$@\"; do printf '%s\\0' \"$a\"; done > \"$ARGV_DUMP\"\n"),
    ("newrelic-admin", "#!/bin/sh\nshift\nexec \"$@\"\n"),
    ("uv", "#!/bin/sh\nshift\nwhile [ \"${1#-}\" != \"$1\" ]; do shift; done\nexec \"$@\"\n"),
    ("python", "#!/bin/sh\nif [ \"$1\" = -m ]; then shift; exec \"$@\"; fi\nexit 0\n"),
    // Privilege and init wrappers: `su ... -c "command"` runs the string, the others drop their
    // options (`chpst -u app:app`, `dumb-init --single-child`, `runuser -u app --`).
    ("su", "#!/bin/sh\nwhile [ $# -gt 0 ]; do [ \"$1\" = -c ] && exec sh -c \"$2\"; shift; done\nexit 1\n"),
    ("runuser", "#!/bin/sh\nwhile [ \"$1\" != -- ]; do shift; done\nshift\nexec \"$@\"\n"),
    ("chpst", "#!/bin/sh\nwhile [ \"${1#-}\" != \"$1\" ]; do shift 2; done\nexec \"$@\"\n"),
    ("dumb-init", "#!/bin/sh\nwhile [ \"${1#-}\" != \"$1\" ]; do shift; done\nexec \"$@\"\n"),
    ("tini", "#!/bin/sh\nwhile [ \"$1\" != -- ]; do shift; done\nshift\nexec \"$@\"\n"),
    ("ddtrace-run", "#!/bin/sh\nexec \"$@\"\n"),
    ("opentelemetry-instrument", "#!/bin/sh\nexec \"$@\"\n"),
];

/// The argv gunicorn gets, found without scalepatch's readers: the real `sh` runs the start
/// script, the shell-form command or the Procfile line (with stub programs), and serde_json reads
/// an exec-form array. `None` for launchers the test has no independent reader for.
fn real_argv(root: &Path, inv: &Invocation) -> Option<Vec<String>> {
    let file = std::fs::read_to_string(root.join(&inv.path)).unwrap();
    let shell_command = match inv.origin {
        Origin::Script => None,
        Origin::Procfile => {
            let line = file.lines().nth(inv.line - 1).unwrap();
            Some(line.split_once(':').unwrap().1.to_owned())
        }
        Origin::DockerfileShell | Origin::DockerfileExec => {
            // Docker's reading: join `\` continuations, drop comment lines inside them.
            let mut instruction = String::new();
            for line in file.lines().skip(inv.line - 1) {
                let line = line.trim_end_matches('\r');
                if !instruction.is_empty() && line.trim_start().starts_with('#') {
                    continue;
                }
                match line.strip_suffix('\\') {
                    Some(head) => instruction.push_str(head),
                    None => {
                        instruction.push_str(line);
                        break;
                    }
                }
            }
            let (_, rest) = instruction.split_once(' ').unwrap();
            if inv.origin == Origin::DockerfileShell {
                Some(rest.to_owned())
            } else {
                let mut argv: Vec<String> = serde_json::from_str(rest.trim()).unwrap();
                if rest.trim_start().starts_with('[') && instruction.starts_with("ENTRYPOINT") {
                    let cmd = file.lines().rev().find(|l| l.starts_with("CMD [")).map(|l| &l[4..]);
                    argv.extend(cmd.map(|c| serde_json::from_str::<Vec<String>>(c).unwrap()).unwrap_or_default());
                }
                match argv.iter().position(|a| a == "-c") {
                    Some(i) if argv[0] == "sh" => Some(argv[i + 1].clone()),
                    _ => return Some(argv[argv.iter().position(|a| a.ends_with("gunicorn"))? + 1..].to_vec()),
                }
            }
        }
        // App Engine runs the entrypoint with the shell (`$PORT` expands); the line's text after
        // `entrypoint:` is the command.
        Origin::AppEngine => {
            let line = file.lines().nth(inv.line - 1).unwrap();
            Some(line.split_once("entrypoint:").unwrap().1.to_owned())
        }
        // Python's tomllib reads fly.toml; the process command runs under the shell.
        Origin::Fly => Some(fly_process(&root.join(&inv.path))),
        // render.yaml, railway.toml / railway.json and heroku.yml, read by PyYAML, tomllib and
        // json; the command runs under the shell (`migrate && gunicorn ...`, with stubs).
        Origin::Render | Origin::Railway | Origin::HerokuYml => Some(platform_command(&root.join(&inv.path))),
        Origin::Supervisord | Origin::Systemd => return python_argv(root, inv),
        _ => return None,
    };
    let stubs = tempfile::tempdir().unwrap();
    for (name, body) in STUBS {
        let path = stubs.path().join(name);
        std::fs::write(&path, body).unwrap();
        std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    }
    let dump = stubs.path().join("argv");
    // Absolute program paths (`/usr/local/bin/gunicorn`) would miss the stubs: call them by name.
    let by_name = |text: &str| {
        text.split_inclusive(char::is_whitespace)
            .map(|token| match token.trim_end().strip_suffix("/gunicorn") {
                Some(path) if !path.contains(['"', '\'', '$']) => {
                    token.replacen(&format!("{path}/gunicorn"), "gunicorn", 1)
                }
                _ => token.to_owned(),
            })
            .collect::<String>()
    };
    let shell = if file.starts_with("#!/bin/bash") || file.starts_with("#!/usr/bin/env bash") { "bash" } else { "sh" };
    let mut command = Command::new(shell);
    match shell_command {
        Some(line) => command.arg("-c").arg(by_name(&line)),
        None => {
            let script = stubs.path().join("script");
            std::fs::write(&script, by_name(&file)).unwrap();
            command.arg(script)
        }
    };
    let path = format!("{}:{}", stubs.path().display(), std::env::var("PATH").unwrap_or_default());
    // The port a platform gives the process (Heroku's `$PORT`).
    command.env("PATH", path).env("ARGV_DUMP", &dump).env("PORT", "8000").current_dir(root);
    for var in &inv.env {
        command.env(&var.key, &var.value.text);
    }
    let output = command.output().unwrap();
    assert!(output.status.success(), "{}: sh failed: {}", inv.path.display(), String::from_utf8_lossy(&output.stderr));
    let bytes =
        std::fs::read(&dump).unwrap_or_else(|_| panic!("{}: the stub gunicorn was not run", inv.path.display()));
    let bytes = bytes.strip_suffix(b"\0").unwrap_or(&bytes);
    if bytes.is_empty() {
        return Some(Vec::new());
    }
    Some(bytes.split(|&b| b == 0).map(|a| String::from_utf8_lossy(a).into_owned()).collect())
}

/// The `[processes]` command of a fly.toml that runs gunicorn, as Python's tomllib reads it.
fn fly_process(path: &Path) -> String {
    let script = "import sys, tomllib\nprocs = tomllib.load(open(sys.argv[1], 'rb'))['processes']\nprint(next(c for c in procs.values() if 'gunicorn' in c))";
    let output = Command::new(common::tools::python()).arg("-c").arg(script).arg(path).output().unwrap();
    assert!(output.status.success(), "{}: tomllib: {}", path.display(), String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim_end().to_owned()
}

/// The command of a Render, Railway or heroku.yml file that runs gunicorn, as Python reads it.
fn platform_command(path: &Path) -> String {
    let script = r#"
import json, sys, tomllib, yaml
path = sys.argv[1]
if path.endswith(".toml"):
    data = tomllib.load(open(path, "rb"))
elif path.endswith(".json"):
    data = json.load(open(path))
else:
    data = yaml.safe_load(open(path))
if path.endswith("render.yaml"):
    found = [s.get("startCommand") or s.get("dockerCommand") for s in data["services"]]
elif path.endswith("heroku.yml"):
    found = [c if isinstance(c, str) else c["command"][0] for c in data["run"].values()]
else:
    found = [data["deploy"]["startCommand"]]
print(next(c for c in found if c and "gunicorn" in c))
"#;
    let output = Command::new(common::tools::python()).arg("-c").arg(script).arg(path).output().unwrap();
    assert!(output.status.success(), "{}: {}", path.display(), String::from_utf8_lossy(&output.stderr));
    String::from_utf8(output.stdout).unwrap().trim_end().to_owned()
}

/// supervisord's reading (configparser, then shlex) or systemd's (`\\` continuations joined,
/// then shlex), done by Python's standard library.
fn python_argv(root: &Path, inv: &Invocation) -> Option<Vec<String>> {
    let script = r#"
import configparser, shlex, sys
path, kind = sys.argv[1], sys.argv[2]
if kind == "supervisord":
    parser = configparser.RawConfigParser()
    parser.read(path)
    lines = [parser.get(s, "command") for s in parser.sections() if s.startswith("program:") and parser.has_option(s, "command")]
else:
    text = open(path).read().replace("\\\n", " ")
    lines = [l.split("=", 1)[1].lstrip("-@:+!") for l in text.splitlines() if l.strip().startswith("ExecStart=")]
for line in lines:
    words = shlex.split(line)
    for i, word in enumerate(words):
        if word.rsplit("/", 1)[-1] == "gunicorn":
            sys.stdout.write("\0".join(words[i + 1:]))
            sys.exit(0)
sys.exit(1)
"#;
    let kind = if inv.origin == Origin::Supervisord { "supervisord" } else { "systemd" };
    let output = Command::new(common::tools::python())
        .arg("-c")
        .arg(script)
        .arg(root.join(&inv.path))
        .arg(kind)
        .output()
        .unwrap();
    assert!(output.status.success(), "{}: Python found no gunicorn command", inv.path.display());
    Some(String::from_utf8(output.stdout).unwrap().split('\0').map(str::to_owned).collect())
}

/// Whether the command line holds values only known at runtime (a template expression, a variable
/// that neither the script nor a default sets): gunicorn cannot be run on it as written.
fn unknowable(inv: &Invocation) -> bool {
    inv.args.iter().any(|word| {
        let name = word.text.trim_start_matches('$').trim_matches(['{', '}']);
        word.text.contains("{{") || (word.is_dynamic() && !inv.script_vars.iter().any(|(var, _)| var == name))
    })
}

/// The environment the process gets: scalepatch's reading, and for supervisord the real
/// supervisor's (`ServerOptions.process_config`, `%(ENV_X)s` given a placeholder), or for systemd
/// `Environment=` split by Python's shlex: the two must agree on every value known before run time.
fn process_env(root: &Path, inv: &Invocation, label: &str) -> Vec<(String, String)> {
    // A value set on the platform, not in the files (`sync: false` on Render), is not known.
    let ours: Vec<(String, String)> =
        inv.env.iter().filter(|v| !v.value.is_dynamic()).map(|v| (v.key.clone(), v.value.text.clone())).collect();
    let script = match inv.origin {
        Origin::Supervisord => SUPERVISOR_ENV,
        Origin::Systemd => SYSTEMD_ENV,
        _ => return ours,
    };
    let output =
        Command::new(common::tools::python()).arg("-c").arg(script).arg(root.join(&inv.path)).output().unwrap();
    assert!(output.status.success(), "{label}: {}", String::from_utf8_lossy(&output.stderr));
    let theirs: Vec<(String, String)> = String::from_utf8(output.stdout)
        .unwrap()
        .split('\0')
        .filter_map(|pair| pair.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
        .collect();
    for (key, value) in &theirs {
        let Some(var) = inv.env.iter().rev().find(|v| v.key == *key && v.path == inv.path) else {
            panic!("{label}: the launcher sets {key}={value}, scalepatch did not read it")
        };
        if !var.value.is_dynamic() {
            assert_eq!(&var.value.text, value, "{label}: {key}");
        }
    }
    // Values from files the launcher reads (an EnvironmentFile=) come after and win.
    let mut env = theirs;
    env.extend(ours.into_iter().filter(|(k, _)| inv.env.iter().any(|v| v.key == *k && v.path != inv.path)));
    env
}

/// supervisor's own reading of the program that runs gunicorn (a conf.d fragment gets the
/// `[supervisord]` section supervisor requires).
const SUPERVISOR_ENV: &str = r#"
import os, re, sys, tempfile
from supervisor.options import ServerOptions
text = open(sys.argv[1]).read()
for name in re.findall(r"%\(ENV_(\w+)\)s", text):
    os.environ.setdefault(name, "unknown")
# The account named by user= does not exist on the test machine.
text = re.sub(r"(?m)^user\s*=.*$", "", text)
if "[supervisord]" not in text:
    text = "[supervisord]\n" + text
with tempfile.NamedTemporaryFile("w", suffix=".conf", delete=False) as f:
    f.write(text)
o = ServerOptions()
o.configfile = f.name
o.process_config(do_usage=False)
for group in o.process_group_configs:
    for p in group.process_configs:
        if "gunicorn" in p.command:
            sys.stdout.write("\0".join(f"{k}={v}" for k, v in (p.environment or {}).items()))
            sys.exit(0)
sys.exit(1)
"#;

/// systemd's `Environment=` lines (continuations joined, an empty one resetting), split by shlex.
const SYSTEMD_ENV: &str = r#"
import shlex, sys
text = open(sys.argv[1]).read().replace("\\\n", " ")
env = {}
for line in text.splitlines():
    key, _, value = line.strip().partition("=")
    if key.strip() == "Environment":
        if not value.strip():
            env = {}
        for word in shlex.split(value):
            k, _, v = word.partition("=")
            env.pop(k, None)
            env[k] = v
sys.stdout.write("\0".join(f"{k}={v}" for k, v in env.items()))
"#;

/// Runs `gunicorn --print-config` for one start and returns the settings it printed.
fn print_config(root: &Path, inv: &Invocation, alone_in_file: bool, label: &str) -> Option<BTreeMap<String, String>> {
    let mut args = argv(inv);
    if let Some(real) = real_argv(root, inv).filter(|_| alone_in_file) {
        // Words only known at runtime (`0.0.0.0:$PORT`, `${WORKERS:-3}` with WORKERS set by the
        // deployment) are compared by the real shell's value.
        let fixed = |w: &scalepatch::lang::shell::Word| {
            !w.is_dynamic() && !w.vars.iter().any(|v| inv.env_var(&v.name).is_some())
        };
        let ours: Vec<Option<&str>> = inv.args.iter().zip(&args).map(|(w, a)| fixed(w).then_some(a.as_str())).collect();
        let theirs: Vec<Option<&str>> =
            inv.args.iter().zip(&real).map(|(w, a)| fixed(w).then_some(a.as_str())).collect();
        assert_eq!(args.len(), real.len(), "{label}: scalepatch read {args:?}, the real shell ran {real:?}");
        assert_eq!(ours, theirs, "{label}: scalepatch's reading of the command differs from the real shell's");
        args = real;
    } else if unknowable(inv) {
        return None;
    }
    if args.iter().any(String::is_empty) {
        // A variable the deployment sets and the test cannot know (`"$WSGI_APP"`).
        return None;
    }
    let flags = scalepatch::facts::gunicorn::flags::parse(&inv.args);
    let target = flags.target.map(|i| args[i].clone()).unwrap_or_else(|| "app.wsgi:application".to_owned());
    let apps = tempfile::tempdir().unwrap();
    write_app(apps.path(), &target);
    // The launcher's working directory when it maps into the project (supervisord directory=,
    // systemd WorkingDirectory=), else the launcher file's folder.
    let cwd = inv
        .working_dirs
        .iter()
        .map(|dir| root.join(dir))
        .find(|dir| dir.join("gunicorn.conf.py").is_file())
        .unwrap_or_else(|| root.join(inv.path.parent().unwrap_or(Path::new(""))));
    // `--chdir=/app` names a folder inside the image: the test runs in the project copy instead.
    if let Some(i) = args.iter().position(|a| a.starts_with("--chdir")) {
        args.drain(i..if args[i].contains('=') { i + 1 } else { i + 2 });
    }
    let mut command = Command::new(common::tools::gunicorn());
    command.arg("--print-config").args(&args).current_dir(&cwd);
    if flags.target.is_none() {
        command.arg(&target);
    }
    command.env_remove("WEB_CONCURRENCY").env_remove("GUNICORN_CMD_ARGS");
    let mut pythonpath = vec![apps.path().to_path_buf(), root.to_path_buf()];
    pythonpath.push(cwd.clone());
    command.env("PYTHONPATH", std::env::join_paths(pythonpath).unwrap());
    for (key, value) in process_env(root, inv, label) {
        command.env(key, value);
    }
    let output = command.output().expect("gunicorn runs");
    let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
    assert!(
        output.status.success(),
        "{label}: gunicorn --print-config {args:?} failed in {}:\n{stdout}\n{}",
        cwd.display(),
        String::from_utf8_lossy(&output.stderr)
    );
    Some(
        stdout
            .lines()
            .filter_map(|line| line.split_once(" = ").map(|(k, v)| (k.trim().to_owned(), v.trim().to_owned())))
            .collect(),
    )
}

/// The real gunicorn agrees with the plan for every gunicorn start of the case it can run;
/// returns how many starts `gunicorn --print-config` actually confirmed. A start it cannot run
/// (a value only known at runtime, nothing planned) is not counted.
fn check_with_gunicorn(case: &common::Case) -> usize {
    let (tmp, planned) = apply_both(case);
    let patched = open(tmp.path(), case);
    let found = discovery::discover(&patched);
    let errors: Vec<String> = found
        .errors
        .iter()
        .filter(|e| matches!(e, scalepatch::facts::problem::Problem::Unreadable { .. }))
        .map(|e| e.describe())
        .collect();
    assert!(errors.is_empty(), "{}: the patched files no longer read cleanly: {errors:?}", case.label());
    let mut verified = 0;
    let mut per_file: BTreeMap<PathBuf, usize> = BTreeMap::new();
    let planned_by_file = |path: &Path, ordinal: usize| planned.iter().filter(|p| p.location.path == path).nth(ordinal);
    for inv in found.invocations.iter().filter(|inv| inv.server == ServerKind::Gunicorn && !development(inv)) {
        let ordinal = per_file.entry(inv.path.clone()).or_default();
        let Some(plan) = planned_by_file(&inv.path, *ordinal) else { continue };
        *ordinal += 1;
        let nothing_planned = plan.workers.is_none() && plan.worker_class.is_none() && plan.threads.is_none();
        let alone = found.invocations.iter().filter(|other| other.path == inv.path).count() == 1;
        // A runtime value can still be checked when the real shell computes it (`$PORT`).
        let by_shell = alone
            && matches!(
                inv.origin,
                Origin::Script
                    | Origin::Procfile
                    | Origin::DockerfileShell
                    | Origin::AppEngine
                    | Origin::Fly
                    | Origin::Render
                    | Origin::Railway
                    | Origin::HerokuYml
            );
        let needs_runtime = unknowable(inv) && (templated(inv) || !by_shell);
        if needs_runtime || nothing_planned {
            continue;
        }
        let label = format!("{} ({}:{})", case.label(), inv.path.display(), inv.line);
        let Some(config) = print_config(tmp.path(), inv, alone, &label) else { continue };
        if let Some(workers) = plan.workers {
            assert_eq!(config["workers"], workers.to_string(), "{label}: workers");
        }
        if let Some(class) = &plan.worker_class {
            assert_eq!(&config["worker_class"], class, "{label}: worker_class");
        }
        if let Some(threads) = plan.threads {
            assert_eq!(config["threads"], threads.to_string(), "{label}: threads");
        }
        verified += 1;
    }
    verified
}

/// Every case, then the real gunicorn on both patches' result: each case states in
/// `[gunicorn] verified = N` how many of its starts gunicorn must confirm, so that a start the
/// test silently stops running fails instead of passing.
fn run_cases(patch: &str) {
    let mut total = 0;
    let mut wrong = Vec::new();
    for case in common::cases(patch) {
        case.check();
        let verified = check_with_gunicorn(&case);
        let declared = case.spec().gunicorn.map(|g| g.verified);
        if declared != Some(verified) {
            wrong.push(format!("{}: gunicorn verified {verified} start(s), case.toml says {declared:?}", case.label()));
        }
        total += verified;
    }
    assert!(wrong.is_empty(), "[gunicorn] verified = N differs:\n{}", wrong.join("\n"));
    assert!(total > 0, "no case was verified with the real gunicorn");
}

#[test]
fn gunicorn_workers_cases() {
    run_cases("gunicorn-workers");
}

#[test]
fn gunicorn_worker_class_cases() {
    run_cases("gunicorn-worker-class");
}

/// The serving facts other patches use (connection budget, threads per process) are the ones
/// both gunicorn patches leave, at the place gunicorn is started.
#[test]
fn serving_facts_after_phase_1() {
    let case = common::cases("gunicorn-workers").into_iter().find(|c| c.name == "sample-entrypoint-and-cmd").unwrap();
    let tmp = case.copy();
    let project = open(tmp.path(), &case);
    let serving = scalepatch::facts::serving::serving(&project);
    assert_eq!(serving.server, ServerKind::Gunicorn);
    assert_eq!(serving.location.as_ref().unwrap().to_string(), "Dockerfile:12");
    assert_eq!((serving.workers, serving.threads, serving.worker_class.as_str()), (5, 4, "gthread"));
    let cpus = scalepatch::facts::serving::cpu_count(&project);
    assert_eq!(cpus.value, 2);
    assert!(cpus.source.starts_with("assumed"), "{}", cpus.source);

    let case = common::cases("gunicorn-workers").into_iter().find(|c| c.name == "compose-string-cpu-limit").unwrap();
    let tmp = case.copy();
    let project = open(tmp.path(), &case);
    let cpus = scalepatch::facts::serving::cpu_count(&project);
    assert_eq!(cpus.value, 4, "{}", cpus.source);
    assert!(cpus.source.contains("docker-compose.yml:8"), "{}", cpus.source);
    assert_eq!(scalepatch::facts::serving::serving(&project).workers, 9);
}

/// A `--reload` start is a development server: both patches skip it, so it has no plan.
fn development(inv: &Invocation) -> bool {
    inv.args.iter().any(|w| w.text == "--reload")
}

/// A Kubernetes container's CPU limit decides the worker count of the start it runs, and its
/// workload's `spec.replicas` the instance count of the connection budget (`--instances` wins).
#[test]
fn kubernetes_container_facts() {
    let facts = |name: &str, instances: Option<u32>| {
        let case = common::cases("gunicorn-workers").into_iter().find(|c| c.name == name).unwrap();
        let tmp = case.copy();
        let config = Config::load(tmp.path(), &Values { cpus: None, instances }).unwrap();
        let project = Project::open(tmp.path(), config).unwrap();
        let cpus = scalepatch::facts::serving::cpu_count(&project);
        let budget = scalepatch::facts::budget::Budget::of(&project);
        (cpus.value, cpus.source, budget.instances.value, budget.instances.source)
    };
    let (cpus, source, instances, instances_source) = facts("kubernetes-command-flow", None);
    assert_eq!(cpus, 2, "{source}");
    // The web container's limit, not the Celery sidecar's 4 CPUs.
    assert_eq!(source, "Kubernetes resources.limits.cpu 2 of Deployment/web, container web (k8s/deployment.yaml:15)");
    assert_eq!(instances, 2, "{instances_source}");
    assert_eq!(instances_source, "Kubernetes spec.replicas 2 of Deployment/web, container web (k8s/deployment.yaml:6)");
    let (_, _, instances, instances_source) = facts("kubernetes-command-flow", Some(5));
    assert_eq!(instances, 5, "--instances wins over spec.replicas: {instances_source}");

    let (cpus, source, instances, _) = facts("kubernetes-multi-document-block", None);
    assert_eq!((cpus, instances), (1, 1), "500m is one whole CPU: {source}");
    assert!(source.contains("StatefulSet/web, container django (deploy/web.yml:29)"), "{source}");

    // A container without command/args runs the image's CMD: its limit and replicas apply to it.
    let (cpus, source, instances, instances_source) = facts("kubernetes-image-cmd-env", None);
    assert_eq!((cpus, instances), (2, 2), "{source}; {instances_source}");
    assert!(instances_source.contains("Deployment/web, container web (k8s/app.yaml:17)"), "{instances_source}");

    // `replicas: {{ .Values.replicaCount }}` is only known once rendered: assumed, not read.
    let (_, _, instances, instances_source) = facts("kubernetes-helm-outside-template", None);
    assert_eq!(instances, 1);
    assert!(instances_source.starts_with("assumed"), "{instances_source}");
}

/// The assumptions of the first change gunicorn-workers plans for the case `name`.
fn first_workers_change_assumptions(name: &str) -> Vec<String> {
    let case = common::cases("gunicorn-workers").into_iter().find(|c| c.name == name).unwrap();
    let tmp = case.copy();
    let project = open(tmp.path(), &case);
    let patch = scalepatch::patches::by_id("gunicorn-workers").unwrap();
    let plan = Plan::build(&project, &[patch]);
    plan.changes().next().expect("a change is planned").assumptions.clone()
}

/// A count raised as the default of an environment variable says that production's value of that
/// variable, where it is set, still decides (kitsune's `int(getenv("WSGI_NUM_WORKERS", 3))`).
#[test]
fn a_raised_env_default_names_its_variable() {
    let assumptions = first_workers_change_assumptions("config-file-env-default");
    assert!(
        assumptions.iter().any(|a| a.starts_with("the raised value is the default of GUNICORN_WORKERS")
            && a.contains("where production's environment sets GUNICORN_WORKERS, that value still decides")),
        "{assumptions:?}"
    );
}

/// A count raised in the config file of a start whose environment also comes from an env file made
/// at deploy time (its template sets GUNICORN_CMD_ARGS) says that a --workers there would win.
#[test]
fn a_raise_under_an_unseen_environment_says_what_may_win() {
    let assumptions = first_workers_change_assumptions("config-file-beside-env-file-made-at-deploy");
    assert!(
        assumptions.iter().any(|a| a.starts_with(
            "the environment also comes from env_file .env of service web, which is not in the project (its template .env.example sets GUNICORN_CMD_ARGS)"
        ) && a.contains("a GUNICORN_CMD_ARGS with --workers set there would win over this value")),
        "{assumptions:?}"
    );
}
