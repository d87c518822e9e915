//! Settings: flags, then environment (`TESSERA_<KEY>`), then the TOML file, then defaults.
//!
//! The command line resolves flags and environment (clap does both); this module merges the
//! result over the file and the defaults, and checks every value once.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use tessera_core::predictions::PredictionPolicy;
use tessera_core::realm::claims::ClaimMapper;
use tessera_core::realm::{Algorithm, RealmSettings};
use tessera_core::services::pats::ExpirationPolicy;
use tessera_core::throttle::ThrottleConfig;
use tessera_core::upstreams::AllowedUpstreams;

use crate::client_addr::TrustedProxies;
use crate::config_env::EnvSetting;
use crate::listener::ListenerLimits;

pub use crate::config_gateway::GatewayRoute;
use crate::config_gateway::GatewaySection;

pub const DEFAULT_LISTEN: &str = "127.0.0.1:8080";
pub const DEFAULT_DATABASE: &str = "sqlite://tessera-data/tessera.db";

/// Values given on the command line or in the environment; `None` defers to the file.
#[derive(Clone, Debug, Default)]
pub struct Overrides {
    pub listen: Option<String>,
    pub database: Option<String>,
    pub public_url: Option<String>,
    pub server_secret: Option<String>,
    pub admin_password: Option<String>,
    /// `TESSERA_TRUSTED_PROXIES`: comma-separated addresses or CIDR ranges.
    pub trusted_proxies: Option<String>,
    /// `TESSERA_METRICS_LISTEN`: the management listener's ADDRESS:PORT.
    pub metrics_listen: Option<String>,
    /// `TESSERA_MODELS_ALLOWED_UPSTREAMS`: comma-separated model server rules, replacing
    /// `[models] allowed_upstreams` of the file.
    pub models_allowed_upstreams: Option<String>,
    /// `TESSERA_<SECTION>_<KEY>` variables, written over the file's sections
    /// ([`crate::config_env::settings`] reads them).
    pub env: Vec<EnvSetting>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    listen: Option<String>,
    database: Option<String>,
    public_url: Option<String>,
    server_secret_file: Option<PathBuf>,
    trusted_proxies: Option<Vec<String>>,
    metrics_listen: Option<String>,
    #[serde(default)]
    pat: PatSection,
    #[serde(default)]
    throttle: ThrottleSection,
    #[serde(default)]
    limits: LimitsSection,
    #[serde(default)]
    gateway: GatewaySection,
    #[serde(default)]
    realm: RealmSection,
    #[serde(default)]
    models: ModelsSection,
    #[serde(default)]
    sso: crate::sso::SsoSection,
    #[serde(default)]
    server: crate::runtime_mode::ServerSection,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ModelsSection {
    sync_timeout_secs: Option<u64>,
    async_workers: Option<usize>,
    max_attempts: Option<u32>,
    attempt_timeout_secs: Option<u64>,
    deadline_secs: Option<u64>,
    retry_backoff_ms: Option<u64>,
    poll_ms: Option<u64>,
    allowed_upstreams: Option<Vec<String>>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct RealmSection {
    name: Option<String>,
    algorithm: Option<String>,
    access_token_lifetime_secs: Option<i64>,
    audience: Option<Vec<String>>,
    #[serde(default)]
    claim_mappers: Vec<MapperSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct MapperSection {
    claim: String,
    source: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct PatSection {
    max_expires_in: Option<i64>,
    default_expires_in: Option<i64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThrottleSection {
    max_failures: Option<u32>,
    window_secs: Option<u64>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct LimitsSection {
    body_bytes: Option<usize>,
    request_timeout_secs: Option<u64>,
    concurrency: Option<usize>,
    interactive_concurrency: Option<usize>,
    db_connections: Option<u32>,
    max_connections: Option<usize>,
    header_timeout_secs: Option<u64>,
    header_bytes: Option<usize>,
}

/// Everything the server needs to start, checked.
#[derive(Clone, Debug)]
pub struct Config {
    pub listen: SocketAddr,
    pub database: String,
    /// Given, or `http://<listen>` until the listener is bound (see `bound_to`).
    pub public_url: String,
    pub public_url_given: bool,
    /// Raw server secret (from configuration); when `None`, read or create `secret_file`.
    pub server_secret: Option<String>,
    pub secret_file: PathBuf,
    pub admin_password: Option<String>,
    pub expiration: ExpirationPolicy,
    pub throttle: ThrottleConfig,
    pub body_limit: usize,
    pub request_timeout: Duration,
    /// Requests in progress at once (all but the probes); past it, 503 at once.
    pub concurrency: usize,
    /// Administrative listings in progress at once (see `load`); below `db_connections`.
    pub interactive_concurrency: usize,
    /// Pooled database connections.
    pub db_connections: u32,
    pub cache_entries: usize,
    pub realm: RealmSettings,
    pub gateway_routes: Vec<GatewayRoute>,
    /// How long a sync model invocation may wait for the model server.
    pub sync_timeout: Duration,
    /// How async predictions are run.
    pub predictions: PredictionPolicy,
    /// The load balancers whose `X-Forwarded-For` is believed (SPEC section 5).
    pub trusted_proxies: TrustedProxies,
    /// Where Prometheus metrics are served; `None`: nowhere (SPEC section 9: never on `listen`).
    pub metrics_listen: Option<SocketAddr>,
    /// Bounds of the public listener: connections, header time and size.
    pub listener: ListenerLimits,
    /// The model servers versions may point at (SPEC section 6); none when not configured.
    pub allowed_upstreams: AllowedUpstreams,
    /// Identity providers and whether passwords still work (SPEC section 10).
    pub sso: crate::sso::SsoSettings,
    /// `[server]`: how requests are run (per-core runtimes or one multi-threaded runtime).
    pub server: crate::runtime_mode::ServerSettings,
}

#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {0}: {1}")]
    Read(PathBuf, std::io::Error),
    #[error("config file {0}: {1}")]
    Parse(PathBuf, String),
    #[error("{0}")]
    Invalid(String),
}

/// The file's sections with the environment's settings over them. Without settings from the
/// environment the file is parsed as text, so that errors give its line and column.
fn parse_file(file: Option<&Path>, env: &[EnvSetting]) -> Result<FileConfig, ConfigError> {
    let text = match file {
        Some(path) => Some(
            std::fs::read_to_string(path).map_err(|e| ConfigError::Read(path.to_path_buf(), e))?,
        ),
        None => None,
    };
    let parse_error = |e: toml::de::Error| match file {
        Some(path) => ConfigError::Parse(path.to_path_buf(), e.to_string()),
        None => ConfigError::Invalid(e.to_string()),
    };
    if env.is_empty() {
        return match text {
            Some(text) => toml::from_str(&text).map_err(parse_error),
            None => Ok(FileConfig::default()),
        };
    }
    let mut table: toml::Table = match text {
        Some(text) => toml::from_str(&text).map_err(parse_error)?,
        None => toml::Table::new(),
    };
    crate::config_env::apply(&mut table, env);
    toml::Value::Table(table).try_into().map_err(|e| {
        let names: Vec<&str> = env.iter().map(|s| s.variable.as_str()).collect();
        ConfigError::Invalid(format!(
            "{e} (the environment sets {}; check those names and values)",
            names.join(", ")
        ))
    })
}

impl Config {
    /// The configuration from the TOML `file` (defaults when `None`), with `overrides` (the
    /// command line and `TESSERA_*` variables) taking precedence over the file.
    ///
    /// # Errors
    /// `Read`/`Parse` naming the file, or `Invalid` naming the setting that is wrong.
    pub fn load(file: Option<&Path>, overrides: Overrides) -> Result<Config, ConfigError> {
        let parsed = parse_file(file, &overrides.env)?;
        let listen_text = overrides
            .listen
            .or(parsed.listen)
            .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
        let listen: SocketAddr = listen_text.parse().map_err(|_| {
            ConfigError::Invalid(format!(
                "listen: {listen_text:?} is not an ADDRESS:PORT such as 127.0.0.1:8080"
            ))
        })?;
        let database = overrides
            .database
            .or(parsed.database)
            .unwrap_or_else(|| DEFAULT_DATABASE.to_string());
        let given_url = overrides.public_url.or(parsed.public_url);
        let public_url_given = given_url.is_some();
        let public_url = given_url
            .unwrap_or_else(|| format!("http://{listen}"))
            .trim_end_matches('/')
            .to_string();
        if !(public_url.starts_with("http://") || public_url.starts_with("https://")) {
            return Err(ConfigError::Invalid(format!(
                "public_url: {public_url:?} must start with http:// or https://"
            )));
        }
        let secret_file = parsed
            .server_secret_file
            .unwrap_or_else(|| default_secret_file(&database));
        let defaults = ExpirationPolicy::default();
        let expiration = ExpirationPolicy {
            max_secs: parsed.pat.max_expires_in.unwrap_or(defaults.max_secs),
            default_secs: parsed
                .pat
                .default_expires_in
                .unwrap_or(defaults.default_secs),
        };
        if expiration.max_secs < 1 || !(1..=expiration.max_secs).contains(&expiration.default_secs)
        {
            return Err(ConfigError::Invalid(
                "pat: need 1 <= default_expires_in <= max_expires_in".into(),
            ));
        }
        let throttle_defaults = ThrottleConfig::default();
        let throttle = ThrottleConfig {
            max_failures: parsed
                .throttle
                .max_failures
                .unwrap_or(throttle_defaults.max_failures),
            window: parsed
                .throttle
                .window_secs
                .map(Duration::from_secs)
                .unwrap_or(throttle_defaults.window),
        };
        if let Some(secret) = &overrides.server_secret
            && secret.len() < 32
        {
            return Err(ConfigError::Invalid(
                "server secret: must be at least 32 characters".into(),
            ));
        }
        let sso = crate::sso::SsoSettings::parse(parsed.sso)?;
        sso.check_public_url(public_url_given, listen)?;
        sso.check_public_url_shape(&public_url)?;
        let realm = realm_settings(&public_url, parsed.realm, &sso.attribute_names())?;
        let mut gateway_routes: Vec<GatewayRoute> = Vec::new();
        for r in &parsed.gateway.routes {
            let mut route = GatewayRoute::new(
                &r.prefix,
                &r.upstream,
                Duration::from_secs(r.timeout_secs.unwrap_or(30)),
            )?;
            if let Some(idle) = r.idle_timeout_secs {
                route = route.with_idle_timeout(Duration::from_secs(idle))?;
            }
            if gateway_routes
                .iter()
                .any(|g| g.prefix.starts_with(&route.prefix) || route.prefix.starts_with(&g.prefix))
            {
                return Err(ConfigError::Invalid(format!(
                    "gateway.routes {:?}: overlaps another route",
                    route.prefix
                )));
            }
            gateway_routes.push(route);
        }
        let (sync_timeout, predictions) = models_settings(&parsed.models)?;
        let allowed_upstreams = allowed_upstreams(
            overrides.models_allowed_upstreams,
            parsed.models.allowed_upstreams,
        )?;
        let proxies: Vec<String> = match overrides.trusted_proxies {
            Some(list) => list
                .split(',')
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(String::from)
                .collect(),
            None => parsed.trusted_proxies.unwrap_or_default(),
        };
        let trusted_proxies = TrustedProxies::parse(&proxies)
            .map_err(|e| ConfigError::Invalid(format!("trusted_proxies: {e}")))?;
        let metrics_listen = overrides
            .metrics_listen
            .or(parsed.metrics_listen)
            .map(|text| {
                text.parse::<SocketAddr>().map_err(|_| {
                    ConfigError::Invalid(format!(
                        "metrics_listen: {text:?} is not an ADDRESS:PORT such as 127.0.0.1:9464"
                    ))
                })
            })
            .transpose()?;
        if metrics_listen.is_some_and(|m| m == listen && m.port() != 0) {
            return Err(ConfigError::Invalid(
                "metrics_listen: must differ from listen (metrics are never served to API clients)"
                    .into(),
            ));
        }
        let listener = listener_limits(&parsed.limits)?;
        let (concurrency, interactive_concurrency, db_connections) =
            concurrency_limits(&parsed.limits, &database)?;
        Ok(Config {
            server: crate::runtime_mode::ServerSettings::parse(&parsed.server)?,
            allowed_upstreams,
            sso,
            trusted_proxies,
            metrics_listen,
            listener,
            sync_timeout,
            predictions,
            realm,
            gateway_routes,
            public_url_given,
            listen,
            database,
            public_url,
            server_secret: overrides.server_secret,
            secret_file,
            admin_password: overrides.admin_password,
            expiration,
            throttle,
            body_limit: parsed.limits.body_bytes.unwrap_or(64 * 1024),
            request_timeout: Duration::from_secs(parsed.limits.request_timeout_secs.unwrap_or(30)),
            concurrency,
            interactive_concurrency,
            db_connections,
            cache_entries: 1_000_000,
        })
    }
}

impl Config {
    /// After binding: a default public URL names the real port (listening on port 0 picks one).
    pub fn bound_to(&mut self, address: SocketAddr) {
        self.listen = address;
        if !self.public_url_given {
            self.public_url = format!("http://{address}");
            self.realm.issuer = format!("{}/auth/realms/{}", self.public_url, self.realm.name);
        }
    }
}

/// `provided`: the attribute names identity providers assert, which claim mappers may read.
fn realm_settings(
    public_url: &str,
    section: RealmSection,
    provided: &[String],
) -> Result<RealmSettings, ConfigError> {
    let mut settings = RealmSettings::new(public_url);
    if let Some(name) = section.name {
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
        if !valid {
            return Err(ConfigError::Invalid(format!(
                "realm.name: {name:?} must be 1-64 letters, digits, '-', '_' or '.'"
            )));
        }
        settings.issuer = format!("{public_url}/auth/realms/{name}");
        settings.name = name;
    }
    if let Some(alg) = section.algorithm {
        settings.algorithm = Algorithm::parse(&alg).ok_or_else(|| {
            ConfigError::Invalid(format!(
                "realm.algorithm: {alg:?} must be RS256, ES256 or EdDSA"
            ))
        })?;
    }
    if let Some(secs) = section.access_token_lifetime_secs {
        if !(10..=86_400).contains(&secs) {
            return Err(ConfigError::Invalid(
                "realm.access_token_lifetime_secs: must be from 10 to 86400".into(),
            ));
        }
        settings.lifetime_secs = secs;
    }
    if let Some(audience) = section.audience {
        if audience.is_empty() || audience.iter().any(String::is_empty) {
            return Err(ConfigError::Invalid(
                "realm.audience: must be non-empty strings".into(),
            ));
        }
        settings.audience = audience;
    }
    settings.mappers = section
        .claim_mappers
        .iter()
        .map(|m| ClaimMapper::parse_with(&m.claim, &m.source, provided))
        .collect::<Result<_, _>>()
        .map_err(|e| ConfigError::Invalid(format!("realm.claim_mappers: {e}")))?;
    ClaimMapper::check_all(&settings.mappers)
        .map_err(|e| ConfigError::Invalid(format!("realm.claim_mappers: {e}")))?;
    Ok(settings)
}

/// `[limits]` concurrency: (requests, interactive requests, database connections), from the file
/// or `TESSERA_LIMITS_CONCURRENCY`, `TESSERA_LIMITS_INTERACTIVE_CONCURRENCY`,
/// `TESSERA_LIMITS_DB_CONNECTIONS`. Browsing defaults to half the pool and must leave at least
/// one connection to verification and credential writes.
fn concurrency_limits(
    l: &LimitsSection,
    database: &str,
) -> Result<(usize, usize, u32), ConfigError> {
    let concurrency = l.concurrency.unwrap_or(1024);
    let connections = l
        .db_connections
        .unwrap_or_else(|| tessera_store::default_connections(database));
    let interactive = l
        .interactive_concurrency
        .unwrap_or((connections as usize / 2).max(1));
    if concurrency < 1 {
        return Err(ConfigError::Invalid(
            "limits.concurrency: must be at least 1".into(),
        ));
    }
    if connections < 2 {
        return Err(ConfigError::Invalid(
            "limits.db_connections: must be at least 2 (one is kept for verification)".into(),
        ));
    }
    if interactive < 1 || interactive >= connections as usize {
        return Err(ConfigError::Invalid(format!(
            "limits.interactive_concurrency: must be from 1 to {} (below db_connections, so that \
             browsing never holds every connection)",
            connections - 1
        )));
    }
    Ok((concurrency, interactive, connections))
}

/// `[limits]`: the public listener's bounds.
fn listener_limits(l: &LimitsSection) -> Result<ListenerLimits, ConfigError> {
    let d = ListenerLimits::default();
    let positive = |name: &str, v: Option<u64>| match v {
        Some(0) => Err(ConfigError::Invalid(format!(
            "limits.{name}: must be at least 1"
        ))),
        other => Ok(other),
    };
    let header_timeout = positive("header_timeout_secs", l.header_timeout_secs)?
        .map_or(d.header_timeout, Duration::from_secs);
    Ok(ListenerLimits {
        max_connections: positive("max_connections", l.max_connections.map(|c| c as u64))?
            .map_or(d.max_connections, |c| c as usize),
        header_timeout,
        header_timeout_under_load: d.header_timeout_under_load.min(header_timeout),
        header_bytes: match l.header_bytes {
            Some(b) if !(8192..=1024 * 1024).contains(&b) => {
                return Err(ConfigError::Invalid(
                    "limits.header_bytes: must be from 8192 to 1048576".into(),
                ));
            }
            Some(b) => b,
            None => d.header_bytes,
        },
        drain: d.drain,
    })
}

/// `[models]`: the sync invocation timeout and the async prediction policy.
fn models_settings(m: &ModelsSection) -> Result<(Duration, PredictionPolicy), ConfigError> {
    let at_least_one = |name: &str, v: Option<u64>| match v {
        Some(0) => Err(ConfigError::Invalid(format!(
            "models.{name}: must be at least 1"
        ))),
        other => Ok(other),
    };
    let d = PredictionPolicy::default();
    let workers = at_least_one("async_workers", m.async_workers.map(|w| w as u64))?;
    let attempts = at_least_one("max_attempts", m.max_attempts.map(u64::from))?;
    let policy = PredictionPolicy {
        workers: workers.map_or(d.workers, |w| w as usize),
        max_attempts: attempts.map_or(d.max_attempts, |a| a.min(100) as u32),
        attempt_timeout: at_least_one("attempt_timeout_secs", m.attempt_timeout_secs)?
            .map_or(d.attempt_timeout, Duration::from_secs),
        deadline: at_least_one("deadline_secs", m.deadline_secs)?
            .map_or(d.deadline, Duration::from_secs),
        backoff: m.retry_backoff_ms.map_or(d.backoff, Duration::from_millis),
        poll: at_least_one("poll_ms", m.poll_ms)?.map_or(d.poll, Duration::from_millis),
    };
    let sync = at_least_one("sync_timeout_secs", m.sync_timeout_secs)?.unwrap_or(30);
    Ok((Duration::from_secs(sync), policy))
}

/// `[models] allowed_upstreams`, or the comma-separated environment value that replaces it.
fn allowed_upstreams(
    env: Option<String>,
    file: Option<Vec<String>>,
) -> Result<AllowedUpstreams, ConfigError> {
    let (entries, name) = match env {
        Some(list) => (
            list.split(',')
                .map(str::trim)
                .filter(|e| !e.is_empty())
                .map(String::from)
                .collect(),
            "TESSERA_MODELS_ALLOWED_UPSTREAMS",
        ),
        None => (file.unwrap_or_default(), "models.allowed_upstreams"),
    };
    AllowedUpstreams::parse(&entries).map_err(|e| ConfigError::Invalid(format!("{name}: {e}")))
}

/// Beside the SQLite file when there is one, so that the CLI and the server find the same
/// secret for the same database; `./tessera-data/` otherwise.
fn default_secret_file(database: &str) -> PathBuf {
    let sqlite_path = database
        .strip_prefix("sqlite://")
        .or_else(|| database.strip_prefix("sqlite:"))
        .map(|p| p.split('?').next().unwrap_or(p));
    match sqlite_path.and_then(|p| Path::new(p).parent()) {
        Some(dir) if !dir.as_os_str().is_empty() => dir.join("server-secret"),
        Some(_) => PathBuf::from("server-secret"),
        None => PathBuf::from("tessera-data/server-secret"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_secret_lives_beside_the_sqlite_file() {
        assert_eq!(
            default_secret_file("sqlite:///var/lib/t/tessera.db"),
            PathBuf::from("/var/lib/t/server-secret")
        );
        assert_eq!(
            default_secret_file("postgres://db/t"),
            PathBuf::from("tessera-data/server-secret")
        );
    }

    #[test]
    fn model_upstreams_come_from_the_file_or_the_environment_which_wins() {
        use tessera_core::upstreams::UpstreamUrl;
        let url = |s: &str| UpstreamUrl::parse(s).unwrap();
        let from_file = allowed_upstreams(None, Some(vec!["http://10.8.0.0/16".into()])).unwrap();
        assert!(from_file.check(&url("http://10.8.0.1")).is_ok());
        let from_env = allowed_upstreams(
            Some(" http://127.0.0.1:9100 , https://*.models.internal,".into()),
            Some(vec!["http://10.8.0.0/16".into()]),
        )
        .unwrap();
        assert!(from_env.check(&url("http://127.0.0.1:9100")).is_ok());
        assert!(from_env.check(&url("https://a.models.internal")).is_ok());
        assert!(from_env.check(&url("http://10.8.0.1")).is_err());
        assert!(allowed_upstreams(None, None).unwrap().is_empty());
        let bad = allowed_upstreams(Some("http://169.254.169.254".into()), None).unwrap_err();
        assert!(
            bad.to_string().contains("TESSERA_MODELS_ALLOWED_UPSTREAMS"),
            "{bad}"
        );
        let bad = allowed_upstreams(None, Some(vec!["ftp://x".into()])).unwrap_err();
        assert!(
            bad.to_string().contains("models.allowed_upstreams"),
            "{bad}"
        );
    }

    #[test]
    fn model_upstreams_are_read_from_the_models_section_of_the_file() {
        use tessera_core::upstreams::UpstreamUrl;
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tessera.toml");
        std::fs::write(
            &path,
            "[models]\nallowed_upstreams = [\"http://127.0.0.1:9100\", \"http://10.8.0.0/16\", \"https://*.models.internal\"]\n",
        )
        .unwrap();
        let config = Config::load(Some(&path), Overrides::default()).unwrap();
        let allowed = config.allowed_upstreams;
        assert!(
            allowed
                .check(&UpstreamUrl::parse("http://10.8.3.4").unwrap())
                .is_ok()
        );
        assert!(
            allowed
                .check(&UpstreamUrl::parse("http://127.0.0.1:9101").unwrap())
                .is_err()
        );
        let none = Config::load(None, Overrides::default()).unwrap();
        assert!(none.allowed_upstreams.is_empty());
    }

    #[test]
    fn a_bad_listen_address_is_named() {
        let err = Config::load(
            None,
            Overrides {
                listen: Some("nope".into()),
                ..Overrides::default()
            },
        )
        .err();
        assert!(err.is_some_and(|e| e.to_string().contains("listen")));
    }

    #[test]
    fn section_keys_come_from_the_environment_over_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tessera.toml");
        std::fs::write(
            &path,
            "[limits]\nheader_timeout_secs = 9\nheader_bytes = 16384\n",
        )
        .unwrap();
        let env = |pairs: &[(&str, &str)]| Overrides {
            env: crate::config_env::settings(
                pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())),
            ),
            ..Overrides::default()
        };
        let config = Config::load(
            Some(&path),
            env(&[("TESSERA_LIMITS_HEADER_TIMEOUT_SECS", "4")]),
        )
        .unwrap();
        assert_eq!(config.listener.header_timeout, Duration::from_secs(4));
        assert_eq!(config.listener.header_bytes, 16384);

        let unknown = Config::load(Some(&path), env(&[("TESSERA_LIMITS_HEADER_TIMEOUT", "4")]))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            unknown.contains("TESSERA_LIMITS_HEADER_TIMEOUT"),
            "{unknown}"
        );
        assert!(unknown.contains("header_timeout"), "{unknown}");

        let wrong_type = Config::load(None, env(&[("TESSERA_LIMITS_HEADER_BYTES", "many")]))
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            wrong_type.contains("TESSERA_LIMITS_HEADER_BYTES"),
            "{wrong_type}"
        );
    }
}
