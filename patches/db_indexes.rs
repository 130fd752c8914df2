//! `db-indexes` (QW5, optional in Phase 1): index migrations for the filters and orderings the
//! code runs.
//!
//! Reads the models (models.py or a models/ package), mines the querysets across the project's
//! Python files, and proposes composite indexes (equality fields, then the order field with its
//! direction) that no ForeignKey, primary key, unique field, `db_index=True` or existing index's
//! leading columns already serve; at most 3 per model. Each app gets its model edit(s)
//! (`Meta.indexes`) and one migration depending on its current leaf, sharing one summary:
//! accept both halves or neither. `AddIndexConcurrently` (non-atomic) only when every configured
//! database, test settings included, is PostgreSQL and psycopg is required; else `AddIndex`.
//! More than one leaf migration is an error: the user merges first.

use rayon::prelude::*;

use crate::engine::outcome::{Change, ChangeKind, Location, Outcome};
use crate::engine::patch::{Patch, PatchInfo, RealTool};
use crate::facts::indexes::apps::App;
use crate::facts::indexes::migrations::{History, HistoryProblem, MARKER};
use crate::facts::indexes::models::ModelClass;
use crate::facts::indexes::names::Unresolved;
use crate::facts::indexes::queries::Query;
use crate::facts::indexes::render::{self, ModelIndexes, Namer, NewIndex};
use crate::facts::indexes::shapes::{self, Column, Existing, ModelFacts, Shape};
use crate::facts::indexes::{self, Analysis, Model, databases::Databases, migrations};
use crate::lang::python;
use crate::project::Project;

pub struct DbIndexes;

const ID: &str = "db-indexes";

/// What the catalog knows of this patch.
pub static INFO: PatchInfo = PatchInfo {
    id: ID,
    quick_win: "QW5",
    why_prefix: "QW5",
    title: "Index migrations for the filters and orderings the code runs",
    phase_1: false,
    verify: &["python manage.py makemigrations --check --dry-run", "python manage.py sqlmigrate <app> <migration>"],
    checked_by: RealTool::Migrations,
};

impl Patch for DbIndexes {
    fn info(&self) -> &'static PatchInfo {
        &INFO
    }

    fn plan(&self, project: &Project) -> Vec<Outcome> {
        let Some(mut analysis) = indexes::analyse(project) else {
            return vec![Outcome::not_found("no Django models (models.py or a models/ package) in the project")];
        };
        let mut outcomes: Vec<Outcome> =
            std::mem::take(&mut analysis.problems).into_iter().map(Outcome::from).collect();
        let databases = indexes::databases::read(project);
        // Naming is sequential: index names must be unique across the whole project.
        let mut namer = Namer::new(
            analysis
                .models
                .iter()
                .filter_map(|m| m.class.meta.as_ref())
                .flat_map(|meta| meta.indexes.iter().filter_map(|i| i.name.clone())),
        );
        let abstracts = indexes::Abstracts::of(&analysis.models);
        let context = Context { models: &analysis.models, abstracts: &abstracts, databases: &databases };
        for plan in decide_apps(project, &analysis) {
            outcomes.extend(plan_app(project, plan, &context, &mut namer));
        }
        outcomes
    }
}

/// A field with at most this many `choices` gets no index of its own: each value matches a large
/// share of the rows, so an index on it alone narrows little.
const MAX_FEW_CHOICES: usize = 4;

/// The most indexes proposed for one model in one run: each costs writes and disk.
const MAX_PER_MODEL: usize = 3;

/// The most columns of one proposed index: equality columns beyond the first few narrow the rows
/// little more, and every column makes each write and the index itself bigger.
const MAX_COLUMNS: usize = 3;

/// What every app's plan reads.
struct Context<'a> {
    models: &'a [Model],
    abstracts: &'a indexes::Abstracts<'a>,
    databases: &'a Databases,
}

/// One app's decisions, and its migration history when it needs a new migration.
struct AppPlan<'a> {
    app: &'a App,
    decisions: Vec<(usize, Decision)>,
    queried: usize,
    history: Option<Result<History, HistoryProblem>>,
}

/// Decides every app's indexes, and reads the histories of those that need a migration, in
/// parallel; apps whose models could not be read are left out.
fn decide_apps<'a>(project: &Project, analysis: &'a Analysis) -> Vec<AppPlan<'a>> {
    analysis
        .apps
        .par_iter()
        .enumerate()
        .filter(|(app_index, _)| !analysis.broken_apps.contains(app_index))
        .map(|(app_index, app)| {
            let mut decisions: Vec<(usize, Decision)> = Vec::new();
            let mut queried = 0;
            for &i in &analysis.by_app[app_index] {
                let model = &analysis.models[i];
                if !model.has_table() {
                    continue;
                }
                let queries: Vec<&Query> = analysis.queries[i].iter().collect();
                queried += queries.len();
                let mut decision = decide(&model.class.name, &analysis.facts[i], &queries);
                decision.notes.extend(not_this_model(&model.class.name, &analysis.unresolved));
                decisions.push((i, decision));
            }
            let history = decisions
                .iter()
                .any(|(_, d)| !d.proposals.is_empty())
                .then(|| analysis.migrations.history(project, app));
            AppPlan { app, decisions, queried, history }
        })
        .collect()
}

/// The outcomes for one app: its change pair, or why it needs none.
fn plan_app(project: &Project, plan: AppPlan, context: &Context, namer: &mut Namer) -> Vec<Outcome> {
    let AppPlan { app, mut decisions, queried, history } = plan;
    let history = match history {
        None => None,
        Some(Ok(history)) => Some(history),
        Some(Err(problem)) => return vec![history_problem(app, problem)],
    };
    if let Some(history) = &history {
        for (i, decision) in &mut decisions {
            cap(decision, &context.models[*i].class, history);
        }
    }
    let mut outcomes = left_out_skips(&decisions, context.models);
    let wanted: Vec<&(usize, Decision)> = decisions.iter().filter(|(_, d)| !d.proposals.is_empty()).collect();
    let Some(history) = history.filter(|_| !wanted.is_empty()) else {
        outcomes.push(nothing_wanted(app, &decisions, queried));
        return outcomes;
    };
    let edits = model_edits(project, &wanted, context, namer, &mut outcomes);
    if !edits.in_migration.is_empty() {
        outcomes.extend(app_changes(project, app, &history, edits, context.databases));
    }
    outcomes
}

/// Keeps at most [`MAX_PER_MODEL`] indexes per model from scalepatch, counting those it added in
/// earlier runs (named in a migration it wrote): the rest are left out, with the earlier ones
/// named, so a second run after `apply` finds nothing more to add.
fn cap(decision: &mut Decision, model: &ModelClass, history: &History) {
    let earlier: Vec<String> = model
        .meta
        .iter()
        .flat_map(|meta| &meta.indexes)
        .filter_map(|index| index.name.as_ref())
        .filter_map(|name| history.ours.get(name).map(|migration| format!("{name} ({migration})")))
        .collect();
    let room = MAX_PER_MODEL.saturating_sub(earlier.len());
    let left_out = decision.proposals.split_off(decision.proposals.len().min(room));
    decision.left_out = left_out;
    decision.earlier = earlier;
}

/// Why the queries on another model of the same name (another app's, or one the file does not
/// import) are not this model's.
fn not_this_model(model_name: &str, unresolved: &[Unresolved]) -> Vec<String> {
    unresolved
        .iter()
        .filter(|u| u.name == model_name)
        .map(|u| format!("{model_name}: the query at {} is not taken for this model: {}", u.location, u.why))
        .collect()
}

/// A skip for each model with more proposals than [`MAX_PER_MODEL`], naming the ones left.
fn left_out_skips(decisions: &[(usize, Decision)], models: &[Model]) -> Vec<Outcome> {
    let left_out = decisions.iter().filter(|(_, decision)| !decision.left_out.is_empty());
    left_out
        .map(|(i, decision)| {
            let model = &models[*i].class;
            let list: Vec<String> = decision.left_out.iter().map(|p| format!("({})", describe_columns(p))).collect();
            let earlier = if decision.earlier.is_empty() {
                String::new()
            } else {
                format!(
                    ", {} of them added by scalepatch before: {}",
                    decision.earlier.len(),
                    decision.earlier.join(", ")
                )
            };
            Outcome::skipped(
                Some(Location::new(&model.file, model.line)),
                format!(
                    "{}: at most {MAX_PER_MODEL} indexes per model from scalepatch{earlier} (each costs every write; \
                     measure before adding more); not proposed: {}",
                    model.name,
                    list.join(", ")
                ),
            )
        })
        .collect()
}

/// Why an app whose models want no index needs nothing.
fn nothing_wanted(app: &App, decisions: &[(usize, Decision)], queried: usize) -> Outcome {
    let notes: Vec<&str> = decisions.iter().flat_map(|(_, d)| &d.notes).map(String::as_str).collect();
    let reason = match (queried, notes.is_empty()) {
        (0, true) => format!("{}: no queries on its models found in the project", app.label),
        (0, false) => format!("{}: no queries on its models found in the project; {}", app.label, notes.join("; ")),
        (_, true) => format!("{}: its queries need no index", app.label),
        (_, false) => format!("{}: every query is served: {}", app.label, notes.join("; ")),
    };
    Outcome::ok(Some(Location::file(&app.model_files[0])), reason)
}

/// Why no migration can be added to the app, as its outcome.
fn history_problem(app: &App, problem: HistoryProblem) -> Outcome {
    match problem {
        HistoryProblem::Error(problem) => (*problem).into(),
        HistoryProblem::NoMigrations(dir) => Outcome::skipped(
            Some(Location::file(dir)),
            format!("{}: the app has no migrations yet; `makemigrations` writes its first one", app.label),
        ),
        HistoryProblem::Disabled(location) => {
            Outcome::skipped(Some(location), format!("{}: MIGRATION_MODULES disables its migrations", app.label))
        }
    }
}

/// The model halves of an app's change: the `Meta.indexes` edits (one change per file), the
/// indexes the migration adds, and the why of each index.
#[derive(Default)]
struct ModelEdits {
    changes: Vec<Change>,
    in_migration: Vec<ModelIndexes>,
    reasons: Vec<String>,
    /// Per model: the existing indexes the proposals were compared with.
    compared: Vec<String>,
    /// Why the other queries of these models need nothing (covered, low cardinality, ...).
    notes: Vec<String>,
    /// The first query served, named in the migration's header.
    first_site: Option<Location>,
}

/// Names the wanted indexes and edits their models; a model that cannot be edited is skipped
/// (its indexes left to the user), an unreadable file is an input error.
fn model_edits(
    project: &Project,
    wanted: &[&(usize, Decision)],
    context: &Context,
    namer: &mut Namer,
    outcomes: &mut Vec<Outcome>,
) -> ModelEdits {
    let (models, mut edits) = (context.models, ModelEdits::default());
    for (i, decision) in wanted {
        let model = &models[*i].class;
        let new: Vec<NewIndex> = decision
            .proposals
            .iter()
            .map(|proposal| NewIndex {
                name: namer.name(&model.name, &proposal.columns),
                columns: proposal.columns.clone(),
            })
            .collect();
        // The tree the analysis parsed (the parse cache answers by the text's hash).
        let parsed = match project.read(&model.file) {
            Ok(source) => python::parse(source).map_err(Outcome::from),
            Err(err) => Err(err.into()),
        };
        let parsed = match parsed {
            Ok(parsed) => parsed,
            Err(outcome) => {
                outcomes.push(outcome);
                continue;
            }
        };
        let inherited =
            if model.meta.is_none() { indexes::inherited_meta(models, context.abstracts, *i) } else { None };
        let meta_edits = match render::meta_edits(&parsed, model, inherited, &new) {
            Ok(meta_edits) => meta_edits,
            Err(why) => {
                outcomes.push(Outcome::skipped(
                    Some(Location::new(&model.file, model.line)),
                    format!("{}: {why}; add the index by hand", model.name),
                ));
                continue;
            }
        };
        for (index, proposal) in new.iter().zip(&decision.proposals) {
            edits.first_site.get_or_insert_with(|| proposal.sites[0].clone());
            edits.reasons.push(index_reason(&index.name, &model.name, proposal));
        }
        edits.compared.push(compared(&model.name, &decision.existing));
        edits.notes.extend(decision.notes.iter().cloned());
        // One change per file: models of one file share it (their edits never overlap).
        match edits.changes.iter_mut().find(|c| c.path == model.file) {
            Some(Change { kind: ChangeKind::Modify { edits: earlier }, .. }) => earlier.extend(meta_edits),
            _ => edits.changes.push(Change::modify(ID, &model.file, meta_edits).at_line(model.line)),
        }
        edits.in_migration.push(ModelIndexes { model_name: model.name.to_lowercase(), indexes: new });
    }
    edits
}

/// "msg_conv_created_idx on Message(conversation, -created_at) serves the query ... at views.py:12".
fn index_reason(name: &str, model: &str, proposal: &Proposal) -> String {
    let sites: Vec<String> = proposal.sites.iter().map(|s| s.to_string()).collect();
    let trimmed =
        if proposal.trimmed.is_empty() { String::new() } else { format!(" ({})", proposal.trimmed.join("; ")) };
    format!(
        "{name} on {model}({}) serves the {} at {}{trimmed}",
        describe_columns(proposal),
        shape_words(proposal),
        sites.join(", ")
    )
}

/// The app's changes: its model edits and the new migration, reviewed as one unit.
fn app_changes(
    project: &Project,
    app: &App,
    history: &History,
    edits: ModelEdits,
    databases: &Databases,
) -> Vec<Outcome> {
    let ModelEdits { changes, in_migration, reasons, compared, notes, first_site } = edits;
    let migration_name = migration_name(app, history, &in_migration);
    let leaf_quote = project
        .read(&history.dir.join(format!("{}.py", history.leaf)))
        .map(|s| render::quote_of(&s.text))
        .unwrap_or('"');
    let header = format!("{MARKER} for the queries at {}.", first_site.map(|s| s.to_string()).unwrap_or_default());
    let contents = render::migration(&app.label, &history.leaf, &in_migration, databases.build(), leaf_quote, &header);
    let count: usize = in_migration.iter().map(|m| m.indexes.len()).sum();
    let listed: Vec<String> = in_migration
        .iter()
        .flat_map(|m| m.indexes.iter().map(move |i| format!("{} on {}", i.name, m.model_name)))
        .collect();
    let summary = format!(
        "{}: add {} ({}) in Meta.indexes and migration {migration_name}",
        app.label,
        if count == 1 { "1 index".to_owned() } else { format!("{count} indexes") },
        listed.join(", ")
    );
    let not_proposed = if notes.is_empty() { String::new() } else { format!(" Not proposed: {}.", notes.join("; ")) };
    let why = format!(
        "QW5 index migrations: {}. Compared with the existing indexes: {}; none has these leading columns.{not_proposed} \
         The model's Meta.indexes and the migration carry the same explicit names, so makemigrations sees them \
         agree; the migration depends on the current leaf {}. The review offers the model edit and the migration \
         as one change.",
        reasons.join("; "),
        compared.join("; "),
        history.leaf
    );
    let verify = [
        "python manage.py makemigrations --check --dry-run".to_owned(),
        format!("python manage.py sqlmigrate {} {migration_name}", app.label),
    ];
    let finish = |change: Change| {
        let change = change
            .summary(summary.clone())
            .why(why.clone())
            .assume(databases.explain())
            .together(format!("indexes of app {}", app.label));
        Outcome::Change(verify.iter().fold(change, |c, v| c.verify(v.clone())))
    };
    let migration = Change::create(ID, history.dir.join(format!("{migration_name}.py")), contents);
    changes.into_iter().chain([migration]).map(finish).collect()
}

/// `0004_add_msg_conv_created_idx`: the next number after the leaf, named for what it adds, and
/// never the name of a migration on disk.
fn migration_name(app: &App, history: &History, in_migration: &[ModelIndexes]) -> String {
    let number = migrations::next_number(&history.leaf);
    let description = match in_migration {
        [only] if only.indexes.len() == 1 => format!("add_{}", only.indexes[0].name),
        [only] => format!("add_{}_indexes", only.model_name),
        _ => format!("add_{}_indexes", app.label.to_lowercase()),
    };
    let mut name = format!("{number:04}_{description}");
    let mut n = 2;
    while history.names.contains(&name) {
        name = format!("{number:04}_{description}_{n}");
        n += 1;
    }
    name
}

/// "Order: the primary key `id`, the ForeignKey `item` (Django indexes it)", for the why.
fn compared(model: &str, existing: &[Existing]) -> String {
    if existing.is_empty() {
        return format!("{model}: none");
    }
    let each: Vec<String> = existing.iter().map(|e| e.what.clone()).collect();
    format!("{model}: {}", each.join(", "))
}

fn describe_columns(proposal: &Proposal) -> String {
    proposal.columns.iter().map(|c| c.spelled()).collect::<Vec<_>>().join(", ")
}

/// "query filtering on conversation and ordered by -created_at", for the why.
fn shape_words(proposal: &Proposal) -> String {
    let (eq, rest) = proposal.columns.split_at(proposal.equalities);
    let eq: Vec<&str> = eq.iter().map(|c| c.field.as_str()).collect();
    let rest: Vec<String> = rest.iter().map(|c| c.spelled()).collect();
    let plural = if proposal.sites.len() > 1 { "queries" } else { "query" };
    match (eq.is_empty(), rest.is_empty()) {
        (false, false) => format!(
            "{plural} filtering on {} and reading in {} order (or a range of it)",
            eq.join(", "),
            rest.join(", ")
        ),
        (false, true) => format!("{plural} filtering on {}", eq.join(", ")),
        (true, _) => format!("{plural} ordering or ranging on {}", rest.join(", ")),
    }
}

/// A proposed index and the queries that motivate it.
#[derive(Debug, Clone)]
struct Proposal {
    columns: Vec<Column>,
    /// How many leading columns are equality lookups (their order does not matter).
    equalities: usize,
    sites: Vec<Location>,
    /// Columns its queries filter on that the index leaves out, each with why (for the change's why).
    trimmed: Vec<String>,
}

/// Everything decided for one model.
#[derive(Debug, Default)]
struct Decision {
    proposals: Vec<Proposal>,
    /// Proposals beyond [`MAX_PER_MODEL`] (counting the indexes scalepatch added before).
    left_out: Vec<Proposal>,
    /// Indexes of this model that scalepatch added in earlier runs, with their migration.
    earlier: Vec<String>,
    /// The model's existing indexes, which every proposal was compared with.
    existing: Vec<Existing>,
    /// Why the other queries need nothing (covered, through a relation, ...), one line each.
    notes: Vec<String>,
}

/// Decides the indexes of one model from its queries: at most [`MAX_PER_MODEL`], the most used
/// first; nothing for a query an index already serves.
fn decide(model_name: &str, facts: &ModelFacts, queries: &[&Query]) -> Decision {
    let mut notes = Vec::new();
    let existing = facts.indexes();
    let mut candidates: Vec<Proposal> = Vec::new();
    for query in queries {
        let shape = shapes::shape(facts, query);
        let at = &query.location;
        note_unservable(model_name, &shape, at, &mut notes);
        let Some(candidate) = index_for(model_name, facts, &shape, at, &mut notes) else { continue };
        let described = candidate.columns.iter().map(Column::spelled).collect::<Vec<_>>().join(", ");
        if let Some(unique) = shape.equalities.iter().filter_map(|f| facts.field(f)).find(|f| f.unique) {
            notes.push(format!(
                "{model_name}: ({described}) at {at}: `{}` is unique, at most one row matches",
                unique.name
            ));
            continue;
        }
        if let Some(unique) = existing.iter().find(|index| {
            index.unique && index.columns.len() > 1 && index.columns.iter().all(|c| shape.equalities.contains(&c.field))
        }) {
            notes.push(format!(
                "{model_name}: ({described}) at {at}: at most one row matches, {} is unique and already indexes it",
                unique.what
            ));
            continue;
        }
        if let Some(index) =
            existing.iter().find(|index| shapes::serves(&index.columns, &candidate.columns, candidate.equalities))
        {
            notes.push(format!("{model_name}: ({described}) at {at} is already covered by {}", index.what));
            continue;
        }
        match candidates.iter_mut().find(|c| c.columns == candidate.columns && c.equalities == candidate.equalities) {
            Some(earlier) => {
                earlier.sites.push(at.clone());
                add_trimmed(&mut earlier.trimmed, candidate.trimmed);
            }
            None => candidates.push(candidate),
        }
    }
    let proposals = merge(candidates);
    Decision { proposals, left_out: Vec::new(), earlier: Vec::new(), existing, notes }
}

/// Notes the lookups of a query that no index on this table serves: unsuitable columns, ORs,
/// lookups through a relation.
fn note_unservable(model_name: &str, shape: &Shape, at: &Location, notes: &mut Vec<String>) {
    for key in &shape.unsuitable {
        notes.push(format!(
            "{model_name}: `{key}` at {at} is on a text, JSON, binary or array column: a B-tree index does not suit it"
        ));
    }
    if !shape.any_of.is_empty() {
        notes.push(format!(
            "{model_name}: `{}` at {at} is an OR: no composite index serves it (each branch is served by an index \
             of its own, or by none)",
            shape.any_of.join("` | `")
        ));
    }
    for key in &shape.through {
        notes.push(format!(
            "{model_name}: `{key}` at {at} is a lookup through a relation: an index on this table would not serve it"
        ));
    }
}

/// The index a query's shape asks for (equality columns, then its order or range column), trimmed
/// to what is worth indexing; `None` when nothing on this table is worth it.
fn index_for(
    model_name: &str,
    facts: &ModelFacts,
    shape: &Shape,
    at: &Location,
    notes: &mut Vec<String>,
) -> Option<Proposal> {
    let order = if shape.needs_order { shape.order.clone().unwrap_or_default() } else { Vec::new() };
    let mut tail: Vec<Column> = order.into_iter().filter(|c| !shape.equalities.contains(&c.field)).collect();
    if tail.is_empty()
        && let Some(range) = &shape.range
        && !shape.equalities.contains(range)
    {
        tail.push(Column { field: range.clone(), desc: false });
    }
    let mut equalities: Vec<&String> = shape.equalities.iter().collect();
    if tail.is_empty() {
        equalities = without_booleans(model_name, facts, equalities, at, notes);
    }
    if equalities.is_empty() && !shape.through.is_empty() {
        // The rows come from the join; sorting them needs no index on this table.
        return None;
    }
    let mut trimmed = Vec::new();
    if equalities.len() + tail.len() > 1 {
        let (wide, narrow): (Vec<&String>, Vec<&String>) =
            equalities.iter().partition(|f| facts.field(f).is_some_and(|f| f.wide));
        for field in wide {
            trimmed.push(format!(
                "`{field}` is left out: a CharField over 255 characters makes a composite index too wide"
            ));
        }
        equalities = narrow;
    }
    // Equalities first, but an order column (when there is one) keeps its place: it saves the sort.
    let keep = equalities.len().min(if tail.is_empty() { MAX_COLUMNS } else { MAX_COLUMNS - 1 });
    if keep < equalities.len() {
        let dropped: Vec<&str> = equalities[keep..].iter().map(|s| s.as_str()).collect();
        trimmed.push(format!(
            "`{}` left out: at most {MAX_COLUMNS} columns per index (equality columns beyond that add little and \
             cost every write)",
            dropped.join("`, `")
        ));
        equalities.truncate(keep);
    }
    tail.truncate(MAX_COLUMNS - keep);
    let mut columns: Vec<Column> = equalities.iter().map(|f| Column { field: (*f).clone(), desc: false }).collect();
    let equalities = columns.len();
    columns.extend(tail);
    if let ([only], 1) = (columns.as_slice(), equalities)
        && let Some(values) = facts.field(&only.field).and_then(|f| f.choices).filter(|&n| n <= MAX_FEW_CHOICES)
    {
        notes.push(format!(
            "{model_name}: `{}` at {at} is queried alone and has {values} choices: an index on so few values \
             narrows little (the planner would scan the table anyway) and costs every write",
            only.field
        ));
        return None;
    }
    (!columns.is_empty()).then(|| Proposal { columns, equalities, sites: vec![at.clone()], trimmed })
}

/// A boolean narrows little on its own or at the end of an index (in front of an order column it
/// lets the index hand rows over already sorted, so it stays there): dropped, with a note.
fn without_booleans<'f>(
    model_name: &str,
    facts: &ModelFacts,
    equalities: Vec<&'f String>,
    at: &Location,
    notes: &mut Vec<String>,
) -> Vec<&'f String> {
    let (booleans, others): (Vec<&String>, Vec<&String>) =
        equalities.into_iter().partition(|f| facts.field(f).is_some_and(|f| f.boolean));
    if !booleans.is_empty() {
        let names: Vec<&str> = booleans.iter().map(|s| s.as_str()).collect();
        notes.push(format!(
            "{model_name}: `{}` at {at} is a boolean: too few values to be worth an index column here (a partial \
             index is a Phase 2 decision)",
            names.join("`, `")
        ));
    }
    others
}

/// Folds a candidate served by the leading columns of a wider one into it; the most used first.
fn merge(mut candidates: Vec<Proposal>) -> Vec<Proposal> {
    let mut merged: Vec<Proposal> = Vec::new();
    candidates.sort_by_key(|c| std::cmp::Reverse(c.columns.len()));
    for candidate in candidates {
        match merged.iter_mut().find(|wider| shapes::serves(&wider.columns, &candidate.columns, candidate.equalities)) {
            Some(wider) => {
                wider.sites.extend(candidate.sites);
                add_trimmed(&mut wider.trimmed, candidate.trimmed);
            }
            None => merged.push(candidate),
        }
    }
    for proposal in &mut merged {
        proposal.sites.sort();
        proposal.sites.dedup();
    }
    merged.sort_by(|a, b| b.sites.len().cmp(&a.sites.len()).then_with(|| a.sites[0].cmp(&b.sites[0])));
    merged
}

fn add_trimmed(into: &mut Vec<String>, more: Vec<String>) {
    for line in more {
        if !into.contains(&line) {
            into.push(line);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::indexes::models::{Field, FieldKind};
    use crate::facts::indexes::queries::Step;

    fn field(name: &str, kind: FieldKind, indexed: bool) -> Field {
        Field {
            name: name.into(),
            kind,
            indexed,
            unique: false,
            primary: false,
            boolean: false,
            wide: false,
            choices: None,
        }
    }

    fn facts() -> ModelFacts {
        ModelFacts {
            fields: vec![
                Field::implicit_id(),
                field("conversation", FieldKind::Relation, true),
                field("participants", FieldKind::NoColumn, false),
                field("status", FieldKind::Plain, false),
                field("created_at", FieldKind::Plain, false),
            ],
            ordering: Some(vec!["-created_at".into()]),
            get_latest_by: None,
            existing: vec![],
        }
    }

    fn query(line: usize, steps: &[(&str, &[&str], &[&str])]) -> Query {
        Query {
            model: 0,
            location: Location::new("chat/views.py", line),
            steps: steps
                .iter()
                .map(|(m, k, s)| Step {
                    method: m.to_string(),
                    keys: k.iter().map(|x| x.to_string()).collect(),
                    strings: s.iter().map(|x| x.to_string()).collect(),
                    any_of: Vec::new(),
                })
                .collect(),
        }
    }

    fn spelled(p: &Proposal) -> Vec<String> {
        p.columns.iter().map(Column::spelled).collect()
    }

    #[test]
    fn composite_from_filter_and_order() {
        let q1 = query(3, &[("filter", &["conversation_id"], &[]), ("order_by", &[], &["-created_at"])]);
        let q2 = query(9, &[("filter", &["conversation"], &[])]); // Meta.ordering applies
        let q3 = query(12, &[("filter", &["conversation"], &[]), ("count", &[], &[])]); // FK alone: indexed
        let q4 = query(15, &[("filter", &["conversation__participants"], &[])]);
        let q5 = query(20, &[("filter", &["created_at__gte"], &[]), ("count", &[], &[])]);
        let d = decide("Message", &facts(), &[&q1, &q2, &q3, &q4, &q5]);
        let shown: Vec<Vec<String>> = d.proposals.iter().map(spelled).collect();
        assert_eq!(shown, [vec!["conversation", "-created_at"], vec!["created_at"]]);
        assert_eq!(d.proposals[0].sites.len(), 2);
        assert!(d.notes.iter().any(|n| n.contains("through a relation")), "{:?}", d.notes);
        let covered = "(conversation) at chat/views.py:12 is already covered by the ForeignKey `conversation`";
        assert!(d.notes.iter().any(|n| n.contains(covered)), "{:?}", d.notes);
    }

    #[test]
    fn an_or_makes_no_composite_and_says_so() {
        let mut or = query(3, &[("filter", &[], &[]), ("order_by", &[], &["-created_at"])]);
        or.steps[0].any_of = vec!["status".into(), "conversation".into()];
        let d = decide("Message", &facts(), &[&or]);
        assert_eq!(d.proposals.iter().map(spelled).collect::<Vec<_>>(), [vec!["-created_at"]]);
        let or_alone = query(5, &[("filter", &[], &[]), ("count", &[], &[])]);
        let mut or_alone = or_alone;
        or_alone.steps[0].any_of = vec!["status".into(), "created_at".into()];
        let d = decide("Message", &facts(), &[&or_alone]);
        assert!(d.proposals.is_empty(), "{:?}", d.proposals);
        assert!(
            d.notes.iter().any(|n| n.contains("`status` | `created_at` at chat/views.py:5 is an OR: no composite")),
            "{:?}",
            d.notes
        );
    }

    #[test]
    fn existing_leading_columns_cover() {
        let mut facts = facts();
        facts.existing =
            vec![(vec!["status".into(), "created_at".into(), "id".into()], "Meta.indexes Index".into(), false)];
        let q1 = query(3, &[("filter", &["status"], &[]), ("order_by", &[], &["-created_at"])]);
        let q2 = query(4, &[("filter", &["status__in"], &[]), ("exists", &[], &[])]);
        let d = decide("Message", &facts, &[&q1, &q2]);
        assert!(d.proposals.is_empty(), "{:?}", d.proposals);
    }

    #[test]
    fn booleans_only_in_front_of_an_order() {
        let mut facts = facts();
        facts.fields.push(Field {
            name: "is_read".into(),
            kind: FieldKind::Plain,
            indexed: false,
            unique: false,
            primary: false,
            boolean: true,
            wide: false,
            choices: None,
        });
        let alone = query(3, &[("filter", &["is_read"], &[]), ("count", &[], &[])]);
        let trailing = query(4, &[("filter", &["conversation", "is_read"], &[]), ("update", &[], &[])]);
        let ordered = query(5, &[("filter", &["status", "is_read"], &[]), ("order_by", &[], &["-created_at"])]);
        let joined = query(6, &[("filter", &["participants"], &[]), ("order_by", &[], &["-created_at"])]);
        let d = decide("Message", &facts, &[&alone, &trailing, &ordered, &joined]);
        let shown: Vec<Vec<String>> = d.proposals.iter().map(spelled).collect();
        assert_eq!(shown, [vec!["status", "is_read", "-created_at"]]);
        assert!(d.notes.iter().any(|n| n.contains("`is_read` at chat/views.py:3 is a boolean")), "{:?}", d.notes);
    }

    #[test]
    fn at_most_three_columns_and_no_wide_text_in_a_composite() {
        let mut facts = facts();
        for name in ["name", "slug", "kind", "timeout"] {
            facts.fields.push(field(name, FieldKind::Plain, false));
        }
        facts.fields.push(Field { wide: true, ..field("url", FieldKind::Plain, false) });
        let ordered = query(
            3,
            &[("filter", &["status", "url", "name", "slug", "kind"], &[]), ("order_by", &[], &["-created_at"])],
        );
        let unordered = query(7, &[("filter", &["name", "slug", "kind", "timeout"], &[]), ("count", &[], &[])]);
        let alone = query(9, &[("filter", &["url"], &[]), ("exists", &[], &[])]);
        let d = decide("Message", &facts, &[&ordered, &unordered, &alone]);
        let shown: Vec<Vec<String>> = d.proposals.iter().map(spelled).collect();
        assert_eq!(shown, [vec!["status", "name", "-created_at"], vec!["name", "slug", "kind"], vec!["url"]]);
        let trimmed = d.proposals[0].trimmed.join("; ");
        assert!(trimmed.contains("`url` is left out: a CharField over 255"), "{trimmed}");
        assert!(trimmed.contains("`slug`, `kind` left out: at most 3 columns"), "{trimmed}");
        assert!(d.proposals[1].trimmed[0].contains("`timeout` left out"), "{:?}", d.proposals[1].trimmed);
    }

    #[test]
    fn at_most_three_per_model_most_used_first() {
        let mut facts = facts();
        for name in ["a", "b", "c", "d"] {
            facts.fields.push(field(name, FieldKind::Plain, false));
        }
        let q = |line, key: &'static [&'static str]| query(line, &[("filter", key, &[]), ("count", &[], &[])]);
        let (a, b, c, d, d2) = (q(1, &["a"]), q(2, &["b"]), q(3, &["c"]), q(4, &["d"]), q(5, &["d"]));
        let mut decision = decide("Message", &facts, &[&a, &b, &c, &d, &d2]);
        let mut model = crate::facts::indexes::models::read_classes(&crate::lang::python::parse(std::sync::Arc::new(
            crate::text::source::SourceFile::from_text("m.py", "class Message(Model):\n    class Meta:\n        indexes = [Index(fields=['x'], name='message_x_idx')]\n"),
        )).unwrap())
        .remove(0);
        let history = History {
            dir: "chat/migrations".into(),
            leaf: "0002_add_message_x_idx".into(),
            names: Default::default(),
            ours: [("message_x_idx".to_owned(), "0002_add_message_x_idx".to_owned())].into(),
        };
        cap(&mut decision, &model, &history);
        let shown: Vec<Vec<String>> = decision.proposals.iter().map(spelled).collect();
        assert_eq!(shown, [vec!["d"], vec!["a"]], "one of the three was added by an earlier run");
        assert_eq!(decision.left_out.iter().map(spelled).collect::<Vec<_>>(), [vec!["b"], vec!["c"]]);
        assert_eq!(decision.earlier, ["message_x_idx (0002_add_message_x_idx)"]);
        model.meta = None;
        cap(&mut decision, &model, &history);
        assert_eq!(decision.proposals.len(), 2, "nothing earlier: room for three, two left");
    }
}
