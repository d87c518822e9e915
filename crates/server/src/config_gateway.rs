//! Gateway routes in the settings (`[[gateway.routes]]`): a prefix, its upstream and timeouts,
//! checked once at start-up (canonical prefix, no overlap with Tessera's own paths, a plain
//! `http://host:port` upstream).

use std::time::Duration;

use serde::Deserialize;

use crate::config::ConfigError;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct GatewaySection {
    #[serde(default)]
    pub(crate) routes: Vec<RouteSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RouteSection {
    pub(crate) prefix: String,
    pub(crate) upstream: String,
    pub(crate) timeout_secs: Option<u64>,
    pub(crate) idle_timeout_secs: Option<u64>,
}

/// A gateway route: requests under `prefix` go, authenticated, to `upstream`.
#[derive(Clone, Debug)]
pub struct GatewayRoute {
    pub prefix: String,
    /// `http://host:port`, without a trailing slash.
    pub upstream: String,
    /// The `host:port` of `upstream`, parsed once for every forwarded request.
    pub authority: axum::http::uri::Authority,
    /// The `Host` header the upstream gets: `authority`'s host, with its port unless that is
    /// 80 — what the HTTP client would write on every request, made once (issue #16).
    pub host: axum::http::HeaderValue,
    /// How long to wait for the upstream's response headers.
    pub timeout: Duration,
    /// How long a streamed response body may stay silent before it is cut.
    pub idle_timeout: Duration,
}

/// Paths Tessera serves itself; a gateway route may not shadow them.
const OWN_PREFIXES: &[&str] = &[
    "/api/pat/",
    "/api/admin/",
    "/api/serviceAccounts/",
    "/api/apiKey/",
    "/api/organizations/",
    "/v4/",
    "/auth/",
    "/healthz",
    "/readyz",
    "/version",
    "/docs/",
    "/models/",
    "/api/modelApis/",
    "/api/modelServing/",
    "/metrics",
    "/ui/",
];

impl GatewayRoute {
    pub fn new(
        prefix: &str,
        upstream: &str,
        timeout: Duration,
    ) -> Result<GatewayRoute, ConfigError> {
        let bad = |m: String| ConfigError::Invalid(format!("gateway.routes {prefix:?}: {m}"));
        if !(prefix.starts_with('/') && prefix.ends_with('/') && prefix.len() > 1) {
            return Err(bad(
                "the prefix must start and end with '/', e.g. \"/api/jobs/\"".into(),
            ));
        }
        if prefix.contains(['{', '}', '*', '?', '#']) {
            return Err(bad(
                "the prefix may not contain '{', '}', '*', '?' or '#'".into()
            ));
        }
        if !crate::gateway::path::is_canonical(prefix) {
            return Err(bad(
                "the prefix must be a canonical path (no '//', dot segments, '%' or '\\')".into(),
            ));
        }
        if let Some(own) = OWN_PREFIXES
            .iter()
            .find(|own| own.starts_with(prefix) || prefix.starts_with(**own))
        {
            return Err(bad(format!("overlaps Tessera's own {own}")));
        }
        let upstream = upstream.trim_end_matches('/');
        let authority = upstream
            .parse::<axum::http::Uri>()
            .ok()
            .filter(|u| {
                u.scheme_str() == Some("http")
                    && (u.path() == "/" || u.path().is_empty())
                    && upstream.starts_with("http://")
            })
            .and_then(|u| u.authority().cloned());
        let Some(authority) = authority else {
            return Err(bad(format!(
                "upstream {upstream:?} must be http://host:port (no path)"
            )));
        };
        if timeout.is_zero() {
            return Err(bad("timeout_secs must be at least 1".into()));
        }
        let host = match authority.port().filter(|port| port.as_u16() != 80) {
            Some(port) => format!("{}:{}", authority.host(), port.as_str()),
            None => authority.host().to_string(),
        };
        let host = axum::http::HeaderValue::try_from(host)
            .map_err(|_| bad(format!("upstream {upstream:?} has no valid host")))?;
        Ok(GatewayRoute {
            prefix: prefix.to_string(),
            upstream: upstream.to_string(),
            authority,
            host,
            timeout,
            idle_timeout: Duration::from_secs(60),
        })
    }

    /// How long a streamed response body may stay silent (default 60 s).
    pub fn with_idle_timeout(mut self, idle: Duration) -> Result<GatewayRoute, ConfigError> {
        if idle.is_zero() {
            return Err(ConfigError::Invalid(format!(
                "gateway.routes {:?}: idle_timeout_secs must be at least 1",
                self.prefix
            )));
        }
        self.idle_timeout = idle;
        Ok(self)
    }
}
