//! `redis-pool` (QW3): a Redis cache connection pool sized for the serving threads, and socket
//! timeouts so that a slow or unreachable Redis fails fast instead of hanging a worker.
//!
//! The keys depend on the backend, and mixing them breaks the cache:
//! - `django_redis.cache.RedisCache`: upper-case `OPTIONS` keys, the pool size nested in
//!   `CONNECTION_POOL_KWARGS` (`{"max_connections": M}`, merged into an existing dict), and
//!   `SOCKET_CONNECT_TIMEOUT` / `SOCKET_TIMEOUT` as numbers (django-redis refuses strings:
//!   "Socket timeout should be float or integer"); unknown keys are silently ignored there.
//! - Django's own `django.core.cache.backends.redis.RedisCache`: the OPTIONS go to redis-py's
//!   pool and connection constructors, so only lower-case redis-py keys (`max_connections`,
//!   `socket_connect_timeout`, `socket_timeout`); an upper-case key raises TypeError at first use.
//!
//! `M = max(50, 4 x threads per process)`: the pool is per process, and each thread may hold a
//! connection. Existing values are kept. OPTIONS held in a module variable are edited there; keys
//! set later (`OPTIONS.setdefault("CONNECTION_POOL_KWARGS", ...)`, `CACHES[...]["OPTIONS"][K] = ...`)
//! are left to that statement. Backends chosen at run time and caches built in functions are
//! skipped with the reason; a project without a Redis cache gets "not found" (caching itself is
//! Phase 2).

use tree_sitter::Node;

use crate::engine::outcome::{Change, Location, Outcome};
use crate::engine::patch::{Patch, PatchInfo, RealTool};
use crate::facts::django::cache_backends::{self, Kind, Package};
use crate::facts::django::key_writes::{self, KeyWrite, Via};
use crate::facts::django::production::Production;
use crate::facts::django::settings::{Definition, Settings};
use crate::facts::serving;
use crate::lang::python::{self, Index, Literal, Lookup, PyFile, Scope, Style};
use crate::project::Project;
use crate::text::edit::Edit;

const ID: &str = "redis-pool";
/// Seconds to connect and to wait for a reply: fail fast, well under gunicorn's 30 s timeout.
const TIMEOUT: i64 = 5;
const VERIFY_SHELL: &str =
    "python manage.py shell -c \"from django.core.cache import cache; cache.set('k', 1, 5); print(cache.get('k'))\"";

pub struct RedisPool;

/// What the catalog knows of this patch.
pub static INFO: PatchInfo = PatchInfo {
    id: ID,
    quick_win: "QW3",
    why_prefix: "QW3",
    title: "Redis cache connection pool size and socket timeouts",
    phase_1: true,
    verify: &[VERIFY_SHELL],
    checked_by: RealTool::Django,
};

impl Patch for RedisPool {
    fn info(&self) -> &'static PatchInfo {
        &INFO
    }

    fn plan(&self, project: &Project) -> Vec<Outcome> {
        let settings = Settings::of(project);
        let serving = serving::serving(project);
        let threads = serving.threads.max(1);
        let threads_source = match (&serving.server, &serving.location) {
            (serving::ServerKind::Gunicorn | serving::ServerKind::Unknown, _) | (_, None) => {
                "per gunicorn process after Phase 1 (from the gunicorn patches)".to_owned()
            }
            (server, Some(location)) => {
                format!("per {} process ({location}, not patched)", format!("{server:?}").to_lowercase())
            }
        };
        let versions = crate::facts::versions::Versions::of(project);
        let warnings: Vec<Outcome> = versions.warnings().map(Outcome::from).collect();
        let planner = Planner {
            project,
            settings: &settings,
            production: Production::of(project),
            versions,
            max_connections: pool_size(threads),
            threads,
            threads_source,
        };
        let mut outcomes = planner.plan();
        outcomes.extend(warnings);
        outcomes
    }
}

/// `max(50, 4 x threads)`: room for every thread of the process, and a floor for background use.
pub fn pool_size(threads: u32) -> i64 {
    50.max(4 * i64::from(threads))
}

/// Which key style a backend takes: its package (see [`cache_backends`]).
type Flavor = Package;

struct Planner<'s> {
    project: &'s Project,
    settings: &'s Settings,
    /// Which settings module production loads: changes go only where it sees them.
    production: std::sync::Arc<Production>,
    /// Stated in each change: which django-redis / redis-py the keys were chosen for.
    versions: std::sync::Arc<crate::facts::versions::Versions>,
    max_connections: i64,
    threads: u32,
    /// Which server the thread count comes from, for the assumption line.
    threads_source: String,
}

/// Keys of an alias's OPTIONS set by statements after the literal.
struct LaterKeys {
    keys: Vec<(String, String, Location)>,
}

impl LaterKeys {
    fn get(&self, alias: &str, key: &str) -> Option<&Location> {
        self.keys.iter().find(|(a, k, _)| (a == alias || a.is_empty()) && k == key).map(|(_, _, l)| l)
    }
}

impl<'s> Planner<'s> {
    fn plan(&self) -> Vec<Outcome> {
        let mut outcomes: Vec<Outcome> = self.settings.errors.iter().cloned().map(Outcome::from).collect();
        let later = self.later_keys();
        let mut other_backends = Vec::new();
        // Any skip says a cache is there that may be Redis: "not found" would be untrue.
        let mut redis_seen = false;
        for (location, what) in self.settings.functions_named("CACHES") {
            outcomes.push(Outcome::skipped(
                Some(location),
                format!("CACHES is computed by the {what} at run time: it cannot be resolved statically"),
            ));
            redis_seen = true;
        }
        for (definition, scope) in self.settings.assignments_to("CACHES") {
            let file = definition.file();
            let (aliases, skips) = self.aliases_of(&definition, &scope);
            redis_seen |= !skips.is_empty();
            outcomes.extend(skips);
            for (alias, value) in aliases {
                match self.alias(&definition, &alias, python::unparenthesized(value), &later) {
                    AliasAnswer::Outcomes(found) => {
                        redis_seen = true;
                        let not_loaded = self.production.not_loaded(self.settings, definition.module.path());
                        outcomes.extend(found.into_iter().map(|outcome| match (&not_loaded, outcome) {
                            (Some(reason), Outcome::Change(_)) | (Some(reason), Outcome::Ok { .. }) => {
                                Outcome::skipped(Some(file.location(value)), format!("CACHES[{alias:?}]: {reason}"))
                            }
                            (_, outcome) => outcome,
                        }));
                    }
                    AliasAnswer::NotRedis(backend) => {
                        other_backends.push((file.location(value), format!("CACHES[{alias:?}]: {backend}")))
                    }
                }
            }
        }
        if redis_seen {
            for (location, what) in other_backends {
                outcomes.push(Outcome::skipped(Some(location), format!("{what}: not a Redis cache")));
            }
        } else if outcomes.is_empty() {
            let seen: Vec<String> = other_backends.iter().map(|(l, w)| format!("{w} ({l})")).collect();
            outcomes.push(Outcome::not_found(if seen.is_empty() {
                "no CACHES setting in the project's settings modules (caching itself is Phase 2)".to_owned()
            } else {
                format!("no Redis cache in CACHES: {} (caching itself is Phase 2)", seen.join(", "))
            }));
        }
        outcomes
    }

    /// The caches one assignment to CACHES defines (alias and value), and the skips for what it
    /// defines in a way that cannot be read.
    fn aliases_of(&self, definition: &Definition<'s>, scope: &Scope) -> (Vec<(String, Node<'s>)>, Vec<Outcome>) {
        let file = definition.file();
        let text = &file.source.text;
        let Some((_, indexes)) = python::subscript_path(definition.assignment.left, text) else {
            return (Vec::new(), Vec::new());
        };
        let skip = |location: Location, reason: String| (Vec::new(), vec![Outcome::skipped(Some(location), reason)]);
        let opaque = match scope {
            Scope::Opaque { what, line } => Some((what.clone(), *line)),
            Scope::Loop { line } => Some(("a loop".to_owned(), *line)),
            Scope::Module => None,
        };
        if let Some((what, line)) = opaque {
            if indexes.len() > 1 {
                return (Vec::new(), Vec::new());
            }
            let reason = format!("CACHES is built inside {what} (line {line}): it cannot be resolved statically");
            return skip(definition.location(), reason);
        }
        let value = match indexes.as_slice() {
            [] => python::unparenthesized(definition.assignment.value),
            [Index::Key(alias)] => return (vec![(alias.clone(), definition.assignment.value)], Vec::new()),
            _ => return (Vec::new(), Vec::new()),
        };
        if value.kind() != "dictionary" {
            let shown = first_line(file.text(value));
            return skip(
                definition.location(),
                format!("CACHES is computed (`{shown}`): it cannot be resolved statically"),
            );
        }
        let (mut aliases, mut skips) = (Vec::new(), Vec::new());
        for pair in python::dict_pairs(value) {
            let key = python::unparenthesized(pair.key);
            let constant = || match key.kind() {
                "identifier" => self.settings.string_constant(definition.module, file.text(key)),
                _ => None,
            };
            match python::string_value(key, text).or_else(constant) {
                Some(alias) => aliases.push((alias, pair.value)),
                None => skips.push(Outcome::skipped(
                    Some(file.location(key)),
                    format!(
                        "CACHES key `{}` is not a string literal or a string constant of the settings: its cache \
                         cannot be resolved statically; check it by hand",
                        first_line(file.text(key))
                    ),
                )),
            }
        }
        (aliases, skips)
    }

    /// OPTIONS keys set after the literal: `CACHES["a"]["OPTIONS"]["K"] = v`,
    /// `CACHES["a"]["OPTIONS"].setdefault("K", v)` or `.update(...)`, `VAR.setdefault("K", v)` /
    /// `VAR["K"] = v` for a module variable used as OPTIONS (alias unknown: recorded for every alias).
    fn later_keys(&self) -> LaterKeys {
        let mut keys = Vec::new();
        for module in &self.settings.modules {
            let file = &module.file;
            let text = &file.source.text;
            let assigned = key_writes::assigned(file).into_iter().filter(|(_, scope)| *scope == Scope::Module);
            for write in assigned.map(|(write, _)| write).chain(key_writes::called(file)) {
                let Some(alias) = options_alias(&write, text) else { continue };
                for key in write.keys(text) {
                    keys.push((alias.clone(), key, file.location(write.node)));
                }
            }
        }
        LaterKeys { keys }
    }

    /// The answer for one cache defined by `value`: its change, why it needs none, or that it is
    /// not a Redis cache.
    fn alias(&self, definition: &Definition<'s>, alias: &str, value: Node<'s>, later: &LaterKeys) -> AliasAnswer {
        let file = definition.file();
        let target = format!("CACHES[{alias:?}]");
        let location = file.location(value);
        let skipped = |reason: String| {
            AliasAnswer::Outcomes(vec![Outcome::skipped(Some(location.clone()), format!("{target}: {reason}"))])
        };
        if value.kind() != "dictionary" {
            return skipped(format!("built by `{}`: it cannot be resolved statically", first_line(file.text(value))));
        }
        let (flavor, via) = match backend_of(self.project, file, value) {
            Backend::Redis(flavor, via) => (flavor, via),
            Backend::Other(backend) => return AliasAnswer::NotRedis(backend),
            Backend::Unread(reason) => return skipped(reason),
        };
        let (edit_file, edits, mut said) = match self.options_edits(definition, value, alias, later, flavor) {
            Ok(found) => found,
            Err(reason) => return skipped(reason),
        };
        said.splice(0..0, via.map(|via| format!("{} keys ({via})", flavor.name())));
        if edits.is_empty() {
            // Nothing is edited: "held in `x`" stays, ", edited there" would be untrue.
            let said: Vec<String> = said.iter().map(|s| s.replace(", edited there", "")).collect();
            return AliasAnswer::Outcomes(vec![Outcome::ok(Some(location), format!("{target}: {}", said.join("; ")))]);
        }
        let change = Change::modify(ID, edit_file.source.path.clone(), edits)
            .summary(format!("{target}: {}", said.join("; ")))
            .why(self.why(flavor))
            .assume(format!("{} thread(s) {}", self.threads, self.threads_source))
            .assume(match flavor {
                Flavor::DjangoRedis => self.versions.describe("django-redis"),
                Flavor::BuiltIn => self.versions.describe("redis"),
                Flavor::DjangoRedisCache => self.versions.describe("django-redis-cache"),
                Flavor::Valkey => self.versions.describe("django-valkey"),
            })
            .assume(self.production.describe())
            .verify(VERIFY_SHELL)
            .at_line(location.line);
        AliasAnswer::Outcomes(vec![Outcome::Change(change)])
    }

    /// Why the keys: the backend's key style, the pool size and the timeouts.
    fn why(&self, flavor: Flavor) -> String {
        format!(
            "QW3: the Redis cache ({}) gets a pool of {} connections per process (max(50, 4 x {} thread(s))) and \
             {TIMEOUT} s socket timeouts, so a slow Redis fails a request fast instead of hanging a worker. \
             Existing values are kept.",
            match flavor {
                Flavor::DjangoRedis | Flavor::Valkey => {
                    "django-redis (django-valkey is its fork): upper-case OPTIONS keys, pool size in CONNECTION_POOL_KWARGS"
                }
                Flavor::BuiltIn => "Django's RedisCache: lower-case redis-py keys, passed to the connection pool",
                Flavor::DjangoRedisCache => {
                    "django-redis-cache: upper-case OPTIONS keys, pool size in CONNECTION_POOL_CLASS_KWARGS"
                }
            },
            self.max_connections,
            self.threads,
        )
    }

    /// The edits of a Redis cache's OPTIONS (a new OPTIONS entry, or keys added to the dict that
    /// OPTIONS is), the file they go in, and what each key comes to; `Err` with why OPTIONS is
    /// left alone.
    fn options_edits(
        &self,
        definition: &Definition<'s>,
        value: Node<'s>,
        alias: &str,
        later: &LaterKeys,
        flavor: Flavor,
    ) -> Result<(&'s PyFile, Vec<Edit>, Vec<String>), String> {
        let file = definition.file();
        let wanted = self.wanted(flavor);
        let mut said = Vec::new();
        match python::dict_lookup(file, value, "OPTIONS") {
            Lookup::Unknown(splat) => {
                Err(format!("`{}` may set OPTIONS and cannot be read statically", file.text(splat)))
            }
            Lookup::Missing => {
                let missing: Vec<&Wanted> =
                    wanted.iter().filter(|w| !self.note_later(later, alias, w.key, &mut said)).collect();
                if missing.is_empty() {
                    return Ok((file, Vec::new(), said));
                }
                let style = file.style().local(value, &file.source.text);
                let entries: Vec<String> = missing.iter().map(|w| w.render(&style)).collect();
                said.extend(missing.iter().map(|w| format!("{} added", w.describe())));
                let item = format!("{}: {}", style.string("OPTIONS"), nested_dict(file, value, &entries, &style));
                Ok((file, python::insert_items(file, value, &[item], &style), said))
            }
            Lookup::Found(options) => {
                let (options_file, options_dict) = self.options_dict(definition, options.value)?;
                if options_file.source.path != file.source.path
                    || options_dict.start_byte() != options.value.start_byte()
                {
                    said.push(format!("OPTIONS are held in `{}`, edited there", options_file.text(options.value)));
                }
                let (edits, mut notes) = self.fill_options(options_file, options_dict, &wanted, alias, later, flavor);
                said.append(&mut notes);
                Ok((options_file, edits, said))
            }
        }
    }

    /// When `key` is set by a later statement, says so and returns true.
    fn note_later(&self, later: &LaterKeys, alias: &str, key: &str, said: &mut Vec<String>) -> bool {
        match later.get(alias, key) {
            Some(location) => {
                said.push(format!("{key} is set later ({location}), left to it"));
                true
            }
            None => false,
        }
    }

    /// The keys this backend should have.
    fn wanted(&self, flavor: Flavor) -> Vec<Wanted> {
        match flavor {
            Flavor::DjangoRedis | Flavor::Valkey | Flavor::DjangoRedisCache => vec![
                Wanted {
                    key: if flavor == Flavor::DjangoRedisCache {
                        "CONNECTION_POOL_CLASS_KWARGS"
                    } else {
                        "CONNECTION_POOL_KWARGS"
                    },
                    value: WantedValue::Pool(self.max_connections),
                },
                Wanted { key: "SOCKET_CONNECT_TIMEOUT", value: WantedValue::Number(TIMEOUT) },
                Wanted { key: "SOCKET_TIMEOUT", value: WantedValue::Number(TIMEOUT) },
            ],
            Flavor::BuiltIn => vec![
                Wanted { key: "max_connections", value: WantedValue::Number(self.max_connections) },
                Wanted { key: "socket_connect_timeout", value: WantedValue::Number(TIMEOUT) },
                Wanted { key: "socket_timeout", value: WantedValue::Number(TIMEOUT) },
            ],
        }
    }

    /// The dict literal OPTIONS is: the value itself, or the module variable it names.
    fn options_dict(&self, definition: &Definition<'s>, value: Node<'s>) -> Result<(&'s PyFile, Node<'s>), String> {
        let file = definition.file();
        let value = python::unparenthesized(value);
        match value.kind() {
            "dictionary" => Ok((file, value)),
            "identifier" => {
                let name = file.text(value);
                let assignment = python::module_value(file, name, definition.assignment.statement.start_byte())
                    .ok_or_else(|| format!("OPTIONS is `{name}`, which is not assigned earlier in this module"))?;
                let dict = python::unparenthesized(assignment.value);
                if dict.kind() == "dictionary" {
                    Ok((file, dict))
                } else {
                    Err(format!("OPTIONS is `{name}`, computed (`{}`)", first_line(file.text(dict))))
                }
            }
            _ => Err(format!(
                "OPTIONS is computed (`{}`): it cannot be resolved statically",
                first_line(file.text(value))
            )),
        }
    }

    /// The dict literal a `CONNECTION_POOL_KWARGS: name` entry refers to: the module-level
    /// `name = {...}` before it (bakerydemo-style `connection_pool_kwargs = {}` filled by `if` branches).
    /// `Err` with the reason to leave it alone: not a dict literal, or `max_connections` (or anything,
    /// through `.update()`/`.setdefault()`) set on the variable by a later statement.
    fn pool_kwargs_variable<'t>(file: &'t PyFile, name_node: Node<'t>) -> Result<Node<'t>, String> {
        let name = file.text(name_node);
        let text = &file.source.text;
        let assignment = python::module_value(file, name, name_node.start_byte()).ok_or_else(|| {
            format!("CONNECTION_POOL_KWARGS is `{name}`, not assigned earlier in this module: left alone")
        })?;
        let dict = python::unparenthesized(assignment.value);
        if dict.kind() != "dictionary" {
            return Err(format!(
                "CONNECTION_POOL_KWARGS is `{name}`, computed (`{}`): left alone",
                first_line(file.text(dict))
            ));
        }
        let is_name = |write: &KeyWrite| write.object.kind() == "identifier" && file.text(write.object) == name;
        if let Some(method) = key_writes::called(file).iter().filter(|w| is_name(w)).find_map(|w| w.via.method()) {
            return Err(format!("CONNECTION_POOL_KWARGS is `{name}`, changed by `{name}.{method}(...)`: left alone"));
        }
        let sets_size = key_writes::assigned(file)
            .iter()
            .any(|(write, _)| is_name(write) && write.keys(text).iter().any(|k| k == "max_connections"));
        if sets_size {
            return Err(format!(
                "CONNECTION_POOL_KWARGS is `{name}`, whose max_connections is set by a later statement"
            ));
        }
        Ok(dict)
    }

    /// Edits that add the missing keys to an OPTIONS dict literal, and what each key comes to.
    fn fill_options(
        &self,
        file: &PyFile,
        options: Node,
        wanted: &[Wanted],
        alias: &str,
        later: &LaterKeys,
        flavor: Flavor,
    ) -> (Vec<Edit>, Vec<String>) {
        let style = file.style().local(options, &file.source.text);
        let mut edits = Vec::new();
        let mut said = other_style_keys(file, options, flavor);
        let mut missing = Vec::new();
        for w in wanted {
            match python::dict_lookup(file, options, w.key) {
                Lookup::Found(pair) => {
                    let value = python::unparenthesized(pair.value);
                    edits.extend(self.existing_key(file, w, value, alias, later, flavor, &style, &mut said));
                }
                Lookup::Unknown(splat) => {
                    said.push(format!("{} may be set by `{}`, left alone", w.key, file.text(splat)))
                }
                Lookup::Missing if self.note_later(later, alias, w.key, &mut said) => {}
                Lookup::Missing => {
                    missing.push(w.render(&style));
                    said.push(format!("{} added", w.describe()));
                }
            }
        }
        edits.extend(python::insert_items(file, options, &missing, &style));
        (edits, said)
    }

    /// A wanted key OPTIONS already has: its value is kept (said so), except that the pool size is
    /// merged into an existing CONNECTION_POOL_KWARGS dict (or the variable holding it).
    #[allow(clippy::too_many_arguments)]
    fn existing_key<'t>(
        &self,
        file: &'t PyFile,
        w: &Wanted,
        mut value: Node<'t>,
        alias: &str,
        later: &LaterKeys,
        flavor: Flavor,
        style: &Style,
        said: &mut Vec<String>,
    ) -> Vec<Edit> {
        let text = &file.source.text;
        if matches!(w.value, WantedValue::Pool(_)) && value.kind() == "identifier" {
            match Self::pool_kwargs_variable(file, value) {
                Ok(dict) => {
                    said.push(format!("CONNECTION_POOL_KWARGS is held in `{}`, edited there", file.text(value)));
                    value = dict;
                }
                Err(reason) => {
                    said.push(reason);
                    return Vec::new();
                }
            }
        }
        match (&w.value, value) {
            (WantedValue::Pool(size), inner) if inner.kind() == "dictionary" => {
                match python::dict_lookup(file, inner, "max_connections") {
                    Lookup::Found(existing) => said.push(format!(
                        "CONNECTION_POOL_KWARGS max_connections already `{}`",
                        file.text(existing.value)
                    )),
                    Lookup::Unknown(splat) => {
                        said.push(format!("max_connections may be set by `{}`, left alone", file.text(splat)))
                    }
                    Lookup::Missing if later.get(alias, "max_connections").is_some() => {
                        said.push("max_connections is set later, left to it".to_owned())
                    }
                    Lookup::Missing => {
                        let inner_style = style.local(inner, text);
                        let item = format!("{}: {size}", inner_style.string("max_connections"));
                        said.push(format!("max_connections {size} merged into CONNECTION_POOL_KWARGS"));
                        return python::insert_items(file, inner, &[item], &inner_style);
                    }
                }
            }
            (WantedValue::Pool(_), other) => {
                said.push(format!("CONNECTION_POOL_KWARGS is `{}`, left alone", first_line(file.text(other))))
            }
            (WantedValue::Number(_), value) => {
                let shown = file.text(value);
                match python::literal(value, text) {
                    Some(Literal::Str(_)) if matches!(flavor, Flavor::DjangoRedis | Flavor::Valkey) => said.push(format!(
                        "{} is the string {shown}: django-redis raises \"Socket timeout should be float or integer\"; \
                         left for you to fix",
                        w.key
                    )),
                    _ => said.push(format!("{} already `{shown}`", w.key)),
                }
            }
        }
        Vec::new()
    }
}

/// Keys of the other backend's style are a bug already there: said, never added to the mix.
fn other_style_keys(file: &PyFile, options: Node, flavor: Flavor) -> Vec<String> {
    let text = &file.source.text;
    let mut said = Vec::new();
    for pair in python::dict_pairs(options) {
        let Some(key) = python::string_value(pair.key, text) else { continue };
        let upper = key.chars().any(|c| c.is_ascii_uppercase());
        match flavor {
            Flavor::BuiltIn if upper => said.push(format!(
                "`{key}` is a django-redis key: Django's RedisCache passes it to redis-py, which raises TypeError \
                 (unexpected keyword argument '{key}'); left for you to remove"
            )),
            Flavor::DjangoRedis | Flavor::Valkey if !upper && key == "max_connections" => said.push(
                "a top-level `max_connections` is ignored by django-redis (the pool size goes in \
                 CONNECTION_POOL_KWARGS)"
                    .to_owned(),
            ),
            Flavor::DjangoRedisCache if key == "MAX_CONNECTIONS" || key == "CONNECTION_POOL_KWARGS" => {
                said.push(format!(
                    "`{key}` is not read by django-redis-cache 3.x (the pool size goes in CONNECTION_POOL_CLASS_KWARGS)"
                ))
            }
            _ => {}
        }
    }
    said
}

/// A cache's BACKEND as this patch reads it.
enum Backend {
    /// A Redis cache of a package, and the project subclass chain when it is one.
    Redis(Flavor, Option<String>),
    /// Another backend (or Django's default), named for the summary.
    Other(String),
    /// Why the backend cannot be read.
    Unread(String),
}

/// The backend of a cache's dict literal, by package (a project subclass by its base class).
fn backend_of(project: &Project, file: &PyFile, dict: Node) -> Backend {
    let backend = match python::dict_lookup(file, dict, "BACKEND") {
        Lookup::Found(pair) => pair,
        Lookup::Missing => return Backend::Other("no BACKEND (Django's default LocMemCache)".to_owned()),
        Lookup::Unknown(splat) => {
            return Backend::Unread(format!("`{}` may set BACKEND and cannot be read statically", file.text(splat)));
        }
    };
    let Some(name) = python::string_value(backend.value, &file.source.text) else {
        return Backend::Unread(format!(
            "the backend is chosen at run time (`{}`): the OPTIONS keys differ between Redis cache packages, so none \
             is written",
            first_line(file.text(backend.value))
        ));
    };
    match cache_backends::kind(project, &name) {
        Kind::Redis(package, via) => Backend::Redis(package, via),
        Kind::LocMem | Kind::Other => Backend::Other(name),
        Kind::Unknown(why) => Backend::Unread(why),
    }
}

enum AliasAnswer {
    Outcomes(Vec<Outcome>),
    /// Not a Redis cache: the backend, for the summary.
    NotRedis(String),
}

/// A key an OPTIONS dict should have.
struct Wanted {
    key: &'static str,
    value: WantedValue,
}

enum WantedValue {
    Number(i64),
    /// `CONNECTION_POOL_KWARGS: {"max_connections": N}`.
    Pool(i64),
}

impl Wanted {
    fn render(&self, style: &Style) -> String {
        match self.value {
            WantedValue::Number(n) => format!("{}: {n}", style.string(self.key)),
            WantedValue::Pool(n) => format!("{}: {{{}: {n}}}", style.string(self.key), style.string("max_connections")),
        }
    }

    fn describe(&self) -> String {
        match self.value {
            WantedValue::Number(n) => format!("{} {n}", self.key),
            WantedValue::Pool(n) => format!("{} max_connections {n}", self.key),
        }
    }
}

/// The alias whose OPTIONS a key write sets: `CACHES["a"]["OPTIONS"]` is alias `a`; a module
/// variable (not CACHES or DATABASES) may be an OPTIONS dict of any alias: `""`, every alias.
fn options_alias(write: &KeyWrite, text: &str) -> Option<String> {
    match write.object_path(text) {
        Some((base, indexes)) if base == "CACHES" => match indexes.as_slice() {
            [Index::Key(alias), Index::Key(options)] if options == "OPTIONS" => Some(alias.clone()),
            _ => None,
        },
        Some((base, indexes)) if write.via == Via::Subscript => {
            (indexes.is_empty() && base != "DATABASES").then(String::new)
        }
        _ if write.via == Via::Subscript => None,
        _ => Some(String::new()),
    }
}

/// A new dict value for `entries`, written like its container: one entry per line (one level
/// deeper, with the container's trailing-comma habit) when the container is multi-line, else inline.
fn nested_dict(file: &PyFile, container: Node, entries: &[String], style: &Style) -> String {
    match python::element_indent(file, container) {
        Some(indent) => {
            let inner = format!("{indent}{}", style.indent_unit);
            let trailing = python::has_trailing_comma(container);
            let mut out = String::from("{");
            for (i, entry) in entries.iter().enumerate() {
                let comma = if i + 1 < entries.len() || trailing { "," } else { "" };
                out.push_str(&format!("{}{inner}{entry}{comma}", style.newline));
            }
            out.push_str(&format!("{}{indent}}}", style.newline));
            out
        }
        None => format!("{{{}}}", entries.join(", ")),
    }
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_size_follows_threads() {
        assert_eq!(pool_size(1), 50);
        assert_eq!(pool_size(4), 50);
        assert_eq!(pool_size(16), 64);
    }
}
