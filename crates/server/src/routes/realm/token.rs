//! The token endpoint: RFC 8693 token exchange of a PAT, service-account token or API key for
//! an access JWT. Parse (the form, strictly) → decide (authenticate the subject, check the
//! audience) → act (issue), with every refusal an OAuth error (RFC 6749 §5.2, RFC 8693 §2.2.2).

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use tessera_core::authn::{AuthError, Presented};
use tessera_core::model::CredentialKind;
use tessera_core::secret::{SecretKind, parse_presented};

use super::{known, oauth_error};
use crate::client_addr::ClientAddr;
use crate::error::ApiError;
use crate::routes::openapi::schemas;
use crate::state::AppState;

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN_TYPE: &str = "urn:ietf:params:oauth:token-type:access_token";

/// A refusal of the token endpoint, as RFC 6749 §5.2 names them.
#[derive(Debug, PartialEq)]
pub(super) enum OAuthError {
    InvalidRequest(String),
    UnsupportedGrantType,
    InvalidTarget(String),
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let (error, description) = match self {
            OAuthError::InvalidRequest(d) => ("invalid_request", d),
            OAuthError::UnsupportedGrantType => (
                "unsupported_grant_type",
                format!("only {TOKEN_EXCHANGE} is supported"),
            ),
            OAuthError::InvalidTarget(d) => ("invalid_target", d),
        };
        oauth_error(StatusCode::BAD_REQUEST, error, &description)
    }
}

/// A token-exchange request (RFC 8693 §2.1), parsed.
#[derive(Debug, PartialEq)]
pub(super) struct ExchangeRequest {
    pub subject_token: String,
    /// `audience` and `resource` values, in order (both may repeat).
    pub targets: Vec<String>,
}

/// Parameters that may appear once only (RFC 6749 §3.2).
const SINGLE: &[&str] = &[
    "grant_type",
    "subject_token",
    "subject_token_type",
    "requested_token_type",
    "actor_token",
    "actor_token_type",
    "scope",
    "client_id",
];

/// Parses an `application/x-www-form-urlencoded` body into an exchange request.
pub(super) fn parse(headers: &HeaderMap, body: &[u8]) -> Result<ExchangeRequest, OAuthError> {
    let form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form {
        return Err(OAuthError::InvalidRequest(
            "the body must be application/x-www-form-urlencoded".into(),
        ));
    }
    let pairs: Vec<(String, String)> = form_urlencoded::parse(body).into_owned().collect();
    for name in SINGLE {
        if pairs.iter().filter(|(k, _)| k == name).count() > 1 {
            return Err(OAuthError::InvalidRequest(format!(
                "{name} is given more than once"
            )));
        }
    }
    let get = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    match get("grant_type") {
        Some(TOKEN_EXCHANGE) => {}
        Some(_) => return Err(OAuthError::UnsupportedGrantType),
        None => return Err(OAuthError::InvalidRequest("grant_type is required".into())),
    }
    let subject_token = get("subject_token")
        .filter(|s| !s.is_empty())
        .ok_or_else(|| OAuthError::InvalidRequest("subject_token is required".into()))?;
    for name in ["subject_token_type", "requested_token_type"] {
        if let Some(kind) = get(name).filter(|t| *t != ACCESS_TOKEN_TYPE) {
            return Err(OAuthError::InvalidRequest(format!(
                "unsupported {name} {kind:?}; use {ACCESS_TOKEN_TYPE}"
            )));
        }
    }
    if get("actor_token").is_some() {
        return Err(OAuthError::InvalidRequest(
            "actor_token is not supported: this realm does not issue delegated tokens".into(),
        ));
    }
    let targets = pairs
        .iter()
        .filter(|(k, _)| k == "audience" || k == "resource")
        .map(|(_, v)| v.clone())
        .collect();
    Ok(ExchangeRequest {
        subject_token: subject_token.to_string(),
        targets,
    })
}

/// The token-exchange form (RFC 8693 §2.1), for the document: `parse` reads the body.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(super) struct TokenExchangeForm {
    /// `urn:ietf:params:oauth:grant-type:token-exchange`
    grant_type: String,
    /// A PAT, a service-account token or an API key.
    subject_token: String,
    /// `urn:ietf:params:oauth:token-type:access_token` when given.
    subject_token_type: Option<String>,
    requested_token_type: Option<String>,
    /// The audience asked for; one the realm serves.
    audience: Option<String>,
    resource: Option<String>,
    scope: Option<String>,
    client_id: Option<String>,
}

/// `POST .../protocol/openid-connect/token`. Public: the subject token is the credential.
#[utoipa::path(post, path = "/auth/realms/{realm}/protocol/openid-connect/token", tag = "realm", operation_id = "exchangeToken", security(()),
    params(("realm" = String, Path, description = "The realm's name, `DominoRealm` by default")),
    request_body(content = TokenExchangeForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 200, description = "An access JWT", body = schemas::TokenResponse),
        (status = 400, description = "`invalid_request`, `unsupported_grant_type` or `invalid_target`", body = schemas::OAuthError),
    ))]
pub(super) async fn token(
    State(state): State<AppState>,
    Path(realm): Path<String>,
    ClientAddr(client): ClientAddr,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    known(&state, &realm)?;
    let request = match parse(&headers, &body) {
        Ok(request) => request,
        Err(refusal) => return Ok(refusal.into_response()),
    };
    let subject = request.subject_token.as_str();
    let presented = match parse_presented(subject).map(|w| w.kind) {
        Some(SecretKind::ApiKey) => Presented::ApiKey(subject),
        _ => Presented::Bearer(subject),
    };
    let caller = match state
        .authenticator
        .authenticate(presented, Some(client))
        .await
    {
        Ok(caller) if caller.credential().kind != CredentialKind::AccessToken => caller,
        Err(AuthError::Unavailable(e)) => return Err(ApiError::Unavailable(e.to_string())),
        _ => {
            crate::authn::record_refusal(&state, client)?;
            // RFC 8693 §2.2.2: an invalid subject_token is invalid_request (as Keycloak says).
            return Ok(OAuthError::InvalidRequest(
                "subject_token is not a valid PAT, service-account token or API key".into(),
            )
            .into_response());
        }
    };
    let audience = if request.targets.is_empty() {
        None
    } else {
        match state.realm.audience_for(&request.targets) {
            Ok(audience) => Some(audience),
            Err(unknown) => {
                return Ok(OAuthError::InvalidTarget(format!(
                    "this realm cannot issue tokens for {unknown:?}; it serves {:?}",
                    state.realm.settings().audience
                ))
                .into_response());
            }
        }
    };
    let issued = state
        .realm
        .issue(caller.principal(), caller.credential(), audience)
        .await?;
    state.metrics.exchanged();
    let mut response = Json(schemas::TokenResponse {
        access_token: issued.token,
        token_type: "Bearer".into(),
        expires_in: issued.expires_in,
        issued_token_type: ACCESS_TOKEN_TYPE.into(),
    })
    .into_response();
    response
        .headers_mut()
        .insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn form() -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded; charset=UTF-8"),
        );
        headers
    }

    fn base() -> String {
        format!(
            "grant_type={}&subject_token=tpat_x",
            TOKEN_EXCHANGE.replace(':', "%3A")
        )
    }

    #[test]
    fn a_well_formed_request_is_parsed_with_every_target() {
        let body = format!("{}&audience=a&resource=b&audience=c", base());
        let parsed = parse(&form(), body.as_bytes()).unwrap();
        assert_eq!(parsed.subject_token, "tpat_x");
        assert_eq!(parsed.targets, ["a", "b", "c"]);
    }

    #[test]
    fn refusals_name_what_is_wrong() {
        let cases = [
            (String::new(), "grant_type is required"),
            ("grant_type=password".to_string(), "unsupported_grant_type"),
            (
                format!("{}&grant_type=x", base()),
                "grant_type is given more than once",
            ),
            (
                format!("grant_type={TOKEN_EXCHANGE}"),
                "subject_token is required",
            ),
            (
                format!("{}&subject_token_type=urn:x", base()),
                "unsupported subject_token_type",
            ),
            (format!("{}&actor_token=y", base()), "actor_token"),
        ];
        for (body, expected) in cases {
            let refusal = parse(&form(), body.as_bytes()).unwrap_err();
            let text = format!("{refusal:?}");
            assert!(
                text.contains(expected)
                    || (expected == "unsupported_grant_type"
                        && refusal == OAuthError::UnsupportedGrantType),
                "{body}: {text}"
            );
        }
        let json = parse(&HeaderMap::new(), base().as_bytes()).unwrap_err();
        assert!(format!("{json:?}").contains("x-www-form-urlencoded"));
    }
}
