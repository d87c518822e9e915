//! Administration pages, tokens and audit: every user's PATs with search, a status filter and
//! bulk revoke or delete of the selected ones; the audit log with its filters.

use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Redirect, Response};
use chrono::{DateTime, Utc};
use minijinja::{Value, context};
use serde::Deserialize;
use tessera_core::audit::AuditQuery;
use tessera_core::ids::CredentialId;
use tessera_core::model::TokenStatus;
use tessera_core::services::ServiceError;
use tessera_core::store::CredentialFilter;

use super::account::{failure, token_row};
use super::session::{Posted, Viewer};
use crate::state::AppState;

#[derive(Deserialize)]
pub struct TokensQuery {
    search: Option<String>,
    status: Option<String>,
    done: Option<String>,
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
    Query(q): Query<TokensQuery>,
) -> Response {
    let status = q.status.as_deref().filter(|s| !s.is_empty());
    let parsed = status.map(TokenStatus::parse);
    if let Some(None) = parsed {
        return failure(
            &state,
            &viewer,
            &ServiceError::Invalid(tessera_core::names::FieldError::new(
                "status",
                "status must be active, expiring-soon, expired or revoked",
            )),
        );
    }
    let filter = CredentialFilter {
        search: q.search.clone().filter(|s| !s.trim().is_empty()),
        status: parsed.flatten(),
        limit: 500,
        ..CredentialFilter::default()
    };
    let found = match state.pats.admin_list(&viewer.caller, filter).await {
        Ok(found) => found,
        Err(error) => return failure(&state, &viewer, &error),
    };
    let now = state.pats.now();
    let rows: Vec<Value> = found
        .iter()
        .map(|o| context! { owner => o.owner.user_name.as_str(), ..token_row(&o.credential, now) })
        .collect();
    let notice = match q.done.as_deref() {
        Some("revoked") => Some("The selected tokens are revoked."),
        Some("deleted") => Some("The selected tokens are deleted."),
        _ => None,
    };
    let statuses: Vec<Value> = STATUSES
        .iter()
        .map(|(value, label)| context! { value, label })
        .collect();
    state.templates.page(
        StatusCode::OK,
        "admin_tokens.html",
        context! {
            tokens => rows,
            statuses,
            search => q.search.unwrap_or_default(),
            status => status.unwrap_or(""),
            notice,
            ..viewer.nav("tokens")
        },
    )
}

pub async fn bulk(State(state): State<AppState>, Posted { viewer, fields: f }: Posted) -> Response {
    let ids: Option<Vec<CredentialId>> = f
        .all("ids")
        .iter()
        .map(|raw| CredentialId::parse(raw))
        .collect();
    let ids = match ids {
        Some(ids) if !ids.is_empty() => ids,
        _ => {
            return failure(
                &state,
                &viewer,
                &ServiceError::Invalid(tessera_core::names::FieldError::new(
                    "ids",
                    "select at least one token",
                )),
            );
        }
    };
    let filter = CredentialFilter {
        ids: Some(ids),
        ..CredentialFilter::default()
    };
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
                &ServiceError::Invalid(tessera_core::names::FieldError::new(
                    "action",
                    format!("action {other:?} must be revoke or delete"),
                )),
            );
        }
    };
    match result {
        Ok(_) => Redirect::to(&format!("/ui/admin/tokens?done={done}")).into_response(),
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
    Query(q): Query<AuditFilter>,
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
    let entries = if errors.is_empty() {
        let query = AuditQuery {
            actor: q.actor.clone(),
            action: q.action.clone(),
            target: q.target.clone(),
            from,
            to,
            offset: 0,
            limit: 200,
        };
        match state.audit.list(&viewer.caller, query).await {
            Ok(entries) => entries,
            Err(error) => return failure(&state, &viewer, &error),
        }
    } else {
        Vec::new()
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
            q => Value::from_serialize(&q),
            errors => Value::from_serialize(&errors),
            ..viewer.nav("audit")
        },
    )
}
