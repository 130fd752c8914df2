//! Railway's config as code, `railway.toml` or `railway.json`: `deploy.startCommand` (the
//! command Railway starts; with a Dockerfile build it replaces the image's ENTRYPOINT/CMD),
//! `deploy.numReplicas` or `deploy.multiRegionConfig.<region>.numReplicas` (the instance count),
//! and `build.builder` / `build.dockerfilePath` (docs.railway.com/reference/config-as-code:
//! "Railway will always build with a Dockerfile if it finds one").

use super::{PlatformCommand, Setting, command_at, setting, string_word};
use crate::lang::compose::{get, pairs, parse_yaml, root_mapping};
use crate::text::location::line_at;

/// What a Railway config file says about the one service it configures.
#[derive(Debug, Clone, Default)]
pub struct Railway {
    pub start: Option<PlatformCommand>,
    /// `build.builder` (`DOCKERFILE`, `NIXPACKS`, `RAILPACK`), as written.
    pub builder: Option<String>,
    /// `build.dockerfilePath`, relative to the project root.
    pub dockerfile: Option<String>,
    /// `deploy.numReplicas`, or the sum over `multiRegionConfig` (the value is the total).
    pub replicas: Option<Setting>,
}

/// Reads a `railway.toml`; `Err(line)` names the line of a TOML syntax error.
pub fn railway_toml(text: &str) -> Result<Railway, usize> {
    let document =
        toml_edit::Document::parse(text).map_err(|err| err.span().map_or(1, |span| line_at(text, span.start)))?;
    let root = document.as_table();
    let mut railway = Railway::default();
    let section = |name: &str| root.get(name).and_then(|item| item.as_table_like());
    if let Some(build) = section("build") {
        railway.builder = build.get("builder").and_then(|i| i.as_str()).map(str::to_owned);
        railway.dockerfile = build.get("dockerfilePath").and_then(|i| i.as_str()).map(str::to_owned);
    }
    let Some(deploy) = section("deploy") else { return Ok(railway) };
    if let Some(item) = deploy.get("startCommand")
        && let Some(value) = item.as_value().and_then(|value| string_word(text, value))
    {
        let line = item.span().map_or(1, |span| line_at(text, span.start));
        railway.start = Some(PlatformCommand::of("startCommand", &value, line));
    }
    let count = |item: &toml_edit::Item| item.as_integer().and_then(|n| u32::try_from(n).ok());
    let place = |item: &toml_edit::Item| item.span().map_or(1, |span| line_at(text, span.start));
    if let Some(item) = deploy.get("numReplicas")
        && let Some(n) = count(item)
    {
        railway.replicas = Some(Setting { value: n.to_string(), line: place(item) });
    } else if let Some(regions) = deploy.get("multiRegionConfig").and_then(|i| i.as_table_like()) {
        let counts: Vec<(u32, usize)> = regions
            .iter()
            .filter_map(|(_, region)| region.as_table_like()?.get("numReplicas").map(|i| (count(i), place(i))))
            .filter_map(|(n, line)| Some((n?, line)))
            .collect();
        if let Some((_, first)) = counts.first() {
            let total: u32 = counts.iter().map(|(n, _)| n).sum();
            railway.replicas = Some(Setting { value: total.to_string(), line: *first });
        }
    }
    Ok(railway)
}

/// Reads a `railway.json` (JSON is YAML to the YAML parser, so values keep their offsets);
/// `Err(line)` names the line of a syntax error.
pub fn railway_json(text: &str) -> Result<Railway, usize> {
    let yaml = parse_yaml(text)?;
    let mut railway = Railway::default();
    let Some(root) = root_mapping(&yaml) else { return Ok(railway) };
    let value = |section: &str, key: &str| get(text, root, section).and_then(|s| get(text, s, key));
    railway.builder = value("build", "builder").and_then(|n| setting(text, n)).map(|s| s.value);
    railway.dockerfile = value("build", "dockerfilePath").and_then(|n| setting(text, n)).map(|s| s.value);
    railway.start = value("deploy", "startCommand").and_then(|n| command_at(text, n, "startCommand"));
    railway.replicas = value("deploy", "numReplicas").and_then(|n| setting(text, n)).or_else(|| {
        let regions = value("deploy", "multiRegionConfig")?;
        let counts: Vec<Setting> = pairs(text, regions)
            .into_iter()
            .filter_map(|(_, region)| setting(text, get(text, region?, "numReplicas")?))
            .collect();
        let total: u32 = counts.iter().map(|s| s.value.parse::<u32>().ok()).sum::<Option<u32>>()?;
        counts.first().map(|first| Setting { value: total.to_string(), line: first.line })
    });
    Ok(railway)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_and_json() {
        let toml = "[build]\nbuilder = \"DOCKERFILE\"\ndockerfilePath = \"deploy/Dockerfile\"\n\n[deploy]\nstartCommand = \"python manage.py migrate && gunicorn shop.wsgi -w 2\"\nnumReplicas = 3\n";
        let read = railway_toml(toml).unwrap();
        let start = read.start.unwrap();
        assert_eq!(start.line, 6);
        assert_eq!(&toml[start.words.last().unwrap().span.clone()], "2");
        assert_eq!(
            (read.builder.as_deref(), read.dockerfile.as_deref()),
            (Some("DOCKERFILE"), Some("deploy/Dockerfile"))
        );
        assert_eq!(read.replicas, Some(Setting { value: "3".to_owned(), line: 7 }));
        assert_eq!(railway_toml("[deploy\n").unwrap_err(), 1);

        let json = "{\n  \"$schema\": \"https://railway.com/railway.schema.json\",\n  \"deploy\": {\n    \"startCommand\": \"gunicorn shop.wsgi --workers 2\",\n    \"multiRegionConfig\": {\"us-west2\": {\"numReplicas\": 2}, \"europe-west4\": {\"numReplicas\": 1}}\n  }\n}\n";
        let read = railway_json(json).unwrap();
        let start = read.start.unwrap();
        assert_eq!(start.line, 4);
        assert_eq!(&json[start.words.last().unwrap().span.clone()], "2");
        assert_eq!(read.replicas.unwrap().value, "3");
        let escaped = "{\"deploy\": {\"startCommand\": \"gunicorn \\u0061pp\"}}";
        assert!(railway_json(escaped).unwrap().start.is_none());
    }
}
