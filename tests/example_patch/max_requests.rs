//! `example-max-requests` (test-only): gunicorn `max_requests = 1000` and `max_requests_jitter =
//! 100` in a `gunicorn.conf.py` that sets neither, so that a worker leaking memory is recycled.
//!
//! This patch is not in the catalog: it is the README's "Adding a patch" recipe followed step by
//! step, so that a test proves the recipe is all a new patch needs. A real patch is this file in
//! `patches/` (with `crate::` paths where this one says `scalepatch::`), one line in
//! `patches/mod.rs`, and a fixture folder `fixtures/patches/<id>/<case>/`.

use std::path::Path;

use scalepatch::engine::outcome::{Change, Location, Outcome};
use scalepatch::engine::patch::{Patch, PatchInfo, RealTool};
use scalepatch::lang::python::{self, Scope};
use scalepatch::project::Project;

pub struct ExampleMaxRequests;

/// What the catalog knows of this patch.
pub static INFO: PatchInfo = PatchInfo {
    id: "example-max-requests",
    quick_win: "QW0",
    why_prefix: "QW0 (example)",
    title: "Test-only: gunicorn max_requests in gunicorn.conf.py",
    phase_1: false,
    verify: &["gunicorn --print-config -c gunicorn.conf.py"],
    checked_by: RealTool::Gunicorn,
};

impl Patch for ExampleMaxRequests {
    fn info(&self) -> &'static PatchInfo {
        &INFO
    }

    /// One answer per `gunicorn.conf.py`; none at all (the engine then says "not found") when
    /// the project has no such file.
    fn plan(&self, project: &Project) -> Vec<Outcome> {
        project.files_named("gunicorn.conf.py").map(|path| plan_file(project, path)).collect()
    }
}

/// `ok` when the file already sets `max_requests`, else a change adding both settings after the
/// file's last module-level assignment (the file's own style: indentation, line ends, noqa).
fn plan_file(project: &Project, path: &Path) -> Outcome {
    let source = match project.read(path) {
        Ok(source) => source,
        Err(err) => return err.into(),
    };
    let file = match python::parse(source) {
        Ok(file) => file,
        Err(err) => return err.into(),
    };
    let module: Vec<_> = python::assignments(&file).into_iter().filter(|(_, scope)| *scope == Scope::Module).collect();
    if let Some((set, _)) = module.iter().find(|(a, _)| file.text(a.left) == "max_requests") {
        let reason = format!("max_requests = {} already recycles workers", file.text(set.value));
        return Outcome::ok(Some(file.location(set.statement)), reason);
    }
    let Some((last, _)) = module.last() else {
        return Outcome::skipped(Some(Location::file(path)), "no module-level setting to add next to");
    };
    let lines = ["max_requests = 1000".to_owned(), "max_requests_jitter = 100".to_owned()];
    let edit = python::insert_statements_after(&file, last.statement, &lines, &file.style());
    Outcome::Change(
        Change::modify(INFO.id, path, vec![edit])
            .summary("max_requests = 1000, max_requests_jitter = 100 added")
            .why("a worker is replaced after 1000 requests (jittered so they do not all restart at once)")
            .verify("gunicorn --print-config -c gunicorn.conf.py")
            .at_line(file.line(last.statement) + 1),
    )
}
