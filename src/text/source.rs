//! A project file as read from disk: its text, its style, and the hash it was planned against.
//!
//! Patches plan edits against [`SourceFile::text`], which never contains the UTF-8 byte-order mark:
//! the BOM is kept aside and written back by the journal, so no patch can lose it by accident.

use std::path::{Path, PathBuf};

/// The UTF-8 byte-order mark, as bytes.
pub const BOM: &[u8] = b"\xEF\xBB\xBF";

/// One text file of the project.
#[derive(Debug, Clone)]
pub struct SourceFile {
    /// Path relative to the project root, with `/` separators (as in diffs).
    pub path: PathBuf,
    /// The file's text without the BOM.
    pub text: String,
    /// Whether the file starts with a UTF-8 BOM.
    pub bom: bool,
    /// Unix permission bits (0o755 for an executable entrypoint), kept on write.
    pub mode: u32,
    /// Hash of the raw bytes on disk (BOM included), checked again before writing.
    pub hash: String,
    line_starts: Vec<usize>,
}

impl SourceFile {
    /// Builds a source file from raw bytes. The caller has checked that they are UTF-8 text.
    pub fn new(path: impl Into<PathBuf>, text: String, bom: bool, mode: u32) -> SourceFile {
        let hash = hash_bytes(&raw_bytes(bom, &text));
        let line_starts = std::iter::once(0).chain(text.match_indices('\n').map(|(i, _)| i + 1)).collect();
        SourceFile { path: path.into(), text, bom, mode, hash, line_starts }
    }

    /// A file that exists only in memory, for tests and for files a patch creates.
    pub fn from_text(path: impl Into<PathBuf>, text: &str) -> SourceFile {
        match text.strip_prefix('\u{feff}') {
            Some(rest) => SourceFile::new(path, rest.to_owned(), true, 0o644),
            None => SourceFile::new(path, text.to_owned(), false, 0o644),
        }
    }

    /// The path relative to the project root.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// 1-based line number of a byte offset into [`SourceFile::text`].
    pub fn line_of(&self, offset: usize) -> usize {
        self.line_starts.partition_point(|&start| start <= offset)
    }

    /// Byte offset where the 1-based `line` starts.
    pub fn line_start(&self, line: usize) -> usize {
        self.line_starts.get(line.saturating_sub(1)).copied().unwrap_or(self.text.len())
    }

    /// Byte offset of the start of the line that contains `offset`.
    pub fn start_of_line(&self, offset: usize) -> usize {
        self.line_start(self.line_of(offset))
    }

    /// Byte offset just past the line that contains `offset`, including its line ending.
    pub fn end_of_line(&self, offset: usize) -> usize {
        self.line_start(self.line_of(offset) + 1)
    }

    /// The leading spaces or tabs of the line that contains `offset`.
    pub fn indent_at(&self, offset: usize) -> &str {
        let start = self.start_of_line(offset);
        let rest = &self.text[start..];
        let len = rest.len() - rest.trim_start_matches([' ', '\t']).len();
        &rest[..len]
    }

    /// The line ending the file uses: `"\r\n"` when its first line ends so, else `"\n"`.
    pub fn newline(&self) -> &'static str {
        match self.text.find('\n') {
            Some(i) if i > 0 && self.text.as_bytes()[i - 1] == b'\r' => "\r\n",
            _ => "\n",
        }
    }

    /// Whether the file ends with a line ending (an empty file counts as ending with one).
    pub fn ends_with_newline(&self) -> bool {
        self.text.is_empty() || self.text.ends_with('\n')
    }

    /// One level of indentation as the file writes it: a tab, or the smallest run of leading
    /// spaces found on an indented line; four spaces when the file has no indented line.
    pub fn indent_unit(&self) -> String {
        let mut smallest: Option<usize> = None;
        for line in self.text.lines() {
            if line.starts_with('\t') {
                return "\t".to_owned();
            }
            let spaces = line.len() - line.trim_start_matches(' ').len();
            if spaces > 0 && spaces < line.len() {
                smallest = Some(smallest.map_or(spaces, |s| s.min(spaces)));
            }
        }
        " ".repeat(smallest.unwrap_or(4))
    }

    /// The bytes as they are on disk.
    pub fn raw(&self) -> Vec<u8> {
        raw_bytes(self.bom, &self.text)
    }
}

/// The on-disk bytes of `text`, with the BOM put back when the file had one.
pub fn raw_bytes(bom: bool, text: &str) -> Vec<u8> {
    let mut bytes = Vec::with_capacity(text.len() + 3);
    if bom {
        bytes.extend_from_slice(BOM);
    }
    bytes.extend_from_slice(text.as_bytes());
    bytes
}

/// The hash used in plans and journals (BLAKE3, hex).
pub fn hash_bytes(bytes: &[u8]) -> String {
    blake3::hash(bytes).to_hex().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_style() {
        let file = SourceFile::from_text("a.py", "\u{feff}a = 1\r\nif x:\r\n\tb = 2\r\n");
        assert!(file.bom);
        assert_eq!(file.text, "a = 1\r\nif x:\r\n\tb = 2\r\n");
        assert_eq!(file.newline(), "\r\n");
        assert_eq!(file.indent_unit(), "\t");
        assert_eq!(file.line_of(0), 1);
        assert_eq!(file.line_of(7), 2);
        assert_eq!(file.line_start(3), 14);
        assert_eq!(file.indent_at(16), "\t");
        assert_eq!(file.end_of_line(0), 7);
        assert_eq!(&file.raw()[..3], BOM);
    }

    #[test]
    fn no_final_newline() {
        let file = SourceFile::from_text("Procfile", "web: gunicorn app");
        assert!(!file.ends_with_newline());
        assert_eq!(file.newline(), "\n");
        assert_eq!(file.indent_unit(), "    ");
    }
}
