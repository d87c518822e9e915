//! Administration pages, tokens and audit: every user's PATs with search, a status filter and
//! bulk revoke or delete of the selected ones; the audit log with its filters.

use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use minijinja::{Value, context};
use serde::Deserialize;
use tessera_core::audit::AuditQuery;
use tessera_core::ids::CredentialId;
use tessera_core::model::TokenStatus;
use tessera_core::names::FieldError;
use tessera_core::services::ServiceError;
use tessera_core::store::CredentialFilter;

use super::account::{failure, token_row};
use super::pager::{PAGE_SIZE, PageParams, pager};
use super::session::{Posted, Viewer};
use crate::state::AppState;
use crate::web::query::UiQuery;

#[derive(Deserialize)]
pub struct TokensQuery {
    search: Option<String>,
    status: Option<String>,
    done: Option<String>,
    count: Option<usize>,
    #[serde(flatten)]
    page: PageParams,
}

const STATUSES: [(&str, &str); 4] = [
    ("active", "Active"),
    ("expiring-soon", "Expiring Soon"),
    ("expired", "Expired"),
    ("revoked", "Revoked"),
];

pub async fn tokens(
    State(state): State<AppState>,
    viewer: Viewer,
    UiQuery(q): UiQuery<TokensQuery>,
) -> Response {
    let status = q.status.as_deref().filter(|s| !s.is_empty());
    let parsed = status.map(TokenStatus::parse);
    if let Some(None) = parsed {
        return failure(
            &state,
            &viewer,
            &ServiceError::Invalid(FieldError::new(
                "status",
                "status must be active, expiring-soon, expired or revoked",
            )),
        );
    }
    let mut filter = CredentialFilter {
        search: q.search.clone().filter(|s| !s.trim().is_empty()),
        status: parsed.flatten(),
        limit: PAGE_SIZE,
        ..CredentialFilter::default()
    };
    filter.after = match q.page.cursor(|raw| filter.decode_cursor(raw)) {
        Ok(after) => after,
        Err(e) => return failure(&state, &viewer, &ServiceError::Invalid(e)),
    };
    let listed = tokio::try_join!(
        state.pats.admin_page(&viewer.caller, filter.clone()),
        state.pats.admin_count(&viewer.caller, filter),
    );
    let (found, total) = match listed {
        Ok(listed) => listed,
        Err(error) => return failure(&state, &viewer, &error),
    };
    let now = state.pats.now();
    let rows: Vec<Value> = found
        .items
        .iter()
        .map(|o| context! { owner => o.owner.user_name.as_str(), ..token_row(&o.credential, now) })
        .collect();
    let count = q.count.unwrap_or_default();
    let notice = match q.done.as_deref() {
        Some("revoked") => Some(format!("{count} tokens revoked.")),
        Some("deleted") => Some(format!("{count} tokens deleted.")),
        _ => None,
    };
    let statuses: Vec<Value> = STATUSES
        .iter()
        .map(|(value, label)| context! { value, label })
        .collect();
    let search = q.search.unwrap_or_default();
    let status = status.unwrap_or("");
    let pager = pager(
        "/ui/admin/tokens",
        &[("search", search.as_str()), ("status", status)],
        &q.page,
        found.items.len(),
        found.next.as_ref(),
        total,
    );
    state.templates.page(
        StatusCode::OK,
        "admin_tokens.html",
        context! {
            tokens => rows,
            statuses,
            search,
            status,
            pager,
            // Acting on every match needs a filter and an exact count to confirm.
            can_act_on_all => (!status.is_empty() || !search.trim().is_empty())
                && !total.is_estimate && total.count > 0,
            notice,
            ..viewer.nav("tokens")
        },
    )
}

/// The tokens a bulk action applies to: the selected ones, or (scope `all`) every token the
/// list's filter selects, provided the count the administrator confirmed is still the count.
fn bulk_target(f: &super::forms::Fields) -> Result<(CredentialFilter, Option<u64>), FieldError> {
    if f.get("scope") == "all" {
        let status = f.get("status");
        let status = match status {
            "" => None,
            raw => Some(TokenStatus::parse(raw).ok_or_else(|| {
                FieldError::new(
                    "status",
                    "status must be active, expiring-soon, expired or revoked",
                )
            })?),
        };
        let search = Some(f.get("search").trim().to_string()).filter(|s| !s.is_empty());
        let confirmed = f.get("confirm_count").parse::<u64>().map_err(|_| {
            FieldError::new(
                "confirm_count",
                "confirm how many tokens the action applies to",
            )
        })?;
        let filter = CredentialFilter {
            status,
            search,
            ..CredentialFilter::default()
        };
        return Ok((filter, Some(confirmed)));
    }
    let ids: Option<Vec<CredentialId>> = f
        .all("ids")
        .iter()
        .map(|raw| CredentialId::parse(raw))
        .collect();
    match ids {
        Some(ids) if !ids.is_empty() => Ok((
            CredentialFilter {
                ids: Some(ids),
                ..CredentialFilter::default()
            },
            None,
        )),
        _ => Err(FieldError::new("ids", "select at least one token")),
    }
}

pub async fn bulk(State(state): State<AppState>, Posted { viewer, fields: f }: Posted) -> Response {
    let (filter, confirmed) = match bulk_target(&f) {
        Ok(target) => target,
        Err(e) => return failure(&state, &viewer, &ServiceError::Invalid(e)),
    };
    if let Some(confirmed) = confirmed {
        match state.pats.admin_count(&viewer.caller, filter.clone()).await {
            Ok(total) if !total.is_estimate && total.count == confirmed => {}
            Ok(total) => {
                let message = format!(
                    "the filter now selects {}{} tokens, not the {confirmed} you confirmed; look at the list again",
                    if total.is_estimate { "at least " } else { "" },
                    total.count
                );
                return failure(
                    &state,
                    &viewer,
                    &ServiceError::Invalid(FieldError::new("confirm_count", message)),
                );
            }
            Err(error) => return failure(&state, &viewer, &error),
        }
    }
    let (result, done) = match f.get("action") {
        "revoke" => (
            state.pats.admin_revoke(&viewer.caller, filter).await,
            "revoked",
        ),
        "delete" => (
            state.pats.admin_delete(&viewer.caller, filter).await,
            "deleted",
        ),
        other => {
            return failure(
                &state,
                &viewer,
                &ServiceError::Invalid(FieldError::new(
                    "action",
                    format!("action {other:?} must be revoke or delete"),
                )),
            );
        }
    };
    match result {
        Ok(changed) => Redirect::to(&format!(
            "/ui/admin/tokens?done={done}&count={}",
            changed.len()
        ))
        .into_response(),
        Err(error) => failure(&state, &viewer, &error),
    }
}

#[derive(Deserialize, Default, serde::Serialize)]
pub struct AuditFilter {
    actor: Option<String>,
    action: Option<String>,
    target: Option<String>,
    from: Option<String>,
    to: Option<String>,
    #[serde(flatten, skip_serializing)]
    page: PageParams,
}

fn instant(raw: Option<&str>) -> Result<Option<DateTime<Utc>>, String> {
    match raw.map(str::trim).filter(|s| !s.is_empty()) {
        None => Ok(None),
        Some(s) => DateTime::parse_from_rfc3339(s)
            .map(|t| Some(t.with_timezone(&Utc)))
            .map_err(|_| format!("{s:?} is not a time such as 2026-01-31T12:00:00Z")),
    }
}

pub async fn audit(
    State(state): State<AppState>,
    viewer: Viewer,
    UiQuery(q): UiQuery<AuditFilter>,
) -> Response {
    let mut errors = std::collections::BTreeMap::new();
    let from = instant(q.from.as_deref()).unwrap_or_else(|e| {
        errors.insert("from", e);
        None
    });
    let to = instant(q.to.as_deref()).unwrap_or_else(|e| {
        errors.insert("to", e);
        None
    });
    let after = q
        .page
        .cursor(AuditQuery::decode_cursor)
        .unwrap_or_else(|e| {
            errors.insert("cursor", e.message);
            None
        });
    let (entries, pager) = if errors.is_empty() {
        let query = AuditQuery {
            actor: q.actor.clone(),
            action: q.action.clone(),
            target: q.target.clone(),
            from,
            to,
            after,
            offset: 0,
            limit: PAGE_SIZE,
        };
        let listed = tokio::try_join!(
            state.audit.list(&viewer.caller, query.clone()),
            state.audit.count(&viewer.caller, query),
        );
        match listed {
            Ok((page, total)) => {
                let filters = [
                    ("actor", q.actor.as_deref().unwrap_or("")),
                    ("action", q.action.as_deref().unwrap_or("")),
                    ("target", q.target.as_deref().unwrap_or("")),
                    ("from", q.from.as_deref().unwrap_or("")),
                    ("to", q.to.as_deref().unwrap_or("")),
                ];
                let pager = pager(
                    "/ui/admin/audit",
                    &filters,
                    &q.page,
                    page.items.len(),
                    page.next.as_ref(),
                    total,
                );
                (page.items, Some(pager))
            }
            Err(error) => return failure(&state, &viewer, &error),
        }
    } else {
        (Vec::new(), None)
    };
    let rows: Vec<Value> = entries
        .iter()
        .map(|e| {
            let target = [
                e.target_type.as_str(),
                e.target_name.as_deref().unwrap_or(""),
            ]
            .join(" ")
            .trim()
            .to_string();
            context! {
                at => e.at.format("%Y-%m-%d %H:%M:%S UTC").to_string(),
                actor => e.actor.user_name.clone(),
                action => e.action.as_str(),
                target,
            }
        })
        .collect();
    let status = if errors.is_empty() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    state.templates.page(
        status,
        "admin_audit.html",
        context! {
            entries => rows,
            pager,
            q => Value::from_serialize(&q),
            errors => Value::from_serialize(&errors),
            ..viewer.nav("audit")
        },
    )
}
