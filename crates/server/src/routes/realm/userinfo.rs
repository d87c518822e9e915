//! The userinfo endpoint (OIDC Core §5.3): the claims of the user an access token was issued
//! to. GET and POST, with the token in the `Authorization` header or, for POST, in a form field
//! `access_token` (RFC 6750 §2.1–2.2), never both. Claims with no value are left out.

use axum::Json;
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};
use tessera_core::authn::{AuthError, Caller, Presented};
use tessera_core::model::CredentialKind;
use tessera_core::realm::claims::has_value;

use super::{known, oauth_error};
use crate::authn::{Authn, MaybeIdentity};
use crate::client_addr::ClientAddr;
use crate::error::{ApiError, BEARER_INVALID};
use crate::routes::openapi::schemas::{OAuthError, UserInfo};
use crate::state::AppState;

/// `GET .../userinfo`: the token comes in the `Authorization` header.
#[utoipa::path(get, path = "/auth/realms/{realm}/protocol/openid-connect/userinfo", tag = "realm", operation_id = "userinfo",
    params(("realm" = String, Path, description = "The realm's name, `DominoRealm` by default")),
    security(("bearer" = [])),
    responses(
        (status = 200, description = "The claims of the token's user", body = UserInfo),
        (status = 401, description = "`invalid_token`, with a Bearer challenge", body = OAuthError),
    ))]
pub(super) async fn userinfo_get(
    State(state): State<AppState>,
    Path(realm): Path<String>,
    MaybeIdentity(caller): MaybeIdentity,
) -> Result<Response, ApiError> {
    known(&state, &realm)?;
    answer(caller)
}

/// `POST .../userinfo`: the header, or a form field `access_token`.
#[utoipa::path(post, path = "/auth/realms/{realm}/protocol/openid-connect/userinfo", tag = "realm", operation_id = "userinfoPost",
    params(("realm" = String, Path, description = "The realm's name, `DominoRealm` by default")),
    security((), ("bearer" = [])),
    request_body(content = UserInfoForm, content_type = "application/x-www-form-urlencoded", description = "Optional: the token in the body instead of the header"),
    responses(
        (status = 200, description = "The claims of the token's user", body = UserInfo),
        (status = 400, description = "`invalid_request`: the token both in the header and in the body", body = OAuthError),
        (status = 401, description = "`invalid_token`, with a Bearer challenge", body = OAuthError),
    ))]
pub(super) async fn userinfo_post(
    State(state): State<AppState>,
    Path(realm): Path<String>,
    ClientAddr(client): ClientAddr,
    authn: Option<axum::Extension<Authn>>,
    headers: HeaderMap,
    body: Bytes,
) -> Result<Response, ApiError> {
    known(&state, &realm)?;
    let is_form = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let in_body = is_form
        .then(|| {
            form_urlencoded::parse(&body)
                .find(|(k, _)| k == "access_token")
                .map(|(_, v)| v.into_owned())
        })
        .flatten();
    let authn = authn.map(|a| a.0).unwrap_or(Authn::Anonymous);
    let Some(token) = in_body else {
        let caller = match authn {
            Authn::Authenticated(caller) => Some(caller),
            _ => None,
        };
        return answer(caller);
    };
    if !matches!(authn, Authn::Anonymous) {
        return Ok(oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "the access token is given both in the Authorization header and in the body",
        ));
    }
    match state
        .authenticator
        .authenticate(Presented::Bearer(&token), Some(client))
        .await
    {
        Ok(caller) => answer(Some(caller)),
        Err(AuthError::Unavailable(e)) => Err(ApiError::Unavailable(e.to_string())),
        Err(AuthError::Invalid) => {
            crate::authn::record_refusal(&state, client)?;
            answer(None)
        }
    }
}

/// The token in a form body (RFC 6750 §2.2), for the document.
#[derive(utoipa::ToSchema)]
#[allow(dead_code)]
pub(super) struct UserInfoForm {
    access_token: Option<String>,
}

/// Only the realm's access tokens are accepted here (401 `invalid_token` otherwise).
fn answer(caller: Option<Caller>) -> Result<Response, ApiError> {
    let Some(caller) = caller.filter(|c| c.credential().kind == CredentialKind::AccessToken) else {
        // RFC 6750 §3.1, as Keycloak answers: the challenge and an OAuth error body.
        let mut refusal = oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "the access token is missing, invalid or no longer valid",
        );
        refusal.headers_mut().insert(
            header::WWW_AUTHENTICATE,
            axum::http::HeaderValue::from_static(BEARER_INVALID),
        );
        return Ok(refusal);
    };
    let user = caller.principal();
    let mut claims: Map<String, Value> = match json!({
        "sub": user.id.to_string(),
        "name": user.full_name(),
        "preferred_username": user.user_name.as_str(),
        "email": user.email.as_ref().map(|e| e.as_str()),
        "given_name": user.first_name,
        "family_name": user.last_name,
    }) {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    claims.retain(|_, v| has_value(v));
    Ok(Json(Value::Object(claims)).into_response())
}
