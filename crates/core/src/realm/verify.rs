//! Strict verification of Tessera's own access tokens (RFC 8725): the algorithm is the key's
//! own, `kid` picks among Tessera's published keys only, `typ` is `at+jwt`, and `iss`, `aud`,
//! `exp`, `nbf` are checked with a small leeway, and a `crit` header is refused (RFC 7515
//! §4.1.11). The per-user not-before is checked by the
//! authenticator, which knows the principal.

use std::sync::Arc;

use super::claims::VerifiedClaims;
use super::ring::KeyRing;
use crate::model::Timestamp;

pub struct JwtVerifier {
    ring: Arc<KeyRing>,
    issuer: String,
    audience: Vec<String>,
    leeway_secs: u64,
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum JwtError {
    #[error("not a token of this realm")]
    Invalid,
    /// The `kid` is unknown: the ring may be stale (a rotation by another process).
    #[error("unknown key id")]
    UnknownKey,
}

/// True when `value` has the shape of a compact JWS (three base64url parts).
pub fn looks_like_jwt(value: &str) -> bool {
    value.len() < 16 * 1024
        && value.split('.').count() == 3
        && value
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

impl JwtVerifier {
    pub fn new(
        ring: Arc<KeyRing>,
        issuer: String,
        audience: Vec<String>,
        leeway_secs: u64,
    ) -> JwtVerifier {
        JwtVerifier {
            ring,
            issuer,
            audience,
            leeway_secs,
        }
    }

    pub fn verify(&self, token: &str, now: Timestamp) -> Result<VerifiedClaims, JwtError> {
        let header = jsonwebtoken::decode_header(token).map_err(|_| JwtError::Invalid)?;
        // RFC 7515 §4.1.11: Tessera understands no critical extension, so any is refused.
        if header.crit.is_some() {
            return Err(JwtError::Invalid);
        }
        let typ_ok = header.typ.as_deref().is_some_and(|t| {
            t.eq_ignore_ascii_case("at+jwt") || t.eq_ignore_ascii_case("application/at+jwt")
        });
        if !typ_ok {
            return Err(JwtError::Invalid);
        }
        let kid = header.kid.as_deref().ok_or(JwtError::Invalid)?;
        let key = self.ring.find(kid, now).ok_or(JwtError::UnknownKey)?;
        let alg = key.alg.jsonwebtoken();
        if header.alg != alg {
            return Err(JwtError::Invalid);
        }
        let mut validation = jsonwebtoken::Validation::new(alg);
        validation.algorithms = vec![alg];
        validation.leeway = self.leeway_secs;
        validation.validate_nbf = true;
        validation.set_issuer(&[self.issuer.as_str()]);
        validation.set_audience(&self.audience);
        validation.set_required_spec_claims(&["exp", "nbf", "iat", "iss", "aud", "sub"]);
        let data = jsonwebtoken::decode::<VerifiedClaims>(token, key.decoding_key(), &validation)
            .map_err(|_| JwtError::Invalid)?;
        Ok(data.claims)
    }
}
