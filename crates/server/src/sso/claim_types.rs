//! The JSON type each standard claim of an ID token must have (OIDC Core §2 and §5.1), to name
//! the claim when the `openidconnect` crate's typed reading of the token response refuses an ID
//! token (found by the fourth review of #17: `locale: 12` was refused as "not valid JSON of the
//! expected shape (at .)", naming nothing). Only claim names of the fixed standard list below
//! are ever quoted, never a value. The rules follow what the crate accepts, with its features
//! `accept-rfc3339-timestamps` and `accept-string-booleans` on.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value};

/// What a standard claim must be.
#[derive(Clone, Copy)]
enum Kind {
    /// A JSON string.
    Text,
    /// A string, possibly per language (`given_name#de`, OIDC Core §5.2).
    Localized,
    /// A string that is a URL.
    Url,
    /// `true`, `false`, or the text `"true"` or `"false"` (AWS Cognito).
    Boolean,
    /// Seconds since 1970 (a number), or an RFC 3339 date (Auth0's `updated_at`).
    Time,
    /// A string or an array of strings (`aud`).
    TextOrTexts,
    /// An array of strings (`amr`).
    Texts,
    /// A JSON object whose members (OIDC Core §5.1.1) are strings.
    Address,
}

impl Kind {
    fn described(self) -> &'static str {
        match self {
            Kind::Text | Kind::Localized => "a string",
            Kind::Url => "a URL",
            Kind::Boolean => "a boolean",
            Kind::Time => "a time (seconds since 1970, or an RFC 3339 date)",
            Kind::TextOrTexts => "a string or an array of strings",
            Kind::Texts => "an array of strings",
            Kind::Address => "a JSON object of strings",
        }
    }
}

/// The standard claims the crate reads with a type: name, kind, whether it is required, and the
/// section that says so.
const STANDARD: [(&str, Kind, bool, &str); 32] = [
    ("iss", Kind::Url, true, "OIDC Core §2"),
    ("sub", Kind::Text, true, "OIDC Core §2"),
    ("aud", Kind::TextOrTexts, false, "OIDC Core §2"),
    ("exp", Kind::Time, true, "OIDC Core §2"),
    ("iat", Kind::Time, true, "OIDC Core §2"),
    ("auth_time", Kind::Time, false, "OIDC Core §2"),
    ("nonce", Kind::Text, false, "OIDC Core §2"),
    ("acr", Kind::Text, false, "OIDC Core §2"),
    ("amr", Kind::Texts, false, "OIDC Core §2"),
    ("azp", Kind::Text, false, "OIDC Core §2"),
    ("at_hash", Kind::Text, false, "OIDC Core §3.1.3.6"),
    ("c_hash", Kind::Text, false, "OIDC Core §3.3.2.11"),
    ("name", Kind::Localized, false, "OIDC Core §5.1"),
    ("given_name", Kind::Localized, false, "OIDC Core §5.1"),
    ("family_name", Kind::Localized, false, "OIDC Core §5.1"),
    ("middle_name", Kind::Localized, false, "OIDC Core §5.1"),
    ("nickname", Kind::Localized, false, "OIDC Core §5.1"),
    ("preferred_username", Kind::Text, false, "OIDC Core §5.1"),
    ("profile", Kind::Localized, false, "OIDC Core §5.1"),
    ("picture", Kind::Localized, false, "OIDC Core §5.1"),
    ("website", Kind::Localized, false, "OIDC Core §5.1"),
    ("email", Kind::Text, false, "OIDC Core §5.1"),
    ("email_verified", Kind::Boolean, false, "OIDC Core §5.1"),
    ("gender", Kind::Text, false, "OIDC Core §5.1"),
    ("birthdate", Kind::Text, false, "OIDC Core §5.1"),
    // Not in §5.1 (a misspelling of `birthdate` some providers send), read by the crate too.
    ("birthday", Kind::Text, false, "OIDC Core §5.1"),
    ("zoneinfo", Kind::Text, false, "OIDC Core §5.1"),
    ("locale", Kind::Text, false, "OIDC Core §5.1"),
    ("phone_number", Kind::Text, false, "OIDC Core §5.1"),
    (
        "phone_number_verified",
        Kind::Boolean,
        false,
        "OIDC Core §5.1",
    ),
    ("address", Kind::Address, false, "OIDC Core §5.1"),
    ("updated_at", Kind::Time, false, "OIDC Core §5.1"),
];

/// The claims of the standard list that may carry a language tag (`#de`); the others may not
/// (the crate refuses `email#de`).
fn localizable(name: &str) -> bool {
    STANDARD
        .iter()
        .any(|(n, kind, _, _)| *n == name && matches!(kind, Kind::Localized))
}

/// What is wrong with the first standard claim of `claims` whose JSON type is not the one the
/// specifications give, as `the ID token's claim "locale" is not a string as OIDC Core §5.1
/// requires`; `None` when every standard claim has its type (what refused the token is
/// elsewhere).
pub fn problem(claims: &Map<String, Value>) -> Option<String> {
    for (name, kind, required, section) in STANDARD {
        let value = claims.get(name).filter(|v| !v.is_null());
        let Some(value) = value else {
            if required {
                return Some(format!(
                    "the ID token has no claim \"{name}\", which {section} requires"
                ));
            }
            continue;
        };
        if !fits(kind, value) {
            return Some(wrong(name, kind, section));
        }
    }
    // Language-tagged keys (`given_name#de`): of a localizable claim, a string; of another
    // standard claim, refused.
    for (key, value) in claims {
        let Some((name, tag)) = key.split_once('#') else {
            continue;
        };
        if tag.is_empty() {
            continue;
        }
        let Some((name, kind, _, section)) = STANDARD.iter().find(|(n, ..)| *n == name) else {
            continue;
        };
        if !localizable(name) {
            return Some(format!(
                "the ID token's claim \"{name}\" carries a language tag, which OIDC Core §5.2 allows only for human-readable claims"
            ));
        }
        if !value.is_null() && !fits(*kind, value) {
            return Some(wrong(name, *kind, section));
        }
    }
    None
}

fn wrong(name: &str, kind: Kind, section: &str) -> String {
    format!(
        "the ID token's claim \"{name}\" is not {} as {section} requires",
        kind.described()
    )
}

/// Whether `value` (not null) is of `kind`, as the crate reads it.
fn fits(kind: Kind, value: &Value) -> bool {
    match kind {
        Kind::Text | Kind::Localized => value.is_string(),
        Kind::Url => value
            .as_str()
            .is_some_and(|s| reqwest::Url::parse(s).is_ok()),
        Kind::Boolean => match value {
            Value::Bool(_) => true,
            Value::String(s) => s.parse::<bool>().is_ok(),
            _ => false,
        },
        Kind::Time => match value {
            Value::Number(n) => seconds(n).is_some(),
            Value::String(s) => chrono::DateTime::parse_from_rfc3339(s).is_ok(),
            _ => false,
        },
        Kind::TextOrTexts => {
            value.is_string()
                || value
                    .as_array()
                    .is_some_and(|a| a.iter().all(Value::is_string))
        }
        Kind::Texts => value
            .as_array()
            .is_some_and(|a| a.iter().all(Value::is_string)),
        Kind::Address => value.as_object().is_some_and(|members| {
            [
                "formatted",
                "street_address",
                "locality",
                "region",
                "postal_code",
                "country",
            ]
            .iter()
            .all(|m| members.get(*m).is_none_or(|v| v.is_null() || v.is_string()))
        }),
    }
}

/// A NumericDate as a time the crate can represent (whole or fractional seconds).
fn seconds(n: &serde_json::Number) -> Option<chrono::DateTime<chrono::Utc>> {
    if let Some(secs) = n.as_i64() {
        return chrono::DateTime::from_timestamp(secs, 0);
    }
    let secs = n.as_f64().filter(|f| f.is_finite())?;
    if secs.abs() > 1e15 {
        return None;
    }
    chrono::DateTime::from_timestamp(secs.floor() as i64, 0)
}

/// The claims of the ID token in a token response's body (not verified: only for naming what
/// is wrong), or `None` when the body holds no readable ID token.
pub fn unverified_id_token_claims(body: &[u8]) -> Option<Map<String, Value>> {
    let response: Value = serde_json::from_slice(body).ok()?;
    let token = response.get("id_token")?.as_str()?;
    let payload = token.split('.').nth(1)?;
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    match serde_json::from_slice(&bytes).ok()? {
        Value::Object(claims) => Some(claims),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn check(claims: Value) -> Option<String> {
        let mut base = json!({ "iss": "https://idp.example.com", "sub": "1", "aud": "t", "exp": 2_000_000_000, "iat": 1_700_000_000 });
        for (k, v) in claims.as_object().unwrap() {
            base[k] = v.clone();
        }
        problem(base.as_object().unwrap())
    }

    #[test]
    fn what_real_providers_send_has_its_type() {
        assert_eq!(check(json!({})), None);
        assert_eq!(
            check(json!({
                "updated_at": "2026-12-07T20:00:00.000Z", "email_verified": "true",
                "phone_number_verified": false, "name#de": "Anna", "aud": ["t", "u"],
                "address": { "locality": "Bern", "country": null }, "locale": null,
                "exp": 2_000_000_000.5, "department": 12, "groups#x": 1
            })),
            None
        );
    }

    #[test]
    fn a_standard_claim_of_another_type_is_named_never_quoted() {
        for (claims, named, kind) in [
            (json!({ "locale": 12 }), "locale", "a string"),
            (json!({ "address": "a string" }), "address", "a JSON object"),
            (
                json!({ "address": { "region": 1 } }),
                "address",
                "a JSON object",
            ),
            (json!({ "given_name": 42 }), "given_name", "a string"),
            (json!({ "iss": "not a url" }), "iss", "a URL"),
            (
                json!({ "preferred_username": 1234 }),
                "preferred_username",
                "a string",
            ),
            (
                json!({ "email_verified": "yes" }),
                "email_verified",
                "a boolean",
            ),
            (json!({ "updated_at": "yesterday" }), "updated_at", "a time"),
            (json!({ "exp": 1e300 }), "exp", "a time"),
            (json!({ "aud": [1] }), "aud", "a string or an array"),
            (json!({ "amr": "pwd" }), "amr", "an array of strings"),
            (json!({ "given_name#de": 7 }), "given_name", "a string"),
        ] {
            let said = check(claims.clone()).unwrap_or_else(|| panic!("{claims}"));
            assert!(
                said.contains(&format!("claim \"{named}\" is not {kind}")),
                "{claims}: {said}"
            );
            assert!(
                !said.contains("not a url") && !said.contains("yes\""),
                "{said}"
            );
        }
        let said = check(json!({ "email#de": "a@b.example" })).unwrap();
        assert!(said.contains("\"email\" carries a language tag"), "{said}");
        let mut missing = json!({ "iss": "https://idp.example.com", "sub": "1", "iat": 1 });
        assert!(
            problem(missing.as_object().unwrap())
                .unwrap()
                .contains("no claim \"exp\"")
        );
        missing["exp"] = json!(2);
        assert_eq!(problem(missing.as_object().unwrap()), None);
    }

    #[test]
    fn the_id_token_is_read_from_a_token_response() {
        let payload = URL_SAFE_NO_PAD.encode(br#"{"locale":12}"#);
        let body = json!({ "id_token": format!("h.{payload}.s"), "access_token": "x" });
        let claims = unverified_id_token_claims(body.to_string().as_bytes()).unwrap();
        assert_eq!(claims["locale"], 12);
        assert!(unverified_id_token_claims(b"not json").is_none());
        assert!(unverified_id_token_claims(br#"{"id_token":"nodots"}"#).is_none());
    }
}
