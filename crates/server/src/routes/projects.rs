//! Projects on the paths the `dominodatalab` client uses. Any authenticated person; private
//! projects are 404 to outsiders; collaborators change only by the owner or a SysAdmin.

use axum::extract::{Path, State};
use axum::routing::{delete, get, post};
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tessera_core::ids::{ProjectId, UserId};
use tessera_core::names::{FieldError, UserName, parse_text};
use tessera_core::policy::model_api::{ProjectRole, Visibility};
use tessera_core::projects::{Project, Relationship, parse_name, parse_visibility, visibility_str};
use tessera_core::services::projects::NewProject;
use tessera_core::store::PROJECTS_CURSOR;
use utoipa::{IntoParams, ToSchema};

use super::path_id;
use crate::authn::Identity;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AppJson, AppQuery, whole_list_limit};
use crate::paging;
use crate::state::AppState;
use crate::wire::time;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/v4/projects", post(create))
        .route("/v4/projects/{project_id}", get(one))
        .route(
            "/v4/projects/{project_id}/collaborators",
            post(add_collaborator),
        )
        .route(
            "/v4/projects/{project_id}/collaborators/{user_id}",
            delete(remove_collaborator),
        )
        .route("/v4/gateway/projects", get(list))
        .route("/v4/gateway/projects/findProjectByOwnerAndName", get(find))
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct ProjectJson {
    id: String,
    name: String,
    owner_id: String,
    owner_name: String,
    owner_username: String,
    description: String,
    /// `Public`, `Searchable` or `Private`.
    #[schema(value_type = String)]
    visibility: &'static str,
    created_at: String,
    collaborators: Vec<CollaboratorJson>,
}

#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ProjectCollaboratorJson)]
struct CollaboratorJson {
    collaborator_id: String,
    user_name: String,
    #[schema(value_type = String)]
    project_role: &'static str,
}

impl ProjectJson {
    fn new(p: &Project) -> ProjectJson {
        ProjectJson {
            id: p.id.to_string(),
            name: p.name.clone(),
            owner_id: p.owner_id.to_string(),
            owner_name: p.owner_name.to_string(),
            owner_username: p.owner_name.to_string(),
            description: p.description.clone(),
            visibility: visibility_str(p.visibility),
            created_at: time(p.created_at),
            collaborators: p
                .collaborators
                .iter()
                .map(|c| CollaboratorJson {
                    collaborator_id: c.user_id.to_string(),
                    user_name: c.user_name.to_string(),
                    project_role: c.role.as_str(),
                })
                .collect(),
        }
    }
}

fn role(field: &'static str, raw: &str) -> Result<ProjectRole, FieldError> {
    ProjectRole::parse(raw).ok_or_else(|| {
        FieldError::new(
            field,
            format!("{raw:?} must be Owner, Contributor, ResultsConsumer or LauncherUser"),
        )
    })
}

fn user_id(field: &'static str, raw: &str) -> Result<UserId, FieldError> {
    UserId::parse(raw).ok_or_else(|| FieldError::new(field, format!("{raw:?} is not a user id")))
}

/// Domino path: fields it does not know are ignored.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = ProjectCollaboratorBody)]
struct CollaboratorBody {
    /// A user id.
    #[schema(schema_with = super::openapi::rules::uuid)]
    collaborator_id: String,
    /// `Owner`, `Contributor`, `ResultsConsumer` or `LauncherUser`.
    #[schema(schema_with = super::openapi::rules::project_role)]
    project_role: String,
}

/// Domino path: fields it does not know (`tags`, ...) are ignored.
#[derive(Deserialize, ToSchema)]
#[serde(rename_all = "camelCase")]
#[schema(as = NewProjectBody)]
struct CreateBody {
    #[schema(schema_with = super::openapi::rules::project_name)]
    name: String,
    #[schema(schema_with = super::openapi::rules::uuid)]
    owner_id: Option<String>,
    #[schema(schema_with = super::openapi::rules::long_description)]
    description: Option<String>,
    /// `Public`, `Searchable` or `Private` (the default).
    #[schema(schema_with = super::openapi::rules::visibility)]
    visibility: Option<String>,
    collaborators: Option<Vec<CollaboratorBody>>,
}

/// Any authenticated person; `ownerId` other than the caller's own needs SysAdmin.
#[utoipa::path(post, path = "/v4/projects", tag = "projects", operation_id = "createProject",
    request_body = CreateBody,
    responses((status = 200, description = "The new project", body = ProjectJson)))]
async fn create(
    State(state): State<AppState>,
    Identity(caller): Identity,
    AppJson(body): AppJson<CreateBody>,
) -> ApiResult<Json<ProjectJson>> {
    let request = NewProject {
        name: parse_name(&body.name)?,
        owner: body
            .owner_id
            .as_deref()
            .map(|o| user_id("ownerId", o))
            .transpose()?,
        description: parse_text(
            "description",
            body.description.as_deref().unwrap_or(""),
            2000,
        )?,
        visibility: body
            .visibility
            .as_deref()
            .map(|v| parse_visibility("visibility", v))
            .transpose()?
            .unwrap_or(Visibility::Private),
        collaborators: body
            .collaborators
            .unwrap_or_default()
            .iter()
            .map(|c| {
                Ok((
                    user_id("collaborators", &c.collaborator_id)?,
                    role("collaborators", &c.project_role)?,
                ))
            })
            .collect::<Result<_, FieldError>>()?,
    };
    let project = state.projects.create(&caller, request).await?;
    Ok(Json(ProjectJson::new(&project)))
}

fn project_id(raw: &str) -> ApiResult<ProjectId> {
    path_id(raw, ProjectId::parse, "project")
}

/// Private projects are 404 to outsiders.
#[utoipa::path(get, path = "/v4/projects/{projectId}", tag = "projects", operation_id = "getProject",
    params(("projectId" = String, Path, description = "The project's id")),
    responses((status = 200, description = "The project", body = ProjectJson)))]
async fn one(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
) -> ApiResult<Json<ProjectJson>> {
    Ok(Json(ProjectJson::new(
        &state.projects.get(&caller, project_id(&raw)?).await?,
    )))
}

/// Domino path: parameters it does not know are ignored.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// `Owned` or `Collaborating`; all the caller may see when absent.
    #[param(schema_with = super::openapi::rules::relationship)]
    relationship: Option<String>,
    /// The `X-Next-Cursor` of the previous page; not with `offset`.
    cursor: Option<String>,
    #[serde(default)]
    offset: u32,
    /// From 1 to 1000; 1000 when absent.
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<u32>,
}

/// A page of the projects the caller owns or collaborates on, by name, with the paging headers
/// of `crate::paging`.
#[utoipa::path(get, path = "/v4/gateway/projects", tag = "projects", operation_id = "listProjects",
    params(ListQuery),
    responses((status = 200, description = "Projects the caller may see", body = Vec<ProjectJson>,
        headers(("X-Next-Cursor" = String, description = "Opaque cursor of the next page (absent on the last)"), ("X-Total-Count" = u64, description = "Matching rows, exact up to 1,000"), ("X-Total-Is-Estimate" = bool, description = "true when X-Total-Count is a lower bound")))))]
async fn list(
    State(state): State<AppState>,
    Identity(caller): Identity,
    AppQuery(q): AppQuery<ListQuery>,
) -> ApiResult<paging::Listing<ProjectJson>> {
    let relationship = match q
        .relationship
        .as_deref()
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        None | Some("") => Relationship::All,
        Some("owned") => Relationship::Owned,
        Some("collaborating") => Relationship::Collaborating,
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "relationship: {other:?} must be Owned or Collaborating"
            )));
        }
    };
    let query = paging::query(
        q.cursor.as_deref(),
        q.offset,
        whole_list_limit(q.limit)?,
        PROJECTS_CURSOR,
    )?;
    let (page, total) = tokio::try_join!(
        state.projects.page(&caller, relationship, query),
        state.projects.count(&caller, relationship),
    )?;
    Ok(paging::listing(&page, total, ProjectJson::new))
}

/// Domino path: parameters it does not know are ignored.
#[derive(Deserialize, IntoParams)]
#[serde(rename_all = "camelCase")]
#[into_params(parameter_in = Query)]
struct FindQuery {
    /// The owner's user name.
    #[param(
        min_length = 1,
        max_length = 64,
        pattern = r"^[A-Za-z0-9._-]*[A-Za-z0-9][A-Za-z0-9._-]*$"
    )]
    owner_name: String,
    /// The project's name.
    #[param(min_length = 1, max_length = 100, pattern = r"^[A-Za-z0-9._-]+$")]
    project_name: String,
}

#[utoipa::path(get, path = "/v4/gateway/projects/findProjectByOwnerAndName", tag = "projects", operation_id = "findProject",
    params(FindQuery),
    responses((status = 200, description = "The project", body = ProjectJson)))]
async fn find(
    State(state): State<AppState>,
    Identity(caller): Identity,
    AppQuery(q): AppQuery<FindQuery>,
) -> ApiResult<Json<ProjectJson>> {
    let owner = UserName::parse("ownerName", &q.owner_name)?;
    Ok(Json(ProjectJson::new(
        &state
            .projects
            .find(&caller, &owner, q.project_name.trim())
            .await?,
    )))
}

/// The project's owner or a SysAdmin.
#[utoipa::path(post, path = "/v4/projects/{projectId}/collaborators", tag = "projects", operation_id = "addProjectCollaborator",
    params(("projectId" = String, Path, description = "The project's id")),
    request_body = CollaboratorBody,
    responses((status = 200, description = "The project", body = ProjectJson)))]
async fn add_collaborator(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path(raw): Path<String>,
    AppJson(body): AppJson<CollaboratorBody>,
) -> ApiResult<Json<ProjectJson>> {
    let user = user_id("collaboratorId", &body.collaborator_id)?;
    let role = role("projectRole", &body.project_role)?;
    Ok(Json(ProjectJson::new(
        &state
            .projects
            .set_collaborator(&caller, project_id(&raw)?, user, role)
            .await?,
    )))
}

/// The project's owner or a SysAdmin.
#[utoipa::path(delete, path = "/v4/projects/{projectId}/collaborators/{userId}", tag = "projects", operation_id = "removeProjectCollaborator",
    params(("projectId" = String, Path, description = "The project's id"), ("userId" = String, Path, description = "The collaborator's user id")),
    responses((status = 200, description = "The project", body = ProjectJson)))]
async fn remove_collaborator(
    State(state): State<AppState>,
    Identity(caller): Identity,
    Path((raw, user)): Path<(String, String)>,
) -> ApiResult<Json<ProjectJson>> {
    let user = path_id(&user, UserId::parse, "collaborator")?;
    Ok(Json(ProjectJson::new(
        &state
            .projects
            .remove_collaborator(&caller, project_id(&raw)?, user)
            .await?,
    )))
}
