//! `gunicorn-workers`: Gunicorn worker count: 2 x CPUs + 1 (3..12), where the deployment decides it.
//!
//! Finds every gunicorn start (Dockerfile CMD/ENTRYPOINT, compose command, scripts, Procfile,
//! supervisord, systemd) and applies gunicorn's precedence (command line > GUNICORN_CMD_ARGS >
//! config file > WEB_CONCURRENCY) to edit the source that actually decides the count. Never
//! lowers a count; a runtime formula is ok (with the container note); a Heroku-style Procfile
//! without a count is skipped (the platform sets WEB_CONCURRENCY). When nothing sets it: an
//! existing config file gets `workers = N`, else the Dockerfile gets `ENV WEB_CONCURRENCY=N`,
//! else the command line gets `--workers N`. The analysis lives in [`crate::facts::gunicorn`].

use crate::engine::outcome::Outcome;
use crate::engine::patch::{Patch, PatchInfo, RealTool};
use crate::project::Project;

pub struct GunicornWorkers;

/// What the catalog knows of this patch.
pub static INFO: PatchInfo = PatchInfo {
    id: "gunicorn-workers",
    quick_win: "QW1",
    why_prefix: "QW1 (worker count)",
    title: "Gunicorn worker count: 2 x CPUs + 1 (3..12), where the deployment decides it",
    phase_1: true,
    verify: &["gunicorn --print-config <wsgi module>"],
    checked_by: RealTool::Gunicorn,
};

impl Patch for GunicornWorkers {
    fn info(&self) -> &'static PatchInfo {
        &INFO
    }

    fn plan(&self, project: &Project) -> Vec<Outcome> {
        crate::facts::gunicorn::analysis(project).workers.to_vec()
    }
}
