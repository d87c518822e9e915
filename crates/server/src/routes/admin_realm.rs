//! Signing-key rotation. SysAdmin only.

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::Deserialize;
use serde_json::{Value, json};
use tessera_core::policy;
use tessera_core::realm::Algorithm;

use crate::authn::Identity;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/admin/v1/keys/rotate", post(rotate))
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RotateBody {
    algorithm: Option<String>,
}

/// A new active key; the old one stays in the JWKS until its tokens have expired.
async fn rotate(
    State(state): State<AppState>,
    Identity(caller): Identity,
    body: Bytes,
) -> ApiResult<Json<Value>> {
    policy::require_admin(&caller)?;
    let body: RotateBody = if body.iter().all(u8::is_ascii_whitespace) {
        RotateBody::default()
    } else {
        serde_json::from_slice(&body)
            .map_err(|e| ApiError::BadRequest(format!("invalid body: {e}")))?
    };
    let algorithm = body
        .algorithm
        .map(|a| {
            Algorithm::parse(&a).ok_or_else(|| {
                ApiError::BadRequest(format!("algorithm: {a:?} must be RS256, ES256 or EdDSA"))
            })
        })
        .transpose()?;
    let (kid, alg) = state.realm.rotate(algorithm, &caller.audit_actor()).await?;
    Ok(Json(json!({ "kid": kid, "alg": alg.as_str() })))
}
