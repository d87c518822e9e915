//! What each operation does with what it does not know (SPEC section 3): Domino's paths ignore
//! unknown fields and query parameters, as Domino's server does; protocol endpoints ignore unknown
//! parameters as their RFCs require; Tessera's own paths refuse them, naming them. The document
//! records the choice per operation (`x-unknown-parameters`), and [`layer`] enforces it for query
//! parameters from the document itself, so the parameters an operation takes are the ones the
//! document lists, no more.

use std::collections::HashMap;
use std::sync::LazyLock;

use axum::extract::{MatchedPath, Request};
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use utoipa::openapi::extensions::Extensions;
use utoipa::openapi::path::ParameterIn;
use utoipa::openapi::{OpenApi, RefOr};

use crate::error::ApiError;

/// How an operation treats body fields and query parameters it does not know.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tolerance {
    /// A path marked *(Domino)* in SPEC: unknown fields and parameters are ignored, as Domino's
    /// own server does (its clients send `tags`, `showCompleted`, ...).
    Domino,
    /// The realm (RFC 6749 section 3.1: the server "MUST ignore unrecognized request
    /// parameters"), forward authentication (the proxy in front decides the request), probes and
    /// this document (monitors and browsers add cache-busting parameters).
    Protocol,
    /// Tessera's own API: an unknown field or parameter is a 400 naming it.
    Strict,
}

impl Tolerance {
    /// The document's `x-unknown-parameters` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Tolerance::Domino => "ignored (Domino)",
            Tolerance::Protocol => "ignored (protocol)",
            Tolerance::Strict => "refused",
        }
    }
}

/// The operations SPEC marks *(Domino)*, as `(method, path)` in the document's spelling.
const DOMINO: &[(&str, &str)] = &[
    ("get", "/version"),
    ("get", "/v4/users/self"),
    ("get", "/v4/users"),
    ("get", "/v4/auth/principal"),
    ("get", "/api/pat/v1/tokens"),
    ("post", "/api/pat/v1/tokens"),
    ("get", "/api/pat/v1/tokens/expiration-policy"),
    ("delete", "/api/pat/v1/tokens/{patId}"),
    ("post", "/api/pat/v1/tokens/{patId}/invalidate"),
    ("post", "/v4/projects"),
    ("get", "/v4/projects/{projectId}"),
    ("post", "/v4/projects/{projectId}/collaborators"),
    ("delete", "/v4/projects/{projectId}/collaborators/{userId}"),
    ("get", "/v4/gateway/projects"),
    ("get", "/v4/gateway/projects/findProjectByOwnerAndName"),
];

/// Path prefixes whose every operation is Domino's (service accounts, model invocation).
const DOMINO_PREFIXES: &[&str] = &[
    "/api/serviceAccounts/v1/",
    "/models/",
    "/api/modelApis/async/v1/",
];

/// Paths (or prefixes, ending in `/`) of protocol endpoints, probes and documents.
const PROTOCOL: &[&str] = &[
    "/auth/",
    "/healthz",
    "/readyz",
    "/openapi.json",
    "/docs",
    "/docs/",
];

/// The tolerance of the operation `method path` (lower-case method, the document's path).
pub fn of(method: &str, path: &str) -> Tolerance {
    let under = |prefix: &&str| {
        if prefix.ends_with('/') {
            path.starts_with(prefix)
        } else {
            path == *prefix
        }
    };
    if DOMINO.contains(&(method, path)) || DOMINO_PREFIXES.iter().any(under) {
        Tolerance::Domino
    } else if PROTOCOL.iter().any(under) {
        Tolerance::Protocol
    } else {
        Tolerance::Strict
    }
}

/// Writes `x-unknown-parameters` on every operation of the document.
pub fn annotate(document: &mut OpenApi) {
    for (path, item) in document.paths.paths.iter_mut() {
        for (method, operation) in super::METHODS.iter().zip(super::slots(item)) {
            if let Some(operation) = operation {
                let tolerance = of(&method.to_ascii_lowercase(), path);
                let value = serde_json::Value::from(tolerance.as_str());
                operation
                    .extensions
                    .get_or_insert_with(Extensions::default)
                    .insert("x-unknown-parameters".to_string(), value);
            }
        }
    }
}

/// What a strict operation takes: its query parameters, and whether it has a body at all.
struct Takes {
    queries: Vec<String>,
    body: bool,
}

/// What each strict operation takes, keyed by upper-case method and path shape.
type Allowed = HashMap<(String, String), Takes>;

/// Built once from the document: the document decides which parameters exist.
static STRICT_QUERIES: LazyLock<Allowed> = LazyLock::new(|| allowed(&super::document()));

fn allowed(document: &OpenApi) -> Allowed {
    let mut out = Allowed::new();
    for (path, item) in &document.paths.paths {
        let shared = item.parameters.clone().unwrap_or_default();
        let mut item = item.clone();
        for (method, operation) in super::METHODS.iter().zip(super::slots(&mut item)) {
            let Some(operation) = operation else { continue };
            if of(&method.to_ascii_lowercase(), path) != Tolerance::Strict {
                continue;
            }
            let names = shared
                .iter()
                .chain(operation.parameters.iter().flatten())
                .filter_map(|p| match p {
                    RefOr::T(p) if p.parameter_in == ParameterIn::Query => Some(p.name.clone()),
                    _ => None,
                })
                .collect();
            let body = operation.request_body.is_some();
            out.insert(
                (method.to_ascii_uppercase(), shape(path)),
                Takes {
                    queries: names,
                    body,
                },
            );
        }
    }
    out
}

/// A path with its parameters' names erased (`/users/{userId}` and `/users/{id}`, `{*rest}`
/// and `{rest}` are one route), so that the router's spelling finds the document's.
fn shape(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

/// Refuses, with a 400 naming it, a query parameter that a strict operation does not take, and
/// a body sent to a strict operation that takes none (`{"patIds": [...]}` posted to "revoke all"
/// must not revoke all). Runs inside the router (it needs the matched route); operations the
/// document does not describe, and tolerant ones, pass untouched.
pub async fn layer(request: Request, next: Next) -> Response {
    // Most requests carry neither a query nor a body: nothing to check, no key to build.
    if request.uri().query().is_none() && !has_body(request.headers()) {
        return next.run(request).await;
    }
    let Some(matched) = request.extensions().get::<MatchedPath>() else {
        return next.run(request).await;
    };
    let method = if request.method() == Method::HEAD {
        "GET".to_string()
    } else {
        request.method().as_str().to_string()
    };
    let Some(takes) = STRICT_QUERIES.get(&(method, shape(matched.as_str()))) else {
        return next.run(request).await;
    };
    if let Some(query) = request.uri().query()
        && let Err(error) = check(query, &takes.queries)
    {
        return error.into_response();
    }
    if takes.body || !has_body(request.headers()) {
        return next.run(request).await;
    }
    let (parts, body) = request.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, UNWANTED_BODY_LIMIT).await else {
        return no_body(None).into_response();
    };
    let text = String::from_utf8_lossy(&bytes);
    let trimmed = text.trim();
    if trimmed.is_empty() || trimmed == "{}" {
        // What HTTP clients send for a POST "with no data": nothing to refuse.
        let request = Request::from_parts(parts, axum::body::Body::from(bytes));
        return next.run(request).await;
    }
    let first_field = serde_json::from_str::<serde_json::Map<String, serde_json::Value>>(trimmed)
        .ok()
        .and_then(|fields| fields.keys().next().cloned());
    no_body(first_field).into_response()
}

/// Bytes of an unwanted body read to name its first field; beyond it, the body is refused unread.
const UNWANTED_BODY_LIMIT: usize = 64 * 1024;

/// A request with a body: a non-zero `Content-Length`, or any `Transfer-Encoding`.
fn has_body(headers: &axum::http::HeaderMap) -> bool {
    headers.contains_key(axum::http::header::TRANSFER_ENCODING)
        || headers
            .get(axum::http::header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.trim() != "0")
}

fn no_body(field: Option<String>) -> ApiError {
    ApiError::BadRequest(match field {
        Some(field) => {
            format!("invalid body: unknown field `{field}`, this operation takes no body")
        }
        None => "invalid body: this operation takes no body".to_string(),
    })
}

/// The first parameter of `query` not in `names`, as the 400 the API answers.
fn check(query: &str, names: &[String]) -> Result<(), ApiError> {
    let unknown = form_urlencoded::parse(query.as_bytes())
        .map(|(name, _)| name)
        .find(|name| !names.iter().any(|known| known == name));
    let Some(unknown) = unknown else {
        return Ok(());
    };
    let expected = if names.is_empty() {
        "this operation takes no query parameters".to_string()
    } else {
        let list: Vec<String> = names.iter().map(|n| format!("`{n}`")).collect();
        format!("expected one of {}", list.join(", "))
    };
    Err(ApiError::BadRequest(format!(
        "invalid query: unknown parameter `{unknown}`, {expected}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spec_domino_paths_are_tolerant_and_the_rest_of_the_api_is_strict() {
        assert_eq!(of("post", "/api/pat/v1/tokens"), Tolerance::Domino);
        assert_eq!(
            of(
                "post",
                "/api/serviceAccounts/v1/serviceAccounts/{id}/tokens"
            ),
            Tolerance::Domino
        );
        assert_eq!(of("post", "/models/{id}/latest/model"), Tolerance::Domino);
        assert_eq!(
            of("post", "/auth/realms/{realm}/protocol/openid-connect/token"),
            Tolerance::Protocol
        );
        assert_eq!(of("get", "/healthz"), Tolerance::Protocol);
        assert_eq!(
            of("post", "/api/pat/v1/tokens/{patId}/rotate"),
            Tolerance::Strict
        );
        assert_eq!(of("delete", "/api/pat/v1/tokens"), Tolerance::Strict);
        assert_eq!(of("get", "/api/admin/v1/users/{userId}"), Tolerance::Strict);
        assert_eq!(of("post", "/api/apiKey/v1/regenerate"), Tolerance::Strict);
        // A prefix without its slash is not the prefix: `/docsx` is not `/docs`.
        assert_eq!(of("get", "/docsx"), Tolerance::Strict);
        assert_eq!(of("get", "/healthz/x"), Tolerance::Strict);
    }

    #[test]
    fn every_domino_entry_names_an_operation_of_the_document() {
        let document = super::super::document();
        for (method, path) in DOMINO {
            let item = document
                .paths
                .paths
                .get(*path)
                .unwrap_or_else(|| panic!("{path} is not in the document"));
            let mut item = item.clone();
            let found = super::super::METHODS
                .iter()
                .zip(super::super::slots(&mut item))
                .any(|(m, op)| m.eq_ignore_ascii_case(method) && op.is_some());
            assert!(found, "{method} {path} is not in the document");
        }
    }

    #[test]
    fn a_strict_operation_takes_only_the_parameters_the_document_lists() {
        let names = vec!["search".to_string(), "limit".to_string()];
        assert!(check("search=a&limit=2", &names).is_ok());
        assert!(check("", &names).is_ok());
        let refused = check("search=a&foo=1", &names).unwrap_err();
        assert!(refused.public_message().contains("`foo`"));
        assert!(refused.public_message().contains("`search`, `limit`"));
        // The name is decoded before it is compared, however it is spelled.
        assert!(check("s%65arch=a", &names).is_ok());
        let none = check("foo=1", &[]).unwrap_err();
        assert!(none.public_message().contains("takes no query parameters"));
        assert!(check("=1", &names).is_err());
        assert_eq!(shape("/a/{userId}/b/{*rest}"), "/a/{}/b/{}");
        assert!(
            allowed(&super::super::document())
                .get(&("GET".to_string(), shape("/api/admin/v1/users/{id}")))
                .is_some_and(|takes| takes.queries.is_empty() && !takes.body)
        );
    }
}
