//! Writing the proposals: index names, the `Meta.indexes` edit in the model (appended to an
//! existing list, or a new `indexes` / `class Meta` in the file's own quotes and indentation), and
//! the new migration that depends on the app's current leaf. Both halves carry the same explicit
//! index names, so Django's autodetector sees the models and the migrations agree.

use std::collections::{HashMap, HashSet};

use super::databases::Build;
use super::models::{ListSite, ModelClass};
use super::shapes::Column;
use crate::lang::python::{self, PyFile};
use crate::text::edit::Edit;
use crate::text::source::SourceFile;

/// Django's limit for portable index names (models.E034).
pub const MAX_NAME: usize = 30;

/// An index to write: its name and columns.
#[derive(Debug, Clone)]
pub struct NewIndex {
    pub name: String,
    pub columns: Vec<Column>,
}

/// Index names unique across the project (index names are unique per database): every explicit
/// name already written, and where the numbering of each model-and-columns name goes on, so that a
/// thousand apps with the same model and query cost one try each, not a thousand.
#[derive(Default)]
pub struct Namer {
    taken: HashSet<String>,
    next_suffix: HashMap<String, usize>,
}

impl Namer {
    pub fn new(taken: impl IntoIterator<Item = String>) -> Namer {
        Namer { taken: taken.into_iter().collect(), next_suffix: HashMap::new() }
    }

    /// A new name for an index of `model` on `columns` (see [`index_name`]), now taken.
    pub fn name(&mut self, model: &str, columns: &[Column]) -> String {
        let key = format!("{model}\n{}", columns.iter().map(Column::spelled).collect::<Vec<_>>().join(","));
        let from = self.next_suffix.get(&key).copied().unwrap_or(1);
        let (name, suffix) = index_name(model, columns, from, &self.taken);
        self.next_suffix.insert(key, suffix + 1);
        self.taken.insert(name.clone());
        name
    }
}

/// A readable name `<model>_<columns>_idx`, shortened to 30 characters by trimming the longest
/// words first, `[a-z][a-z0-9_]*`, and not in `taken` (a number from `from` on is added when
/// needed); with the number used.
fn index_name(model: &str, columns: &[Column], from: usize, taken: &HashSet<String>) -> (String, usize) {
    let clean = |word: &str| -> String {
        word.to_ascii_lowercase().chars().map(|c| if c.is_ascii_alphanumeric() { c } else { '_' }).collect()
    };
    let mut words: Vec<String> = vec![clean(model)];
    words.extend(columns.iter().map(|c| clean(&c.field)));
    for suffix in from.. {
        let tail = if suffix == 1 { "idx".to_owned() } else { format!("{suffix}_idx") };
        let mut words = words.clone();
        let length = |words: &[String]| words.iter().map(|w| w.len() + 1).sum::<usize>() + tail.len();
        // First whole sub-words (`created_at` -> `created`), then characters of the longest word.
        while length(&words) > MAX_NAME {
            let compound = (1..words.len()).filter(|&i| words[i].contains('_')).max_by_key(|&i| words[i].len());
            let Some(i) = compound else { break };
            let cut = words[i].rfind('_').expect("has an underscore");
            words[i].truncate(cut);
        }
        while length(&words) > MAX_NAME {
            // The model is trimmed last: it says which table the index belongs to.
            let from = if words[1..].iter().any(|w| w.len() > 3) { 1 } else { 0 };
            let longest = (from..words.len()).max_by_key(|&i| (words[i].len(), std::cmp::Reverse(i))).unwrap();
            if words[longest].len() <= 1 {
                words.pop();
                continue;
            }
            let keep = words[longest].len() - 1;
            words[longest].truncate(keep);
        }
        let joined: Vec<String> =
            words.iter().map(|w| w.trim_matches('_').to_owned()).filter(|w| !w.is_empty()).collect();
        let mut name = format!("{}_{tail}", joined.join("_"));
        if !name.starts_with(|c: char| c.is_ascii_lowercase()) {
            name.insert(0, 'i');
            name.truncate(MAX_NAME);
        }
        if !taken.contains(&name) {
            return (name, suffix);
        }
    }
    unreachable!("some suffix is free")
}

/// The quote character a file prefers: the more frequent of `"` and `'` (double on a tie).
pub fn quote_of(text: &str) -> char {
    let double = text.matches('"').count();
    let single = text.matches('\'').count();
    if single > double { '\'' } else { '"' }
}

/// How the models file names `Index`: through the name it binds to Django's models module
/// (`from django.db import IntegrityError, models`, `... import models as m`, GeoDjango's
/// `from django.contrib.gis.db import models`), else a bare imported `Index` (`from
/// django.db.models import Index as Idx` gives `Idx`). `None` when it binds neither.
pub fn index_class(file: &PyFile) -> Option<String> {
    let mut bare = None;
    for statement in python::module_statements(file.root()) {
        if statement.kind() != "import_from_statement" {
            continue;
        }
        let Some(module) = statement.child_by_field_name("module_name").map(|m| file.text(m)) else { continue };
        let mut cursor = statement.walk();
        for name in statement.children_by_field_name("name", &mut cursor) {
            let (imported, bound) = match name.kind() {
                "aliased_import" => match (name.child_by_field_name("name"), name.child_by_field_name("alias")) {
                    (Some(imported), Some(alias)) => (file.text(imported), file.text(alias)),
                    _ => continue,
                },
                _ => (file.text(name), file.text(name)),
            };
            match (module, imported) {
                ("django.db" | "django.contrib.gis.db", "models") => return Some(format!("{bound}.Index")),
                ("django.db.models" | "django.contrib.gis.db.models", "Index") => {
                    bare = bare.or(Some(bound.to_owned()))
                }
                _ => {}
            }
        }
    }
    // A file that already writes `models.Index(` binds `models` to a module that has it.
    bare.or_else(|| file.source.text.contains("models.Index(").then(|| "models.Index".to_owned()))
}

/// `models.Index(fields=["conversation", "-created_at"], name="chat_message_conv_idx")`.
pub fn index_expression(class: &str, index: &NewIndex, quote: char) -> String {
    let fields: Vec<String> = index.columns.iter().map(|c| format!("{quote}{}{quote}", c.spelled())).collect();
    format!("{class}(fields=[{}], name={quote}{}{quote})", fields.join(", "), index.name)
}

/// The edits that add `indexes` to a model's Meta. `inherited` is the abstract base whose Meta
/// the model inherits (the new Meta must extend it), with whether that Meta has indexes.
pub fn meta_edits(
    parsed: &PyFile,
    model: &ModelClass,
    inherited: Option<(&str, bool)>,
    indexes: &[NewIndex],
) -> Result<Vec<Edit>, String> {
    let file = &parsed.source;
    let nl = file.newline();
    let unit = file.indent_unit();
    let quote = quote_of(&file.text);
    let class = index_class(parsed).ok_or("the file imports neither `models` nor `Index` from django.db")?;
    let expressions: Vec<String> = indexes.iter().map(|i| index_expression(&class, i, quote)).collect();
    let list_body = |indent: &str, first: Option<String>| -> String {
        let mut text = format!("{indent}indexes = [{nl}");
        for item in first.into_iter().chain(expressions.iter().cloned()) {
            text.push_str(&format!("{indent}{unit}{item},{nl}"));
        }
        text.push_str(&format!("{indent}]{nl}"));
        text
    };
    let at_end = |at: usize, text: String| -> Edit {
        if at == file.text.len() && !file.ends_with_newline() {
            Edit::insert(at, format!("{nl}{}", text.strip_suffix(nl).unwrap_or(&text)))
        } else {
            Edit::insert(at, text)
        }
    };
    match &model.meta {
        Some(meta) if meta.inline_body => Err("its `class Meta` is written on one line".into()),
        Some(meta) if meta.indexes_opaque => Err("its `Meta.indexes` is not a list literal".into()),
        Some(meta) => match &meta.indexes_list {
            Some(list) => Ok(append_to_list(file, list, &expressions)),
            None => {
                let text = list_body(&meta.body_indent, None);
                Ok(vec![match &meta.lone_pass {
                    Some(pass) => Edit::replace(pass.clone(), text),
                    None => at_end(meta.insert_at, text),
                }])
            }
        },
        None if model.inline_body => Err("the class body is written on the `class` line".into()),
        None => {
            let indent = &model.body_indent;
            let inner = format!("{indent}{unit}");
            let (bases, spread) = match inherited {
                Some((base, has_indexes)) => {
                    (format!("({base}.Meta)"), has_indexes.then(|| format!("*{base}.Meta.indexes")))
                }
                None => (String::new(), None),
            };
            let text = format!("{nl}{indent}class Meta{bases}:{nl}{}", list_body(&inner, spread));
            Ok(vec![at_end(model.meta_insert_at, text)])
        }
    }
}

/// Appends items to an existing list literal, following its layout and trailing-comma habit.
fn append_to_list(file: &SourceFile, list: &ListSite, items: &[String]) -> Vec<Edit> {
    let nl = file.newline();
    let close_line_start = file.start_of_line(list.close);
    let close_alone = file.text[close_line_start..list.close].trim().is_empty();
    let mut edits = Vec::new();
    if list.multiline && close_alone {
        let comma = if list.last_item.is_none() || list.trailing_comma { "," } else { "" };
        if let (Some(last), false) = (&list.last_item, list.trailing_comma) {
            edits.push(Edit::insert(last.end, ","));
        }
        let mut text = String::new();
        for (i, item) in items.iter().enumerate() {
            let sep = if i + 1 == items.len() { comma } else { "," };
            text.push_str(&format!("{}{item}{sep}{nl}", list.item_indent));
        }
        edits.push(Edit::insert(close_line_start, text));
        return edits;
    }
    let joined = items.join(", ");
    match (&list.last_item, list.trailing_comma) {
        (None, _) if list.tuple => edits.push(Edit::insert(list.close, format!("{joined},"))),
        (None, _) => edits.push(Edit::insert(list.close, joined)),
        (Some(last), false) => edits.push(Edit::insert(last.end, format!(", {joined}"))),
        (Some(_), true) => {
            let comma = file.text[..list.close].rfind(',').expect("a trailing comma precedes the bracket");
            edits.push(Edit::insert(comma + 1, format!(" {joined},")));
        }
    }
    edits
}

/// One model's part of a migration: `model_name` and its new indexes.
pub struct ModelIndexes {
    pub model_name: String,
    pub indexes: Vec<NewIndex>,
}

/// The text of the new migration module. [`Build::ConcurrentlyOnPostgres`] keeps plain
/// `AddIndex` operations (the state `makemigrations` compares, and what `squashmigrations` copies)
/// and swaps them for `AddIndexConcurrently` while the migration runs on PostgreSQL: that import
/// needs psycopg, so it happens only there, and SQLite test runs apply the same file plainly.
pub fn migration(
    app_label: &str,
    leaf: &str,
    models: &[ModelIndexes],
    build: Build,
    quote: char,
    header: &str,
) -> String {
    let q = quote;
    let concurrent = build == Build::ConcurrentlyOnPostgres;
    let mut text = format!("{header}\n\n");
    if concurrent {
        text.push_str("import contextlib\n\n");
    }
    text.push_str("from django.db import migrations, models\n\n\nclass Migration(migrations.Migration):\n");
    if concurrent {
        text.push_str(
            "    # On PostgreSQL the indexes are built with CREATE INDEX CONCURRENTLY, which does not block\n    \
             # the table's writes while it builds and cannot run in a transaction; on other databases\n    \
             # (a test run on SQLite) with a plain CREATE INDEX. The migration state is the same.\n    \
             atomic = False\n\n",
        );
    }
    text.push_str(&format!("    dependencies = [\n        ({q}{app_label}{q}, {q}{leaf}{q}),\n    ]\n\n"));
    text.push_str("    operations = [\n");
    for model in models {
        for index in &model.indexes {
            text.push_str(&format!(
                "        migrations.AddIndex(\n            model_name={q}{}{q},\n            index={},\n        ),\n",
                model.model_name,
                index_expression("models.Index", index, q)
            ));
        }
    }
    text.push_str("    ]\n");
    if concurrent {
        text.push_str(&CONCURRENTLY_ON_POSTGRES.replace('"', &q.to_string()));
    }
    text
}

/// The methods of a [`Build::ConcurrentlyOnPostgres`] migration: the vendor is known only when
/// the migration runs (`migrate`, `sqlmigrate`), from the connection its schema editor uses.
const CONCURRENTLY_ON_POSTGRES: &str = r#"
    def apply(self, project_state, schema_editor, collect_sql=False):
        with self._concurrently_on_postgresql(schema_editor):
            return super().apply(project_state, schema_editor, collect_sql)

    def unapply(self, project_state, schema_editor, collect_sql=False):
        with self._concurrently_on_postgresql(schema_editor):
            return super().unapply(project_state, schema_editor, collect_sql)

    @contextlib.contextmanager
    def _concurrently_on_postgresql(self, schema_editor):
        plain = self.operations
        if schema_editor.connection.vendor == "postgresql":
            from django.contrib.postgres.operations import AddIndexConcurrently

            self.operations = [AddIndexConcurrently(op.model_name, op.index) for op in plain]
        try:
            yield
        finally:
            self.operations = plain
"#;

#[cfg(test)]
mod tests {
    use super::*;

    fn cols(spelled: &[&str]) -> Vec<Column> {
        spelled
            .iter()
            .map(|s| match s.strip_prefix('-') {
                Some(f) => Column { field: f.into(), desc: true },
                None => Column { field: s.to_string(), desc: false },
            })
            .collect()
    }

    #[test]
    fn names_fit_and_stay_unique() {
        let mut namer = Namer::default();
        let name = namer.name("Message", &cols(&["conversation", "-created_at"]));
        assert!(name.len() <= MAX_NAME, "{name}");
        assert_eq!(name, "message_conversati_created_idx");
        let mut namer = Namer::new(["order_status_idx".to_owned()]);
        assert_eq!(namer.name("Order", &cols(&["status"])), "order_status_2_idx");
        assert_eq!(namer.name("Order", &cols(&["status"])), "order_status_3_idx");
        let long = namer.name("AnotherVeryVeryLongModelName", &cols(&["a", "b", "c"]));
        assert!(long.len() <= MAX_NAME && long.starts_with('a'), "{long}");
    }

    /// The name bound to Django's models module or to `Index`, in the import forms real models
    /// files use (takahe's `from django.db import IntegrityError, models, transaction`).
    #[test]
    fn index_class_follows_the_file_imports() {
        let class = |src: &str| {
            index_class(&crate::lang::python::parse(std::sync::Arc::new(SourceFile::from_text("m.py", src))).unwrap())
        };
        assert_eq!(class("from django.db import models\n").as_deref(), Some("models.Index"));
        assert_eq!(
            class("from django.db import IntegrityError, models, transaction\n").as_deref(),
            Some("models.Index")
        );
        assert_eq!(
            class("from django.db import (\n    connection,  # raw SQL\n    models,\n)\n").as_deref(),
            Some("models.Index")
        );
        assert_eq!(class("from django.db import models as m\n").as_deref(), Some("m.Index"));
        assert_eq!(class("from django.contrib.gis.db import models\n").as_deref(), Some("models.Index"));
        assert_eq!(class("from django.db import transaction, \\\n    models\n").as_deref(), Some("models.Index"));
        assert_eq!(class("from django.db.models import Model, Index as Idx\n").as_deref(), Some("Idx"));
        assert_eq!(
            class("try:\n    from django.db import models\nexcept ImportError:\n    pass\n").as_deref(),
            Some("models.Index")
        );
        assert_eq!(class("from django.db import transaction\n# from django.db import models\n"), None);
        assert_eq!(class("x = 'from django.db import models'\n"), None);
        assert_eq!(class("from myapp import models\n"), None);
    }

    fn apply(src: &str) -> String {
        let parsed =
            crate::lang::python::parse(std::sync::Arc::new(SourceFile::from_text("app/models.py", src))).unwrap();
        let classes = crate::facts::indexes::models::read_classes(&parsed);
        let index = NewIndex { name: "app_m_b_idx".into(), columns: cols(&["b", "-c"]) };
        let edits = meta_edits(&parsed, &classes[0], None, &[index]).unwrap();
        crate::text::edit::apply_edits(&parsed.source.text, &edits).unwrap()
    }

    #[test]
    fn appends_to_a_one_line_list() {
        let src = "from django.db import models\n\nclass M(models.Model):\n    b = models.IntegerField()\n\n    class Meta:\n        indexes = [models.Index(fields=[\"b\"], name=\"m_b\")]\n";
        assert!(apply(src).ends_with(
            "indexes = [models.Index(fields=[\"b\"], name=\"m_b\"), models.Index(fields=[\"b\", \"-c\"], name=\"app_m_b_idx\")]\n"
        ));
    }

    #[test]
    fn multi_line_list_without_trailing_comma_keeps_its_habit() {
        let src = "from django.db import models\n\nclass M(models.Model):\n    b = models.IntegerField()\n\n    class Meta:\n        indexes = [\n            models.Index(fields=['b'], name='m_b')\n        ]\n";
        assert!(apply(src).ends_with(
            "            models.Index(fields=['b'], name='m_b'),\n            models.Index(fields=['b', '-c'], name='app_m_b_idx')\n        ]\n"
        ), "{}", apply(src));
    }

    #[test]
    fn replaces_a_lone_pass() {
        let src = "from django.db import models\n\nclass M(models.Model):\n    b = models.IntegerField()\n\n    class Meta:\n        pass\n\n    def f(self):\n        pass\n";
        let out = apply(src);
        assert!(out.contains("    class Meta:\n        indexes = [\n            models.Index(fields=[\"b\", \"-c\"], name=\"app_m_b_idx\"),\n        ]\n\n    def f"), "{out}");
    }

    #[test]
    fn new_meta_with_tabs_crlf_and_no_final_newline() {
        let src = "from django.db import models\r\n\r\nclass M(models.Model):\r\n\tb = models.IntegerField()";
        let out = apply(src);
        assert_eq!(
            out,
            "from django.db import models\r\n\r\nclass M(models.Model):\r\n\tb = models.IntegerField()\r\n\r\n\tclass Meta:\r\n\t\tindexes = [\r\n\t\t\tmodels.Index(fields=[\"b\", \"-c\"], name=\"app_m_b_idx\"),\r\n\t\t]"
        );
    }
}
