//! Process launchers that hold a command line: Procfile (`web: gunicorn ...`), supervisord
//! (`command=` in a `[program:x]` section, continued on indented lines, `%(ENV_X)s` expansions)
//! and systemd units (`ExecStart=`, continued with `\`). Each gives the command's words with
//! their byte offsets in the file, and the environment and working directory the launcher gives
//! that process (supervisord `environment=` / `directory=`, systemd `Environment=` /
//! `EnvironmentFile=` / `WorkingDirectory=`).

use super::shell::{self, VarRef, Word};
use crate::text::location::line_at;

/// A command line found in a launcher file.
#[derive(Debug, Clone)]
pub struct LaunchCommand {
    /// The process or program name (`web`, `program:django`, the unit's `ExecStart`).
    pub name: String,
    pub words: Vec<Word>,
    /// 1-based line where the command starts.
    pub line: usize,
    /// Variables the launcher sets for this process, lowest precedence first (a later one wins).
    pub env: Vec<LaunchEnv>,
    /// systemd `EnvironmentFile=` entries: they override `Environment=`.
    pub env_files: Vec<EnvFileRef>,
    /// supervisord `directory=`, systemd `WorkingDirectory=`, as written.
    pub directory: Option<String>,
    /// The line of an `environment=` that supervisord refuses (its values are then unknown).
    pub env_error: Option<usize>,
}

/// One variable a launcher sets.
#[derive(Debug, Clone)]
pub struct LaunchEnv {
    pub key: String,
    pub value: Word,
    /// 1-based line.
    pub line: usize,
    /// `environment= of [program:web]`, `Environment=`, for messages.
    pub what: String,
}

/// A systemd `EnvironmentFile=` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvFileRef {
    /// The path as written, `-` removed.
    pub path: String,
    /// `-/path`: a missing file is not an error for systemd.
    pub optional: bool,
    pub line: usize,
}

impl LaunchCommand {
    fn new(name: String, words: Vec<Word>, line: usize) -> LaunchCommand {
        LaunchCommand { name, words, line, env: Vec::new(), env_files: Vec::new(), directory: None, env_error: None }
    }
}

/// `name: command` lines of a Procfile.
pub fn procfile(text: &str) -> Vec<LaunchCommand> {
    let mut commands = Vec::new();
    let mut offset = 0;
    for (index, raw) in text.split_inclusive('\n').enumerate() {
        let start = offset;
        offset += raw.len();
        let content = raw.trim_end_matches(['\n', '\r']);
        if content.trim_start().starts_with('#') {
            continue;
        }
        let Some(colon) = content.find(':') else { continue };
        let name = content[..colon].trim();
        if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-') {
            continue;
        }
        let command_start = start + colon + 1;
        let command = &text[command_start..start + content.len()];
        let words = shell::commands(command, shell::Options::default())
            .into_iter()
            .flat_map(|c| c.words)
            .map(|w| w.remap(&(command_start..command_start + command.len()).collect::<Vec<_>>()))
            .collect();
        commands.push(LaunchCommand::new(name.to_owned(), words, index + 1));
    }
    commands
}

/// A `key=value` entry of an INI section (supervisord), the value continued on indented lines.
struct IniEntry {
    key: String,
    /// The value's bytes in the file (after `=`, up to the end of its last continuation line).
    range: std::ops::Range<usize>,
    line: usize,
}

/// The `[section]`s of an INI file with their entries, as configparser reads them.
fn ini_sections(text: &str) -> Vec<(String, Vec<IniEntry>)> {
    let mut sections: Vec<(String, Vec<IniEntry>)> = Vec::new();
    let lines = line_offsets(text);
    let mut i = 0;
    while i < lines.len() {
        let (start, raw) = lines[i];
        let content = raw.trim_end_matches(['\n', '\r']);
        let trimmed = content.trim();
        i += 1;
        if trimmed.starts_with('[') {
            sections.push((trimmed.trim_matches(['[', ']']).to_owned(), Vec::new()));
            continue;
        }
        let Some((_, entries)) = sections.last_mut() else { continue };
        if content.starts_with([' ', '\t']) || trimmed.starts_with([';', '#']) {
            continue;
        }
        let Some(eq) = content.find('=') else { continue };
        let mut end = start + content.len();
        // configparser continues a value on following indented, non-empty lines.
        while let Some(&(next_start, next_raw)) = lines.get(i) {
            let next = next_raw.trim_end_matches(['\n', '\r']);
            if !next.starts_with([' ', '\t']) || next.trim().is_empty() {
                break;
            }
            end = next_start + next.len();
            i += 1;
        }
        let key = content[..eq].trim().to_owned();
        entries.push(IniEntry { key, range: start + eq + 1..end, line: line_at(text, start) });
    }
    sections
}

/// `command=` values of supervisord `[program:x]` sections (in a `supervisord.conf` or an
/// included `conf.d/*.conf`), each with its `directory=` and its environment: the
/// `[supervisord]` section's `environment=` (inherited by every child), then the program's own.
/// `%(ENV_X)s` becomes a variable reference to `X`.
pub fn supervisord(text: &str) -> Vec<LaunchCommand> {
    unmasked(text, supervisord_masked(&masked(text)))
}

fn supervisord_masked(text: &str) -> Vec<LaunchCommand> {
    let sections = ini_sections(text);
    let entry = |entries: &[IniEntry], key: &str| {
        entries.iter().rev().find(|e| e.key == key).map(|e| (e.range.clone(), e.line))
    };
    let global = sections
        .iter()
        .filter(|(name, _)| name == "supervisord")
        .find_map(|(_, entries)| entry(entries, "environment"))
        .map(|(range, line)| supervisor_environment(text, range, "environment= of [supervisord]").ok_or(line));
    let mut commands = Vec::new();
    for (name, entries) in sections.iter().filter(|(name, _)| name.starts_with("program:")) {
        let Some((range, line)) = entry(entries, "command") else { continue };
        let mut command = LaunchCommand::new(name.clone(), expand_supervisor_env(text, range), line);
        match &global {
            Some(Ok(env)) => command.env = env.clone(),
            Some(Err(line)) => command.env_error = Some(*line),
            None => {}
        }
        if let Some((range, line)) = entry(entries, "environment") {
            match supervisor_environment(text, range, &format!("environment= of [{name}]")) {
                Some(env) => command.env.extend(env),
                None => command.env_error = Some(line),
            }
        }
        command.directory = entry(entries, "directory").map(|(range, _)| text[range].trim().to_owned());
        commands.push(command);
    }
    commands
}

/// The words of a supervisord command, with `%(ENV_X)s` turned into a variable reference.
fn expand_supervisor_env(text: &str, range: std::ops::Range<usize>) -> Vec<Word> {
    let map: Vec<usize> = range.clone().collect();
    shell::words(&text[range]).into_iter().map(|word| with_env_refs(word.remap(&map))).collect()
}

/// `%(ENV_X)s` in a word is the variable `X` of supervisord's own environment: known only at run
/// time.
fn with_env_refs(mut word: Word) -> Word {
    let mut search = 0;
    while let Some(found) = word.text[search..].find("%(ENV_") {
        let at = search + found;
        let Some(close) = word.text[at..].find(")s").map(|i| at + i) else { break };
        let name = word.text[at + 6..close].to_owned();
        word.vars.push(VarRef { name, text_range: at..close + 2, has_default: false });
        search = close + 2;
    }
    word
}

/// supervisord's `environment=KEY="val",KEY2=val2`, read the way supervisor's
/// `dict_of_key_value_pairs` does: Python's non-POSIX `shlex` with `/.+-():` as word characters,
/// tokens taken as `key = value ,` groups, quotes stripped from both ends of the value. `None`
/// when the list does not read (an unquoted space, an unclosed quote): supervisord refuses it.
fn supervisor_environment(text: &str, range: std::ops::Range<usize>, what: &str) -> Option<Vec<LaunchEnv>> {
    let tokens = shlex_tokens(text, range)?;
    let mut env = Vec::new();
    for group in tokens.chunks(4) {
        let [key, eq, value, rest @ ..] = group else { return None };
        if &text[eq.clone()] != "=" || rest.first().is_some_and(|comma| &text[comma.clone()] != ",") {
            return None;
        }
        let raw = &text[value.clone()];
        let inner = raw.trim_start_matches(['\'', '"']);
        let start = value.start + raw.len() - inner.len();
        let inner = inner.trim_end_matches(['\'', '"']);
        let value = Word {
            text: inner.to_owned(),
            offsets: (start..start + inner.len()).collect(),
            span: value.clone(),
            vars: Vec::new(),
        };
        let line = line_at(text, key.start);
        env.push(LaunchEnv {
            key: text[key.clone()].to_owned(),
            value: with_env_refs(value),
            line,
            what: what.to_owned(),
        });
    }
    Some(env)
}

/// Python's `shlex.shlex(s)` tokens (non-POSIX) with supervisor's extra word characters, as byte
/// ranges; `None` for an unclosed quote.
fn shlex_tokens(text: &str, range: std::ops::Range<usize>) -> Option<Vec<std::ops::Range<usize>>> {
    let bytes = text.as_bytes();
    // `%` too: supervisord expands `%(ENV_X)s` before it splits the list.
    let is_word = |b: u8| b.is_ascii_alphanumeric() || b"_/.+-():%".contains(&b) || b >= 0x80;
    let mut tokens = Vec::new();
    let mut pos = range.start;
    while pos < range.end {
        let b = bytes[pos];
        if b.is_ascii_whitespace() {
            pos += 1;
        } else if b == b'#' {
            pos = text[pos..range.end].find('\n').map_or(range.end, |i| pos + i);
        } else if b == b'"' || b == b'\'' {
            let close = text[pos + 1..range.end].find(b as char)? + pos + 1;
            tokens.push(pos..close + 1);
            pos = close + 1;
        } else if is_word(b) {
            let start = pos;
            while pos < range.end && (is_word(bytes[pos]) || bytes[pos] == b'"' || bytes[pos] == b'\'') {
                pos += 1;
            }
            tokens.push(start..pos);
        } else {
            let len = text[pos..].chars().next().map_or(1, char::len_utf8);
            tokens.push(pos..pos + len);
            pos += len;
        }
    }
    Some(tokens)
}

/// `ExecStart=` of a systemd unit (prefixes `-@:+!` dropped), each with the unit's
/// `Environment=` assignments (several per line, quoted or not, an empty one resetting the
/// list), `EnvironmentFile=` entries and `WorkingDirectory=`, wherever they sit in the unit.
pub fn systemd(text: &str) -> Vec<LaunchCommand> {
    unmasked(text, systemd_masked(&masked(text)))
}

fn systemd_masked(text: &str) -> Vec<LaunchCommand> {
    let mut commands = Vec::new();
    let mut env = Vec::new();
    let mut env_files = Vec::new();
    let mut directory = None;
    for (start, end, line) in unit_lines(text) {
        let content = &text[start..end];
        let Some(eq) = content.find('=') else { continue };
        let key = content[..eq].trim();
        let value_start = start + eq + 1 + (content[eq + 1..].len() - content[eq + 1..].trim_start().len());
        let value = &text[value_start..end];
        match key {
            "ExecStart" => {
                let skip = value.len() - value.trim_start_matches(['-', '@', ':', '+', '!']).len();
                let map: Vec<usize> = (value_start + skip..end).collect();
                let words = shell::words(&value[skip..]).iter().map(|w| w.remap(&map)).collect();
                commands.push(LaunchCommand::new("ExecStart".to_owned(), words, line));
            }
            "Environment" if value.trim().is_empty() => env.clear(),
            "Environment" => {
                let map: Vec<usize> = (value_start..end).collect();
                for word in shell::words(value).iter().map(|w| w.remap(&map)) {
                    if let Some((key, value)) = word.assignment_value() {
                        env.push(LaunchEnv { key, value, line, what: "Environment=".to_owned() });
                    }
                }
            }
            "EnvironmentFile" if value.trim().is_empty() => env_files.clear(),
            "EnvironmentFile" => {
                let optional = value.starts_with('-');
                let path = value.trim_start_matches('-').trim().to_owned();
                env_files.push(EnvFileRef { path, optional, line });
            }
            "WorkingDirectory" => directory = Some(value.trim_start_matches('-').trim().to_owned()),
            _ => {}
        }
    }
    for command in &mut commands {
        command.env = env.clone();
        command.env_files = env_files.clone();
        command.directory = directory.clone();
    }
    commands
}

/// The logical lines of a unit file: `(start, end, 1-based line)`, a line ending in `\` joined
/// with the next (its bytes kept, the `\` and newline read as spaces by the word splitter),
/// comments and section headers dropped.
fn unit_lines(text: &str) -> Vec<(usize, usize, usize)> {
    let mut out = Vec::new();
    let lines = line_offsets(text);
    let mut i = 0;
    while i < lines.len() {
        let (start, raw) = lines[i];
        let first = i;
        let mut end = start + raw.trim_end_matches(['\n', '\r']).len();
        while text[start..end].ends_with('\\') && i + 1 < lines.len() {
            i += 1;
            let (next_start, next_raw) = lines[i];
            end = next_start + next_raw.trim_end_matches(['\n', '\r']).len();
        }
        i += 1;
        let trimmed = text[start..end].trim_start();
        if !(trimmed.is_empty() || trimmed.starts_with(['#', ';', '['])) {
            out.push((start, end, first + 1));
        }
    }
    out
}

/// The text with the spaces inside template expressions (`{{ app_dir }}`, `{% if x %}`, as in an
/// Ansible `gunicorn.service.j2`) replaced by `_`, byte for byte: an expression stays inside one
/// word (`{{ app_dir }}/venv/bin/gunicorn` is the program) and every offset is unchanged.
fn masked(text: &str) -> String {
    if !text.contains("{{") && !text.contains("{%") {
        return text.to_owned();
    }
    let mut bytes = text.as_bytes().to_vec();
    for (open, close) in [("{{", "}}"), ("{%", "%}")] {
        let mut from = 0;
        while let Some(start) = text[from..].find(open).map(|i| from + i) {
            let Some(end) = text[start..].find(close).map(|i| start + i + close.len()) else { break };
            bytes[start..end].iter_mut().filter(|b| **b == b' ').for_each(|b| *b = b'_');
            from = end;
        }
    }
    String::from_utf8(bytes).expect("only ASCII spaces were replaced")
}

/// Commands read from [`masked`] text, with the original bytes put back into every word.
fn unmasked(text: &str, mut commands: Vec<LaunchCommand>) -> Vec<LaunchCommand> {
    let restore = |word: &mut Word| {
        let mut bytes = std::mem::take(&mut word.text).into_bytes();
        for (i, &offset) in word.offsets.iter().enumerate() {
            if bytes.get(i) == Some(&b'_') && text.as_bytes().get(offset) == Some(&b' ') {
                bytes[i] = b' ';
            }
        }
        word.text = String::from_utf8(bytes).expect("only ASCII bytes were restored");
    };
    for command in &mut commands {
        command.words.iter_mut().for_each(restore);
        command.env.iter_mut().for_each(|var| restore(&mut var.value));
    }
    commands
}

fn line_offsets(text: &str) -> Vec<(usize, &str)> {
    let mut offset = 0;
    text.split_inclusive('\n')
        .map(|line| {
            let start = offset;
            offset += line.len();
            (start, line)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn texts(command: &LaunchCommand) -> Vec<&str> {
        command.words.iter().map(|w| w.text.as_str()).collect()
    }

    #[test]
    fn procfile_lines() {
        let text = "web: gunicorn app.wsgi -w 3\nworker: celery -A app worker";
        let commands = procfile(text);
        assert_eq!(texts(&commands[0]), ["gunicorn", "app.wsgi", "-w", "3"]);
        assert_eq!(&text[commands[0].words[3].span.clone()], "3");
        assert_eq!(commands[1].line, 2);
    }

    #[test]
    fn supervisord_continuations_and_env() {
        let text =
            "[program:web]\ncommand=gunicorn app.wsgi\n    --workers %(ENV_WORKERS)s\n    -k sync\nautostart=true\n";
        let commands = supervisord(text);
        assert_eq!(texts(&commands[0]), ["gunicorn", "app.wsgi", "--workers", "%(ENV_WORKERS)s", "-k", "sync"]);
        assert_eq!(commands[0].words[3].vars[0].name, "WORKERS");
        assert_eq!(&text[commands[0].words[5].span.clone()], "sync");
    }

    #[test]
    fn systemd_exec_start() {
        let text = "[Service]\nExecStart=/srv/venv/bin/gunicorn \\\n  --workers 3 app.wsgi\n";
        let commands = systemd(text);
        assert_eq!(texts(&commands[0]), ["/srv/venv/bin/gunicorn", "--workers", "3", "app.wsgi"]);
        assert_eq!(commands[0].line, 2);
    }

    #[test]
    fn supervisord_environment_and_directory() {
        let text = "[supervisord]\nenvironment=DJANGO_SETTINGS_MODULE=\"shop.settings.base\"\n\n[program:web]\ndirectory=/srv/shop\ncommand=gunicorn shop.wsgi\nenvironment=DJANGO_SETTINGS_MODULE=\"shop.settings.prod\",\n    GUNICORN_CMD_ARGS=\"-w 2 --threads=1\",WEB_CONCURRENCY=3,SECRET=%(ENV_SECRET)s\n";
        let commands = supervisord(text);
        let env: Vec<(&str, &str, usize)> =
            commands[0].env.iter().map(|e| (e.key.as_str(), e.value.text.as_str(), e.line)).collect();
        assert_eq!(
            env,
            [
                ("DJANGO_SETTINGS_MODULE", "shop.settings.base", 2),
                ("DJANGO_SETTINGS_MODULE", "shop.settings.prod", 7),
                ("GUNICORN_CMD_ARGS", "-w 2 --threads=1", 8),
                ("WEB_CONCURRENCY", "3", 8),
                ("SECRET", "%(ENV_SECRET)s", 8),
            ]
        );
        assert_eq!(&text[commands[0].env[3].value.source_range(0..1).unwrap()], "3");
        assert_eq!(&text[commands[0].env[2].value.source_range(3..4).unwrap()], "2");
        assert!(commands[0].env[4].value.is_dynamic());
        assert_eq!(commands[0].directory.as_deref(), Some("/srv/shop"));
    }

    #[test]
    fn supervisord_environment_that_does_not_read() {
        let commands = supervisord("[program:web]\ncommand=gunicorn app\nenvironment=A=1,B=x y,C=3\n");
        assert!(commands[0].env.is_empty());
        assert_eq!(commands[0].env_error, Some(3));
    }

    #[test]
    fn systemd_environment_files_and_directory() {
        let text = "[Service]\nEnvironment=A=1\nEnvironment=\nEnvironment=\"GUNICORN_CMD_ARGS=-w 2 -k sync\" WEB_CONCURRENCY=3\nEnvironment=WEB_CONCURRENCY=4\nEnvironmentFile=-/opt/shop/.env\nWorkingDirectory=/opt/shop\nExecStart=/opt/shop/venv/bin/gunicorn shop.wsgi\n";
        let commands = systemd(text);
        let env: Vec<(&str, &str, usize)> =
            commands[0].env.iter().map(|e| (e.key.as_str(), e.value.text.as_str(), e.line)).collect();
        assert_eq!(
            env,
            [("GUNICORN_CMD_ARGS", "-w 2 -k sync", 4), ("WEB_CONCURRENCY", "3", 4), ("WEB_CONCURRENCY", "4", 5)]
        );
        assert_eq!(&text[commands[0].env[0].value.source_range(3..4).unwrap()], "2");
        assert_eq!(commands[0].env_files, [EnvFileRef { path: "/opt/shop/.env".to_owned(), optional: true, line: 6 }]);
        assert_eq!(commands[0].directory.as_deref(), Some("/opt/shop"));
        assert_eq!(commands[0].line, 8);
    }

    #[test]
    fn template_expressions_stay_in_one_word() {
        let text = "[Service]\nEnvironment=DJANGO_SETTINGS_MODULE={{ project }}.settings\nExecStart={{ root }}/venv/bin/gunicorn -w {{ workers }} app.wsgi\n";
        let commands = systemd(text);
        assert_eq!(texts(&commands[0]), ["{{ root }}/venv/bin/gunicorn", "-w", "{{ workers }}", "app.wsgi"]);
        assert_eq!(&text[commands[0].words[2].span.clone()], "{{ workers }}");
        assert_eq!(commands[0].env[0].value.text, "{{ project }}.settings");
    }
}
