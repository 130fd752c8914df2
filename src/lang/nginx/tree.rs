//! The lossless syntax tree: directives with their arguments and blocks, and every space, line
//! ending and comment in between, so that [`Config::print`] gives back the input byte for byte.
//!
//! Directives live in one arena per file ([`DirId`] indexes it); a [`Scope`] names a block (the
//! file's top level, or the block of a directive). Byte offsets are into [`Config::text`].

use std::borrow::Cow;
use std::ops::Range;

use super::lexer::{Token, TokenKind};

/// Index of a directive in [`Config::directives`].
pub type DirId = u32;

/// A block: the file's top level (`None`) or the block of a directive.
pub type Scope = Option<DirId>;

/// One child of a block, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Node {
    /// A space, line ending or comment token (its index).
    Trivia(u32),
    Directive(DirId),
}

/// The children of a block and its closing brace.
#[derive(Debug, Clone, Default)]
pub struct Block {
    pub children: Vec<Node>,
    /// Index of the `}` token (`None` for a file's top level).
    pub close: Option<u32>,
    /// For `*_by_lua_block`: the raw body token, kept as is (then `children` is empty).
    pub raw: Option<u32>,
}

/// One directive: `name args... ;` or `name args... { block }`.
#[derive(Debug, Clone)]
pub struct Directive {
    /// Token indices from the name up to and including `;` or `{` (trivia between arguments included).
    pub head: Range<u32>,
    /// The name token.
    pub name: u32,
    /// The argument tokens (words and quoted strings).
    pub args: Vec<u32>,
    /// The block, for `server {`, `location / {` ...
    pub block: Option<Block>,
    /// The enclosing block's directive (`None` at the top level).
    pub parent: Scope,
}

/// A parsed nginx file.
#[derive(Debug, Clone)]
pub struct Config {
    pub(crate) text: String,
    pub(crate) tokens: Vec<Token>,
    pub(crate) directives: Vec<Directive>,
    pub(crate) root: Block,
    pub(crate) line_starts: Vec<usize>,
}

impl Config {
    /// The text the tree was parsed from.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn tokens(&self) -> &[Token] {
        &self.tokens
    }

    /// The file's top-level block.
    pub fn root(&self) -> &Block {
        &self.root
    }

    pub fn directive(&self, id: DirId) -> &Directive {
        &self.directives[id as usize]
    }

    /// Every directive of the file, in source order.
    pub fn all(&self) -> impl Iterator<Item = DirId> + '_ {
        0..self.directives.len() as DirId
    }

    /// The block named by `scope`, if it is one (a `gzip on;` directive has none).
    pub fn block(&self, scope: Scope) -> Option<&Block> {
        match scope {
            None => Some(&self.root),
            Some(id) => self.directive(id).block.as_ref(),
        }
    }

    /// The directives directly inside `scope`, in order.
    pub fn children(&self, scope: Scope) -> impl Iterator<Item = DirId> + '_ {
        self.block(scope).into_iter().flat_map(|block| {
            block.children.iter().filter_map(|node| match node {
                Node::Directive(id) => Some(*id),
                Node::Trivia(_) => None,
            })
        })
    }

    /// The directives named `name` directly inside `scope`.
    pub fn children_named<'a>(&'a self, scope: Scope, name: &'a str) -> impl Iterator<Item = DirId> + 'a {
        self.children(scope).filter(move |&id| self.name(id) == name)
    }

    fn token_text(&self, index: u32) -> &str {
        &self.text[self.tokens[index as usize].range()]
    }

    /// The directive's name as written.
    pub fn name(&self, id: DirId) -> &str {
        self.token_text(self.directive(id).name)
    }

    /// The directive's arguments, unquoted and unescaped as nginx reads them.
    pub fn args(&self, id: DirId) -> Vec<Cow<'_, str>> {
        self.directive(id).args.iter().map(|&t| self.arg_value(t)).collect()
    }

    /// The first argument, unquoted.
    pub fn arg(&self, id: DirId, index: usize) -> Option<Cow<'_, str>> {
        self.directive(id).args.get(index).map(|&t| self.arg_value(t))
    }

    /// An argument token's value: quotes removed, `\"`, `\'`, `\\`, `\t`, `\r`, `\n` decoded (other
    /// backslashes kept, as nginx does).
    pub fn arg_value(&self, token: u32) -> Cow<'_, str> {
        let tok = self.tokens[token as usize];
        let raw = &self.text[tok.range()];
        let inner = if tok.kind == TokenKind::Quoted { &raw[1..raw.len() - 1] } else { raw };
        if !inner.contains('\\') {
            return Cow::Borrowed(inner);
        }
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some(e @ ('"' | '\'' | '\\')) => out.push(e),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('n') => out.push('\n'),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            }
        }
        Cow::Owned(out)
    }

    /// Byte offset where the directive starts (its name).
    pub fn start(&self, id: DirId) -> usize {
        self.tokens[self.directive(id).name as usize].start as usize
    }

    /// Byte offset just past the directive (its `;`, or the `}` of its block).
    pub fn end(&self, id: DirId) -> usize {
        let dir = self.directive(id);
        let last = dir.block.as_ref().and_then(|b| b.close).unwrap_or(dir.head.end - 1);
        self.tokens[last as usize].end as usize
    }

    /// Byte offset of a block's `{` (for a directive with a block).
    pub fn open_brace(&self, id: DirId) -> Option<usize> {
        let dir = self.directive(id);
        dir.block.as_ref().map(|_| self.tokens[dir.head.end as usize - 1].start as usize)
    }

    /// Byte offset of a block's `}`.
    pub fn close_brace(&self, id: DirId) -> Option<usize> {
        let close = self.directive(id).block.as_ref()?.close?;
        Some(self.tokens[close as usize].start as usize)
    }

    /// 1-based line of a byte offset.
    pub fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&start| start <= offset)
    }

    /// 1-based line and column (in characters) of a byte offset.
    pub fn line_col(&self, offset: usize) -> (usize, usize) {
        let line = self.line_of(offset);
        let start = self.line_starts[line - 1];
        (line, self.text[start..offset].chars().count() + 1)
    }

    /// The directive's line.
    pub fn line(&self, id: DirId) -> usize {
        self.line_of(self.start(id))
    }

    /// The enclosing directives of `scope`, outermost first (`http`, `server`, `location`).
    pub fn ancestors(&self, scope: Scope) -> Vec<DirId> {
        let mut chain = Vec::new();
        let mut current = scope;
        while let Some(id) = current {
            chain.push(id);
            current = self.directive(id).parent;
        }
        chain.reverse();
        chain
    }

    /// The directive as one line of text: `location ~ ^/api`, for messages.
    pub fn describe(&self, id: DirId) -> String {
        let dir = self.directive(id);
        let mut out = self.name(id).to_owned();
        for &arg in &dir.args {
            out.push(' ');
            out.push_str(self.token_text(arg));
        }
        out
    }

    /// The text again, rebuilt from the tree (byte-identical for an unedited tree).
    pub fn print(&self) -> String {
        let mut out = String::with_capacity(self.text.len());
        self.print_block(&self.root, &mut out);
        out
    }

    fn print_block(&self, block: &Block, out: &mut String) {
        // An explicit stack: hostile input may nest blocks deeper than the thread's stack allows.
        enum Step<'a> {
            Nodes(&'a [Node]),
            Token(u32),
        }
        let mut stack = vec![Step::Nodes(&block.children)];
        while let Some(step) = stack.pop() {
            match step {
                Step::Token(index) => out.push_str(self.token_text(index)),
                Step::Nodes([]) => {}
                Step::Nodes([first, rest @ ..]) => {
                    stack.push(Step::Nodes(rest));
                    match *first {
                        Node::Trivia(index) => out.push_str(self.token_text(index)),
                        Node::Directive(id) => {
                            let dir = self.directive(id);
                            for index in dir.head.clone() {
                                out.push_str(self.token_text(index));
                            }
                            if let Some(inner) = &dir.block {
                                if let Some(close) = inner.close {
                                    stack.push(Step::Token(close));
                                }
                                if let Some(raw) = inner.raw {
                                    stack.push(Step::Token(raw));
                                }
                                stack.push(Step::Nodes(&inner.children));
                            }
                        }
                    }
                }
            }
        }
    }
}
