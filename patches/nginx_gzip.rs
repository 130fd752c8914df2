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

use crate::engine::outcome::{Change, ChangeKind, Location, Outcome};
use crate::engine::patch::{Patch, PatchInfo, RealTool};
use crate::facts::nginx::check::{Proposal, check_all};
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
        outcomes.extend(model.notes.iter().cloned().map(Outcome::from));
        let http_blocks = model.main_http_blocks();
        let servers = model.http_servers();
        let mut planned_alone: Vec<BlockRef> = Vec::new();
        for &http in &http_blocks {
            outcomes.extend(plan_http(&model, http, &servers, &mut planned_alone));
        }
        outcomes.extend(plan_other_servers(&model, &servers, &planned_alone));
        if http_blocks.is_empty() && servers.is_empty() && model.errors.is_empty() {
            outcomes.push(Outcome::not_found(if model.files.is_empty() {
                "no nginx configuration in the project"
            } else {
                "no http {} block in a main nginx.conf and no server {} block in the project's nginx files"
            }));
        }
        self_checked(&model, outcomes)
    }
}

/// Each change of an nginx patch (this one and nginx-proxy-buffering) is self-checked before it
/// is offered ([`check_all`]): the configuration as it leaves it, includes expanded, must not
/// repeat a once-per-context directive and must pass nginx's buffer and keep-alive checks, and
/// it must not edit a configuration that only development uses. One that fails becomes
/// `skipped` with the failed check; one that passes says what was checked.
pub fn self_checked(model: &Model, outcomes: Vec<Outcome>) -> Vec<Outcome> {
    let modify = |outcome: &Outcome| match outcome {
        Outcome::Change(change) => match &change.kind {
            ChangeKind::Modify { edits } => Some(Proposal { path: change.path.clone(), edits: edits.clone() }),
            ChangeKind::Create { .. } => None,
        },
        _ => None,
    };
    let proposals: Vec<Proposal> = outcomes.iter().filter_map(modify).collect();
    let mut verdicts = check_all(model, &proposals).into_iter();
    outcomes
        .into_iter()
        .map(|outcome| {
            if modify(&outcome).is_none() {
                return outcome;
            }
            let Outcome::Change(change) = outcome else { unreachable!("only changes are proposals") };
            match verdicts.next().expect("a verdict per proposal") {
                Ok(checked) => Outcome::Change(change.assume(checked)),
                Err(why) => Outcome::skipped(
                    Some(Location::new(change.path.clone(), change.line)),
                    format!("{why}; so this change is not offered: {}", change.summary),
                ),
            }
        })
        .collect()
}

/// Why the target level was chosen, for the change's explanation.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Placement {
    Http,
    Server,
    /// A server under a main http block that sets gzip directives of its own.
    ServerOwn,
}

/// The skip for a server that has nothing to compress.
const REDIRECT_ONLY: &str = "this server only redirects (`return`, no proxy_pass, root or alias): nothing to compress";

/// Every directive this patch sets: a level that sets any of them has gzip settings of its own.
fn gzip_names() -> impl Iterator<Item = &'static str> {
    ["gzip", "gzip_types"].into_iter().chain(SETTINGS.iter().map(|(name, _)| *name))
}

/// Whether the block itself (or a file it includes) sets any gzip directive.
fn sets_gzip(model: &Model, block: BlockRef) -> bool {
    gzip_names().any(|name| !model.find(block, name).is_empty())
}

/// An http block of a main nginx.conf, and the servers under it that set gzip directives of
/// their own (added to `planned_alone`). Such servers override http only for those directives:
/// when some servers set none, the full set goes to http and these inherit the rest of it; when
/// every server sets its own (or http says `gzip off;`), each is planned alone.
fn plan_http(model: &Model, http: BlockRef, servers: &[DirRef], planned_alone: &mut Vec<BlockRef>) -> Vec<Outcome> {
    let content: Vec<BlockRef> = servers
        .iter()
        .filter(|&&server| model.levels(server.block()).contains(&http) && !model.only_redirects(server))
        .map(|server| server.block())
        .collect();
    let own: Vec<BlockRef> = content.iter().copied().filter(|&server| sets_gzip(model, server)).collect();
    let at_http = own.is_empty() || own.len() < content.len() || sets_gzip(model, http);
    let mut outcomes = if at_http {
        plan_level(model, http, Placement::Http)
    } else {
        let describe = model.config(http.file).describe(http.scope.expect("http is a block"));
        vec![Outcome::skipped(
            Some(model.block_location(http)),
            format!(
                "every server in this {describe} block sets its own gzip directives; each is planned on its own, the \
                 missing settings added in the server itself"
            ),
        )]
    };
    let http_off = model.effective_is(http, "gzip", "off").is_some();
    for server in own {
        planned_alone.push(server);
        // Under an http block that says `gzip off;` (left alone), the server's own settings are
        // all it has.
        if !at_http || http_off {
            outcomes.extend(plan_level(model, server, Placement::ServerOwn));
        } else if let Some(off) = model.effective_is(server, "gzip", "off") {
            outcomes.push(deliberate_off(model, off, "this server"));
        } else {
            outcomes.push(inherits_the_rest(model, server, http));
        }
    }
    outcomes
}

/// The servers not planned with an http block. Those under a main http block inherit from it;
/// the others are in conf.d / sites-enabled files that an nginx.conf outside the project
/// includes, and get the settings in the server itself.
fn plan_other_servers(model: &Model, servers: &[DirRef], planned_alone: &[BlockRef]) -> Vec<Outcome> {
    let mut outcomes = Vec::new();
    for &server in servers {
        let block = server.block();
        if planned_alone.contains(&block) {
            continue;
        }
        let outermost = model.levels(block)[0];
        if model.file(outermost.file).role == Role::Main {
            if let Some(off) = model.effective_is(block, "gzip", "off") {
                outcomes.push(deliberate_off(model, off, "this server"));
            }
        } else if model.only_redirects(server) {
            outcomes.push(Outcome::skipped(Some(model.location(server)), REDIRECT_ONLY));
        } else {
            outcomes.extend(plan_level(model, block, Placement::Server));
        }
    }
    outcomes
}

/// A server that sets some gzip directives of its own, under an http block that gets (or has)
/// the full set: nginx replaces only the directives the server sets, and every other one is
/// inherited from http, so the server needs nothing more. Its own values (a shorter
/// `gzip_types`, a higher `gzip_min_length`) are its tuning and are kept.
fn inherits_the_rest(model: &Model, server: BlockRef, http: BlockRef) -> Outcome {
    let own: Vec<String> = gzip_names()
        .flat_map(|name| model.find(server, name))
        .map(|d| format!("`{}` ({})", model.describe(d), model.location(d)))
        .collect();
    Outcome::ok(
        Some(model.block_location(server)),
        format!(
            "{} sets its own {}: nginx replaces only those, and inherits every other gzip setting from the http \
             block at {}, where the full set is in effect; nothing more to add here",
            model.config(server.file).describe(server.scope.expect("servers are blocks")),
            own.join(", "),
            model.block_location(http)
        ),
    )
}

fn deliberate_off(model: &Model, off: DirRef, scope: &str) -> Outcome {
    Outcome::skipped(
        Some(model.location(off)),
        format!("`gzip off;` for {scope} is deliberate (compression turned off on purpose); left alone"),
    )
}

/// What one level lacks once inheritance is taken into account.
#[derive(Default)]
struct Needs {
    /// Whole lines to add at the level.
    lines: Vec<String>,
    /// The `gzip_types` in effect and the types missing from it (appended to that line).
    types: Option<(DirRef, Vec<&'static str>)>,
    /// What is in effect already and kept, for the explanation.
    present: Vec<String>,
    /// Warnings about what is in effect.
    notes: Vec<Outcome>,
}

impl Needs {
    fn of(model: &Model, block: BlockRef) -> Needs {
        let mut needs = Needs::default();
        for (name, value) in SETTINGS {
            match model.inherited(block, name) {
                Some((_, found)) => needs.present.push(format!(
                    "{} ({})",
                    model.describe(found[found.len() - 1]),
                    model.location(found[0])
                )),
                None => needs.lines.push(format!("{name} {value};")),
            }
        }
        match model.inherited(block, "gzip_types") {
            Some((_, found)) => needs.merge_types(model, &found),
            None => needs.lines.push(format!("gzip_types {};", TYPES.join(" "))),
        }
        needs
    }

    /// The types missing from the `gzip_types` list in effect (`found`: its lines, all of one
    /// level); `*` already takes every type. A listed text/html is a warning of nginx's own.
    fn merge_types(&mut self, model: &Model, found: &[DirRef]) {
        let listed: Vec<String> =
            found.iter().flat_map(|d| model.config(d.file).args(d.id).into_iter().map(|a| a.into_owned())).collect();
        if let Some(html) = found.iter().find(|d| model.config(d.file).args(d.id).iter().any(|a| a == "text/html")) {
            self.notes.push(Outcome::warning(
                Some(model.location(*html)),
                "gzip_types lists text/html, which nginx always compresses: nginx -t says [warn] duplicate MIME type \
                 \"text/html\"; remove it from the list",
            ));
        }
        let missing: Vec<&'static str> = if listed.iter().any(|t| t == "*") {
            Vec::new()
        } else {
            TYPES.iter().copied().filter(|t| !listed.iter().any(|l| l == t)).collect()
        };
        let last = found[found.len() - 1];
        if missing.is_empty() {
            self.present.push(format!("gzip_types ({})", model.location(last)));
        } else {
            self.types = Some((last, missing));
        }
    }
}

/// The outcomes for one target level (an http block, or a server block).
fn plan_level(model: &Model, block: BlockRef, placement: Placement) -> Vec<Outcome> {
    let config = model.config(block.file);
    let id = block.scope.expect("targets are blocks");
    let file = model.file(block.file);
    let here = model.block_location(block);
    let label = format!("{} at {}", config.describe(id), here);
    if let Some(off) = model.effective_is(block, "gzip", "off") {
        return vec![deliberate_off(model, off, &label)];
    }
    let needs = Needs::of(model, block);
    let mut outcomes = needs.notes;
    let mut edits: BTreeMap<PathBuf, Vec<Edit>> = BTreeMap::new();
    let mut added: Vec<String> = needs.lines.iter().map(|l| l.trim_end_matches(';').to_owned()).collect();
    if let Some((list, types)) = &needs.types {
        let target = model.file(list.file);
        edits.entry(target.path.clone()).or_default().push(Inserter::new(&target.config).append_args(list.id, types));
        added.push(format!("gzip_types += {}", types.join(" ")));
    }
    if !needs.lines.is_empty() {
        edits.entry(file.path.clone()).or_default().push(insertion(model, block.file, id, &needs.lines));
    }
    if edits.is_empty() {
        let kept = needs.present.join(", ");
        outcomes.insert(0, Outcome::ok(Some(here), format!("gzip already configured for {label}: {kept}")));
        return outcomes;
    }
    let why = explain(placement, &label, &needs.present);
    let assumptions = assumptions(model, block, placement);
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

/// The change's explanation: what the settings do, why at this level, and what is kept.
fn explain(placement: Placement, label: &str, present: &[String]) -> String {
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
    why
}

/// What the change takes for granted: files from outside the project that the level's chain
/// includes set no gzip directive, and a conf.d / sites-enabled file is included inside http.
fn assumptions(model: &Model, block: BlockRef, placement: Placement) -> Vec<String> {
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
    let file = model.file(block.file);
    if placement == Placement::Server || file.role == Role::HttpInclude {
        assumptions.push(format!("{} is included inside http {{}} (conf.d / sites-enabled)", file.path.display()));
    }
    assumptions
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
