//! Next/previous paging of the admin lists (users, service accounts, all tokens, audit) over
//! keyset cursors, with how many rows match. The URL carries the page's `cursor` and `back`,
//! the cursors of the pages before it (`-` for the first page), so that *Previous* needs no
//! state on the server. It must not decide what a page holds: the services do.

use minijinja::{Value, context};
use serde::Deserialize;
use tessera_core::names::FieldError;
use tessera_core::paging::{Cursor, Total};

/// Rows on a page of an admin list.
pub const PAGE_SIZE: u32 = 50;

/// Longest `back` trail kept in a URL (older pages are reached again from the first).
const MAX_TRAIL: usize = 40;

/// Where a page starts, from the query string.
#[derive(Clone, Debug, Default, Deserialize)]
pub struct PageParams {
    pub cursor: Option<String>,
    pub back: Option<String>,
}

impl PageParams {
    /// The decoded cursor of this page, `None` on the first page.
    pub fn cursor(
        &self,
        decode: impl FnOnce(&str) -> Result<Cursor, FieldError>,
    ) -> Result<Option<Cursor>, FieldError> {
        self.cursor
            .as_deref()
            .filter(|s| !s.is_empty())
            .map(decode)
            .transpose()
    }

    fn trail(&self) -> Vec<String> {
        self.back
            .as_deref()
            .unwrap_or("")
            .split(',')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }
}

fn url(path: &str, filters: &[(&str, &str)], cursor: Option<&str>, back: &[String]) -> String {
    let mut query = form_urlencoded::Serializer::new(String::new());
    for (name, value) in filters.iter().filter(|(_, v)| !v.is_empty()) {
        query.append_pair(name, value);
    }
    if let Some(cursor) = cursor {
        query.append_pair("cursor", cursor);
    }
    if !back.is_empty() {
        query.append_pair("back", &back.join(","));
    }
    let query = query.finish();
    if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    }
}

/// The pager of a page: which rows it shows out of how many, and the links to the pages around
/// it. `filters` are the query parameters that chose the rows, kept on every link.
pub fn pager(
    path: &str,
    filters: &[(&str, &str)],
    params: &PageParams,
    shown: usize,
    next: Option<&Cursor>,
    total: Total,
) -> Value {
    let trail = params.trail();
    let current = params.cursor.as_deref().filter(|s| !s.is_empty());
    let first_row = trail.len() * PAGE_SIZE as usize + 1;
    // An estimate (a lower bound) never says fewer rows than this page shows and implies.
    let seen = first_row - 1 + shown + usize::from(next.is_some());
    let total = total.at_least(u64::try_from(seen).unwrap_or(u64::MAX));
    let next_url = next.map(|cursor| {
        let mut back = trail.clone();
        back.push(current.unwrap_or("-").to_string());
        if back.len() > MAX_TRAIL {
            back.remove(0);
        }
        url(path, filters, Some(&cursor.encode()), &back)
    });
    let previous_url = current.map(|_| {
        let mut back = trail.clone();
        let previous = back.pop().filter(|c| c != "-");
        url(path, filters, previous.as_deref(), &back)
    });
    context! {
        from => if shown == 0 { 0 } else { first_row },
        to => first_row + shown - usize::from(shown > 0),
        total => total.count,
        total_is_estimate => total.is_estimate,
        next_url,
        previous_url,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_core::paging::CursorKey;

    #[test]
    fn next_then_previous_comes_back_to_the_same_page() {
        let c1 = Cursor::new("t", CursorKey::Int(1), CursorKey::Int(1));
        let total = Total::from_capped(120);
        let first = pager(
            "/p",
            &[("q", "x y")],
            &PageParams::default(),
            50,
            Some(&c1),
            total,
        );
        let next = first.get_attr("next_url").unwrap().to_string();
        assert_eq!(next, format!("/p?q=x+y&cursor={}&back=-", c1.encode()));
        let second = PageParams {
            cursor: Some(c1.encode()),
            back: Some("-".into()),
        };
        let page = pager("/p", &[("q", "x y")], &second, 50, None, total);
        assert_eq!(
            page.get_attr("previous_url").unwrap().to_string(),
            "/p?q=x+y"
        );
        assert_eq!(page.get_attr("from").unwrap().to_string(), "51");
        assert!(page.get_attr("next_url").unwrap().is_none());
    }

    #[test]
    fn an_estimate_never_says_fewer_rows_than_the_pages_show_and_an_exact_count_stays() {
        let c1 = Cursor::new("t", CursorKey::Int(1), CursorKey::Int(1));
        let low = Total {
            count: 3,
            is_estimate: true,
        };
        let page = pager("/p", &[], &PageParams::default(), 50, Some(&c1), low);
        assert_eq!(page.get_attr("total").unwrap().to_string(), "51");
        assert_eq!(
            page.get_attr("total_is_estimate").unwrap().to_string(),
            "True"
        );
        let page = pager("/p", &[], &PageParams::default(), 50, None, low);
        assert_eq!(page.get_attr("total").unwrap().to_string(), "50");
        let exact = Total::from_capped(70);
        let page = pager("/p", &[], &PageParams::default(), 50, Some(&c1), exact);
        assert_eq!(page.get_attr("total").unwrap().to_string(), "70");
        assert_eq!(
            page.get_attr("total_is_estimate").unwrap().to_string(),
            "False"
        );
    }
}
