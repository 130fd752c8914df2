//! Start scripts: shell scripts that start a server, found by name (`*.sh`, `bin/start`,
//! `entrypoint`...) or by being named on a launcher's command line (`web: bin/start-web`,
//! `CMD ["./Procfile.sh"]`) with a shell shebang; and what runs each one, whose environment and
//! container or platform apply to the starts inside.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::discovery::{
    ArgStyle, Deployment, Discovery, DockerfileHook, EnvVar, Origin, ParsedDockerfile, Platform, UnseenEnv,
    built_dockerfile, dockerfile_env, hook, image_command_hook, invocation_from, is_launcher_config, launcher_name,
    read, service_env, service_running_image,
};
use super::launcher_env;
use crate::facts::problem::Problem;
use crate::lang::compose::{self, ComposeCommand};
use crate::lang::dockerfile::{self, CommandForm};
use crate::lang::launchers;
use crate::lang::shell::{self, Word};
use crate::project::Project;
use crate::project::kinds::{self, name_of};
use crate::text::location::Location;
use crate::text::source::SourceFile;

/// Whether a file is a shell script: by extension, or an extension-less file in a bin/,
/// scripts/, docker/ or deploy/ folder or named like a start script (`entrypoint`, `start`...).
pub(super) fn is_script(path: &Path) -> bool {
    let name = name_of(path);
    if name.ends_with(".sh") || name.ends_with(".bash") {
        return true;
    }
    if name.contains('.') {
        return false;
    }
    let in_bin = matches!(crate::project::kinds::folder_name(path), "bin" | "scripts" | "docker" | "deploy");
    in_bin || ["entrypoint", "start", "run", "boot", "serve", "launch"].iter().any(|word| name.contains(word))
}

/// Script lines that may start gunicorn in a way discovery cannot read (`exec "$gunicorn_bin"
/// "${args[@]}"`, as mathesar does: an `exec` of gunicorn, or of a variable, in a script that
/// mentions gunicorn). Asked only when no start was found, so that the answer is "found, but not
/// readable" with the place, not "no gunicorn command".
pub fn unread_gunicorn_starts(project: &Project) -> Vec<(Location, String)> {
    let scripts: Vec<PathBuf> = project.files_of(is_script).to_vec();
    let mut found = Vec::new();
    for path in project.files_containing(&scripts, "gunicorn") {
        let Ok(file) = project.read(&path) else { continue };
        for (index, line) in file.text.lines().enumerate() {
            let command = line.trim_start();
            let Some(rest) = command.strip_prefix("exec ") else { continue };
            // The program is the gunicorn path itself, or a variable in a script that mentions it.
            let program = rest.trim_start().trim_start_matches('"');
            // `exec "$@"` runs the image's CMD, which discovery reads on its own.
            let program_is_variable =
                program.starts_with('$') && !["$@", "$*", "${@}", "${*}"].iter().any(|a| program.starts_with(a));
            if command.to_ascii_lowercase().contains("gunicorn") || program_is_variable {
                found.push((Location::new(path.clone(), index + 1), command.trim_end().to_owned()));
            }
        }
    }
    found
}

/// What runs a script: the Dockerfile, compose service, Procfile line, supervisord program or
/// systemd unit whose command names it. Its environment, and the container or platform it runs
/// on, apply to the starts in the script. (A platform file's command that runs a script is
/// attached afterwards, by `platforms`.)
#[derive(Default)]
pub(super) struct ScriptRunner {
    env: Vec<EnvVar>,
    dockerfile: Option<DockerfileHook>,
    service: Option<(PathBuf, String)>,
    platform: Option<(Platform, Location)>,
    /// Sources of the launcher's environment outside the project (`EnvironmentFile=/etc/..`).
    unseen_env: Vec<UnseenEnv>,
    /// The launcher's working directory, mapped into the project.
    working_dirs: Vec<PathBuf>,
}

/// The first Dockerfile ENTRYPOINT / CMD that names the script, else the first compose service
/// whose command does (`command: /start`), else the first Procfile line (`web: bin/start-web`),
/// else the first supervisord `command=` / systemd `ExecStart=`.
pub(super) fn script_runner(
    project: &Project,
    path: &Path,
    deployment: &Deployment,
    errors: &mut Vec<Problem>,
) -> ScriptRunner {
    let script_name = name_of(path);
    let mentions = |words: &[Word]| words.iter().any(|w| name_of(Path::new(&w.text)) == script_name);
    dockerfile_runner(project, deployment, &mentions, errors)
        .or_else(|| compose_runner(project, deployment, &mentions, errors))
        .or_else(|| procfile_runner(deployment, &mentions))
        .or_else(|| launcher_runner(project, script_name, &mentions, errors))
        .unwrap_or_default()
}

/// A supervisord program or systemd unit whose command runs the script: its `environment=` /
/// `Environment=` / `EnvironmentFile=` (with the sources outside the project, which may set
/// anything) and its working directory apply to the starts inside, as to a start it names itself.
fn launcher_runner(
    project: &Project,
    script_name: &str,
    mentions: &dyn Fn(&[Word]) -> bool,
    errors: &mut Vec<Problem>,
) -> Option<ScriptRunner> {
    let configs: Vec<PathBuf> = project.files_of(is_launcher_config).to_vec();
    for path in project.files_containing(&configs, script_name) {
        let Some(file) = read(project, &path, errors) else { continue };
        let commands = if launcher_name(&path).ends_with(".service") {
            launchers::systemd(&file.text)
        } else {
            launchers::supervisord(&file.text)
        };
        if let Some(command) = commands.iter().find(|c| mentions(&c.words)) {
            let (env, unseen) = launcher_env::launcher_env(project, &path, command, errors);
            let unseen_env = unseen.into_iter().map(UnseenEnv::anything).collect();
            let working_dirs = launcher_env::working_dirs(command.directory.as_deref());
            return Some(ScriptRunner { env, unseen_env, working_dirs, ..ScriptRunner::default() });
        }
    }
    None
}

fn dockerfile_runner(
    project: &Project,
    deployment: &Deployment,
    mentions: &dyn Fn(&[Word]) -> bool,
    errors: &mut Vec<Problem>,
) -> Option<ScriptRunner> {
    for docker in &deployment.dockerfiles {
        for keyword in ["ENTRYPOINT", "CMD"] {
            let Some(instruction) = docker.command(keyword) else { continue };
            if !mentions(&instruction_words(docker, instruction)) {
                continue;
            }
            let mut runner = ScriptRunner {
                env: dockerfile_env(docker),
                dockerfile: Some(hook(docker, instruction)),
                ..ScriptRunner::default()
            };
            if let Some((env, running)) = service_running_image(project, &deployment.composes, &docker.path, errors) {
                runner.env.extend(env.env);
                runner.unseen_env.extend(env.unseen);
                runner.service = Some(running);
            }
            return Some(runner);
        }
    }
    None
}

fn compose_runner(
    project: &Project,
    deployment: &Deployment,
    mentions: &dyn Fn(&[Word]) -> bool,
    errors: &mut Vec<Problem>,
) -> Option<ScriptRunner> {
    for compose in &deployment.composes {
        for service in &compose.services {
            if !mentions(service_words(service)) {
                continue;
            }
            let mut runner = ScriptRunner::default();
            if let Some(docker) = built_dockerfile(&compose.path, service, &deployment.dockerfiles) {
                runner.env = dockerfile_env(docker);
                runner.dockerfile = image_command_hook(docker);
            }
            let service_env = service_env(project, &compose.path, service, errors);
            runner.env.extend(service_env.env);
            runner.unseen_env.extend(service_env.unseen);
            runner.service = Some((compose.path.clone(), service.name.clone()));
            return Some(runner);
        }
    }
    None
}

/// A Procfile line that runs the script: the platform runs it, with the line's own
/// `NAME=value` prefixes; no container the files describe (so no compose CPU limit) applies.
fn procfile_runner(deployment: &Deployment, mentions: &dyn Fn(&[Word]) -> bool) -> Option<ScriptRunner> {
    let (path, command) = deployment
        .procfiles
        .iter()
        .find_map(|(path, commands)| commands.iter().find(|c| mentions(&c.words)).map(|c| (path, c)))?;
    let what = format!("the Procfile line {}:{}", path.display(), command.line);
    Some(ScriptRunner {
        env: leading_env(&command.words, path, command.line, &what),
        platform: Some((Platform::Procfile, Location::new(path.clone(), command.line))),
        ..ScriptRunner::default()
    })
}

/// The words of a Dockerfile CMD / ENTRYPOINT, whatever its form.
fn instruction_words(docker: &ParsedDockerfile, instruction: &dockerfile::Instruction) -> Vec<Word> {
    match dockerfile::command_form(&docker.file.text, instruction) {
        CommandForm::Exec(words) => words,
        CommandForm::Shell(commands) => commands.into_iter().flat_map(|c| c.words).collect(),
    }
}

/// The words of a compose service's `command:` (else `entrypoint:`).
fn service_words(service: &compose::Service) -> &[Word] {
    match service.command.as_ref().or(service.entrypoint.as_ref()) {
        Some(ComposeCommand::String { words, .. }) => words,
        Some(ComposeCommand::List { items, .. }) => items,
        None => &[],
    }
}

/// `NAME=value` words before a launcher's command (`web: WEB_CONCURRENCY=3 bin/start-web`): the
/// environment the command runs with.
pub(super) fn leading_env(words: &[Word], path: &Path, line: usize, what: &str) -> Vec<EnvVar> {
    words
        .iter()
        .take_while(|w| shell::is_assignment(w))
        .filter_map(|w| w.assignment_value())
        .map(|(key, value)| EnvVar { key, value, path: path.to_owned(), line, what: what.to_owned() })
        .collect()
}

/// Project files that a launcher runs as a script (`web: bin/start-web`, `CMD ["./Procfile.sh"]`,
/// `command: sh scripts/start.sh`, `/app/docker/start` inside the image), known by being named
/// there and by a shell shebang or extension whatever their name.
pub(super) fn named_scripts(project: &Project, deployment: &Deployment) -> Vec<PathBuf> {
    let mut words: Vec<(PathBuf, Word)> = Vec::new();
    for docker in &deployment.dockerfiles {
        for instruction in ["ENTRYPOINT", "CMD"].iter().filter_map(|k| docker.command(k)) {
            words.extend(instruction_words(docker, instruction).into_iter().map(|w| (docker.path.clone(), w)));
        }
    }
    for compose in &deployment.composes {
        for service in &compose.services {
            words.extend(service_words(service).iter().map(|w| (compose.path.clone(), w.clone())));
        }
    }
    for (path, commands) in &deployment.procfiles {
        words.extend(commands.iter().flat_map(|c| c.words.iter().map(|w| (path.clone(), w.clone()))));
    }
    let mut found: Vec<PathBuf> = Vec::new();
    for (launcher, word) in words {
        let Some(path) = script_path(project, &launcher, &word.text) else { continue };
        let shell_script = is_script(&path) || project.file_matches(&path, kinds::has_shell_shebang);
        if shell_script && !found.contains(&path) {
            found.push(path);
        }
    }
    found
}

/// The project file a command word names: relative to the launcher's folder or the project
/// root, or an absolute path in the image whose tail is one project file.
pub(super) fn script_path(project: &Project, launcher: &Path, text: &str) -> Option<PathBuf> {
    if !text.contains('/') && !text.ends_with(".sh") {
        return None;
    }
    let relative = text.trim_start_matches("./");
    let here = launcher.parent().unwrap_or(Path::new(""));
    let direct = [here.join(relative), PathBuf::from(relative)]
        .into_iter()
        .filter_map(|p| kinds::normalize(&p))
        .find(|p| project.has_file(p));
    direct.or_else(|| {
        let parts: Vec<&str> = relative.trim_start_matches('/').split('/').collect();
        (0..parts.len()).find_map(|skip| {
            let tail = parts[skip..].join("/");
            let tail = PathBuf::from(tail);
            let mut matches = project.files_ending_with(&tail);
            let first = matches.next()?.clone();
            matches.next().is_none().then_some(first)
        })
    })
}

/// Server commands in a shell script, directly or held in a variable (`CMD="gunicorn ..."`),
/// with the variables assigned before each.
pub(super) fn script_starts(file: &Arc<SourceFile>, runner: &ScriptRunner, out: &mut Discovery) {
    let mut vars: Vec<(String, Word)> = Vec::new();
    for command in shell::commands(&file.text, shell::Options::default()) {
        let words = &command.words;
        let mut found = out.programs.find(words);
        // `NAME=value` words: remember them, and look inside values that hold a command.
        for word in assignments(words) {
            let Some((name, value)) = word.assignment_value() else { continue };
            if found.is_none()
                && let Some(inner) = out.programs.find_in_string(&value)
            {
                found = Some(inner);
            }
            vars.push((name, value));
        }
        let Some(found) = found else { continue };
        let line = file.line_of(found.program.span.start);
        let mut inv = invocation_from(found, file, line, Origin::Script, ArgStyle::Shell);
        inv.env = runner.env.clone();
        inv.dockerfile = runner.dockerfile.clone();
        inv.service = runner.service.clone();
        inv.platform = runner.platform.clone();
        inv.unseen_env = runner.unseen_env.clone();
        inv.working_dirs = runner.working_dirs.clone();
        inv.script_vars = vars.clone();
        out.invocations.push(inv);
    }
}

/// The `NAME=value` words of a command: leading assignments, and the arguments of `export`,
/// `local` and `readonly`.
fn assignments(words: &[Word]) -> impl Iterator<Item = &Word> {
    let declares = words.first().is_some_and(|w| matches!(w.text.as_str(), "export" | "local" | "readonly"));
    words.iter().take_while(|w| shell::is_assignment(w)).chain(words.iter().skip(1).filter(move |_| declares))
}
