//! Finds every place that starts a Python web server, and the environment each one runs with.
//!
//! Cheap first: candidate files are picked by name (Dockerfiles, compose files, Procfiles, shell
//! scripts, supervisord and systemd files), launcher files must contain a server name before
//! they are parsed, and only then are they read with their own reader.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::invocation::ServerKind;
use super::invocation::{Found, Programs};
use super::kubernetes_starts::{attach_image_runner, kubernetes_starts};
use super::launcher_env;
use super::platforms;
use super::scripts;
pub use super::scripts::unread_gunicorn_starts;
use crate::facts::problem::Problem;
use crate::lang::compose::{self, ComposeCommand, ListStyle, Service};
use crate::lang::dockerfile::{self, CommandForm, Dockerfile};
use crate::lang::shell::{self, Word};
use crate::lang::{envfile, launchers, template};
use crate::project::Project;
use crate::project::config::Sourced;
use crate::project::kinds::{self, is_compose_name, is_dockerfile, is_procfile, name_of};
use crate::text::location::Location;
use crate::text::source::SourceFile;

/// How new arguments are written into the command line they join.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgStyle {
    /// Shell words separated by spaces (shell form, scripts, Procfile, a `sh -c` string).
    Shell,
    /// A JSON array of strings (Dockerfile exec form).
    Json,
    /// A YAML list: block (`- item` lines with this indentation) or flow (`[a, b]`).
    YamlBlock {
        indent: String,
        quote: Option<char>,
    },
    YamlFlow {
        quote: Option<char>,
    },
}

/// Where the command line lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    DockerfileExec,
    DockerfileShell,
    Script,
    Compose,
    Kubernetes,
    Procfile,
    Supervisord,
    Systemd,
    AppEngine,
    Fly,
    Render,
    Railway,
    HerokuYml,
}

impl Origin {
    pub fn describe(self) -> &'static str {
        match self {
            Origin::DockerfileExec => "Dockerfile CMD (exec form)",
            Origin::DockerfileShell => "Dockerfile CMD (shell form)",
            Origin::Script => "start script",
            Origin::Compose => "compose command",
            Origin::Kubernetes => "Kubernetes container",
            Origin::Procfile => "Procfile",
            Origin::Supervisord => "supervisord command",
            Origin::Systemd => "systemd ExecStart",
            Origin::AppEngine => "App Engine entrypoint",
            Origin::Fly => "fly.toml process",
            Origin::Render => "render.yaml service",
            Origin::Railway => "Railway start",
            Origin::HerokuYml => "heroku.yml run",
        }
    }
}

/// The platform whose process manager runs a start (a Procfile line, or a script it names), rather
/// than a container the project's files describe: its CPU count is the platform's instance size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Platform {
    /// Heroku and the platforms that read its Procfile.
    Procfile,
    /// Google App Engine (`app.yaml`).
    AppEngine,
    /// Fly.io (`fly.toml`).
    Fly,
    /// Render (`render.yaml`).
    Render,
    /// Railway (`railway.toml` / `railway.json`).
    Railway,
    /// Heroku's container stack (`heroku.yml`): no buildpack runs.
    HerokuContainer,
}

impl Platform {
    /// Why no count is added when the start sets none, for a platform that sets WEB_CONCURRENCY
    /// itself (`None` when it does not).
    ///
    /// Heroku: its Python buildpack sets WEB_CONCURRENCY at dyno boot from the dyno's memory
    /// (domain.md 1.2, heroku/heroku-buildpack-python PR #1547). App Engine and Fly.io: an
    /// assumption, not in the project's reference: neither is known to set WEB_CONCURRENCY for a
    /// command the file writes out (App Engine sizes gunicorn itself only for its default
    /// entrypoint, when `entrypoint:` is absent), so their starts are treated like a container's.
    pub fn sets_web_concurrency(self) -> Option<&'static str> {
        match self {
            Platform::Procfile => Some(
                "Heroku-style platforms set WEB_CONCURRENCY from the dyno size; a flag would override the platform",
            ),
            Platform::AppEngine | Platform::Fly => None,
            // See `facts::gunicorn::platforms`: Render and Railway are not known to set it, and
            // a heroku.yml image is built without the buildpack that does.
            Platform::Render | Platform::Railway | Platform::HerokuContainer => None,
        }
    }

    pub fn describe(self) -> &'static str {
        match self {
            Platform::Procfile => "Procfile",
            Platform::AppEngine => "App Engine",
            Platform::Fly => "Fly.io",
            Platform::Render => "Render",
            Platform::Railway => "Railway",
            Platform::HerokuContainer => "heroku.yml",
        }
    }
}

/// An environment variable the server process gets.
#[derive(Debug, Clone)]
pub struct EnvVar {
    pub key: String,
    pub value: Word,
    pub path: PathBuf,
    pub line: usize,
    /// Where it is set, for messages (`ENV in Dockerfile`, `env_file .env of service web`).
    pub what: String,
}

/// The Dockerfile instruction that starts the server: `ENV WEB_CONCURRENCY=N` goes before it.
#[derive(Debug, Clone)]
pub struct DockerfileHook {
    pub path: PathBuf,
    pub insert_at: usize,
    pub line: usize,
}

/// One server start.
#[derive(Debug, Clone)]
pub struct Invocation {
    pub server: ServerKind,
    /// The file that holds the command line.
    pub file: Arc<SourceFile>,
    pub program_name: String,
    pub path: PathBuf,
    pub line: usize,
    pub origin: Origin,
    pub program: Word,
    pub args: Vec<Word>,
    pub style: ArgStyle,
    /// Environment, lowest precedence first.
    pub env: Vec<EnvVar>,
    pub dockerfile: Option<DockerfileHook>,
    /// Compose file and service that run it (for the CPU limit).
    pub service: Option<(PathBuf, String)>,
    /// Sources of the process's environment whose values are not in the project
    /// (`EnvironmentFile=/etc/app/env`, a Kubernetes Secret): any variable may be set there.
    pub unseen_env: Vec<UnseenEnv>,
    /// Project folders the process may run in (supervisord `directory=`, systemd
    /// `WorkingDirectory=` mapped into the project, most specific first): gunicorn looks for
    /// `gunicorn.conf.py` and a relative `-c` file there.
    pub working_dirs: Vec<PathBuf>,
    /// Variables assigned earlier in the same script (`WORKERS=${WORKERS:-3}`).
    pub script_vars: Vec<(String, Word)>,
    /// The CPU limit of the Kubernetes container that runs it: quantity and where it is set.
    pub cpu_limit: Option<(String, String)>,
    /// How many instances run it, when the deployment files say (compose `deploy.replicas`,
    /// Kubernetes `spec.replicas`), with where.
    pub replicas: Option<Sourced<u32>>,
    /// The platform that runs it (a Procfile line, a script a Procfile line names), with the
    /// place that says so.
    pub platform: Option<(Platform, Location)>,
    /// The CPU count of the platform instance that runs it, when its file says (Fly.io `[[vm]]`,
    /// App Engine `instance_class`).
    pub platform_cpus: Option<Sourced<u32>>,
}

impl Invocation {
    pub fn location(&self) -> Location {
        Location::new(self.path.clone(), self.line)
    }

    /// The variable visible to the process with this name (last one set wins).
    pub fn env_var(&self, key: &str) -> Option<&EnvVar> {
        self.env.iter().rev().find(|var| var.key == key)
    }
}

/// What discovery found: invocations, and files that could not be read.
#[derive(Debug, Default)]
pub struct Discovery {
    /// What it looks for: the web servers, or Celery.
    pub programs: Programs,
    pub invocations: Vec<Invocation>,
    /// Files that could not be read (errors), and templates that cannot be read until rendered
    /// (skipped): every patch reports them.
    pub errors: Vec<Problem>,
    /// Compose files skipped as templates (where their first template tag is).
    pub unread_composes: Vec<Location>,
    /// Templates (compose files, Kubernetes manifests) that name a server: a start may be in
    /// them, so "no command found" would be false.
    pub unread_server_templates: Vec<Location>,
    /// CPU limits of compose services: (compose file, service, quantity, line).
    pub service_cpus: Vec<(PathBuf, String, String, usize)>,
    /// `deploy.replicas` of compose services: (compose file, service, count, line).
    pub service_replicas: Vec<(PathBuf, String, String, usize)>,
    /// `resources.limits.cpu` of every Kubernetes container, read once with the manifests.
    pub container_cpus: Vec<ContainerCpu>,
}

/// The CPU limit of one Kubernetes container.
#[derive(Debug, Clone)]
pub struct ContainerCpu {
    /// Whether its `command:` / `args:` name gunicorn.
    pub runs_gunicorn: bool,
    /// The quantity as written (`500m`, `"2"`).
    pub quantity: String,
    /// `manifest:line`, for messages.
    pub place: String,
}

/// A YAML file at the project root: compose files are sometimes named for their environment
/// (`production.yml`, `local.yml`, as cookiecutter-django did).
fn is_root_yaml(path: &Path) -> bool {
    let name = name_of(path);
    (name.ends_with(".yml") || name.ends_with(".yaml")) && !path.as_os_str().as_encoded_bytes().contains(&b'/')
}

pub(super) fn is_launcher_config(path: &Path) -> bool {
    let name = launcher_name(path);
    name.ends_with(".service") || ((name.ends_with(".conf") || name.ends_with(".ini")) && !name.starts_with("nginx"))
}

/// A launcher file's name without a template suffix: `gunicorn.service.j2` (Ansible),
/// `supervisord.conf.tmpl`, `app.service.template` (envsubst) are read as the file they render;
/// only their literal text is edited, and a value inside a template expression is reported as one.
pub(super) fn launcher_name(path: &Path) -> &str {
    let name = name_of(path);
    [".j2", ".jinja", ".jinja2", ".tmpl", ".template"].iter().find_map(|s| name.strip_suffix(s)).unwrap_or(name)
}

/// Reads a candidate; unreadable ones become error outcomes.
pub(super) fn read(project: &Project, path: &Path, errors: &mut Vec<Problem>) -> Option<Arc<SourceFile>> {
    match project.read(path) {
        Ok(file) => Some(file),
        Err(err) => {
            errors.push(Problem::from(err));
            None
        }
    }
}

/// Files among `paths` whose bytes mention one of the programs: the cheap filter before any parsing.
pub(super) fn mentioning_servers(project: &Project, programs: Programs, paths: Vec<&PathBuf>) -> Vec<PathBuf> {
    let finders: Vec<memchr::memmem::Finder> =
        programs.names().iter().map(|n| memchr::memmem::Finder::new(n.as_bytes())).collect();
    let paths: Vec<PathBuf> = paths.into_iter().cloned().collect();
    project.files_matching(&paths, |bytes| finders.iter().any(|f| f.find(bytes).is_some()))
}

pub(super) struct ParsedDockerfile {
    pub(super) path: PathBuf,
    pub(super) file: Arc<SourceFile>,
    parsed: Dockerfile,
    /// The stage the image is built at: a compose `build.target`, else the last stage.
    stage: usize,
}

impl ParsedDockerfile {
    /// The `CMD` / `ENTRYPOINT` the built image runs (inherited from its base stage).
    pub(super) fn command(&self, keyword: &str) -> Option<&dockerfile::Instruction> {
        self.parsed.command_of(self.stage, keyword)
    }
}

pub(super) struct ParsedCompose {
    pub(super) path: PathBuf,
    file: Arc<SourceFile>,
    pub(super) services: Vec<Service>,
}

/// The Dockerfiles and compose files of the project, parsed once: starts are found in them,
/// and they say what runs a script (its environment, CPU limit and replicas).
pub(super) struct Deployment {
    pub(super) dockerfiles: Vec<ParsedDockerfile>,
    pub(super) composes: Vec<ParsedCompose>,
    /// Every Procfile's command lines: a line may run a script that starts the server.
    pub(super) procfiles: Vec<(PathBuf, Vec<launchers::LaunchCommand>)>,
}

/// Finds every server invocation in the project.
pub fn discover(project: &Project) -> Discovery {
    discover_programs(project, Programs::Servers)
}

/// Finds every start of `programs` in the project, with the environment, CPU limit, replicas
/// and platform of each.
pub fn discover_programs(project: &Project, programs: Programs) -> Discovery {
    let mut out = Discovery { programs, ..Discovery::default() };
    let composes = read_composes(project, &mut out);
    let deployment = Deployment {
        dockerfiles: read_dockerfiles(project, &composes, &mut out),
        composes,
        procfiles: read_procfiles(project, &mut out),
    };
    record_service_limits(&deployment.composes, &mut out);
    for docker in &deployment.dockerfiles {
        dockerfile_starts(project, docker, &deployment.composes, &mut out);
    }
    for compose in &deployment.composes {
        for service in &compose.services {
            compose_start(project, compose, service, &deployment.dockerfiles, &mut out);
        }
    }
    let (image_runners, config_maps) = kubernetes_starts(project, &mut out);
    launcher_starts(project, &deployment, &mut out);
    platforms::platform_starts(project, &deployment.dockerfiles, &mut out);
    attach_image_runner(&mut out.invocations, &image_runners, &config_maps);
    attach_service_replicas(&mut out);
    out
}

/// Every Procfile's command lines.
fn read_procfiles(project: &Project, out: &mut Discovery) -> Vec<(PathBuf, Vec<launchers::LaunchCommand>)> {
    let paths: Vec<PathBuf> = project.files_of(is_procfile).to_vec();
    paths
        .into_iter()
        .filter_map(|path| read(project, &path, &mut out.errors).map(|file| (path, launchers::procfile(&file.text))))
        .collect()
}

/// The Dockerfiles, each with the stage that is built: the `build.target` of the first compose
/// service that builds it, else the last stage (what `docker build` builds).
fn read_dockerfiles(project: &Project, composes: &[ParsedCompose], out: &mut Discovery) -> Vec<ParsedDockerfile> {
    let target_of = |path: &Path| {
        composes.iter().find_map(|compose| {
            compose.services.iter().find_map(|service| {
                let build = service.build.as_ref()?;
                (built_path(&compose.path, build).as_deref() == Some(path)).then(|| build.target.clone())?
            })
        })
    };
    project
        .files_of(is_dockerfile)
        .iter()
        .filter_map(|path| read(project, path, &mut out.errors).map(|file| (path, file)))
        .map(|(path, file)| {
            let parsed = dockerfile::parse(&file.text);
            let target = target_of(path).or_else(|| platforms::heroku_target(project, path));
            let stage = target.and_then(|t| parsed.stage_named(&t)).unwrap_or_else(|| parsed.last_stage());
            ParsedDockerfile { path: path.clone(), parsed, file, stage }
        })
        .collect()
}

/// The Dockerfile a compose `build:` names, relative to the project root.
fn built_path(compose: &Path, build: &compose::Build) -> Option<PathBuf> {
    let base = compose.parent().unwrap_or(Path::new(""));
    kinds::normalize(&base.join(&build.context).join(build.dockerfile.as_deref().unwrap_or("Dockerfile")))
}

/// Compose files by name, or root YAML files that declare services. A template is recorded as
/// unread (it may set anything for the starts it runs) and reported as skipped.
fn read_composes(project: &Project, out: &mut Discovery) -> Vec<ParsedCompose> {
    let mut composes = Vec::new();
    for path in project.files_of(|p| is_compose_name(p) || is_root_yaml(p)).iter() {
        if !is_compose_name(path) && !project.file_matches(path, kinds::declares_services) {
            continue;
        }
        let Some(file) = read(project, path, &mut out.errors) else { continue };
        match compose::services(&file.text) {
            Ok(mut services) => composes.push({
                super::compose_extends::resolve(project, path, &mut services, &mut out.errors);
                ParsedCompose { path: path.clone(), file: file.clone(), services }
            }),
            Err(line) => out.errors.push(match template::first_tag_line(&file.text) {
                Some(tag) => {
                    out.unread_composes.push(Location::new(path.clone(), tag));
                    if server_line(out.programs, &file.text).is_some() {
                        out.unread_server_templates.push(Location::new(path.clone(), tag));
                    }
                    Problem::template(Location::new(path.clone(), tag), template::skip_reason("YAML", tag))
                }
                None => Problem::unreadable(Location::new(path.clone(), line), "YAML syntax error in compose file"),
            }),
        }
    }
    composes
}

/// The CPU limits and replica counts of every compose service.
fn record_service_limits(composes: &[ParsedCompose], out: &mut Discovery) {
    for compose in composes {
        for service in &compose.services {
            if let Some((cpus, line)) = &service.cpus {
                out.service_cpus.push((compose.path.clone(), service.name.clone(), cpus.clone(), *line));
            }
            if let Some((count, line)) = &service.replicas {
                out.service_replicas.push((compose.path.clone(), service.name.clone(), count.clone(), *line));
            }
        }
    }
}

/// The built stage's ENTRYPOINT and CMD, each a start when it runs a server.
fn dockerfile_starts(project: &Project, docker: &ParsedDockerfile, composes: &[ParsedCompose], out: &mut Discovery) {
    for keyword in ["ENTRYPOINT", "CMD"] {
        let Some(instruction) = docker.command(keyword) else { continue };
        let (found, origin) = match dockerfile::command_form(&docker.file.text, instruction) {
            CommandForm::Exec(words) => (out.programs.find(&words), Origin::DockerfileExec),
            CommandForm::Shell(commands) => {
                (commands.iter().find_map(|c| out.programs.find(&c.words)), Origin::DockerfileShell)
            }
        };
        let Some(mut found) = found else { continue };
        let style =
            if origin == Origin::DockerfileExec && !found.inside_string { ArgStyle::Json } else { ArgStyle::Shell };
        // `ENTRYPOINT ["gunicorn"]` + `CMD ["app.wsgi", "-w", "3"]`: Docker appends CMD to an
        // exec-form ENTRYPOINT, so both are one command line (the CMD is not a start of its own).
        let mut cmd_is_arguments = false;
        if keyword == "ENTRYPOINT"
            && style == ArgStyle::Json
            && let Some(cmd) = docker.command("CMD")
            && let CommandForm::Exec(words) = dockerfile::command_form(&docker.file.text, cmd)
        {
            found.args.extend(words);
            cmd_is_arguments = true;
        }
        let mut inv = invocation_from(found, &docker.file, instruction.line, origin, style);
        inv.dockerfile = Some(hook(docker, instruction));
        inv.env = dockerfile_env(docker);
        if let Some((env, service)) = service_running_image(project, composes, &docker.path, &mut out.errors) {
            inv.env.extend(env.env);
            inv.unseen_env.extend(env.unseen);
            inv.service = Some(service);
        }
        out.invocations.push(inv);
        if cmd_is_arguments {
            break;
        }
    }
}

/// A compose service's `command:` (else `entrypoint:`), when it runs a server: the image it
/// builds gives the environment, then the service's own.
fn compose_start(
    project: &Project,
    compose: &ParsedCompose,
    service: &Service,
    dockerfiles: &[ParsedDockerfile],
    out: &mut Discovery,
) {
    let Some(command) = service.command.as_ref().or(service.entrypoint.as_ref()) else { return };
    let (found, style) = match command {
        ComposeCommand::String { words, .. } => (out.programs.find(words), ArgStyle::Shell),
        ComposeCommand::List { items, style, .. } => (out.programs.find(items), list_style(style)),
    };
    let Some(found) = found else { return };
    let style = if found.inside_string { ArgStyle::Shell } else { style };
    // A command inherited through `extends: {file: ...}` is written (and edited) in that file.
    let file = match &service.command_file {
        Some(path) => match read(project, path, &mut out.errors) {
            Some(file) => file,
            None => return,
        },
        None => compose.file.clone(),
    };
    let mut inv = invocation_from(found, &file, command_line(command), Origin::Compose, style);
    if let Some(docker) = built_dockerfile(&compose.path, service, dockerfiles) {
        inv.env = dockerfile_env(docker);
        inv.dockerfile = image_command_hook(docker);
    }
    let service_env = service_env(project, &compose.path, service, &mut out.errors);
    inv.env.extend(service_env.env);
    inv.unseen_env.extend(service_env.unseen);
    inv.service = Some((compose.path.clone(), service.name.clone()));
    out.invocations.push(inv);
}

/// How new arguments join a YAML list.
pub(super) fn list_style(style: &ListStyle) -> ArgStyle {
    match style {
        ListStyle::Block { indent, quote } => ArgStyle::YamlBlock { indent: indent.clone(), quote: *quote },
        ListStyle::Flow { quote } => ArgStyle::YamlFlow { quote: *quote },
    }
}

/// The line a compose or Kubernetes command starts at.
pub(super) fn command_line(command: &ComposeCommand) -> usize {
    match command {
        ComposeCommand::String { line, .. } | ComposeCommand::List { line, .. } => *line,
    }
}

/// Where `ENV WEB_CONCURRENCY` goes in an image whose command a compose service replaces:
/// before the image's CMD (else ENTRYPOINT).
pub(super) fn image_command_hook(docker: &ParsedDockerfile) -> Option<DockerfileHook> {
    ["CMD", "ENTRYPOINT"].iter().find_map(|k| docker.command(k)).map(|instruction| hook(docker, instruction))
}

/// Procfiles, scripts, supervisord and systemd files: only the files that mention a server are
/// parsed.
fn launcher_starts(project: &Project, deployment: &Deployment, out: &mut Discovery) {
    let named = scripts::named_scripts(project, deployment);
    let is_script = |p: &Path| scripts::is_script(p) || named.iter().any(|n| n == p);
    let by_kind = project.files_of(|p| is_procfile(p) || scripts::is_script(p) || is_launcher_config(p));
    let mut candidates: Vec<&PathBuf> = by_kind.iter().chain(named.iter().filter(|n| project.has_file(n))).collect();
    candidates.sort_unstable();
    candidates.dedup();
    for path in mentioning_servers(project, out.programs, candidates) {
        // A binary that happens to sit in bin/ is not a start script: no error for it.
        if matches!(project.read(&path), Err(crate::project::InputError::Binary { .. })) {
            continue;
        }
        let Some(file) = read(project, &path, &mut out.errors) else { continue };
        let (commands, origin) = if is_procfile(&path) {
            (launchers::procfile(&file.text), Origin::Procfile)
        } else if is_script(&path) {
            let runner = scripts::script_runner(project, &path, deployment, &mut out.errors);
            scripts::script_starts(&file, &runner, out);
            continue;
        } else if launcher_name(&path).ends_with(".service") {
            (launchers::systemd(&file.text), Origin::Systemd)
        } else {
            (launchers::supervisord(&file.text), Origin::Supervisord)
        };
        for command in commands {
            if let Some(found) = out.programs.find(&command.words) {
                let mut inv = invocation_from(found, &file, command.line, origin, ArgStyle::Shell);
                if origin == Origin::Procfile {
                    inv.platform = Some((Platform::Procfile, inv.location()));
                    inv.env = scripts::leading_env(&command.words, &path, command.line, "the Procfile line");
                } else {
                    let (env, unseen) = launcher_env::launcher_env(project, &path, &command, &mut out.errors);
                    inv.env = env;
                    inv.unseen_env = unseen.into_iter().map(UnseenEnv::anything).collect();
                    inv.working_dirs = launcher_env::working_dirs(command.directory.as_deref());
                }
                out.invocations.push(inv);
            }
        }
    }
}

/// `deploy.replicas` of the compose service that runs a start.
fn attach_service_replicas(out: &mut Discovery) {
    for inv in &mut out.invocations {
        let Some((compose_path, name)) = &inv.service else { continue };
        let found = out.service_replicas.iter().find(|(path, service, _, _)| path == compose_path && service == name);
        if let Some((path, service, count, line)) = found
            && let Ok(value) = count.parse::<u32>()
        {
            let source = format!("deploy.replicas {count} of service {service} ({}:{line})", path.display());
            inv.replicas = Some(Sourced { value, source });
        }
    }
}

/// The 1-based line where a YAML template (a Helm chart's manifest, a compose file with Jinja
/// tags) starts a server: a server named as a command word in a `command:`, `args:` or
/// `entrypoint:` value or block. A container named `uwsgi`, a label `component: celery` or a
/// values path is not a start.
pub(super) fn server_line(programs: Programs, text: &str) -> Option<usize> {
    // The indentation of the `command:`/`args:`/`entrypoint:` key whose block the line is in.
    let mut block: Option<usize> = None;
    for (index, line) in text.lines().enumerate() {
        let code = line.trim_start();
        let indent = line.len() - code.len();
        // A line of template logic alone (`{{- if .Values.x }}`) neither starts nor ends a block.
        if code.is_empty() || template::literal_text(code).trim() == "_" {
            continue;
        }
        if let Some(key_indent) = block {
            if indent > key_indent || indent == key_indent && code.starts_with('-') {
                if names_server_as_command(programs, code) {
                    return Some(index + 1);
                }
                continue;
            }
            block = None;
        }
        // `- command:` opens a list item: the key sits two columns in.
        let (entry, key_indent) = match code.strip_prefix("- ") {
            Some(entry) => (entry.trim_start(), indent + (code.len() - entry.trim_start().len())),
            None => (code, indent),
        };
        if let Some(value) = ["command:", "args:", "entrypoint:"].iter().find_map(|key| entry.strip_prefix(key)) {
            if names_server_as_command(programs, value) {
                return Some(index + 1);
            }
            block = Some(key_indent);
        }
    }
    None
}

/// Whether a text of a command line names a server the way a command does (`gunicorn app.wsgi`,
/// `["celery", "-A", "proj"]`, `/usr/local/bin/uwsgi`): outside template expressions (`{{ }}`,
/// `{% %}`) and comments, as a word of its own. A values path (`.Values.django.uwsgi.enabled`),
/// a resource name (`{{ $name }}-celery-beat`) or a script's name (`entrypoint-uwsgi.sh`) is not
/// a start.
fn names_server_as_command(programs: Programs, line: &str) -> bool {
    let code = line.trim_start();
    if code.starts_with('#') {
        return false;
    }
    let literal = template::literal_text(code);
    let before_ok =
        |c: Option<char>| c.is_none_or(|c| matches!(c, ' ' | '\t' | '"' | '\'' | '[' | '=' | '/' | '(' | ','));
    let after_ok = |c: Option<char>| c.is_none_or(|c| matches!(c, ' ' | '\t' | '"' | '\'' | ']' | ',' | ';' | ')'));
    programs.names().iter().any(|name| {
        literal.match_indices(name).any(|(at, _)| {
            before_ok(literal[..at].chars().next_back()) && after_ok(literal[at + name.len()..].chars().next())
        })
    })
}

/// Whether a text names one of the servers.
pub(super) fn names_server(programs: Programs, text: &str) -> bool {
    programs.names().iter().any(|name| text.contains(name))
}

pub(super) fn invocation_from(
    found: Found,
    file: &Arc<SourceFile>,
    line: usize,
    origin: Origin,
    style: ArgStyle,
) -> Invocation {
    Invocation {
        server: found.server,
        file: file.clone(),
        program_name: found.program_name,
        path: file.path.clone(),
        line,
        origin,
        program: found.program,
        args: found.args,
        style,
        env: Vec::new(),
        dockerfile: None,
        service: None,
        script_vars: Vec::new(),
        unseen_env: Vec::new(),
        working_dirs: Vec::new(),
        cpu_limit: None,
        replicas: None,
        platform: None,
        platform_cpus: None,
    }
}

pub(super) fn hook(docker: &ParsedDockerfile, instruction: &dockerfile::Instruction) -> DockerfileHook {
    DockerfileHook {
        path: docker.path.clone(),
        insert_at: docker.file.start_of_line(instruction.span.start),
        line: instruction.line,
    }
}

/// The `ENV` of the built stage and the stages it is built from.
pub(super) fn dockerfile_env(docker: &ParsedDockerfile) -> Vec<EnvVar> {
    docker
        .parsed
        .env_of(docker.stage)
        .into_iter()
        .flat_map(|i| {
            dockerfile::env_pairs(&docker.file.text, i).into_iter().map(move |pair| EnvVar {
                key: pair.key,
                value: pair.value,
                path: docker.path.clone(),
                line: i.line,
                what: format!("ENV in {}", docker.path.display()),
            })
        })
        .collect()
}

/// The Dockerfile a compose service builds, if it is in the project.
pub(super) fn built_dockerfile<'d>(
    compose: &Path,
    service: &Service,
    dockerfiles: &'d [ParsedDockerfile],
) -> Option<&'d ParsedDockerfile> {
    let wanted = built_path(compose, service.build.as_ref()?)?;
    dockerfiles.iter().find(|d| d.path == wanted)
}

/// A service's environment: its `env_file:` files and `environment:` entries, lowest precedence
/// first, and the env files scalepatch cannot read (see [`unseen_env_file`]).
pub(super) struct ServiceEnv {
    pub env: Vec<EnvVar>,
    pub unseen: Vec<UnseenEnv>,
}

/// A source of a process's environment whose values are not in the project, described.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnseenEnv {
    pub source: String,
    /// It may set DJANGO_SETTINGS_MODULE but none of gunicorn's variables: an env file made at
    /// deploy time from a template that sets only that.
    pub settings_only: bool,
}

impl UnseenEnv {
    /// A source that may set any variable (`EnvironmentFile=/etc/app/env`, a Kubernetes Secret).
    pub fn anything(source: String) -> UnseenEnv {
        UnseenEnv { source, settings_only: false }
    }
}

/// The variables an env file made at deploy time may set that decide what scalepatch plans: the
/// gunicorn settings and the settings module.
const DECIDING_VARIABLES: [&str; 3] = ["WEB_CONCURRENCY", "GUNICORN_CMD_ARGS", "DJANGO_SETTINGS_MODULE"];

/// Templates of an env file kept beside it (`.env.example` for `.env`, `.env.prod-sample`).
const ENV_TEMPLATE_SUFFIXES: [&str; 8] =
    [".example", ".sample", ".dist", ".template", "-example", "-sample", "-dist", ".tmpl"];

/// Why an `env_file:` that is not in the project (made at deploy time from a template, or kept
/// out of git) may decide settings, or `None` when its template shows it sets none of
/// [`DECIDING_VARIABLES`] (the deploy's copy is assumed to follow it).
fn unseen_env_file(project: &Project, path: &Path, service: &str) -> Option<UnseenEnv> {
    let described = format!("env_file {} of service {service}, which is not in the project", path.display());
    let template = ENV_TEMPLATE_SUFFIXES.iter().find_map(|suffix| {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let candidate = PathBuf::from(name);
        project.has_file(&candidate).then_some(candidate)
    });
    let Some(template) = template else { return Some(UnseenEnv::anything(described)) };
    let Ok(file) = project.read(&template) else { return Some(UnseenEnv::anything(described)) };
    let mut keys: Vec<String> = envfile::parse(&file.text)
        .into_iter()
        .map(|line| line.key)
        .filter(|key| DECIDING_VARIABLES.contains(&key.as_str()))
        .collect();
    keys.dedup();
    if keys.is_empty() {
        return None;
    }
    let source = format!("{described} (its template {} sets {})", template.display(), keys.join(", "));
    Some(UnseenEnv { source, settings_only: keys == ["DJANGO_SETTINGS_MODULE"] })
}

/// A service's `env_file:` files and `environment:` entries, lowest precedence first.
pub(super) fn service_env(
    project: &Project,
    compose: &Path,
    service: &Service,
    errors: &mut Vec<Problem>,
) -> ServiceEnv {
    let mut env = Vec::new();
    let mut unseen = Vec::new();
    let base = compose.parent().unwrap_or(Path::new(""));
    for env_file in &service.env_files {
        let Some(path) = kinds::normalize(&base.join(env_file)) else { continue };
        if !project.has_file(&path) {
            unseen.extend(unseen_env_file(project, &path, &service.name));
            continue;
        }
        let Some(file) = read(project, &path, errors) else { continue };
        for line in envfile::parse(&file.text) {
            env.push(EnvVar {
                key: line.key,
                value: line.value,
                path: path.clone(),
                line: line.line,
                what: format!("env_file {} of service {}", path.display(), service.name),
            });
        }
    }
    for entry in &service.environment {
        if let Some(value) = &entry.value {
            env.push(EnvVar {
                key: entry.key.clone(),
                value: interpolated(value),
                path: entry.file.clone().unwrap_or_else(|| compose.to_owned()),
                line: entry.line,
                what: format!(
                    "environment of service {} in {}",
                    service.name,
                    entry.file.as_deref().unwrap_or(compose).display()
                ),
            });
        }
    }
    ServiceEnv { env, unseen }
}

/// The compose service that builds this Dockerfile and keeps its command: its environment
/// applies to the image's command, and its CPU limit to the container.
pub(super) fn service_running_image(
    project: &Project,
    composes: &[ParsedCompose],
    dockerfile: &Path,
    errors: &mut Vec<Problem>,
) -> Option<(ServiceEnv, (PathBuf, String))> {
    for compose in composes {
        for service in &compose.services {
            let Some(build) = &service.build else { continue };
            if built_path(&compose.path, build).as_deref() == Some(dockerfile)
                && service.command.is_none()
                && service.entrypoint.is_none()
            {
                let env = service_env(project, &compose.path, service, errors);
                return Some((env, (compose.path.clone(), service.name.clone())));
            }
        }
    }
    None
}

/// A compose value with `${VAR:-default}` interpolation: the default stands for the value (and
/// is the place to edit), the variable is kept.
fn interpolated(value: &Word) -> Word {
    if !value.text.contains("${") {
        return value.clone();
    }
    match shell::words(&value.text).as_slice() {
        [only] if only.span == (0..value.text.len()) => only.remap(&value.offsets),
        _ => value.clone(),
    }
}
