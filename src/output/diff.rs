//! Unified diffs that `git apply` accepts at the project root: `a/` and `b/` prefixes,
//! `/dev/null` for created files, `\ No newline at end of file` where a file ends without one.
//!
//! Two details follow git byte for byte, because `git apply` is stricter than it looks:
//! lines end at `\n` only (a lone `\r` inside a line stays in that line, `\r\n` stays whole), and
//! file names are C-quoted the way git writes them (`"a/we\"ird\tname.conf"`).

use std::fmt::Write;

use owo_colors::OwoColorize;
use similar::{ChangeTag, TextDiff};

use crate::text::update::FileUpdate;

/// The git-style diff of one file update. `color` adds ANSI colours (only for terminals).
pub fn render(update: &FileUpdate, color: bool) -> String {
    let path = path_bytes(&update.path);
    let (old, new) = (quote_path("a/", &path), quote_path("b/", &path));
    // git ends `---`/`+++` names holding a space with a tab, so that GNU patch finds where they end.
    let tab = if path.contains(&b' ') { "\t" } else { "" };
    let before = update.before_text();
    let after = update.after_text();
    let mut out = String::new();
    let mut header = format!("diff --git {old} {new}\n");
    match &before {
        None => {
            let _ = writeln!(header, "new file mode 100{:o}", update.mode());
            let _ = write!(header, "--- /dev/null\n+++ {new}{tab}\n");
        }
        Some(_) => {
            let _ = write!(header, "--- {old}{tab}\n+++ {new}{tab}\n");
        }
    }
    out.push_str(&paint(&header, color, Style::Header));
    let before = before.unwrap_or_default();
    let (old_lines, new_lines) = (lines(&before), lines(&after));
    let diff = TextDiff::from_slices(&old_lines, &new_lines);
    for hunk in diff.unified_diff().context_radius(3).iter_hunks() {
        out.push_str(&paint(&format!("{}\n", hunk.header()), color, Style::Hunk));
        for change in hunk.iter_changes() {
            let (sign, style) = match change.tag() {
                ChangeTag::Delete => ('-', Style::Removed),
                ChangeTag::Insert => ('+', Style::Added),
                ChangeTag::Equal => (' ', Style::Context),
            };
            let value = change.as_str().unwrap_or_default();
            let mut line = format!("{sign}{value}");
            if !value.ends_with('\n') {
                line.push_str("\n\\ No newline at end of file\n");
            }
            out.push_str(&paint(&line, color, style));
        }
    }
    out
}

/// Splits `text` into lines the way git does: each ends just after a `\n` (kept, with a `\r`
/// before it), the last one may end without. `similar`'s own splitting also ends a line at a lone
/// `\r`, which gives hunks whose line counts git rejects.
fn lines(text: &str) -> Vec<&str> {
    text.split_inclusive('\n').collect()
}

/// The path's bytes with `/` separators (on Unix the bytes as they are, so that a name that is not
/// UTF-8 is quoted exactly, and a backslash stays part of the name).
#[cfg(unix)]
fn path_bytes(path: &std::path::Path) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    path.as_os_str().as_bytes().to_vec()
}

#[cfg(not(unix))]
fn path_bytes(path: &std::path::Path) -> Vec<u8> {
    path.to_string_lossy().replace('\\', "/").into_bytes()
}

/// `prefix` + `path` as git writes it in diff headers: as is, or (when a byte needs it) in double
/// quotes with C escapes, as git's `quote_c_style` with the default `core.quotePath=true` does:
/// `\"`, `\\`, `\a \b \t \n \v \f \r`, and three-digit octal for other control bytes, DEL and
/// every byte of a non-ASCII name. Without the quotes, `git apply` reads a tab or newline in a
/// name as the end of the name.
fn quote_path(prefix: &str, path: &[u8]) -> String {
    let needs_quotes = |b: u8| b < 0x20 || b == b'"' || b == b'\\' || b >= 0x7f;
    if !path.iter().any(|&b| needs_quotes(b)) {
        return format!("{prefix}{}", String::from_utf8_lossy(path));
    }
    let mut quoted = format!("\"{prefix}");
    for &byte in path {
        match byte {
            b'"' => quoted.push_str("\\\""),
            b'\\' => quoted.push_str("\\\\"),
            0x07 => quoted.push_str("\\a"),
            0x08 => quoted.push_str("\\b"),
            b'\t' => quoted.push_str("\\t"),
            b'\n' => quoted.push_str("\\n"),
            0x0b => quoted.push_str("\\v"),
            0x0c => quoted.push_str("\\f"),
            b'\r' => quoted.push_str("\\r"),
            b if needs_quotes(b) => {
                let _ = write!(quoted, "\\{b:03o}");
            }
            b => quoted.push(char::from(b)),
        }
    }
    quoted.push('"');
    quoted
}

/// The diff of several updates, one after the other.
pub fn render_all(updates: &[FileUpdate], color: bool) -> String {
    updates.iter().map(|update| render(update, color)).collect()
}

#[derive(Clone, Copy)]
enum Style {
    Header,
    Hunk,
    Added,
    Removed,
    Context,
}

fn paint(text: &str, color: bool, style: Style) -> String {
    if !color {
        return text.to_owned();
    }
    // Colour each line on its own so a pager never carries a colour over a line break.
    text.split_inclusive('\n')
        .map(|line| {
            let (body, end) = line.strip_suffix('\n').map_or((line, ""), |b| (b, "\n"));
            let painted = match style {
                Style::Header => body.bold().to_string(),
                Style::Hunk => body.cyan().to_string(),
                Style::Added => body.green().to_string(),
                Style::Removed => body.red().to_string(),
                Style::Context => body.to_owned(),
            };
            format!("{painted}{end}")
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::text::source::SourceFile;
    use std::sync::Arc;

    fn update(before: Option<&str>, after: &str) -> FileUpdate {
        FileUpdate {
            path: "deploy/Procfile".into(),
            before: before.map(|text| Arc::new(SourceFile::from_text("deploy/Procfile", text))),
            after: after.to_owned(),
            patches: vec!["gunicorn-workers"],
        }
    }

    #[test]
    fn modified_file_without_final_newline() {
        let diff = render(&update(Some("web: gunicorn app -w 3"), "web: gunicorn app -w 5"), false);
        assert_eq!(
            diff,
            "diff --git a/deploy/Procfile b/deploy/Procfile\n--- a/deploy/Procfile\n+++ b/deploy/Procfile\n@@ -1 +1 @@\n-web: gunicorn app -w 3\n\\ No newline at end of file\n+web: gunicorn app -w 5\n\\ No newline at end of file\n"
        );
    }

    #[test]
    fn names_are_quoted_as_git_quotes_them() {
        assert_eq!(quote_path("a/", b"nginx/nginx.conf"), "a/nginx/nginx.conf");
        assert_eq!(quote_path("a/", b"sp ace.conf"), "a/sp ace.conf");
        assert_eq!(quote_path("a/", b"dir/we\"ird\tname.conf"), r#""a/dir/we\"ird\tname.conf""#);
        assert_eq!(quote_path("b/", b"new\nline\\x"), r#""b/new\nline\\x""#);
        assert_eq!(quote_path("a/", "café".as_bytes()), r#""a/caf\303\251""#);
        assert_eq!(quote_path("a/", b"del\x7f\x01"), r#""a/del\177\001""#);
    }

    #[test]
    fn a_lone_carriage_return_stays_inside_its_line() {
        let diff = render(&update(Some("a\rb\nc\r\nd\n"), "a\rb\nc\r\ne\n"), false);
        assert!(diff.ends_with("@@ -1,3 +1,3 @@\n a\rb\n c\r\n-d\n+e\n"), "{diff:?}");
    }

    /// A file name, its bytes before (`None`: created) and after.
    type Case = (&'static str, Option<&'static [u8]>, &'static [u8]);

    /// Each case: a file name, its bytes before (`None`: created) and after. The diff must pass
    /// `git apply --check`, `git apply` must give the exact bytes after, and the header must be the
    /// one `git diff` itself writes for that change.
    #[cfg(unix)]
    #[test]
    fn git_applies_every_diff_and_writes_the_same_header() {
        let cases: &[Case] = &[
            ("lone-cr.conf", Some(b"a\rb\nkeep\nold\rx\n"), b"a\rb\nkeep\nnew\rx\n"),
            ("crlf.conf", Some(b"one\r\ntwo\r\nthree\r\n"), b"one\r\n2\r\nthree\r\n"),
            ("cr-at-end", Some(b"x\ny\r"), b"x\nz\r"),
            ("no-final-newline", Some(b"a\nb"), b"a\nc"),
            ("tab\there.conf", Some(b"w 3\n"), b"w 5\n"),
            ("new\nline.conf", Some(b"w 3\n"), b"w 5\n"),
            ("we\"ird.conf", Some(b"w 3\n"), b"w 5\n"),
            ("back\\slash.conf", Some(b"w 3\n"), b"w 5\n"),
            ("sp ace.conf", Some(b"w 3\n"), b"w 5\n"),
            ("caf\u{e9} \u{1f40d}.conf", Some(b"w 3\n"), b"w 5\n"),
            ("created sp\tace.py", None, b"x = 1\n"),
            ("created-no-newline", None, b"x = 1"),
        ];
        for (name, before, after) in cases {
            check_with_git(name, *before, after);
        }
    }

    #[cfg(unix)]
    fn check_with_git(name: &str, before: Option<&[u8]>, after: &[u8]) {
        use std::io::Write;
        use std::process::{Command, Stdio};
        let dir = tempfile::tempdir().unwrap();
        let git = |args: &[&str]| {
            let out = Command::new("git").args(args).current_dir(dir.path()).output().expect("git is installed");
            assert!(out.status.success(), "{name:?}: git {args:?}: {}", String::from_utf8_lossy(&out.stderr));
            out.stdout
        };
        git(&["init", "-q"]);
        git(&["-c", "user.name=t", "-c", "user.email=t@t", "commit", "-q", "--allow-empty", "-m", "init"]);
        let path = std::path::Path::new("dir").join(name);
        std::fs::create_dir_all(dir.path().join("dir")).unwrap();
        let text = |bytes: &[u8]| String::from_utf8(bytes.to_vec()).unwrap();
        let update = FileUpdate {
            path: path.clone(),
            before: before.map(|b| Arc::new(SourceFile::from_text(path.clone(), &text(b)))),
            after: text(after),
            patches: vec!["gunicorn-workers"],
        };
        let diff = render(&update, false);
        if let Some(before) = before {
            std::fs::write(dir.path().join(&path), before).unwrap();
        }
        for args in [&["apply", "--check", "-"][..], &["apply", "-"][..]] {
            let mut child = Command::new("git")
                .args(args)
                .current_dir(dir.path())
                .stdin(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            child.stdin.take().unwrap().write_all(diff.as_bytes()).unwrap();
            let out = child.wait_with_output().unwrap();
            assert!(out.status.success(), "{name:?}: git {args:?}: {}\n{diff}", String::from_utf8_lossy(&out.stderr));
        }
        assert_eq!(std::fs::read(dir.path().join(&path)).unwrap(), after, "{name:?}: bytes after git apply");
        // git's own diff of the same change, from the bytes before to the bytes after.
        match before {
            Some(before) => {
                std::fs::write(dir.path().join(&path), before).unwrap();
                git(&["add", "-A"]);
                std::fs::write(dir.path().join(&path), after).unwrap();
            }
            None => {
                git(&["add", "-N", "-A"]);
            }
        }
        let theirs = String::from_utf8(git(&["-c", "core.quotePath=true", "diff", "--no-color"])).unwrap();
        let header = |diff: &str| -> Vec<String> {
            diff.lines()
                .filter(|l| ["diff --git", "--- ", "+++ "].iter().any(|p| l.starts_with(p)))
                .map(str::to_owned)
                .collect()
        };
        assert_eq!(header(&diff), header(&theirs), "{name:?}: header differs from git's");
    }

    #[test]
    fn created_file() {
        let diff = render(&update(None, "a\n"), false);
        assert!(diff.starts_with("diff --git a/deploy/Procfile b/deploy/Procfile\nnew file mode 100644\n--- /dev/null\n+++ b/deploy/Procfile\n@@ -0,0 +1 @@\n+a\n"), "{diff}");
    }
}
