//! The interactive review, driven through a pseudo-terminal as a user would: keys are raw bytes
//! (Enter is "\r", the down arrow "\x1b[B"), the menu is yes / no / all / skip / done / quit.
//!
//! Every test here runs on a copy of tests/fixtures-engine/small and needs the real
//! `gunicorn-workers` and `nginx-gzip` patches to propose one change each (Dockerfile first,
//! then nginx.conf, in catalog order).

mod common;

use std::path::Path;
use std::process::Command;

use rexpect::process::WaitStatus;
use rexpect::session::{PtySession, spawn_command};

const DOWN: &str = "\x1b[B";
const ENTER: &str = "\r";

fn small_project() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    common::copy_tree(&common::repo_root().join("tests/fixtures-engine/small"), tmp.path());
    tmp
}

/// `scalepatch apply` of the two patches on `root`, on a terminal.
fn review(root: &Path, color: bool) -> PtySession {
    let mut command = Command::new(assert_cmd::cargo::cargo_bin("scalepatch"));
    command.args(["apply", "--only", "gunicorn-workers,nginx-gzip"]).arg(root).env("TERM", "xterm-256color");
    command.env_remove("CLICOLOR_FORCE").env_remove("CLICOLOR");
    if color {
        command.env_remove("NO_COLOR");
    } else {
        command.env("NO_COLOR", "1");
    }
    spawn_command(command, Some(30_000)).unwrap()
}

/// Chooses the menu entry `downs` places below "yes".
fn choose(session: &mut PtySession, downs: usize) {
    for _ in 0..downs {
        session.send(DOWN).unwrap();
    }
    session.send(ENTER).unwrap();
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
    let shown = session.exp_string("Apply this change?").unwrap();
    let quick_win = scalepatch::patches::by_id("gunicorn-workers").unwrap().quick_win();
    assert!(shown.contains(&format!("{quick_win} gunicorn-workers")), "{shown}");
    assert!(shown.contains("Dockerfile") && shown.contains("+CMD"), "{shown}");
    assert!(!shown.contains("nginx.conf"), "only this change's diff is shown: {shown}");
    assert!(!shown.contains("\x1b[32m"), "NO_COLOR: no colour: {shown:?}");
    choose(&mut session, 0);

    session.exp_string("[2/2]").unwrap();
    let shown = session.exp_string("Apply this change?").unwrap();
    assert!(shown.contains("nginx-gzip") && shown.contains("nginx.conf"), "{shown}");
    choose(&mut session, 1);

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
    session.exp_string("Apply this change?").unwrap();
    choose(&mut session, 0);
    session.exp_string("[2/2]").unwrap();
    session.exp_string("Apply this change?").unwrap();
    choose(&mut session, 5);
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
    let shown = session.exp_string("Apply this change?").unwrap();
    assert!(shown.contains("\x1b[32m"), "added lines are green on a terminal: {shown:?}");
    choose(&mut session, 2);
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
    session.exp_string("Apply this change?").unwrap();
    choose(&mut session, 4);
    session.exp_string("no change accepted").unwrap();
    assert_eq!(exit_code(&mut session), 0);
    assert_eq!(std::fs::read(root.join("Dockerfile")).unwrap(), original("Dockerfile"));
}

#[test]
fn a_file_changed_during_the_review_is_refused() {
    let project = small_project();
    let root = project.path();
    let mut session = review(root, false);
    session.exp_string("Apply this change?").unwrap();
    // Someone edits nginx.conf while the user reads the first change.
    let edited = format!("{}# edited meanwhile\n", String::from_utf8(original("nginx.conf")).unwrap());
    std::fs::write(root.join("nginx.conf"), &edited).unwrap();
    choose(&mut session, 2);
    let message = session.exp_string("run the command again").unwrap();
    assert!(message.contains("nginx.conf") && message.contains("changed since it was planned"), "{message}");
    assert_eq!(exit_code(&mut session), 2);
    assert_eq!(std::fs::read(root.join("Dockerfile")).unwrap(), original("Dockerfile"), "nothing written");
    assert_eq!(std::fs::read_to_string(root.join("nginx.conf")).unwrap(), edited);
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
