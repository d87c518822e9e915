//! `[sso]` and `[[sso.providers]]` of the TOML file (SPEC section 10), checked once at start:
//! names usable in the callback path, `https://` issuers (or loopback), a client secret from
//! the file or beside it, roles that exist.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;
use tessera_core::names::UserName;
use tessera_core::roles::Role;
use tessera_core::sso::{MAX_ATTRIBUTES, ProviderRules};

use crate::config::ConfigError;

/// The `[sso]` section as written.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SsoSection {
    local_login: Option<bool>,
    break_glass_admin: Option<String>,
    #[serde(default)]
    providers: Vec<ProviderSection>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct ProviderSection {
    name: String,
    issuer: String,
    client_id: String,
    client_secret: Option<String>,
    client_secret_file: Option<PathBuf>,
    scopes: Option<Vec<String>>,
    username_claim: Option<String>,
    groups_claim: Option<String>,
    #[serde(default)]
    attributes: BTreeMap<String, String>,
    #[serde(default)]
    role_mapping: BTreeMap<String, String>,
    #[serde(default)]
    organization_mapping: BTreeMap<String, String>,
}

/// One identity provider, checked.
#[derive(Clone)]
pub struct ProviderConfig {
    /// `[a-z0-9_-]`, 1-32 characters: shown as "Sign in with <name>", part of the callback path.
    pub name: String,
    /// Exactly as configured (a trailing slash kept: Auth0's issuer is
    /// `https://<tenant>.auth0.com/`): OIDC Discovery §4.3 and OIDC Core §3.1.3.7 step 2 compare
    /// the discovery document's `issuer` and the ID token's `iss` with it as strings. Discovery
    /// is at `<issuer without its trailing slash>/.well-known/openid-configuration`.
    pub issuer: String,
    pub client_id: String,
    /// Never logged (see the `Debug` impl).
    pub client_secret: String,
    /// Always includes `openid`.
    pub scopes: Vec<String>,
    pub username_claim: String,
    pub groups_claim: String,
    /// Tessera attribute name to the provider's claim name.
    pub attributes: BTreeMap<String, String>,
    pub rules: ProviderRules,
}

impl std::fmt::Debug for ProviderConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProviderConfig")
            .field("name", &self.name)
            .field("issuer", &self.issuer)
            .field("client_id", &self.client_id)
            .field("client_secret", &"***")
            .finish_non_exhaustive()
    }
}

/// The single sign-on settings, checked.
#[derive(Clone, Debug)]
pub struct SsoSettings {
    /// Whether the password form is offered to everyone (default `true`).
    pub local_login: bool,
    /// The one account that may still use a password when `local_login` is `false`.
    pub break_glass_admin: Option<UserName>,
    pub providers: Vec<ProviderConfig>,
    /// How long a provider's failed discovery (or key set) is remembered and answered again
    /// without a fetch: [`super::oidc::REFETCH_AT_MOST_EVERY`] (10 s). Not in the TOML file;
    /// tests that change a provider's behaviour between flows shorten it.
    pub remember_failed_discovery: std::time::Duration,
}

impl Default for SsoSettings {
    fn default() -> SsoSettings {
        SsoSettings {
            local_login: true,
            break_glass_admin: None,
            providers: Vec::new(),
            remember_failed_discovery: super::oidc::REFETCH_AT_MOST_EVERY,
        }
    }
}

impl SsoSettings {
    /// Whether `user_name` may sign in with a password.
    pub fn password_allowed(&self, user_name: &str) -> bool {
        self.local_login
            || self
                .break_glass_admin
                .as_ref()
                .is_some_and(|admin| admin.as_str() == user_name.trim().to_lowercase())
    }

    /// With providers configured, the redirect URI registered at each provider is
    /// `<public_url>/ui/sso/<name>/callback`. Without `public_url` it would be built from the
    /// listen address: refused when that address is unspecified (`0.0.0.0`, `::`: no browser can
    /// be sent there; GitLab likewise requires `external_url`, Keycloak a hostname), and
    /// `Ok(Some(warning))` otherwise (a loopback or fixed address may be right for development,
    /// rarely behind a proxy).
    pub fn check_public_url(
        &self,
        public_url_given: bool,
        listen: std::net::SocketAddr,
    ) -> Result<Option<String>, ConfigError> {
        if self.providers.is_empty() || public_url_given {
            return Ok(None);
        }
        if listen.ip().is_unspecified() {
            return Err(ConfigError::Invalid(format!(
                "public_url: required with [[sso.providers]] when listening on {listen}: the redirect URI registered at the identity provider is <public_url>/ui/sso/<name>/callback, and {listen} is no address a browser can be sent to (set public_url, e.g. \"https://tessera.example.com\")"
            )));
        }
        Ok(Some(format!(
            "public_url is not set: the redirect URI of each identity provider is built from the listen address (http://{listen}/ui/sso/<name>/callback); set public_url to the address browsers use"
        )))
    }

    /// `public_url` is a base address: it may not have user-info (`https://u:p@host`), a query
    /// (`https://host/?x=1`) or a fragment (`https://host/#x`), with or without providers (every
    /// link, the realm's issuer and the redirect URIs are built by appending a path to it), and
    /// the error names which of them it has (found by the fourth review of #17: a query was
    /// called "a path", and `https://host?x=1` was accepted).
    ///
    /// With providers configured it may not have a path either (`https://host/tessera`): the
    /// UI's cookies (the session and the flow's, `Path=/ui...`) and its redirects are rooted at
    /// `/`, so behind a proxy that strips a prefix the browser would never send the flow cookie
    /// back to `<public_url>/ui/sso/<name>/callback` and every sign-in would fail as `no-flow`
    /// (found by the third review of #17).
    pub fn check_public_url_shape(&self, public_url: &str) -> Result<(), ConfigError> {
        let refused =
            |what: String| ConfigError::Invalid(format!("public_url: {public_url:?} {what}"));
        let url =
            reqwest::Url::parse(public_url).map_err(|e| refused(format!("is not a URL ({e})")))?;
        if !url.username().is_empty() || url.password().is_some() {
            // Not quoted: what is before '@' may be a password.
            return Err(ConfigError::Invalid(
                "public_url: has user-info (a name or password before '@'); give the address browsers use, such as \"https://tessera.example.com\", with no credentials in it".into(),
            ));
        }
        if let Some(query) = url.query() {
            return Err(refused(format!(
                "has a query ({:?}); a base address has none: Tessera appends paths to it (e.g. <public_url>/ui/sso/<name>/callback)",
                format!("?{query}")
            )));
        }
        if let Some(fragment) = url.fragment() {
            return Err(refused(format!(
                "has a fragment ({:?}); a base address has none: Tessera appends paths to it (e.g. <public_url>/ui/sso/<name>/callback)",
                format!("#{fragment}")
            )));
        }
        if self.providers.is_empty() {
            return Ok(());
        }
        // The session and flow cookies are `Secure` only over https: over plain http to a
        // host other than loopback they would travel in clear (found by the fifth review).
        let host = url.host_str().unwrap_or("");
        if url.scheme() == "http" && !is_loopback(host) {
            return Err(refused(format!(
                "is plain http:// on {host:?}, which is not a loopback host: with [[sso.providers]] the sign-in's cookies must be Secure, so browsers must reach Tessera over https (e.g. \"https://tessera.example.com\"); plain http is only for a loopback host (development)"
            )));
        }
        let path = url.path();
        if path.trim_end_matches('/').is_empty() {
            return Ok(());
        }
        Err(refused(format!(
            "has a path ({path:?}); with [[sso.providers]] Tessera must be served at the root of its address (the web UI's cookies and the callback <public_url>/ui/sso/<name>/callback are under /ui), e.g. \"https://tessera.example.com\""
        )))
    }

    /// Every attribute name some provider asserts (claim mappers may read them).
    pub fn attribute_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .providers
            .iter()
            .flat_map(|p| p.attributes.keys().cloned())
            .collect();
        names.sort();
        names.dedup();
        names
    }

    pub fn provider(&self, name: &str) -> Option<&ProviderConfig> {
        self.providers.iter().find(|p| p.name == name)
    }

    /// Checks the section as written.
    pub fn parse(section: SsoSection) -> Result<SsoSettings, ConfigError> {
        let mut providers: Vec<ProviderConfig> = Vec::new();
        for p in section.providers {
            let provider = provider(p)?;
            if providers.iter().any(|q| q.name == provider.name) {
                return Err(invalid(&provider.name, "a second provider has this name"));
            }
            providers.push(provider);
        }
        let local_login = section.local_login.unwrap_or(true);
        let break_glass_admin = section
            .break_glass_admin
            .map(|name| {
                UserName::parse("break_glass_admin", &name)
                    .map_err(|e| ConfigError::Invalid(format!("sso.{e}")))
            })
            .transpose()?;
        if !local_login && providers.is_empty() {
            return Err(ConfigError::Invalid(
                "sso.local_login = false needs at least one [[sso.providers]]: nobody could sign in"
                    .into(),
            ));
        }
        Ok(SsoSettings {
            local_login,
            break_glass_admin,
            providers,
            ..SsoSettings::default()
        })
    }
}

fn invalid(name: &str, message: &str) -> ConfigError {
    ConfigError::Invalid(format!("sso.providers {name:?}: {message}"))
}

fn provider(p: ProviderSection) -> Result<ProviderConfig, ConfigError> {
    let name = p.name;
    let name_ok = (1..=32).contains(&name.len())
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '-' | '_'));
    if !name_ok {
        return Err(invalid(
            &name,
            "the name must be 1-32 lowercase letters, digits, '-' or '_' (it is part of the callback path)",
        ));
    }
    let issuer = p.issuer.trim().to_string();
    check_issuer(&issuer).map_err(|m| invalid(&name, &m))?;
    if p.client_id.is_empty() {
        return Err(invalid(&name, "client_id must not be empty"));
    }
    let client_secret = match (p.client_secret, p.client_secret_file) {
        (Some(secret), None) => secret,
        (None, Some(path)) => std::fs::read_to_string(&path)
            .map_err(|e| {
                invalid(
                    &name,
                    &format!("cannot read client_secret_file {path:?}: {e}"),
                )
            })?
            .trim()
            .to_string(),
        (Some(_), Some(_)) => {
            return Err(invalid(
                &name,
                "give client_secret or client_secret_file, not both",
            ));
        }
        (None, None) => {
            return Err(invalid(
                &name,
                "client_secret or client_secret_file is required",
            ));
        }
    };
    if client_secret.is_empty() {
        return Err(invalid(&name, "the client secret is empty"));
    }
    let mut scopes = p
        .scopes
        .unwrap_or_else(|| vec!["openid".into(), "profile".into(), "email".into()]);
    if !scopes.iter().any(|s| s == "openid") {
        scopes.insert(0, "openid".into());
    }
    if scopes.iter().any(|s| s.is_empty() || s.contains(' ')) {
        return Err(invalid(
            &name,
            "scopes must be non-empty words without spaces",
        ));
    }
    if p.attributes.len() > MAX_ATTRIBUTES {
        return Err(invalid(
            &name,
            &format!("at most {MAX_ATTRIBUTES} attributes may be mapped"),
        ));
    }
    for attribute in p.attributes.keys() {
        let ok = !attribute.is_empty()
            && attribute
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if !ok {
            return Err(invalid(
                &name,
                &format!("attribute name {attribute:?} must be letters, digits, '_', '-' or '.'"),
            ));
        }
        // A claim mapper's `attribute:roles` reads Tessera's own value: an attribute of that
        // name would be stored but never reach a JWT (found by the third review of #17).
        if tessera_core::realm::claims::BUILT_IN_ATTRIBUTES.contains(&attribute.as_str()) {
            return Err(invalid(
                &name,
                &format!(
                    "attribute name {attribute:?} is one of Tessera's own user attributes ({}); choose another name",
                    tessera_core::realm::claims::BUILT_IN_ATTRIBUTES.join(", ")
                ),
            ));
        }
    }
    let username_claim = p
        .username_claim
        .unwrap_or_else(|| "preferred_username".into());
    let groups_claim = p.groups_claim.unwrap_or_else(|| "groups".into());
    check_claim_name("username_claim", &username_claim).map_err(|m| invalid(&name, &m))?;
    check_claim_name("groups_claim", &groups_claim).map_err(|m| invalid(&name, &m))?;
    for (attribute, claim) in &p.attributes {
        if claim.trim().is_empty() {
            return Err(invalid(
                &name,
                &format!("attribute {attribute:?} must name a claim (it is empty)"),
            ));
        }
    }
    let mut role_mapping = BTreeMap::new();
    for (group, role) in &p.role_mapping {
        let role = Role::parse("role_mapping", role)
            .map_err(|e| invalid(&name, &format!("group {group:?}: {}", e.message)))?;
        role_mapping.insert(group.clone(), role);
    }
    // The organisations a sign-in creates follow the rule of those an administrator creates
    // (1-100 characters, nothing invisible), checked here rather than at someone's sign-in.
    let mut organization_mapping = BTreeMap::new();
    for (group, org) in p.organization_mapping {
        let org = tessera_core::services::organizations::parse_name(&org).map_err(|e| {
            invalid(
                &name,
                &format!(
                    "organization_mapping {group:?}: the organisation name {}",
                    e.message
                ),
            )
        })?;
        organization_mapping.insert(group, org);
    }
    Ok(ProviderConfig {
        rules: ProviderRules {
            name: name.clone(),
            role_mapping,
            organization_mapping,
        },
        name,
        issuer,
        client_id: p.client_id,
        client_secret,
        scopes,
        username_claim,
        groups_claim,
        attributes: p.attributes,
    })
}

/// `https://`, or `http://` on a loopback host (development and tests) — SPEC section 10 —
/// with no user-info, query or fragment (OIDC Discovery §2 and §4.3: the issuer is a URL
/// "with no query or fragment components", and discovery appends a path to it). User-info is
/// never repeated: it may hold a password (found by the fifth review of #17: all three were
/// accepted at start).
fn check_issuer(issuer: &str) -> Result<(), String> {
    if issuer.contains('@') {
        let url = reqwest::Url::parse(issuer).ok();
        if url.is_none_or(|u| !u.username().is_empty() || u.password().is_some()) {
            return Err("issuer has user-info (a name or password before '@'); the issuer is the provider's address, such as \"https://idp.example.com\", with no credentials in it".into());
        }
    }
    let url =
        reqwest::Url::parse(issuer).map_err(|e| format!("issuer {issuer:?} is not a URL ({e})"))?;
    if let Some(query) = url.query() {
        return Err(format!(
            "issuer {issuer:?} has a query ({:?}); OpenID Connect Discovery forbids one (the discovery document is at <issuer>/.well-known/openid-configuration)",
            format!("?{query}")
        ));
    }
    if let Some(fragment) = url.fragment() {
        return Err(format!(
            "issuer {issuer:?} has a fragment ({:?}); OpenID Connect Discovery forbids one (the discovery document is at <issuer>/.well-known/openid-configuration)",
            format!("#{fragment}")
        ));
    }
    let host = url.host_str().unwrap_or("");
    match url.scheme() {
        "https" if !host.is_empty() => Ok(()),
        "http" if is_loopback(host) => Ok(()),
        "http" => Err(format!(
            "issuer {issuer:?} must be https:// (plain http is only for a loopback host)"
        )),
        _ => Err(format!("issuer {issuer:?} must be an https:// URL")),
    }
}

/// A claim name read from the provider's answers: an empty (or blank) one names no claim, so
/// that the setting would silently read nothing.
fn check_claim_name(setting: &str, claim: &str) -> Result<(), String> {
    if claim.trim().is_empty() {
        return Err(format!(
            "{setting} must name a claim (it is empty); leave it out for the default"
        ));
    }
    Ok(())
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host == "localhost"
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SsoSettings, ConfigError> {
        #[derive(Deserialize)]
        struct File {
            sso: SsoSection,
        }
        let file: File = toml::from_str(text).map_err(|e| ConfigError::Invalid(e.to_string()))?;
        SsoSettings::parse(file.sso)
    }

    const GOOD: &str = r#"
[sso]
local_login = false
break_glass_admin = "Admin"
[[sso.providers]]
name = "corp"
issuer = "https://idp.example.com/"
client_id = "tessera"
client_secret = "s3cret"
scopes = ["profile", "groups"]
attributes = { department = "department" }
role_mapping = { "data-admins" = "sysadmin" }
organization_mapping = { "team-churn" = "churn" }
"#;

    #[test]
    fn providers_need_a_public_url_unless_the_listen_address_is_a_real_one() {
        let sso = parse(GOOD).unwrap();
        let any: std::net::SocketAddr = "0.0.0.0:8080".parse().unwrap();
        let any6: std::net::SocketAddr = "[::]:8080".parse().unwrap();
        let loopback: std::net::SocketAddr = "127.0.0.1:8080".parse().unwrap();
        for listen in [any, any6] {
            let refused = sso.check_public_url(false, listen).unwrap_err().to_string();
            assert!(refused.contains("public_url"), "{refused}");
        }
        let warning = sso.check_public_url(false, loopback).unwrap().unwrap();
        assert!(warning.contains("public_url"), "{warning}");
        assert_eq!(sso.check_public_url(true, any).unwrap(), None);
        assert_eq!(
            SsoSettings::default().check_public_url(false, any).unwrap(),
            None,
            "no provider, no redirect URI"
        );
    }

    #[test]
    fn a_provider_is_read_with_its_defaults_and_mappings() {
        let sso = parse(GOOD).unwrap();
        let corp = sso.provider("corp").unwrap();
        assert_eq!(
            corp.issuer, "https://idp.example.com/",
            "kept as configured"
        );
        assert_eq!(corp.scopes, ["openid", "profile", "groups"]);
        assert_eq!(corp.username_claim, "preferred_username");
        assert_eq!(corp.rules.role_mapping["data-admins"], Role::SysAdmin);
        assert_eq!(sso.attribute_names(), ["department"]);
        assert!(sso.password_allowed("admin"));
        assert!(!sso.password_allowed("alice"));
        assert!(!format!("{corp:?}").contains("s3cret"));
    }

    #[test]
    fn bad_providers_are_named_with_what_is_wrong() {
        let many_attributes = (0..=MAX_ATTRIBUTES)
            .map(|i| format!("a{i} = \"c{i}\""))
            .collect::<Vec<_>>()
            .join(", ");
        let long_org = format!("= \"{}\"", "o".repeat(101));
        for (change, expected) in [
            (
                ("https://idp.example.com/", "http://idp.example.com"),
                "must be https://",
            ),
            (
                ("name = \"corp\"", "name = \"Corp Inc\""),
                "lowercase letters",
            ),
            (("\"sysadmin\"", "\"Overlord\""), "unknown role"),
            (
                ("department = \"department\"", many_attributes.as_str()),
                "at most 64 attributes",
            ),
            (
                ("client_secret = \"s3cret\"", ""),
                "client_secret or client_secret_file",
            ),
            (
                ("department = \"department\"", "roles = \"groups\""),
                "\"roles\" is one of Tessera's own",
            ),
            (
                ("department = \"department\"", "kind = \"k\""),
                "\"kind\" is one of Tessera's own",
            ),
            (
                ("department = \"department\"", "userName = \"u\""),
                "\"userName\" is one of Tessera's own",
            ),
            // The organisations a mapping creates follow the rule of organisation names.
            (
                ("= \"churn\"", "= \"ch\\u200Burn\""),
                "organization_mapping \"team-churn\": the organisation name must not contain control characters or invisible characters",
            ),
            (
                ("= \"churn\"", "= \" \""),
                "organization_mapping \"team-churn\": the organisation name must not be empty",
            ),
            (
                ("= \"churn\"", long_org.as_str()),
                "the organisation name must be at most 100 characters",
            ),
        ] {
            let text = GOOD.replace(change.0, change.1);
            let error = parse(&text)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(error.contains(expected), "{change:?}: {error}");
        }
    }

    #[test]
    fn with_providers_the_public_url_has_no_path() {
        let sso = parse(GOOD).unwrap();
        assert!(sso.check_public_url_shape("https://t.example.com").is_ok());
        assert!(
            sso.check_public_url_shape("https://t.example.com:8443/")
                .is_ok()
        );
        let refused = sso
            .check_public_url_shape("https://t.example.com/tessera")
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("public_url") && refused.contains("\"/tessera\""),
            "{refused}"
        );
        assert!(
            SsoSettings::default()
                .check_public_url_shape("https://t.example.com/tessera")
                .is_ok(),
            "no provider, no callback"
        );
    }

    /// Found by the fourth review of #17: `https://host/?x=1` was refused as having "a path",
    /// and `https://host?x=1` was accepted. Each part is named as what it is, with or without
    /// providers.
    #[test]
    fn a_public_url_with_a_query_a_fragment_or_user_info_is_refused_naming_which() {
        let sso = parse(GOOD).unwrap();
        for settings in [&sso, &SsoSettings::default()] {
            for (url, says, part) in [
                ("https://t.example.com/?x=1", "has a query", "\"?x=1\""),
                ("https://t.example.com?x=1", "has a query", "\"?x=1\""),
                ("https://t.example.com/?", "has a query", "\"?\""),
                ("https://t.example.com/#top", "has a fragment", "\"#top\""),
                ("https://t.example.com#", "has a fragment", "\"#\""),
                ("https://ann:s3cret@t.example.com", "has user-info", "'@'"),
                ("https://ann@t.example.com", "has user-info", "'@'"),
            ] {
                let refused = settings
                    .check_public_url_shape(url)
                    .unwrap_err()
                    .to_string();
                assert!(
                    refused.starts_with("public_url: ")
                        && refused.contains(says)
                        && refused.contains(part),
                    "{url}: {refused}"
                );
                assert!(!refused.contains("has a path"), "{url}: {refused}");
                assert!(!refused.contains("s3cret"), "never repeated: {refused}");
            }
        }
        let refused = sso
            .check_public_url_shape("https://t.example.com/tessera?x=1")
            .unwrap_err()
            .to_string();
        assert!(
            refused.contains("has a query"),
            "the query first: {refused}"
        );
        assert!(sso.check_public_url_shape("http://[::1]:8080/").is_ok());
    }

    /// Found by the fifth review: OIDC Discovery forbids a query or fragment in an issuer, and
    /// user-info in it may be a password: each is refused at start, naming which, never
    /// repeating the user-info.
    #[test]
    fn an_issuer_with_user_info_a_query_or_a_fragment_is_refused_naming_which() {
        for (issuer, says) in [
            ("https://u:s3cret@idp.example.com", "has user-info"),
            ("https://s3cret@idp.example.com", "has user-info"),
            ("http://u:s3cret@127.0.0.1:9000", "has user-info"),
            ("https://idp.example.com/?x=1", "has a query (\"?x=1\")"),
            ("https://idp.example.com?", "has a query (\"?\")"),
            ("https://idp.example.com/#f", "has a fragment (\"#f\")"),
            ("https://idp.example.com#", "has a fragment (\"#\")"),
        ] {
            let error = check_issuer(issuer).unwrap_err();
            assert!(error.contains(says), "{issuer}: {error}");
            assert!(!error.contains("s3cret"), "never repeated: {error}");
            let text = GOOD.replace("https://idp.example.com/", issuer);
            let error = parse(&text)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(error.contains(says), "{issuer}: {error}");
            assert!(!error.contains("s3cret"), "never repeated: {error}");
        }
        for issuer in [
            "https://idp.example.com",
            "https://idp.example.com/",
            "https://idp.example.com/realms/corp",
            "https://login.example.com/tenant@corp/v2.0",
        ] {
            assert_eq!(check_issuer(issuer), Ok(()), "{issuer}");
        }
    }

    /// Found by the fifth review: an empty claim name was accepted and read nothing.
    #[test]
    fn an_empty_claim_name_is_refused_naming_the_setting() {
        for (setting, line) in [
            ("username_claim", "username_claim = \"\""),
            ("groups_claim", "groups_claim = \" \""),
        ] {
            let text = GOOD.replace(
                "client_id = \"tessera\"",
                &format!("client_id = \"tessera\"\n{line}"),
            );
            let error = parse(&text)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(
                error.contains(&format!("{setting} must name a claim")),
                "{setting}: {error}"
            );
        }
        let text = GOOD.replace("department = \"department\"", "department = \"\"");
        let error = parse(&text)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(
            error.contains("attribute \"department\" must name a claim"),
            "{error}"
        );
        let text = GOOD.replace(
            "client_id = \"tessera\"",
            "client_id = \"tessera\"\nusername_claim = \"email\"\ngroups_claim = \"roles\"",
        );
        let sso = parse(&text).unwrap();
        assert_eq!(sso.providers[0].username_claim, "email");
        assert_eq!(sso.providers[0].groups_claim, "roles");
    }

    /// Found by the fifth review: with providers, a plain-http public_url on another host than
    /// loopback took `Secure` off the session and flow cookies.
    #[test]
    fn with_providers_a_plain_http_public_url_is_for_loopback_only() {
        let sso = parse(GOOD).unwrap();
        for url in [
            "http://tessera.example.com",
            "http://10.0.0.5:8080/",
            "http://[2001:db8::1]:8080",
        ] {
            let refused = sso.check_public_url_shape(url).unwrap_err().to_string();
            assert!(
                refused.contains("plain http://") && refused.contains("not a loopback host"),
                "{url}: {refused}"
            );
        }
        for url in [
            "http://127.0.0.1:8080",
            "http://localhost:8080/",
            "http://[::1]:8080",
            "https://tessera.example.com",
        ] {
            assert!(sso.check_public_url_shape(url).is_ok(), "{url}");
        }
        assert!(
            SsoSettings::default()
                .check_public_url_shape("http://tessera.example.com")
                .is_ok(),
            "no provider: no sign-in cookie to protect here"
        );
    }

    #[test]
    fn plain_http_is_allowed_on_loopback_only() {
        assert!(check_issuer("http://127.0.0.1:9000").is_ok());
        assert!(check_issuer("http://localhost:9000").is_ok());
        assert!(check_issuer("http://[::1]:9000").is_ok());
        assert!(check_issuer("http://10.0.0.1:9000").is_err());
    }

    #[test]
    fn switching_passwords_off_needs_a_provider() {
        let error = parse("[sso]\nlocal_login = false\n")
            .err()
            .map(|e| e.to_string());
        assert!(error.unwrap_or_default().contains("at least one"));
    }
}
