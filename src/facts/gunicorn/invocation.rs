//! Which program a command line runs, seen through the launchers and wrappers deployments put in
//! front of it: `exec`, `env A=1`, `newrelic-admin run-program`, `uv run`, `poetry run`,
//! `python -m gunicorn`, `sh -c "..."`, `gosu user`, `tini --`...

use crate::lang::shell::{self, Word, is_assignment};

/// Which server runs the app: the program a start runs, and for the serving facts
/// ([`crate::facts::serving`]) gunicorn with an ASGI worker class, or no server found at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerKind {
    /// gunicorn with a WSGI worker class (sync, gthread, gevent, eventlet...).
    Gunicorn,
    /// gunicorn with an ASGI worker class (uvicorn's).
    GunicornAsgi,
    Uvicorn,
    Daphne,
    Granian,
    Uwsgi,
    /// Celery, found only when a discovery looks for it ([`Programs::Celery`]).
    Celery,
    /// No server command found.
    Unknown,
}

impl ServerKind {
    /// The server's name in messages.
    pub fn name(&self) -> &'static str {
        match self {
            ServerKind::Gunicorn => "gunicorn",
            ServerKind::GunicornAsgi => "gunicorn with an ASGI worker class",
            ServerKind::Uvicorn => "uvicorn",
            ServerKind::Daphne => "daphne",
            ServerKind::Granian => "granian",
            ServerKind::Uwsgi => "uWSGI",
            ServerKind::Celery => "Celery",
            ServerKind::Unknown => "an unknown server",
        }
    }
}

/// A server command found in a list of words.
#[derive(Debug, Clone)]
pub struct Found {
    pub server: ServerKind,
    /// The program as written (`gunicorn`, `uvicorn`).
    pub program_name: String,
    pub program: Word,
    pub args: Vec<Word>,
    /// Whether the words come from inside a `sh -c` string (insertions are then shell words).
    pub inside_string: bool,
}

/// The server a program name stands for.
pub fn server_kind(name: &str) -> Option<ServerKind> {
    match name {
        "gunicorn" => Some(ServerKind::Gunicorn),
        "uwsgi" => Some(ServerKind::Uwsgi),
        "uvicorn" => Some(ServerKind::Uvicorn),
        "daphne" => Some(ServerKind::Daphne),
        "granian" => Some(ServerKind::Granian),
        _ => None,
    }
}

/// The names the cheap byte filter looks for before anything is parsed.
pub const SERVER_NAMES: &[&str] = &["gunicorn", "uwsgi", "uvicorn", "daphne", "granian"];

/// The programs one discovery looks for. The launchers, wrappers, environments and CPU limits
/// are the same for every program a deployment starts, so one discovery serves both: the web
/// servers (the gunicorn facts) and Celery (`crate::facts::celery`), each in its own pass, so
/// that a command line starting both (`sh -c "celery ... & gunicorn ..."`) still gives each
/// pass its own program.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Programs {
    /// The Python web servers.
    #[default]
    Servers,
    /// Celery (`celery -A proj worker`, `python -m celery ...`): workers, beat, Flower...
    Celery,
}

impl Programs {
    /// The names the cheap byte filter looks for.
    pub fn names(self) -> &'static [&'static str] {
        match self {
            Programs::Servers => SERVER_NAMES,
            Programs::Celery => &["celery"],
        }
    }

    /// The program a name stands for, among the ones looked for.
    fn kind(self, name: &str) -> Option<ServerKind> {
        match self {
            Programs::Servers => server_kind(name),
            Programs::Celery => (name == "celery").then_some(ServerKind::Celery),
        }
    }

    /// Finds the program started by `words` (one simple command), looking through wrappers. A
    /// command that only asks the program something (`gunicorn --version`) is not a start.
    pub fn find(self, words: &[Word]) -> Option<Found> {
        find_any(self, words).filter(|found| !found.args.iter().any(|w| NOT_A_START.contains(&w.text.as_str())))
    }

    /// Finds a start inside a string (a `sh -c` argument, a `CMD="gunicorn ..."` value).
    pub fn find_in_string(self, script: &Word) -> Option<Found> {
        let options = shell::Options::default();
        for command in shell::commands(&script.text, options) {
            let words: Vec<Word> = command.words.iter().map(|w| w.remap(&script.offsets)).collect();
            if let Some(mut found) = self.find(&words) {
                found.inside_string = true;
                return Some(found);
            }
        }
        None
    }
}

fn basename(text: &str) -> &str {
    text.rsplit('/').next().unwrap_or(text)
}

/// Options that make a command a one-off query rather than a server start.
const NOT_A_START: &[&str] = &["--version", "-v", "--help", "-h", "--check-config", "--print-config"];

fn find_any(programs: Programs, words: &[Word]) -> Option<Found> {
    let mut i = 0;
    while i < words.len() {
        let word = &words[i];
        let name = basename(&word.text);
        let next = words.get(i + 1).map(|w| w.text.as_str());
        if is_assignment(word) && i + 1 < words.len() {
            i += 1;
            continue;
        }
        if let Some(server) = programs.kind(name) {
            return Some(Found {
                server,
                program_name: name.to_owned(),
                program: word.clone(),
                args: words[i + 1..].to_vec(),
                inside_string: false,
            });
        }
        match name {
            "exec" | "command" | "nohup" | "--" | "time" | "ddtrace-run" | "opentelemetry-instrument" | "scout-apm" => {
                i += 1
            }
            // `su -c "gunicorn ..." app`, `runuser app -s /bin/sh -c "..."`: the `-c` string.
            "su" | "runuser" if let Some(script) = command_string(&words[i + 1..]) => {
                return programs.find_in_string(script);
            }
            "su" => return None,
            // Init and privilege wrappers: their own options (some with a value), then the command.
            "dumb-init" | "tini" | "sudo" | "runuser" | "chpst" | "setpriv" | "s6-setuidgid" => {
                i = after_wrapper_options(words, i, name);
            }
            // Shell keywords before a command (`then exec gunicorn`), and a `case` pattern (`web)`).
            "then" | "else" | "do" | "{" | "(" | "!" | "if" | "elif" | "while" | "until" => i += 1,
            _ if i == 0 && name.ends_with(')') && !name.contains('(') => i += 1,
            "env" => {
                i += 1;
                while i < words.len() && (words[i].text.starts_with('-') || is_assignment(&words[i])) {
                    // `env -u NAME`, `env -C DIR`: options with a value.
                    i += if wrapper_option_takes_value("env", &words[i].text) { 2 } else { 1 };
                }
            }
            "gosu" | "su-exec" | "setuidgid" => i += 2,
            "newrelic-admin" if next == Some("run-program") => i += 2,
            "uv" | "poetry" | "pipenv" | "pdm" | "hatch" | "rye" if next == Some("run") => {
                i += 2;
                while i < words.len() && words[i].text.starts_with('-') {
                    // `uv run --with x`, `--env-file .env`: options with a value.
                    i += if wrapper_option_takes_value("uv", &words[i].text) { 2 } else { 1 };
                }
            }
            _ if name.starts_with("python") && next == Some("-m") => {
                let module = words.get(i + 2)?;
                let server = programs.kind(&module.text)?;
                return Some(Found {
                    server,
                    program_name: module.text.clone(),
                    program: module.clone(),
                    args: words[i + 3..].to_vec(),
                    inside_string: false,
                });
            }
            "sh" | "bash" | "ash" | "dash" | "zsh" if next.is_some_and(is_command_option) => {
                let script = words.get(i + 2)?;
                return programs.find_in_string(script);
            }
            _ => return None,
        }
    }
    None
}

/// Options of the wrappers that take the next word as their value (`runuser -u app`, `chpst -u
/// app`, `tini -p SIGTERM`, `sudo -u app`, `dumb-init -r 15:2`).
fn wrapper_option_takes_value(wrapper: &str, option: &str) -> bool {
    let with_value: &[&str] = match wrapper {
        "runuser" => {
            &["-u", "--user", "-g", "--group", "-G", "--supp-group", "-s", "--shell", "-w", "--whitelist-environment"]
        }
        "sudo" => {
            &["-u", "--user", "-g", "--group", "-C", "-D", "--chdir", "-h", "--host", "-p", "-r", "-t", "-T", "-U"]
        }
        "chpst" => &["-u", "-U", "-e", "-/", "-C", "-n", "-l", "-L", "-m", "-d", "-o", "-p", "-f", "-c", "-r", "-t"],
        "tini" => &["-p", "-e"],
        "dumb-init" => &["-r", "--rewrite"],
        "env" => &["-u", "--unset", "-C", "--chdir"],
        "uv" => {
            &["--with", "--python", "-p", "--env-file", "--extra", "--group", "--package", "--project", "--directory"]
        }
        "setpriv" => {
            &["--reuid", "--regid", "--groups", "--inh-caps", "--ambient-caps", "--bounding-set", "--securebits"]
        }
        // `s6-setuidgid user`: the user is its one argument.
        "s6-setuidgid" => return false,
        _ => &[],
    };
    with_value.contains(&option)
}

/// The index of the wrapped command after a wrapper at `at` and its options (`runuser -u app --
/// gunicorn`).
fn after_wrapper_options(words: &[Word], at: usize, wrapper: &str) -> usize {
    let mut i = at + 1;
    while let Some(word) = words.get(i) {
        let text = word.text.as_str();
        if text == "--" {
            return i + 1;
        }
        if !text.starts_with('-') || text == "-" {
            break;
        }
        i += if !text.contains('=') && wrapper_option_takes_value(wrapper, text) { 2 } else { 1 };
    }
    // `s6-setuidgid app gunicorn`: the user comes before the command.
    if wrapper == "s6-setuidgid" { i + 1 } else { i }
}

/// The `-c` / `--command` string of `su` or `runuser`, before any `--`.
fn command_string(words: &[Word]) -> Option<&Word> {
    let end = words.iter().position(|w| w.text == "--").unwrap_or(words.len());
    let at = words[..end].iter().position(|w| w.text == "-c" || w.text == "--command")?;
    words.get(at + 1)
}

/// `-c`, `-ec`, `-lc`, `-euxc`...: shell options ending in `c` (the next word is the command).
fn is_command_option(option: &str) -> bool {
    option.len() >= 2
        && option.starts_with('-')
        && option.ends_with('c')
        && option[1..].bytes().all(|b| b.is_ascii_lowercase())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::shell::words;

    fn find(words: &[Word]) -> Option<Found> {
        Programs::Servers.find(words)
    }

    #[test]
    fn wrappers() {
        for line in [
            "exec gunicorn app",
            "newrelic-admin run-program gunicorn app",
            "uv run --no-sync gunicorn app",
            "uv run --env-file .env --with gunicorn gunicorn app",
            "env DJANGO_SETTINGS_MODULE=x gunicorn app",
            "python -m gunicorn app",
            "/usr/local/bin/gunicorn app",
            "sh -c 'umask 0 && exec gunicorn app'",
            "/bin/bash -lc \"gunicorn app\"",
            "su -c \"exec gunicorn app\" web",
            "su web -s /bin/sh -c 'gunicorn app'",
            "runuser -u web -- gunicorn app",
            "runuser -l web -c 'gunicorn app'",
            "gosu web gunicorn app",
            "su-exec web:web gunicorn app",
            "chpst -u web:web -e /etc/env gunicorn app",
            "dumb-init --single-child gunicorn app",
            "tini -g -- gunicorn app",
            "sudo -E -u web gunicorn app",
            "s6-setuidgid web gunicorn app",
            "ddtrace-run opentelemetry-instrument gunicorn app",
            "pipenv run gunicorn app",
            "poetry run python -m gunicorn app",
            "env -u X A=1 gunicorn app",
        ] {
            let found = find(&words(line)).unwrap_or_else(|| panic!("{line}"));
            assert_eq!(found.server, ServerKind::Gunicorn, "{line}");
            assert_eq!(found.args.last().unwrap().text, "app", "{line}");
        }
        assert_eq!(find(&words("uvicorn app.asgi:application")).unwrap().server, ServerKind::Uvicorn);
        assert!(find(&words("python manage.py runserver")).is_none());
        assert!(find(&words("gunicorn --version")).is_none());
        assert_eq!(find(&words("then exec gunicorn app")).unwrap().args[0].text, "app");
        assert_eq!(find(&words("web) exec gunicorn app")).unwrap().args[0].text, "app");
        assert!(find(&words("pip install gunicorn")).is_none());
    }

    #[test]
    fn each_pass_finds_its_own_programs() {
        let both = words("sh -c 'celery -A proj worker -D && exec gunicorn proj.wsgi'");
        assert_eq!(Programs::Servers.find(&both).unwrap().program_name, "gunicorn");
        let celery = Programs::Celery.find(&both).unwrap();
        assert_eq!((celery.server, celery.args[2].text.as_str()), (ServerKind::Celery, "worker"));
        assert!(celery.inside_string);
        assert_eq!(
            Programs::Celery.find(&words("gosu app python -m celery -A proj beat")).unwrap().args[2].text,
            "beat"
        );
        assert!(Programs::Celery.find(&words("gunicorn proj.wsgi")).is_none());
        assert!(Programs::Celery.find(&words("celery --version")).is_none());
    }
}
