//! How the new indexes are built, decided by the database production runs: the engines come from
//! [`crate::facts::django::engines`], kept when they are in a settings module production loads
//! ([`Production`]); test settings and modules production never loads do not decide it.
//!
//! PostgreSQL (or an engine nobody can know statically, such as a `dj_database_url` call with no
//! literal URL) gets a non-atomic migration that builds each index with `CREATE INDEX
//! CONCURRENTLY` on PostgreSQL, so the table's writes go on while it builds, and with a plain
//! `CREATE INDEX` on any other database (a test run on SQLite); the choice is made by the
//! connection's vendor when the migration runs, and the migration state is the same either way.
//! Only when every engine production may use is known and none is PostgreSQL is it a plain
//! `AddIndex`: MySQL's InnoDB builds secondary indexes online already.

use crate::facts::django::engines::{self, UNKNOWN};
use crate::facts::django::production::{Loads, Production};
use crate::facts::django::settings::Settings;
use crate::project::Project;
use crate::text::location::Location;

/// How a migration builds its indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Build {
    /// `CREATE INDEX CONCURRENTLY` on PostgreSQL, a plain `CREATE INDEX` elsewhere, chosen by
    /// `schema_editor.connection.vendor` when the migration runs (`atomic = False`).
    ConcurrentlyOnPostgres,
    /// `migrations.AddIndex`.
    Plain,
}

/// What the settings production loads say about its databases.
#[derive(Debug, Clone)]
pub struct Databases {
    /// The engines production may use, with where: `postgresql`, `sqlite3`, ... or `unknown`.
    pub production: Vec<(String, Location)>,
    /// Engines of settings modules production does not load (test settings), for the why.
    pub elsewhere: Vec<(String, Location)>,
    /// Which settings module production loads, and why.
    pub loaded: String,
}

impl Databases {
    pub fn build(&self) -> Build {
        let known_and_not_postgres = !self.production.is_empty()
            && self.production.iter().all(|(engine, _)| engine != UNKNOWN && !is_postgres(engine));
        if known_and_not_postgres { Build::Plain } else { Build::ConcurrentlyOnPostgres }
    }

    /// One line for the change's assumptions: the engines, which production loads, the choice.
    pub fn explain(&self) -> String {
        let list = |engines: &[(String, Location)]| -> String {
            engines.iter().map(|(e, at)| format!("{e} ({at})")).collect::<Vec<_>>().join(", ")
        };
        let production = if self.production.is_empty() {
            "no DATABASES engine found in the settings production loads".to_owned()
        } else {
            format!("production's database engines: {}", list(&self.production))
        };
        let elsewhere = if self.elsewhere.is_empty() {
            String::new()
        } else {
            format!("; not loaded by production: {}", list(&self.elsewhere))
        };
        let mysql = self.production.iter().any(|(e, _)| e.starts_with("mysql"));
        let choice = match self.build() {
            Build::ConcurrentlyOnPostgres => "so the migration (atomic = False) builds each index with CREATE INDEX \
                CONCURRENTLY on PostgreSQL, which does not block the table's writes while it builds, and with a plain \
                CREATE INDEX on any other database (a test run on SQLite), chosen by the connection's vendor when it runs"
                .to_owned(),
            Build::Plain if mysql => "so AddIndex: MySQL's InnoDB builds a secondary index online (in place, writes \
                go on), and AddIndexConcurrently is PostgreSQL-only"
                .to_owned(),
            Build::Plain => "so AddIndex: no PostgreSQL in production, and AddIndexConcurrently is PostgreSQL-only"
                .to_owned(),
        };
        format!("{} ({}){elsewhere}; {choice}", production, self.loaded)
    }
}

fn is_postgres(engine: &str) -> bool {
    matches!(
        engine,
        "postgresql" | "postgresql_psycopg2" | "postgis" | "postgres" | "pgsql" | "timescale" | "timescalegis"
    )
}

/// The engines of the settings modules production loads (all of them when production's module
/// is unknown), and the others.
pub fn read(project: &Project) -> Databases {
    let settings = Settings::of(project);
    let production = Production::of(project);
    let (mut yes, mut unknown, mut no) = (Vec::new(), Vec::new(), Vec::new());
    for (engine, at) in engines::engines(&settings) {
        let module = settings.modules.iter().find(|m| m.path() == at.path.as_path());
        match module.map(|m| production.loads(&settings, m)) {
            Some(Loads::Yes(_)) => yes.push((engine, at)),
            Some(Loads::No) => no.push((engine, at)),
            Some(Loads::Unknown(_)) | None => unknown.push((engine, at)),
        }
    }
    // Known modules decide; the unknown ones only when production's own say nothing.
    let (production_engines, mut elsewhere) = if yes.is_empty() { (unknown, Vec::new()) } else { (yes, unknown) };
    elsewhere.extend(no);
    Databases { production: production_engines, elsewhere, loaded: production.describe() }
}
