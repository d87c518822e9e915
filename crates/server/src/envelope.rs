//! Request ids and error bodies: every response gets `X-Request-Id`; every error response gets
//! the FailureEnvelope body, including axum's own rejections (404, 405, 413, 415, ...).

use std::future::Future;

use axum::body::{Body, to_bytes};
use axum::extract::Request;
use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;
use serde_json::json;
use tracing::Instrument;
use uuid::Uuid;

use crate::error::{Failure, code_for_status};
use crate::state::AppState;

/// The request's id (a UUIDv4, hyphenated, lower case), available to handlers as an extension;
/// kept as the header value it is sent as, so that forwarding it copies nothing.
#[derive(Clone, Debug)]
pub struct RequestId(HeaderValue);

impl RequestId {
    /// The id as text.
    pub fn as_str(&self) -> &str {
        self.0.to_str().unwrap_or_default()
    }

    /// The id as an `X-Request-Id` value (a reference-counted clone).
    pub fn header(&self) -> HeaderValue {
        self.0.clone()
    }
}

/// Marks a response that came from an upstream (the gateway, model invocation): the envelope
/// layer leaves it as it is.
#[derive(Clone, Copy, Debug)]
pub struct Proxied;

/// Marks a server error whose cause was logged, once, where it happened (an identity provider
/// that cannot be reached or does not match Tessera's settings; its failure is remembered and
/// answered again without a new attempt): the envelope logs such a response at `debug` instead
/// of as one error line per request, so that requests to a failing provider cannot flood the log.
#[derive(Clone, Copy, Debug)]
pub struct CauseLogged;

/// The response header that carries the request's id.
const X_REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// The envelope around one request, as the outermost layer after the client address: gives it
/// an id (`RequestId`, also the `X-Request-Id` of the response), runs `next` inside the request's
/// tracing span, counts the response in the metrics, renders every error response that did
/// not come from an upstream as the FailureEnvelope, and logs server errors.
pub async fn around<F, Fut>(state: &AppState, mut request: Request, next: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let started = std::time::Instant::now();
    // Written straight into a buffer, without `core::fmt` (issue #16).
    let mut buffer = Uuid::encode_buffer();
    let id_text: &str = Uuid::new_v4().hyphenated().encode_lower(&mut buffer);
    let id = HeaderValue::from_str(id_text).ok();
    if let Some(id) = &id {
        request.extensions_mut().insert(RequestId(id.clone()));
    }
    let method = request.method().clone();
    // The URI's parts are reference-counted: kept for the log line without copying the path.
    let uri = request.uri().clone();
    let path = uri.path();
    let client = request
        .extensions()
        .get::<crate::client_addr::ClientAddr>()
        .map(|c| c.0);
    let span =
        tracing::info_span!("request", request_id = %id_text, %method, %path, client = ?client);
    let mut response = next(request).instrument(span).await;
    let status = response.status();
    let route = state.metrics.route_class(path);
    state
        .metrics
        .response(status.as_u16(), route, started.elapsed());
    let proxied = response.extensions().get::<Proxied>().is_some();
    let cause_logged = response.extensions().get::<CauseLogged>().is_some();
    if !proxied && (status.is_client_error() || status.is_server_error()) {
        response = render_failure(response, id_text).await;
    }
    if status.is_server_error() {
        if cause_logged {
            tracing::debug!(request_id = %id_text, %method, %path, status = status.as_u16(), "request failed (its cause is logged where it happened)");
        } else {
            tracing::error!(request_id = %id_text, %method, %path, status = status.as_u16(), "request failed");
        }
    }
    if let Some(id) = id {
        response.headers_mut().insert(X_REQUEST_ID, id);
    }
    response
}

async fn render_failure(response: Response, request_id: &str) -> Response {
    let (mut parts, body) = response.into_parts();
    let failure = parts.extensions.remove::<Failure>();
    let (errors, code) = match failure {
        Some(Failure {
            errors,
            code,
            internal,
        }) => {
            if let Some(detail) = internal {
                tracing::error!(request_id, code, detail, "internal error");
            }
            (errors, code)
        }
        None => {
            // JSON errors are already enveloped; the web UI's error pages are for people.
            let keep = parts.headers.get(header::CONTENT_TYPE).is_some_and(|v| {
                v.as_bytes().starts_with(b"application/json")
                    || v.as_bytes().starts_with(b"text/html")
            });
            if keep {
                return Response::from_parts(parts, body);
            }
            let text = to_bytes(body, 16 * 1024)
                .await
                .map(|b| String::from_utf8_lossy(&b).trim().to_string())
                .unwrap_or_default();
            let message = if text.is_empty() || parts.status.is_server_error() {
                parts
                    .status
                    .canonical_reason()
                    .unwrap_or("error")
                    .to_string()
            } else {
                text
            };
            (vec![message], code_for_status(parts.status))
        }
    };
    tracing::debug!(request_id, code, status = parts.status.as_u16(), "refused");
    let body = json!({ "errors": errors, "requestId": request_id, "code": code }).to_string();
    parts.headers.remove(header::CONTENT_LENGTH);
    parts.headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    Response::from_parts(parts, Body::from(body))
}
