//! `nginx-proxy-buffering`: proxy buffers, client body buffer and upstream keep-alive (QW4).
//!
//! For every `server {}` that `proxy_pass`es to the app:
//! - `proxy_buffer_size 16k; proxy_buffers 8 16k; proxy_busy_buffers_size 32k;` as one set, at
//!   server level, checked against nginx's merge rules (domain.md 4.5) with what the server and
//!   its locations inherit. If any buffer size is already set on the chain, sizes are left alone.
//! - `client_body_buffer_size 32k;` unless one is in effect.
//! - When `proxy_pass` names an `upstream {}`: `keepalive 32;` in it (after any balancing
//!   method), plus `proxy_http_version 1.1;` and `proxy_set_header Connection "";` at the level
//!   where the location's other `proxy_set_header` lines are (a level that sets any loses all
//!   inherited ones). Never in a websocket or streaming location (Upgrade headers,
//!   `proxy_buffering off`): those keep their own Connection header.
//! - `proxy_buffering off` is deliberate and never flipped; `uwsgi_pass` (uwsgi_* buffers, not
//!   gunicorn) and `proxy_pass` to a literal address (no upstream block, so no keep-alive pool)
//!   are skipped with why.

use std::collections::{BTreeMap, BTreeSet};
use std::path::PathBuf;

use crate::engine::outcome::{Change, Location, Outcome};
use crate::engine::patch::{Patch, PatchInfo, RealTool};
use crate::facts::celery::celery;
use crate::facts::nginx::{BlockRef, DirRef, Model, model};
use crate::lang::nginx::edit::{Inserter, Style, merge_inserts};
use crate::lang::nginx::{Config, DirId};
use crate::project::Project;
use crate::text::edit::Edit;

pub struct NginxProxyBuffering;

const ID: &str = "nginx-proxy-buffering";

/// The buffer set: header buffer, 8 body buffers of 16k, busy limit 32k (<= 7 x 16k).
const BUFFER_SIZE: u64 = 16 * 1024;
const BUFFER_LINES: &[&str] = &["proxy_buffer_size 16k;", "proxy_buffers 8 16k;", "proxy_busy_buffers_size 32k;"];
const SIZE_NAMES: &[&str] = &["proxy_buffer_size", "proxy_buffers", "proxy_busy_buffers_size"];
const BODY_LINE: &str = "client_body_buffer_size 32k;";
const KEEPALIVE_LINE: &str = "keepalive 32;";
/// Load-balancing methods, which must come before `keepalive` in an upstream (before 1.29.7).
const BALANCING: &[&str] = &["least_conn", "ip_hash", "hash", "random", "least_time", "sticky"];
const VERSION_LINE: &str = "proxy_http_version 1.1;";
const CONNECTION_LINE: &str = "proxy_set_header Connection \"\";";

/// What the catalog knows of this patch.
pub static INFO: PatchInfo = PatchInfo {
    id: ID,
    quick_win: "QW4",
    why_prefix: "QW4",
    title: "nginx proxy buffers, client body buffer and upstream keep-alive to gunicorn",
    phase_1: true,
    verify: &["nginx -t"],
    checked_by: RealTool::Nginx,
};

impl Patch for NginxProxyBuffering {
    fn info(&self) -> &'static PatchInfo {
        &INFO
    }

    fn plan(&self, project: &Project) -> Vec<Outcome> {
        let model = model(project);
        let mut outcomes = model.errors.clone();
        let servers = model.http_servers();
        let mut upstreams: BTreeMap<(usize, DirId), Vec<String>> = BTreeMap::new();
        let mut snippets: BTreeMap<usize, Vec<String>> = BTreeMap::new();
        let celery = celery_services(project);
        for server in &servers {
            if let Some(skip) = proxies_to_celery(&model, *server, &celery) {
                outcomes.push(skip);
                continue;
            }
            outcomes.extend(plan_server(&model, *server, &mut upstreams, &mut snippets));
        }
        for (snippet, users) in snippets {
            outcomes.push(plan_snippet(&model, snippet, &users));
        }
        for ((file, id), users) in upstreams {
            outcomes.push(plan_upstream(&model, DirRef { file, id }, &users));
        }
        if servers.is_empty() && model.errors.is_empty() {
            outcomes.push(Outcome::not_found(if model.files.is_empty() {
                "no nginx configuration in the project"
            } else {
                "no server {} block in the project's nginx files"
            }));
        }
        outcomes
    }
}

/// Compose services that run Celery (a worker, or its Flower UI), with their command: a server
/// that only proxies to them is not in front of the Django app, and the reasons to buffer for
/// gunicorn do not apply there.
fn celery_services(project: &Project) -> Vec<(String, String)> {
    celery(project)
        .processes
        .iter()
        .filter(|process| process.runs_celery_directly())
        .filter_map(|process| Some((process.service.clone()?, process.command())))
        .collect()
}

/// The skip for a server whose every `proxy_pass` goes to a Celery service.
fn proxies_to_celery(model: &Model, server: DirRef, celery: &[(String, String)]) -> Option<Outcome> {
    let passes = find_within(model, BlockRef { file: server.file, scope: Some(server.id) }, "proxy_pass");
    let mut target = None;
    for pass in &passes {
        let host = upstream_name(&model.config(pass.dir.file).arg(pass.dir.id, 0).unwrap_or_default())?;
        let service = celery.iter().find(|(name, _)| *name == host)?;
        target.get_or_insert(service);
    }
    let (name, command) = target?;
    Some(Outcome::skipped(
        Some(model.location(server)),
        format!(
            "server at {} proxies only to compose service `{name}` (`{command}`): Celery, not the Django app; \
             left alone",
            model.location(server)
        ),
    ))
}

/// A directive found inside a block, possibly in a project file that an `include` line loads.
#[derive(Debug, Clone, Copy)]
struct Found {
    dir: DirRef,
    /// The block whose proxy_set_header lines apply to it (see [`header_context`]): for a
    /// directive at a snippet's top level, the block of the `include` line that loads it.
    context: BlockRef,
}

/// Every directive named `name` inside `block` (any depth), following the `include` lines that
/// load project files (`include snippets/proxy.conf;`): a proxy_pass kept in a snippet is the
/// server's proxy_pass all the same. In the order they appear in the block.
fn find_within(model: &Model, block: BlockRef, name: &str) -> Vec<Found> {
    let mut found = Vec::new();
    // (block to walk, the context of an included file's top level, include depth)
    let mut stack = vec![(block, block, 0usize)];
    while let Some((current, outer, depth)) = stack.pop() {
        let config = model.config(current.file);
        let context_of = |scope: Option<DirId>| {
            header_context(config, scope).map_or(outer, |id| BlockRef { file: current.file, scope: Some(id) })
        };
        for child in config.children(current.scope) {
            let here = DirRef { file: current.file, id: child };
            if config.name(child) == name {
                found.push(Found { dir: here, context: context_of(config.parent(child)) });
            }
            if config.directive(child).block.is_some() {
                stack.push((BlockRef { file: current.file, scope: Some(child) }, outer, depth));
            } else if config.name(child) == "include" && depth < 16 {
                let context = context_of(current.scope);
                for &target in model.includes.get(&here).into_iter().flatten() {
                    stack.push((BlockRef { file: target, scope: None }, context, depth + 1));
                }
            }
        }
    }
    found.sort_by_key(|f| (f.dir.file != block.file, f.dir, f.context.file, f.context.scope));
    found.dedup_by_key(|f| (f.dir, f.context));
    found
}

/// The project files that `include` lines inside `block` load, at any depth.
fn included_files(model: &Model, block: BlockRef) -> Vec<usize> {
    let mut files: Vec<usize> = find_within(model, block, "include")
        .into_iter()
        .flat_map(|site| model.includes.get(&site.dir).cloned().unwrap_or_default())
        .collect();
    files.sort();
    files.dedup();
    files
}

/// Every directive inside `scope` (any depth) named `name`.
fn descendants_named(config: &Config, scope: DirId, name: &str) -> Vec<DirId> {
    let mut found = Vec::new();
    let mut stack = vec![scope];
    while let Some(current) = stack.pop() {
        for child in config.children(Some(current)) {
            if config.name(child) == name {
                found.push(child);
            }
            if config.directive(child).block.is_some() {
                stack.push(child);
            }
        }
    }
    found.sort();
    found
}

/// Every block inside `scope` (any depth), `scope` included.
fn blocks_within(config: &Config, scope: DirId) -> Vec<DirId> {
    let mut found = vec![scope];
    let mut index = 0;
    while index < found.len() {
        let current = found[index];
        index += 1;
        found.extend(config.children(Some(current)).filter(|&c| config.directive(c).block.is_some()));
    }
    found
}

fn block_location(model: &Model, block: BlockRef) -> Location {
    let file = model.file(block.file);
    Location::new(file.path.clone(), block.scope.map_or(0, |id| file.config.line(id)))
}

/// The block whose headers apply to a `proxy_pass`: its location, also when it sits in an `if`
/// or `limit_except` block (where proxy_set_header is not allowed).
fn header_context(config: &Config, mut scope: Option<DirId>) -> Option<DirId> {
    while let Some(id) = scope
        && matches!(config.name(id), "if" | "limit_except")
    {
        scope = config.parent(id);
    }
    scope
}

/// `16k` -> 16384, `1m` -> 1048576, `0` -> 0.
fn parse_size(text: &str) -> Option<u64> {
    let text = text.to_ascii_lowercase();
    let (digits, unit) = match text.chars().last()? {
        'k' => (&text[..text.len() - 1], 1024),
        'm' => (&text[..text.len() - 1], 1024 * 1024),
        'g' => (&text[..text.len() - 1], 1024 * 1024 * 1024),
        _ => (&text[..], 1),
    };
    digits.parse::<u64>().ok().map(|n| n * unit)
}

/// The level whose `proxy_set_header` lines apply inside `block`: the innermost that sets any
/// (a distro `include proxy_params;` counts: it sets Host and the X-Forwarded headers).
fn header_level(model: &Model, block: BlockRef) -> Option<(BlockRef, Vec<DirRef>)> {
    model.levels(block).into_iter().rev().find_map(|level| {
        let mut found = model.find(level, "proxy_set_header");
        let params = model
            .unresolved_includes(level)
            .into_iter()
            .filter(|(_, pattern)| pattern.rsplit('/').next() == Some("proxy_params"))
            .map(|(site, _)| site);
        found.extend(params);
        found.sort();
        (!found.is_empty()).then_some((level, found))
    })
}

/// Why a location is a websocket or streaming one (its own Connection handling), if it is.
fn streaming(model: &Model, block: BlockRef) -> Option<String> {
    if let Some((_, headers)) = header_level(model, block) {
        for header in headers {
            let config = model.config(header.file);
            let args = config.args(header.id);
            let name = args.first().map(|a| a.to_ascii_lowercase()).unwrap_or_default();
            let value = args.get(1).map(|a| a.to_ascii_lowercase()).unwrap_or_default();
            if name == "upgrade" || (name == "connection" && value.contains("upgrade")) {
                return Some(format!(
                    "websocket location (`{}` at {})",
                    config.describe(header.id),
                    model.location(header)
                ));
            }
        }
    }
    if let Some((_, found)) = model.inherited(block, "proxy_buffering") {
        let last = found[found.len() - 1];
        if model.config(last.file).arg(last.id, 0).as_deref() == Some("off") {
            return Some(format!(
                "streaming location (`proxy_buffering off` at {}, deliberate for websockets, server-sent events and streaming)",
                model.location(last)
            ));
        }
    }
    None
}

/// The host of `http://app:8000/x` (`app`), `None` when it uses variables.
fn upstream_name(url: &str) -> Option<String> {
    if url.contains('$') {
        return None;
    }
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let end = rest.find([':', '/']).unwrap_or(rest.len());
    Some(rest[..end].to_owned())
}

/// Edits collected for one file, with what they add.
#[derive(Default)]
struct FileEdits {
    edits: Vec<Edit>,
    added: Vec<String>,
}

fn plan_server(
    model: &Model,
    server: DirRef,
    upstreams: &mut BTreeMap<(usize, DirId), Vec<String>>,
    snippets: &mut BTreeMap<usize, Vec<String>>,
) -> Vec<Outcome> {
    let config = model.config(server.file);
    let file = model.file(server.file);
    let server_block = BlockRef { file: server.file, scope: Some(server.id) };
    let names = config
        .children_named(Some(server.id), "server_name")
        .next()
        .map(|d| config.args(d).join(" "))
        .unwrap_or_else(|| "_".to_owned());
    let label = format!("server {names} at {}:{}", file.path.display(), config.line(server.id));
    let here = Some(Location::new(file.path.clone(), config.line(server.id)));
    let mut outcomes = Vec::new();

    for uwsgi in find_within(model, server_block, "uwsgi_pass") {
        outcomes.push(Outcome::skipped(
            Some(model.location(uwsgi.dir)),
            format!(
                "`{}` in {label}: the app is served over uwsgi, whose buffers are uwsgi_buffer_*; proxy buffers and \
                 upstream keep-alive to gunicorn do not apply",
                model.config(uwsgi.dir.file).describe(uwsgi.dir.id)
            ),
        ));
    }
    let passes = find_within(model, server_block, "proxy_pass");
    if passes.is_empty() {
        if outcomes.is_empty() {
            // `include /run/app/uwsgi_pass;` (DefectDojo): a file from outside the project may hold
            // the pass; "nothing to buffer" would be a guess.
            let mut outside: Vec<(String, Location)> = Vec::new();
            for id in descendants_named(config, server.id, "include") {
                let site = DirRef { file: server.file, id };
                let Some(pattern) = config.arg(id, 0).map(|p| p.into_owned()) else { continue };
                if model.includes.get(&site).is_none_or(|targets| targets.is_empty())
                    && !Model::is_distro_include(&pattern)
                    && !outside.iter().any(|(seen, _)| *seen == pattern)
                {
                    outside.push((pattern, model.location(site)));
                }
            }
            let reason = if outside.is_empty() {
                format!("{label} does not proxy_pass to the app; nothing to buffer")
            } else {
                let listed: Vec<String> =
                    outside.iter().map(|(pattern, at)| format!("`include {pattern};` ({at})")).collect();
                format!(
                    "{label} has no proxy_pass in the project's files, but it includes files from outside the \
                     project that may pass requests to the app (proxy_pass or uwsgi_pass): {}; check their buffers \
                     by hand",
                    listed.join(", ")
                )
            };
            outcomes.push(Outcome::skipped(here, reason));
        }
        return outcomes;
    }

    let mut edits = FileEdits::default();
    let inserter = Inserter::new(config);
    let mut why = vec![
        "QW4: nginx buffers gunicorn's responses so a sync worker is freed as soon as the response is written, not \
         when a slow client has read it (gunicorn's deploy docs: without buffering it is \"easily susceptible to \
         denial-of-service attacks\")."
            .to_owned(),
    ];
    let mut server_lines: Vec<String> = Vec::new();

    // Buffer sizes, as one consistent set: checked in every block of the server, those of the
    // snippets it includes (`location` blocks kept in a snippet) too.
    let mut blocks: Vec<BlockRef> = blocks_within(config, server.id)
        .into_iter()
        .map(|id| BlockRef { file: server.file, scope: Some(id) })
        .collect();
    for snippet in included_files(model, server_block) {
        let snippet_config = model.config(snippet);
        for top in snippet_config.children(None).filter(|&d| snippet_config.directive(d).block.is_some()) {
            blocks.extend(
                blocks_within(snippet_config, top).into_iter().map(|id| BlockRef { file: snippet, scope: Some(id) }),
            );
        }
    }
    let existing: Vec<DirRef> = SIZE_NAMES
        .iter()
        .flat_map(|name| {
            blocks.iter().flat_map(move |&b| model.inherited(b, name).map(|(_, found)| found).unwrap_or_default())
        })
        .collect::<BTreeSet<_>>()
        .into_iter()
        .collect();
    if let Some(first) = existing.first() {
        let list: Vec<String> = existing
            .iter()
            .map(|d| format!("`{}` ({})", model.config(d.file).describe(d.id), model.location(*d)))
            .collect();
        outcomes.push(Outcome::ok(
            Some(model.location(*first)),
            format!(
                "proxy buffer sizes for {label} are already set: {}; left alone (the set must stay consistent)",
                list.join(", ")
            ),
        ));
        if let Some((block, message)) = merge_rule_violation(model, &blocks, false) {
            outcomes.push(Outcome::warning(
                Some(block_location(model, block)),
                format!(
                    "the proxy buffer sizes in effect here fail nginx's merge check: {message} (nginx -t will fail)"
                ),
            ));
        }
    } else if let Some((block, message)) = merge_rule_violation(model, &blocks, true) {
        outcomes.push(Outcome::skipped(
            Some(block_location(model, block)),
            format!(
                "{label}: the 16k buffer set would fail nginx's merge check here ({message}) with the values this \
                 block inherits; buffer sizes left alone"
            ),
        ));
    } else {
        server_lines.extend(BUFFER_LINES.iter().map(|s| s.to_string()));
        edits.added.push("proxy buffers 16k / 8 x 16k / busy 32k".into());
        why.push(
            "Buffers: `proxy_buffer_size 16k` holds the response headers (session cookies and CSP headers outgrow \
             the default 4k), `proxy_buffers 8 16k` holds 128k of body in memory before nginx spills to a temp file, \
             `proxy_busy_buffers_size 32k` is written explicitly so the set satisfies nginx's checks (busy >= 16k and \
             <= 7 x 16k) whatever a location inherits."
                .to_owned(),
        );
    }

    // Client body buffer.
    let body: Vec<DirRef> =
        blocks.iter().filter_map(|&b| model.inherited(b, "client_body_buffer_size")).flat_map(|(_, f)| f).collect();
    if let Some(found) = body.first() {
        outcomes.push(Outcome::ok(
            Some(model.location(*found)),
            format!("{label}: `{}` already set; left alone", model.config(found.file).describe(found.id)),
        ));
    } else {
        server_lines.push(BODY_LINE.to_owned());
        edits.added.push("client_body_buffer_size 32k".into());
        why.push(
            "`client_body_buffer_size 32k`: typical form and JSON posts stay in memory instead of a temp file \
             (default 8k/16k)."
                .to_owned(),
        );
    }

    // Keep-alive to the upstream.
    let mut connection_levels: BTreeSet<(usize, Option<DirId>)> = BTreeSet::new();
    let mut keepalive_why = false;
    for pass in passes {
        let pass_ref = pass.dir;
        let pass_config = model.config(pass_ref.file);
        let url = pass_config.arg(pass_ref.id, 0).unwrap_or_default().into_owned();
        let location = pass.context;
        let mut where_ = format!("`{}` ({}", pass_config.describe(pass_ref.id), model.location(pass_ref));
        if pass_ref.file != location.file
            && let Some(scope) = location.scope
        {
            let name = model.config(location.file).describe(scope);
            where_.push_str(&format!(", included in {name} at {}", block_location(model, location)));
        }
        where_.push(')');
        let Some(host) = upstream_name(&url) else {
            outcomes.push(Outcome::skipped(
                Some(model.location(pass_ref)),
                format!("{where_}: the address uses variables; keep-alive needs a named upstream {{}}"),
            ));
            continue;
        };
        let Some(upstream) = model.upstream(&host) else {
            outcomes.push(Outcome::skipped(
                Some(model.location(pass_ref)),
                format!(
                    "{where_} goes to a literal address, not an upstream {{}} block: keep-alive connections need one \
                     (`upstream app {{ server {host}...; keepalive 32; }}` and `proxy_pass http://app;`); left as is"
                ),
            ));
            continue;
        };
        if let Some(reason) = streaming(model, location) {
            outcomes.push(Outcome::skipped(
                Some(model.location(pass_ref)),
                format!("{where_}: {reason}; it keeps its own Connection header (never `Connection \"\"` there)"),
            ));
            continue;
        }
        if let Some((_, found)) = model.inherited(location, "proxy_http_version") {
            let last = found[found.len() - 1];
            if model.config(last.file).arg(last.id, 0).as_deref() != Some("1.1") {
                outcomes.push(Outcome::skipped(
                    Some(model.location(last)),
                    format!(
                        "{where_}: `{}` is set on purpose; upstream keep-alive needs 1.1, left as is",
                        model.config(last.file).describe(last.id)
                    ),
                ));
                continue;
            }
        }
        let headers = header_level(model, location);
        if let Some((_, found)) = &headers
            && let Some(connection) = found
                .iter()
                .find(|d| model.config(d.file).arg(d.id, 0).is_some_and(|a| a.eq_ignore_ascii_case("connection")))
        {
            let value = model.config(connection.file).arg(connection.id, 1).unwrap_or_default().into_owned();
            let outcome = if value.is_empty() {
                upstreams.entry((upstream.file, upstream.id)).or_default().push(where_.clone());
                Outcome::ok(
                    Some(model.location(*connection)),
                    format!("{where_}: Connection header already cleared for keep-alive"),
                )
            } else {
                Outcome::skipped(
                    Some(model.location(*connection)),
                    format!("{where_}: `Connection {value:?}` is set on purpose; left as is"),
                )
            };
            outcomes.push(outcome);
            continue;
        }
        upstreams.entry((upstream.file, upstream.id)).or_default().push(where_.clone());
        // The level the new lines go to: where the other proxy_set_header lines are, else the server.
        let target = headers.as_ref().map_or(server_block, |(level, _)| *level);
        let shared = target != location && shares_with_streaming(model, config, server.id, target, location);
        let has_version = |level: BlockRef| !model.find(level, "proxy_http_version").is_empty();
        if shared {
            // Adding at the shared level would reach a websocket/streaming location too: give
            // this location its own complete header set instead (domain.md 4.6).
            let Some(scope) = location.scope.filter(|_| location.file == server.file) else {
                outcomes.push(Outcome::skipped(
                    Some(model.location(pass_ref)),
                    format!(
                        "{where_}: its location is in another file ({}) and shares its proxy_set_header lines with \
                         a websocket/streaming location; add `proxy_http_version 1.1;` and `proxy_set_header \
                         Connection \"\";` there by hand",
                        model.file(location.file).path.display()
                    ),
                ));
                continue;
            };
            if !connection_levels.insert((location.file, location.scope)) {
                continue;
            }
            // The inherited proxy_set_header lines (and `include proxy_params;`), as written.
            let mut lines: Vec<String> = headers
                .iter()
                .flat_map(|(_, found)| found.iter())
                .map(|d| format!("{};", model.config(d.file).describe(d.id)))
                .collect();
            if !has_version(location) {
                lines.insert(0, VERSION_LINE.to_owned());
            }
            lines.push(CONNECTION_LINE.to_owned());
            let edit = if pass_ref.file == server.file && config.parent(pass_ref.id) == Some(scope) {
                inserter.after(pass_ref.id, &lines, Style::NextLine)
            } else {
                inserter.at_end(scope, &lines)
            };
            edits.edits.push(edit);
            edits.added.push(format!(
                "proxy_http_version 1.1 + Connection \"\" (with copies of the inherited headers) in {}",
                config.describe(scope)
            ));
            keepalive_why = true;
            why.push(format!(
                "In {} they come with copies of the inherited proxy_set_header lines: adding `Connection \"\"` at \
                 the level they are inherited from would also reach a websocket/streaming location.",
                config.describe(scope)
            ));
            continue;
        }
        if !connection_levels.insert((target.file, target.scope)) {
            continue;
        }
        let mut lines = Vec::new();
        if !has_version(target) {
            lines.push(VERSION_LINE.to_owned());
        }
        lines.push(CONNECTION_LINE.to_owned());
        let level_name = target.scope.map(|id| model.config(target.file).describe(id)).unwrap_or_else(|| "http".into());
        if target == server_block && headers.is_none() {
            server_lines.extend(lines);
            edits.added.push("proxy_http_version 1.1 + Connection \"\" at server level".into());
            keepalive_why = true;
            continue;
        }
        if target.file != server.file {
            // A location kept in a snippet that only this server includes: its own block, edited in place.
            let includers = model.includes.values().filter(|targets| targets.contains(&target.file)).count();
            let target_config = model.config(target.file);
            let anchor =
                target.scope.and_then(|scope| target_config.children_named(Some(scope), "proxy_set_header").last());
            if let (1, Some(anchor)) = (includers, anchor) {
                let target_file = model.file(target.file);
                let edit = Inserter::new(target_config).after(anchor, &lines, Style::NextLine);
                let line = target_file.source.line_of(edit.range.start);
                let added: Vec<&str> = lines.iter().map(|l| l.trim_end_matches(';')).collect();
                outcomes.push(Outcome::Change(
                    Change::modify(ID, target_file.path.clone(), vec![edit])
                        .summary(format!("add {} in {level_name} ({})", added.join("; "), block_location(model, target)))
                        .why(format!(
                            "QW4 keep-alive: `proxy_http_version 1.1` and an empty Connection header let nginx reuse \
                             connections from the upstream's `keepalive` pool, for {where_}. They go next to the \
                             location's other proxy_set_header lines (a level that sets any loses all inherited ones), \
                             in {}, which only {label} includes.",
                            target_file.path.display()
                        ))
                        .assume("connections are only reused by gthread/gevent/ASGI workers; sync gunicorn closes after each response (harmless)")
                        .verify("nginx -t")
                        .at_line(line),
                ));
                continue;
            }
            outcomes.push(Outcome::skipped(
                Some(model.location(pass_ref)),
                format!("{where_}: its proxy_set_header lines are in another file ({}); add `proxy_http_version 1.1;` and `proxy_set_header Connection \"\";` there by hand", model.file(target.file).path.display()),
            ));
            continue;
        }
        let target_config = model.config(target.file);
        let anchor = target_config
            .children(target.scope)
            .filter(|&d| {
                target_config.name(d) == "proxy_set_header"
                    || (target_config.name(d) == "include"
                        && target_config.arg(d, 0).is_some_and(|a| a.ends_with("proxy_params")))
            })
            .last();
        // The other proxy_set_header lines are all in a snippet this level includes: the new
        // ones join them there (planned once per snippet, for all its includers).
        let snippet =
            headers.as_ref().and_then(|(_, found)| found.last()).map(|d| d.file).filter(|&f| f != target.file);
        if let (None, Some(snippet)) = (anchor, snippet) {
            snippets.entry(snippet).or_default().push(where_.clone());
            continue;
        }
        let edit = match (anchor, target.scope) {
            (Some(anchor), _) => inserter.after(anchor, &lines, Style::NextLine),
            (None, Some(owner)) => inserter.at_end(owner, &lines),
            (None, None) => continue,
        };
        edits.edits.push(edit);
        edits.added.push(format!("proxy_http_version 1.1 + Connection \"\" in {level_name}"));
        keepalive_why = true;
    }
    if keepalive_why {
        why.push(
            "Keep-alive: `proxy_http_version 1.1` and an empty Connection header let nginx reuse connections from the \
             upstream's `keepalive` pool instead of opening one per request; they go where the location's other \
             proxy_set_header lines are, because a level that sets any proxy_set_header loses all inherited ones \
             (Host, X-Forwarded-*)."
                .to_owned(),
        );
    }

    if !server_lines.is_empty() {
        edits.edits.push(server_insertion(config, &inserter, server.id, &server_lines));
    }
    if edits.edits.is_empty() {
        if outcomes.is_empty() {
            outcomes.push(Outcome::ok(here, format!("{label}: proxy buffering and keep-alive already configured")));
        }
        return outcomes;
    }
    let edits_merged = merge_inserts(edits.edits);
    let line = file.source.line_of(edits_merged[0].range.start);
    let change = Change::modify(ID, PathBuf::from(&file.path), edits_merged)
        .summary(format!("add {} ({label})", edits.added.join("; ")))
        .why(why.join(" "))
        .assume("proxy_buffering stays on (the default) for the app: sync gunicorn workers need nginx to buffer slow clients")
        .verify("nginx -t")
        .at_line(line);
    outcomes.insert(0, Outcome::Change(change));
    outcomes
}

/// Where server-level lines go: after the server's last proxy_* / client_* line, else after its
/// last plain directive before the first location, else before that location, else at its end.
fn server_insertion(config: &Config, inserter: &Inserter, server: DirId, lines: &[String]) -> Edit {
    let children: Vec<DirId> = config.children(Some(server)).collect();
    let anchor = children.iter().copied().rev().filter(|&d| config.directive(d).block.is_none()).find(|&d| {
        let name = config.name(d);
        name.starts_with("proxy_") || name.starts_with("client_")
    });
    if let Some(anchor) = anchor {
        return inserter.after(anchor, lines, Style::NextLine);
    }
    let plain = children.iter().copied().take_while(|&d| config.directive(d).block.is_none()).last();
    match (plain, children.iter().copied().find(|&d| config.directive(d).block.is_some())) {
        (Some(last_plain), _) => inserter.after(last_plain, lines, Style::NextLine),
        (None, Some(first_block)) => inserter.before(first_block, lines),
        (None, None) => inserter.at_end(server, lines),
    }
}

/// Whether a websocket/streaming location of this server would inherit what is added at `target`.
fn shares_with_streaming(model: &Model, config: &Config, server: DirId, target: BlockRef, except: BlockRef) -> bool {
    blocks_within(config, server).into_iter().any(|id| {
        let block = BlockRef { file: except.file, scope: Some(id) };
        if block == except || block == target || config.name(id) != "location" {
            return false;
        }
        let inherits = header_level(model, block)
            .map(|(level, _)| level)
            .unwrap_or(BlockRef { file: except.file, scope: Some(server) });
        inherits == target && streaming(model, block).is_some()
    })
}

/// The merged proxy buffer values of one block, as `ngx_http_proxy_merge_loc_conf` sees them.
struct Buffers {
    buffer_size: u64,
    number: u64,
    size: u64,
    busy: Option<u64>,
    temp_write: Option<u64>,
    max_temp: u64,
}

/// The values in effect inside `block` (nginx's defaults where nothing is set: one 4k page), or
/// with the new set when `with_new_set` (it goes at server level, so it is what every block
/// without its own sizes inherits).
fn merged_buffers(model: &Model, block: BlockRef, with_new_set: bool) -> Buffers {
    let value = |name: &str, index: usize| -> Option<u64> {
        let (_, found) = model.inherited(block, name)?;
        let last = found[found.len() - 1];
        model.config(last.file).arg(last.id, index).and_then(|v| parse_size(&v))
    };
    let (default_size, default_number) = if with_new_set { (BUFFER_SIZE, 8) } else { (4096, 8) };
    Buffers {
        buffer_size: value("proxy_buffer_size", 0).unwrap_or(default_size),
        number: value("proxy_buffers", 0).unwrap_or(default_number),
        size: value("proxy_buffers", 1).unwrap_or(default_size),
        busy: value("proxy_busy_buffers_size", 0).or(with_new_set.then_some(2 * BUFFER_SIZE)),
        temp_write: value("proxy_temp_file_write_size", 0),
        max_temp: value("proxy_max_temp_file_size", 0).unwrap_or(1024 * 1024 * 1024),
    }
}

/// nginx's five merge-time checks on proxy buffers (domain.md 4.5), with its own messages.
fn check_merge_rules(b: &Buffers) -> Result<(), &'static str> {
    let size = b.buffer_size.max(b.size);
    let busy = b.busy.unwrap_or(2 * size);
    if b.number < 2 {
        return Err("there must be at least 2 \"proxy_buffers\"");
    }
    if busy < size {
        return Err("\"proxy_busy_buffers_size\" must be equal to or greater than the maximum of the value of \
                    \"proxy_buffer_size\" and one of the \"proxy_buffers\"");
    }
    if busy > (b.number - 1) * b.size {
        return Err("\"proxy_busy_buffers_size\" must be less than the size of all \"proxy_buffers\" minus one buffer");
    }
    if b.temp_write.unwrap_or(2 * size) < size {
        return Err("\"proxy_temp_file_write_size\" must be equal to or greater than the maximum of the value of \
                    \"proxy_buffer_size\" and one of the \"proxy_buffers\"");
    }
    if b.max_temp != 0 && b.max_temp < size {
        return Err("\"proxy_max_temp_file_size\" must be equal to zero to disable temporary files usage or must be \
                    equal to or greater than the maximum of the value of \"proxy_buffer_size\" and one of the \
                    \"proxy_buffers\"");
    }
    Ok(())
}

/// The first block of the server whose merged buffers break a rule, with nginx's message.
fn merge_rule_violation(model: &Model, blocks: &[BlockRef], with_new_set: bool) -> Option<(BlockRef, &'static str)> {
    blocks
        .iter()
        .find_map(|&block| check_merge_rules(&merged_buffers(model, block, with_new_set)).err().map(|m| (block, m)))
}

/// `proxy_http_version 1.1;` and `proxy_set_header Connection "";` in a snippet that holds the
/// proxy_set_header lines of the locations using it. The snippet is shared: every place that
/// includes it gets the lines, so each includer must want them (it proxies to an upstream {}
/// with keep-alive, is no websocket or streaming location, and agrees on proxy_http_version).
fn plan_snippet(model: &Model, snippet: usize, users: &[String]) -> Outcome {
    let file = model.file(snippet);
    let here = Some(Location::new(file.path.clone(), 1));
    let skip = |reason: String| {
        Outcome::skipped(
            here.clone(),
            format!(
                "{reason}; the proxy_set_header lines of {} are in {}, shared by every includer: add \
                 `proxy_http_version 1.1;` and `proxy_set_header Connection \"\";` by hand where they are wanted",
                users.join(", "),
                file.path.display()
            ),
        )
    };
    let mut sites: Vec<DirRef> =
        model.includes.iter().filter(|(_, targets)| targets.contains(&snippet)).map(|(site, _)| *site).collect();
    sites.sort();
    let mut includers = Vec::new();
    let mut with_version = 0;
    for site in &sites {
        let config = model.config(site.file);
        let Some(scope) = header_context(config, config.parent(site.id)) else {
            return skip(format!(
                "{} includes it at a file's top level, whose context is unknown",
                model.location(*site)
            ));
        };
        let context = BlockRef { file: site.file, scope: Some(scope) };
        // The context itself, and the locations under it that inherit its proxy_set_header lines.
        for block in blocks_within(config, scope).into_iter().map(|id| BlockRef { file: site.file, scope: Some(id) }) {
            let inherits = block == context || header_level(model, block).is_some_and(|(level, _)| level == context);
            if let Some(reason) = streaming(model, block).filter(|_| inherits) {
                return skip(format!(
                    "it is included at {} by a {reason}, where `Connection \"\"` would break the upgrade",
                    model.location(*site)
                ));
            }
        }
        for pass in find_within(model, context, "proxy_pass") {
            let url = model.config(pass.dir.file).arg(pass.dir.id, 0).unwrap_or_default().into_owned();
            if upstream_name(&url).and_then(|host| model.upstream(&host)).is_none() {
                return skip(format!(
                    "it is also included at {} for `{}`, which goes to no upstream {{}} (no keep-alive pool): the \
                     includers need different headers",
                    model.location(*site),
                    model.config(pass.dir.file).describe(pass.dir.id)
                ));
            }
        }
        if !model.find(context, "proxy_http_version").is_empty() {
            with_version += 1;
        }
        includers.push(format!("{} ({})", config.describe(scope), model.location(*site)));
    }
    if with_version != 0 && with_version != sites.len() {
        return skip("only some of its includers set proxy_http_version".to_owned());
    }
    let config = &file.config;
    let Some(anchor) = config.children_named(None, "proxy_set_header").last() else {
        return skip("its proxy_set_header lines are not at its top level".to_owned());
    };
    let mut lines = Vec::new();
    if with_version == 0 {
        lines.push(VERSION_LINE.to_owned());
    }
    lines.push(CONNECTION_LINE.to_owned());
    let edit = Inserter::new(config).after(anchor, &lines, Style::NextLine);
    let line = file.source.line_of(edit.range.start);
    let added: Vec<&str> = lines.iter().map(|l| l.trim_end_matches(';')).collect();
    Outcome::Change(
        Change::modify(ID, file.path.clone(), vec![edit])
            .summary(format!("add {} (snippet {})", added.join("; "), file.path.display()))
            .why(format!(
                "QW4 keep-alive: `proxy_http_version 1.1` and an empty Connection header let nginx reuse connections \
                 from the upstream's `keepalive` pool, for {}. They go into this snippet because the other \
                 proxy_set_header lines are here (a level that sets any proxy_set_header loses all inherited ones). \
                 The snippet is shared by every place that includes it: {}; none is a websocket or streaming \
                 location and all proxy to an upstream {{}}, so all of them want these lines.",
                users.join(", "),
                includers.join(", ")
            ))
            .assume("connections are only reused by gthread/gevent/ASGI workers; sync gunicorn closes after each response (harmless)")
            .verify("nginx -t")
            .at_line(line),
    )
}

/// `keepalive 32;` in an upstream that has none, after its servers and any balancing method.
fn plan_upstream(model: &Model, upstream: DirRef, users: &[String]) -> Outcome {
    let config = model.config(upstream.file);
    let file = model.file(upstream.file);
    let label = format!("upstream {}", config.arg(upstream.id, 0).unwrap_or_default());
    let balancing = config.children(Some(upstream.id)).find(|&d| BALANCING.contains(&config.name(d)));
    if let Some(existing) = config.children_named(Some(upstream.id), "keepalive").next() {
        if let Some(method) = balancing.filter(|&m| m > existing) {
            return Outcome::warning(
                Some(model.location(DirRef { file: upstream.file, id: method })),
                format!(
                    "in {label}, `{}` comes after `{}`: before nginx 1.29.7 this redefines the balancing method and \
                     drops keep-alive ([warn] load balancing method redefined); move `{}` below it",
                    config.describe(method),
                    config.describe(existing),
                    config.describe(existing)
                ),
            );
        }
        return Outcome::ok(
            Some(model.location(DirRef { file: upstream.file, id: existing })),
            format!("{label} already keeps idle connections: `{}`", config.describe(existing)),
        );
    }
    let inserter = Inserter::new(config);
    let edit = match config.children(Some(upstream.id)).last() {
        Some(last) => inserter.after(last, &[KEEPALIVE_LINE.to_owned()], Style::NextLine),
        None => inserter.at_end(upstream.id, &[KEEPALIVE_LINE.to_owned()]),
    };
    let line = file.source.line_of(edit.range.start);
    let mut why = format!(
        "QW4: keep up to 32 idle connections per nginx worker to the app, reused by {} (with proxy_http_version 1.1 \
         and an empty Connection header), instead of a new TCP connection per request.",
        users.join(", ")
    );
    if let Some(method) = balancing {
        why.push_str(&format!(
            " Placed after `{}`: before nginx 1.29.7 a balancing method must come before keepalive, or it is \
             redefined and keepalive dropped ([warn] load balancing method redefined).",
            config.describe(method)
        ));
    }
    Outcome::Change(
        Change::modify(ID, file.path.clone(), vec![edit])
            .summary(format!("add keepalive 32 to {label}"))
            .why(why)
            .assume("connections are only reused by gthread/gevent/ASGI workers; sync gunicorn closes after each response (harmless)")
            .verify("nginx -t")
            .at_line(line),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn buffers(buffer_size: u64, number: u64, size: u64, busy: Option<u64>) -> Buffers {
        Buffers { buffer_size, number, size, busy, temp_write: None, max_temp: 1024 * 1024 * 1024 }
    }

    /// The combinations domain.md 4.5 checked with nginx 1.22.
    #[test]
    fn merge_rules_match_nginx() {
        const K: u64 = 1024;
        assert!(check_merge_rules(&buffers(16 * K, 8, 16 * K, None)).is_ok());
        assert!(check_merge_rules(&buffers(16 * K, 8, 16 * K, Some(32 * K))).is_ok());
        assert!(check_merge_rules(&buffers(128 * K, 4, 256 * K, Some(256 * K))).is_ok());
        assert!(check_merge_rules(&buffers(16 * K, 4, 16 * K, Some(48 * K))).is_ok());
        // proxy_buffer_size 16k alone: busy defaults to 32k > 7 x 4k.
        assert!(check_merge_rules(&buffers(16 * K, 8, 4 * K, None)).unwrap_err().contains("minus one buffer"));
        assert!(check_merge_rules(&buffers(4 * K, 1, 4 * K, None)).unwrap_err().contains("at least 2"));
        assert!(
            check_merge_rules(&buffers(16 * K, 8, 16 * K, Some(8 * K))).unwrap_err().contains("equal to or greater")
        );
        let mut low_temp = buffers(16 * K, 8, 16 * K, None);
        low_temp.temp_write = Some(8 * K);
        assert!(check_merge_rules(&low_temp).unwrap_err().contains("proxy_temp_file_write_size"));
        low_temp.temp_write = None;
        low_temp.max_temp = 8 * K;
        assert!(check_merge_rules(&low_temp).unwrap_err().contains("proxy_max_temp_file_size"));
        low_temp.max_temp = 0;
        assert!(check_merge_rules(&low_temp).is_ok());
    }

    #[test]
    fn sizes() {
        assert_eq!(parse_size("16k"), Some(16384));
        assert_eq!(parse_size("1M"), Some(1 << 20));
        assert_eq!(parse_size("0"), Some(0));
        assert_eq!(parse_size("x"), None);
    }
}
