//! Python source as syntax nodes with byte ranges (tree-sitter-python), for patches that edit
//! Django settings and other Python modules in place.
//!
//! Three jobs, kept apart:
//! - **parsing** ([`parse`]): a file with any ERROR or MISSING node (or an indentation CPython
//!   refuses) is refused, because tree-sitter recovers from errors and an edit placed in a
//!   recovered tree could land anywhere; the error names the line CPython would name and quotes
//!   the offending token;
//! - **reading** ([`assignments`] with their [`Scope`], [`assignment_of`], [`subscript_path`],
//!   [`dotted_name`], [`dict_pairs`], [`dict_lookup`] (which follows `**splats`), [`kwargs`],
//!   [`positional_args`], [`named_children`], [`module_value`], [`module_path`], [`literal`],
//!   [`string_value`], [`string_content`]): the shapes settings, models and config files are
//!   written in, each with the node it came from so that an edit can be placed by byte offset;
//! - **writing** ([`Style`], [`insert_items`], [`insert_statements_after`], [`noqa_of`]): new dict
//!   entries, keyword arguments and statements written the way the surrounding code is written
//!   (quote character, tabs or spaces, indent width, trailing commas, line endings, same-line
//!   comments, a missing final newline).
//!
//! ```
//! use std::sync::Arc;
//! use scalepatch::text::edit::apply_edits;
//! use scalepatch::lang::python::{self, Scope};
//! use scalepatch::text::source::SourceFile;
//!
//! let text = "CACHES = {\n\t'default': {\n\t\t'BACKEND': 'x'  # note\n\t}\n}\n";
//! let file = python::parse(Arc::new(SourceFile::from_text("settings.py", text))).unwrap();
//! let (caches, scope) = python::assignments(&file).into_iter().next().unwrap();
//! assert_eq!(scope, Scope::Module);
//! let default = python::dict_get(caches.value, text, "default").unwrap().value;
//! let style = file.style().local(default, text);
//! let item = format!("{}: 5", style.string("TIMEOUT"));
//! let edits = python::insert_items(&file, default, &[item], &style);
//! assert_eq!(
//!     apply_edits(text, &edits).unwrap(),
//!     "CACHES = {\n\t'default': {\n\t\t'BACKEND': 'x',  # note\n\t\t'TIMEOUT': 5\n\t}\n}\n"
//! );
//! ```

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, LazyLock, Mutex};

use tree_sitter::{Node, Parser, Tree};

use crate::text::edit::Edit;
use crate::text::location::Location;
use crate::text::source::SourceFile;

/// A Python file and its syntax tree (free of syntax errors).
pub struct PyFile {
    pub source: Arc<SourceFile>,
    pub tree: Tree,
}

/// Why a Python file could not be used: the first syntax error, with its line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{location}: Python syntax error ({detail}); the file is left alone")]
pub struct SyntaxError {
    pub location: Location,
    pub detail: String,
}

/// Parses `source`; refuses a file with a syntax error, naming the line CPython would name (see
/// [`first_problem`]) and quoting the offending token.
pub fn parse(source: Arc<SourceFile>) -> Result<PyFile, SyntaxError> {
    match parsed(&source) {
        Ok(tree) => Ok(PyFile { source, tree }),
        Err(Refusal { line, detail }) => {
            Err(SyntaxError { location: Location::new(source.path.clone(), line), detail })
        }
    }
}

/// A syntax error without its file: what the parse cache keeps.
#[derive(Clone)]
struct Refusal {
    line: usize,
    detail: String,
}

/// The verdicts already reached this run, by the hash of the text they were reached on.
///
/// A plan parses the same text many times: each analysis of the project, the combination of a
/// file's edits, the self-check's re-parse of every edited file, and the analyses again on the
/// patched tree (whose unedited files are the project's own). The tree depends on the text alone,
/// and cloning one is a reference count, so each distinct text is parsed once. Bounded by the
/// bytes of source it holds, so a huge repository parses afresh once the cache is full rather
/// than holding every tree.
struct ParseCache {
    verdicts: HashMap<String, Result<Tree, Refusal>>,
    bytes: usize,
}

/// Source bytes whose trees the cache keeps (trees take several times their text).
const PARSE_CACHE_BYTES: usize = 8 << 20;

static PARSE_CACHE: LazyLock<Mutex<ParseCache>> =
    LazyLock::new(|| Mutex::new(ParseCache { verdicts: HashMap::new(), bytes: 0 }));

fn parsed(source: &SourceFile) -> Result<Tree, Refusal> {
    if let Some(verdict) = PARSE_CACHE.lock().expect("parse cache poisoned").verdicts.get(&source.hash) {
        return verdict.clone();
    }
    let verdict = parse_text(&source.text);
    let mut cache = PARSE_CACHE.lock().expect("parse cache poisoned");
    if cache.bytes + source.text.len() <= PARSE_CACHE_BYTES {
        cache.bytes += source.text.len();
        cache.verdicts.insert(source.hash.clone(), verdict.clone());
    }
    verdict
}

/// Whether CPython would accept `text` (the file `path`), without keeping a tree: what the plan
/// and the self-check ask of every text they write, several times each. Only the verdicts are
/// kept (by text hash, a few bytes each), so every edited file of a plan with thousands of them
/// is parsed once per distinct text, whatever the size of the tree cache; a text an analysis
/// already parsed (a file as read) answers from the tree cache.
pub fn check(path: &Path, text: &str) -> Result<(), SyntaxError> {
    check_hashed(path, text, crate::text::source::hash_bytes(text.as_bytes()))
}

/// [`check`] of a text whose hash the caller already computed.
fn check_hashed(path: &Path, text: &str, hash: String) -> Result<(), SyntaxError> {
    let known = CHECKED.lock().expect("check cache poisoned").get(&hash).cloned().or_else(|| {
        // A text an analysis parsed (a file as read, whose hash is its text's when it has no BOM).
        PARSE_CACHE.lock().expect("parse cache poisoned").verdicts.get(&hash).map(|verdict| verdict.clone().err())
    });
    let verdict = known.unwrap_or_else(|| {
        let verdict = parse_text(text).map(|_| ()).err();
        CHECKED.lock().expect("check cache poisoned").insert(hash, verdict.clone());
        verdict
    });
    match verdict {
        None => Ok(()),
        Some(Refusal { line, detail }) => Err(SyntaxError { location: Location::new(path, line), detail }),
    }
}

/// [`check`] for `after`, the text of `before` with `edits` applied. When the tree cache holds
/// `before`'s tree, `after` is parsed incrementally from it: tree-sitter reuses every subtree the
/// edits leave alone, so a plan that adds `Meta.indexes` to a thousand models files re-parses a
/// few lines of each instead of each file whole. A problem found that way is confirmed by a full
/// parse, so a refusal names what [`check`] names.
pub fn check_edited(before: &SourceFile, edits: &[Edit], after: &str) -> Result<(), SyntaxError> {
    let hash = crate::text::source::hash_bytes(after.as_bytes());
    let known = CHECKED.lock().expect("check cache poisoned").contains_key(&hash);
    let tree = PARSE_CACHE.lock().expect("parse cache poisoned").verdicts.get(&before.hash).cloned();
    let (false, Some(Ok(mut tree))) = (known, tree) else { return check_hashed(&before.path, after, hash) };
    for edit in incremental::input_edits(&before.text, edits) {
        tree.edit(&edit);
    }
    match with_parser(|parser| parser.parse(after, Some(&tree))) {
        Some(tree) if first_problem(tree.root_node(), after).is_none() => {
            CHECKED.lock().expect("check cache poisoned").insert(hash, None);
            Ok(())
        }
        _ => check_hashed(&before.path, after, hash),
    }
}

/// [`check`]'s verdicts: `None` for a text CPython accepts.
static CHECKED: LazyLock<Mutex<HashMap<String, Option<Refusal>>>> = LazyLock::new(|| Mutex::new(HashMap::new()));

/// Runs `parse` with this thread's parser: a parser holds a few allocated stacks and buffers, made
/// once per thread rather than once for each of the thousands of texts a plan may check.
fn with_parser<T>(parse: impl FnOnce(&mut Parser) -> T) -> T {
    thread_local! {
        static PARSER: std::cell::RefCell<Parser> = std::cell::RefCell::new({
            let mut parser = Parser::new();
            parser.set_language(&tree_sitter_python::LANGUAGE.into()).expect("tree-sitter-python matches the runtime ABI");
            parser
        });
    }
    PARSER.with_borrow_mut(parse)
}

fn parse_text(text: &str) -> Result<Tree, Refusal> {
    let Some(tree) = with_parser(|parser| parser.parse(text, None)) else {
        return Err(Refusal { line: 0, detail: "the parser gave up".to_owned() });
    };
    if let Some(problem) = first_problem(tree.root_node(), text) {
        return Err(Refusal { line: problem.line, detail: problem.detail });
    }
    Ok(tree)
}

mod incremental;
mod read;
mod syntax;
mod tokens;
mod write;

pub use read::*;
pub use write::*;

use syntax::first_problem;

impl PyFile {
    pub fn root(&self) -> Node<'_> {
        self.tree.root_node()
    }

    /// The source text of a node.
    pub fn text(&self, node: Node) -> &str {
        &self.source.text[node.byte_range()]
    }

    /// 1-based line of a node's start.
    pub fn line(&self, node: Node) -> usize {
        node.start_position().row + 1
    }

    /// The location of a node, for outcomes.
    pub fn location(&self, node: Node) -> Location {
        Location::new(self.source.path.clone(), self.line(node))
    }

    /// The style this file writes Python in (see [`Style::of`]).
    pub fn style(&self) -> Style {
        Style::of(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::text::edit::apply_edits;

    /// The parse cache keeps verdicts by text: the same text under another name parses to the
    /// same tree, and its syntax error names the file that was asked for.
    #[test]
    fn a_cached_verdict_names_the_file_asked_for() {
        let bad = "x = (1,\n";
        let refused = |path: &str| match parse(Arc::new(SourceFile::from_text(path, bad))) {
            Err(error) => error,
            Ok(_) => panic!("{path} parsed"),
        };
        let (first, second) = (refused("a/settings.py"), refused("b/settings.py"));
        assert_eq!(first.location.path, Path::new("a/settings.py"));
        assert_eq!(second.location.path, Path::new("b/settings.py"));
        assert_eq!((first.location.line, &first.detail), (second.location.line, &second.detail));
        let good = "A = 1\n";
        let (one, two) = (py(good), parse(Arc::new(SourceFile::from_text("other.py", good))).unwrap());
        assert_eq!(one.root().to_sexp(), two.root().to_sexp());
        assert_eq!(two.source.path, Path::new("other.py"));
    }

    fn py(text: &str) -> PyFile {
        parse(Arc::new(SourceFile::from_text("settings.py", text))).unwrap()
    }

    /// An edited text checked incrementally from its original's tree gets the verdict a full
    /// check gives: accepted when valid, refused with the same line and words when not.
    #[test]
    fn edited_texts_get_the_full_checks_verdict() {
        let text = "class Item(models.Model):\n    name = models.CharField()\n\n    class Meta:\n        ordering = ['name']\n";
        let before = py(text).source;
        let at = text.find("        ordering").unwrap();
        let good = [Edit::insert(at, "        indexes = [models.Index(fields=['name'], name='item_name_idx')]\n")];
        let after = apply_edits(text, &good).unwrap();
        assert!(check_edited(&before, &good, &after).is_ok());
        let bad = [Edit::insert(at, "        indexes = [models.Index(fields=['name']\n")];
        let after = apply_edits(text, &bad).unwrap();
        let refused = check_edited(&before, &bad, &after).unwrap_err();
        let full = parse_text(&after).err().unwrap();
        assert_eq!((refused.location.line, refused.detail), (full.line, full.detail));
        assert_eq!(refused.location.path, Path::new("settings.py"));
    }

    fn add(text: &str, items: &[&str]) -> String {
        let file = py(text);
        let (assignment, _) = assignments(&file).into_iter().next().unwrap();
        let items: Vec<String> = items.iter().map(|s| s.to_string()).collect();
        let edits = insert_items(&file, assignment.value, &items, &file.style());
        apply_edits(text, &edits).unwrap()
    }

    #[test]
    fn syntax_errors_name_the_line() {
        let err = parse(Arc::new(SourceFile::from_text("s.py", "A = 1\nB = {\n  'x': 1\nC = 2\n"))).err().unwrap();
        assert_eq!(err.location.path, std::path::PathBuf::from("s.py"));
        assert!(err.location.line >= 2, "{err}");
        let err = parse(Arc::new(SourceFile::from_text("s.py", "A = 1\nB = )\n"))).err().unwrap();
        assert_eq!(err.location.line, 2, "{err}");
    }

    /// Broken snippets and the line CPython reports for each. The expected lines were computed once
    /// with the venv's CPython 3.11.7 (`python -c "compile(open(f).read(), f, 'exec')"`, reading
    /// `SyntaxError.lineno`) and hard-coded here; the quoted part is what our message must contain.
    #[test]
    fn syntax_errors_are_reported_at_cpythons_line() {
        let cases: &[(&str, &str, usize, &str)] = &[
            // CPython: 3 "'{' was never closed"
            (
                "unclosed dict",
                "import os\n\nDATABASES = {\n    'default': {\n        'ENGINE': 'x',\n    },\n\nCACHES = {}\nDEBUG = True\n",
                3,
                "`{` was never closed",
            ),
            // CPython: 2 "'(' was never closed"
            ("unclosed call", "x = 1\ny = foo(1,\n  2\nz = 3\n", 2, "`(` was never closed"),
            // CPython: 2 "'[' was never closed"
            ("unclosed list", "# header\nINSTALLED_APPS = [\n    'a',\n    'b',\n\nMIDDLEWARE = []\n", 2, "`[`"),
            // CPython: 2 "unexpected indent"
            ("unexpected indent", "x = 1\n    y = 2\nz = 3\n", 2, "unexpected indent"),
            // CPython: 3 "unindent does not match any outer indentation level"
            ("bad dedent", "def f():\n        a = 1\n    b = 2\n", 3, "unindent does not match"),
            // CPython: 2 "unmatched ')'"
            ("stray paren", "a = 1\nb = (2 + 3))\nc = 4\n", 2, "unmatched `)`"),
            // CPython: 3 "expected ':'"
            ("def without colon", "import os\n\ndef f(x)\n    return x\n", 3, "`def f(x)`"),
            // CPython: 2 "expected ':'"
            (
                "if without colon",
                "import os\nif os.environ.get('X')\n    DEBUG = True\n",
                2,
                "`if os.environ.get('X')`",
            ),
            // CPython: 2 "unterminated string literal (detected at line 2)"
            (
                "unterminated string",
                "A = 1\nB = 'abc\nC = 2\n",
                2,
                "unterminated string literal (detected at line 2) in `B = 'abc`",
            ),
            // CPython: 4 "invalid syntax"
            (
                "jinja if",
                "# ruff: noqa\nimport os\n\n{% if cookiecutter.use_celery == 'y' %}\nCELERY = 1\n{% endif %}\n",
                4,
                "`{% if cookiecutter.use_celery == 'y' %}`",
            ),
            // CPython: 4 "invalid syntax" (cookiecutter-django's base.py: the ERROR span starts at line 1)
            (
                "jinja after a comment and a docstring",
                "# ruff: noqa: ERA001, E501\n\"\"\"Base settings.\"\"\"\n\n{% if cookiecutter.use_celery == \"y\" -%}\nimport ssl\n{%- endif %}\nfrom pathlib import Path\n",
                4,
                "{% if",
            ),
            // CPython: 2 "expected an indented block after function definition on line 1"
            ("empty body", "def f():\nx = 1\n", 2, "expected an indented block after `def f():`"),
            // CPython: 3 "expected 'except' or 'finally' block"
            ("try alone", "try:\n    x = 1\ny = 2\n", 3, "expected `except` or `finally`"),
            // CPython: 3 "unindent does not match any outer indentation level"
            ("misaligned else", "if a:\n    x = 1\n  else:\n    y = 2\n", 3, "unindent does not match"),
            // CPython: 3 "expected ':'" (the nested ERROR at `return` is not the mistake)
            (
                "if without colon in a decorated def",
                "@register(Tags.database)\ndef check(databases=None):\n    if databases is None\n        return []\n",
                3,
                "unexpected `if`",
            ),
            // CPython: 5 "invalid syntax"
            (
                "error after comments",
                "# ruff: noqa\n# two\n# three\nDEBUG = True\nX = = 1\nY = 2\n",
                5,
                "unexpected `=`",
            ),
            // CPython: 2 "invalid syntax. Perhaps you forgot a comma?"
            ("missing comma", "D = {\n    'a': 1\n    'b': 2,\n}\n", 2, "`'a': 1` (a comma missing after it?)"),
            // CPython: 5 "invalid syntax" (`"app"` and `"HOST"` concatenate; the `:` after them is the error)
            (
                "missing comma between strings",
                "DATABASES = {\n    'default': {\n        \"NAME\": \"app\"\n        \"HOST\": \"db\",\n    }\n}\n",
                4,
                "unexpected `:` in `\"HOST\": \"db\",`",
            ),
        ];
        for (name, text, line, quoted) in cases {
            let err = match parse(Arc::new(SourceFile::from_text("s.py", text))) {
                Ok(_) => panic!("{name}: parsed without error"),
                Err(err) => err,
            };
            assert_eq!(err.location.line, *line, "{name}: {err}");
            assert!(err.detail.contains(quoted), "{name}: {err} should quote {quoted}");
        }
    }

    #[test]
    fn valid_indentation_and_brackets_are_not_errors() {
        for text in [
            "if x:\n\tA = 1\n\tB = 2\nelse:\n\tA = 3\n",
            "def f():\n    a = 1  # c\n  # odd comment\n    return (\n  a\n)\n",
            "x = 1; y = 2\nif x: y = 3\nclass C:\n    @property\n    def p(self):\n        return f\"{{x}} {y}\"\n",
            "match x:\n    case 1:\n        pass\n    case _:\n        pass\n",
            "S = '''a\n  (\n'''\nT = \"[\" + '{'\n",
        ] {
            assert!(parse(Arc::new(SourceFile::from_text("s.py", text))).is_ok(), "{text}");
        }
    }

    #[test]
    fn literals_and_paths() {
        let file = py("A = -1\nB = None\nC = 'a' \"b\"\nD = f'{x}'\nX['a'][k] = 3\n");
        let values: Vec<_> = assignments(&file).iter().map(|(a, _)| literal(a.value, &file.source.text)).collect();
        assert_eq!(
            values,
            [Some(Literal::Int(-1)), Some(Literal::None), Some(Literal::Str("ab".into())), None, Some(Literal::Int(3))]
        );
        let (last, _) = assignments(&file)[4];
        let (base, indexes) = subscript_path(last.left, &file.source.text).unwrap();
        assert_eq!(base, "X");
        assert_eq!(indexes, [Index::Key("a".into()), Index::Name("k".into())]);
    }

    #[test]
    fn lookups_follow_splats_and_later_entries() {
        let file = py("BASE = {'A': 1, 'B': 2}\nD = {**BASE, 'B': 3, **f()}\nE = {'C': 0, **BASE}\n");
        let found = assignments(&file);
        let value = |lookup: Lookup| match lookup {
            Lookup::Found(pair) => file.text(pair.value).to_owned(),
            Lookup::Missing => "missing".to_owned(),
            Lookup::Unknown(splat) => file.text(splat).to_owned(),
        };
        assert_eq!(value(dict_lookup(&file, found[1].0.value, "A")), "**f()");
        assert_eq!(value(dict_lookup(&file, found[2].0.value, "A")), "1");
        assert_eq!(value(dict_lookup(&file, found[2].0.value, "C")), "0");
        assert_eq!(value(dict_lookup(&file, found[2].0.value, "Z")), "missing");
        let file = py("BASE = {'A': 1}\nD = {**BASE, 'B': 3}\n");
        let d = assignments(&file)[1].0.value;
        assert!(matches!(dict_lookup(&file, d, "A"), Lookup::Found(p) if file.line(p.node) == 1));
        assert!(matches!(dict_lookup(&file, d, "B"), Lookup::Found(p) if file.line(p.node) == 2));
    }

    #[test]
    fn module_paths_of_imports() {
        let importer = Path::new("proj/settings/production.py");
        assert_eq!(module_path(importer, ".base"), Path::new("proj/settings/base"));
        assert_eq!(module_path(importer, "..models"), Path::new("proj/models"));
        assert_eq!(module_path(importer, "."), Path::new("proj/settings"));
        assert_eq!(module_path(importer, "blog.models"), Path::new("blog/models"));
    }

    #[test]
    fn scopes() {
        let file = py("if X:\n    A = 1\ndef f():\n    B = 2\nclass C:\n    D = 3\nfor a in b:\n    E = 4\n");
        let scopes: Vec<_> = assignments(&file).into_iter().map(|(_, s)| s).collect();
        assert_eq!(scopes[0], Scope::Module);
        assert_eq!(scopes[1], Scope::Opaque { what: "function `f`".into(), line: 3 });
        assert_eq!(scopes[2], Scope::Opaque { what: "class `C`".into(), line: 5 });
        assert_eq!(scopes[3], Scope::Loop { line: 7 });
    }

    #[test]
    fn inserts_in_multiline_dicts_keeping_comma_habit_and_comments() {
        assert_eq!(add("D = {\n    'a': 1,  # one\n}\n", &["'b': 2"]), "D = {\n    'a': 1,  # one\n    'b': 2,\n}\n");
        assert_eq!(
            add("D = {\n\t\"a\": 1  # one\n}\n", &["\"b\": 2", "\"c\": 3"]),
            "D = {\n\t\"a\": 1,  # one\n\t\"b\": 2,\n\t\"c\": 3\n}\n"
        );
        assert_eq!(add("D = {\r\n  'a': 1,\r\n}", &["'b': 2"]), "D = {\r\n  'a': 1,\r\n  'b': 2,\r\n}");
        assert_eq!(add("D = {\n  'a': 1,\n  'b': 1}\n", &["'c': 2"]), "D = {\n  'a': 1,\n  'b': 1, 'c': 2}\n");
        assert_eq!(
            add("D = {\n    'a': {\n        'x': 1,\n    },  # nested\n}\n", &["'b': 2"]),
            "D = {\n    'a': {\n        'x': 1,\n    },  # nested\n    'b': 2,\n}\n"
        );
    }

    #[test]
    fn inserts_in_inline_dicts_and_calls() {
        assert_eq!(add("D = {'a': 1}\n", &["'b': 2"]), "D = {'a': 1, 'b': 2}\n");
        assert_eq!(add("D = {'a': 1, }\n", &["'b': 2"]), "D = {'a': 1, 'b': 2, }\n");
        assert_eq!(add("D = {}\n", &["'b': 2"]), "D = {'b': 2}\n");
        assert_eq!(add("D = {\n}\n", &["'b': 2"]), "D = {\n    'b': 2,\n}\n");
        assert_eq!(add("D = f()\n", &["x=1"]), "D = f(x=1)\n");
        assert_eq!(add("D = f(a, b=2)\n", &["x=1"]), "D = f(a, b=2, x=1)\n");
        assert_eq!(add("D = f(\n    a,\n)\n", &["x=1"]), "D = f(\n    a,\n    x=1,\n)\n");
    }

    #[test]
    fn statements_after_keep_missing_final_newline() {
        let file = py("A = 1\nB = 2");
        let (b, _) = assignments(&file)[1];
        let edit = insert_statements_after(&file, b.statement, &["C = 3".into()], &file.style());
        assert_eq!(apply_edits(&file.source.text, &[edit]).unwrap(), "A = 1\nB = 2\nC = 3");
        let (a, _) = assignments(&file)[0];
        let edit = insert_statements_after(&file, a.statement, &["C = 3".into()], &file.style());
        assert_eq!(apply_edits(&file.source.text, &[edit]).unwrap(), "A = 1\nC = 3\nB = 2");
    }

    #[test]
    fn style_detection() {
        let file = py("A = 'x'\nB = {\n\t'y': \"z\",\n}\nC = 'w'\r\n");
        let style = file.style();
        assert_eq!((style.quote, style.indent_unit.as_str(), style.newline), ('\'', "\t", "\n"));
    }

    proptest::proptest! {
        /// Whatever the layout (inline or one per line, trailing comma or not, comments, CRLF,
        /// tabs), inserting keeps the file valid Python, keeps every original byte, and the new
        /// entries are found by the reader afterwards.
        #[test]
        fn inserted_items_always_parse(
            count in 0usize..4,
            multiline in proptest::bool::ANY,
            trailing in proptest::bool::ANY,
            comment in proptest::bool::ANY,
            crlf in proptest::bool::ANY,
            tabs in proptest::bool::ANY,
            new in 1usize..3,
        ) {
            let nl = if crlf { "\r\n" } else { "\n" };
            let indent = if tabs { "\t" } else { "    " };
            let entries: Vec<String> = (0..count).map(|i| format!("'k{i}': {i}")).collect();
            let body = if multiline && count > 0 {
                let mut body = String::from("{");
                for (i, entry) in entries.iter().enumerate() {
                    let comma = if i + 1 < count || trailing { "," } else { "" };
                    let note = if comment { "  # note" } else { "" };
                    body.push_str(&format!("{nl}{indent}{entry}{comma}{note}"));
                }
                body.push_str(&format!("{nl}}}"));
                body
            } else {
                let comma = if trailing && count > 0 { "," } else { "" };
                format!("{{{}{comma}}}", entries.join(", "))
            };
            let text = format!("X = 1{nl}D = {body}{nl}Y = 2{nl}");
            let file = py(&text);
            let (assignment, _) = assignments(&file).into_iter().nth(1).unwrap();
            let items: Vec<String> = (0..new).map(|i| format!("'n{i}': {i}")).collect();
            let edits = insert_items(&file, assignment.value, &items, &file.style());
            let after = apply_edits(&text, &edits).unwrap();
            let reparsed = parse(Arc::new(SourceFile::from_text("s.py", &after)));
            proptest::prop_assert!(reparsed.is_ok(), "{after:?}");
            let reparsed = reparsed.unwrap();
            let (dict, _) = assignments(&reparsed).into_iter().nth(1).unwrap();
            for i in 0..new {
                proptest::prop_assert!(dict_get(dict.value, &after, &format!("n{i}")).is_some(), "{after:?}");
            }
            for i in 0..count {
                proptest::prop_assert!(dict_get(dict.value, &after, &format!("k{i}")).is_some(), "{after:?}");
            }
            let inserted: usize = edits.iter().map(|e| e.replacement.len()).sum();
            proptest::prop_assert_eq!(after.len(), text.len() + inserted);
            if crlf {
                proptest::prop_assert!(!after.replace("\r\n", "").contains('\n'), "bare LF in {after:?}");
            }
        }
    }
}
