//! Every edited file re-read by its language's parser: what a patch writes must parse as well as
//! what it read. A file whose original does not parse with that parser (an unrendered template,
//! a file of another dialect) is not held to it; a created file is.

use std::path::Path;

use crate::lang::{compose, dockerfile, nginx, python};
use crate::project::kinds;

/// The language a file is re-read in, by its name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Language {
    Python,
    Yaml,
    Dockerfile,
    Toml,
    Nginx,
}

impl Language {
    fn of(path: &Path) -> Option<Language> {
        let name = kinds::name_of(path);
        let in_nginx_folder = path.components().any(|c| c.as_os_str().to_string_lossy().contains("nginx"));
        if name.ends_with(".py") {
            Some(Language::Python)
        } else if kinds::is_yaml(path) {
            Some(Language::Yaml)
        } else if kinds::is_dockerfile(path) {
            Some(Language::Dockerfile)
        } else if name.ends_with(".toml") {
            Some(Language::Toml)
        } else if name.ends_with(".conf") || name.ends_with(".template") || name.ends_with(".nginx") || in_nginx_folder
        {
            Some(Language::Nginx)
        } else {
            None
        }
    }

    fn name(self) -> &'static str {
        match self {
            Language::Python => "Python (CPython's rules)",
            Language::Yaml => "YAML",
            Language::Dockerfile => "a Dockerfile (exec-form JSON arrays)",
            Language::Toml => "TOML",
            Language::Nginx => "nginx configuration",
        }
    }

    /// `Err` with the parser's own words.
    fn parse(self, path: &Path, text: &str) -> Result<(), String> {
        match self {
            Language::Python => python::check(path, text).map_err(|err| err.to_string()),
            Language::Yaml => {
                compose::parse_yaml(text).map(|_| ()).map_err(|line| format!("YAML syntax error at line {line}"))
            }
            Language::Dockerfile => exec_forms(text),
            Language::Toml => toml::from_str::<toml::Table>(text).map(|_| ()).map_err(|err| err.message().to_owned()),
            Language::Nginx => nginx::parse(text).map(|_| ()).map_err(|err| err.to_string()),
        }
    }
}

/// Every `CMD`/`ENTRYPOINT`/`RUN` written as a JSON array must stay one: Docker runs a broken
/// array as a shell command (`/bin/sh -c '["gunicorn", ...'`), which fails at start-up.
fn exec_forms(text: &str) -> Result<(), String> {
    for instruction in dockerfile::parse(text).instructions {
        let exec = matches!(instruction.keyword.as_str(), "CMD" | "ENTRYPOINT" | "RUN")
            && text[instruction.args.clone()].starts_with('[');
        if exec && dockerfile::exec_array(text, instruction.args.clone()).is_none() {
            return Err(format!(
                "line {}: {} is no longer a JSON array of strings",
                instruction.line, instruction.keyword
            ));
        }
    }
    Ok(())
}

/// Re-reads `after` (the text of `path` once the plan is written; `before`: as it is, `None` for
/// a created file): `Ok(Some(what))` says which parser accepted it, `Ok(None)` that no parser
/// applies (a shell script, an env file; or an original the parser refuses too), `Err` why the
/// patched text does not parse.
pub fn reparse(path: &Path, before: Option<&str>, after: &str) -> Result<Option<String>, String> {
    let Some(language) = Language::of(path) else { return Ok(None) };
    if before.is_some_and(|text| language.parse(path, text).is_err()) {
        return Ok(None);
    }
    match language.parse(path, after) {
        Ok(()) => Ok(Some(format!("{} parses as {}", path.display(), language.name()))),
        Err(err) => Err(format!("{} would no longer parse as {}: {err}", path.display(), language.name())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_language_refuses_what_its_parser_refuses() {
        let ok = |path: &str, before: &str, after: &str| reparse(Path::new(path), Some(before), after);
        assert!(ok("nginx/nginx.conf", "events {}\n", "events {}\nhttp { gzip on; }\n").unwrap().is_some());
        let err = ok("nginx/nginx.conf", "events {}\n", "events {}\nhttp { gzip on;\n").unwrap_err();
        assert!(err.contains("nginx/nginx.conf would no longer parse as nginx"), "{err}");
        assert!(ok("docker-compose.yml", "a: 1\n", "a: [1\n").is_err());
        assert!(ok("Dockerfile", "CMD [\"a\"]\n", "CMD [\"a\", \"-w\" 3]\n").is_err());
        assert!(ok("pyproject.toml", "a = 1\n", "a = \n").is_err());
        assert!(ok("app/settings.py", "A = 1\n", "A = 05\n").is_err());
        // An original its parser refuses (a template) is not held to it; an unknown kind has no parser.
        assert_eq!(ok("gunicorn.conf.py", "{% if x %}\n", "{% if y %}\n"), Ok(None));
        assert_eq!(ok("start.sh", "exec gunicorn\n", "exec gunicorn -w 5\n"), Ok(None));
    }
}
