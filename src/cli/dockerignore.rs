//! Keeps the journal out of images. `.scalepatch/` holds byte copies of the files a run changed
//! (settings modules among them); a Dockerfile whose build context is the project root and that
//! copies the whole context (`COPY . .`) would bake them into every image unless `.dockerignore`
//! leaves the folder out. `apply` says so, with the line to add.

use std::path::{Path, PathBuf};

use crate::project::Project;
use crate::project::kinds;

/// What to tell the user: the file to edit, the line to add, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    pub file: PathBuf,
    pub line: &'static str,
    pub why: String,
}

/// The hint, when a Dockerfile built from the project root copies the whole context and the
/// `.dockerignore` that build reads does not leave `.scalepatch/` out.
pub fn hint(project: &Project) -> Option<Hint> {
    let dockerfile =
        project.files().iter().find(|path| kinds::is_dockerfile(path) && copies_root_context(project, path))?;
    // BuildKit reads `<Dockerfile>.dockerignore` beside the Dockerfile first, else the context's.
    let own = PathBuf::from(format!("{}.dockerignore", dockerfile.display()));
    let ignore_file = if project.has_file(&own) { own } else { PathBuf::from(".dockerignore") };
    let rules = project.read(&ignore_file).map(|source| source.text.clone()).unwrap_or_default();
    if ignores_journal(&rules) {
        return None;
    }
    Some(Hint {
        file: ignore_file,
        line: ".scalepatch/",
        why: format!(
            "{} copies its whole build context (the project root), which would put .scalepatch/ (the journal, with copies of the changed files) into the image",
            dockerfile.display()
        ),
    })
}

/// Whether `dockerfile` copies the whole context and that context is the project root: the
/// Dockerfile sits at the root (`docker build .`), or a compose file builds with `context: .`.
fn copies_root_context(project: &Project, dockerfile: &Path) -> bool {
    let Ok(source) = project.read(dockerfile) else { return false };
    let copies_all = source.text.lines().any(|line| {
        let words: Vec<&str> = line.split_whitespace().filter(|w| !w.starts_with("--")).collect();
        matches!(words.first().map(|w| w.to_ascii_uppercase()).as_deref(), Some("COPY" | "ADD"))
            && words.len() >= 3
            && words[1..words.len() - 1].iter().any(|src| matches!(*src, "." | "./" | "[\".\","))
    });
    let at_root = dockerfile.parent().is_none_or(|parent| parent.as_os_str().is_empty());
    copies_all && (at_root || compose_builds_from_root(project))
}

/// Whether a compose file at the root builds an image with the root as its context.
fn compose_builds_from_root(project: &Project) -> bool {
    project.files().iter().filter(|path| path.parent().is_none_or(|p| p.as_os_str().is_empty())).any(|path| {
        kinds::is_compose_name(path)
            && project.read(path).is_ok_and(|source| {
                source.text.lines().map(str::trim).any(|line| {
                    matches!(
                        line,
                        "build: ." | "build: ./" | "context: ." | "context: ./" | "build: \".\"" | "context: \".\""
                    )
                })
            })
    })
}

/// Whether `.dockerignore` rules leave `.scalepatch/` out: the last rule matching the folder (or a
/// file inside it) decides, `!` rules re-including, as Docker reads them.
fn ignores_journal(rules: &str) -> bool {
    let mut ignored = false;
    for rule in rules.lines().map(str::trim).filter(|line| !line.is_empty() && !line.starts_with('#')) {
        let (negated, pattern) = match rule.strip_prefix('!') {
            Some(rest) => (true, rest.trim()),
            None => (false, rule),
        };
        let pattern = pattern.trim_start_matches("./").trim_start_matches('/').trim_end_matches('/');
        let Ok(glob) = globset::GlobBuilder::new(pattern).literal_separator(true).build() else { continue };
        let matcher = glob.compile_matcher();
        if [".scalepatch", ".scalepatch/runs"].iter().any(|path| matcher.is_match(path)) {
            ignored = !negated;
        }
    }
    ignored
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dockerignore_rules_as_docker_reads_them() {
        assert!(ignores_journal(".scalepatch\n"));
        assert!(ignores_journal("# journal\n/.scalepatch/\n"));
        assert!(ignores_journal(".*\n"));
        assert!(ignores_journal(".scalepatch/**\n"));
        assert!(ignores_journal("*\n!app\n"));
        assert!(!ignores_journal("*\n!.scalepatch\n"));
        assert!(!ignores_journal(".git\nnode_modules\n"));
        assert!(!ignores_journal(""));
    }

    #[test]
    fn a_root_dockerfile_copying_everything_without_the_entry_gets_the_hint() {
        let tmp = tempfile::tempdir().unwrap();
        std::fs::write(tmp.path().join("Dockerfile"), "FROM python:3.12\nCOPY --chown=app . /app\n").unwrap();
        std::fs::write(tmp.path().join(".dockerignore"), ".git\n").unwrap();
        let open = || Project::open(tmp.path(), Default::default()).unwrap();
        let hint = hint(&open()).expect("a hint");
        assert_eq!((hint.file.as_path(), hint.line), (Path::new(".dockerignore"), ".scalepatch/"));
        std::fs::write(tmp.path().join(".dockerignore"), ".git\n.scalepatch/\n").unwrap();
        assert_eq!(super::hint(&open()), None);
        std::fs::write(tmp.path().join("Dockerfile"), "FROM python:3.12\nCOPY requirements.txt /app/\n").unwrap();
        std::fs::remove_file(tmp.path().join(".dockerignore")).unwrap();
        assert_eq!(super::hint(&open()), None, "only named files are copied");
    }
}
