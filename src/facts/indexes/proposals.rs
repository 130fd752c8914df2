//! From queries to index proposals. A query's equality lookups come first, then the order it is
//! read in (its `order_by`, `latest`/`earliest`, or `Meta.ordering` by default), else the field it
//! ranges over. Nothing is proposed when an index already serves it: a ForeignKey, primary key,
//! unique or `db_index=True` field for a single column, or the leading columns of an existing
//! index. At most [`MAX_PER_MODEL`] per model, the most used first.

use std::collections::BTreeSet;

use super::models::{Field, FieldKind};
use super::queries::Query;
use crate::engine::outcome::Location;

/// The most indexes proposed for one model in one run: each costs writes and disk.
pub const MAX_PER_MODEL: usize = 3;

/// The most columns of one proposed index: equality columns beyond the first few narrow the rows
/// little more, and every column makes each write and the index itself bigger.
pub const MAX_COLUMNS: usize = 3;

/// One column of an index: a field name and its direction.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Column {
    pub field: String,
    pub desc: bool,
}

impl Column {
    /// The way `Index(fields=[...])` writes it: `-created_at` for descending.
    pub fn spelled(&self) -> String {
        if self.desc { format!("-{}", self.field) } else { self.field.clone() }
    }

    fn parse(spelled: &str) -> Column {
        match spelled.strip_prefix('-') {
            Some(field) => Column { field: field.to_owned(), desc: true },
            None => Column { field: spelled.trim_start_matches('+').to_owned(), desc: false },
        }
    }
}

/// What the proposals need to know about a model (abstract bases merged in).
#[derive(Debug, Clone, Default)]
pub struct ModelFacts {
    pub fields: Vec<Field>,
    pub ordering: Option<Vec<String>>,
    pub get_latest_by: Option<Vec<String>>,
    /// Existing indexes, unique constraints and together-sets, as spelled (`-created_at`).
    pub existing: Vec<Vec<String>>,
}

impl ModelFacts {
    fn field(&self, name: &str) -> Option<&Field> {
        if name == "pk" {
            return self.fields.iter().find(|f| f.primary);
        }
        self.fields.iter().find(|f| f.name == name)
    }

    /// The field a lookup's first part names (`conversation_id` is the `conversation` relation).
    fn field_of(&self, part: &str) -> Option<&Field> {
        self.field(part).or_else(|| {
            part.strip_suffix("_id").and_then(|base| self.field(base)).filter(|f| f.kind == FieldKind::Relation)
        })
    }

    /// Every existing index as columns, the single-column ones of indexed fields included.
    fn indexes(&self) -> Vec<Vec<Column>> {
        let mut all: Vec<Vec<Column>> = self
            .existing
            .iter()
            .map(|fields| {
                fields
                    .iter()
                    .map(|f| {
                        let mut column = Column::parse(f);
                        if let Some(field) = self.field_of(&column.field) {
                            column.field = field.name.clone();
                        }
                        column
                    })
                    .collect()
            })
            .collect();
        all.extend(
            self.fields.iter().filter(|f| f.indexed).map(|f| vec![Column { field: f.name.clone(), desc: false }]),
        );
        all
    }
}

/// A proposed index and the queries that motivate it.
#[derive(Debug, Clone)]
pub struct Proposal {
    pub columns: Vec<Column>,
    /// How many leading columns are equality lookups (their order does not matter).
    pub equalities: usize,
    pub sites: Vec<Location>,
    /// Columns its queries filter on that the index leaves out, each with why (for the change's why).
    pub trimmed: Vec<String>,
}

/// Everything decided for one model.
#[derive(Debug, Default)]
pub struct Decision {
    pub proposals: Vec<Proposal>,
    /// Proposals beyond [`MAX_PER_MODEL`], left for a later run.
    pub left_out: Vec<Proposal>,
    /// Why the other queries need nothing (covered, through a relation, ...), one line each.
    pub notes: Vec<String>,
}

/// The index shape one query asks for.
#[derive(Debug, Default)]
struct Shape {
    equalities: Vec<String>,
    range: Option<String>,
    order: Option<Vec<Column>>,
    needs_order: bool,
    /// The query's order cannot be served by this table's columns (`order_by("author__name")`).
    order_elsewhere: bool,
    through: Vec<String>,
    /// Lookups on columns a B-tree does not suit (TextField, JSONField, ...).
    unsuitable: Vec<String>,
    /// Lookups joined by `|` (`Q(a=1) | Q(b=2)`): no composite index serves an OR.
    any_of: Vec<String>,
}

const EQUALITY_LOOKUPS: &[&str] = &["exact", "in", "isnull"];
const RANGE_LOOKUPS: &[&str] = &["gt", "gte", "lt", "lte", "range", "year"];
/// Methods after which the rows' order does not matter.
const UNORDERED: &[&str] =
    &["get", "count", "exists", "aggregate", "update", "delete", "get_or_create", "update_or_create", "in_bulk"];

fn shape(facts: &ModelFacts, query: &Query) -> Shape {
    let mut shape = Shape { needs_order: true, ..Shape::default() };
    for step in &query.steps {
        match step.method.as_str() {
            "filter" | "get" | "get_or_create" | "update_or_create" => {
                for key in &step.keys {
                    classify(facts, key, &mut shape);
                }
                shape.any_of.extend(step.any_of.iter().cloned());
            }
            "order_by" => {
                shape.order_elsewhere = false;
                let columns: Option<Vec<Column>> = step.strings.iter().map(|s| order_column(facts, s)).collect();
                match columns {
                    Some(columns) => shape.order = Some(columns),
                    None => {
                        shape.order = Some(Vec::new());
                        shape.order_elsewhere = true;
                    }
                }
            }
            "latest" | "earliest" => {
                let fields = if step.strings.is_empty() {
                    facts.get_latest_by.clone().unwrap_or_default()
                } else {
                    step.strings.clone()
                };
                let flip = step.method == "latest";
                let columns: Option<Vec<Column>> = fields
                    .iter()
                    .map(|s| order_column(facts, s).map(|c| Column { desc: c.desc ^ flip, ..c }))
                    .collect();
                if let Some(columns) = columns.filter(|c| !c.is_empty()) {
                    shape.order = Some(columns);
                }
            }
            _ => {}
        }
        if UNORDERED.contains(&step.method.as_str()) {
            shape.needs_order = false;
        } else if matches!(step.method.as_str(), "first" | "last" | "latest" | "earliest") {
            shape.needs_order = true;
        }
    }
    if shape.order.is_none() && !shape.equalities.is_empty() {
        shape.order = facts.ordering.as_ref().and_then(|o| o.iter().map(|s| order_column(facts, s)).collect());
    }
    shape
}

/// Files a lookup key under equality or range of one of this table's columns, or notes that it
/// goes through a relation (an index there, not here).
fn classify(facts: &ModelFacts, key: &str, shape: &mut Shape) {
    let mut parts = key.split("__");
    let first = parts.next().unwrap_or_default();
    let rest: Vec<&str> = parts.collect();
    let Some(field) = facts.field_of(first) else { return };
    if field.kind == FieldKind::NoColumn {
        shape.through.push(key.to_owned());
        return;
    }
    if field.kind == FieldKind::NotBtree {
        shape.unsuitable.push(key.to_owned());
        return;
    }
    let lookup = match (field.kind, rest.as_slice()) {
        (_, []) => "exact",
        (FieldKind::Relation, ["id" | "pk"]) => "exact",
        (FieldKind::Relation, ["id" | "pk", lookup]) => lookup,
        (FieldKind::Relation, [other, ..]) if !EQUALITY_LOOKUPS.contains(other) && !RANGE_LOOKUPS.contains(other) => {
            shape.through.push(key.to_owned());
            return;
        }
        (_, [lookup]) => lookup,
        _ => return,
    };
    if EQUALITY_LOOKUPS.contains(&lookup) {
        if !shape.equalities.contains(&field.name) {
            shape.equalities.push(field.name.clone());
        }
    } else if RANGE_LOOKUPS.contains(&lookup) && shape.range.is_none() {
        shape.range = Some(field.name.clone());
    }
}

/// An `order_by` argument as a column of this table; `None` for a random order or a field of
/// another table.
fn order_column(facts: &ModelFacts, spelled: &str) -> Option<Column> {
    if spelled == "?" || spelled.contains("__") {
        return None;
    }
    let mut column = Column::parse(spelled);
    let field = facts.field_of(&column.field)?;
    let usable = match field.kind {
        FieldKind::Plain => true,
        // `order_by("author")` sorts by the related model's own ordering (a join); `author_id` does not.
        FieldKind::Relation => column.field != field.name,
        FieldKind::NoColumn | FieldKind::NotBtree => false,
    };
    column.field = field.name.clone();
    usable.then_some(column)
}

/// Whether an index with `existing` columns serves `columns` (whose first `equalities` are
/// equality lookups): same leading set of equality columns, then the same order columns in the
/// same or the fully reversed direction (a B-tree is read both ways).
fn serves(existing: &[Column], columns: &[Column], equalities: usize) -> bool {
    if existing.len() < columns.len() {
        return false;
    }
    let names = |cols: &[Column]| cols.iter().map(|c| c.field.clone()).collect::<BTreeSet<_>>();
    if names(&existing[..equalities]) != names(&columns[..equalities]) {
        return false;
    }
    let (theirs, ours) = (&existing[equalities..columns.len()], &columns[equalities..]);
    let same = theirs.iter().zip(ours).all(|(a, b)| a == b);
    let reversed = theirs.iter().zip(ours).all(|(a, b)| a.field == b.field && a.desc != b.desc);
    same || reversed
}

/// Decides the indexes of one model from its queries.
pub fn decide(model_name: &str, facts: &ModelFacts, queries: &[&Query]) -> Decision {
    let mut decision = Decision::default();
    let existing = facts.indexes();
    let mut candidates: Vec<Proposal> = Vec::new();
    for query in queries {
        let shape = shape(facts, query);
        let at = &query.location;
        for key in &shape.unsuitable {
            decision.notes.push(format!(
                "{model_name}: `{key}` at {at} is on a text, JSON, binary or array column: a B-tree index does not \
                 suit it"
            ));
        }
        if !shape.any_of.is_empty() {
            decision.notes.push(format!(
                "{model_name}: `{}` at {at} is an OR: no composite index serves it (each branch is served by an \
                 index of its own, or by none)",
                shape.any_of.join("` | `")
            ));
        }
        for key in &shape.through {
            decision.notes.push(format!(
                "{model_name}: `{key}` at {at} is a lookup through a relation: an index on this table would not serve it"
            ));
        }
        let order = if shape.needs_order { shape.order.clone().unwrap_or_default() } else { Vec::new() };
        let mut tail: Vec<Column> = order.into_iter().filter(|c| !shape.equalities.contains(&c.field)).collect();
        if tail.is_empty()
            && let Some(range) = &shape.range
            && !shape.equalities.contains(range)
        {
            tail.push(Column { field: range.clone(), desc: false });
        }
        // A boolean narrows little on its own or at the end of an index; in front of an order
        // column it lets the index hand rows over already sorted, so it stays there.
        let mut equalities_used: Vec<&String> = shape.equalities.iter().collect();
        if tail.is_empty() {
            let (booleans, others): (Vec<&String>, Vec<&String>) =
                equalities_used.iter().partition(|f| facts.field(f).is_some_and(|f| f.boolean));
            if !booleans.is_empty() {
                let names: Vec<&str> = booleans.iter().map(|s| s.as_str()).collect();
                decision.notes.push(format!(
                    "{model_name}: `{}` at {at} is a boolean: too few values to be worth an index column here \
                     (a partial index is a Phase 2 decision)",
                    names.join("`, `")
                ));
            }
            equalities_used = others;
        }
        if equalities_used.is_empty() && !shape.through.is_empty() {
            // The rows come from the join; sorting them needs no index on this table.
            continue;
        }
        let mut trimmed = Vec::new();
        if equalities_used.len() + tail.len() > 1 {
            let (wide, narrow): (Vec<&String>, Vec<&String>) =
                equalities_used.iter().partition(|f| facts.field(f).is_some_and(|f| f.wide));
            for field in wide {
                trimmed.push(format!(
                    "`{field}` is left out: a CharField over 255 characters makes a composite index too wide"
                ));
            }
            equalities_used = narrow;
        }
        // Equalities first, but an order column (when there is one) keeps its place: it saves the sort.
        let keep = equalities_used.len().min(if tail.is_empty() { MAX_COLUMNS } else { MAX_COLUMNS - 1 });
        if keep < equalities_used.len() {
            let dropped: Vec<&str> = equalities_used[keep..].iter().map(|s| s.as_str()).collect();
            trimmed.push(format!(
                "`{}` left out: at most {MAX_COLUMNS} columns per index (equality columns beyond that add little \
                 and cost every write)",
                dropped.join("`, `")
            ));
            equalities_used.truncate(keep);
        }
        tail.truncate(MAX_COLUMNS - keep);
        let mut columns: Vec<Column> =
            equalities_used.iter().map(|f| Column { field: (*f).clone(), desc: false }).collect();
        let equalities = columns.len();
        columns.extend(tail);
        if columns.is_empty() {
            continue;
        }
        let described = columns.iter().map(Column::spelled).collect::<Vec<_>>().join(", ");
        if let Some(unique) = shape.equalities.iter().filter_map(|f| facts.field(f)).find(|f| f.unique) {
            decision.notes.push(format!(
                "{model_name}: ({described}) at {at}: `{}` is unique, at most one row matches",
                unique.name
            ));
            continue;
        }
        if let Some(index) = existing.iter().find(|index| serves(index, &columns, equalities)) {
            let by = index.iter().map(Column::spelled).collect::<Vec<_>>().join(", ");
            decision.notes.push(format!("{model_name}: ({described}) at {at} is served by the index on ({by})"));
            continue;
        }
        match candidates.iter_mut().find(|c| c.columns == columns && c.equalities == equalities) {
            Some(candidate) => {
                candidate.sites.push(at.clone());
                add_trimmed(&mut candidate.trimmed, trimmed);
            }
            None => candidates.push(Proposal { columns, equalities, sites: vec![at.clone()], trimmed }),
        }
    }
    // A candidate served by the leading columns of a wider one is folded into it.
    let mut merged: Vec<Proposal> = Vec::new();
    candidates.sort_by_key(|c| std::cmp::Reverse(c.columns.len()));
    for candidate in candidates {
        match merged.iter_mut().find(|wider| serves(&wider.columns, &candidate.columns, candidate.equalities)) {
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
    let left_out = merged.split_off(merged.len().min(MAX_PER_MODEL));
    decision.proposals = merged;
    decision.left_out = left_out;
    decision
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
    use crate::facts::indexes::queries::Step;

    fn field(name: &str, kind: FieldKind, indexed: bool) -> Field {
        Field { name: name.into(), kind, indexed, unique: false, primary: false, boolean: false, wide: false }
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
        assert!(d.notes.iter().any(|n| n.contains("(conversation) at chat/views.py:12 is served")), "{:?}", d.notes);
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
        facts.existing = vec![vec!["status".into(), "created_at".into(), "id".into()]];
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
        let decision = decide("Message", &facts, &[&a, &b, &c, &d, &d2]);
        let shown: Vec<Vec<String>> = decision.proposals.iter().map(spelled).collect();
        assert_eq!(shown, [vec!["d"], vec!["a"], vec!["b"]]);
        assert_eq!(decision.left_out.iter().map(spelled).collect::<Vec<_>>(), [vec!["c"]]);
    }
}
