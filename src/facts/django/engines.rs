//! Every database engine a project's settings may configure, with where each is written: the
//! fact a migration needs to know whether PostgreSQL-only operations (`AddIndexConcurrently`)
//! are safe everywhere it runs, test settings included.
//!
//! Read generously from the settings modules that mention `DATABASES` (see [`Settings`]): every
//! engine string (`django.db.backends.<x>`) and every database URL (`postgres://...`,
//! `sqlite:///...`) in them counts, wherever it sits, because settings build `DATABASES` from
//! variables and env-reading helpers as often as from one literal. A `dj_database_url` or
//! django-environ call with no literal URL inside is an engine nobody can know statically:
//! [`UNKNOWN`].

use tree_sitter::Node;

use crate::facts::django::settings::Settings;
use crate::lang::python::{self, PyFile};
use crate::text::location::Location;

/// The engine of a database URL reader without a literal default URL.
pub const UNKNOWN: &str = "unknown";

/// URL schemes of `dj-database-url` and django-environ that name a database engine.
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

/// Every engine in the settings modules that mention `DATABASES`, in path then source order:
/// the backend's last name (`postgresql`, `sqlite3`), a URL scheme (`postgres`), or [`UNKNOWN`].
pub fn engines(settings: &Settings) -> Vec<(String, Location)> {
    let mut found = Vec::new();
    for module in settings.modules.iter().filter(|m| m.file.source.text.contains("DATABASES")) {
        let mut in_module = Vec::new();
        collect(&module.file, module.file.root(), &mut in_module);
        found.extend(in_module.into_iter().map(|(engine, node)| (engine, module.file.location(node))));
    }
    found
}

/// Engine strings, database URLs and URL readers without a literal URL, in `node`.
fn collect<'t>(file: &'t PyFile, node: Node<'t>, found: &mut Vec<(String, Node<'t>)>) {
    let text = &file.source.text;
    match node.kind() {
        "string" => {
            // Only a string that can name an engine is decoded: most strings of a settings
            // module are neither a backend path nor a URL.
            let raw = &text[node.byte_range()];
            let may_name = raw.contains("backends.") || raw.contains("://");
            if let Some(engine) =
                may_name.then(|| python::string_value(node, text)).flatten().and_then(|v| engine_of(&v))
            {
                found.push((engine, node));
            }
            return;
        }
        "call" if is_url_reader(node, text) => {
            let mut inner = Vec::new();
            for child in python::named_children(node) {
                collect(file, child, &mut inner);
            }
            if inner.is_empty() {
                found.push((UNKNOWN.to_owned(), node));
            }
            found.extend(inner);
            return;
        }
        _ => {}
    }
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        collect(file, child, found);
    }
}

/// `dj_database_url.config(...)` / `.parse(...)`, `env.db(...)`, `environ.Env.db_url(...)`.
fn is_url_reader(call: Node, text: &str) -> bool {
    let function = call.child_by_field_name("function").and_then(|f| python::dotted_name(f, text)).unwrap_or_default();
    let last = function.rsplit('.').next().unwrap_or(&function);
    function.starts_with("dj_database_url.")
        || matches!(last, "db" | "db_url" | "db_url_config") && function.contains("env")
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
    fn engines_of_every_settings_module() {
        let (_dir, project) = crate::project::test_project(&[
            (
                "config/settings.py",
                "import dj_database_url\nDATABASES = {\n    'default': dj_database_url.config(default='postgres://u@h/db'),\n    'x': dj_database_url.config(),\n}\nCACHES = {'default': {'LOCATION': 'redis://r:6379/0'}}\n",
            ),
            (
                "config/test_settings.py",
                "from .settings import *\nDATABASES = {'default': {'ENGINE': 'django.db.backends.sqlite3'}}\n",
            ),
            ("listener/config.py", "DATABASES = {'default': {'ENGINE': 'django.db.backends.mysql'}}\n"),
        ]);
        let found: Vec<String> =
            engines(&Settings::of(&project)).into_iter().map(|(engine, at)| format!("{engine} {at}")).collect();
        assert_eq!(
            found,
            ["postgres config/settings.py:3", "unknown config/settings.py:4", "sqlite3 config/test_settings.py:2"]
        );
    }
}
