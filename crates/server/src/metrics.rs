//! Prometheus metrics, kept with the `prometheus-client` crate and served on the management
//! listener (`metrics_listen`, never the public one; SPEC section 9): responses by status class,
//! request duration by route class, authentications and their duration by credential kind,
//! refusals, throttling, requests shed under load, token exchanges, gateway upstream failures and duration, cache size.
//! Labels carry only fixed names: never a secret, a user or a path.

use std::time::Duration;

use prometheus_client::encoding::{EncodeLabelSet, EncodeLabelValue, LabelValueEncoder};
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use tessera_core::model::CredentialKind;

/// The OpenMetrics text format's content type, which Prometheus scrapes natively.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// What kind of work a request was, for the request-duration histogram.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
pub enum RouteClass {
    api,
    realm,
    gateway,
    invocation,
    ui,
}

/// `1xx` to `5xx`, by the status's hundreds digit.
#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq)]
struct StatusClass(u8);

impl EncodeLabelValue for StatusClass {
    fn encode(&self, encoder: &mut LabelValueEncoder) -> Result<(), std::fmt::Error> {
        use std::fmt::Write as _;
        write!(encoder, "{}xx", self.0)
    }
}

#[derive(Clone, Copy, Debug, Hash, PartialEq, Eq, EncodeLabelValue)]
#[allow(non_camel_case_types)]
enum Kind {
    pat,
    sa_token,
    api_key,
    access_token,
    web_session,
    refused,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ClassLabel {
    class: StatusClass,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabel {
    route: RouteClass,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KindLabel {
    kind: Kind,
}

const STATUS_CLASSES: [StatusClass; 5] = [
    StatusClass(1),
    StatusClass(2),
    StatusClass(3),
    StatusClass(4),
    StatusClass(5),
];
const ROUTES: [RouteClass; 5] = [
    RouteClass::api,
    RouteClass::realm,
    RouteClass::gateway,
    RouteClass::invocation,
    RouteClass::ui,
];
const KINDS: [Kind; 6] = [
    Kind::pat,
    Kind::sa_token,
    Kind::api_key,
    Kind::access_token,
    Kind::web_session,
    Kind::refused,
];

fn kind_index(kind: Option<CredentialKind>) -> usize {
    match kind {
        Some(CredentialKind::Pat) => 0,
        Some(CredentialKind::ServiceAccountToken) => 1,
        Some(CredentialKind::ApiKey) => 2,
        Some(CredentialKind::AccessToken) => 3,
        Some(CredentialKind::WebSession) => 4,
        None => 5,
    }
}

/// Durations in seconds, from 50 µs to about 26 s.
fn duration_buckets() -> impl Iterator<Item = f64> {
    exponential_buckets(0.000_05, 2.0, 20)
}

/// Every metric of a node. The per-label series are created up front and held directly, so
/// that recording is an atomic add or one uncontended lock, never a map lookup.
pub struct Metrics {
    registry: Registry,
    responses: [Counter; 5],
    request_duration: [Histogram; 5],
    auth_ok: [Counter; 5],
    auth_duration: [Histogram; 6],
    auth_refused: Counter,
    throttled: Counter,
    shed: Counter,
    exchanges: Counter,
    upstream_failures: Counter,
    upstream_duration: Histogram,
    cached_credentials: Gauge,
    /// The gateway's route prefixes, to tell its requests apart.
    gateway_prefixes: Vec<String>,
}

impl Default for Metrics {
    fn default() -> Self {
        Metrics::new(Vec::new())
    }
}

impl Metrics {
    /// The metrics of a node whose gateway serves `gateway_prefixes`.
    pub fn new(gateway_prefixes: Vec<String>) -> Metrics {
        let mut registry = Registry::with_prefix("tessera");
        let responses_family = Family::<ClassLabel, Counter>::default();
        registry.register(
            "http_responses",
            "Responses by status class",
            responses_family.clone(),
        );
        let request_family = Family::<RouteLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(duration_buckets())
        });
        registry.register(
            "http_request_duration_seconds",
            "Time from a request's head to its response's head, by route class",
            request_family.clone(),
        );
        let auth_family = Family::<KindLabel, Counter>::default();
        registry.register(
            "authentications",
            "Requests authenticated, by credential kind",
            auth_family.clone(),
        );
        let auth_duration_family = Family::<KindLabel, Histogram>::new_with_constructor(|| {
            Histogram::new(duration_buckets())
        });
        registry.register(
            "authentication_duration_seconds",
            "Time to authenticate a credential, by kind (refused: any refused credential)",
            auth_duration_family.clone(),
        );
        let counter = |registry: &mut Registry, name: &str, help: &str| {
            let c = Counter::default();
            registry.register(name, help, c.clone());
            c
        };
        let auth_refused = counter(
            &mut registry,
            "authentication_failures",
            "Credentials presented and refused",
        );
        let throttled = counter(
            &mut registry,
            "throttled",
            "Failed authentications answered 429",
        );
        let shed = counter(
            &mut registry,
            "requests_shed",
            "Requests answered 503 at once because too many were in progress",
        );
        let exchanges = counter(
            &mut registry,
            "token_exchanges",
            "Access tokens issued by token exchange",
        );
        let upstream_failures = counter(
            &mut registry,
            "gateway_upstream_failures",
            "Gateway requests answered 502 or 504",
        );
        let upstream_duration = Histogram::new(duration_buckets());
        registry.register(
            "gateway_upstream_duration_seconds",
            "Time from forwarding a request to the upstream's response head",
            upstream_duration.clone(),
        );
        let cached_credentials = Gauge::default();
        registry.register(
            "cached_credentials",
            "Credentials verified from memory",
            cached_credentials.clone(),
        );
        Metrics {
            responses: STATUS_CLASSES.map(|class| {
                responses_family
                    .get_or_create(&ClassLabel { class })
                    .clone()
            }),
            request_duration: ROUTES
                .map(|route| request_family.get_or_create(&RouteLabel { route }).clone()),
            auth_ok: [KINDS[0], KINDS[1], KINDS[2], KINDS[3], KINDS[4]]
                .map(|kind| auth_family.get_or_create(&KindLabel { kind }).clone()),
            auth_duration: KINDS.map(|kind| {
                auth_duration_family
                    .get_or_create(&KindLabel { kind })
                    .clone()
            }),
            registry,
            auth_refused,
            throttled,
            shed,
            exchanges,
            upstream_failures,
            upstream_duration,
            cached_credentials,
            gateway_prefixes,
        }
    }

    /// The class of a request by its path.
    pub fn route_class(&self, path: &str) -> RouteClass {
        if path.starts_with("/auth/") {
            RouteClass::realm
        } else if path.starts_with("/models/") || path.starts_with("/api/modelApis/async/") {
            RouteClass::invocation
        } else if path == "/" || path == "/ui" || path.starts_with("/ui/") {
            RouteClass::ui
        } else if self.gateway_prefixes.iter().any(|p| path.starts_with(p)) {
            RouteClass::gateway
        } else {
            RouteClass::api
        }
    }

    /// One response: its status and how long it took.
    pub fn response(&self, status: u16, route: RouteClass, took: Duration) {
        if let Some(slot) = self
            .responses
            .get(usize::from(status / 100).saturating_sub(1))
        {
            slot.inc();
        }
        self.request_duration[route as usize].observe(took.as_secs_f64());
    }

    pub fn authenticated(&self, kind: CredentialKind) {
        self.auth_ok[kind_index(Some(kind))].inc();
    }

    /// How long authenticating took; `None` for a refused credential.
    pub fn authentication_took(&self, kind: Option<CredentialKind>, took: Duration) {
        self.auth_duration[kind_index(kind)].observe(took.as_secs_f64());
    }

    pub fn refused(&self) {
        self.auth_refused.inc();
    }

    pub fn throttled(&self) {
        self.throttled.inc();
    }

    /// One request shed by a `[limits]` concurrency limit.
    pub fn shed(&self) {
        self.shed.inc();
    }

    pub fn exchanged(&self) {
        self.exchanges.inc();
    }

    pub fn upstream_failed(&self) {
        self.upstream_failures.inc();
    }

    /// How long an upstream took to answer with its response head.
    pub fn upstream_took(&self, took: Duration) {
        self.upstream_duration.observe(took.as_secs_f64());
    }

    /// The OpenMetrics text exposition (see `CONTENT_TYPE`).
    pub fn render(&self, cached_credentials: usize) -> String {
        self.cached_credentials
            .set(i64::try_from(cached_credentials).unwrap_or(i64::MAX));
        let mut out = String::with_capacity(16 * 1024);
        if let Err(error) = prometheus_client::encoding::text::encode(&mut out, &self.registry) {
            tracing::warn!(%error, "cannot encode the metrics");
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_exposition_names_every_series_with_fixed_labels() {
        let metrics = Metrics::new(vec!["/api/jobs/".into()]);
        metrics.response(200, RouteClass::api, Duration::from_micros(300));
        metrics.response(401, RouteClass::gateway, Duration::from_millis(2));
        metrics.authenticated(CredentialKind::Pat);
        metrics.authentication_took(None, Duration::from_micros(40));
        metrics.refused();
        let text = metrics.render(3);
        for line in [
            "tessera_http_responses_total{class=\"2xx\"} 1",
            "tessera_http_responses_total{class=\"4xx\"} 1",
            "tessera_authentications_total{kind=\"pat\"} 1",
            "tessera_authentication_failures_total 1",
            "tessera_cached_credentials 3",
            "tessera_http_request_duration_seconds_count{route=\"gateway\"} 1",
            "tessera_authentication_duration_seconds_count{kind=\"refused\"} 1",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
        assert!(text.ends_with("# EOF\n"));
    }

    #[test]
    fn requests_are_classed_by_path() {
        let metrics = Metrics::new(vec!["/api/jobs/".into()]);
        assert_eq!(metrics.route_class("/api/jobs/v1/x"), RouteClass::gateway);
        assert_eq!(metrics.route_class("/api/pat/v1/tokens"), RouteClass::api);
        assert_eq!(
            metrics.route_class("/auth/realms/DominoRealm/protocol/openid-connect/token"),
            RouteClass::realm
        );
        assert_eq!(
            metrics.route_class("/models/abc/latest/model"),
            RouteClass::invocation
        );
        assert_eq!(metrics.route_class("/ui/account"), RouteClass::ui);
    }
}
