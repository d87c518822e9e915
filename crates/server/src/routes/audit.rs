//! The audit log, filtered. SysAdmin only (domain policy).

use axum::Router;
use axum::extract::State;
use axum::routing::get;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use tessera_core::audit::AuditQuery;
use utoipa::IntoParams;

use crate::authn::Identity;
use crate::error::{ApiError, ApiResult};
use crate::extract::{AppQuery, limit};
use crate::paging;
use crate::state::AppState;
use crate::wire::AuditJson;

pub fn routes() -> Router<AppState> {
    Router::new().route("/api/admin/v1/audit", get(list))
}

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
struct ListQuery {
    /// The acting user's name.
    actor: Option<String>,
    /// The action, e.g. `pat.create`.
    action: Option<String>,
    /// The target's id or name.
    target: Option<String>,
    /// RFC 3339 time, inclusive, e.g. `2026-01-31T12:00:00Z`.
    #[param(format = DateTime)]
    from: Option<String>,
    /// RFC 3339 time, exclusive.
    #[param(format = DateTime)]
    to: Option<String>,
    /// The `X-Next-Cursor` of the previous page; not with `offset`.
    cursor: Option<String>,
    #[serde(default)]
    offset: u32,
    /// From 1 to 1000; 100 when absent.
    #[param(minimum = 1, maximum = 1000)]
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
#[utoipa::path(get, path = "/api/admin/v1/audit", tag = "admin", operation_id = "listAudit",
    params(ListQuery),
    responses((status = 200, description = "Entries, newest first", body = Vec<AuditJson>,
        headers(("X-Next-Cursor" = String, description = "Opaque cursor of the next page (absent on the last)"), ("X-Total-Count" = u64, description = "Matching rows, exact up to 1,000"), ("X-Total-Is-Estimate" = bool, description = "true when X-Total-Count is a lower bound")))))]
async fn list(
    State(state): State<AppState>,
    Identity(caller): Identity,
    AppQuery(q): AppQuery<ListQuery>,
) -> ApiResult<paging::Listing<AuditJson>> {
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
    Ok(paging::listing(&page, total, AuditJson::new))
}
