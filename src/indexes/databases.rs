//! A small local reader of the database engines the settings configure, for one decision: may
//! the migration use `AddIndexConcurrently` (PostgreSQL only, and it needs psycopg to import)?
//!
//! Settings modules are found by a byte search for `DATABASES`; in them, every engine string
//! (`django.db.backends.<x>`) and every database URL default (`postgres://...`, `sqlite:///...`)
//! counts, test settings included. A `dj_database_url` / django-environ call without a literal
//! default URL is an engine we cannot know: then plain `AddIndex` is the safe choice.
//! (The shared settings reader of `db-persistent-connections` is richer; to be consolidated.)

use std::path::PathBuf;

use tree_sitter::Node;

use super::py;
use crate::change::Location;
use crate::lang::python;
use crate::project::Project;

/// What the settings say about the databases.
#[derive(Debug, Clone, Default)]
pub struct Databases {
    /// Every engine found, with where: `postgresql`, `sqlite3`, ... or `unknown`.
    pub engines: Vec<(String, Location)>,
    /// Where psycopg (or psycopg2) is required, if anywhere.
    pub psycopg: Option<Location>,
}

impl Databases {
    /// PostgreSQL for every configured database, and psycopg installed.
    pub fn concurrent_ok(&self) -> bool {
        self.psycopg.is_some() && self.all_postgres()
    }

    pub fn all_postgres(&self) -> bool {
        !self.engines.is_empty() && self.engines.iter().all(|(engine, _)| is_postgres(engine))
    }

    /// One line for the change's assumptions.
    pub fn explain(&self) -> String {
        let engines = if self.engines.is_empty() {
            "no DATABASES engine found in the settings".to_owned()
        } else {
            let list: Vec<String> = self.engines.iter().map(|(e, at)| format!("{e} ({at})")).collect();
            format!("database engines in the settings: {}", list.join(", "))
        };
        let psycopg = match &self.psycopg {
            Some(at) => format!("psycopg required in {at}"),
            None => "psycopg not found in the requirements".to_owned(),
        };
        let choice = if self.concurrent_ok() {
            "AddIndexConcurrently (atomic = False): every database is PostgreSQL".to_owned()
        } else {
            "AddIndex: AddIndexConcurrently needs PostgreSQL for every database (test settings included) and psycopg"
                .to_owned()
        };
        format!("{engines}; {psycopg}; so {choice}")
    }
}

fn is_postgres(engine: &str) -> bool {
    matches!(engine, "postgresql" | "postgresql_psycopg2" | "postgis" | "postgres" | "pgsql")
}

const URL_SCHEMES: &[&str] = &[
    "postgres",
    "postgresql",
    "pgsql",
    "postgis",
    "sqlite",
    "spatialite",
    "mysql",
    "mysql2",
    "mysqlgis",
    "mysql-connector",
    "oracle",
    "oraclegis",
    "mssql",
    "mssqlms",
    "redshift",
    "cockroach",
    "timescale",
    "timescalegis",
];

/// Reads the engines of every settings module and looks for psycopg in the requirements.
pub fn read(project: &Project, python_files: &[PathBuf]) -> Databases {
    let mut databases = Databases::default();
    for path in project.files_containing(python_files, "DATABASES") {
        let Ok(source) = project.read(&path) else { continue };
        let Ok(file) = python::parse(source) else { continue };
        let mut found = Vec::new();
        collect(file.root(), &file.source.text, &mut found);
        for (engine, offset) in found {
            databases.engines.push((engine, Location::new(&path, file.source.line_of(offset))));
        }
    }
    let requirement_files: Vec<PathBuf> = project
        .files_where(|p| {
            let name = p.file_name().map(|n| n.to_string_lossy().to_lowercase()).unwrap_or_default();
            (name.starts_with("requirements") && name.ends_with(".txt"))
                || (name.ends_with(".txt") && p.components().any(|c| c.as_os_str() == "requirements"))
                || matches!(
                    name.as_str(),
                    "pyproject.toml" | "pipfile" | "setup.py" | "setup.cfg" | "poetry.lock" | "uv.lock"
                )
        })
        .cloned()
        .collect();
    if let Some(path) = project.files_containing(&requirement_files, "psycopg").first()
        && let Ok(source) = project.read(path)
    {
        let line = source.text.find("psycopg").map_or(0, |offset| source.line_of(offset));
        databases.psycopg = Some(Location::new(path, line));
    }
    databases
}

/// Engine strings, database URLs and URL readers without a literal default, in `node`.
fn collect(node: Node, src: &str, found: &mut Vec<(String, usize)>) {
    match node.kind() {
        "string" => {
            if let Some(engine) = python::string_value(node, src).and_then(|value| engine_of(&value)) {
                found.push((engine, node.start_byte()));
            }
            return;
        }
        "call" => {
            let function =
                node.child_by_field_name("function").and_then(|f| python::dotted_name(f, src)).unwrap_or_default();
            let reader = function.starts_with("dj_database_url.")
                || matches!(py::last_segment(&function), "db" | "db_url" | "db_url_config") && function.contains("env");
            if reader {
                let mut inner = Vec::new();
                let mut cursor = node.walk();
                for child in node.named_children(&mut cursor) {
                    collect(child, src, &mut inner);
                }
                if inner.is_empty() {
                    found.push(("unknown".to_owned(), node.start_byte()));
                }
                found.extend(inner);
                return;
            }
        }
        _ => {}
    }
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        collect(child, src, found);
    }
}

/// The engine a string names: `django.db.backends.postgresql` or a URL scheme.
fn engine_of(value: &str) -> Option<String> {
    for prefix in ["django.db.backends.", "django.contrib.gis.db.backends."] {
        if let Some(rest) = value.strip_prefix(prefix) {
            return Some(rest.to_owned());
        }
    }
    let (scheme, _) = value.split_once("://")?;
    let scheme = scheme.split('+').next().unwrap_or(scheme);
    URL_SCHEMES.contains(&scheme).then(|| scheme.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engines_in_settings() {
        let src = "import dj_database_url\nDATABASES = {'default': dj_database_url.config(default='postgres://u@h/db'), 'other': {'ENGINE': 'django.db.backends.sqlite3'}, 'x': dj_database_url.config()}\nCACHES = {'default': {'LOCATION': 'redis://r:6379/0'}}\n";
        let file = python::parse(std::sync::Arc::new(crate::source::SourceFile::from_text("s.py", src))).unwrap();
        let mut found = Vec::new();
        collect(file.root(), src, &mut found);
        let engines: Vec<&str> = found.iter().map(|(e, _)| e.as_str()).collect();
        assert_eq!(engines, ["postgres", "sqlite3", "unknown"]);
    }
}
