//! The self-check: after planning, the patched tree is built in memory ([`Project::overlay`]: reads
//! of the edited paths answer their after-texts) and read again with the same analyses, before
//! anything is shown or written. A change that fails is not offered: it becomes `skipped` with
//! the failed check as its reason, and every change that passes says what was checked (an
//! assumption line starting with `self-check:`).
//!
//! The checks, in order:
//! 1. **syntax** ([`syntax`]): every edited file re-parses with its language's parser (Python,
//!    YAML, Dockerfile exec forms, TOML, nginx), with this change alone and with the whole plan;
//! 2. **the patch's own check** ([`Patch::self_check`], the hook): `before` is the project as it
//!    is, `after` the overlay of every change still offered. The gunicorn patches use
//!    [`gunicorn::decides`]: the setting a change writes is the one gunicorn resolves afterwards;
//! 3. **the connection budget** ([`budget`]): whenever a start's workers or threads go up.
//!
//! The unit of a verdict is what the review accepts as one: the changes of one patch with the
//! same `together` key, or the same summary and verify commands (a worker-class switch that
//! spans two files), so a half switch is never offered. It stays fast: the overlay shares the
//! project's file cache (only edited files are new), and facts are memoised per overlay.

pub mod budget;
pub mod gunicorn;
pub mod syntax;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::PathBuf;

use crate::engine::outcome::{Change, Location, Outcome};
use crate::engine::patch::{Patch, RealTool};
use crate::engine::plan::{PatchReport, file_updates};
use crate::project::Project;
use crate::text::source::SourceFile;

/// What starts every assumption line the self-check adds to a change: lines with it are the
/// self-check's, recomputed when the review re-runs it ([`crate::engine::review::recheck`]).
pub const NOTE_PREFIX: &str = "self-check: ";

/// Changes reviewed as one, and where their outcomes sit in the plan.
pub struct Unit {
    report: usize,
    outcomes: Vec<usize>,
    changes: Vec<Change>,
    patch: &'static dyn Patch,
    checked_by: RealTool,
}

/// What the checks said, per unit.
#[derive(Default)]
pub struct Verdicts {
    failed: BTreeMap<usize, String>,
    notes: BTreeMap<usize, Vec<String>>,
    warnings: Vec<(usize, String)>,
}

impl Verdicts {
    fn offered(&self, unit: usize) -> bool {
        !self.failed.contains_key(&unit)
    }

    fn fail(&mut self, unit: usize, why: String) {
        self.failed.entry(unit).or_insert(why);
    }

    fn note(&mut self, unit: usize, what: String) {
        let notes = self.notes.entry(unit).or_default();
        if !notes.contains(&what) {
            notes.push(what);
        }
    }

    fn warn(&mut self, unit: usize, message: String) {
        self.warnings.push((unit, message));
    }
}

/// Runs the checks on the plan's changes and rewrites the reports with the verdicts.
pub fn check(project: &Project, reports: &mut [PatchReport]) {
    let units = units(reports);
    if units.is_empty() {
        return;
    }
    let mut verdicts = Verdicts::default();
    check_syntax(project, &units, &mut verdicts);
    let overlay = |chosen: &[usize]| overlay_of(project, &budget::changes_of(&units, chosen));
    let offered: Vec<usize> = (0..units.len()).filter(|&u| verdicts.offered(u)).collect();
    let after = overlay(&offered);
    for &unit in &offered {
        for change in &units[unit].changes {
            match units[unit].patch.self_check(project, &after, change) {
                Ok(Some(what)) => verdicts.note(unit, what),
                Ok(None) => {}
                Err(why) => verdicts.fail(unit, why),
            }
        }
    }
    budget::check(project, &units, &mut verdicts, &overlay, (offered, after));
    record(reports, &units, verdicts);
}

/// The plan's changes as review units, in plan order.
fn units(reports: &[PatchReport]) -> Vec<Unit> {
    let mut units: Vec<Unit> = Vec::new();
    // A map, not a scan: db-indexes plans thousands of changes on a large codebase.
    let mut by_key: HashMap<(usize, String), usize> = HashMap::new();
    for (report_index, report) in reports.iter().enumerate() {
        for (outcome_index, outcome) in report.outcomes.iter().enumerate() {
            let Outcome::Change(change) = outcome else { continue };
            let key =
                change.together.clone().unwrap_or_else(|| format!("{}\n{}", change.summary, change.verify.join("\n")));
            let unit = *by_key.entry((report_index, key)).or_insert_with(|| {
                units.push(Unit {
                    report: report_index,
                    outcomes: Vec::new(),
                    changes: Vec::new(),
                    patch: report.patch,
                    checked_by: report.patch.info().checked_by,
                });
                units.len() - 1
            });
            units[unit].outcomes.push(outcome_index);
            units[unit].changes.push(change.clone());
        }
    }
    units
}

/// Each unit's files re-parse with the unit alone, then with every unit still offered (two
/// patches' edits to one file could break it together).
fn check_syntax(project: &Project, units: &[Unit], verdicts: &mut Verdicts) {
    for (index, unit) in units.iter().enumerate() {
        let changes: Vec<&Change> = unit.changes.iter().collect();
        for (what, _) in reparse_all(project, &changes) {
            match what {
                Ok(Some(what)) => verdicts.note(index, what),
                Ok(None) => {}
                Err(why) => verdicts.fail(index, why),
            }
        }
    }
    // Each unit's files passed alone; a file only one unit edits reads the same with the whole
    // plan, so only the files several units edit are parsed again, combined.
    let offered: Vec<usize> = (0..units.len()).filter(|&u| verdicts.offered(u)).collect();
    let mut editors: HashMap<&PathBuf, usize> = HashMap::new();
    for &unit in &offered {
        let paths: BTreeSet<&PathBuf> = units[unit].changes.iter().map(|c| &c.path).collect();
        for path in paths {
            *editors.entry(path).or_default() += 1;
        }
    }
    let shared: Vec<&Change> =
        budget::changes_of(units, &offered).into_iter().filter(|c| editors[&c.path] > 1).collect();
    for (what, path) in reparse_all(project, &shared) {
        let Err(why) = what else { continue };
        for &unit in offered.iter().filter(|&&u| units[u].changes.iter().any(|c| c.path == path)) {
            verdicts.fail(unit, format!("with the other changes of the plan, {why}"));
        }
    }
}

/// The re-parse verdict of every file `changes` edit, with the file's path.
fn reparse_all(project: &Project, changes: &[&Change]) -> Vec<(Result<Option<String>, String>, PathBuf)> {
    // Changes that cannot be combined were turned into errors while planning.
    let Ok(updates) = file_updates(project, changes) else { return Vec::new() };
    updates
        .iter()
        .map(|update| {
            let before = update.before.as_ref().map(|b| b.text.as_str());
            (syntax::reparse(&update.path, before, &update.after), update.path.clone())
        })
        .collect()
}

/// The project with `changes` written (in memory).
fn overlay_of(project: &Project, changes: &[&Change]) -> Project {
    let updates = file_updates(project, changes).unwrap_or_default();
    project.overlay(updates.into_iter().map(|update| {
        let (bom, mode) = (update.before.as_ref().is_some_and(|b| b.bom), update.mode());
        SourceFile::new(update.path, update.after, bom, mode)
    }))
}

/// Turns failed units into skipped outcomes, adds the notes to the changes offered and the
/// warnings to their patches' reports.
fn record(reports: &mut [PatchReport], units: &[Unit], verdicts: Verdicts) {
    for (index, unit) in units.iter().enumerate() {
        for &outcome in &unit.outcomes {
            let Outcome::Change(change) = &mut reports[unit.report].outcomes[outcome] else { continue };
            match verdicts.failed.get(&index) {
                Some(why) => {
                    let location = Some(Location::new(change.path.clone(), change.line));
                    let reason = format!("{}: not offered, the self-check failed: {why}", change.summary);
                    reports[unit.report].outcomes[outcome] = Outcome::skipped(location, reason);
                }
                None => {
                    let notes = verdicts.notes.get(&index).into_iter().flatten();
                    change.assumptions.extend(notes.map(|note| format!("{NOTE_PREFIX}{note}")));
                }
            }
        }
    }
    for (unit, message) in verdicts.warnings {
        reports[units[unit].report].outcomes.push(Outcome::warning(None, message));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::patch::PatchInfo;
    use crate::engine::plan::Plan;
    use crate::project::config::Config;
    use crate::text::edit::Edit;

    fn project_with(files: &[(&str, &str)]) -> (tempfile::TempDir, Project) {
        let tmp = tempfile::tempdir().unwrap();
        for (path, text) in files {
            let full = tmp.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, text).unwrap();
        }
        let project = Project::open(tmp.path(), Config::default()).unwrap();
        (tmp, project)
    }

    /// A patch with a bug: it edits `gunicorn.conf.py` while the command line decides the count.
    struct Unseen;
    static INFO: PatchInfo = PatchInfo {
        id: "unseen",
        quick_win: "QW0",
        why_prefix: "QW0",
        title: "a change production never sees, and one that breaks nginx",
        phase_1: false,
        verify: &[],
        checked_by: RealTool::Gunicorn,
    };
    impl Patch for Unseen {
        fn info(&self) -> &'static PatchInfo {
            &INFO
        }
        fn plan(&self, _: &Project) -> Vec<Outcome> {
            let workers = Change::modify("unseen", "gunicorn.conf.py", vec![Edit::replace(10..11, "5")])
                .summary("workers 3 -> 5 in gunicorn.conf.py");
            let nginx = Change::modify("unseen", "nginx/nginx.conf", vec![Edit::insert(9, "gzip on")])
                .summary("gzip on without its semicolon");
            vec![Outcome::Change(workers), Outcome::Change(nginx)]
        }
        fn self_check(&self, before: &Project, after: &Project, change: &Change) -> Result<Option<String>, String> {
            match change.path.extension() {
                Some(ext) if ext == "py" => gunicorn::decides(before, after, change, gunicorn::Field::Workers),
                _ => Ok(None),
            }
        }
    }

    #[test]
    fn a_change_that_fails_its_self_check_is_skipped_with_the_check() {
        let (_tmp, project) = project_with(&[
            ("gunicorn.conf.py", "workers = 3\n"),
            ("Procfile", "web: gunicorn -w 3 app.wsgi:application\n"),
            ("nginx/nginx.conf", "events {}\n"),
        ]);
        let plan = Plan::build(&project, &[&Unseen]);
        assert_eq!(plan.changes().count(), 0);
        let reasons: Vec<String> =
            plan.reports[0].outcomes.iter().map(|o| format!("{}: {}", o.label(), o.describe())).collect();
        assert!(reasons[0].starts_with("skipped: gunicorn.conf.py: workers 3 -> 5 in gunicorn.conf.py: not offered, the self-check failed: re-read on the patched tree, no gunicorn start takes its worker count"), "{reasons:#?}");
        assert!(reasons[1].contains("nginx/nginx.conf would no longer parse as nginx configuration: "), "{reasons:#?}");
    }

    #[test]
    fn the_overlay_reads_the_after_texts_and_shares_the_rest() {
        let (_tmp, project) = project_with(&[("a.txt", "old\n"), ("b.txt", "same\n")]);
        let overlay =
            project.overlay([SourceFile::from_text("a.txt", "new\n"), SourceFile::from_text("c.txt", "created\n")]);
        assert_eq!(overlay.read(std::path::Path::new("a.txt")).unwrap().text, "new\n");
        assert_eq!(overlay.read(std::path::Path::new("b.txt")).unwrap().text, "same\n");
        assert!(overlay.has_file(std::path::Path::new("c.txt")));
        assert_eq!(project.read(std::path::Path::new("a.txt")).unwrap().text, "old\n");
    }
}
