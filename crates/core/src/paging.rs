//! Keyset pagination: opaque cursors that name the last row of a page, so that the next page
//! starts with an index seek instead of skipping `offset` rows, and capped counts. The store
//! turns a cursor into `(key, tie) < (…, …)`; nothing here knows SQL.
//!
//! A cursor is `base64url("v1\n<order tag>\n<key>\n<tie>")`, each part typed (`i` integer, `t`
//! text). The order tag binds it to the list and sort order that made it: a cursor of another
//! list, or an edited one, is refused with a 400 naming `cursor`.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::names::FieldError;

/// Counts stop at this many matching rows: counting further would cost time that grows with
/// the table. A count at the cap is reported as "at least" (`totalIsEstimate`).
pub const COUNT_CAP: u64 = 1_000;

/// A count of a substring search examines at most this many of its index's candidates (the
/// rows that hold every probed trigram of the text, see `tessera_store`'s search counts), so
/// that a needle whose trigrams are common but whose matches are few costs this many rows, not
/// the table: past it, the matches found so far are reported as "at least" (`totalIsEstimate`).
/// Under it (small tables, rare needles), the count is exact up to [`COUNT_CAP`].
pub const SEARCH_COUNT_BUDGET: u64 = 1_000;

/// Longest cursor accepted, in characters (a cursor carries two keys and a tag).
const MAX_CURSOR_LEN: usize = 1024;

/// One sort-key value of a cursor.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CursorKey {
    Int(i64),
    Text(String),
}

impl CursorKey {
    fn encode(&self) -> String {
        match self {
            CursorKey::Int(n) => format!("i{n}"),
            CursorKey::Text(s) => format!("t{s}"),
        }
    }

    fn decode(raw: &str) -> Option<CursorKey> {
        let mut chars = raw.chars();
        match chars.next()? {
            'i' => chars.as_str().parse().ok().map(CursorKey::Int),
            't' => Some(CursorKey::Text(chars.as_str().to_string())),
            _ => None,
        }
    }

    /// The integer, if this key is one.
    pub fn as_int(&self) -> Option<i64> {
        match self {
            CursorKey::Int(n) => Some(*n),
            CursorKey::Text(_) => None,
        }
    }

    /// The text, if this key is one.
    pub fn as_text(&self) -> Option<&str> {
        match self {
            CursorKey::Text(s) => Some(s),
            CursorKey::Int(_) => None,
        }
    }
}

/// Where a page starts: strictly after the row with sort key `key` and tie-breaker `tie` in the
/// order named by `tag`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Cursor {
    pub tag: &'static str,
    pub key: CursorKey,
    pub tie: CursorKey,
}

impl Cursor {
    pub fn new(tag: &'static str, key: CursorKey, tie: CursorKey) -> Cursor {
        Cursor { tag, key, tie }
    }

    /// The opaque wire form.
    pub fn encode(&self) -> String {
        let plain = format!(
            "v1\n{}\n{}\n{}",
            self.tag,
            self.key.encode(),
            self.tie.encode()
        );
        URL_SAFE_NO_PAD.encode(plain)
    }

    /// Reads a cursor made by [`Cursor::encode`] for the order `tag`; anything else is a
    /// `FieldError` on `cursor`. `key_is_int`/`tie_is_int` say which types the order uses.
    pub fn decode(
        raw: &str,
        tag: &'static str,
        key_is_int: bool,
        tie_is_int: bool,
    ) -> Result<Cursor, FieldError> {
        let bad = || {
            FieldError::new(
                "cursor",
                "is not a cursor of this list and order; pass the nextCursor of a previous page unchanged",
            )
        };
        if raw.len() > MAX_CURSOR_LEN {
            return Err(bad());
        }
        let bytes = URL_SAFE_NO_PAD.decode(raw.trim()).map_err(|_| bad())?;
        let plain = String::from_utf8(bytes).map_err(|_| bad())?;
        let mut parts = plain.splitn(4, '\n');
        if parts.next() != Some("v1") || parts.next() != Some(tag) {
            return Err(bad());
        }
        let key = parts.next().and_then(CursorKey::decode).ok_or_else(bad)?;
        let tie = parts.next().and_then(CursorKey::decode).ok_or_else(bad)?;
        let typed = |k: &CursorKey, int: bool| matches!(k, CursorKey::Int(_)) == int;
        if !typed(&key, key_is_int) || !typed(&tie, tie_is_int) || plain.contains('\0') {
            return Err(bad());
        }
        Ok(Cursor { tag, key, tie })
    }
}

/// A count of matching rows, exact below [`COUNT_CAP`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Total {
    pub count: u64,
    /// `true` when counting stopped at the cap: there are at least `count` rows.
    pub is_estimate: bool,
}

impl Total {
    /// The total from a count of at most `COUNT_CAP + 1` rows.
    pub fn from_capped(counted: u64) -> Total {
        Total {
            count: counted.min(COUNT_CAP),
            is_estimate: counted > COUNT_CAP,
        }
    }

    /// The total from a budgeted search count: `hits` matching rows among the `examined`
    /// candidates of the search's index (at most [`SEARCH_COUNT_BUDGET`] + 1). When there were
    /// more candidates than the budget, `hits` is a lower bound and the total an estimate;
    /// otherwise it is exact up to the cap.
    pub fn from_budgeted(hits: u64, examined: u64) -> Total {
        let capped = Total::from_capped(hits);
        Total {
            count: capped.count,
            is_estimate: capped.is_estimate || examined > SEARCH_COUNT_BUDGET,
        }
    }

    /// At least `seen` rows exist (the rows before and on a page that was read): an estimate
    /// is raised to it, so that "at least N" never says less than what was shown.
    pub fn at_least(self, seen: u64) -> Total {
        if self.is_estimate && seen > self.count {
            Total {
                count: seen,
                is_estimate: true,
            }
        } else {
            self
        }
    }
}

/// Where a page of a listing without filters starts, and how long it is: after the cursor
/// `after` (keyset) or past `offset` rows, at most `limit` rows.
#[derive(Clone, Debug, Default)]
pub struct PageQuery {
    pub after: Option<Cursor>,
    pub offset: u32,
    pub limit: u32,
}

/// One page of a listing: the rows, and the cursor of the next page when there may be one.
#[derive(Clone, Debug)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next: Option<Cursor>,
}

impl<T> Page<T> {
    /// A page of up to `limit` rows: when it is full there may be more, after its last row.
    pub fn of(items: Vec<T>, limit: u32, cursor_after: impl FnOnce(&T) -> Cursor) -> Page<T> {
        let full = limit > 0 && items.len() >= limit as usize;
        let next = items.last().filter(|_| full).map(cursor_after);
        Page { items, next }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cursor_reads_back_as_it_was_written() {
        let c = Cursor::new("pats", CursorKey::Int(-5), CursorKey::Text("a\nb".into()));
        let back = Cursor::decode(&c.encode(), "pats", true, false).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn a_cursor_of_another_order_or_an_edited_one_is_refused() {
        let c = Cursor::new("pats", CursorKey::Int(1), CursorKey::Text("x".into()));
        assert!(Cursor::decode(&c.encode(), "users", true, false).is_err());
        assert!(Cursor::decode(&c.encode(), "pats", false, false).is_err());
        assert!(Cursor::decode("!!!", "pats", true, false).is_err());
        assert!(Cursor::decode("", "pats", true, false).is_err());
        let err = Cursor::decode(&"A".repeat(2000), "pats", true, false).unwrap_err();
        assert_eq!(err.field, "cursor");
    }

    #[test]
    fn a_count_past_the_cap_is_an_estimate() {
        assert_eq!(
            Total::from_capped(COUNT_CAP + 1),
            Total {
                count: COUNT_CAP,
                is_estimate: true
            }
        );
        assert!(!Total::from_capped(3).is_estimate);
    }

    #[test]
    fn a_search_count_whose_budget_ran_out_is_an_estimate() {
        assert_eq!(
            Total::from_budgeted(40, SEARCH_COUNT_BUDGET + 1),
            Total {
                count: 40,
                is_estimate: true
            }
        );
        assert_eq!(
            Total::from_budgeted(40, SEARCH_COUNT_BUDGET),
            Total {
                count: 40,
                is_estimate: false
            }
        );
        assert_eq!(
            Total::from_budgeted(40, SEARCH_COUNT_BUDGET + 1)
                .at_least(60)
                .count,
            60
        );
        assert_eq!(Total::from_budgeted(40, 50).at_least(60).count, 40);
    }
}
