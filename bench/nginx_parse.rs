//! Parse speed of the nginx parser on ~10 MB of generated server blocks.
//!
//! Run: `cargo bench --bench nginx_parse` (prints MB/s for parse and for print; the tree must
//! print back byte for byte).

use std::time::Instant;

use scalepatch::lang::nginx::parse;

/// One server block in the style real configs have: comments, quoted strings, regex locations,
/// variables, a map, an upstream.
fn server_block(i: usize) -> String {
    format!(
        r#"# site {i}
upstream app{i} {{
    least_conn;
    server 10.0.{a}.{b}:8000 max_fails=3 fail_timeout=30s;
    server 10.0.{a}.{c}:8000;
    keepalive 32;
}}

map $http_upgrade $connection_upgrade_{i} {{
    default upgrade;
    ''      close;
}}

server {{
    listen 80;
    server_name site{i}.example.com www.site{i}.example.com;
    access_log /var/log/nginx/site{i}.log main;
    client_max_body_size 10m;

    location /static/ {{
        alias /srv/site{i}/static/;
        expires 30d;
    }}

    location ~* \.(css|js|svg)$ {{ expires 7d; add_header Cache-Control "public"; }}

    location /ws/ {{
        proxy_pass http://app{i};
        proxy_http_version 1.1;
        proxy_set_header Upgrade $http_upgrade;
        proxy_set_header Connection $connection_upgrade_{i};
    }}

    location / {{
        proxy_pass http://app{i};
        proxy_set_header Host $host;
        proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
        proxy_set_header X-Forwarded-Proto $scheme;
        if ($request_method = "OPTIONS") {{ return 204; }}
    }}
}}

"#,
        a = i % 250,
        b = i % 200 + 1,
        c = i % 200 + 2,
    )
}

fn main() {
    let mut text = String::from("http {\n");
    let mut i = 0;
    while text.len() < 10 * 1024 * 1024 {
        text.push_str(&server_block(i));
        i += 1;
    }
    text.push_str("}\n");
    let mb = text.len() as f64 / (1024.0 * 1024.0);

    let mut best_parse = f64::MAX;
    let mut best_print = f64::MAX;
    let mut directives = 0;
    for _ in 0..5 {
        let start = Instant::now();
        let config = parse(&text).expect("generated config parses");
        best_parse = best_parse.min(start.elapsed().as_secs_f64());
        let start = Instant::now();
        let printed = config.print();
        best_print = best_print.min(start.elapsed().as_secs_f64());
        assert!(printed == text, "print is not byte-identical");
        directives = config.all().count();
    }
    println!("input: {mb:.1} MB, {i} server blocks, {directives} directives");
    println!("parse: {:.1} ms, {:.0} MB/s (best of 5)", best_parse * 1e3, mb / best_parse);
    println!("print: {:.1} ms, {:.0} MB/s (best of 5, byte-identical)", best_print * 1e3, mb / best_print);
}
