//! What the configuration says about proxying to the app: which level's `proxy_set_header` lines
//! apply in a location (a level that sets any loses all inherited ones), which locations are
//! websocket or streaming ones, where a `proxy_pass` goes, and how an `upstream {}` balances.

use crate::lang::nginx::{Config, DirId, Scope};

use super::{BlockRef, DirRef, Model};

/// Load-balancing methods. Before nginx 1.29.7 one that comes after `keepalive` in an upstream
/// redefines the balancing and drops keep-alive (`[warn] load balancing method redefined`).
const BALANCING: &[&str] = &["least_conn", "ip_hash", "hash", "random", "least_time", "sticky"];

/// The block whose headers apply to a directive in `scope`: a location's own block, also when
/// the directive sits in an `if` or `limit_except` block (where proxy_set_header is not allowed).
pub fn header_context(config: &Config, mut scope: Scope) -> Scope {
    while let Some(id) = scope
        && matches!(config.name(id), "if" | "limit_except")
    {
        scope = config.parent(id);
    }
    scope
}

/// The level whose `proxy_set_header` lines apply inside `block`: the innermost that sets any,
/// with those lines (a distro `include proxy_params;` counts: it sets Host and the X-Forwarded
/// headers).
pub fn header_level(model: &Model, block: BlockRef) -> Option<(BlockRef, Vec<DirRef>)> {
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

/// The `proxy_set_header Connection ...` line among a level's header lines, if any.
pub fn connection_header(model: &Model, headers: &[DirRef]) -> Option<DirRef> {
    headers.iter().copied().find(|&d| model.arg(d, 0).is_some_and(|a| a.eq_ignore_ascii_case("connection")))
}

/// A location that handles its own connection: it must keep its Connection header (and its
/// unbuffered responses).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Streaming {
    /// It sets an `Upgrade` header or a Connection header naming `upgrade`: this line.
    Websocket(DirRef),
    /// `proxy_buffering off` is in effect: this line.
    Unbuffered(DirRef),
}

impl Streaming {
    /// What the location is and the line that says so, for messages.
    pub fn describe(&self, model: &Model) -> String {
        match *self {
            Streaming::Websocket(header) => {
                format!("websocket location (`{}` at {})", model.describe(header), model.location(header))
            }
            Streaming::Unbuffered(off) => format!(
                "streaming location (`proxy_buffering off` at {}, deliberate for websockets, server-sent events and streaming)",
                model.location(off)
            ),
        }
    }
}

/// Whether `block` is a websocket or streaming location, and the line that makes it one.
pub fn streaming(model: &Model, block: BlockRef) -> Option<Streaming> {
    let headers = header_level(model, block).map(|(_, headers)| headers).unwrap_or_default();
    let upgrade = headers.into_iter().find(|&header| {
        let name = model.arg(header, 0).unwrap_or_default().to_ascii_lowercase();
        let value = model.arg(header, 1).unwrap_or_default().to_ascii_lowercase();
        name == "upgrade" || (name == "connection" && value.contains("upgrade"))
    });
    upgrade
        .map(Streaming::Websocket)
        .or_else(|| model.effective_is(block, "proxy_buffering", "off").map(Streaming::Unbuffered))
}

/// The host of `http://app:8000/x` (`app`), `None` when the address uses variables.
pub fn upstream_name(url: &str) -> Option<String> {
    if url.contains('$') {
        return None;
    }
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    let end = rest.find([':', '/']).unwrap_or(rest.len());
    Some(rest[..end].to_owned())
}

/// The `upstream {}` block a `proxy_pass` goes to, `None` for an address with variables or a
/// literal host (no upstream block of that name).
pub fn pass_upstream(model: &Model, pass: DirRef) -> Option<DirRef> {
    upstream_name(&model.arg(pass, 0).unwrap_or_default()).and_then(|host| model.upstream(&host))
}

/// The load-balancing method of an upstream block, if it names one.
pub fn balancing_method(config: &Config, upstream: DirId) -> Option<DirId> {
    config.children(Some(upstream)).find(|&d| BALANCING.contains(&config.name(d)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::nginx::model;
    use crate::project::Project;
    use crate::project::config::Config as UserConfig;

    const CONF: &str = "events {}\nhttp {\n  upstream app { least_conn; server web:8000; }\n  proxy_set_header Host $host;\n  server {\n    listen 80;\n    location / { proxy_pass http://app; }\n    location /ws/ { proxy_set_header Upgrade $http_upgrade; proxy_pass http://app; }\n    location /sse/ { proxy_buffering off; proxy_pass http://web:8000; }\n  }\n}\n";

    fn with_model(check: impl FnOnce(&Model, &[BlockRef])) {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("nginx.conf"), CONF).unwrap();
        let project = Project::open(dir.path(), UserConfig::default()).unwrap();
        let model = model(&project);
        let config = model.config(0);
        let locations: Vec<BlockRef> = config
            .select("http > server > location")
            .into_iter()
            .map(|id| BlockRef { file: 0, scope: Some(id) })
            .collect();
        check(&model, &locations);
    }

    #[test]
    fn header_levels_stop_at_the_first_level_that_sets_any() {
        with_model(|model, locations| {
            let (level, headers) = header_level(model, locations[0]).unwrap();
            assert_eq!(model.context(level).as_deref(), Some("http"));
            assert_eq!(model.arg(headers[0], 0).as_deref(), Some("Host"));
            let (level, headers) = header_level(model, locations[1]).unwrap();
            assert_eq!(level, locations[1]);
            assert_eq!(model.arg(headers[0], 0).as_deref(), Some("Upgrade"));
            assert!(connection_header(model, &headers).is_none());
        });
    }

    #[test]
    fn websocket_and_streaming_locations() {
        with_model(|model, locations| {
            assert_eq!(streaming(model, locations[0]), None);
            assert!(matches!(streaming(model, locations[1]), Some(Streaming::Websocket(_))));
            let sse = streaming(model, locations[2]).unwrap();
            assert!(sse.describe(model).starts_with("streaming location (`proxy_buffering off` at nginx.conf:9"));
        });
    }

    #[test]
    fn passes_to_upstreams_and_balancing() {
        with_model(|model, locations| {
            let passes: Vec<DirRef> = locations
                .iter()
                .map(|b| DirRef { file: 0, id: model.config(0).children_named(b.scope, "proxy_pass").next().unwrap() })
                .collect();
            let upstream = pass_upstream(model, passes[0]).unwrap();
            assert_eq!(model.describe(upstream), "upstream app");
            assert!(pass_upstream(model, passes[2]).is_none(), "a literal address");
            let method = balancing_method(model.config(0), upstream.id).unwrap();
            assert_eq!(model.config(0).name(method), "least_conn");
        });
        assert_eq!(upstream_name("http://app:8000/x").as_deref(), Some("app"));
        assert_eq!(upstream_name("unix:/run/app.sock").as_deref(), Some("unix"));
        assert_eq!(upstream_name("http://$backend"), None);
    }
}
