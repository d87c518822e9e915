//! Paging on the wire for Tessera's own list paths: a `cursor` query parameter in (the
//! `X-Next-Cursor` of the previous page, unchanged), and headers out, so that the bodies stay
//! the bare JSON arrays clients already read:
//! - `X-Next-Cursor`: the cursor of the next page, absent on the last page;
//! - `X-Total-Count`: how many rows match the filters, counted up to
//!   [`tessera_core::paging::COUNT_CAP`];
//! - `X-Total-Is-Estimate`: `true` when counting stopped at the cap, or a search's count at its
//!   budget of candidates ([`tessera_core::paging::SEARCH_COUNT_BUDGET`]): there are at least
//!   that many; `false` when the count is exact.
//!
//! `offset` stays accepted (it scans the rows it skips); a cursor with an offset is a 400.

use axum::Json;
use axum::http::{HeaderMap, HeaderName, HeaderValue};
use tessera_core::names::FieldError;
use tessera_core::paging::{Cursor, Page, PageQuery, Total};

use crate::error::{ApiError, ApiResult};

pub const NEXT_CURSOR: HeaderName = HeaderName::from_static("x-next-cursor");
pub const TOTAL_COUNT: HeaderName = HeaderName::from_static("x-total-count");
pub const TOTAL_IS_ESTIMATE: HeaderName = HeaderName::from_static("x-total-is-estimate");

/// The cursor of a request, read with `decode`; `None` when absent or empty.
pub fn cursor(
    raw: Option<&str>,
    offset: u32,
    decode: impl FnOnce(&str) -> Result<Cursor, FieldError>,
) -> ApiResult<Option<Cursor>> {
    let Some(raw) = raw.filter(|s| !s.is_empty()) else {
        return Ok(None);
    };
    if offset > 0 {
        return Err(ApiError::BadRequest(
            "offset: cannot be combined with cursor (a cursor already says where the page starts)"
                .into(),
        ));
    }
    Ok(Some(decode(raw)?))
}

/// The page a request asks for on a list whose cursor is a plain `Cursor` tagged `tag` (text
/// key and tie): its cursor read as `cursor` does, its offset, and its `limit` (already checked).
pub fn query(
    raw: Option<&str>,
    offset: u32,
    limit: u32,
    tag: &'static str,
) -> ApiResult<PageQuery> {
    Ok(PageQuery {
        after: cursor(raw, offset, |raw| Cursor::decode(raw, tag, false, false))?,
        offset,
        limit,
    })
}

/// A listing's answer: the paging headers, and the bare JSON array of the page's rows.
pub type Listing<J> = (HeaderMap, Json<Vec<J>>);

/// The answer to a list request: each row of `page` as `json` makes it, under the paging
/// headers of `page` and `total`.
pub fn listing<T, J>(page: &Page<T>, total: Total, json: impl FnMut(&T) -> J) -> Listing<J> {
    let body = page.items.iter().map(json).collect();
    (page_headers(page, total, 0), Json(body))
}

/// The paging headers of `page`, read `offset` rows into the listing (0 after a cursor, whose
/// position is not known here): [`headers`] with the rows the answer shows.
pub fn page_headers<T>(page: &Page<T>, total: Total, offset: u32) -> HeaderMap {
    let through = usize::try_from(offset)
        .unwrap_or(usize::MAX)
        .saturating_add(page.items.len());
    headers(page.next.as_ref(), total, through)
}

/// The paging headers of a response whose page ends `through` rows into the listing (its
/// offset plus its rows; its rows alone when the offset is unknown, as after a cursor): an
/// estimated total is raised to `through`, and one more when there is a next page, so that
/// "at least N" never says less than the answer shows (found by the review of #19: a budgeted
/// search count said 0 beside 50 rows).
pub fn headers(next: Option<&Cursor>, total: Total, through: usize) -> HeaderMap {
    let seen = u64::try_from(through)
        .unwrap_or(u64::MAX)
        .saturating_add(u64::from(next.is_some()));
    let total = total.at_least(seen);
    let mut headers = HeaderMap::new();
    if let Some(next) = next
        && let Ok(value) = HeaderValue::from_str(&next.encode())
    {
        headers.insert(NEXT_CURSOR, value);
    }
    headers.insert(TOTAL_COUNT, HeaderValue::from(total.count));
    headers.insert(
        TOTAL_IS_ESTIMATE,
        HeaderValue::from_static(if total.is_estimate { "true" } else { "false" }),
    );
    headers
}

#[cfg(test)]
mod tests {
    use tessera_core::paging::{Cursor, CursorKey, Total};

    use super::{TOTAL_COUNT, TOTAL_IS_ESTIMATE, headers};

    fn said(next: Option<&Cursor>, total: Total, through: usize) -> (String, String) {
        let h = headers(next, total, through);
        let text = |name| h.get(name).unwrap().to_str().unwrap().to_string();
        (text(&TOTAL_COUNT), text(&TOTAL_IS_ESTIMATE))
    }

    #[test]
    fn an_estimate_is_never_below_the_rows_an_answer_shows_and_an_exact_count_is_kept() {
        let estimate = Total {
            count: 0,
            is_estimate: true,
        };
        let next = Cursor::new("t", CursorKey::Int(1), CursorKey::Int(2));
        assert_eq!(
            said(Some(&next), estimate, 50),
            ("51".into(), "true".into())
        );
        assert_eq!(said(None, estimate, 120), ("120".into(), "true".into()));
        let bigger = Total {
            count: 900,
            is_estimate: true,
        };
        assert_eq!(said(Some(&next), bigger, 50), ("900".into(), "true".into()));
        let exact = Total {
            count: 7,
            is_estimate: false,
        };
        assert_eq!(said(None, exact, 7), ("7".into(), "false".into()));
    }
}
