//! Signing-key rotation. SysAdmin only.

use axum::body::Bytes;
use axum::extract::State;
use axum::routing::post;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tessera_core::policy;
use tessera_core::realm::Algorithm;
use utoipa::ToSchema;

use crate::authn::Identity;
use crate::error::{ApiError, ApiResult};
use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/admin/v1/keys/rotate", post(rotate))
}

/// Optional: an empty body keeps the active key's algorithm.
#[derive(Deserialize, Default, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RotateKeyBody)]
struct RotateBody {
    /// `RS256`, `ES256` or `EdDSA`.
    #[schema(schema_with = super::openapi::rules::signing_algorithm)]
    algorithm: Option<String>,
}

/// The new active signing key.
#[derive(Serialize, ToSchema)]
struct RotatedKeyJson {
    kid: String,
    alg: String,
}

/// A new active key; the old one stays in the JWKS until its tokens have expired. SysAdmin only.
#[utoipa::path(post, path = "/api/admin/v1/keys/rotate", tag = "admin", operation_id = "rotateSigningKey",
    request_body(content = RotateBody, description = "Optional", content_type = "application/json"),
    responses((status = 200, description = "The new key", body = RotatedKeyJson)))]
async fn rotate(
    State(state): State<AppState>,
    Identity(caller): Identity,
    body: Bytes,
) -> ApiResult<Json<RotatedKeyJson>> {
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
    Ok(Json(RotatedKeyJson {
        kid: kid.to_string(),
        alg: alg.as_str().to_string(),
    }))
}
