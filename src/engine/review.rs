//! Choosing which proposed changes to apply: all of them (`--yes`, [`AcceptAll`]), or one by one
//! on a terminal (the command line's `Interactive`, in `src/cli/review.rs`). A review writes
//! nothing; the journal does, once the review is over.

use std::collections::HashSet;

use anyhow::Result;

use crate::engine::outcome::{Change, Outcome};
use crate::engine::patch::Patch;
use crate::engine::plan::PatchReport;
use crate::engine::selfcheck;
use crate::project::Project;

/// One change offered for review, with the patch that proposes it.
#[derive(Clone, Copy)]
pub struct Proposal<'a> {
    pub patch: &'static dyn Patch,
    pub change: &'a Change,
}

/// The end of a review.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// Apply these proposals (indices into the reviewed slice, in order). May be empty.
    Apply(Vec<usize>),
    /// The user quit: write nothing (exit 130).
    Quit,
}

/// Decides which proposals to apply.
pub trait Reviewer {
    fn review(&mut self, project: &Project, proposals: &[Proposal<'_>]) -> Result<Verdict>;
}

/// `--yes`: every proposal.
pub struct AcceptAll;

impl Reviewer for AcceptAll {
    fn review(&mut self, _project: &Project, proposals: &[Proposal<'_>]) -> Result<Verdict> {
        Ok(Verdict::Apply((0..proposals.len()).collect()))
    }
}

/// The units of a review: indices of proposals, where changes tied with [`Change::together`]
/// form one unit (at the place of the first of them).
pub fn units(proposals: &[Proposal<'_>]) -> Vec<Vec<usize>> {
    let mut units: Vec<Vec<usize>> = Vec::new();
    for (index, proposal) in proposals.iter().enumerate() {
        let key = |p: &Proposal<'_>| p.change.together.as_ref().map(|key| (p.patch.id(), key.clone()));
        let mine = key(proposal);
        match units.iter_mut().find(|unit| mine.is_some() && key(&proposals[unit[0]]) == mine) {
            Some(unit) => unit.push(index),
            None => units.push(vec![index]),
        }
    }
    units
}

/// A proposal once the self-check has run again without the rejected ones ([`recheck`]).
#[derive(Debug, Clone)]
pub enum Rechecked {
    /// Still offered: the change with its self-check lines recomputed.
    Offered(Change),
    /// No longer offered: the self-check's reason, as the plan would say it.
    Skipped(String),
}

/// Re-runs the self-check ([`selfcheck::check`]) on the proposals without the `rejected` ones, as
/// if the plan had never proposed them: the threads a worker-class switch assumes and the
/// connection budget each change states were computed for the whole plan, and a rejection makes
/// them wrong. One answer per proposal, `None` for the rejected ones; accepted proposals are
/// re-checked too (they are part of the plan that remains), the caller decides what to do with
/// them. The self-check's warnings (budget above 80%) are not returned: the plan said them before
/// the review.
pub fn recheck(project: &Project, proposals: &[Proposal<'_>], rejected: &HashSet<usize>) -> Vec<Option<Rechecked>> {
    // One report per patch, in proposal (catalog) order, as the self-check groups its units.
    let mut reports: Vec<PatchReport> = Vec::new();
    let mut places: Vec<Option<(usize, usize)>> = Vec::with_capacity(proposals.len());
    for (index, proposal) in proposals.iter().enumerate() {
        if rejected.contains(&index) {
            places.push(None);
            continue;
        }
        if reports.last().is_none_or(|report| report.patch.id() != proposal.patch.id()) {
            reports.push(PatchReport { patch: proposal.patch, outcomes: Vec::new() });
        }
        let mut change = proposal.change.clone();
        change.assumptions.retain(|line| !line.starts_with(selfcheck::NOTE_PREFIX));
        let last = reports.len() - 1;
        places.push(Some((last, reports[last].outcomes.len())));
        reports[last].outcomes.push(Outcome::Change(change));
    }
    selfcheck::check(project, &mut reports);
    places
        .into_iter()
        .map(|place| {
            place.map(|(report, outcome)| match &reports[report].outcomes[outcome] {
                Outcome::Change(change) => Rechecked::Offered(change.clone()),
                other => Rechecked::Skipped(format!("{}: {}", other.label(), other.describe())),
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tied_changes_form_one_unit() {
        let patch = crate::patches::by_id("db-indexes").unwrap();
        let model = Change::modify("db-indexes", "chat/models.py", vec![]).together("indexes of app chat");
        let other = Change::modify("db-indexes", "blog/models.py", vec![]).together("indexes of app blog");
        let migration = Change::create("db-indexes", "chat/migrations/0002_x.py", "").together("indexes of app chat");
        let loose = Change::modify("db-indexes", "a.py", vec![]);
        let changes = [&model, &other, &migration, &loose, &loose];
        let proposals: Vec<Proposal<'_>> = changes.iter().map(|&change| Proposal { patch, change }).collect();
        assert_eq!(units(&proposals), vec![vec![0, 2], vec![1], vec![3], vec![4]]);
    }

    #[test]
    fn a_recheck_states_the_budget_without_the_rejected_change_once() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/budget/mysql-replicas/before");
        let project = Project::open(&root, crate::project::config::Config::default()).unwrap();
        let patches = ["gunicorn-workers", "gunicorn-worker-class"].map(|id| crate::patches::by_id(id).unwrap());
        let plan = crate::engine::plan::Plan::build(&project, &patches);
        let proposals: Vec<Proposal<'_>> = plan
            .reports
            .iter()
            .flat_map(|report| report.outcomes.iter().map(move |outcome| (report.patch, outcome)))
            .filter_map(|(patch, outcome)| match outcome {
                Outcome::Change(change) => Some(Proposal { patch, change }),
                _ => None,
            })
            .collect();
        assert_eq!(proposals.len(), 2);
        let again = recheck(&project, &proposals, &HashSet::from([0]));
        assert!(again[0].is_none());
        let Some(Rechecked::Offered(switch)) = &again[1] else { panic!("{again:?}") };
        let budget: Vec<&String> = switch.assumptions.iter().filter(|a| a.contains("connection budget")).collect();
        assert_eq!(budget.len(), 1, "the plan's line replaced, not added to: {budget:#?}");
        assert!(budget[0].contains("x 3 worker(s) x 4 thread(s)") && budget[0].contains("= 84 of"), "{budget:#?}");
        let planned = proposals[1].change.assumptions.len();
        assert_eq!(switch.assumptions.len(), planned, "{:#?}", switch.assumptions);
    }

    /// Two changes, the second true only with the first: its self-check fails without it.
    struct Pair;
    static PAIR: crate::engine::patch::PatchInfo = crate::engine::patch::PatchInfo {
        id: "pair",
        quick_win: "QW0",
        why_prefix: "QW0",
        title: "a change that needs another",
        phase_1: false,
        verify: &[],
        checked_by: crate::engine::patch::RealTool::Gunicorn,
    };
    impl Patch for Pair {
        fn info(&self) -> &'static crate::engine::patch::PatchInfo {
            &PAIR
        }
        fn plan(&self, _: &Project) -> Vec<Outcome> {
            let first = Change::create("pair", "a.txt", "a\n").summary("create a.txt");
            let second = Change::create("pair", "b.txt", "b\n").summary("create b.txt");
            vec![Outcome::Change(first), Outcome::Change(second)]
        }
        fn self_check(&self, _: &Project, after: &Project, change: &Change) -> Result<Option<String>, String> {
            match change.path.to_str() {
                Some("b.txt") if !after.has_file(std::path::Path::new("a.txt")) => Err("b.txt needs a.txt".into()),
                _ => Ok(None),
            }
        }
    }

    #[test]
    fn a_change_the_recheck_no_longer_offers_is_skipped_with_the_reason() {
        let tmp = tempfile::tempdir().unwrap();
        let project = Project::open(tmp.path(), crate::project::config::Config::default()).unwrap();
        let plan = crate::engine::plan::Plan::build(&project, &[&Pair]);
        let changes: Vec<&Change> = plan.changes().collect();
        assert_eq!(changes.len(), 2, "both offered with the whole plan");
        let proposals: Vec<Proposal<'_>> =
            changes.into_iter().map(|change| Proposal { patch: &Pair, change }).collect();
        let again = recheck(&project, &proposals, &HashSet::from([0]));
        let Some(Rechecked::Skipped(why)) = &again[1] else { panic!("{again:?}") };
        assert!(why.starts_with("skipped: b.txt") && why.contains("b.txt needs a.txt"), "{why}");
        assert!(matches!(recheck(&project, &proposals, &HashSet::new())[1], Some(Rechecked::Offered(_))));
    }
}
