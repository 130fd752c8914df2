//! gunicorn's command-line options, read the way its argparse parser reads them: `-w 3`, `-w3`,
//! `-w=3`, `--workers 3`, `--workers=3`, unambiguous prefixes (`--thread 4`), and the last
//! occurrence wins. The same reader serves `GUNICORN_CMD_ARGS`.

use std::ops::Range;

use crate::lang::shell::Word;

/// Where an option's value is: the word and the bytes of its text that are the value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlagValue {
    /// Index of the word holding the value.
    pub word: usize,
    /// The value inside that word's text (`3` in `-w3`).
    pub text_range: Range<usize>,
    /// Index of the word holding the option name.
    pub flag_word: usize,
}

impl FlagValue {
    pub fn text<'w>(&self, words: &'w [Word]) -> &'w str {
        &words[self.word].text[self.text_range.clone()]
    }
}

/// The options scalepatch cares about, as the command line sets them.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Flags {
    pub workers: Option<FlagValue>,
    pub worker_class: Option<FlagValue>,
    pub threads: Option<FlagValue>,
    pub config: Option<FlagValue>,
    /// Index of the first positional word: the application (`wingman.wsgi:application`).
    pub target: Option<usize>,
}

/// Long options that take no value (argparse `store_true`/`store_const`).
const SWITCHES: &[&str] = &[
    "reload",
    "spew",
    "check-config",
    "print-config",
    "preload",
    "no-sendfile",
    "reuse-port",
    "daemon",
    "capture-output",
    "enable-stdio-inheritance",
    "proxy-protocol",
    "suppress-ragged-eofs",
    "do-handshake-on-connect",
    "strip-header-spaces",
    "help",
    "version",
    "log-config-json",
    "reload-extra-file",
];

/// Short options that take no value.
const SHORT_SWITCHES: &[char] = &['D', 'R', 'h', 'v'];

/// Long options that share a prefix with the ones scalepatch reads, for argparse's rule that an
/// unambiguous prefix is accepted.
const LONG_OPTIONS: &[&str] = &[
    "workers",
    "worker-class",
    "worker-connections",
    "worker-tmp-dir",
    "threads",
    "config",
    "timeout",
    "bind",
    "backlog",
    "chdir",
    "certfile",
    "ca-certs",
    "check-config",
    "capture-output",
    "ciphers",
];

/// The setting a long option name (possibly abbreviated) stands for.
fn long_name(name: &str) -> String {
    if LONG_OPTIONS.contains(&name) || SWITCHES.contains(&name) {
        return name.to_owned();
    }
    let matches: Vec<&&str> = LONG_OPTIONS.iter().filter(|o| o.starts_with(name)).collect();
    match matches.as_slice() {
        [only] => (**only).to_owned(),
        _ => name.to_owned(),
    }
}

/// Whether an option word without an inline value consumes the next word (`-b`, `--bind`), as
/// opposed to a switch (`--preload`, `-D`).
pub fn takes_value(option: &str) -> bool {
    if let Some(long) = option.strip_prefix("--") {
        return !SWITCHES.contains(&long_name(long).as_str());
    }
    let short = option.chars().nth(1).unwrap_or(' ');
    option.len() == 2 && !SHORT_SWITCHES.contains(&short)
}

/// Reads gunicorn's options from `words` (the arguments after the program).
pub fn parse(words: &[Word]) -> Flags {
    let mut flags = Flags::default();
    let mut i = 0;
    let mut only_positional = false;
    while i < words.len() {
        let text = words[i].text.as_str();
        if only_positional || !text.starts_with('-') || text == "-" {
            if flags.target.is_none() {
                flags.target = Some(i);
            }
            i += 1;
            continue;
        }
        if text == "--" {
            only_positional = true;
            i += 1;
            continue;
        }
        let (name, inline) = if let Some(long) = text.strip_prefix("--") {
            match long.find('=') {
                Some(eq) => (long_name(&long[..eq]), Some(2 + eq + 1..text.len())),
                None => (long_name(long), None),
            }
        } else {
            let short = text[1..].chars().next().unwrap_or(' ');
            let name = match short {
                'w' => "workers",
                'k' => "worker-class",
                'c' => "config",
                other if SHORT_SWITCHES.contains(&other) => "switch",
                _ => "other",
            }
            .to_owned();
            let rest = 1 + short.len_utf8();
            let inline = (text.len() > rest)
                .then(|| if text[rest..].starts_with('=') { rest + 1..text.len() } else { rest..text.len() });
            (name, inline)
        };
        let takes_value = !(SWITCHES.contains(&name.as_str()) || name == "switch");
        let value = match (takes_value, inline) {
            (false, _) => None,
            (true, Some(range)) => Some(FlagValue { word: i, text_range: range, flag_word: i }),
            (true, None) if i + 1 < words.len() => {
                i += 1;
                Some(FlagValue { word: i, text_range: 0..words[i].text.len(), flag_word: i - 1 })
            }
            (true, None) => None,
        };
        match name.as_str() {
            "workers" => flags.workers = value.or(flags.workers),
            "worker-class" => flags.worker_class = value.or(flags.worker_class),
            "threads" => flags.threads = value.or(flags.threads),
            "config" => flags.config = value.or(flags.config),
            _ => {}
        }
        i += 1;
    }
    flags
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::lang::shell::words;

    fn read(line: &str) -> (Vec<Word>, Flags) {
        let words = words(line);
        let flags = parse(&words);
        (words, flags)
    }

    #[test]
    fn every_spelling_and_last_wins() {
        for line in ["-w 5 app", "-w5 app", "-w=5 app", "--workers 5 app", "--workers=5 app", "--work=2 -w 5 app"] {
            let (words, flags) = read(line);
            assert_eq!(flags.workers.as_ref().unwrap().text(&words), "5", "{line}");
            assert_eq!(words[flags.target.unwrap()].text, "app", "{line}");
        }
        let (words, flags) =
            read("--bind 0.0.0.0:8000 -ksync --thread 2 --preload --worker-class=gevent app:app -c conf.py");
        assert_eq!(flags.worker_class.unwrap().text(&words), "gevent");
        assert_eq!(flags.threads.unwrap().text(&words), "2");
        assert_eq!(flags.config.unwrap().text(&words), "conf.py");
        assert_eq!(words[flags.target.unwrap()].text, "app:app");
    }
}
