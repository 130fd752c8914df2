//! Heroku's `app.json` (the app's manifest: `formation.<process>.quantity` / `size`, and `env`,
//! the config vars set when the app is created from it) and `heroku.yml` (container builds:
//! `build.docker.<process>`, a Dockerfile path or `{dockerfile, target}`, and `run.<process>`, a
//! command string or `command:` list; without `run`, Heroku runs the image's CMD:
//! devcenter.heroku.com/articles/build-docker-images-heroku-yml).

use super::{EnvValue, PlatformCommand, Setting, command_at, line, setting};
use crate::lang::compose::{get, items, pairs, parse_yaml, root_mapping, scalar};

/// What an `app.json` says.
#[derive(Debug, Clone, Default)]
pub struct HerokuApp {
    /// `env.<KEY>.value` (or `env.<KEY>: "value"`): the app's config vars.
    pub env: Vec<EnvValue>,
    /// `formation.web.quantity` and `formation.web.size`.
    pub web_quantity: Option<Setting>,
    pub web_size: Option<Setting>,
}

/// Reads an `app.json` (JSON is YAML to the YAML parser, so values keep their offsets);
/// `Err(line)` names the line of a syntax error.
pub fn heroku_app(text: &str) -> Result<HerokuApp, usize> {
    let yaml = parse_yaml(text)?;
    let mut app = HerokuApp::default();
    let Some(root) = root_mapping(&yaml) else { return Ok(app) };
    if let Some(env) = get(text, root, "env") {
        for (key, value) in pairs(text, env) {
            let Some(value) = value else { continue };
            let value = if value.kind().ends_with("mapping") { get(text, value, "value") } else { Some(value) };
            if let Some(node) = value
                && let Some(word) = scalar(text, node)
            {
                app.env.push(EnvValue { key, value: word, line: line(node) });
            }
        }
    }
    if let Some(web) = get(text, root, "formation").and_then(|f| get(text, f, "web")) {
        app.web_quantity = get(text, web, "quantity").and_then(|n| setting(text, n));
        app.web_size = get(text, web, "size").and_then(|n| setting(text, n));
    }
    Ok(app)
}

/// One `build.docker` entry: the Dockerfile a process's image is built from, and the stage.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HerokuBuild {
    pub process: String,
    pub dockerfile: String,
    pub target: Option<String>,
}

/// What a `heroku.yml` says.
#[derive(Debug, Clone, Default)]
pub struct HerokuYml {
    pub builds: Vec<HerokuBuild>,
    /// `run.<process>` commands (the process name is the command's name).
    pub runs: Vec<PlatformCommand>,
    /// Whether the file has a `run` section (without one, each image runs its CMD).
    pub has_run: bool,
}

/// Reads a `heroku.yml`; `Err(line)` names the line of a YAML syntax error.
pub fn heroku_yml(text: &str) -> Result<HerokuYml, usize> {
    let yaml = parse_yaml(text)?;
    let mut heroku = HerokuYml::default();
    let Some(root) = root_mapping(&yaml) else { return Ok(heroku) };
    if let Some(docker) = get(text, root, "build").and_then(|b| get(text, b, "docker")) {
        for (process, value) in pairs(text, docker) {
            let Some(value) = value else { continue };
            let text_of = |key: &str| get(text, value, key).and_then(|n| scalar(text, n)).map(|w| w.text);
            let (dockerfile, target) = if value.kind().ends_with("mapping") {
                (text_of("dockerfile"), text_of("target"))
            } else {
                (scalar(text, value).map(|w| w.text), None)
            };
            if let Some(dockerfile) = dockerfile {
                heroku.builds.push(HerokuBuild { process, dockerfile, target });
            }
        }
    }
    let Some(run) = get(text, root, "run") else { return Ok(heroku) };
    heroku.has_run = true;
    for (process, value) in pairs(text, run) {
        let Some(value) = value else { continue };
        // `web: gunicorn ...`, or `web: {command: ["gunicorn ..."], image: web}`: a list of one
        // command string.
        let node = match get(text, value, "command") {
            Some(list) if list.kind().ends_with("sequence") => match items(list).as_slice() {
                [only] => Some(*only),
                _ => None,
            },
            Some(command) => Some(command),
            None if !value.kind().ends_with("mapping") => Some(value),
            None => None,
        };
        if let Some(command) = node.and_then(|n| command_at(text, n, &process)) {
            heroku.runs.push(command);
        }
    }
    Ok(heroku)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn app_json() {
        let text = "{\n  \"env\": {\n    \"WEB_CONCURRENCY\": {\"value\": \"3\"},\n    \"SECRET\": {\"generator\": \"secret\"},\n    \"DEBUG\": \"0\"\n  },\n  \"formation\": {\"web\": {\"quantity\": 2, \"size\": \"performance-m\"}}\n}\n";
        let app = heroku_app(text).unwrap();
        assert_eq!(app.env.iter().map(|e| e.key.as_str()).collect::<Vec<_>>(), ["WEB_CONCURRENCY", "DEBUG"]);
        assert_eq!(&text[app.env[0].value.source_range(0..1).unwrap()], "3");
        assert_eq!(app.web_quantity.unwrap().value, "2");
        assert_eq!(app.web_size, Some(Setting { value: "performance-m".to_owned(), line: 7 }));
    }

    #[test]
    fn heroku_yml_builds_and_runs() {
        let text = "build:\n  docker:\n    web:\n      dockerfile: deploy/Dockerfile\n      target: production\n    worker: deploy/Dockerfile\nrun:\n  web: gunicorn shop.wsgi -w 2\n  worker:\n    command:\n      - celery -A shop worker\n    image: worker\n";
        let read = heroku_yml(text).unwrap();
        assert_eq!(
            read.builds[0],
            HerokuBuild {
                process: "web".into(),
                dockerfile: "deploy/Dockerfile".into(),
                target: Some("production".into())
            }
        );
        assert_eq!(read.builds[1].target, None);
        assert!(read.has_run);
        assert_eq!(read.runs.len(), 2);
        assert_eq!((read.runs[0].name.as_str(), read.runs[0].line), ("web", 8));
        assert_eq!(&text[read.runs[0].words.last().unwrap().span.clone()], "2");
        assert_eq!(read.runs[1].words[0].text, "celery");
        assert!(!heroku_yml("build:\n  docker:\n    web: Dockerfile\n").unwrap().has_run);
    }
}
