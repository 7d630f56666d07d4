//! `prodsafe.toml` / `.prodsafe.toml`: found like ruff finds its config
//! (the nearest one searched upward from the scanned path, stopping at the
//! repository root), or given with `--config`, or ignored with
//! `--isolated`. Every value is validated at load time; an error names the
//! file and the line.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use schemars::JsonSchema;
use serde::Deserialize;

use crate::source::LoadError;

/// Defaults of the healthchecks prodsafe inserts.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HealthcheckDefaults {
    /// Time between probes, a Compose duration (`30s`, `1m30s`, `500ms`).
    #[serde(default = "d_interval")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$"))]
    pub interval: String,
    /// How long one probe may take, a Compose duration.
    #[serde(default = "d_timeout")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$"))]
    pub timeout: String,
    /// Consecutive failures before the container is unhealthy (at least 1).
    #[serde(default = "d_retries")]
    #[schemars(range(min = 1))]
    pub retries: u32,
    /// Grace period after start, a Compose duration (may be `0s`).
    #[serde(default = "d_start")]
    #[schemars(regex(pattern = r"^([0-9]+(\.[0-9]+)?(ns|us|µs|ms|s|m|h))+$"))]
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

/// What prodsafe cannot infer about one compose service.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ServiceOverride {
    /// The port the service listens on.
    pub port: Option<u16>,
    /// The path its health endpoint answers on (`/health`).
    pub health_path: Option<String>,
    /// Variables the service needs at start, besides the inferred ones.
    #[serde(default)]
    pub required_env: Vec<String>,
    /// Inferred variables that are in fact optional.
    #[serde(default)]
    pub not_required_env: Vec<String>,
    /// Leave this service out of every rule.
    #[serde(default)]
    pub skip: bool,
}

/// The configuration file.
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(title = "prodsafe configuration (prodsafe.toml)")]
pub struct Config {
    /// Only these rules: codes (`CMP001`), prefixes (`CMP`), names
    /// (`missing-healthcheck`) or `ALL`. Empty: every rule.
    #[serde(default)]
    pub select: Vec<String>,
    /// Rules added to `select` (or to every rule when `select` is empty).
    #[serde(default, rename = "extend-select")]
    pub extend_select: Vec<String>,
    /// Rules never run.
    #[serde(default)]
    pub ignore: Vec<String>,
    /// Paths or globs (relative to this file's folder) never read.
    #[serde(default)]
    pub exclude: Vec<String>,
    /// Per glob (relative to this file's folder), rules whose findings are
    /// dropped in the matching files.
    #[serde(default, rename = "per-file-ignores")]
    pub per_file_ignores: BTreeMap<String, Vec<String>>,
    /// Folder of templates overriding the built-in ones, file by file
    /// (relative to this file's folder).
    pub templates: Option<String>,
    /// Severity per rule code: `low`, `medium`, `high` or `critical`.
    #[serde(default)]
    pub severity: BTreeMap<String, String>,
    #[serde(default)]
    pub healthcheck: HealthcheckDefaults,
    /// Per compose service name.
    #[serde(default)]
    pub services: BTreeMap<String, ServiceOverride>,
    /// Folder of the file this was read from (None for the defaults).
    #[serde(skip)]
    #[schemars(skip)]
    pub dir: Option<PathBuf>,
    /// The file this was read from, as given or found.
    #[serde(skip)]
    #[schemars(skip)]
    pub file: Option<PathBuf>,
    /// Its text (to name the line of a value found wrong later).
    #[serde(skip)]
    #[schemars(skip)]
    pub text: String,
}

/// The names a configuration file may have, in order of precedence.
pub const FILE_NAMES: [&str; 2] = ["prodsafe.toml", ".prodsafe.toml"];

/// Whether a folder is the top of a repository (holds `.git`, a folder or,
/// in a worktree, a file).
pub fn is_repo_root(dir: &Path) -> bool {
    dir.join(".git").symlink_metadata().is_ok()
}

/// The nearest configuration file from `start` upward, stopping after the
/// repository root (the first folder holding `.git`).
pub fn find_upward(start: &Path) -> Option<PathBuf> {
    let abs = std::fs::canonicalize(start).ok()?;
    let mut dir = if abs.is_file() {
        abs.parent()?.to_path_buf()
    } else {
        abs
    };
    loop {
        for name in FILE_NAMES {
            let p = dir.join(name);
            if p.is_file() {
                return Some(p);
            }
        }
        if is_repo_root(&dir) {
            return None;
        }
        dir = dir.parent()?.to_path_buf();
    }
}

fn is_zero_duration(s: &str) -> bool {
    s.chars().all(|c| !c.is_ascii_digit() || c == '0')
}

impl Config {
    /// The configuration for a scanned root: `explicit` (`--config`) when
    /// given, none with `isolated`, else the nearest file upward.
    pub fn resolve(
        root: &Path,
        explicit: Option<&Path>,
        isolated: bool,
    ) -> Result<Config, LoadError> {
        if let Some(file) = explicit {
            return Config::load_file(file);
        }
        if isolated {
            return Ok(Config::default());
        }
        match find_upward(root) {
            Some(file) => Config::load_file(&file),
            None => Ok(Config::default()),
        }
    }

    /// Reads `prodsafe.toml` or `.prodsafe.toml` from the root, if present
    /// (and from the folders above it up to the repository root).
    pub fn load(root: &Path) -> Result<Config, LoadError> {
        Config::resolve(root, None, false)
    }

    pub fn load_file(file: &Path) -> Result<Config, LoadError> {
        let shown = file.display().to_string();
        let text = std::fs::read_to_string(file).map_err(|e| LoadError {
            rel: shown.clone(),
            line: None,
            message: format!("cannot read config: {e}"),
        })?;
        let mut cfg = Config::parse(&shown, &text)?;
        cfg.dir = Some(
            file.parent()
                .filter(|p| !p.as_os_str().is_empty())
                .unwrap_or(Path::new("."))
                .to_path_buf(),
        );
        cfg.file = Some(file.to_path_buf());
        Ok(cfg)
    }

    pub fn parse(name: &str, text: &str) -> Result<Config, LoadError> {
        let line_of = |needle: &str| text.lines().position(|l| l.contains(needle)).map(|i| i + 1);
        let err = |needle: &str, message: String| LoadError {
            rel: name.into(),
            line: line_of(needle),
            message: format!("invalid config: {message}"),
        };
        let mut cfg: Config = toml::from_str(text).map_err(|e| LoadError {
            rel: name.into(),
            line: e
                .span()
                .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1),
            message: format!("invalid config: {}", e.message()),
        })?;
        cfg.validate(name, text)?;
        for (code, sev) in &cfg.severity {
            if crate::finding::Severity::parse(sev).is_none() {
                return Err(err(
                    code,
                    format!("severity `{sev}` for {code} (use low, medium, high, critical)"),
                ));
            }
        }
        for glob in cfg.per_file_ignores.keys() {
            if let Err(e) = globset::Glob::new(glob) {
                return Err(err(
                    glob,
                    format!("per-file-ignores: `{glob}` is not a glob: {e}"),
                ));
            }
        }
        for x in &cfg.exclude {
            if let Err(e) = globset::Glob::new(x.trim_end_matches('/')) {
                return Err(err(x, format!("exclude: `{x}` is not a glob: {e}")));
            }
        }
        let hc = &cfg.healthcheck;
        for (key, v, zero_ok) in [
            ("interval", &hc.interval, false),
            ("timeout", &hc.timeout, false),
            ("start_period", &hc.start_period, true),
        ] {
            if !is_duration(v) {
                return Err(err(
                    key,
                    format!("[healthcheck] {key} = \"{v}\" is not a duration (e.g. \"30s\", \"1m30s\", \"500ms\")"),
                ));
            }
            if !zero_ok && is_zero_duration(v) {
                return Err(err(
                    key,
                    format!("[healthcheck] {key} must be longer than 0"),
                ));
            }
        }
        if hc.retries == 0 {
            return Err(err(
                "retries",
                "[healthcheck] retries must be at least 1".into(),
            ));
        }
        cfg.text = text.to_string();
        Ok(cfg)
    }

    /// An error about this config file, at the first line holding `needle`.
    pub fn error(&self, needle: &str, message: String) -> LoadError {
        LoadError {
            rel: self
                .file
                .as_ref()
                .map(|f| f.display().to_string())
                .unwrap_or_else(|| "prodsafe.toml".into()),
            line: self
                .text
                .lines()
                .position(|l| l.contains(needle))
                .map(|i| i + 1),
            message: format!("invalid config: {message}"),
        }
    }

    pub fn service(&self, name: &str) -> Option<&ServiceOverride> {
        self.services.get(name)
    }

    /// `path` (relative to the scanned root) as seen from the config's
    /// folder, for matching its globs.
    fn seen_from_config_dir(&self, root: &Path, rel: &str) -> String {
        let Some(dir) = &self.dir else {
            return rel.to_string();
        };
        let (Ok(root), Ok(dir)) = (std::fs::canonicalize(root), std::fs::canonicalize(dir)) else {
            return rel.to_string();
        };
        match root.strip_prefix(&dir) {
            Ok(prefix) if !prefix.as_os_str().is_empty() => {
                format!("{}/{rel}", crate::discover::rel_path(Path::new(""), prefix))
            }
            _ => rel.to_string(),
        }
    }

    /// A matcher for `exclude`, taking paths relative to the scanned root.
    pub fn exclude_matcher(&self, root: &Path) -> PathMatcher {
        let mut b = globset::GlobSetBuilder::new();
        for x in &self.exclude {
            let x = x.trim_end_matches('/').trim_start_matches("./");
            if let Ok(g) = globset::Glob::new(x) {
                b.add(g);
            }
            if let Ok(g) = globset::Glob::new(&format!("{x}/**")) {
                b.add(g);
            }
        }
        PathMatcher {
            set: b.build().unwrap_or_else(|_| globset::GlobSet::empty()),
            prefix: self.seen_from_config_dir(root, ""),
        }
    }

    /// Per-file ignores as (matcher, selectors).
    pub fn per_file_matchers(&self, root: &Path) -> Vec<(PathMatcher, Vec<String>)> {
        let prefix = self.seen_from_config_dir(root, "");
        self.per_file_ignores
            .iter()
            .filter_map(|(glob, codes)| {
                let g = glob.trim_start_matches("./");
                let mut b = globset::GlobSetBuilder::new();
                b.add(globset::Glob::new(g).ok()?);
                b.add(globset::Glob::new(&format!("{}/**", g.trim_end_matches('/'))).ok()?);
                Some((
                    PathMatcher {
                        set: b.build().ok()?,
                        prefix: prefix.clone(),
                    },
                    codes.clone(),
                ))
            })
            .collect()
    }

    /// The templates folder, relative to the config's folder.
    pub fn templates_dir(&self) -> Option<PathBuf> {
        let t = self.templates.as_ref()?;
        Some(match &self.dir {
            Some(d) => d.join(t),
            None => PathBuf::from(t),
        })
    }
}

/// Globs from a config, matched against paths relative to the scanned root.
#[derive(Debug, Clone)]
pub struct PathMatcher {
    set: globset::GlobSet,
    /// The root's path from the config's folder (`""` or `"apps/api/"`).
    prefix: String,
}

impl PathMatcher {
    pub fn is_match(&self, rel: &str) -> bool {
        if self.set.is_empty() {
            return false;
        }
        if self.prefix.is_empty() || self.prefix == "/" {
            self.set.is_match(rel)
        } else {
            self.set.is_match(format!("{}{rel}", self.prefix))
        }
    }
}

/// The JSON schema of the configuration file (committed as
/// `docs/prodsafe.schema.json`; a test keeps it current).
pub fn json_schema() -> String {
    let schema = schemars::schema_for!(Config);
    serde_json::to_string_pretty(&schema).unwrap() + "\n"
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

    #[test]
    fn durations() {
        for ok in [
            "30s",
            "1m30s",
            "500ms",
            "1.5s",
            "2h",
            "0s",
            "10us",
            "1h2m3s4ms",
        ] {
            assert!(is_duration(ok), "{ok}");
        }
        for bad in [
            "", "30", "s", "thirty", "1.s", ".5s", "10 s", "-1s", "1d", "1m30", "5sec",
        ] {
            assert!(!is_duration(bad), "{bad}");
        }
    }

    #[test]
    fn healthcheck_values_are_validated() {
        for (text, needle, line) in [
            (
                "[healthcheck]\ninterval = \"thirty\"\n",
                "not a duration",
                2,
            ),
            ("[healthcheck]\ntimeout = \"0s\"\n", "longer than 0", 2),
            ("\n[healthcheck]\nretries = 0\n", "at least 1", 3),
            (
                "[healthcheck]\nstart_period = \"20\"\n",
                "not a duration",
                2,
            ),
        ] {
            let e = Config::parse("p.toml", text).unwrap_err();
            assert!(e.message.contains(needle), "{text}: {}", e.message);
            assert_eq!(e.line, Some(line), "{text}");
        }
        assert!(Config::parse("p", "[healthcheck]\nretries = -1\n").is_err());
        assert!(Config::parse("p", "[healthcheck]\nstart_period = \"0s\"\n").is_ok());
    }

    #[test]
    fn per_file_globs_match_relative_to_the_config() {
        let c = Config::parse("p", "[per-file-ignores]\n\"apps/legacy/**\" = [\"DKR\"]\n\"**/Dockerfile.dev\" = [\"ALL\"]\n").unwrap();
        let m = c.per_file_matchers(Path::new("."));
        assert_eq!(m.len(), 2);
        let hit = |p: &str| m.iter().any(|(g, _)| g.is_match(p));
        assert!(hit("apps/legacy/Dockerfile"));
        assert!(hit("x/y/Dockerfile.dev"));
        assert!(!hit("apps/api/Dockerfile"));
        let c = Config::parse("p", "exclude = [\"legacy/\", \"*.generated.yml\"]\n").unwrap();
        let x = c.exclude_matcher(Path::new("."));
        assert!(x.is_match("legacy") && x.is_match("legacy/docker-compose.yml"));
        assert!(x.is_match("a/b.generated.yml"));
        assert!(!x.is_match("legacyx/docker-compose.yml"));
    }
}
