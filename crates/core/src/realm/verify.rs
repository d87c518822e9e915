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

/// The longest presented token taken for a JWT (bytes, exclusive); anything longer is refused
/// without being read further.
pub const MAX_JWT_LEN: usize = 16 * 1024;

/// True when `value` has the shape of a compact JWS (three base64url parts).
pub fn looks_like_jwt(value: &str) -> bool {
    value.len() < MAX_JWT_LEN
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

/// Properties of header and claims parsing: whatever arrives, the verifier answers without
/// panicking, and accepts only a token whose header and claims are exactly right.
#[cfg(test)]
mod props {
    use std::sync::Arc;

    use base64::Engine;
    use base64::engine::general_purpose::URL_SAFE_NO_PAD;
    use proptest::prelude::*;
    use serde_json::{Value, json};

    use super::*;
    use crate::realm::keys::{Algorithm, generate};
    use crate::realm::ring::{KeyRing, RingState};

    const ISSUER: &str = "https://tessera.test/auth/realms/DominoRealm";

    fn verifier() -> (JwtVerifier, Arc<crate::realm::keys::SigningKey>) {
        let now = chrono::Utc::now();
        let (key, _) = generate(Algorithm::EdDSA, now).unwrap_or_else(|e| panic!("{e}"));
        let key = Arc::new(key);
        let ring = KeyRing::new(
            RingState {
                active: key.clone(),
                keys: vec![key.clone()],
            },
            chrono::Duration::seconds(60),
        );
        (
            JwtVerifier::new(Arc::new(ring), ISSUER.into(), vec!["domino".into()], 5),
            key,
        )
    }

    fn signed(key: &crate::realm::keys::SigningKey, header: &Value, claims: &Value) -> String {
        let input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(claims.to_string())
        );
        let signature = key.sign(input.as_bytes()).unwrap_or_default();
        format!("{input}.{}", URL_SAFE_NO_PAD.encode(signature))
    }

    fn good_claims(now: i64) -> Value {
        json!({ "iss": ISSUER, "aud": "domino", "sub": "u1", "iat": now, "nbf": now,
                "exp": now + 300, "jti": "j1" })
    }

    fn json_value() -> impl Strategy<Value = Value> {
        prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::from),
            any::<i64>().prop_map(Value::from),
            ".{0,12}".prop_map(Value::from),
        ]
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        #[test]
        fn any_string_is_refused_without_panicking(token in ".{0,200}") {
            let (v, _) = verifier();
            prop_assert!(v.verify(&token, chrono::Utc::now()).is_err());
        }

        #[test]
        fn any_three_base64url_parts_are_refused_without_panicking(
            a in "[A-Za-z0-9_-]{0,80}", b in "[A-Za-z0-9_-]{0,80}", c in "[A-Za-z0-9_-]{0,80}",
        ) {
            let (v, _) = verifier();
            let token = format!("{a}.{b}.{c}");
            prop_assert!(v.verify(&token, chrono::Utc::now()).is_err());
        }

        #[test]
        fn a_signed_token_is_accepted_only_with_exactly_the_right_header(
            typ in prop::sample::select(vec!["at+jwt", "application/at+jwt", "JWT", ""]),
            alg in prop::sample::select(vec!["EdDSA", "RS256", "ES256", "none", "HS256"]),
            right_kid in any::<bool>(),
            crit in any::<bool>(),
            extra in prop::collection::btree_map("[a-z]{1,6}", json_value(), 0..4),
        ) {
            let (v, key) = verifier();
            let now = chrono::Utc::now();
            let mut header = json!({ "alg": alg, "typ": typ,
                "kid": if right_kid { key.kid.clone() } else { "someone-else".into() } });
            for (k, value) in extra {
                if !["alg", "typ", "kid", "crit"].contains(&k.as_str()) {
                    header[k] = value;
                }
            }
            if crit {
                header["crit"] = json!(["exp"]);
            }
            let token = signed(&key, &header, &good_claims(now.timestamp()));
            let should = typ.to_ascii_lowercase().contains("at+jwt") && alg == "EdDSA" && right_kid && !crit;
            prop_assert_eq!(v.verify(&token, now).is_ok(), should, "header {}", header);
        }

        #[test]
        fn a_signed_token_is_accepted_only_with_valid_claims(
            drop in prop::option::of(prop::sample::select(vec!["iss", "aud", "sub", "iat", "nbf", "exp", "jti"])),
            field in prop::sample::select(vec!["iss", "aud", "sub", "exp", "nbf", "jti"]),
            value in json_value(),
        ) {
            let (v, key) = verifier();
            let now = chrono::Utc::now();
            let header = json!({ "alg": "EdDSA", "typ": "at+jwt", "kid": key.kid.clone() });
            let mut claims = good_claims(now.timestamp());
            let original = claims.clone();
            if let (Some(d), Some(object)) = (drop, claims.as_object_mut()) {
                object.remove(d);
            }
            claims[field] = value;
            let token = signed(&key, &header, &claims);
            let result = v.verify(&token, now);
            let n = now.timestamp();
            let changed = claims[field] != original[field];
            let number = claims[field].as_i64();
            let expected = if drop.is_some_and(|d| d != field) {
                Some(false) // a required claim is missing
            } else if !changed {
                Some(true)
            } else {
                match field {
                    "iss" | "aud" => Some(false),
                    "sub" | "jti" => Some(claims[field].is_string()),
                    "exp" => match number {
                        Some(e) if e > n + 60 => Some(true),
                        Some(e) if e < n - 60 => Some(false),
                        Some(_) => None, // within the leeway: either answer is right
                        None => Some(false),
                    },
                    _ => match number {
                        Some(b) if (0..n - 60).contains(&b) => Some(true),
                        Some(b) if b > n + 60 => Some(false),
                        Some(_) => None,
                        None => Some(false),
                    },
                }
            };
            if let Some(expected) = expected {
                prop_assert_eq!(result.is_ok(), expected, "claims {}", claims);
            }
        }
    }
}
