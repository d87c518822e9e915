//! An upstream service behind Tessera's gateway, as a third party would write it: it trusts no
//! credential but the access JWT the gateway forwards, verified offline against Tessera's JWKS
//! (refetched when a new `kid` appears after a key rotation), and echoes who called.
//!
//! `cargo run -p echo-upstream -- [LISTEN] [TESSERA_URL]`
//! (defaults `127.0.0.1:9000` and `http://127.0.0.1:8080`).

use std::sync::Arc;

use axum::Json;
use axum::extract::{Request, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use jsonwebtoken::jwk::JwkSet;
use jsonwebtoken::{DecodingKey, Validation};
use parking_lot::RwLock;
use serde_json::{Value, json};

struct Verifier {
    issuer: String,
    jwks_url: String,
    keys: RwLock<JwkSet>,
    http: reqwest::Client,
}

impl Verifier {
    async fn refresh(&self) -> Result<(), String> {
        let set: JwkSet = self
            .http
            .get(&self.jwks_url)
            .send()
            .await
            .and_then(|r| r.error_for_status())
            .map_err(|e| format!("cannot fetch {}: {e}", self.jwks_url))?
            .json()
            .await
            .map_err(|e| format!("bad JWKS: {e}"))?;
        *self.keys.write() = set;
        Ok(())
    }

    async fn verify(&self, token: &str) -> Result<Value, String> {
        let header = jsonwebtoken::decode_header(token).map_err(|e| e.to_string())?;
        let kid = header.kid.ok_or("no kid")?;
        if self.keys.read().find(&kid).is_none() {
            self.refresh().await?;
        }
        let key = {
            let keys = self.keys.read();
            let jwk = keys.find(&kid).ok_or("unknown kid")?;
            DecodingKey::from_jwk(jwk).map_err(|e| e.to_string())?
        };
        // The algorithm comes from our side (the header's), but only ones Tessera signs with.
        if !matches!(
            header.alg,
            jsonwebtoken::Algorithm::RS256
                | jsonwebtoken::Algorithm::ES256
                | jsonwebtoken::Algorithm::EdDSA
        ) {
            return Err("unexpected algorithm".into());
        }
        let mut validation = Validation::new(header.alg);
        validation.set_issuer(&[&self.issuer]);
        validation.set_audience(&["domino-platform"]);
        jsonwebtoken::decode::<Value>(token, &key, &validation)
            .map(|d| d.claims)
            .map_err(|e| e.to_string())
    }
}

async fn echo(State(verifier): State<Arc<Verifier>>, request: Request) -> Response {
    let token = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "));
    let Some(token) = token else {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({ "error": "no bearer token" })),
        )
            .into_response();
    };
    match verifier.verify(token).await {
        Ok(claims) => Json(json!({
            "method": request.method().as_str(),
            "path": request.uri().path(),
            "user": claims["preferred_username"],
            "sub": claims["sub"],
            "roles": claims["realm_access"]["roles"],
            "requestId": request.headers().get("x-request-id").and_then(|v| v.to_str().ok()),
        }))
        .into_response(),
        Err(why) => (StatusCode::UNAUTHORIZED, Json(json!({ "error": why }))).into_response(),
    }
}

#[tokio::main]
async fn main() -> Result<(), String> {
    let mut args = std::env::args().skip(1);
    let listen = args.next().unwrap_or_else(|| "127.0.0.1:9000".into());
    let tessera = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:8080".into());
    let issuer = format!("{}/auth/realms/DominoRealm", tessera.trim_end_matches('/'));
    let verifier = Arc::new(Verifier {
        jwks_url: format!("{issuer}/protocol/openid-connect/certs"),
        issuer,
        keys: RwLock::new(JwkSet { keys: Vec::new() }),
        http: reqwest::Client::new(),
    });
    if let Err(why) = verifier.refresh().await {
        eprintln!("warning: {why}; will retry on the first request");
    }
    let app = axum::Router::new().fallback(echo).with_state(verifier);
    let listener = tokio::net::TcpListener::bind(&listen)
        .await
        .map_err(|e| format!("cannot listen on {listen}: {e}"))?;
    eprintln!("echo-upstream listening on http://{listen}, trusting {tessera}");
    axum::serve(listener, app).await.map_err(|e| e.to_string())
}
