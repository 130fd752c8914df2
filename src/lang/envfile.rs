//! `.env` files as docker compose's `env_file:` reads them: `KEY=value` lines, `export ` allowed,
//! `#` comments, values optionally quoted. Every value keeps its byte offsets.

use super::shell::Word;

/// One `KEY=value` line.
#[derive(Debug, Clone)]
pub struct EnvLine {
    pub key: String,
    pub value: Word,
    /// 1-based line.
    pub line: usize,
}

/// The assignments of an env file, in order.
pub fn parse(text: &str) -> Vec<EnvLine> {
    let mut lines = Vec::new();
    let mut offset = 0;
    for (index, raw) in text.split_inclusive('\n').enumerate() {
        let line_start = offset;
        offset += raw.len();
        let content = raw.trim_end_matches(['\n', '\r']);
        let trimmed = content.trim_start();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let mut key_start = line_start + (content.len() - trimmed.len());
        let mut rest = trimmed;
        if let Some(after) = rest.strip_prefix("export ") {
            key_start += rest.len() - after.trim_start().len();
            rest = after.trim_start();
        }
        let Some(eq) = rest.find('=') else { continue };
        let key = rest[..eq].trim_end().to_owned();
        let value_start = key_start + eq + 1;
        let value_raw = &rest[eq + 1..];
        let value = match value_raw.chars().next() {
            Some(quote @ ('"' | '\'')) => {
                let inner = &value_raw[1..];
                let close = inner.find(quote).unwrap_or(inner.len());
                Word {
                    text: inner[..close].to_owned(),
                    offsets: (value_start + 1..value_start + 1 + close).collect(),
                    span: value_start..value_start + (close + 2).min(value_raw.len()),
                    vars: Vec::new(),
                }
            }
            _ => {
                let end = value_raw.find(" #").unwrap_or(value_raw.len());
                let text = value_raw[..end].trim_end();
                Word {
                    text: text.to_owned(),
                    offsets: (value_start..value_start + text.len()).collect(),
                    span: value_start..value_start + text.len(),
                    vars: Vec::new(),
                }
            }
        };
        lines.push(EnvLine { key, value, line: index + 1 });
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_values_and_quotes() {
        let text = "# comment\nexport DEBUG=0\r\nWEB_CONCURRENCY=\"4\"\nGUNICORN_CMD_ARGS=-w 3 # note\n";
        let lines = parse(text);
        assert_eq!(lines.len(), 3);
        assert_eq!(lines[0].key, "DEBUG");
        assert_eq!(lines[1].value.text, "4");
        assert_eq!(&text[lines[1].value.source_range(0..1).unwrap()], "4");
        assert_eq!(lines[2].value.text, "-w 3");
        assert_eq!(lines[2].line, 4);
    }
}
