//! The index shape a query asks for, and whether an index serves it. A query's equality lookups
//! come first, then the order it is read in (its `order_by`, `latest`/`earliest`, or
//! `Meta.ordering` by default), else the field it ranges over. An index serves it when its
//! leading columns are those: a ForeignKey, primary key, unique or `db_index=True` field for a
//! single column, or the leading columns of an existing index.

use std::collections::BTreeSet;

use super::models::{Field, FieldKind};
use super::queries::Query;

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
    /// Existing indexes, unique constraints and together-sets, as spelled (`-created_at`), each
    /// with what declares it and whether it is unique.
    pub existing: Vec<(Vec<String>, String, bool)>,
}

impl ModelFacts {
    /// The field `name` names (`pk` is the primary key).
    pub fn field(&self, name: &str) -> Option<&Field> {
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

    /// Every existing index as columns with what declares it, the single-column ones of indexed
    /// fields included.
    pub fn indexes(&self) -> Vec<Existing> {
        let mut all: Vec<Existing> = self
            .existing
            .iter()
            .map(|(fields, what, unique)| Existing {
                what: what.clone(),
                unique: *unique,
                columns: fields
                    .iter()
                    .map(|f| {
                        let mut column = Column::parse(f);
                        if let Some(field) = self.field_of(&column.field) {
                            column.field = field.name.clone();
                        }
                        column
                    })
                    .collect(),
            })
            .collect();
        all.extend(self.fields.iter().filter(|f| f.indexed).map(|f| Existing {
            columns: vec![Column { field: f.name.clone(), desc: false }],
            what: field_index(f),
            unique: f.unique,
        }));
        all
    }
}

/// An index the table has, and what declares it.
#[derive(Debug, Clone)]
pub struct Existing {
    pub columns: Vec<Column>,
    pub what: String,
    /// Equal values in all its columns match at most one row.
    pub unique: bool,
}

/// What gives an indexed field its index, in the words of its declaration.
fn field_index(field: &Field) -> String {
    let name = &field.name;
    if field.primary {
        format!("the primary key `{name}`")
    } else if field.kind == FieldKind::Relation && !field.unique {
        format!("the ForeignKey `{name}` (Django indexes it)")
    } else if field.unique {
        format!("`{name}` (unique)")
    } else {
        format!("`{name}` (db_index=True)")
    }
}

/// The index shape one query asks for.
#[derive(Debug, Default)]
pub struct Shape {
    /// Fields compared for equality (`exact`, `in`, `isnull`), in the query's order.
    pub equalities: Vec<String>,
    /// The first field compared by range (`gte`, `year`, ...).
    pub range: Option<String>,
    /// The order the rows are read in, when the query says (or `Meta.ordering` does).
    pub order: Option<Vec<Column>>,
    /// Whether the rows' order matters (not after `count()`, `exists()`, ...).
    pub needs_order: bool,
    /// The query's order cannot be served by this table's columns (`order_by("author__name")`).
    pub order_elsewhere: bool,
    /// Lookups through a relation (an index there, not here).
    pub through: Vec<String>,
    /// Lookups on columns a B-tree does not suit (TextField, JSONField, ...).
    pub unsuitable: Vec<String>,
    /// Lookups joined by `|` (`Q(a=1) | Q(b=2)`): no composite index serves an OR.
    pub any_of: Vec<String>,
}

const EQUALITY_LOOKUPS: &[&str] = &["exact", "in", "isnull"];
const RANGE_LOOKUPS: &[&str] = &["gt", "gte", "lt", "lte", "range", "year"];
/// Methods after which the rows' order does not matter.
const UNORDERED: &[&str] =
    &["get", "count", "exists", "aggregate", "update", "delete", "get_or_create", "update_or_create", "in_bulk"];

/// The index shape `query` asks for on its model.
pub fn shape(facts: &ModelFacts, query: &Query) -> Shape {
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
pub fn serves(existing: &[Column], columns: &[Column], equalities: usize) -> bool {
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
