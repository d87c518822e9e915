//! Body and query extractors whose rejections are 400s naming the offending field, in the
//! FailureEnvelope like every other error.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// JSON body; a syntax error, a wrong type or a missing field is a 400 naming it.
pub struct AppJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AppJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        match axum::Json::<T>::from_request(request, state).await {
            Ok(axum::Json(value)) => Ok(AppJson(value)),
            Err(rejection) => Err(json_error(rejection)),
        }
    }
}

fn json_error(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::BadRequest(
            "the body must be JSON, sent with Content-Type: application/json".into(),
        ),
        JsonRejection::JsonDataError(e) => ApiError::BadRequest(format!(
            "invalid body: {}",
            e.body_text()
                .trim_start_matches("Failed to deserialize the JSON body into the target type: ")
        )),
        JsonRejection::JsonSyntaxError(e) => ApiError::BadRequest(format!(
            "the body is not valid JSON: {}",
            e.body_text()
                .trim_start_matches("Failed to parse the request body as JSON: ")
        )),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        other => ApiError::BadRequest(other.body_text()),
    }
}

/// Query string; a bad value is a 400 naming the parameter.
pub struct AppQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for AppQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Self::Rejection> {
        match axum::extract::Query::<T>::from_request_parts(parts, state).await {
            Ok(axum::extract::Query(value)) => Ok(AppQuery(value)),
            Err(QueryRejection::FailedToDeserializeQueryString(e)) => {
                Err(ApiError::BadRequest(format!(
                    "invalid query: {}",
                    e.body_text()
                        .trim_start_matches("Failed to deserialize query string: ")
                )))
            }
            Err(other) => Err(ApiError::BadRequest(other.body_text())),
        }
    }
}

pub const MAX_LIMIT: u32 = 1000;

/// Checks a `limit` query parameter: from 1 to 1000, default 100.
pub fn limit(requested: Option<u32>) -> Result<u32, ApiError> {
    match requested {
        None => Ok(100),
        Some(n) if (1..=MAX_LIMIT).contains(&n) => Ok(n),
        Some(_) => Err(ApiError::BadRequest(format!(
            "limit: must be from 1 to {MAX_LIMIT}"
        ))),
    }
}

/// Checks a `limit` on a Domino list path that used to answer every row: from 1 to 1000,
/// default 1000, so that a client that never pages still gets everything up to that many
/// (and the `X-Next-Cursor` of the rest).
pub fn whole_list_limit(requested: Option<u32>) -> Result<u32, ApiError> {
    limit(Some(requested.unwrap_or(MAX_LIMIT)))
}

/// 2^63: every float in `-2^63..2^63` converts to an `i64` without loss of range.
const I64_BOUND: f64 = 9_223_372_036_854_775_808.0;

/// A count of seconds, optional: a JSON integer, or a float with no fraction (`86400.0`, as
/// Domino's Python clients send). A fraction, a number beyond the range of `i64` or a
/// non-number is an error; serde's path names the field in the 400.
pub fn seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    use serde::Deserialize;
    use serde::de::Error;
    let Some(value) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    if let Some(n) = value.as_i64() {
        return Ok(Some(n));
    }
    match value.as_f64() {
        Some(f) if f.fract() == 0.0 && (-I64_BOUND..I64_BOUND).contains(&f) => Ok(Some(f as i64)),
        _ => Err(D::Error::custom(format!(
            "{value} is not a whole number of seconds"
        ))),
    }
}
