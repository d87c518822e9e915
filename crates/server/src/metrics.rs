//! Prometheus metrics at `/metrics`: request counts by status class, authentication outcomes by
//! credential kind, throttling, token exchanges, gateway upstream failures, cache size. Counters
//! are plain atomics; no label carries anything but a fixed name (never a secret or a user).

use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};

use tessera_core::model::CredentialKind;

#[derive(Default)]
pub struct Metrics {
    responses: [AtomicU64; 5],
    auth_ok: [AtomicU64; 5],
    auth_refused: AtomicU64,
    throttled: AtomicU64,
    exchanges: AtomicU64,
    upstream_failures: AtomicU64,
}

const KINDS: [&str; 5] = ["pat", "sa_token", "api_key", "access_token", "web_session"];

fn kind_index(kind: CredentialKind) -> usize {
    match kind {
        CredentialKind::Pat => 0,
        CredentialKind::ServiceAccountToken => 1,
        CredentialKind::ApiKey => 2,
        CredentialKind::AccessToken => 3,
        CredentialKind::WebSession => 4,
    }
}

impl Metrics {
    pub fn response(&self, status: u16) {
        if let Some(slot) = self
            .responses
            .get(usize::from(status / 100).saturating_sub(1))
        {
            slot.fetch_add(1, Ordering::Relaxed);
        }
    }

    pub fn authenticated(&self, kind: CredentialKind) {
        self.auth_ok[kind_index(kind)].fetch_add(1, Ordering::Relaxed);
    }

    pub fn refused(&self) {
        self.auth_refused.fetch_add(1, Ordering::Relaxed);
    }

    pub fn throttled(&self) {
        self.throttled.fetch_add(1, Ordering::Relaxed);
    }

    pub fn exchanged(&self) {
        self.exchanges.fetch_add(1, Ordering::Relaxed);
    }

    pub fn upstream_failed(&self) {
        self.upstream_failures.fetch_add(1, Ordering::Relaxed);
    }

    /// The text exposition format (version 0.0.4).
    pub fn render(&self, cached_credentials: usize) -> String {
        let mut out = String::with_capacity(1024);
        let get = |a: &AtomicU64| a.load(Ordering::Relaxed);
        let _ = writeln!(
            out,
            "# HELP tessera_http_responses_total Responses by status class."
        );
        let _ = writeln!(out, "# TYPE tessera_http_responses_total counter");
        for (i, slot) in self.responses.iter().enumerate() {
            let _ = writeln!(
                out,
                "tessera_http_responses_total{{class=\"{}xx\"}} {}",
                i + 1,
                get(slot)
            );
        }
        let _ = writeln!(
            out,
            "# HELP tessera_authentications_total Requests authenticated, by credential kind."
        );
        let _ = writeln!(out, "# TYPE tessera_authentications_total counter");
        for (kind, slot) in KINDS.iter().zip(&self.auth_ok) {
            let _ = writeln!(
                out,
                "tessera_authentications_total{{kind=\"{kind}\"}} {}",
                get(slot)
            );
        }
        for (name, help, value) in [
            (
                "tessera_authentication_failures_total",
                "Credentials presented and refused.",
                get(&self.auth_refused),
            ),
            (
                "tessera_throttled_total",
                "Failed authentications answered 429.",
                get(&self.throttled),
            ),
            (
                "tessera_token_exchanges_total",
                "Access tokens issued by token exchange.",
                get(&self.exchanges),
            ),
            (
                "tessera_gateway_upstream_failures_total",
                "Gateway requests answered 502 or 504.",
                get(&self.upstream_failures),
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
            );
        }
        let _ = writeln!(
            out,
            "# HELP tessera_cached_credentials Credentials verified from memory."
        );
        let _ = writeln!(
            out,
            "# TYPE tessera_cached_credentials gauge\ntessera_cached_credentials {cached_credentials}"
        );
        out
    }
}
