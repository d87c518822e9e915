//! A model API's settings pages: *Access and Sharing* (visibility, collaborators by username,
//! e-mail or organization with role pickers, ownership transfer) and *Invocation* (restricted
//! or unrestricted, access tokens generated, revealed and revoked). Offered per the policy;
//! every change goes through the services, which decide again.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use tessera_core::ids::{CollaboratorId, ModelTokenId};
use tessera_core::model_apis::{Authorization, Grantee};
use tessera_core::names::{Email, FieldError, TokenName, UserName};
use tessera_core::policy::model_api::{ModelAction, ModelRole};
use tessera_core::projects::parse_visibility;
use tessera_core::services::ServiceError;
use tessera_core::services::model_apis::GranteeRef;

use super::account::failure;
use super::models::{model_id, model_value, when};
use super::session::{Posted, Viewer};
use crate::state::AppState;

const ROLES: [&str; 3] = ["viewer", "editor", "owner"];

/// The settings page; `created` shows a token's value (new or revealed), `error` a refusal.
async fn page(
    state: &AppState,
    viewer: &Viewer,
    raw: &str,
    created: Option<Value>,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let result = async {
        let id = model_id(raw)?;
        let (_, allowed) = state
            .model_apis
            .with_permissions(&viewer.caller, id)
            .await?;
        // Editors and owners only: this call is refused (403) to anyone else.
        let api = state.model_apis.collaborators(&viewer.caller, id).await?;
        let tokens = state.model_serving.tokens(&viewer.caller, id).await?;
        let collaborators: Vec<Value> = api
            .collaborators
            .iter()
            .map(|c| {
                let (name, organization) = match &c.grantee {
                    Grantee::User { name, .. } => (name.as_str().to_string(), false),
                    Grantee::Organization { name, .. } => (name.clone(), true),
                };
                context! { id => c.id.to_string(), name, organization, role => c.role.as_str() }
            })
            .collect();
        let tokens: Vec<Value> = tokens
            .iter()
            .map(|t| {
                context! {
                    id => t.id.to_string(), name => t.name.as_str(), created => when(t.created_at),
                    created_by => t.created_by.as_str(), revoked => t.revoked_at.is_some(),
                }
            })
            .collect();
        Ok::<_, ServiceError>(context! {
            m => model_value(&api),
            collaborators,
            tokens,
            roles => ROLES,
            can => context! {
                sharing => allowed.contains(&ModelAction::ManageSharing),
                revoke => allowed.contains(&ModelAction::RevokeTokens),
            },
        })
    };
    match result.await {
        Ok(ctx) => state.templates.page(
            status,
            "model_settings.html",
            context! { ..context! { created, error, ..ctx }, ..viewer.nav("models") },
        ),
        Err(error) => failure(state, viewer, &error),
    }
}

pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(raw): Path<String>,
) -> Response {
    page(&state, &viewer, &raw, None, None, StatusCode::OK).await
}

/// Runs a change and goes back to the settings page; a refusal of the input is shown there.
async fn change<F, T>(state: &AppState, viewer: &Viewer, raw: &str, run: F) -> Response
where
    F: std::future::Future<Output = Result<T, ServiceError>>,
{
    match run.await {
        Ok(_) => Redirect::to(&format!("/ui/models/{raw}/settings")).into_response(),
        Err(ServiceError::Invalid(e)) => {
            page(
                state,
                viewer,
                raw,
                None,
                Some(e.message),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(ServiceError::Conflict(m)) => {
            page(state, viewer, raw, None, Some(m), StatusCode::CONFLICT).await
        }
        Err(error) => failure(state, viewer, &error),
    }
}

fn role(raw: &str) -> Result<ModelRole, ServiceError> {
    ModelRole::parse(raw)
        .ok_or_else(|| FieldError::new("role", "role must be viewer, editor or owner").into())
}

pub async fn visibility(
    State(state): State<AppState>,

    Path(raw): Path<String>,
    Posted { viewer, fields: f }: Posted,
) -> Response {
    let run = async {
        let visibility = parse_visibility("visibility", f.get("visibility"))?;
        state
            .model_apis
            .set_visibility(&viewer.caller, model_id(&raw)?, visibility)
            .await
    };
    change(&state, &viewer, &raw, run).await
}

pub async fn authorization(
    State(state): State<AppState>,

    Path(raw): Path<String>,
    Posted { viewer, fields: f }: Posted,
) -> Response {
    let run = async {
        let authorization = Authorization::parse("authorization", f.get("authorization"))?;
        state
            .model_apis
            .set_authorization(&viewer.caller, model_id(&raw)?, authorization)
            .await
    };
    change(&state, &viewer, &raw, run).await
}

pub async fn transfer(
    State(state): State<AppState>,

    Path(raw): Path<String>,
    Posted { viewer, fields: f }: Posted,
) -> Response {
    let run = async {
        let to = UserName::parse("userName", f.get("user_name").trim())?;
        state
            .model_apis
            .transfer(&viewer.caller, model_id(&raw)?, &to)
            .await
    };
    change(&state, &viewer, &raw, run).await
}

pub async fn add_collaborator(
    State(state): State<AppState>,

    Path(raw): Path<String>,
    Posted { viewer, fields: f }: Posted,
) -> Response {
    let run = async {
        let who = f.get("grantee").trim();
        let grantee = match f.get("kind") {
            "userName" => GranteeRef::UserName(UserName::parse("userName", who)?),
            "email" => GranteeRef::Email(Email::parse("email", who)?),
            "organization" if !who.is_empty() => GranteeRef::Organization(who.to_string()),
            "organization" => {
                return Err(FieldError::new("organization", "give an organization's name").into());
            }
            other => {
                return Err(FieldError::new(
                    "kind",
                    format!("{other:?} must be userName, email or organization"),
                )
                .into());
            }
        };
        let role = role(f.get("role"))?;
        state
            .model_apis
            .add_collaborator(&viewer.caller, model_id(&raw)?, grantee, role)
            .await
    };
    change(&state, &viewer, &raw, run).await
}

fn collaborator_id(raw: &str) -> Result<CollaboratorId, ServiceError> {
    CollaboratorId::parse(raw).ok_or(ServiceError::NotFound("collaborator"))
}

pub async fn collaborator_role(
    State(state): State<AppState>,
    Path((raw, collaborator)): Path<(String, String)>,
    Posted { viewer, fields: f }: Posted,
) -> Response {
    let run = async {
        let role = role(f.get("role"))?;
        let id = model_id(&raw)?;
        state
            .model_apis
            .set_collaborator_role(&viewer.caller, id, collaborator_id(&collaborator)?, role)
            .await
    };
    change(&state, &viewer, &raw, run).await
}

pub async fn remove_collaborator(
    State(state): State<AppState>,
    Path((raw, collaborator)): Path<(String, String)>,
    Posted { viewer, .. }: Posted,
) -> Response {
    let run = async {
        let id = model_id(&raw)?;
        state
            .model_apis
            .remove_collaborator(&viewer.caller, id, collaborator_id(&collaborator)?)
            .await
    };
    change(&state, &viewer, &raw, run).await
}

pub async fn create_token(
    State(state): State<AppState>,

    Path(raw): Path<String>,
    Posted { viewer, fields: f }: Posted,
) -> Response {
    let result = async {
        let name = TokenName::parse("name", f.get("name").trim())?;
        state
            .model_serving
            .create_token(&viewer.caller, model_id(&raw)?, name)
            .await
    };
    match result.await {
        Ok((token, secret)) => {
            let created = context! {
                name => token.name.as_str(), token => secret.into_exposed(),
                note => "copy it now; owners and editors can reveal it again, and every reveal is audited.",
            };
            page(
                &state,
                &viewer,
                &raw,
                Some(created),
                None,
                StatusCode::CREATED,
            )
            .await
        }
        Err(ServiceError::Invalid(e)) => {
            page(
                &state,
                &viewer,
                &raw,
                None,
                Some(e.message),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(ServiceError::Conflict(m)) => {
            page(&state, &viewer, &raw, None, Some(m), StatusCode::CONFLICT).await
        }
        Err(error) => failure(&state, &viewer, &error),
    }
}

fn token_id(raw: &str) -> Result<ModelTokenId, ServiceError> {
    ModelTokenId::parse(raw).ok_or(ServiceError::NotFound("token"))
}

pub async fn reveal_token(
    State(state): State<AppState>,
    Path((raw, token)): Path<(String, String)>,
    Posted { viewer, .. }: Posted,
) -> Response {
    let result = async {
        state
            .model_serving
            .reveal(&viewer.caller, model_id(&raw)?, token_id(&token)?)
            .await
    };
    match result.await {
        Ok((token, value)) => {
            let shown = context! { name => token.name.as_str(), token => value, note => "revealed (this reveal is in the audit history)." };
            page(&state, &viewer, &raw, Some(shown), None, StatusCode::OK).await
        }
        Err(error) => failure(&state, &viewer, &error),
    }
}

pub async fn revoke_token(
    State(state): State<AppState>,
    Path((raw, token)): Path<(String, String)>,
    Posted { viewer, .. }: Posted,
) -> Response {
    let run = async {
        state
            .model_serving
            .revoke(&viewer.caller, model_id(&raw)?, token_id(&token)?)
            .await
    };
    change(&state, &viewer, &raw, run).await
}
