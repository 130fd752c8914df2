//! The contract every patch implements, and the catalog table shown in `list` and the README.
//!
//! A patch is one file in `patches/`: a static [`PatchInfo`] (what the catalog, the CLI and the
//! review know of it without running it) and [`Patch::plan`] (its whole decision). What every
//! patch would otherwise repeat, the engine does once (see [`crate::engine::plan`]): it stamps
//! each change with the patch id and the quick win its why-text serves, drops identical edits,
//! isolates a patch that panics, and reports an unreadable file once.

use crate::engine::outcome::{Change, Outcome};
use crate::project::Project;

/// The real tool that judges a patch's result (the tests run it on every fixture case; `apply`
/// prints its command as the verification step).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RealTool {
    /// `gunicorn --print-config` on each gunicorn start.
    Gunicorn,
    /// Django imports the patched settings module.
    Django,
    /// `nginx -t` on the files nginx loads.
    Nginx,
    /// `manage.py makemigrations --check`, `migrate` and `sqlmigrate`.
    Migrations,
    /// Celery's own command-line parser on each worker's command line, with its app's
    /// configuration loaded.
    Celery,
}

/// What is known of a patch without running it.
#[derive(Debug)]
pub struct PatchInfo {
    /// The public id (`gunicorn-workers`). Ids are a contract: never rename one.
    pub id: &'static str,
    /// The quick win it belongs to, as the analysis names it (`QW1`).
    pub quick_win: &'static str,
    /// How each change's why-text opens when the patch did not write the prefix itself
    /// (`QW1 (worker count)`): every explanation says which quick win it serves.
    pub why_prefix: &'static str,
    /// A one-line title.
    pub title: &'static str,
    /// Whether `--phase 1` (the default selection) includes it.
    pub phase_1: bool,
    /// The command(s) that confirm the patch once applied, printed after `apply` when the
    /// changes name none of their own.
    pub verify: &'static [&'static str],
    /// The real tool that judges the result.
    pub checked_by: RealTool,
}

/// One quick win, applied to a project. Patches are pure: they read the [`Project`] (never the
/// disk directly) and return outcomes; writing is the journal's job.
pub trait Patch: Sync {
    /// The patch's metadata.
    fn info(&self) -> &'static PatchInfo;

    /// Every target the patch looked at, with an answer for each. An empty answer is reported
    /// as "not found" by the engine.
    fn plan(&self, project: &Project) -> Vec<Outcome>;

    /// The hook of the self-check ([`crate::engine::selfcheck`]): re-reads one of this patch's
    /// changes on the patched tree. `before` is the project as it is; `after` is the same project
    /// with every change of the plan still offered written in memory (read it with the same
    /// facts: `crate::facts::...::of(after)` computes them from the patched texts). Answer
    /// `Ok(Some(what))` to say what was confirmed (shown with the change as `self-check: what`),
    /// `Ok(None)` when there is nothing patch-specific to check (the default: the engine has
    /// already re-parsed every edited file), or `Err(why)` when the patched tree would not do
    /// what the change says: the change is then not offered, it becomes skipped with `why`.
    fn self_check(&self, before: &Project, after: &Project, change: &Change) -> Result<Option<String>, String> {
        let _ = (before, after, change);
        Ok(None)
    }

    /// The public id (see [`PatchInfo::id`]).
    fn id(&self) -> &'static str {
        self.info().id
    }

    /// The quick win (see [`PatchInfo::quick_win`]).
    fn quick_win(&self) -> &'static str {
        self.info().quick_win
    }

    /// The one-line title.
    fn title(&self) -> &'static str {
        self.info().title
    }

    /// Whether `--phase 1` includes it.
    fn in_phase_1(&self) -> bool {
        self.info().phase_1
    }

    /// The generic verification commands.
    fn verify(&self) -> &'static [&'static str] {
        self.info().verify
    }
}

/// The catalog as a Markdown table (the README embeds it; a test keeps the two in step).
pub fn catalog_markdown(patches: &[&dyn Patch]) -> String {
    let mut table = String::from("| id | quick win | in `--phase 1` | what it does |\n|---|---|---|---|\n");
    for patch in patches {
        let phase = if patch.in_phase_1() { "yes" } else { "optional (`--with`)" };
        table.push_str(&format!("| `{}` | {} | {} | {} |\n", patch.id(), patch.quick_win(), phase, patch.title()));
    }
    table
}
