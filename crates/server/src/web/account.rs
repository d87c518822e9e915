//! Account settings: the profile, the Personal Access Token panel (list with status badges, the
//! three-dot menu with Revoke and Delete, revoke all and delete all, Generate new Token with the
//! value shown once) and the legacy API key page. Every action calls the same services as the
//! JSON API, so the same rules hold.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;
use tessera_core::ids::CredentialId;
use tessera_core::model::{Credential, TokenStatus};
use tessera_core::services::ServiceError;
use tessera_core::services::pats::NewPat;
use tessera_core::store::CredentialFilter;

use super::pager::{PAGE_SIZE, PageParams, pager};
use super::session::{Posted, Viewer};
use crate::state::AppState;
use crate::web::query::UiQuery;

#[derive(Deserialize)]
pub struct Done {
    done: Option<String>,
}

/// What the user just did, said once at the top of the page.
fn notice(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "revoked" => "Token revoked.",
        "deleted" => "Token deleted.",
        "revoked-all" => "All of your tokens are revoked.",
        "deleted-all" => "All of your tokens are deleted.",
        "profile" => "Profile saved.",
        _ => return None,
    })
}

fn day(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%b %-d, %Y").to_string()
}

pub(super) fn token_row(c: &Credential, now: chrono::DateTime<chrono::Utc>) -> Value {
    let status = c.status(now);
    let (badge, class) = match status {
        TokenStatus::Revoked => (Some("Revoked"), "revoked"),
        TokenStatus::Expired => (Some("Expired"), "expired"),
        TokenStatus::ExpiringSoon => (Some("Expiring Soon"), "expiring"),
        TokenStatus::Active => (None, ""),
    };
    context! {
        id => c.id.to_string(),
        name => c.name.as_str(),
        description => c.description.as_str(),
        last_used => c.last_used_at.map(|t| t.format("%b %-d, %Y %H:%M UTC").to_string()),
        badge,
        badge_class => class,
        expires => c.expires_at.map_or_else(|| "never".to_string(), day),
        revocable => matches!(status, TokenStatus::Active | TokenStatus::ExpiringSoon),
    }
}

/// The form's state: what was typed and what is wrong with it, per field.
#[derive(Default)]
struct PatForm {
    name: String,
    description: String,
    expires_in: Option<i64>,
    errors: Vec<(&'static str, String)>,
}

impl PatForm {
    fn value(&self) -> Value {
        let errors: std::collections::BTreeMap<&str, &str> = self
            .errors
            .iter()
            .map(|(f, m)| {
                let field = if *f == "expiresIn" { "expires_in" } else { *f };
                (field, m.as_str())
            })
            .collect();
        context! {
            name => self.name.as_str(),
            description => self.description.as_str(),
            errors => Value::from_serialize(&errors),
        }
    }
}

async fn account_page(
    state: &AppState,
    viewer: &Viewer,
    form: &PatForm,
    created: Option<Value>,
    notice: Option<&str>,
    status: StatusCode,
) -> Response {
    account_page_with(
        state,
        viewer,
        form,
        created,
        notice,
        Shown::default(),
        status,
    )
    .await
}

/// What the account page shows besides the token form: the profile form as typed, with its
/// errors, after a refusal; which page of tokens.
#[derive(Default)]
struct Shown {
    profile: Option<Value>,
    page: PageParams,
}

/// The account page; `profile` is the profile form as typed, with its errors, after a refusal.
async fn account_page_with(
    state: &AppState,
    viewer: &Viewer,
    form: &PatForm,
    created: Option<Value>,
    notice: Option<&str>,
    shown: Shown,
    status: StatusCode,
) -> Response {
    let user = viewer.caller.principal();
    let profile = shown.profile.unwrap_or_else(|| {
        context! {
            first_name => user.first_name.as_str(),
            last_name => user.last_name.as_str(),
            errors => Value::from_serialize(std::collections::BTreeMap::<&str, &str>::new()),
        }
    });
    let listed = async {
        let after = shown
            .page
            .cursor(|raw| CredentialFilter::default().decode_cursor(raw))?;
        let (listed, total) = tokio::try_join!(
            state.pats.own_page(&viewer.caller, after, 0, PAGE_SIZE),
            state.pats.own_count(&viewer.caller),
        )?;
        let pager = pager(
            "/ui/account",
            &[],
            &shown.page,
            listed.items.len(),
            listed.next.as_ref(),
            total,
        );
        Ok::<_, ServiceError>((listed.items, pager))
    };
    let (tokens, pager) = match listed.await {
        Ok(found) => found,
        Err(error) => return failure(state, viewer, &error),
    };
    // The names of a user who signs in with a provider are the provider's (refreshed at each
    // sign-in): shown, not editable.
    let names_from = match state.users.own_federated_identities(&viewer.caller).await {
        Ok(links) => links.into_iter().next().map(|link| link.provider),
        Err(error) => return failure(state, viewer, &error),
    };
    let now = state.pats.now();
    let policy = state.pats.policy();
    let chosen = form.expires_in.unwrap_or(policy.default_secs);
    let expirations: Vec<Value> = policy
        .options()
        .into_iter()
        .map(|secs| {
            context! { secs, label => format!("{} days", secs / 86_400), selected => secs == chosen }
        })
        .collect();
    let rows: Vec<Value> = tokens.iter().map(|c| token_row(c, now)).collect();
    state.templates.page(
        status,
        "account.html",
        context! {
            tokens => rows,
            pager,
            profile,
            names_from,
            stored => context! {
                first_name => user.first_name.as_str(),
                last_name => user.last_name.as_str(),
            },
            expirations,
            form => form.value(),
            created,
            notice,
            ..viewer.nav("account")
        },
    )
}

/// A refusal by a service, as a page: see [`Templates::failure`](super::render::Templates::failure).
pub fn failure(state: &AppState, viewer: &Viewer, error: &ServiceError) -> Response {
    state.templates.failure(error, viewer.nav(""))
}

pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    UiQuery(q): UiQuery<Done>,
    UiQuery(page): UiQuery<PageParams>,
) -> Response {
    let form = PatForm::default();
    let shown = Shown {
        page,
        ..Shown::default()
    };
    account_page_with(
        &state,
        &viewer,
        &form,
        None,
        notice(q.done.as_deref()),
        shown,
        StatusCode::OK,
    )
    .await
}

pub async fn generate(
    State(state): State<AppState>,
    Posted { viewer, fields: f }: Posted,
) -> Response {
    let mut form = PatForm {
        name: f.get("name").to_string(),
        description: f.get("description").to_string(),
        ..PatForm::default()
    };
    match f.optional("expires_in") {
        None => {}
        Some(raw) => match raw.parse::<i64>() {
            Ok(secs) => form.expires_in = Some(secs),
            Err(_) => form
                .errors
                .push(("expires_in", format!("{raw:?} is not a number of seconds"))),
        },
    }
    let request = match NewPat::parse(
        f.get("name").trim(),
        f.optional("description"),
        form.expires_in,
    ) {
        Ok(request) => Some(request),
        Err(e) => {
            form.errors.push((e.field, e.message));
            None
        }
    };
    let created = match request {
        Some(request) if form.errors.is_empty() => {
            match state.pats.create(&viewer.caller, request).await {
                Ok((credential, secret)) => Some(context! {
                    name => credential.name.as_str(),
                    token => secret.into_exposed(),
                }),
                Err(ServiceError::Invalid(e)) => {
                    form.errors.push((e.field, e.message));
                    None
                }
                Err(ServiceError::Conflict(m)) => {
                    form.errors.push(("name", m));
                    None
                }
                Err(error) => return failure(&state, &viewer, &error),
            }
        }
        _ => None,
    };
    if created.is_some() {
        let blank = PatForm::default();
        return account_page(&state, &viewer, &blank, created, None, StatusCode::CREATED).await;
    }
    account_page(&state, &viewer, &form, None, None, StatusCode::BAD_REQUEST).await
}

fn token_id(raw: &str) -> Option<CredentialId> {
    CredentialId::parse(raw)
}

pub async fn revoke(
    State(state): State<AppState>,

    Path(raw): Path<String>,
    Posted { viewer, .. }: Posted,
) -> Response {
    let Some(id) = token_id(&raw) else {
        return failure(&state, &viewer, &ServiceError::NotFound("token"));
    };
    match state.pats.revoke_own(&viewer.caller, id).await {
        Ok(_) => Redirect::to("/ui/account?done=revoked").into_response(),
        Err(error) => failure(&state, &viewer, &error),
    }
}

pub async fn delete(
    State(state): State<AppState>,

    Path(raw): Path<String>,
    Posted { viewer, .. }: Posted,
) -> Response {
    let Some(id) = token_id(&raw) else {
        return failure(&state, &viewer, &ServiceError::NotFound("token"));
    };
    match state.pats.delete_own(&viewer.caller, id).await {
        Ok(()) => Redirect::to("/ui/account?done=deleted").into_response(),
        Err(error) => failure(&state, &viewer, &error),
    }
}

pub async fn revoke_all(State(state): State<AppState>, Posted { viewer, .. }: Posted) -> Response {
    match state.pats.revoke_all_own(&viewer.caller).await {
        Ok(_) => Redirect::to("/ui/account?done=revoked-all").into_response(),
        Err(error) => failure(&state, &viewer, &error),
    }
}

pub async fn delete_all(State(state): State<AppState>, Posted { viewer, .. }: Posted) -> Response {
    match state.pats.delete_all_own(&viewer.caller).await {
        Ok(_) => Redirect::to("/ui/account?done=deleted-all").into_response(),
        Err(error) => failure(&state, &viewer, &error),
    }
}

pub async fn api_key(State(state): State<AppState>, viewer: Viewer) -> Response {
    state
        .templates
        .page(StatusCode::OK, "api_key.html", viewer.nav("api-key"))
}

pub async fn regenerate_api_key(
    State(state): State<AppState>,
    Posted { viewer, .. }: Posted,
) -> Response {
    match state.api_keys.regenerate(&viewer.caller).await {
        Ok(secret) => state.templates.page(
            StatusCode::CREATED,
            "api_key.html",
            context! { created => secret.into_exposed(), ..viewer.nav("api-key") },
        ),
        Err(error) => failure(&state, &viewer, &error),
    }
}

pub async fn save_profile(
    State(state): State<AppState>,
    Posted { viewer, fields: f }: Posted,
) -> Response {
    match state
        .users
        .update_own_name(&viewer.caller, f.get("first_name"), f.get("last_name"))
        .await
    {
        Ok(_) => Redirect::to("/ui/account?done=profile").into_response(),
        Err(ServiceError::Invalid(e)) => {
            let errors: std::collections::BTreeMap<&str, String> =
                [(e.field, e.message)].into_iter().collect();
            let profile = context! {
                first_name => f.get("first_name"),
                last_name => f.get("last_name"),
                errors => Value::from_serialize(&errors),
            };
            let form = PatForm::default();
            account_page_with(
                &state,
                &viewer,
                &form,
                None,
                None,
                Shown {
                    profile: Some(profile),
                    ..Shown::default()
                },
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(error) => failure(&state, &viewer, &error),
    }
}
