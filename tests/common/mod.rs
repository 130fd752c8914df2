//! The fixture harness shared by every patch's tests.
//!
//! A case is `fixtures/patches/<patch-id>/<case>/` holding:
//! - `before/`: the project tree as the user has it;
//! - `expected.diff`: the exact diff `scalepatch diff --only <patch-id>` prints (empty: no change);
//! - `case.toml`: every outcome the patch reports, in order, as `[[outcome]]` tables with
//!   `status` ("change", "ok", "skipped", "not found", "error", "warning") and `reason` (a
//!   substring of the outcome's one-line description); optionally `cpus = N`, `instances = N`,
//!   the `[[nginx]]` deployments `nginx -t` checks (see `nginx.rs`) and the `[gunicorn]` count of
//!   starts the real gunicorn verifies (see `tests/gunicorn.rs`).
//!
//! [`Case::check`] asserts the diff and the full list of outcomes, that `git apply --check`
//! accepts the diff, applies it through the journal (as `scalepatch apply` does), asserts that a
//! second plan finds nothing to do (idempotence), reverts it and asserts the tree is
//! byte-identical to `before/` (modes included, created files gone), then applies it again and
//! returns the patched tree for real-tool checks.
//!
//! With `UPDATE_EXPECT=1`, a case whose output differs writes `expected.diff.new` and
//! `case.toml.new` beside the reviewed files and still fails: review them, then rename them over
//! the reviewed files. The reviewed files are never overwritten by a test run.

#![allow(dead_code)]

pub mod nginx;
pub mod snapshot;
pub mod tools;

use std::path::{Path, PathBuf};

use scalepatch::engine::outcome::Outcome;
use scalepatch::engine::patch::Patch;
use scalepatch::engine::plan::{Plan, file_updates};
use scalepatch::project::Project;
use scalepatch::project::config::{Config, Values};

/// One fixture case of one patch.
#[derive(Clone)]
pub struct Case {
    /// The patch's id.
    pub patch: &'static str,
    /// The patch itself: from the catalog, or a test-only patch (tests/adding_a_patch.rs).
    pub object: &'static dyn Patch,
    pub name: String,
    pub dir: PathBuf,
}

/// What `case.toml` says.
#[derive(Debug, Default, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseSpec {
    pub cpus: Option<u32>,
    pub instances: Option<u32>,
    /// Every outcome of the case's patch, in the order the plan reports them.
    #[serde(default, rename = "outcome")]
    pub outcomes: Vec<ExpectedOutcome>,
    /// The nginx deployments `nginx -t` checks the case's files in (none: no nginx config).
    #[serde(default)]
    pub nginx: Vec<nginx::Deployment>,
    /// How many gunicorn starts the real `gunicorn --print-config` verifies after both gunicorn patches.
    pub gunicorn: Option<GunicornSpec>,
}

/// One outcome a case's patch must report.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExpectedOutcome {
    /// The outcome's label: change, ok, skipped, not found, error, warning.
    pub status: String,
    /// A substring of the outcome's one-line description (the distinctive part).
    pub reason: String,
}

impl ExpectedOutcome {
    fn matches(&self, outcome: &Outcome) -> bool {
        self.status == outcome.label() && outcome.describe().contains(&self.reason)
    }
}

/// `[gunicorn]` in a gunicorn case: the starts the real gunicorn checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GunicornSpec {
    /// Starts whose workers / worker class / threads `gunicorn --print-config` confirmed.
    pub verified: usize,
}

/// A case after its planned changes were written to a scratch copy.
pub struct Applied {
    /// The scratch copy (deleted on drop).
    pub tmp: tempfile::TempDir,
    /// The diff that was applied.
    pub diff: String,
    /// The plan's outcomes for the patch.
    pub outcomes: Vec<Outcome>,
}

impl Applied {
    /// The patched project root.
    pub fn root(&self) -> &Path {
        self.tmp.path()
    }
}

pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Every case of the catalog's patch `patch`, sorted by name. Panics when there is none: a
/// patch without cases is untested.
pub fn cases(patch: &str) -> Vec<Case> {
    let object = scalepatch::patches::by_id(patch).unwrap_or_else(|| panic!("unknown patch {patch}"));
    cases_of(object, &repo_root().join("fixtures/patches").join(object.id()))
}

/// Every case of `object` under `dir` (one folder per case, each with `before/`), sorted by name.
pub fn cases_of(object: &'static dyn Patch, dir: &Path) -> Vec<Case> {
    let patch = object.id();
    let mut cases: Vec<Case> = std::fs::read_dir(dir)
        .unwrap_or_else(|err| panic!("{}: {err}", dir.display()))
        .filter_map(Result::ok)
        .filter(|entry| entry.path().join("before").is_dir())
        .map(|entry| Case { patch, object, name: entry.file_name().to_string_lossy().into_owned(), dir: entry.path() })
        .collect();
    cases.sort_by(|a, b| a.name.cmp(&b.name));
    assert!(!cases.is_empty(), "no fixture cases under {}", dir.display());
    cases
}

/// Copies a tree, keeping file modes and symlinks.
pub fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        let kind = entry.file_type().unwrap();
        if kind.is_symlink() {
            std::os::unix::fs::symlink(std::fs::read_link(&src).unwrap(), &dst).unwrap();
        } else if kind.is_dir() {
            copy_tree(&src, &dst);
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

impl Case {
    /// The case's `case.toml`; a case without one has no stated outcomes (and so fails [`Case::check`]).
    pub fn spec(&self) -> CaseSpec {
        match std::fs::read_to_string(self.dir.join("case.toml")) {
            Ok(text) => toml::from_str(&text).unwrap_or_else(|err| panic!("{}/case.toml: {err}", self.dir.display())),
            Err(_) => CaseSpec::default(),
        }
    }

    /// A scratch copy of `before/`.
    pub fn copy(&self) -> tempfile::TempDir {
        let tmp = tempfile::tempdir().unwrap();
        copy_tree(&self.dir.join("before"), tmp.path());
        tmp
    }

    fn open(&self, root: &Path) -> Project {
        let spec = self.spec();
        let config = Config::load(root, &Values { cpus: spec.cpus, instances: spec.instances }).unwrap();
        Project::open(root, config).unwrap()
    }

    /// Plans this case's patch on `root`: the outcomes and the diff.
    pub fn plan(&self, root: &Path) -> (Vec<Outcome>, String, Vec<scalepatch::engine::plan::FileUpdate>) {
        let project = self.open(root);
        let plan = Plan::build(&project, &[self.object]);
        let changes: Vec<_> = plan.changes().collect();
        let updates = file_updates(&project, &changes).unwrap_or_else(|err| panic!("{}: {err}", self.label()));
        let diff = scalepatch::output::diff::render_all(&updates, false);
        let outcomes = plan.reports.into_iter().flat_map(|r| r.outcomes).collect();
        (outcomes, diff, updates)
    }

    pub fn label(&self) -> String {
        format!("{}/{}", self.patch, self.name)
    }

    /// Runs every generic check and returns the patched copy.
    pub fn check(&self) -> Applied {
        self.check_with(std::env::var_os("UPDATE_EXPECT").is_some())
    }

    /// [`Case::check`]; `update`: on a mismatch, write the `.new` files before failing.
    pub fn check_with(&self, update: bool) -> Applied {
        let tmp = self.copy();
        let (outcomes, diff, updates) = self.plan(tmp.path());
        let label = self.label();
        let spec = self.spec();
        let diff_ok = snapshot::diff_matches(&self.dir, &diff);
        let outcomes_ok = spec.outcomes.len() == outcomes.len()
            && spec.outcomes.iter().zip(&outcomes).all(|(expected, outcome)| expected.matches(outcome));
        if !(diff_ok && outcomes_ok) {
            self.report_mismatch(&spec, &outcomes, &diff, [diff_ok, outcomes_ok], update);
        }
        assert_consistent(&outcomes, &updates, &label);
        if !diff.is_empty() {
            git_apply_check(tmp.path(), &diff, &label);
        }

        if updates.is_empty() {
            return Applied { tmp, diff, outcomes };
        }
        // Through the journal, as `scalepatch apply` writes: apply, plan again (idempotence), revert
        // (byte-identical to before/, created files gone), then apply again for the caller's checks.
        apply_through_journal(tmp.path(), &updates, &[self.patch], &label);
        let (again, second, _) = self.plan(tmp.path());
        assert_eq!(second, "", "{label}: not idempotent; a second run still changes:\n{second}\n{again:#?}");
        revert_and_compare(tmp.path(), &self.dir.join("before"), &label);
        apply_through_journal(tmp.path(), &updates, &[self.patch], &label);
        Applied { tmp, diff, outcomes }
    }

    /// Fails the case, saying what differs; with `UPDATE_EXPECT` set, first writes the `.new`
    /// files to review.
    fn report_mismatch(&self, spec: &CaseSpec, outcomes: &[Outcome], diff: &str, ok: [bool; 2], update: bool) -> ! {
        let [diff_ok, outcomes_ok] = ok;
        let label = self.label();
        let got = outcomes.iter().map(|o| format!("  {}: {}", o.label(), o.describe())).collect::<Vec<_>>().join("\n");
        let wanted = spec.outcomes.iter().map(|o| format!("  {}: ...{}...", o.status, o.reason)).collect::<Vec<_>>();
        let mut message = format!("{label}:");
        if !diff_ok {
            message.push_str(" the diff differs from expected.diff;");
        }
        if !outcomes_ok {
            message.push_str(&format!(" the outcomes differ from case.toml:\n want:\n{}\n got:", wanted.join("\n")));
        }
        message.push_str(&format!("\n{got}\n"));
        if update {
            let written = snapshot::write_new(&self.dir, spec, outcomes, diff, diff_ok, outcomes_ok);
            message.push_str(&format!(
                "wrote {}: review, then rename over the reviewed file(s) (mv X.new X)",
                written.join(", ")
            ));
        } else {
            message.push_str("run with UPDATE_EXPECT=1 to write expected.diff.new / case.toml.new for review");
        }
        if !diff_ok {
            message.push_str(&format!("\n--- diff ---\n{diff}"));
        }
        panic!("{message}");
    }
}

/// What holds for every plan whatever its case: the diff writes exactly the files the changes name
/// (no diff without a change, no change without its file in the diff).
fn assert_consistent(outcomes: &[Outcome], updates: &[scalepatch::engine::plan::FileUpdate], label: &str) {
    let changed: std::collections::BTreeSet<&Path> = outcomes
        .iter()
        .filter_map(|o| match o {
            Outcome::Change(change) => Some(change.path()),
            _ => None,
        })
        .collect();
    let written: std::collections::BTreeSet<&Path> = updates.iter().map(|u| u.path.as_path()).collect();
    assert_eq!(changed, written, "{label}: the files the changes name are not the files the diff writes");
}

/// `git apply --check` of `diff` against a fresh copy of the tree at `root` (before it is patched).
fn git_apply_check(root: &Path, diff: &str, label: &str) {
    use std::io::Write;
    let mut child = std::process::Command::new("git")
        .args(["apply", "--check", "--unsafe-paths", "-"])
        .current_dir(root)
        .stdin(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("git is installed");
    child.stdin.take().unwrap().write_all(diff.as_bytes()).unwrap();
    let output = child.wait_with_output().unwrap();
    assert!(
        output.status.success(),
        "{label}: git apply --check refuses the diff: {}",
        String::from_utf8_lossy(&output.stderr)
    );
}

/// Writes `updates` to the project at `root` through the journal, as `scalepatch apply` does.
pub fn apply_through_journal(
    root: &Path,
    updates: &[scalepatch::engine::plan::FileUpdate],
    patches: &[&str],
    label: &str,
) -> scalepatch::journal::Manifest {
    let mut journal = scalepatch::journal::Journal::open(root)
        .unwrap_or_else(|err| panic!("{label}: cannot open the journal: {err}"));
    let manifest = journal.apply(updates, patches).unwrap_or_else(|err| panic!("{label}: apply failed: {err}"));
    assert_eq!(manifest.state, scalepatch::journal::RunState::Applied, "{label}");
    for update in updates {
        let written = std::fs::read(root.join(&update.path)).unwrap();
        assert_eq!(written, update.after_bytes(), "{label}: {} not written as planned", update.path.display());
    }
    manifest
}

/// Reverts the newest applied run at `root` and asserts the tree is byte-identical to `before`.
pub fn revert_and_compare(root: &Path, before: &Path, label: &str) {
    let mut journal = scalepatch::journal::Journal::open(root)
        .unwrap_or_else(|err| panic!("{label}: cannot open the journal: {err}"));
    journal.revert(None).unwrap_or_else(|err| panic!("{label}: revert failed: {err}"));
    drop(journal);
    assert_same_tree(root, before, label);
}

/// Asserts that every file under `expected` exists under `actual` with the same bytes and mode
/// (symlinks: the same target), and that `actual` holds no other file (`.scalepatch/` aside).
pub fn assert_same_tree(actual: &Path, expected: &Path, label: &str) {
    let left = tree_files(actual);
    let right = tree_files(expected);
    let names = |files: &[(PathBuf, FileFacts)]| files.iter().map(|(p, _)| p.clone()).collect::<Vec<_>>();
    assert_eq!(names(&left), names(&right), "{label}: the tree after revert has other files than before/");
    for ((path, got), (_, want)) in left.iter().zip(&right) {
        assert!(got == want, "{label}: {} differs after revert: got {got:?}, want {want:?}", path.display());
    }
}

/// What the round trip must keep of a file.
#[derive(Debug, PartialEq, Eq)]
pub enum FileFacts {
    File { mode: u32, bytes: Vec<u8> },
    Symlink(PathBuf),
}

/// Every file under `root` (relative, sorted), `.scalepatch/` excluded.
pub fn tree_files(root: &Path) -> Vec<(PathBuf, FileFacts)> {
    use std::os::unix::fs::PermissionsExt;
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, FileFacts)>) {
        for entry in std::fs::read_dir(dir).unwrap() {
            let entry = entry.unwrap();
            let path = entry.path();
            let relative = path.strip_prefix(root).unwrap().to_owned();
            if relative == Path::new(scalepatch::journal::DIR) {
                continue;
            }
            let kind = entry.file_type().unwrap();
            if kind.is_symlink() {
                out.push((relative, FileFacts::Symlink(std::fs::read_link(&path).unwrap())));
            } else if kind.is_dir() {
                walk(root, &path, out);
            } else {
                let mode = entry.metadata().unwrap().permissions().mode() & 0o7777;
                out.push((relative, FileFacts::File { mode, bytes: std::fs::read(&path).unwrap() }));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort_by(|a, b| a.0.cmp(&b.0));
    out
}
