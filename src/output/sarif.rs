//! SARIF 2.1.0, the format code scanning (GitHub, GitLab, Azure DevOps) uploads: one run, one rule
//! per patch, one result per outcome. A pending change and a warning are `warning`s, an input error
//! an `error` (kind `fail`); a skip is of kind `review`, `ok` of kind `pass` and `not found` of kind
//! `notApplicable`, all three with level `none` as the specification requires for a kind other than
//! `fail`, so that the log says what was checked as well as what was found.

use std::io;

use serde_json::{Value, json};

use super::report::Entry;
use super::{PlanView, Printer};

/// The SARIF 2.1.0 schema's address, named in every log.
pub const SCHEMA_URI: &str =
    "https://docs.oasis-open.org/sarif/sarif/v2.1.0/errata01/os/schemas/sarif-schema-2.1.0.json";

/// One SARIF log on stdout.
pub struct SarifPrinter;

impl Printer for SarifPrinter {
    fn print_plan(&mut self, view: &PlanView<'_>) -> io::Result<()> {
        super::json::print(&log(view))
    }
}

/// The log of a plan.
pub fn log(view: &PlanView<'_>) -> Value {
    let rules: Vec<Value> = view
        .plan
        .reports
        .iter()
        .map(|r| {
            json!({
                "id": r.patch.id(),
                "name": r.patch.id(),
                "shortDescription": {"text": r.patch.title()},
                "properties": {"quick_win": r.patch.quick_win(), "in_phase_1": r.patch.in_phase_1()},
            })
        })
        .collect();
    let root = view.project.root().canonicalize().unwrap_or_else(|_| view.project.root().to_path_buf());
    let mut root_uri = format!("file://{}", percent_encode(&root.to_string_lossy()));
    if !root_uri.ends_with('/') {
        root_uri.push('/');
    }
    let results: Vec<Value> = view.entries.iter().map(|entry| result(entry, &view.plan.reports)).collect();
    json!({
        "$schema": SCHEMA_URI,
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {
                "name": "scalepatch",
                "version": env!("CARGO_PKG_VERSION"),
                "rules": rules,
            }},
            "originalUriBaseIds": {"PROJECTROOT": {"uri": root_uri}},
            "columnKind": "unicodeCodePoints",
            "results": results,
        }],
    })
}

fn result(entry: &Entry, reports: &[crate::engine::plan::PatchReport]) -> Value {
    let (kind, level) = match entry.status {
        "change" | "warning" => ("fail", "warning"),
        "error" => ("fail", "error"),
        "skipped" => ("review", "none"),
        "ok" => ("pass", "none"),
        _ => ("notApplicable", "none"),
    };
    let mut text = entry.message.clone();
    if let Some(change) = &entry.change {
        text.push_str(&format!(" ({})", change.why));
    }
    let mut result = json!({
        "ruleId": entry.patch,
        "ruleIndex": reports.iter().position(|r| r.patch.id() == entry.patch).unwrap_or(0),
        "kind": kind,
        "level": level,
        "message": {"text": text},
        "partialFingerprints": {"scalepatchId/v1": entry.id},
        "properties": {"status": entry.status, "id": entry.id},
    });
    if let Some(place) = &entry.location {
        let mut physical = json!({"artifactLocation": {
            "uri": percent_encode(&place.path.to_string_lossy()),
            "uriBaseId": "PROJECTROOT",
        }});
        if let Some(line) = place.line {
            physical["region"] = json!({"startLine": line, "endLine": place.end_line.unwrap_or(line)});
        }
        result["locations"] = json!([{"physicalLocation": physical}]);
    }
    result
}

/// A path as a URI reference: every byte outside the unreserved set and `/` percent-encoded.
fn percent_encode(path: &str) -> String {
    let mut out = String::new();
    for byte in path.bytes() {
        match byte {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => out.push(byte as char),
            _ => out.push_str(&format!("%{byte:02X}")),
        }
    }
    out
}
