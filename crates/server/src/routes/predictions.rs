//! Async model invocation on Domino's wire: `POST /api/modelApis/async/v1/{id}` accepts a
//! prediction request and answers `{asyncPredictionId}`; `GET .../{id}/{asyncPredictionId}`
//! reports `queued`, `running`, `succeeded` (with `result`) or `failed` (with `errors`).
//! Restricted model APIs take `Authorization: Bearer <access token of that model API>`; a
//! refused one counts towards the failure throttle (429 over the limit).

use axum::Json;
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, Request, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde::Serialize;
use serde_json::Value;
use tessera_core::ids::{ModelApiId, PredictionId};
use tessera_core::predictions::{Prediction, PredictionStatus};
use utoipa::ToSchema;

use super::invoke::{cors, preflight, presents_credential, refusal};
use crate::client_addr::ClientAddr;
use crate::error::ApiError;
use crate::state::AppState;

pub const BEARER_CHALLENGE: &str = r#"Bearer realm="model-api""#;

pub fn routes(body_limit: usize) -> Router<AppState> {
    Router::new()
        .route(
            "/api/modelApis/async/v1/{id}",
            post(move |state, path, addr, request| submit(state, path, addr, request, body_limit))
                .options(preflight),
        )
        .route(
            "/api/modelApis/async/v1/{id}/{prediction}",
            get(status).options(preflight),
        )
}

/// The token of `Authorization: Bearer <token>`; `None` for anything else.
fn bearer(headers: &HeaderMap) -> Option<&str> {
    // A model call carries one credential: the model's token, and no API key beside it.
    if headers.contains_key("x-domino-api-key") {
        return None;
    }
    let value = crate::authn::sole_header(headers, header::AUTHORIZATION.as_str())
        .ok()??
        .to_str()
        .ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then_some(token.trim())
        .filter(|t| !t.is_empty())
}

fn model_id(raw: &str) -> Result<ModelApiId, ApiError> {
    ModelApiId::parse(raw).ok_or_else(|| ApiError::NotFound("model API not found".into()))
}

fn with_cors(result: Result<Response, ApiError>) -> Response {
    let mut response = result.unwrap_or_else(IntoResponse::into_response);
    cors(&mut response);
    response
}

/// Public model APIs: anyone; restricted ones: `Authorization: Bearer <the model's access token>`.
#[utoipa::path(post, path = "/api/modelApis/async/v1/{id}", tag = "model-invocation", operation_id = "submitPrediction",
    params(("id" = String, Path, description = "The model API's id")),
    security((), ("modelBearer" = [])),
    request_body(content = PredictionInput, description = "`{\"parameters\": {...}}`"),
    responses((status = 200, description = "Accepted", body = AcceptedJson)))]
async fn submit(
    State(state): State<AppState>,
    Path(id): Path<String>,
    addr: ClientAddr,
    request: Request<Body>,
    body_limit: usize,
) -> Response {
    with_cors(accept(&state, &id, addr, request, body_limit).await)
}

async fn accept(
    state: &AppState,
    id: &str,
    ClientAddr(ip): ClientAddr,
    request: Request<Body>,
    body_limit: usize,
) -> Result<Response, ApiError> {
    let id = model_id(id)?;
    let token = bearer(request.headers()).map(str::to_string);
    let presented = presents_credential(request.headers());
    let body = to_bytes(request.into_body(), body_limit)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)?;
    let input: Value = serde_json::from_slice(&body)
        .map_err(|e| ApiError::BadRequest(format!("the body is not valid JSON: {e}")))?;
    if !input.get("parameters").is_some_and(Value::is_object) {
        return Err(ApiError::BadRequest(
            "the body must be {\"parameters\": {...}}".into(),
        ));
    }
    let prediction = state
        .model_serving
        .submit(id, token.as_deref(), input.to_string(), &state.predictions)
        .await
        .map_err(|e| refusal(state, ip, presented, e, BEARER_CHALLENGE))?;
    state.prediction_queue.notify_one();
    Ok(Json(AcceptedJson {
        async_prediction_id: prediction.id.to_string(),
    })
    .into_response())
}

/// As the submission.
#[utoipa::path(get, path = "/api/modelApis/async/v1/{id}/{prediction}", tag = "model-invocation", operation_id = "predictionStatus",
    params(("id" = String, Path, description = "The model API's id"), ("prediction" = String, Path, description = "The `asyncPredictionId`")),
    security((), ("modelBearer" = [])),
    responses((status = 200, description = "The prediction's status", body = PredictionJson)))]
async fn status(
    State(state): State<AppState>,
    Path((id, prediction)): Path<(String, String)>,
    ClientAddr(ip): ClientAddr,
    headers: HeaderMap,
) -> Response {
    let answer = async {
        let id = model_id(&id)?;
        let prediction = PredictionId::parse(&prediction)
            .ok_or_else(|| ApiError::NotFound("prediction not found".into()))?;
        let found = state
            .model_serving
            .prediction(id, bearer(&headers), prediction)
            .await
            .map_err(|e| {
                refusal(
                    &state,
                    ip,
                    presents_credential(&headers),
                    e,
                    BEARER_CHALLENGE,
                )
            })?;
        Ok(Json(describe(&found)).into_response())
    };
    with_cors(answer.await)
}

/// Domino's status document: `result` once succeeded, `errors` once failed (and, while
/// queued for another attempt, the failures so far).
fn describe(p: &Prediction) -> PredictionJson {
    let succeeded = p.status == PredictionStatus::Succeeded;
    let result = match &p.result {
        Some(r) if succeeded => Some(serde_json::from_str(r).unwrap_or(Value::Null)),
        _ => None,
    };
    let errors = if succeeded || p.errors.is_empty() {
        None
    } else {
        Some(p.errors.clone())
    };
    PredictionJson {
        async_prediction_id: p.id.to_string(),
        status: p.status.as_str(),
        result,
        errors,
    }
}

/// The input of an asynchronous prediction.
#[derive(Serialize, ToSchema)]
struct PredictionInput {
    #[schema(value_type = Object)]
    parameters: Value,
}

/// A prediction request accepted.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct AcceptedJson {
    async_prediction_id: String,
}

/// Domino's status document of an asynchronous prediction.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "camelCase")]
struct PredictionJson {
    async_prediction_id: String,
    /// `queued`, `running`, `succeeded` or `failed`.
    #[schema(value_type = String)]
    status: &'static str,
    /// The model's answer, once succeeded.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false, value_type = serde_json::Value)]
    result: Option<Value>,
    /// The failures, once failed (and, while queued for another attempt, those so far).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schema(required = false)]
    errors: Option<Vec<String>>,
}
