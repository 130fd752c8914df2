//! `nginx -t` on a project's nginx files, placed where the case's own declaration says the
//! deployment puts them, never where scalepatch thinks they go: a wrong mapping in scalepatch is
//! then caught instead of reproduced.
//!
//! A case declares each deployment as a `[[nginx]]` table:
//!
//! ```toml
//! [[nginx]]
//! image = "official"                    # or "debian": the files around the project's
//! mounts = { "nginx/nginx.conf" = "/etc/nginx/nginx.conf", "nginx/conf.d" = "/etc/nginx/conf.d" }
//! env = { NGINX_HOST = "example.com" }  # what the official image's template rendering substitutes
//! fails = "duplicate MIME type"         # nginx -t must fail with this (a warning case)
//! ```
//!
//! The harness builds a private `/etc/nginx` (the image's files, then every mount copied over
//! them, then the official image's `templates/*.template` rendered into `conf.d/` as its
//! entrypoint does), and runs the real `nginx -t -c /etc/nginx/nginx.conf` in a private mount
//! namespace (`unshare --mount`) where that tree is bind-mounted over `/etc/nginx`, `/etc/hosts`
//! resolves the upstream host names to 127.0.0.1 and `/etc/passwd` knows the image's `nginx` user.
//! The files under test are checked byte for byte as the deployment has them.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::Command;

/// One deployment of a case's nginx files.
#[derive(Debug, Clone, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deployment {
    /// The image whose own files surround the project's.
    pub image: Image,
    /// Project path (a file or a folder) -> its path in the container, as the compose file mounts
    /// it or the Dockerfile copies it. Only paths under `/etc/nginx/` are supported.
    pub mounts: BTreeMap<String, String>,
    /// The official image's template variables (`environment:` of the compose service).
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// A message `nginx -t` must fail with: the configuration as found is already broken (the
    /// patch warns about it and leaves it so).
    pub fails: Option<String>,
}

/// The files of `/etc/nginx` before the project's are mounted.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Image {
    /// The `nginx` image of Docker Hub: its nginx.conf (`user nginx;`, `include conf.d/*.conf`,
    /// no gzip), its `conf.d/default.conf`, the distribution's mime.types and *_params.
    Official,
    /// Debian's nginx package as installed on this machine (`gzip on;`, `sites-enabled/`,
    /// `proxy_params`, `snippets/`).
    Debian,
}

/// The bundled sample (fixtures/projects/wingman) as its docker-compose.yml runs nginx: the
/// official image with `./nginx/nginx.conf` and `./nginx/conf.d` mounted. Asserts that the compose
/// file still says so, so that the declaration cannot drift from the sample.
pub fn wingman_sample() -> Deployment {
    let mounts = [("nginx/nginx.conf", "/etc/nginx/nginx.conf"), ("nginx/conf.d", "/etc/nginx/conf.d")];
    let compose =
        std::fs::read_to_string(super::repo_root().join("fixtures/projects/wingman/docker-compose.yml")).unwrap();
    for (project, container) in mounts {
        let volume = format!("- ./{project}:{container}:ro");
        assert!(compose.contains(&volume), "the sample's docker-compose.yml no longer mounts `{volume}`");
    }
    assert!(compose.contains("image: nginx:1.27"), "the sample's nginx is no longer the official image");
    Deployment {
        image: Image::Official,
        mounts: mounts.iter().map(|(p, c)| ((*p).to_owned(), (*c).to_owned())).collect(),
        env: BTreeMap::new(),
        fails: None,
    }
}

/// The official image's /etc/nginx/nginx.conf (nginx 1.27).
const OFFICIAL_NGINX_CONF: &str = r#"user  nginx;
worker_processes  auto;

error_log  /var/log/nginx/error.log notice;
pid        /var/run/nginx.pid;


events {
    worker_connections  1024;
}


http {
    include       /etc/nginx/mime.types;
    default_type  application/octet-stream;

    log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                      '$status $body_bytes_sent "$http_referer" '
                      '"$http_user_agent" "$http_x_forwarded_for"';

    access_log  /var/log/nginx/access.log  main;

    sendfile        on;
    #tcp_nopush     on;

    keepalive_timeout  65;

    #gzip  on;

    include /etc/nginx/conf.d/*.conf;
}
"#;

/// The official image's /etc/nginx/conf.d/default.conf (comments left out).
const OFFICIAL_DEFAULT_CONF: &str = "server {
    listen       80;
    listen  [::]:80;
    server_name  localhost;

    location / {
        root   /usr/share/nginx/html;
        index  index.html index.htm;
    }

    error_page   500 502 503 504  /50x.html;
    location = /50x.html {
        root   /usr/share/nginx/html;
    }
}
";

/// The files the official image ships beside nginx.conf, the same in Debian's package.
const OFFICIAL_SHARED_FILES: &[&str] = &["mime.types", "fastcgi_params", "scgi_params", "uwsgi_params"];

/// Runs `nginx -t` on the project at `root` as `deployment` places it; nginx's complaint on failure.
pub fn check(root: &Path, deployment: &Deployment, label: &str) -> Result<(), String> {
    let scratch = tempfile::tempdir().unwrap();
    let etc = scratch.path().join("etc-nginx");
    lay_out_image(deployment.image, &etc);
    for (project, container) in &deployment.mounts {
        let rest = container
            .strip_prefix("/etc/nginx/")
            .unwrap_or_else(|| panic!("{label}: mount target {container} is outside /etc/nginx/"));
        let from = root.join(project);
        assert!(from.exists(), "{label}: the declared mount source {project} does not exist");
        let to = etc.join(rest);
        if to.is_dir() {
            std::fs::remove_dir_all(&to).unwrap();
        }
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        if from.is_dir() {
            super::copy_tree(&from, &to);
        } else {
            std::fs::copy(&from, &to).unwrap();
        }
    }
    if deployment.image == Image::Official {
        render_templates(&etc, &deployment.env);
    }
    run_nginx_t(scratch.path(), &etc, label)
}

/// [`check`] that must pass, or fail with the deployment's `fails` message.
pub fn assert_check(root: &Path, deployment: &Deployment, label: &str) {
    match (check(root, deployment, label), &deployment.fails) {
        (Ok(()), None) => {}
        (Err(err), None) => panic!("{err}"),
        (Ok(()), Some(message)) => panic!("{label}: nginx -t passes, but the case says it fails with {message:?}"),
        (Err(err), Some(message)) => assert!(err.contains(message.as_str()), "{label}: nginx says otherwise:\n{err}"),
    }
}

/// The image's own /etc/nginx at `etc`.
fn lay_out_image(image: Image, etc: &Path) {
    let system = Path::new("/etc/nginx");
    assert!(
        system.join("mime.types").exists(),
        "/etc/nginx/mime.types is missing: run scripts/test, which installs nginx from Debian's packages"
    );
    match image {
        Image::Debian => super::copy_tree(system, etc),
        Image::Official => {
            std::fs::create_dir_all(etc.join("conf.d")).unwrap();
            std::fs::write(etc.join("nginx.conf"), OFFICIAL_NGINX_CONF).unwrap();
            std::fs::write(etc.join("conf.d/default.conf"), OFFICIAL_DEFAULT_CONF).unwrap();
            for name in OFFICIAL_SHARED_FILES {
                std::fs::copy(system.join(name), etc.join(name)).unwrap();
            }
        }
    }
}

/// What the official image's entrypoint does: each `templates/*.template` becomes `conf.d/*`,
/// with `${NAME}` replaced for the variables the environment defines (others stay as written).
fn render_templates(etc: &Path, env: &BTreeMap<String, String>) {
    let Ok(entries) = std::fs::read_dir(etc.join("templates")) else { return };
    for entry in entries.map(Result::unwrap) {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(output) = name.strip_suffix(".template") else { continue };
        let mut text = std::fs::read_to_string(entry.path()).unwrap();
        for (key, value) in env {
            text = text.replace(&format!("${{{key}}}"), value).replace(&format!("${key}"), value);
        }
        std::fs::write(etc.join("conf.d").join(output), text).unwrap();
    }
}

/// `nginx -t` in a private mount namespace where `etc` is /etc/nginx.
fn run_nginx_t(scratch: &Path, etc: &Path, label: &str) -> Result<(), String> {
    let hosts = scratch.join("hosts");
    std::fs::write(&hosts, format!("127.0.0.1 localhost {}\n", upstream_hosts(etc).join(" "))).unwrap();
    let passwd = scratch.join("passwd");
    let group = scratch.join("group");
    let system_passwd = std::fs::read_to_string("/etc/passwd").unwrap();
    let system_group = std::fs::read_to_string("/etc/group").unwrap();
    std::fs::write(&passwd, format!("{system_passwd}nginx:x:101:101:nginx:/nonexistent:/usr/sbin/nologin\n")).unwrap();
    std::fs::write(&group, format!("{system_group}nginx:x:101:\n")).unwrap();
    // Both images log there.
    std::fs::create_dir_all("/var/log/nginx").unwrap();
    let script = format!(
        "mount --bind {hosts} /etc/hosts && mount --bind {passwd} /etc/passwd && mount --bind {group} /etc/group \
         && mount --bind {etc} /etc/nginx && exec {nginx} -t -c /etc/nginx/nginx.conf",
        hosts = hosts.display(),
        passwd = passwd.display(),
        group = group.display(),
        etc = etc.display(),
        nginx = super::tools::nginx().display(),
    );
    let output = Command::new("unshare").args(["--mount", "sh", "-c", &script]).output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr);
    if !output.status.success() {
        return Err(format!("{label}: nginx -t failed:\n{stderr}"));
    }
    if stderr.contains("[warn]") {
        return Err(format!("{label}: nginx -t warns:\n{stderr}"));
    }
    Ok(())
}

/// Every host name the files under `etc` pass requests to (`proxy_pass http://web:8000`,
/// `server app:8000;` in an upstream), read as plain words: a name too many is harmless.
fn upstream_hosts(etc: &Path) -> Vec<String> {
    let mut hosts = Vec::new();
    for entry in ignore::WalkBuilder::new(etc).hidden(false).build().filter_map(Result::ok) {
        let Ok(text) = std::fs::read_to_string(entry.path()) else { continue };
        for statement in text.split([';', '{', '}']) {
            let mut words = statement.split_whitespace();
            let (Some(directive), Some(address)) = (words.next(), words.next()) else { continue };
            if !matches!(directive, "proxy_pass" | "uwsgi_pass" | "fastcgi_pass" | "grpc_pass" | "server") {
                continue;
            }
            let rest = address.split_once("://").map_or(address, |(_, rest)| rest);
            let host = &rest[..rest.find([':', '/']).unwrap_or(rest.len())];
            let name = !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || "-._".contains(c));
            if name && host.parse::<std::net::IpAddr>().is_err() && !hosts.iter().any(|h| h == host) {
                hosts.push(host.to_owned());
            }
        }
    }
    hosts
}
