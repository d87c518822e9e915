//! Project pages: the caller's projects (owned or collaborating) and creating one; a project's
//! collaborators (added by username with a project role, removed) and its model APIs, with a
//! form to create one. The services decide: only the owner or a SysAdmin manages
//! collaborators, only project Owners and Contributors create model APIs.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use tessera_core::ids::{ProjectId, UserId};
use tessera_core::model_apis::{Authorization, ModelKind};
use tessera_core::names::{FieldError, UserName, parse_text};
use tessera_core::paging::{Cursor, PageQuery};
use tessera_core::policy::model_api::ProjectRole;
use tessera_core::projects::{Project, Relationship, parse_visibility, visibility_str};
use tessera_core::services::ServiceError;
use tessera_core::services::model_apis::NewModelApi;
use tessera_core::services::projects::NewProject;
use tessera_core::store::PROJECTS_CURSOR;

use super::account::failure;
use super::forms::Errors;
use super::models::model_value;
use super::pager::{PAGE_SIZE, PageParams, pager};
use super::session::{Posted, Viewer};
use crate::state::AppState;
use crate::web::query::UiQuery;

fn project_value(p: &Project, me: UserId) -> Value {
    let role = if p.owner_id == me {
        "Owner".to_string()
    } else {
        p.collaborators
            .iter()
            .find(|c| c.user_id == me)
            .map_or_else(|| "—".to_string(), |c| c.role.as_str().to_string())
    };
    context! {
        id => p.id.to_string(),
        name => p.name.as_str(),
        owner => p.owner_name.as_str(),
        visibility => visibility_str(p.visibility),
        role,
        collaborators => p.collaborators.iter().map(|c| context! {
            id => c.user_id.to_string(), name => c.user_name.as_str(), role => c.role.as_str(),
        }).collect::<Vec<_>>(),
    }
}

async fn list_page(
    state: &AppState,
    viewer: &Viewer,
    page: &PageParams,
    form: Value,
    status: StatusCode,
) -> Response {
    let me = viewer.caller.principal().id;
    let result = async {
        let query = PageQuery {
            after: page.cursor(|raw| Cursor::decode(raw, PROJECTS_CURSOR, false, false))?,
            limit: PAGE_SIZE,
            offset: 0,
        };
        let (listed, total) = tokio::try_join!(
            state
                .projects
                .page(&viewer.caller, Relationship::All, query),
            state.projects.count(&viewer.caller, Relationship::All),
        )?;
        let pager = pager(
            "/ui/projects",
            &[],
            page,
            listed.items.len(),
            listed.next.as_ref(),
            total,
        );
        Ok::<_, ServiceError>((listed.items, pager))
    };
    match result.await {
        Ok((projects, pager)) => state.templates.page(
            status,
            "projects.html",
            context! {
                ..context! { projects => projects.iter().map(|p| project_value(p, me)).collect::<Vec<_>>(), pager, form },
                ..viewer.nav("projects")
            },
        ),
        Err(error) => failure(state, viewer, &error),
    }
}

pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    UiQuery(page): UiQuery<PageParams>,
) -> Response {
    let form = context! { errors => Errors::default().value() };
    list_page(&state, &viewer, &page, form, StatusCode::OK).await
}

pub async fn create(
    State(state): State<AppState>,
    Posted { viewer, fields: f }: Posted,
) -> Response {
    let mut errors = Errors::default();
    let parsed = (|| {
        Ok::<_, FieldError>(NewProject {
            name: tessera_core::projects::parse_name(f.get("name").trim())?,
            owner: None,
            description: parse_text("description", f.get("description"), 2000)?,
            visibility: parse_visibility(
                "visibility",
                f.optional("visibility").unwrap_or("private"),
            )?,
            collaborators: Vec::new(),
        })
    })();
    match parsed {
        Ok(request) => match state.projects.create(&viewer.caller, request).await {
            Ok(project) => {
                return Redirect::to(&format!("/ui/projects/{}", project.id)).into_response();
            }
            Err(ServiceError::Invalid(e)) => errors.add(e),
            Err(ServiceError::Conflict(m)) => errors.add(FieldError::new("name", m)),
            Err(error) => return failure(&state, &viewer, &error),
        },
        Err(e) => errors.add(e),
    }
    let form = context! { name => f.get("name"), description => f.get("description"), errors => errors.value() };
    list_page(
        &state,
        &viewer,
        &PageParams::default(),
        form,
        StatusCode::BAD_REQUEST,
    )
    .await
}

fn project_id(raw: &str) -> Result<ProjectId, ServiceError> {
    ProjectId::parse(raw).ok_or(ServiceError::NotFound("project"))
}

async fn project_page(
    state: &AppState,
    viewer: &Viewer,
    raw: &str,
    form: Value,
    error: Option<String>,
    status: StatusCode,
) -> Response {
    let result = async {
        let project = state.projects.get(&viewer.caller, project_id(raw)?).await?;
        let models: Vec<Value> = state
            .model_apis
            .list(&viewer.caller, None)
            .await?
            .iter()
            .filter(|m| m.project_id == project.id)
            .map(model_value)
            .collect();
        let me = viewer.caller.principal();
        let manage =
            project.owner_id == me.id || me.roles.contains(tessera_core::roles::Role::SysAdmin);
        Ok::<_, ServiceError>(context! {
            p => project_value(&project, me.id),
            models,
            manage,
            project_roles => ProjectRole::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>(),
            form,
            error,
        })
    };
    match result.await {
        Ok(ctx) => state.templates.page(
            status,
            "project.html",
            context! { ..ctx, ..viewer.nav("projects") },
        ),
        Err(error) => failure(state, viewer, &error),
    }
}

pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(raw): Path<String>,
) -> Response {
    let form = context! { errors => Errors::default().value() };
    project_page(&state, &viewer, &raw, form, None, StatusCode::OK).await
}

pub async fn add_collaborator(
    State(state): State<AppState>,

    Path(raw): Path<String>,
    Posted { viewer, fields: f }: Posted,
) -> Response {
    let result = async {
        let id = project_id(&raw)?;
        let name = UserName::parse("userName", f.get("user_name").trim())?;
        let role = ProjectRole::parse(f.get("role"))
            .ok_or_else(|| FieldError::new("projectRole", "choose one of the project roles"))?;
        // Finding the user decides nothing; the service decides who may add collaborators.
        let user = state
            .store
            .principal_by_name(&name)
            .await
            .map_err(ServiceError::from)?
            .ok_or_else(|| FieldError::new("userName", format!("there is no user {name}")))?;
        state
            .projects
            .set_collaborator(&viewer.caller, id, user.id, role)
            .await
    };
    after_change(&state, &viewer, &raw, result.await).await
}

async fn after_change<T>(
    state: &AppState,
    viewer: &Viewer,
    raw: &str,
    result: Result<T, ServiceError>,
) -> Response {
    match result {
        Ok(_) => Redirect::to(&format!("/ui/projects/{raw}")).into_response(),
        Err(ServiceError::Invalid(e)) => {
            let form = context! { errors => Errors::default().value() };
            project_page(
                state,
                viewer,
                raw,
                form,
                Some(e.message),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(error) => failure(state, viewer, &error),
    }
}

pub async fn remove_collaborator(
    State(state): State<AppState>,
    Path((raw, user)): Path<(String, String)>,
    Posted { viewer, .. }: Posted,
) -> Response {
    let result = async {
        let id = project_id(&raw)?;
        let user = UserId::parse(&user).ok_or(ServiceError::NotFound("collaborator"))?;
        state
            .projects
            .remove_collaborator(&viewer.caller, id, user)
            .await
    };
    after_change(&state, &viewer, &raw, result.await).await
}

pub async fn create_model(
    State(state): State<AppState>,

    Path(raw): Path<String>,
    Posted { viewer, fields: f }: Posted,
) -> Response {
    let mut errors = Errors::default();
    let result = async {
        Ok::<_, ServiceError>(NewModelApi {
            name: tessera_core::model_apis::parse_name(f.get("name").trim())?,
            project_id: project_id(&raw)?,
            kind: ModelKind::parse("kind", f.get("kind"))?,
            visibility: parse_visibility("visibility", f.get("visibility"))?,
            authorization: Authorization::parse("authorization", f.get("authorization"))?,
            description: String::new(),
        })
    };
    match result.await {
        Ok(request) => match state.model_apis.create(&viewer.caller, request).await {
            Ok(api) => return Redirect::to(&format!("/ui/models/{}", api.id)).into_response(),
            Err(ServiceError::Invalid(e)) => errors.add(e),
            Err(ServiceError::Conflict(m)) => errors.add(FieldError::new("name", m)),
            Err(error) => return failure(&state, &viewer, &error),
        },
        Err(ServiceError::Invalid(e)) => errors.add(e),
        Err(error) => return failure(&state, &viewer, &error),
    }
    let form = context! { name => f.get("name"), errors => errors.value() };
    project_page(&state, &viewer, &raw, form, None, StatusCode::BAD_REQUEST).await
}
