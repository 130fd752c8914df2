//! `nginx-gzip`: gzip compression for text responses (QW4).
//!
//! What: `gzip on; gzip_comp_level 5; gzip_min_length 256; gzip_proxied any; gzip_vary on;` and a
//! `gzip_types` list of text formats (never text/html: nginx always compresses it, and listing it
//! gives `[warn] duplicate MIME type "text/html"`).
//!
//! Where: the `http {}` block of a main nginx.conf in the project, so every server inherits it.
//! For files that an nginx.conf outside the project includes inside `http {}` (conf.d,
//! sites-enabled), inside their `server {}` blocks, never at their top level: Debian's nginx.conf already says
//! `gzip on;` and a second one in the same http context is fatal (`"gzip" directive is duplicate`).
//!
//! Only what is missing is added: a setting already in effect (at this level or inherited) is
//! kept, missing MIME types are merged into an existing `gzip_types`, and an explicit `gzip off;`
//! is deliberate (skipped).

use std::collections::BTreeMap;
use std::path::PathBuf;

use crate::engine::outcome::{Change, Location, Outcome};
use crate::engine::patch::{Patch, PatchInfo, RealTool};
use crate::facts::nginx::{BlockRef, DirRef, Model, Role, model};
use crate::lang::nginx::edit::{Inserter, Style, merge_inserts};
use crate::lang::nginx::lexer::TokenKind;
use crate::lang::nginx::{DirId, Node};
use crate::project::Project;
use crate::text::edit::Edit;

pub struct NginxGzip;

const ID: &str = "nginx-gzip";

/// The settings, in the order they are written.
pub const SETTINGS: &[(&str, &str)] = &[
    ("gzip", "on"),
    ("gzip_comp_level", "5"),
    ("gzip_min_length", "256"),
    ("gzip_proxied", "any"),
    ("gzip_vary", "on"),
];

/// The MIME types to compress (text/html is always compressed and must not be listed).
pub const TYPES: &[&str] = &[
    "text/css",
    "text/plain",
    "text/xml",
    "text/javascript",
    "application/javascript",
    "application/json",
    "application/xml",
    "application/rss+xml",
    "application/atom+xml",
    "image/svg+xml",
    "application/manifest+json",
    "font/ttf",
    "font/otf",
    "application/vnd.ms-fontobject",
];

/// What the catalog knows of this patch.
pub static INFO: PatchInfo = PatchInfo {
    id: ID,
    quick_win: "QW4",
    why_prefix: "QW4",
    title: "nginx gzip compression for text responses (never text/html)",
    phase_1: true,
    verify: &["nginx -t", "curl -sI -H 'Accept-Encoding: gzip' https://<host>/static/<file>.css"],
    checked_by: RealTool::Nginx,
};

impl Patch for NginxGzip {
    fn info(&self) -> &'static PatchInfo {
        &INFO
    }

    fn plan(&self, project: &Project) -> Vec<Outcome> {
        let model = model(project);
        let mut outcomes: Vec<Outcome> = model.errors.iter().cloned().map(Outcome::from).collect();
        let http_blocks: Vec<BlockRef> = model
            .files
            .iter()
            .enumerate()
            .filter(|(_, file)| file.role == Role::Main)
            .flat_map(|(index, file)| {
                file.config.children_named(None, "http").map(move |id| BlockRef { file: index, scope: Some(id) })
            })
            .collect();
        let servers = model.http_servers();
        // Servers that set gzip directives themselves override http only for those directives.
        // When some servers set none, the full set goes to http and these inherit the rest of
        // it; when every server sets its own (or http says `gzip off;`), each is planned alone.
        let mut own_planned: Vec<BlockRef> = Vec::new();
        for &block in &http_blocks {
            let content: Vec<BlockRef> = servers
                .iter()
                .map(|s| BlockRef { file: s.file, scope: Some(s.id) })
                .filter(|s| {
                    model.levels(*s).contains(&block)
                        && redirect_only(&model, DirRef { file: s.file, id: s.scope.expect("server") }).is_none()
                })
                .collect();
            let own: Vec<BlockRef> = content.iter().copied().filter(|s| sets_gzip(&model, *s)).collect();
            let at_http = own.is_empty() || own.len() < content.len() || sets_gzip(&model, block);
            if at_http {
                outcomes.extend(plan_level(&model, block, Placement::Http));
            } else {
                let config = model.config(block.file);
                let id = block.scope.expect("targets are blocks");
                outcomes.push(Outcome::skipped(
                    Some(Location::new(model.file(block.file).path.clone(), config.line(id))),
                    format!(
                        "every server in this {} block sets its own gzip directives; each is planned on its own, \
                         the missing settings added in the server itself",
                        config.describe(id)
                    ),
                ));
            }
            for server in own {
                own_planned.push(server);
                // Under an http block that says `gzip off;` (left alone), the server's own
                // settings are all it has.
                if !at_http || gzip_off(&model, block).is_some() {
                    outcomes.extend(plan_level(&model, server, Placement::ServerOwn));
                } else if let Some(off) = gzip_off(&model, server) {
                    outcomes.push(deliberate_off(&model, off, "this server"));
                } else {
                    outcomes.push(inherits_the_rest(&model, server, block));
                }
            }
        }
        // Servers under a main http block inherit from it; the others are in conf.d /
        // sites-enabled files that an nginx.conf outside the project includes.
        for server in &servers {
            let block = BlockRef { file: server.file, scope: Some(server.id) };
            if own_planned.contains(&block) {
                continue;
            }
            let outermost = model.levels(block)[0];
            if model.file(outermost.file).role == Role::Main {
                if let Some(off) = gzip_off(&model, block) {
                    outcomes.push(deliberate_off(&model, off, "this server"));
                }
                continue;
            }
            match redirect_only(&model, *server) {
                Some(reason) => outcomes.push(Outcome::skipped(Some(model.location(*server)), reason)),
                None => outcomes.extend(plan_level(&model, block, Placement::Server)),
            }
        }
        if http_blocks.is_empty() && servers.is_empty() && model.errors.is_empty() {
            outcomes.push(Outcome::not_found(if model.files.is_empty() {
                "no nginx configuration in the project"
            } else {
                "no http {} block in a main nginx.conf and no server {} block in the project's nginx files"
            }));
        }
        outcomes
    }
}

/// Why the target level was chosen, for the change's explanation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Placement {
    Http,
    Server,
    /// A server under a main http block that sets gzip directives of its own.
    ServerOwn,
}

/// Whether the block itself (or a file it includes) sets any gzip directive.
fn sets_gzip(model: &Model, block: BlockRef) -> bool {
    ["gzip", "gzip_types"]
        .iter()
        .chain(SETTINGS.iter().map(|(name, _)| name))
        .any(|name| !model.find(block, name).is_empty())
}

/// Directives that make a server send content (anything else only redirects or refuses).
const CONTENT: &[&str] =
    &["proxy_pass", "uwsgi_pass", "fastcgi_pass", "grpc_pass", "scgi_pass", "root", "alias", "try_files", "index"];

/// Why a server has nothing to compress (it only redirects, as the usual port-80 server does).
fn redirect_only(model: &Model, server: DirRef) -> Option<String> {
    let config = model.config(server.file);
    let mut stack = vec![server.id];
    let mut redirects = false;
    while let Some(id) = stack.pop() {
        for child in config.children(Some(id)) {
            let name = config.name(child);
            if CONTENT.contains(&name) || name == "include" {
                return None;
            }
            redirects |= name == "return";
            if config.directive(child).block.is_some() {
                stack.push(child);
            }
        }
    }
    redirects
        .then(|| "this server only redirects (`return`, no proxy_pass, root or alias): nothing to compress".to_owned())
}

/// A server that sets some gzip directives of its own, under an http block that gets (or has)
/// the full set: nginx replaces only the directives the server sets, and every other one is
/// inherited from http, so the server needs nothing more. Its own values (a shorter
/// `gzip_types`, a higher `gzip_min_length`) are its tuning and are kept.
fn inherits_the_rest(model: &Model, server: BlockRef, http: BlockRef) -> Outcome {
    let config = model.config(server.file);
    let id = server.scope.expect("servers are blocks");
    let own: Vec<String> = ["gzip", "gzip_types"]
        .iter()
        .chain(SETTINGS.iter().map(|(name, _)| name))
        .flat_map(|name| model.find(server, name))
        .map(|d| format!("`{}` ({})", config_line(model, d), model.location(d)))
        .collect();
    let http_at =
        Location::new(model.file(http.file).path.clone(), model.config(http.file).line(http.scope.expect("http")));
    Outcome::ok(
        Some(Location::new(model.file(server.file).path.clone(), config.line(id))),
        format!(
            "{} sets its own {}: nginx replaces only those, and inherits every other gzip setting from the http \
             block at {http_at}, where the full set is in effect; nothing more to add here",
            config.describe(id),
            own.join(", ")
        ),
    )
}

fn gzip_off(model: &Model, block: BlockRef) -> Option<DirRef> {
    let (_, found) = model.inherited(block, "gzip")?;
    let last = *found.last()?;
    (model.config(last.file).arg(last.id, 0).as_deref() == Some("off")).then_some(last)
}

fn deliberate_off(model: &Model, off: DirRef, scope: &str) -> Outcome {
    Outcome::skipped(
        Some(model.location(off)),
        format!("`gzip off;` for {scope} is deliberate (compression turned off on purpose); left alone"),
    )
}

/// The outcomes for one target level (an http block, or a server block).
fn plan_level(model: &Model, block: BlockRef, placement: Placement) -> Vec<Outcome> {
    let config = model.config(block.file);
    let id = block.scope.expect("targets are blocks");
    let file = model.file(block.file);
    let here = Location::new(file.path.clone(), config.line(id));
    let label = format!("{} at {}", config.describe(id), here);
    if let Some(off) = gzip_off(model, block) {
        return vec![deliberate_off(model, off, &label)];
    }
    let mut present = Vec::new();
    let mut lines = Vec::new();
    for (name, value) in SETTINGS {
        match model.inherited(block, name) {
            Some((_, found)) => {
                present.push(format!("{} ({})", config_line(model, found[found.len() - 1]), model.location(found[0])))
            }
            None => lines.push(format!("{name} {value};")),
        }
    }
    let mut edits: BTreeMap<PathBuf, Vec<Edit>> = BTreeMap::new();
    let mut added_types: Vec<&str> = Vec::new();
    let mut notes = Vec::new();
    match model.inherited(block, "gzip_types") {
        Some((_, found)) => {
            let listed: Vec<String> = found
                .iter()
                .flat_map(|d| model.config(d.file).args(d.id).into_iter().map(|a| a.into_owned()).collect::<Vec<_>>())
                .collect();
            if let Some(html) = found.iter().find(|d| model.config(d.file).args(d.id).iter().any(|a| a == "text/html"))
            {
                notes.push(Outcome::warning(
                    Some(model.location(*html)),
                    "gzip_types lists text/html, which nginx always compresses: nginx -t says [warn] duplicate MIME \
                     type \"text/html\"; remove it from the list",
                ));
            }
            if !listed.iter().any(|t| t == "*") {
                added_types = TYPES.iter().copied().filter(|t| !listed.iter().any(|l| l == t)).collect();
            }
            let last = found[found.len() - 1];
            if added_types.is_empty() {
                present.push(format!("gzip_types ({})", model.location(last)));
            } else {
                let target = model.file(last.file);
                let edit = Inserter::new(&target.config).append_args(last.id, &added_types);
                edits.entry(target.path.clone()).or_default().push(edit);
            }
        }
        None => {
            lines.push(format!("gzip_types {};", TYPES.join(" ")));
        }
    }
    if lines.is_empty() && edits.is_empty() {
        notes
            .insert(0, Outcome::ok(Some(here), format!("gzip already configured for {label}: {}", present.join(", "))));
        return notes;
    }
    if !lines.is_empty() {
        edits.entry(file.path.clone()).or_default().push(insertion(model, block.file, id, &lines));
    }

    let mut added: Vec<String> = lines.iter().map(|l| l.trim_end_matches(';').to_owned()).collect();
    if !added_types.is_empty() {
        added.push(format!("gzip_types += {}", added_types.join(" ")));
    }
    let place = match placement {
        Placement::Http => format!("in {label}, the http block of the main nginx.conf, so every server inherits it"),
        Placement::ServerOwn => format!(
            "inside {label}: this server turns gzip on with directives of its own and nothing is added at the \
             http level (every server there sets its own, or http says `gzip off;`), so the missing ones go here"
        ),
        Placement::Server => format!(
            "inside {label}: this file is included inside http {{}} by an nginx.conf that is not in the project, so a \
             top-level gzip line could duplicate the distro's own `gzip on;` (fatal: \"gzip\" directive is duplicate)"
        ),
    };
    let mut why = format!(
        "QW4: compress text responses (CSS, JS, JSON, XML, SVG, fonts); level 5 gives about 75% smaller responses at \
         little CPU, 256 bytes is the size below which gzip does not pay, `gzip_proxied any` compresses behind a CDN \
         or proxy, `gzip_vary` keeps caches correct. Added {place}. Only the missing settings are added; text/html is \
         always compressed by nginx and is never listed."
    );
    if !present.is_empty() {
        why.push_str(&format!(" Kept as they are: {}.", present.join(", ")));
    }
    let mut assumptions = Vec::new();
    for level in model.levels(block) {
        for (_, pattern) in model.unresolved_includes(level) {
            if !Model::is_distro_include(&pattern) {
                assumptions.push(format!(
                    "`include {pattern}` loads no file of the project; assumed to set no gzip directive"
                ));
            }
        }
    }
    if placement == Placement::Server || file.role == Role::HttpInclude {
        assumptions.push(format!("{} is included inside http {{}} (conf.d / sites-enabled)", file.path.display()));
    }
    let mut outcomes = notes;
    for (path, file_edits) in edits {
        let target = model.files.iter().find(|f| f.path == path).expect("edits are for model files");
        let edits = merge_inserts(file_edits);
        let line = target.source.line_of(edits[0].range.start);
        let change = Change::modify(ID, path, edits)
            .summary(format!("add {} ({})", added.join("; "), label))
            .why(why.clone())
            .assumptions(assumptions.clone())
            .verify("nginx -t")
            .at_line(line);
        outcomes.push(Outcome::Change(change));
    }
    outcomes
}

fn config_line(model: &Model, dir: DirRef) -> String {
    model.config(dir.file).describe(dir.id)
}

/// Where the new lines go in the block `owner`: after the last gzip line, or after a commented
/// `#gzip on;`, or after the block's last plain directive before its first nested block or
/// server-file include.
fn insertion(model: &Model, file: usize, owner: DirId, lines: &[String]) -> Edit {
    let config = model.config(file);
    let inserter = Inserter::new(config);
    if let Some(last) = config.children(Some(owner)).filter(|&d| config.name(d).starts_with("gzip")).last() {
        return inserter.after(last, lines, Style::EndOfLine);
    }
    let block = config.directive(owner).block.as_ref().expect("targets are blocks");
    let comment = block.children.iter().rev().find_map(|node| match *node {
        Node::Trivia(index) => {
            let token = config.tokens()[index as usize];
            let text = &config.text()[token.range()];
            let body = text.trim_start_matches('#').trim_start();
            (token.kind == TokenKind::Comment && body.starts_with("gzip")).then_some(token)
        }
        Node::Directive(_) => None,
    });
    if let Some(token) = comment {
        let indent = inserter.indent_of_line(token.start as usize).to_owned();
        return inserter.after_offset(token.end as usize, &indent, lines, Style::EndOfLine);
    }
    // Settings come before the nested blocks and before the include of the server files.
    let children: Vec<DirId> = config.children(Some(owner)).collect();
    let opens_servers = |d: DirId| {
        config.directive(d).block.is_some()
            || (config.name(d) == "include"
                && config.arg(d, 0).is_some_and(|p| p.contains("conf.d") || p.contains("sites-")))
    };
    let plain = children.iter().take_while(|&&d| !opens_servers(d)).last();
    match plain.or(children.last()) {
        Some(&anchor) => inserter.after(anchor, lines, Style::EndOfLine),
        None => inserter.at_end(owner, lines),
    }
}
