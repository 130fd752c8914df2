//! f-strings: the 3.8-3.11 reading (the expression ends at the first unescaped quote) and the
//! PEP 701 reading of Python 3.12+ (replacement fields are code), accepted when either accepts.

use super::{LexicalError, MAX_NESTED_FSTRINGS, Scan, Scanner};

impl Scanner<'_> {
    /// An f-string, the quote under the cursor (its prefix read). Python 3.8 to 3.11 end it at
    /// the first unescaped quote and refuse a backslash or `#` in an expression; Python 3.12 and
    /// later (PEP 701) read its replacement fields as code, so `f"{"a"}"` is one string there.
    /// What any of them accepts is accepted: the 3.11 reading first and, when it finds a mistake,
    /// the PEP 701 reading. Only when both fail is the mistake reported, the 3.11 way (a bad field
    /// competes with parser errors; an unterminated string is raised).
    pub(super) fn fstring(&mut self, prefix: &str) -> Scan {
        let raw = prefix.bytes().any(|b| b.eq_ignore_ascii_case(&b'r'));
        if self.pep701 {
            return self.fstring_pep701(raw);
        }
        let (start, line) = (self.at, self.line);
        let text = self.text;
        let classic = self.literal().map(|(body, start_line)| (fstring_problem(&text[body], 0), start_line));
        if let Ok((Ok(()), _)) = classic {
            return Ok(());
        }
        let after_classic = (self.at, self.line);
        (self.at, self.line) = (start, line);
        let earlier = self.parser.take();
        self.pep701 = true;
        let modern = self.fstring_pep701(raw);
        self.pep701 = false;
        let accepted = modern.is_ok() && self.parser.is_none();
        self.parser = earlier;
        if accepted {
            return Ok(());
        }
        (self.at, self.line) = after_classic;
        let (problem, start_line) = classic?;
        if self.parser.is_none() {
            self.parser = problem.err().map(|detail| LexicalError { line: start_line, detail, raised: false });
        }
        Ok(())
    }

    /// An f-string read as Python 3.12 and later read it (PEP 701), the quote under the cursor:
    /// literal text with `{{`, `}}` and escapes, and replacement fields (see
    /// [`Scanner::replacement_field`]). Mistakes are errors (the caller only needs to know).
    fn fstring_pep701(&mut self, raw: bool) -> Scan {
        if self.nested_fstrings >= MAX_NESTED_FSTRINGS {
            return Err(self.raised(self.line, "too many nested f-strings"));
        }
        self.nested_fstrings += 1;
        let read = self.fstring_pep701_body(raw);
        self.nested_fstrings -= 1;
        read
    }

    fn fstring_pep701_body(&mut self, raw: bool) -> Scan {
        let quote = self.bytes[self.at];
        let triple = self.peek(1) == quote && self.peek(2) == quote;
        let width = if triple { 3 } else { 1 };
        let start_line = self.line;
        self.at += width;
        loop {
            if self.eof() {
                return Err(self.raised(start_line, "unterminated f-string literal"));
            }
            match self.bytes[self.at] {
                b'\\' => self.fstring_escape(raw, quote),
                b'\n' if !triple => return Err(self.raised(start_line, "unterminated f-string literal")),
                b'\n' => {
                    self.line += 1;
                    self.at += 1;
                }
                byte if byte == quote && (!triple || (self.peek(1) == quote && self.peek(2) == quote)) => {
                    self.at += width;
                    return Ok(());
                }
                b'{' if self.peek(1) == b'{' => self.at += 2,
                b'}' if self.peek(1) == b'}' => self.at += 2,
                b'{' => self.replacement_field(quote, triple, raw, 0)?,
                b'}' => return Err(self.raised(self.line, "f-string: single '}' is not allowed")),
                _ => self.at += 1,
            }
        }
    }

    /// A backslash in an f-string's literal text or format spec: it escapes the next character,
    /// but not a brace (`\{` is a backslash and a field), and `\N{NAME}` holds no field.
    fn fstring_escape(&mut self, raw: bool, quote: u8) {
        self.at += 1;
        match self.peek(0) {
            b'{' | b'}' => {}
            b'N' if !raw && self.peek(1) == b'{' => {
                self.at += 2;
                while !self.eof() && !matches!(self.peek(0), b'}' | b'\n') && self.peek(0) != quote {
                    self.at += 1;
                }
                if self.peek(0) == b'}' {
                    self.at += 1;
                }
            }
            b'\r' if self.peek(1) == b'\n' => {
                self.at += 2;
                self.line += 1;
            }
            b'\n' => {
                self.at += 1;
                self.line += 1;
            }
            _ if self.eof() => {}
            _ => self.at += self.text[self.at..].chars().next().map_or(1, char::len_utf8),
        }
    }

    /// One `{expression!conversion:spec}` of a PEP 701 f-string, the `{` under the cursor. The
    /// expression is read as code: any string (even with the f-string's own quote), comments and
    /// new lines, backslashes. It may not be empty; a conversion is `!s`, `!r` or `!a`; fields in
    /// the spec nest three deep at most (CPython's `MAX_EXPR_NESTING`).
    fn replacement_field(&mut self, quote: u8, triple: bool, raw: bool, depth: usize) -> Scan {
        if depth >= 3 {
            return Err(self.raised(self.line, "f-string: expressions nested too deeply"));
        }
        self.at += 1;
        let mut brackets: Vec<u8> = Vec::new();
        let mut empty = true;
        let no_expression = |this: &Self| this.raised(this.line, "f-string: valid expression required");
        loop {
            if self.eof() {
                return Err(self.raised(self.line, "f-string: expecting '}'"));
            }
            let byte = self.bytes[self.at];
            let significant = !matches!(byte, b' ' | b'\t' | b'\x0c' | b'\r' | b'\n' | b'#' | b'\\');
            match byte {
                b' ' | b'\t' | b'\x0c' | b'\r' => self.at += 1,
                b'\n' => {
                    self.at += 1;
                    self.line += 1;
                }
                b'#' => self.skip_comment(),
                b'\\' => self.continuation()?,
                b'"' | b'\'' => self.string("")?,
                b'0'..=b'9' => self.number()?,
                b'.' if self.peek(1).is_ascii_digit() => self.number()?,
                b'(' | b'[' | b'{' => {
                    brackets.push(byte);
                    self.at += 1;
                }
                b')' | b']' => {
                    self.closer(brackets.pop(), byte)?;
                    self.at += 1;
                }
                b'}' if !brackets.is_empty() => {
                    self.closer(brackets.pop(), byte)?;
                    self.at += 1;
                }
                b'}' | b'!' | b':' if empty && brackets.is_empty() && !(byte == b'!' && self.peek(1) == b'=') => {
                    return Err(no_expression(self));
                }
                b'}' => {
                    self.at += 1;
                    return Ok(());
                }
                b'!' if brackets.is_empty() && self.peek(1) != b'=' => {
                    self.at += 1;
                    let name =
                        self.bytes[self.at..].iter().take_while(|b| b.is_ascii_alphanumeric() || **b == b'_').count();
                    if !matches!(&self.bytes[self.at..self.at + name], b"s" | b"r" | b"a") {
                        return Err(self.raised(self.line, "f-string: invalid conversion character"));
                    }
                    self.at += 1;
                    return match self.peek(0) {
                        b'}' => {
                            self.at += 1;
                            Ok(())
                        }
                        b':' => self.format_spec(quote, triple, raw, depth),
                        _ => Err(self.raised(self.line, "f-string: expecting '}'")),
                    };
                }
                b':' if brackets.is_empty() => return self.format_spec(quote, triple, raw, depth),
                _ if byte == b'_' || byte.is_ascii_alphabetic() || byte >= 0x80 => self.word()?,
                _ if byte < 0x20 || byte == 0x7f => {
                    return Err(self.raised(self.line, format!("invalid non-printable character U+{byte:04X}")));
                }
                _ => self.at += 1,
            }
            empty &= !significant;
        }
    }

    /// The `:spec` of a PEP 701 replacement field, the `:` under the cursor, up to and with the
    /// field's `}`: literal text, in which every `{` opens a nested field.
    fn format_spec(&mut self, quote: u8, triple: bool, raw: bool, depth: usize) -> Scan {
        self.at += 1;
        loop {
            if self.eof() {
                return Err(self.raised(self.line, "f-string: expecting '}'"));
            }
            match self.bytes[self.at] {
                b'{' => self.replacement_field(quote, triple, raw, depth + 1)?,
                b'}' => {
                    self.at += 1;
                    return Ok(());
                }
                b'\\' => self.fstring_escape(raw, quote),
                b'\n' if !triple => {
                    return Err(
                        self.raised(self.line, "f-string: newline in the format spec of a single-quoted f-string")
                    );
                }
                b'\n' => {
                    self.line += 1;
                    self.at += 1;
                }
                byte if byte == quote && (!triple || (self.peek(1) == quote && self.peek(2) == quote)) => {
                    return Err(self.raised(self.line, "f-string: expecting '}'"));
                }
                _ => self.at += 1,
            }
        }
    }
}

/// The first mistake Python 3.8 to 3.11 find in an f-string's body (its text between the quotes): a
/// `{` never closed, a lone `}`, an empty expression, a backslash or `#` inside an expression, a
/// bad `!` conversion. The expressions themselves are parsed by tree-sitter.
fn fstring_problem(body: &str, depth: usize) -> Result<(), String> {
    let bytes = body.as_bytes();
    let mut at = 0;
    while at < bytes.len() {
        match bytes[at] {
            b'{' if bytes.get(at + 1) == Some(&b'{') && depth == 0 => at += 2,
            b'}' if bytes.get(at + 1) == Some(&b'}') && depth == 0 => at += 2,
            b'{' => {
                if depth >= 2 {
                    return Err("f-string: expressions nested too deeply".to_owned());
                }
                at = replacement_field(body, at + 1, depth)?;
            }
            b'}' => return Err("f-string: single '}' is not allowed".to_owned()),
            _ => at += 1,
        }
    }
    Ok(())
}

/// One `{expression!conversion:spec}` starting after its `{`; the index after its `}`.
fn replacement_field(body: &str, start: usize, depth: usize) -> Result<usize, String> {
    let bytes = body.as_bytes();
    let mut at = start;
    let mut nesting = 0usize;
    let mut quote: Option<(u8, bool)> = None;
    while at < bytes.len() {
        let byte = bytes[at];
        if let Some((q, triple)) = quote {
            let closes = byte == q && (!triple || bytes[at..].starts_with(&[q, q, q]));
            if byte == b'\\' {
                return Err("f-string expression part cannot include a backslash".to_owned());
            }
            if closes {
                quote = None;
                at += if triple { 3 } else { 1 };
                continue;
            }
            at += 1;
            continue;
        }
        match byte {
            b'\\' => return Err("f-string expression part cannot include a backslash".to_owned()),
            b'#' => return Err("f-string expression part cannot include '#'".to_owned()),
            b'\'' | b'"' => {
                let triple = bytes[at..].starts_with(&[byte, byte, byte]);
                quote = Some((byte, triple));
                at += if triple { 3 } else { 1 };
                continue;
            }
            b'(' | b'[' | b'{' => nesting += 1,
            b')' | b']' if nesting > 0 => nesting -= 1,
            b'}' if nesting > 0 => nesting -= 1,
            b'!' if nesting == 0 && bytes.get(at + 1) != Some(&b'=') => {
                empty_check(&body[start..at])?;
                let conversion = bytes.get(at + 1).copied();
                if !matches!(conversion, Some(b's' | b'r' | b'a')) {
                    return Err("f-string: invalid conversion character: expected 's', 'r', or 'a'".to_owned());
                }
                return spec_or_end(body, at + 2, depth);
            }
            b':' if nesting == 0 => {
                empty_check(&body[start..at])?;
                return spec_or_end(body, at, depth);
            }
            b'}' => {
                empty_check(&body[start..at])?;
                return Ok(at + 1);
            }
            _ => {}
        }
        at += 1;
    }
    Err("f-string: expecting '}'".to_owned())
}

/// After a conversion: `}` or a `:format spec}` (which may hold nested fields).
fn spec_or_end(body: &str, at: usize, depth: usize) -> Result<usize, String> {
    let bytes = body.as_bytes();
    match bytes.get(at) {
        Some(b'}') => Ok(at + 1),
        Some(b':') => {
            let mut end = at + 1;
            while end < bytes.len() {
                match bytes[end] {
                    b'{' => {
                        if depth >= 1 {
                            return Err("f-string: expressions nested too deeply".to_owned());
                        }
                        end = replacement_field(body, end + 1, depth + 1)?;
                        continue;
                    }
                    b'}' => return Ok(end + 1),
                    _ => end += 1,
                }
            }
            Err("f-string: expecting '}'".to_owned())
        }
        _ => Err("f-string: expecting '}'".to_owned()),
    }
}

/// `f"{}"` and `f"{ }"` have no expression.
fn empty_check(expression: &str) -> Result<(), String> {
    if expression.trim_matches(|c| matches!(c, ' ' | '\t' | '\n' | '\r' | '\x0c')).is_empty() {
        Err("f-string: empty expression not allowed".to_owned())
    } else {
        Ok(())
    }
}
