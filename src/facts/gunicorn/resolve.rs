//! gunicorn's own precedence, applied to one invocation: command line > `GUNICORN_CMD_ARGS` >
//! config file (`-c`, else `./gunicorn.conf.py`) > `WEB_CONCURRENCY`. The result names, for each
//! setting, the source that decides it and the bytes that hold its value.

use std::ops::Range;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::config_file::{self, ConfigFile};
use super::discovery::{EnvVar, Invocation};
use super::flags::{self, FlagValue, Flags};
use crate::facts::problem::Problem;
use crate::lang::shell::{self, Word};
use crate::project::Project;
use crate::text::edit::Edit;
use crate::text::location::Location;
use crate::text::source::SourceFile;

/// A setting's value as far as it can be known before the server runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Int(u32),
    Text(String),
    /// Computed at start-up from the machine (`multiprocessing.cpu_count() * 2 + 1`).
    Formula(String),
    /// Decided at runtime by something scalepatch cannot see (`$WORKERS`, a function call).
    Dynamic(String),
}

/// The sources of a setting, lowest precedence first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum SourceKind {
    WebConcurrency,
    ConfigFile,
    CmdArgs,
    CommandLine,
}

impl SourceKind {
    /// Why a setting from this source is the one gunicorn runs with (its precedence).
    pub fn why_it_decides(self) -> &'static str {
        match self {
            SourceKind::CommandLine => "the command line wins over every other source gunicorn reads",
            SourceKind::CmdArgs => {
                "GUNICORN_CMD_ARGS wins over the config file and WEB_CONCURRENCY, and the command line does not set it"
            }
            SourceKind::ConfigFile => {
                "the config file wins over WEB_CONCURRENCY, and neither the command line nor GUNICORN_CMD_ARGS set it"
            }
            SourceKind::WebConcurrency => {
                "WEB_CONCURRENCY is gunicorn's default for workers and nothing of higher precedence sets it; a new flag would silently override it"
            }
        }
    }
}

/// A setting and the place that decides it.
#[derive(Debug, Clone)]
pub struct Setting {
    pub value: Value,
    pub source: SourceKind,
    pub path: PathBuf,
    pub line: usize,
    /// The bytes to rewrite for a new value.
    pub range: Option<Range<usize>>,
    /// For messages: `--workers in Dockerfile CMD (exec form)`.
    pub what: String,
    /// The word holding the value (flag sources): a companion flag goes right after it.
    pub word: Option<Word>,
    /// The end of the assignment's line (config files): a companion line goes there.
    pub line_end: Option<usize>,
}

impl Setting {
    pub fn location(&self) -> Location {
        Location::new(self.path.clone(), self.line)
    }

    /// Whether a new value can be written over the old one: the bytes are known and are not
    /// part of a template expression (`{{ }}`, `{% %}`) of a file that is rendered before it runs.
    pub fn editable(&self, project: &Project) -> Editable {
        let Some(range) = self.range.clone() else { return Editable::NoRange };
        match project.read(&self.path) {
            Ok(file) if super::write::touches_template(&file.text, &[Edit::replace(range.clone(), "")]) => {
                Editable::InTemplate
            }
            Ok(_) => Editable::InPlace(range),
            Err(err) => Editable::Unreadable(err),
        }
    }
}

/// Whether a setting's value can be rewritten where it is written ([`Setting::editable`]).
#[derive(Debug)]
pub enum Editable {
    /// These bytes hold the value.
    InPlace(Range<usize>),
    /// The value cannot be rewritten in place (an `env_file` value scalepatch did not map back).
    NoRange,
    /// The value sits inside a template expression.
    InTemplate,
    /// Its file cannot be read.
    Unreadable(crate::project::InputError),
}

/// The command-line-like words of one source (the invocation's arguments or `GUNICORN_CMD_ARGS`).
#[derive(Debug, Clone)]
pub struct ArgWords {
    pub path: PathBuf,
    /// The line of every word when they come from one env var (`GUNICORN_CMD_ARGS=...`).
    pub fixed_line: Option<usize>,
    pub words: Vec<Word>,
    pub flags: Flags,
}

/// The config file gunicorn loads for an invocation.
#[derive(Debug, Clone)]
pub struct LoadedConfig {
    pub path: PathBuf,
    pub file: Arc<SourceFile>,
    pub config: ConfigFile,
}

/// Everything that decides workers, worker class and threads for one invocation.
#[derive(Debug, Clone)]
pub struct Resolved {
    pub cli: ArgWords,
    pub cmd_args: Option<(EnvVar, ArgWords)>,
    pub config: Option<LoadedConfig>,
    pub workers: Option<Setting>,
    pub worker_class: Option<Setting>,
    pub threads: Option<Setting>,
    /// The application argument (`wingman.wsgi:application`), when on the command line.
    pub target: Option<String>,
    /// A `-c` file named on the command line that is not in the project (it may set anything).
    pub unseen_config: Option<String>,
    /// An argument only known at runtime (`"$@"`, `$GUNICORN_ARGS`) that may hold any option.
    pub opaque_args: Option<String>,
    /// An environment source outside the project (may set GUNICORN_CMD_ARGS or WEB_CONCURRENCY).
    pub unseen_env: Option<String>,
    /// `GUNICORN_CMD_ARGS` holding a value known only when the image is built or started
    /// (`ENV GUNICORN_CMD_ARGS="${GUNICORN_CMD_ARGS}"` from a build argument), described.
    pub opaque_cmd_args: Option<String>,
}

/// Resolves one invocation; `Err` when its config file cannot be read.
pub fn resolve(project: &Project, inv: &Invocation) -> Result<Resolved, Box<Problem>> {
    let cli =
        ArgWords { path: inv.path.clone(), fixed_line: None, flags: flags::parse(&inv.args), words: inv.args.clone() };
    let cmd_args = inv.env_var("GUNICORN_CMD_ARGS").map(|var| {
        let words: Vec<Word> = shell::words(&var.value.text).iter().map(|w| w.remap(&var.value.offsets)).collect();
        let flags = flags::parse(&words);
        (var.clone(), ArgWords { path: var.path.clone(), fixed_line: Some(var.line), words, flags })
    });
    let config_ref =
        cli.flags.config.as_ref().map(|v| v.text(&cli.words).to_owned()).or_else(|| {
            cmd_args.as_ref().and_then(|(_, a)| a.flags.config.as_ref().map(|v| v.text(&a.words).to_owned()))
        });
    let config = match find_config(project, inv, config_ref.as_deref()) {
        Some(path) => {
            let file = project.read(&path).map_err(|err| Box::new(Problem::from(err)))?;
            let config = config_file::read(file.clone())?;
            Some(LoadedConfig { path, file, config })
        }
        None => None,
    };
    let unseen_config = config_ref.filter(|_| config.is_none());

    let from_flags = |args: &ArgWords, pick: fn(&Flags) -> &Option<FlagValue>, kind: SourceKind, what: &str| {
        pick(&args.flags).as_ref().map(|value| flag_setting(inv, args, value, kind, what))
    };
    let cli_what = inv.origin.describe();
    let env_what = |var: &EnvVar| format!("GUNICORN_CMD_ARGS ({})", var.what);
    let pick_setting = |pick: fn(&Flags) -> &Option<FlagValue>,
                        name: &str,
                        config_pick: fn(&ConfigFile) -> &Option<config_file::Assignment>| {
        from_flags(&cli, pick, SourceKind::CommandLine, &format!("{name} on the {cli_what} command line"))
            .or_else(|| {
                cmd_args.as_ref().and_then(|(var, args)| {
                    from_flags(args, pick, SourceKind::CmdArgs, &format!("{name} in {}", env_what(var)))
                })
            })
            .or_else(|| {
                let loaded = config.as_ref()?;
                let assignment = config_pick(&loaded.config).as_ref()?;
                // `workers = int(os.environ.get("X", 3))` with X set for the process: X decides.
                if let Some(var) = assignment.env_var.as_deref().and_then(|name| inv.env_var(name)) {
                    return Some(env_setting(
                        var,
                        SourceKind::ConfigFile,
                        &format!("{} (read by {}:{})", var.key, loaded.path.display(), assignment.line),
                    ));
                }
                if name == "--workers"
                    && let Some(setting) = platform_default(inv, loaded, assignment)
                {
                    return Some(setting);
                }
                Some(Setting {
                    value: assignment.value.clone(),
                    source: SourceKind::ConfigFile,
                    path: loaded.path.clone(),
                    line: assignment.line,
                    range: assignment.range.clone(),
                    what: format!("{} in {}", config_name(name), loaded.path.display()),
                    word: None,
                    line_end: Some(assignment.line_end),
                })
            })
    };
    let workers = pick_setting(|f| &f.workers, "--workers", |c| &c.workers).or_else(|| {
        inv.env_var("WEB_CONCURRENCY")
            .map(|var| env_setting(var, SourceKind::WebConcurrency, &format!("WEB_CONCURRENCY ({})", var.what)))
    });
    let worker_class = pick_setting(|f| &f.worker_class, "--worker-class", |c| &c.worker_class);
    let threads = pick_setting(|f| &f.threads, "--threads", |c| &c.threads);
    let target = cli.flags.target.map(|i| cli.words[i].text.clone());
    let opaque_args = opaque_argument(inv, &cli);
    let opaque_cmd_args = cmd_args.as_ref().and_then(|(var, args)| opaque_env_words(var, args));
    // Gunicorn's variables may come from any unseen source but one known to set only the
    // settings module.
    let unseen_env = inv.unseen_env.iter().find(|unseen| !unseen.settings_only).map(|unseen| unseen.source.clone());
    Ok(Resolved {
        cli,
        cmd_args,
        config,
        workers,
        worker_class,
        threads,
        target,
        unseen_config,
        opaque_args,
        unseen_env,
        opaque_cmd_args,
    })
}

/// `GUNICORN_CMD_ARGS` with a word known only at build or run time that is not the value of an
/// option scalepatch reads (`${GUNICORN_CMD_ARGS}`, `$EXTRA`): it may hold any option. Described
/// for messages.
fn opaque_env_words(var: &EnvVar, args: &ArgWords) -> Option<String> {
    let flags = &args.flags;
    let values: Vec<usize> = [&flags.workers, &flags.worker_class, &flags.threads, &flags.config]
        .iter()
        .filter_map(|v| v.as_ref().map(|v| v.word))
        .collect();
    let opaque = args.words.iter().enumerate().any(|(i, word)| word.is_dynamic() && !values.contains(&i));
    opaque.then(|| format!("GUNICORN_CMD_ARGS = `{}` ({}, line {})", var.value.text, var.what, var.line))
}

/// `workers = os.environ.get("WEB_CONCURRENCY", 1)` in a start whose platform sets
/// WEB_CONCURRENCY at boot (a Procfile on Heroku, see [`super::discovery::Platform`]): the
/// platform's value decides, the default only applies where nothing sets the variable, so it is
/// reported as decided at runtime rather than raised where production never reads it.
fn platform_default(inv: &Invocation, loaded: &LoadedConfig, assignment: &config_file::Assignment) -> Option<Setting> {
    let platform = inv.platform.as_ref().filter(|(p, _)| p.sets_web_concurrency().is_some())?.0;
    (assignment.env_var.as_deref() == Some("WEB_CONCURRENCY")).then(|| Setting {
        value: Value::Dynamic(format!(
            "WEB_CONCURRENCY, which the platform running this {} start sets at boot (Heroku's Python buildpack: from the dyno size); the default in {} only applies where nothing sets it",
            platform.describe(),
            loaded.path.display()
        )),
        source: SourceKind::ConfigFile,
        path: loaded.path.clone(),
        line: assignment.line,
        range: None,
        what: format!("workers in {}", loaded.path.display()),
        word: None,
        line_end: Some(assignment.line_end),
    })
}

/// The first argument that is only known at runtime and is not an option's value: it may expand
/// to any options. A lone dynamic positional (`gunicorn "$WSGI_APP"`) is taken as the application.
fn opaque_argument(inv: &Invocation, cli: &ArgWords) -> Option<String> {
    let values: Vec<usize> = [&cli.flags.workers, &cli.flags.worker_class, &cli.flags.threads, &cli.flags.config]
        .iter()
        .filter_map(|v| v.as_ref().map(|v| v.word))
        .collect();
    let positional: Vec<usize> = (0..cli.words.len())
        .filter(|&i| !values.contains(&i) && !cli.words[i].text.starts_with('-'))
        .filter(|&i| i == 0 || !takes_value(&cli.words[i - 1].text))
        .collect();
    let resolvable = |word: &Word| {
        let name = word.text.trim_start_matches('$').trim_matches(['{', '}']);
        inv.script_vars.iter().any(|(var, _)| var == name)
    };
    cli.words
        .iter()
        .enumerate()
        .filter(|(i, word)| word.is_dynamic() && !resolvable(word) && !values.contains(i))
        .find(|(i, _)| !(positional.len() == 1 && positional[0] == *i) && positional.contains(i))
        .map(|(_, word)| word.text.clone())
}

/// Whether an option word takes the next word as its value (`--bind 0.0.0.0:8000`).
fn takes_value(option: &str) -> bool {
    option.starts_with('-') && !option.contains('=') && flags::takes_value(option)
}

fn config_name(flag: &str) -> &'static str {
    match flag {
        "--workers" => "workers",
        "--worker-class" => "worker_class",
        _ => "threads",
    }
}

fn value_of(text: &str, word: &Word) -> Value {
    if text.contains("{{") || text.contains("{%") {
        return Value::Dynamic("a template expression".to_owned());
    }
    if word.is_dynamic() {
        // `$(nproc)`, `$((2 * $(nproc) + 1))`: a formula evaluated on the machine it runs on.
        if text.contains("nproc") || text.contains("cpu_count") || text.contains("getconf _NPROCESSORS") {
            return Value::Formula(text.to_owned());
        }
        return Value::Dynamic(text.to_owned());
    }
    match text.trim().parse::<u32>() {
        Ok(n) => Value::Int(n),
        Err(_) => Value::Text(text.trim().to_owned()),
    }
}

fn flag_setting(inv: &Invocation, args: &ArgWords, value: &FlagValue, source: SourceKind, what: &str) -> Setting {
    let word = &args.words[value.word];
    let text = value.text(&args.words);
    // `-w $WORKERS` with `WORKERS=${WORKERS:-3}` earlier in the script: the assignment decides.
    if let Some(var) = word.vars.iter().find(|v| !v.has_default && v.text_range == value.text_range)
        && let Some((_, assigned)) = inv.script_vars.iter().rev().find(|(name, _)| *name == var.name)
        && !assigned.is_dynamic()
    {
        return Setting {
            value: value_of(&assigned.text, assigned),
            source,
            path: inv.path.clone(),
            line: inv.file.line_of(assigned.span.start),
            range: assigned.source_range(0..assigned.text.len()),
            what: format!("{what} (via ${} set in {})", var.name, inv.path.display()),
            word: Some(word.clone()),
            line_end: None,
        };
    }
    // `--workers "$GUNICORN_WORKERS"` (or `${GUNICORN_WORKERS:-3}`) with the variable set for the
    // process by the deployment (Dockerfile ENV, compose environment / env_file): that setting
    // decides; a default in the command only applies when nothing sets it.
    if let Some(var) = word.vars.iter().find(|v| v.text_range == value.text_range)
        && !inv.script_vars.iter().any(|(name, _)| *name == var.name)
        && let Some(env) = inv.env_var(&var.name)
        && !env.value.is_dynamic()
    {
        let mut setting = env_setting(env, source, &format!("{what} (via ${} set by {})", var.name, env.what));
        setting.word = Some(word.clone());
        return setting;
    }
    let default_note = word
        .vars
        .iter()
        .find(|v| v.has_default && v.text_range.start <= value.text_range.start)
        .map(|v| format!(" (the default of ${{{}}})", v.name))
        .unwrap_or_default();
    Setting {
        value: value_of(text, word),
        source,
        path: args.path.clone(),
        line: args.fixed_line.unwrap_or_else(|| inv.file.line_of(word.span.start)),
        range: word.source_range(value.text_range.clone()),
        what: format!("{what}{default_note}"),
        word: Some(word.clone()),
        line_end: None,
    }
}

fn env_setting(var: &EnvVar, source: SourceKind, what: &str) -> Setting {
    Setting {
        value: value_of(&var.value.text, &var.value),
        source,
        path: var.path.clone(),
        line: var.line,
        range: var.value.source_range(0..var.value.text.len()),
        what: what.to_owned(),
        word: None,
        line_end: None,
    }
}

/// The config file gunicorn would load: `-c path`, `-c python:module`, else `./gunicorn.conf.py`
/// (the working directory is taken to be the folder of the file that starts gunicorn, or the
/// project root).
fn find_config(project: &Project, inv: &Invocation, reference: Option<&str>) -> Option<PathBuf> {
    let here = inv.path.parent().unwrap_or(Path::new("")).to_owned();
    // The launcher's working directory first (supervisord directory=, systemd WorkingDirectory=).
    let bases: Vec<PathBuf> = inv.working_dirs.iter().cloned().chain([here, PathBuf::new()]).collect();
    let exists = |path: &Path| project.has_file(path).then(|| path.to_owned());
    match reference {
        Some(module) if module.starts_with("python:") => {
            let relative = format!("{}.py", module.trim_start_matches("python:").replace('.', "/"));
            bases.iter().find_map(|b| exists(&b.join(&relative))).or_else(|| unique_suffix(project, &relative))
        }
        Some(path) => {
            let path = path.trim_start_matches("file:");
            let relative = path.trim_start_matches("./");
            if relative.is_empty() || relative.contains('$') {
                return None;
            }
            if let Some(found) = bases.iter().find_map(|b| exists(&b.join(relative))) {
                return Some(found);
            }
            // An absolute path inside the image (`/app/gunicorn.conf.py`): match its tail.
            let tail: Vec<&str> = relative.trim_start_matches('/').split('/').collect();
            (0..tail.len()).find_map(|skip| unique_suffix(project, &tail[skip..].join("/")))
        }
        None => bases.iter().find_map(|b| exists(&b.join("gunicorn.conf.py"))),
    }
}

/// The one project file whose path ends with `suffix` (none when ambiguous).
fn unique_suffix(project: &Project, suffix: &str) -> Option<PathBuf> {
    let mut found = project.files_ending_with(Path::new(suffix));
    let first = found.next()?.clone();
    found.next().is_none().then_some(first)
}
