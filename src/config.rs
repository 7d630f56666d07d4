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
        cfg.validate(name, text)?;
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

/// Load-time validation of every value that ends up inside generated text
/// (compose YAML, `node -e` probes, shell checks): a bad value is an error
/// naming the file and line, never something escaped into place later.
impl Config {
    fn validate(&self, name: &str, text: &str) -> Result<(), LoadError> {
        let err = |needle: &str, message: String| LoadError {
            rel: name.into(),
            // The value's line, else the first line naming the key.
            line: [needle, needle.rsplit('.').next().unwrap_or("")]
                .iter()
                .find_map(|n| text.lines().position(|l| !n.is_empty() && l.contains(n)))
                .map(|i| i + 1),
            message: format!("invalid config: {message}"),
        };
        let h = &self.healthcheck;
        for (key, v) in [
            ("interval", &h.interval),
            ("timeout", &h.timeout),
            ("start_period", &h.start_period),
        ] {
            if !is_duration(v) {
                let needle = if text.contains(v.as_str()) {
                    v.as_str()
                } else {
                    key
                };
                return Err(err(
                    needle,
                    format!(
                        "healthcheck.{key} `{v}` is not a duration (e.g. `30s`, `1m30s`, `500ms`)"
                    ),
                ));
            }
        }
        for (svc, o) in &self.services {
            if let Some(p) = &o.health_path {
                if !is_url_path(p) {
                    let needle = if text.contains(p.as_str()) {
                        p.as_str()
                    } else {
                        "health_path"
                    };
                    return Err(err(
                        needle,
                        format!("services.{svc}.health_path `{}` is not a URL path (`/` followed by URL path characters: letters, digits, `-._~!$&'()*+,;=:@/` and `%XX`)", p.escape_debug()),
                    ));
                }
            }
            if o.port == Some(0) {
                return Err(err("port", format!("services.{svc}.port must be 1-65535")));
            }
            for v in o.required_env.iter().chain(&o.not_required_env) {
                if !is_env_name(v) {
                    let needle = if text.contains(v.as_str()) {
                        v.as_str()
                    } else {
                        "_env"
                    };
                    return Err(err(
                        needle,
                        format!("services.{svc}: `{}` is not an environment variable name ([A-Za-z_][A-Za-z0-9_]*)", v.escape_debug()),
                    ));
                }
            }
        }
        Ok(())
    }
}

/// A Go/Compose duration: `30s`, `1m30s`, `1.5h`, `500ms`.
pub fn is_duration(s: &str) -> bool {
    let re = {
        static RE: std::sync::OnceLock<regex::Regex> = std::sync::OnceLock::new();
        RE.get_or_init(|| {
            regex::Regex::new(r"^(?:[0-9]+(?:\.[0-9]+)?(?:ns|us|µs|ms|s|m|h))+$").unwrap()
        })
    };
    re.is_match(s)
}

/// `/` followed by RFC 3986 path characters (pchar and `/`), `%` only as
/// `%XX`.
pub fn is_url_path(s: &str) -> bool {
    let b = s.as_bytes();
    if b.first() != Some(&b'/') {
        return false;
    }
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c == b'%' {
            if !(i + 2 < b.len() && b[i + 1].is_ascii_hexdigit() && b[i + 2].is_ascii_hexdigit()) {
                return false;
            }
            i += 3;
            continue;
        }
        if !(c.is_ascii_alphanumeric() || b"-._~!$&'()*+,;=:@/".contains(&c)) {
            return false;
        }
        i += 1;
    }
    true
}

/// A portable environment variable name.
pub fn is_env_name(s: &str) -> bool {
    s.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
        && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_reaching_generated_code_are_validated() {
        let bad = [
            "[services.x]\nhealth_path = \"/h'+require('child_process').execSync('touch /tmp/pwned')+'\"\n",
            "[services.x]\nhealth_path = \"health\"\n",
            "[services.x]\nhealth_path = \"/a\\\"b\"\n",
            "[services.x]\nhealth_path = \"/a%zz\"\n",
            "[services.x]\nport = 0\n",
            "[services.x]\nport = \"80\"\n",
            "[services.x]\nrequired_env = [\"A;rm\"]\n",
            "[healthcheck]\ninterval = \"30s\\n  test: x\"\n",
        ];
        for b in bad {
            let e = Config::parse("prodsafe.toml", b).unwrap_err();
            assert!(e.line.is_some(), "{b}: {e}");
            assert!(e.message.starts_with("invalid config"), "{b}: {e}");
        }
        let ok = "[healthcheck]\ninterval = \"1m30s\"\n[services.x]\nport = 8080\nhealth_path = \"/api/v1/health%2Fz:ok\"\nrequired_env = [\"DATABASE_URL\"]\n";
        Config::parse("prodsafe.toml", ok).unwrap();
    }

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
