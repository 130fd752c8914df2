//! The real tools the tests check patched files with. `scripts/test` installs them: a Python
//! virtualenv at `.venv/` (Django, gunicorn, dj-database-url, django-environ, django-redis, redis,
//! psycopg) and nginx from Debian's packages. A missing tool fails the test: a check that
//! silently does not run proves nothing.

use std::path::PathBuf;

/// The virtualenv's bin folder.
pub fn venv_bin() -> PathBuf {
    let bin = super::repo_root().join(".venv/bin");
    assert!(bin.join("python").exists(), "{}/python is missing: run scripts/test, which installs the test tools", bin.display());
    bin
}

/// The virtualenv's python.
pub fn python() -> PathBuf {
    venv_bin().join("python")
}

/// The virtualenv's gunicorn.
pub fn gunicorn() -> PathBuf {
    venv_bin().join("gunicorn")
}

/// The nginx binary.
pub fn nginx() -> PathBuf {
    for candidate in ["/usr/sbin/nginx", "/usr/local/sbin/nginx"] {
        if std::path::Path::new(candidate).exists() {
            return candidate.into();
        }
    }
    panic!("nginx is not installed: run scripts/test, which installs it from Debian's packages");
}
