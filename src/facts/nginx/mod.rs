//! The project's nginx configuration as nginx would load it: which files are nginx files, which
//! is a main `nginx.conf` and which are included inside `http {}` (mapping absolute include paths
//! such as `/etc/nginx/conf.d/*.conf` onto project files through Dockerfile `COPY` lines and
//! compose mounts), and what a block inherits from the levels around it across files.
//!
//! Computed once per project ([`model`]) and shared by the gzip and proxy-buffering patches; the
//! questions they ask of it live next to it: [`query`] (what a block holds through its includes,
//! what is in effect), [`proxy`] (proxy_set_header levels, websocket/streaming locations,
//! upstreams) and [`buffers`] (nginx's merge checks on proxy buffer sizes).

pub mod buffers;
pub mod check;
mod load;
pub mod mounts;
pub mod proxy;
pub mod query;

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;

use crate::facts::problem::Problem;
use crate::lang::nginx::{Config, DirId, Scope};
use crate::project::{InputError, Project};
use crate::text::location::Location;
use crate::text::source::SourceFile;

pub use load::foreign_kind;
use mounts::Mount;

/// Where a file sits in nginx's configuration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Role {
    /// A main file: its top level has `http {}` or `events {}`.
    Main,
    /// Included by a project file at this block (the include directive's enclosing block).
    Included(BlockRef),
    /// Not included by any project file, but holds `server {}`/`upstream {}` blocks at its top
    /// level: a conf.d / sites-enabled file, included inside `http {}` by an nginx.conf outside
    /// the project (a distro's, or the image's).
    HttpInclude,
    /// Neither: a snippet whose context cannot be known.
    Unknown,
}

/// A block in one of the files: the top level (`scope == None`) or a directive's block.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BlockRef {
    pub file: usize,
    pub scope: Scope,
}

/// A directive in one of the files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DirRef {
    pub file: usize,
    pub id: DirId,
}

impl DirRef {
    /// The directive's own block (`server {...}` as the block its directives are in).
    pub fn block(self) -> BlockRef {
        BlockRef { file: self.file, scope: Some(self.id) }
    }
}

/// Why a file that nginx would load cannot be used: the patches report each as an error and
/// leave the file alone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Input(#[from] InputError),
    #[error("nginx syntax error at line {line}, column {column}: {message}")]
    Syntax { path: PathBuf, line: usize, column: usize, message: String },
    /// Another program's file where nginx reads it: nginx -t fails on it.
    #[error("{kind}, not nginx configuration, but nginx loads it ({how}): nginx -t fails on it")]
    NotNginx { path: PathBuf, kind: String, how: String },
}

impl LoadError {
    /// `path:line` of the error (line 0 when it is about the whole file).
    pub fn location(&self) -> Location {
        match self {
            LoadError::Input(err) => Location::new(err.path(), err.line()),
            LoadError::Syntax { path, line, .. } => Location::new(path, *line),
            LoadError::NotNginx { path, .. } => Location::new(path, 1),
        }
    }
}

/// One parsed nginx file of the project.
pub struct NginxFile {
    pub path: PathBuf,
    pub source: Arc<SourceFile>,
    pub config: Config,
    /// Where the file is inside the container (`/etc/nginx/conf.d/app.conf`), if known.
    pub container: Vec<String>,
    pub role: Role,
}

/// Distro files that `include` often names and that are never in a project. What they set
/// matters for inheritance: Debian's `proxy_params` sets `proxy_set_header Host`,
/// `X-Real-IP`, `X-Forwarded-For` and `X-Forwarded-Proto`.
const DISTRO_INCLUDES: &[&str] = &[
    "mime.types",
    "fastcgi_params",
    "fastcgi.conf",
    "uwsgi_params",
    "scgi_params",
    "proxy_params",
    "koi-utf",
    "koi-win",
    "win-utf",
];

/// The project's nginx configuration.
pub struct Model {
    pub files: Vec<NginxFile>,
    /// Files nginx loads (or may load) that cannot be read or do not parse: errors.
    pub errors: Vec<LoadError>,
    /// What blocks nothing: a file that does not parse but that nginx does not load, a template.
    pub notes: Vec<Problem>,
    /// For each `include` directive: the project files it loads.
    pub includes: HashMap<DirRef, Vec<usize>>,
    pub mounts: Vec<Mount>,
}

/// The model, computed once per project.
pub fn model(project: &Project) -> Arc<Model> {
    project.memo(load::build)
}

fn is_main(config: &Config) -> bool {
    config.children(None).any(|id| matches!(config.name(id), "http" | "events"))
}

/// The container path a relative include is resolved against: the folder of the main
/// nginx.conf (nginx's conf prefix), /etc/nginx by default.
fn conf_prefix(files: &[NginxFile]) -> String {
    files
        .iter()
        .filter(|f| f.role == Role::Main || is_main(&f.config))
        .flat_map(|f| f.container.iter())
        .find_map(|p| p.rsplit_once('/').map(|(dir, _)| dir.to_owned()))
        .unwrap_or_else(|| "/etc/nginx".to_owned())
}

impl Model {
    pub fn file(&self, index: usize) -> &NginxFile {
        &self.files[index]
    }

    pub fn config(&self, index: usize) -> &Config {
        &self.files[index].config
    }

    fn resolve_includes(&mut self) {
        let prefix = conf_prefix(&self.files);
        let mut includes = HashMap::new();
        for (index, file) in self.files.iter().enumerate() {
            for id in file.config.all().filter(|&id| file.config.name(id) == "include") {
                let Some(pattern) = file.config.arg(id, 0) else { continue };
                let pattern =
                    if pattern.starts_with('/') { pattern.into_owned() } else { format!("{prefix}/{pattern}") };
                let Some(glob) = mounts::include_glob(&pattern) else { continue };
                let targets: Vec<usize> = (0..self.files.len())
                    .filter(|&t| t != index && self.files[t].container.iter().any(|c| glob.is_match(c)))
                    .collect();
                includes.insert(DirRef { file: index, id }, targets);
            }
        }
        self.includes = includes;
        // Roles: main files first, then what they include (breadth first), then the rest.
        let mut roles: Vec<Role> =
            self.files.iter().map(|f| if is_main(&f.config) { Role::Main } else { Role::Unknown }).collect();
        let mut queue: Vec<usize> = (0..self.files.len()).filter(|&i| roles[i] == Role::Main).collect();
        let mut head = 0;
        while head < queue.len() {
            let from = queue[head];
            head += 1;
            let mut sites: Vec<(&DirRef, &Vec<usize>)> =
                self.includes.iter().filter(|(site, _)| site.file == from).collect();
            sites.sort_by_key(|(site, _)| site.id);
            for (site, targets) in sites {
                for &target in targets {
                    if roles[target] == Role::Unknown {
                        let scope = self.files[from].config.parent(site.id);
                        roles[target] = Role::Included(BlockRef { file: from, scope });
                        queue.push(target);
                    }
                }
            }
        }
        for (index, role) in roles.iter_mut().enumerate() {
            if *role == Role::Unknown {
                let config = &self.files[index].config;
                if config.children(None).any(|id| matches!(config.name(id), "server" | "upstream")) {
                    *role = Role::HttpInclude;
                }
            }
        }
        // Files included by a HttpInclude/Unknown file only (snippets of a conf.d file).
        let mut changed = true;
        while changed {
            changed = false;
            for (site, targets) in &self.includes {
                if roles[site.file] == Role::Unknown {
                    continue;
                }
                for &target in targets {
                    if roles[target] == Role::Unknown {
                        let scope = self.files[site.file].config.parent(site.id);
                        roles[target] = Role::Included(BlockRef { file: site.file, scope });
                        changed = true;
                    }
                }
            }
        }
        for (file, role) in self.files.iter_mut().zip(roles) {
            file.role = role;
        }
    }

    /// The name of the context a block is in: `main`, `http`, `server`, `location`, `upstream`...
    /// (`None` when unknown).
    pub fn context(&self, block: BlockRef) -> Option<String> {
        match block.scope {
            Some(id) => Some(self.config(block.file).name(id).to_owned()),
            None => match &self.files[block.file].role {
                Role::Main => Some("main".to_owned()),
                Role::Included(site) => self.context(*site),
                Role::HttpInclude => Some("http".to_owned()),
                Role::Unknown => None,
            },
        }
    }

    /// The configuration levels that apply inside `block`, outermost first. A level is named by
    /// one block; the top levels of files included into it belong to it (see [`Model::find`]).
    /// For an [`Role::HttpInclude`] file the outermost level is its own top level, standing for
    /// an `http {}` outside the project.
    pub fn levels(&self, block: BlockRef) -> Vec<BlockRef> {
        let mut levels = Vec::new();
        let mut current = block;
        for _ in 0..64 {
            match current.scope {
                Some(id) => {
                    levels.push(current);
                    current = BlockRef { file: current.file, scope: self.config(current.file).parent(id) };
                }
                None => match self.files[current.file].role {
                    Role::Included(site) => current = site,
                    _ => {
                        levels.push(current);
                        break;
                    }
                },
            }
        }
        levels.reverse();
        levels
    }

    /// The directives named `name` set at one level: in the block itself and in the files its
    /// `include` lines load (recursively).
    pub fn find(&self, level: BlockRef, name: &str) -> Vec<DirRef> {
        let mut found = Vec::new();
        self.collect(level, name, &mut found, 0);
        found
    }

    fn collect(&self, level: BlockRef, name: &str, found: &mut Vec<DirRef>, depth: usize) {
        let config = self.config(level.file);
        for id in config.children(level.scope) {
            let directive = config.name(id);
            if directive == name {
                found.push(DirRef { file: level.file, id });
            } else if directive == "include" && depth < 16 {
                for &target in self.includes.get(&DirRef { file: level.file, id }).into_iter().flatten() {
                    self.collect(BlockRef { file: target, scope: None }, name, found, depth + 1);
                }
            }
        }
    }

    /// `include` lines at one level that load no project file, with their pattern.
    pub fn unresolved_includes(&self, level: BlockRef) -> Vec<(DirRef, String)> {
        let config = self.config(level.file);
        config
            .children_named(level.scope, "include")
            .map(|id| DirRef { file: level.file, id })
            .filter(|site| self.includes.get(site).is_none_or(|t| t.is_empty()))
            .map(|site| (site, config.arg(site.id, 0).unwrap_or_default().into_owned()))
            .collect()
    }

    /// Whether an unresolved include names a distro file such as `mime.types` or `proxy_params`.
    pub fn is_distro_include(pattern: &str) -> bool {
        let name = pattern.rsplit('/').next().unwrap_or(pattern);
        DISTRO_INCLUDES.contains(&name)
    }

    /// What applies inside `block` for `name`: the innermost level that sets any, with its
    /// directives. For list directives (proxy_set_header) that is the whole effective list.
    pub fn inherited(&self, block: BlockRef, name: &str) -> Option<(BlockRef, Vec<DirRef>)> {
        self.levels(block).into_iter().rev().find_map(|level| {
            let found = self.find(level, name);
            (!found.is_empty()).then_some((level, found))
        })
    }

    /// `path:line` of a directive, for messages.
    pub fn location(&self, dir: DirRef) -> Location {
        let file = &self.files[dir.file];
        Location::new(file.path.clone(), file.config.line(dir.id))
    }

    /// The `server {}` blocks in http context, in file order.
    pub fn http_servers(&self) -> Vec<DirRef> {
        let mut servers = Vec::new();
        for (index, file) in self.files.iter().enumerate() {
            for id in file.config.all().filter(|&id| file.config.name(id) == "server") {
                let parent = BlockRef { file: index, scope: file.config.parent(id) };
                if file.config.directive(id).block.is_some() && self.context(parent).as_deref() == Some("http") {
                    servers.push(DirRef { file: index, id });
                }
            }
        }
        servers
    }

    /// The `upstream` block named `name`, anywhere in http context.
    pub fn upstream(&self, name: &str) -> Option<DirRef> {
        self.files.iter().enumerate().find_map(|(index, file)| {
            file.config
                .all()
                .filter(|&id| file.config.name(id) == "upstream" && file.config.directive(id).block.is_some())
                .find(|&id| file.config.arg(id, 0).as_deref() == Some(name))
                .map(|id| DirRef { file: index, id })
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::config::Config as UserConfig;
    use std::path::Path;

    use crate::project::test_project as project;

    fn role_of(model: &Model, path: &str) -> Role {
        model.files.iter().find(|f| f.path == Path::new(path)).map(|f| f.role.clone()).expect(path)
    }

    const MAIN: &str = "events {}\nhttp {\n    include /etc/nginx/conf.d/*.conf;\n}\n";
    const SITE: &str =
        "upstream app { server web:8000; }\nserver {\n    listen 80;\n    location / { proxy_pass http://app; }\n}\n";

    #[test]
    fn dockerfile_copy_maps_conf_d_into_the_main_http_block() {
        let (_dir, project) = project(&[
            (
                "docker/nginx/Dockerfile",
                "FROM nginx\nCOPY nginx.conf /etc/nginx/nginx.conf\nCOPY site.conf \\\n  /etc/nginx/conf.d/\n",
            ),
            ("docker/nginx/nginx.conf", MAIN),
            ("docker/nginx/site.conf", SITE),
            ("supervisord.conf", "[program:web]\ncommand=gunicorn app\n"),
        ]);
        let model = model(&project);
        assert!(model.errors.is_empty(), "{:?}", model.errors);
        assert_eq!(model.files.len(), 2, "supervisord.conf is not nginx");
        assert_eq!(role_of(&model, "docker/nginx/nginx.conf"), Role::Main);
        let Role::Included(site) = role_of(&model, "docker/nginx/site.conf") else { panic!("not included") };
        assert_eq!(model.context(site).as_deref(), Some("http"));
        let server = model.http_servers()[0];
        let levels = model.levels(BlockRef { file: server.file, scope: Some(server.id) });
        assert_eq!(levels.len(), 3, "main and http of nginx.conf, then the server");
        assert_eq!(
            model.upstream("app").map(|u| model.file(u.file).path.clone()),
            Some("docker/nginx/site.conf".into())
        );
    }

    #[test]
    fn compose_mounts_templates_and_http_level_values_across_files() {
        let (_dir, project) = project(&[
            (
                "compose.yaml",
                "services:\n  nginx:\n    volumes:\n      - \"./ops/nginx.conf:/etc/nginx/nginx.conf:ro\"\n      - type: bind\n        source: ./ops/templates\n        target: /etc/nginx/templates\n",
            ),
            ("ops/nginx.conf", MAIN),
            ("ops/templates/app.conf.template", "gzip_vary on;\nserver {\n    listen ${PORT};\n}\n"),
        ]);
        let model = model(&project);
        let Role::Included(_) = role_of(&model, "ops/templates/app.conf.template") else {
            panic!("template not mapped")
        };
        // The template's top-level gzip_vary is at the http level of nginx.conf.
        let http = model.files.iter().position(|f| f.role == Role::Main).unwrap();
        let http_block = BlockRef { file: http, scope: model.config(http).children_named(None, "http").next() };
        assert_eq!(model.find(http_block, "gzip_vary").len(), 1);
        let server = model.http_servers()[0];
        assert!(model.inherited(BlockRef { file: server.file, scope: Some(server.id) }, "gzip_vary").is_some());
    }

    #[test]
    fn server_only_files_and_errors() {
        let (_dir, project) = project(&[
            ("nginx/conf.d/app.conf", SITE),
            ("nginx/conf.d/broken.conf", "server {\n    listen 80\n}\n"),
            ("nginx/snippets/headers.conf", "proxy_set_header Host $host;\n"),
        ]);
        let model = model(&project);
        assert_eq!(role_of(&model, "nginx/conf.d/app.conf"), Role::HttpInclude);
        assert_eq!(role_of(&model, "nginx/snippets/headers.conf"), Role::Unknown);
        assert_eq!(model.errors.len(), 1);
        let error = &model.errors[0];
        assert_eq!(error.location().to_string(), "nginx/conf.d/broken.conf:3");
        assert!(error.to_string().contains("line 3, column 1: unexpected \"}\""), "{error}");
    }

    #[test]
    fn a_snippet_outside_nginx_folders_is_read_when_included() {
        let (_dir, project) = project(&[
            (
                "deploy/nginx.conf",
                "events {}\nhttp {\n    server {\n        location / { include snippets/proxy.conf; }\n    }\n}\n",
            ),
            ("deploy/snippets/proxy.conf", "proxy_pass http://web:8000;\nproxy_set_header Host $host;\n"),
            ("deploy/snippets/other.conf", "proxy_pass http://web:8000;\n"),
            ("deploy/proxy.conf", "proxy_pass http://web:8000;\n"),
        ]);
        let model = model(&project);
        assert_eq!(model.files.len(), 2, "other.conf and deploy/proxy.conf are named by no include");
        let Role::Included(site) = role_of(&model, "deploy/snippets/proxy.conf") else { panic!("not included") };
        assert_eq!(model.context(site).as_deref(), Some("location"));
    }

    #[cfg(unix)]
    #[test]
    fn sites_enabled_symlink_is_one_file() {
        let (dir, _) = project(&[("etc/nginx/sites-available/app", SITE)]);
        std::fs::create_dir_all(dir.path().join("etc/nginx/sites-enabled")).unwrap();
        std::os::unix::fs::symlink("../sites-available/app", dir.path().join("etc/nginx/sites-enabled/app")).unwrap();
        let project = Project::open(dir.path(), UserConfig::default()).unwrap();
        let model = model(&project);
        assert_eq!(model.files.len(), 1);
        assert_eq!(model.files[0].path, Path::new("etc/nginx/sites-available/app"));
    }
}
