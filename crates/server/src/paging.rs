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
    (headers(page.next.as_ref(), total), Json(body))
}

/// The paging headers of a response.
pub fn headers(next: Option<&Cursor>, total: Total) -> HeaderMap {
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
