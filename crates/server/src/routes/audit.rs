//! The audit log, filtered. SysAdmin only (domain policy).

use axum::extract::State;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tessera_core::audit::AuditQuery;

use crate::authn::Identity;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AppQuery, limit};
use crate::state::AppState;
use crate::wire::AuditJson;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/admin/v1/audit", get(list))
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ListQuery {
    actor: Option<String>,
    action: Option<String>,
    target: Option<String>,
    from: Option<String>,
    to: Option<String>,
    #[serde(default)]
    offset: u32,
    limit: Option<u32>,
}

fn instant(field: &str, raw: Option<&str>) -> ApiResult<Option<DateTime<Utc>>> {
    raw.filter(|s| !s.is_empty())
        .map(|s| {
            DateTime::parse_from_rfc3339(s)
                .map(|t| t.with_timezone(&Utc))
                .map_err(|_| {
                    ApiError::BadRequest(format!(
                        "{field}: {s:?} is not an ISO-8601 time such as 2026-01-31T12:00:00Z"
                    ))
                })
        })
        .transpose()
}

async fn list(
    State(state): State<AppState>,
    Identity(caller): Identity,
    AppQuery(q): AppQuery<ListQuery>,
) -> ApiResult<Json<Vec<AuditJson>>> {
    let query = AuditQuery {
        from: instant("from", q.from.as_deref())?,
        to: instant("to", q.to.as_deref())?,
        actor: q.actor,
        action: q.action,
        target: q.target,
        offset: q.offset,
        limit: limit(q.limit)?,
    };
    let entries = state.audit.list(&caller, query).await?;
    Ok(Json(entries.iter().map(AuditJson::new).collect()))
}
