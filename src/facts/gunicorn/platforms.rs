//! Starts that a platform file writes out or decides: App Engine's `app.yaml` `entrypoint:`,
//! Fly.io's `fly.toml` (`[processes]`, else the Dockerfile's CMD), Render's `render.yaml`
//! (`startCommand` / `dockerCommand`, else the Dockerfile's CMD), Railway's `railway.toml` /
//! `railway.json` (`deploy.startCommand`, else the Dockerfile's CMD) and Heroku's `heroku.yml`
//! (`run.<process>`, else the image's CMD), with `app.json`'s `formation` and `env` for the
//! Heroku starts. Each start gets the platform's CPU count where the file says it (else the
//! default assumption, stated), its environment in the platform's precedence (the image's `ENV`,
//! then the platform's variables) and its instance count.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::discovery::{
    ArgStyle, Discovery, EnvVar, Invocation, Origin, ParsedDockerfile, Platform, dockerfile_env, image_command_hook,
    invocation_from, mentioning_servers, read,
};
use crate::facts::problem::Problem;
use crate::lang::launchers;
use crate::lang::platform::{self, FlyVm, PlatformCommand, RenderService, Setting};
use crate::lang::shell::Word;
use crate::project::Project;
use crate::project::config::Sourced;
use crate::project::kinds::{self, name_of};
use crate::text::location::Location;
use crate::text::source::SourceFile;

/// The platform files, by name.
fn is_platform_file(path: &Path) -> bool {
    matches!(
        name_of(path),
        "app.yaml"
            | "app.yml"
            | "fly.toml"
            | "render.yaml"
            | "railway.toml"
            | "railway.json"
            | "heroku.yml"
            | "app.json"
    )
}

/// What a platform gives the process it runs.
struct Runner {
    platform: Platform,
    /// The place in the platform file that runs it.
    at: Location,
    env: Vec<EnvVar>,
    cpus: Option<Sourced<u32>>,
    replicas: Option<Sourced<u32>>,
}

/// The server starts of every platform file, and the platform facts of the Dockerfile starts a
/// platform runs. Files that name no server are read too: a platform that runs the image's own
/// command (`fly.toml` without `[processes]`) says nothing about gunicorn.
pub(super) fn platform_starts(project: &Project, dockerfiles: &[ParsedDockerfile], out: &mut Discovery) {
    let app_yaml = |p: &Path| matches!(name_of(p), "app.yaml" | "app.yml");
    // An app.yaml is App Engine's to read when its entrypoint names a server, or runs a script
    // (`entrypoint: bash start.sh`) whose starts then get the instance's facts.
    let candidates: Vec<PathBuf> = project.files_of(app_yaml).to_vec();
    let mut app_engine = project.files_containing(&candidates, "entrypoint:");
    let named = candidates.iter().filter(|p| !app_engine.contains(p)).collect();
    app_engine.extend(mentioning_servers(project, out.programs, named));
    // An app.json is Heroku's when a Procfile or heroku.yml sits beside it.
    let heroku_app = |p: &Path| {
        let folder = p.parent().unwrap_or(Path::new(""));
        ["Procfile", "heroku.yml"].iter().any(|name| project.has_file(&folder.join(name)))
    };
    let wanted = |p: &Path| is_platform_file(p) && !app_yaml(p) && (name_of(p) != "app.json" || heroku_app(p));
    let others: Vec<PathBuf> = project.files_where(wanted).cloned().collect();
    let mut apps = Vec::new();
    for path in app_engine.into_iter().chain(others) {
        let Some(file) = read(project, &path, &mut out.errors) else { continue };
        let docker = Dockerfiles { list: dockerfiles, base: path.parent().unwrap_or(Path::new("")).to_owned() };
        match name_of(&path) {
            "fly.toml" => fly_starts(&docker, &file, out),
            "render.yaml" => render_starts(&docker, &file, out),
            "railway.toml" | "railway.json" => railway_starts(&docker, &file, out),
            "heroku.yml" => heroku_yml_starts(&docker, &file, out),
            "app.json" => apps.push(file),
            _ => app_engine_start(&file, out),
        }
    }
    // Last: app.json's formation and config vars apply to the Heroku starts found above. Other
    // tools name their manifest app.json too (Expo, a frontend's): one that does not parse is
    // not Heroku's to judge, and is passed over.
    for file in apps {
        if let Ok(app) = platform::heroku_app(&file.text) {
            heroku_app_facts(project, &file.path, &app, out);
        }
    }
}

fn syntax_error(path: &Path, line: usize, language: &str) -> Problem {
    let what = format!("{language} syntax error in {}", name_of(path));
    Problem::unreadable(Location::new(path.to_owned(), line), &what)
}

/// The project's Dockerfiles, and the folder a platform file names them from.
struct Dockerfiles<'a> {
    list: &'a [ParsedDockerfile],
    base: PathBuf,
}

impl Dockerfiles<'_> {
    /// The Dockerfile at `relative` (else `Dockerfile`) from the platform file's folder, or from
    /// the project root.
    fn at(&self, relative: Option<&str>) -> Option<&ParsedDockerfile> {
        let relative = relative.unwrap_or("Dockerfile").trim_start_matches("./");
        [self.base.join(relative), PathBuf::from(relative)]
            .iter()
            .filter_map(|p| kinds::normalize(p))
            .find_map(|wanted| self.list.iter().find(|d| d.path == wanted))
    }
}

fn app_engine_start(file: &Arc<SourceFile>, out: &mut Discovery) {
    let Some(app) = platform::app_engine(&file.text) else { return };
    let Some(entrypoint) = &app.entrypoint else { return };
    let path = &file.path;
    let runner = Runner {
        platform: Platform::AppEngine,
        at: Location::new(path.clone(), entrypoint.line),
        env: env_vars(&app.env, path, "env_variables"),
        cpus: Some(app_engine_cpus(app.instance_class.as_ref(), path)),
        replicas: None,
    };
    push_command(out, file, entrypoint, Origin::AppEngine, &runner, None);
}

/// `[processes]` are starts of their own; without them the app runs the Dockerfile's CMD
/// (`[build] dockerfile`, else `Dockerfile`), and `[env]` and the `[[vm]]` apply to it.
fn fly_starts(docker: &Dockerfiles, file: &Arc<SourceFile>, out: &mut Discovery) {
    let path = &file.path;
    let fly = match platform::fly(&file.text) {
        Ok(fly) => fly,
        Err(line) => return out.errors.push(syntax_error(path, line, "TOML")),
    };
    let env = env_vars(&fly.env, path, "[env]");
    for command in &fly.processes {
        let runner = Runner {
            platform: Platform::Fly,
            at: Location::new(path.clone(), command.line),
            env: env.clone(),
            cpus: fly_cpus(&fly.vms, &command.name, path),
            replicas: None,
        };
        push_command(out, file, command, Origin::Fly, &runner, None);
    }
    if fly.processes.is_empty()
        && !fly.prebuilt_image
        && let Some(image) = docker.at(fly.dockerfile.as_deref())
    {
        let at = Location::new(path.clone(), 1);
        let runner = Runner { platform: Platform::Fly, at, env, cpus: fly_cpus(&fly.vms, "app", path), replicas: None };
        run_image(out, &image.path, &runner);
    }
}

/// Each web / worker service: its command, else (Docker runtime) its image's CMD, with its
/// `envVars`, its plan's CPUs and its instance count.
fn render_starts(docker: &Dockerfiles, file: &Arc<SourceFile>, out: &mut Discovery) {
    let path = &file.path;
    let services = match platform::render(&file.text) {
        Ok(services) => services,
        Err(line) => return out.errors.push(syntax_error(path, line, "YAML")),
    };
    for service in &services {
        let what = format!("envVars of service {} in {}", service.name, path.display());
        let mut env = env_vars(&service.env, path, &what);
        env.extend(unknown_env(service, path));
        let runner = Runner {
            platform: Platform::Render,
            at: Location::new(path.clone(), service.line),
            env,
            cpus: Some(render_cpus(service.plan.as_ref(), &service.name, path)),
            replicas: render_replicas(service, path),
        };
        let image = service.is_docker().then(|| render_dockerfile(docker, service)).flatten();
        match (&service.command, image) {
            (Some(command), image) => push_command(out, file, command, Origin::Render, &runner, image),
            (None, Some(image)) => run_image(out, &image.path, &runner),
            (None, None) => {}
        }
    }
}

/// A Docker service's Dockerfile: `dockerfilePath` (default `./Dockerfile`), from its `rootDir`
/// or the repository root.
fn render_dockerfile<'d>(docker: &'d Dockerfiles, service: &RenderService) -> Option<&'d ParsedDockerfile> {
    let relative = service.dockerfile.as_deref();
    let rooted = service
        .root_dir
        .as_deref()
        .map(|root| Dockerfiles { list: docker.list, base: docker.base.join(root.trim_start_matches("./")) });
    rooted
        .and_then(|r| r.at(relative).map(|d| d.path.clone()))
        .map_or_else(|| docker.at(relative), |found| docker.list.iter().find(|d| d.path == found))
}

/// `WEB_CONCURRENCY` or `DJANGO_SETTINGS_MODULE` set on Render (`sync: false`, `fromGroup` of
/// another file, a generated value): gunicorn or Django reads it, but its value is not in the
/// file. It stands as a value decided at runtime, so that no count is added over it and none is
/// reported as certain, and production's settings module is not asserted from wsgi.py's default.
fn unknown_env(service: &RenderService, path: &Path) -> Vec<EnvVar> {
    let wanted = |key: &str| matches!(key, "WEB_CONCURRENCY" | "DJANGO_SETTINGS_MODULE");
    let unknown = service.unknown_env.iter().filter(|(key, _, _)| wanted(key));
    unknown
        .map(|(key, why, line)| {
            let text = format!("${key}");
            let var = crate::lang::shell::VarRef { name: key.clone(), text_range: 0..text.len(), has_default: false };
            EnvVar {
                key: key.clone(),
                value: Word { text, offsets: Vec::new(), span: 0..0, vars: vec![var] },
                path: path.to_owned(),
                line: *line,
                what: format!(
                    "envVars of service {} in {}, {why}: its value is set on Render, not in the file",
                    service.name,
                    path.display()
                ),
            }
        })
        .collect()
}

/// `scaling.maxInstances` (autoscaling: the most it runs; it wins over `numInstances`), else
/// `numInstances`.
fn render_replicas(service: &RenderService, path: &Path) -> Option<Sourced<u32>> {
    let (setting, what) = match (&service.max_instances, &service.instances) {
        (Some(max), _) => (max, "scaling.maxInstances (autoscaling, at most)"),
        (None, Some(count)) => (count, "numInstances"),
        (None, None) => return None,
    };
    let value = setting.value.parse::<u32>().ok()?;
    let source = format!("{what} {value} of service {} ({}:{})", service.name, path.display(), setting.line);
    Some(Sourced { value, source })
}

/// `deploy.startCommand`, else the Dockerfile Railway builds (`build.dockerfilePath`, else a
/// `Dockerfile` it finds), with `numReplicas`. Railway sets no WEB_CONCURRENCY and its files do
/// not say the CPU count: the default assumption applies, stated.
fn railway_starts(docker: &Dockerfiles, file: &Arc<SourceFile>, out: &mut Discovery) {
    let path = &file.path;
    let read = if name_of(path).ends_with(".toml") {
        platform::railway_toml(&file.text).map_err(|line| syntax_error(path, line, "TOML"))
    } else {
        platform::railway_json(&file.text).map_err(|line| syntax_error(path, line, "JSON"))
    };
    let railway = match read {
        Ok(railway) => railway,
        Err(problem) => return out.errors.push(problem),
    };
    let replicas = railway.replicas.as_ref().and_then(|setting| {
        let value = setting.value.parse::<u32>().ok()?;
        let source = format!("numReplicas {value} ({}:{})", path.display(), setting.line);
        Some(Sourced { value, source })
    });
    let line = railway.start.as_ref().map_or(1, |c| c.line);
    let runner = Runner {
        platform: Platform::Railway,
        at: Location::new(path.clone(), line),
        env: Vec::new(),
        cpus: None,
        replicas,
    };
    let image = docker.at(railway.dockerfile.as_deref());
    match (&railway.start, image) {
        (Some(start), image) => push_command(out, file, start, Origin::Railway, &runner, image),
        (None, Some(image)) => run_image(out, &image.path, &runner),
        (None, None) => {}
    }
}

/// `run.<process>` commands, run in the image `build.docker` builds for them; without `run`,
/// each image's CMD. No buildpack runs in a heroku.yml build, so nothing sets WEB_CONCURRENCY
/// (the Python buildpack sets it at dyno boot: devcenter.heroku.com/articles/python-concurrency).
fn heroku_yml_starts(docker: &Dockerfiles, file: &Arc<SourceFile>, out: &mut Discovery) {
    let path = &file.path;
    let heroku = match platform::heroku_yml(&file.text) {
        Ok(heroku) => heroku,
        Err(line) => return out.errors.push(syntax_error(path, line, "YAML")),
    };
    let build_of = |process: &str| {
        let build = heroku.builds.iter().find(|b| b.process == process).or(heroku.builds.first())?;
        docker.at(Some(&build.dockerfile))
    };
    let runner = |line: usize| Runner {
        platform: Platform::HerokuContainer,
        at: Location::new(path.clone(), line),
        env: Vec::new(),
        cpus: None,
        replicas: None,
    };
    for command in &heroku.runs {
        push_command(out, file, command, Origin::HerokuYml, &runner(command.line), build_of(&command.name));
    }
    if !heroku.has_run {
        for build in &heroku.builds {
            if let Some(image) = docker.at(Some(&build.dockerfile)) {
                run_image(out, &image.path, &runner(1));
            }
        }
    }
}

/// The stage a heroku.yml builds from `dockerfile` (`target:`), for discovery's choice of stage.
pub(super) fn heroku_target(project: &Project, dockerfile: &Path) -> Option<String> {
    project.files_named("heroku.yml").find_map(|path| {
        let file = project.read(path).ok()?;
        let heroku = platform::heroku_yml(&file.text).ok()?;
        let base = path.parent().unwrap_or(Path::new(""));
        heroku.builds.into_iter().find_map(|build| {
            let built = kinds::normalize(&base.join(build.dockerfile.trim_start_matches("./")))?;
            (built == dockerfile).then_some(build.target).flatten()
        })
    })
}

/// app.json's `formation.web` (size -> CPUs, quantity -> instances) and `env` (config vars:
/// above the image's `ENV`, below a Procfile line's own `NAME=value`) for the web starts of the
/// Heroku app in the same folder: its Procfile's `web:` line (and a script it runs), or its
/// heroku.yml.
fn heroku_app_facts(project: &Project, path: &Path, app: &platform::HerokuApp, out: &mut Discovery) {
    let base = path.parent().unwrap_or(Path::new(""));
    let env = env_vars(&app.env, path, "env");
    let cpus = app.web_size.as_ref().and_then(|size| heroku_cpus(size, path));
    let replicas = app.web_quantity.as_ref().and_then(|quantity| {
        let value = quantity.value.parse::<u32>().ok()?;
        let source = format!("formation.web.quantity {value} ({}:{})", path.display(), quantity.line);
        Some(Sourced { value, source })
    });
    for inv in out.invocations.iter_mut() {
        let Some((platform, at)) = &inv.platform else { continue };
        let same_app = at.path.parent().unwrap_or(Path::new("")) == base;
        let web = match platform {
            Platform::Procfile => procfile_process(project, at).as_deref() == Some("web"),
            Platform::HerokuContainer => true,
            _ => false,
        };
        if !(same_app && web) {
            continue;
        }
        if *platform == Platform::Procfile {
            inv.env.splice(0..0, env.iter().cloned());
        } else {
            inv.env.extend(env.iter().cloned());
        }
        inv.platform_cpus = cpus.clone().or(inv.platform_cpus.take());
        inv.replicas = replicas.clone().or(inv.replicas.take());
    }
}

/// The process name of the Procfile line at `at`.
fn procfile_process(project: &Project, at: &Location) -> Option<String> {
    let file = project.read(&at.path).ok()?;
    launchers::procfile(&file.text).into_iter().find(|c| c.line == at.line).map(|c| c.name)
}

/// A platform's command: the part of it that starts a server (`python manage.py migrate &&
/// gunicorn app.wsgi`: the gunicorn command), in the image `docker` builds when the platform
/// runs it there (its `ENV`, then the platform's variables; `ENV WEB_CONCURRENCY` goes before
/// its CMD).
fn push_command(
    out: &mut Discovery,
    file: &Arc<SourceFile>,
    command: &PlatformCommand,
    origin: Origin,
    runner: &Runner,
    docker: Option<&ParsedDockerfile>,
) {
    let Some(found) = command.commands.iter().find_map(|words| out.programs.find(words)) else {
        return run_script(out, &file.path, command, runner, docker);
    };
    let mut inv: Invocation = invocation_from(found, file, command.line, origin, ArgStyle::Shell);
    if let Some(docker) = docker {
        inv.env = dockerfile_env(docker);
        inv.dockerfile = image_command_hook(docker);
        // The platform's command replaces the image's: its CMD / ENTRYPOINT does not run there.
        let replaced = |other: &Invocation| {
            matches!(other.origin, Origin::DockerfileExec | Origin::DockerfileShell) && runs_image(other, &docker.path)
        };
        out.invocations.retain(|other| !replaced(other));
    }
    inv.env.extend(runner.env.iter().cloned());
    inv.platform = Some((runner.platform, runner.at.clone()));
    inv.platform_cpus = runner.cpus.clone();
    inv.replicas = runner.replicas.clone();
    out.invocations.push(inv);
}

/// A platform command that runs a project script (`startCommand: ./bin/start.sh`, `entrypoint:
/// bash start.sh`): the starts in the script get what the platform gives the command, as a
/// Procfile line's script does (the image's `ENV` when it runs in one, then the platform's
/// variables, CPUs and instances). Starts a Dockerfile, compose service or launcher already
/// runs keep their own.
fn run_script(
    out: &mut Discovery,
    platform_file: &Path,
    command: &PlatformCommand,
    runner: &Runner,
    docker: Option<&ParsedDockerfile>,
) {
    let base = platform_file.parent().unwrap_or(Path::new(""));
    let names = |script: &Path| {
        command.words.iter().any(|word| {
            let written = word.text.trim_start_matches("./");
            let path_like = written.contains('/') || written.ends_with(".sh");
            path_like
                && (kinds::normalize(&base.join(written)).as_deref() == Some(script)
                    || (written.starts_with('/') && Path::new(written).ends_with(script)))
        })
    };
    let unclaimed = |inv: &Invocation| {
        inv.origin == Origin::Script
            && inv.platform.is_none()
            && inv.service.is_none()
            && inv.dockerfile.is_none()
            && inv.cpu_limit.is_none()
    };
    for inv in out.invocations.iter_mut().filter(|inv| unclaimed(inv) && names(&inv.path)) {
        if let Some(docker) = docker {
            inv.env.splice(0..0, dockerfile_env(docker));
            inv.dockerfile = image_command_hook(docker);
        }
        inv.env.extend(runner.env.iter().cloned());
        inv.platform = Some((runner.platform, runner.at.clone()));
        inv.platform_cpus = runner.cpus.clone();
        inv.replicas = runner.replicas.clone();
    }
}

/// The platform runs the image's own command: the starts of that Dockerfile (its CMD, and the
/// scripts it runs) get the platform's variables (over the image's `ENV`), CPUs and instances.
/// A start a compose service or a Kubernetes container runs is left to them.
fn run_image(out: &mut Discovery, dockerfile: &Path, runner: &Runner) {
    for inv in out.invocations.iter_mut().filter(|inv| runs_image(inv, dockerfile)) {
        inv.env.extend(runner.env.iter().cloned());
        inv.platform = Some((runner.platform, runner.at.clone()));
        inv.platform_cpus = runner.cpus.clone();
        inv.replicas = runner.replicas.clone();
    }
}

/// Whether a start runs in the image `dockerfile` builds with nothing else running it (no
/// compose service, Kubernetes container or platform).
fn runs_image(inv: &Invocation, dockerfile: &Path) -> bool {
    inv.service.is_none()
        && inv.platform.is_none()
        && inv.cpu_limit.is_none()
        && inv.dockerfile.as_ref().is_some_and(|hook| hook.path == dockerfile)
}

/// The environment a platform file sets for its processes.
fn env_vars(values: &[platform::EnvValue], path: &Path, section: &str) -> Vec<EnvVar> {
    let what = if section.contains(' ') { section.to_owned() } else { format!("{section} of {}", path.display()) };
    values
        .iter()
        .map(|v| EnvVar {
            key: v.key.clone(),
            value: v.value.clone(),
            path: path.to_owned(),
            line: v.line,
            what: what.clone(),
        })
        .collect()
}

// The CPU count of each platform's instance, with the source of every figure.

/// The CPUs of the `[[vm]]` that runs a Fly.io process: `cpus = N`, else the count its `size`
/// names (`shared-cpu-2x`: 2).
fn fly_cpus(vms: &[FlyVm], process: &str, path: &Path) -> Option<Sourced<u32>> {
    let vm = vms
        .iter()
        .find(|vm| vm.processes.iter().any(|p| p == process))
        .or_else(|| vms.iter().find(|vm| vm.processes.is_empty()))?;
    if let Some(cpus) = &vm.cpus
        && let Ok(value) = cpus.value.parse::<u32>()
    {
        return Some(Sourced { value, source: format!("[[vm]] cpus = {value} ({}:{})", path.display(), cpus.line) });
    }
    let size = vm.size.as_ref()?;
    let value = platform::fly_size_cpus(&size.value)?;
    Some(Sourced { value, source: format!("[[vm]] size {} ({}:{})", size.value, path.display(), size.line) })
}

/// The CPU count of an App Engine instance class. An assumption, stated with it: Google gives
/// the classes in MHz, not cores (F1/B1 600 MHz, F2/B2 1.2 GHz, F4/B4 2.4 GHz, B8 4.8 GHz), read
/// here as 1, 1, 2 and 4 CPUs; F1, the default of the standard environment, has 256 MB.
fn app_engine_cpus(class: Option<&Setting>, path: &Path) -> Sourced<u32> {
    let (name, place) = match class {
        Some(class) => (
            class.value.to_ascii_uppercase(),
            format!("instance_class {} ({}:{})", class.value, path.display(), class.line),
        ),
        None => ("F1".to_owned(), format!("no instance_class in {}: App Engine's default F1", path.display())),
    };
    let value = match name.split('_').next().unwrap_or("") {
        "F4" | "B4" => 2,
        "B8" => 4,
        _ => 1,
    };
    Sourced {
        value,
        source: format!(
            "assumed from the App Engine {place}, whose clock speed Google documents in MHz, not cores: {value} CPU(s)"
        ),
    }
}

/// The CPUs of a Render instance type (`plan`), from Render's table of instance types
/// (render.com/docs/workflows-limits, "Instance types (compute specs)", the same names as a
/// service's `plan` in Render's API): free 0.1 CPU, starter 0.5, standard 1, pro 2, pro_plus 4,
/// pro_max 4 and pro_ultra 8 (one version of that page gives 8 and 16 for the last two: the
/// lower figure is taken, fewer workers being the safe side). A fraction counts as 1 CPU. No
/// `plan`: Render's default, starter (render.com/docs/blueprint-spec: "plan: ... Default:
/// starter"). Any other name (`starter_plus`, `custom`...): the default assumption, stated.
fn render_cpus(plan: Option<&Setting>, service: &str, path: &Path) -> Sourced<u32> {
    let (name, place) = match plan {
        Some(plan) => (
            plan.value.as_str(),
            format!("plan {} of service {service} ({}:{})", plan.value, path.display(), plan.line),
        ),
        None => ("starter", format!("no plan for service {service} in {}: Render's default, starter", path.display())),
    };
    let cpus = match name {
        "free" => Some((1, "0.1 CPU")),
        "starter" => Some((1, "0.5 CPU")),
        "standard" => Some((1, "1 CPU")),
        "pro" => Some((2, "2 CPUs")),
        "pro_plus" | "pro_max" => Some((4, "4 CPUs")),
        "pro_ultra" => Some((8, "8 CPUs")),
        _ => None,
    };
    match cpus {
        Some((value, spec)) => Sourced { value, source: format!("Render {place}: {spec}, counted as {value}") },
        None => Sourced {
            value: super::target::ASSUMED_CPUS,
            source: format!(
                "assumed: Render {place} is not a known instance type; {} CPUs",
                super::target::ASSUMED_CPUS
            ),
        },
    }
}

/// The CPUs of a Heroku dyno size (devcenter.heroku.com/articles/dyno-types): the Performance
/// (and Private/Shield) dynos have dedicated vCPUs (M: 2, L: 8, L-RAM: 4, XL: 8, 2XL: 16); Eco,
/// Basic and Standard dynos get a share of a CPU, counted as 1 (an assumption, stated). `None`
/// for a size this table does not know.
fn heroku_cpus(size: &Setting, path: &Path) -> Option<Sourced<u32>> {
    let name = size.value.to_ascii_lowercase();
    let tier = name.split_once('-').map_or(name.as_str(), |(kind, tier)| match kind {
        "performance" | "private" | "shield" => tier,
        _ => name.as_str(),
    });
    let place = format!("dyno size {} ({}:{})", size.value, path.display(), size.line);
    let (value, note) = match tier {
        "m" => (2, "2 dedicated vCPUs"),
        "l" | "xl" => (8, "8 dedicated vCPUs"),
        "l-ram" => (4, "4 dedicated vCPUs"),
        "2xl" => (16, "16 dedicated vCPUs"),
        "eco" | "basic" | "free" | "hobby" | "standard-1x" | "standard-2x" | "1x" | "2x" => {
            (1, "assumed: a share of a CPU, counted as 1")
        }
        _ => return None,
    };
    Some(Sourced { value, source: format!("Heroku {place}: {note}") })
}
