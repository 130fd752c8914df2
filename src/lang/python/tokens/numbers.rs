//! Number literals, as CPython 3.11's tokenizer reads them.

use super::{LexicalError, Scan, Scanner};

impl Scanner<'_> {
    /// A number literal, following CPython 3.11's `tok_get`: underscores only between digits, no
    /// leading zeros in a decimal integer (`05`; `00`, `05.5` and `0e1` are fine), and no letter
    /// straight after the number (`1abc`), except the keywords valid code may glue to it (`1if`).
    pub(super) fn number(&mut self) -> Scan {
        let line = self.line;
        let invalid = |kind: &str| LexicalError { line, detail: format!("invalid {kind} literal"), raised: true };
        if self.peek(0) == b'.' {
            self.at += 1;
            return self.fraction(&invalid);
        }
        if self.peek(0) == b'0' {
            self.at += 1;
            match self.peek(0).to_ascii_lowercase() {
                b'x' => return self.radix(16, "hexadecimal", &invalid),
                b'o' => return self.radix(8, "octal", &invalid),
                b'b' => return self.radix(2, "binary", &invalid),
                _ => {}
            }
            loop {
                if self.peek(0) == b'_' {
                    self.at += 1;
                    if !self.peek(0).is_ascii_digit() {
                        return Err(invalid("decimal"));
                    }
                }
                if self.peek(0) != b'0' {
                    break;
                }
                self.at += 1;
            }
            let nonzero = self.peek(0).is_ascii_digit();
            if nonzero {
                self.decimal_tail(&invalid)?;
            }
            return match self.peek(0) {
                b'.' => {
                    self.at += 1;
                    self.fraction(&invalid)
                }
                b'e' | b'E' | b'j' | b'J' => self.fraction(&invalid),
                _ if nonzero => Err(self.raised(
                    line,
                    "leading zeros in decimal integer literals are not permitted; use an 0o prefix for octal integers",
                )),
                _ => self.end_of_number("decimal", &invalid),
            };
        }
        self.decimal_tail(&invalid)?;
        if self.peek(0) == b'.' {
            self.at += 1;
        }
        self.fraction(&invalid)
    }

    /// Digits with single underscores between them (`tok_decimal_tail`).
    fn decimal_tail(&mut self, invalid: &dyn Fn(&str) -> LexicalError) -> Scan {
        loop {
            while self.peek(0).is_ascii_digit() {
                self.at += 1;
            }
            if self.peek(0) != b'_' {
                return Ok(());
            }
            self.at += 1;
            if !self.peek(0).is_ascii_digit() {
                return Err(invalid("decimal"));
            }
        }
    }

    /// What may follow the integer part: fraction digits, an exponent, an imaginary `j`.
    fn fraction(&mut self, invalid: &dyn Fn(&str) -> LexicalError) -> Scan {
        if self.peek(0).is_ascii_digit() {
            self.decimal_tail(invalid)?;
        }
        if matches!(self.peek(0), b'e' | b'E') {
            self.at += 1;
            if matches!(self.peek(0), b'+' | b'-') {
                self.at += 1;
                if !self.peek(0).is_ascii_digit() {
                    return Err(invalid("decimal"));
                }
            } else if !self.peek(0).is_ascii_digit() {
                // `1else`: the `e` starts the next token, if that is a keyword valid code glues on.
                self.at -= 1;
                return self.end_of_number("decimal", invalid);
            }
            self.decimal_tail(invalid)?;
        }
        if matches!(self.peek(0), b'j' | b'J') {
            self.at += 1;
            return self.end_of_number("imaginary", invalid);
        }
        self.end_of_number("decimal", invalid)
    }

    /// `0x`, `0o`, `0b` literals: at least one digit, underscores between digits only.
    fn radix(&mut self, radix: u32, kind: &str, invalid: &dyn Fn(&str) -> LexicalError) -> Scan {
        self.at += 1;
        loop {
            if self.peek(0) == b'_' {
                self.at += 1;
            }
            if !(self.peek(0) as char).is_digit(radix) {
                return Err(self.bad_digit(radix, kind, invalid));
            }
            while (self.peek(0) as char).is_digit(radix) {
                self.at += 1;
            }
            if self.peek(0) != b'_' {
                break;
            }
        }
        if radix < 10 && self.peek(0).is_ascii_digit() {
            return Err(self.bad_digit(radix, kind, invalid));
        }
        self.end_of_number(kind, invalid)
    }

    /// `0o8`: CPython names the digit; otherwise the literal.
    fn bad_digit(&self, radix: u32, kind: &str, invalid: &dyn Fn(&str) -> LexicalError) -> LexicalError {
        match self.peek(0) {
            digit if radix < 10 && digit.is_ascii_digit() => {
                self.raised(self.line, format!("invalid digit '{}' in {kind} literal", digit as char))
            }
            _ => invalid(kind),
        }
    }

    /// A number may not run into a name (`verify_end_of_number`), but valid code glues a few
    /// keywords to numbers (`1if x else 2`, `0x1for`): CPython 3.11 only warns about those.
    fn end_of_number(&self, kind: &str, invalid: &dyn Fn(&str) -> LexicalError) -> Scan {
        let rest = &self.bytes[self.at..];
        let keyword =
            ["and", "else", "for", "if", "in", "is", "or", "not"].iter().any(|k| rest.starts_with(k.as_bytes()));
        let glued = rest.first().is_some_and(|&b| b == b'_' || b.is_ascii_alphanumeric() || b >= 0x80);
        if glued && !keyword { Err(invalid(kind)) } else { Ok(()) }
    }
}
