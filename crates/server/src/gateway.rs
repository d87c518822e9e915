//! The gateway: configured path prefixes reverse-proxied to upstream services after
//! authentication. The caller's credential never leaves Tessera: upstreams receive
//! `Authorization: Bearer <access JWT>` (from the realm's per-credential cache, so steady traffic
//! signs nothing) and verify it against the JWKS. Bodies stream both ways; connections to
//! upstreams are pooled; an unreachable upstream is a 502, a slow one a 504, never a hang.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::authn::Identity;
use crate::config::GatewayRoute;
use crate::envelope::RequestId;
use crate::error::ApiError;
use crate::state::AppState;

pub type UpstreamClient = Client<HttpConnector, Body>;

/// A pooled HTTP/1 client for every upstream.
pub fn client() -> UpstreamClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(std::time::Duration::from_secs(5)));
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(std::time::Duration::from_secs(60))
        .pool_max_idle_per_host(256)
        .build(connector)
}

/// Marks a response that came from an upstream: the envelope layer leaves it as it is.
#[derive(Clone, Copy, Debug)]
pub struct Proxied;

/// Hop-by-hop headers (RFC 9110 section 7.6.1), never forwarded.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

fn strip_hop_by_hop(headers: &mut HeaderMap) {
    let listed: Vec<HeaderName> = headers
        .get_all(header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|name| HeaderName::from_bytes(name.trim().as_bytes()).ok())
        .collect();
    for name in listed {
        headers.remove(name);
    }
    for name in HOP_BY_HOP {
        headers.remove(*name);
    }
}

pub fn routes(routes: &[GatewayRoute]) -> Router<AppState> {
    let mut router = Router::new();
    for route in routes {
        let route = Arc::new(route.clone());
        router = router.route(
            &format!("{}{{*rest}}", route.prefix),
            any(
                move |state: State<AppState>,
                      identity: Identity,
                      peer: ConnectInfo<SocketAddr>,
                      request: Request| {
                    forward(state, identity, peer, route.clone(), request)
                },
            ),
        );
    }
    router
}

/// Any authenticated principal, with any kind of credential.
async fn forward(
    State(state): State<AppState>,
    Identity(caller): Identity,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    route: Arc<GatewayRoute>,
    request: Request,
) -> Result<Response, ApiError> {
    let issued = state
        .realm
        .issue(caller.principal(), caller.credential(), None)
        .await?;
    let (mut parts, body) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    parts.uri = format!("{}{path}", route.upstream)
        .parse::<Uri>()
        .map_err(|e| ApiError::BadRequest(format!("cannot forward this path: {e}")))?;
    let request_id = parts.extensions.get::<RequestId>().map(|r| r.0.clone());
    let headers = &mut parts.headers;
    strip_hop_by_hop(headers);
    let original_host = headers.remove(header::HOST);
    headers.remove(header::AUTHORIZATION);
    headers.remove("x-domino-api-key");
    let bearer = HeaderValue::from_str(&format!("Bearer {}", issued.token))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    headers.insert(header::AUTHORIZATION, bearer);
    let forwarded_for = match headers.get("x-forwarded-for").and_then(|v| v.to_str().ok()) {
        Some(earlier) => format!("{earlier}, {}", peer.ip()),
        None => peer.ip().to_string(),
    };
    if let Ok(v) = HeaderValue::from_str(&forwarded_for) {
        headers.insert("x-forwarded-for", v);
    }
    let proto = if state.public_url.starts_with("https://") {
        "https"
    } else {
        "http"
    };
    headers.insert("x-forwarded-proto", HeaderValue::from_static(proto));
    if let Some(host) = original_host {
        headers.insert("x-forwarded-host", host);
    }
    if let Some(id) = request_id.and_then(|id| HeaderValue::from_str(&id).ok()) {
        headers.insert("x-request-id", id);
    }
    let upstream = Request::from_parts(parts, body);
    let response =
        match tokio::time::timeout(route.timeout, state.upstreams.request(upstream)).await {
            Err(_) => {
                state.metrics.upstream_failed();
                return Err(ApiError::GatewayTimeout(format!(
                    "the upstream of {} did not answer within {} s",
                    route.prefix,
                    route.timeout.as_secs()
                )));
            }
            Ok(Err(error)) => {
                state.metrics.upstream_failed();
                tracing::warn!(%error, upstream = %route.upstream, "upstream request failed");
                return Err(ApiError::BadGateway(format!(
                    "the upstream of {} cannot be reached",
                    route.prefix
                )));
            }
            Ok(Ok(response)) => response,
        };
    let (mut parts, body) = response.into_parts();
    strip_hop_by_hop(&mut parts.headers);
    parts.extensions.insert(Proxied);
    let body = crate::idle::IdleTimeout::new(body, route.idle_timeout);
    Ok(Response::from_parts(parts, Body::new(body)).into_response())
}
