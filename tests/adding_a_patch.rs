//! The README's "Adding a patch" recipe, followed by a test-only patch: one file
//! (tests/example_patch/max_requests.rs, where a real patch would be `patches/<id>.rs`), one line
//! in a catalog, one fixture folder (tests/example_patch/fixtures/, where a real patch's is
//! `fixtures/patches/<id>/`). Nothing else is needed: the generic fixture runner checks it like
//! every catalog patch (exact diff and outcomes, `git apply --check`, idempotence, apply and
//! revert through the journal), the engine stamps it, and the real gunicorn reads the result.

mod common;

#[path = "example_patch/max_requests.rs"]
mod max_requests;

use scalepatch::engine::outcome::Outcome;
use scalepatch::engine::patch::Patch;
use scalepatch::engine::plan::Plan;

/// Step 2: the catalog line. A real patch adds `&<module>::<Struct>` to `patches::ALL`.
const CATALOG: &[&dyn Patch] = &[&max_requests::ExampleMaxRequests];

fn fixtures() -> std::path::PathBuf {
    common::repo_root().join("tests/example_patch/fixtures")
}

/// `gunicorn --print-config -c gunicorn.conf.py app.wsgi` in `root`: the `max_requests` it runs with.
fn max_requests_run_by_gunicorn(root: &std::path::Path) -> String {
    let output = std::process::Command::new(common::tools::gunicorn())
        .args(["--print-config", "-c", "gunicorn.conf.py", "app.wsgi"])
        .current_dir(root)
        .output()
        .expect("gunicorn runs");
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "gunicorn --print-config failed: {stdout}{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let line =
        stdout.lines().find(|l| l.split_whitespace().next() == Some("max_requests")).expect("max_requests printed");
    line.rsplit(' ').next().unwrap().to_owned()
}

#[test]
fn a_patch_made_by_the_recipe_runs_through_every_generic_check() {
    for case in common::cases_of(CATALOG[0], &fixtures()) {
        let applied = case.check();
        if case.name == "adds-both" {
            assert_eq!(max_requests_run_by_gunicorn(applied.root()), "1000", "the real gunicorn reads the new setting");
        }
    }
}

#[test]
fn the_engine_stamps_the_new_patch_like_every_other() {
    let case = common::cases_of(CATALOG[0], &fixtures()).into_iter().find(|c| c.name == "adds-both").unwrap();
    let copy = case.copy();
    let project = scalepatch::project::Project::open(copy.path(), Default::default()).unwrap();
    // The new patch beside the whole catalog: planned together, no collision, its why stamped.
    let mut patches: Vec<&'static dyn Patch> = scalepatch::patches::ALL.to_vec();
    patches.extend_from_slice(CATALOG);
    let plan = Plan::build(&project, &patches);
    let report = plan.reports.iter().find(|r| r.patch.id() == "example-max-requests").unwrap();
    let [Outcome::Change(change)] = report.outcomes.as_slice() else { panic!("{:?}", report.outcomes) };
    assert!(change.why.starts_with("QW0 (example): "), "{}", change.why);
    assert_eq!(change.patch, "example-max-requests");
}
