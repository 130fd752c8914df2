//! The nginx tokenizer. It follows `ngx_conf_read_token` (src/core/ngx_conf_file.c) so that words
//! split exactly where nginx splits them, and it keeps every byte: spaces, line endings and
//! comments are tokens too, so the tokens of a file concatenate back to the file.

use std::ops::Range;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    /// A run of spaces, tabs and lone carriage returns.
    Space,
    /// `\n` or `\r\n`.
    Newline,
    /// `#` up to (not including) the line ending.
    Comment,
    /// An unquoted word (`proxy_pass`, `$host`, `${VAR}`, `^/a}b`).
    Word,
    /// A single- or double-quoted string, quotes included.
    Quoted,
    /// `{`
    Open,
    /// `}`
    Close,
    /// `;`
    Semicolon,
    /// The body of a `*_by_lua_block { ... }`, between the braces, kept as is.
    Raw,
}

impl TokenKind {
    /// Spaces, line endings and comments: bytes that carry no meaning for nginx.
    pub fn is_trivia(self) -> bool {
        matches!(self, TokenKind::Space | TokenKind::Newline | TokenKind::Comment)
    }
}

/// One token: its kind and its byte range in the text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Token {
    pub kind: TokenKind,
    pub start: u32,
    pub end: u32,
}

impl Token {
    pub fn range(&self) -> Range<usize> {
        self.start as usize..self.end as usize
    }
}

/// A tokenizing error: what nginx would say, at a byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LexError {
    pub offset: usize,
    pub message: String,
}

/// A pull tokenizer: the parser asks for the next token, or for a raw Lua block body.
pub struct Lexer<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Lexer<'a> {
    pub fn new(text: &'a str) -> Lexer<'a> {
        Lexer { bytes: text.as_bytes(), pos: 0 }
    }

    fn token(&mut self, kind: TokenKind, start: usize, end: usize) -> Token {
        self.pos = end;
        Token { kind, start: start as u32, end: end as u32 }
    }

    /// The next token, `None` at the end of the text.
    pub fn next_token(&mut self) -> Result<Option<Token>, LexError> {
        let bytes = self.bytes;
        let start = self.pos;
        let Some(&first) = bytes.get(start) else { return Ok(None) };
        let token = match first {
            b'\n' => self.token(TokenKind::Newline, start, start + 1),
            b'\r' if bytes.get(start + 1) == Some(&b'\n') => self.token(TokenKind::Newline, start, start + 2),
            b' ' | b'\t' | b'\r' => {
                let mut end = start + 1;
                while end < bytes.len()
                    && (bytes[end] == b' '
                        || bytes[end] == b'\t'
                        || (bytes[end] == b'\r' && bytes.get(end + 1) != Some(&b'\n')))
                {
                    end += 1;
                }
                self.token(TokenKind::Space, start, end)
            }
            b'#' => {
                let mut end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |i| start + i);
                if end > start + 1 && bytes[end - 1] == b'\r' && end < bytes.len() {
                    end -= 1;
                }
                self.token(TokenKind::Comment, start, end)
            }
            b';' => self.token(TokenKind::Semicolon, start, start + 1),
            b'{' => self.token(TokenKind::Open, start, start + 1),
            b'}' => self.token(TokenKind::Close, start, start + 1),
            b'"' | b'\'' => {
                let end = self.quoted_end(start, first)?;
                self.token(TokenKind::Quoted, start, end)
            }
            _ => {
                let end = self.word_end(start);
                self.token(TokenKind::Word, start, end)
            }
        };
        Ok(Some(token))
    }

    /// The end of a quoted string that starts at `start`, checking what nginx checks after the
    /// closing quote: a space, a line ending, `;`, `{` or `)`.
    fn quoted_end(&self, start: usize, quote: u8) -> Result<usize, LexError> {
        let bytes = self.bytes;
        let mut i = start + 1;
        while i < bytes.len() {
            match bytes[i] {
                b'\\' => i += 2,
                b if b == quote => {
                    let end = i + 1;
                    return match bytes.get(end) {
                        None | Some(b' ' | b'\t' | b'\r' | b'\n' | b';' | b'{' | b')') => Ok(end),
                        Some(_) => Err(LexError { offset: end, message: unexpected_char(&bytes[end..]) }),
                    };
                }
                _ => i += 1,
            }
        }
        Err(LexError { offset: bytes.len(), message: "unexpected end of file, expecting \";\" or \"}\"".into() })
    }

    /// The end of an unquoted word: a space, a line ending, `;` or `{`, except that `{` right
    /// after `$` belongs to the word (`${var}`) and a backslash escapes the next byte.
    fn word_end(&self, start: usize) -> usize {
        let bytes = self.bytes;
        let mut i = start;
        let mut variable = false;
        while i < bytes.len() {
            let b = bytes[i];
            if b == b'{' && variable {
                i += 1;
                continue;
            }
            variable = false;
            match b {
                b'\\' => i = (i + 2).min(bytes.len()),
                b'$' => {
                    variable = true;
                    i += 1;
                }
                b' ' | b'\t' | b'\r' | b'\n' | b';' | b'{' => break,
                _ => i += 1,
            }
        }
        // A backslash may have skipped into the middle of a multi-byte character: move to its end.
        while i < bytes.len() && (bytes[i] & 0xC0) == 0x80 {
            i += 1;
        }
        i
    }

    /// The body of a Lua block whose `{` was just read: everything up to the matching `}`, with
    /// Lua strings and comments skipped so that braces inside them do not count.
    pub fn raw_block(&mut self) -> Result<Token, LexError> {
        let bytes = self.bytes;
        let start = self.pos;
        let mut depth = 1usize;
        let mut i = start;
        let eof = || LexError { offset: bytes.len(), message: "unexpected end of file, expecting \"}\"".into() };
        while i < bytes.len() {
            match bytes[i] {
                b'{' => depth += 1,
                b'}' => {
                    depth -= 1;
                    if depth == 0 {
                        return Ok(self.token(TokenKind::Raw, start, i));
                    }
                }
                b'"' | b'\'' => {
                    let quote = bytes[i];
                    i += 1;
                    while i < bytes.len() && bytes[i] != quote && bytes[i] != b'\n' {
                        i += if bytes[i] == b'\\' { 2 } else { 1 };
                    }
                }
                b'-' if bytes.get(i + 1) == Some(&b'-') => {
                    if let Some(close) = long_bracket(&bytes[i + 2..]) {
                        i = find(&bytes[i + 2..], &close).map(|j| i + 2 + j + close.len() - 1).ok_or_else(eof)?;
                    } else {
                        i = memchr::memchr(b'\n', &bytes[i..]).map_or(bytes.len(), |j| i + j);
                        continue;
                    }
                }
                b'[' => {
                    if let Some(close) = long_bracket(&bytes[i..]) {
                        i = find(&bytes[i..], &close).map(|j| i + j + close.len() - 1).ok_or_else(eof)?;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        Err(eof())
    }
}

/// For a Lua long bracket opening (`[[`, `[==[`) at the start of `bytes`, its closing bracket.
fn long_bracket(bytes: &[u8]) -> Option<Vec<u8>> {
    if bytes.first() != Some(&b'[') {
        return None;
    }
    let level = bytes[1..].iter().take_while(|&&b| b == b'=').count();
    if bytes.get(1 + level) != Some(&b'[') {
        return None;
    }
    let mut close = vec![b']'];
    close.extend(std::iter::repeat_n(b'=', level));
    close.push(b']');
    Some(close)
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    memchr::memmem::find(haystack, needle)
}

/// nginx's message for an unexpected character: `unexpected "x"`.
fn unexpected_char(rest: &[u8]) -> String {
    let text = String::from_utf8_lossy(&rest[..rest.len().min(4)]);
    let ch = text.chars().next().unwrap_or('?');
    format!("unexpected \"{ch}\"")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn kinds(text: &str) -> Vec<(TokenKind, &str)> {
        let mut lexer = Lexer::new(text);
        let mut out = Vec::new();
        while let Some(token) = lexer.next_token().unwrap() {
            out.push((token.kind, &text[token.range()]));
        }
        out
    }

    #[test]
    fn words_split_where_nginx_splits() {
        use TokenKind::*;
        assert_eq!(
            kinds("set $a ${VAR}x;\r\n"),
            [
                (Word, "set"),
                (Space, " "),
                (Word, "$a"),
                (Space, " "),
                (Word, "${VAR}x"),
                (Semicolon, ";"),
                (Newline, "\r\n")
            ]
        );
        assert_eq!(kinds("~ ^/a{2}$"), [(Word, "~"), (Space, " "), (Word, "^/a"), (Open, "{"), (Word, "2}$")]);
        assert_eq!(kinds("a#b # c\r\n"), [(Word, "a#b"), (Space, " "), (Comment, "# c"), (Newline, "\r\n")]);
        assert_eq!(kinds(r#"if ($a = "x\"y")"#)[6..], [(Quoted, r#""x\"y""#), (Word, ")")]);
    }

    #[test]
    fn quoted_needs_a_separator() {
        let mut lexer = Lexer::new("\"a\"b");
        assert_eq!(lexer.next_token().unwrap_err().message, "unexpected \"b\"");
    }

    #[test]
    fn lua_block_is_raw() {
        let text = "{ local t = {a = \"}\"} -- }\n ngx.say([[}]]) }";
        let mut lexer = Lexer::new(text);
        assert_eq!(lexer.next_token().unwrap().unwrap().kind, TokenKind::Open);
        let raw = lexer.raw_block().unwrap();
        assert_eq!(&text[raw.range()], " local t = {a = \"}\"} -- }\n ngx.say([[}]]) ");
    }
}
