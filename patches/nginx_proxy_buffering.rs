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

use crate::engine::outcome::{Change, Location, Outcome};
use crate::engine::patch::{Patch, PatchInfo, RealTool};
use crate::facts::celery::celery;
use crate::facts::nginx::buffers::{BufferSet, first_violation};
use crate::facts::nginx::proxy::{
    balancing_method, connection_header, header_context, header_level, pass_upstream, streaming, upstream_name,
};
use crate::facts::nginx::query::{Found, blocks_within, find_within};
use crate::facts::nginx::{BlockRef, DirRef, Model, NginxFile, model};
use crate::lang::nginx::edit::{Inserter, Style, merge_inserts};
use crate::lang::nginx::{Config, DirId};
use crate::patches::nginx_gzip::self_checked;
use crate::project::Project;
use crate::text::edit::Edit;

pub struct NginxProxyBuffering;

const ID: &str = "nginx-proxy-buffering";

/// The buffer set this patch adds, as values (checked against nginx's merge rules) and as lines:
/// header buffer, 8 body buffers of 16k, busy limit 32k (<= 7 x 16k).
const NEW_SET: BufferSet = BufferSet { buffer_size: 16 * 1024, number: 8, size: 16 * 1024, busy: Some(32 * 1024) };
const BUFFER_LINES: &[&str] = &["proxy_buffer_size 16k;", "proxy_buffers 8 16k;", "proxy_busy_buffers_size 32k;"];
const SIZE_NAMES: &[&str] = &["proxy_buffer_size", "proxy_buffers", "proxy_busy_buffers_size"];
const BODY_LINE: &str = "client_body_buffer_size 32k;";
const KEEPALIVE_LINE: &str = "keepalive 32;";
const VERSION_LINE: &str = "proxy_http_version 1.1;";
const CONNECTION_LINE: &str = "proxy_set_header Connection \"\";";
const BUFFERING_ASSUMPTION: &str =
    "proxy_buffering stays on (the default) for the app: sync gunicorn workers need nginx to buffer slow clients";
const KEEPALIVE_ASSUMPTION: &str =
    "connections are only reused by gthread/gevent/ASGI workers; sync gunicorn closes after each response (harmless)";

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
        let mut outcomes: Vec<Outcome> = model.errors.iter().cloned().map(Outcome::from).collect();
        outcomes.extend(model.notes.iter().cloned().map(Outcome::from));
        let servers = model.http_servers();
        let mut shared = Shared::default();
        let celery = celery_services(project);
        for server in &servers {
            if let Some(skip) = proxies_to_celery(&model, *server, &celery) {
                outcomes.push(skip);
                continue;
            }
            outcomes.extend(plan_server(&model, *server, &mut shared));
        }
        for (snippet, users) in shared.snippets {
            outcomes.push(plan_snippet(&model, snippet, &users));
        }
        for (upstream, users) in shared.upstreams {
            outcomes.push(plan_upstream(&model, upstream, &users));
        }
        if servers.is_empty() && model.errors.is_empty() {
            outcomes.push(Outcome::not_found(if model.files.is_empty() {
                "no nginx configuration in the project"
            } else {
                "no server {} block in the project's nginx files"
            }));
        }
        self_checked(&model, outcomes)
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
        .filter_map(|process| Some((process.service()?.to_owned(), process.command())))
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

/// What several servers may share, planned once after all of them: the upstreams that get
/// `keepalive` and the snippets that get the keep-alive headers, each with the passes that use it.
#[derive(Default)]
struct Shared {
    upstreams: BTreeMap<DirRef, Vec<String>>,
    snippets: BTreeMap<usize, Vec<String>>,
}

/// The plan for one `server {}` as it is built: its outcomes, the edits to its file and why.
struct ServerPlan<'a> {
    model: &'a Model,
    server: DirRef,
    inserter: Inserter<'a>,
    /// `server example.com at path:line`, for messages.
    label: String,
    outcomes: Vec<Outcome>,
    edits: Vec<Edit>,
    /// What the edits add, for the change's summary.
    added: Vec<String>,
    why: Vec<String>,
    /// Lines for the server level itself, inserted together.
    server_lines: Vec<String>,
    /// The levels that already get the keep-alive lines.
    connection_levels: BTreeSet<BlockRef>,
    /// Whether a keep-alive line is added, so the change explains them.
    keepalive_added: bool,
}

/// The outcomes for one server that proxies to the app (or says why it is left alone).
fn plan_server(model: &Model, server: DirRef, shared: &mut Shared) -> Vec<Outcome> {
    let mut plan = ServerPlan::new(model, server);
    plan.skip_uwsgi();
    let passes = find_within(model, server.block(), "proxy_pass");
    if passes.is_empty() {
        if plan.outcomes.is_empty() {
            plan.skip_no_pass();
        }
        return plan.outcomes;
    }
    // The buffer sizes must pass nginx's checks in every block of the server, included ones too.
    let blocks = blocks_within(model, server);
    plan.buffer_sizes(&blocks);
    plan.body_buffer(&blocks);
    for pass in passes {
        plan.keepalive(pass, shared);
    }
    plan.finish()
}

/// `` `proxy_pass http://app` (path:line, included in location / at path:line) ``, for messages.
fn describe_pass(model: &Model, pass: Found) -> String {
    let location = pass.context;
    let mut text = format!("`{}` ({}", model.describe(pass.dir), model.location(pass.dir));
    if pass.dir.file != location.file
        && let Some(scope) = location.scope
    {
        let name = model.config(location.file).describe(scope);
        text.push_str(&format!(", included in {name} at {}", model.block_location(location)));
    }
    text.push(')');
    text
}

/// `proxy_http_version 1.1;` (unless the level sets a version) and `proxy_set_header Connection "";`.
fn keepalive_lines(model: &Model, level: BlockRef) -> Vec<String> {
    let mut lines = Vec::new();
    if model.find(level, "proxy_http_version").is_empty() {
        lines.push(VERSION_LINE.to_owned());
    }
    lines.push(CONNECTION_LINE.to_owned());
    lines
}

/// `location /api` for a block, `http` for a file's top level.
fn level_name(model: &Model, level: BlockRef) -> String {
    level.scope.map(|id| model.config(level.file).describe(id)).unwrap_or_else(|| "http".into())
}

/// A change of this patch to one file, at the line of its first edit.
fn change(file: &NginxFile, edits: Vec<Edit>, summary: String, why: String, assumption: &str) -> Outcome {
    let edits = merge_inserts(edits);
    let line = file.source.line_of(edits[0].range.start);
    Outcome::Change(
        Change::modify(ID, file.path.clone(), edits)
            .summary(summary)
            .why(why)
            .assume(assumption)
            .verify("nginx -t")
            .at_line(line),
    )
}

impl<'a> ServerPlan<'a> {
    fn new(model: &'a Model, server: DirRef) -> ServerPlan<'a> {
        let config = model.config(server.file);
        let names = config
            .children_named(Some(server.id), "server_name")
            .next()
            .map(|d| config.args(d).join(" "))
            .unwrap_or_else(|| "_".to_owned());
        ServerPlan {
            model,
            server,
            inserter: Inserter::new(config),
            label: format!("server {names} at {}", model.location(server)),
            outcomes: Vec::new(),
            edits: Vec::new(),
            added: Vec::new(),
            why: vec![
                "QW4: nginx buffers gunicorn's responses so a sync worker is freed as soon as the response is \
                 written, not when a slow client has read it (gunicorn's deploy docs: without buffering it is \
                 \"easily susceptible to denial-of-service attacks\")."
                    .to_owned(),
            ],
            server_lines: Vec::new(),
            connection_levels: BTreeSet::new(),
            keepalive_added: false,
        }
    }

    /// A `uwsgi_pass` serves the app over uwsgi, with uwsgi_* buffers of its own.
    fn skip_uwsgi(&mut self) {
        for uwsgi in find_within(self.model, self.server.block(), "uwsgi_pass") {
            self.outcomes.push(Outcome::skipped(
                Some(self.model.location(uwsgi.dir)),
                format!(
                    "`{}` in {}: the app is served over uwsgi, whose buffers are uwsgi_buffer_*; proxy buffers and \
                     upstream keep-alive to gunicorn do not apply",
                    self.model.describe(uwsgi.dir),
                    self.label
                ),
            ));
        }
    }

    /// No proxy_pass in the project's files. `include /run/app/uwsgi_pass;` (DefectDojo): a file
    /// from outside the project may hold the pass, and "nothing to buffer" would be a guess.
    fn skip_no_pass(&mut self) {
        let (model, server, label) = (self.model, self.server, &self.label);
        let outside = model.outside_includes(server);
        let reason = if outside.is_empty() {
            format!("{label} does not proxy_pass to the app; nothing to buffer")
        } else {
            let listed: Vec<String> = outside
                .iter()
                .map(|&(site, ref pattern)| format!("`include {pattern};` ({})", model.location(site)))
                .collect();
            format!(
                "{label} has no proxy_pass in the project's files, but it includes files from outside the project \
                 that may pass requests to the app (proxy_pass or uwsgi_pass): {}; check their buffers by hand",
                listed.join(", ")
            )
        };
        self.outcomes.push(Outcome::skipped(Some(model.location(server)), reason));
    }

    /// The three buffer sizes as one consistent set, unless any is already set on the chain of
    /// one of `blocks` (then the sizes in effect are only checked).
    fn buffer_sizes(&mut self, blocks: &[BlockRef]) {
        let model = self.model;
        let existing: BTreeSet<DirRef> = SIZE_NAMES
            .iter()
            .flat_map(|name| {
                blocks.iter().flat_map(move |&b| model.inherited(b, name).map(|(_, f)| f).unwrap_or_default())
            })
            .collect();
        if let Some(&first) = existing.first() {
            let list: Vec<String> =
                existing.iter().map(|&d| format!("`{}` ({})", model.describe(d), model.location(d))).collect();
            self.outcomes.push(Outcome::ok(
                Some(model.location(first)),
                format!(
                    "proxy buffer sizes for {} are already set: {}; left alone (the set must stay consistent)",
                    self.label,
                    list.join(", ")
                ),
            ));
            if let Some((block, message)) = first_violation(model, blocks, &BufferSet::NGINX_DEFAULT) {
                self.outcomes.push(Outcome::warning(
                    Some(model.block_location(block)),
                    format!(
                        "the proxy buffer sizes in effect here fail nginx's merge check: {message} (nginx -t will fail)"
                    ),
                ));
            }
        } else if let Some((block, message)) = first_violation(model, blocks, &NEW_SET) {
            self.outcomes.push(Outcome::skipped(
                Some(model.block_location(block)),
                format!(
                    "{}: the 16k buffer set would fail nginx's merge check here ({message}) with the values this \
                     block inherits; buffer sizes left alone",
                    self.label
                ),
            ));
        } else {
            self.server_lines.extend(BUFFER_LINES.iter().map(|s| s.to_string()));
            self.added.push("proxy buffers 16k / 8 x 16k / busy 32k".into());
            self.why.push(
                "Buffers: `proxy_buffer_size 16k` holds the response headers (session cookies and CSP headers \
                 outgrow the default 4k), `proxy_buffers 8 16k` holds 128k of body in memory before nginx spills to \
                 a temp file, `proxy_busy_buffers_size 32k` is written explicitly so the set satisfies nginx's checks \
                 (busy >= 16k and <= 7 x 16k) whatever a location inherits."
                    .to_owned(),
            );
        }
    }

    /// `client_body_buffer_size 32k;` unless one is in effect in one of `blocks`.
    fn body_buffer(&mut self, blocks: &[BlockRef]) {
        let model = self.model;
        let body = blocks.iter().find_map(|&b| model.inherited(b, "client_body_buffer_size")).map(|(_, f)| f[0]);
        if let Some(found) = body {
            self.outcomes.push(Outcome::ok(
                Some(model.location(found)),
                format!("{}: `{}` already set; left alone", self.label, model.describe(found)),
            ));
        } else {
            self.server_lines.push(BODY_LINE.to_owned());
            self.added.push("client_body_buffer_size 32k".into());
            self.why.push(
                "`client_body_buffer_size 32k`: typical form and JSON posts stay in memory instead of a temp file \
                 (default 8k/16k)."
                    .to_owned(),
            );
        }
    }

    /// Keep-alive for one `proxy_pass`: the upstream gets `keepalive` (planned once, in
    /// [`Shared`]) and the location's header level gets `proxy_http_version 1.1;` and
    /// `proxy_set_header Connection "";`.
    fn keepalive(&mut self, pass: Found, shared: &mut Shared) {
        let model = self.model;
        let location = pass.context;
        let where_ = describe_pass(model, pass);
        let Some(upstream) = self.keepalive_upstream(pass, &where_) else { return };
        let headers = header_level(model, location);
        if let Some(connection) = headers.as_ref().and_then(|(_, found)| connection_header(model, found)) {
            let value = model.arg(connection, 1).unwrap_or_default();
            let outcome = if value.is_empty() {
                shared.upstreams.entry(upstream).or_default().push(where_.clone());
                Outcome::ok(
                    Some(model.location(connection)),
                    format!("{where_}: Connection header already cleared for keep-alive"),
                )
            } else {
                Outcome::skipped(
                    Some(model.location(connection)),
                    format!("{where_}: `Connection {value:?}` is set on purpose; left as is"),
                )
            };
            self.outcomes.push(outcome);
            return;
        }
        shared.upstreams.entry(upstream).or_default().push(where_.clone());
        // The level the new lines go to: where the other proxy_set_header lines are, else the server.
        let target = headers.as_ref().map_or(self.server.block(), |(level, _)| *level);
        if target != location && shares_with_streaming(model, self.server, target, location) {
            self.own_header_set(pass, &where_, headers.as_ref().map_or(&[], |(_, found)| found.as_slice()));
            return;
        }
        if !self.connection_levels.insert(target) {
            return;
        }
        let lines = keepalive_lines(model, target);
        if target == self.server.block() && headers.is_none() {
            self.server_lines.extend(lines);
            self.added.push("proxy_http_version 1.1 + Connection \"\" at server level".into());
            self.keepalive_added = true;
        } else if target.file != self.server.file {
            self.in_included_location(pass, target, &where_, &lines);
        } else {
            let snippet = headers.as_ref().and_then(|(_, found)| found.last()).map(|d| d.file);
            self.at_header_level(target, snippet, &where_, &lines, shared);
        }
    }

    /// The upstream {} block `pass` goes to, when keep-alive is for it: not for an address with
    /// variables or a literal one, a websocket or streaming location, or a deliberate
    /// `proxy_http_version 1.0`. Otherwise the skip is noted and `None` returned.
    fn keepalive_upstream(&mut self, pass: Found, where_: &str) -> Option<DirRef> {
        let model = self.model;
        let at = Some(model.location(pass.dir));
        let url = model.arg(pass.dir, 0).unwrap_or_default();
        let Some(host) = upstream_name(&url) else {
            self.outcomes.push(Outcome::skipped(
                at,
                format!("{where_}: the address uses variables; keep-alive needs a named upstream {{}}"),
            ));
            return None;
        };
        let Some(upstream) = model.upstream(&host) else {
            self.outcomes.push(Outcome::skipped(
                at,
                format!(
                    "{where_} goes to a literal address, not an upstream {{}} block: keep-alive connections need one \
                     (`upstream app {{ server {host}...; keepalive 32; }}` and `proxy_pass http://app;`); left as is"
                ),
            ));
            return None;
        };
        if let Some(kind) = streaming(model, pass.context) {
            self.outcomes.push(Outcome::skipped(
                at,
                format!(
                    "{where_}: {}; it keeps its own Connection header (never `Connection \"\"` there)",
                    kind.describe(model)
                ),
            ));
            return None;
        }
        if let Some(version) = model.effective(pass.context, "proxy_http_version")
            && model.arg(version, 0).as_deref() != Some("1.1")
        {
            self.outcomes.push(Outcome::skipped(
                Some(model.location(version)),
                format!(
                    "{where_}: `{}` is set on purpose; upstream keep-alive needs 1.1, left as is",
                    model.describe(version)
                ),
            ));
            return None;
        }
        Some(upstream)
    }

    /// Adding at the level the location inherits its headers from would reach a websocket or
    /// streaming location too: give this location its own complete header set instead (domain.md
    /// 4.6), the inherited lines (and `include proxy_params;`) copied as written.
    fn own_header_set(&mut self, pass: Found, where_: &str, inherited: &[DirRef]) {
        let (model, server) = (self.model, self.server);
        let location = pass.context;
        let Some(scope) = location.scope.filter(|_| location.file == server.file) else {
            self.outcomes.push(Outcome::skipped(
                Some(model.location(pass.dir)),
                format!(
                    "{where_}: its location is in another file ({}) and shares its proxy_set_header lines with a \
                     websocket/streaming location; add `proxy_http_version 1.1;` and `proxy_set_header Connection \
                     \"\";` there by hand",
                    model.file(location.file).path.display()
                ),
            ));
            return;
        };
        if !self.connection_levels.insert(location) {
            return;
        }
        let mut lines: Vec<String> = inherited.iter().map(|&d| format!("{};", model.describe(d))).collect();
        lines.push(CONNECTION_LINE.to_owned());
        if model.find(location, "proxy_http_version").is_empty() {
            lines.insert(0, VERSION_LINE.to_owned());
        }
        let config = model.config(server.file);
        let edit = if pass.dir.file == server.file && config.parent(pass.dir.id) == Some(scope) {
            self.inserter.after(pass.dir.id, &lines, Style::NextLine)
        } else {
            self.inserter.at_end(scope, &lines)
        };
        let name = config.describe(scope);
        self.edits.push(edit);
        self.added
            .push(format!("proxy_http_version 1.1 + Connection \"\" (with copies of the inherited headers) in {name}"));
        self.keepalive_added = true;
        self.why.push(format!(
            "In {name} they come with copies of the inherited proxy_set_header lines: adding `Connection \"\"` at the \
             level they are inherited from would also reach a websocket/streaming location."
        ));
    }

    /// The location's proxy_set_header lines are in another file (a location kept in a
    /// snippet): edited in place when only this server includes it, else left to the user.
    fn in_included_location(&mut self, pass: Found, target: BlockRef, where_: &str, lines: &[String]) {
        let model = self.model;
        let target_file = model.file(target.file);
        let config = &target_file.config;
        let anchor = target.scope.and_then(|scope| config.children_named(Some(scope), "proxy_set_header").last());
        let (1, Some(anchor)) = (model.includers(target.file).len(), anchor) else {
            self.outcomes.push(Outcome::skipped(
                Some(model.location(pass.dir)),
                format!(
                    "{where_}: its proxy_set_header lines are in another file ({}); add `proxy_http_version 1.1;` and \
                     `proxy_set_header Connection \"\";` there by hand",
                    target_file.path.display()
                ),
            ));
            return;
        };
        let edit = Inserter::new(config).after(anchor, lines, Style::NextLine);
        let added: Vec<&str> = lines.iter().map(|l| l.trim_end_matches(';')).collect();
        self.outcomes.push(change(
            target_file,
            vec![edit],
            format!("add {} in {} ({})", added.join("; "), level_name(model, target), model.block_location(target)),
            format!(
                "QW4 keep-alive: `proxy_http_version 1.1` and an empty Connection header let nginx reuse connections \
                 from the upstream's `keepalive` pool, for {where_}. They go next to the location's other \
                 proxy_set_header lines (a level that sets any loses all inherited ones), in {}, which only {} \
                 includes.",
                target_file.path.display(),
                self.label
            ),
            KEEPALIVE_ASSUMPTION,
        ));
    }

    /// The lines go after the other proxy_set_header lines of `target`, a block of the server's
    /// file. When those are all in a snippet `target` includes (`headers_in`), the new ones join
    /// them there, planned once per snippet for all its includers.
    fn at_header_level(
        &mut self,
        target: BlockRef,
        headers_in: Option<usize>,
        where_: &str,
        lines: &[String],
        shared: &mut Shared,
    ) {
        let config = self.model.config(target.file);
        let anchor = config
            .children(target.scope)
            .filter(|&d| {
                config.name(d) == "proxy_set_header"
                    || (config.name(d) == "include" && config.arg(d, 0).is_some_and(|a| a.ends_with("proxy_params")))
            })
            .last();
        let edit = match (anchor, headers_in.filter(|&file| file != target.file), target.scope) {
            (None, Some(snippet), _) => {
                shared.snippets.entry(snippet).or_default().push(where_.to_owned());
                return;
            }
            (Some(anchor), _, _) => self.inserter.after(anchor, lines, Style::NextLine),
            (None, None, Some(owner)) => self.inserter.at_end(owner, lines),
            (None, None, None) => return,
        };
        self.edits.push(edit);
        self.added.push(format!("proxy_http_version 1.1 + Connection \"\" in {}", level_name(self.model, target)));
        self.keepalive_added = true;
    }

    /// The server's change (its lines at server level and in its locations), first, then the notes.
    fn finish(mut self) -> Vec<Outcome> {
        let here = Some(self.model.location(self.server));
        if self.keepalive_added {
            self.why.push(
                "Keep-alive: `proxy_http_version 1.1` and an empty Connection header let nginx reuse connections from \
                 the upstream's `keepalive` pool instead of opening one per request; they go where the location's \
                 other proxy_set_header lines are, because a level that sets any proxy_set_header loses all inherited \
                 ones (Host, X-Forwarded-*)."
                    .to_owned(),
            );
        }
        if !self.server_lines.is_empty() {
            let config = self.model.config(self.server.file);
            self.edits.push(server_insertion(config, &self.inserter, self.server.id, &self.server_lines));
        }
        if self.edits.is_empty() {
            if self.outcomes.is_empty() {
                self.outcomes.push(Outcome::ok(
                    here,
                    format!("{}: proxy buffering and keep-alive already configured", self.label),
                ));
            }
            return self.outcomes;
        }
        let summary = format!("add {} ({})", self.added.join("; "), self.label);
        let file = self.model.file(self.server.file);
        self.outcomes.insert(0, change(file, self.edits, summary, self.why.join(" "), BUFFERING_ASSUMPTION));
        self.outcomes
    }
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
fn shares_with_streaming(model: &Model, server: DirRef, target: BlockRef, except: BlockRef) -> bool {
    let config = model.config(server.file);
    config.blocks_within(server.id).into_iter().any(|id| {
        let block = BlockRef { file: server.file, scope: Some(id) };
        if block == except || block == target || config.name(id) != "location" {
            return false;
        }
        let inherits = header_level(model, block).map_or(server.block(), |(level, _)| level);
        inherits == target && streaming(model, block).is_some()
    })
}

/// `proxy_http_version 1.1;` and `proxy_set_header Connection "";` in a snippet that holds the
/// proxy_set_header lines of the locations using it. The snippet is shared: every place that
/// includes it gets the lines, so each includer must want them (see [`snippet_includers`]).
fn plan_snippet(model: &Model, snippet: usize, users: &[String]) -> Outcome {
    let file = model.file(snippet);
    let skip = |reason: String| {
        Outcome::skipped(
            Some(Location::new(file.path.clone(), 1)),
            format!(
                "{reason}; the proxy_set_header lines of {} are in {}, shared by every includer: add \
                 `proxy_http_version 1.1;` and `proxy_set_header Connection \"\";` by hand where they are wanted",
                users.join(", "),
                file.path.display()
            ),
        )
    };
    let includers = match snippet_includers(model, snippet) {
        Ok(includers) => includers,
        Err(reason) => return skip(reason),
    };
    let Some(anchor) = file.config.children_named(None, "proxy_set_header").last() else {
        return skip("its proxy_set_header lines are not at its top level".to_owned());
    };
    let mut lines = Vec::new();
    if !includers.set_version {
        lines.push(VERSION_LINE.to_owned());
    }
    lines.push(CONNECTION_LINE.to_owned());
    let edit = Inserter::new(&file.config).after(anchor, &lines, Style::NextLine);
    let added: Vec<&str> = lines.iter().map(|l| l.trim_end_matches(';')).collect();
    change(
        file,
        vec![edit],
        format!("add {} (snippet {})", added.join("; "), file.path.display()),
        format!(
            "QW4 keep-alive: `proxy_http_version 1.1` and an empty Connection header let nginx reuse connections \
             from the upstream's `keepalive` pool, for {}. They go into this snippet because the other \
             proxy_set_header lines are here (a level that sets any proxy_set_header loses all inherited ones). \
             The snippet is shared by every place that includes it: {}; none is a websocket or streaming location \
             and all proxy to an upstream {{}}, so all of them want these lines.",
            users.join(", "),
            includers.described.join(", ")
        ),
        KEEPALIVE_ASSUMPTION,
    )
}

/// The places that include a snippet, when every one of them wants the keep-alive lines.
struct Includers {
    /// `location / (path:line)` for each.
    described: Vec<String>,
    /// Whether they set proxy_http_version themselves (all of them do, or none).
    set_version: bool,
}

/// The includers of `snippet`, or why one of them does not want the keep-alive lines: it is a
/// websocket or streaming location, proxies to no upstream {}, or disagrees with the others on
/// proxy_http_version.
fn snippet_includers(model: &Model, snippet: usize) -> Result<Includers, String> {
    let sites = model.includers(snippet);
    let mut described = Vec::new();
    let mut with_version = 0;
    for &site in &sites {
        let context = includer_context(model, site)?;
        if !model.find(context, "proxy_http_version").is_empty() {
            with_version += 1;
        }
        let scope = context.scope.expect("an includer's context is a block");
        described.push(format!("{} ({})", model.config(site.file).describe(scope), model.location(site)));
    }
    if with_version != 0 && with_version != sites.len() {
        return Err("only some of its includers set proxy_http_version".to_owned());
    }
    Ok(Includers { described, set_version: with_version != 0 })
}

/// The block whose headers the snippet included at `site` supplies, when it wants the
/// keep-alive lines: neither it nor a location inheriting its headers is a websocket or
/// streaming one, and every proxy_pass in it goes to an upstream {}.
fn includer_context(model: &Model, site: DirRef) -> Result<BlockRef, String> {
    let config = model.config(site.file);
    let Some(scope) = header_context(config, config.parent(site.id)) else {
        return Err(format!("{} includes it at a file's top level, whose context is unknown", model.location(site)));
    };
    let context = BlockRef { file: site.file, scope: Some(scope) };
    for block in config.blocks_within(scope).into_iter().map(|id| BlockRef { file: site.file, scope: Some(id) }) {
        let inherits = block == context || header_level(model, block).is_some_and(|(level, _)| level == context);
        if inherits && let Some(kind) = streaming(model, block) {
            return Err(format!(
                "it is included at {} by a {}, where `Connection \"\"` would break the upgrade",
                model.location(site),
                kind.describe(model)
            ));
        }
    }
    for pass in find_within(model, context, "proxy_pass") {
        if pass_upstream(model, pass.dir).is_none() {
            return Err(format!(
                "it is also included at {} for `{}`, which goes to no upstream {{}} (no keep-alive pool): the \
                 includers need different headers",
                model.location(site),
                model.describe(pass.dir)
            ));
        }
    }
    Ok(context)
}

/// `keepalive 32;` in an upstream that has none, after its servers and any balancing method.
fn plan_upstream(model: &Model, upstream: DirRef, users: &[String]) -> Outcome {
    let config = model.config(upstream.file);
    let file = model.file(upstream.file);
    let label = format!("upstream {}", config.arg(upstream.id, 0).unwrap_or_default());
    let balancing = balancing_method(config, upstream.id);
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
    change(file, vec![edit], format!("add keepalive 32 to {label}"), why, KEEPALIVE_ASSUMPTION)
}
