//! Dockerfiles: instructions with their byte spans, `ENV` pairs, and `CMD` / `ENTRYPOINT` in exec
//! form (a JSON array whose every element keeps its span) or shell form (shell words).
//!
//! A small lossless reader rather than a full grammar: scalepatch only needs the instructions
//! that start the server and set its environment, and it must edit their bytes in place.

use std::ops::Range;

use super::shell::{self, Word};

/// One instruction (`CMD ["gunicorn", ...]`), possibly continued over several lines.
#[derive(Debug, Clone)]
pub struct Instruction {
    /// Upper-cased keyword.
    pub keyword: String,
    /// From the keyword to the end of the last continued line (line ending excluded).
    pub span: Range<usize>,
    /// The arguments after the keyword.
    pub args: Range<usize>,
    /// 1-based line of the keyword.
    pub line: usize,
    /// Index of the build stage (0 for the instructions of the first `FROM`).
    pub stage: usize,
}

/// The two forms of `CMD`, `ENTRYPOINT` and `RUN`.
#[derive(Debug, Clone)]
pub enum CommandForm {
    /// `["gunicorn", "-w", "3"]`: the words are the array's strings (span = the quoted element).
    Exec(Vec<Word>),
    /// `gunicorn -w 3`: run by `/bin/sh -c`.
    Shell(Vec<shell::Command>),
}

/// A parsed Dockerfile.
#[derive(Debug, Clone)]
pub struct Dockerfile {
    pub instructions: Vec<Instruction>,
    /// The build stages, one per `FROM`, in order.
    pub stages: Vec<Stage>,
}

/// A build stage: `FROM image AS name`.
#[derive(Debug, Clone, Default)]
pub struct Stage {
    /// The name after `AS`, lower-cased (Docker compares stage names case-insensitively).
    pub name: Option<String>,
    /// The earlier stage this one is built `FROM` (`FROM base AS prod`): it inherits that stage's
    /// `ENV`, `CMD` and `ENTRYPOINT`.
    pub base: Option<usize>,
}

/// The stage a `FROM` instruction opens: its name and the earlier stage it builds on.
fn stage_of(args: &str, earlier: &[Stage]) -> Stage {
    let words: Vec<&str> = args.split_whitespace().filter(|w| !w.starts_with("--")).collect();
    let name = match words.as_slice() {
        [_, as_, name, ..] if as_.eq_ignore_ascii_case("as") => Some(name.to_ascii_lowercase()),
        _ => None,
    };
    let image = words.first().map(|w| w.to_ascii_lowercase());
    let base = image.and_then(|image| earlier.iter().rposition(|s| s.name.as_deref() == Some(image.as_str())));
    Stage { name, base }
}

/// Reads the instructions of a Dockerfile (comments, parser directives and empty lines skipped).
pub fn parse(text: &str) -> Dockerfile {
    let bytes = text.as_bytes();
    let mut instructions = Vec::new();
    let mut pos = 0;
    let mut line = 1;
    let mut stage = 0usize;
    let mut seen_from = false;
    let mut stages: Vec<Stage> = Vec::new();
    while pos < bytes.len() {
        let line_end = text[pos..].find('\n').map_or(text.len(), |i| pos + i);
        let content = &text[pos..line_end];
        let trimmed = content.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            pos = line_end + 1;
            line += 1;
            continue;
        }
        let start = pos + (content.len() - trimmed.len());
        let keyword_len = trimmed.bytes().take_while(|b| b.is_ascii_alphabetic()).count();
        let keyword = trimmed[..keyword_len].to_ascii_uppercase();
        let start_line = line;
        // Extend over `\` continuations; comment and empty lines inside are part of the instruction.
        let mut end = line_end;
        let mut last_line = start..end;
        while end < text.len() && continues(&text[last_line.clone()]) {
            let next_end = text[end + 1..].find('\n').map_or(text.len(), |i| end + 1 + i);
            let next = &text[end + 1..next_end];
            let trimmed = next.trim();
            end = next_end;
            line += 1;
            // Comment and empty lines inside a continuation are dropped; the one before still continues.
            if !(trimmed.is_empty() || trimmed.starts_with('#')) {
                last_line = next_end - next.len()..next_end;
            }
        }
        let span_end = if text[..end].ends_with('\r') { end - 1 } else { end };
        let args_start = start + keyword_len;
        let args_start =
            args_start + (text[args_start..span_end].len() - text[args_start..span_end].trim_start().len());
        if keyword == "FROM" {
            if seen_from {
                stage += 1;
            }
            seen_from = true;
            stages.push(stage_of(&text[args_start..span_end], &stages));
        }
        instructions.push(Instruction {
            keyword,
            span: start..span_end,
            args: args_start..span_end,
            line: start_line,
            stage,
        });
        pos = end + 1;
        line += 1;
    }
    if stages.is_empty() {
        stages.push(Stage::default());
    }
    Dockerfile { instructions, stages }
}

fn continues(text: &str) -> bool {
    text.trim_end_matches(['\r', ' ', '\t']).ends_with('\\')
}

impl Dockerfile {
    /// The index of the last build stage.
    pub fn last_stage(&self) -> usize {
        self.instructions.last().map_or(0, |i| i.stage)
    }

    /// The last instruction named `keyword` in the final stage (the one `docker build` builds
    /// without `--target`), inherited from its base stage when it sets none.
    pub fn last_in_final_stage(&self, keyword: &str) -> Option<&Instruction> {
        self.command_of(self.last_stage(), keyword)
    }

    /// The stage named `target` (`build.target` in compose), case-insensitively.
    pub fn stage_named(&self, target: &str) -> Option<usize> {
        let target = target.to_ascii_lowercase();
        self.stages.iter().position(|s| s.name.as_deref() == Some(target.as_str()))
    }

    /// `stage` and the stages it is built from, nearest first (`FROM base AS prod`: prod, base).
    pub fn lineage(&self, stage: usize) -> Vec<usize> {
        let mut chain = vec![stage];
        while let Some(base) = self.stages.get(*chain.last().unwrap_or(&0)).and_then(|s| s.base) {
            if chain.contains(&base) {
                break;
            }
            chain.push(base);
        }
        chain
    }

    /// The `CMD` or `ENTRYPOINT` an image built at `stage` runs: the stage's last one, else its
    /// base stage's. Docker resets an inherited `CMD` when a stage sets its own `ENTRYPOINT`.
    pub fn command_of(&self, stage: usize, keyword: &str) -> Option<&Instruction> {
        for at in self.lineage(stage) {
            let in_stage = |k: &str| self.instructions.iter().rev().find(|i| i.stage == at && i.keyword == k);
            if let Some(found) = in_stage(keyword) {
                return Some(found);
            }
            if keyword == "CMD" && in_stage("ENTRYPOINT").is_some() {
                return None;
            }
        }
        None
    }

    /// The `ENV` instructions an image built at `stage` has, in the order they apply (the base
    /// stage's first).
    pub fn env_of(&self, stage: usize) -> Vec<&Instruction> {
        let mut chain = self.lineage(stage);
        chain.reverse();
        chain
            .iter()
            .flat_map(|&at| self.instructions.iter().filter(move |i| i.stage == at && i.keyword == "ENV"))
            .collect()
    }
}

/// The form of a `CMD`/`ENTRYPOINT`/`RUN` instruction's arguments.
pub fn command_form(text: &str, instruction: &Instruction) -> CommandForm {
    let args = &text[instruction.args.clone()];
    if args.starts_with('[')
        && let Some(words) = exec_array(text, instruction.args.clone())
    {
        return CommandForm::Exec(words);
    }
    let options = shell::Options { newline_is_space: false, dockerfile_comments: true };
    let commands = shell::commands(args, options)
        .into_iter()
        .map(|command| shell::Command {
            words: command.words.iter().map(|w| w.remap(&offset_map(instruction.args.clone()))).collect(),
        })
        .collect();
    CommandForm::Shell(commands)
}

fn offset_map(range: Range<usize>) -> Vec<usize> {
    range.collect()
}

/// Reads a JSON array of strings at `range`, each element with its span and per-byte offsets.
/// `None` when it is not one (Docker then runs the text as shell form).
pub fn exec_array(text: &str, range: Range<usize>) -> Option<Vec<Word>> {
    let bytes = text.as_bytes();
    let mut pos = range.start + 1;
    let mut words = Vec::new();
    let skip_space = |pos: &mut usize| {
        while *pos < range.end {
            match bytes[*pos] {
                b' ' | b'\t' | b'\r' | b'\n' => *pos += 1,
                b'\\' if matches!(bytes.get(*pos + 1), Some(b'\n' | b'\r')) => *pos += 1,
                _ => break,
            }
        }
    };
    loop {
        skip_space(&mut pos);
        if pos >= range.end {
            return None;
        }
        match bytes[pos] {
            b']' => break,
            b'"' => {
                let (word, end) = json_string(text, pos)?;
                words.push(word);
                pos = end;
                skip_space(&mut pos);
                match bytes.get(pos) {
                    Some(b',') => pos += 1,
                    Some(b']') => {}
                    _ => return None,
                }
            }
            _ => return None,
        }
    }
    Some(words)
}

/// A JSON string starting at `start` (the opening quote): the word and the offset after it.
pub fn json_string(text: &str, start: usize) -> Option<(Word, usize)> {
    let bytes = text.as_bytes();
    let mut word = Word { text: String::new(), offsets: Vec::new(), span: start..start, vars: Vec::new() };
    let mut pos = start + 1;
    while pos < bytes.len() {
        match bytes[pos] {
            b'"' => {
                word.span = start..pos + 1;
                return Some((word, pos + 1));
            }
            b'\n' => return None,
            b'\\' => {
                let decoded = match bytes.get(pos + 1)? {
                    b'n' => '\n',
                    b't' => '\t',
                    b'"' => '"',
                    b'\\' => '\\',
                    b'/' => '/',
                    _ => return None,
                };
                word.text.push(decoded);
                word.offsets.push(pos);
                pos += 2;
            }
            _ => {
                let ch = text[pos..].chars().next()?;
                word.text.push(ch);
                word.offsets.extend(pos..pos + ch.len_utf8());
                pos += ch.len_utf8();
            }
        }
    }
    None
}

/// One `KEY=value` of an `ENV` instruction.
#[derive(Debug, Clone)]
pub struct EnvPair {
    pub key: String,
    /// The value, with its offsets in the file.
    pub value: Word,
}

/// The pairs an `ENV` instruction sets: `ENV A=1 B="2"` or the legacy `ENV A 1`.
pub fn env_pairs(text: &str, instruction: &Instruction) -> Vec<EnvPair> {
    let args = &text[instruction.args.clone()];
    let map = offset_map(instruction.args.clone());
    let words: Vec<Word> = shell::words(args).iter().map(|w| w.remap(&map)).collect();
    let Some(first) = words.first() else { return Vec::new() };
    if !first.text.contains('=') {
        // Legacy form: the rest of the line is the value.
        let key = first.text.clone();
        let value_start = words.get(1).map_or(instruction.args.end, |w| w.span.start);
        let raw = &text[value_start..instruction.args.end];
        let value = Word {
            text: raw.to_owned(),
            offsets: (value_start..instruction.args.end).collect(),
            span: value_start..instruction.args.end,
            vars: Vec::new(),
        };
        return vec![EnvPair { key, value }];
    }
    words
        .into_iter()
        .filter_map(|word| {
            let (key, value) = word.assignment_value()?;
            Some(EnvPair { key, value })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn instructions_forms_and_env() {
        let text = "# syntax=docker/dockerfile:1\nFROM python:3.12 AS base\nENV A=1 WEB_CONCURRENCY=\"4\"\n\nFROM base\nCMD gunicorn \\\n  # note\n  -w 3 app:app\nENTRYPOINT [\"gunicorn\", \"--workers\", \"3\"]\n";
        let file = parse(text);
        let keywords: Vec<&str> = file.instructions.iter().map(|i| i.keyword.as_str()).collect();
        assert_eq!(keywords, ["FROM", "ENV", "FROM", "CMD", "ENTRYPOINT"]);
        let env = env_pairs(text, &file.instructions[1]);
        assert_eq!(env[1].key, "WEB_CONCURRENCY");
        assert_eq!(&text[env[1].value.source_range(0..1).unwrap()], "4");
        let cmd = file.last_in_final_stage("CMD").unwrap();
        assert_eq!(cmd.line, 6);
        match command_form(text, cmd) {
            CommandForm::Shell(commands) => {
                let words: Vec<&str> = commands[0].words.iter().map(|w| w.text.as_str()).collect();
                assert_eq!(words, ["gunicorn", "-w", "3", "app:app"]);
                assert_eq!(&text[commands[0].words[2].span.clone()], "3");
            }
            CommandForm::Exec(_) => panic!("shell form expected"),
        }
        assert_eq!(file.lineage(1), [1, 0]);
        match command_form(text, file.last_in_final_stage("ENTRYPOINT").unwrap()) {
            CommandForm::Exec(words) => assert_eq!(&text[words[2].source_range(0..1).unwrap()], "3"),
            CommandForm::Shell(_) => panic!("exec form expected"),
        }
    }

    #[test]
    fn stages_inherit_from_their_base() {
        let text = "FROM python:3.12 AS Base\nENV A=1\nCMD [\"gunicorn\", \"app\"]\nFROM --platform=linux/amd64 base AS prod\nENV B=2\nFROM base AS dev\nENTRYPOINT [\"/dev.sh\"]\nFROM node:20 AS assets\n";
        let file = parse(text);
        assert_eq!(file.stage_named("PROD"), Some(1));
        assert_eq!(file.command_of(1, "CMD").map(|i| i.line), Some(3), "prod inherits base's CMD");
        let env: Vec<usize> = file.env_of(1).iter().map(|i| i.line).collect();
        assert_eq!(env, [2, 5], "base's ENV first, then prod's");
        assert!(file.command_of(2, "CMD").is_none(), "an ENTRYPOINT resets the inherited CMD");
        assert!(file.last_in_final_stage("CMD").is_none(), "the last stage is not built from base");
    }
}
