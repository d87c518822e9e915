//! Authentication at the edge: reads the credential from the request, asks the domain's
//! `Authenticator`, throttles repeated failures per address, and marks API-key responses as
//! deprecated. Handlers take `Identity` (required) or `MaybeIdentity` (optional).

use std::borrow::Cow;
use std::net::IpAddr;

use axum::extract::{FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use tessera_core::authn::{AuthError, Caller, Presented};
use tessera_core::model::CredentialKind;

use crate::client_addr::ClientAddr;
use crate::error::ApiError;
use crate::state::AppState;

/// What the middleware concluded about the request's credential.
#[derive(Clone, Debug)]
pub enum Authn {
    Anonymous,
    Authenticated(Caller),
    /// A credential was presented and refused.
    Refused,
}

/// How a credential reached us, which decides the kinds it may be.
#[derive(Clone, Copy)]
enum Channel {
    Bearer,
    ApiKey,
}

/// The one line of a credential header: `Ok(None)` when absent, `Err` when it comes twice —
/// two credentials, and which one counts would be ambiguous, so neither does. Every reader of
/// `Authorization` or `X-Domino-Api-Key` (API, realm, model invocation) goes through here.
pub(crate) fn sole_header<'h>(
    headers: &'h HeaderMap,
    name: &str,
) -> Result<Option<&'h HeaderValue>, ()> {
    let mut lines = headers.get_all(name).iter();
    match (lines.next(), lines.next()) {
        (None, _) => Ok(None),
        (Some(value), None) => Ok(Some(value)),
        (Some(_), Some(_)) => Err(()),
    }
}

/// Reads the credential from the headers, borrowed from them but for HTTP Basic's, which is
/// decoded (a JWT is a kilobyte, not copied per request: issue #16). `Ok(None)` when there is
/// none; `Err` when there is something that cannot be a credential (an unknown scheme, bad
/// base64, a Basic user name).
fn read_credential(headers: &HeaderMap) -> Result<Option<(Cow<'_, str>, Channel)>, ()> {
    if let Some(value) = sole_header(headers, "x-domino-api-key")? {
        let text = value.to_str().map_err(|_| ())?;
        return Ok(Some((Cow::Borrowed(text.trim()), Channel::ApiKey)));
    }
    let Some(value) = sole_header(headers, header::AUTHORIZATION.as_str())? else {
        return Ok(None);
    };
    let text = value.to_str().map_err(|_| ())?;
    let (scheme, rest) = text.split_once(' ').unwrap_or((text, ""));
    let rest = rest.trim();
    if scheme.eq_ignore_ascii_case("bearer") {
        Ok(Some((Cow::Borrowed(rest), Channel::Bearer)))
    } else if scheme.eq_ignore_ascii_case("basic") {
        // Older Domino clients: an empty user name, the API key as password.
        let pair = STANDARD
            .decode(rest)
            .ok()
            .and_then(|b| String::from_utf8(b).ok())
            .ok_or(())?;
        match pair.split_once(':') {
            Some(("", key)) => Ok(Some((Cow::Owned(key.to_string()), Channel::ApiKey))),
            _ => Err(()),
        }
    } else {
        Err(())
    }
}

/// Middleware: authenticates whatever credential the request carries and records the outcome
/// as an `Authn` extension. Refuses outright only when the address is over the failure limit
/// (429) or the store cannot vouch for the credential (503, fail closed).
pub async fn layer(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let ip = request.extensions().get::<ClientAddr>().map(|c| c.0);
    let authn = match resolve(&state, request.headers(), ip).await {
        Ok(authn) => authn,
        Err(refusal) => return refusal.into_response(),
    };
    let deprecated =
        matches!(&authn, Authn::Authenticated(c) if c.credential().kind == CredentialKind::ApiKey);
    request.extensions_mut().insert(authn);
    let mut response = next.run(request).await;
    if deprecated {
        mark_deprecated(&mut response, &state.public_url);
    }
    response
}

/// The caller of a route that requires one (the gateway's), as the layer and `Identity`
/// together decide it: 429 or 503 as the layer refuses, 401 for a refused credential or none.
pub(crate) async fn identify(
    state: &AppState,
    headers: &HeaderMap,
    ip: IpAddr,
) -> Result<Caller, ApiError> {
    match resolve(state, headers, Some(ip)).await? {
        Authn::Authenticated(caller) => Ok(caller),
        Authn::Refused => Err(ApiError::invalid_credential()),
        Authn::Anonymous => Err(ApiError::unauthenticated()),
    }
}

async fn resolve(
    state: &AppState,
    headers: &HeaderMap,
    ip: Option<IpAddr>,
) -> Result<Authn, ApiError> {
    let (value, channel) = match read_credential(headers) {
        Ok(None) => return Ok(Authn::Anonymous),
        Err(()) => return refused(state, ip),
        Ok(Some(found)) => found,
    };
    let presented = match channel {
        Channel::Bearer => Presented::Bearer(&value),
        Channel::ApiKey => Presented::ApiKey(&value),
    };
    let started = std::time::Instant::now();
    let outcome = state.authenticator.authenticate(presented, ip).await;
    let kind = outcome.as_ref().ok().map(|c| c.credential().kind);
    state.metrics.authentication_took(kind, started.elapsed());
    match outcome {
        Ok(caller) => {
            state.metrics.authenticated(caller.credential().kind);
            Ok(Authn::Authenticated(caller))
        }
        Err(AuthError::Invalid) => refused(state, ip),
        Err(AuthError::Unavailable(e)) => Err(ApiError::Unavailable(e.to_string())),
    }
}

fn refused(state: &AppState, ip: Option<IpAddr>) -> Result<Authn, ApiError> {
    match ip {
        Some(ip) => record_refusal(state, ip).map(|()| Authn::Refused),
        None => {
            state.metrics.refused();
            Ok(Authn::Refused)
        }
    }
}

/// One refused credential (a token, a password, a model token) from the client address `ip`:
/// counted in the metrics and by the failure throttle. `Err(429)` with the wait when the
/// address is over the limit, counted as throttled too. Every refusal goes through here, so
/// the API, the realm, the web login and model invocation throttle alike (SPEC section 9).
pub fn record_refusal(state: &AppState, ip: IpAddr) -> Result<(), ApiError> {
    state.metrics.refused();
    match state.throttle.record_failure(ip) {
        Some(wait) => {
            state.metrics.throttled();
            Err(ApiError::TooManyFailures(wait))
        }
        None => Ok(()),
    }
}

/// `Deprecation` and its `Link` on a response to a request authenticated with an API key.
pub(crate) fn mark_deprecated(response: &mut Response, public_url: &str) {
    let headers = response.headers_mut();
    headers.insert("deprecation", HeaderValue::from_static("true"));
    if let Ok(link) = HeaderValue::from_str(&format!(
        "<{public_url}/docs/personal-access-tokens>; rel=\"deprecation\"; type=\"text/html\""
    )) {
        headers.insert(header::LINK, link);
    }
}

/// The authenticated caller; rejects with 401 otherwise.
pub struct Identity(pub Caller);

impl<S: Send + Sync> FromRequestParts<S> for Identity {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        match parts.extensions.get::<Authn>() {
            Some(Authn::Authenticated(caller)) => Ok(Identity(caller.clone())),
            Some(Authn::Refused) => Err(ApiError::invalid_credential()),
            _ => Err(ApiError::unauthenticated()),
        }
    }
}

/// The caller if a valid credential came with the request; `None` otherwise (also when one
/// was presented and refused).
pub struct MaybeIdentity(pub Option<Caller>);

impl<S: Send + Sync> FromRequestParts<S> for MaybeIdentity {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(MaybeIdentity(match parts.extensions.get::<Authn>() {
            Some(Authn::Authenticated(caller)) => Some(caller.clone()),
            _ => None,
        }))
    }
}

#[cfg(test)]
#[path = "authn_props.rs"]
mod props;
