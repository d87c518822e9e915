//! Body and query extractors whose rejections are 400s naming the offending field, in the
//! FailureEnvelope like every other error.

use axum::extract::rejection::JsonRejection;
use axum::extract::{FromRequest, FromRequestParts, Request};
use axum::http::StatusCode;
use axum::http::request::Parts;
use serde::de::DeserializeOwned;

use crate::error::ApiError;

/// JSON body: an object (serde would also take a positional array for a struct), sent as
/// `application/json` (or `application/*+json`). A syntax error, a wrong type, a missing or
/// unknown field, or a NUL character in any string is a 400 naming it: NUL cannot be stored by
/// PostgreSQL nor searched by SQLite's FTS5, so it is refused alike on both, at the edge.
pub struct AppJson<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequest<S> for AppJson<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, Self::Rejection> {
        if !json_content_type(request.headers()) {
            return Err(ApiError::BadRequest(
                "the body must be JSON, sent with Content-Type: application/json".into(),
            ));
        }
        let bytes = match axum::body::Bytes::from_request(request, state).await {
            Ok(bytes) => bytes,
            Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
                return Err(ApiError::PayloadTooLarge);
            }
            Err(rejection) => return Err(ApiError::BadRequest(rejection.body_text())),
        };
        let first = bytes.iter().find(|b| !b.is_ascii_whitespace());
        if first.is_some_and(|b| *b != b'{') {
            return Err(ApiError::BadRequest(
                "the body must be a JSON object ({...})".into(),
            ));
        }
        let value = match axum::Json::<T>::from_bytes(&bytes) {
            Ok(axum::Json(value)) => value,
            Err(rejection) => return Err(json_error(rejection)),
        };
        if let Some(field) = nul_in_known_fields::<T>(&bytes) {
            return Err(ApiError::BadRequest(format!(
                "{field}: must not contain a NUL character (\\u0000)"
            )));
        }
        Ok(AppJson(value))
    }
}

/// `application/json` or `application/<anything>+json`, parameters allowed (as axum's `Json`).
fn json_content_type(headers: &axum::http::HeaderMap) -> bool {
    let Some(value) = headers
        .get(axum::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let essence = value.split(';').next().unwrap_or("").trim();
    let Some((kind, sub)) = essence.split_once('/') else {
        return false;
    };
    kind.eq_ignore_ascii_case("application")
        && (sub.eq_ignore_ascii_case("json")
            || sub.len() > 5 && sub[sub.len() - 5..].eq_ignore_ascii_case("+json"))
}

/// The path (`email`, `collaborators[0].projectRole`) of a field of `T` whose string holds a
/// NUL character, or `None`. Fields `T` does not know are ignored, NUL or not, as the tolerant
/// (Domino) paths ignore them. A raw NUL byte is not valid JSON, so only the `\\u0000` escape can
/// carry one; the document is read again only when that escape appears: each string holding NUL
/// becomes a value no text field accepts, and where `T` refuses it, that is the field.
fn nul_in_known_fields<T: DeserializeOwned>(bytes: &[u8]) -> Option<String> {
    if !bytes.windows(6).any(|w| w == b"\\u0000") {
        return None;
    }
    let mut value: serde_json::Value = serde_json::from_slice(bytes).ok()?;
    fn mark(value: &mut serde_json::Value) -> bool {
        match value {
            serde_json::Value::String(s) if s.contains('\0') => {
                *value = serde_json::json!({ "NUL": true });
                true
            }
            serde_json::Value::Array(items) => items.iter_mut().fold(false, |m, v| mark(v) | m),
            serde_json::Value::Object(fields) => {
                fields.values_mut().fold(false, |m, v| mark(v) | m)
            }
            _ => false,
        }
    }
    if !mark(&mut value) {
        return None;
    }
    match serde_path_to_error::deserialize::<_, T>(value) {
        Ok(_) => None,
        Err(error) => {
            let path = error.path().to_string();
            Some(if path == "." {
                "body".to_string()
            } else {
                path
            })
        }
    }
}

/// Serde names the Rust type it wanted (`expected struct CreateBody`); the caller knows the
/// document's words instead.
fn without_rust_names(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(at) = rest.find("struct ") {
        out.push_str(&rest[..at]);
        let after = &rest[at + "struct ".len()..];
        let end = after
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(after.len());
        out.push_str("an object");
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

fn json_error(rejection: JsonRejection) -> ApiError {
    match rejection {
        JsonRejection::MissingJsonContentType(_) => ApiError::BadRequest(
            "the body must be JSON, sent with Content-Type: application/json".into(),
        ),
        JsonRejection::JsonDataError(e) => {
            ApiError::BadRequest(format!(
                "invalid body: {}",
                without_rust_names(e.body_text().trim_start_matches(
                    "Failed to deserialize the JSON body into the target type: "
                ))
            ))
        }
        JsonRejection::JsonSyntaxError(e) => ApiError::BadRequest(format!(
            "the body is not valid JSON: {}",
            e.body_text()
                .trim_start_matches("Failed to parse the request body as JSON: ")
        )),
        other if other.status() == StatusCode::PAYLOAD_TOO_LARGE => ApiError::PayloadTooLarge,
        other => ApiError::BadRequest(other.body_text()),
    }
}

/// Query string; a bad value is a 400 naming the parameter (`offset: invalid digit found in
/// string`), an unknown one where the struct denies unknown fields.
pub struct AppQuery<T>(pub T);

impl<T: DeserializeOwned, S: Send + Sync> FromRequestParts<S> for AppQuery<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let query = parts.uri.query().unwrap_or_default();
        let pairs = form_urlencoded::parse(query.as_bytes());
        match serde_path_to_error::deserialize(serde_urlencoded::Deserializer::new(pairs)) {
            Ok(value) => Ok(AppQuery(value)),
            Err(error) => {
                let path = error.path().to_string();
                let inner = error.into_inner();
                Err(ApiError::BadRequest(if path == "." || path.is_empty() {
                    format!("invalid query: {inner}")
                } else {
                    format!("invalid query: {path}: {inner}")
                }))
            }
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

/// A count of seconds, optional: a JSON integer, or a float with no fraction (`86400.0`, as
/// Domino's Python clients send). A whole number beyond the range of `i64` (`1e300`,
/// `9223372036854775808`) saturates to `i64::MAX` (or `MIN`), so that the caller's range check
/// answers with the bounds it allows rather than a parse error. A fraction or a non-number is an
/// error; serde's path names the field in the 400.
pub fn seconds<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<i64>, D::Error> {
    use serde::Deserialize;
    use serde::de::Error;
    let Some(value) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    if let Some(n) = value.as_i64() {
        return Ok(Some(n));
    }
    if value.is_u64() {
        return Ok(Some(i64::MAX));
    }
    match value.as_f64() {
        // `as` saturates a float beyond the range of `i64` to its bounds.
        Some(f) if f.is_finite() && f.fract() == 0.0 => Ok(Some(f as i64)),
        _ => Err(D::Error::custom(format!(
            "{value} is not a whole number of seconds"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Body {
        email: Option<String>,
        c: Option<Vec<Role>>,
        n: Option<u32>,
    }

    #[derive(serde::Deserialize)]
    #[allow(dead_code)]
    struct Role {
        r: String,
    }

    #[test]
    fn a_nul_character_in_a_known_field_is_found_with_its_path() {
        let nul = nul_in_known_fields::<Body>;
        assert_eq!(nul(br#"{"email":"a\u0000b"}"#).as_deref(), Some("email"));
        assert_eq!(
            nul(br#"{"c":[{"r":"x"},{"r":"\u0000"}]}"#).as_deref(),
            Some("c[1].r")
        );
        // Fields the body does not know are ignored, NUL or not (the tolerant paths).
        assert_eq!(nul(br#"{"tags":"\u0000","email":"ok"}"#), None);
        assert_eq!(nul(br#"{"a\u0000":1}"#), None);
        // An escaped backslash followed by the letters u0000 is text, not NUL.
        assert_eq!(nul(br#"{"email":"\\u0000"}"#), None);
        assert_eq!(nul(br#"{"email":"plain","n":3}"#), None);
    }

    #[test]
    fn serde_type_names_become_the_documents_words() {
        assert_eq!(
            without_rust_names("invalid type: string \"x\", expected struct CreateBody at line 1"),
            "invalid type: string \"x\", expected an object at line 1"
        );
        assert_eq!(
            without_rust_names("missing field `name`"),
            "missing field `name`"
        );
    }

    #[test]
    fn json_and_json_suffixed_types_are_json() {
        let with = |v: &str| {
            let mut h = axum::http::HeaderMap::new();
            h.insert(axum::http::header::CONTENT_TYPE, v.parse().unwrap());
            json_content_type(&h)
        };
        assert!(with("application/json"));
        assert!(with("Application/JSON; charset=utf-8"));
        assert!(with("application/merge-patch+json"));
        assert!(!with("text/plain"));
        assert!(!with("application/jsonx"));
        assert!(!json_content_type(&axum::http::HeaderMap::new()));
    }
}
