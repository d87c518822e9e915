//! The access token's claims (one claims type for this one purpose) and configured claim
//! mappers that add claims from a user attribute, organization membership or a constant.

use serde::Deserialize;
use serde_json::{Map, Value, json};

use crate::model::User;
use crate::sso::Attributes;

/// Claims Tessera owns; a mapper may not replace them.
const RESERVED: &[&str] = &[
    "iss",
    "sub",
    "aud",
    "exp",
    "nbf",
    "iat",
    "jti",
    "azp",
    "client_id",
    "sid",
    "typ",
    "scope",
    "name",
    "preferred_username",
    "email",
    "given_name",
    "family_name",
    "realm_access",
    "user_groups",
];

/// Tessera's own user attributes a mapper can read (`attribute:<name>`); a provider's attribute
/// may not take one of these names, which would hide it.
pub const BUILT_IN_ATTRIBUTES: &[&str] = &[
    "id",
    "userName",
    "email",
    "firstName",
    "lastName",
    "fullName",
    "roles",
    "kind",
];

#[derive(Clone, Debug, PartialEq)]
pub enum MapperSource {
    Organizations,
    Attribute(String),
    Constant(Value),
}

#[derive(Clone, Debug, PartialEq)]
pub struct ClaimMapper {
    pub claim: String,
    path: Vec<String>,
    pub source: MapperSource,
}

#[derive(Debug, thiserror::Error, PartialEq)]
#[error("claim mapper {claim:?}: {message}")]
pub struct MapperError {
    pub claim: String,
    pub message: String,
}

impl ClaimMapper {
    /// Parses `claim = "a.b.c"`, `source = "organizations" | "attribute:<name>" | "constant:<json>"`,
    /// where `<name>` is one of Tessera's own user attributes.
    pub fn parse(claim: &str, source: &str) -> Result<ClaimMapper, MapperError> {
        ClaimMapper::parse_with(claim, source, &[])
    }

    /// Like [`ClaimMapper::parse`], also accepting the attribute names in `provided`: those an
    /// identity provider asserts (the `attributes` of `[[sso.providers]]`, SPEC section 10).
    pub fn parse_with(
        claim: &str,
        source: &str,
        provided: &[String],
    ) -> Result<ClaimMapper, MapperError> {
        let fail = |message: String| MapperError {
            claim: claim.to_string(),
            message,
        };
        let path: Vec<String> = claim.split('.').map(str::to_string).collect();
        if path
            .iter()
            .any(|segment| segment.is_empty() || segment.trim() != segment)
        {
            return Err(fail(
                "a claim name is dot-separated non-empty segments without spaces".into(),
            ));
        }
        if RESERVED.contains(&path[0].as_str()) {
            return Err(fail(format!(
                "{:?} is a claim Tessera sets itself",
                path[0]
            )));
        }
        let source = if source == "organizations" {
            MapperSource::Organizations
        } else if let Some(name) = source.strip_prefix("attribute:") {
            if !BUILT_IN_ATTRIBUTES.contains(&name) && !provided.iter().any(|p| p == name) {
                let mut known: Vec<&str> = BUILT_IN_ATTRIBUTES.to_vec();
                known.extend(provided.iter().map(String::as_str));
                return Err(fail(format!(
                    "unknown attribute {name:?}; expected one of {}",
                    known.join(", ")
                )));
            }
            MapperSource::Attribute(name.to_string())
        } else if let Some(text) = source.strip_prefix("constant:") {
            MapperSource::Constant(
                serde_json::from_str(text)
                    .map_err(|e| fail(format!("constant is not valid JSON: {e}")))?,
            )
        } else {
            return Err(fail(format!(
                "unknown source {source:?}; expected \"organizations\", \"attribute:<name>\" or \"constant:<json>\""
            )));
        };
        Ok(ClaimMapper {
            claim: claim.to_string(),
            path,
            source,
        })
    }

    /// Checks a set of mappers against each other: no claim twice, none inside another.
    pub fn check_all(mappers: &[ClaimMapper]) -> Result<(), MapperError> {
        for (i, a) in mappers.iter().enumerate() {
            for b in &mappers[i + 1..] {
                let shorter = a.path.len().min(b.path.len());
                if a.path[..shorter] == b.path[..shorter] {
                    return Err(MapperError {
                        claim: b.claim.clone(),
                        message: format!("overlaps claim mapper {:?}", a.claim),
                    });
                }
            }
        }
        Ok(())
    }

    /// Whether this mapper reads an attribute asserted by an identity provider (stored per
    /// user), rather than one of Tessera's own.
    pub fn reads_provided_attribute(&self) -> bool {
        matches!(&self.source, MapperSource::Attribute(name) if !BUILT_IN_ATTRIBUTES.contains(&name.as_str()))
    }

    fn value(&self, user: &User, organizations: &[String], attributes: &Attributes) -> Value {
        match &self.source {
            MapperSource::Organizations => json!(organizations),
            MapperSource::Constant(v) => v.clone(),
            MapperSource::Attribute(name) => match name.as_str() {
                "id" => json!(user.id.to_string()),
                "userName" => json!(user.user_name.as_str()),
                "email" => json!(user.email.as_ref().map(|e| e.as_str())),
                "firstName" => json!(user.first_name),
                "lastName" => json!(user.last_name),
                "fullName" => json!(user.full_name()),
                "roles" => json!(user.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>()),
                "kind" => json!(user.kind.as_str()),
                other => attributes.get(other).cloned().unwrap_or(Value::Null),
            },
        }
    }

    fn apply(&self, claims: &mut Map<String, Value>, value: Value) {
        let (last, parents) = match self.path.split_last() {
            Some(split) => split,
            None => return,
        };
        let mut node = claims;
        for segment in parents {
            let entry = node
                .entry(segment.clone())
                .or_insert_with(|| Value::Object(Map::new()));
            if !entry.is_object() {
                *entry = Value::Object(Map::new());
            }
            match entry {
                Value::Object(map) => node = map,
                _ => return,
            }
        }
        node.insert(last.clone(), value);
    }
}

/// What, besides the user, goes into an access token.
pub struct TokenContext<'a> {
    pub issuer: &'a str,
    /// `aud`: the configured audience, or the one the client asked for (RFC 8693 `audience`).
    pub audience: &'a [String],
    /// `azp` and `client_id` (RFC 9068 §2.2 requires `client_id` in `at+jwt` tokens).
    pub azp: &'a str,
    /// Seconds since the epoch.
    pub issued_at: i64,
    pub expires_at: i64,
    /// A UUIDv7 whose timestamp is the issue time in milliseconds (see `issued_at_ms`).
    pub jti: &'a str,
    /// The credential or session the token was derived from (SPEC section 2).
    pub sid: &'a str,
}

/// The claims of an access token for `user`, with the mappers applied (`attributes`: those an
/// identity provider asserted). A claim with no value (no e-mail, an empty name) is left out,
/// never `null` or `""` (OIDC Core §5.3.2).
pub fn access_claims(
    user: &User,
    organizations: &[String],
    attributes: &Attributes,
    ctx: &TokenContext<'_>,
    mappers: &[ClaimMapper],
) -> Map<String, Value> {
    let roles: Vec<&str> = user.roles.iter().map(|r| r.as_str()).collect();
    let value = json!({
        "iss": ctx.issuer,
        "sub": user.id.to_string(),
        "aud": ctx.audience,
        "azp": ctx.azp,
        "client_id": ctx.azp,
        "exp": ctx.expires_at,
        "iat": ctx.issued_at,
        "nbf": ctx.issued_at,
        "jti": ctx.jti,
        "sid": ctx.sid,
        "typ": "Bearer",
        "name": user.full_name(),
        "preferred_username": user.user_name.as_str(),
        "email": user.email.as_ref().map(|e| e.as_str()),
        "given_name": user.first_name,
        "family_name": user.last_name,
        "realm_access": { "roles": roles },
        "user_groups": roles.iter().map(|r| format!("/roles/{r}")).collect::<Vec<_>>(),
    });
    let mut claims = match value {
        Value::Object(map) => map,
        _ => Map::new(),
    };
    claims.retain(|_, v| has_value(v));
    for mapper in mappers {
        let v = mapper.value(user, organizations, attributes);
        if has_value(&v) {
            mapper.apply(&mut claims, v);
        }
    }
    claims
}

/// False for `null` and `""`: such claims are left out.
pub fn has_value(value: &Value) -> bool {
    !(value.is_null() || value.as_str().is_some_and(str::is_empty))
}

/// The claims Tessera reads back when it verifies one of its own tokens; `jsonwebtoken`
/// checks `iss`, `aud`, `exp` and `nbf` before this is looked at.
#[derive(Debug, Deserialize)]
pub struct VerifiedClaims {
    pub sub: String,
    pub iat: i64,
    pub exp: i64,
    pub jti: String,
    /// The source credential or session; absent only in tokens minted before `sid` existed.
    #[serde(default)]
    pub sid: Option<String>,
}

impl VerifiedClaims {
    /// When the token was issued, in milliseconds since the epoch: the timestamp of a UUIDv7
    /// `jti`, else `iat` in whole seconds. Per-user not-before is compared at this precision,
    /// so that two role changes within one second both refuse the tokens issued before them.
    pub fn issued_at_ms(&self) -> i64 {
        uuid::Uuid::parse_str(&self.jti)
            .ok()
            .filter(|u| u.get_version_num() == 7)
            .and_then(|u| u.get_timestamp())
            .and_then(|t| {
                let (secs, nanos) = t.to_unix();
                i64::try_from(secs)
                    .ok()
                    .map(|s| s * 1000 + i64::from(nanos / 1_000_000))
            })
            .unwrap_or(self.iat.saturating_mul(1000))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mappers_are_checked_when_parsed() {
        assert!(ClaimMapper::parse("org.names", "organizations").is_ok());
        assert!(ClaimMapper::parse("tenant", "constant:{\"id\": 7}").is_ok());
        assert!(ClaimMapper::parse("mail", "attribute:email").is_ok());
        for (claim, source) in [
            ("sub", "organizations"),
            ("a..b", "organizations"),
            ("x", "attribute:shoeSize"),
            ("x", "constant:{"),
            ("x", "ldap"),
        ] {
            let err = ClaimMapper::parse(claim, source).err();
            assert!(
                err.as_ref().is_some_and(|e| e.claim == claim),
                "{claim} {source}: {err:?}"
            );
        }
    }

    #[test]
    fn overlapping_mappers_are_refused() {
        let a = ClaimMapper::parse("org", "organizations").unwrap();
        let b = ClaimMapper::parse("org.names", "organizations").unwrap();
        let c = ClaimMapper::parse("other", "organizations").unwrap();
        assert!(ClaimMapper::check_all(&[a.clone(), c.clone()]).is_ok());
        assert!(ClaimMapper::check_all(&[a, b]).is_err());
    }

    #[test]
    fn the_issue_time_in_milliseconds_comes_from_a_v7_jti() {
        let ts = uuid::Timestamp::from_unix(uuid::NoContext, 1_764_425_123, 456_000_000);
        let claims = VerifiedClaims {
            sub: String::new(),
            iat: 1_764_425_123,
            exp: 0,
            jti: uuid::Uuid::new_v7(ts).to_string(),
            sid: None,
        };
        assert_eq!(claims.issued_at_ms(), 1_764_425_123_456);
        let v4 = VerifiedClaims {
            jti: uuid::Uuid::new_v4().to_string(),
            ..claims
        };
        assert_eq!(v4.issued_at_ms(), 1_764_425_123_000);
    }

    #[test]
    fn dotted_claims_become_nested_objects() {
        let mut claims = Map::new();
        let m = ClaimMapper::parse("org.team.names", "constant:[\"x\"]").unwrap();
        m.apply(&mut claims, json!(["x"]));
        assert_eq!(
            Value::Object(claims),
            json!({ "org": { "team": { "names": ["x"] } } })
        );
    }
}
