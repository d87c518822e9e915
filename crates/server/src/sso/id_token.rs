//! The ID token's checks that Tessera adds to the `openidconnect` crate's (the verifier's
//! algorithms and clock skew, `nbf`, `azp`), its payload read as plain JSON once verified, and
//! every failure of the provider in Tessera's words: the verifier's messages without the
//! crate's misleading prefixes, and the warning logged once per failure.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::CoreJwsSigningAlgorithm;
use openidconnect::{ClaimsVerificationError, SignatureVerificationError};
use serde_json::{Map, Value};

use super::oidc::{CLOCK_SKEW, Client, MAX_JSON_DEPTH, OidcError, REFETCH_AT_MOST_EVERY};

const ALGORITHMS: [CoreJwsSigningAlgorithm; 8] = [
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha256,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha384,
    CoreJwsSigningAlgorithm::RsaSsaPkcs1V15Sha512,
    CoreJwsSigningAlgorithm::RsaSsaPssSha256,
    CoreJwsSigningAlgorithm::RsaSsaPssSha384,
    CoreJwsSigningAlgorithm::EcdsaP256Sha256,
    CoreJwsSigningAlgorithm::EcdsaP384Sha384,
    CoreJwsSigningAlgorithm::EdDsa,
];

/// The ID token verifier: Tessera's algorithms, an `iat` at most [`CLOCK_SKEW`] ahead of
/// Tessera's clock (OIDC Core §3.1.3.7 step 10), and an `exp` at most [`CLOCK_SKEW`] behind it
/// (step 9: the crate compares `exp` with its time function, which feeds no other check, so
/// that function runs [`CLOCK_SKEW`] late).
pub(super) fn verifier(client: &Client) -> openidconnect::core::CoreIdTokenVerifier<'_> {
    client
        .id_token_verifier()
        .set_allowed_algs(ALGORITHMS)
        .set_time_fn(|| chrono::Utc::now() - CLOCK_SKEW)
        .set_issue_time_verifier_fn(|iat| issued_in_the_past(iat, chrono::Utc::now()))
}

/// A verification failure of the ID token `jws`, in Tessera's words: the crate's messages
/// carry a prefix that can mislead (a future `iat`, refused by Tessera's own check, arrives
/// as "Expired: ..."; a bad signature says only "Signature verification failed"), and its
/// expiry message would show the skewed time as "current time".
pub(super) fn not_verified(error: ClaimsVerificationError, jws: &str) -> OidcError {
    use ClaimsVerificationError as E;
    let message = match error {
        E::Expired(message) if message.starts_with("ID token expired") => {
            let exp = payload(jws)
                .ok()
                .and_then(|claims| match claims.get("exp") {
                    Some(Value::Number(n)) => n
                        .as_f64()
                        .and_then(|at| chrono::DateTime::from_timestamp(at.floor() as i64, 0))
                        .map(|at| at.to_string()),
                    Some(Value::String(at)) => Some(at.clone()),
                    _ => None,
                })
                .unwrap_or_else(|| "an earlier time".into());
            format!(
                "it expired at {exp} (exp; now {}, {} s of clock skew allowed)",
                chrono::Utc::now(),
                CLOCK_SKEW.as_secs()
            )
        }
        // Tessera's own issue-time check ([`issued_in_the_past`]) speaks for itself.
        E::Expired(message) => message,
        E::InvalidAudience(m) => format!("its audience (aud) is not Tessera's client: {m}"),
        E::InvalidIssuer(m) => format!("its issuer (iss) is not the provider's: {m}"),
        E::InvalidNonce(m) => {
            format!("its nonce is not the one of the sign-in this browser started: {m}")
        }
        E::InvalidSubject(m) => format!("its subject (sub) is not valid: {m}"),
        E::InvalidAuthContext(m) => format!("its authentication context (acr): {m}"),
        E::InvalidAuthTime(m) => format!("its authentication time (auth_time): {m}"),
        E::SignatureVerification(SignatureVerificationError::NoMatchingKey) => {
            return no_matching_key(jws, false);
        }
        E::SignatureVerification(e) => format!("its signature could not be verified: {e}"),
        E::Unsupported(m) => format!("it uses what Tessera does not support: {m}"),
        other => other.to_string(),
    };
    OidcError::InvalidIdToken(message)
}

/// No key of the provider's key set matches the ID token's key id and algorithm, though the
/// keys were fetched again for it (`refetched`) or had been within the last
/// [`REFETCH_AT_MOST_EVERY`].
pub(super) fn no_matching_key(jws: &str, refetched: bool) -> OidcError {
    let kid = jws
        .split('.')
        .next()
        .and_then(|header| URL_SAFE_NO_PAD.decode(header).ok())
        .and_then(|bytes| json_object(&bytes).ok())
        .and_then(|header| {
            header
                .get("kid")
                .and_then(Value::as_str)
                .map(str::to_string)
        });
    let again = if refetched {
        "even after fetching its keys again".to_string()
    } else {
        format!(
            "and its keys were fetched again less than {} s ago",
            REFETCH_AT_MOST_EVERY.as_secs()
        )
    };
    OidcError::InvalidIdToken(match kid {
        Some(kid) => {
            format!("no key of the provider matches the ID token's key id (kid {kid:?}), {again}")
        }
        None => format!(
            "the ID token names no key id (kid) and no key of the provider matches its algorithm, {again}"
        ),
    })
}

/// Logs a failure of the provider once, where it happened (a remembered failed discovery is
/// not logged again): what the provider or the verifier said is [`super::routes`]'s `quoted`
/// (bounded and clean). A refused code is the person's (an expired or reused code): not
/// logged.
pub(super) fn log_failure(name: &str, error: &OidcError) {
    let logged = tessera_core::sso::quoted(&error.to_string());
    match error {
        OidcError::Unreachable(_) => {
            tracing::warn!(provider = name, error = %logged, "identity provider unreachable");
        }
        OidcError::ClientRefused(_) => {
            tracing::warn!(provider = name, error = %logged, "an identity provider refused Tessera's client credentials or request");
        }
        OidcError::IssuerMismatch(_) => {
            tracing::warn!(provider = name, error = %logged, "a sign-in answer named another issuer than its identity provider");
        }
        OidcError::Misconfigured(_) => {
            tracing::warn!(provider = name, error = %logged, "Tessera's settings for an identity provider do not match it");
        }
        OidcError::CodeRefused(_) => {}
        OidcError::InvalidIdToken(_) | OidcError::InvalidAnswer(_) => {
            tracing::warn!(provider = name, error = %logged, "an identity provider's answer failed verification");
        }
    }
}

/// `Err` (a message naming `iat`) when `iat` is more than [`CLOCK_SKEW`] after `now`.
pub(super) fn issued_in_the_past(
    iat: chrono::DateTime<chrono::Utc>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), String> {
    if iat > now + CLOCK_SKEW {
        return Err(format!(
            "its issue time (iat) {iat} is in the future (now {now}, {} s of clock skew allowed)",
            CLOCK_SKEW.as_secs()
        ));
    }
    Ok(())
}

/// RFC 7519 §4.1.5: an ID token must not be accepted before its `nbf` (a NumericDate), with
/// [`CLOCK_SKEW`] allowed; an `nbf` that is not a number is refused.
pub(super) fn not_before(
    claims: &Map<String, Value>,
    now: chrono::DateTime<chrono::Utc>,
) -> Result<(), OidcError> {
    let Some(nbf) = claims.get("nbf") else {
        return Ok(());
    };
    let Some(nbf) = nbf.as_f64().filter(|n| n.is_finite()) else {
        return Err(OidcError::InvalidIdToken(
            "its not-before time (nbf) is not a number".into(),
        ));
    };
    let skew = CLOCK_SKEW.as_secs_f64();
    let now_secs = now.timestamp() as f64 + f64::from(now.timestamp_subsec_millis()) / 1000.0;
    if nbf > now_secs + skew {
        return Err(OidcError::InvalidIdToken(format!(
            "it is not valid before {} (nbf; now {now}, {} s of clock skew allowed)",
            chrono::DateTime::from_timestamp(nbf as i64, 0)
                .map_or_else(|| nbf.to_string(), |at| at.to_string()),
            CLOCK_SKEW.as_secs()
        )));
    }
    Ok(())
}

/// A JSON object of the provider, or what is wrong with it (to follow the answer's name): not
/// JSON, nested deeper than [`MAX_JSON_DEPTH`] levels, or JSON but not an object.
pub(super) fn json_object(bytes: &[u8]) -> Result<Map<String, Value>, String> {
    match serde_json::from_slice::<Value>(bytes) {
        Ok(Value::Object(map)) => Ok(map),
        Ok(_) => Err("is not a JSON object".into()),
        Err(e) if e.to_string().starts_with("recursion limit exceeded") => {
            Err(format!("nests JSON deeper than {MAX_JSON_DEPTH} levels"))
        }
        Err(e) => Err(format!(
            "is not valid JSON (line {}, column {})",
            e.line(),
            e.column()
        )),
    }
}

/// The JSON payload of a compact JWS whose signature was already verified.
pub(super) fn payload(jws: &str) -> Result<Map<String, Value>, OidcError> {
    let bad = || OidcError::InvalidIdToken("the ID token's payload is not base64url".into());
    let part = jws.split('.').nth(1).ok_or_else(bad)?;
    let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| bad())?;
    json_object(&bytes).map_err(|what| OidcError::InvalidIdToken(format!("its payload {what}")))
}

/// OIDC Core §3.1.3.7, steps 4 and 5 (which the `openidconnect` crate leaves to its users): an
/// ID token for several audiences must name Tessera's client as its authorized party (`azp`),
/// and an `azp` that is present must be Tessera's client id.
pub(super) fn authorized_party(
    claims: &Map<String, Value>,
    client_id: &str,
) -> Result<(), OidcError> {
    let audiences = match claims.get("aud") {
        Some(Value::Array(items)) => items.len(),
        Some(_) => 1,
        None => 0,
    };
    match claims.get("azp") {
        Some(Value::String(azp)) if azp == client_id => Ok(()),
        Some(_) => Err(OidcError::InvalidIdToken(format!(
            "its authorized party (azp) is not the client {client_id}"
        ))),
        None if audiences > 1 => Err(OidcError::InvalidIdToken(
            "it names several audiences but no authorized party (azp)".into(),
        )),
        None => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_authorized_party_must_be_the_client_when_present_or_audiences_are_several() {
        let check = |claims: Value| {
            authorized_party(claims.as_object().unwrap(), "tessera").map_err(|e| e.code())
        };
        assert!(check(serde_json::json!({ "aud": "tessera" })).is_ok());
        assert!(check(serde_json::json!({ "aud": ["tessera"], "azp": "tessera" })).is_ok());
        assert!(check(serde_json::json!({ "aud": ["tessera", "x"], "azp": "tessera" })).is_ok());
        for bad in [
            serde_json::json!({ "aud": "tessera", "azp": "someone-else" }),
            serde_json::json!({ "aud": ["tessera", "x"] }),
            serde_json::json!({ "aud": "tessera", "azp": 7 }),
        ] {
            assert_eq!(check(bad), Err("invalid-id-token"));
        }
    }

    /// Found by the fifth review: a future `iat` read "Expired: its issue time (iat) ... is in
    /// the future", and an unknown key only "Signature verification failed". Every variant is
    /// said in Tessera's words, without the crate's prefix.
    #[test]
    fn each_verification_failure_is_said_without_the_crates_prefix() {
        use ClaimsVerificationError as E;
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"RS256","kid":"k-7"}"#);
        let body = URL_SAFE_NO_PAD.encode(br#"{"sub":"1","exp":1700000000}"#);
        let jws = format!("{header}.{body}.sig");
        let now = chrono::Utc::now();
        let future =
            issued_in_the_past(now + std::time::Duration::from_secs(3600), now).unwrap_err();
        for (error, says) in [
            (E::Expired(future), "its issue time (iat)"),
            (
                E::Expired("ID token expired at X (current time is Y)".into()),
                "it expired at 2023-11-14 22:13:20 UTC (exp;",
            ),
            (E::InvalidAudience("x".into()), "its audience (aud)"),
            (E::InvalidIssuer("x".into()), "its issuer (iss)"),
            (E::InvalidNonce("x".into()), "its nonce"),
            (E::InvalidSubject("x".into()), "its subject (sub)"),
            (E::InvalidAuthContext("x".into()), "(acr)"),
            (E::InvalidAuthTime("x".into()), "(auth_time)"),
            (E::Unsupported("x".into()), "does not support"),
            (
                E::SignatureVerification(SignatureVerificationError::CryptoError("bad".into())),
                "its signature could not be verified: Crypto error: bad",
            ),
            (
                E::SignatureVerification(SignatureVerificationError::NoMatchingKey),
                "no key of the provider matches the ID token's key id (kid \"k-7\")",
            ),
        ] {
            let OidcError::InvalidIdToken(message) = not_verified(error, &jws) else {
                panic!("not an invalid ID token");
            };
            assert!(message.contains(says), "{says}: {message}");
            for prefix in [
                "Expired:",
                "Invalid ",
                "Unsupported:",
                "Signature verification failed",
            ] {
                assert!(!message.starts_with(prefix), "{message}");
            }
        }
        let OidcError::InvalidIdToken(refetched) = no_matching_key(&jws, true) else {
            panic!("not an invalid ID token");
        };
        assert!(
            refetched.ends_with("even after fetching its keys again"),
            "{refetched}"
        );
    }

    #[test]
    fn a_payload_is_read_from_the_middle_part() {
        let body = URL_SAFE_NO_PAD.encode(br#"{"sub":"1","groups":["a"]}"#);
        let claims = payload(&format!("h.{body}.s")).unwrap();
        assert_eq!(claims["groups"][0], "a");
        assert!(payload("nodots").is_err());
    }
}
