//! The journal, end to end on real files: apply, revert, rollback, recovery, the lock.
//!
//! The real patches live in their own issues, so these tests plan with test-only patches:
//! `BumpWorkers` rewrites `workers = N` to `workers = 5` in every `*.txt` file, `AddMigration`
//! creates `migrations/0002_added.py`, `Clash` edits the same bytes as `BumpWorkers`, `LogLevel`
//! edits another line of `a.txt`.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use scalepatch::engine::outcome::{Change, Location, Outcome};
use scalepatch::engine::patch::{Patch, PatchInfo, RealTool};
use scalepatch::engine::plan::{FileUpdate, Plan, file_updates};
#[cfg(feature = "fault-injection")]
use scalepatch::journal::Faults;
use scalepatch::journal::{FileState, Journal, JournalError, RunState};
use scalepatch::project::Project;
use scalepatch::project::config::Config;
use scalepatch::text::edit::Edit;

struct BumpWorkers;
struct AddMigration;
struct Clash;
struct LogLevel;

static BUMP: BumpWorkers = BumpWorkers;
static ADD: AddMigration = AddMigration;
static CLASH: Clash = Clash;
static LOGLEVEL: LogLevel = LogLevel;

/// The byte range of the value in the `workers = N` line of a file, if any.
fn workers_value(text: &str) -> Option<std::ops::Range<usize>> {
    let start = text.find("workers = ")? + "workers = ".len();
    let len = text[start..].find(|c: char| !c.is_ascii_digit()).unwrap_or(text.len() - start);
    Some(start..start + len)
}

fn edit_workers(project: &Project, patch: &'static str, value: &str) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    for path in project.files_where(|p| p.extension().is_some_and(|e| e == "txt")) {
        let file = match project.read(path) {
            Ok(file) => file,
            Err(err) => {
                outcomes.push(err.into());
                continue;
            }
        };
        match workers_value(&file.text) {
            Some(range) if &file.text[range.clone()] != value => {
                let line = file.line_of(range.start);
                outcomes.push(Outcome::Change(
                    Change::modify(patch, path.clone(), vec![Edit::replace(range, value)])
                        .summary(format!("workers -> {value}"))
                        .why("test patch")
                        .assume("2 CPUs (test)")
                        .at_line(line),
                ));
            }
            Some(_) => outcomes.push(Outcome::ok(Some(Location::file(path.clone())), "already set")),
            None => {}
        }
    }
    if outcomes.is_empty() {
        outcomes.push(Outcome::not_found("no workers line"));
    }
    outcomes
}

/// What the catalog knows of this patch.
pub static BUMP_WORKERS_INFO: PatchInfo = PatchInfo {
    id: "test-bump-workers",
    quick_win: "QW0",
    why_prefix: "QW0",
    title: "test: workers = 5 in every *.txt",
    phase_1: true,
    verify: &["grep workers *.txt"],
    checked_by: RealTool::Gunicorn,
};

impl Patch for BumpWorkers {
    fn info(&self) -> &'static PatchInfo {
        &BUMP_WORKERS_INFO
    }

    fn plan(&self, project: &Project) -> Vec<Outcome> {
        edit_workers(project, self.id(), "5")
    }
}

/// What the catalog knows of this patch.
pub static CLASH_INFO: PatchInfo = PatchInfo {
    id: "test-clash",
    quick_win: "QW0",
    why_prefix: "QW0",
    title: "test: workers = 9 in every *.txt",
    phase_1: true,
    verify: &[],
    checked_by: RealTool::Gunicorn,
};

impl Patch for Clash {
    fn info(&self) -> &'static PatchInfo {
        &CLASH_INFO
    }

    fn plan(&self, project: &Project) -> Vec<Outcome> {
        edit_workers(project, self.id(), "9")
    }
}

/// What the catalog knows of this patch.
pub static LOG_LEVEL_INFO: PatchInfo = PatchInfo {
    id: "test-log-level",
    quick_win: "QW0",
    why_prefix: "QW0",
    title: "test: loglevel = debug in a.txt",
    phase_1: true,
    verify: &[],
    checked_by: RealTool::Gunicorn,
};

impl Patch for LogLevel {
    fn info(&self) -> &'static PatchInfo {
        &LOG_LEVEL_INFO
    }

    fn plan(&self, project: &Project) -> Vec<Outcome> {
        let file = project.read(Path::new("a.txt")).unwrap();
        match file.text.find("loglevel = info") {
            Some(at) => vec![Outcome::Change(
                Change::modify(self.id(), "a.txt", vec![Edit::replace(at + 11..at + 15, "debug")]).summary("debug"),
            )],
            None => vec![Outcome::ok(None, "done")],
        }
    }
}

const MIGRATION: &str = "migrations/0002_added.py";

/// What the catalog knows of this patch.
pub static ADD_MIGRATION_INFO: PatchInfo = PatchInfo {
    id: "test-add-migration",
    quick_win: "QW0",
    why_prefix: "QW0",
    title: "test: a new migration",
    phase_1: true,
    verify: &["python manage.py makemigrations --check"],
    checked_by: RealTool::Gunicorn,
};

impl Patch for AddMigration {
    fn info(&self) -> &'static PatchInfo {
        &ADD_MIGRATION_INFO
    }

    fn plan(&self, project: &Project) -> Vec<Outcome> {
        if project.has_file(Path::new(MIGRATION)) {
            vec![Outcome::ok(Some(Location::file(MIGRATION)), "already there")]
        } else {
            vec![Outcome::Change(
                Change::create(self.id(), MIGRATION, "from django.db import migrations\n").summary("new migration"),
            )]
        }
    }
}

const PATCHES: &[&'static dyn Patch] = &[&BUMP, &ADD];
const IDS: &[&str] = &["test-bump-workers", "test-add-migration"];

/// A project whose files cover the byte-level traps: CRLF, a BOM, no final newline, an
/// executable file, a file the patches leave alone, and a symlink inside the project.
fn sample_tree() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path();
    let write = |path: &str, bytes: &[u8], mode: u32| {
        let path = root.join(path);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, bytes).unwrap();
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    write(
        "a.txt",
        b"# web\nname = web\nbind = 0.0.0.0:8000\nworkers = 3\ntimeout = 30\nkeepalive = 2\nloglevel = info\n",
        0o644,
    );
    write(
        "crlf.txt",
        b"name = api\r\nbind = :8001\r\nworkers = 2\r\ntimeout = 60\r\nkeepalive = 5\r\nlog = debug\r\n",
        0o644,
    );
    write("bom.txt", b"\xEF\xBB\xBFworkers = 4\nname = bom\n", 0o644);
    write("nofinal.txt", b"name = last\nworkers = 1", 0o644);
    write("bin/entry.txt", b"#!/bin/sh\nworkers = 3\nexec gunicorn app.wsgi\n", 0o755);
    write("untouched.md", b"workers = 3\n", 0o644);
    write("migrations/0001_initial.py", b"from django.db import migrations\n", 0o644);
    dir
}

fn open(root: &Path) -> Project {
    Project::open(root, Config::default()).unwrap()
}

/// Plans `patches` on `root` and combines the changes per file.
fn plan(root: &Path, patches: &[&'static dyn Patch]) -> Vec<FileUpdate> {
    let project = open(root);
    let plan = Plan::build(&project, patches);
    assert!(!plan.has_errors(), "unexpected errors");
    let changes: Vec<&Change> = plan.changes().collect();
    file_updates(&project, &changes).unwrap()
}

fn snapshot(root: &Path) -> Vec<(PathBuf, common::FileFacts)> {
    common::tree_files(root)
}

fn manifest_of(root: &Path, run_id: &str) -> serde_json::Value {
    let path = root.join(".scalepatch/runs").join(run_id).join("manifest.json");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

#[test]
fn overlapping_changes_become_an_error_naming_both_patches() {
    let tree = sample_tree();
    let project = open(tree.path());
    let plan = Plan::build(&project, &[&BUMP, &CLASH]);
    assert!(plan.has_errors());
    let errors: Vec<String> =
        plan.reports[1].outcomes.iter().filter(|o| matches!(o, Outcome::Error { .. })).map(Outcome::describe).collect();
    assert_eq!(errors.len(), 5, "{errors:?}");
    assert!(errors.iter().all(|e| e.contains("test-bump-workers") && e.contains("--skip")), "{errors:?}");
    // The earlier patch keeps its changes.
    assert_eq!(plan.reports[0].outcomes.iter().filter(|o| matches!(o, Outcome::Change(_))).count(), 5);
}

#[test]
fn the_diff_applies_with_git_and_equals_the_journal_write() {
    let tree = sample_tree();
    let with_git = tempfile::tempdir().unwrap();
    common::copy_tree(tree.path(), with_git.path());

    let updates = plan(tree.path(), PATCHES);
    assert_eq!(updates.len(), 6);
    let diff = scalepatch::output::diff::render_all(&updates, false);
    for args in [&["apply", "--check", "-"][..], &["apply", "-"][..]] {
        let mut child = std::process::Command::new("git")
            .args(args)
            .current_dir(with_git.path())
            .stdin(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        use std::io::Write;
        child.stdin.take().unwrap().write_all(diff.as_bytes()).unwrap();
        let output = child.wait_with_output().unwrap();
        assert!(output.status.success(), "git {args:?}: {}\n{diff}", String::from_utf8_lossy(&output.stderr));
    }
    common::apply_through_journal(tree.path(), &updates, IDS, "sample");
    assert_eq!(snapshot(tree.path()), snapshot(with_git.path()), "git apply and the journal disagree");
}

#[test]
fn apply_then_revert_is_byte_identical() {
    let tree = sample_tree();
    let before = tempfile::tempdir().unwrap();
    common::copy_tree(tree.path(), before.path());

    let updates = plan(tree.path(), PATCHES);
    let manifest = common::apply_through_journal(tree.path(), &updates, IDS, "sample");
    let root = tree.path();
    assert_eq!(
        std::fs::read(root.join("crlf.txt")).unwrap(),
        b"name = api\r\nbind = :8001\r\nworkers = 5\r\ntimeout = 60\r\nkeepalive = 5\r\nlog = debug\r\n"
    );
    assert_eq!(std::fs::read(root.join("bom.txt")).unwrap(), b"\xEF\xBB\xBFworkers = 5\nname = bom\n");
    assert_eq!(std::fs::read(root.join("nofinal.txt")).unwrap(), b"name = last\nworkers = 5");
    assert_eq!(std::fs::metadata(root.join("bin/entry.txt")).unwrap().permissions().mode() & 0o777, 0o755);
    assert!(root.join(MIGRATION).exists());
    assert_eq!(std::fs::read_to_string(root.join(".scalepatch/.gitignore")).unwrap(), "*\n");

    // The manifest says what was done; the originals are kept byte for byte.
    let json = manifest_of(root, &manifest.run_id);
    assert_eq!(json["state"], "applied");
    assert_eq!(json["patches"], serde_json::json!(IDS));
    assert_eq!(json["tool_version"], env!("CARGO_PKG_VERSION"));
    let files = json["files"].as_array().unwrap();
    let entry = files.iter().find(|f| f["path"] == "bin/entry.txt").unwrap();
    assert_eq!((entry["action"].as_str(), entry["mode"].as_u64()), (Some("modify"), Some(0o755)));
    let created = files.iter().find(|f| f["path"] == MIGRATION).unwrap();
    assert_eq!((created["action"].as_str(), created["hash_before"].is_null()), (Some("create"), true));
    let original = root.join(".scalepatch/runs").join(&manifest.run_id).join("originals/bom.txt");
    assert_eq!(std::fs::read(original).unwrap(), b"\xEF\xBB\xBFworkers = 4\nname = bom\n");

    // Idempotence: a second plan finds nothing.
    assert!(plan(root, PATCHES).is_empty());

    common::revert_and_compare(root, before.path(), "sample");
    let journal = Journal::open(root).unwrap();
    let status = journal.status().unwrap();
    assert_eq!(status.len(), 1);
    assert_eq!(status[0].manifest.state, RunState::Reverted);
    assert!(status[0].files.iter().all(|(_, state)| *state == FileState::Reverted), "{:?}", status[0].files);
}

#[test]
fn revert_keeps_a_user_edit_elsewhere_in_the_file() {
    let tree = sample_tree();
    let root = tree.path();
    let updates = plan(root, &[&BUMP]);
    common::apply_through_journal(root, &updates, &["test-bump-workers"], "sample");

    // The user edits other lines of two patched files (one with CRLF) after the run.
    let a = std::fs::read_to_string(root.join("a.txt")).unwrap();
    std::fs::write(root.join("a.txt"), a.replace("loglevel = info", "loglevel = warning")).unwrap();
    let crlf = std::fs::read_to_string(root.join("crlf.txt")).unwrap();
    std::fs::write(root.join("crlf.txt"), crlf.replace("name = api\r\n", "name = api\r\n# tuned by hand\r\n")).unwrap();

    let mut journal = Journal::open(root).unwrap();
    {
        let status = journal.status().unwrap();
        let state = |name: &str| status[0].files.iter().find(|(p, _)| p == Path::new(name)).unwrap().1;
        assert_eq!(state("a.txt"), FileState::EditedSince);
        assert_eq!(state("bom.txt"), FileState::AsApplied);
    }
    let report = journal.revert(None).unwrap();
    assert_eq!(report.merged, vec![PathBuf::from("a.txt"), PathBuf::from("crlf.txt")]);
    assert_eq!(report.restored.len(), 3);
    assert_eq!(
        std::fs::read_to_string(root.join("a.txt")).unwrap(),
        "# web\nname = web\nbind = 0.0.0.0:8000\nworkers = 3\ntimeout = 30\nkeepalive = 2\nloglevel = warning\n"
    );
    assert_eq!(
        std::fs::read(root.join("crlf.txt")).unwrap(),
        b"name = api\r\n# tuned by hand\r\nbind = :8001\r\nworkers = 2\r\ntimeout = 60\r\nkeepalive = 5\r\nlog = debug\r\n"
    );
}

#[test]
fn a_conflicting_user_edit_makes_the_whole_revert_write_nothing() {
    let tree = sample_tree();
    let root = tree.path();
    let updates = plan(root, PATCHES);
    let manifest = common::apply_through_journal(root, &updates, IDS, "sample");
    // The user changes the very line the run changed.
    let a = std::fs::read_to_string(root.join("a.txt")).unwrap();
    std::fs::write(root.join("a.txt"), a.replace("workers = 5", "workers = 7")).unwrap();
    let before_revert = snapshot(root);

    let mut journal = Journal::open(root).unwrap();
    let err = journal.revert(None).unwrap_err();
    assert_eq!(err.exit_code(), 3);
    let message = err.to_string();
    assert!(message.contains("a.txt") && message.contains("at line 4"), "{message}");
    assert!(message.contains("workers = 7") && message.contains("workers = 3"), "{message}");
    assert!(!message.contains("bom.txt"), "only the conflicting file is named: {message}");
    // Nothing was written: not even the files that could have been reverted.
    assert_eq!(snapshot(root), before_revert);
    assert_eq!(manifest_of(root, &manifest.run_id)["state"], "applied");
}

#[cfg(feature = "fault-injection")]
#[test]
fn a_failure_after_the_first_write_puts_every_file_back() {
    let tree = sample_tree();
    let root = tree.path();
    let before = snapshot(root);
    let updates = plan(root, PATCHES);
    let mut journal = Journal::open(root).unwrap();
    journal.set_faults(Faults { fail_after_writes: Some(1), ..Faults::default() });
    let err = journal.apply(&updates, IDS).unwrap_err();
    assert_eq!(err.exit_code(), 3);
    let JournalError::WriteFailed { run_id, path, .. } = &err else { panic!("{err}") };
    assert_eq!(path, &updates[1].path, "the second write is the one that failed");
    assert!(err.to_string().contains("rolled back"), "{err}");
    assert_eq!(snapshot(root), before, "every file has its original bytes and mode");
    assert!(!root.join(MIGRATION).exists());
    assert_eq!(manifest_of(root, run_id)["state"], "rolled-back");
    // A rolled-back run is not revertable, and the project can be applied again cleanly.
    assert!(matches!(journal.revert(None), Err(JournalError::NothingToRevert)));
    journal.set_faults(Faults::default());
    journal.apply(&updates, IDS).unwrap();
}

#[test]
fn a_file_changed_between_plan_and_write_is_refused() {
    let tree = sample_tree();
    let root = tree.path();
    let updates = plan(root, PATCHES);
    std::fs::write(root.join("nofinal.txt"), "name = last\nworkers = 2").unwrap();
    let after_edit = snapshot(root);
    let err = Journal::open(root).unwrap().apply(&updates, IDS).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(matches!(&err, JournalError::Changed { path, .. } if path == Path::new("nofinal.txt")), "{err}");
    assert_eq!(snapshot(root), after_edit);
    assert_eq!(std::fs::read_dir(root.join(".scalepatch/runs")).unwrap().count(), 0, "no run recorded");

    // A file to be created that appeared meanwhile is refused too.
    let updates = plan(root, PATCHES);
    std::fs::write(root.join(MIGRATION), "# mine\n").unwrap();
    let err = Journal::open(root).unwrap().apply(&updates, IDS).unwrap_err();
    assert!(matches!(&err, JournalError::Changed { path, .. } if path == Path::new(MIGRATION)), "{err}");
    assert_eq!(std::fs::read_to_string(root.join(MIGRATION)).unwrap(), "# mine\n");
}

/// Runs [`crash_helper`] in a child process that is killed (SIGKILL, as a crash would be) after
/// `writes` project file writes of an apply or a revert.
#[cfg(feature = "fault-injection")]
fn crash_in_child(root: &Path, action: &str, writes: usize) {
    let status = std::process::Command::new(std::env::current_exe().unwrap())
        .args(["--exact", "crash_helper", "--ignored", "--test-threads=1"])
        .env("SCALEPATCH_TEST_ROOT", root)
        .env("SCALEPATCH_TEST_ACTION", action)
        .env(scalepatch::journal::CRASH_AFTER_WRITES_ENV, writes.to_string())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .unwrap();
    use std::os::unix::process::ExitStatusExt;
    assert_eq!(status.signal(), Some(9), "the child must die mid-way (SIGKILL): {status:?}");
}

/// Not a test on its own: the body of the child process of [`crash_in_child`].
#[test]
#[ignore = "run by the crash tests in a child process"]
fn crash_helper() {
    let Some(root) = std::env::var_os("SCALEPATCH_TEST_ROOT") else { return };
    let root = Path::new(&root);
    let mut journal = Journal::open(root).unwrap();
    match std::env::var("SCALEPATCH_TEST_ACTION").unwrap().as_str() {
        "apply" => drop(journal.apply(&plan(root, PATCHES), IDS)),
        _ => drop(journal.revert(None)),
    }
    panic!("the crash hook should have aborted the process");
}

#[cfg(feature = "fault-injection")]
#[test]
fn a_crashed_apply_is_rolled_back_by_the_next_open() {
    let tree = sample_tree();
    let root = tree.path();
    let before = snapshot(root);
    crash_in_child(root, "apply", 2);
    // The child died after two writes, leaving the run in progress (the kernel released its lock).
    assert_ne!(snapshot(root), before);
    assert!(root.join(".scalepatch/lock").exists());

    let journal = Journal::open(root).unwrap();
    assert_eq!(journal.notes.len(), 1, "{:?}", journal.notes);
    assert!(
        journal.notes[0].contains("interrupted") && journal.notes[0].contains("2 file(s) restored"),
        "{:?}",
        journal.notes
    );
    assert_eq!(snapshot(root), before);
    let runs = journal.runs().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].state, RunState::RolledBack);
    drop(journal);
    assert!(Journal::open(root).unwrap().notes.is_empty(), "recovered once");
}

#[cfg(feature = "fault-injection")]
#[test]
fn a_crashed_revert_is_undone_by_the_next_open() {
    let tree = sample_tree();
    let root = tree.path();
    let before = snapshot(root);
    let updates = plan(root, PATCHES);
    common::apply_through_journal(root, &updates, IDS, "sample");
    let applied = snapshot(root);
    crash_in_child(root, "revert", 3);
    assert_ne!(snapshot(root), applied);

    let mut journal = Journal::open(root).unwrap();
    assert!(journal.notes.len() == 1 && journal.notes[0].contains("revert"), "{:?}", journal.notes);
    assert_eq!(snapshot(root), applied, "the half-done revert is undone");
    assert_eq!(journal.runs().unwrap()[0].state, RunState::Applied);
    journal.revert(None).unwrap();
    assert_eq!(snapshot(root), before);
}

#[cfg(feature = "fault-injection")]
#[test]
fn a_failed_revert_puts_back_every_file() {
    let tree = sample_tree();
    let root = tree.path();
    let updates = plan(root, PATCHES);
    common::apply_through_journal(root, &updates, IDS, "sample");
    let applied = snapshot(root);
    let mut journal = Journal::open(root).unwrap();
    journal.set_faults(Faults { fail_after_writes: Some(2), ..Faults::default() });
    let err = journal.revert(None).unwrap_err();
    assert_eq!(err.exit_code(), 3);
    assert!(err.to_string().contains("put back"), "{err}");
    assert_eq!(snapshot(root), applied, "a failed revert leaves the applied files");
    assert_eq!(journal.runs().unwrap()[0].state, RunState::Applied);
    journal.set_faults(Faults::default());
    journal.revert(None).unwrap();
}

#[test]
fn the_lock_stops_a_second_run_and_a_stale_lock_is_taken_over() {
    let tree = sample_tree();
    let root = tree.path();
    let first = Journal::open(root).unwrap();
    let err = Journal::open(root).unwrap_err();
    assert_eq!(err.exit_code(), 2);
    assert!(err.to_string().contains(&format!("pid {}", std::process::id())), "{err}");
    drop(first);

    let mut child = std::process::Command::new("true").spawn().unwrap();
    let dead = child.id();
    child.wait().unwrap();
    std::fs::write(root.join(".scalepatch/lock"), format!("{dead}\n")).unwrap();
    let journal = open_soon(root);
    assert_eq!(std::fs::read_to_string(root.join(".scalepatch/lock")).unwrap().trim(), std::process::id().to_string());
    drop(journal);
    // The lock file stays (an advisory lock on it, not its existence, is the lock).
    open_soon(root);
}

/// Opens the journal, retrying for a moment: a child process that another test thread is
/// spawning shares this process's descriptors (the lock's too) until it execs.
fn open_soon(root: &Path) -> Journal {
    for _ in 0..100 {
        match Journal::open(root) {
            Err(JournalError::Lock(_)) => std::thread::sleep(std::time::Duration::from_millis(20)),
            result => return result.unwrap(),
        }
    }
    panic!("the lock was never released")
}

#[test]
fn created_files_are_removed_unless_edited() {
    let tree = sample_tree();
    let root = tree.path();
    let updates = plan(root, &[&ADD]);
    common::apply_through_journal(root, &updates, &["test-add-migration"], "sample");
    std::fs::write(root.join(MIGRATION), "from django.db import migrations\n# mine\n").unwrap();
    let err = Journal::open(root).unwrap().revert(None).unwrap_err();
    assert!(err.to_string().contains(MIGRATION) && err.to_string().contains("edited since"), "{err}");
    assert!(root.join(MIGRATION).exists());
    std::fs::write(root.join(MIGRATION), "from django.db import migrations\n").unwrap();
    let report = Journal::open(root).unwrap().revert(None).unwrap();
    assert_eq!(report.removed, vec![PathBuf::from(MIGRATION)]);
    assert!(!root.join(MIGRATION).exists());
    // Reverting it again: the run is reverted, not applied.
    let err = Journal::open(root).unwrap().revert(Some(&report.run_id)).unwrap_err();
    assert!(matches!(err, JournalError::NotApplied { .. }), "{err}");
    let err = Journal::open(root).unwrap().revert(Some("20000101-000000-0000")).unwrap_err();
    assert!(err.to_string().contains(&report.run_id), "lists the known runs: {err}");
}

#[test]
fn a_symlink_inside_the_project_is_written_through() {
    let tree = sample_tree();
    let root = tree.path();
    std::fs::create_dir(root.join("conf")).unwrap();
    std::fs::rename(root.join("a.txt"), root.join("conf/real.txt")).unwrap();
    std::os::unix::fs::symlink("conf/real.txt", root.join("a.txt")).unwrap();
    let before = snapshot(root);
    let updates = plan(root, &[&BUMP]);
    // Discovery lists the file once, under its own path: the link is not planned a second time.
    assert!(updates.iter().any(|u| u.path == Path::new("conf/real.txt")));
    assert!(!updates.iter().any(|u| u.path == Path::new("a.txt")), "the link is not a second target");
    common::apply_through_journal(root, &updates, &["test-bump-workers"], "link");
    assert!(std::fs::symlink_metadata(root.join("a.txt")).unwrap().file_type().is_symlink(), "the link stays a link");
    assert!(std::fs::read_to_string(root.join("conf/real.txt")).unwrap().contains("workers = 5"));
    Journal::open(root).unwrap().revert(None).unwrap();
    assert_eq!(snapshot(root), before);
}

#[test]
fn an_older_run_is_reverted_under_a_newer_one() {
    let tree = sample_tree();
    let root = tree.path();
    let before = snapshot(root);
    let first = common::apply_through_journal(root, &plan(root, &[&BUMP]), &["test-bump-workers"], "first");
    let second = common::apply_through_journal(root, &plan(root, &[&LOGLEVEL]), &["test-log-level"], "second");
    assert!(
        std::fs::read_to_string(root.join("a.txt"))
            .unwrap()
            .contains("workers = 5\ntimeout = 30\nkeepalive = 2\nloglevel = debug\n")
    );

    // The default is the newest applied run; naming the first one takes out only its hunks.
    let report = Journal::open(root).unwrap().revert(Some(&first.run_id)).unwrap();
    assert_eq!(report.merged, vec![PathBuf::from("a.txt")]);
    assert!(
        std::fs::read_to_string(root.join("a.txt"))
            .unwrap()
            .contains("workers = 3\ntimeout = 30\nkeepalive = 2\nloglevel = debug\n")
    );
    let report = Journal::open(root).unwrap().revert(None).unwrap();
    assert_eq!(report.run_id, second.run_id);
    assert_eq!(snapshot(root), before);
}
