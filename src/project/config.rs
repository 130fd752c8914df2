//! The user's values: `--cpus` and friends on the command line, else `scalepatch.toml` at the
//! project root, else `[tool.scalepatch]` in its pyproject.toml. Flags win over the file.

use std::path::Path;

use anyhow::{Context, Result, bail};
use serde::Deserialize;

/// Values a user can set, by flag or in the config file (same keys).
#[derive(Debug, Clone, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Values {
    /// CPUs of the production container that runs gunicorn.
    pub cpus: Option<u32>,
    /// Instances (containers, hosts) that run the web service, for the connection budget.
    pub instances: Option<u32>,
}

/// A value together with where it came from, for the plan's assumptions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sourced<T> {
    pub value: T,
    pub source: String,
}

/// The merged configuration.
#[derive(Debug, Clone, Default)]
pub struct Config {
    pub cpus: Option<Sourced<u32>>,
    pub instances: Option<Sourced<u32>>,
    /// The CPUs of the host a `cpu_count()` / `$(nproc)` worker formula runs on (`--host-cpus`):
    /// in a container those see the host's CPUs, not the container's quota.
    pub host_cpus: Option<u32>,
    /// `--allow-over-budget`: offer a change that takes the database connection budget above
    /// 100% instead of skipping it.
    pub allow_over_budget: bool,
}

/// The host CPU count assumed for a worker formula when `--host-cpus` is not given.
pub const DEFAULT_HOST_CPUS: u32 = 8;

impl Config {
    /// Merges `flags` over the config file found at `root`.
    pub fn load(root: &Path, flags: &Values) -> Result<Config> {
        let (file, file_name) = read_file_values(root)?;
        let pick = |flag: Option<u32>, file: Option<u32>, key: &str| -> Option<Sourced<u32>> {
            match (flag, file) {
                (Some(value), _) => Some(Sourced { value, source: format!("--{key}") }),
                (None, Some(value)) => Some(Sourced { value, source: format!("{key} in {file_name}") }),
                (None, None) => None,
            }
        };
        let config = Config {
            cpus: pick(flags.cpus, file.cpus, "cpus"),
            instances: pick(flags.instances, file.instances, "instances"),
            ..Config::default()
        };
        for (key, value) in [("cpus", &config.cpus), ("instances", &config.instances)] {
            if let Some(Sourced { value: 0, source }) = value {
                bail!("{key} must be at least 1 ({source})");
            }
        }
        Ok(config)
    }
}

impl Config {
    /// The host CPU count a worker formula is evaluated at, with where it comes from.
    pub fn host_cpus(&self) -> Sourced<u32> {
        match self.host_cpus {
            Some(value) => Sourced { value, source: "--host-cpus".to_owned() },
            None => Sourced {
                value: DEFAULT_HOST_CPUS,
                source: format!("assumed: no --host-cpus, a {DEFAULT_HOST_CPUS}-CPU host"),
            },
        }
    }
}

/// A config file's text, read like every project file (a 1 GiB pyproject.toml is refused by its
/// size, never read whole); `name` is its path in the project.
fn read_text(absolute: &Path, name: &str) -> Result<String> {
    let (bytes, _) = crate::project::read_bounded(absolute, Path::new(name))?;
    String::from_utf8(bytes).with_context(|| format!("{name}: not valid UTF-8"))
}

/// The values in `scalepatch.toml`, or in pyproject.toml's `[tool.scalepatch]`, with the name of
/// the place they came from.
fn read_file_values(root: &Path) -> Result<(Values, String)> {
    let own = root.join("scalepatch.toml");
    if own.is_file() {
        let text = read_text(&own, "scalepatch.toml")?;
        let values = toml::from_str(&text).map_err(|err| anyhow::anyhow!("scalepatch.toml: {err}"))?;
        return Ok((values, "scalepatch.toml".to_owned()));
    }
    let pyproject = root.join("pyproject.toml");
    if pyproject.is_file() {
        let text = read_text(&pyproject, "pyproject.toml")?;
        let doc: toml::Table = toml::from_str(&text).map_err(|err| anyhow::anyhow!("pyproject.toml: {err}"))?;
        if let Some(section) = doc.get("tool").and_then(|tool| tool.get("scalepatch")) {
            let values =
                section.clone().try_into().map_err(|err| anyhow::anyhow!("pyproject.toml [tool.scalepatch]: {err}"))?;
            return Ok((values, "pyproject.toml [tool.scalepatch]".to_owned()));
        }
    }
    Ok((Values::default(), String::new()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags_win_over_file() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("scalepatch.toml"), "cpus = 4\ninstances = 2\n").unwrap();
        let config = Config::load(dir.path(), &Values { cpus: Some(8), instances: None }).unwrap();
        assert_eq!(config.cpus, Some(Sourced { value: 8, source: "--cpus".into() }));
        assert_eq!(config.instances.unwrap().source, "instances in scalepatch.toml");
    }

    #[test]
    fn pyproject_section_and_unknown_keys() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("pyproject.toml"), "[tool.scalepatch]\ncpus = 3\n").unwrap();
        assert_eq!(Config::load(dir.path(), &Values::default()).unwrap().cpus.unwrap().value, 3);
        std::fs::write(dir.path().join("scalepatch.toml"), "cpu = 3\n").unwrap();
        let err = Config::load(dir.path(), &Values::default()).unwrap_err().to_string();
        assert!(err.contains("scalepatch.toml") && err.contains("cpu"), "{err}");
    }
}
