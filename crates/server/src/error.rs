//! The API error type and its mapping to statuses. The body (Domino's FailureEnvelopeV1,
//! `{"errors": [...], "requestId": "..."}`) is written by `envelope::layer`, which knows the
//! request id; a 5xx carries no internals, only the id, and the detail goes to the log.

use std::time::Duration;

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tessera_core::names::FieldError;
use tessera_core::services::ServiceError;

/// Attached to an error response; the envelope layer turns it into the body.
#[derive(Clone, Debug)]
pub struct Failure {
    pub errors: Vec<String>,
    /// For the log only, never for the client.
    pub internal: Option<String>,
}

#[derive(Debug)]
pub enum ApiError {
    /// 400: a field or the body is invalid; the message names it.
    BadRequest(String),
    /// 401 with `WWW-Authenticate`.
    Unauthenticated {
        challenge: &'static str,
    },
    Forbidden(String),
    NotFound(String),
    Conflict(String),
    /// 413: the body is larger than the listener accepts.
    PayloadTooLarge,
    TooManyFailures(Duration),
    /// 502: an upstream refused the connection or failed.
    BadGateway(String),
    /// 504: an upstream did not answer in time.
    GatewayTimeout(String),
    /// 503: a dependency (the database) cannot be reached; fail closed.
    Unavailable(String),
    /// 503 with `Retry-After`: more requests of this class are in progress than the server
    /// takes at once (`[limits]`); shed at once rather than queued (see `load`).
    Overloaded,
    Internal(String),
}

/// RFC 6750 challenges.
pub const BEARER_MISSING: &str = r#"Bearer realm="tessera""#;
pub const BEARER_INVALID: &str = r#"Bearer realm="tessera", error="invalid_token", error_description="the credential is not valid""#;

impl ApiError {
    pub fn unauthenticated() -> ApiError {
        ApiError::Unauthenticated {
            challenge: BEARER_MISSING,
        }
    }

    pub fn invalid_credential() -> ApiError {
        ApiError::Unauthenticated {
            challenge: BEARER_INVALID,
        }
    }
}

impl From<FieldError> for ApiError {
    fn from(e: FieldError) -> ApiError {
        ApiError::BadRequest(e.to_string())
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> ApiError {
        match e {
            ServiceError::Invalid(field) => ApiError::BadRequest(field.to_string()),
            ServiceError::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            ServiceError::Conflict(message) => ApiError::Conflict(message),
            ServiceError::Forbidden(message) => ApiError::Forbidden(message),
            ServiceError::Store(
                store @ (tessera_core::store::StoreError::Unavailable(_)
                | tessera_core::store::StoreError::Transient(_)),
            ) => ApiError::Unavailable(store.to_string()),
            ServiceError::Store(store) => ApiError::Internal(store.to_string()),
            ServiceError::Password(hash) => ApiError::Internal(hash.to_string()),
        }
    }
}

fn failure(status: StatusCode, message: String, internal: Option<String>) -> Response {
    let mut response = status.into_response();
    response.extensions_mut().insert(Failure {
        errors: vec![message],
        internal,
    });
    response
}

impl From<tessera_core::realm::RealmError> for ApiError {
    fn from(e: tessera_core::realm::RealmError) -> ApiError {
        use tessera_core::realm::RealmError;
        use tessera_core::store::StoreError;
        match e {
            RealmError::Store(store @ (StoreError::Unavailable(_) | StoreError::Transient(_))) => {
                ApiError::Unavailable(store.to_string())
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        match self {
            ApiError::BadRequest(m) => failure(StatusCode::BAD_REQUEST, m, None),
            ApiError::Unauthenticated { challenge } => {
                let mut r = failure(
                    StatusCode::UNAUTHORIZED,
                    "authentication required: present a valid credential".into(),
                    None,
                );
                r.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(challenge),
                );
                r
            }
            ApiError::Forbidden(m) => failure(StatusCode::FORBIDDEN, m, None),
            ApiError::NotFound(m) => failure(StatusCode::NOT_FOUND, m, None),
            ApiError::Conflict(m) => failure(StatusCode::CONFLICT, m, None),
            ApiError::PayloadTooLarge => failure(
                StatusCode::PAYLOAD_TOO_LARGE,
                "the request body is larger than this server accepts".into(),
                None,
            ),
            ApiError::TooManyFailures(wait) => {
                let secs = wait.as_secs().max(1);
                let mut r = failure(
                    StatusCode::TOO_MANY_REQUESTS,
                    format!("too many failed authentications from this address; retry in {secs} s"),
                    None,
                );
                if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                    r.headers_mut().insert(header::RETRY_AFTER, v);
                }
                r
            }
            ApiError::BadGateway(m) => failure(StatusCode::BAD_GATEWAY, m, None),
            ApiError::GatewayTimeout(m) => failure(StatusCode::GATEWAY_TIMEOUT, m, None),
            ApiError::Unavailable(detail) => {
                let mut r = failure(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "the service is temporarily unavailable; retry shortly".into(),
                    Some(detail),
                );
                r.headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
                r
            }
            ApiError::Overloaded => {
                let mut r = failure(
                    StatusCode::SERVICE_UNAVAILABLE,
                    format!(
                        "the server is at its limit of requests in progress; retry in {} s",
                        crate::load::RETRY_AFTER_SECS
                    ),
                    None,
                );
                r.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(crate::load::RETRY_AFTER_SECS),
                );
                r
            }
            ApiError::Internal(detail) => failure(
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal error; quote the requestId when reporting it".into(),
                Some(detail),
            ),
        }
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
