//! The project on disk: its root, the files worth looking at, and safe, cached reads.
//!
//! Discovery lists paths only (gitignore-aware, skipping virtualenvs and vendored trees); nothing
//! is read or parsed until a patch asks for it, and each file is read at most once per run.

pub mod config;
pub mod kinds;
pub mod listing;

use std::any::{Any, TypeId};
use std::collections::HashMap;
use std::ffi::{OsStr, OsString};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use anyhow::{Context, Result};
use rayon::prelude::*;

use crate::project::config::Config;
use crate::text::source::{BOM, SourceFile};

/// Folders never worth reading: tooling state, installed packages, build output.
const SKIPPED_DIRS: &[&str] = &[
    ".git",
    ".hg",
    ".svn",
    ".scalepatch",
    "node_modules",
    ".venv",
    "venv",
    "__pycache__",
    ".tox",
    ".nox",
    ".mypy_cache",
    ".pytest_cache",
    ".ruff_cache",
    "site-packages",
    ".idea",
    ".vscode",
];

/// Files larger than this are not treated as configuration (8 MiB: the largest settings module or
/// compose file seen in real projects is well under 1 MiB). Such a file is never read whole: see
/// [`read_bounded`].
pub const MAX_FILE_SIZE: u64 = 8 * 1024 * 1024;

/// Why a file could not be used. Every message names the file.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InputError {
    #[error("{path}: cannot read: {message}")]
    Io { path: PathBuf, message: String },
    #[error("{path}:{line}: not valid UTF-8; scalepatch reads and writes UTF-8 text only")]
    NotUtf8 { path: PathBuf, line: usize },
    #[error("{path}: binary file (it contains a NUL byte); left alone")]
    Binary { path: PathBuf },
    #[error("{path}: symlink leads outside the project (to {target}); left alone")]
    SymlinkOutside { path: PathBuf, target: PathBuf },
    #[error(
        "{path}: too large ({size} bytes; scalepatch reads files of up to {MAX_FILE_SIZE} bytes, 8 MiB); not treated as configuration, left alone"
    )]
    TooLarge { path: PathBuf, size: u64 },
}

impl InputError {
    /// The file the error is about, relative to the project root.
    pub fn path(&self) -> &Path {
        match self {
            InputError::Io { path, .. }
            | InputError::NotUtf8 { path, .. }
            | InputError::Binary { path }
            | InputError::SymlinkOutside { path, .. }
            | InputError::TooLarge { path, .. } => path,
        }
    }

    /// The line the error is at (0 when it is about the whole file).
    pub fn line(&self) -> usize {
        match self {
            InputError::NotUtf8 { line, .. } => *line,
            _ => 0,
        }
    }
}

type Memo = Arc<dyn Any + Send + Sync>;

/// A Django project being planned.
pub struct Project {
    root: PathBuf,
    files: Vec<PathBuf>,
    config: Config,
    sources: RwLock<HashMap<PathBuf, Result<Arc<SourceFile>, InputError>>>,
    memos: Mutex<HashMap<TypeId, Arc<std::sync::OnceLock<Memo>>>>,
    /// Positions in `files` by file name, built on first use: lookups by name or module path
    /// suffix (`proj/settings/prod.py`) then cost one hash, not a pass over every file (on a
    /// 20,000-file tree, `Path::ends_with` over all files per settings module dominated a plan).
    by_name: std::sync::OnceLock<Arc<HashMap<OsString, Vec<usize>>>>,
    /// The files of each kind asked for ([`Project::files_of`]).
    kinds: listing::Kinds,
}

impl Project {
    /// Opens the project at `root` and lists its files (no file is read yet).
    pub fn open(root: &Path, config: Config) -> Result<Project> {
        let root = root.canonicalize().with_context(|| format!("cannot open project folder {}", root.display()))?;
        anyhow::ensure!(root.is_dir(), "{} is not a folder", root.display());
        let files = discover(&root);
        Ok(Project::with_files(root, files, config))
    }

    /// A project over an explicit list of files (relative to `root`).
    pub fn with_files(root: PathBuf, mut files: Vec<PathBuf>, config: Config) -> Project {
        listing::sort(&mut files);
        Project {
            root,
            files,
            config,
            sources: RwLock::new(HashMap::new()),
            memos: Mutex::new(HashMap::new()),
            by_name: std::sync::OnceLock::new(),
            kinds: listing::Kinds::default(),
        }
    }

    /// The project's root folder (absolute, canonical).
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The user's values (CPU count, instances).
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Every discovered file, relative to the root, sorted.
    pub fn files(&self) -> &[PathBuf] {
        &self.files
    }

    /// The files of a kind (`is_python`, `is_dockerfile`: a test of the path alone), sorted;
    /// listed once per project (and carried over to its overlays), however many analyses ask.
    pub fn files_of(&self, kind: listing::Kind) -> Arc<[PathBuf]> {
        self.kinds.of(kind, &self.files)
    }

    /// The files under the folder `dir` (every file for `""`), sorted.
    pub fn files_under(&self, dir: &Path) -> &[PathBuf] {
        listing::under(&self.files, dir)
    }

    /// Files whose path satisfies `wanted` (checked on the path alone: nothing is read). Prefer
    /// [`Project::files_of`] for a test that captures nothing: it lists once.
    pub fn files_where<'a>(&'a self, wanted: impl Fn(&Path) -> bool + 'a) -> impl Iterator<Item = &'a PathBuf> + 'a {
        self.files.iter().filter(move |path| wanted(path))
    }

    /// Files with the given file name (`Dockerfile`, `settings.py`), anywhere in the tree, sorted.
    pub fn files_named<'a>(&'a self, name: &str) -> impl Iterator<Item = &'a PathBuf> + 'a {
        self.files_with_name(OsStr::new(name))
    }

    fn files_with_name<'a>(&'a self, name: &OsStr) -> impl Iterator<Item = &'a PathBuf> + 'a {
        let by_name = self.by_name.get_or_init(|| {
            let mut by_name: HashMap<OsString, Vec<usize>> = HashMap::new();
            for (index, path) in self.files.iter().enumerate() {
                if let Some(name) = path.file_name() {
                    by_name.entry(name.to_owned()).or_default().push(index);
                }
            }
            Arc::new(by_name)
        });
        by_name.get(name).into_iter().flatten().map(|&index| &self.files[index])
    }

    /// Files whose path ends with `suffix` (whole components: `proj/settings.py` matches
    /// `src/proj/settings.py`, not `src/myproj/settings.py`), sorted.
    pub fn files_ending_with<'a>(&'a self, suffix: &'a Path) -> impl Iterator<Item = &'a PathBuf> + 'a {
        let name = suffix.file_name().unwrap_or_default();
        self.files_with_name(name).filter(move |path| listing::ends_with(path, suffix))
    }

    /// Among `candidates`, the files whose bytes contain `needle`: the cheap test that decides
    /// which files are worth parsing. See [`Project::files_matching`].
    pub fn files_containing(&self, candidates: &[PathBuf], needle: &str) -> Vec<PathBuf> {
        let finder = memchr::memmem::Finder::new(needle.as_bytes());
        self.files_matching(candidates, |bytes| finder.find(bytes).is_some())
    }

    /// Among `candidates`, the files whose bytes pass `test`, sorted; in parallel. Files are read
    /// through the same cache as [`Project::read`], so a file that several patches test and then
    /// parse comes from disk once. A file that cannot be used as text is tested on its raw bytes
    /// (when it can be read at all) and kept when it matches, so that reading it for real
    /// reports the refusal by name instead of the file being passed over in silence.
    pub fn files_matching(&self, candidates: &[PathBuf], test: impl Fn(&[u8]) -> bool + Sync) -> Vec<PathBuf> {
        let mut found: Vec<PathBuf> =
            candidates.par_iter().filter(|path| self.file_matches(path, &test)).cloned().collect();
        found.sort();
        found
    }

    /// Whether the bytes of one file pass `test`, read as [`Project::files_matching`] reads them.
    /// A file over [`MAX_FILE_SIZE`] passes without being read: it cannot be tested without
    /// reading it whole, and keeping it makes the reader that wanted it name it as too large (an
    /// input error, as for a binary file that matched) rather than pass it over in silence.
    pub fn file_matches(&self, path: &Path, test: impl Fn(&[u8]) -> bool) -> bool {
        match self.read(path) {
            Ok(source) => test(source.text.as_bytes()),
            Err(InputError::TooLarge { .. }) => true,
            Err(_) => self.read_bytes(path).is_ok_and(|bytes| test(&bytes)),
        }
    }

    /// The raw bytes of a project file that [`Project::read`] refused as text (binary, not
    /// UTF-8), for the cheap byte filters: same symlink and size rules, not cached (such files
    /// are rare, and the cache holds text only).
    pub fn read_bytes(&self, path: &Path) -> Result<Vec<u8>, InputError> {
        open_checked(&self.root, path).map(|(bytes, _)| bytes)
    }

    /// Whether `path` (relative) exists in the discovered file list.
    pub fn has_file(&self, path: &Path) -> bool {
        self.files.binary_search_by(|probe| probe.as_path().cmp(path)).is_ok()
    }

    /// Reads a file once and keeps it: UTF-8 text only, no binary files, no symlinks that lead
    /// outside the project. Every error names the file.
    pub fn read(&self, path: &Path) -> Result<Arc<SourceFile>, InputError> {
        if let Some(cached) = self.sources.read().expect("source cache poisoned").get(path) {
            return cached.clone();
        }
        let result = read_source(&self.root, path).map(Arc::new);
        self.sources.write().expect("source cache poisoned").insert(path.to_owned(), result.clone());
        result
    }

    /// The project as it would be once `after` is written: the same root, files and config, every
    /// read of one of `after`'s paths answering its new text (created files are listed too), and
    /// every other file answered from this project's cache (read once, never again). Analyses are
    /// memoised per project, so the overlay computes its own facts from the patched texts: the
    /// self-check re-reads a plan with the very analyses that made it.
    pub fn overlay(&self, after: impl IntoIterator<Item = SourceFile>) -> Project {
        let mut sources = self.sources.read().expect("source cache poisoned").clone();
        let mut files = self.files.clone();
        let mut created = Vec::new();
        for file in after {
            // Kept sorted by inserting in place: sorting the whole list again compares every path
            // component by component, for every overlay the self-check builds.
            if let Err(at) = files.binary_search(&file.path) {
                files.insert(at, file.path.clone());
                created.push(file.path.clone());
            }
            sources.insert(file.path.clone(), Ok(Arc::new(file)));
        }
        Project {
            root: self.root.clone(),
            files,
            config: self.config.clone(),
            sources: RwLock::new(sources),
            memos: Mutex::new(HashMap::new()),
            // Positions stay right when no file was created (edits only, the usual plan).
            by_name: match self.by_name.get() {
                Some(by_name) if created.is_empty() => std::sync::OnceLock::from(by_name.clone()),
                _ => std::sync::OnceLock::new(),
            },
            kinds: self.kinds.with_created(&created),
        }
    }

    /// The absolute path of a project file.
    pub fn absolute(&self, path: &Path) -> PathBuf {
        self.root.join(path)
    }

    /// Computes an analysis once per project and shares it between patches (the gunicorn facts
    /// that the database patch needs for its connection budget, for instance). Callers that ask
    /// while it is being computed wait for it.
    ///
    /// Call it from a patch's `plan` (a plain thread: the engine plans each patch on its own), never
    /// from inside a rayon task: a rayon worker blocked here could be the one the computation
    /// waits for. `compute` itself may use rayon.
    pub fn memo<T: Any + Send + Sync>(&self, compute: impl FnOnce(&Project) -> T) -> Arc<T> {
        let cell = self.memos.lock().expect("memo table poisoned").entry(TypeId::of::<T>()).or_default().clone();
        let value = cell.get_or_init(|| Arc::new(compute(self)) as Memo).clone();
        value.downcast::<T>().expect("memo stored under its own type")
    }
}

/// Lists the files under `root` that scalepatch may look at, relative to it, honouring
/// .gitignore / .ignore files (even outside a git checkout) and skipping [`SKIPPED_DIRS`].
pub fn discover(root: &Path) -> Vec<PathBuf> {
    let files = Mutex::new(Vec::new());
    ignore::WalkBuilder::new(root)
        .hidden(false)
        .require_git(false)
        .follow_links(false)
        .filter_entry(|entry| {
            !(entry.file_type().is_some_and(|t| t.is_dir()) && SKIPPED_DIRS.iter().any(|dir| entry.file_name() == *dir))
        })
        .build_parallel()
        .run(|| {
            let files = &files;
            Box::new(move |entry| {
                if let Ok(entry) = entry
                    && entry.file_type().is_some_and(|t| t.is_file() || is_symlink_worth_listing(root, entry.path(), t))
                    && let Ok(relative) = entry.path().strip_prefix(root)
                {
                    files.lock().expect("file list poisoned").push(relative.to_owned());
                }
                ignore::WalkState::Continue
            })
        });
    let mut files = files.into_inner().expect("file list poisoned");
    listing::sort(&mut files);
    files
}

/// A symlink to a file inside the project is left out: the file is listed under its own path, and
/// listing both would make a patch propose the same edit twice. A symlink that leads outside is
/// listed, so that reading it reports the refusal by name instead of silently passing it over.
fn is_symlink_worth_listing(root: &Path, path: &Path, kind: std::fs::FileType) -> bool {
    kind.is_symlink() && path.canonicalize().is_ok_and(|target| !target.starts_with(root) && target.is_file())
}

/// Reads `root/path` under the input-safety rules.
fn read_source(root: &Path, path: &Path) -> Result<SourceFile, InputError> {
    let (bytes, metadata) = open_checked(root, path)?;
    source_from_bytes(path, bytes, file_mode(&metadata))
}

/// The bytes of `root/path` and its metadata, refusing a symlink that leads outside the project
/// and a file over [`MAX_FILE_SIZE`] (read through [`read_bounded`]).
fn open_checked(root: &Path, path: &Path) -> Result<(Vec<u8>, std::fs::Metadata), InputError> {
    let absolute = root.join(path);
    let metadata = std::fs::symlink_metadata(&absolute).map_err(|err| io_error(path, &err))?;
    if metadata.file_type().is_symlink() {
        let target = absolute.canonicalize().map_err(|err| io_error(path, &err))?;
        if !target.starts_with(root) {
            return Err(InputError::SymlinkOutside { path: path.to_owned(), target });
        }
    }
    read_bounded(&absolute, path)
}

/// The one way scalepatch reads a project file whole: the size is checked first (a 1 GiB file is
/// refused without a read), then at most [`MAX_FILE_SIZE`] + 1 bytes are read, because the file
/// may have grown between the check and the read. Memory stays bounded by the limit whatever is
/// on disk. `shown` is the path the error names (relative to the project root).
pub fn read_bounded(absolute: &Path, shown: &Path) -> Result<(Vec<u8>, std::fs::Metadata), InputError> {
    use std::io::Read;
    let too_large = |size: u64| InputError::TooLarge { path: shown.to_owned(), size };
    let file = std::fs::File::open(absolute).map_err(|err| io_error(shown, &err))?;
    let metadata = file.metadata().map_err(|err| io_error(shown, &err))?;
    if metadata.len() > MAX_FILE_SIZE {
        return Err(too_large(metadata.len()));
    }
    // The size checked above bounds the capacity; `take` bounds the read.
    let mut bytes = Vec::with_capacity(metadata.len() as usize + 1);
    file.take(MAX_FILE_SIZE + 1).read_to_end(&mut bytes).map_err(|err| io_error(shown, &err))?;
    if bytes.len() as u64 > MAX_FILE_SIZE {
        let grown = std::fs::metadata(absolute).map_or(bytes.len() as u64, |now| now.len());
        return Err(too_large(grown.max(bytes.len() as u64)));
    }
    Ok((bytes, metadata))
}

/// An I/O failure on a project file, named by its project path.
fn io_error(path: &Path, err: &std::io::Error) -> InputError {
    InputError::Io { path: path.to_owned(), message: err.to_string() }
}

/// Checks and decodes raw bytes: no NUL byte, valid UTF-8 (the error names the line).
pub fn source_from_bytes(path: &Path, bytes: Vec<u8>, mode: u32) -> Result<SourceFile, InputError> {
    if memchr::memchr(0, &bytes).is_some() {
        return Err(InputError::Binary { path: path.to_owned() });
    }
    let bom = bytes.starts_with(BOM);
    let body = if bom { bytes[BOM.len()..].to_vec() } else { bytes };
    match String::from_utf8(body) {
        Ok(text) => Ok(SourceFile::new(path, text, bom, mode)),
        Err(err) => {
            let valid = err.utf8_error().valid_up_to();
            let line = 1 + err.as_bytes()[..valid].iter().filter(|&&b| b == b'\n').count();
            Err(InputError::NotUtf8 { path: path.to_owned(), line })
        }
    }
}

#[cfg(unix)]
fn file_mode(metadata: &std::fs::Metadata) -> u32 {
    use std::os::unix::fs::PermissionsExt;
    metadata.permissions().mode() & 0o7777
}

#[cfg(not(unix))]
fn file_mode(_metadata: &std::fs::Metadata) -> u32 {
    0o644
}

/// A throwaway project on disk, for the unit tests of the analyses that read real files.
#[cfg(test)]
pub(crate) fn test_project(files: &[(&str, &str)]) -> (tempfile::TempDir, Project) {
    let dir = tempfile::tempdir().unwrap();
    for (path, text) in files {
        let full = dir.path().join(path);
        std::fs::create_dir_all(full.parent().unwrap()).unwrap();
        std::fs::write(full, text).unwrap();
    }
    let project = Project::open(dir.path(), Config::default()).unwrap();
    (dir, project)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Lookups by name and by module path suffix go through the file-name index: whole
    /// components only (`proj/settings.py` is not `myproj/settings.py`), sorted, and an overlay
    /// lists the files it creates.
    #[test]
    fn files_by_name_and_by_path_suffix() {
        let (_dir, p) = test_project(&[
            ("src/proj/settings.py", ""),
            ("src/myproj/settings.py", ""),
            ("proj/settings.py", ""),
            ("proj/urls.py", ""),
        ]);
        let suffix = Path::new("proj/settings.py");
        let found: Vec<&PathBuf> = p.files_ending_with(suffix).collect();
        assert_eq!(found, [Path::new("proj/settings.py"), Path::new("src/proj/settings.py")]);
        assert_eq!(p.files_named("settings.py").count(), 3);
        assert_eq!(p.files_named("missing.py").count(), 0);
        let overlay = p.overlay([SourceFile::from_text("lib/proj/settings.py", "")]);
        assert_eq!(overlay.files_ending_with(suffix).count(), 3);
    }

    fn project(files: &[(&str, &[u8])]) -> (tempfile::TempDir, Project) {
        let dir = tempfile::tempdir().unwrap();
        for (path, bytes) in files {
            let full = dir.path().join(path);
            std::fs::create_dir_all(full.parent().unwrap()).unwrap();
            std::fs::write(full, bytes).unwrap();
        }
        let project = Project::open(dir.path(), Config::default()).unwrap();
        (dir, project)
    }

    #[test]
    fn discovery_honours_gitignore_and_skips_venvs() {
        let (_dir, project) = project(&[
            (".gitignore", b"secret/\n"),
            ("app/settings.py", b"X = 1\n"),
            ("secret/settings.py", b"X = 2\n"),
            (".venv/lib/django/conf.py", b"X = 3\n"),
            (".env", b"WEB_CONCURRENCY=4\n"),
        ]);
        let files: Vec<_> = project.files().iter().map(|p| p.to_str().unwrap()).collect();
        assert_eq!(files, [".env", ".gitignore", "app/settings.py"]);
    }

    #[test]
    fn reads_refuse_binary_and_non_utf8_naming_the_line() {
        let (_dir, project) =
            project(&[("bin.dat", b"ab\0cd"), ("latin.py", b"a = 1\nb = '\xe9'\n"), ("ok.py", b"x\n")]);
        assert_eq!(project.read(Path::new("bin.dat")).unwrap_err(), InputError::Binary { path: "bin.dat".into() });
        let err = project.read(Path::new("latin.py")).unwrap_err();
        assert_eq!(err.line(), 2);
        assert!(err.to_string().starts_with("latin.py:2: not valid UTF-8"), "{err}");
        assert_eq!(project.read(Path::new("ok.py")).unwrap().text, "x\n");
        assert_eq!(project.files_containing(project.files(), "b = "), [PathBuf::from("latin.py")]);
    }

    #[test]
    fn a_file_over_the_limit_is_named_with_its_size_and_never_read() {
        let (dir, _) = project(&[("ok.py", b"x\n")]);
        // Sparse: 1 GiB on paper, nothing on disk; reading it whole would take 1 GiB of memory.
        std::fs::File::create(dir.path().join("Dockerfile")).unwrap().set_len(1 << 30).unwrap();
        let project = Project::open(dir.path(), Config::default()).unwrap();
        let err = project.read(Path::new("Dockerfile")).unwrap_err();
        assert_eq!(err, InputError::TooLarge { path: "Dockerfile".into(), size: 1 << 30 });
        assert!(err.to_string().starts_with("Dockerfile: too large (1073741824 bytes;"), "{err}");
        assert!(matches!(project.read_bytes(Path::new("Dockerfile")), Err(InputError::TooLarge { .. })));
        // The cheap filters keep it, so that whoever wanted it names it instead of missing it.
        assert_eq!(project.files_containing(project.files(), "gunicorn"), [PathBuf::from("Dockerfile")]);
    }

    #[test]
    fn a_file_at_the_limit_is_read() {
        let (dir, project) = project(&[("big.txt", b"")]);
        std::fs::write(dir.path().join("big.txt"), vec![b'a'; MAX_FILE_SIZE as usize]).unwrap();
        assert_eq!(project.read(Path::new("big.txt")).unwrap().text.len() as u64, MAX_FILE_SIZE);
    }

    #[cfg(unix)]
    #[test]
    fn symlinks_outside_the_project_are_refused() {
        let outside = tempfile::tempdir().unwrap();
        std::fs::write(outside.path().join("nginx.conf"), "events {}\n").unwrap();
        let (dir, _) = project(&[("inside.conf", b"events {}\n")]);
        std::os::unix::fs::symlink(outside.path().join("nginx.conf"), dir.path().join("nginx.conf")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("inside.conf"), dir.path().join("alias.conf")).unwrap();
        let project = Project::open(dir.path(), Config::default()).unwrap();
        let listed: Vec<_> = project.files().iter().map(|p| p.to_str().unwrap()).collect();
        assert_eq!(listed, ["inside.conf", "nginx.conf"], "a link inside is listed once, under its target");
        let err = project.read(Path::new("nginx.conf")).unwrap_err();
        assert!(matches!(err, InputError::SymlinkOutside { .. }), "{err}");
        assert_eq!(project.read(Path::new("alias.conf")).unwrap().text, "events {}\n");
    }

    #[test]
    fn memo_computes_once() {
        let (_dir, project) = project(&[("a", b"")]);
        let calls = std::sync::atomic::AtomicUsize::new(0);
        for _ in 0..3 {
            let value = project.memo(|_| {
                calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                42u64
            });
            assert_eq!(*value, 42);
        }
        assert_eq!(calls.load(std::sync::atomic::Ordering::SeqCst), 1);
    }
}
