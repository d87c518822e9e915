//! Model API management (Tessera's own paths). Every handler asks the model API service, which
//! decides with `policy::model_api`: 404 for a model API the caller may not see, 403 otherwise.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::routing::{get, post, put};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tessera_core::ids::{CollaboratorId, ModelApiId, ProjectId};
use tessera_core::model_apis::{Authorization, Grantee, ModelApi, ModelKind, parse_name};
use tessera_core::names::{Email, FieldError, UserName, parse_text};
use tessera_core::policy::model_api::ModelRole;
use tessera_core::projects::{parse_visibility, visibility_str};
use tessera_core::services::model_apis::{GranteeRef, NewModelApi};
use tessera_core::store::MODEL_APIS_CURSOR;
use utoipa::{IntoParams, ToSchema};

use super::path_id;
use crate::authn::Identity;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AppJson, AppQuery, whole_list_limit};
use crate::paging;
use crate::state::AppState;
use crate::wire::time;

const BASE: &str = "/api/modelServing/v1/modelApis";

pub fn routes() -> Router<AppState> {
    Router::new()
        .route(BASE, post(create).get(list))
        .route(&format!("{BASE}/{{id}}"), get(one).patch(update))
        .route(&format!("{BASE}/{{id}}/visibility"), put(set_visibility))
        .route(
            &format!("{BASE}/{{id}}/authorization"),
            put(set_authorization),
        )
        .route(&format!("{BASE}/{{id}}/transferOwnership"), post(transfer))
        .route(
            &format!("{BASE}/{{id}}/collaborators"),
            get(collaborators).post(add_collaborator),
        )
        .route(
            &format!("{BASE}/{{id}}/collaborators/{{collaborator_id}}"),
            put(set_role).delete(remove_collaborator),
        )
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ModelApiJson {
    id: String,
    name: String,
    project_id: String,
    owner_id: String,
    owner_name: String,
    #[schema(value_type = String)]
    kind: &'static str,
    #[schema(value_type = String)]
    visibility: &'static str,
    #[schema(value_type = String)]
    authorization: &'static str,
    description: String,
    created_at: String,
}

impl ModelApiJson {
    fn new(m: &ModelApi) -> ModelApiJson {
        ModelApiJson {
            id: m.id.to_string(),
            name: m.name.clone(),
            project_id: m.project_id.to_string(),
            owner_id: m.owner_id.to_string(),
            owner_name: m.owner_name.to_string(),
            kind: m.kind.as_str(),
            visibility: visibility_str(m.visibility),
            authorization: m.authorization.as_str(),
            description: m.description.clone(),
            created_at: time(m.created_at),
        }
    }
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ModelCollaboratorJson)]
struct CollaboratorJson {
    id: String,
    /// `user` or `organization`.
    #[schema(value_type = String)]
    kind: &'static str,
    name: String,
    /// `viewer`, `editor` or `owner`.
    #[schema(value_type = String)]
    role: &'static str,
}

fn collaborators_json(m: &ModelApi) -> Vec<CollaboratorJson> {
    m.collaborators
        .iter()
        .map(|c| {
            let (kind, name) = match &c.grantee {
                Grantee::User { name, .. } => ("user", name.to_string()),
                Grantee::Organization { name, .. } => ("organization", name.clone()),
            };
            CollaboratorJson {
                id: c.id.to_string(),
                kind,
                name,
                role: c.role.as_str(),
            }
        })
        .collect()
}

fn api_id(raw: &str) -> ApiResult<ModelApiId> {
    path_id(raw, ModelApiId::parse, "model API")
}

fn role(raw: &str) -> Result<ModelRole, FieldError> {
    ModelRole::parse(raw)
        .ok_or_else(|| FieldError::new("role", format!("{raw:?} must be viewer, editor or owner")))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = NewModelApiBody)]
struct CreateBody {
    #[schema(schema_with = super::openapi::rules::model_api_name)]
    name: String,
    #[schema(schema_with = super::openapi::rules::uuid)]
    project_id: String,
    #[schema(schema_with = super::openapi::rules::model_kind)]
    kind: String,
    #[schema(schema_with = super::openapi::rules::visibility)]
    visibility: String,
    #[schema(schema_with = super::openapi::rules::authorization)]
    authorization: String,
    #[schema(schema_with = super::openapi::rules::long_description)]
    description: Option<String>,
}

/// Project Owner or Contributor (or SysAdmin); the caller becomes the owner.
#[utoipa::path(post, path = "/api/modelServing/v1/modelApis", tag = "model-apis", operation_id = "createModelApi",
    request_body = CreateBody,
    responses((status = 201, description = "The new model API", body = ModelApiJson)))]
async fn create(
    State(state): State<AppState>,
    Identity(caller): Identity,
    AppJson(body): AppJson<CreateBody>,
) -> ApiResult<(StatusCode, Json<ModelApiJson>)> {
    let request = NewModelApi {
        name: parse_name(&body.name)?,
        project_id: ProjectId::parse(&body.project_id).ok_or_else(|| {
            FieldError::new(
                "projectId",
                format!("{:?} is not a project id", body.project_id),
            )
        })?,
        kind: ModelKind::parse("kind", &body.kind)?,
        visibility: parse_visibility("visibility", &body.visibility)?,
        authorization: Authorization::parse("authorization", &body.authorization)?,
        description: parse_text(
            "description",
            body.description.as_deref().unwrap_or(""),
            2000,
        )?,
    };
    let api = state.model_apis.create(&caller, request).await?;
    Ok((StatusCode::CREATED, Json(ModelApiJson::new(&api))))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// Part of the name or of the description (case-insensitive).
    search: Option<String>,
    /// The `X-Next-Cursor` of the previous page; not with `offset`.
    cursor: Option<String>,
    #[serde(default)]
    offset: u32,
    /// From 1 to 1000; 1000 when absent.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// A page of the model APIs the caller may discover, by name, with the paging headers of
/// `crate::paging`.
#[utoipa::path(get, path = "/api/modelServing/v1/modelApis", tag = "model-apis", operation_id = "listModelApis",
    params(ListQuery),
    responses((status = 200, description = "Model APIs", body = Vec<ModelApiJson>,
        headers(("X-Next-Cursor" = String, description = "Opaque cursor of the next page (absent on the last)"), ("X-Total-Count" = u64, description = "Matching rows, exact up to 1,000; a search of 3 or more characters counts the matches among at most 1,000 candidates of its index (rows holding three of its trigrams): past them, a lower bound"), ("X-Total-Is-Estimate" = bool, description = "true when X-Total-Count is a lower bound")))))]
async fn list(
    State(state): State<AppState>,
    Identity(caller): Identity,
    AppQuery(q): AppQuery<ListQuery>,
) -> ApiResult<paging::Listing<ModelApiJson>> {
    let query = paging::query(
        q.cursor.as_deref(),
        q.offset,
        whole_list_limit(q.limit)?,
        MODEL_APIS_CURSOR,
    )?;
    let search = q.search.as_deref();
    let (page, total) = tokio::try_join!(
        state.model_apis.page(&caller, search, query),
        state.model_apis.count(&caller, search),
    )?;
    Ok(paging::listing(&page, total, ModelApiJson::new))
}

/// View: anyone authenticated for a public model API; owner, editors and viewers for a private one.
#[utoipa::path(get, path = "/api/modelServing/v1/modelApis/{id}", tag = "model-apis", operation_id = "getModelApi",
    params(("id" = String, Path, description = "The model API's id")),
    responses((status = 200, description = "The model API", body = ModelApiJson)))]
async fn one(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
) -> ApiResult<Json<ModelApiJson>> {
    Ok(Json(ModelApiJson::new(
        &state.model_apis.get(&caller, api_id(&raw)?).await?,
    )))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = ModelApiPatchBody)]
struct PatchBody {
    #[schema(schema_with = super::openapi::rules::model_api_name)]
    name: Option<String>,
    #[schema(schema_with = super::openapi::rules::long_description)]
    description: Option<String>,
}

/// Settings: owner and editors.
#[utoipa::path(patch, path = "/api/modelServing/v1/modelApis/{id}", tag = "model-apis", operation_id = "updateModelApi",
    params(("id" = String, Path, description = "The model API's id")), request_body = PatchBody,
    responses((status = 200, description = "The model API", body = ModelApiJson)))]
async fn update(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
    AppJson(body): AppJson<PatchBody>,
) -> ApiResult<Json<ModelApiJson>> {
    let name = body.name.as_deref().map(parse_name).transpose()?;
    let description = body
        .description
        .as_deref()
        .map(|d| parse_text("description", d, 2000))
        .transpose()?;
    Ok(Json(ModelApiJson::new(
        &state
            .model_apis
            .update(&caller, api_id(&raw)?, name, description)
            .await?,
    )))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct VisibilityBody {
    #[schema(schema_with = super::openapi::rules::visibility)]
    visibility: String,
}

/// Owner only.
#[utoipa::path(put, path = "/api/modelServing/v1/modelApis/{id}/visibility", tag = "model-apis", operation_id = "setModelApiVisibility",
    params(("id" = String, Path, description = "The model API's id")), request_body = VisibilityBody,
    responses((status = 200, description = "The model API", body = ModelApiJson)))]
async fn set_visibility(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
    AppJson(body): AppJson<VisibilityBody>,
) -> ApiResult<Json<ModelApiJson>> {
    let visibility = parse_visibility("visibility", &body.visibility)?;
    Ok(Json(ModelApiJson::new(
        &state
            .model_apis
            .set_visibility(&caller, api_id(&raw)?, visibility)
            .await?,
    )))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct AuthorizationBody {
    #[schema(schema_with = super::openapi::rules::authorization)]
    authorization: String,
}

/// Owner and editors (an invocation setting).
#[utoipa::path(put, path = "/api/modelServing/v1/modelApis/{id}/authorization", tag = "model-apis", operation_id = "setModelApiAuthorization",
    params(("id" = String, Path, description = "The model API's id")), request_body = AuthorizationBody,
    responses((status = 200, description = "The model API", body = ModelApiJson)))]
async fn set_authorization(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
    AppJson(body): AppJson<AuthorizationBody>,
) -> ApiResult<Json<ModelApiJson>> {
    let authorization = Authorization::parse("authorization", &body.authorization)?;
    Ok(Json(ModelApiJson::new(
        &state
            .model_apis
            .set_authorization(&caller, api_id(&raw)?, authorization)
            .await?,
    )))
}

#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
struct TransferBody {
    #[schema(schema_with = super::openapi::rules::user_name)]
    user_name: String,
}

/// Owner only.
#[utoipa::path(post, path = "/api/modelServing/v1/modelApis/{id}/transferOwnership", tag = "model-apis", operation_id = "transferModelApi",
    params(("id" = String, Path, description = "The model API's id")), request_body = TransferBody,
    responses((status = 200, description = "The model API", body = ModelApiJson)))]
async fn transfer(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
    AppJson(body): AppJson<TransferBody>,
) -> ApiResult<Json<ModelApiJson>> {
    let to = UserName::parse("userName", &body.user_name)?;
    Ok(Json(ModelApiJson::new(
        &state
            .model_apis
            .transfer(&caller, api_id(&raw)?, &to)
            .await?,
    )))
}

/// Owner and editors.
#[utoipa::path(get, path = "/api/modelServing/v1/modelApis/{id}/collaborators", tag = "model-apis", operation_id = "listModelApiCollaborators",
    params(("id" = String, Path, description = "The model API's id")),
    responses((status = 200, description = "Collaborators", body = Vec<CollaboratorJson>)))]
async fn collaborators(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
) -> ApiResult<Json<Vec<CollaboratorJson>>> {
    Ok(Json(collaborators_json(
        &state
            .model_apis
            .collaborators(&caller, api_id(&raw)?)
            .await?,
    )))
}

/// Exactly one of `userName`, `email` or `organization`.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
#[schema(as = NewModelCollaboratorBody)]
struct CollaboratorBody {
    #[schema(schema_with = super::openapi::rules::user_name)]
    user_name: Option<String>,
    #[schema(schema_with = super::openapi::rules::email)]
    email: Option<String>,
    #[schema(schema_with = super::openapi::rules::organization_name)]
    organization: Option<String>,
    #[schema(schema_with = super::openapi::rules::model_role)]
    role: String,
}

/// Owner only.
#[utoipa::path(post, path = "/api/modelServing/v1/modelApis/{id}/collaborators", tag = "model-apis", operation_id = "addModelApiCollaborator",
    params(("id" = String, Path, description = "The model API's id")), request_body = CollaboratorBody,
    responses((status = 201, description = "Collaborators", body = Vec<CollaboratorJson>)))]
async fn add_collaborator(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
    AppJson(body): AppJson<CollaboratorBody>,
) -> ApiResult<(StatusCode, Json<Vec<CollaboratorJson>>)> {
    let grantee = match (body.user_name, body.email, body.organization) {
        (Some(u), None, None) => GranteeRef::UserName(UserName::parse("userName", &u)?),
        (None, Some(e), None) => GranteeRef::Email(Email::parse("email", &e)?),
        (None, None, Some(o)) => GranteeRef::Organization(o),
        _ => {
            return Err(ApiError::BadRequest(
                "give exactly one of userName, email or organization".into(),
            ));
        }
    };
    let api = state
        .model_apis
        .add_collaborator(&caller, api_id(&raw)?, grantee, role(&body.role)?)
        .await?;
    Ok((StatusCode::CREATED, Json(collaborators_json(&api))))
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
struct RoleBody {
    #[schema(schema_with = super::openapi::rules::model_role)]
    role: String,
}

fn collaborator_id(raw: &str) -> ApiResult<CollaboratorId> {
    path_id(raw, CollaboratorId::parse, "collaborator")
}

/// Owner only.
#[utoipa::path(put, path = "/api/modelServing/v1/modelApis/{id}/collaborators/{collaboratorId}", tag = "model-apis", operation_id = "setModelApiCollaboratorRole",
    params(("id" = String, Path, description = "The model API's id"), ("collaboratorId" = String, Path, description = "The collaborator entry's id")), request_body = RoleBody,
    responses((status = 200, description = "Collaborators", body = Vec<CollaboratorJson>)))]
async fn set_role(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path((raw, c)): Path<(String, String)>,
    AppJson(body): AppJson<RoleBody>,
) -> ApiResult<Json<Vec<CollaboratorJson>>> {
    let api = state
        .model_apis
        .set_collaborator_role(
            &caller,
            api_id(&raw)?,
            collaborator_id(&c)?,
            role(&body.role)?,
        )
        .await?;
    Ok(Json(collaborators_json(&api)))
}

/// Owner only.
#[utoipa::path(delete, path = "/api/modelServing/v1/modelApis/{id}/collaborators/{collaboratorId}", tag = "model-apis", operation_id = "removeModelApiCollaborator",
    params(("id" = String, Path, description = "The model API's id"), ("collaboratorId" = String, Path, description = "The collaborator entry's id")),
    responses((status = 200, description = "Collaborators", body = Vec<CollaboratorJson>)))]
async fn remove_collaborator(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path((raw, c)): Path<(String, String)>,
) -> ApiResult<Json<Vec<CollaboratorJson>>> {
    let api = state
        .model_apis
        .remove_collaborator(&caller, api_id(&raw)?, collaborator_id(&c)?)
        .await?;
    Ok(Json(collaborators_json(&api)))
}
