//! `prodsafe.toml` / `.prodsafe.toml` at the scanned root.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::source::LoadError;

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HealthcheckDefaults {
    #[serde(default = "d_interval")]
    pub interval: String,
    #[serde(default = "d_timeout")]
    pub timeout: String,
    #[serde(default = "d_retries")]
    pub retries: u32,
    #[serde(default = "d_start")]
    pub start_period: String,
}

fn d_interval() -> String {
    "30s".into()
}
fn d_timeout() -> String {
    "10s".into()
}
fn d_retries() -> u32 {
    3
}
fn d_start() -> String {
    "20s".into()
}

impl Default for HealthcheckDefaults {
    fn default() -> Self {
        HealthcheckDefaults {
            interval: d_interval(),
            timeout: d_timeout(),
            retries: d_retries(),
            start_period: d_start(),
        }
    }
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServiceOverride {
    pub port: Option<u16>,
    pub health_path: Option<String>,
    #[serde(default)]
    pub required_env: Vec<String>,
    #[serde(default)]
    pub not_required_env: Vec<String>,
    #[serde(default)]
    pub skip: bool,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Config {
    #[serde(default)]
    pub select: Vec<String>,
    #[serde(default)]
    pub ignore: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<String>,
    pub templates: Option<String>,
    #[serde(default)]
    pub severity: BTreeMap<String, String>,
    #[serde(default)]
    pub healthcheck: HealthcheckDefaults,
    #[serde(default)]
    pub services: BTreeMap<String, ServiceOverride>,
}

impl Config {
    /// Reads `prodsafe.toml` or `.prodsafe.toml` from the root, if present.
    pub fn load(root: &Path) -> Result<Config, LoadError> {
        for name in ["prodsafe.toml", ".prodsafe.toml"] {
            let p = root.join(name);
            if p.is_file() {
                let text = std::fs::read_to_string(&p).map_err(|e| LoadError {
                    rel: name.into(),
                    line: None,
                    message: format!("cannot read: {e}"),
                })?;
                return Config::parse(name, &text);
            }
        }
        Ok(Config::default())
    }

    pub fn parse(name: &str, text: &str) -> Result<Config, LoadError> {
        let cfg: Config = toml::from_str(text).map_err(|e| LoadError {
            rel: name.into(),
            line: e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1),
            message: format!("invalid config: {}", e.message()),
        })?;
        for (code, sev) in &cfg.severity {
            if crate::finding::Severity::parse(sev).is_none() {
                return Err(LoadError {
                    rel: name.into(),
                    line: text.lines().position(|l| l.contains(code.as_str())).map(|i| i + 1),
                    message: format!("invalid config: severity `{sev}` for {code} (use low, medium, high, critical)"),
                });
            }
        }
        Ok(cfg)
    }

    pub fn service(&self, name: &str) -> Option<&ServiceOverride> {
        self.services.get(name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_key_names_line() {
        let e = Config::parse(
            "prodsafe.toml",
            "select = [\"CMP\"]\n\n[healthcheck]\nintervall = \"5s\"\n",
        )
        .unwrap_err();
        assert_eq!(e.line, Some(4));
        assert!(e.message.contains("intervall"), "{}", e.message);
    }

    #[test]
    fn full_config() {
        let c = Config::parse("p", "ignore=[\"ENT001\"]\n[severity]\nCMP001=\"high\"\n[services.api]\nport=8080\nhealth_path=\"/h\"\n").unwrap();
        assert_eq!(c.service("api").unwrap().port, Some(8080));
        assert_eq!(c.healthcheck.retries, 3);
    }
}
