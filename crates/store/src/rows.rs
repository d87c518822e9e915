//! Conversions between stored columns and domain values, shared by the backends.

use chrono::{DateTime, TimeZone, Utc};
use tessera_core::ids::{CredentialId, UserId};
use tessera_core::store::StoreError;

pub fn to_ms(t: DateTime<Utc>) -> i64 {
    t.timestamp_millis()
}

pub fn from_ms(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

pub fn user_id(s: &str) -> Result<UserId, StoreError> {
    UserId::parse(s).ok_or_else(|| StoreError::Backend(format!("corrupt principal id {s:?}")))
}

pub fn credential_id(s: &str) -> Result<CredentialId, StoreError> {
    CredentialId::parse(s)
        .ok_or_else(|| StoreError::Backend(format!("corrupt credential id {s:?}")))
}

/// A backend error, with the driver's text kept for the log only.
pub fn backend(error: sqlx::Error) -> StoreError {
    StoreError::Backend(error.to_string())
}

/// Maps a unique-constraint violation to the wire field it concerns.
pub fn conflict_or_backend(error: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &error
        && db.is_unique_violation()
    {
        let text = db.message().to_string() + db.constraint().unwrap_or("");
        let field = if text.contains("email") {
            "email"
        } else if text.contains("user_name") {
            "userName"
        } else {
            "name"
        };
        return StoreError::Conflict { field };
    }
    backend(error)
}

/// Escapes `%`, `_` and `\` for a LIKE pattern with `ESCAPE '\'`.
pub fn like_pattern(search: &str) -> String {
    let mut out = String::with_capacity(search.len() + 2);
    out.push('%');
    for c in search.to_lowercase().chars() {
        if matches!(c, '%' | '_' | '\\') {
            out.push('\\');
        }
        out.push(c);
    }
    out.push('%');
    out
}
