//! `db-persistent-connections` (QW2): keep database connections open between requests.
//!
//! Django closes its connection at the end of every request unless `CONN_MAX_AGE` says otherwise,
//! so each request pays a new PostgreSQL connection (TCP, TLS, authentication, a backend process).
//! For every server database alias the patch makes sure of `CONN_MAX_AGE = 600` and, on Django
//! >= 4.1 (or when the version is unknown: older versions ignore the key), `CONN_HEALTH_CHECKS =
//! True`, so that a connection dropped by the server is replaced without failing the request.
//!
//! Where: the place that decides the value. A `DATABASES["default"]["CONN_MAX_AGE"] = ...` line
//! anywhere in the settings package, or a `for alias, db in DATABASES.items()` loop, wins over the
//! dict literal and is edited there (an env lookup keeps being one: only its default changes);
//! otherwise the dict literal gets the keys, `dj_database_url.config()/.parse()` gets keyword
//! arguments, and django-environ's `env.db()` gets assignments after it.
//!
//! Skipped, with the reason: SQLite, `OPTIONS["pool"]` (Django refuses both together), an app
//! served through ASGI (Django says to disable persistent connections there), gevent/eventlet
//! workers (greenlets would each hold a connection), and settings built in functions, classes,
//! `match` statements or loops that cannot be read statically. Already-persistent aliases
//! (`None` or > 0) are ok. After planning, the connection budget is checked (see [`crate::facts::budget`]).

use std::path::PathBuf;

use tree_sitter::Node;

use crate::engine::outcome::{Change, Location, Outcome};
use crate::engine::patch::{Patch, PatchInfo, RealTool};
use crate::facts::budget::Budget;
use crate::facts::django::databases::{
    HEALTH_KEY, MAX_AGE_KEY, Override, alias_blocker, find_opaque_changes, find_overrides, health_in_definition,
    pool_switch, replaced_later,
};
use crate::facts::django::production::Production;
use crate::facts::django::settings::{Definition, Settings, SettingsModule};
use crate::facts::serving::{self, ServerKind, Serving};
use crate::facts::versions::{Known, Versions};
use crate::lang::python::{self, Index, Literal, Lookup, PyFile, Scope};
use crate::project::Project;
use crate::text::edit::Edit;

const ID: &str = "db-persistent-connections";
/// Seconds a connection is kept: dj-database-url's README value, below common proxy idle timeouts.
const MAX_AGE: i64 = 600;
const VERIFY_SHELL: &str = "python manage.py shell -c \"from django.db import connection; connection.ensure_connection(); print(connection.settings_dict['CONN_MAX_AGE'], connection.settings_dict['CONN_HEALTH_CHECKS'])\"";

pub struct DbPersistentConnections;

/// What the catalog knows of this patch.
pub static INFO: PatchInfo = PatchInfo {
    id: ID,
    quick_win: "QW2",
    why_prefix: "QW2",
    title: "Persistent database connections: CONN_MAX_AGE = 600 and CONN_HEALTH_CHECKS",
    phase_1: true,
    verify: &["python manage.py check --deploy", VERIFY_SHELL],
    checked_by: RealTool::Django,
};

impl Patch for DbPersistentConnections {
    fn info(&self) -> &'static PatchInfo {
        &INFO
    }

    fn plan(&self, project: &Project) -> Vec<Outcome> {
        let settings = Settings::of(project);
        let planner = Planner::new(project, &settings);
        let mut outcomes = planner.plan();
        outcomes.extend(Versions::of(project).warnings().map(Outcome::from));
        outcomes
    }
}

/// Why an app must not keep connections, from the serving facts.
pub fn serving_blocker(serving: &Serving) -> Option<String> {
    let at = serving.location.as_ref().map(|l| format!(" ({l})")).unwrap_or_default();
    match serving.server {
        ServerKind::GunicornAsgi | ServerKind::Uvicorn | ServerKind::Daphne => Some(format!(
            "the app is served through ASGI{at}: Django says persistent connections should be disabled under ASGI \
             (use the database backend's pool instead)"
        )),
        _ if ["gevent", "eventlet"].iter().any(|w| serving.worker_class.contains(w)) => Some(format!(
            "gunicorn runs {} workers{at}: every greenlet would keep its own connection open",
            serving.worker_class
        )),
        _ => None,
    }
}

struct Planner<'s> {
    settings: &'s Settings,
    versions: std::sync::Arc<Versions>,
    /// Add CONN_HEALTH_CHECKS (Django >= 4.1 or unknown), and the sentence saying why.
    health: (bool, String),
    blocker: Option<String>,
    budget: Budget,
    overrides: Vec<Override<'s>>,
    /// Calls that change the keys in a way scalepatch does not edit
    /// (`DATABASES["default"].update(CONN_MAX_AGE=0)`), by alias (`None`: every alias).
    opaque_changes: Vec<(Option<String>, &'s SettingsModule, Location)>,
    /// Which settings module production loads: edits go only where it sees them.
    production: std::sync::Arc<Production>,
}

/// A planned answer for one target, before it becomes an outcome.
enum Answer {
    Edits { module: PathBuf, line: usize, edits: Vec<Edit>, summary: String, why: String, notes: Vec<String> },
    Done(Outcome),
}

impl Answer {
    /// Whether the answer is about a database server connection (an edit, or already fine): the
    /// connection budget matters then.
    fn sees_server(&self) -> bool {
        matches!(self, Answer::Edits { .. } | Answer::Done(Outcome::Ok { .. }))
    }
}

/// Aliases that share a splatted base dict (`{**BASE, "NAME": ...}`) fix it with the same edit:
/// it is kept once, and the later aliases say so.
fn once_each(answers: Vec<Answer>) -> Vec<Answer> {
    let mut made: Vec<(PathBuf, Edit)> = Vec::new();
    answers
        .into_iter()
        .map(|answer| match answer {
            Answer::Edits { module, line, edits, summary, why, notes } => {
                let fresh: Vec<Edit> =
                    edits.into_iter().filter(|e| !made.contains(&(module.clone(), e.clone()))).collect();
                made.extend(fresh.iter().map(|e| (module.clone(), e.clone())));
                if fresh.is_empty() {
                    Answer::Done(Outcome::ok(
                        Some(Location::new(module, line)),
                        format!("{summary} (the same edit as an alias above)"),
                    ))
                } else {
                    Answer::Edits { module, line, edits: fresh, summary, why, notes }
                }
            }
            done => done,
        })
        .collect()
}

impl<'s> Planner<'s> {
    fn new(project: &'s Project, settings: &'s Settings) -> Planner<'s> {
        let versions = Versions::of(project);
        let (known, sentence) = versions.at_least("django", &[4, 1]);
        let health = match known {
            Known::No => (false, format!("{sentence}: CONN_HEALTH_CHECKS needs Django >= 4.1, not added")),
            Known::Yes => (true, sentence),
            Known::Unknown => (true, format!("{sentence}; CONN_HEALTH_CHECKS is added (Django < 4.1 ignores it)")),
        };
        let overrides = find_overrides(settings);
        Planner {
            settings,
            versions,
            health,
            blocker: serving_blocker(&serving::serving(project)),
            budget: Budget::of(project),
            overrides,
            opaque_changes: find_opaque_changes(settings),
            production: Production::of(project),
        }
    }

    fn plan(&self) -> Vec<Outcome> {
        let mut outcomes: Vec<Outcome> = self.settings.errors.iter().cloned().map(Outcome::from).collect();
        let definitions = self.settings.assignments_to("DATABASES");
        let mut answers = Vec::new();
        for (definition, scope) in &definitions {
            answers.extend(self.definition_answers(definition, scope));
        }
        answers.extend(self.computed_by_functions());
        for index in 0..self.overrides.len() {
            if self.overrides[index].key == MAX_AGE_KEY {
                answers.push(self.override_answer(index, &definitions));
            }
        }
        let answers: Vec<Answer> = answers.into_iter().map(|answer| self.where_production_sees(answer)).collect();
        let server_seen = answers.iter().any(Answer::sees_server);
        outcomes.extend(once_each(answers).into_iter().map(|answer| self.outcome(answer)));
        if outcomes.is_empty() {
            outcomes.push(Outcome::not_found("no DATABASES setting in the project's settings modules"));
        }
        if server_seen && let Some(warning) = self.budget.warning() {
            outcomes.push(warning.into());
        }
        outcomes
    }

    /// A change or "ok" in a settings module production never loads would be a false success: it
    /// becomes a skip that names the module production loads. A change says which module that is.
    fn where_production_sees(&self, answer: Answer) -> Answer {
        let path = match &answer {
            Answer::Edits { module, .. } => module.clone(),
            Answer::Done(Outcome::Ok { location: Some(location), .. }) => location.path.clone(),
            Answer::Done(_) => return answer,
        };
        match (self.production.not_loaded(self.settings, &path), answer) {
            (Some(reason), Answer::Edits { line, .. }) => {
                Answer::Done(Outcome::skipped(Some(Location::new(path, line)), reason))
            }
            (Some(reason), Answer::Done(Outcome::Ok { location, .. })) => {
                Answer::Done(Outcome::skipped(location, reason))
            }
            (None, Answer::Edits { module, line, edits, summary, why, mut notes }) => {
                notes.push(self.production.describe());
                Answer::Edits { module, line, edits, summary, why, notes }
            }
            (_, answer) => answer,
        }
    }

    /// The answers for one assignment to DATABASES (or to a subscript of it).
    fn definition_answers(&self, definition: &Definition<'s>, scope: &Scope) -> Vec<Answer> {
        let text = &definition.file().source.text;
        let Some((_, indexes)) = python::subscript_path(definition.assignment.left, text) else { return Vec::new() };
        match scope {
            Scope::Opaque { what, line } => vec![Answer::Done(Outcome::skipped(
                Some(definition.location()),
                format!(
                    "DATABASES is built inside {what} (line {line}): it cannot be resolved statically; \
                     set CONN_MAX_AGE = {MAX_AGE} there by hand"
                ),
            ))],
            Scope::Loop { .. } => self.unread_loop(definition, &indexes).into_iter().collect(),
            Scope::Module => match indexes.as_slice() {
                [] => self.literal_answers(definition),
                [Index::Key(alias)] => vec![self.alias(definition, alias, definition.assignment.value)],
                _ => Vec::new(),
            },
        }
    }

    /// The skip for a loop that changes DATABASES in a way [`find_overrides`] does not read.
    fn unread_loop(&self, definition: &Definition<'s>, indexes: &[Index]) -> Option<Answer> {
        let statement = definition.assignment.statement;
        let conn_key = |i: &Index| matches!(i, Index::Key(k) if k == MAX_AGE_KEY || k == HEALTH_KEY);
        let touches = indexes.len() <= 1
            || indexes.iter().any(conn_key)
            || matches!(indexes.last(), Some(Index::Name(_) | Index::Other));
        (touches && !self.overrides.iter().any(|o| o.statement == statement)).then(|| {
            let message = "DATABASES is changed inside a loop that scalepatch does not read (only \
                           `for alias, db in DATABASES.items()` and `for alias in DATABASES` are read); \
                           check CONN_MAX_AGE there by hand";
            Answer::Done(Outcome::skipped(Some(definition.location()), message))
        })
    }

    /// `DATABASES = {...}`: an answer per alias, or why the literal cannot be read.
    fn literal_answers(&self, definition: &Definition<'s>) -> Vec<Answer> {
        let file = definition.file();
        let text = &file.source.text;
        let value = python::unparenthesized(definition.assignment.value);
        if value.kind() != "dictionary" || python::dict_has_splat(value) {
            return vec![Answer::Done(Outcome::skipped(
                Some(definition.location()),
                format!(
                    "DATABASES is computed (`{}`): it cannot be resolved statically; set CONN_MAX_AGE = {MAX_AGE} \
                     where it is built",
                    first_line(file.text(value))
                ),
            ))];
        }
        let mut answers = Vec::new();
        for pair in python::dict_pairs(value) {
            let key = python::unparenthesized(pair.key);
            let constant = || match key.kind() {
                "identifier" => self.settings.string_constant(definition.module, &text[key.byte_range()]),
                _ => None,
            };
            answers.push(match python::string_value(key, text).or_else(constant) {
                Some(alias) => self.alias(definition, &alias, pair.value),
                None => Answer::Done(Outcome::skipped(
                    Some(file.location(key)),
                    format!(
                        "DATABASES key `{}` is not a string literal or a string constant of the settings: its alias \
                         cannot be resolved statically; check CONN_MAX_AGE for it by hand",
                        first_line(file.text(key))
                    ),
                )),
            });
        }
        answers
    }

    /// Skips for DATABASES built by a function at run time.
    fn computed_by_functions(&self) -> Vec<Answer> {
        let functions = self.settings.functions_named("DATABASES").into_iter();
        functions
            .map(|(location, what)| {
                Answer::Done(Outcome::skipped(
                    Some(location),
                    format!(
                        "DATABASES is computed by the {what} at run time: it cannot be resolved statically; \
                         set CONN_MAX_AGE = {MAX_AGE} there by hand"
                    ),
                ))
            })
            .collect()
    }

    /// The outcome of an answer: a change carries the budget and the verify commands.
    fn outcome(&self, answer: Answer) -> Outcome {
        match answer {
            Answer::Done(outcome) => outcome,
            Answer::Edits { module, line, edits, summary, why, notes } => Outcome::Change(
                Change::modify(ID, module, edits)
                    .summary(summary)
                    .why(why)
                    .assumptions(notes)
                    .assume(self.budget.describe())
                    .verify("python manage.py check --deploy")
                    .verify(VERIFY_SHELL)
                    .at_line(line),
            ),
        }
    }

    /// The overrides of `key` that apply to `alias` in `module`'s package.
    fn override_of(&self, module: &SettingsModule, alias: &str, key: &str) -> Option<&Override<'s>> {
        self.overrides
            .iter()
            .find(|o| self.settings.sees(o.module, module) && o.key == key && o.alias.is_none_or(|a| a == alias))
    }

    /// The answer for one alias defined by `value` (a dict literal, a call...).
    fn alias(&self, definition: &Definition<'s>, alias: &str, value: Node<'s>) -> Answer {
        let file = definition.file();
        let value = python::unparenthesized(value);
        let skipped = |reason: String| {
            Answer::Done(Outcome::skipped(Some(file.location(value)), format!("DATABASES[{alias:?}]: {reason}")))
        };
        if let Some((_, _, place)) = self.opaque_changes.iter().find(|(a, module, _)| {
            a.as_deref().is_none_or(|a| a == alias) && self.settings.sees(module, definition.module)
        }) {
            return skipped(format!(
                "CONN_MAX_AGE / CONN_HEALTH_CHECKS are changed by a call at {place} that scalepatch does not edit; \
                 set CONN_MAX_AGE = {MAX_AGE} there by hand"
            ));
        }
        if let Some(reason) = pool_switch(self.settings, &self.production, definition.module, alias) {
            return skipped(reason);
        }
        let statement = definition.assignment.statement;
        if let Some(at) = replaced_later(self.settings, &self.production, definition.module, statement, alias) {
            return skipped(format!("replaced as a whole at {at} in the settings production loads, which decides it"));
        }
        let max_age_elsewhere = self.override_of(definition.module, alias, MAX_AGE_KEY).is_some();
        let reader = match value.kind() {
            "dictionary" => Reader::Dict,
            "call" => match reader_of(file, value) {
                Some(reader) => reader,
                None => {
                    return skipped(format!(
                        "built by `{}`: it cannot be resolved statically; set CONN_MAX_AGE = {MAX_AGE} where it is \
                         built",
                        first_line(file.text(value))
                    ));
                }
            },
            _ => {
                return skipped(format!(
                    "computed (`{}`): it cannot be resolved statically; set CONN_MAX_AGE = {MAX_AGE} where it is built",
                    first_line(file.text(value))
                ));
            }
        };
        let blocker = match &reader {
            Reader::Dict => dict_blocker(file, value),
            Reader::DatabaseUrl(function) => url_blocker(file, value, function),
            Reader::EnvironDb(_) => None,
        };
        if let Some(blocker) = blocker.or_else(|| self.blocker.clone()) {
            return skipped(blocker);
        }
        match reader {
            Reader::Dict => self.dict_alias(definition, alias, value, max_age_elsewhere),
            Reader::DatabaseUrl(function) => {
                self.dj_database_url(definition, alias, value, &function, max_age_elsewhere)
            }
            Reader::EnvironDb(function) => self.environ_db(definition, alias, &function, max_age_elsewhere),
        }
    }

    /// A dict literal alias: fix or insert the keys.
    fn dict_alias(&self, definition: &Definition<'s>, alias: &str, dict: Node<'s>, max_age_elsewhere: bool) -> Answer {
        let file = definition.file();
        let text = &file.source.text;
        let style = file.style().local(dict, text);
        let mut edits = Vec::new();
        let mut said = Vec::new();
        let mut missing = Vec::new();
        let elsewhere = |key: &str| self.override_of(definition.module, alias, key);

        if let Some(place) = elsewhere(MAX_AGE_KEY) {
            said.push(format!("CONN_MAX_AGE is decided at {}", place.module.file.location(place.statement)));
        } else {
            match python::dict_lookup(file, dict, MAX_AGE_KEY) {
                Lookup::Found(pair) => {
                    let via = match pair.node.parent() == Some(dict) {
                        true => String::new(),
                        false => format!(" (in the dict splatted from line {})", file.line(pair.node)),
                    };
                    match judge_max_age(file, pair.value) {
                        Judged::Fine(why) | Judged::Opaque(why) => said.push(format!("{why}{via}")),
                        Judged::Fix(edit, why) => {
                            edits.push(edit);
                            said.push(format!("{why}{via}"));
                        }
                    }
                }
                Lookup::Missing => {
                    missing.push(format!("{}: {MAX_AGE}", style.string(MAX_AGE_KEY)));
                    said.push(format!("CONN_MAX_AGE = {MAX_AGE} added"));
                }
                Lookup::Unknown(splat) => {
                    return self.unreadable_splat(file, alias, splat);
                }
            }
        }
        if self.health.0 && !max_age_elsewhere && elsewhere(HEALTH_KEY).is_none() {
            match python::dict_lookup(file, dict, HEALTH_KEY) {
                Lookup::Found(pair) => match python::literal(pair.value, text) {
                    Some(Literal::Bool(false)) => {
                        edits.push(Edit::replace(pair.value.byte_range(), "True"));
                        said.push("CONN_HEALTH_CHECKS False -> True".to_owned());
                    }
                    _ => said.push(format!("CONN_HEALTH_CHECKS already `{}`", file.text(pair.value))),
                },
                Lookup::Missing => {
                    missing.push(format!("{}: True", style.string(HEALTH_KEY)));
                    said.push("CONN_HEALTH_CHECKS = True added".to_owned());
                }
                Lookup::Unknown(splat) => {
                    return self.unreadable_splat(file, alias, splat);
                }
            }
        }
        edits.extend(python::insert_items(file, dict, &missing, &style));
        self.answer(definition, alias, file, dict, edits, said, Vec::new())
    }

    /// An alias dict that splats something unreadable (`**defaults()`): it may set the keys, and
    /// a key inserted after it would silently override that.
    fn unreadable_splat(&self, file: &PyFile, alias: &str, splat: Node) -> Answer {
        Answer::Done(Outcome::skipped(
            Some(file.location(splat)),
            format!(
                "DATABASES[{alias:?}]: `{}` may set CONN_MAX_AGE and cannot be read statically; set it there by hand",
                first_line(file.text(splat))
            ),
        ))
    }

    /// `dj_database_url.config(...)` / `.parse(...)`: keyword arguments inside the call.
    fn dj_database_url(
        &self,
        definition: &Definition<'s>,
        alias: &str,
        call: Node<'s>,
        function: &str,
        max_age_elsewhere: bool,
    ) -> Answer {
        let file = definition.file();
        let text = &file.source.text;
        let kwargs = python::kwargs(call, text);
        let kwarg = |name: &str| kwargs.iter().find(|(n, _)| n == name).map(|(_, k)| *k);
        let mut edits = Vec::new();
        let mut said = Vec::new();
        let mut notes = Vec::new();
        let mut missing = Vec::new();
        if let Some(place) = self.override_of(definition.module, alias, MAX_AGE_KEY) {
            said.push(format!("CONN_MAX_AGE is decided at {}", place.module.file.location(place.statement)));
        } else {
            match kwarg("conn_max_age") {
                Some(existing) => match judge_max_age(file, existing.value) {
                    Judged::Fine(why) | Judged::Opaque(why) => said.push(why),
                    Judged::Fix(edit, why) => {
                        edits.push(edit);
                        said.push(why);
                    }
                },
                None => {
                    missing.push(format!("conn_max_age={MAX_AGE}"));
                    said.push(format!("conn_max_age={MAX_AGE} added to {function}()"));
                }
            }
        }
        if self.health.0 && !max_age_elsewhere && self.override_of(definition.module, alias, HEALTH_KEY).is_none() {
            let (known, sentence) = self.versions.at_least("dj-database-url", &[1, 1, 0]);
            match (kwarg("conn_health_checks"), known) {
                (Some(existing), _) => said.push(format!("conn_health_checks already `{}`", file.text(existing.value))),
                (None, Known::Yes) => {
                    missing.push("conn_health_checks=True".to_owned());
                    said.push("conn_health_checks=True added".to_owned());
                    notes.push(sentence);
                }
                (None, _) => notes.push(format!(
                    "{sentence}: conn_health_checks (dj-database-url >= 1.1.0) not added, an older version raises TypeError"
                )),
            }
        }
        edits.extend(python::insert_items(file, call, &missing, &file.style().local(call, text)));
        self.answer(definition, alias, file, call, edits, said, notes)
    }

    /// django-environ's `env.db()`: it takes no conn_max_age, so assignments follow the statement.
    fn environ_db(&self, definition: &Definition<'s>, alias: &str, function: &str, max_age_elsewhere: bool) -> Answer {
        let file = definition.file();
        let style = file.style().local(definition.assignment.statement, &file.source.text);
        let mut lines = Vec::new();
        let mut said = Vec::new();
        let subscript = |key: &str| format!("DATABASES[{}][{}]", style.string(alias), style.string(key));
        if let Some(place) = self.override_of(definition.module, alias, MAX_AGE_KEY) {
            said.push(format!("CONN_MAX_AGE is decided at {}", place.module.file.location(place.statement)));
        } else {
            lines.push(format!("{} = {MAX_AGE}", subscript(MAX_AGE_KEY)));
            said.push(format!(
                "{function}() takes no conn_max_age: CONN_MAX_AGE = {MAX_AGE} is set right after DATABASES"
            ));
        }
        if self.health.0 && !max_age_elsewhere && self.override_of(definition.module, alias, HEALTH_KEY).is_none() {
            lines.push(format!("{} = True", subscript(HEALTH_KEY)));
            said.push("CONN_HEALTH_CHECKS = True set after it".to_owned());
        }
        let edits = if lines.is_empty() {
            Vec::new()
        } else {
            vec![python::insert_statements_after(file, definition.assignment.statement, &lines, &style)]
        };
        self.answer(definition, alias, file, definition.assignment.statement, edits, said, Vec::new())
    }

    /// An override statement for CONN_MAX_AGE (a subscript assignment or a loop): judge its value
    /// and add CONN_HEALTH_CHECKS next to it when nothing sets it.
    fn override_answer(&self, index: usize, definitions: &[(Definition<'s>, Scope)]) -> Answer {
        let place = self.overrides[index];
        let file = &place.module.file;
        let location = file.location(place.statement);
        let target =
            place.alias.map_or("DATABASES (every alias, in a loop)".to_owned(), |a| format!("DATABASES[{a:?}]"));
        if let Some(blocker) = &self.blocker {
            return Answer::Done(Outcome::skipped(Some(location), format!("{target}: {blocker}")));
        }
        if let Some(alias) = place.alias
            && let Some(reason) = alias_blocker(self.settings, definitions, place.module, alias)
                .or_else(|| pool_switch(self.settings, &self.production, place.module, alias))
        {
            return Answer::Done(Outcome::skipped(Some(location), format!("{target}: {reason}")));
        }
        let mut edits = Vec::new();
        let mut said = Vec::new();
        match judge_max_age(file, place.value) {
            Judged::Fine(why) | Judged::Opaque(why) => said.push(why),
            Judged::Fix(edit, why) => {
                edits.push(edit);
                said.push(why);
            }
        }
        let related =
            |o: &Override| self.settings.sees(o.module, place.module) || self.settings.sees(place.module, o.module);
        let health_set = self
            .overrides
            .iter()
            .any(|o| related(o) && o.key == HEALTH_KEY && (o.alias.is_none() || o.alias == place.alias))
            || place.alias.is_some_and(|alias| health_in_definition(self.settings, definitions, place.module, alias));
        if self.health.0 && !health_set {
            let style = file.style().local(place.statement, &file.source.text);
            let line = format!(
                "{}[{}] = True{}",
                place.target,
                style.string(HEALTH_KEY),
                python::noqa_of(file, place.statement)
            );
            edits.push(python::insert_statements_after(file, place.statement, &[line], &style));
            said.push("CONN_HEALTH_CHECKS = True set next to it".to_owned());
        }
        let why = format!(
            "{target}: this statement decides CONN_MAX_AGE (it runs after the DATABASES literal), so it is edited here \
             and no second, conflicting value is added. {}",
            said.join("; ")
        );
        if edits.is_empty() {
            return Answer::Done(Outcome::ok(Some(location), why));
        }
        Answer::Edits {
            module: file.source.path.clone(),
            line: location.line,
            edits,
            summary: format!("{target}: {}", said.join("; ")),
            why,
            notes: vec![self.health.1.clone()],
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn answer(
        &self,
        definition: &Definition<'s>,
        alias: &str,
        file: &PyFile,
        node: Node,
        edits: Vec<Edit>,
        said: Vec<String>,
        mut notes: Vec<String>,
    ) -> Answer {
        let location = file.location(node);
        let target = format!("DATABASES[{alias:?}]");
        if edits.is_empty() {
            let reason = said.into_iter().chain(notes).collect::<Vec<_>>().join("; ");
            return Answer::Done(Outcome::ok(Some(location), format!("{target}: {reason}")));
        }
        notes.insert(0, self.health.1.clone());
        Answer::Edits {
            module: definition.module.path().to_path_buf(),
            line: location.line,
            edits,
            summary: format!("{target}: {}", said.join("; ")),
            why: format!(
                "QW2: with CONN_MAX_AGE = 0 (Django's default) every request opens and closes its own database \
                 connection; {MAX_AGE} s keeps it for the next requests of the same thread, and CONN_HEALTH_CHECKS \
                 replaces one the server dropped. {target} is defined here ({}, {}) and nothing later in the \
                 settings package sets these keys.",
                definition.module.path().display(),
                definition.module.why,
            ),
            notes,
        }
    }
}

/// How an alias is defined, as far as this patch edits it.
enum Reader {
    /// A dict literal.
    Dict,
    /// `dj_database_url.config(...)` / `.parse(...)`, by its dotted name.
    DatabaseUrl(String),
    /// django-environ's `env.db()` / `env.db_url()`, by its dotted name.
    EnvironDb(String),
}

/// The reader of a call that defines an alias; `None` for a call this patch does not read.
fn reader_of(file: &PyFile, call: Node) -> Option<Reader> {
    let text = &file.source.text;
    let function = call.child_by_field_name("function").and_then(|f| python::dotted_name(f, text)).unwrap_or_default();
    let last = function.rsplit('.').next().unwrap_or("");
    if function.contains("database_url") && matches!(last, "config" | "parse") {
        Some(Reader::DatabaseUrl(function))
    } else if matches!(last, "db" | "db_url") && function.contains('.') {
        Some(Reader::EnvironDb(function))
    } else {
        None
    }
}

/// Why a dict literal alias is left alone: no ENGINE, SQLite, or Django's pool.
fn dict_blocker(file: &PyFile, dict: Node) -> Option<String> {
    let text = &file.source.text;
    let engine = match python::dict_lookup(file, dict, "ENGINE") {
        Lookup::Found(pair) => python::string_value(pair.value, text),
        Lookup::Missing => return Some("no ENGINE: not a database scalepatch can judge".to_owned()),
        Lookup::Unknown(_) => None,
    };
    if engine.as_deref().is_some_and(|e| e.contains("sqlite")) {
        return Some("SQLite: a local file, there is no server connection to keep".to_owned());
    }
    let Lookup::Found(options) = python::dict_lookup(file, dict, "OPTIONS") else { return None };
    let options = python::unparenthesized(options.value);
    (options.kind() == "dictionary" && !matches!(python::dict_lookup(file, options, "pool"), Lookup::Missing)).then(
        || {
            "OPTIONS[\"pool\"] is set: Django's connection pool refuses CONN_MAX_AGE (\"Pooling doesn't support \
             persistent connections.\")"
                .to_owned()
        },
    )
}

/// Why a `dj_database_url` call is left alone: a SQLite URL, or one that asks for Django's pool.
fn url_blocker(file: &PyFile, call: Node, function: &str) -> Option<String> {
    let text = &file.source.text;
    if function.rsplit('.').next() == Some("parse")
        && let Some(url) = python::positional_args(call).first()
        && python::string_value(*url, text).is_some_and(|u| u.starts_with("sqlite"))
    {
        return Some("SQLite: a local file, there is no server connection to keep".to_owned());
    }
    // `?pool=true` in the URL becomes OPTIONS["pool"] (dj-database-url 3.x).
    let mut urls = python::positional_args(call)
        .into_iter()
        .chain(python::kwargs(call, text).into_iter().filter(|(n, _)| n == "default").map(|(_, k)| k.value));
    urls.any(|url| python::string_value(url, text).is_some_and(|url| url.contains("pool="))).then(|| {
        "the URL asks for Django's pool (`pool=` becomes OPTIONS[\"pool\"]): Django refuses CONN_MAX_AGE with it \
         (\"Pooling doesn't support persistent connections.\")"
            .to_owned()
    })
}

/// What an existing CONN_MAX_AGE value means.
enum Judged {
    /// Already persistent (None, > 0, or an env lookup whose default is).
    Fine(String),
    /// 0 (or an env default of 0): this edit makes it 600.
    Fix(Edit, String),
    /// Computed in a way scalepatch does not read: left alone.
    Opaque(String),
}

fn judge_max_age(file: &PyFile, value: Node) -> Judged {
    let text = &file.source.text;
    let shown = first_line(file.text(value)).to_owned();
    // `"CONN_MAX_AGE": CONN_MAX_AGE` with `CONN_MAX_AGE = env.int(...)` earlier: judge (and edit)
    // the variable's value where it is assigned.
    if value.kind() == "identifier"
        && let Some(assignment) = python::module_value(file, &shown, value.start_byte())
    {
        let place = format!("`{shown}` (line {})", file.line(assignment.statement));
        return match judge_max_age(file, assignment.value) {
            Judged::Fine(why) => Judged::Fine(format!("{why}, via {place}")),
            Judged::Fix(edit, why) => Judged::Fix(edit, format!("{why}, in {place}")),
            Judged::Opaque(why) => Judged::Opaque(format!("{why}, via {place}")),
        };
    }
    match python::literal(value, text) {
        Some(Literal::None) => {
            return Judged::Fine("CONN_MAX_AGE is None (unlimited persistent connections)".to_owned());
        }
        Some(Literal::Int(n)) if n > 0 => return Judged::Fine(format!("CONN_MAX_AGE is already {n}")),
        Some(Literal::Int(0)) => {
            return Judged::Fix(
                Edit::replace(value.byte_range(), MAX_AGE.to_string()),
                format!("CONN_MAX_AGE 0 -> {MAX_AGE}"),
            );
        }
        _ => {}
    }
    // An env lookup (`env.int("CONN_MAX_AGE", default=0)`, `int(os.getenv("X", "0"))`): it stays
    // one, only a default of 0 changes.
    let call = match value.kind() {
        "call" => {
            let function = value.child_by_field_name("function").and_then(|f| python::dotted_name(f, text));
            if function.as_deref() == Some("int") {
                python::positional_args(value).first().copied().filter(|n| n.kind() == "call")
            } else {
                Some(value)
            }
        }
        _ => None,
    };
    if let Some(call) = call {
        let default = python::kwargs(call, text)
            .into_iter()
            .find(|(name, _)| name == "default")
            .map(|(_, k)| k.value)
            .or_else(|| python::positional_args(call).get(1).copied());
        let Some(default) = default else {
            return Judged::Fine(format!("CONN_MAX_AGE comes from the environment without a default (`{shown}`)"));
        };
        return match python::literal(default, text) {
            Some(Literal::Int(0)) => Judged::Fix(
                Edit::replace(default.byte_range(), MAX_AGE.to_string()),
                format!("the default of `{shown}` 0 -> {MAX_AGE} (the environment can still override it)"),
            ),
            Some(Literal::Str(s)) if s.trim() == "0" => {
                let quote = python::quote_of(default, text).unwrap_or('"');
                Judged::Fix(
                    Edit::replace(default.byte_range(), format!("{quote}{MAX_AGE}{quote}")),
                    format!("the default of `{shown}` \"0\" -> \"{MAX_AGE}\" (the environment can still override it)"),
                )
            }
            Some(_) => {
                Judged::Fine(format!("CONN_MAX_AGE comes from the environment with default `{}`", file.text(default)))
            }
            None => Judged::Opaque(format!("CONN_MAX_AGE is computed (`{shown}`); left alone")),
        };
    }
    Judged::Opaque(format!("CONN_MAX_AGE is `{shown}`, which scalepatch does not read; left alone"))
}

fn first_line(text: &str) -> &str {
    text.lines().next().unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn serving(server: ServerKind, worker_class: &str) -> Serving {
        Serving { server, location: None, workers: 3, threads: 1, worker_class: worker_class.to_owned() }
    }

    #[test]
    fn asgi_and_greenlets_block_persistent_connections() {
        assert!(serving_blocker(&serving(ServerKind::Uvicorn, "sync")).unwrap().contains("ASGI"));
        assert!(serving_blocker(&serving(ServerKind::GunicornAsgi, "uvicorn_worker.UvicornWorker")).is_some());
        assert!(serving_blocker(&serving(ServerKind::Gunicorn, "gevent")).unwrap().contains("gevent"));
        assert!(serving_blocker(&serving(ServerKind::Gunicorn, "gthread")).is_none());
        assert!(serving_blocker(&serving(ServerKind::Unknown, "sync")).is_none());
    }
}
