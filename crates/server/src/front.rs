//! The front of the public listener (issue #16): what every request passes before a route is
//! chosen — its client address, its id and the FailureEnvelope (`envelope`), load shedding
//! (`load`), its canonical path (`gateway::path`) — as one future per request instead of a
//! stack of middleware services; then the two forwarding paths served here without the router,
//! the gateway's routes and `POST` sync model invocation, and the router for every other path.
//! It decides nothing itself: authentication, limits, the envelope and forwarding are the same
//! functions the router's paths use, so a request behaves the same whichever way it goes.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::extract::{ConnectInfo, Request};
use axum::http::Method;
use axum::response::{IntoResponse, Response};
use hyper::body::Incoming;
use tessera_core::model::CredentialKind;
use tower::ServiceExt as _;

use crate::config::{Config, GatewayRoute};
use crate::routes::invoke;
use crate::state::AppState;
use crate::{authn, client_addr, envelope, gateway, load};

/// The public listener's service: the front and the router behind it.
pub struct Front {
    state: AppState,
    /// Every path that is not served here (`routes::router`).
    router: Router,
    /// Where a `..` may not climb out of (`gateway::boundaries`).
    boundaries: Arc<[String]>,
    /// The gateway's routes, longest prefix first: a route nested in another one wins, as the
    /// router's most specific match did. Their prefixes never overlap Tessera's own paths
    /// (`GatewayRoute::new`).
    gateway: Vec<GatewayRoute>,
    /// The largest request body of a sync invocation.
    body_limit: usize,
}

/// A request the front serves itself.
#[derive(Debug, PartialEq, Eq)]
enum Fast<'a> {
    /// A gateway route (index into `Front::gateway`).
    Gateway(usize),
    /// `POST /models/{id}/latest/model` (no version) or `/models/{id}/v/{n}/model`.
    Invoke { id: &'a str, version: Option<i64> },
}

impl Front {
    /// The front of `router` (from `routes::router`) for `config`.
    pub fn new(state: AppState, router: Router, config: &Config) -> Front {
        let mut gateway = config.gateway_routes.clone();
        gateway.sort_by_key(|route| std::cmp::Reverse(route.prefix.len()));
        Front {
            state,
            router,
            boundaries: gateway::boundaries(&config.gateway_routes),
            gateway,
            body_limit: config.body_limit,
        }
    }

    /// Serves one request from the TCP peer `peer`.
    pub async fn handle(self: Arc<Self>, peer: SocketAddr, request: Request<Incoming>) -> Response {
        let mut request = request.map(Body::new);
        let client = client_addr::of_peer(&self.state, peer, request.headers());
        request.extensions_mut().insert(ConnectInfo(peer));
        request.extensions_mut().insert(client);
        let state = &self.state;
        envelope::around(state, request, |request| {
            load::around_all(state, request, |request| {
                self.route(peer, client.0, request)
            })
        })
        .await
    }

    /// After the envelope and the overall limit: the canonical path, then the route.
    async fn route(&self, peer: SocketAddr, ip: IpAddr, mut request: Request) -> Response {
        if let Err(error) = gateway::canonical_uri(&mut request, &self.boundaries) {
            return gateway::refused_path(&self.state, request.uri().path(), error);
        }
        let fast = fast(&self.gateway, request.method(), request.uri().path());
        match fast {
            Some(Fast::Gateway(index)) => self.forward(index, peer, ip, request).await,
            Some(Fast::Invoke { id, version }) => {
                // The path's segment is borrowed from the request, which the call consumes.
                let id = id.to_owned();
                invoke::invoke(&self.state, &id, version, ip, request, self.body_limit).await
            }
            None => match self.router.clone().oneshot(request).await {
                Ok(response) => response,
                Err(never) => match never {},
            },
        }
    }

    /// The gateway: the caller authenticated as the API's layer does (429, 503, 401 alike),
    /// forwarded, API-key answers marked deprecated.
    async fn forward(
        &self,
        index: usize,
        peer: SocketAddr,
        ip: IpAddr,
        request: Request,
    ) -> Response {
        let Some(route) = self.gateway.get(index) else {
            return crate::error::ApiError::NotFound("no such endpoint".into()).into_response();
        };
        let caller = match authn::identify(&self.state, request.headers(), ip).await {
            Ok(caller) => caller,
            Err(refusal) => return refusal.into_response(),
        };
        let deprecated = caller.credential().kind == CredentialKind::ApiKey;
        let mut response = gateway::forward(&self.state, &caller, peer, route, request)
            .await
            .unwrap_or_else(IntoResponse::into_response);
        if deprecated {
            authn::mark_deprecated(&mut response, &self.state.public_url);
        }
        response
    }
}

/// Whether the front serves a request to the canonical `path` itself (`gateway`: longest
/// prefix first). Invocations whose segments carry escapes go to the router, whose extractor
/// decodes them, and so do versions that are not numbers (the router's 404 names them).
fn fast<'p>(gateway: &[GatewayRoute], method: &Method, path: &'p str) -> Option<Fast<'p>> {
    if let Some(index) = gateway
        .iter()
        .position(|route| path.starts_with(route.prefix.as_str()))
    {
        return Some(Fast::Gateway(index));
    }
    if method != Method::POST {
        return None;
    }
    let rest = path.strip_prefix("/models/")?;
    let mut segments = rest.split('/');
    let id = segments.next().filter(|s| plain(s))?;
    let version = match (segments.next(), segments.next(), segments.next()) {
        (Some("latest"), Some("model"), None) => None,
        (Some("v"), Some(n), Some("model")) if plain(n) => Some(n.parse::<i64>().ok()?),
        _ => return None,
    };
    if segments.next().is_some() {
        return None;
    }
    Some(Fast::Invoke { id, version })
}

/// A path segment the router's extractor would give back unchanged: not empty, no escape.
fn plain(segment: &str) -> bool {
    !segment.is_empty() && !segment.contains('%')
}

#[cfg(test)]
#[path = "front_tests.rs"]
mod tests;
