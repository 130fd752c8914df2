//! Where the project's files land inside the nginx container: `COPY`/`ADD` lines of Dockerfiles
//! and bind mounts of compose files, read with a few lines of local parsing (only what is needed
//! to resolve `include /etc/nginx/conf.d/*.conf;` onto project files).

use std::path::{Path, PathBuf};

use crate::project::Project;
use crate::project::kinds::{declares_services, is_compose_name, is_dockerfile, is_yaml, normalize};

/// How [`Mount::source`] starts for a placement scalepatch assumes (no project file says it).
pub const ASSUMED: &str = "assumed: ";

/// A project path placed at an absolute container path.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mount {
    /// Absolute path in the container, without a trailing `/`.
    pub container: String,
    /// Path relative to the project root.
    pub project: PathBuf,
    /// Whether `project` is a folder (its contents appear under `container`).
    pub dir: bool,
    /// Where the mapping comes from (`Dockerfile:3`, `docker-compose.yml:12`, or an assumption).
    pub source: String,
}

impl Mount {
    /// Whether this mount places the project file `path`.
    pub fn places(&self, path: &Path) -> bool {
        if self.dir { path.starts_with(&self.project) } else { self.project == path }
    }
}

/// The mounts that show how the project deploys its files: those a Dockerfile or compose file
/// says, without the assumed ones and without a copy of the whole project (`COPY . /app`), which
/// says nothing about nginx.
pub fn shown(mounts: &[Mount]) -> Vec<Mount> {
    mounts.iter().filter(|m| !m.source.starts_with(ASSUMED) && !m.project.as_os_str().is_empty()).cloned().collect()
}

/// The mounts found in the project's Dockerfiles and compose files.
pub fn find(project: &Project) -> Vec<Mount> {
    let mut mounts = Vec::new();
    for path in project.files_of(is_dockerfile).iter() {
        if let Ok(file) = project.read(path) {
            mounts.extend(dockerfile_mounts(project, path, &file.text));
        }
    }
    // Compose files by name, and those named for their environment (`production.yml`) at the
    // root, known by their top-level `services:`.
    let candidates =
        project.files_of(|path| is_compose_name(path) || path.parent() == Some(Path::new("")) && is_yaml(path));
    let compose =
        candidates.iter().filter(|path| is_compose_name(path) || project.file_matches(path, declares_services));
    for path in compose {
        if let Ok(file) = project.read(path) {
            mounts.extend(compose_mounts(project, path, &file.text));
        }
    }
    mounts
}

fn is_project_dir(project: &Project, dir: &Path) -> bool {
    !project.files_under(dir).is_empty()
}

/// Resolves `source` (relative to `base`) to a project file or folder.
fn project_path(project: &Project, base: &Path, source: &str) -> Option<(PathBuf, bool)> {
    let path = normalize(&base.join(source.trim_end_matches('/')))?;
    if project.has_file(&path) {
        Some((path, false))
    } else if is_project_dir(project, &path) {
        Some((path, true))
    } else {
        None
    }
}

/// `COPY [--chown=..] src... dest` and `ADD`, skipping `--from` (another stage's files).
fn dockerfile_mounts(project: &Project, path: &Path, text: &str) -> Vec<Mount> {
    let dir = path.parent().unwrap_or(Path::new(""));
    let mut mounts = Vec::new();
    let mut logical = String::new();
    let mut start_line = 0;
    for (index, line) in text.lines().enumerate() {
        if logical.is_empty() {
            start_line = index + 1;
        }
        let trimmed = line.trim_end();
        if let Some(body) = trimmed.strip_suffix('\\') {
            logical.push_str(body);
            logical.push(' ');
            continue;
        }
        logical.push_str(trimmed);
        let instruction = std::mem::take(&mut logical);
        let mut words = instruction.split_whitespace();
        let Some(keyword) = words.next() else { continue };
        if !keyword.eq_ignore_ascii_case("COPY") && !keyword.eq_ignore_ascii_case("ADD") {
            continue;
        }
        let rest: Vec<&str> = words.collect();
        if rest.iter().any(|w| w.starts_with("--from")) {
            continue;
        }
        let args: Vec<String> = if rest.first().is_some_and(|w| w.starts_with('[')) {
            serde_json::from_str(&rest.join(" ")).unwrap_or_default()
        } else {
            rest.iter().filter(|w| !w.starts_with("--")).map(|w| w.to_string()).collect()
        };
        let Some((dest, sources)) = args.split_last() else { continue };
        if !dest.starts_with('/') || sources.is_empty() {
            continue;
        }
        let into_dir = dest.ends_with('/') || sources.len() > 1;
        let source = format!("{}:{start_line}", path.display());
        for src in sources {
            // The build context is usually the Dockerfile's folder, sometimes the project root.
            let found: Vec<(PathBuf, bool)> = if is_glob(src) {
                let matched = glob_files(project, dir, src);
                if matched.is_empty() { glob_files(project, Path::new(""), src) } else { matched }
            } else {
                project_path(project, dir, src)
                    .or_else(|| project_path(project, Path::new(""), src))
                    .into_iter()
                    .collect()
            };
            // A wildcard copies each file it matches into the destination folder.
            let into_dir = into_dir || is_glob(src);
            for (project_path, is_dir) in found {
                let dest = dest.trim_end_matches('/');
                let container = if !is_dir && into_dir {
                    format!("{dest}/{}", project_path.file_name().unwrap_or_default().to_string_lossy())
                } else {
                    dest.to_owned()
                };
                mounts.push(Mount { container, project: project_path, dir: is_dir, source: source.clone() });
            }
        }
    }
    mounts
}

/// Whether a `COPY` source is a wildcard pattern (`./etc/*.conf`).
fn is_glob(source: &str) -> bool {
    source.contains(['*', '?', '['])
}

/// The project files a `COPY` wildcard matches, relative to `base` (Docker matches with Go's
/// `filepath.Match`: a wildcard never crosses `/`, as [`include_glob`] reads it).
fn glob_files(project: &Project, base: &Path, pattern: &str) -> Vec<(PathBuf, bool)> {
    let Some(pattern) = normalize(&base.join(pattern)) else { return Vec::new() };
    let pattern = pattern.to_string_lossy().into_owned();
    let Some(glob) = include_glob(&pattern) else { return Vec::new() };
    // Only the files under the pattern's literal folder can match.
    let literal = pattern.split(['*', '?', '[']).next().unwrap_or("");
    let folder = Path::new(literal.rsplit_once('/').map_or("", |(folder, _)| folder));
    project.files_under(folder).iter().filter(|file| glob.is_match(file)).map(|file| (file.clone(), false)).collect()
}

/// Bind mounts in compose files: `- ./nginx/conf.d:/etc/nginx/conf.d:ro` and the long form
/// `source: ./nginx.conf` / `target: /etc/nginx/nginx.conf`.
fn compose_mounts(project: &Project, path: &Path, text: &str) -> Vec<Mount> {
    let dir = path.parent().unwrap_or(Path::new(""));
    let mut mounts = Vec::new();
    let mut long_source: Option<String> = None;
    for (index, line) in text.lines().enumerate() {
        let item = line.trim().trim_start_matches('-').trim();
        let unquote = |s: &str| s.trim().trim_matches(|c| c == '"' || c == '\'').to_owned();
        let pair = if let Some(value) = item.strip_prefix("source:") {
            long_source = Some(unquote(value));
            None
        } else if let Some(value) = item.strip_prefix("target:") {
            long_source.take().map(|src| (src, unquote(value)))
        } else {
            let item = unquote(item);
            let mut parts = item.splitn(3, ':');
            match (parts.next(), parts.next()) {
                (Some(src), Some(dst)) if (src.starts_with('.') || src.starts_with("${")) && dst.starts_with('/') => {
                    Some((src.to_owned(), dst.to_owned()))
                }
                _ => None,
            }
        };
        let Some((src, dst)) = pair else { continue };
        let src = src.strip_prefix("${PWD}").map(|s| format!(".{s}")).unwrap_or(src);
        let Some((project_path, is_dir)) = project_path(project, dir, &src) else { continue };
        let source = format!("{}:{}", path.display(), index + 1);
        mounts.push(Mount {
            container: dst.trim_end_matches('/').to_owned(),
            project: project_path,
            dir: is_dir,
            source,
        });
    }
    mounts
}

/// The container paths of a project file under `mounts`. A template under
/// `/etc/nginx/templates/` also lands in `/etc/nginx/conf.d/` without its `.template` suffix
/// (the official image runs envsubst on it at start).
pub fn container_paths(mounts: &[Mount], file: &Path) -> Vec<String> {
    let mut out = Vec::new();
    for mount in mounts {
        let path = if mount.dir {
            match file.strip_prefix(&mount.project) {
                Ok(rest) if !rest.as_os_str().is_empty() => format!("{}/{}", mount.container, rest.display()),
                _ => continue,
            }
        } else if mount.project == file {
            mount.container.clone()
        } else {
            continue;
        };
        if let Some(rest) = path.strip_prefix("/etc/nginx/templates/")
            && let Some(name) = rest.strip_suffix(".template")
        {
            out.push(format!("/etc/nginx/conf.d/{name}"));
        }
        out.push(path);
    }
    out.sort();
    out.dedup();
    out
}

/// The shell glob `pattern` (`*`, `?`, `[...]`; a wildcard never matches `/`), as nginx's
/// `include` expands it with glob(3). `None` for a pattern globset cannot read (it then matches
/// nothing, as glob(3) would find nothing).
pub fn include_glob(pattern: &str) -> Option<globset::GlobMatcher> {
    let glob = globset::GlobBuilder::new(pattern).literal_separator(true).backslash_escape(true).build().ok()?;
    Some(glob.compile_matcher())
}

/// Whether `path` matches the include pattern `pattern` (see [`include_glob`]).
pub fn glob_match(pattern: &str, path: &str) -> bool {
    include_glob(pattern).is_some_and(|glob| glob.is_match(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs_like_nginx_include() {
        assert!(glob_match("/etc/nginx/conf.d/*.conf", "/etc/nginx/conf.d/app.conf"));
        assert!(!glob_match("/etc/nginx/conf.d/*.conf", "/etc/nginx/conf.d/sub/app.conf"));
        assert!(glob_match("/etc/nginx/sites-enabled/*", "/etc/nginx/sites-enabled/default"));
        assert!(glob_match("/etc/nginx/[a-c]?.conf", "/etc/nginx/b1.conf"));
        assert!(!glob_match("/etc/nginx/mime.types", "/etc/nginx/nginx.conf"));
    }

    #[test]
    fn templates_land_in_conf_d() {
        let mounts = vec![Mount {
            container: "/etc/nginx/templates".into(),
            project: "nginx/templates".into(),
            dir: true,
            source: "compose".into(),
        }];
        assert_eq!(
            container_paths(&mounts, Path::new("nginx/templates/default.conf.template")),
            ["/etc/nginx/conf.d/default.conf", "/etc/nginx/templates/default.conf.template"]
        );
    }
}
