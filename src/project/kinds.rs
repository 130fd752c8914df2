//! What kind of file a path is: one set of predicates, by name and (where a name cannot say) by
//! content, shared by every analysis, so that a `Containerfile` is a Dockerfile for the gunicorn
//! analysis and for nginx's mounts alike. Also the one normaliser of project-relative paths.

use std::path::{Component, Path, PathBuf};

/// The file name of `path` (`""` when it has none or it is not UTF-8).
///
/// Called for every file by every name predicate, so the common case (a relative path ending in a
/// plain name, as discovery lists them) is a byte search for the last `/`, not `Path::file_name`'s
/// component parsing and a UTF-8 check of the whole path; anything else goes through
/// `Path::file_name`.
pub fn name_of(path: &Path) -> &str {
    let bytes = path.as_os_str().as_encoded_bytes();
    let name = &bytes[memchr::memrchr(b'/', bytes).map_or(0, |slash| slash + 1)..];
    if !name.is_empty() && name != b"." && name != b".." {
        return std::str::from_utf8(name).unwrap_or("");
    }
    path.file_name().and_then(|n| n.to_str()).unwrap_or("")
}

/// The name of the folder that holds `path` (`""` at the root), by the same byte search as
/// [`name_of`].
pub fn folder_name(path: &Path) -> &str {
    let bytes = path.as_os_str().as_encoded_bytes();
    match memchr::memrchr(b'/', bytes) {
        Some(slash) => name_of(Path::new(std::str::from_utf8(&bytes[..slash]).unwrap_or(""))),
        None => "",
    }
}

/// The project template folder `path` lies in, if any: a folder whose name is a template
/// expression (cookiecutter's `{{cookiecutter.project_slug}}`, copier's `{{ project_name }}`), which
/// is rendered into a new project before anything in it runs.
pub fn template_folder(path: &Path) -> Option<&Path> {
    path.parent()?.ancestors().find(|dir| {
        dir.file_name().and_then(|name| name.to_str()).is_some_and(|name| name.contains("{{") && name.contains("}}"))
    })
}

/// A Python source file (`*.py`), by its name: what `path.extension() == "py"` says, through
/// [`name_of`]'s fast path (it runs over every file of the project).
pub fn is_python(path: &Path) -> bool {
    let name = name_of(path);
    name.len() > ".py".len() && name.ends_with(".py")
}

/// A Dockerfile: `Dockerfile`, `Containerfile`, `Dockerfile.prod`, `Dockerfile-prod`,
/// `web.dockerfile`, `web.Dockerfile` (a lower-case `dockerfile` too, as Docker accepts it on case-insensitive
/// file systems and people commit it so).
pub fn is_dockerfile(path: &Path) -> bool {
    let name = name_of(path);
    name == "Dockerfile"
        || name == "dockerfile"
        || name == "Containerfile"
        || name.starts_with("Dockerfile.")
        || name.starts_with("Dockerfile-")
        || name.starts_with("Containerfile.")
        || name.ends_with(".dockerfile")
        || name.ends_with(".Dockerfile")
}

/// A YAML file by its extension.
pub fn is_yaml(path: &Path) -> bool {
    let name = name_of(path);
    name.ends_with(".yml") || name.ends_with(".yaml")
}

/// A compose file by name: `docker-compose*.yml`, `compose*.yaml`.
pub fn is_compose_name(path: &Path) -> bool {
    let name = name_of(path);
    (name.starts_with("docker-compose") || name.starts_with("compose")) && is_yaml(path)
}

/// Whether YAML text declares compose services at the top level (`services:` at column 0):
/// compose files named for their environment (`production.yml`, `local.yml`, as
/// cookiecutter-django did) are known by this.
pub fn declares_services(bytes: &[u8]) -> bool {
    bytes.starts_with(b"services:") || memchr::memmem::find(bytes, b"\nservices:").is_some()
}

/// A compose file: by name, or a YAML file whose text declares services.
pub fn is_compose(path: &Path, text: &str) -> bool {
    is_yaml(path) && (is_compose_name(path) || declares_services(text.as_bytes()))
}

/// A Procfile (`Procfile`, `Procfile.dev`); `Procfile.sh` is the script a Procfile line runs.
pub fn is_procfile(path: &Path) -> bool {
    let name = name_of(path);
    name == "Procfile" || (name.starts_with("Procfile.") && !name.ends_with(".sh") && !name.ends_with(".bash"))
}

/// Whether a file's first line is a POSIX-shell shebang (`#!/bin/sh`, `#!/usr/bin/env bash`):
/// a script whatever its name.
pub fn has_shell_shebang(bytes: &[u8]) -> bool {
    let first = bytes.split(|&b| b == b'\n').next().unwrap_or(&[]);
    let Some(command) = first.strip_prefix(b"#!") else { return false };
    let command = String::from_utf8_lossy(command);
    let mut words = command.split_whitespace();
    let program = words.next().unwrap_or("");
    let program = if program.ends_with("/env") { words.find(|w| !w.starts_with('-')).unwrap_or("") } else { program };
    matches!(program.rsplit('/').next(), Some("sh" | "bash" | "dash" | "ash" | "zsh" | "ksh"))
}

/// `a/./b/../c` -> `a/c`, relative to the project root; `None` when the path is absolute or
/// climbs out of the project (a `../` past the root is never silently dropped).
pub fn normalize(path: &Path) -> Option<PathBuf> {
    let mut out = PathBuf::new();
    for part in path.components() {
        match part {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    return None;
                }
            }
            Component::Normal(name) => out.push(name),
            Component::RootDir | Component::Prefix(_) => return None,
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fast path answers what `Path::file_name` answers, for every shape a path may take.
    #[test]
    fn name_of_agrees_with_file_name() {
        for path in [
            "Dockerfile",
            "a/b/Procfile",
            "a/b/",
            "a/.",
            "a/..",
            "..",
            "/",
            "",
            "./x",
            "a//b",
            "/abs/compose.yml",
            "é/ü.py",
            ".py",
            "a/.py",
            "a.b.py",
            "py",
        ] {
            let path = Path::new(path);
            assert_eq!(name_of(path), path.file_name().and_then(|n| n.to_str()).unwrap_or(""), "{path:?}");
            assert_eq!(is_python(path), path.extension().is_some_and(|e| e == "py"), "{path:?}");
            let folder = path.parent().and_then(|p| p.file_name()).and_then(|n| n.to_str()).unwrap_or("");
            // Discovered files end in a plain name; `a/.`, `a/..` and `a/b/` are not files.
            let text = path.to_string_lossy();
            if !text.ends_with('/') && !text.ends_with("/.") && !text.ends_with("..") && text != "." {
                assert_eq!(folder_name(path), folder, "{path:?}");
            }
        }
    }

    #[test]
    fn dockerfiles_by_every_common_name() {
        for name in [
            "Dockerfile",
            "Containerfile",
            "dockerfile",
            "Dockerfile.prod",
            "Dockerfile-prod",
            "web.dockerfile",
            "web.Dockerfile",
        ] {
            assert!(is_dockerfile(Path::new(name)), "{name}");
        }
        assert!(!is_dockerfile(Path::new("docker-compose.yml")));
    }

    #[test]
    fn procfiles_and_shell_shebangs() {
        assert!(is_procfile(Path::new("Procfile.dev")));
        assert!(!is_procfile(Path::new("Procfile.sh")));
        assert!(has_shell_shebang(b"#!/usr/bin/env bash\nexec gunicorn"));
        assert!(has_shell_shebang(b"#!/bin/sh -e\n"));
        assert!(!has_shell_shebang(b"#!/usr/bin/env python3\n"));
        assert!(!has_shell_shebang(b"gunicorn app\n"));
    }

    #[test]
    fn compose_by_name_or_services() {
        assert!(is_compose(Path::new("docker-compose.prod.yml"), ""));
        assert!(is_compose(Path::new("production.yml"), "version: '3'\nservices:\n  web: {}\n"));
        assert!(!is_compose(Path::new("k8s/web.yaml"), "kind: Deployment\n"));
        assert!(!is_compose(Path::new("compose.txt"), "services:\n"));
    }

    #[test]
    fn normalize_never_climbs_out() {
        assert_eq!(normalize(Path::new("a/./b/../c")), Some(PathBuf::from("a/c")));
        assert_eq!(normalize(Path::new("../x")), None);
        assert_eq!(normalize(Path::new("a/../../x")), None);
        assert_eq!(normalize(Path::new("/etc/passwd")), None);
    }
}
