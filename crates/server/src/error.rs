//! The API error type and its mapping to statuses. The body (Domino's FailureEnvelopeV1,
//! `{"errors": [...], "requestId": "..."}`) is written by `envelope::around`, which knows the
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
    /// The stable code ([`ApiError::code`]), in the body's `code` and in the log.
    pub code: &'static str,
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

/// The one mapping of a service's refusal to the edge, for the API and the web UI alike:
/// invalid → 400, not found → 404, conflict → 409, forbidden → 403, the database unreachable or
/// a transient conflict → 503, anything else → 500.
impl From<&ServiceError> for ApiError {
    fn from(e: &ServiceError) -> ApiError {
        use tessera_core::store::StoreError;
        match e {
            ServiceError::Invalid(field) => ApiError::BadRequest(field.to_string()),
            ServiceError::NotFound(what) => ApiError::NotFound(format!("{what} not found")),
            ServiceError::Conflict(message) => ApiError::Conflict(message.clone()),
            ServiceError::Forbidden(message) => ApiError::Forbidden(message.clone()),
            ServiceError::Store(
                store @ (StoreError::Unavailable(_) | StoreError::Transient(_)),
            ) => ApiError::Unavailable(store.to_string()),
            ServiceError::Store(store) => ApiError::Internal(store.to_string()),
            ServiceError::Password(hash) => ApiError::Internal(hash.to_string()),
        }
    }
}

impl From<ServiceError> for ApiError {
    fn from(e: ServiceError) -> ApiError {
        ApiError::from(&e)
    }
}

impl ApiError {
    /// The HTTP status of this error.
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated { .. } => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::TooManyFailures(_) => StatusCode::TOO_MANY_REQUESTS,
            ApiError::BadGateway(_) => StatusCode::BAD_GATEWAY,
            ApiError::GatewayTimeout(_) => StatusCode::GATEWAY_TIMEOUT,
            ApiError::Unavailable(_) | ApiError::Overloaded => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    /// The stable, grep-able code of this error, as in the envelope's `code` and the log.
    pub fn code(&self) -> &'static str {
        code_for_status(self.status())
    }

    /// What the client is told: the message, or for a 5xx a generic sentence (the detail goes
    /// to the log only).
    pub fn public_message(&self) -> String {
        match self {
            ApiError::BadRequest(m)
            | ApiError::Forbidden(m)
            | ApiError::NotFound(m)
            | ApiError::Conflict(m)
            | ApiError::BadGateway(m)
            | ApiError::GatewayTimeout(m) => m.clone(),
            ApiError::Unauthenticated { .. } => {
                "authentication required: present a valid credential".into()
            }
            ApiError::PayloadTooLarge => {
                "the request body is larger than this server accepts".into()
            }
            ApiError::TooManyFailures(wait) => format!(
                "too many failed authentications from this address; retry in {} s",
                wait.as_secs().max(1)
            ),
            ApiError::Unavailable(_) => {
                "the service is temporarily unavailable; retry shortly".into()
            }
            ApiError::Overloaded => format!(
                "the server is at its limit of requests in progress; retry in {} s",
                crate::load::RETRY_AFTER_SECS
            ),
            ApiError::Internal(_) => "internal error; quote the requestId when reporting it".into(),
        }
    }

    /// The detail for the log, never for the client.
    fn internal(&self) -> Option<String> {
        match self {
            ApiError::Unavailable(detail) | ApiError::Internal(detail) => Some(detail.clone()),
            _ => None,
        }
    }
}

/// The stable code of a failure with `status`, for errors that did not come as an [`ApiError`]
/// (a rejected extractor, an unknown route): `invalid_request`, `unauthenticated`, `forbidden`,
/// `not_found`, `method_not_allowed`, `conflict`, `payload_too_large`, `unsupported_media_type`,
/// `too_many_requests`, `bad_gateway`, `unavailable`, `gateway_timeout`, `internal`, or
/// `client_error` / `server_error` for any other 4xx / 5xx.
pub fn code_for_status(status: StatusCode) -> &'static str {
    match status {
        StatusCode::BAD_REQUEST | StatusCode::UNPROCESSABLE_ENTITY => "invalid_request",
        StatusCode::UNAUTHORIZED => "unauthenticated",
        StatusCode::FORBIDDEN => "forbidden",
        StatusCode::NOT_FOUND => "not_found",
        StatusCode::METHOD_NOT_ALLOWED => "method_not_allowed",
        StatusCode::CONFLICT => "conflict",
        StatusCode::PAYLOAD_TOO_LARGE => "payload_too_large",
        StatusCode::UNSUPPORTED_MEDIA_TYPE => "unsupported_media_type",
        StatusCode::TOO_MANY_REQUESTS => "too_many_requests",
        StatusCode::BAD_GATEWAY => "bad_gateway",
        StatusCode::SERVICE_UNAVAILABLE => "unavailable",
        StatusCode::GATEWAY_TIMEOUT => "gateway_timeout",
        StatusCode::INTERNAL_SERVER_ERROR => "internal",
        s if s.is_client_error() => "client_error",
        _ => "server_error",
    }
}

impl From<tessera_core::realm::RealmError> for ApiError {
    fn from(e: tessera_core::realm::RealmError) -> ApiError {
        use tessera_core::realm::RealmError;
        use tessera_core::store::StoreError;
        match e {
            RealmError::Store(store @ (StoreError::Unavailable(_) | StoreError::Transient(_))) => {
                ApiError::Unavailable(store.to_string())
            }
            RealmError::Store(StoreError::Unstorable) => {
                ApiError::BadRequest(StoreError::Unstorable.to_string())
            }
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.status().into_response();
        match &self {
            ApiError::Unauthenticated { challenge } => {
                response.headers_mut().insert(
                    header::WWW_AUTHENTICATE,
                    HeaderValue::from_static(challenge),
                );
            }
            ApiError::TooManyFailures(wait) => {
                if let Ok(v) = HeaderValue::from_str(&wait.as_secs().max(1).to_string()) {
                    response.headers_mut().insert(header::RETRY_AFTER, v);
                }
            }
            ApiError::Unavailable(_) => {
                response
                    .headers_mut()
                    .insert(header::RETRY_AFTER, HeaderValue::from_static("1"));
            }
            ApiError::Overloaded => {
                response.headers_mut().insert(
                    header::RETRY_AFTER,
                    HeaderValue::from(crate::load::RETRY_AFTER_SECS),
                );
            }
            _ => {}
        }
        response.extensions_mut().insert(Failure {
            errors: vec![self.public_message()],
            code: self.code(),
            internal: self.internal(),
        });
        response
    }
}

pub type ApiResult<T> = Result<T, ApiError>;
