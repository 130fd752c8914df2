//! Choosing which proposed changes to apply: one by one on a terminal ([`Interactive`]), or all
//! of them (`--yes`, [`AcceptAll`]).
//!
//! The interactive review shows, per change, everything needed to judge it: the quick win and
//! the patch, what the change does, why there, what was assumed, and the diff of that change
//! alone. The review writes nothing; the journal does, once the review is over.

use std::io::{IsTerminal, Write};

use anyhow::{Context, Result};
use dialoguer::console::Term;
use dialoguer::theme::{ColorfulTheme, SimpleTheme, Theme};

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

/// The answers offered for each change, in menu order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    Yes,
    No,
    AllRemaining,
    SkipPatch,
    Done,
    Quit,
}

impl Choice {
    pub const MENU: [Choice; 6] =
        [Choice::Yes, Choice::No, Choice::AllRemaining, Choice::SkipPatch, Choice::Done, Choice::Quit];

    pub fn label(self) -> &'static str {
        match self {
            Choice::Yes => "yes: apply this change",
            Choice::No => "no: leave it out",
            Choice::AllRemaining => "all: apply this one and every remaining change",
            Choice::SkipPatch => "skip: leave out the rest of this patch",
            Choice::Done => "done: apply what was accepted so far, leave out the rest",
            Choice::Quit => "quit: write nothing",
        }
    }
}

/// The review on a terminal: prompts on stderr, reads keys from the terminal.
pub struct Interactive {
    term: Term,
    color: bool,
}

impl Interactive {
    /// Whether an interactive review is possible: stdin and stderr are both terminals.
    pub fn available() -> bool {
        std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
    }

    /// A reviewer on stderr; colour unless NO_COLOR (or CLICOLOR=0) says otherwise.
    pub fn new() -> Interactive {
        let color = !matches!(anstream::AutoStream::choice(&std::io::stderr()), anstream::ColorChoice::Never);
        Interactive { term: Term::stderr(), color }
    }

    /// Shows one proposal: its place in the review, the quick win and patch, what, why,
    /// assumptions, and its diff alone.
    fn show(&self, project: &Project, proposal: &Proposal<'_>, position: usize, total: usize) -> Result<()> {
        use owo_colors::OwoColorize;
        let (patch, change) = (proposal.patch, proposal.change);
        let mut out = anstream::AutoStream::new(
            std::io::stderr().lock(),
            if self.color { anstream::ColorChoice::AlwaysAnsi } else { anstream::ColorChoice::Never },
        );
        writeln!(out)?;
        writeln!(
            out,
            "{} {} {}: {}",
            format!("[{position}/{total}]").dimmed(),
            patch.quick_win().bold(),
            patch.id().bold(),
            patch.title()
        )?;
        let place = if change.line > 0 {
            format!("{}:{}", change.path.display(), change.line)
        } else {
            change.path.display().to_string()
        };
        writeln!(out, "  {} {}", place.cyan(), change.summary)?;
        if !change.why.is_empty() {
            writeln!(out, "  {} {}", "why:".bold(), change.why)?;
        }
        for assumption in &change.assumptions {
            writeln!(out, "  {} {assumption}", "assumed:".bold())?;
        }
        let diff = match crate::engine::plan::file_update(project, &[change]) {
            Ok(update) => crate::output::diff::render(&update, true),
            Err(err) => format!("(cannot show the diff: {err})\n"),
        };
        write!(out, "{diff}")?;
        out.flush()?;
        Ok(())
    }

    fn ask(&self) -> Result<Choice> {
        let labels: Vec<&str> = Choice::MENU.iter().map(|choice| choice.label()).collect();
        let theme: Box<dyn Theme> = if self.color { Box::new(ColorfulTheme::default()) } else { Box::new(SimpleTheme) };
        let picked = dialoguer::Select::with_theme(theme.as_ref())
            .with_prompt("Apply this change?")
            .items(&labels)
            .default(0)
            .report(true)
            .interact_on_opt(&self.term)
            .context("cannot read the answer from the terminal")?;
        // Esc or q in the menu means quit.
        Ok(picked.map_or(Choice::Quit, |index| Choice::MENU[index]))
    }
}

impl Default for Interactive {
    fn default() -> Self {
        Interactive::new()
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

impl Reviewer for Interactive {
    fn review(&mut self, project: &Project, proposals: &[Proposal<'_>]) -> Result<Verdict> {
        let mut accepted = Vec::new();
        let mut skipped_patches: Vec<&str> = Vec::new();
        let mut accept_rest = false;
        let units = units(proposals);
        for (position, unit) in units.iter().enumerate() {
            let patch = proposals[unit[0]].patch.id();
            if accept_rest {
                accepted.extend(unit);
                continue;
            }
            if skipped_patches.contains(&patch) {
                continue;
            }
            for &index in unit {
                self.show(project, &proposals[index], position + 1, units.len())?;
            }
            match self.ask()? {
                Choice::Yes => accepted.extend(unit),
                Choice::No => {}
                Choice::AllRemaining => {
                    accepted.extend(unit);
                    accept_rest = true;
                }
                Choice::SkipPatch => skipped_patches.push(patch),
                Choice::Done => break,
                Choice::Quit => return Ok(Verdict::Quit),
            }
        }
        accepted.sort_unstable();
        Ok(Verdict::Apply(accepted))
    }
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
