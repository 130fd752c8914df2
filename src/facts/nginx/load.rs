//! Which project files nginx loads. A file is nginx configuration when nginx reaches it: the main
//! file, then every file an `include` line names through the Dockerfile `COPY` lines and compose
//! bind mounts that place it, whatever its name (`include snippets/proxy_params;`). A file that
//! merely sits in a `conf.d` or `sites-*` folder is classified by its content first: a
//! supervisord program, an INI section, shell/env assignments or a Jinja template is not nginx.
//!
//! A file nginx does not load never blocks the run: its parse error is at most a note. A parse
//! error in a file nginx loads is an error (nothing is written), and so is a file whose
//! deployment the project does not show (a conf.d file with no mount), as nginx most likely
//! loads it.

use std::collections::HashSet;
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::facts::problem::Problem;
use crate::lang::{nginx, template};
use crate::project::Project;
use crate::text::location::Location;

use super::mounts::{self, Mount};
use super::{LoadError, Model, NginxFile, Role, is_main};

/// How deep includes of includes are read (nginx has no limit, but a cycle must end).
const MAX_ROUNDS: usize = 16;

/// What nginx's own main file includes when the project has none: the official image's
/// `conf.d/*.conf`, Debian's `sites-enabled/*`, and the main file itself.
const IMAGE_LOADS: &[&str] = &["/etc/nginx/nginx.conf", "/etc/nginx/conf.d/*.conf", "/etc/nginx/sites-enabled/*"];

/// A file named like nginx configuration that is not (yet) used as one.
struct Held {
    path: PathBuf,
    why: Unparsed,
}

/// Why a candidate was not parsed as nginx.
enum Unparsed {
    /// It does not parse, or cannot be read.
    Broken(LoadError),
    /// Its content is another format (`supervisord configuration ([program:web] at line 1)`).
    Foreign(String),
    /// A Jinja-style template, at the line of its first tag.
    Template(usize),
}

enum Read {
    Nginx(NginxFile),
    Held(Held),
    Ignored,
}

/// The model of the project's nginx files (see the module's documentation).
pub(super) fn build(project: &Project) -> Model {
    let candidates: Vec<(PathBuf, bool)> =
        project.files().iter().filter_map(|path| candidate(path).map(|strong| (path.clone(), strong))).collect();
    let read: Vec<Read> = candidates.par_iter().map(|(path, strong)| read_candidate(project, path, *strong)).collect();
    let mut files = Vec::new();
    let mut held = Vec::new();
    for result in read {
        match result {
            Read::Nginx(file) => files.push(file),
            Read::Held(file) => held.push(file),
            Read::Ignored => {}
        }
    }
    read_named_snippets(project, &candidates, &mut files);
    drop_symlink_twins(project, &mut files);
    let mut mounts = mounts::find(project);
    assume_main_placement(&files, &mut mounts);
    for file in &mut files {
        file.container = mounts::container_paths(&mounts, &file.path);
    }
    let mut model = Model { files, errors: Vec::new(), notes: Vec::new(), includes: Default::default(), mounts };
    read_included(project, &mut model, &mut held);
    model.resolve_includes();
    judge_held(&mut model, held);
    model
}

/// Whether a path is worth reading as nginx configuration, and whether the path alone says so
/// (`strong`: then its content decides, and a parse error is reported rather than the file
/// being ignored).
///
/// It runs over every file of the project, so the path is lower-cased once and split on `/`
/// (discovery lists relative paths with `/` separators), rather than through `Path` components.
fn candidate(path: &Path) -> Option<bool> {
    let lower = path.to_string_lossy().to_ascii_lowercase();
    let (folders, name) = lower.rsplit_once('/').unwrap_or(("", lower.as_str()));
    if name.is_empty() || name == "." || name == ".." {
        return None;
    }
    let dir_named = |wanted: &dyn Fn(&str) -> bool| folders.split('/').any(wanted);
    let conf_like = name.ends_with(".conf") || name.ends_with(".conf.template") || name.ends_with(".nginx");
    // Debian's sites-enabled/sites-available hold files without an extension (`default`, `app`).
    if dir_named(&|c| c == "sites-enabled" || c == "sites-available") && !name.starts_with('.') {
        return Some(true);
    }
    if (name.starts_with("nginx") || dir_named(&|c| c.contains("nginx") || c == "conf.d"))
        && (conf_like || name.ends_with(".template"))
    {
        return Some(true);
    }
    conf_like.then_some(false)
}

/// What a file's text is when it is plainly not nginx: a shell script (`#!`), a section header
/// (`[program:web]` is supervisord, any other `[name]` INI) or a `NAME=value` assignment as its
/// first statement. None of these can open a valid nginx file.
pub fn foreign_kind(text: &str) -> Option<String> {
    if text.starts_with("#!") {
        return Some("a shell script (`#!` at line 1)".to_owned());
    }
    let (index, line) = text
        .lines()
        .map(str::trim)
        .enumerate()
        .find(|(_, line)| !line.is_empty() && !line.starts_with('#') && !line.starts_with(';'))?;
    let at = index + 1;
    if line.starts_with('[') && line.ends_with(']') {
        let supervisord = ["[program:", "[group:", "[eventlistener:", "[fcgi-program:", "[supervisord]"]
            .iter()
            .any(|section| line.starts_with(section));
        let kind = if supervisord { "supervisord configuration" } else { "an INI file" };
        return Some(format!("{kind} (`{line}` at line {at})"));
    }
    let statement = line.strip_prefix("export ").unwrap_or(line).trim_start();
    let name = &statement[..statement.find('=')?];
    let is_name = !name.is_empty()
        && !name.starts_with(|c: char| c.is_ascii_digit())
        && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
    is_name.then(|| format!("shell/env assignments (`{name}=` at line {at})"))
}

fn read_candidate(project: &Project, path: &Path, strong: bool) -> Read {
    if !strong {
        // Cheap filter before parsing a .conf of unknown kind (supervisord, redis...).
        let looks = project.file_matches(path, |bytes| {
            memchr::memchr(b'{', bytes).is_some()
                && ["server", "location", "upstream", "http", "proxy_pass", "listen"]
                    .iter()
                    .any(|word| memchr::memmem::find(bytes, word.as_bytes()).is_some())
        });
        if !looks {
            return Read::Ignored;
        }
    }
    let source = match project.read(path) {
        Ok(source) => source,
        Err(err) if strong => return Read::Held(Held { path: path.to_owned(), why: Unparsed::Broken(err.into()) }),
        Err(_) => return Read::Ignored,
    };
    if strong && let Some(kind) = foreign_kind(&source.text) {
        return Read::Held(Held { path: path.to_owned(), why: Unparsed::Foreign(kind) });
    }
    match nginx::parse(&source.text) {
        Ok(config) => {
            let declares = |id| matches!(config.name(id), "http" | "server" | "upstream" | "events");
            if !strong && !config.children(None).any(declares) {
                return Read::Ignored;
            }
            Read::Nginx(NginxFile { path: path.to_owned(), source, config, container: Vec::new(), role: Role::Unknown })
        }
        Err(_) if !strong => Read::Ignored,
        Err(err) => Read::Held(Held { path: path.to_owned(), why: unparsed(path, &source.text, err) }),
    }
}

/// A parse failure: a template when the text has template tags, else a syntax error.
fn unparsed(path: &Path, text: &str, err: nginx::ParseError) -> Unparsed {
    match template::first_tag_line(text) {
        Some(line) => Unparsed::Template(line),
        None => Unparsed::Broken(LoadError::Syntax {
            path: path.to_owned(),
            line: err.line,
            column: err.column,
            message: err.message,
        }),
    }
}

/// A file an `include` line reaches: nginx reads it whatever its name or content.
fn read_as_nginx(project: &Project, path: &Path) -> Result<NginxFile, Unparsed> {
    let source = project.read(path).map_err(|err| Unparsed::Broken(err.into()))?;
    match nginx::parse(&source.text) {
        Ok(config) => {
            Ok(NginxFile { path: path.to_owned(), source, config, container: Vec::new(), role: Role::Unknown })
        }
        Err(err) => Err(unparsed(path, &source.text, err)),
    }
}

/// Snippets outside nginx-named folders (`deploy/snippets/proxy.conf`) hold bare directives and
/// no block, so the cheap filter drops them: read those that an `include` line names by its last
/// two path segments, so that `conf.d/*.conf` does not take in every `.conf`. This finds snippets
/// of files whose deployment the project does not show; mounted ones are found through the mounts
/// ([`read_included`]).
fn read_named_snippets(project: &Project, candidates: &[(PathBuf, bool)], files: &mut Vec<NginxFile>) {
    let included: Vec<(usize, globset::GlobMatcher)> = files
        .iter()
        .flat_map(|f| {
            f.config
                .all()
                .filter(|&id| f.config.name(id) == "include")
                .filter_map(|id| f.config.arg(id, 0).map(|a| path_tail(&a, 2)))
        })
        .filter_map(|pattern| Some((pattern.split('/').count(), mounts::include_glob(&pattern)?)))
        .collect();
    let snippets: Vec<&PathBuf> = candidates
        .iter()
        .filter(|(path, strong)| {
            !strong
                && !files.iter().any(|f| f.path == *path)
                && included.iter().any(|(depth, glob)| glob.is_match(path_tail(&path.to_string_lossy(), *depth)))
        })
        .map(|(path, _)| path)
        .collect();
    for path in snippets {
        if let Ok(file) = read_as_nginx(project, path) {
            files.push(file);
        }
    }
}

/// A main file no Dockerfile or compose file places: assume its folder is /etc/nginx (where both
/// the official image and the distros keep nginx.conf), so that its relative and /etc/nginx/...
/// includes resolve onto its sibling folders.
fn assume_main_placement(files: &[NginxFile], mounts: &mut Vec<Mount>) {
    for file in files {
        if is_main(&file.config) && mounts::container_paths(mounts, &file.path).is_empty() {
            let dir = file.path.parent().unwrap_or(Path::new("")).to_owned();
            let name = file.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
            mounts.push(Mount {
                container: "/etc/nginx".into(),
                project: dir,
                dir: true,
                source: format!("{}{} is /etc/nginx/{name}", mounts::ASSUMED, file.path.display()),
            });
        }
    }
}

/// Every project file that an `include` line of a read file names through the mounts, read as
/// nginx whatever its name, until no new file is reached. A held candidate reached so is loaded
/// after all: it is parsed as nginx, and its error is an error.
fn read_included(project: &Project, model: &mut Model, held: &mut Vec<Held>) {
    let mut tried: HashSet<PathBuf> = model.files.iter().map(|f| f.path.clone()).collect();
    for _ in 0..MAX_ROUNDS {
        let globs = include_globs(&model.files);
        let reached: Vec<PathBuf> = mounted_files(project, &model.mounts)
            .into_iter()
            .filter(|path| !tried.contains(path))
            .filter(|path| {
                mounts::container_paths(&model.mounts, path).iter().any(|c| globs.iter().any(|g| g.is_match(c)))
            })
            .collect();
        if reached.is_empty() {
            return;
        }
        for path in reached {
            tried.insert(path.clone());
            held.retain(|h| h.path != path);
            match read_as_nginx(project, &path) {
                Ok(mut file) => {
                    file.container = mounts::container_paths(&model.mounts, &path);
                    model.files.push(file);
                }
                Err(why) => loaded_but_unparsed(model, Held { path, why }, "an include line names it"),
            }
        }
    }
}

/// The absolute patterns of every `include` line of `files` (relative ones under the conf prefix).
fn include_globs(files: &[NginxFile]) -> Vec<globset::GlobMatcher> {
    let prefix = super::conf_prefix(files);
    files
        .iter()
        .flat_map(|f| f.config.all().filter(|&id| f.config.name(id) == "include").map(move |id| (f, id)))
        .filter_map(|(f, id)| {
            let pattern = f.config.arg(id, 0)?;
            let pattern = if pattern.starts_with('/') { pattern.into_owned() } else { format!("{prefix}/{pattern}") };
            mounts::include_glob(&pattern)
        })
        .collect()
}

/// The project files a mount places in a container (the file, or every file under the folder).
fn mounted_files(project: &Project, mounts: &[Mount]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = mounts
        .iter()
        .flat_map(|mount| {
            let under = project.files_under(&mount.project);
            // A file sorts before the files of a folder of the same name.
            if mount.dir { under } else { under.get(..1).filter(|first| first[0] == mount.project).unwrap_or_default() }
        })
        .cloned()
        .collect();
    out.sort();
    out.dedup();
    out
}

/// A file nginx loads that cannot be used: an error (a template is skipped with why).
fn loaded_but_unparsed(model: &mut Model, file: Held, how: &str) {
    match file.why {
        Unparsed::Broken(err) => model.errors.push(err),
        Unparsed::Foreign(kind) => {
            model.errors.push(LoadError::NotNginx { path: file.path, kind, how: how.to_owned() })
        }
        Unparsed::Template(line) => model.notes.push(Problem::template(
            Location::new(file.path, line),
            template::skip_reason("nginx configuration", line),
        )),
    }
}

/// The candidates no include reached: loaded when the image's own nginx.conf loads where they
/// are placed, or when the project does not show how nginx is deployed (a parse error then
/// stays an error); otherwise nginx never reads them (placed elsewhere, or not among the files a
/// Dockerfile or compose file gives nginx) and they block nothing.
fn judge_held(model: &mut Model, held: Vec<Held>) {
    let shown = mounts::shown(&model.mounts);
    let deployment_shown = model.files.iter().any(|f| !mounts::container_paths(&shown, &f.path).is_empty());
    for file in held {
        let containers = mounts::container_paths(&model.mounts, &file.path);
        let by_image = containers.iter().find(|c| IMAGE_LOADS.iter().any(|p| mounts::glob_match(p, c)));
        if let Some(container) = by_image {
            let how = format!("it is placed at {container}, which nginx's main file loads");
            loaded_but_unparsed(model, file, &how);
            continue;
        }
        match (file.why, containers.first()) {
            (Unparsed::Broken(err), Some(container)) => model.notes.push(Problem::note(
                Some(err.location()),
                format!(
                    "{err}; ignored: nginx does not load {} (placed at {container}, which no include names)",
                    file.path.display()
                ),
            )),
            (Unparsed::Broken(err), None) if deployment_shown => model.notes.push(Problem::note(
                Some(err.location()),
                format!(
                    "{err}; ignored: nginx does not load {}, which no Dockerfile or compose file gives nginx",
                    file.path.display()
                ),
            )),
            (Unparsed::Broken(err), None) => model.errors.push(err),
            (Unparsed::Template(line), None) => model.notes.push(Problem::template(
                Location::new(file.path, line),
                template::skip_reason("nginx configuration", line),
            )),
            // Not nginx, and not where nginx reads: another program's file.
            (Unparsed::Foreign(_), _) | (Unparsed::Template(_), Some(_)) => {}
        }
    }
}

/// The last `n` `/`-separated segments of a path.
fn path_tail(path: &str, n: usize) -> String {
    let segments: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    segments[segments.len().saturating_sub(n)..].join("/")
}

/// `sites-enabled/app` is usually a symlink to `sites-available/app`: one file, edited once.
fn drop_symlink_twins(project: &Project, files: &mut Vec<NginxFile>) {
    let canonical: Vec<Option<PathBuf>> = files.iter().map(|f| project.absolute(&f.path).canonicalize().ok()).collect();
    let mut keep = vec![true; files.len()];
    for i in 0..files.len() {
        let is_link =
            std::fs::symlink_metadata(project.absolute(&files[i].path)).is_ok_and(|m| m.file_type().is_symlink());
        if is_link && (0..files.len()).any(|j| j != i && canonical[j].is_some() && canonical[j] == canonical[i]) {
            keep[i] = false;
        }
    }
    let mut index = 0;
    files.retain(|_| {
        index += 1;
        keep[index - 1]
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::config::Config as UserConfig;

    fn model_of(files: &[(&str, &str)]) -> Model {
        let dir = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, text).unwrap();
        }
        build(&Project::open(dir.path(), UserConfig::default()).unwrap())
    }

    const SUPERVISORD: &str = "[program:web]\ncommand=gunicorn app.wsgi\n";
    const MAIN: &str = "events {}\nhttp {\n    include conf.d/*.conf;\n    server {\n        include snippets/proxy_params;\n    }\n}\n";

    /// Which files nginx loads decides whether a file that is not nginx blocks the run.
    #[test]
    fn only_files_nginx_loads_can_block_the_run() {
        let model = model_of(&[
            (
                "compose.yaml",
                "services:\n  nginx:\n    volumes:\n      - ./nginx/nginx.conf:/etc/nginx/nginx.conf\n      - ./nginx/snippets:/etc/nginx/snippets\n      - ./deploy/conf.d:/etc/supervisor/conf.d\n",
            ),
            ("nginx/nginx.conf", MAIN),
            ("nginx/snippets/proxy_params", "proxy_set_header Host $host;\n"),
            ("deploy/conf.d/supervisord.conf", SUPERVISORD),
            ("deploy/conf.d/env.conf", "export DJANGO_DEBUG=0\n"),
            ("nginx/old/broken.conf", "server {\n"),
            ("nginx/templates/site.conf", "server {\n    server_name {{ domain }};\n}\n"),
        ]);
        assert!(model.errors.is_empty(), "{:?}", model.errors);
        let names: Vec<String> = model.files.iter().map(|f| f.path.display().to_string()).collect();
        assert_eq!(names, ["nginx/nginx.conf", "nginx/snippets/proxy_params"], "read whatever its name");
        let notes: Vec<String> = model.notes.iter().map(|n| n.describe()).collect();
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].starts_with("nginx/old/broken.conf:2: nginx syntax error"), "{notes:?}");
        assert!(notes[0].contains("nginx does not load nginx/old/broken.conf"), "{notes:?}");
        // A template is skipped with why (it may be what a playbook renders for production).
        assert!(notes[1].starts_with("nginx/templates/site.conf:2: a template"), "{notes:?}");

        // The same supervisord file where nginx reads it is an error, and so is a broken file
        // whose deployment the project does not show.
        let model = model_of(&[
            ("compose.yaml", "services:\n  nginx:\n    volumes:\n      - ./deploy/conf.d:/etc/nginx/conf.d\n"),
            ("deploy/conf.d/supervisord.conf", SUPERVISORD),
            ("nginx/sites-enabled/app", "server {\n"),
        ]);
        let errors: Vec<String> = model.errors.iter().map(|e| format!("{}: {e}", e.location())).collect();
        assert_eq!(errors.len(), 2, "{errors:?}");
        assert!(errors[0].contains("supervisord configuration (`[program:web]` at line 1), not nginx"), "{errors:?}");
        assert!(errors[1].starts_with("nginx/sites-enabled/app:2"), "{errors:?}");
    }

    #[test]
    fn foreign_content_is_not_nginx() {
        assert!(foreign_kind("[program:web]\ncommand=gunicorn app\n").unwrap().starts_with("supervisord"));
        assert!(foreign_kind("; comment\n[unix_http_server]\n").unwrap().starts_with("an INI file"));
        assert!(foreign_kind("# env\nexport DJANGO_SETTINGS_MODULE=app.settings\n").unwrap().contains("DJANGO_"));
        assert!(foreign_kind("#!/bin/sh\nexec nginx\n").unwrap().contains("shell script"));
        assert_eq!(foreign_kind("server {\n    listen [::]:80;\n}\n"), None);
        assert_eq!(foreign_kind("# only a comment\n"), None);
        assert_eq!(foreign_kind("set $a=1;\n"), None);
    }
}
