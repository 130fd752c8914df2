//! Choosing which proposed changes to apply: all of them (`--yes`, [`AcceptAll`]), or one by one
//! on a terminal (the command line's `Interactive`, in `src/cli/review.rs`). A review writes
//! nothing; the journal does, once the review is over.

use anyhow::Result;

use crate::engine::outcome::Change;
use crate::engine::patch::Patch;
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
}
