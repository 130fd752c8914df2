//! The journal as untrusted input, and the truth of exit codes, through the real binary.
//!
//! - crafted `.scalepatch/` folders (absolute and `../` paths, paths through a symlinked folder,
//!   the journal or `runs/` a symlink, mode 0o7777, bad run ids) never make any command write
//!   outside the project;
//! - fault injection at every write step of apply and revert: the exit code matches the files'
//!   state, and `recover` then `revert` leave the project byte-exact;
//! - a SIGKILL at every write step: `recover` + `revert` restore the project byte-exact and leave
//!   no staging file behind;
//! - owners kept, the lock, adjacent edits kept by revert, read-only commands that write nothing.
//!
//! The sweeps print their figures with `eprintln!`; see them with
//! `cargo test --features fault-injection --test journal_security -- --nocapture 2>&1 | grep figures`.

mod common;

use std::os::unix::fs::{MetadataExt, symlink};
use std::path::{Path, PathBuf};

use assert_cmd::Command;
use scalepatch::text::source::hash_bytes;

const TWO_PATCHES: &str = "gunicorn-workers,nginx-gzip";
const RUN_ID: &str = "20250101-000000-abcd";

fn scalepatch() -> Command {
    let mut command = Command::cargo_bin("scalepatch").unwrap();
    for name in [
        "SCALEPATCH_FAIL_AFTER_WRITES",
        "SCALEPATCH_CRASH_AFTER_WRITES",
        "SCALEPATCH_FAIL_AT_STEP",
        "SCALEPATCH_FAIL_FROM_STEP",
        "SCALEPATCH_CRASH_AT_STEP",
        "SCALEPATCH_FAIL_CHOWN",
    ] {
        command.env_remove(name);
    }
    command.env("NO_COLOR", "1");
    command
}

fn small_project() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    common::copy_tree(&common::repo_root().join("tests/fixtures-engine/small"), tmp.path());
    tmp
}

/// Every entry under `root` (`.scalepatch/` included): bytes and mode of files, targets of links.
fn everything(root: &Path) -> Vec<(PathBuf, String, Vec<u8>)> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<(PathBuf, String, Vec<u8>)>) {
        let Ok(entries) = std::fs::read_dir(dir) else { return };
        for entry in entries.filter_map(Result::ok) {
            let path = entry.path();
            let relative = path.strip_prefix(root).unwrap().to_owned();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.file_type().is_symlink() {
                out.push((
                    relative,
                    "link".into(),
                    std::fs::read_link(&path).unwrap().into_os_string().into_encoded_bytes(),
                ));
            } else if meta.is_dir() {
                out.push((relative, format!("dir {:o}", meta.mode() & 0o7777), Vec::new()));
                walk(root, &path, out);
            } else {
                let facts = format!("file {:o} {}:{}", meta.mode() & 0o7777, meta.uid(), meta.gid());
                // The lock holds the pid of its last holder, for humans: not a write that matters.
                let bytes =
                    if relative.ends_with(".scalepatch/lock") { Vec::new() } else { std::fs::read(&path).unwrap() };
                out.push((relative, facts, hash_bytes(&bytes).into_bytes()));
            }
        }
    }
    let mut out = Vec::new();
    walk(root, root, &mut out);
    out.sort();
    out
}

/// The project's own files (`.scalepatch/` aside).
#[cfg(feature = "fault-injection")]
type Files = Vec<(PathBuf, common::FileFacts)>;

#[cfg(feature = "fault-injection")]
fn project_files(root: &Path) -> Files {
    common::tree_files(root)
}

/// Staging files anywhere below `root`, the journal included.
#[cfg(feature = "fault-injection")]
fn staging_litter(root: &Path) -> Vec<PathBuf> {
    everything(root)
        .into_iter()
        .map(|(path, _, _)| path)
        .filter(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(".scalepatch-")))
        .collect()
}

fn output_of(command: &mut Command) -> (Option<i32>, String, String) {
    let output = command.output().unwrap();
    (
        output.status.code(),
        String::from_utf8_lossy(&output.stdout).into_owned(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// Writes a crafted run into `journal` (a `.scalepatch` folder): one file record for `path`
/// whose "after" hash matches `current` (so recovery and revert would act on it), a copy to
/// write back, and the given state and mode.
fn craft_run(journal: &Path, run_id_field: &str, path: &str, current: &[u8], state: &str, mode: u32) {
    let run = journal.join("runs").join(RUN_ID);
    std::fs::create_dir_all(run.join("originals")).unwrap();
    let evil = b"PWNED\n";
    // The copy a naive revert would write back (its folders may not exist for an absolute path).
    let copy = run.join("originals").join(path.trim_start_matches('/'));
    if let Some(parent) = copy.parent()
        && std::fs::create_dir_all(parent).is_ok()
    {
        let _ = std::fs::write(&copy, evil);
    }
    let manifest = serde_json::json!({
        "run_id": run_id_field,
        "time": "2025-01-01T00:00:00Z",
        "unix_ms": 1735689600000u64,
        "tool_version": "0.1.0",
        "patches": ["gunicorn-workers"],
        "state": state,
        "files": [{
            "path": path,
            "action": "modify",
            "hash_before": hash_bytes(evil),
            "hash_after": hash_bytes(current),
            "mode": mode,
        }],
    });
    std::fs::write(run.join("manifest.json"), serde_json::to_vec_pretty(&manifest).unwrap()).unwrap();
}

/// One crafted journal: sets up the project (and the outside folder) for a command.
struct Scenario {
    name: &'static str,
    setup: fn(root: &Path, outside: &Path, state: &str),
}

const VICTIM: &[u8] = b"SECRET = 1\n";

fn scenarios() -> Vec<Scenario> {
    vec![
        Scenario {
            name: "absolute path",
            setup: |root, outside, state| {
                let path = outside.join("victim").to_string_lossy().into_owned();
                craft_run(&root.join(".scalepatch"), RUN_ID, &path, VICTIM, state, 0o644);
            },
        },
        Scenario {
            name: "../ path",
            setup: |root, outside, state| {
                let up = "../".repeat(root.components().count());
                let path = format!("{up}{}", outside.join("victim").to_string_lossy().trim_start_matches('/'));
                craft_run(&root.join(".scalepatch"), RUN_ID, &path, VICTIM, state, 0o644);
            },
        },
        Scenario {
            name: "a path through a symlinked folder committed in the project",
            setup: |root, outside, state| {
                symlink(outside, root.join("linked")).unwrap();
                craft_run(&root.join(".scalepatch"), RUN_ID, "linked/victim", VICTIM, state, 0o644);
            },
        },
        Scenario {
            name: "a file symlink leading outside",
            setup: |root, outside, state| {
                symlink(outside.join("victim"), root.join("settings.py")).unwrap();
                craft_run(&root.join(".scalepatch"), RUN_ID, "settings.py", VICTIM, state, 0o644);
            },
        },
        Scenario {
            name: ".scalepatch a symlink to outside",
            setup: |root, outside, state| {
                let journal = outside.join("journal");
                craft_run(
                    &journal,
                    RUN_ID,
                    "Dockerfile",
                    &std::fs::read(root.join("Dockerfile")).unwrap(),
                    state,
                    0o644,
                );
                symlink(&journal, root.join(".scalepatch")).unwrap();
            },
        },
        Scenario {
            name: ".scalepatch/runs a symlink to outside",
            setup: |root, outside, state| {
                let journal = outside.join("journal");
                craft_run(
                    &journal,
                    RUN_ID,
                    "Dockerfile",
                    &std::fs::read(root.join("Dockerfile")).unwrap(),
                    state,
                    0o644,
                );
                std::fs::create_dir(root.join(".scalepatch")).unwrap();
                symlink(journal.join("runs"), root.join(".scalepatch/runs")).unwrap();
            },
        },
        Scenario {
            name: "mode 0o7777",
            setup: |root, _, state| {
                let current = std::fs::read(root.join("Dockerfile")).unwrap();
                craft_run(&root.join(".scalepatch"), RUN_ID, "Dockerfile", &current, state, 0o7777);
            },
        },
        Scenario {
            name: "a run id with .. and /",
            setup: |root, _, state| {
                let current = std::fs::read(root.join("Dockerfile")).unwrap();
                craft_run(&root.join(".scalepatch"), "../../../x", "Dockerfile", &current, state, 0o644);
            },
        },
    ]
}

fn commands(root: &Path) -> Vec<(&'static str, Vec<String>)> {
    let root = root.to_string_lossy().into_owned();
    let args = |list: &[&str]| list.iter().map(|s| (*s).to_owned()).collect::<Vec<_>>();
    vec![
        ("diff", args(&["diff", &root])),
        ("list", args(&["list", &root])),
        ("status", args(&["status", &root])),
        ("revert", args(&["revert", &root])),
        ("revert RUN_ID", args(&["revert", &root, RUN_ID])),
        ("recover", args(&["recover", &root])),
        ("apply", args(&["apply", "--yes", "--only", TWO_PATCHES, &root])),
    ]
}

#[test]
fn crafted_journals_never_write_outside_the_project() {
    let (mut tried, mut outside_writes) = (0, 0);
    for scenario in scenarios() {
        for index in 0..commands(Path::new("/")).len() {
            let project = small_project();
            let outside = tempfile::tempdir().unwrap();
            std::fs::write(outside.path().join("victim"), VICTIM).unwrap();
            let root = project.path();
            let (label, args) = commands(root).swap_remove(index);
            let state = if label.starts_with("revert") { "applied" } else { "in-progress" };
            (scenario.setup)(root, outside.path(), state);
            let outside_before = everything(outside.path());
            let project_before = everything(root);
            let (code, _, stderr) = output_of(scalepatch().args(&args));
            tried += 1;
            let what = format!("{} / {label}: exit {code:?}\n{stderr}", scenario.name);
            if everything(outside.path()) != outside_before {
                outside_writes += 1;
                eprintln!("WRITE OUTSIDE: {what}");
            }
            if matches!(label, "diff" | "list" | "status") {
                assert_eq!(everything(root), project_before, "a read-only command wrote: {what}");
            } else if scenario.name != "mode 0o7777" {
                assert_eq!(code, Some(2), "a crafted journal is refused with exit 2: {what}");
                // A path refused only at the moment of use may leave the journal's own lock and
                // .gitignore behind (bookkeeping of the journal, never a project file).
                let bookkeeping = |p: &Path| p.ends_with(".scalepatch/lock") || p.ends_with(".scalepatch/.gitignore");
                let strip = |entries: Vec<(PathBuf, String, Vec<u8>)>| {
                    entries.into_iter().filter(|(p, _, _)| !bookkeeping(p)).collect::<Vec<_>>()
                };
                assert_eq!(strip(everything(root)), strip(project_before.clone()), "nothing touched: {what}");
            }
            if scenario.name == "mode 0o7777" {
                let mode = std::fs::metadata(root.join("Dockerfile")).unwrap().mode() & 0o7777;
                assert!(mode <= 0o777, "no setuid, setgid or sticky bit from a manifest: {mode:o} {what}");
            }
        }
    }
    eprintln!("figures: crafted journals tried: {tried} / writes outside: {outside_writes}");
    assert_eq!(outside_writes, 0);
}

#[test]
fn a_bad_manifest_is_refused_naming_the_file_and_the_field() {
    let project = small_project();
    let root = project.path();
    let up = "../".repeat(root.components().count());
    craft_run(&root.join(".scalepatch"), RUN_ID, &format!("{up}etc/passwd"), VICTIM, "in-progress", 0o644);
    let (code, _, stderr) = output_of(scalepatch().arg("recover").arg(root));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("manifest.json") && stderr.contains("files[0].path"), "{stderr}");
    // A run id argument that is not one is a usage error.
    let (code, _, stderr) = output_of(scalepatch().arg("revert").arg(root).arg("../../x"));
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("not a run id"), "{stderr}");
}

#[test]
fn preplaced_symlinks_in_the_journal_are_refused() {
    type Place = fn(&Path, &Path);
    let cases: [(&str, Place); 4] = [
        (".scalepatch", |root, outside| symlink(outside, root.join(".scalepatch")).unwrap()),
        (".scalepatch/runs", |root, outside| {
            std::fs::create_dir(root.join(".scalepatch")).unwrap();
            symlink(outside, root.join(".scalepatch/runs")).unwrap();
        }),
        (".scalepatch/lock", |root, outside| {
            std::fs::create_dir_all(root.join(".scalepatch/runs")).unwrap();
            symlink(outside.join("lockfile"), root.join(".scalepatch/lock")).unwrap();
        }),
        (".scalepatch/.gitignore", |root, outside| {
            std::fs::create_dir_all(root.join(".scalepatch/runs")).unwrap();
            symlink(outside.join("ignore"), root.join(".scalepatch/.gitignore")).unwrap();
        }),
    ];
    for (name, place) in cases {
        let project = small_project();
        let outside = tempfile::tempdir().unwrap();
        let root = project.path();
        place(root, outside.path());
        let (project_before, outside_before) = (everything(root), everything(outside.path()));
        let (code, _, stderr) = output_of(scalepatch().args(["apply", "--yes", "--only", TWO_PATCHES]).arg(root));
        assert_eq!(code, Some(2), "{name}: {stderr}");
        assert!(stderr.contains("symlink"), "{name}: {stderr}");
        assert_eq!(everything(root), project_before, "{name}: nothing written");
        assert_eq!(everything(outside.path()), outside_before, "{name}: nothing written outside");
    }
}

/// Applies the two patches; returns the run id.
fn apply(root: &Path) -> String {
    let (code, stdout, stderr) = output_of(scalepatch().args(["apply", "--yes", "--only", TWO_PATCHES]).arg(root));
    assert_eq!(code, Some(0), "{stderr}");
    stdout.lines().find_map(|l| l.strip_prefix("applied run ")).unwrap().split_whitespace().next().unwrap().to_owned()
}

#[test]
fn a_corrupted_backup_refuses_the_revert() {
    let project = small_project();
    let root = project.path();
    let run_id = apply(root);
    let applied = everything(root);
    let copy = root.join(".scalepatch/runs").join(&run_id).join("originals/Dockerfile");
    std::fs::write(&copy, "FROM evil\n").unwrap();
    let applied_with_copy = everything(root);
    assert_ne!(applied, applied_with_copy);
    let (code, _, stderr) = output_of(scalepatch().arg("revert").arg(root));
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("Dockerfile") && stderr.contains("hash"), "{stderr}");
    assert_eq!(everything(root), applied_with_copy, "nothing written");
}

#[test]
fn revert_keeps_a_line_added_right_after_a_changed_one() {
    let project = small_project();
    let root = project.path();
    let before = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    apply(root);
    let applied = std::fs::read_to_string(root.join("Dockerfile")).unwrap();
    assert!(applied.ends_with("app.wsgi\"]\n") && applied != before, "{applied}");
    std::fs::write(root.join("Dockerfile"), format!("{applied}# tuned by hand\n")).unwrap();
    let (code, stdout, stderr) = output_of(scalepatch().arg("revert").arg(root));
    assert_eq!(code, Some(0), "{stderr}");
    assert!(stdout.contains("merged   Dockerfile"), "{stdout}");
    assert_eq!(std::fs::read_to_string(root.join("Dockerfile")).unwrap(), format!("{before}# tuned by hand\n"));
}

#[test]
fn two_concurrent_applies_one_wins_the_other_says_another_run_changed_the_project() {
    let project = small_project();
    let root = project.path();
    let spawn = || {
        let mut command = std::process::Command::new(assert_cmd::cargo::cargo_bin("scalepatch"));
        command.args(["apply", "--yes", "--only", TWO_PATCHES]).arg(root).env("NO_COLOR", "1");
        command.stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped()).spawn().unwrap()
    };
    let (first, second) = (spawn(), spawn());
    let outputs = [first.wait_with_output().unwrap(), second.wait_with_output().unwrap()];
    let mut applied = 0;
    for output in &outputs {
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(!stderr.contains("collides with a change of  to"), "{stderr}");
        match output.status.code() {
            Some(0) => applied += String::from_utf8_lossy(&output.stdout).contains("applied run") as usize,
            Some(2) => assert!(
                stderr.contains("another scalepatch run") || stderr.contains("another run may have changed"),
                "{stderr}"
            ),
            code => panic!("exit {code:?}: {stderr}"),
        }
    }
    assert_eq!(applied, 1, "exactly one run applied");
    scalepatch().args(["diff", "--check", "--only", TWO_PATCHES]).arg(root).assert().code(0);
}

#[test]
fn the_owner_of_a_replaced_file_is_kept() {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to hand a file to another user");
        return;
    }
    let project = small_project();
    let root = project.path();
    std::os::unix::fs::chown(root.join("Dockerfile"), Some(1234), Some(1234)).unwrap();
    apply(root);
    let meta = std::fs::metadata(root.join("Dockerfile")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (1234, 1234));
    scalepatch().arg("revert").arg(root).assert().code(0);
    let meta = std::fs::metadata(root.join("Dockerfile")).unwrap();
    assert_eq!((meta.uid(), meta.gid()), (1234, 1234));
}

#[cfg(feature = "fault-injection")]
#[test]
fn a_failing_chown_refuses_the_file_instead_of_changing_its_owner() {
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("skipped: needs root to hand a file to another user");
        return;
    }
    let project = small_project();
    let root = project.path();
    std::os::unix::fs::chown(root.join("Dockerfile"), Some(1234), Some(1234)).unwrap();
    let before = project_files(root);
    let (code, _, stderr) = output_of(
        scalepatch().args(["apply", "--yes", "--only", TWO_PATCHES]).arg(root).env("SCALEPATCH_FAIL_CHOWN", "1"),
    );
    assert_eq!(code, Some(3), "{stderr}");
    assert!(stderr.contains("Dockerfile") && stderr.contains("cannot keep its owner 1234:1234"), "{stderr}");
    assert_eq!(project_files(root), before);
    assert_eq!(std::fs::metadata(root.join("Dockerfile")).unwrap().uid(), 1234);
}

#[cfg(feature = "fault-injection")]
mod faults {
    use super::*;

    /// What the files are: as before the run, as applied, or something else.
    #[derive(Debug, PartialEq, Eq, Clone, Copy)]
    enum State {
        Before,
        Applied,
        Other,
    }

    fn files(root: &Path, before: &[(PathBuf, common::FileFacts)], applied: &[(PathBuf, common::FileFacts)]) -> State {
        let now = project_files(root);
        if now == before {
            State::Before
        } else if now == applied {
            State::Applied
        } else {
            State::Other
        }
    }

    /// The project before and after a clean apply of the two patches.
    fn states() -> (super::Files, super::Files) {
        let project = small_project();
        let before = project_files(project.path());
        apply(project.path());
        (before, project_files(project.path()))
    }

    /// `recover` then `revert` (when something is applied): must leave the project as before.
    fn recover_then_revert(root: &Path, before: &[(PathBuf, common::FileFacts)]) -> usize {
        let (code, _, stderr) = output_of(scalepatch().arg("recover").arg(root));
        assert_eq!(code, Some(0), "recover: {stderr}");
        let (code, _, stderr) = output_of(scalepatch().arg("revert").arg(root));
        assert!(
            code == Some(0) || stderr.contains("nothing to revert") || stderr.contains("no applied run"),
            "revert: {code:?} {stderr}"
        );
        let now = project_files(root);
        let lost: usize = before
            .iter()
            .filter(|entry| !now.contains(entry))
            .map(|(_, facts)| match facts {
                common::FileFacts::File { bytes, .. } => bytes.len().max(1),
                common::FileFacts::Symlink(_) => 1,
            })
            .sum();
        assert_eq!(now, before, "recover + revert restore the project byte-exact");
        let litter = staging_litter(root);
        assert!(litter.is_empty(), "staging files left: {litter:?}");
        lost
    }

    /// Whether the exit code tells the truth about the files.
    fn truthful(code: Option<i32>, state: State, action: &str) -> bool {
        match (action, code) {
            ("apply", Some(0)) => state == State::Applied,
            ("revert", Some(0)) => state == State::Before,
            ("apply", Some(2 | 3)) => state == State::Before,
            ("revert", Some(2 | 3)) => state == State::Applied,
            (_, Some(4)) => state != State::Before || action == "revert",
            _ => false,
        }
    }

    /// Runs `action` with the fault `env=N` for N = 0, 1, ... until a run meets no fault.
    fn sweep(action: &str, env: &str) -> (usize, usize) {
        let (before, applied) = states();
        let (mut injected, mut matched) = (0, 0);
        for step in 0.. {
            let project = small_project();
            let root = project.path();
            if action == "revert" {
                apply(root);
            }
            let mut command = scalepatch();
            match action {
                "apply" => command.args(["apply", "--yes", "--only", TWO_PATCHES]),
                _ => command.arg("revert"),
            };
            let (code, _, stderr) = output_of(command.arg(root).env(env, step.to_string()));
            if !stderr.contains("failure injected") {
                assert_eq!(code, Some(0), "{action} {env}={step}: {stderr}");
                break;
            }
            injected += 1;
            let state = files(root, &before, &applied);
            assert!(
                truthful(code, state, action),
                "{action} {env}={step}: exit {code:?} but files {state:?}\n{stderr}"
            );
            matched += 1;
            recover_then_revert(root, &before);
        }
        (injected, matched)
    }

    #[test]
    fn a_fault_at_every_write_step_gets_a_truthful_exit_code() {
        let (mut injected, mut matched) = (0, 0);
        for action in ["apply", "revert"] {
            for env in ["SCALEPATCH_FAIL_AT_STEP", "SCALEPATCH_FAIL_FROM_STEP"] {
                let (i, m) = sweep(action, env);
                assert!(i > 10, "{action} {env}: only {i} steps");
                injected += i;
                matched += m;
            }
        }
        eprintln!("figures: faults injected: {injected} / exit code matched state: {matched}");
        assert_eq!(injected, matched);
    }

    /// Kills `action` at every write step; recover + revert must restore the project.
    fn crash_sweep(action: &str) -> (usize, usize, usize) {
        let (before, _) = states();
        let (mut crashes, mut recovered, mut lost) = (0, 0, 0);
        for step in 0.. {
            let project = small_project();
            let root = project.path();
            if action == "revert" {
                apply(root);
            }
            let mut command = scalepatch();
            match action {
                "apply" => command.args(["apply", "--yes", "--only", TWO_PATCHES]),
                _ => command.arg("revert"),
            };
            let output = command.arg(root).env("SCALEPATCH_CRASH_AT_STEP", step.to_string()).output().unwrap();
            if output.status.code().is_some() {
                assert_eq!(output.status.code(), Some(0), "{}", String::from_utf8_lossy(&output.stderr));
                break;
            }
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(output.status.signal(), Some(9));
            crashes += 1;
            // A read-only command after the crash writes nothing, and says how to finish.
            let crashed = everything(root);
            let (_, stdout, stderr) = output_of(scalepatch().arg("status").arg(root));
            assert_eq!(everything(root), crashed, "status wrote after a crash at step {step}");
            let interrupted = ["in-progress", "reverting", "rollback incomplete"].iter().any(|s| stdout.contains(s));
            if interrupted && !stderr.contains("scalepatch recover") {
                panic!("status does not say how to finish the run (step {step}): {stderr}");
            }
            lost += recover_then_revert(root, &before);
            recovered += 1;
        }
        (crashes, recovered, lost)
    }

    #[test]
    fn a_kill_at_every_write_step_is_recovered_byte_exact() {
        let (mut crashes, mut recovered, mut lost) = (0, 0, 0);
        for action in ["apply", "revert"] {
            let (c, r, l) = crash_sweep(action);
            assert!(c > 10, "{action}: only {c} steps");
            crashes += c;
            recovered += r;
            lost += l;
        }
        eprintln!("figures: crashes injected: {crashes} / recovered: {recovered} / bytes lost: {lost}");
        assert_eq!((crashes, lost), (recovered, 0));
    }

    #[test]
    fn read_only_commands_after_a_crash_write_nothing_and_say_how_to_finish() {
        let project = small_project();
        let root = project.path();
        let output = scalepatch()
            .args(["apply", "--yes", "--only", TWO_PATCHES])
            .arg(root)
            .env("SCALEPATCH_CRASH_AFTER_WRITES", "1")
            .output()
            .unwrap();
        assert_eq!(output.status.code(), None);
        let crashed = everything(root);
        for args in [&["diff"][..], &["list"], &["status"], &["diff", "--only", TWO_PATCHES]] {
            let (_, _, stderr) = output_of(scalepatch().args(args).arg(root));
            assert_eq!(everything(root), crashed, "{args:?} wrote something");
            assert!(stderr.contains("interrupted") && stderr.contains("scalepatch recover"), "{args:?}: {stderr}");
            assert!(stderr.contains("as applied: Dockerfile"), "{args:?}: {stderr}");
        }
    }
}
