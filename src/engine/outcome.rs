//! What a patch says about a project: changes to review, and the reasons for everything else.

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::text::edit::Edit;
pub use crate::text::location::Location;

/// What a change does to its file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum ChangeKind {
    /// Edits against the file's text as read (BOM excluded).
    Modify { edits: Vec<Edit> },
    /// A new file (a migration, say). The path must not exist.
    Create { contents: String },
}

/// One patch's edits to one file, reviewed as a unit, explaining itself.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Change {
    /// The id of the patch that proposes it (`gunicorn-workers`, ...).
    pub patch: &'static str,
    /// The file, relative to the project root.
    pub path: PathBuf,
    #[serde(flatten)]
    pub kind: ChangeKind,
    /// One line: what the change does (`--workers 3 -> 5 in Dockerfile CMD`).
    pub summary: String,
    /// Why this edit, and why in this place (which source decides the setting).
    pub why: String,
    /// What was assumed: the CPU count and where it came from, versions found or not found.
    pub assumptions: Vec<String>,
    /// Commands that confirm the change once applied (`nginx -t`, `gunicorn --print-config`).
    pub verify: Vec<String>,
    /// The line the change starts at, for messages (1-based; 0 for created files).
    pub line: usize,
    /// Changes of one patch that carry the same key are reviewed, accepted and rejected as one
    /// unit: a model's `Meta.indexes` and the migration that creates those indexes only make
    /// sense together.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub together: Option<String>,
}

impl Change {
    /// A modification of `path` by `edits`; fill in the explanation with the builder methods.
    pub fn modify(patch: &'static str, path: impl Into<PathBuf>, edits: Vec<Edit>) -> Change {
        Change::new(patch, path.into(), ChangeKind::Modify { edits })
    }

    /// The creation of a new file at `path`.
    pub fn create(patch: &'static str, path: impl Into<PathBuf>, contents: impl Into<String>) -> Change {
        Change::new(patch, path.into(), ChangeKind::Create { contents: contents.into() })
    }

    fn new(patch: &'static str, path: PathBuf, kind: ChangeKind) -> Change {
        Change {
            patch,
            path,
            kind,
            summary: String::new(),
            why: String::new(),
            assumptions: Vec::new(),
            verify: Vec::new(),
            line: 0,
            together: None,
        }
    }

    pub fn summary(mut self, summary: impl Into<String>) -> Change {
        self.summary = summary.into();
        self
    }

    pub fn why(mut self, why: impl Into<String>) -> Change {
        self.why = why.into();
        self
    }

    pub fn assume(mut self, assumption: impl Into<String>) -> Change {
        self.assumptions.push(assumption.into());
        self
    }

    pub fn assumptions(mut self, assumptions: impl IntoIterator<Item = String>) -> Change {
        self.assumptions.extend(assumptions);
        self
    }

    pub fn verify(mut self, command: impl Into<String>) -> Change {
        self.verify.push(command.into());
        self
    }

    pub fn at_line(mut self, line: usize) -> Change {
        self.line = line;
        self
    }

    /// Ties this change to the other changes of its patch with the same key (see [`Change::together`]).
    pub fn together(mut self, key: impl Into<String>) -> Change {
        self.together = Some(key.into());
        self
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The change, unless one of its edits falls inside a template expression of `text`, the
    /// file it edits (a file rendered before it runs: the edit belongs in the template's
    /// variables), which makes it a skip saying so.
    pub fn unless_in_template(self, text: &str) -> Outcome {
        let ChangeKind::Modify { edits } = &self.kind else { return Outcome::Change(self) };
        if crate::facts::gunicorn::write::touches_template(text, edits) {
            let location = Some(Location::new(self.path.clone(), self.line));
            let reason = format!("template file: the edit ({}) would fall inside a template expression", self.summary);
            return Outcome::skipped(location, reason);
        }
        Outcome::Change(self)
    }
}

/// The answer of a patch for one target it looked at. Silence is never an answer: a patch that
/// finds nothing says [`Outcome::NotFound`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case", tag = "outcome")]
pub enum Outcome {
    /// A change to review.
    Change(Change),
    /// Already satisfied.
    Ok { location: Option<Location>, reason: String },
    /// Deliberately left alone (explicit `gzip off`, an ASGI server, a template file...).
    Skipped { location: Option<Location>, reason: String },
    /// Nothing of this patch's kind in the project.
    NotFound { reason: String },
    /// Input the patch cannot read (a syntax error, a non-UTF-8 file): nothing is written, exit 2.
    Error { location: Location, message: String },
    /// Something the user should know that is not a change (the connection budget, say).
    Warning { location: Option<Location>, message: String },
}

impl Outcome {
    pub fn ok(location: Option<Location>, reason: impl Into<String>) -> Outcome {
        Outcome::Ok { location, reason: reason.into() }
    }

    pub fn skipped(location: Option<Location>, reason: impl Into<String>) -> Outcome {
        Outcome::Skipped { location, reason: reason.into() }
    }

    pub fn not_found(reason: impl Into<String>) -> Outcome {
        Outcome::NotFound { reason: reason.into() }
    }

    pub fn error(location: Location, message: impl Into<String>) -> Outcome {
        Outcome::Error { location, message: message.into() }
    }

    pub fn warning(location: Option<Location>, message: impl Into<String>) -> Outcome {
        Outcome::Warning { location, message: message.into() }
    }

    /// Opens a change's `why` with the quick win it serves (`QW1 (worker count): ...`), so that
    /// every explanation says which quick win it belongs to; other outcomes are returned as they are.
    pub fn with_quick_win(self, quick_win: &str) -> Outcome {
        match self {
            Outcome::Change(mut change) if !change.why.starts_with("QW") => {
                change.why = format!("{quick_win}: {}", change.why);
                Outcome::Change(change)
            }
            other => other,
        }
    }

    /// The word shown in listings: change, ok, skipped, not found, error, warning.
    pub fn label(&self) -> &'static str {
        match self {
            Outcome::Change(_) => "change",
            Outcome::Ok { .. } => "ok",
            Outcome::Skipped { .. } => "skipped",
            Outcome::NotFound { .. } => "not found",
            Outcome::Error { .. } => "error",
            Outcome::Warning { .. } => "warning",
        }
    }

    /// One line for notes on stderr: `ok: gunicorn.conf.py:3: workers = 9 already >= 5`.
    pub fn describe(&self) -> String {
        let with_place = |location: &Option<Location>, text: &str| match location {
            Some(location) => format!("{location}: {text}"),
            None => text.to_owned(),
        };
        match self {
            Outcome::Change(change) => format!("{}:{}: {}", change.path.display(), change.line, change.summary),
            Outcome::Ok { location, reason } | Outcome::Skipped { location, reason } => with_place(location, reason),
            Outcome::NotFound { reason } => reason.clone(),
            Outcome::Error { location, message } => format!("{location}: {message}"),
            Outcome::Warning { location, message } => with_place(location, message),
        }
    }
}

impl From<crate::lang::python::SyntaxError> for Outcome {
    fn from(err: crate::lang::python::SyntaxError) -> Outcome {
        crate::facts::problem::Problem::from(err).into()
    }
}

impl From<crate::project::InputError> for Outcome {
    fn from(err: crate::project::InputError) -> Outcome {
        crate::facts::problem::Problem::from(err).into()
    }
}

impl From<crate::facts::problem::Problem> for Outcome {
    fn from(problem: crate::facts::problem::Problem) -> Outcome {
        use crate::facts::problem::Problem;
        match problem {
            Problem::Unreadable { location, message } => Outcome::Error { location, message },
            Problem::Template { location, reason } => Outcome::Skipped { location: Some(location), reason },
            Problem::Note { location, message } => Outcome::Warning { location, message },
        }
    }
}

impl From<crate::facts::nginx::LoadError> for Outcome {
    fn from(err: crate::facts::nginx::LoadError) -> Outcome {
        Outcome::Error { location: err.location(), message: err.to_string() }
    }
}

impl From<crate::facts::gunicorn::NotDecided> for Outcome {
    fn from(answer: crate::facts::gunicorn::NotDecided) -> Outcome {
        use crate::facts::gunicorn::NotDecided;
        match answer {
            NotDecided::Problem(problem) => problem.into(),
            NotDecided::NotWsgiGunicorn { location, why } | NotDecided::Unresolved { location, why } => {
                Outcome::skipped(Some(location), why)
            }
            NotDecided::NoStart(reason) => Outcome::not_found(reason),
        }
    }
}
