//! What an analysis could not read, or wants said: facts carry these, and each patch that reads
//! the facts turns them into its own outcomes (an error blocks the run, a template is skipped, a
//! note is a warning). Facts never build a patch's outcome themselves.

use crate::lang::python::SyntaxError;
use crate::project::InputError;
use crate::text::location::Location;

/// A problem met while reading the project.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Problem {
    /// Input that cannot be read (a syntax error, a binary or too-large file): the patch that
    /// needs it reports an error, so nothing is written.
    Unreadable { location: Location, message: String },
    /// A template (Jinja, cookiecutter...) whose text is not what production runs: left alone.
    Template { location: Location, reason: String },
    /// Something the user should know that blocks nothing.
    Note { location: Option<Location>, message: String },
}

impl Problem {
    pub fn unreadable(location: Location, message: impl Into<String>) -> Problem {
        Problem::Unreadable { location, message: message.into() }
    }

    pub fn template(location: Location, reason: impl Into<String>) -> Problem {
        Problem::Template { location, reason: reason.into() }
    }

    pub fn note(location: Option<Location>, message: impl Into<String>) -> Problem {
        Problem::Note { location, message: message.into() }
    }

    /// One line, as the outcome it becomes would print it (`path:line: what`).
    pub fn describe(&self) -> String {
        match self {
            Problem::Unreadable { location, message } => format!("{location}: {message}"),
            Problem::Template { location, reason } => format!("{location}: {reason}"),
            Problem::Note { location: Some(location), message } => format!("{location}: {message}"),
            Problem::Note { location: None, message } => message.clone(),
        }
    }
}

impl From<InputError> for Problem {
    fn from(err: InputError) -> Problem {
        Problem::Unreadable { location: Location::new(err.path(), err.line()), message: err.to_string() }
    }
}

impl From<SyntaxError> for Problem {
    fn from(err: SyntaxError) -> Problem {
        let message = format!("Python syntax error ({}); the file is left alone", err.detail);
        Problem::Unreadable { location: err.location, message }
    }
}
