//! nginx configuration: a lossless tokenizer and tree (parse, then print gives the input back byte
//! for byte), queries by context path and by depth, and insertion points that keep the
//! file's indentation and line endings.
//!
//! The tree-sitter nginx grammars fail on common configs (`map {"" close;}`, `listen
//! 127.0.0.1:8080;`), so this is our own parser, written after nginx's `ngx_conf_read_token`: a
//! word ends exactly where nginx ends it, which is what makes edits safe.

pub mod edit;
pub mod lexer;
pub mod parser;
pub mod query;
pub mod tree;

pub use parser::{ParseError, parse};
pub use tree::{Block, Config, DirId, Directive, Node, Scope};
