//! Fault injection for the tests: compiled in only with the `fault-injection` cargo feature, so
//! a release binary never reads these variables.
//!
//! Two counters. *Project writes* count the files a transaction replaces (the original hooks).
//! *Write steps* count every write an apply or a revert makes: folders created, byte copies,
//! manifest updates, staging files, renames, folder fsyncs and deletions, so a test can fail or
//! kill the process at each one in turn.

use std::cell::Cell;
use std::io;

use crate::journal::fs::Point;

/// `SCALEPATCH_FAIL_AFTER_WRITES=N`: the (N+1)th project file write of a transaction fails.
pub const FAIL_AFTER_WRITES_ENV: &str = "SCALEPATCH_FAIL_AFTER_WRITES";
/// `SCALEPATCH_CRASH_AFTER_WRITES=N`: the process is killed (SIGKILL) after N project file writes.
pub const CRASH_AFTER_WRITES_ENV: &str = "SCALEPATCH_CRASH_AFTER_WRITES";
/// `SCALEPATCH_FAIL_AT_STEP=N`: write step N (from 0) fails, once.
pub const FAIL_AT_STEP_ENV: &str = "SCALEPATCH_FAIL_AT_STEP";
/// `SCALEPATCH_FAIL_FROM_STEP=N`: every write step from N on fails (a full disk).
pub const FAIL_FROM_STEP_ENV: &str = "SCALEPATCH_FAIL_FROM_STEP";
/// `SCALEPATCH_CRASH_AT_STEP=N`: the process is killed (SIGKILL) at write step N.
pub const CRASH_AT_STEP_ENV: &str = "SCALEPATCH_CRASH_AT_STEP";
/// `SCALEPATCH_FAIL_CHOWN=1`: giving a replaced file's owner to the new file fails.
pub const FAIL_CHOWN_ENV: &str = "SCALEPATCH_FAIL_CHOWN";

/// Faults to inject.
#[derive(Debug, Clone, Copy, Default)]
pub struct Faults {
    /// Fail the project write that follows this many successful ones.
    pub fail_after_writes: Option<usize>,
    /// Kill the process after this many project writes.
    pub crash_after_writes: Option<usize>,
    /// Fail this write step (once).
    pub fail_at_step: Option<usize>,
    /// Fail every write step from this one on.
    pub fail_from_step: Option<usize>,
    /// Kill the process at this write step.
    pub crash_at_step: Option<usize>,
    /// Make `fchown` fail.
    pub fail_chown: bool,
}

impl Faults {
    /// The faults the environment asks for.
    pub fn from_env() -> Faults {
        let read = |name| std::env::var(name).ok().and_then(|value| value.trim().parse().ok());
        Faults {
            fail_after_writes: read(FAIL_AFTER_WRITES_ENV),
            crash_after_writes: read(CRASH_AFTER_WRITES_ENV),
            fail_at_step: read(FAIL_AT_STEP_ENV),
            fail_from_step: read(FAIL_FROM_STEP_ENV),
            crash_at_step: read(CRASH_AT_STEP_ENV),
            fail_chown: std::env::var_os(FAIL_CHOWN_ENV).is_some_and(|v| v == "1"),
        }
    }
}

/// The faults and the write steps counted so far.
#[derive(Debug, Default)]
pub(super) struct Injector {
    pub faults: Faults,
    steps: Cell<usize>,
}

fn kill_self() -> ! {
    // SAFETY: sends SIGKILL to this very process, as `kill -9` would.
    unsafe { libc::kill(libc::getpid(), libc::SIGKILL) };
    std::process::abort()
}

impl Injector {
    pub fn from_env() -> Injector {
        Injector { faults: Faults::from_env(), steps: Cell::new(0) }
    }

    /// Called before every write step.
    pub fn step(&self, point: Point) -> io::Result<()> {
        if point == Point::Chown {
            // Not counted: whether it happens depends on who owns the file.
            return if self.faults.fail_chown { Err(io::Error::from_raw_os_error(libc::EPERM)) } else { Ok(()) };
        }
        let step = self.steps.get();
        self.steps.set(step + 1);
        if self.faults.crash_at_step == Some(step) {
            kill_self();
        }
        if self.faults.fail_at_step == Some(step) || self.faults.fail_from_step.is_some_and(|from| step >= from) {
            return Err(io::Error::other(format!("failure injected at write step {step} ({point:?})")));
        }
        Ok(())
    }

    /// Called before the project write that follows `done` others in a transaction.
    pub fn before_project_write(&self, done: usize) -> io::Result<()> {
        if self.faults.crash_after_writes == Some(done) {
            kill_self();
        }
        if self.faults.fail_after_writes == Some(done) {
            return Err(io::Error::other(format!("failure injected by {FAIL_AFTER_WRITES_ENV}={done}")));
        }
        Ok(())
    }
}
