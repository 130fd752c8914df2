//! `nginx -t` on the files nginx loads: each main file the nginx model finds (else the
//! distribution's nginx.conf, which includes `conf.d/*.conf`), with every project nginx file
//! placed where the deployment mounts or copies it ([`crate::facts::nginx::mounts`]) inside a
//! private prefix: `/etc/nginx` becomes the prefix's folder in the copied texts, and the run is
//! `nginx -t -p PREFIX -c PREFIX/etc/nginx/nginx.conf -e stderr`. In the copy only, upstream host
//! names become 127.0.0.1 (compose service names resolve only inside the deployment's network)
//! and a `user` the machine does not know is left out. A file whose place in the container is
//! not known statically is named, and nginx is not run.

use std::path::{Path, PathBuf};
use std::process::Command;

use super::{Copies, Run, Verdict, judge, on_path, run};
use crate::facts::nginx::{self, Role};
use crate::project::Project;

const SYSTEM: &str = "/etc/nginx";

/// The runs, one per main file (none when the project has no nginx files).
pub fn check(after: &Project, copies: &Copies) -> Vec<Run> {
    let model = nginx::model(after);
    if model.files.is_empty() {
        return Vec::new();
    }
    let Some(binary) = on_path("nginx") else {
        return vec![Run::new("nginx -t", Verdict::NotRun("nginx is not installed (not on PATH)".to_owned()))];
    };
    let placed = match placements(&model) {
        Ok(placed) => placed,
        Err(why) => return vec![Run::new("nginx -t", Verdict::NotRun(why))],
    };
    let mains: Vec<(PathBuf, String)> =
        placed.iter().filter(|(_, _, role)| *role == RoleKind::Main).map(|(p, c, _)| (p.clone(), c.clone())).collect();
    let mains = if mains.is_empty() {
        vec![(PathBuf::from("(the distribution's nginx.conf)"), format!("{SYSTEM}/nginx.conf"))]
    } else {
        mains
    };
    mains
        .into_iter()
        .map(|(path, container)| {
            let tool = format!("nginx -t -c {}", path.display());
            let test = |root: &Path, name: &str| match lay_out(root, &copies.scratch.join(name), &placed) {
                Ok(prefix) => nginx_t(&binary, &prefix, &container),
                Err(err) => super::Output { ok: false, stdout: String::new(), stderr: err },
            };
            let after_run = test(&copies.after, "nginx-after");
            let verdict =
                judge(|| test(&copies.before, "nginx-before"), &after_run, format!("{container} and what it includes"));
            Run::new(tool, verdict)
        })
        .collect()
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum RoleKind {
    Main,
    Other,
}

/// Every project nginx file with its container path under /etc/nginx.
fn placements(model: &nginx::Model) -> Result<Vec<(PathBuf, String, RoleKind)>, String> {
    let mut placed = Vec::new();
    for file in &model.files {
        let role = if matches!(file.role, Role::Main) { RoleKind::Main } else { RoleKind::Other };
        let container = match (file.container.first(), &file.role) {
            (Some(container), _) => container.clone(),
            (None, Role::HttpInclude) => {
                let name = file.path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
                let name = if name.ends_with(".conf") { name } else { format!("{name}.conf") };
                format!("{SYSTEM}/conf.d/{name}")
            }
            (None, _) => {
                return Err(format!(
                    "where {} lands in the nginx container is not statically known (no COPY, ADD or mount places it)",
                    file.path.display()
                ));
            }
        };
        if !container.starts_with(&format!("{SYSTEM}/")) {
            return Err(format!(
                "{} lands at {container}, outside {SYSTEM}: not placed in the private prefix",
                file.path.display()
            ));
        }
        placed.push((file.path.clone(), container, role));
    }
    Ok(placed)
}

/// Builds the private prefix for the copy at `root`: the distribution's /etc/nginx, the project's
/// files over it, `/etc/nginx` pointed into the prefix. Returns the prefix.
fn lay_out(root: &Path, prefix: &Path, placed: &[(PathBuf, String, RoleKind)]) -> Result<PathBuf, String> {
    let etc = prefix.join("etc/nginx");
    std::fs::create_dir_all(&etc).map_err(|err| format!("cannot create {}: {err}", etc.display()))?;
    copy_system(Path::new(SYSTEM), &etc);
    for (path, container, _) in placed {
        let text = std::fs::read_to_string(root.join(path)).map_err(|err| format!("{}: {err}", path.display()))?;
        let target = prefix.join(container.trim_start_matches('/'));
        if let Some(parent) = target.parent() {
            std::fs::create_dir_all(parent).map_err(|err| format!("{}: {err}", parent.display()))?;
        }
        std::fs::write(&target, text).map_err(|err| format!("{}: {err}", target.display()))?;
    }
    rewrite_tree(&etc, &etc.display().to_string());
    Ok(prefix.to_owned())
}

/// The distribution's files (mime.types, *_params, snippets), when installed.
fn copy_system(from: &Path, to: &Path) {
    let Ok(entries) = std::fs::read_dir(from) else { return };
    for entry in entries.flatten() {
        let (source, target) = (entry.path(), to.join(entry.file_name()));
        if source.is_dir() {
            let _ = std::fs::create_dir_all(&target);
            copy_system(&source, &target);
        } else if let Ok(text) = std::fs::read_to_string(&source) {
            let _ = std::fs::write(target, text);
        }
    }
}

/// Points `/etc/nginx` into the prefix, upstream host names to 127.0.0.1, and leaves out a `user`
/// the machine does not know, in every file under `etc`.
fn rewrite_tree(etc: &Path, etc_text: &str) {
    let Ok(entries) = std::fs::read_dir(etc) else { return };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            rewrite_tree(&path, etc_text);
        } else if let Ok(text) = std::fs::read_to_string(&path) {
            let text: Vec<String> = text.replace(SYSTEM, etc_text).lines().map(rewrite_line).collect();
            let _ = std::fs::write(&path, text.join("\n") + "\n");
        }
    }
}

fn rewrite_line(line: &str) -> String {
    let trimmed = line.trim_start();
    let mut words = trimmed.split_whitespace();
    let first = words.next().unwrap_or("");
    let second = words.next().unwrap_or("");
    if first == "user" && !known_user(second.trim_end_matches(';')) {
        return format!("# {line}");
    }
    let passes = matches!(first, "proxy_pass" | "uwsgi_pass" | "fastcgi_pass" | "grpc_pass");
    let upstream_server = first == "server" && !second.starts_with('{') && !second.is_empty();
    if !(passes || upstream_server) {
        return line.to_owned();
    }
    let rest = second.split_once("://").map_or(second, |(_, rest)| rest);
    let host = &rest[..rest.find([':', '/', ';']).unwrap_or(rest.len())];
    let name = !host.is_empty() && host.chars().all(|c| c.is_ascii_alphanumeric() || "-._".contains(c));
    if !name || host.parse::<std::net::IpAddr>().is_ok() || host == "localhost" {
        return line.to_owned();
    }
    let replaced = second.replacen(host, "127.0.0.1", 1);
    line.replacen(second, &replaced, 1)
}

fn known_user(name: &str) -> bool {
    std::fs::read_to_string("/etc/passwd").is_ok_and(|text| text.lines().any(|l| l.split(':').next() == Some(name)))
}

fn nginx_t(binary: &Path, prefix: &Path, container: &str) -> super::Output {
    let conf = prefix.join(container.trim_start_matches('/'));
    let mut command = Command::new(binary);
    command.arg("-t").arg("-p").arg(prefix).arg("-c").arg(conf).args(["-e", "stderr"]);
    run(&mut command)
}

#[cfg(test)]
mod tests {
    use super::rewrite_line;

    #[test]
    fn upstream_names_point_at_loopback_in_the_copy() {
        assert_eq!(rewrite_line("    server web:8000;"), "    server 127.0.0.1:8000;");
        assert_eq!(rewrite_line("  proxy_pass http://app:8000/;"), "  proxy_pass http://127.0.0.1:8000/;");
        assert_eq!(rewrite_line("  server {"), "  server {");
        assert_eq!(rewrite_line("  proxy_pass http://10.0.0.1;"), "  proxy_pass http://10.0.0.1;");
        assert_eq!(rewrite_line("user nobody-at-all-here;"), "# user nobody-at-all-here;");
    }
}
