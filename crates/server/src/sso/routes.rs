//! The pages of the sign-in flow. `/ui/sso/<name>/login` sets a short-lived cookie (scoped to
//! the provider's callback path) and sends the browser to the provider; the callback checks
//! `state` against that cookie, lets the relying party verify the provider's answer, then signs
//! the person in. Every refusal is a page a person understands, and is audited.

use std::net::IpAddr;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use minijinja::Value as Page;
use rand::Rng;
use serde::Deserialize;
use serde_json::{Map, Value};
use subtle::ConstantTimeEq;
use tessera_core::services::sso::Refusal;
use tessera_core::sso::{
    Assertion, Attributes, MAX_CLAIM_CHARS, MAX_NAME_CHARS, check_attribute_claim,
    check_text_claim, quoted,
};

use super::config::ProviderConfig;
use super::oidc::{FlowSecrets, OidcError};
use crate::client_addr::ClientAddr;
use crate::state::AppState;
use crate::web::query::UiQuery;
use crate::web::session::{SESSION_COOKIE, cookie, safe_next, set_cookie_at, too_many_failures};

/// The cookie that binds a flow to the browser that started it.
const FLOW_COOKIE: &str = "tessera_sso";
/// How long a person has at the provider before the flow expires.
const FLOW_SECS: i64 = 600;
/// How much longer than the flow the record of a finished flow is kept: freshness is judged in
/// whole seconds by each node's own clock, so the record must outlive the last instant any node
/// could still take the cookie as fresh (found by the review of #17: a replay one second after
/// expiry reached the provider again).
const REPLAY_MARGIN_SECS: i64 = 300;

/// Mounted under `/ui` (so inside the UI's headers and CSP).
pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/sso/{name}/login", get(start))
        .route("/sso/{name}/callback", get(callback))
}

fn cookie_path(name: &str) -> String {
    format!("/ui/sso/{name}/")
}

#[derive(Deserialize)]
struct StartQuery {
    next: Option<String>,
}

/// `GET /ui/sso/<name>/login`: anyone; starts a flow.
/// The longest `next` (bytes) carried through a sign-in.
const MAX_NEXT_BYTES: usize = 1024;

async fn start(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    Path(name): Path<String>,
    UiQuery(q): UiQuery<StartQuery>,
) -> Response {
    let Some(provider) = state.sso.provider(&name) else {
        return not_found(&state);
    };
    // Starting a flow guesses no credential: it is never refused by the failure throttle (a
    // person behind the same address as an attacker must still be able to sign in). A start
    // that fails (the provider unreachable) counts as a failure of the address, in `refuse`.
    begin(&state, provider, ip, &name, q).await
}

async fn begin(
    state: &AppState,
    provider: &super::oidc::OidcProvider,
    ip: IpAddr,
    name: &str,
    q: StartQuery,
) -> Response {
    let random: [u8; 32] = rand::rng().random();
    // The page to return to rides in the cookie: a long one would push the cookie past what
    // browsers keep (4 KiB), so it falls back to the account page.
    let wanted = q.next.as_deref().filter(|n| n.len() <= MAX_NEXT_BYTES);
    let next = URL_SAFE_NO_PAD.encode(safe_next(wanted.unwrap_or("")));
    let now = chrono::Utc::now().timestamp();
    let value = format!("{}.{now}.{next}", URL_SAFE_NO_PAD.encode(random));
    let flow = FlowSecrets::from_cookie(&provider.config.name, &value);
    match provider.authorization_url(&flow).await {
        Ok(url) => {
            let mut response = Redirect::to(&url).into_response();
            response.headers_mut().append(
                header::SET_COOKIE,
                set_cookie_at(state, FLOW_COOKIE, &value, FLOW_SECS, &cookie_path(name)),
            );
            response
        }
        Err(error) => refuse_failure(state, name, ip, &error).await,
    }
}

#[derive(Deserialize)]
struct CallbackQuery {
    code: Option<String>,
    state: Option<String>,
    error: Option<String>,
    error_description: Option<String>,
    /// The provider's issuer (RFC 9207), compared with the discovery document's.
    iss: Option<String>,
}

/// `GET /ui/sso/<name>/callback`: the provider sends the browser back here.
async fn callback(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    Path(name): Path<String>,
    headers: HeaderMap,
    UiQuery(q): UiQuery<CallbackQuery>,
) -> Response {
    let Some(provider) = state.sso.provider(&name) else {
        return not_found(&state);
    };
    // Only refused callbacks count as failed sign-ins of the address (in `refuse`), in the
    // same throttle as passwords (SPEC section 9). Past the limit, a callback is answered with
    // the 429 page unless its `state` is the flow of the browser presenting it: that one cannot
    // be forged by someone else (found by the third review of #17: 62 forged callbacks from an
    // address shut out a genuine sign-in from it), so it goes on and is refused only if it fails.
    // But an address can start flows of its own and present them with forged codes, each a
    // token request with Tessera's client credentials (found by the fourth review): past the
    // limit, such a code exchange is made at most once per `EXCHANGE_EVERY` (10 s) unless the previous
    // one signed someone in, the others answered 429 without a request to the provider (and
    // with the flow left unspent, so the person can present it again after the wait).
    let own = own_flow(&name, &headers, &q);
    let exchanges_code = q.error.is_none() && q.code.as_deref().is_some_and(|c| !c.is_empty());
    let (mut response, spent) = match state.throttle.over_limit(ip) {
        Some(_) if !own => {
            let wait = state
                .throttle
                .record_failure(ip)
                .unwrap_or(std::time::Duration::from_secs(1));
            (too_many_failures(&state, wait), false)
        }
        Some(_) if exchanges_code => match state.throttle.reserve_exchange(ip) {
            Err(wait) => (too_many_failures(&state, wait), false),
            Ok(()) => {
                let response = finish(&state, provider, ip, &headers, q).await;
                if response.status() == StatusCode::SEE_OTHER {
                    state.throttle.release_exchange(ip);
                }
                (response, true)
            }
        },
        _ => (finish(&state, provider, ip, &headers, q).await, own),
    };
    // A flow this callback spent is over, whatever its outcome: its cookie cannot be used
    // twice. A stale or garbled cookie goes too. Any other callback leaves the cookie alone
    // (found by the fourth review: a forged link opened by a person cleared the cookie of the
    // sign-in they had in progress, breaking it).
    let stale = cookie(&headers, FLOW_COOKIE).is_some_and(|v| !fresh(v));
    if spent || stale {
        response.headers_mut().append(
            header::SET_COOKIE,
            set_cookie_at(&state, FLOW_COOKIE, "", 0, &cookie_path(&name)),
        );
    }
    response
}

/// The flow cookie of this browser, when it is well formed and younger than the flow.
fn flow_cookie(headers: &HeaderMap) -> Option<&str> {
    cookie(headers, FLOW_COOKIE).filter(|v| fresh(v))
}

/// Whether the callback's `state` is the one of the flow this browser started (compared in
/// constant time).
fn state_matches(flow: &FlowSecrets, q: &CallbackQuery) -> bool {
    let presented = q.state.as_deref().unwrap_or("");
    presented.len() == flow.state.len()
        && bool::from(presented.as_bytes().ct_eq(flow.state.as_bytes()))
}

/// Whether the callback belongs to a fresh flow of `provider` that the browser presenting it
/// started.
fn own_flow(provider: &str, headers: &HeaderMap, q: &CallbackQuery) -> bool {
    flow_cookie(headers)
        .is_some_and(|value| state_matches(&FlowSecrets::from_cookie(provider, value), q))
}

async fn finish(
    state: &AppState,
    provider: &super::oidc::OidcProvider,
    ip: IpAddr,
    headers: &HeaderMap,
    q: CallbackQuery,
) -> Response {
    let name = provider.config.name.as_str();
    let Some(value) = flow_cookie(headers) else {
        return refuse(state, name, ip, "no-flow", format!(
            "This sign-in did not start in this browser, or took longer than {} minutes. Start again from the login page.",
            FLOW_SECS / 60
        )).await;
    };
    let flow = FlowSecrets::from_cookie(name, value);
    if !state_matches(&flow, &q) {
        return refuse(
            state,
            name,
            ip,
            "state-mismatch",
            "This sign-in answer does not belong to the sign-in this browser started (state mismatch). Start again from the login page.".into(),
        )
        .await;
    }
    // One answer per flow, on every node: from here on the flow is spent, whether the
    // provider's answer is then accepted or not, so the same callback cannot be tried again.
    let expires = started_at(value)
        .and_then(|at| chrono::DateTime::from_timestamp(at + FLOW_SECS + REPLAY_MARGIN_SECS, 0))
        .unwrap_or_else(chrono::Utc::now);
    match state.sso.service.finish_flow(&flow.state, expires).await {
        Ok(true) => {}
        Ok(false) => {
            return refuse(
                state,
                name,
                ip,
                "replayed",
                "This sign-in answer was already used once (a replay). Start again from the login page.".into(),
            )
            .await;
        }
        Err(error) => return unavailable(state, &error),
    }
    // RFC 9207: an answer (success or error) naming another issuer may be another provider's,
    // sent here by a mix-up attack; refused before anything is asked of the provider.
    if let Err(error) = provider.check_issuer(q.iss.as_deref()).await {
        return refuse_failure(state, name, ip, &error).await;
    }
    if let Some(error) = q.error.as_deref() {
        let (reason, message) = if error == "access_denied" {
            (
                "access-denied",
                format!(
                    "You did not allow Tessera to use your {name} account (access denied). To sign in, start again and accept."
                ),
            )
        } else {
            // Both come from the query string, so from anyone: only an RFC 6749 error code is
            // quoted, and the description is cut and cleaned before it reaches the page or
            // the audit log.
            let detail = quoted(q.error_description.as_deref().unwrap_or(""));
            (
                "provider-error",
                format!(
                    "The identity provider {name} refused the sign-in: {}. {detail}",
                    error_code(error)
                ),
            )
        };
        return refuse(state, name, ip, reason, message).await;
    }
    let Some(code) = q.code.as_deref().filter(|c| !c.is_empty()) else {
        return refuse(
            state,
            name,
            ip,
            "no-code",
            "The identity provider sent no sign-in code. Start again from the login page.".into(),
        )
        .await;
    };
    let claims = match provider.finish(code, &flow).await {
        Ok(claims) => claims,
        Err(error) => {
            return refuse_failure(state, name, ip, &error).await;
        }
    };
    let assertion = match assertion(&provider.config, &claims) {
        Ok(assertion) => assertion,
        Err(refusal) => {
            // The subject, when it is itself acceptable, tells an administrator whose sign-in
            // it was.
            let about = Assertion {
                subject: claims
                    .get("sub")
                    .and_then(Value::as_str)
                    .filter(|s| check_text_claim("sub", s, MAX_CLAIM_CHARS).is_ok())
                    .unwrap_or_default()
                    .to_string(),
                ..Assertion::default()
            };
            return refuse_about(state, name, ip, refusal.code(), refusal.to_string(), &about)
                .await;
        }
    };
    let signed_in = match state
        .sso
        .service
        .sign_in(&provider.config.rules, &assertion, Some(ip))
        .await
    {
        Ok(Ok(signed_in)) => signed_in,
        Ok(Err(refusal)) => {
            let status = match refusal {
                Refusal::NoUserName(_)
                | Refusal::ClaimTooLong { .. }
                | Refusal::ClaimControlCharacter { .. }
                | Refusal::ClaimWrongType { .. } => StatusCode::BAD_REQUEST,
                Refusal::EmailTaken(_) | Refusal::Deactivated => StatusCode::FORBIDDEN,
            };
            return state
                .templates
                .error(status, &refusal.to_string(), Page::UNDEFINED);
        }
        Err(error) => return unavailable(state, &error),
    };
    state.realm.forget_principal(signed_in.user.id);
    let session = match state
        .sessions
        .open(&signed_in.user, Some(ip), Some(name))
        .await
    {
        Ok(session) => session,
        Err(error) => return unavailable(state, &error),
    };
    let next = value
        .rsplit('.')
        .next()
        .and_then(|n| URL_SAFE_NO_PAD.decode(n).ok())
        .and_then(|n| String::from_utf8(n).ok())
        .unwrap_or_default();
    let mut response = Redirect::to(safe_next(&next)).into_response();
    let max_age = (session.session.expires_at - session.session.created_at).num_seconds();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie_at(
            state,
            SESSION_COOKIE,
            session.secret.expose(),
            max_age,
            "/ui",
        ),
    );
    response
}

/// The longest `error` code quoted.
const MAX_ERROR_CHARS: usize = 64;

/// A provider's `error` as an RFC 6749 §4.1.2.1 code (`%x20-21 / %x23-5B / %x5D-7E`, short),
/// or a placeholder for anything else.
fn error_code(error: &str) -> &str {
    let safe = !error.is_empty()
        && error.len() <= MAX_ERROR_CHARS
        && error
            .bytes()
            .all(|b| matches!(b, 0x20..=0x21 | 0x23..=0x5B | 0x5D..=0x7E));
    if safe {
        error
    } else {
        "an unreadable error code"
    }
}

/// When a well-formed flow cookie's flow started (seconds since the epoch).
fn started_at(value: &str) -> Option<i64> {
    let mut parts = value.split('.');
    let (Some(random), Some(at), Some(_next), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return None;
    };
    (random.len() == 43).then(|| at.parse().ok()).flatten()
}

/// Whether a flow cookie is well formed and younger than the flow's lifetime.
fn fresh(value: &str) -> bool {
    started_at(value)
        .is_some_and(|at| (0..=FLOW_SECS).contains(&(chrono::Utc::now().timestamp() - at)))
}

/// Whether `email_verified` (OIDC Core §5.1, a boolean) leaves the address usable: absent (many
/// providers never send it), `true`, or the text `"true"` in any case (AWS Cognito's userinfo
/// sends booleans as strings). Anything else — `false`, `"false"`, `null`, a number — fails
/// closed: an address the provider may not have verified never reaches a user or a JWT.
fn email_not_unverified(claim: Option<&Value>) -> bool {
    match claim {
        None => true,
        Some(Value::Bool(verified)) => *verified,
        Some(Value::String(text)) => text.trim().eq_ignore_ascii_case("true"),
        Some(_) => false,
    }
}

/// What the provider asserted, read from its verified claims with the provider's claim names.
/// A claim over its bound (`tessera_core::sso::MAX_CLAIM_CHARS` and its neighbours) or holding
/// a control character (in any claim Tessera stores or matches: `sub`, the user-name claim,
/// e-mail, names, attributes, groups) refuses the sign-in, naming the claim: nothing oversized
/// or garbled is stored, audited or put into a JWT. A JSON number is read as its decimal text.
fn assertion(config: &ProviderConfig, claims: &Map<String, Value>) -> Result<Assertion, Refusal> {
    let text = |key: &str, max: usize| -> Result<String, Refusal> {
        let value = match claims.get(key) {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        check_text_claim(key, &value, max)?;
        Ok(value)
    };
    let subject = text("sub", MAX_CLAIM_CHARS)?;
    // An empty (or blank) user-name claim is no claim: the user name comes from the subject.
    let user_name = Some(text(&config.username_claim, MAX_CLAIM_CHARS)?)
        .filter(|u| !u.trim().is_empty())
        .unwrap_or_else(|| subject.clone());
    // An address is used unless the provider says it is unverified, nor a blank one.
    let email = Some(text("email", MAX_CLAIM_CHARS)?)
        .filter(|e| !e.trim().is_empty())
        .filter(|_| email_not_unverified(claims.get("email_verified")));
    // Groups are only matched against the mappings, never stored: only the groups a mapping
    // names are kept (so a group Tessera does not use, whatever it holds, changes nothing and
    // refuses nothing). A groups claim of another type than a list of strings (or one string)
    // is refused, not read as "no groups", which would take the person's roles away.
    let wrong_type = || Refusal::ClaimWrongType {
        claim: config.groups_claim.clone(),
        expected: "a list of group names (JSON strings)",
    };
    let groups: Vec<String> = match claims.get(&config.groups_claim) {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::String(one)) => vec![one.clone()],
        Some(Value::Array(items)) => items
            .iter()
            .map(|g| g.as_str().map(str::to_string))
            .collect::<Option<Vec<String>>>()
            .ok_or_else(wrong_type)?,
        Some(_) => return Err(wrong_type()),
    };
    let groups: Vec<String> = groups
        .into_iter()
        .filter(|g| config.rules.maps(g))
        .collect();
    let mut attributes = Attributes::new();
    for (attribute, claim) in &config.attributes {
        if let Some(value) = claims.get(claim).filter(|v| !v.is_null()) {
            check_attribute_claim(claim, value)?;
            attributes.insert(attribute.clone(), value.clone());
        }
    }
    Ok(Assertion {
        subject,
        user_name,
        email,
        first_name: text("given_name", MAX_NAME_CHARS)?,
        last_name: text("family_name", MAX_NAME_CHARS)?,
        groups,
        attributes,
    })
}

/// The page's words for a failure of the provider (logged once where it happened, in
/// [`super::oidc`]): unreachable or misconfigured (start again later, or an administrator's
/// problem), the code refused, or an answer that could not be verified. What the provider or
/// the verifier said (which may echo a claim of any size) is [`quoted`]: bounded and clean on
/// the page and in the audit log.
fn provider_failure(name: &str, error: &OidcError) -> String {
    match error {
        // The callback that failed is spent (reloading it is a replay): the way back is a new
        // flow (found by the fifth review of #17: "Try again in a moment" led to `replayed`).
        OidcError::Unreachable(_) => format!(
            "Tessera cannot reach the identity provider {name} right now. In a moment, start again from the login page; if it persists, tell an administrator."
        ),
        OidcError::Misconfigured(detail) => format!(
            "Tessera's settings for the identity provider {name} do not match it: {}. Signing in with {name} cannot work until an administrator corrects them. Tell an administrator.",
            quoted(detail)
        ),
        OidcError::ClientRefused(what) => format!(
            "The identity provider {name} refused Tessera's request ({}): Tessera's client settings for it are wrong. Tell an administrator.",
            quoted(what)
        ),
        OidcError::IssuerMismatch(detail) => format!(
            "This sign-in answer does not come from the identity provider {name} ({}). Start again from the login page.",
            quoted(detail)
        ),
        OidcError::CodeRefused(_) => format!(
            "The identity provider {name} refused this sign-in code: it was already used or has expired. Start again from the login page."
        ),
        OidcError::InvalidIdToken(detail) | OidcError::InvalidAnswer(detail) => format!(
            "The identity provider's answer could not be verified ({}). Start again; if it persists, tell an administrator.",
            quoted(detail)
        ),
    }
}

/// [`refuse`] for a failure of the provider ([`provider_failure`]'s words, its audit reason).
async fn refuse_failure(state: &AppState, name: &str, ip: IpAddr, error: &OidcError) -> Response {
    refuse(state, name, ip, error.code(), provider_failure(name, error)).await
}

/// An audited refusal page: 502 when the provider is unreachable or Tessera's settings for it
/// do not match it, else 400 (403 for a denial).
async fn refuse(
    state: &AppState,
    provider: &str,
    ip: IpAddr,
    reason: &str,
    message: String,
) -> Response {
    refuse_about(state, provider, ip, reason, message, &Assertion::default()).await
}

/// [`refuse`], with the subject (and user name) the refusal concerns when they are known.
async fn refuse_about(
    state: &AppState,
    provider: &str,
    ip: IpAddr,
    reason: &str,
    message: String,
    about: &Assertion,
) -> Response {
    // Every refusal counts as a failed sign-in of the address; past the limit it is no longer
    // audited one by one (a flood must not fill the audit log), only counted in the metrics.
    if state.throttle.record_failure(ip).is_none()
        && let Err(error) = state
            .sso
            .service
            .refused_because(provider, reason, &message, about, Some(ip))
            .await
    {
        tracing::warn!(%error, "cannot audit a refused sign-in");
    }
    state.metrics.refused();
    let status = match reason {
        "provider-unreachable" | "provider-misconfigured" => StatusCode::BAD_GATEWAY,
        "access-denied" => StatusCode::FORBIDDEN,
        _ => StatusCode::BAD_REQUEST,
    };
    let mut page = state.templates.error(status, &message, Page::UNDEFINED);
    if status == StatusCode::BAD_GATEWAY {
        // The provider's failure was logged once where it happened (`id_token::log_failure`);
        // a remembered one is answered again without a new line per request.
        page.extensions_mut().insert(crate::envelope::CauseLogged);
    }
    page
}

fn unavailable(state: &AppState, error: &dyn std::fmt::Display) -> Response {
    tracing::warn!(%error, "cannot complete a single sign-on");
    state.templates.error(
        StatusCode::SERVICE_UNAVAILABLE,
        "Tessera cannot reach its database right now. Try again in a moment.",
        Page::UNDEFINED,
    )
}

fn not_found(state: &AppState) -> Response {
    state.templates.error(
        StatusCode::NOT_FOUND,
        "There is no such identity provider.",
        Page::UNDEFINED,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ProviderConfig {
        let text = r#"
[[providers]]
name = "corp"
issuer = "https://idp.example.com"
client_id = "tessera"
client_secret = "x"
attributes = { department = "dept" }
role_mapping = { "admins" = "SysAdmin" }
organization_mapping = { "team-a" = "alpha" }
"#;
        let section: super::super::SsoSection = toml::from_str(text).unwrap();
        super::super::SsoSettings::parse(section)
            .unwrap()
            .providers
            .remove(0)
    }

    #[test]
    fn claims_become_an_assertion_with_the_configured_names() {
        let claims = serde_json::json!({
            "sub": "abc", "preferred_username": "Ann", "email": "ann@x.example",
            "groups": ["admins", "unmapped \u{200B}", "team-a"], "dept": "Sales", "given_name": "Ann"
        });
        let a = assertion(&config(), claims.as_object().unwrap()).unwrap();
        assert_eq!(a.subject, "abc");
        assert_eq!(a.user_name, "Ann");
        assert_eq!(a.groups, ["admins", "team-a"], "only the mapped groups");
        assert_eq!(a.attributes["department"], "Sales");
        assert_eq!(a.email.as_deref(), Some("ann@x.example"));
    }

    /// Found by the fifth review: a groups claim of another type was read as "no groups", which
    /// took the person's mapped roles (and so their PATs) away.
    #[test]
    fn a_groups_claim_of_another_type_refuses_the_sign_in_naming_it() {
        for groups in [
            serde_json::json!(5),
            serde_json::json!({ "a": 1 }),
            serde_json::json!(["admins", 5]),
            serde_json::json!(["admins", null]),
            serde_json::json!(true),
        ] {
            let claims = serde_json::json!({ "sub": "abc", "groups": groups });
            let refused = assertion(&config(), claims.as_object().unwrap()).unwrap_err();
            assert_eq!(refused.code(), "claim-wrong-type", "{groups}");
            assert!(refused.to_string().contains("\"groups\""), "{refused}");
        }
        for (groups, kept) in [
            (serde_json::json!(null), vec![]),
            (serde_json::json!("admins"), vec!["admins"]),
            (serde_json::json!([]), vec![]),
        ] {
            let claims = serde_json::json!({ "sub": "abc", "groups": groups });
            let a = assertion(&config(), claims.as_object().unwrap()).unwrap();
            assert_eq!(a.groups, kept, "{groups}");
        }
    }

    /// Found by the fourth review: `"false"` as a string (AWS Cognito) counted as verified.
    #[test]
    fn an_email_is_used_only_when_the_provider_does_not_say_it_is_unverified() {
        for (verified, used) in [
            (None, true),
            (Some(serde_json::json!(true)), true),
            (Some(serde_json::json!("true")), true),
            (Some(serde_json::json!("TRUE")), true),
            (Some(serde_json::json!(false)), false),
            (Some(serde_json::json!("false")), false),
            (Some(serde_json::json!("False")), false),
            (Some(serde_json::json!("no")), false),
            (Some(serde_json::json!(null)), false),
            (Some(serde_json::json!(0)), false),
            (Some(serde_json::json!(1)), false),
        ] {
            let mut claims = serde_json::json!({ "sub": "abc", "email": "a@x.example" });
            if let Some(verified) = &verified {
                claims["email_verified"] = verified.clone();
            }
            let a = assertion(&config(), claims.as_object().unwrap()).unwrap();
            assert_eq!(a.email.is_some(), used, "email_verified: {verified:?}");
        }
    }

    #[test]
    fn an_unverified_email_is_ignored_and_a_missing_user_name_falls_back_to_the_subject() {
        let claims =
            serde_json::json!({ "sub": "abc", "email": "a@x.example", "email_verified": false });
        let a = assertion(&config(), claims.as_object().unwrap()).unwrap();
        assert_eq!(a.email, None);
        assert_eq!(a.user_name, "abc");
    }

    #[test]
    fn an_oversized_claim_refuses_the_sign_in_naming_the_claim() {
        let long = "x".repeat(MAX_CLAIM_CHARS + 1);
        for (claim, value) in [
            ("sub", serde_json::json!(long)),
            ("preferred_username", serde_json::json!(long)),
            ("email", serde_json::json!(long)),
            (
                "given_name",
                serde_json::json!("x".repeat(MAX_NAME_CHARS + 1)),
            ),
            ("dept", serde_json::json!(vec!["y"; 300])),
        ] {
            let mut claims = serde_json::json!({ "sub": "abc" });
            claims[claim] = value;
            let refused = assertion(&config(), claims.as_object().unwrap()).unwrap_err();
            assert_eq!(refused.code(), "claim-too-long");
            assert!(
                refused.to_string().contains(&format!("{claim:?}")),
                "{refused}"
            );
        }
    }

    #[test]
    fn a_providers_error_is_quoted_only_as_a_code() {
        assert_eq!(error_code("server_error"), "server_error");
        for bad in ["", "a\"b", "a\\b", "é", "x\ny", &"e".repeat(65)] {
            assert_eq!(error_code(bad), "an unreadable error code", "{bad:?}");
        }
    }

    #[test]
    fn a_verifiers_message_echoing_a_huge_claim_is_quoted_bounded() {
        let error = OidcError::InvalidIdToken(format!("bad aud {}\u{202E}", "a".repeat(60_000)));
        let page = provider_failure("corp", &error);
        assert!(page.chars().count() < 400, "{} chars", page.chars().count());
        assert!(page.contains("aaa…)"), "{page}");
        assert!(!page.contains('\u{202E}'));
        let error = OidcError::ClientRefused("x".repeat(10_000));
        assert!(provider_failure("corp", &error).chars().count() < 400);
    }

    #[test]
    fn only_well_formed_recent_flow_cookies_are_fresh() {
        let now = chrono::Utc::now().timestamp();
        let random = "a".repeat(43);
        assert!(fresh(&format!("{random}.{now}.")));
        assert!(!fresh(&format!("{random}.{}.", now - FLOW_SECS - 1)));
        assert!(!fresh(&format!("short.{now}.")));
        assert!(!fresh("garbage"));
    }
}
