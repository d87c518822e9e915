//! The audit log, filtered. SysAdmin only (domain policy).

use axum::extract::State;
use axum::http::HeaderMap;
use axum::routing::get;
use axum::{Json, Router};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tessera_core::audit::AuditQuery;

use crate::authn::Identity;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AppQuery, limit};
use crate::paging;
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
    cursor: Option<String>,
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

/// A page of entries, newest first, with the paging headers of `crate::paging`.
async fn list(
    State(state): State<AppState>,
    Identity(caller): Identity,
    AppQuery(q): AppQuery<ListQuery>,
) -> ApiResult<(HeaderMap, Json<Vec<AuditJson>>)> {
    let query = AuditQuery {
        from: instant("from", q.from.as_deref())?,
        to: instant("to", q.to.as_deref())?,
        after: paging::cursor(q.cursor.as_deref(), q.offset, AuditQuery::decode_cursor)?,
        actor: q.actor,
        action: q.action,
        target: q.target,
        offset: q.offset,
        limit: limit(q.limit)?,
    };
    let (page, total) = tokio::try_join!(
        state.audit.list(&caller, query.clone()),
        state.audit.count(&caller, query.clone()),
    )?;
    let body = page.items.iter().map(AuditJson::new).collect();
    Ok((paging::headers(page.next.as_ref(), total), Json(body)))
}
