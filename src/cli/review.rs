//! The review on a terminal, like `git add -p`: each change explains itself (quick win, patch,
//! place, what, why, assumptions) and shows its diff on top of the changes already accepted, then
//! one key decides: `y` yes, `n` no, `a` this and all remaining, `s` skip the rest of this patch,
//! `d` done (apply what was accepted), `q` quit (write nothing), `?` help. Keys are read one at a
//! time in raw mode, which is always left again (Ctrl-C included: it quits, exit 130, with the
//! terminal as it was). Long text wraps to the terminal's width.

use std::collections::HashSet;
use std::io::{IsTerminal, Write};
use std::sync::Arc;

use anyhow::{Context, Result};
use dialoguer::console::{Key, Term};
use owo_colors::OwoColorize;

use crate::engine::outcome::Change;
use crate::engine::review::{Proposal, Rechecked, Reviewer, Verdict, recheck, units};
use crate::project::Project;
use crate::text::update::FileUpdate;

/// The answers, by key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Choice {
    Yes,
    No,
    AllRemaining,
    SkipPatch,
    Done,
    Quit,
}

const HELP: &str = "y - apply this change\n\
                    n - leave it out\n\
                    a - apply this change and every remaining one\n\
                    s - leave out the rest of this patch\n\
                    d - done: apply what was accepted so far, leave out the rest\n\
                    q - quit: write nothing (Ctrl-C too)\n\
                    ? - this help";

/// The review on a terminal: text on stderr, keys from the terminal.
pub struct Interactive {
    term: Term,
    color: bool,
}

impl Interactive {
    /// Whether an interactive review is possible: stdin and stderr are both terminals.
    pub fn available() -> bool {
        std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
    }

    /// A reviewer on stderr; colour as `--color`, NO_COLOR and FORCE_COLOR say.
    pub fn new() -> Interactive {
        let color = anstream::AutoStream::choice(&std::io::stderr()) != anstream::ColorChoice::Never;
        Interactive { term: Term::stderr(), color }
    }

    fn width(&self) -> usize {
        usize::from(self.term.size().1).clamp(40, 200)
    }

    /// Shows one proposal: its place in the review, the quick win and patch, what, why,
    /// assumptions, and its diff on top of the changes accepted so far.
    fn show(
        &self,
        project: &Project,
        proposal: &Proposal<'_>,
        accepted: &[&Change],
        place: (usize, usize),
    ) -> Result<()> {
        let (patch, change) = (proposal.patch, proposal.change);
        let choice = if self.color { anstream::ColorChoice::AlwaysAnsi } else { anstream::ColorChoice::Never };
        let mut out = anstream::AutoStream::new(std::io::stderr().lock(), choice);
        let width = self.width();
        writeln!(out)?;
        let (position, total) = place;
        let header = format!("{} {}: {}", patch.quick_win().bold(), patch.id().bold(), patch.title());
        writeln!(out, "{} {header}", format!("[{position}/{total}]").dimmed())?;
        let at = if change.line > 0 {
            format!("{}:{}", change.path.display(), change.line)
        } else {
            change.path.display().to_string()
        };
        write!(out, "{}", wrap(&format!("{} {}", at.cyan(), change.summary), width, "  ", "    "))?;
        if !change.why.is_empty() {
            write!(out, "{}", wrap(&format!("{} {}", "why:".bold(), change.why), width, "  ", "    "))?;
        }
        for assumption in &change.assumptions {
            write!(out, "{}", wrap(&format!("{} {assumption}", "assumed:".bold()), width, "  ", "    "))?;
        }
        let diff = match diff_on_top(project, accepted, change) {
            Ok(update) => crate::output::diff::render(&update, true),
            Err(err) => format!("(cannot show the diff: {err})\n"),
        };
        write!(out, "{diff}")?;
        out.flush()?;
        Ok(())
    }

    /// A change the self-check no longer offers once others were rejected: said, not asked.
    fn say_skipped(&self, proposal: &Proposal<'_>, why: &str, place: (usize, usize)) -> Result<()> {
        let patch = proposal.patch;
        let mut err = std::io::stderr().lock();
        writeln!(err)?;
        writeln!(err, "[{}/{}] {} {}: {}", place.0, place.1, patch.quick_win(), patch.id(), patch.title())?;
        let text = format!("{why} (re-checked without the changes you left out)");
        write!(err, "{}", wrap(&text, self.width(), "  ", "    "))?;
        Ok(())
    }

    /// Asks until a key means something; Ctrl-C and Esc quit.
    fn ask(&self) -> Result<Choice> {
        anyhow::ensure!(self.term.is_term(), "the review needs a terminal to read keys from");
        loop {
            let prompt = "Apply this change [y,n,a,s,d,q,?]? ";
            let mut err = std::io::stderr().lock();
            write!(err, "{}", if self.color { format!("{}", prompt.blue().bold()) } else { prompt.to_owned() })?;
            err.flush()?;
            drop(err);
            let key = match self.term.read_key() {
                Ok(key) => key,
                Err(err) if err.kind() == std::io::ErrorKind::Interrupted => Key::CtrlC,
                Err(err) => return Err(err).context("cannot read the answer from the terminal"),
            };
            let choice = match key {
                Key::Char('y' | 'Y') => Some(Choice::Yes),
                Key::Char('n' | 'N') => Some(Choice::No),
                Key::Char('a' | 'A') => Some(Choice::AllRemaining),
                Key::Char('s' | 'S') => Some(Choice::SkipPatch),
                Key::Char('d' | 'D') => Some(Choice::Done),
                Key::Char('q' | 'Q' | '\u{3}' | '\u{4}') | Key::Escape | Key::CtrlC => Some(Choice::Quit),
                _ => None,
            };
            let echo = match key {
                Key::Char(c) if !c.is_control() => c.to_string(),
                Key::CtrlC => "^C".to_owned(),
                _ => String::new(),
            };
            // Whatever happened in raw mode, the cursor is shown and the line ended.
            self.term.show_cursor()?;
            writeln!(std::io::stderr(), "{echo}")?;
            match choice {
                Some(choice) => return Ok(choice),
                None => writeln!(std::io::stderr(), "{HELP}")?,
            }
        }
    }
}

impl Default for Interactive {
    fn default() -> Self {
        Interactive::new()
    }
}

/// The diff of `change` on top of the accepted changes to the same file: what accepting it adds.
fn diff_on_top(project: &Project, accepted: &[&Change], change: &Change) -> Result<FileUpdate> {
    let same_file: Vec<&Change> = accepted.iter().copied().filter(|c| c.path == change.path).collect();
    let mut with_this = same_file.clone();
    with_this.push(change);
    let update = crate::engine::plan::file_update(project, &with_this)?;
    if same_file.is_empty() {
        return Ok(update);
    }
    let base = crate::engine::plan::file_update(project, &same_file)?;
    let (bom, mode) = (update.before.as_ref().is_some_and(|b| b.bom), update.mode());
    let before = crate::text::source::SourceFile::new(update.path.clone(), base.after, bom, mode);
    Ok(FileUpdate { before: Some(Arc::new(before)), ..update })
}

/// `text` wrapped at spaces to `width` columns (ANSI colour codes take none), its first line after
/// `first`, the others after `rest`; a word longer than a line stays whole.
fn wrap(text: &str, width: usize, first: &str, rest: &str) -> String {
    let visible = |s: &str| anstream::adapter::strip_str(s).to_string().chars().count();
    let mut out = String::new();
    let mut line = first.to_owned();
    let mut empty = true;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if !empty && visible(&line) + 1 + visible(word) > width {
            out.push_str(&line);
            out.push('\n');
            line = rest.to_owned();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(&line);
    out.push('\n');
    out
}

/// While the review runs, Ctrl-C outside the key read (the terminal is not in raw mode then, so it
/// is a SIGINT: while the diff is drawn, or just before a key is read) quits the same way: cursor
/// shown, `quit: nothing was written`, exit 130. Nothing is written before the review ends, so
/// ending there is safe; the previous handler is put back when the review is over.
struct QuitOnInterrupt {
    previous: libc::sigaction,
}

extern "C" fn quit_on_interrupt(_signal: libc::c_int) {
    const MESSAGE: &[u8] = b"\x1b[?25h\nquit: nothing was written\n";
    // Only async-signal-safe calls: write(2) and _exit(2).
    unsafe {
        libc::write(libc::STDERR_FILENO, MESSAGE.as_ptr().cast(), MESSAGE.len());
        libc::_exit(130);
    }
}

impl QuitOnInterrupt {
    fn install() -> QuitOnInterrupt {
        // SAFETY: sigaction with a zeroed struct, an empty mask and a handler that only makes
        // async-signal-safe calls; the previous action is kept to be restored.
        unsafe {
            let mut action: libc::sigaction = std::mem::zeroed();
            action.sa_sigaction = quit_on_interrupt as *const () as libc::sighandler_t;
            libc::sigemptyset(&mut action.sa_mask);
            let mut previous: libc::sigaction = std::mem::zeroed();
            libc::sigaction(libc::SIGINT, &action, &mut previous);
            QuitOnInterrupt { previous }
        }
    }
}

impl Drop for QuitOnInterrupt {
    fn drop(&mut self) {
        // SAFETY: puts back the action saved by `install`.
        unsafe {
            libc::sigaction(libc::SIGINT, &self.previous, std::ptr::null_mut());
        }
    }
}

impl Reviewer for Interactive {
    fn review(&mut self, project: &Project, proposals: &[Proposal<'_>]) -> Result<Verdict> {
        let _interrupt = QuitOnInterrupt::install();
        let mut accepted: Vec<usize> = Vec::new();
        let mut rejected: HashSet<usize> = HashSet::new();
        // The self-check again after each rejection: what the changes still to come assume.
        let mut rechecked: Option<Vec<Option<Rechecked>>> = None;
        let mut accept_rest = false;
        let units = units(proposals);
        for (position, unit) in units.iter().enumerate() {
            let patch = proposals[unit[0]].patch.id();
            if rejected.contains(&unit[0]) {
                continue;
            }
            let (offered, skipped) = current(proposals, rechecked.as_deref(), unit);
            if let Some(why) = skipped {
                rejected.extend(unit);
                self.say_skipped(&proposals[unit[0]], &why, (position + 1, units.len()))?;
                continue;
            }
            if accept_rest {
                accepted.extend(unit);
                continue;
            }
            let on_top: Vec<&Change> = accepted.iter().map(|&i| proposals[i].change).collect();
            for (&index, change) in unit.iter().zip(&offered) {
                let shown = Proposal { patch: proposals[index].patch, change };
                self.show(project, &shown, &on_top, (position + 1, units.len()))?;
            }
            let rejections = rejected.len();
            match self.ask()? {
                Choice::Yes => accepted.extend(unit),
                Choice::No => rejected.extend(unit),
                Choice::AllRemaining => {
                    accepted.extend(unit);
                    accept_rest = true;
                }
                Choice::SkipPatch => {
                    let rest = units[position..].iter().filter(|u| proposals[u[0]].patch.id() == patch);
                    rejected.extend(rest.flatten());
                }
                Choice::Done => break,
                Choice::Quit => return Ok(Verdict::Quit),
            }
            if rejected.len() > rejections && position + 1 < units.len() {
                rechecked = Some(recheck(project, proposals, &rejected));
            }
        }
        accepted.sort_unstable();
        Ok(Verdict::Apply(accepted))
    }
}

/// A unit's changes as they stand now: as planned until a rejection, then as re-checked without
/// the rejected changes; with the self-check's reason when it is no longer offered.
fn current(
    proposals: &[Proposal<'_>],
    rechecked: Option<&[Option<Rechecked>]>,
    unit: &[usize],
) -> (Vec<Change>, Option<String>) {
    let mut changes = Vec::new();
    for &index in unit {
        match rechecked.and_then(|all| all[index].as_ref()) {
            Some(Rechecked::Skipped(why)) => return (Vec::new(), Some(why.clone())),
            Some(Rechecked::Offered(change)) => changes.push(change.clone()),
            None => changes.push(proposals[index].change.clone()),
        }
    }
    (changes, None)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wrapping_keeps_every_word_once_and_indents_the_rest() {
        let text = "one two three four five six seven eight nine ten eleven twelve";
        let wrapped = wrap(text, 20, "  ", "    ");
        assert!(wrapped.lines().all(|line| line.chars().count() <= 20), "{wrapped}");
        let words: Vec<&str> = wrapped.split_whitespace().collect();
        assert_eq!(words.join(" "), text, "nothing repeated, nothing lost");
        assert!(wrapped.lines().skip(1).all(|line| line.starts_with("    ")), "{wrapped}");
        assert_eq!(wrap("averyveryverylongword x", 10, "", ""), "averyveryverylongword\nx\n");
    }
}
