//! Which database server the deployment's connections go to, and its connection limit, each with
//! its source: the engine from the `DATABASES` settings (`crate::facts::django`), else from the
//! compose images (`postgres:16`, `mysql:8`, `mariadb:11`); the limit from the server's own
//! configuration in the project, else the server's default. A budget that names PostgreSQL for a
//! MySQL database is wrong twice (the server and the number), so an engine that cannot be read
//! is said to be unknown, and the default it falls back to is named as assumed.

use std::path::PathBuf;

use crate::facts::celery;
use crate::facts::django::{engines, settings::Settings};
use crate::project::Project;
use crate::project::config::Sourced;
use crate::project::kinds;
use crate::project::listing::Kind;

/// PostgreSQL's default `max_connections`.
pub const POSTGRES_DEFAULT_MAX_CONNECTIONS: u32 = 100;

/// MySQL's and MariaDB's default `max_connections`.
pub const MYSQL_DEFAULT_MAX_CONNECTIONS: u32 = 151;

/// A database server family, as far as its connection limit goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Server {
    PostgreSql,
    /// MySQL or MariaDB (the same `max_connections`, default 151).
    MySql,
    /// SQLite only: no server, no connection limit.
    Sqlite,
    /// No settings module sets `DATABASES` (Django's default is no database) and no compose
    /// image runs a database server: nothing to hold connections against.
    NoDatabase,
    /// The settings do not say (unreadable, or the URL is read at runtime): PostgreSQL's default
    /// limit is assumed, and said so.
    Unknown,
}

impl Server {
    /// The name the budget says (`PostgreSQL`, `MySQL/MariaDB`).
    pub fn name(self) -> &'static str {
        match self {
            Server::PostgreSql | Server::Unknown => "PostgreSQL",
            Server::MySql => "MySQL/MariaDB",
            Server::Sqlite => "SQLite",
            Server::NoDatabase => "no database",
        }
    }

    fn default_limit(self) -> Sourced<u32> {
        match self {
            Server::MySql => Sourced { value: MYSQL_DEFAULT_MAX_CONNECTIONS, source: "MySQL's default".to_owned() },
            _ => Sourced { value: POSTGRES_DEFAULT_MAX_CONNECTIONS, source: "PostgreSQL's default".to_owned() },
        }
    }
}

/// The server and where it was read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Database {
    pub server: Server,
    /// `ENGINE django.db.backends.mysql at proj/settings.py:12`, `image mysql:8 at
    /// docker-compose.yml:4`, or why it is unknown.
    pub source: String,
}

/// The family of a `DATABASES` engine name or URL scheme ([`engines::engines`]).
fn family(engine: &str) -> Option<Server> {
    match engine {
        "postgresql" | "postgresql_psycopg2" | "postgres" | "pgsql" | "postgis" | "timescale" | "timescalegis" => {
            Some(Server::PostgreSql)
        }
        e if e.starts_with("mysql") => Some(Server::MySql),
        "sqlite3" | "sqlite" | "spatialite" => Some(Server::Sqlite),
        _ => None,
    }
}

/// The database of `project`: the settings' engines, else the compose images, else unknown.
pub fn database(project: &Project) -> Database {
    let settings = Settings::of(project);
    let found = engines::engines(&settings);
    let servers: Vec<(Server, String)> = found
        .iter()
        .filter_map(|(engine, at)| family(engine).map(|server| (server, format!("ENGINE {engine} at {at}"))))
        .filter(|(server, _)| *server != Server::Sqlite)
        .collect();
    if let Some((server, source)) = servers.first() {
        if let Some((other, at)) = servers.iter().find(|(s, _)| s != server) {
            return Database {
                server: Server::Unknown,
                source: format!("the settings name both {} ({source}) and {} ({at})", server.name(), other.name()),
            };
        }
        return Database { server: *server, source: source.clone() };
    }
    if let Some(image) = compose_image(project) {
        return image;
    }
    if !found.is_empty() && found.iter().all(|(engine, _)| family(engine) == Some(Server::Sqlite)) {
        return Database { server: Server::Sqlite, source: format!("ENGINE sqlite at {}", found[0].1) };
    }
    let declared = settings.modules.iter().any(|module| module.file.source.text.contains("DATABASES"));
    if found.is_empty() && !declared && settings.errors.is_empty() {
        let source = "no settings module sets DATABASES and no compose image runs a database server".to_owned();
        return Database { server: Server::NoDatabase, source };
    }
    Database { server: Server::Unknown, source: unknown_why(&settings, &found) }
}

/// Why the engine cannot be read from the settings.
fn unknown_why(settings: &Settings, found: &[(String, crate::text::location::Location)]) -> String {
    if let Some((_, at)) = found.iter().find(|(engine, _)| engine == engines::UNKNOWN) {
        return format!("the database URL is read at runtime ({at}) and no compose image names the server");
    }
    if let Some(problem) = settings.errors.first() {
        return format!("the DATABASES settings cannot be read ({})", problem.describe());
    }
    "DATABASES names no engine scalepatch can read, and no compose image names the server".to_owned()
}

/// The first compose service whose image is a database server (`postgres:16-alpine`,
/// `postgis/postgis`, `mysql:8`, `mariadb:11`, `bitnami/mysql`), with where.
fn compose_image(project: &Project) -> Option<Database> {
    let candidates: Vec<PathBuf> = project.files_of(kinds::is_yaml).to_vec();
    for path in project.files_containing(&candidates, "image") {
        let Ok(file) = project.read(&path) else { continue };
        if !kinds::is_compose(&path, &file.text) {
            continue;
        }
        for (index, line) in file.text.lines().enumerate() {
            let Some(image) = line.trim_start().strip_prefix("image:") else { continue };
            let image = image.trim().trim_matches(|c| c == '"' || c == '\'');
            let name = image.split([':', '@']).next().unwrap_or("").rsplit('/').next().unwrap_or("");
            let server = match name {
                n if n.starts_with("postgres") || n.starts_with("postgis") || n.starts_with("timescaledb") => {
                    Server::PostgreSql
                }
                n if n.starts_with("mysql") || n.starts_with("mariadb") || n.starts_with("percona") => Server::MySql,
                _ => continue,
            };
            let source = format!("image {image} at {}:{}", path.display(), index + 1);
            return Some(Database { server, source });
        }
    }
    None
}

/// The server's `max_connections` from the project (compose `postgres -c max_connections=200`,
/// `mysqld --max_connections=300` / `--max-connections 300`, a postgresql.conf or my.cnf),
/// preferring the files of `deployment` (each deployment may run its own database); else the
/// server's default.
pub fn max_connections(project: &Project, server: Server, deployment: &[PathBuf]) -> Sourced<u32> {
    let server_file: Kind = match server {
        Server::MySql => |path| kinds::name_of(path).ends_with(".cnf"),
        _ => |path| kinds::name_of(path) == "postgresql.conf",
    };
    let launch_or_yaml = project.files_of(|path| celery::launch_file(path) || kinds::is_yaml(path));
    let server_files = project.files_of(server_file);
    let mut candidates: Vec<PathBuf> = launch_or_yaml.iter().chain(server_files.iter()).cloned().collect();
    crate::project::listing::sort(&mut candidates);
    candidates.dedup();
    let mut found = Vec::new();
    for path in project.files_matching(&candidates, |bytes| {
        memchr::memmem::find(bytes, b"max_connections").is_some()
            || memchr::memmem::find(bytes, b"max-connections").is_some()
    }) {
        let Ok(file) = project.read(&path) else { continue };
        if !(celery::launch_file(&path) || server_file(&path) || kinds::is_compose(&path, &file.text)) {
            continue;
        }
        if let Some((line, value)) = limit_line(&file.text) {
            let source = format!("{}:{line}", path.display());
            found.push((deployment.contains(&path), Sourced { value, source }));
        }
    }
    // In the counted deployment first, then the first file in path order.
    found.sort_by_key(|(in_deployment, _)| !*in_deployment);
    found.into_iter().next().map(|(_, sourced)| sourced).unwrap_or_else(|| server.default_limit())
}

/// The first line (1-based) that sets `max_connections` / `max-connections` to a number, and it.
fn limit_line(text: &str) -> Option<(usize, u32)> {
    for (index, line) in text.lines().enumerate() {
        if line.trim_start().starts_with('#') {
            continue;
        }
        for key in ["max_connections", "max-connections"] {
            let Some(at) = line.find(key) else { continue };
            let rest = line[at + key.len()..].trim_start_matches(|c: char| c.is_whitespace() || c == '=');
            let digits: String = rest.chars().take_while(char::is_ascii_digit).collect();
            if let Ok(value) = digits.parse() {
                return Some((index + 1, value));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::project::test_project as project;

    #[test]
    fn mysql_from_the_settings_with_its_own_limit_and_default() {
        let settings = "DATABASES = {'default': {'ENGINE': 'django.db.backends.mysql', 'NAME': 'x'}}\n";
        let (_dir, p) = project(&[("proj/settings.py", settings)]);
        let db = database(&p);
        assert_eq!(db.server, Server::MySql);
        assert!(db.source.contains("proj/settings.py:1"), "{}", db.source);
        assert_eq!(max_connections(&p, db.server, &[]).value, 151);
        let compose = "services:\n  db:\n    image: mariadb:11\n    command: --max-connections 300\n";
        let (_dir, p) = project(&[("proj/settings.py", settings), ("docker-compose.yml", compose)]);
        let limit = max_connections(&p, Server::MySql, &[]);
        assert_eq!((limit.value, limit.source.as_str()), (300, "docker-compose.yml:4"));
        let (_dir, p) =
            project(&[("proj/settings.py", settings), ("deploy/my.cnf", "[mysqld]\nmax_connections = 500\n")]);
        assert_eq!(max_connections(&p, Server::MySql, &[]).value, 500);
    }

    #[test]
    fn the_compose_image_names_the_server_when_the_settings_cannot() {
        let settings = "import dj_database_url\nDATABASES = {'default': dj_database_url.config()}\n";
        let compose = "services:\n  db:\n    image: \"mysql:8.0\"\n";
        let (_dir, p) = project(&[("proj/settings.py", settings), ("docker-compose.yml", compose)]);
        let db = database(&p);
        assert_eq!((db.server, db.source.as_str()), (Server::MySql, "image mysql:8.0 at docker-compose.yml:3"));
        let (_dir, p) = project(&[("proj/settings.py", settings)]);
        let db = database(&p);
        assert_eq!(db.server, Server::Unknown);
        assert!(db.source.contains("read at runtime (proj/settings.py:2)"), "{}", db.source);
    }
}
