//! nginx-gzip and nginx-proxy-buffering: every fixture case gives its expected diff, is
//! idempotent, and the patched configuration passes the real `nginx -t` with no `[warn]` line.

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;

use scalepatch::facts::nginx::{Model, Role, model};
use scalepatch::project::Project;
use scalepatch::project::config::Config;
use scalepatch::text::edit::{Edit, apply_edits};

#[test]
fn nginx_gzip_cases() {
    run_cases("nginx-gzip");
}

#[test]
fn nginx_proxy_buffering_cases() {
    run_cases("nginx-proxy-buffering");
}

fn run_cases(patch: &str) {
    for case in common::cases(patch) {
        let applied = case.check();
        let spec = case.spec();
        if spec.expect.as_deref() == Some("error") {
            continue;
        }
        if spec.expect.as_deref() == Some("warning") {
            // A warning says that the configuration as found fails nginx -t: nginx must agree.
            let reason = spec.reason.as_deref().expect("warning cases name the message");
            let err = try_nginx_t(applied.root(), &case.label()).expect_err("nginx -t must fail as the warning says");
            assert!(err.contains(reason), "{}: nginx says otherwise:\n{err}", case.label());
            continue;
        }
        let before = case.copy();
        let label = case.label();
        nginx_t(before.path(), &format!("{label} (before)"));
        nginx_t(applied.root(), &format!("{label} (patched)"));
    }
}

/// Runs `nginx -t` on every main file of the tree at `root` (and on a minimal main file wrapping
/// each file that is only included inside http), on a checked copy where absolute include paths
/// point into the copy. Upstream host names resolve to 127.0.0.1 through a private /etc/hosts
/// (`unshare --mount`), so the files under test are checked as they are.
fn nginx_t(root: &Path, label: &str) {
    if let Err(err) = try_nginx_t(root, label) {
        panic!("{err}");
    }
}

/// [`nginx_t`], returning nginx's complaint instead of failing.
fn try_nginx_t(root: &Path, label: &str) -> Result<(), String> {
    let project = Project::open(root, Config::default()).unwrap();
    let model = model(&project);
    if model.files.is_empty() {
        return Ok(());
    }
    assert!(model.errors.is_empty(), "{label}: {:?}", model.errors);
    let check = tempfile::tempdir().unwrap();
    let copy = check.path().join("tree");
    common::copy_tree(root, &copy);
    let mut hosts = vec!["localhost".to_owned()];
    for file in &model.files {
        let rewritten = rewrite_for_check(&model, file, &copy, &mut hosts);
        std::fs::write(copy.join(&file.path), rewritten).unwrap();
    }
    let hosts_file = check.path().join("hosts");
    std::fs::write(&hosts_file, format!("127.0.0.1 {}\n", hosts.join(" "))).unwrap();
    // Debian's package creates it; the official image's nginx.conf logs there.
    std::fs::create_dir_all("/var/log/nginx").unwrap();

    let mut mains: Vec<PathBuf> = Vec::new();
    for (index, file) in model.files.iter().enumerate() {
        match file.role {
            Role::Main => mains.push(copy.join(&file.path)),
            Role::HttpInclude => {
                // Stands for the distro's nginx.conf, `gzip on;` included (Debian's says so).
                let wrapper = check.path().join(format!("main-{index}.conf"));
                let text = format!(
                    "events {{}}\nhttp {{\n    include /etc/nginx/mime.types;\n    gzip on;\n    include {};\n}}\n",
                    copy.join(&file.path).display()
                );
                std::fs::write(&wrapper, text).unwrap();
                mains.push(wrapper);
            }
            _ => {}
        }
    }
    assert!(!mains.is_empty(), "{label}: no main file and no server file to check");
    for main in mains {
        let script = format!(
            "mount --bind {} /etc/hosts && exec {} -t -c {}",
            hosts_file.display(),
            common::tools::nginx().display(),
            main.display()
        );
        let output = Command::new("unshare").args(["--mount", "sh", "-c", &script]).output().unwrap();
        let stderr = String::from_utf8_lossy(&output.stderr);
        if !output.status.success() {
            return Err(format!("{label}: nginx -t failed on {}:\n{stderr}", main.display()));
        }
        if stderr.contains("[warn]") {
            return Err(format!("{label}: nginx -t warns on {}:\n{stderr}", main.display()));
        }
    }
    Ok(())
}

/// The file's text with include paths pointing into the copy, `user` set to a user this machine
/// has, envsubst placeholders of templates filled in, and the host names it proxies to collected.
fn rewrite_for_check(
    model: &Model,
    file: &scalepatch::facts::nginx::NginxFile,
    copy: &Path,
    hosts: &mut Vec<String>,
) -> String {
    let config = &file.config;
    let mut edits = Vec::new();
    for id in config.all() {
        let name = config.name(id);
        let first = config.directive(id).args.first().copied();
        let Some(first) = first else { continue };
        let range = config.tokens()[first as usize].range();
        let value = config.arg_value(first).into_owned();
        match name {
            "include" => {
                let container = if value.starts_with('/') { value.clone() } else { format!("/etc/nginx/{value}") };
                let mut target = container.clone();
                let mut mounts: Vec<_> = model.mounts.iter().collect();
                mounts.sort_by_key(|m| std::cmp::Reverse(m.container.len()));
                for mount in mounts {
                    if container == mount.container {
                        target = copy.join(&mount.project).display().to_string();
                        break;
                    }
                    if mount.dir && container.starts_with(&format!("{}/", mount.container)) {
                        let rest = &container[mount.container.len() + 1..];
                        target = copy.join(&mount.project).join(rest).display().to_string();
                        break;
                    }
                }
                let glob = target.contains(['*', '?', '[']);
                if !glob && !Path::new(&target).exists() {
                    target = container; // a distro file (mime.types, proxy_params)
                }
                edits.push(Edit::replace(range, target));
            }
            "user" => edits.push(Edit::replace(range, "www-data")),
            "server" if config.parent(id).is_some_and(|p| config.name(p) == "upstream") => hosts.push(host_of(&value)),
            "proxy_pass" | "uwsgi_pass" => {
                let host = host_of(&value);
                if model.upstream(&host).is_none() {
                    hosts.push(host);
                }
            }
            _ => {}
        }
    }
    hosts.retain(|h| {
        !h.is_empty() && !h.starts_with('$') && !h.starts_with("unix") && h.parse::<std::net::IpAddr>().is_err()
    });
    let text = apply_edits(config.text(), &edits).unwrap();
    if file.path.to_string_lossy().ends_with(".template") { envsubst(&text) } else { text }
}

/// The host part of `http://web:8000/path` or `web:8000`.
fn host_of(address: &str) -> String {
    let rest = address.split_once("://").map_or(address, |(_, rest)| rest);
    let end = rest.find([':', '/']).unwrap_or(rest.len());
    rest[..end].to_owned()
}

/// What the official image's entrypoint does to templates: `${NAME}` -> a value.
fn envsubst(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        let Some(len) = rest[start..].find('}') else { break };
        let name = &rest[start + 2..start + len];
        out.push_str(&rest[..start]);
        out.push_str(if name.contains("PORT") { "8080" } else { "localhost" });
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

/// The check itself catches the Debian trap: `gzip on;` at the top level of a file included in
/// http, next to the distro's own `gzip on;`, fails `nginx -t`.
#[test]
#[should_panic(expected = "\"gzip\" directive is duplicate")]
fn nginx_t_catches_a_top_level_duplicate() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("conf.d")).unwrap();
    std::fs::write(dir.path().join("conf.d/app.conf"), "gzip on;\nserver {\n    listen 80;\n}\n").unwrap();
    nginx_t(dir.path(), "duplicate");
}

/// Both nginx patches planned together on every case of either: they never edit the same bytes,
/// and the result passes `nginx -t`.
#[test]
fn both_nginx_patches_together() {
    use scalepatch::engine::plan::{Plan, file_updates};
    let both = [
        scalepatch::patches::by_id("nginx-gzip").unwrap(),
        scalepatch::patches::by_id("nginx-proxy-buffering").unwrap(),
    ];
    let mut trees: Vec<(String, tempfile::TempDir)> = Vec::new();
    for case in common::cases("nginx-gzip").into_iter().chain(common::cases("nginx-proxy-buffering")) {
        if !matches!(case.spec().expect.as_deref(), Some("error" | "warning")) {
            trees.push((case.label(), case.copy()));
        }
    }
    // The bundled sample projects (fixtures/projects/*), whichever exist.
    for entry in std::fs::read_dir(common::repo_root().join("fixtures/projects")).into_iter().flatten().flatten() {
        let tmp = tempfile::tempdir().unwrap();
        common::copy_tree(&entry.path(), tmp.path());
        trees.push((format!("projects/{}", entry.file_name().to_string_lossy()), tmp));
    }
    for (label, tmp) in trees {
        let project = Project::open(tmp.path(), Config::default()).unwrap();
        let plan = Plan::build(&project, &both);
        assert!(
            !plan.has_errors(),
            "{label}: {:#?}",
            plan.reports.iter().flat_map(|r| &r.outcomes).collect::<Vec<_>>()
        );
        let changes: Vec<_> = plan.changes().collect();
        let updates = file_updates(&project, &changes).unwrap();
        for update in &updates {
            std::fs::write(tmp.path().join(&update.path), update.after_bytes()).unwrap();
        }
        nginx_t(tmp.path(), &format!("{label} (both patches)"));
    }
}
