//! Planning: run the selected patches, gather their outcomes, detect changes that collide, and
//! compute each file's text after a chosen set of changes.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

use rayon::prelude::*;

use crate::engine::outcome::{Change, ChangeKind, Location, Outcome};
use crate::engine::patch::{Patch, PatchInfo};
use crate::lang::python;
use crate::project::Project;
use crate::text::edit::{Edit, apply_edits};
pub use crate::text::update::FileUpdate;

/// One patch's answers.
pub struct PatchReport {
    pub patch: &'static dyn Patch,
    pub outcomes: Vec<Outcome>,
}

/// Everything the selected patches said about a project.
pub struct Plan {
    pub reports: Vec<PatchReport>,
}

impl Plan {
    /// Plans every patch (each on its own thread), then turns each change that collides with an
    /// earlier one (in catalog order) into an error outcome naming both patches.
    ///
    /// Patches run on plain scoped threads, not rayon tasks: a patch may block in
    /// [`Project::memo`] while another computes a shared analysis with rayon, and a rayon worker
    /// that blocked there could be the one that analysis waits for.
    pub fn build(project: &Project, patches: &[&'static dyn Patch]) -> Plan {
        let mut reports: Vec<PatchReport> = std::thread::scope(|scope| {
            let running: Vec<_> =
                patches.iter().map(|&patch| (patch, scope.spawn(move || plan_patch(patch, project)))).collect();
            running
                .into_iter()
                .map(|(patch, thread)| {
                    let outcomes = thread.join().unwrap_or_else(|panic| vec![panicked(patch, panic.as_ref())]);
                    PatchReport { patch, outcomes }
                })
                .collect()
        });
        report_input_errors_once(&mut reports);
        reject_conflicts(project, &mut reports);
        crate::engine::selfcheck::check(project, &mut reports);
        drop_repeated_warnings(&mut reports);
        Plan { reports }
    }

    /// Every proposed change, in catalog order.
    pub fn changes(&self) -> impl Iterator<Item = &Change> {
        self.reports.iter().flat_map(|report| {
            report.outcomes.iter().filter_map(|outcome| match outcome {
                Outcome::Change(change) => Some(change),
                _ => None,
            })
        })
    }

    /// Whether any patch met input it could not read (exit code 2).
    pub fn has_errors(&self) -> bool {
        self.reports.iter().flat_map(|r| &r.outcomes).any(|o| matches!(o, Outcome::Error { .. }))
    }
}

/// Shows each warning once: one that an earlier patch already gave (the same place and words: a
/// dependency file too large to read, which every patch that uses versions reports), or that
/// repeats an error of the same patch about the same place (a models file too large to read is
/// an error, then again a warning when its queries are read), says nothing new.
fn drop_repeated_warnings(reports: &mut [PatchReport]) {
    let mut seen: Vec<Outcome> = Vec::new();
    for report in reports.iter_mut() {
        let errors: Vec<(Location, String)> = report
            .outcomes
            .iter()
            .filter_map(|o| match o {
                Outcome::Error { location, message } => Some((location.clone(), message.clone())),
                _ => None,
            })
            .collect();
        report.outcomes.retain(|outcome| {
            let Outcome::Warning { location: Some(location), message } = outcome else { return true };
            let repeats_error = errors.iter().any(|(at, error)| at == location && message.starts_with(error.as_str()));
            let repeated = seen.contains(outcome);
            if !repeated {
                seen.push(outcome.clone());
            }
            !(repeats_error || repeated)
        });
    }
}

/// One patch's outcomes, finished the same way for every patch: each change carries the patch's
/// id and opens its why-text with the quick win it serves, an outcome reached twice (two starts
/// sharing one config file) is said once, and an empty answer becomes "not found".
fn plan_patch(patch: &'static dyn Patch, project: &Project) -> Vec<Outcome> {
    let info = patch.info();
    let mut outcomes: Vec<Outcome> =
        patch.plan(project).into_iter().map(|outcome| stamp(outcome, info)).map(not_in_template_folder).collect();
    drop_repeated_outcomes(&mut outcomes);
    drop_repeated_edits(&mut outcomes);
    if outcomes.is_empty() {
        outcomes.push(Outcome::not_found("nothing of this kind in the project"));
    }
    outcomes
}

/// Sets a change's patch id and quick-win prefix from the patch's metadata.
fn stamp(outcome: Outcome, info: &PatchInfo) -> Outcome {
    match outcome {
        Outcome::Change(mut change) => {
            change.patch = info.id;
            Outcome::Change(change).with_quick_win(info.why_prefix)
        }
        other => other,
    }
}

/// A change to a file in a project template's folder (cookiecutter's `{{cookiecutter.project_slug}}/`,
/// copier's `{{ project_name }}/`) is not offered: the folder is rendered into a new project before
/// anything in it runs, so the edit would change every project generated later and no deployment
/// now; the user runs scalepatch on a generated project.
fn not_in_template_folder(outcome: Outcome) -> Outcome {
    let Outcome::Change(change) = &outcome else { return outcome };
    let Some(folder) = crate::project::kinds::template_folder(&change.path) else { return outcome };
    let location = Some(Location::new(change.path.clone(), change.line));
    Outcome::skipped(
        location,
        format!(
            "{}: not offered: {} is a project template's folder, rendered into a new project before anything in it \
             runs; run scalepatch on a generated project",
            change.summary,
            folder.display()
        ),
    )
}

/// The error a panicking patch becomes, so that the other patches still plan and nothing is
/// written (an error outcome means exit 2).
fn panicked(patch: &dyn Patch, panic: &(dyn std::any::Any + Send)) -> Outcome {
    let message = panic
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| panic.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".to_owned());
    Outcome::error(
        Location::file("."),
        format!(
            "internal error in patch {}: {message}; the other patches planned normally, nothing of this one is \
             offered (please report this, with the project's shape)",
            patch.id()
        ),
    )
}

/// The same change (or the same answer about the same place), reached twice, is reported once;
/// the same edits under another summary are left to [`drop_repeated_edits`], which says so.
fn drop_repeated_outcomes(outcomes: &mut Vec<Outcome>) {
    let mut seen = HashSet::new();
    outcomes.retain(|outcome| {
        let key = match outcome {
            Outcome::Change(change) => format!("change {} {:?} {}", change.path.display(), change.kind, change.summary),
            other => format!("{} {}", other.label(), other.describe()),
        };
        seen.insert(key)
    });
}

/// An edit that an earlier change of the same patch already makes (two aliases sharing one
/// OPTIONS variable, say) is kept once; a change left without edits becomes an ok naming it.
fn drop_repeated_edits(outcomes: &mut [Outcome]) {
    let mut made: HashSet<(PathBuf, Edit)> = HashSet::new();
    for outcome in outcomes.iter_mut() {
        let Outcome::Change(change) = outcome else { continue };
        let ChangeKind::Modify { edits } = &mut change.kind else { continue };
        edits.retain(|edit| !made.contains(&(change.path.clone(), edit.clone())));
        made.extend(edits.iter().map(|edit| (change.path.clone(), edit.clone())));
        if edits.is_empty() {
            let location = Location::new(change.path.clone(), change.line);
            *outcome = Outcome::ok(Some(location), format!("{} (the same edit as an alias above)", change.summary));
        }
    }
}

/// An unreadable file is an error once per run, not once per patch that reads it: the first
/// patch (in catalog order) keeps the error, later ones say where it was reported.
fn report_input_errors_once(reports: &mut [PatchReport]) {
    let mut reported: HashMap<String, &'static str> = HashMap::new();
    for report in reports.iter_mut() {
        let id = report.patch.id();
        for outcome in report.outcomes.iter_mut() {
            let Outcome::Error { location, message } = outcome else { continue };
            let key = format!("{location}: {message}");
            match reported.get(&key) {
                Some(first) if *first != id => {
                    *outcome =
                        Outcome::skipped(Some(location.clone()), format!("unreadable input, reported by {first}"));
                }
                Some(_) => {}
                None => {
                    reported.insert(key, id);
                }
            }
        }
    }
}

/// Replaces every change that overlaps an earlier accepted change to the same file with an error.
///
/// Files are independent of each other, so each file's changes (in catalog order) are combined on
/// its own, the files in parallel: combining checks every Python text it would write, a parse of
/// each, and a plan that adds indexes to a thousand apps has two thousand such texts. This runs
/// after every patch has planned, so no rayon worker can block in [`Project::memo`] here.
fn reject_conflicts(project: &Project, reports: &mut [PatchReport]) {
    let mut by_path: BTreeMap<&Path, Vec<(usize, usize)>> = BTreeMap::new();
    for (r, report) in reports.iter().enumerate() {
        for (o, outcome) in report.outcomes.iter().enumerate() {
            if let Outcome::Change(change) = outcome {
                by_path.entry(&change.path).or_default().push((r, o));
            }
        }
    }
    let shared: &[PatchReport] = reports;
    let change_at = |(r, o): (usize, usize)| match &shared[r].outcomes[o] {
        Outcome::Change(change) => change,
        _ => unreachable!("only changes are grouped"),
    };
    let rejected: Vec<((usize, usize), Outcome)> = by_path
        .into_par_iter()
        .flat_map_iter(|(_, places)| {
            let mut accepted: Vec<&Change> = Vec::new();
            let mut rejected = Vec::new();
            for place in places {
                let change = change_at(place);
                let mut candidate = accepted.clone();
                candidate.push(change);
                match file_update(project, &candidate) {
                    Ok(_) => accepted.push(change),
                    Err(err) => rejected.push((place, rejection(change, &accepted, err))),
                }
            }
            rejected
        })
        .collect();
    for ((r, o), outcome) in rejected {
        reports[r].outcomes[o] = outcome;
    }
}

/// The error outcome of a change that cannot join the changes `accepted` before it in its file.
fn rejection(change: &Change, accepted: &[&Change], err: CombineError) -> Outcome {
    if let CombineError::InvalidPython(err) = err {
        return Outcome::error(
            err.location.clone(),
            format!("{} would leave Python that CPython refuses ({}); nothing is written", change.summary, err.detail),
        );
    }
    let location = Location::new(change.path.clone(), change.line);
    let mut others: Vec<&str> = accepted.iter().map(|c| c.patch).collect();
    others.dedup();
    // With no earlier change to collide with, the file itself moved under the plan (another run
    // changed the project meanwhile, say).
    let message = if others.is_empty() {
        format!(
            "{}: the file changed while it was being planned ({err}); another run may have changed the project, run the command again",
            change.summary
        )
    } else {
        format!(
            "{} collides with a change of {} to the same lines ({err}); run with --skip for one of them",
            change.summary,
            others.join(", ")
        )
    };
    Outcome::error(location, message)
}

/// Why a set of changes cannot be combined.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CombineError {
    #[error("{0}")]
    Overlap(#[from] crate::text::edit::OverlapError),
    #[error("{path}: created by one change and edited or created by another")]
    CreateCollision { path: PathBuf },
    #[error("{path}: to be created, but it already exists")]
    AlreadyExists { path: PathBuf },
    #[error(transparent)]
    Input(#[from] crate::project::InputError),
    /// The text to write is Python that CPython would refuse: a bug in a patch, never written.
    #[error("{0}")]
    InvalidPython(#[from] python::SyntaxError),
}

/// Combines changes (all to one file) into that file's update.
pub fn file_update(project: &Project, changes: &[&Change]) -> Result<FileUpdate, CombineError> {
    let path = changes[0].path.clone();
    let patches = {
        let mut ids: Vec<&'static str> = changes.iter().map(|c| c.patch).collect();
        ids.dedup();
        ids
    };
    if let Some(created) = changes.iter().find_map(|c| match &c.kind {
        ChangeKind::Create { contents } => Some(contents),
        ChangeKind::Modify { .. } => None,
    }) {
        if changes.len() > 1 {
            return Err(CombineError::CreateCollision { path });
        }
        if project.absolute(&path).symlink_metadata().is_ok() {
            return Err(CombineError::AlreadyExists { path });
        }
        check_python(&path, created)?;
        return Ok(FileUpdate { path, before: None, after: created.clone(), patches });
    }
    let before = project.read(&path)?;
    let edits: Vec<Edit> = changes
        .iter()
        .flat_map(|c| match &c.kind {
            ChangeKind::Modify { edits } => edits.clone(),
            ChangeKind::Create { .. } => Vec::new(),
        })
        .collect();
    let after = apply_edits(&before.text, &edits)?;
    if is_python(&path) && python::check(&path, &before.text).is_ok() {
        python::check_edited(&before, &edits, &after)?;
    }
    Ok(FileUpdate { path, before: Some(before), after, patches })
}

/// A Python file is written only when CPython would accept the text written: the same check its
/// original passed when the patch read it ([`python::parse`]). An edit that breaks it (a comma
/// left out, a stray `05`) is an error outcome, not a write. An edited file whose original does
/// not pass (an unrendered template, edited outside its tags) is not held to it.
fn check_python(path: &Path, after: &str) -> Result<(), CombineError> {
    if is_python(path) {
        python::check(path, after)?;
    }
    Ok(())
}

/// Python source, by its name: settings, models, migrations, `gunicorn.conf.py`.
fn is_python(path: &Path) -> bool {
    path.extension().is_some_and(|ext| ext == "py")
}

/// Groups `changes` by file and combines each group (the files in parallel), in path order.
pub fn file_updates(project: &Project, changes: &[&Change]) -> Result<Vec<FileUpdate>, CombineError> {
    let mut by_path: BTreeMap<&PathBuf, Vec<&Change>> = BTreeMap::new();
    for change in changes {
        by_path.entry(&change.path).or_default().push(change);
    }
    // Collected whole before the first error is taken, so the error reported is the first file's
    // in path order, not whichever thread failed first.
    let updates: Vec<Result<FileUpdate, CombineError>> =
        by_path.into_par_iter().map(|(_, group)| file_update(project, &group)).collect();
    updates.into_iter().collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::config::Config;

    fn project_with(files: &[(&str, &str)]) -> (tempfile::TempDir, Project) {
        let tmp = tempfile::tempdir().unwrap();
        for (path, text) in files {
            std::fs::write(tmp.path().join(path), text).unwrap();
        }
        let project = Project::open(tmp.path(), Config::default()).unwrap();
        (tmp, project)
    }

    /// An edit that would leave Python CPython refuses is refused at the line of the text to
    /// write; so is a created Python file that does not compile.
    #[test]
    fn python_that_cpython_refuses_is_never_an_update() {
        let (_tmp, project) = project_with(&[("settings.py", "A = 1\nx = 5\n")]);
        let bad = Change::modify("p", "settings.py", vec![Edit::insert(10, "0")]);
        match file_update(&project, &[&bad]) {
            Err(CombineError::InvalidPython(err)) => assert_eq!(err.location, Location::new("settings.py", 2)),
            other => panic!("expected a syntax error, got {other:?}"),
        }
        let good = Change::modify("p", "settings.py", vec![Edit::insert(10, "0.")]);
        assert_eq!(file_update(&project, &[&good]).unwrap().after, "A = 1\nx = 0.5\n");
        let created = Change::create("p", "app/migrations/0002_x.py", "x = 1 y = 2\n");
        assert!(matches!(file_update(&project, &[&created]), Err(CombineError::InvalidPython(_))));
    }

    /// A patch whose edit would break a Python file gets an error outcome instead of its change,
    /// so `diff` exits 2 and `apply` writes nothing.
    #[test]
    fn a_change_that_breaks_python_becomes_an_error_outcome() {
        struct BreaksPython;
        static INFO: PatchInfo = PatchInfo {
            id: "breaks-python",
            quick_win: "QW0",
            why_prefix: "QW0",
            title: "a patch with a bug",
            phase_1: false,
            verify: &[],
            checked_by: crate::engine::patch::RealTool::Django,
        };
        impl Patch for BreaksPython {
            fn info(&self) -> &'static PatchInfo {
                &INFO
            }
            fn plan(&self, _: &Project) -> Vec<Outcome> {
                let change =
                    Change::modify("breaks-python", "settings.py", vec![Edit::insert(10, "0")]).summary("x 5 -> 05");
                vec![Outcome::Change(change)]
            }
        }
        let (_tmp, project) = project_with(&[("settings.py", "A = 1\nx = 5\n")]);
        let plan = Plan::build(&project, &[&BreaksPython]);
        assert!(plan.has_errors());
        assert_eq!(plan.changes().count(), 0);
        let Outcome::Error { location, message } = &plan.reports[0].outcomes[0] else { panic!("not an error") };
        assert_eq!(*location, Location::new("settings.py", 2));
        assert!(message.contains("x 5 -> 05 would leave Python that CPython refuses"), "{message}");
    }

    /// An unrendered template is edited outside its tags (gunicorn's patches do that); its
    /// original does not compile either, so the after-text is not held to it.
    #[test]
    fn a_template_that_did_not_compile_before_is_not_checked_after() {
        let text = "{% if debug %}\nreload = True\n{% endif %}\nworkers = 3\n";
        let (_tmp, project) = project_with(&[("gunicorn.conf.py", text)]);
        let at = text.find('3').unwrap();
        let change = Change::modify("p", "gunicorn.conf.py", vec![Edit::replace(at..at + 1, "5")]);
        assert_eq!(file_update(&project, &[&change]).unwrap().after, text.replace('3', "5"));
    }
}
