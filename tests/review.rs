//! The interactive review, driven through a pseudo-terminal as a user would, like `git add -p`:
//! one key per answer, no Enter (`y` yes, `n` no, `a` all remaining, `s` skip the patch, `d` done,
//! `q` quit, `?` help), Ctrl-C quitting with the terminal restored.
//!
//! Every test here runs on a copy of tests/fixtures-engine/small and needs the real
//! `gunicorn-workers` and `nginx-gzip` patches to propose one change each (Dockerfile first,
//! then nginx.conf, in catalog order).

mod common;

use std::path::Path;
use std::process::Command;

use rexpect::process::WaitStatus;
use rexpect::session::{PtySession, spawn_command};

const PROMPT: &str = "Apply this change [y,n,a,s,d,q,?]?";

fn small_project() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    common::copy_tree(&common::repo_root().join("tests/fixtures-engine/small"), tmp.path());
    tmp
}

/// `scalepatch apply` of the two patches on `root`, on a terminal.
fn review(root: &Path, color: bool) -> PtySession {
    review_of(root, "gunicorn-workers,nginx-gzip", color)
}

fn review_of(root: &Path, patches: &str, color: bool) -> PtySession {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("scalepatch"));
    command.args(["apply", "--only", patches]).arg(root).env("TERM", "xterm-256color");
    command.env_remove("CLICOLOR_FORCE").env_remove("CLICOLOR");
    if color {
        command.env_remove("NO_COLOR");
    } else {
        command.env("NO_COLOR", "1");
    }
    spawn_command(command, Some(30_000)).unwrap()
}

/// Answers with one key, no Enter.
fn press(session: &mut PtySession, key: &str) {
    session.send(key).unwrap();
    session.flush().unwrap();
}

fn exit_code(session: &mut PtySession) -> i32 {
    session.exp_eof().unwrap();
    match session.process().wait().unwrap() {
        WaitStatus::Exited(_, code) => code,
        other => panic!("not a normal exit: {other:?}"),
    }
}

fn original(name: &str) -> Vec<u8> {
    std::fs::read(common::repo_root().join("tests/fixtures-engine/small").join(name)).unwrap()
}

#[test]
fn accepting_one_change_and_rejecting_another_applies_only_the_first() {
    let project = small_project();
    let root = project.path();
    let mut session = review(root, false);
    // Each change explains itself before the question: patch, quick win, place, its diff alone.
    session.exp_string("[1/2]").unwrap();
    let shown = session.exp_string(PROMPT).unwrap();
    let quick_win = scalepatch::patches::by_id("gunicorn-workers").unwrap().quick_win();
    assert!(shown.contains(&format!("{quick_win} gunicorn-workers")), "{shown}");
    assert!(shown.contains("Dockerfile") && shown.contains("+CMD"), "{shown}");
    assert!(!shown.contains("nginx.conf"), "only this change's diff is shown: {shown}");
    assert!(!shown.contains("\x1b[32m"), "NO_COLOR: no colour: {shown:?}");
    press(&mut session, "y");

    session.exp_string("[2/2]").unwrap();
    let shown = session.exp_string(PROMPT).unwrap();
    assert!(shown.contains("nginx-gzip") && shown.contains("nginx.conf"), "{shown}");
    press(&mut session, "n");

    let rest = session.exp_string("undo with").unwrap();
    assert!(rest.contains("applied run") && rest.contains("modified Dockerfile"), "{rest}");
    assert!(!rest.contains("modified nginx.conf"), "{rest}");
    assert_eq!(exit_code(&mut session), 0);

    assert_ne!(std::fs::read(root.join("Dockerfile")).unwrap(), original("Dockerfile"));
    assert_eq!(std::fs::read(root.join("nginx.conf")).unwrap(), original("nginx.conf"));
    let journal = scalepatch::journal::Journal::open(root).unwrap();
    let runs = journal.runs().unwrap();
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0].patches, vec!["gunicorn-workers".to_owned()]);
    assert_eq!(runs[0].files.len(), 1);
}

#[test]
fn quitting_writes_nothing_and_exits_130() {
    let project = small_project();
    let root = project.path();
    let before = common::tree_files(root);
    let mut session = review(root, false);
    session.exp_string(PROMPT).unwrap();
    press(&mut session, "y");
    session.exp_string("[2/2]").unwrap();
    session.exp_string(PROMPT).unwrap();
    press(&mut session, "q");
    session.exp_string("nothing was written").unwrap();
    assert_eq!(exit_code(&mut session), 130);
    assert_eq!(common::tree_files(root), before);
    assert!(!root.join(".scalepatch").exists());
}

#[test]
fn all_remaining_takes_every_change_and_shows_colour_on_a_terminal() {
    let project = small_project();
    let root = project.path();
    let mut session = review(root, true);
    let shown = session.exp_string(PROMPT).unwrap();
    assert!(shown.contains("\x1b[32m"), "added lines are green on a terminal: {shown:?}");
    press(&mut session, "a");
    let rest = session.exp_string("undo with").unwrap();
    assert!(rest.contains("Dockerfile") && rest.contains("nginx.conf"), "{rest}");
    assert_eq!(exit_code(&mut session), 0);
    assert_ne!(std::fs::read(root.join("nginx.conf")).unwrap(), original("nginx.conf"));
}

#[test]
fn done_applies_only_what_was_accepted_so_far() {
    let project = small_project();
    let root = project.path();
    let mut session = review(root, false);
    session.exp_string(PROMPT).unwrap();
    press(&mut session, "d");
    session.exp_string("no change accepted").unwrap();
    assert_eq!(exit_code(&mut session), 0);
    assert_eq!(std::fs::read(root.join("Dockerfile")).unwrap(), original("Dockerfile"));
}

#[test]
fn a_file_changed_during_the_review_is_refused() {
    let project = small_project();
    let root = project.path();
    let mut session = review(root, false);
    session.exp_string(PROMPT).unwrap();
    // Someone edits nginx.conf while the user reads the first change.
    let edited = format!("{}# edited meanwhile\n", String::from_utf8(original("nginx.conf")).unwrap());
    std::fs::write(root.join("nginx.conf"), &edited).unwrap();
    press(&mut session, "a");
    let message = session.exp_string("run the command again").unwrap();
    assert!(message.contains("nginx.conf") && message.contains("changed since it was planned"), "{message}");
    assert_eq!(exit_code(&mut session), 2);
    assert_eq!(std::fs::read(root.join("Dockerfile")).unwrap(), original("Dockerfile"), "nothing written");
    assert_eq!(std::fs::read_to_string(root.join("nginx.conf")).unwrap(), edited);
}

#[test]
fn question_mark_shows_the_keys_and_asks_again() {
    let project = small_project();
    let mut session = review(project.path(), false);
    session.exp_string(PROMPT).unwrap();
    press(&mut session, "?");
    let help = session.exp_string(PROMPT).unwrap();
    for line in [
        "y - apply this change",
        "n - leave it out",
        "a - apply this change and every remaining one",
        "s - leave out the rest of this patch",
        "d - done",
        "q - quit",
    ] {
        assert!(help.contains(line), "{line}: {help}");
    }
    press(&mut session, "x");
    session.exp_string("? - this help").unwrap();
    session.exp_string(PROMPT).unwrap();
    press(&mut session, "q");
    assert_eq!(exit_code(&mut session), 130);
}

#[test]
fn ctrl_c_quits_with_the_cursor_shown_and_the_terminal_restored() {
    // At once (likely before the key read: the terminal turns it into SIGINT) and once the key
    // read has put the terminal in raw mode (a ^C byte): the same quit either way.
    for wait in [0, 500] {
        let project = small_project();
        let root = project.path();
        let before = common::tree_files(root);
        let mut session = review(root, true);
        session.exp_string(PROMPT).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(wait));
        press(&mut session, "\x03");
        let rest = session.exp_string("nothing was written").unwrap();
        assert!(rest.contains("\x1b[?25h"), "the cursor is shown again: {rest:?}");
        assert_eq!(exit_code(&mut session), 130, "after {wait} ms");
        assert_eq!(common::tree_files(root), before);
        assert!(!root.join(".scalepatch").exists());
    }
}

#[test]
fn a_change_is_shown_on_top_of_those_already_accepted() {
    // Both gunicorn patches edit the Dockerfile's CMD: once the worker count is accepted, the
    // worker-class change is shown against the line with 5 workers, as it will be applied.
    let project = small_project();
    let root = project.path();
    let mut session = review_of(root, "gunicorn-workers,gunicorn-worker-class", false);
    let first = session.exp_string(PROMPT).unwrap();
    assert!(first.contains("+CMD [\"gunicorn\", \"--workers\", \"5\""), "{first}");
    press(&mut session, "y");
    let second = session.exp_string(PROMPT).unwrap();
    assert!(
        second.contains("-CMD [\"gunicorn\", \"--workers\", \"5\", \"--bind\""),
        "on top of the accepted change: {second}"
    );
    assert!(second.contains("\"-k\", \"gthread\""), "{second}");
    press(&mut session, "y");
    session.exp_string("undo with").unwrap();
    assert_eq!(exit_code(&mut session), 0);
    let dockerfile = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    assert!(dockerfile.contains("\"--workers\", \"5\"") && dockerfile.contains("\"gthread\""), "{dockerfile}");
}

#[test]
fn skip_leaves_out_the_rest_of_the_patch() {
    let project = small_project();
    let root = project.path();
    let mut session = review(root, false);
    session.exp_string("[1/2]").unwrap();
    session.exp_string(PROMPT).unwrap();
    press(&mut session, "s");
    session.exp_string("[2/2]").unwrap();
    session.exp_string(PROMPT).unwrap();
    press(&mut session, "y");
    session.exp_string("undo with").unwrap();
    assert_eq!(exit_code(&mut session), 0);
    assert_eq!(std::fs::read(root.join("Dockerfile")).unwrap(), original("Dockerfile"));
    assert_ne!(std::fs::read(root.join("nginx.conf")).unwrap(), original("nginx.conf"));
}

#[test]
fn diff_is_coloured_on_a_terminal_unless_no_color() {
    let project = small_project();
    for (no_color, want_colour) in [(false, true), (true, false)] {
        let mut command = Command::new(assert_cmd::cargo::cargo_bin("scalepatch"));
        command
            .args(["diff", "--only", "gunicorn-workers,nginx-gzip"])
            .arg(project.path())
            .env("TERM", "xterm-256color");
        command.env_remove("CLICOLOR_FORCE").env_remove("CLICOLOR");
        if no_color {
            command.env("NO_COLOR", "1");
        } else {
            command.env_remove("NO_COLOR");
        }
        let mut session = spawn_command(command, Some(30_000)).unwrap();
        let output = session.exp_eof().unwrap();
        assert!(output.contains("a/Dockerfile"), "{output}");
        assert_eq!(output.contains("\x1b[32m+"), want_colour, "NO_COLOR={no_color}: {output:?}");
    }
}

/// The text shown, with the wrapping undone (one space between words).
fn words(shown: &str) -> String {
    shown.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[test]
fn a_rejection_recomputes_what_the_changes_still_to_come_assume() {
    // fixtures/budget/mysql-replicas: 7 replicas x 5 workers x 4 threads = 140 of MySQL's 151
    // for the whole plan. Once the worker count is left out, the thread switch is checked again
    // without it: 3 workers, 84 of 151 (`gunicorn --print-config` on this tree is in tests/budget.rs).
    let project = tempfile::tempdir().unwrap();
    let root = project.path();
    common::copy_tree(&common::repo_root().join("fixtures/budget/mysql-replicas/before"), root);
    let mut session = review_of(root, "gunicorn-workers,gunicorn-worker-class", false);
    let first = words(&session.exp_string(PROMPT).unwrap());
    assert!(first.contains("workers 3 -> 5"), "{first}");
    assert!(
        first.contains("x 5 worker(s) x 4 thread(s)") && first.contains("= 140 of MySQL/MariaDB max_connections 151"),
        "{first}"
    );
    press(&mut session, "n");

    let second = words(&session.exp_string(PROMPT).unwrap());
    assert!(second.contains("worker class sync -> gthread with 4 threads"), "{second}");
    assert!(
        second.contains("x 3 worker(s) x 4 thread(s)") && second.contains("= 84 of MySQL/MariaDB max_connections 151"),
        "the budget without the rejected worker count: {second}"
    );
    assert!(!second.contains("= 140 of"), "the whole plan's budget is gone: {second}");
    press(&mut session, "y");
    session.exp_string("undo with").unwrap();
    assert_eq!(exit_code(&mut session), 0);
    let compose = std::fs::read_to_string(root.join("docker-compose.yml")).unwrap();
    assert!(compose.contains("--workers 3") && compose.contains("gthread"), "{compose}");
}
