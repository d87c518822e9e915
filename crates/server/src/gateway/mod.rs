//! The gateway: configured path prefixes reverse-proxied to upstream services after
//! authentication. The caller's credential never leaves Tessera: upstreams receive
//! `Authorization: Bearer <access JWT>` (from the realm's per-credential cache, so steady traffic
//! signs nothing) and verify it against the JWKS. Bodies stream both ways; connections to
//! upstreams are pooled; an unreachable upstream is a 502, a slow one a 504, never a hang.
//! Paths are made canonical before any route is chosen (`path`), and the forwarding headers
//! are Tessera's own (`headers`). Requests reach `forward` from `front`, without the router.

pub mod bearer;
pub mod headers;
pub mod path;

use std::borrow::Cow;
use std::net::SocketAddr;
use std::sync::Arc;

use axum::body::Body;
use axum::extract::{OriginalUri, Request};
use axum::http::uri::PathAndQuery;
use axum::http::{HeaderValue, Uri, Version, header};
use axum::response::{IntoResponse, Response};
use tessera_core::authn::Caller;

use crate::client_addr::ClientAddr;
use crate::config::GatewayRoute;
use crate::envelope::{Proxied, RequestId};
use crate::error::ApiError;
use crate::state::AppState;

/// Forwards `request` (its path already canonical, under `route`'s prefix) for `caller`, any
/// authenticated principal with any kind of credential, from the TCP peer `peer`: issues (or
/// takes from the realm's cache) the access JWT, sends the request upstream within the route's
/// timeout and relays the answer.
///
/// # Errors
/// 400 when the path cannot be joined to the upstream's URL, 502 when the upstream cannot be
/// reached, 504 when it does not answer in time, as `realm.issue` fails otherwise.
pub async fn forward(
    state: &AppState,
    caller: &Caller,
    peer: SocketAddr,
    route: &GatewayRoute,
    request: Request,
) -> Result<Response, ApiError> {
    let issued = state
        .realm
        .issue_shared(caller.principal(), caller.credential(), None)
        .await?;
    let bearer = bearer::header(&issued.token)
        .ok_or_else(|| ApiError::Internal("the access token is not a header value".into()))?;
    let upstream = upstream_request(state, route, peer, request, bearer)?;
    let response = send(state, route, upstream).await?;
    Ok(client_response(response, route))
}

/// The request as the upstream gets it: the route's upstream with the canonical path, the
/// forwarding headers Tessera writes (`headers::to_upstream`), the issued JWT as the bearer,
/// HTTP/1.1 whatever the client spoke.
///
/// # Errors
/// 400 when the path cannot be joined to the upstream's URL.
fn upstream_request(
    state: &AppState,
    route: &GatewayRoute,
    peer: SocketAddr,
    request: Request,
    bearer: HeaderValue,
) -> Result<Request, ApiError> {
    let (mut parts, body) = request.into_parts();
    // The path was made canonical before routing (`front`); it is moved over as
    // it is, not printed and parsed again.
    let path = parts
        .uri
        .path_and_query()
        .cloned()
        .unwrap_or_else(|| PathAndQuery::from_static("/"));
    let target = upstream_uri(&route.authority, path)
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
        request_id: parts.extensions.get::<RequestId>().map(RequestId::header),
    };
    headers::to_upstream(&mut parts.headers, &seen, bearer);
    // Last, where the HTTP client would otherwise write it (formatted per request).
    parts.headers.insert(header::HOST, route.host.clone());
    parts.uri = target;
    parts.version = Version::HTTP_11;
    Ok(Request::from_parts(parts, body))
}

/// `http://` `authority` (the route's, parsed once) with `path`.
fn upstream_uri(
    authority: &axum::http::uri::Authority,
    path: PathAndQuery,
) -> Result<Uri, axum::http::uri::InvalidUriParts> {
    let mut parts = axum::http::uri::Parts::default();
    parts.scheme = Some(axum::http::uri::Scheme::HTTP);
    parts.authority = Some(authority.clone());
    parts.path_and_query = Some(path);
    Uri::from_parts(parts)
}

/// Sends `upstream` within the route's timeout, counting it in the metrics.
///
/// # Errors
/// 504 when the upstream does not answer in time, 502 when it cannot be reached.
async fn send(
    state: &AppState,
    route: &GatewayRoute,
    upstream: Request,
) -> Result<axum::http::Response<hyper::body::Incoming>, ApiError> {
    let started = std::time::Instant::now();
    let answer = tokio::time::timeout(route.timeout, state.upstreams.get().request(upstream)).await;
    state.metrics.upstream_took(started.elapsed());
    match answer {
        Err(_) => {
            state.metrics.upstream_failed();
            Err(ApiError::GatewayTimeout(format!(
                "the upstream of {} did not answer within {} s",
                route.prefix,
                route.timeout.as_secs()
            )))
        }
        Ok(Err(error)) => {
            state.metrics.upstream_failed();
            tracing::warn!(%error, upstream = %route.upstream, "upstream request failed");
            Err(ApiError::BadGateway(format!(
                "the upstream of {} cannot be reached",
                route.prefix
            )))
        }
        Ok(Ok(response)) => Ok(response),
    }
}

/// The upstream's answer as the client gets it: hop-by-hop and Tessera's own headers dropped,
/// HTTP/1.1, marked as proxied (the envelope leaves it as it is), its body streamed under the
/// route's idle timeout.
fn client_response(
    response: axum::http::Response<hyper::body::Incoming>,
    route: &GatewayRoute,
) -> Response {
    let (mut parts, body) = response.into_parts();
    headers::to_client(&mut parts.headers);
    // The client gets Tessera's own response line and keeps its connection, whatever the
    // upstream spoke (hyper answers an HTTP/1.0 client in HTTP/1.0 by itself).
    parts.version = Version::HTTP_11;
    parts.extensions.insert(Proxied);
    let body = crate::idle::IdleTimeout::new(body, route.idle_timeout);
    Response::from_parts(parts, Body::new(body))
}

/// The boundaries `path::normalise` keeps a `..` from climbing out of: the gateway routes'
/// prefixes, and forward authentication's, whose path is the proxy's original path (a `..` in
/// it must not climb onto another endpoint of Tessera's, SPEC section 10).
pub fn boundaries(routes: &[GatewayRoute]) -> Arc<[String]> {
    routes
        .iter()
        .map(|r| r.prefix.clone())
        .chain(std::iter::once(
            crate::routes::FORWARD_AUTH_PREFIX.to_string(),
        ))
        .collect()
}

/// The refusal of a path that cannot be made canonical, in the words of what the path is for:
/// under the web UI (`/ui/`), the UI's error page with the same status (a person reads it);
/// under the realm (`/auth/realms/`), an OAuth error body (RFC 6749 §5.2, `invalid_request`) as
/// every realm endpoint answers; elsewhere the FailureEnvelope.
pub(crate) fn refused_path(state: &AppState, raw_path: &str, error: ApiError) -> Response {
    if crate::web::is_ui_path(raw_path) {
        return crate::web::refused_page(state, error.status(), &error.public_message());
    }
    if !raw_path.starts_with("/auth/realms/") {
        return error.into_response();
    }
    let body = serde_json::json!({
        "error": "invalid_request",
        "error_description": error.public_message(),
    });
    (error.status(), axum::Json(body)).into_response()
}

/// Rewrites the request's URI to its canonical path (the query as it was); no copy when the
/// path is already canonical. A query with a NUL character (`%00`) is refused.
pub(crate) fn canonical_uri(request: &mut Request, prefixes: &[String]) -> Result<(), ApiError> {
    // No name, search or id holds a NUL character, and PostgreSQL cannot even compare one: a
    // query that carries one is refused here, the same on both backends.
    if request.uri().query().is_some_and(|q| q.contains("%00")) {
        return Err(ApiError::BadRequest(
            "the query contains a NUL character (%00); such queries are refused".into(),
        ));
    }
    let normalised = path::normalise(request.uri().path(), prefixes)
        .map_err(|error| ApiError::BadRequest(error.to_string()))?;
    // Tessera's own paths read their queries as text: escapes that are not UTF-8 are refused,
    // not decoded into U+FFFD. A gateway route's query is its upstream's business.
    let forwarded = prefixes.iter().any(|p| normalised.starts_with(p.as_str()));
    if !forwarded
        && let Some(query) = request.uri().query()
        && !path::query_is_utf8(query)
    {
        return Err(ApiError::BadRequest(
            "the query's escapes are not UTF-8 (such as %FF); such queries are refused".into(),
        ));
    }
    let path = match normalised {
        Cow::Borrowed(_) => return Ok(()),
        Cow::Owned(path) => path,
    };
    let target = match request.uri().query() {
        Some(query) => format!("{path}?{query}"),
        None => path,
    };
    let mut parts = request.uri().clone().into_parts();
    parts.path_and_query = Some(
        PathAndQuery::try_from(target)
            .map_err(|e| ApiError::BadRequest(format!("the path is not valid: {e}")))?,
    );
    let uri = Uri::from_parts(parts)
        .map_err(|e| ApiError::BadRequest(format!("the path is not valid: {e}")))?;
    request.extensions_mut().insert(OriginalUri(uri.clone()));
    *request.uri_mut() = uri;
    Ok(())
}
