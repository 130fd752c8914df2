//! The fixture harness itself (tests/common): a wrong expectation fails, and `UPDATE_EXPECT`
//! writes the `.new` files for review, fails all the same, and never touches the reviewed files.

mod common;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::Path;

use common::ExpectedOutcome;
use common::snapshot::{render, shorten, with_outcomes};

/// A scratch copy of a real case (`before/`, `expected.diff`, `case.toml`).
fn scratch_case(patch: &'static str, name: &str) -> (tempfile::TempDir, common::Case) {
    let original = common::cases(patch).into_iter().find(|case| case.name == name).unwrap();
    let tmp = tempfile::tempdir().unwrap();
    common::copy_tree(&original.dir, tmp.path());
    let case = common::Case { dir: tmp.path().to_owned(), ..original };
    (tmp, case)
}

fn fails(case: &common::Case, update: bool) -> String {
    let result = catch_unwind(AssertUnwindSafe(|| case.check_with(update)));
    let panic = result.err().unwrap_or_else(|| panic!("{}: the check passed", case.label()));
    panic.downcast_ref::<String>().cloned().unwrap_or_default()
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()))
}

#[test]
fn a_case_passes_as_reviewed() {
    let (_tmp, case) = scratch_case("gunicorn-workers", "cpus-flag");
    case.check_with(true);
    assert!(!case.dir.join("case.toml.new").exists() && !case.dir.join("expected.diff.new").exists());
}

/// Each of: a missing outcome, an extra one, another status, a reason it does not contain, the
/// right outcomes in another order.
#[test]
fn every_outcome_is_compared_in_order() {
    let (_tmp, case) = scratch_case("nginx-gzip", "mixed-servers");
    let reviewed = read(&case.dir.join("case.toml"));
    let outcomes = case.spec().outcomes;
    assert_eq!(outcomes.len(), 3, "{outcomes:?}");
    let other_status = ExpectedOutcome { status: "ok".into(), ..outcomes[0].clone() };
    let other_reason = ExpectedOutcome { reason: "nginx/nginx.conf:99".into(), ..outcomes[0].clone() };
    let wrong_lists = [
        outcomes[..2].to_vec(),
        [outcomes.clone(), vec![outcomes[1].clone()]].concat(),
        vec![other_status, outcomes[1].clone(), outcomes[2].clone()],
        vec![other_reason, outcomes[1].clone(), outcomes[2].clone()],
        vec![outcomes[1].clone(), outcomes[0].clone(), outcomes[2].clone()],
    ];
    for wrong in wrong_lists {
        std::fs::write(case.dir.join("case.toml"), with_outcomes(&reviewed, &wrong)).unwrap();
        let message = fails(&case, false);
        assert!(message.contains("the outcomes differ from case.toml"), "{message}");
        assert!(!case.dir.join("case.toml.new").exists(), "written without UPDATE_EXPECT");
    }
}

#[test]
fn update_expect_writes_new_files_and_still_fails() {
    let (_tmp, case) = scratch_case("gunicorn-workers", "cpus-flag");
    let reviewed_diff = "diff --git a/Dockerfile b/Dockerfile\n";
    std::fs::write(case.dir.join("expected.diff"), reviewed_diff).unwrap();
    let reviewed_toml =
        "cpus = 1\n\n[gunicorn]\nverified = 1\n\n[[outcome]]\nstatus = \"ok\"\nreason = \"Dockerfile\"\n";
    std::fs::write(case.dir.join("case.toml"), reviewed_toml).unwrap();

    let message = fails(&case, true);
    assert!(message.contains("expected.diff.new") && message.contains("case.toml.new"), "{message}");
    assert_eq!(read(&case.dir.join("expected.diff")), reviewed_diff, "the reviewed diff was overwritten");
    assert_eq!(read(&case.dir.join("case.toml")), reviewed_toml, "the reviewed case.toml was overwritten");

    let original = common::cases("gunicorn-workers").into_iter().find(|c| c.name == "cpus-flag").unwrap();
    assert_eq!(read(&case.dir.join("expected.diff.new")), read(&original.dir.join("expected.diff")));
    let proposed: common::CaseSpec = toml::from_str(&read(&case.dir.join("case.toml.new"))).unwrap();
    assert_eq!(proposed.cpus, Some(1));
    assert_eq!(proposed.gunicorn.map(|g| g.verified), Some(1));
    assert_eq!(proposed.outcomes, original.spec().outcomes);

    // Renamed over the reviewed files, the case passes.
    std::fs::rename(case.dir.join("expected.diff.new"), case.dir.join("expected.diff")).unwrap();
    std::fs::rename(case.dir.join("case.toml.new"), case.dir.join("case.toml")).unwrap();
    case.check_with(true);
}

#[test]
fn reasons_are_short_prefixes_and_reviewed_ones_are_kept() {
    let long = format!("Dockerfile:3: {}", "word ".repeat(40));
    let short = shorten(&long);
    assert!(long.starts_with(&short) && short.chars().count() <= 100 && short.ends_with("word"), "{short}");
    assert_eq!(shorten("ok: short"), "ok: short");

    let outcome = scalepatch::engine::outcome::Outcome::ok(None, "CONN_MAX_AGE is None (unlimited)");
    let kept = ExpectedOutcome { status: "ok".into(), reason: "is None".into() };
    assert_eq!(render(std::slice::from_ref(&outcome), std::slice::from_ref(&kept)), vec![kept]);
    let stale = ExpectedOutcome { status: "skipped".into(), reason: "is None".into() };
    let fresh = ExpectedOutcome { status: "ok".into(), reason: "CONN_MAX_AGE is None (unlimited)".into() };
    assert_eq!(render(&[outcome], &[stale]), vec![fresh]);
}

#[test]
fn with_outcomes_keeps_comments_and_other_keys() {
    let before = "# why this case\ncpus = 2\n\n[[outcome]]\nstatus = \"ok\"\nreason = \"old\"\n";
    let new = [ExpectedOutcome { status: "change".into(), reason: "Dockerfile:1: \"x\"".into() }];
    let after = with_outcomes(before, &new);
    assert!(after.starts_with("# why this case\ncpus = 2\n"), "{after}");
    let spec: common::CaseSpec = toml::from_str(&after).unwrap();
    assert_eq!((spec.cpus, spec.outcomes), (Some(2), new.to_vec()));

    let comment_only = "# only a comment\n\n[[outcome]]\nstatus = \"ok\"\nreason = \"old\"\n";
    let after = with_outcomes(comment_only, &new);
    assert!(after.starts_with("# only a comment\n\n[[outcome]]\n"), "{after}");
}
