//! Process launchers that hold a command line: Procfile (`web: gunicorn ...`), supervisord
//! (`command=` in a `[program:x]` section, continued on indented lines, `%(ENV_X)s` expansions)
//! and systemd units (`ExecStart=`, continued with `\`). Each gives the command's words with
//! their byte offsets in the file.

use super::shell::{self, VarRef, Word};

/// A command line found in a launcher file.
#[derive(Debug, Clone)]
pub struct LaunchCommand {
    /// The process or program name (`web`, `program:django`, the unit's `ExecStart`).
    pub name: String,
    pub words: Vec<Word>,
    /// 1-based line where the command starts.
    pub line: usize,
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
        commands.push(LaunchCommand { name: name.to_owned(), words, line: index + 1 });
    }
    commands
}

/// `command=` values of supervisord `[program:x]` sections. `%(ENV_X)s` becomes a variable
/// reference to `X`.
pub fn supervisord(text: &str) -> Vec<LaunchCommand> {
    let mut commands = Vec::new();
    let mut section = String::new();
    let lines: Vec<(usize, &str)> = line_offsets(text);
    let mut i = 0;
    while i < lines.len() {
        let (start, raw) = lines[i];
        let content = raw.trim_end_matches(['\n', '\r']);
        let trimmed = content.trim();
        if trimmed.starts_with('[') {
            section = trimmed.trim_matches(['[', ']']).to_owned();
        } else if section.starts_with("program:")
            && !content.starts_with([' ', '\t'])
            && let Some(eq) = content.find('=')
            && content[..eq].trim() == "command"
        {
            let value_start = start + eq + 1;
            let mut value_end = start + content.len();
            // configparser continues a value on following indented, non-empty lines.
            while i + 1 < lines.len() {
                let (next_start, next_raw) = lines[i + 1];
                let next = next_raw.trim_end_matches(['\n', '\r']);
                if next.starts_with([' ', '\t']) && !next.trim().is_empty() {
                    value_end = next_start + next.len();
                    i += 1;
                } else {
                    break;
                }
            }
            let words = expand_supervisor_env(text, value_start..value_end);
            commands.push(LaunchCommand {
                name: section.clone(),
                words,
                line: text[..start].matches('\n').count() + 1,
            });
        }
        i += 1;
    }
    commands
}

/// The words of a supervisord command, with `%(ENV_X)s` turned into a variable reference.
fn expand_supervisor_env(text: &str, range: std::ops::Range<usize>) -> Vec<Word> {
    let map: Vec<usize> = range.clone().collect();
    shell::words(&text[range])
        .into_iter()
        .map(|word| {
            let mut word = word.remap(&map);
            let mut search = 0;
            while let Some(found) = word.text[search..].find("%(ENV_") {
                let at = search + found;
                let Some(close) = word.text[at..].find(")s").map(|i| at + i) else { break };
                let name = word.text[at + 6..close].to_owned();
                word.vars.push(VarRef { name, text_range: at..close + 2, has_default: false });
                search = close + 2;
            }
            word
        })
        .collect()
}

/// `ExecStart=` of a systemd unit (prefixes `-@:+!` dropped).
pub fn systemd(text: &str) -> Vec<LaunchCommand> {
    let mut commands = Vec::new();
    for (start, raw) in line_offsets(text) {
        let content = raw.trim_end_matches(['\n', '\r']);
        let Some(rest) = content.trim_start().strip_prefix("ExecStart") else { continue };
        let Some(value) = rest.trim_start().strip_prefix('=') else { continue };
        let value_start = start + (content.len() - value.len());
        let value_start =
            value_start + value.len() - value.trim_start_matches([' ', '\t', '-', '@', ':', '+', '!']).len();
        let mut end = start + content.len();
        while text[value_start..end].trim_end().ends_with('\\') && end < text.len() {
            end = text[end + 1..].find('\n').map_or(text.len(), |i| end + 1 + i);
        }
        let end = if text[..end].ends_with('\r') { end - 1 } else { end };
        let map: Vec<usize> = (value_start..end).collect();
        let words = shell::words(&text[value_start..end]).iter().map(|w| w.remap(&map)).collect();
        commands.push(LaunchCommand {
            name: "ExecStart".to_owned(),
            words,
            line: text[..start].matches('\n').count() + 1,
        });
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
}
