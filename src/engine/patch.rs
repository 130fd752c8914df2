//! The contract every patch implements, and the catalog table shown in `list` and the README.

use crate::engine::outcome::Outcome;
use crate::project::Project;

/// One quick win, applied to a project. Patches are pure: they read the [`Project`] (never the
/// disk directly) and return outcomes; writing is the journal's job.
pub trait Patch: Sync {
    /// The public id (`gunicorn-workers`). Ids are a contract: never rename one.
    fn id(&self) -> &'static str;
    /// The quick win it belongs to, as the analysis names it (`QW1`).
    fn quick_win(&self) -> &'static str;
    /// A one-line title.
    fn title(&self) -> &'static str;
    /// Whether `--phase 1` (the default selection) includes it.
    fn in_phase_1(&self) -> bool;
    /// The command(s) that confirm the patch once applied, printed after `apply`.
    fn verify(&self) -> &'static [&'static str];
    /// Every target the patch looked at, with an answer for each. Never empty.
    fn plan(&self, project: &Project) -> Vec<Outcome>;
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
