//! The connection budget, whenever a plan raises a gunicorn start's workers or threads: the
//! start's budget as written ([`Budget::as_written`]) before and after the plan. Above 80% the
//! plan warns with the numbers and the remedies; above 100% the change that pushes it over is
//! skipped with the numbers, unless `--allow-over-budget`.

use std::collections::HashMap;

use crate::engine::outcome::Change;
use crate::engine::patch::RealTool;
use crate::facts::budget::{Budget, WARN_PERCENT};
use crate::facts::gunicorn;
use crate::project::Project;

use super::{Unit, Verdicts};

/// Checks every WSGI start's budget; `overlay` builds the project with a set of units written,
/// `built` is one already built (the plan's, for the other self-checks).
///
/// Each overlay re-reads the deployment (the gunicorn facts of the patched tree), so they are
/// built once per set of units and shared by every start: a plan that raises nothing skips the
/// check, and the unit-by-unit trials that find the change pushing a start over its limit run
/// only when the whole plan does push it over.
pub fn check(
    project: &Project,
    units: &[Unit],
    verdicts: &mut Verdicts,
    overlay: &dyn Fn(&[usize]) -> Project,
    built: (Vec<usize>, Project),
) {
    if !units.iter().any(|unit| unit.checked_by == RealTool::Gunicorn) {
        return;
    }
    let mut overlays: HashMap<Vec<usize>, Project> = HashMap::from([built]);
    let mut budget_with = |chosen: Vec<usize>, index: usize| {
        let after = overlays.entry(chosen).or_insert_with_key(|chosen| overlay(chosen));
        Budget::as_written(after, index)
    };
    let starts = gunicorn::analysis(project).starts.len();
    for index in 0..starts {
        let Some(before) = Budget::as_written(project, index) else { continue };
        let surviving: Vec<usize> = (0..units.len()).filter(|&u| verdicts.offered(u)).collect();
        let Some(after) = budget_with(surviving.clone(), index) else { continue };
        if after.web() <= before.web() || !after.applies() {
            continue;
        }
        let raising: Vec<usize> =
            surviving.iter().copied().filter(|&u| units[u].checked_by == RealTool::Gunicorn).collect();
        if !after.exceeded() || project.config().allow_over_budget {
            // Nothing is skipped: each raising change notes the budget after the plan, and the
            // warning (if any) is said once, with the last of them.
            for &unit in &raising {
                verdicts.note(unit, format!("{} ({}) after this plan", after.describe(), after.share()));
            }
            if let Some(&last) = raising.last().filter(|_| after.over()) {
                verdicts.warn(last, warning(&after, project.config().allow_over_budget));
            }
            continue;
        }
        let mut kept: Vec<usize> = surviving.iter().copied().filter(|u| !raising.contains(u)).collect();
        let mut web = before.web();
        for unit in raising {
            let mut trial = kept.clone();
            trial.push(unit);
            trial.sort_unstable();
            let Some(budget) = budget_with(trial, index) else { continue };
            if budget.web() <= web {
                kept.push(unit);
                continue;
            }
            if budget.exceeded() {
                verdicts.fail(unit, over_budget(&budget));
                continue;
            }
            web = budget.web();
            kept.push(unit);
            accept(project, unit, &budget, verdicts);
        }
    }
}

/// A raising unit that stays offered: the budget after it, and the warning above 80%.
fn accept(project: &Project, unit: usize, budget: &Budget, verdicts: &mut Verdicts) {
    verdicts.note(unit, format!("{} ({}) after this plan", budget.describe(), budget.share()));
    if budget.over() {
        verdicts.warn(unit, warning(budget, project.config().allow_over_budget));
    }
}

/// Why a change that takes the budget above 100% is not offered.
fn over_budget(budget: &Budget) -> String {
    format!(
        "this change would take the database over its connection limit: {} ({}); remedies: {}; or pass --allow-over-budget",
        budget.describe(),
        budget.share(),
        budget.remedies()
    )
}

/// The warning above [`WARN_PERCENT`].
fn warning(budget: &Budget, allowed: bool) -> String {
    let limit: &str = if budget.exceeded() && allowed {
        "above 100%, offered because of --allow-over-budget: connections beyond the limit will be refused"
    } else {
        &format!("above {WARN_PERCENT}%")
    };
    format!("{} ({}, {limit}). Remedies: {}", budget.describe(), budget.share(), budget.remedies())
}

/// The changes of the units, for an overlay.
pub fn changes_of<'a>(units: &'a [Unit], chosen: &[usize]) -> Vec<&'a Change> {
    chosen.iter().flat_map(|&u| units[u].changes.iter()).collect()
}
