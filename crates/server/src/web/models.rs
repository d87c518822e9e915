//! Model API pages: the list (only what the caller may discover, with search) and a model
//! API's overview — sample requests in curl and Python for its invocation method, versions
//! (their model servers for owners and editors; deploy and activate when allowed), logs and
//! audit history when allowed. Which parts are
//! offered comes from the policy through `ModelApiService::with_permissions`.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use minijinja::{Value, context};
use serde::Deserialize;
use tessera_core::ids::ModelApiId;
use tessera_core::model_apis::{Authorization, ModelApi, ModelKind};
use tessera_core::policy::model_api::ModelAction;
use tessera_core::projects::visibility_str;
use tessera_core::services::ServiceError;

use super::account::failure;
use super::session::{Posted, Viewer};
use crate::state::AppState;
use crate::web::query::UiQuery;

pub(super) fn model_id(raw: &str) -> Result<ModelApiId, ServiceError> {
    ModelApiId::parse(raw).ok_or(ServiceError::NotFound("model API"))
}

pub(super) fn model_value(m: &ModelApi) -> Value {
    context! {
        id => m.id.to_string(),
        name => m.name.as_str(),
        owner => m.owner_name.as_str(),
        kind => m.kind.as_str(),
        visibility => visibility_str(m.visibility),
        authorization => m.authorization.as_str(),
        description => m.description.as_str(),
    }
}

pub(super) fn when(t: chrono::DateTime<chrono::Utc>) -> String {
    t.format("%Y-%m-%d %H:%M UTC").to_string()
}

#[derive(Deserialize)]
pub struct ListQuery {
    search: Option<String>,
}

pub async fn list(
    State(state): State<AppState>,
    viewer: Viewer,
    UiQuery(q): UiQuery<ListQuery>,
) -> Response {
    match state
        .model_apis
        .list(&viewer.caller, q.search.as_deref())
        .await
    {
        Ok(models) => state.templates.page(
            StatusCode::OK,
            "models.html",
            context! {
                models => models.iter().map(model_value).collect::<Vec<_>>(),
                search => q.search.unwrap_or_default(),
                ..viewer.nav("models")
            },
        ),
        Err(error) => failure(&state, &viewer, &error),
    }
}

/// How to call this model API, as Domino documents it: sync with HTTP Basic `token:token` when
/// restricted; async with a Bearer token, then polling.
fn samples(public_url: &str, m: &ModelApi) -> Value {
    let restricted = m.authorization == Authorization::Restricted;
    let (curl, python) = match m.kind {
        ModelKind::Sync => {
            let url = format!("{public_url}/models/{}/latest/model", m.id);
            let auth = if restricted {
                " -u \"$TOKEN:$TOKEN\""
            } else {
                ""
            };
            let py_auth = if restricted {
                ", auth=(token, token)"
            } else {
                ""
            };
            (
                format!(
                    "curl{auth} -H 'Content-Type: application/json' \\\n  {url} \\\n  -d '{{\"data\": {{\"feature\": 1.0}}}}'"
                ),
                format!(
                    "import requests\n\nr = requests.post(\"{url}\"{py_auth},\n                  json={{\"data\": {{\"feature\": 1.0}}}})\nprint(r.json()[\"result\"])"
                ),
            )
        }
        ModelKind::Async => {
            let url = format!("{public_url}/api/modelApis/async/v1/{}", m.id);
            let auth = if restricted {
                " -H \"Authorization: Bearer $TOKEN\""
            } else {
                ""
            };
            let headers = if restricted {
                "{\"Authorization\": f\"Bearer {token}\"}"
            } else {
                "{}"
            };
            (
                format!(
                    "ID=$(curl -s{auth} -H 'Content-Type: application/json' {url} \\\n  -d '{{\"parameters\": {{\"feature\": 1.0}}}}' | jq -r .asyncPredictionId)\ncurl -s{auth} {url}/$ID"
                ),
                format!(
                    "import time, requests\n\nh = {headers}\npid = requests.post(\"{url}\", headers=h,\n                    json={{\"parameters\": {{\"feature\": 1.0}}}}).json()[\"asyncPredictionId\"]\nwhile (s := requests.get(f\"{url}/{{pid}}\", headers=h).json())[\"status\"] in (\"queued\", \"running\"):\n    time.sleep(1)\nprint(s.get(\"result\"), s.get(\"errors\"))"
                ),
            )
        }
    };
    context! { curl, python }
}

pub(super) async fn overview(
    state: &AppState,
    viewer: &Viewer,
    raw: &str,
    upstream: (&str, Option<String>),
    status: StatusCode,
) -> Response {
    let result = async {
        let id = model_id(raw)?;
        let (api, allowed) = state
            .model_apis
            .with_permissions(&viewer.caller, id)
            .await?;
        let may = |a: ModelAction| allowed.contains(&a);
        let versions = state.model_serving.versions(&viewer.caller, id).await?;
        let logs = if may(ModelAction::ViewLogs) {
            state.model_serving.logs(&viewer.caller, id, 50).await?
        } else {
            Vec::new()
        };
        let audit = if may(ModelAction::ViewAudit) {
            state
                .model_serving
                .audit_history(&viewer.caller, id, 50)
                .await?
        } else {
            Vec::new()
        };
        Ok::<_, ServiceError>(context! {
            m => model_value(&api),
            samples => samples(&state.public_url, &api),
            can => context! {
                upstreams => versions.upstreams_shown,
                settings => may(ModelAction::ManageSettings),
                deploy => may(ModelAction::Deploy),
                logs => may(ModelAction::ViewLogs),
                audit => may(ModelAction::ViewAudit),
            },
            versions => versions.versions.iter().map(|v| context! {
                number => v.number, upstream_url => v.upstream_url.as_deref(), created => when(v.created_at), active => v.active,
            }).collect::<Vec<_>>(),
            logs => logs.iter().map(|l| context! {
                at => when(l.at), version => l.version, status => l.status, latency_ms => l.latency_ms, token_name => l.token_name.clone(),
            }).collect::<Vec<_>>(),
            audit => audit.iter().map(|e| context! {
                at => when(e.at), actor => e.actor.user_name.clone(), action => e.action.as_str(),
            }).collect::<Vec<_>>(),
            upstream => upstream.0,
            upstream_error => upstream.1,
        })
    };
    match result.await {
        Ok(ctx) => state.templates.page(
            status,
            "model.html",
            context! { ..ctx, ..viewer.nav("models") },
        ),
        Err(error) => failure(state, viewer, &error),
    }
}

pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(raw): Path<String>,
) -> Response {
    overview(&state, &viewer, &raw, ("", None), StatusCode::OK).await
}

pub async fn deploy(
    State(state): State<AppState>,

    Path(raw): Path<String>,
    Posted { viewer, fields: f }: Posted,
) -> Response {
    let typed = f.get("upstream_url").trim();
    let result = async {
        let id = model_id(&raw)?;
        let url = tessera_core::upstreams::UpstreamUrl::parse(typed)?;
        state
            .model_serving
            .deploy(&viewer.caller, id, &url, "")
            .await
    };
    match result.await {
        Ok(_) => Redirect::to(&format!("/ui/models/{raw}")).into_response(),
        Err(ServiceError::Invalid(e)) => {
            overview(
                &state,
                &viewer,
                &raw,
                (typed, Some(e.message)),
                StatusCode::BAD_REQUEST,
            )
            .await
        }
        Err(error) => failure(&state, &viewer, &error),
    }
}

pub async fn activate(
    State(state): State<AppState>,
    Path((raw, number)): Path<(String, i64)>,
    Posted { viewer, .. }: Posted,
) -> Response {
    let result = async {
        let id = model_id(&raw)?;
        state
            .model_serving
            .activate(&viewer.caller, id, number)
            .await
    };
    match result.await {
        Ok(_) => Redirect::to(&format!("/ui/models/{raw}")).into_response(),
        Err(error) => failure(&state, &viewer, &error),
    }
}
