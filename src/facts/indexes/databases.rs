//! Whether the migration may use `AddIndexConcurrently` (PostgreSQL only, and it needs psycopg
//! to import): the engines come from [`crate::facts::django::engines`] (every settings module, test
//! settings included); what is local is the requirement-file search for psycopg and the decision
//! with its explanation.

use std::path::PathBuf;

use crate::facts::django::engines;
use crate::facts::django::settings::Settings;
use crate::project::Project;
use crate::text::location::Location;

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

/// Reads the engines of every settings module and looks for psycopg in the requirements.
///
/// The psycopg search stays a byte search of its own rather than [`crate::facts::versions`]: it needs no
/// version, only that some file installs a driver, and it also reads `setup.py` / `setup.cfg`,
/// which the version reader does not; switching would change which projects get
/// `AddIndexConcurrently`.
pub fn read(project: &Project) -> Databases {
    let mut databases = Databases { engines: engines::engines(&Settings::of(project)), psycopg: None };
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
