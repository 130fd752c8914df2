//! The self-check of nginx changes before they are offered. The configuration as the changes
//! leave it is parsed again in memory and its includes are expanded through the same mounts, then:
//! no directive the changes add is repeated in its context where nginx forbids it (`"gzip"
//! directive is duplicate`, fatal), every added directive is allowed where it is, an added
//! upstream `keepalive` comes after the balancing method, and the proxy buffer sizes in effect in
//! every server still pass nginx's merge checks ([`super::buffers`]). A change that fails is not
//! offered. A change to a configuration that only development uses is not offered either: it
//! would be reported as a win that production never sees.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::lang::nginx;
use crate::lang::nginx::edit::merge_inserts;
use crate::text::edit::{Edit, apply_edits};
use crate::text::source::SourceFile;

use super::buffers::{BufferSet, first_violation};
use super::mounts::shown;
use super::proxy::balancing_method;
use super::query::blocks_within;
use super::{BlockRef, DirRef, Model, NginxFile, Role};
use crate::text::location::Location;

/// Directives nginx accepts once per context: their handlers (`ngx_conf_set_flag_slot`,
/// `_num_slot`, `_size_slot`, `_msec_slot`, `_sec_slot`, `_bufs_slot`, `_enum_slot`, `_off_slot`,
/// and custom ones that check "already set") return "is duplicate". Source: the `ngx_command_t`
/// tables of nginx 1.31.5 (`src/http/modules/ngx_http_gzip_filter_module.c`,
/// `ngx_http_proxy_module.c`, `ngx_http_core_module.c`, `ngx_http_upstream_keepalive_module.c`,
/// `src/event/ngx_event.c`), domain.md 4.4, and nginx 1.22.1 on this machine. Repeating is
/// accepted for `gzip_types` (a list; a repeated type only warns), `gzip_proxied` (a bitmask),
/// `proxy_set_header` and `add_header` (arrays), `include`, `server`, `location`.
const ONCE_PER_CONTEXT: &[&str] = &[
    "gzip",
    "gzip_vary",
    "gzip_comp_level",
    "gzip_min_length",
    "gzip_buffers",
    "gzip_http_version",
    "sendfile",
    "tcp_nopush",
    "tcp_nodelay",
    "proxy_buffering",
    "proxy_request_buffering",
    "proxy_buffer_size",
    "proxy_buffers",
    "proxy_busy_buffers_size",
    "proxy_temp_file_write_size",
    "proxy_max_temp_file_size",
    "proxy_http_version",
    "proxy_connect_timeout",
    "proxy_send_timeout",
    "proxy_read_timeout",
    "client_body_buffer_size",
    "client_max_body_size",
    "keepalive",
    "keepalive_timeout",
    "keepalive_requests",
    "keepalive_time",
    "server_tokens",
    "expires",
    "etag",
    "types_hash_max_size",
    "default_type",
    "ssl_prefer_server_ciphers",
    "worker_connections",
    "worker_processes",
];

/// What the http block of a main file outside the project sets (Debian's and the official
/// image's nginx.conf, both possible): in the same context as the top level of a conf.d file.
const IMAGE_HTTP: &[&str] = &[
    "sendfile",
    "tcp_nopush",
    "types_hash_max_size",
    "default_type",
    "ssl_prefer_server_ciphers",
    "gzip",
    "keepalive_timeout",
];

/// Where the directives the patches add may appear (the `NGX_HTTP_*_CONF` flags of their
/// commands); a directive not listed is not checked.
fn allowed(name: &str) -> Option<&'static [&'static str]> {
    const HTTP_LEVELS: &[&str] = &["http", "server", "location", "if"];
    match name {
        "keepalive" => Some(&["upstream"]),
        _ if name.starts_with("gzip") || name.starts_with("proxy_") || name == "client_body_buffer_size" => {
            Some(HTTP_LEVELS)
        }
        _ => None,
    }
}

/// One proposed change: the edits to one nginx file of the model.
pub struct Proposal {
    pub path: PathBuf,
    pub edits: Vec<Edit>,
}

/// The verdict on each proposal, in order: what was checked (one assumption line), or why it is
/// not offered. Failing proposals are dropped and the rest checked again without them, so a
/// verdict never depends on a change that is not offered.
pub fn check_all(model: &Model, proposals: &[Proposal]) -> Vec<Result<String, String>> {
    let mut verdicts: Vec<Option<Result<String, String>>> = vec![None; proposals.len()];
    for (index, proposal) in proposals.iter().enumerate() {
        let Some(file) = model.position(&proposal.path) else { continue };
        if let Some(why) = model.dev_only(file).or_else(|| model.unplaced(file)) {
            verdicts[index] = Some(Err(why));
        }
    }
    loop {
        let open: Vec<usize> = (0..proposals.len()).filter(|&i| verdicts[i].is_none()).collect();
        if open.is_empty() {
            break;
        }
        let round = check_round(model, proposals, &open);
        let failed = round.iter().any(|(_, verdict)| verdict.is_err());
        for (index, verdict) in round {
            if verdict.is_err() || !failed {
                verdicts[index] = Some(verdict);
            }
        }
    }
    verdicts.into_iter().map(|v| v.expect("every proposal is judged")).collect()
}

/// The verdicts of the proposals `open`, applied together.
fn check_round(model: &Model, proposals: &[Proposal], open: &[usize]) -> Vec<(usize, Result<String, String>)> {
    let mut by_file: BTreeMap<PathBuf, Vec<Edit>> = BTreeMap::new();
    // Where each proposal's edits start in its file's list (inserts at one offset keep this order).
    let mut first_edit = BTreeMap::new();
    for &i in open {
        let list = by_file.entry(proposals[i].path.clone()).or_default();
        first_edit.insert(i, list.len());
        list.extend(proposals[i].edits.iter().cloned());
    }
    let after = match model.with_edits(&by_file) {
        Ok(after) => after,
        Err(why) => return open.iter().map(|&i| (i, Err(why.clone()))).collect(),
    };
    let lines = Lines { before: model, after: &after, edits: &by_file };
    let new_buffer_failures = buffer_regressions(&lines);
    open.iter()
        .map(|&i| {
            let added = added_spans(&by_file[&proposals[i].path], first_edit[&i], proposals[i].edits.len());
            (i, check_one(&lines, &proposals[i].path, &added, &new_buffer_failures))
        })
        .collect()
}

/// The byte spans of the edited text that the edits `all[first..first + count]` inserted: each
/// moves by what the edits before it added (at one offset, those listed earlier come first).
fn added_spans(all: &[Edit], first: usize, count: usize) -> Vec<(usize, usize)> {
    (first..first + count)
        .map(|k| {
            let edit = &all[k];
            let shift: isize = all
                .iter()
                .enumerate()
                .filter(|&(j, other)| {
                    other.range.start < edit.range.start || (other.range.start == edit.range.start && j < k)
                })
                .map(|(_, other)| other.replacement.len() as isize - other.range.len() as isize)
                .sum();
            let start = (edit.range.start as isize + shift) as usize;
            (start, start + edit.replacement.len())
        })
        .collect()
}

/// One proposal against the configuration as all the open ones leave it.
fn check_one(
    lines: &Lines,
    path: &Path,
    added: &[(usize, usize)],
    buffer_failures: &[(Vec<BlockRef>, String)],
) -> Result<String, String> {
    let after = lines.after;
    let file = after.position(path).ok_or_else(|| format!("{} is not an nginx file of the project", path.display()))?;
    let config = after.config(file);
    let is_new = |dir: DirRef| {
        dir.file == file && {
            let at = config.start(dir.id);
            added.iter().any(|&(start, end)| start <= at && at < end)
        }
    };
    let mut levels: BTreeSet<BlockRef> = BTreeSet::new();
    for &(start, end) in added {
        let block = BlockRef { file, scope: innermost_block(config, start + (end - start) / 2) };
        levels.extend(after.levels_of_block(block, 0));
    }
    for &level in &levels {
        lines.no_duplicate(level, &is_new)?;
        lines.allowed_here(level, &is_new)?;
    }
    for (blocks, message) in buffer_failures {
        if blocks.iter().any(|b| levels.contains(b)) {
            return Err(message.clone());
        }
    }
    let named: Vec<String> = levels.iter().map(|&level| lines.level_label(level)).collect();
    Ok(format!(
        "self-check: no duplicate directive in {} with includes expanded; each added directive is allowed there; \
         proxy buffer sizes pass nginx's checks in every server",
        named.join(", ")
    ))
}

/// The innermost block of `config` whose braces enclose `offset` (`None`: the top level).
fn innermost_block(config: &nginx::Config, offset: usize) -> Option<nginx::DirId> {
    config
        .all()
        .filter(|&id| {
            let (Some(open), Some(close)) = (config.open_brace(id), config.close_brace(id)) else { return false };
            open < offset && offset <= close
        })
        .max_by_key(|&id| config.open_brace(id))
}

/// The servers whose proxy buffers pass nginx's merge checks before the changes and fail after,
/// with their levels (to find the change responsible) and nginx's message.
fn buffer_regressions(lines: &Lines) -> Vec<(Vec<BlockRef>, String)> {
    let (before, after) = (lines.before, lines.after);
    let passed: Vec<bool> = before
        .http_servers()
        .into_iter()
        .map(|s| first_violation(before, &blocks_within(before, s), &BufferSet::NGINX_DEFAULT).is_none())
        .collect();
    let mut out = Vec::new();
    for (index, server) in after.http_servers().into_iter().enumerate() {
        let blocks = blocks_within(after, server);
        let Some((block, message)) = first_violation(after, &blocks, &BufferSet::NGINX_DEFAULT) else { continue };
        if passed.get(index).copied().unwrap_or(true) {
            let levels: BTreeSet<BlockRef> = blocks.iter().flat_map(|&b| after.levels(b)).collect();
            let text = format!(
                "the proxy buffer sizes at {} would fail nginx's check: {message}",
                after.block_location(block)
            );
            out.push((levels.into_iter().collect(), text));
        }
    }
    out
}

/// The configuration before and after the edits; messages name lines as the user's files have
/// them now, before the edits.
struct Lines<'a> {
    before: &'a Model,
    after: &'a Model,
    edits: &'a BTreeMap<PathBuf, Vec<Edit>>,
}

impl Lines<'_> {
    /// The line, in the file before the edits, of a byte offset of the edited text.
    fn line_before(&self, file: usize, offset: usize) -> usize {
        let path = &self.after.file(file).path;
        let mut edits: Vec<&Edit> = self.edits.get(path).into_iter().flatten().collect();
        edits.sort_by_key(|edit| edit.range.start);
        let shift: isize = edits.into_iter().fold(0, |shift, edit| {
            let delta = edit.replacement.len() as isize - edit.range.len() as isize;
            if (edit.range.start as isize + shift) < offset as isize { shift + delta } else { shift }
        });
        let index = self.before.position(path).unwrap_or(file);
        self.before.file(index).source.line_of((offset as isize - shift).max(0) as usize)
    }

    fn location(&self, dir: DirRef) -> Location {
        let at = self.after.config(dir.file).start(dir.id);
        Location::new(self.after.file(dir.file).path.clone(), self.line_before(dir.file, at))
    }

    fn block_location(&self, block: BlockRef) -> Location {
        match block.scope {
            Some(id) => self.location(DirRef { file: block.file, id }),
            None => Location::new(self.after.file(block.file).path.clone(), 0),
        }
    }

    /// Fails when a directive that `is_new` says was added appears twice at `level`, counting the
    /// http block of an nginx.conf outside the project for a conf.d file's top level.
    fn no_duplicate(&self, level: BlockRef, is_new: &dyn Fn(DirRef) -> bool) -> Result<(), String> {
        let mut found = Vec::new();
        self.after.directives_at(level, &mut found, 0);
        let outside = level.scope.is_none() && self.after.file(level.file).role == Role::HttpInclude;
        for dir in found.iter().copied().filter(|&d| is_new(d)) {
            let name = self.after.config(dir.file).name(dir.id);
            if !ONCE_PER_CONTEXT.contains(&name) {
                continue;
            }
            let same: Vec<DirRef> =
                found.iter().copied().filter(|&d| self.after.config(d.file).name(d.id) == name).collect();
            let image = outside && IMAGE_HTTP.contains(&name);
            if same.len() > 1 || image {
                let other = same.iter().find(|&&d| d != dir).map_or_else(
                    || "the http block of the distro's or image's nginx.conf".to_owned(),
                    |&d| format!("`{}` at {}", self.after.describe(d), self.location(d)),
                );
                return Err(format!(
                    "`{name}` would appear twice in {} with includes expanded (already {other}): nginx refuses to \
                     start (\"{name}\" directive is duplicate)",
                    self.level_label(level)
                ));
            }
        }
        Ok(())
    }

    /// Fails when an added directive is not allowed in the context of `level`, or an added
    /// upstream `keepalive` comes before the balancing method.
    fn allowed_here(&self, level: BlockRef, is_new: &dyn Fn(DirRef) -> bool) -> Result<(), String> {
        let Some(context) = self.after.context(level) else { return Ok(()) };
        let mut found = Vec::new();
        self.after.directives_at(level, &mut found, 0);
        for dir in found.into_iter().filter(|&d| is_new(d)) {
            let name = self.after.config(dir.file).name(dir.id);
            if allowed(name).is_some_and(|contexts| !contexts.contains(&context.as_str())) {
                return Err(format!(
                    "`{name}` is not allowed in {} (\"{name}\" directive is not allowed here)",
                    self.level_label(level)
                ));
            }
            let config = self.after.config(level.file);
            if name == "keepalive"
                && dir.file == level.file
                && let Some(upstream) = level.scope
                && balancing_method(config, upstream).is_some_and(|method| config.start(method) > config.start(dir.id))
            {
                return Err(format!(
                    "`keepalive` would come before the balancing method in {} (dropped before nginx 1.29.7: load \
                     balancing method redefined)",
                    self.level_label(level)
                ));
            }
        }
        Ok(())
    }

    /// `http (nginx/nginx.conf:13)`, `server (deploy/app.conf:3)`, `http (conf.d/app.conf)`.
    fn level_label(&self, level: BlockRef) -> String {
        let name = self.after.context(level).unwrap_or_else(|| "top level".to_owned());
        match level.scope {
            Some(_) => format!("{name} ({})", self.block_location(level)),
            None => format!("{name} ({})", self.after.file(level.file).path.display()),
        }
    }
}

impl Model {
    /// The index of the model file at `path`.
    pub fn position(&self, path: &Path) -> Option<usize> {
        self.files.iter().position(|f| f.path == path)
    }

    /// The model as `edits` leave the files (roles and includes found again), or why the edited
    /// text no longer parses.
    fn with_edits(&self, edits: &BTreeMap<PathBuf, Vec<Edit>>) -> Result<Model, String> {
        let mut files = Vec::with_capacity(self.files.len());
        for file in &self.files {
            let (source, config) = match edits.get(&file.path) {
                None => (file.source.clone(), file.config.clone()),
                Some(edits) => {
                    let text = apply_edits(&file.source.text, &merge_inserts(edits.clone()))
                        .map_err(|err| format!("the edits to {} overlap ({err:?})", file.path.display()))?;
                    let config = nginx::parse(&text).map_err(|err| {
                        format!(
                            "{} would no longer parse: line {}, column {}: {}",
                            file.path.display(),
                            err.line,
                            err.column,
                            err.message
                        )
                    })?;
                    let source = SourceFile::new(file.path.clone(), text, file.source.bom, file.source.mode);
                    (Arc::new(source), config)
                }
            };
            let (path, container) = (file.path.clone(), file.container.clone());
            files.push(NginxFile { path, source, config, container, role: Role::Unknown });
        }
        let mut model = Model {
            files,
            errors: Vec::new(),
            notes: Vec::new(),
            includes: HashMap::new(),
            mounts: self.mounts.clone(),
        };
        model.resolve_includes();
        Ok(model)
    }

    /// The levels whose directives include those of `block`: the block itself, or for the top
    /// level of an included file, the blocks of every `include` line that loads it.
    fn levels_of_block(&self, block: BlockRef, depth: usize) -> Vec<BlockRef> {
        if block.scope.is_some() || !matches!(self.file(block.file).role, Role::Included(_)) || depth > 16 {
            return vec![block];
        }
        self.includers(block.file)
            .into_iter()
            .flat_map(|site| {
                let scope = self.config(site.file).parent(site.id);
                self.levels_of_block(BlockRef { file: site.file, scope }, depth + 1)
            })
            .collect()
    }

    /// Every directive set at `level`: its own and those at the top of the files it includes.
    fn directives_at(&self, level: BlockRef, out: &mut Vec<DirRef>, depth: usize) {
        let config = self.config(level.file);
        for id in config.children(level.scope) {
            let here = DirRef { file: level.file, id };
            out.push(here);
            if config.name(id) == "include" && depth < 16 {
                for &target in self.includes.get(&here).into_iter().flatten() {
                    self.directives_at(BlockRef { file: target, scope: None }, out, depth + 1);
                }
            }
        }
    }

    /// Why the file at `file` is a development or test configuration that production does not
    /// load, if it is: every Dockerfile or compose file that places it (or the file that includes
    /// it) is named for development or tests (`docker-compose.dev.yml`,
    /// `docker-compose.ci-test.yml`, `compose/local/...`), or none places it and it sits in such a
    /// folder (`dev/nginx.conf`).
    pub fn dev_only(&self, file: usize) -> Option<String> {
        let root = self.levels(BlockRef { file, scope: None })[0].file;
        let path = &self.file(root).path;
        let placing: Vec<String> =
            shown(&self.mounts).into_iter().filter(|m| m.places(path)).map(|m| m.source).collect();
        let shown = path.display();
        if !placing.is_empty() {
            let from =
                |source: &String| Path::new(source.rsplit_once(':').map_or(source.as_str(), |(f, _)| f)).to_owned();
            if placing.iter().map(from).all(|placer| dev_word(&placer).is_some()) {
                return Some(format!(
                    "{shown} is placed only by development or test files ({}): production does not load it",
                    placing.join(", ")
                ));
            }
            // A config kept in the tests' folder is the test rig's, whoever mounts it (Kiwi TCMS's
            // compose runs `tests/nginx-proxy/nginx.conf` in a service "used only for testing").
            let folder = path.parent().and_then(test_word)?;
            return Some(format!(
                "{shown} is in the tests' folder (`{folder}`): a test rig's configuration (placed by {}), not \
                 production's",
                placing.join(", ")
            ));
        }
        let folder = dev_word(path.parent()?)?;
        Some(format!(
            "{shown} is in a development or test folder (`{folder}`) and no Dockerfile or compose file places it: \
             production does not load it"
        ))
    }
}

impl Model {
    /// Why nginx does not load the file at `file`: the project shows how nginx is deployed (a
    /// Dockerfile or compose file places some of its nginx files), and neither this file nor a
    /// file that includes it is among them.
    pub fn unplaced(&self, file: usize) -> Option<String> {
        let shown = shown(&self.mounts);
        let placed = |index: usize| shown.iter().any(|m| m.places(&self.file(index).path));
        let placed_files: Vec<String> = (0..self.files.len())
            .filter(|&index| placed(index))
            .map(|index| self.file(index).path.display().to_string())
            .collect();
        let root = self.levels(BlockRef { file, scope: None })[0].file;
        if placed_files.is_empty() || placed(root) {
            return None;
        }
        Some(format!(
            "nginx does not load {}: the Dockerfile and compose files give nginx {} and nothing that includes it",
            self.file(root).path.display(),
            placed_files.join(", ")
        ))
    }
}

/// The folder of `path` named for tests (`tests`, `test`, `testing`), split at `/`.
fn test_word(path: &Path) -> Option<String> {
    path.iter()
        .map(|part| part.to_string_lossy().to_ascii_lowercase())
        .find(|word| matches!(word.as_str(), "test" | "tests" | "testing"))
}

/// The word of `path` that names a development or test environment (`dev`, `development`,
/// `local`, `test`, `ci`), split at `/`, `.`, `-` and `_` (`docker-compose.ci-test.yml`).
fn dev_word(path: &Path) -> Option<String> {
    let text = path.to_string_lossy().to_ascii_lowercase();
    text.split(['/', '.', '-', '_'])
        .find(|word| matches!(*word, "dev" | "development" | "devel" | "local" | "test" | "tests" | "testing" | "ci"))
        .map(str::to_owned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::nginx::model;
    use crate::project::Project;

    use crate::project::test_project as project;

    /// A proposal inserting `lines` right after the first occurrence of `after` in `path`.
    fn insert(model: &Model, path: &str, after: &str, lines: &str) -> Proposal {
        let file = model.position(Path::new(path)).unwrap();
        let at = model.file(file).source.text.find(after).unwrap() + after.len();
        Proposal { path: path.into(), edits: vec![Edit::insert(at, lines)] }
    }

    const COMPOSE: &str = "services:\n  nginx:\n    image: nginx\n    volumes:\n      - ./nginx/app.conf:/etc/nginx/conf.d/app.conf\n      - ./nginx/snippets:/etc/nginx/snippets\n";
    const SITE: &str = "upstream app { least_conn; server web:8000; }\nserver {\n    listen 80;\n    include snippets/gzip;\n    location / { proxy_pass http://app; }\n}\n";

    fn site() -> (tempfile::TempDir, Project) {
        project(&[
            ("docker-compose.yml", COMPOSE),
            ("nginx/app.conf", SITE),
            ("nginx/snippets/gzip", "gzip on;\ngzip_types text/css;\n"),
        ])
    }

    #[test]
    fn a_duplicate_through_a_mounted_include_is_refused() {
        let (_dir, project) = site();
        let model = model(&project);
        let again = insert(&model, "nginx/app.conf", "listen 80;", "\n    gzip on;");
        let types = insert(&model, "nginx/app.conf", "listen 80;", "\n    gzip_types application/json;");
        let verdicts = check_all(&model, &[again, types]);
        let refused = verdicts[0].as_ref().unwrap_err();
        assert!(refused.contains("\"gzip\" directive is duplicate"), "{refused}");
        assert!(refused.contains("nginx/snippets/gzip:1"), "{refused}");
        // gzip_types may repeat in one context (nginx appends to the list).
        let checked = verdicts[1].as_ref().unwrap();
        assert!(checked.contains("server (nginx/app.conf:2) with includes expanded"), "{checked}");
    }

    #[test]
    fn contexts_balancing_and_buffers_are_checked() {
        let (_dir, project) = site();
        let model = model(&project);
        let in_server = insert(&model, "nginx/app.conf", "listen 80;", "\n    keepalive 32;");
        let first = insert(&model, "nginx/app.conf", "upstream app {", " keepalive 32;");
        let buffers = insert(&model, "nginx/app.conf", "listen 80;", "\n    proxy_buffer_size 16k;");
        let verdicts = check_all(&model, &[in_server, first, buffers]);
        assert!(verdicts[0].as_ref().unwrap_err().contains("not allowed in server"));
        assert!(verdicts[1].as_ref().unwrap_err().contains("before the balancing method"));
        // 16k headers with the default 8 x 4k buffers: busy (2 x 16k) > 7 x 4k.
        assert!(verdicts[2].as_ref().unwrap_err().contains("minus one buffer"), "{:?}", verdicts[2]);
    }

    #[test]
    fn a_conf_d_top_level_meets_the_image_http_block() {
        let (_dir, project) = project(&[("nginx/conf.d/app.conf", SITE)]);
        let model = model(&project);
        let top = insert(&model, "nginx/conf.d/app.conf", "server web:8000; }\n", "gzip on;\n");
        let refused = check_all(&model, &[top]).remove(0).unwrap_err();
        assert!(refused.contains("distro's or image's nginx.conf"), "{refused}");
    }

    #[test]
    fn development_and_unplaced_configurations_are_not_offered() {
        let dev_compose = COMPOSE.replace("./nginx/app.conf", "./nginx/dev.conf");
        let (_dir, project) = project(&[
            ("docker-compose.dev.yml", dev_compose.as_str()),
            ("nginx/dev.conf", SITE),
            (
                "docker-compose.yml",
                "services:\n  nginx:\n    volumes:\n      - ./nginx/prod.conf:/etc/nginx/conf.d/prod.conf\n",
            ),
            ("nginx/prod.conf", SITE),
            ("nginx/old/legacy.conf", SITE),
        ]);
        let model = model(&project);
        let dev = insert(&model, "nginx/dev.conf", "listen 80;", "\n    gzip_vary on;");
        let prod = insert(&model, "nginx/prod.conf", "listen 80;", "\n    gzip_vary on;");
        let legacy = insert(&model, "nginx/old/legacy.conf", "listen 80;", "\n    gzip_vary on;");
        let verdicts = check_all(&model, &[dev, prod, legacy]);
        assert!(
            verdicts[0]
                .as_ref()
                .unwrap_err()
                .contains("placed only by development or test files (docker-compose.dev.yml:5)")
        );
        assert!(verdicts[1].is_ok(), "{:?}", verdicts[1]);
        assert!(verdicts[2].as_ref().unwrap_err().contains("nginx does not load nginx/old/legacy.conf"));
        assert_eq!(dev_word(Path::new("compose/local/nginx")), Some("local".into()));
        assert_eq!(dev_word(Path::new("deploy/localhost")), None);
        assert_eq!(dev_word(Path::new("docker/compose/docker-compose.ci-test.yml")), Some("ci".into()));
    }
}
