//! Administration pages, users and service accounts: create users, change their roles (with
//! the warning that their PATs are revoked), deactivate and activate them; create service
//! accounts, generate their tokens (shown once) and revoke them. The services refuse anyone
//! but a SysAdmin; the navigation only shows these pages to SysAdmins.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;
use tessera_core::ids::UserId;
use tessera_core::model::{User, UserStatus};
use tessera_core::names::TokenName;
use tessera_core::roles::{Role, RoleSet};
use tessera_core::services::ServiceError;
use tessera_core::services::service_accounts::NewServiceAccount;
use tessera_core::services::users::NewUser;
use tessera_core::sso::FederatedIdentity;
use tessera_core::store::PrincipalQuery;

use super::account::{failure, token_row};
use super::forms::Errors;
use super::pager::{PAGE_SIZE, PageParams, pager};
use super::session::{Posted, Viewer};
use crate::state::AppState;
use crate::web::query::UiQuery;

fn user_row(u: &User) -> Value {
    let full_name = format!("{} {}", u.first_name, u.last_name)
        .trim()
        .to_string();
    context! {
        id => u.id.to_string(),
        user_name => u.user_name.as_str(),
        full_name,
        email => u.email.as_ref().map(|e| e.as_str().to_string()),
        active => u.status == UserStatus::Active,
        description => u.description.as_str(),
        roles => u.roles.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
    }
}

/// A row of the users page: [`user_row`] and the identity providers the user signs in with
/// (provider, user name and subject there; none for a local account).
fn user_row_with_identities(u: &User, links: &[FederatedIdentity]) -> Value {
    let identities: Vec<Value> = links
        .iter()
        .map(|l| {
            context! {
                provider => l.provider.as_str(),
                user_name => l.user_name.as_deref(),
                subject => l.subject.as_str(),
            }
        })
        .collect();
    context! { identities, ..user_row(u) }
}

fn all_roles() -> Vec<&'static str> {
    Role::ALL.iter().map(|r| r.as_str()).collect()
}

#[derive(Deserialize)]
pub struct UsersQuery {
    search: Option<String>,
    done: Option<String>,
    #[serde(flatten)]
    page: PageParams,
}

fn users_notice(done: Option<&str>) -> Option<&'static str> {
    Some(match done? {
        "created" => "User created.",
        "roles" => "Roles changed. The user's personal access tokens are revoked.",
        "deactivated" => "User deactivated: their tokens are revoked and their sessions ended.",
        "activated" => "User activated.",
        _ => return None,
    })
}

async fn users_page(
    state: &AppState,
    viewer: &Viewer,
    search: Option<String>,
    page: &PageParams,
    form: Value,
    notice: Option<&str>,
    status: StatusCode,
) -> Response {
    let after = match page.cursor(PrincipalQuery::decode_cursor) {
        Ok(after) => after,
        Err(e) => return failure(state, viewer, &ServiceError::Invalid(e)),
    };
    let query = PrincipalQuery {
        kind: Some(tessera_core::model::PrincipalKind::User),
        search: search.clone().filter(|s| !s.trim().is_empty()),
        after,
        offset: 0,
        limit: PAGE_SIZE,
    };
    let listed = async {
        let (users, total) = tokio::try_join!(
            state.users.list(&viewer.caller, query.clone()),
            state.users.count(&viewer.caller, query),
        )?;
        let links = state
            .users
            .federated_identities(&viewer.caller, &users.items)
            .await?;
        Ok::<_, ServiceError>((users, total, links))
    };
    match listed.await {
        Ok((users, total, links)) => {
            let search = search.unwrap_or_default();
            let pager = pager(
                "/ui/admin/users",
                &[("search", search.as_str())],
                page,
                users.items.len(),
                users.next.as_ref(),
                total,
            );
            state.templates.page(
                status,
                "admin_users.html",
                context! {
                    users => users
                        .items
                        .iter()
                        .zip(&links)
                        .map(|(u, l)| user_row_with_identities(u, l))
                        .collect::<Vec<_>>(),
                    all_roles => all_roles(),
                    search,
                    pager,
                    viewer_id => viewer.caller.principal().id.to_string(),
                    form,
                    notice,
                    ..viewer.nav("users")
                },
            )
        }
        Err(error) => failure(state, viewer, &error),
    }
}

pub async fn users(
    State(state): State<AppState>,
    viewer: Viewer,
    UiQuery(q): UiQuery<UsersQuery>,
) -> Response {
    let form = context! { errors => Errors::default().value(), roles => vec!["Practitioner"] };
    let notice = users_notice(q.done.as_deref());
    users_page(
        &state,
        &viewer,
        q.search,
        &q.page,
        form,
        notice,
        StatusCode::OK,
    )
    .await
}

pub async fn create_user(
    State(state): State<AppState>,
    Posted { viewer, fields: f }: Posted,
) -> Response {
    let roles = f.all("roles");
    let mut errors = Errors::default();
    let parsed = NewUser::parse(
        f.get("username").trim(),
        f.get("email").trim(),
        f.optional("first_name"),
        f.optional("last_name"),
        Some(&roles),
        f.optional("password").map(str::to_string),
    );
    match parsed {
        Ok(request) => match state.users.create(&viewer.caller, request).await {
            Ok(_) => return Redirect::to("/ui/admin/users?done=created").into_response(),
            Err(ServiceError::Invalid(e)) => errors.add(e),
            Err(ServiceError::Conflict(m)) => {
                errors.add(tessera_core::names::FieldError::new("userName", m))
            }
            Err(error) => return failure(&state, &viewer, &error),
        },
        Err(e) => errors.add(e),
    }
    let form = context! {
        username => f.get("username"),
        email => f.get("email"),
        first_name => f.get("first_name"),
        last_name => f.get("last_name"),
        roles,
        errors => errors.value(),
    };
    users_page(
        &state,
        &viewer,
        None,
        &PageParams::default(),
        form,
        None,
        StatusCode::BAD_REQUEST,
    )
    .await
}

fn user_id(raw: &str) -> Result<UserId, ServiceError> {
    UserId::parse(raw).ok_or(ServiceError::NotFound("user"))
}

pub async fn set_roles(
    State(state): State<AppState>,

    Path(raw): Path<String>,
    Posted { viewer, fields: f }: Posted,
) -> Response {
    let result = async {
        let id = user_id(&raw)?;
        let roles = RoleSet::parse_all("roles", &f.all("roles"))?;
        state.users.set_roles(&viewer.caller, id, roles).await
    };
    match result.await {
        Ok(_) => Redirect::to("/ui/admin/users?done=roles").into_response(),
        Err(error) => failure(&state, &viewer, &error),
    }
}

async fn activation(state: AppState, viewer: Viewer, raw: String, active: bool) -> Response {
    let result = async {
        let id = user_id(&raw)?;
        state.users.set_active(&viewer.caller, id, active).await
    };
    match result.await {
        Ok(_) if active => Redirect::to("/ui/admin/users?done=activated").into_response(),
        Ok(_) => Redirect::to("/ui/admin/users?done=deactivated").into_response(),
        Err(error) => failure(&state, &viewer, &error),
    }
}

pub async fn deactivate(
    State(state): State<AppState>,

    Path(raw): Path<String>,
    Posted { viewer, .. }: Posted,
) -> Response {
    activation(state, viewer, raw, false).await
}

pub async fn activate(
    State(state): State<AppState>,

    Path(raw): Path<String>,
    Posted { viewer, .. }: Posted,
) -> Response {
    activation(state, viewer, raw, true).await
}

async fn accounts_page(
    state: &AppState,
    viewer: &Viewer,
    page: &PageParams,
    form: Value,
    created: Option<Value>,
    status: StatusCode,
) -> Response {
    let result = async {
        let now = state.pats.now();
        let query = PrincipalQuery {
            after: page.cursor(PrincipalQuery::decode_cursor)?,
            limit: PAGE_SIZE,
            ..PrincipalQuery::default()
        };
        let (listed, total) = tokio::try_join!(
            state.service_accounts.list(&viewer.caller, query.clone()),
            state.service_accounts.count(&viewer.caller, query),
        )?;
        let mut accounts = Vec::new();
        for account in &listed.items {
            let (_, tokens) = state
                .service_accounts
                .tokens(&viewer.caller, account.id)
                .await?;
            let rows: Vec<Value> = tokens.iter().map(|t| token_row(t, now)).collect();
            accounts.push(context! { tokens => rows, ..user_row(account) });
        }
        let pager = pager(
            "/ui/admin/service-accounts",
            &[],
            page,
            listed.items.len(),
            listed.next.as_ref(),
            total,
        );
        Ok::<_, ServiceError>((accounts, pager))
    };
    match result.await {
        Ok((accounts, pager)) => state.templates.page(
            status,
            "admin_service_accounts.html",
            context! { accounts, pager, form, created, ..viewer.nav("service-accounts") },
        ),
        Err(error) => failure(state, viewer, &error),
    }
}

pub async fn service_accounts(
    State(state): State<AppState>,
    viewer: Viewer,
    UiQuery(page): UiQuery<PageParams>,
) -> Response {
    let form = context! { errors => Errors::default().value() };
    accounts_page(&state, &viewer, &page, form, None, StatusCode::OK).await
}

pub async fn create_service_account(
    State(state): State<AppState>,
    Posted { viewer, fields: f }: Posted,
) -> Response {
    let mut errors = Errors::default();
    match NewServiceAccount::parse(f.get("username").trim(), None, f.optional("description")) {
        Ok(request) => match state.service_accounts.create(&viewer.caller, request).await {
            Ok(_) => return Redirect::to("/ui/admin/service-accounts").into_response(),
            Err(ServiceError::Invalid(e)) => errors.add(e),
            Err(ServiceError::Conflict(m)) => errors.other(m),
            Err(error) => return failure(&state, &viewer, &error),
        },
        Err(e) => errors.add(e),
    }
    let form = context! {
        username => f.get("username"),
        description => f.get("description"),
        errors => errors.value(),
    };
    accounts_page(
        &state,
        &viewer,
        &PageParams::default(),
        form,
        None,
        StatusCode::BAD_REQUEST,
    )
    .await
}

pub async fn create_account_token(
    State(state): State<AppState>,

    Path(raw): Path<String>,
    Posted { viewer, fields: f }: Posted,
) -> Response {
    let result = async {
        let id = user_id(&raw)?;
        let name = TokenName::parse("name", f.get("name").trim())?;
        let account = state.service_accounts.get(&viewer.caller, id).await?;
        let (credential, secret) = state
            .service_accounts
            .create_token(&viewer.caller, id, name, None)
            .await?;
        Ok::<_, ServiceError>(context! {
            account => account.user_name.as_str(),
            name => credential.name.as_str(),
            token => secret.into_exposed(),
        })
    };
    let form = context! { errors => Errors::default().value() };
    match result.await {
        Ok(created) => {
            accounts_page(
                &state,
                &viewer,
                &PageParams::default(),
                form,
                Some(created),
                StatusCode::CREATED,
            )
            .await
        }
        Err(error) => failure(&state, &viewer, &error),
    }
}

pub async fn revoke_account_token(
    State(state): State<AppState>,
    Path((raw, name)): Path<(String, String)>,
    Posted { viewer, .. }: Posted,
) -> Response {
    let result = async {
        let id = user_id(&raw)?;
        let name = TokenName::parse("name", &name)?;
        state
            .service_accounts
            .invalidate_token(&viewer.caller, id, &name)
            .await
    };
    match result.await {
        Ok(_) => Redirect::to("/ui/admin/service-accounts").into_response(),
        Err(error) => failure(&state, &viewer, &error),
    }
}
