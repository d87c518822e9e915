//! Single sign-on, the domain part (SPEC section 10): what an identity provider asserted about a
//! person, the rules that turn its groups into roles and organisations, and the user name made
//! from its claim. The protocol (OIDC) lives in the server crate; nothing here speaks HTTP.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::names::{UserName, first_invisible, is_invisible};
use crate::roles::{Role, RoleSet};
use crate::services::sso::Refusal;

/// User attributes asserted by a provider: attribute name to the claim's JSON value (a string,
/// a number, a list...). Claim mappers read them with `source = "attribute:<name>"`.
pub type Attributes = BTreeMap<String, Value>;

/// How one provider's groups map onto Tessera (the `role_mapping` and `organization_mapping`
/// of its `[[sso.providers]]` entry).
#[derive(Clone, Debug, Default)]
pub struct ProviderRules {
    /// The provider's configured name: the audit actor (`sso:<name>`) and the link's key.
    pub name: String,
    /// Group name to role.
    pub role_mapping: BTreeMap<String, Role>,
    /// Group name to organisation name.
    pub organization_mapping: BTreeMap<String, String>,
}

impl ProviderRules {
    /// The default role plus the role of every mapped group: a person in no mapped group keeps
    /// only the default.
    pub fn roles_for(&self, groups: &[String]) -> RoleSet {
        let mut roles: BTreeSet<Role> = RoleSet::default_for_new_user().iter().collect();
        roles.extend(
            groups
                .iter()
                .filter_map(|g| self.role_mapping.get(g))
                .copied(),
        );
        RoleSet::new(roles)
    }

    /// Whether `group` is named by a mapping (of roles or of organisations): the only groups
    /// that change anything, so the only ones a sign-in reads.
    pub fn maps(&self, group: &str) -> bool {
        self.role_mapping.contains_key(group) || self.organization_mapping.contains_key(group)
    }

    /// The organisations named by the person's groups, sorted, without repeats.
    pub fn organizations_for(&self, groups: &[String]) -> Vec<String> {
        let names: BTreeSet<&String> = groups
            .iter()
            .filter_map(|g| self.organization_mapping.get(g))
            .collect();
        names.into_iter().cloned().collect()
    }
}

/// A user's link to an identity provider, as administrators see it (the admin user API's
/// `federatedIdentities`, after Keycloak's `FederatedIdentityRepresentation`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FederatedIdentity {
    /// The provider's configured name (`[[sso.providers]] name`).
    pub provider: String,
    /// The person's subject (`sub`) at the provider: stable, the key of the link.
    pub subject: String,
    /// The person's user name at the provider: the value of its `username_claim` at the last
    /// sign-in (the subject when the claim was missing). `None` for a link made before
    /// Tessera kept it, until the person signs in again.
    pub user_name: Option<String>,
}

/// What a provider asserted about the person signing in, read from a verified ID token (and
/// userinfo). Values are untrusted text until the sign-in service parses them.
#[derive(Clone, Debug, Default)]
pub struct Assertion {
    /// The provider's `sub`: stable, the key of the link to the Tessera user.
    pub subject: String,
    /// The value of `username_claim` (or the subject when the claim is absent).
    pub user_name: String,
    pub email: Option<String>,
    pub first_name: String,
    pub last_name: String,
    pub groups: Vec<String>,
    pub attributes: Attributes,
}

/// The most characters of a provider's `sub` (OpenID Connect Core §2: "MUST NOT exceed 255
/// ASCII characters"), of the user-name claim and of the e-mail claim (Keycloak's default
/// limit on an attribute value).
pub const MAX_CLAIM_CHARS: usize = 255;
/// The most characters of a first or last name, as a local profile holds.
pub const MAX_NAME_CHARS: usize = 128;
/// The most bytes of one attribute's value, written as JSON (a list of a few dozen names fits).
pub const MAX_ATTRIBUTE_BYTES: usize = 1024;
/// The most attributes one provider may map (`attributes` of its configuration).
pub const MAX_ATTRIBUTES: usize = 64;

/// Refuses a text claim longer than `max_chars` characters, or holding a control or invisible
/// character ([`first_invisible`]: NUL, line breaks, DEL, C1, U+2028, bidi overrides,
/// zero-width, filler and blank characters, variation selectors...), naming the claim: the same
/// rule as names typed into Tessera (`crate::names::parse_display_name`). A provider's oversized
/// or garbled value is refused rather than cut, stripped or dropped: a cut value would be
/// stored and put into JWTs as if the provider had said it, and a dropped one would silently
/// change what claim mappers hand to third parties (Keycloak refuses too).
pub fn check_text_claim(claim: &str, value: &str, max_chars: usize) -> Result<(), Refusal> {
    check_no_control(claim, value)?;
    if value.chars().count() > max_chars {
        return Err(Refusal::ClaimTooLong {
            claim: claim.to_string(),
            limit: format!("{max_chars} characters"),
        });
    }
    Ok(())
}

/// Refuses a claim whose text holds a control or invisible character ([`first_invisible`]),
/// naming the claim.
pub fn check_no_control(claim: &str, value: &str) -> Result<(), Refusal> {
    match first_invisible(value) {
        Some(code_point) => Err(Refusal::ClaimControlCharacter {
            claim: claim.to_string(),
            code_point,
        }),
        None => Ok(()),
    }
}

/// Refuses an attribute whose JSON value is longer than [`MAX_ATTRIBUTE_BYTES`], or holds a
/// control or invisible character ([`first_invisible`]) in any string or key at any depth,
/// naming the provider's claim.
pub fn check_attribute_claim(claim: &str, value: &Value) -> Result<(), Refusal> {
    fn control(value: &Value) -> Option<char> {
        match value {
            Value::String(s) => first_invisible(s),
            Value::Array(items) => items.iter().find_map(control),
            Value::Object(fields) => fields
                .iter()
                .find_map(|(k, v)| first_invisible(k).or_else(|| control(v))),
            _ => None,
        }
    }
    if let Some(code_point) = control(value) {
        return Err(Refusal::ClaimControlCharacter {
            claim: claim.to_string(),
            code_point,
        });
    }
    if value.to_string().len() > MAX_ATTRIBUTE_BYTES {
        return Err(Refusal::ClaimTooLong {
            claim: claim.to_string(),
            limit: format!("{MAX_ATTRIBUTE_BYTES} bytes of JSON"),
        });
    }
    Ok(())
}

/// The most characters of a provider's text quoted in a refusal (page and audit log), the
/// cut's marker included.
pub const MAX_QUOTED_CHARS: usize = 200;

/// A provider's text (an `error_description`, a verifier's message echoing a claim, an error
/// code of the token endpoint, a user name that could not be used) made fit to quote on a page
/// and in the audit log: control and invisible characters ([`is_invisible`]) removed,
/// trimmed, and cut to [`MAX_QUOTED_CHARS`] characters, the last of them an ellipsis (…)
/// when something was cut. Every refusal that can carry the provider's words goes through it.
pub fn quoted(text: &str) -> String {
    let clean: String = text.chars().filter(|c| !is_invisible(*c)).collect();
    let clean = clean.trim();
    if clean.chars().count() <= MAX_QUOTED_CHARS {
        return clean.to_string();
    }
    let mut cut: String = clean.chars().take(MAX_QUOTED_CHARS - 1).collect();
    cut.push('…');
    cut
}

/// A valid user name made from a provider's claim: lowercased, anything outside `[a-z0-9._-]`
/// (an e-mail's `@domain` included) replaced or cut, at most 60 characters so that a `-N` suffix
/// still fits; `None` when nothing usable is left.
pub fn user_name_from_claim(raw: &str) -> Option<UserName> {
    let local = raw.trim().split('@').next().unwrap_or("");
    let mut out = String::new();
    for c in local.to_lowercase().chars() {
        let keep = c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-');
        let c = if keep { c } else { '-' };
        if !(c == '-' && out.ends_with('-')) {
            out.push(c);
        }
    }
    let trimmed: String = out.trim_matches('-').chars().take(60).collect();
    UserName::parse("userName", &trimmed).ok()
}

/// The `n`-th candidate for a user name already taken: `name`, then `name-2`, `name-3`...
pub fn numbered(name: &UserName, n: u32) -> UserName {
    if n <= 1 {
        name.clone()
    } else {
        UserName::from_trusted(format!("{}-{n}", name.as_str()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_are_made_valid_from_any_claim() {
        let made = |raw: &str| user_name_from_claim(raw).map(|n| n.to_string());
        assert_eq!(
            made("Alice.Smith@corp.example").as_deref(),
            Some("alice.smith")
        );
        assert_eq!(made("Jörg Müller").as_deref(), Some("j-rg-m-ller"));
        assert_eq!(made("  bob  ").as_deref(), Some("bob"));
        assert_eq!(made("@@@"), None);
        assert_eq!(made("..."), None);
        assert_eq!(made(&"x".repeat(200)).map(|n| n.len()), Some(60));
    }

    #[test]
    fn groups_map_to_roles_and_organizations_and_no_group_leaves_the_default_role() {
        let rules = ProviderRules {
            name: "corp".into(),
            role_mapping: [("admins".to_string(), Role::SysAdmin)].into(),
            organization_mapping: [
                ("team-a".to_string(), "alpha".to_string()),
                ("team-a2".to_string(), "alpha".to_string()),
            ]
            .into(),
        };
        let groups = vec!["admins".to_string(), "team-a".into(), "team-a2".into()];
        assert!(rules.roles_for(&groups).contains(Role::SysAdmin));
        assert_eq!(rules.organizations_for(&groups), vec!["alpha".to_string()]);
        assert_eq!(rules.roles_for(&[]), RoleSet::default_for_new_user());
        assert!(rules.organizations_for(&["other".into()]).is_empty());
    }

    #[test]
    fn claims_over_their_bound_are_refused_naming_the_claim() {
        assert!(check_text_claim("sub", &"a".repeat(MAX_CLAIM_CHARS), MAX_CLAIM_CHARS).is_ok());
        // Characters, not bytes: 255 two-byte letters fit.
        assert!(check_text_claim("sub", &"é".repeat(MAX_CLAIM_CHARS), MAX_CLAIM_CHARS).is_ok());
        let refused = check_text_claim("sub", &"a".repeat(256), MAX_CLAIM_CHARS).unwrap_err();
        assert_eq!(refused.code(), "claim-too-long");
        assert!(refused.to_string().contains("\"sub\""), "{refused}");
        let big = Value::String("x".repeat(MAX_ATTRIBUTE_BYTES));
        let refused = check_attribute_claim("dept", &big).unwrap_err();
        assert!(refused.to_string().contains("\"dept\""), "{refused}");
        let fits = Value::String("x".repeat(MAX_ATTRIBUTE_BYTES - 2));
        assert!(check_attribute_claim("dept", &fits).is_ok());
    }

    #[test]
    fn control_characters_are_refused_in_text_and_at_any_depth_of_an_attribute() {
        for bad in ["a\0b", "line\nbreak", "del\u{7f}", "c1\u{85}", "\t"] {
            let refused = check_text_claim("sub", bad, MAX_CLAIM_CHARS).unwrap_err();
            assert_eq!(refused.code(), "claim-control-character", "{bad:?}");
            assert!(refused.to_string().contains("\"sub\""), "{refused}");
        }
        assert!(check_text_claim("sub", "Jörg Müller-Ünal", MAX_CLAIM_CHARS).is_ok());
        // Invisible format characters and the Unicode line separators, like control ones.
        for bad in [
            "a\u{2028}b",
            "a\u{2029}b",
            "evil\u{202E}txt",
            "zero\u{200B}width",
            "\u{200F}",
            "\u{202A}",
            "\u{2060}",
            "\u{2064}",
            "\u{2066}x\u{2069}",
            "bom\u{FEFF}",
            "soft\u{AD}hyphen",
            "tag\u{E0041}",
            "\u{3164}",
            "cgj\u{34F}",
            "vs\u{FE0F}",
            "blank\u{2800}",
            "vs\u{E0100}",
            "ad\u{200D}min",
        ] {
            let refused = check_text_claim("given_name", bad, MAX_NAME_CHARS).unwrap_err();
            assert_eq!(refused.code(), "claim-control-character", "{bad:?}");
            assert!(refused.to_string().contains("\"given_name\""), "{refused}");
        }
        assert!(check_text_claim("n", "日本語 — ‘quoted’ · Ærø", MAX_CLAIM_CHARS).is_ok());
        let refused = check_attribute_claim("dept", &serde_json::json!({ "k": ["\u{202E}"] }));
        assert_eq!(refused.unwrap_err().code(), "claim-control-character");
        for bad in [
            serde_json::json!("x\0"),
            serde_json::json!(["ok", "n\0"]),
            serde_json::json!({ "k": ["v\u{1}"] }),
            serde_json::json!({ "k\0": 1 }),
        ] {
            let refused = check_attribute_claim("dept", &bad).unwrap_err();
            assert_eq!(refused.code(), "claim-control-character", "{bad}");
        }
        assert!(check_attribute_claim("dept", &serde_json::json!({ "k": [1, "v"] })).is_ok());
    }

    #[test]
    fn quoted_provider_text_is_clean_and_at_most_the_bound_marker_included() {
        assert_eq!(quoted(" a\0b\r\nc\u{202E}d\u{200B}e\u{2028} "), "abcde");
        let long = quoted(&"d".repeat(60_000));
        assert_eq!(long.chars().count(), MAX_QUOTED_CHARS);
        assert!(long.ends_with('…'));
        let fits = "é".repeat(MAX_QUOTED_CHARS);
        assert_eq!(quoted(&fits), fits);
        assert_eq!(
            quoted(&format!("{fits}x")).chars().count(),
            MAX_QUOTED_CHARS
        );
    }

    #[test]
    fn taken_names_get_a_number() {
        let name = UserName::from_trusted("ann".into());
        assert_eq!(numbered(&name, 1).as_str(), "ann");
        assert_eq!(numbered(&name, 3).as_str(), "ann-3");
    }
}
