//! Model invocation on Domino's wire: `POST /models/{id}/latest/model` and
//! `/models/{id}/v/{n}/model`. Restricted model APIs take only HTTP Basic with the model's
//! access token as both user name and password; anything else is 401 with a Basic challenge.
//! The body is forwarded to the version's model server and the answer wrapped in Domino's
//! envelope. Outside the API's authentication layer: these credentials are the model's own, and
//! a refused one counts towards the failure throttle like any other (429 over the limit).
//! Model servers are reached only through `model_client` (the allow-list, checked per call).

use std::net::IpAddr;
use std::time::Instant;

use axum::body::{Body, Bytes, to_bytes};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use serde::de::IgnoredAny;
use serde_json::Value;
use serde_json::value::RawValue;
use tessera_core::ids::ModelApiId;
use tessera_core::model_apis::{Invocation, ModelKind};
use tessera_core::services::ServiceError;
use tessera_core::services::model_serving::InvokeError;

use crate::authn::record_refusal;
use crate::client_addr::ClientAddr;
use crate::envelope::RequestId;
use crate::error::ApiError;
use crate::routes::openapi::schemas::ModelInput;
use crate::state::AppState;

pub fn routes(body_limit: usize) -> Router<AppState> {
    Router::new()
        .route(
            "/models/{id}/latest/model",
            post(move |state, path, addr, request| latest(state, path, addr, request, body_limit))
                .options(preflight),
        )
        .route(
            "/models/{id}/v/{n}/model",
            post(move |state, path, addr, request| {
                numbered(state, path, addr, request, body_limit)
            })
            .options(preflight),
        )
}

/// Whether the request carries a credential at all (any `Authorization` or API key header):
/// only then is a refusal a failed authentication.
pub(super) fn presents_credential(headers: &HeaderMap) -> bool {
    headers.contains_key(header::AUTHORIZATION) || headers.contains_key("x-domino-api-key")
}

/// `token:token` from HTTP Basic; `None` for anything else.
fn basic_token(headers: &HeaderMap) -> Option<String> {
    // A model call carries one credential: the model's token, and no API key beside it.
    if headers.contains_key("x-domino-api-key") {
        return None;
    }
    let value = crate::authn::sole_header(headers, header::AUTHORIZATION.as_str())
        .ok()??
        .to_str()
        .ok()?;
    let (scheme, rest) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let pair = String::from_utf8(STANDARD.decode(rest.trim()).ok()?).ok()?;
    let (user, password) = pair.split_once(':')?;
    (!user.is_empty() && user == password).then(|| user.to_string())
}

/// CORS as Domino allows it for model APIs: any origin, credentials in the Authorization header.
pub(super) fn cors(response: &mut Response) {
    let h = response.headers_mut();
    h.insert(
        header::ACCESS_CONTROL_ALLOW_ORIGIN,
        HeaderValue::from_static("*"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_HEADERS,
        HeaderValue::from_static("Authorization, Content-Type"),
    );
    h.insert(
        header::ACCESS_CONTROL_ALLOW_METHODS,
        HeaderValue::from_static("POST, OPTIONS"),
    );
}

pub(super) async fn preflight() -> Response {
    let mut r = StatusCode::NO_CONTENT.into_response();
    cors(&mut r);
    r
}

/// Public model APIs: anyone; restricted ones: HTTP Basic with the model's access token.
#[utoipa::path(post, path = "/models/{id}/latest/model", tag = "model-invocation", operation_id = "invokeModel",
    params(("id" = String, Path, description = "The model API's id")),
    security((), ("modelBasic" = [])),
    request_body = ModelInput,
    responses(
        (status = 200, description = "The model's answer in Domino's envelope", body = Envelope),
        (status = 502, description = "The model server failed or cannot be reached", body = crate::routes::openapi::schemas::FailureEnvelope),
        (status = 504, description = "The model server did not answer in time", body = crate::routes::openapi::schemas::FailureEnvelope),
    ))]
async fn latest(
    state: State<AppState>,
    Path(id): Path<String>,
    addr: ClientAddr,
    request: Request<Body>,
    body_limit: usize,
) -> Response {
    invoke(&state.0, &id, None, addr.0, request, body_limit).await
}

/// As `/models/{id}/latest/model`, for one version.
#[utoipa::path(post, path = "/models/{id}/v/{n}/model", tag = "model-invocation", operation_id = "invokeModelVersion",
    params(("id" = String, Path, description = "The model API's id"), ("n" = i64, Path, description = "The version number")),
    security((), ("modelBasic" = [])),
    request_body = ModelInput,
    responses(
        (status = 200, description = "The model's answer in Domino's envelope", body = Envelope),
        (status = 502, description = "The model server failed or cannot be reached", body = crate::routes::openapi::schemas::FailureEnvelope),
        (status = 504, description = "The model server did not answer in time", body = crate::routes::openapi::schemas::FailureEnvelope),
    ))]
async fn numbered(
    state: State<AppState>,
    Path((id, n)): Path<(String, String)>,
    addr: ClientAddr,
    request: Request<Body>,
    body_limit: usize,
) -> Response {
    match n.parse::<i64>() {
        Ok(n) => invoke(&state.0, &id, Some(n), addr.0, request, body_limit).await,
        Err(_) => ApiError::NotFound(format!("version {n:?} not found")).into_response(),
    }
}

/// One sync invocation of model API `id` (the path's segment, decoded), at `version` or the
/// active one, from the client address `ip`: the model's answer in Domino's envelope, or the
/// refusal, with CORS headers either way. Reached through the router and, without it, from
/// `front` for `POST`s whose path segments carry no escapes.
pub(crate) async fn invoke(
    state: &AppState,
    id: &str,
    version: Option<i64>,
    ip: IpAddr,
    request: Request<Body>,
    body_limit: usize,
) -> Response {
    let mut response = match run(state, id, version, ip, request, body_limit).await {
        Ok(r) => r,
        Err(e) => e.into_response(),
    };
    cors(&mut response);
    response
}

async fn run(
    state: &AppState,
    id: &str,
    version: Option<i64>,
    ip: IpAddr,
    request: Request<Body>,
    body_limit: usize,
) -> Result<Response, ApiError> {
    let id =
        ModelApiId::parse(id).ok_or_else(|| ApiError::NotFound("model API not found".into()))?;
    let request_id = request
        .extensions()
        .get::<RequestId>()
        .map(|r| r.as_str().to_owned())
        .unwrap_or_default();
    let token = basic_token(request.headers());
    let presented = presents_credential(request.headers());
    let target = state
        .model_serving
        .target(id, version, token.as_deref())
        .await
        .map_err(|e| refusal(state, ip, presented, e, BASIC_CHALLENGE))?;
    let body = to_bytes(request.into_body(), body_limit)
        .await
        .map_err(|_| ApiError::PayloadTooLarge)?;
    check_input(&body)?;
    let started = Instant::now();
    let result = call_model(state, &target.version.upstream_url, body).await;
    let latency = i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX);
    state.model_serving.record(Invocation {
        model_api_id: id,
        at: chrono::Utc::now(),
        version: Some(target.version.number),
        status: match &result {
            Ok(_) => 200,
            Err(e) => e.status().as_u16(),
        },
        latency_ms: latency,
        token_name: target.token_name.clone(),
    });
    Ok(Json(Envelope {
        release: Release {
            harness_version: env!("CARGO_PKG_VERSION"),
            model_version: format!("{}-v{}", target.api.id, target.version.number),
            model_version_number: target.version.number,
        },
        request_id,
        result: result?,
        timing: Timing {
            model_time_ms: latency,
        },
    })
    .into_response())
}

/// Posts `body` to the model server at `url` within the sync timeout: the model's JSON answer,
/// or 502 (unreachable, broken off, too large, not JSON, a failure of the model), 504 (no
/// answer in time) or 400 (the model refused the input).
async fn call_model(
    state: &AppState,
    url: &str,
    body: axum::body::Bytes,
) -> Result<Box<RawValue>, ApiError> {
    let answer = async {
        let response = state
            .model_servers
            .post_json(url, Body::from(body))
            .await
            .map_err(|e| ApiError::BadGateway(e.to_string()))?;
        let status = response.status();
        let bytes = to_bytes(Body::new(response.into_body()), MAX_ANSWER_BYTES)
            .await
            .map_err(|_| {
                ApiError::BadGateway("the model server's answer broke off or is too large".into())
            })?;
        model_answer(status, bytes)
    };
    tokio::time::timeout(state.sync_timeout, answer)
        .await
        .unwrap_or_else(|_| {
            Err(ApiError::GatewayTimeout(format!(
                "the model server did not answer within {} s",
                state.sync_timeout.as_secs()
            )))
        })
}

/// Domino's response envelope of a sync invocation.
#[derive(serde::Serialize, utoipa::ToSchema)]
#[schema(as = ModelEnvelope)]
struct Envelope {
    release: Release,
    request_id: String,
    /// The model's answer, as it gave it.
    #[schema(value_type = serde_json::Value)]
    result: Box<RawValue>,
    timing: Timing,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
#[schema(as = ModelRelease)]
struct Release {
    #[schema(value_type = String)]
    harness_version: &'static str,
    model_version: String,
    model_version_number: i64,
}

#[derive(serde::Serialize, utoipa::ToSchema)]
#[schema(as = ModelTiming)]
struct Timing {
    model_time_ms: i64,
}

/// The largest model answer relayed.
const MAX_ANSWER_BYTES: usize = 16 * 1024 * 1024;

/// Domino's request shapes: a JSON object with `data` or `parameters`. Checked without building
/// the document: the model server parses it anyway.
fn check_input(body: &[u8]) -> Result<(), ApiError> {
    #[derive(serde::Deserialize)]
    struct Shape {
        data: Option<IgnoredAny>,
        parameters: Option<IgnoredAny>,
    }
    let shape: Shape = serde_json::from_slice(body)
        .map_err(|e| ApiError::BadRequest(format!("the body is not a valid JSON object: {e}")))?;
    if shape.data.is_none() && shape.parameters.is_none() {
        return Err(ApiError::BadRequest(
            "the body must be {\"data\": {...}} or {\"parameters\": [...]}".into(),
        ));
    }
    Ok(())
}

/// The model's result, relayed as it came once it is known to be JSON; a model that refused
/// the input (4xx) is the caller's 400 with the model's message, a failing one a 502.
fn model_answer(status: StatusCode, bytes: Bytes) -> Result<Box<RawValue>, ApiError> {
    if status.is_success() {
        let text = String::from_utf8(bytes.to_vec())
            .map_err(|_| ApiError::BadGateway("the model server's answer is not JSON".into()))?;
        return RawValue::from_string(text)
            .map_err(|_| ApiError::BadGateway("the model server's answer is not JSON".into()));
    }
    let detail = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| {
            ["error", "message", "detail"]
                .iter()
                .find_map(|k| v.get(k).and_then(Value::as_str).map(str::to_string))
        })
        .unwrap_or_else(|| {
            String::from_utf8_lossy(&bytes[..bytes.len().min(300)])
                .trim()
                .to_string()
        });
    if status.is_client_error() {
        Err(ApiError::BadRequest(format!(
            "the model refused the input ({status}): {detail}"
        )))
    } else {
        Err(ApiError::BadGateway(format!(
            "the model server answered {status}: {detail}"
        )))
    }
}

/// The answer to an invocation the model serving service refused, from the client address
/// `ip`. A refused credential (`presented`) counts as a failed authentication (SPEC sections 6
/// and 9): 401 with `challenge`, or 429 once the address is over the failure limit. A request
/// without any credential is no failure; a valid token never reaches here.
pub(super) fn refusal(
    state: &AppState,
    ip: IpAddr,
    presented: bool,
    error: InvokeError,
    challenge: &'static str,
) -> ApiError {
    if matches!(error, InvokeError::Unauthorized)
        && presented
        && let Err(throttled) = record_refusal(state, ip)
    {
        return throttled;
    }
    refused(error, challenge)
}

/// The answer to an invocation the model serving service refused; `challenge` goes with a 401.
fn refused(error: InvokeError, challenge: &'static str) -> ApiError {
    match error {
        InvokeError::NotFound => ApiError::NotFound("model API not found".into()),
        InvokeError::Unauthorized => ApiError::Unauthenticated { challenge },
        InvokeError::NoSuchVersion(n) => ApiError::NotFound(format!("version {n} not found")),
        InvokeError::NoSuchPrediction => ApiError::NotFound("prediction not found".into()),
        InvokeError::NoActiveVersion => ApiError::Conflict(
            "the model API has no active version: deploy one, or activate an earlier one".into(),
        ),
        InvokeError::WrongKind(ModelKind::Sync) => ApiError::BadRequest(
            "this is a sync model API: call POST /models/{id}/latest/model".into(),
        ),
        InvokeError::WrongKind(ModelKind::Async) => ApiError::BadRequest(
            "this is an async model API: call POST /api/modelApis/async/v1/{id}".into(),
        ),
        InvokeError::Store(e) => ServiceError::Store(e).into(),
    }
}

pub const BASIC_CHALLENGE: &str = r#"Basic realm="model-api", charset="UTF-8""#;
