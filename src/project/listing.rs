//! The sorted file list and the cheap questions asked of it: the files under a folder (a range
//! of the list, found by binary search) and the files of a kind (`is_python`, `is_dockerfile`),
//! listed once per project instead of once per analysis that asks.
//!
//! On a 20,000-file tree these questions were asked dozens of times per run (every analysis and
//! again on every self-check overlay), each a pass over every path; together with sorting the
//! list by `Path`'s component-wise order, they cost as much as reading the files.

use std::cmp::Ordering;
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// A predicate on a path alone (nothing is read): what [`Kinds`] caches by.
pub type Kind = fn(&Path) -> bool;

/// `Path`'s order (component by component) computed on the bytes: a separator sorts before any
/// other byte, which is what comparing components amounts to for the normalised relative paths
/// discovery lists (no `.` components, no doubled or trailing separators). Several times faster
/// than `Path::cmp`, which parses components from both ends.
pub fn path_order(a: &Path, b: &Path) -> Ordering {
    let key = |byte: u8| if byte == b'/' { 0 } else { u16::from(byte) + 1 };
    let (a, b) = (a.as_os_str().as_encoded_bytes(), b.as_os_str().as_encoded_bytes());
    match a.iter().zip(b).position(|(x, y)| x != y) {
        Some(at) => key(a[at]).cmp(&key(b[at])),
        None => a.len().cmp(&b.len()),
    }
}

/// `Path::ends_with` (whole components) on the bytes, for normalised relative paths: `suffix`
/// ends `path` and starts it or follows a separator. `Path::ends_with` parses the components of
/// both from the end, for every file of the name asked for.
pub fn ends_with(path: &Path, suffix: &Path) -> bool {
    let (path, suffix) = (path.as_os_str().as_encoded_bytes(), suffix.as_os_str().as_encoded_bytes());
    path.ends_with(suffix) && (path.len() == suffix.len() || path[path.len() - suffix.len() - 1] == b'/')
}

/// Sorts a file list in `Path`'s order (see [`path_order`]).
pub fn sort(files: &mut [PathBuf]) {
    files.sort_unstable_by(|a, b| path_order(a, b));
    debug_assert!(files.is_sorted(), "path_order must agree with Path's order");
}

/// The files of sorted `files` under the folder `dir` (every file for the root, `""`): one
/// contiguous range, since `Path`'s order keeps a folder's files together.
pub fn under<'a>(files: &'a [PathBuf], dir: &Path) -> &'a [PathBuf] {
    let start = files.partition_point(|file| file.as_path() < dir);
    let len = files[start..].partition_point(|file| file.starts_with(dir));
    &files[start..start + len]
}

/// The files of each kind asked for, listed on first use. A kind is keyed by its function's
/// address: the same function always answers the same, and a function that happens to have two
/// addresses (inlined copies) is only listed twice.
#[derive(Default)]
pub struct Kinds {
    lists: Mutex<HashMap<usize, Listed>>,
}

/// A kind and its files.
type Listed = (Kind, Arc<[PathBuf]>);

impl Kinds {
    /// The files of sorted `files` that are of `kind`, sorted.
    pub fn of(&self, kind: Kind, files: &[PathBuf]) -> Arc<[PathBuf]> {
        if let Some((_, list)) = self.lists.lock().expect("kind lists poisoned").get(&(kind as usize)) {
            return list.clone();
        }
        let list: Arc<[PathBuf]> = files.iter().filter(|path| kind(path)).cloned().collect();
        self.lists.lock().expect("kind lists poisoned").insert(kind as usize, (kind, list.clone()));
        list
    }

    /// The lists of a project with `created` files added (an overlay): each list known so far,
    /// with the created files of its kind put in place, so an overlay asks nothing of the paths
    /// it shares with its project.
    pub fn with_created(&self, created: &[PathBuf]) -> Kinds {
        let lists = self.lists.lock().expect("kind lists poisoned");
        let lists = lists
            .iter()
            .map(|(&key, (kind, list))| {
                let added: Vec<&PathBuf> = created.iter().filter(|path| kind(path)).collect();
                if added.is_empty() {
                    return (key, (*kind, list.clone()));
                }
                let mut merged: Vec<PathBuf> = list.iter().chain(added).cloned().collect();
                sort(&mut merged);
                merged.dedup();
                (key, (*kind, merged.into()))
            })
            .collect();
        Kinds { lists: Mutex::new(lists) }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn byte_order_is_paths_order() {
        let mut paths: Vec<PathBuf> =
            ["a.b/c", "a/b", "a/b/c", "a-b", "ab", "a", "a/b.c", "a/b/c.d/e", "b", "a0", "A", ".env", "a/.x"]
                .iter()
                .map(PathBuf::from)
                .collect();
        let mut by_path = paths.clone();
        by_path.sort();
        sort(&mut paths);
        assert_eq!(paths, by_path);
    }

    #[test]
    fn ends_with_whole_components() {
        let ends = |path: &str, suffix: &str| ends_with(Path::new(path), Path::new(suffix));
        assert!(ends("src/proj/settings.py", "proj/settings.py"));
        assert!(ends("proj/settings.py", "proj/settings.py"));
        assert!(!ends("src/myproj/settings.py", "proj/settings.py"));
        assert!(!ends("settings.py", "proj/settings.py"));
        for (path, suffix) in [("a/b/c.py", "b/c.py"), ("ab/c.py", "b/c.py"), ("c.py", "c.py"), ("xc.py", "c.py")] {
            assert_eq!(ends(path, suffix), Path::new(path).ends_with(suffix), "{path} {suffix}");
        }
    }

    #[test]
    fn under_is_the_folders_range() {
        let mut files: Vec<PathBuf> =
            ["nginx/a.conf", "nginx.conf", "nginx/sub/b.conf", "nginx-old/c.conf", "app/x.py", "z"]
                .iter()
                .map(PathBuf::from)
                .collect();
        sort(&mut files);
        let names =
            |dir: &str| -> Vec<&str> { under(&files, Path::new(dir)).iter().map(|p| p.to_str().unwrap()).collect() };
        assert_eq!(names("nginx"), ["nginx/a.conf", "nginx/sub/b.conf"]);
        assert_eq!(names("nginx/sub"), ["nginx/sub/b.conf"]);
        assert_eq!(names("none"), Vec::<&str>::new());
        assert_eq!(names("").len(), files.len());
        assert_eq!(names("z"), ["z"]);
    }

    #[test]
    fn kinds_are_listed_once_and_follow_created_files() {
        fn python(path: &Path) -> bool {
            path.extension().is_some_and(|e| e == "py")
        }
        let files: Vec<PathBuf> = ["a.py", "b.txt", "c/d.py"].iter().map(PathBuf::from).collect();
        let kinds = Kinds::default();
        assert_eq!(&*kinds.of(python, &files), [PathBuf::from("a.py"), PathBuf::from("c/d.py")]);
        // Listed once: a second call answers the cached list, even for other files.
        assert_eq!(kinds.of(python, &[]).len(), 2);
        let overlay = kinds.with_created(&[PathBuf::from("b/new.py"), PathBuf::from("gunicorn.conf")]);
        let listed = overlay.of(python, &[]);
        let listed: Vec<&str> = listed.iter().map(|p| p.to_str().unwrap()).collect();
        assert_eq!(listed, ["a.py", "b/new.py", "c/d.py"]);
    }
}
