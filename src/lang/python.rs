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

use std::path::{Path, PathBuf};
use std::sync::Arc;

use tree_sitter::{Node, Parser, Tree};

use crate::lang::python_tokens;
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
    let mut parser = Parser::new();
    parser.set_language(&tree_sitter_python::LANGUAGE.into()).expect("tree-sitter-python matches the runtime ABI");
    let location = |line| Location::new(source.path.clone(), line);
    let Some(tree) = parser.parse(&source.text, None) else {
        return Err(SyntaxError { location: location(0), detail: "the parser gave up".to_owned() });
    };
    if let Some(problem) = first_problem(tree.root_node(), &source.text) {
        return Err(SyntaxError { location: location(problem.line), detail: problem.detail });
    }
    Ok(PyFile { source, tree })
}

/// A syntax error: 1-based line and what is wrong there.
struct Problem {
    line: usize,
    detail: String,
}

impl Problem {
    fn at(node: Node, detail: String) -> Problem {
        Problem { line: node.start_position().row + 1, detail }
    }
}

/// The syntax error a user should look at first, where CPython would report it.
///
/// tree-sitter recovers from errors, so the first ERROR node often starts far before the mistake
/// (at a comment above a Jinja tag, at `D = {` for a comma missing three lines down) and a missing
/// `}` makes it swallow the following statements. And it accepts some input CPython refuses (see
/// [`python_tokens`]). So, in CPython's order:
/// 1. tokenizer errors CPython raises win over parser errors, wherever they are: a bad string,
///    number or character, a `)` that closes nothing or the wrong bracket (at the closer);
/// 2. then the earliest of: an indentation error of the tokenizer (TabError, a dedent to no
///    outer level), the first MISSING node or the first token of the innermost first ERROR node,
///    a statement indented differently from its siblings (tree-sitter accepts `x = 1\n    y = 2`,
///    CPython does not), a statement tree-sitter accepts but Python 3 does not (two on one line
///    without `;`, `print "x"`), a bad f-string. On a tie the tokenizer wins: it reads a line
///    before the parser does;
/// 3. a bracket never closed (at the opener) wins over that unless it opened on a later line (on
///    the same line, the tree's error is its own recovery from the open bracket).
fn first_problem(root: Node, text: &str) -> Option<Problem> {
    let lexed = python_tokens::check(text);
    let problem = |err: python_tokens::LexicalError| Problem {
        line: err.line,
        detail: format!("{} in `{}`", err.detail, quote_line(text, err.line)),
    };
    let (raised, layout): (Vec<_>, Vec<_>) = lexed.tokenizer.into_iter().partition(|err| err.raised);
    if let Some(err) = raised.into_iter().next() {
        return Some(problem(err));
    }
    let tree = root.has_error().then(|| tree_problem(root, text)).flatten();
    // An ERROR span that reaches a mistake the lexical pass pinpoints (`{%` inside a list) is
    // tree-sitter's recovery from that mistake, not an earlier one.
    let recovery = |err: &python_tokens::LexicalError| {
        first_error(root).is_some_and(|error| error.end_position().row + 1 >= err.line)
    };
    let tree = tree.filter(|_| !lexed.parser.as_ref().is_some_and(recovery));
    let first =
        layout.into_iter().chain(lexed.parser).map(problem).chain(tree).chain(indentation_problem(root, text)).fold(
            None,
            |first: Option<Problem>, problem| match first {
                Some(first) if first.line <= problem.line => Some(first),
                _ => Some(problem),
            },
        );
    match lexed.unclosed.map(problem) {
        Some(unclosed) if first.as_ref().is_none_or(|first| unclosed.line <= first.line) => Some(unclosed),
        _ => first,
    }
}

/// The source tokens of `node` in document order (leaves; MISSING ones are not in the source).
fn leaves(node: Node) -> Vec<Node> {
    let mut found = Vec::new();
    let mut cursor = node.walk();
    let mut descend = true;
    loop {
        let current = cursor.node();
        if descend && current.child_count() == 0 && !current.is_missing() {
            found.push(current);
        }
        if descend && cursor.goto_first_child() {
            continue;
        }
        if cursor.goto_next_sibling() {
            descend = true;
            continue;
        }
        if !cursor.goto_parent() || cursor.node() == node {
            return found;
        }
        descend = false;
    }
}

/// The first MISSING node, or the first token of the innermost first ERROR node (comments
/// skipped: an ERROR span may start at an unrelated comment above the mistake).
fn tree_problem(root: Node, text: &str) -> Option<Problem> {
    let mut bad = first_error(root)?;
    // Go into a nested error only when everything before it in this ERROR parsed fine: after a
    // stray keyword (`if x` without its colon), the keyword is the mistake, not what follows.
    loop {
        let children = significant_children(bad);
        let Some(broken) = children.iter().find(|child| !complete(**child)) else { break };
        if !broken.is_named() && !broken.is_missing() {
            break;
        }
        match first_error(*broken).filter(|inner| *inner != bad) {
            Some(inner) => bad = inner,
            None => break,
        }
    }
    if bad.is_missing() {
        return Some(Problem::at(bad, format!("missing `{}` in `{}`", bad.kind(), line_of(bad, text))));
    }
    // An ERROR node holds what was parsed fine before the parser got stuck, then the token it got
    // stuck on. Whole statements before it are fine. After one complete expression, that token is
    // the mistake (`"a" "b": 1`: CPython reports the `:`); after two in a row, a comma is missing
    // between them and CPython reports the first (`'a': 1 'b': 2`).
    let children: Vec<Node> =
        significant_children(bad).into_iter().skip_while(|child| complete(*child) && statement(*child)).collect();
    let expressions = children.iter().take_while(|child| complete(**child) && !statement(**child)).count();
    let (culprit, hint) = match expressions {
        1 if children.len() > 1 => (children[1], ""),
        // One expression and nothing after it in the ERROR: the mistake is the next token
        // (`x = 1 \⏎ y = 2`: CPython reports `y`, on the next line).
        1 => (token_after(root, bad.end_byte()).unwrap_or(children[0]), ""),
        0 => (children.first().copied().unwrap_or(bad), ""),
        _ => (children[0], " (a comma missing after it?)"),
    };
    let token = leaves(culprit).into_iter().find(|leaf| leaf.kind() != "comment").unwrap_or(culprit);
    let snippet: String = text[token.byte_range()].lines().next().unwrap_or("").trim().chars().take(30).collect();
    let line = line_of(token, text);
    let detail = if line == snippet {
        format!("unexpected `{snippet}`{hint}")
    } else {
        format!("unexpected `{snippet}` in `{line}`{hint}")
    };
    Some(Problem::at(token, detail))
}

/// The children of `node` but comments.
fn significant_children(node: Node) -> Vec<Node> {
    let mut cursor = node.walk();
    node.children(&mut cursor).filter(|child| child.kind() != "comment").collect()
}

/// A named node parsed without any error inside.
fn complete(node: Node) -> bool {
    node.is_named() && !node.has_error() && !node.is_missing()
}

/// A statement or definition (as opposed to an expression).
fn statement(node: Node) -> bool {
    let kind = node.kind();
    kind.ends_with("_statement") || kind.ends_with("_definition") || kind == "block"
}

/// The first ERROR or MISSING node in document order.
fn first_error(node: Node) -> Option<Node> {
    if node.is_error() || node.is_missing() {
        return Some(node);
    }
    let mut cursor = node.walk();
    node.children(&mut cursor).filter(|child| child.has_error() || child.is_missing()).find_map(first_error)
}

/// The first layout error tree-sitter accepts but CPython does not (tree-sitter's scanner is
/// lenient about indentation): a statement indented differently from the others of its block
/// (module level: at all), an `else:`/`except:`/... not aligned with its statement, an empty
/// block, a `try:` without `except` or `finally`.
fn indentation_problem(root: Node, text: &str) -> Option<Problem> {
    let mut first: Option<Problem> = None;
    let mut keep = |problem: Problem| {
        if first.as_ref().is_none_or(|f| problem.line < f.line) {
            first = Some(problem);
        }
    };
    let mut stack = vec![root];
    let mut cursor = root.walk();
    while let Some(node) = stack.pop() {
        let children: Vec<Node> = node.named_children(&mut cursor).collect();
        // Blocks only live in compound statements and their clauses: expressions are not walked.
        stack.extend(children.iter().copied().filter(|child| holds_blocks(*child)));
        match node.kind() {
            "module" | "block" => {
                if let Some(problem) = misaligned_statement(node, &children, text) {
                    keep(problem);
                }
                if let Some(problem) = python2_statement(&children, text) {
                    keep(problem);
                }
                let header = node.parent().unwrap_or(node);
                let empty = children.iter().all(|child| child.kind() == "comment");
                // A header with an error of its own gets an empty block: that error is the one to report.
                if node.kind() == "block" && empty && !header.has_error() {
                    keep(Problem::at(
                        token_after(root, node.end_byte()).unwrap_or(header),
                        format!("expected an indented block after `{}`", line_of(header, text)),
                    ));
                }
            }
            "try_statement" => {
                let handled = children
                    .iter()
                    .any(|child| matches!(child.kind(), "except_clause" | "except_group_clause" | "finally_clause"));
                if !handled {
                    keep(Problem::at(
                        token_after(root, node.end_byte()).unwrap_or(node),
                        format!("expected `except` or `finally` after `{}`", line_of(node, text)),
                    ));
                }
            }
            _ => {}
        }
        // `elif:`/`else:`/`except:`/`finally:` on their own line align with their statement.
        let own = line_indent(node, text);
        for clause in &children {
            let kind = clause.kind();
            let is_clause = matches!(
                kind,
                "elif_clause" | "else_clause" | "except_clause" | "except_group_clause" | "finally_clause"
            );
            if let (true, Some(own), Some(indent)) = (is_clause, own, line_indent(*clause, text))
                && indent != own
            {
                keep(Problem::at(
                    *clause,
                    format!("unindent does not match any outer indentation level: `{}`", line_of(*clause, text)),
                ));
            }
        }
    }
    first
}

/// Whether a node is or may contain a block (a compound statement, one of its clauses, a block).
fn holds_blocks(node: Node) -> bool {
    let kind = node.kind();
    kind == "block"
        || kind.ends_with("_clause")
        || kind.ends_with("_definition")
        || matches!(
            kind,
            "if_statement"
                | "for_statement"
                | "while_statement"
                | "try_statement"
                | "with_statement"
                | "match_statement"
        )
}

/// In a module or block, the first statement starting a line at another indentation than the
/// first one (module level: any indentation).
fn misaligned_statement(body: Node, children: &[Node], text: &str) -> Option<Problem> {
    let mut expected: Option<&str> = (body.kind() == "module").then_some("");
    let mut previous: Option<Node> = None;
    for &child in children {
        if matches!(child.kind(), "comment" | "ERROR") {
            continue;
        }
        if let Some(indent) = line_indent(child, text) {
            match expected {
                None => expected = Some(indent),
                Some(expected) if expected == indent => {}
                Some(expected) => {
                    let dedent = !indent.starts_with(expected)
                        || previous.is_some_and(|p| indent_of_line(p.end_position().row, text).len() > indent.len());
                    let detail = if dedent {
                        "unindent does not match any outer indentation level"
                    } else {
                        "unexpected indent"
                    };
                    return Some(Problem::at(child, format!("{detail}: `{}`", line_of(child, text))));
                }
            }
        }
        previous = Some(child);
    }
    None
}

/// In a module or block, the first statement tree-sitter accepts but Python 3 does not: one that
/// follows another on the same line without a `;` (tree-sitter reads `x = 1 y = 2` as two
/// statements; CPython reports the second), or a Python 2 `print "x"` / `exec "code"`.
fn python2_statement(children: &[Node], text: &str) -> Option<Problem> {
    let mut previous: Option<Node> = None;
    for &child in children {
        if child.kind() == "comment" {
            continue;
        }
        if matches!(child.kind(), "print_statement" | "exec_statement") {
            let name = &child.kind()[..child.kind().len() - "_statement".len()];
            return Some(Problem::at(
                child,
                format!("missing parentheses in call to `{name}`: `{}`", line_of(child, text)),
            ));
        }
        if let Some(previous) = previous.filter(|p| !p.has_error() && !child.has_error())
            && !separated(&text[previous.end_byte()..child.start_byte()])
        {
            return Some(Problem::at(
                child,
                format!("two statements without `;` between them: `{}`", line_of(child, text)),
            ));
        }
        previous = Some(child);
    }
    None
}

/// Whether the text between two statements ends the first: a `;` or a line break that is not a
/// backslash continuation (comments in between hold no code).
fn separated(gap: &str) -> bool {
    gap.lines().any(|line| line.split('#').next().unwrap_or("").contains(';'))
        || gap.match_indices('\n').any(|(at, _)| !gap[..at].trim_end_matches('\r').ends_with('\\'))
}

/// The whitespace before `node` when it is the first thing on its line.
fn line_indent<'t>(node: Node, text: &'t str) -> Option<&'t str> {
    let start = node.start_byte();
    let line_start = text[..start].rfind('\n').map_or(0, |at| at + 1);
    let indent = &text[line_start..start];
    indent.chars().all(|c| c == ' ' || c == '\t' || c == '\x0c').then_some(indent)
}

/// The first source token (not a comment) starting at or after byte `at`: where CPython notices
/// that something expected is not there.
fn token_after(root: Node, at: usize) -> Option<Node> {
    let mut node = root;
    'descend: loop {
        let mut cursor = node.walk();
        for child in node.children(&mut cursor) {
            if child.end_byte() <= at || child.is_missing() || matches!(child.kind(), "comment" | "line_continuation") {
                continue;
            }
            if child.start_byte() >= at && child.child_count() == 0 {
                return Some(child);
            }
            if child.child_count() > 0 {
                node = child;
                continue 'descend;
            }
        }
        return None;
    }
}

/// The leading whitespace of 0-based line `row`.
fn indent_of_line(row: usize, text: &str) -> &str {
    let line = text.split('\n').nth(row).unwrap_or("");
    &line[..line.len() - line.trim_start().len()]
}

/// The trimmed source line a node starts on, cut to 60 characters, for messages.
fn line_of(node: Node, text: &str) -> String {
    quote_line(text, node.start_position().row + 1)
}

/// The trimmed 1-based source line `line`, cut to 60 characters, for messages.
fn quote_line(text: &str, line: usize) -> String {
    let line = text.split('\n').nth(line.saturating_sub(1)).unwrap_or("").trim();
    let mut quoted: String = line.chars().take(60).collect();
    if quoted.len() < line.len() {
        quoted.push('…');
    }
    quoted
}

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

// ---------------------------------------------------------------------------------------------
// Reading
// ---------------------------------------------------------------------------------------------

/// A Python literal as far as a settings patch needs to know it.
#[derive(Debug, Clone, PartialEq)]
pub enum Literal {
    None,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

/// The value of a literal expression (`600`, `-1`, `None`, `True`, `"x"`, `'a' 'b'`); `None` for
/// anything computed.
pub fn literal(node: Node, text: &str) -> Option<Literal> {
    let own = &text[node.byte_range()];
    match node.kind() {
        "none" => Some(Literal::None),
        "true" => Some(Literal::Bool(true)),
        "false" => Some(Literal::Bool(false)),
        "integer" => own.replace('_', "").parse().ok().map(Literal::Int),
        "float" => own.replace('_', "").parse().ok().map(Literal::Float),
        "string" | "concatenated_string" => string_value(node, text).map(Literal::Str),
        "parenthesized_expression" => node.named_child(0).and_then(|inner| literal(inner, text)),
        "unary_operator" if own.starts_with('-') => match literal(node.child_by_field_name("argument")?, text)? {
            Literal::Int(value) => Some(Literal::Int(-value)),
            Literal::Float(value) => Some(Literal::Float(-value)),
            _ => None,
        },
        _ => None,
    }
}

/// The value of a plain string literal (prefixes `r`, `u`, `b` allowed; implicit concatenation
/// joined); `None` for f-strings with interpolations and for anything that is not a string. Escape
/// sequences are kept as written: settings keys and dotted paths do not use them.
pub fn string_value(node: Node, text: &str) -> Option<String> {
    match node.kind() {
        "string" => {
            let mut value = String::new();
            let mut cursor = node.walk();
            for child in node.children(&mut cursor) {
                match child.kind() {
                    "string_start" | "string_end" => {}
                    "string_content" | "escape_sequence" => value.push_str(&text[child.byte_range()]),
                    _ => return None,
                }
            }
            Some(value)
        }
        "concatenated_string" => {
            let mut cursor = node.walk();
            node.named_children(&mut cursor).map(|part| string_value(part, text)).collect()
        }
        _ => None,
    }
}

/// The quote character a string literal is written with (`'` or `"`).
pub fn quote_of(node: Node, text: &str) -> Option<char> {
    if node.kind() != "string" {
        return None;
    }
    let start = node.child(0).filter(|c| c.kind() == "string_start")?;
    text[start.byte_range()].chars().find(|c| *c == '\'' || *c == '"')
}

/// A dotted name (`dj_database_url.config`, `env.db`, `DATABASES`) for identifiers and attribute
/// chains; `None` for anything else.
pub fn dotted_name(node: Node, text: &str) -> Option<String> {
    match node.kind() {
        "identifier" => Some(text[node.byte_range()].to_owned()),
        "attribute" => {
            let object = dotted_name(node.child_by_field_name("object")?, text)?;
            let attribute = node.child_by_field_name("attribute")?;
            Some(format!("{object}.{}", &text[attribute.byte_range()]))
        }
        _ => None,
    }
}

/// One step of a subscript chain: `["default"]` is `Key("default")`, `[alias]` is `Name("alias")`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Index {
    Key(String),
    Name(String),
    Other,
}

/// A subscript chain `DATABASES["default"]["CONN_MAX_AGE"]` as its base name and its indexes;
/// `None` when the base is not a plain name.
pub fn subscript_path(node: Node, text: &str) -> Option<(String, Vec<Index>)> {
    match node.kind() {
        "identifier" => Some((text[node.byte_range()].to_owned(), Vec::new())),
        "subscript" => {
            let (base, mut indexes) = subscript_path(node.child_by_field_name("value")?, text)?;
            let index = node.child_by_field_name("subscript")?;
            indexes.push(match index.kind() {
                "identifier" => Index::Name(text[index.byte_range()].to_owned()),
                _ => string_value(index, text).map_or(Index::Other, Index::Key),
            });
            Some((base, indexes))
        }
        _ => None,
    }
}

/// Where an assignment sits, as far as static reading is concerned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Scope {
    /// Runs when the module is imported (also inside module-level `if`, `try`, `with`).
    Module,
    /// Inside a `for` loop at module level (the loop node's start line).
    Loop { line: usize },
    /// Inside something that cannot be resolved statically: a function, a class, a `match`.
    Opaque { what: String, line: usize },
}

/// An assignment statement `target = value` (or `target: T = value`).
#[derive(Clone, Copy)]
pub struct Assignment<'t> {
    /// The whole `expression_statement`.
    pub statement: Node<'t>,
    pub left: Node<'t>,
    pub value: Node<'t>,
}

/// The assignment an `expression_statement` holds (`target = value`, `target: T = value`); for a
/// chained one (`a = b = 1`) the value is the inner `assignment` node, so that callers decide
/// whether to read it or to treat it as computed. `None` for any other statement.
pub fn assignment_of(statement: Node<'_>) -> Option<Assignment<'_>> {
    let assignment = statement.named_child(0).filter(|n| n.kind() == "assignment")?;
    Some(Assignment {
        statement,
        left: assignment.child_by_field_name("left")?,
        value: assignment.child_by_field_name("right")?,
    })
}

/// Every single-target assignment in the file, in document order, with its scope. Chained
/// (`a = b = 1`) and tuple targets are left out: settings patches never edit them.
pub fn assignments<'t>(file: &'t PyFile) -> Vec<(Assignment<'t>, Scope)> {
    let mut found = Vec::new();
    collect_assignments(file, file.root(), &Scope::Module, &mut found);
    found
}

fn collect_assignments<'t>(file: &'t PyFile, node: Node<'t>, scope: &Scope, out: &mut Vec<(Assignment<'t>, Scope)>) {
    let mut cursor = node.walk();
    for child in node.named_children(&mut cursor) {
        let inner = |what: &str| match scope {
            Scope::Opaque { .. } => scope.clone(),
            _ => {
                let name =
                    child.child_by_field_name("name").map(|n| format!(" `{}`", file.text(n))).unwrap_or_default();
                Scope::Opaque { what: format!("{what}{name}"), line: file.line(child) }
            }
        };
        match child.kind() {
            "expression_statement" => {
                if let Some(assignment) = assignment_of(child).filter(|a| a.value.kind() != "assignment") {
                    out.push((assignment, scope.clone()));
                }
            }
            "function_definition" => collect_assignments(file, child, &inner("function"), out),
            "class_definition" => collect_assignments(file, child, &inner("class"), out),
            "match_statement" => collect_assignments(file, child, &inner("match statement"), out),
            "lambda" => {}
            "for_statement" | "while_statement" => {
                let looped = match scope {
                    Scope::Module => Scope::Loop { line: file.line(child) },
                    other => other.clone(),
                };
                collect_assignments(file, child, &looped, out)
            }
            _ => collect_assignments(file, child, scope, out),
        }
    }
}

/// One `key: value` entry of a dict literal.
#[derive(Clone, Copy)]
pub struct Pair<'t> {
    pub node: Node<'t>,
    pub key: Node<'t>,
    pub value: Node<'t>,
}

/// The `key: value` pairs of a dict literal (splats `**x` and comprehensions are left out).
pub fn dict_pairs(dict: Node<'_>) -> Vec<Pair<'_>> {
    let mut cursor = dict.walk();
    dict.named_children(&mut cursor)
        .filter(|n| n.kind() == "pair")
        .filter_map(|node| {
            Some(Pair { node, key: node.child_by_field_name("key")?, value: node.child_by_field_name("value")? })
        })
        .collect()
}

/// The pair whose key is the string `key`.
pub fn dict_get<'t>(dict: Node<'t>, text: &str, key: &str) -> Option<Pair<'t>> {
    dict_pairs(dict).into_iter().find(|pair| string_value(pair.key, text).as_deref() == Some(key))
}

/// Whether a dict literal has entries that cannot be read statically (`**base`).
pub fn dict_has_splat(dict: Node) -> bool {
    let mut cursor = dict.walk();
    dict.named_children(&mut cursor).any(|n| n.kind() == "dictionary_splat")
}

/// What a dict literal says about one key, the way Python builds it: later entries win, and
/// `**name` splats of module-level dict literals are read too.
#[derive(Clone, Copy)]
pub enum Lookup<'t> {
    /// The pair that provides the value (possibly inside a splatted dict).
    Found(Pair<'t>),
    /// Neither the dict nor anything it splats sets the key.
    Missing,
    /// A splat that cannot be read (`**defaults()`), which may set it.
    Unknown(Node<'t>),
}

/// Looks `key` up in a dict literal of `file` (see [`Lookup`]).
pub fn dict_lookup<'t>(file: &'t PyFile, dict: Node<'t>, key: &str) -> Lookup<'t> {
    lookup_in(file, dict, key, 0)
}

fn lookup_in<'t>(file: &'t PyFile, dict: Node<'t>, key: &str, depth: usize) -> Lookup<'t> {
    let text = &file.source.text;
    let mut cursor = dict.walk();
    let children: Vec<Node> = dict.named_children(&mut cursor).collect();
    for child in children.into_iter().rev() {
        match child.kind() {
            "pair" => {
                if let (Some(k), Some(value)) = (child.child_by_field_name("key"), child.child_by_field_name("value"))
                    && string_value(k, text).as_deref() == Some(key)
                {
                    return Lookup::Found(Pair { node: child, key: k, value });
                }
            }
            "dictionary_splat" => {
                let splatted = child.named_child(0).map(unparenthesized).and_then(|inner| match inner.kind() {
                    "dictionary" => Some(inner),
                    "identifier" => module_value(file, file.text(inner), dict.start_byte())
                        .map(|a| unparenthesized(a.value))
                        .filter(|value| value.kind() == "dictionary"),
                    _ => None,
                });
                match splatted {
                    Some(inner) if depth < 8 => match lookup_in(file, inner, key, depth + 1) {
                        Lookup::Missing => {}
                        found => return found,
                    },
                    _ => return Lookup::Unknown(child),
                }
            }
            _ => {}
        }
    }
    Lookup::Missing
}

/// One `name=value` argument of a call.
#[derive(Clone, Copy)]
pub struct Kwarg<'t> {
    pub node: Node<'t>,
    pub value: Node<'t>,
}

/// The keyword arguments of a call, by name.
pub fn kwargs<'t>(call: Node<'t>, text: &str) -> Vec<(String, Kwarg<'t>)> {
    let Some(arguments) = call.child_by_field_name("arguments") else { return Vec::new() };
    let mut cursor = arguments.walk();
    arguments
        .named_children(&mut cursor)
        .filter(|n| n.kind() == "keyword_argument")
        .filter_map(|node| {
            let name = node.child_by_field_name("name")?;
            Some((text[name.byte_range()].to_owned(), Kwarg { node, value: node.child_by_field_name("value")? }))
        })
        .collect()
}

/// The positional arguments of a call.
pub fn positional_args(call: Node<'_>) -> Vec<Node<'_>> {
    let Some(arguments) = call.child_by_field_name("arguments") else { return Vec::new() };
    let mut cursor = arguments.walk();
    arguments
        .named_children(&mut cursor)
        .filter(|n| !matches!(n.kind(), "keyword_argument" | "comment" | "list_splat" | "dictionary_splat"))
        .collect()
}

/// The named children of `node` without its comments: the elements of a container or block as
/// the code means them (tree-sitter puts comments among them wherever they are written).
pub fn named_children(node: Node<'_>) -> Vec<Node<'_>> {
    let mut cursor = node.walk();
    node.named_children(&mut cursor).filter(|n| n.kind() != "comment").collect()
}

/// The path (without extension) of the module `from <module> import ...` names in the file at
/// `importer`: a relative import (`.base`, `..models`) resolved against the importer's folder,
/// an absolute one (`blog.models`) as `blog/models`, to be matched against project paths by
/// suffix since the import root is not known.
pub fn module_path(importer: &Path, module: &str) -> PathBuf {
    let dotted = module.trim_start_matches('.');
    let dots = module.len() - dotted.len();
    let mut base = PathBuf::new();
    if dots > 0 {
        base = importer.parent().unwrap_or(Path::new("")).to_path_buf();
        for _ in 1..dots {
            base.pop();
        }
    }
    for part in dotted.split('.').filter(|p| !p.is_empty()) {
        base.push(part);
    }
    base
}

/// Strips parentheses around an expression.
pub fn unparenthesized(mut node: Node<'_>) -> Node<'_> {
    while node.kind() == "parenthesized_expression" {
        match node.named_child(0) {
            Some(inner) => node = inner,
            None => break,
        }
    }
    node
}

/// The module-level assignment `name = ...` in `file` that is last before `before` (a byte
/// offset), as Python would see it when the statement at `before` runs.
pub fn module_value<'t>(file: &'t PyFile, name: &str, before: usize) -> Option<Assignment<'t>> {
    assignments(file)
        .into_iter()
        .filter(|(a, scope)| {
            *scope == Scope::Module && a.statement.end_byte() <= before && a.left.kind() == "identifier"
        })
        .filter(|(a, _)| file.text(a.left) == name)
        .map(|(a, _)| a)
        .next_back()
}

/// The bytes between the quotes of a string literal (empty for `''`, escape sequences as
/// written): what an edit replaces to change its value in place. `None` for f-strings with
/// interpolations, implicit concatenations and anything that is not a string.
pub fn string_content(node: Node<'_>) -> Option<std::ops::Range<usize>> {
    if node.kind() != "string" {
        return None;
    }
    let children = named_children(node);
    if children.iter().any(|c| c.kind() == "interpolation") {
        return None;
    }
    let start = children.iter().find(|c| c.kind() == "string_start")?.end_byte();
    let end = children.iter().find(|c| c.kind() == "string_end")?.start_byte();
    Some(start..end)
}

// ---------------------------------------------------------------------------------------------
// Writing
// ---------------------------------------------------------------------------------------------

/// How a file writes Python: what new code must look like to match its neighbours.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Style {
    /// The quote character of most string literals (`"` when there are none).
    pub quote: char,
    /// One level of indentation (a tab, or N spaces).
    pub indent_unit: String,
    /// `"\n"` or `"\r\n"`.
    pub newline: &'static str,
}

impl Style {
    /// The file's style: the quote character most of its strings use, its indent unit and newline.
    pub fn of(file: &PyFile) -> Style {
        let (mut single, mut double) = (0usize, 0usize);
        let mut stack = vec![file.root()];
        while let Some(node) = stack.pop() {
            if node.kind() == "string" {
                match quote_of(node, &file.source.text) {
                    Some('\'') => single += 1,
                    Some(_) => double += 1,
                    None => {}
                }
                continue;
            }
            let mut cursor = node.walk();
            stack.extend(node.named_children(&mut cursor));
        }
        Style {
            quote: if single > double { '\'' } else { '"' },
            indent_unit: file.source.indent_unit(),
            newline: file.source.newline(),
        }
    }

    /// The same style, with the quote character of `container`'s own strings when it has any
    /// (a dict written with single quotes in a file of double quotes keeps single quotes).
    pub fn local(&self, container: Node, text: &str) -> Style {
        let mut stack = vec![container];
        while let Some(node) = stack.pop() {
            if let Some(quote) = quote_of(node, text) {
                return Style { quote, ..self.clone() };
            }
            let mut cursor = node.walk();
            let mut children: Vec<Node> = node.named_children(&mut cursor).collect();
            children.reverse();
            stack.extend(children);
        }
        self.clone()
    }

    /// A string literal in this style.
    pub fn string(&self, value: &str) -> String {
        format!("{q}{value}{q}", q = self.quote)
    }
}

/// Inserts `items` (already rendered: `"KEY": value` or `name=value`) as new last elements of a
/// dict literal, an argument list or a list, keeping its layout:
/// - one element per line: new lines after the last element's line (after its same-line comment),
///   at the last element's indentation, with the container's trailing-comma habit (a comma is
///   added after the old last element when it had none);
/// - on one line: `, item` after the last element (before its trailing comma's `}` / `)`);
/// - empty: the items inside the brackets, on one line.
///
/// `container` is a `dictionary`, `argument_list` or `list` node; a `call` is taken as its
/// argument list.
pub fn insert_items(file: &PyFile, container: Node, items: &[String], style: &Style) -> Vec<Edit> {
    let container = match container.kind() {
        "call" => container.child_by_field_name("arguments").unwrap_or(container),
        _ => container,
    };
    if items.is_empty() {
        return Vec::new();
    }
    let text = &file.source.text;
    let elements = named_children(container);
    let close = container.end_byte() - 1;
    let Some(last) = elements.last().copied() else {
        if file.source.line_of(container.start_byte()) == file.source.line_of(close) {
            return vec![Edit::insert(close, items.join(", "))];
        }
        // `{\n}`: one item per line, one level deeper than the closing bracket.
        let indent = format!("{}{}", file.source.indent_at(close), style.indent_unit);
        let block: String = items.iter().map(|item| format!("{indent}{item},{}", style.newline)).collect();
        return vec![Edit::insert(file.source.start_of_line(close), block)];
    };
    let comma_after_last = next_comma(last);
    let last_line = file.source.line_of(last.end_byte() - 1);
    let close_line = file.source.line_of(close);
    let own_line = |node: Node| text[file.source.start_of_line(node.start_byte())..node.start_byte()].trim().is_empty();

    if last_line == close_line || !own_line(last) {
        // Everything after the last element stays on its line: `{"a": 1}` or `{\n "a": 1}`.
        let joined: String = items.iter().map(|item| format!(", {item}")).collect();
        return match comma_after_last {
            // `{"a": 1, }` -> `{"a": 1, "k": v, }` keeps the trailing comma.
            Some(comma) => vec![Edit::insert(comma.end_byte(), format!(" {},", items.join(", ")))],
            None => vec![Edit::insert(last.end_byte(), joined)],
        };
    }

    let indent = file.source.indent_at(last.start_byte()).to_owned();
    let trailing = comma_after_last.is_some();
    let newline = style.newline;
    let mut edits = Vec::new();
    if comma_after_last.is_none() {
        edits.push(Edit::insert(last.end_byte(), ","));
    }
    let mut block = String::new();
    for (i, item) in items.iter().enumerate() {
        let comma = if i + 1 < items.len() || trailing { "," } else { "" };
        block.push_str(&format!("{indent}{item}{comma}{newline}"));
    }
    let after_last_line = file.source.end_of_line(last.end_byte() - 1);
    if after_last_line > text.len() || !text[..after_last_line].ends_with('\n') {
        // The last element's line is the file's last line without a newline: impossible here,
        // because the closing bracket is on a later line.
        edits.push(Edit::insert(text.len(), format!("{newline}{block}")));
    } else {
        edits.push(Edit::insert(after_last_line, block));
    }
    edits
}

/// The indentation of the elements of a container written one element per line (`None` when it
/// is written on one line or is empty): what a multi-line value inserted into it starts with.
pub fn element_indent<'f>(file: &'f PyFile, container: Node) -> Option<&'f str> {
    let text = &file.source.text;
    let last = named_children(container).last().copied()?;
    let line_start = file.source.start_of_line(last.start_byte());
    let own_line = text[line_start..last.start_byte()].trim().is_empty();
    let closes_later = file.source.line_of(container.end_byte() - 1) > file.source.line_of(last.end_byte() - 1);
    (own_line && closes_later).then(|| file.source.indent_at(last.start_byte()))
}

/// Whether the container's last element is followed by a comma (`{"a": 1,}`): the habit new
/// nested containers copy.
pub fn has_trailing_comma(container: Node) -> bool {
    named_children(container).last().copied().and_then(next_comma).is_some()
}

/// The `,` token right after `element` inside `container`, if any (comments may sit between).
fn next_comma(element: Node<'_>) -> Option<Node<'_>> {
    let mut sibling = element.next_sibling();
    while let Some(node) = sibling {
        match node.kind() {
            "," => return Some(node),
            "comment" => sibling = node.next_sibling(),
            _ => return None,
        }
    }
    None
}

/// The `# noqa...` comment on a statement's line (with its two leading spaces), or `""`: a
/// sibling statement inserted next to it repeats it so that linters treat the new line like its
/// neighbour (`DATABASES` from a star import is F405 to ruff).
pub fn noqa_of(file: &PyFile, statement: Node) -> String {
    statement
        .next_sibling()
        .filter(|n| n.kind() == "comment" && n.start_position().row == statement.end_position().row)
        .map(|comment| file.text(comment))
        .filter(|comment| comment.trim_start_matches(['#', ' ']).starts_with("noqa"))
        .map(|comment| format!("  {comment}"))
        .unwrap_or_default()
}

/// Inserts whole statements on the lines after `statement` (after its same-line comment), at
/// its indentation. Each entry of `lines` is one statement without indentation or newline.
pub fn insert_statements_after(file: &PyFile, statement: Node, lines: &[String], style: &Style) -> Edit {
    let text = &file.source.text;
    let indent = file.source.indent_at(statement.start_byte()).to_owned();
    let end_line = file.source.line_of(statement.end_byte().saturating_sub(1).max(statement.start_byte()));
    let at = file.source.line_start(end_line + 1);
    let body: Vec<String> = lines.iter().map(|line| format!("{indent}{line}")).collect();
    if at >= text.len() && !text.ends_with('\n') {
        // The statement is on the file's last line, which has no newline: keep it without one.
        Edit::insert(text.len(), format!("{}{}", style.newline, body.join(style.newline)))
    } else {
        Edit::insert(at, body.iter().map(|line| format!("{line}{}", style.newline)).collect::<String>())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::edit::apply_edits;

    fn py(text: &str) -> PyFile {
        parse(Arc::new(SourceFile::from_text("settings.py", text))).unwrap()
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
