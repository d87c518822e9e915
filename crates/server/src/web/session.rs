//! Sessions in the browser: the session cookie (HttpOnly, SameSite=Lax, Secure over https), the
//! `Viewer` extractor that turns it into a caller or sends the browser to the login page, CSRF
//! checks for forms, and the login and logout pages. Login failures count towards the same
//! per-address throttle as API authentication.

use axum::extract::{FromRequest, FromRequestParts, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use rand::Rng;
use serde::Deserialize;
use subtle::ConstantTimeEq;
use tessera_core::authn::Caller;

use super::forms::Fields;
use crate::client_addr::ClientAddr;
use crate::state::AppState;
use crate::web::query::UiQuery;

pub const SESSION_COOKIE: &str = "tessera_session";
const LOGIN_CSRF_COOKIE: &str = "tessera_login_csrf";

/// A logged-in user looking at a page.
pub struct Viewer {
    pub caller: Caller,
    secret: String,
    pub csrf: String,
}

impl Viewer {
    /// What every page's layout needs: who is logged in and the CSRF token for its forms.
    pub fn nav(&self, section: &str) -> Value {
        let user = self.caller.principal();
        let full_name = format!("{} {}", user.first_name, user.last_name)
            .trim()
            .to_string();
        context! {
            viewer => context! {
                user_name => user.user_name.as_str(),
                full_name => full_name,
                email => user.email.as_ref().map(|e| e.as_str().to_string()),
                roles => user.roles.iter().map(|r| r.as_str().to_string()).collect::<Vec<_>>(),
                is_admin => user.roles.contains(tessera_core::roles::Role::SysAdmin),
            },
            csrf => self.csrf.as_str(),
            section,
        }
    }

    /// The refusal (403) of a form whose CSRF token is not this session's; `None` when it is.
    pub fn csrf_refusal(&self, state: &AppState, presented: &str) -> Option<Response> {
        if state.sessions.csrf_matches(&self.secret, presented) {
            None
        } else {
            Some(state.templates.error(
                StatusCode::FORBIDDEN,
                "This form did not come from this session (or the session changed). Reload the page and try again.",
                self.nav(""),
            ))
        }
    }
}

/// A form posted by a logged-in user, its CSRF token checked: a token that is not the
/// session's is refused (403) before the handler runs.
pub struct Posted {
    pub viewer: Viewer,
    pub fields: Fields,
}

impl FromRequest<AppState> for Posted {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Posted, Response> {
        let (mut parts, body) = request.into_parts();
        let viewer = Viewer::from_request_parts(&mut parts, state).await?;
        let fields = Fields::from_request(Request::from_parts(parts, body), state).await?;
        match viewer.csrf_refusal(state, fields.get("csrf")) {
            Some(refused) => Err(refused),
            None => Ok(Posted { viewer, fields }),
        }
    }
}

/// The value of cookie `name`.
pub fn cookie<'a>(headers: &'a HeaderMap, name: &str) -> Option<&'a str> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| v)
}

fn set_cookie(state: &AppState, name: &str, value: &str, max_age: i64) -> HeaderValue {
    set_cookie_at(state, name, value, max_age, "/ui")
}

/// A `Set-Cookie` value for `path`: HttpOnly, SameSite=Lax, Secure when served over https.
pub(crate) fn set_cookie_at(
    state: &AppState,
    name: &str,
    value: &str,
    max_age: i64,
    path: &str,
) -> HeaderValue {
    let secure = if state.public_url.starts_with("https://") {
        "; Secure"
    } else {
        ""
    };
    let text =
        format!("{name}={value}; Path={path}; HttpOnly; SameSite=Lax; Max-Age={max_age}{secure}");
    HeaderValue::from_str(&text).unwrap_or_else(|_| HeaderValue::from_static(""))
}

impl FromRequestParts<AppState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Viewer, Response> {
        let to_login = || {
            let original = parts
                .extensions
                .get::<axum::extract::OriginalUri>()
                .map_or(&parts.uri, |o| &o.0);
            let next = original
                .path_and_query()
                .map_or("/ui/account", |p| p.as_str());
            let query = next_query("next", next);
            Redirect::to(&format!("/ui/login?{query}")).into_response()
        };
        let Some(secret) = cookie(&parts.headers, SESSION_COOKIE) else {
            return Err(to_login());
        };
        match state.sessions.resolve(secret).await {
            Ok(Some(mut caller)) => {
                caller.ip = Some(ClientAddr::of(parts));
                Ok(Viewer {
                    csrf: state.sessions.csrf_token(secret),
                    secret: secret.to_string(),
                    caller,
                })
            }
            Ok(None) => Err(to_login()),
            Err(error) => Err(state.templates.failure(&error, Value::UNDEFINED)),
        }
    }
}

/// `key=value` with the value percent-encoded (for the login page's `next`).
fn next_query(key: &str, value: &str) -> String {
    let mut out = format!("{key}=");
    for b in value.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' | b'/' => {
                out.push(b as char);
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// Only pages of the UI are places to go back to after logging in: a path under `/ui/` of
/// printable ASCII whose path part, percent-decoded as a browser or proxy may, holds no `.` or
/// `..` segment, no empty segment (`//`), no backslash and no encoded `/`, so that no
/// spelling (`/ui/..//evil`, `/ui/%2e%2e/x`, `/ui/%2F%2Fevil`, `/ui/\\evil`) resolves outside
/// `/ui/`. Anything else goes to the account page.
pub(crate) fn safe_next(next: &str) -> &str {
    if next.starts_with("/ui/") && next.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') {
        let path = next.split(['?', '#']).next().unwrap_or("");
        let decoded: Vec<u8> = percent_decode(path.as_bytes());
        let no_encoded_separator = !path.to_ascii_lowercase().contains("%2f")
            && !path.to_ascii_lowercase().contains("%5c")
            && !decoded.contains(&b'\\');
        let segments: Vec<&[u8]> = decoded.split(|b| *b == b'/').skip(1).collect();
        let segments_ok = segments.iter().enumerate().all(|(i, segment)| {
            *segment != b"."
                && *segment != b".."
                && (!segment.is_empty() || i + 1 == segments.len())
        });
        if no_encoded_separator && segments_ok && !decoded.contains(&b'%') {
            return next;
        }
    }
    "/ui/account"
}

/// `%XX` escapes decoded (an invalid escape is kept as it is).
fn percent_decode(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len());
    let mut i = 0;
    while i < raw.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        if raw[i] == b'%'
            && i + 2 < raw.len()
            && let (Some(h), Some(l)) = (hex(raw[i + 1]), hex(raw[i + 2]))
        {
            out.push((h * 16 + l) as u8);
            i += 3;
        } else {
            out.push(raw[i]);
            i += 1;
        }
    }
    out
}

#[derive(Deserialize)]
pub struct LoginQuery {
    next: Option<String>,
}

pub async fn login_page(
    State(state): State<AppState>,
    headers: HeaderMap,
    UiQuery(q): UiQuery<LoginQuery>,
) -> Response {
    if let Some(secret) = cookie(&headers, SESSION_COOKIE)
        && matches!(state.sessions.resolve(secret).await, Ok(Some(_)))
    {
        return Redirect::to(safe_next(q.next.as_deref().unwrap_or(""))).into_response();
    }
    login_form(
        &state,
        q.next.as_deref().unwrap_or(""),
        "",
        None,
        StatusCode::OK,
    )
    .await
}

/// Whether the login page shows the password form. With passwords switched off it is only the
/// break-glass administrator's path, so it is shown only when that account can actually sign in
/// with a password (exists, active, a SysAdmin, has one): a form that can accept no password is
/// a dead end (found by the third review of #17; the README promised this). It tells a visitor
/// only that some administrator can use a password, never which name.
async fn password_form(state: &AppState) -> bool {
    let settings = &state.sso.settings;
    if settings.local_login {
        return true;
    }
    match &settings.break_glass_admin {
        None => false,
        Some(name) => matches!(state.sso.service.break_glass_problem(name).await, Ok(None)),
    }
}

/// The login form with a fresh login CSRF token (double-submitted: cookie and field).
async fn login_form(
    state: &AppState,
    next: &str,
    user_name: &str,
    error: Option<&str>,
    status: StatusCode,
) -> Response {
    let token: String = {
        let mut rng = rand::rng();
        (0..32)
            .map(|_| format!("{:x}", rng.random_range(0..16u8)))
            .collect()
    };
    let password_form = password_form(state).await;
    let mut response = state.templates.page(
        status,
        "login.html",
        context! {
            login_csrf => token,
            next => safe_next(next),
            username => user_name,
            error,
            providers => state.sso.names(),
            local_login => state.sso.settings.local_login,
            password_form,
        },
    );
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(state, LOGIN_CSRF_COOKIE, &token, 3600),
    );
    response
}

pub async fn login(
    State(state): State<AppState>,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
    fields: Fields,
) -> Response {
    // A missing field is the UI's 400 page naming it (found by the third review of #17: the
    // JSON 422 of `axum::Form`).
    let form = match login_fields(&fields) {
        Ok(form) => form,
        Err(message) => {
            return state
                .templates
                .error(StatusCode::BAD_REQUEST, &message, Value::UNDEFINED);
        }
    };
    let next = form.next;
    let expected = cookie(&headers, LOGIN_CSRF_COOKIE).unwrap_or("");
    if expected.is_empty() || !bool::from(expected.as_bytes().ct_eq(form.csrf.as_bytes())) {
        return state.templates.error(
            StatusCode::FORBIDDEN,
            "The login form expired or did not come from Tessera. Reload the page and try again.",
            Value::UNDEFINED,
        );
    }
    // The attempt is counted before the password is checked, so that concurrent attempts
    // cannot all pass the limit; a correct password is forgiven below.
    if let Err(wait) = state.throttle.reserve_attempt(ip) {
        return too_many_failures(&state, wait);
    }
    // With passwords switched off, a name that is not the break-glass administrator is refused
    // exactly as a wrong password is: same status, same words, a hash verified (found by the
    // third review of #17: a 403 in 2 ms told the administrator's name from a 401 in 30 ms).
    if !state.sso.settings.password_allowed(form.username) {
        if let Err(error) = state
            .sessions
            .refuse_password(form.username.trim(), form.password)
            .await
        {
            state.throttle.forgive(ip);
            return state.templates.failure(&error, Value::UNDEFINED);
        }
        return wrong_password(&state, next, form.username.trim()).await;
    }
    match state
        .sessions
        .login(form.username.trim(), form.password, Some(ip))
        .await
    {
        Ok(Some(new)) => {
            state.throttle.forgive(ip);
            let mut response = Redirect::to(safe_next(next)).into_response();
            let max_age = (new.session.expires_at - new.session.created_at).num_seconds();
            let headers = response.headers_mut();
            headers.append(
                header::SET_COOKIE,
                set_cookie(&state, SESSION_COOKIE, new.secret.expose(), max_age),
            );
            headers.append(
                header::SET_COOKIE,
                set_cookie(&state, LOGIN_CSRF_COOKIE, "", 0),
            );
            response
        }
        Ok(None) => wrong_password(&state, next, form.username.trim()).await,
        Err(error) => {
            state.throttle.forgive(ip);
            // The API's mapping: text the database cannot hold (a NUL character) is the
            // visitor's 400, only a store failure a 5xx.
            state.templates.failure(&error, Value::UNDEFINED)
        }
    }
}

/// The fields of the login form.
struct LoginForm<'a> {
    csrf: &'a str,
    username: &'a str,
    password: &'a str,
    next: &'a str,
}

fn login_fields(fields: &Fields) -> Result<LoginForm<'_>, String> {
    Ok(LoginForm {
        csrf: fields.required("csrf")?,
        username: fields.required("username")?,
        password: fields.required("password")?,
        next: fields.get("next"),
    })
}

/// The refusal of a password attempt, whatever was wrong (401, the form again).
async fn wrong_password(state: &AppState, next: &str, user_name: &str) -> Response {
    state.metrics.refused();
    login_form(
        state,
        next,
        user_name,
        Some("Incorrect username or password."),
        StatusCode::UNAUTHORIZED,
    )
    .await
}

/// The page for an address over the failure throttle (SPEC section 9): 429 with
/// `Retry-After` in whole seconds; counted in the metrics, never audited (a flood must not
/// fill the audit log).
pub(crate) fn too_many_failures(state: &AppState, wait: std::time::Duration) -> Response {
    state.metrics.throttled();
    let secs = wait.as_secs().max(1);
    let mut page = state.templates.error(
        StatusCode::TOO_MANY_REQUESTS,
        &format!("Too many failed attempts from your address. Try again in {secs} s."),
        Value::UNDEFINED,
    );
    if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
        page.headers_mut().insert(header::RETRY_AFTER, v);
    }
    page
}

pub async fn logout(State(state): State<AppState>, Posted { viewer, .. }: Posted) -> Response {
    if let Err(error) = state.sessions.end(&viewer.caller).await {
        tracing::warn!(%error, "cannot end a session");
    }
    let mut response = Redirect::to("/ui/login").into_response();
    response.headers_mut().append(
        header::SET_COOKIE,
        set_cookie(&state, SESSION_COOKIE, "", 0),
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_pages_of_the_ui_are_returned_to() {
        assert_eq!(safe_next("/ui/account/api-key"), "/ui/account/api-key");
        assert_eq!(safe_next("/ui/admin/users/"), "/ui/admin/users/");
        assert_eq!(
            safe_next("/ui/admin/tokens?status=active&x=a//b"),
            "/ui/admin/tokens?status=active&x=a//b"
        );
        assert_eq!(safe_next("/ui/models/m.v1"), "/ui/models/m.v1");
        for outside in [
            "https://evil.example",
            "//evil.example",
            "/ui//evil.example",
            "/api/pat/v1/tokens",
            "/ui/\\evil",
            "/ui/\r\nSet-Cookie: x=1",
            "/ui/a b",
            "",
            "/ui/..//evil.example",
            "/ui/../x",
            "/ui/./account",
            "/ui/a/../../x",
            "/ui/%2e%2e/x",
            "/ui/%2E%2E//evil.example",
            "/ui/.%2e/x",
            "/ui/%2f%2fevil.example",
            "/ui/%2F/evil",
            "/ui/%5cevil",
            "/ui/%252e%252e/x",
            "/ui/a//b",
        ] {
            assert_eq!(safe_next(outside), "/ui/account", "{outside}");
        }
    }

    #[test]
    fn cookies_are_found_by_exact_name() {
        let mut headers = HeaderMap::new();
        headers.insert(
            header::COOKIE,
            HeaderValue::from_static("a=1; tessera_session=s; tessera_session_x=2"),
        );
        assert_eq!(cookie(&headers, SESSION_COOKIE), Some("s"));
        assert_eq!(cookie(&headers, "b"), None);
    }
}
