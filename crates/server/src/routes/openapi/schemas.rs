//! Shapes that only the document needs to name: the error bodies every route may answer with,
//! and the realm's published documents, which the domain builds as JSON values. They describe;
//! the running server's conformance to them is checked by Schemathesis in CI.

use serde::Serialize;
use utoipa::ToSchema;

/// Domino's FailureEnvelopeV1: every error under `/api`, `/v4` and the other non-OAuth paths.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
pub struct FailureEnvelope {
    /// Human-readable messages; a 400 names the offending field.
    pub errors: Vec<String>,
    /// The `X-Request-Id` of the response, to find the detail in the log.
    pub request_id: String,
    /// A stable code for the kind of failure, also in the log line: `invalid_request`,
    /// `unauthenticated`, `forbidden`, `not_found`, `method_not_allowed`, `conflict`,
    /// `payload_too_large`, `unsupported_media_type`, `too_many_requests`, `bad_gateway`,
    /// `unavailable`, `gateway_timeout`, `internal`, `client_error` or `server_error`.
    pub code: String,
}

/// An OAuth 2.0 error (RFC 6749 §5.2, RFC 6750 §3.1): the token and userinfo endpoints.
#[derive(Serialize, ToSchema)]
pub struct OAuthError {
    /// `invalid_request`, `unsupported_grant_type`, `invalid_target`, `invalid_token`, ...
    pub error: String,
    pub error_description: String,
}

/// `GET /auth/realms/{realm}`: Keycloak's published realm.
#[derive(Serialize, ToSchema)]
pub struct RealmDocument {
    pub realm: String,
    /// The active signing key: base64 DER SubjectPublicKeyInfo, no PEM armour.
    pub public_key: String,
    #[serde(rename = "token-service")]
    pub token_service: String,
    #[serde(rename = "account-service")]
    pub account_service: String,
    #[serde(rename = "tokens-not-before")]
    pub tokens_not_before: i64,
}

/// A JSON Web Key (RFC 7517) of the realm: RSA (`n`, `e`), EC P-256 or Ed25519 (`crv`, `x`, `y`).
#[derive(Serialize, ToSchema)]
pub struct Jwk {
    pub kid: String,
    pub kty: String,
    pub alg: String,
    #[serde(rename = "use")]
    pub use_: String,
    #[schema(required = false)]
    pub n: Option<String>,
    #[schema(required = false)]
    pub e: Option<String>,
    #[schema(required = false)]
    pub crv: Option<String>,
    #[schema(required = false)]
    pub x: Option<String>,
    #[schema(required = false)]
    pub y: Option<String>,
}

/// The JWKS (RFC 7517 §5): the active key and the retired ones whose tokens may still be alive.
#[derive(Serialize, ToSchema)]
pub struct Jwks {
    pub keys: Vec<Jwk>,
}

/// OpenID Connect discovery (OpenID Connect Discovery 1.0 §3), as Keycloak publishes it.
#[derive(Serialize, ToSchema)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: String,
    pub jwks_uri: String,
    pub grant_types_supported: Vec<String>,
    pub response_types_supported: Vec<String>,
    pub subject_types_supported: Vec<String>,
    pub id_token_signing_alg_values_supported: Vec<String>,
    pub token_endpoint_auth_methods_supported: Vec<String>,
    pub claims_supported: Vec<String>,
}

/// The userinfo claims (OpenID Connect Core §5.3.2); claims without a value are left out.
#[derive(Serialize, ToSchema)]
pub struct UserInfo {
    pub sub: String,
    #[schema(required = false)]
    pub name: Option<String>,
    #[schema(required = false)]
    pub preferred_username: Option<String>,
    #[schema(required = false)]
    pub email: Option<String>,
    #[schema(required = false)]
    pub given_name: Option<String>,
    #[schema(required = false)]
    pub family_name: Option<String>,
}

/// A successful token exchange (RFC 8693 §2.2.1).
#[derive(Serialize, ToSchema)]
pub struct TokenResponse {
    /// The access JWT.
    pub access_token: String,
    /// `Bearer`.
    pub token_type: String,
    /// Seconds until the JWT expires.
    pub expires_in: i64,
    /// `urn:ietf:params:oauth:token-type:access_token`.
    pub issued_token_type: String,
}

/// A model's input, on Domino's wire: `{"data": {...}}` or `{"parameters": [...]}`; the model
/// server reads the rest.
#[derive(Serialize, ToSchema)]
pub struct ModelInput {
    #[schema(required = false, value_type = serde_json::Value)]
    pub data: Option<serde_json::Value>,
    #[schema(required = false, value_type = serde_json::Value)]
    pub parameters: Option<serde_json::Value>,
}
