//! Finding the syntax error CPython would report: tree-sitter recovers from errors (an ERROR or
//! MISSING node, an indentation it tolerates), so the tree is searched for the first problem, and
//! [`super::tokens`] adds what the grammar lets through; the line named is CPython's.

use tree_sitter::Node;

use super::tokens;

/// A syntax error: 1-based line and what is wrong there.
pub(super) struct Problem {
    pub(super) line: usize,
    pub(super) detail: String,
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
/// [`tokens`]). So, in CPython's order:
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
pub(super) fn first_problem(root: Node, text: &str) -> Option<Problem> {
    let lexed = tokens::check(text);
    let problem = |err: tokens::LexicalError| Problem {
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
    let recovery =
        |err: &tokens::LexicalError| first_error(root).is_some_and(|error| error.end_position().row + 1 >= err.line);
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
