//! Dependency versions of the packages whose version changes what a patch may write (Django,
//! dj-database-url, django-redis, redis, psycopg, gunicorn), read from the project's own files:
//! lock files first (they say what is installed), then declared requirements (requirements*.txt
//! with `-r` includes, pyproject.toml PEP 621 and Poetry, Pipfile).
//!
//! A declared requirement is kept as a range: `Django>=4.2,<5` proves "at least 4.1" without
//! naming the installed version. Every answer says where it came from, or that nothing was found,
//! so that the plan can state it.

use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::project::Project;

/// The packages scalepatch cares about, by normalized name.
pub const TRACKED: &[&str] = &["django", "dj-database-url", "django-redis", "redis", "psycopg", "gunicorn", "celery"];

/// A release number (`4.2.7`); pre-release and local parts are dropped, which is conservative
/// for "at least" questions only when the number itself is the bound, as here.
#[derive(Debug, Clone, Eq)]
pub struct Version(pub Vec<u64>);

impl PartialEq for Version {
    /// `4.1 == 4.1.0`, as in PEP 440.
    fn eq(&self, other: &Version) -> bool {
        self.cmp(other).is_eq()
    }
}

impl Version {
    /// Parses the leading dotted numbers (`4.2.7rc1` -> 4.2.7, `5` -> 5); `None` without any.
    pub fn parse(text: &str) -> Option<Version> {
        let numbers: Vec<u64> = text
            .trim()
            .trim_start_matches(['v', 'V'])
            .split('.')
            .map_while(|part| {
                let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
                digits.parse().ok()
            })
            .collect();
        (!numbers.is_empty()).then_some(Version(numbers))
    }

    pub fn new(parts: &[u64]) -> Version {
        Version(parts.to_vec())
    }
}

impl Ord for Version {
    fn cmp(&self, other: &Version) -> Ordering {
        let len = self.0.len().max(other.0.len());
        (0..len)
            .map(|i| self.0.get(i).copied().unwrap_or(0).cmp(&other.0.get(i).copied().unwrap_or(0)))
            .find(|o| o.is_ne())
            .unwrap_or(Ordering::Equal)
    }
}

impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Version) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let parts: Vec<String> = self.0.iter().map(u64::to_string).collect();
        f.write_str(&parts.join("."))
    }
}

/// What the project says about one package: the range it allows, as written, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    /// The lowest version allowed (inclusive), when the specifier bounds it from below.
    pub min: Option<Version>,
    /// The first version not allowed, when bounded from above (`<5`, `==4.2.*` -> 4.3).
    pub below: Option<Version>,
    /// The specifier as written (`>=4.2,<5`, `==4.2.7`, `^4.2`, `*`).
    pub spec: String,
    /// Where it was found (`requirements/base.txt:3`, `poetry.lock`).
    pub source: String,
}

/// The answer to "is it at least X?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Known {
    Yes,
    No,
    Unknown,
}

impl Found {
    /// Whether every allowed version is >= `version`.
    pub fn at_least(&self, version: &Version) -> Known {
        if self.min.as_ref().is_some_and(|min| min >= version) {
            Known::Yes
        } else if self.below.as_ref().is_some_and(|below| below <= version) {
            Known::No
        } else {
            Known::Unknown
        }
    }

    /// `Django ==4.2.7 (requirements.txt:3)`.
    pub fn describe(&self, package: &str) -> String {
        format!("{package} {} ({})", self.spec, self.source)
    }
}

/// Every tracked package found in the project, computed once per project.
#[derive(Debug, Default)]
pub struct Versions {
    found: BTreeMap<String, Found>,
    /// Dependency files refused for their size. Unlike a binary file (which cannot be a
    /// requirements file), such a file was never looked at, so a version may be missing because
    /// of it: the patches that use versions say so (see [`Versions::warnings`]).
    too_large: Vec<crate::project::InputError>,
}

impl Versions {
    /// The versions of `project` (memoized: patches share one reading).
    pub fn of(project: &Project) -> std::sync::Arc<Versions> {
        project.memo(read_versions)
    }

    /// One warning per dependency file refused for its size, naming the file and its size; the
    /// patches that use versions add them to their outcomes, and the plan shows each file once.
    pub fn warnings(&self) -> impl Iterator<Item = crate::facts::problem::Problem> + '_ {
        self.too_large.iter().map(|err| {
            let location = crate::text::location::Location::file(err.path());
            crate::facts::problem::Problem::note(
                Some(location),
                format!("{err}; package versions it pins are not known"),
            )
        })
    }

    /// What was found for `package` (any spelling: `Django`, `dj_database_url`).
    pub fn get(&self, package: &str) -> Option<&Found> {
        self.found.get(&normalize(package))
    }

    /// What was found for `package`, for the plan: `django-redis ==5.4.0 (requirements.txt:3)`.
    pub fn describe(&self, package: &str) -> String {
        match self.get(package) {
            Some(found) => found.describe(package),
            None => format!("{package}: no version found in requirements, pyproject.toml, Pipfile or lock files"),
        }
    }

    /// "is `package` at least `version`?", with the sentence the plan states as an assumption.
    pub fn at_least(&self, package: &str, version: &[u64]) -> (Known, String) {
        let version = Version::new(version);
        match self.get(package) {
            Some(found) => {
                let known = found.at_least(&version);
                let verdict = match known {
                    Known::Yes => format!(">= {version}"),
                    Known::No => format!("older than {version}"),
                    Known::Unknown => format!("may be older than {version}"),
                };
                (known, format!("{}: {verdict}", found.describe(package)))
            }
            None => (
                Known::Unknown,
                format!("{package}: no version found in requirements, pyproject.toml, Pipfile or lock files"),
            ),
        }
    }
}

/// PEP 503 normalization, with the psycopg variants folded into `psycopg` (all drivers count).
pub fn normalize(name: &str) -> String {
    let name: String = name.trim().to_lowercase().chars().map(|c| if c == '_' || c == '.' { '-' } else { c }).collect();
    match name.as_str() {
        "psycopg2" | "psycopg2-binary" | "psycopg-binary" => "psycopg".to_owned(),
        _ => name,
    }
}

fn read_versions(project: &Project) -> Versions {
    let mut versions = Versions::default();
    let mut record = |name: &str, found: Found| {
        let name = normalize(name);
        if TRACKED.contains(&name.as_str()) {
            versions.found.entry(name).or_insert(found);
        }
    };
    // Lock files first: they pin what is installed.
    for lock in ["poetry.lock", "uv.lock", "Pipfile.lock"] {
        for path in project.files_named(lock) {
            for (name, found) in read_lock(project, path) {
                record(&name, found);
            }
        }
    }
    for path in project.files_of(is_requirements_file).iter() {
        for (name, found) in read_requirements(project, path, &mut Vec::new()) {
            record(&name, found);
        }
    }
    for path in project.files_named("pyproject.toml") {
        for (name, found) in read_pyproject(project, path) {
            record(&name, found);
        }
    }
    for path in project.files_named("Pipfile") {
        for (name, found) in read_pipfile(project, path) {
            record(&name, found);
        }
    }
    versions.too_large = too_large_dependency_files(project);
    versions
}

/// The dependency files (every kind read above) that were refused for their size. The reads are
/// cached, so asking again reads nothing.
fn too_large_dependency_files(project: &Project) -> Vec<crate::project::InputError> {
    let is_dependency_file = |path: &Path| {
        let name = path.file_name().and_then(|n| n.to_str()).unwrap_or_default();
        is_requirements_file(path)
            || ["poetry.lock", "uv.lock", "Pipfile.lock", "pyproject.toml", "Pipfile"].contains(&name)
    };
    project
        .files_of(is_dependency_file)
        .iter()
        .filter_map(|path| match project.read(path) {
            Err(err @ crate::project::InputError::TooLarge { .. }) => Some(err),
            _ => None,
        })
        .collect()
}

fn is_requirements_file(path: &Path) -> bool {
    let name = crate::project::kinds::name_of(path);
    (name.ends_with(".txt") || name.ends_with(".in"))
        && (name.starts_with("requirements") || crate::project::kinds::folder_name(path) == "requirements")
}

/// `Django[argon2]>=4.2,<5 ; python_version >= "3.10"  # comment` -> ("Django", ">=4.2,<5").
fn split_requirement(line: &str) -> Option<(String, String)> {
    let line = line.split(" #").next()?.split(';').next()?.trim();
    if line.is_empty() || line.starts_with('#') || line.starts_with('-') || line.contains("://") {
        return None;
    }
    let name_end = line.find(|c: char| !(c.is_ascii_alphanumeric() || "-_.".contains(c))).unwrap_or(line.len());
    let name = &line[..name_end];
    let mut rest = line[name_end..].trim();
    if rest.starts_with('[') {
        rest = rest.split_once(']').map_or("", |(_, r)| r).trim();
    }
    let rest = rest.trim_start_matches('(').trim_end_matches(')').trim();
    (!name.is_empty()).then(|| (name.to_owned(), rest.to_owned()))
}

/// Reads a PEP 440 specifier set (`>=4.2,<5`, `==4.2.*`, `~=4.2`) or a Poetry constraint
/// (`^4.2`, `~4.2`, `4.2.*`, `>=4.2,<5`, `*`) into a range.
pub fn parse_spec(spec: &str, source: String) -> Found {
    let mut found = Found { min: None, below: None, spec: spec.trim().to_owned(), source };
    let raise = |slot: &mut Option<Version>, v: Version| {
        if slot.as_ref().is_none_or(|old| &v > old) {
            *slot = Some(v);
        }
    };
    let lower = |slot: &mut Option<Version>, v: Version| {
        if slot.as_ref().is_none_or(|old| &v < old) {
            *slot = Some(v);
        }
    };
    for clause in spec.split([',', ' ']).map(str::trim).filter(|c| !c.is_empty() && *c != "*") {
        let op_len = clause.find(|c: char| c.is_ascii_digit() || c == 'v').unwrap_or(clause.len());
        let (op, number) = clause.split_at(op_len);
        let Some(version) = Version::parse(number) else { continue };
        let wildcard = number.ends_with(".*");
        let next_release = |v: &Version, keep: usize| {
            let mut parts: Vec<u64> = v.0.iter().copied().take(keep.max(1)).collect();
            let last = parts.len() - 1;
            parts[last] += 1;
            Version(parts)
        };
        match op.trim() {
            "==" | "===" | "" if wildcard => {
                raise(&mut found.min, version.clone());
                lower(&mut found.below, next_release(&version, version.0.len()));
            }
            "==" | "===" | "" => {
                // An exact pin: only this version is allowed.
                lower(&mut found.below, Version([version.0.clone(), vec![0, 0, 0, 1]].concat()));
                raise(&mut found.min, version);
            }
            ">=" | ">" => raise(&mut found.min, version),
            "<" => lower(&mut found.below, version),
            "<=" => lower(&mut found.below, Version([version.0.clone(), vec![0, 0, 0, 1]].concat())),
            "~=" => {
                let keep = version.0.len().saturating_sub(1);
                raise(&mut found.min, version.clone());
                lower(&mut found.below, next_release(&version, keep));
            }
            "~" => {
                let keep = if version.0.len() >= 2 { 2 } else { 1 };
                raise(&mut found.min, version.clone());
                lower(&mut found.below, next_release(&version, keep));
            }
            "^" => {
                let keep = version.0.iter().position(|&p| p != 0).map_or(version.0.len(), |i| i + 1);
                raise(&mut found.min, version.clone());
                lower(&mut found.below, next_release(&version, keep));
            }
            _ => {}
        }
    }
    found
}

fn read_requirements(project: &Project, path: &Path, seen: &mut Vec<PathBuf>) -> Vec<(String, Found)> {
    if seen.contains(&path.to_path_buf()) {
        return Vec::new();
    }
    seen.push(path.to_path_buf());
    let Ok(file) = project.read(path) else { return Vec::new() };
    let mut found = Vec::new();
    for (index, line) in file.text.lines().enumerate() {
        let line = line.trim();
        let include = line
            .strip_prefix("-r")
            .or_else(|| line.strip_prefix("--requirement"))
            .or_else(|| line.strip_prefix("-c"))
            .or_else(|| line.strip_prefix("--constraint"));
        if let Some(include) = include {
            let target = include.trim_start_matches('=').trim();
            let included = path.parent().unwrap_or(Path::new("")).join(target);
            if let Some(included) = crate::project::kinds::normalize(&included)
                && project.has_file(&included)
            {
                found.extend(read_requirements(project, &included, seen));
            }
            continue;
        }
        if let Some((name, spec)) = split_requirement(line) {
            found.push((name, parse_spec(&spec, format!("{}:{}", path.display(), index + 1))));
        }
    }
    found
}

fn read_toml(project: &Project, path: &Path) -> Option<toml::Table> {
    let file = project.read(path).ok()?;
    toml::from_str(&file.text).ok()
}

fn read_pyproject(project: &Project, path: &Path) -> Vec<(String, Found)> {
    let Some(doc) = read_toml(project, path) else { return Vec::new() };
    let source = path.display().to_string();
    let mut found = Vec::new();
    let project_table = doc.get("project");
    let mut pep621: Vec<&toml::Value> = Vec::new();
    if let Some(deps) = project_table.and_then(|p| p.get("dependencies")).and_then(|d| d.as_array()) {
        pep621.extend(deps);
    }
    if let Some(optional) = project_table.and_then(|p| p.get("optional-dependencies")).and_then(|d| d.as_table()) {
        pep621.extend(optional.values().filter_map(|v| v.as_array()).flatten());
    }
    if let Some(groups) = doc.get("dependency-groups").and_then(|d| d.as_table()) {
        pep621.extend(groups.values().filter_map(|v| v.as_array()).flatten());
    }
    for requirement in pep621.iter().filter_map(|v| v.as_str()) {
        if let Some((name, spec)) = split_requirement(requirement) {
            found.push((name, parse_spec(&spec, format!("{source} [project]"))));
        }
    }
    if let Some(poetry) = doc.get("tool").and_then(|t| t.get("poetry")) {
        let mut tables: Vec<&toml::Value> = poetry.get("dependencies").into_iter().collect();
        if let Some(groups) = poetry.get("group").and_then(|g| g.as_table()) {
            tables.extend(groups.values().filter_map(|g| g.get("dependencies")));
        }
        for table in tables.iter().filter_map(|t| t.as_table()) {
            for (name, value) in table {
                if let Some(spec) = constraint_of(value) {
                    found.push((name.clone(), parse_spec(&spec, format!("{source} [tool.poetry]"))));
                }
            }
        }
    }
    found
}

/// A Poetry / Pipfile constraint: `"^4.2"` or `{ version = "^4.2", extras = [...] }`.
fn constraint_of(value: &toml::Value) -> Option<String> {
    match value {
        toml::Value::String(spec) => Some(spec.clone()),
        toml::Value::Table(table) => table.get("version").and_then(|v| v.as_str()).map(str::to_owned),
        _ => None,
    }
}

fn read_pipfile(project: &Project, path: &Path) -> Vec<(String, Found)> {
    let Some(doc) = read_toml(project, path) else { return Vec::new() };
    let mut found = Vec::new();
    for section in ["packages", "dev-packages"] {
        for (name, value) in doc.get(section).and_then(|s| s.as_table()).into_iter().flatten() {
            if let Some(spec) = constraint_of(value) {
                found.push((name.clone(), parse_spec(&spec, format!("{} [{section}]", path.display()))));
            }
        }
    }
    found
}

/// poetry.lock and uv.lock: `[[package]] name = "..." version = "..."`; Pipfile.lock is JSON
/// with `"default": {"django": {"version": "==4.2.7"}}`.
fn read_lock(project: &Project, path: &Path) -> Vec<(String, Found)> {
    let source = path.display().to_string();
    if path.file_name().is_some_and(|n| n == "Pipfile.lock") {
        let Ok(file) = project.read(path) else { return Vec::new() };
        let Ok(json) = serde_json::from_str::<serde_json::Value>(&file.text) else { return Vec::new() };
        return ["default", "develop"]
            .iter()
            .filter_map(|section| json.get(section).and_then(|s| s.as_object()))
            .flatten()
            .filter_map(|(name, entry)| {
                let spec = entry.get("version")?.as_str()?;
                Some((name.clone(), parse_spec(spec, source.clone())))
            })
            .collect();
    }
    let Some(doc) = read_toml(project, path) else { return Vec::new() };
    doc.get("package")
        .and_then(|p| p.as_array())
        .into_iter()
        .flatten()
        .filter_map(|package| {
            let name = package.get("name")?.as_str()?;
            let version = package.get("version")?.as_str()?;
            Some((name.to_owned(), parse_spec(&format!("=={version}"), source.clone())))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::config::Config;

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap()
    }

    #[test]
    fn version_order() {
        assert!(v("4.10") > v("4.2"));
        assert_eq!(v("4.1"), v("4.1.0"));
        assert!(v("1.1.0rc1") >= v("1.1"));
    }

    #[test]
    fn specifiers() {
        let at = |spec: &str, min: &str| parse_spec(spec, String::new()).at_least(&v(min));
        assert_eq!(at("==4.2.7", "4.1"), Known::Yes);
        assert_eq!(at("==4.0.10", "4.1"), Known::No);
        assert_eq!(at(">=4.2,<5", "4.1"), Known::Yes);
        assert_eq!(at("<4.1", "4.1"), Known::No);
        assert_eq!(at("~=3.2", "4.1"), Known::No);
        assert_eq!(at("~=4.0", "4.1"), Known::Unknown);
        assert_eq!(at("^4.2", "4.1"), Known::Yes);
        assert_eq!(at("^0.9", "1.1.0"), Known::No);
        assert_eq!(at("*", "4.1"), Known::Unknown);
        assert_eq!(at("", "4.1"), Known::Unknown);
        assert_eq!(at("==4.0.*", "4.1"), Known::No);
    }

    #[test]
    fn a_dependency_file_too_large_to_read_is_named_once() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("requirements.txt"), "Django==5.2\n").unwrap();
        std::fs::create_dir(dir.path().join("requirements")).unwrap();
        std::fs::File::create(dir.path().join("requirements/prod.txt")).unwrap().set_len(1 << 30).unwrap();
        let project = crate::project::Project::open(dir.path(), Config::default()).unwrap();
        let versions = read_versions(&project);
        assert_eq!(versions.at_least("django", &[4, 1]).0, Known::Yes, "the readable file still counts");
        let warnings: Vec<String> = versions.warnings().map(|w| w.describe()).collect();
        assert_eq!(warnings.len(), 1, "{warnings:?}");
        assert!(warnings[0].starts_with("requirements/prod.txt: requirements/prod.txt: too large (1073741824 bytes"));
    }

    #[test]
    fn reads_every_file_kind() {
        let dir = tempfile::tempdir().unwrap();
        let write = |path: &str, text: &str| {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, text).unwrap();
        };
        write("requirements.txt", "-r requirements/base.txt\ngunicorn==23.0.0  # web\n");
        write("requirements/base.txt", "Django[argon2]>=4.2,<5.0 ; python_version>'3.8'\ndj_database_url==0.5.0\n");
        write(
            "pyproject.toml",
            "[project]\ndependencies = [\"redis>=5\"]\n[tool.poetry.dependencies]\ndjango-redis = { version = \"^5.4\" }\n",
        );
        write("Pipfile", "[packages]\npsycopg2-binary = \"==2.9.9\"\n");
        let project = crate::project::Project::open(dir.path(), Config::default()).unwrap();
        let versions = read_versions(&project);
        assert_eq!(versions.at_least("Django", &[4, 1]).0, Known::Yes);
        assert!(versions.at_least("Django", &[4, 1]).1.contains("requirements/base.txt:1"));
        assert_eq!(versions.at_least("dj-database-url", &[1, 1, 0]).0, Known::No);
        assert_eq!(versions.get("gunicorn").unwrap().source, "requirements.txt:2");
        assert_eq!(versions.at_least("redis", &[5]).0, Known::Yes);
        assert_eq!(versions.at_least("django_redis", &[5, 4]).0, Known::Yes);
        assert_eq!(versions.get("psycopg").unwrap().spec, "==2.9.9");

        write("poetry.lock", "[[package]]\nname = \"django\"\nversion = \"3.2.25\"\n");
        let project = crate::project::Project::open(dir.path(), Config::default()).unwrap();
        let (known, why) = read_versions(&project).at_least("django", &[4, 1]);
        assert_eq!(known, Known::No, "{why}");
        assert!(why.contains("poetry.lock"), "{why}");

        std::fs::remove_file(dir.path().join("poetry.lock")).unwrap();
        write(
            "uv.lock",
            "version = 1\n[[package]]\nname = \"dj-database-url\"\nversion = \"2.3.0\"\nsource = { registry = \"https://pypi.org/simple\" }\n",
        );
        write("Pipfile.lock", "{\"default\": {\"django\": {\"version\": \"==4.0.10\"}}}");
        let project = crate::project::Project::open(dir.path(), Config::default()).unwrap();
        let versions = read_versions(&project);
        assert_eq!(versions.at_least("dj-database-url", &[1, 1, 0]).0, Known::Yes, "uv.lock wins over requirements");
        assert_eq!(versions.describe("django"), "django ==4.0.10 (Pipfile.lock)");
        assert!(versions.describe("celery").contains("no version found"));
    }
}
