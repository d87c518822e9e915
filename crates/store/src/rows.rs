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

/// A backend error, with the driver's text kept for the log only. Conflicts with a concurrent
/// transaction (SQLSTATE 40001 serialization, 40P01 deadlock; SQLite busy or locked) are
/// `Transient`, retried by `retry::retried`; connection trouble and timeouts are `Unavailable`.
pub fn backend(error: sqlx::Error) -> StoreError {
    if let sqlx::Error::Database(db) = &error
        && matches!(db.code().as_deref(), Some("22021" | "22P05"))
    {
        return StoreError::Unstorable;
    }
    if let sqlx::Error::Database(db) = &error
        && matches!(
            db.code().as_deref(),
            Some("40001" | "40P01" | "5" | "6" | "517" | "262")
        )
    {
        return StoreError::Transient(error.to_string());
    }
    let transient = match &error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed
        | sqlx::Error::Protocol(_) => true,
        sqlx::Error::Database(db) => matches!(
            db.code().as_deref(),
            Some(
                "40001"
                    | "40P01"
                    | "57014"
                    | "57P01"
                    | "57P02"
                    | "57P03"
                    | "08000"
                    | "08003"
                    | "08006"
                    | "5"
                    | "6"
            )
        ),
        _ => false,
    };
    if transient {
        StoreError::Unavailable(error.to_string())
    } else {
        StoreError::Backend(error.to_string())
    }
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

/// How a search text is matched (the same rule on both backends, each served by an index):
/// three characters or more match anywhere in a name (trigram indexes: FTS5 `trigram` on
/// SQLite, `pg_trgm` on PostgreSQL); one or two characters match the start of a name (B-tree
/// prefix). Case is ignored; blank searches match everything.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SearchRule {
    /// Lowercased text of three characters or more, matched as a substring.
    Substring(String),
    /// Lowercased text of one or two characters, matched as a prefix.
    Prefix(String),
}

impl SearchRule {
    /// The rule for a search text, `None` when it is blank.
    pub fn of(search: Option<&str>) -> Option<SearchRule> {
        let text = search?.trim().to_lowercase();
        match text.chars().count() {
            0 => None,
            1 | 2 => Some(SearchRule::Prefix(text)),
            _ => Some(SearchRule::Substring(text)),
        }
    }
}

/// An FTS5 query matching `text` as one phrase: with the trigram tokenizer, the rows that
/// contain it as a substring.
pub fn fts_phrase(text: &str) -> String {
    format!("\"{}\"", text.replace('"', "\"\""))
}

/// The trigrams a budgeted search count probes for `text` (lower case, three characters or
/// more): all of them up to three, otherwise the first, the middle and the last. A row that
/// contains `text` contains each of them, so the rows holding all of them are a superset of the
/// matches (the candidates), as selective as the rarest of the three; three keep the test of a
/// candidate cheap (PostgreSQL tests each as a LIKE on the row).
pub fn probe_trigrams(text: &str) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let all: Vec<String> = chars.windows(3).map(|w| w.iter().collect()).collect();
    let mut picked: Vec<String> = if all.len() <= 3 {
        all
    } else {
        vec![
            all[0].clone(),
            all[all.len() / 2].clone(),
            all[all.len() - 1].clone(),
        ]
    };
    picked.dedup();
    picked
}

/// An FTS5 query matching rows that hold every one of `trigrams` (anywhere, in any order):
/// with the trigram tokenizer, each quoted trigram is one token.
pub fn fts_all(trigrams: &[String]) -> String {
    let quoted: Vec<String> = trigrams.iter().map(|t| fts_phrase(t)).collect();
    format!("({})", quoted.join(" AND "))
}

/// A LIKE pattern (with `ESCAPE '\'`) matching values that start with `text`.
pub fn prefix_pattern(text: &str) -> String {
    let mut pattern = like_pattern(text);
    pattern.remove(0);
    pattern
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_searches_match_a_prefix_and_longer_ones_a_substring() {
        assert_eq!(SearchRule::of(Some("  ")), None);
        assert_eq!(
            SearchRule::of(Some("Ab")),
            Some(SearchRule::Prefix("ab".into()))
        );
        assert_eq!(
            SearchRule::of(Some(" abC ")),
            Some(SearchRule::Substring("abc".into()))
        );
        assert_eq!(prefix_pattern("a_b"), "a\\_b%");
        assert_eq!(fts_phrase("a\"b"), "\"a\"\"b\"");
    }

    #[test]
    fn a_search_count_probes_at_most_three_trigrams_of_the_text() {
        assert_eq!(probe_trigrams("abc"), ["abc"]);
        assert_eq!(probe_trigrams("abcde"), ["abc", "bcd", "cde"]);
        assert_eq!(probe_trigrams("model-00000"), ["mod", "l-0", "000"]);
        assert_eq!(probe_trigrams("aaaa"), ["aaa"]);
        assert_eq!(
            fts_all(&probe_trigrams("a\"bc")),
            "(\"a\"\"b\" AND \"\"\"bc\")"
        );
    }
}
