//! Platform files that say how a platform starts the app: Google App Engine's `app.yaml`
//! (`entrypoint:`, `instance_class:`), Fly.io's `fly.toml` (`[processes]`, `[[vm]]`, `[build]`),
//! Render's `render.yaml` (`services[]`), Railway's `railway.toml` / `railway.json` (`deploy`,
//! `build`) and Heroku's `app.json` (`formation`, `env`) and `heroku.yml` (`build.docker`,
//! `run`). Each gives the command's shell words with their byte offsets in the file, so the
//! command is edited in place (a TOML string's bytes are rewritten inside its quotes, a YAML or
//! JSON string inside its scalar: the rest of the file is left as it is).

use std::ops::Range;

use super::compose::{self, get, parse_yaml, root_mapping, scalar};
use super::shell::{self, Word};
use crate::text::location::line_at;

mod heroku;
mod railway;
mod render;

pub use heroku::{HerokuApp, HerokuBuild, HerokuYml, heroku_app, heroku_yml};
pub use railway::{Railway, railway_json, railway_toml};
pub use render::{RenderService, render};

/// A command line a platform file gives a process.
#[derive(Debug, Clone)]
pub struct PlatformCommand {
    /// The process name (`app` in fly.toml's `[processes]`, `entrypoint` in app.yaml).
    pub name: String,
    /// Every word, in order.
    pub words: Vec<Word>,
    /// The simple commands a shell runs, in order (`migrate && gunicorn app`: two).
    pub commands: Vec<Vec<Word>>,
    /// 1-based line of the command.
    pub line: usize,
}

impl PlatformCommand {
    /// The command a string value holds, its words keeping their offsets in the file.
    fn of(name: &str, value: &Word, line: usize) -> PlatformCommand {
        let options = shell::Options { newline_is_space: true, dockerfile_comments: false };
        let commands: Vec<Vec<Word>> = shell::commands(&value.text, options)
            .into_iter()
            .map(|command| command.words.iter().map(|w| w.remap(&value.offsets)).collect())
            .collect();
        PlatformCommand { name: name.to_owned(), words: commands.concat(), commands, line }
    }
}

/// A value a platform file sets, as written, with its line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Setting {
    pub value: String,
    pub line: usize,
}

/// What an App Engine `app.yaml` says about the web process.
#[derive(Debug, Clone)]
pub struct AppEngine {
    pub entrypoint: Option<PlatformCommand>,
    pub instance_class: Option<Setting>,
    /// `env_variables:`: the process environment.
    pub env: Vec<EnvValue>,
}

/// A variable a platform file sets for its processes, with its value's offsets.
#[derive(Debug, Clone)]
pub struct EnvValue {
    pub key: String,
    pub value: Word,
    pub line: usize,
}

/// Reads an App Engine `app.yaml`: `None` when the file is not one (no Python `runtime:`).
pub fn app_engine(text: &str) -> Option<AppEngine> {
    let yaml = parse_yaml(text).ok()?;
    let root = root_mapping(&yaml)?;
    let runtime = scalar(text, get(text, root, "runtime")?)?;
    if !runtime.text.starts_with("python") {
        return None;
    }
    let line = |node: tree_sitter::Node| node.start_position().row + 1;
    let entrypoint = get(text, root, "entrypoint")
        .filter(|node| !node.kind().ends_with("sequence"))
        .and_then(|node| command_at(text, node, "entrypoint"));
    let instance_class = get(text, root, "instance_class")
        .and_then(|node| scalar(text, node).map(|w| Setting { value: w.text, line: line(node) }));
    let env = get(text, root, "env_variables")
        .filter(|node| node.kind().ends_with("mapping"))
        .map(|node| {
            compose::pairs(text, node)
                .into_iter()
                .filter_map(|(key, value)| {
                    let value = value?;
                    Some(EnvValue { key, line: line(value), value: scalar(text, value)? })
                })
                .collect()
        })
        .unwrap_or_default();
    Some(AppEngine { entrypoint, instance_class, env })
}

/// What a `fly.toml` says: the processes' commands and the VM sizes.
#[derive(Debug, Clone, Default)]
pub struct Fly {
    pub processes: Vec<PlatformCommand>,
    /// `[[vm]]` entries: the processes each applies to (empty: all), and `cpus` or `size`.
    pub vms: Vec<FlyVm>,
    /// `[env]`: the environment of every process.
    pub env: Vec<EnvValue>,
    /// `[build] dockerfile` (`None`: `Dockerfile`, Fly's default), and whether `[build] image`
    /// names a prebuilt image instead (then no project Dockerfile is built).
    pub dockerfile: Option<String>,
    pub prebuilt_image: bool,
}

/// One `[[vm]]` entry.
#[derive(Debug, Clone)]
pub struct FlyVm {
    pub processes: Vec<String>,
    pub cpus: Option<Setting>,
    pub size: Option<Setting>,
}

/// Reads a `fly.toml`; `Err(line)` names the line of a TOML syntax error.
pub fn fly(text: &str) -> Result<Fly, usize> {
    let document =
        toml_edit::Document::parse(text).map_err(|err| err.span().map_or(1, |span| line_at(text, span.start)))?;
    let root = document.as_table();
    let mut fly = Fly::default();
    if let Some(processes) = root.get("processes").and_then(|item| item.as_table_like()) {
        for (name, item) in processes.iter() {
            let Some(value) = item.as_value().and_then(|value| string_word(text, value)) else { continue };
            let line = item.span().map_or(1, |span| line_at(text, span.start));
            fly.processes.push(PlatformCommand::of(name, &value, line));
        }
    }
    if let Some(env) = root.get("env").and_then(|item| item.as_table_like()) {
        for (key, item) in env.iter() {
            let Some(value) = item.as_value().and_then(|value| string_word(text, value)) else { continue };
            let line = item.span().map_or(1, |span| line_at(text, span.start));
            fly.env.push(EnvValue { key: key.to_owned(), value, line });
        }
    }
    if let Some(build) = root.get("build").and_then(|item| item.as_table_like()) {
        fly.dockerfile = build.get("dockerfile").and_then(|item| item.as_str()).map(str::to_owned);
        fly.prebuilt_image = build.get("image").is_some();
    }
    let vm_tables: Vec<&dyn toml_edit::TableLike> = match root.get("vm") {
        Some(toml_edit::Item::ArrayOfTables(tables)) => tables.iter().map(|t| t as &dyn toml_edit::TableLike).collect(),
        Some(item) => item.as_table_like().into_iter().collect(),
        None => Vec::new(),
    };
    for vm in vm_tables {
        let setting = |key: &str| {
            let item = vm.get(key)?;
            let value = item.as_value()?;
            let text_value = value.as_str().map(str::to_owned).or_else(|| value.as_integer().map(|n| n.to_string()))?;
            Some(Setting { value: text_value, line: item.span().map_or(1, |span| line_at(text, span.start)) })
        };
        let processes = vm
            .get("processes")
            .and_then(|item| item.as_array())
            .map(|array| array.iter().filter_map(|v| v.as_str().map(str::to_owned)).collect())
            .unwrap_or_default();
        fly.vms.push(FlyVm { processes, cpus: setting("cpus"), size: setting("size") });
    }
    Ok(fly)
}

/// The 1-based line a YAML node starts on.
fn line(node: tree_sitter::Node) -> usize {
    node.start_position().row + 1
}

/// A scalar YAML / JSON value as written, with its line.
fn setting(text: &str, node: tree_sitter::Node) -> Option<Setting> {
    scalar(text, node).map(|w| Setting { value: w.text, line: line(node) })
}

/// The command a YAML or JSON string value holds (`startCommand: "..."`), as shell words that
/// keep their offsets in the file; `name` is the key, for messages. A double-quoted string with
/// an escape other than `\"`, `\\` or `\/` is not read: its bytes cannot be mapped one to one.
fn command_at(text: &str, node: tree_sitter::Node, name: &str) -> Option<PlatformCommand> {
    if node.kind() == "double_quote_scalar" && !plain_escapes(&text[node.byte_range()]) {
        return None;
    }
    let value = scalar(text, node)?;
    Some(PlatformCommand::of(name, &value, line(node)))
}

/// Whether every backslash escape of a double-quoted string stands for the character after it.
fn plain_escapes(raw: &str) -> bool {
    let mut chars = raw.chars();
    while let Some(ch) = chars.next() {
        if ch == '\\' && !matches!(chars.next(), Some('"' | '\\' | '/')) {
            return false;
        }
    }
    true
}

/// The CPU count a Fly.io VM size names: `shared-cpu-2x` and `performance-4x` have 2 and 4.
pub fn fly_size_cpus(size: &str) -> Option<u32> {
    let count = size.strip_prefix("shared-cpu-").or_else(|| size.strip_prefix("performance-"))?;
    count.strip_suffix('x')?.parse().ok().filter(|&n| n > 0)
}

/// A one-line TOML string whose bytes are its text, as one word (a literal `'...'` string, or a
/// basic `"..."` one without escapes): `None` for other strings, which cannot be edited byte
/// for byte.
fn string_word(text: &str, value: &toml_edit::Value) -> Option<Word> {
    value.as_str()?;
    let span: Range<usize> = value.span()?;
    let raw = &text[span.clone()];
    let quote = raw.chars().next()?;
    let single_line = !raw.starts_with("\"\"\"") && !raw.starts_with("'''");
    if !(single_line && (quote == '\'' || (quote == '"' && !raw.contains('\\')))) {
        return None;
    }
    let content = span.start + 1..span.end - 1;
    Some(Word { text: text[content.clone()].to_owned(), offsets: content.collect(), span, vars: Vec::new() })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_engine_entrypoint_and_class() {
        let text = "runtime: python312\ninstance_class: F2\nentrypoint: gunicorn -b :$PORT -w 2 main:app\nenv_variables:\n  WEB_CONCURRENCY: \"3\"\n";
        let app = app_engine(text).unwrap();
        let entry = app.entrypoint.unwrap();
        assert_eq!(entry.line, 3);
        assert_eq!(&text[entry.words[4].span.clone()], "2");
        assert_eq!(app.instance_class, Some(Setting { value: "F2".to_owned(), line: 2 }));
        assert_eq!(&text[app.env[0].value.source_range(0..1).unwrap()], "3");
        assert!(app_engine("runtime: nodejs20\nentrypoint: node app.js\n").is_none());
    }

    #[test]
    fn fly_processes_and_vm() {
        let text = "app = \"x\"\n\n[processes]\n  app = \"gunicorn app.wsgi -w 2\"\n  worker = 'celery -A app worker'\n\n[[vm]]\n  size = \"shared-cpu-2x\"\n  processes = [\"app\"]\n";
        let read = fly(text).unwrap();
        assert_eq!(read.processes.len(), 2);
        assert_eq!(read.processes[0].line, 4);
        assert_eq!(&text[read.processes[0].words[3].span.clone()], "2");
        assert_eq!(read.processes[1].words[0].text, "celery");
        assert_eq!(read.vms[0].processes, ["app"]);
        assert_eq!(fly(text).unwrap().env.len(), 0);
        assert_eq!(fly_size_cpus(&read.vms[0].size.as_ref().unwrap().value), Some(2));
        assert_eq!(fly("[processes\n").unwrap_err(), 1);
    }
}
