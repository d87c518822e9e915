//! The gateway: configured path prefixes reverse-proxied to upstream services after
//! authentication. The caller's credential never leaves Tessera: upstreams receive
//! `Authorization: Bearer <access JWT>` (from the realm's per-credential cache, so steady traffic
//! signs nothing) and verify it against the JWKS. Bodies stream both ways; connections to
//! upstreams are pooled; an unreachable upstream is a 502, a slow one a 504, never a hang.

pub mod headers;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, Uri, Version};
use axum::response::{IntoResponse, Response};
use axum::routing::any;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

use crate::authn::Identity;
use crate::client_addr::ClientAddr;
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
        .issue(caller.principal(), caller.credential().id)
        .await?;
    let (mut parts, body) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    let target = format!("{}{path}", route.upstream)
        .parse::<Uri>()
        .map_err(|e| ApiError::BadRequest(format!("cannot forward this path: {e}")))?;
    let seen = headers::Seen {
        peer: peer.ip(),
        client: ClientAddr::of(&parts),
        proto: if state.public_url.starts_with("https://") {
            "https"
        } else {
            "http"
        },
        host: headers::requested_host(&parts.uri, &parts.headers),
        request_id: parts
            .extensions
            .get::<RequestId>()
            .and_then(|r| HeaderValue::from_str(&r.0).ok()),
    };
    let bearer = HeaderValue::from_str(&format!("Bearer {}", issued.token))
        .map_err(|e| ApiError::Internal(e.to_string()))?;
    headers::to_upstream(&mut parts.headers, &seen, bearer);
    parts.uri = target;
    // Upstreams are spoken to in HTTP/1.1 whatever the client spoke.
    parts.version = Version::HTTP_11;
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
    headers::to_client(&mut parts.headers);
    // The client gets Tessera's own response line and keeps its connection, whatever the
    // upstream spoke (hyper answers an HTTP/1.0 client in HTTP/1.0 by itself).
    parts.version = Version::HTTP_11;
    parts.extensions.insert(Proxied);
    let body = crate::idle::IdleTimeout::new(body, route.idle_timeout);
    Ok(Response::from_parts(parts, Body::new(body)).into_response())
}
