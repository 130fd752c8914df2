//! Builds the [`Config`] tree from tokens, with nginx's own error messages and positions.

use super::lexer::{LexError, Lexer, Token, TokenKind};
use super::tree::{Block, Config, DirId, Directive, Node};

/// A syntax error, with the 1-based line and column nginx would point at.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{line}:{column}: {message}")]
pub struct ParseError {
    pub line: usize,
    pub column: usize,
    pub offset: usize,
    pub message: String,
}

/// A directive whose `;` or `{` has not been seen yet.
struct Pending {
    first: u32,
    name: u32,
    args: Vec<u32>,
}

/// An open block.
struct Frame {
    owner: Option<DirId>,
    children: Vec<Node>,
}

/// Parses nginx configuration text. Never panics; errors carry nginx's wording.
pub fn parse(text: &str) -> Result<Config, ParseError> {
    let line_starts: Vec<usize> =
        std::iter::once(0).chain(memchr::memchr_iter(b'\n', text.as_bytes()).map(|i| i + 1)).collect();
    let mut config = Config {
        text: text.to_owned(),
        tokens: Vec::with_capacity(text.len() / 4),
        directives: Vec::new(),
        root: Block::default(),
        line_starts,
    };
    match build(text, &mut config) {
        Ok(()) => Ok(config),
        Err(err) => {
            let (line, column) = config.line_col(err.offset);
            Err(ParseError { line, column, offset: err.offset, message: err.message })
        }
    }
}

fn build(text: &str, config: &mut Config) -> Result<(), LexError> {
    let mut lexer = Lexer::new(text);
    let mut stack = vec![Frame { owner: None, children: Vec::new() }];
    let mut pending: Option<Pending> = None;
    let error = |token: &Token, message: &str| LexError { offset: token.start as usize, message: message.to_owned() };

    while let Some(token) = lexer.next_token()? {
        let index = config.tokens.len() as u32;
        config.tokens.push(token);
        let frame = stack.last_mut().expect("the top level is never popped");
        match token.kind {
            kind if kind.is_trivia() => {
                if pending.is_none() {
                    frame.children.push(Node::Trivia(index));
                }
            }
            TokenKind::Word | TokenKind::Quoted => match &mut pending {
                Some(p) => p.args.push(index),
                None => pending = Some(Pending { first: index, name: index, args: Vec::new() }),
            },
            TokenKind::Semicolon => {
                let Some(p) = pending.take() else { return Err(error(&token, "unexpected \";\"")) };
                let id = push_directive(config, p, index, frame.owner, None);
                stack.last_mut().unwrap().children.push(Node::Directive(id));
            }
            TokenKind::Open => {
                let Some(p) = pending.take() else { return Err(error(&token, "unexpected \"{\"")) };
                let lua = text[config.tokens[p.name as usize].range()].ends_with("_by_lua_block");
                let owner = frame.owner;
                if lua {
                    let raw = lexer.raw_block()?;
                    let raw_index = index + 1;
                    config.tokens.push(raw);
                    let close = lexer.next_token()?.expect("raw_block stops at a closing brace");
                    config.tokens.push(close);
                    let block = Block { children: Vec::new(), close: Some(raw_index + 1), raw: Some(raw_index) };
                    let id = push_directive(config, p, index, owner, Some(block));
                    stack.last_mut().unwrap().children.push(Node::Directive(id));
                } else {
                    let id = push_directive(config, p, index, owner, Some(Block::default()));
                    stack.push(Frame { owner: Some(id), children: Vec::new() });
                }
            }
            TokenKind::Close => {
                if pending.is_some() || stack.len() == 1 {
                    return Err(error(&token, "unexpected \"}\""));
                }
                let done = stack.pop().unwrap();
                let id = done.owner.expect("inner frames belong to a directive");
                config.directives[id as usize].block =
                    Some(Block { children: done.children, close: Some(index), raw: None });
                stack.last_mut().unwrap().children.push(Node::Directive(id));
            }
            _ => unreachable!("every token kind is handled above"),
        }
    }
    let end = text.len();
    if pending.is_some() {
        return Err(LexError { offset: end, message: "unexpected end of file, expecting \";\" or \"}\"".into() });
    }
    if stack.len() > 1 {
        return Err(LexError { offset: end, message: "unexpected end of file, expecting \"}\"".into() });
    }
    config.root.children = stack.pop().unwrap().children;
    Ok(())
}

fn push_directive(config: &mut Config, p: Pending, last: u32, parent: Option<DirId>, block: Option<Block>) -> DirId {
    let id = config.directives.len() as DirId;
    config.directives.push(Directive { head: p.first..last + 1, name: p.name, args: p.args, block, parent });
    id
}
