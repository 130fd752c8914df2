//! The nginx parser: lossless on everything real configs contain, nginx's own error messages with
//! line and column, no panic on any input (property tests), and byte-identical printing of every
//! nginx file under fixtures/.

use proptest::prelude::*;
use scalepatch::lang::nginx::{Config, DirId, parse};

fn round_trip(text: &str) -> Config {
    let config = parse(text).unwrap_or_else(|err| panic!("{err}\n{text}"));
    assert_eq!(config.print(), text);
    config
}

#[test]
fn real_world_constructs_round_trip() {
    let text = r#"# top comment
map $http_upgrade $connection_upgrade {
    default upgrade;
    ''      close;
    ""      close;
}
geo $limited { default 1; 10.0.0.0/8 0; }
log_format  main  '$remote_addr - $remote_user [$time_local] "$request" '
                  '$status $body_bytes_sent "$http_referer" '
                  "\"$http_user_agent\" \"$http_x_forwarded_for\"";
include /etc/nginx/conf.d/*.conf;
types { text/html html htm; application/json json; }
upstream app { least_conn; server 127.0.0.1:8000 weight=2; server [::1]:8001; keepalive 32; }
server {
	listen 127.0.0.1:8080 default_server;
	server_name ~^(?<sub>.+)\.example\.com$ ${SERVER_NAME};
	location ~* \.(css|js)$ { expires 30d; }
	location ^~ /static/ { alias /srv/static/; }
	location ~ "^/a{2}$" { return 200 "a}b;{"; }
	location = /health { return 200 'ok'; }
	if ($http_x_forwarded_proto = "http") { return 301 https://$host$request_uri; }
	set $x a}b;
	content_by_lua_block {
		local t = { a = "}" } -- a } in a comment
		ngx.say([[ { ]])
	}
	location / { proxy_pass http://app; proxy_set_header Host $host; }   # trailing
}"#;
    let config = round_trip(text);
    let lua = config.all().find(|&id| config.name(id) == "content_by_lua_block").unwrap();
    assert!(config.directive(lua).block.as_ref().unwrap().raw.is_some());
    assert_eq!(config.select("server > location").len(), 5);
    let quoted = config.select("server > location").into_iter().find(|&id| config.args(id)[0] == "~").unwrap();
    assert_eq!(config.args(quoted)[1], "^/a{2}$");
    let map = config.select("map")[0];
    let keys: Vec<String> = config.children(Some(map)).map(|id| config.name(id).to_owned()).collect();
    assert_eq!(keys, ["default", "''", "\"\""]);
    let log = config.children_named(None, "log_format").next().unwrap();
    assert_eq!(config.args(log).len(), 4);
    assert_eq!(config.args(log)[3], "\"$http_user_agent\" \"$http_x_forwarded_for\"");
    let names = config.all().find(|&id| config.name(id) == "server_name").unwrap();
    assert_eq!(config.args(names)[1], "${SERVER_NAME}");
}

#[test]
fn crlf_tabs_and_no_final_newline_round_trip() {
    round_trip("server {\r\n\tlisten 80;\r\n\r\n\tlocation / { proxy_pass http://app; }\r\n}");
    round_trip("events {}\nhttp {\n    # only a comment\n}\n\n\n");
    round_trip("");
    round_trip("   \n\t# just comments\r\n");
}

/// `~ ^/a{2}$` unquoted: nginx itself splits the word at `{` (the regex must be quoted, its docs
/// say); the tree has the same shape as nginx's, so edits land where nginx sees blocks.
#[test]
fn unquoted_regex_brace_splits_like_nginx() {
    // nginx: `unknown directive "2}$"`, a semantic error after the same split.
    let config = round_trip("location ~ ^/a{2}$ { return 200; } }");
    let location = config.select("location")[0];
    assert_eq!(config.args(location), ["~", "^/a"]);
    let inner: Vec<DirId> = config.children(Some(location)).collect();
    assert_eq!(config.name(inner[0]), "2}$");
    assert!(config.directive(inner[0]).block.is_some());
    assert_eq!(
        parse("location ~ ^/a{2}$ { return 200; }").unwrap_err().message,
        "unexpected end of file, expecting \"}\""
    );
}

#[test]
fn syntax_errors_have_nginx_wording_line_and_column() {
    let cases: &[(&str, &str, usize, usize)] = &[
        ("server {\n    listen 80\n}\n", "unexpected \"}\"", 3, 1),
        ("server {\n    listen 80;\n", "unexpected end of file, expecting \"}\"", 3, 1),
        ("listen 80", "unexpected end of file, expecting \";\" or \"}\"", 1, 10),
        ("}\n", "unexpected \"}\"", 1, 1),
        ("  ;", "unexpected \";\"", 1, 3),
        ("a {\n\tb \"x\"y;\n}", "unexpected \"y\"", 2, 7),
        ("a 'unterminated;\n", "unexpected end of file, expecting \";\" or \"}\"", 2, 1),
        ("é { x; } {", "unexpected \"{\"", 1, 10),
        ("content_by_lua_block { if x then", "unexpected end of file, expecting \"}\"", 1, 33),
    ];
    for (text, message, line, column) in cases {
        let err = parse(text).unwrap_err();
        assert_eq!((err.message.as_str(), err.line, err.column), (*message, *line, *column), "{text:?}");
    }
}

/// Every nginx file under fixtures/ prints back byte for byte (the syntax-error fixtures fail
/// to parse, as they must).
/// Fixture files that do not parse on purpose, outside the `syntax-error` cases: a broken file
/// that nginx does not load, which must not block the run.
const BROKEN_ON_PURPOSE: &[&str] = &["foreign-files-in-conf-d/before/deploy/nginx/unused/legacy.conf"];

#[test]
fn every_fixture_conf_round_trips() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures");
    let mut checked = 0;
    let mut stack = vec![fixtures.clone()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap().flatten() {
            let path = entry.path();
            if entry.file_type().unwrap().is_dir() {
                stack.push(path);
                continue;
            }
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            let in_sites =
                path.parent().is_some_and(|p| p.ends_with("sites-enabled") || p.ends_with("sites-available"));
            if !(name.ends_with(".conf") || name.ends_with(".conf.template") || in_sites) {
                continue;
            }
            let Ok(text) = String::from_utf8(std::fs::read(&path).unwrap()) else {
                assert!(path.to_string_lossy().contains("/not-utf8/"), "{} is not UTF-8", path.display());
                continue;
            };
            match parse(&text) {
                Ok(config) => assert_eq!(config.print(), text, "{}", path.display()),
                // A weak candidate (a `.conf` outside any nginx-named, conf.d or sites-* folder, such as
                // supervisord.conf) that does not parse is not nginx: the product ignores it too.
                Err(_) if !looks_like_nginx_by_path(path.strip_prefix(&fixtures).unwrap()) => continue,
                // Another program's file in a conf.d folder (supervisord, shell/env): classified by
                // its content, never parsed as nginx.
                Err(_) if scalepatch::facts::nginx::foreign_kind(&text).is_some() => continue,
                Err(err) => assert!(
                    path.to_string_lossy().contains("/syntax-error/")
                        || BROKEN_ON_PURPOSE.iter().any(|b| path.ends_with(b)),
                    "{}: {err}",
                    path.display()
                ),
            }
            checked += 1;
        }
    }
    assert!(checked >= 20, "only {checked} nginx files found under fixtures/");
}

/// Pieces random inputs are made of: every byte class the tokenizer treats specially.
fn soup_piece() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "{",
        "}",
        ";",
        " ",
        "\t",
        "\n",
        "\r\n",
        "\r",
        "#",
        "# c",
        "\"",
        "'",
        "\\",
        "$",
        "${",
        "${X}",
        "a",
        "server",
        "location",
        "~",
        "^~",
        "(",
        ")",
        "content_by_lua_block",
        "[[",
        "]]",
        "--",
        "é",
        "日本",
        "\"q\"",
        "'s'",
    ])
}

/// A random valid config: (text, number of directives).
fn valid_config() -> impl Strategy<Value = (String, usize)> {
    let space = prop::sample::select(vec![" ", "  ", "\t", " \t "]);
    let newline = prop::sample::select(vec!["\n", "\r\n"]);
    let word = prop::sample::select(vec![
        "on",
        "16k",
        "http://app",
        "$host",
        "${VAR}",
        "\"quoted \\\" word\"",
        "'single'",
        "~*",
        "^/a}b",
        "a#b",
        "\\;",
        "\"\"",
    ]);
    let name = prop::sample::select(vec!["gzip", "listen", "proxy_pass", "set", "include", "x_y"]);
    let leaf = (name.clone(), prop::collection::vec((space.clone(), word), 0..3), space.clone(), newline.clone())
        .prop_map(|(name, args, pad, nl)| {
            let mut out = name.to_owned();
            for (s, w) in args {
                out.push_str(s);
                out.push_str(w);
            }
            out.push(';');
            out.push_str(pad);
            out.push_str(nl);
            (out, 1usize)
        });
    leaf.prop_recursive(4, 40, 6, move |inner| {
        (
            prop::sample::select(vec!["server", "location /", "http", "if ($a = \"b\")", "upstream u"]),
            prop::collection::vec(inner, 0..5),
            prop::sample::select(vec!["", "# comment", "#"]),
            newline.clone(),
            space.clone(),
        )
            .prop_map(|(head, children, comment, nl, pad)| {
                let mut out = format!("{head}{pad}{{{comment}{nl}");
                let mut count = 1;
                for (child, n) in children {
                    out.push_str(pad);
                    out.push_str(&child);
                    count += n;
                }
                out.push('}');
                out.push_str(nl);
                (out, count)
            })
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Every insertion point, in both styles, gives a file that parses, with exactly one more
    /// directive, a child of the same block, and everything else unchanged.
    #[test]
    fn insertions_keep_the_file_valid(items in prop::collection::vec(valid_config(), 1..4)) {
        use scalepatch::text::edit::apply_edits;
        use scalepatch::lang::nginx::edit::{Inserter, Style};
        let text: String = items.iter().map(|(t, _)| t.as_str()).collect();
        let config = parse(&text).unwrap();
        let inserter = Inserter::new(&config);
        let line = vec!["added_directive 1;".to_owned()];
        let count = config.all().count();
        for id in config.all() {
            let mut edits = vec![
                (config.parent(id), inserter.after(id, &line, Style::EndOfLine)),
                (config.parent(id), inserter.after(id, &line, Style::NextLine)),
            ];
            if config.directive(id).block.is_some() {
                edits.push((Some(id), inserter.at_end(id, &line)));
                edits.push((config.parent(id), inserter.before(id, &line)));
            }
            for (scope, edit) in edits {
                let out = apply_edits(&text, std::slice::from_ref(&edit)).unwrap();
                let after = parse(&out).map_err(|e| TestCaseError::fail(format!("{e}\n{out}")))?;
                prop_assert_eq!(after.all().count(), count + 1, "{}", out);
                let added = after.all().find(|&d| after.name(d) == "added_directive").unwrap();
                let parent_name = after.parent(added).map(|p| after.describe(p));
                prop_assert_eq!(parent_name, scope.map(|p| config.describe(p)), "{}", out);
                prop_assert_eq!(out.replacen(&edit.replacement, "", 1), text.clone());
            }
        }
    }

    #[test]
    fn token_soup_never_panics(pieces in prop::collection::vec(soup_piece(), 0..64)) {
        let text: String = pieces.concat();
        match parse(&text) {
            Ok(config) => prop_assert_eq!(config.print(), text),
            Err(err) => {
                prop_assert!(err.offset <= text.len());
                prop_assert!(err.line >= 1 && err.line <= text.matches('\n').count() + 1);
                prop_assert!(err.column >= 1);
            }
        }
    }

    #[test]
    fn valid_configs_print_back_identical(items in prop::collection::vec(valid_config(), 0..6), tail in "[ \t\n]{0,3}") {
        let text: String = items.iter().map(|(t, _)| t.as_str()).collect::<String>() + &tail;
        let expected: usize = items.iter().map(|(_, n)| n).sum();
        let config = parse(&text).map_err(|e| TestCaseError::fail(format!("{e}\n{text}")))?;
        prop_assert_eq!(config.print(), text);
        prop_assert_eq!(config.all().count(), expected);
    }
}

/// Hostile nesting parses and prints without recursion (no stack overflow).
#[test]
fn deep_nesting_is_fine() {
    let text = format!("{}{}", "a {".repeat(100_000), "}".repeat(100_000));
    assert_eq!(parse(&text).unwrap().print(), text);
    let unclosed = "a {".repeat(100_000);
    assert!(parse(&unclosed).is_err());
}

/// Whether the path alone says the file is nginx configuration (the rule the product uses to
/// report a parse error instead of ignoring the file).
/// `path` is relative to fixtures/: the checkout's own folder name (a worktree called
/// `more-nginx`) must not make every file look like nginx.
fn looks_like_nginx_by_path(path: &std::path::Path) -> bool {
    let text = path.to_string_lossy().to_ascii_lowercase();
    let name = path.file_name().unwrap().to_string_lossy().to_ascii_lowercase();
    name.starts_with("nginx") || text.contains("nginx/") || text.contains("/conf.d/") || text.contains("/sites-")
}
