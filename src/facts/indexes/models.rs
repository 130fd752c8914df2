//! Model classes of a models file: their fields (with what already indexes them), their `Meta`
//! (ordering, indexes and everything else that creates an index), and the byte positions the
//! renderer needs to add `Meta.indexes` in the file's own style.

use std::collections::HashMap;
use std::ops::Range;
use std::path::PathBuf;

use tree_sitter::Node;

use super::py;
use crate::lang::python::{self, PyFile};
use crate::text::source::SourceFile;

/// How a field relates to indexes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    /// ForeignKey / OneToOneField: a column `<name>_id`, indexed by Django already.
    Relation,
    /// ManyToManyField and generic relations: no column on this table.
    NoColumn,
    /// A column a B-tree index does not suit (TextField, JSONField, ...).
    NotBtree,
    /// Any other concrete field.
    Plain,
}

/// One field declared in a model class body.
#[derive(Debug, Clone)]
pub struct Field {
    pub name: String,
    pub kind: FieldKind,
    /// primary_key=True, unique=True or db_index=True: it has an index of its own.
    pub indexed: bool,
    /// primary_key=True or unique=True: an equality on it returns at most one row.
    pub unique: bool,
    /// The primary key (declared, or Django's implicit `id`).
    pub primary: bool,
    /// A BooleanField: two values, too few to narrow a lookup on their own.
    pub boolean: bool,
    /// A CharField with `max_length` over 255: long keys make every entry of a composite index
    /// wide (and PostgreSQL refuses B-tree entries over about 2.7 kB).
    pub wide: bool,
    /// How many values its `choices` allow, when they are written where they can be counted (a
    /// list literal, a module constant, a `TextChoices`/`IntegerChoices` class of the file).
    pub choices: Option<usize>,
}

impl Field {
    /// The `id` primary key Django adds to a model that declares none.
    pub fn implicit_id() -> Field {
        Field {
            name: "id".into(),
            kind: FieldKind::Plain,
            indexed: true,
            unique: true,
            primary: true,
            boolean: false,
            wide: false,
            choices: None,
        }
    }
}

/// An existing index (or unique constraint) as its ordered column list (`-` for descending).
#[derive(Debug, Clone)]
pub struct ExistingIndex {
    pub fields: Vec<String>,
    pub name: Option<String>,
    /// What declares it, for the notes: `Meta.indexes "order_a_idx"`, `unique_together`, ...
    pub what: String,
    /// A unique constraint: equal values in all its columns match at most one row.
    pub unique: bool,
}

/// A list (or tuple) literal that new items can be appended to.
#[derive(Debug, Clone)]
pub struct ListSite {
    /// Byte offset of the closing bracket.
    pub close: usize,
    /// Byte range of the last item, if any.
    pub last_item: Option<Range<usize>>,
    /// Whether a comma follows the last item.
    pub trailing_comma: bool,
    /// Whether the closing bracket sits on its own line.
    pub multiline: bool,
    /// Indentation of the items (multi-line lists).
    pub item_indent: String,
    /// Whether the literal is a tuple.
    pub tuple: bool,
    /// Whether it spreads the parent's list (`[*Base.Meta.indexes, ...]`).
    pub spreads: bool,
}

/// A model's `class Meta`.
#[derive(Debug, Clone, Default)]
pub struct Meta {
    pub bases: Vec<String>,
    pub is_abstract: bool,
    pub proxy: bool,
    pub ordering: Option<Vec<String>>,
    pub get_latest_by: Option<Vec<String>>,
    pub indexes: Vec<ExistingIndex>,
    /// Where `indexes = [...]` can be appended to; `None` when absent.
    pub indexes_list: Option<ListSite>,
    /// `indexes` is assigned something that is not a list literal.
    pub indexes_opaque: bool,
    /// Where a new `indexes = [...]` statement goes (end of the Meta body's last line).
    pub insert_at: usize,
    /// Indentation of Meta's body.
    pub body_indent: String,
    /// Meta's body is a lone `pass` (replaced rather than kept), its whole line's range.
    pub lone_pass: Option<Range<usize>>,
    /// The body sits on the `class Meta:` line; nothing is inserted into such a class.
    pub inline_body: bool,
}

/// A class of a models file (model-ness is decided later, across the project).
#[derive(Debug, Clone)]
pub struct ModelClass {
    pub name: String,
    pub file: PathBuf,
    pub line: usize,
    pub bases: Vec<String>,
    pub fields: Vec<Field>,
    pub meta: Option<Meta>,
    /// Managers assigned in the body (`objects = ChatManager()`): attribute name, manager class.
    pub managers: Vec<(String, String)>,
    /// Where a new `class Meta` goes: the end of the line of the last field, before methods.
    pub meta_insert_at: usize,
    /// Indentation of the class body.
    pub body_indent: String,
    /// The class body sits on the `class` line.
    pub inline_body: bool,
}

impl ModelClass {
    pub fn field(&self, name: &str) -> Option<&Field> {
        self.fields.iter().find(|f| f.name == name)
    }
}

/// Field classes that hold no column on this table.
const NO_COLUMN: &[&str] = &["ManyToManyField", "GenericRelation", "GenericForeignKey", "TaggableManager"];
/// Field classes that are relations with a column, indexed by Django.
const RELATIONS: &[&str] = &["ForeignKey", "OneToOneField", "ParentalKey"];
/// Field classes a B-tree index does not suit: unbounded text (PostgreSQL refuses B-tree entries
/// over about 2.7 kB), JSON, binary and array values.
const NOT_BTREE: &[&str] = &["TextField", "JSONField", "BinaryField", "ArrayField", "HStoreField", "SearchVectorField"];
/// Field classes that are primary keys by nature.
const AUTO: &[&str] = &["AutoField", "BigAutoField", "SmallAutoField"];

/// Every top-level class of a parsed models file.
pub fn read_classes(file: &PyFile) -> Vec<ModelClass> {
    let choices = choice_counts(file);
    python::named_children(file.root())
        .into_iter()
        .filter_map(py::class_definition)
        .map(|class| read_class(file, class, &choices))
        .collect()
}

/// How many values each countable set of choices of the file has: module constants holding a
/// list or tuple (`STATUS_CHOICES`), and enumeration classes (`class Status(models.TextChoices)`,
/// at module level or inside a model) by the number of their members.
fn choice_counts(file: &PyFile) -> HashMap<String, usize> {
    let src = file.source.text.as_str();
    let mut counts = HashMap::new();
    let mut classes: Vec<Node> = Vec::new();
    for statement in python::named_children(file.root()) {
        if let Some((name, value)) = py::named_assignment(statement, src)
            && matches!(value.kind(), "list" | "tuple")
        {
            counts.insert(name, python::named_children(value).len());
        }
        if let Some(class) = py::class_definition(statement) {
            classes.push(class);
            let body = class.child_by_field_name("body");
            classes.extend(body.into_iter().flat_map(python::named_children).filter_map(py::class_definition));
        }
    }
    for class in classes {
        let enumeration = class_bases(class, src).iter().any(|b| b.ends_with("Choices") || b.ends_with("Enum"));
        let (Some(name), Some(body), true) =
            (class.child_by_field_name("name"), class.child_by_field_name("body"), enumeration)
        else {
            continue;
        };
        let members = python::named_children(body)
            .into_iter()
            .filter_map(|s| py::named_assignment(s, src))
            .filter(|(member, _)| !member.starts_with('_'))
            .count();
        counts.insert(format!("{}.choices", file.text(name)), members);
    }
    counts
}

fn read_class(py_file: &PyFile, class: Node, choices: &HashMap<String, usize>) -> ModelClass {
    let (file, src) = (&*py_file.source, py_file.source.text.as_str());
    let name = class.child_by_field_name("name").map(|n| py_file.text(n).to_owned()).unwrap_or_default();
    let bases = class_bases(class, src);
    let body = class.child_by_field_name("body").expect("a class has a body");
    let inline_body = file.line_of(body.start_byte()) == file.line_of(class.start_byte());
    let statements = python::named_children(body);
    let body_indent = statements.first().map(|s| file.indent_at(s.start_byte()).to_owned()).unwrap_or_default();
    let mut fields = Vec::new();
    let mut managers = Vec::new();
    let mut meta = None;
    let mut last_attribute_end = None;
    let mut seen_method = false;
    for statement in &statements {
        if let Some((attr, value)) = py::named_assignment(*statement, src) {
            if !seen_method {
                last_attribute_end = Some(statement.end_byte());
            }
            if value.kind() == "call"
                && let Some(function) = value.child_by_field_name("function").and_then(|f| python::dotted_name(f, src))
            {
                let class_name = py::last_segment(&function).to_owned();
                if let Some(field) = read_field(&attr, &class_name, value, src, choices) {
                    fields.push(field);
                } else if (class_name.ends_with("Manager") && class_name != "Manager")
                    || function.ends_with(".as_manager")
                {
                    let manager = function.trim_end_matches(".as_manager").to_owned();
                    managers.push((attr, py::last_segment(&manager).to_owned()));
                }
            }
            continue;
        }
        match py::class_definition(*statement) {
            Some(inner) if inner.child_by_field_name("name").is_some_and(|n| py_file.text(n) == "Meta") => {
                meta = Some(read_meta(file, src, inner));
                if !seen_method {
                    last_attribute_end = Some(statement.end_byte());
                }
            }
            _ if matches!(statement.kind(), "function_definition" | "decorated_definition") => seen_method = true,
            // Docstrings, nested classes and other statements among the fields.
            _ if !seen_method => last_attribute_end = Some(statement.end_byte()),
            _ => {}
        }
    }
    let meta_insert_at = file.end_of_line(last_attribute_end.unwrap_or(body.end_byte()).saturating_sub(1));
    if !fields.iter().any(|f| f.primary) {
        // Django adds `id` unless a field says primary_key=True (an abstract base may, too).
        fields.push(Field::implicit_id());
    }
    ModelClass {
        name,
        file: file.path.clone(),
        line: file.line_of(class.start_byte()),
        bases,
        fields,
        meta,
        managers,
        meta_insert_at,
        body_indent,
        inline_body,
    }
}

fn class_bases(class: Node, src: &str) -> Vec<String> {
    class
        .child_by_field_name("superclasses")
        .map(|list| {
            python::named_children(list).into_iter().filter_map(|base| python::dotted_name(base, src)).collect()
        })
        .unwrap_or_default()
}

fn read_field(name: &str, class_name: &str, call: Node, src: &str, choices: &HashMap<String, usize>) -> Option<Field> {
    let kind = if RELATIONS.contains(&class_name) {
        FieldKind::Relation
    } else if NOT_BTREE.contains(&class_name) {
        FieldKind::NotBtree
    } else if NO_COLUMN.contains(&class_name) {
        FieldKind::NoColumn
    } else if class_name.ends_with("Field") {
        FieldKind::Plain
    } else {
        return None;
    };
    let kwargs: Vec<(String, Node)> = python::kwargs(call, src).into_iter().map(|(k, arg)| (k, arg.value)).collect();
    let flag = |key: &str| kwargs.iter().any(|(k, v)| k == key && py::is_true(*v));
    let primary = flag("primary_key") || AUTO.contains(&class_name) && !kwargs.iter().any(|(k, _)| k == "primary_key");
    let unique = primary || flag("unique") || class_name == "OneToOneField";
    let indexed = unique
        || flag("db_index")
        || kind == FieldKind::Relation && !kwargs.iter().any(|(k, v)| k == "db_index" && v.kind() == "false");
    let boolean = matches!(class_name, "BooleanField" | "NullBooleanField");
    let wide = class_name.ends_with("CharField")
        && kwargs.iter().any(|(k, v)| {
            k == "max_length" && src[v.byte_range()].replace('_', "").parse::<u64>().is_ok_and(|n| n > 255)
        });
    let choices = kwargs.iter().find(|(k, _)| k == "choices").and_then(|(_, value)| match value.kind() {
        "list" | "tuple" => Some(python::named_children(*value).len()),
        _ => choices.get(&src[value.byte_range()]).copied(),
    });
    Some(Field { name: name.to_owned(), kind, indexed, unique, primary, boolean, wide, choices })
}

fn read_meta(file: &SourceFile, src: &str, class: Node) -> Meta {
    let body = class.child_by_field_name("body").expect("a class has a body");
    let statements = python::named_children(body);
    let mut meta = Meta {
        bases: class_bases(class, src),
        inline_body: file.line_of(body.start_byte()) == file.line_of(class.start_byte()),
        body_indent: statements.first().map(|s| file.indent_at(s.start_byte()).to_owned()).unwrap_or_default(),
        insert_at: file.end_of_line(body.end_byte().saturating_sub(1)),
        ..Meta::default()
    };
    if let [only] = statements.as_slice()
        && only.kind() == "pass_statement"
    {
        let start = file.start_of_line(only.start_byte());
        meta.lone_pass = Some(start..file.end_of_line(only.end_byte().saturating_sub(1)));
    }
    for statement in statements {
        let Some((name, value)) = py::named_assignment(statement, src) else { continue };
        match name.as_str() {
            "abstract" => meta.is_abstract = py::is_true(value),
            "proxy" => meta.proxy = py::is_true(value),
            "ordering" => meta.ordering = py::string_list(value, src),
            "get_latest_by" => {
                meta.get_latest_by =
                    python::string_value(value, src).map(|s| vec![s]).or_else(|| py::string_list(value, src))
            }
            "indexes" => match value.kind() {
                "list" | "tuple" => {
                    meta.indexes.extend(read_index_calls(value, src, "Meta.indexes"));
                    meta.indexes_list = Some(list_site(file, value));
                }
                _ => meta.indexes_opaque = true,
            },
            "constraints" => meta.indexes.extend(read_index_calls(value, src, "Meta.constraints")),
            "unique_together" | "index_together" => {
                let unique = name == "unique_together";
                let index = |fields: Vec<String>| ExistingIndex {
                    what: format!("{name} ({})", fields.join(", ")),
                    fields,
                    name: None,
                    unique,
                };
                if let Some(single) = py::string_list(value, src) {
                    meta.indexes.push(index(single));
                } else if matches!(value.kind(), "list" | "tuple") {
                    for item in python::named_children(value) {
                        if let Some(fields) = py::string_list(item, src) {
                            meta.indexes.push(index(fields));
                        }
                    }
                }
            }
            _ => {}
        }
    }
    meta
}

/// `models.Index(fields=[...])` and `UniqueConstraint(fields=[...])` items of a list literal.
/// Conditional (partial) unique constraints and expression indexes serve only some queries: left out.
fn read_index_calls(list: Node, src: &str, option: &str) -> Vec<ExistingIndex> {
    if !matches!(list.kind(), "list" | "tuple") {
        return Vec::new();
    }
    let mut found = Vec::new();
    for item in python::named_children(list) {
        if item.kind() != "call" {
            continue;
        }
        let Some(function) = item.child_by_field_name("function").and_then(|f| python::dotted_name(f, src)) else {
            continue;
        };
        let class_name = py::last_segment(&function);
        if !matches!(class_name, "Index" | "UniqueConstraint" | "BTreeIndex") {
            continue;
        }
        let kwargs = python::kwargs(item, src);
        if kwargs.iter().any(|(k, _)| k == "condition") {
            continue;
        }
        let argument = |name: &str| kwargs.iter().find(|(k, _)| k == name).map(|(_, arg)| arg.value);
        let fields = argument("fields").and_then(|v| py::string_list(v, src));
        let name = argument("name").and_then(|v| python::string_value(v, src));
        if let Some(fields) = fields {
            let what = match &name {
                Some(name) => format!("{option} {class_name} \"{name}\" ({})", fields.join(", ")),
                None => format!("{option} {class_name} ({})", fields.join(", ")),
            };
            found.push(ExistingIndex { fields, name, what, unique: class_name == "UniqueConstraint" });
        }
    }
    found
}

fn list_site(file: &SourceFile, list: Node) -> ListSite {
    let items = python::named_children(list);
    let close = list.end_byte() - 1;
    let last_item = items.last().map(|item| item.byte_range());
    let after_last = last_item.as_ref().map_or(list.start_byte() + 1, |r| r.end);
    let between = &file.text[after_last..close];
    let trailing_comma = last_item.is_some() && between.trim_start().starts_with(',');
    let multiline = file.line_of(close) != file.line_of(list.start_byte());
    let item_indent = match items.first() {
        Some(first) if file.line_of(first.start_byte()) != file.line_of(list.start_byte()) => {
            file.indent_at(first.start_byte()).to_owned()
        }
        _ => format!("{}{}", file.indent_at(close), file.indent_unit()),
    };
    ListSite {
        close,
        last_item,
        trailing_comma,
        multiline,
        item_indent,
        tuple: list.kind() == "tuple",
        spreads: items.iter().any(|item| item.kind() == "list_splat"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_fields_and_meta() {
        let src = "from django.db import models\n\nclass Message(models.Model):\n    conversation = models.ForeignKey('Conversation', on_delete=models.CASCADE)\n    status = models.CharField(max_length=10, db_index=True)\n    title = models.CharField(max_length=1_000)\n    created_at = models.DateTimeField()\n    tags = models.ManyToManyField('Tag')\n\n    class Meta:\n        ordering = ['-created_at']\n        indexes = [\n            models.Index(fields=['status', '-created_at'], name='x_idx'),\n        ]\n\n    def __str__(self):\n        return ''\n";
        let file = python::parse(std::sync::Arc::new(SourceFile::from_text("chat/models.py", src))).unwrap();
        let classes = read_classes(&file);
        let model = &classes[0];
        assert_eq!(model.name, "Message");
        assert_eq!(model.field("conversation").unwrap().kind, FieldKind::Relation);
        assert!(model.field("status").unwrap().indexed);
        assert!(!model.field("created_at").unwrap().indexed);
        assert_eq!(model.field("tags").unwrap().kind, FieldKind::NoColumn);
        assert!(!model.field("status").unwrap().wide && model.field("title").unwrap().wide);
        assert!(model.field("id").unwrap().unique);
        let meta = model.meta.as_ref().unwrap();
        assert_eq!(meta.ordering.as_deref().unwrap(), ["-created_at"]);
        assert_eq!(meta.indexes[0].fields, ["status", "-created_at"]);
        let list = meta.indexes_list.as_ref().unwrap();
        assert!(list.multiline && list.trailing_comma);
        assert_eq!(list.item_indent, "            ");
    }
}
