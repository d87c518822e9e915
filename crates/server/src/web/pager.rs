//! Next/previous paging of the admin lists (users, service accounts, all tokens, audit) over
//! keyset cursors, with how many rows match. The URL carries the page's `cursor`, its number
//! `page` (what its rows are labelled, counted from 1) and `back`, the cursors of the pages
//! before it (`-` for the first page), so that *Previous* needs no state on the server. It must
//! not decide what a page holds: the services do.

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
    /// The page's number, from 1 (absent or not a number: the first page, or the trail's length
    /// plus one). Text, because the lists' query structs flatten this one, and a flattened
    /// field of serde_urlencoded only ever holds text.
    pub page: Option<String>,
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

fn url(
    path: &str,
    filters: &[(&str, &str)],
    cursor: Option<&str>,
    back: &[String],
    page: u32,
) -> String {
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
    if page > 1 {
        query.append_pair("page", &page.to_string());
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
    // The number labels the rows; the trail, cut at MAX_TRAIL, cannot (found by the review of
    // #19: past page 40 the labels were off and Previous skipped pages).
    let trail_number = u32::try_from(trail.len())
        .unwrap_or(u32::MAX)
        .saturating_add(1);
    let number = match current {
        None => 1,
        Some(_) => params
            .page
            .as_deref()
            .and_then(|p| p.parse().ok())
            .unwrap_or(trail_number)
            .max(2),
    };
    let first_row = usize::try_from(number - 1)
        .unwrap_or(usize::MAX)
        .saturating_mul(PAGE_SIZE as usize)
        .saturating_add(1);
    // An estimate (a lower bound) never says fewer rows than this page shows and implies.
    let seen = first_row - 1 + shown + usize::from(next.is_some());
    let total = total.at_least(u64::try_from(seen).unwrap_or(u64::MAX));
    let next_url = next.map(|cursor| {
        let mut back = trail.clone();
        back.push(current.unwrap_or("-").to_string());
        if back.len() > MAX_TRAIL {
            back.remove(0);
        }
        url(path, filters, Some(&cursor.encode()), &back, number + 1)
    });
    let previous_url = current.map(|_| {
        let mut back = trail.clone();
        match back.pop().filter(|c| c != "-") {
            // The page before, whose cursor the trail kept.
            Some(previous) if number > 2 => url(path, filters, Some(&previous), &back, number - 1),
            // The first page: its own entry, or a trail cut too short to reach the page before.
            _ => url(path, filters, None, &[], 1),
        }
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
        assert_eq!(
            next,
            format!("/p?q=x+y&cursor={}&back=-&page=2", c1.encode())
        );
        let second = PageParams {
            cursor: Some(c1.encode()),
            back: Some("-".into()),
            page: Some("2".into()),
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

    /// The parameters a link of the pager carries, as the page it leads to reads them.
    fn params_of(link: &str) -> PageParams {
        let query: std::collections::HashMap<String, String> = link
            .split_once('?')
            .map(|(_, q)| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
            .unwrap_or_default();
        PageParams {
            cursor: query.get("cursor").cloned(),
            back: query.get("back").cloned(),
            page: query.get("page").cloned(),
        }
    }

    /// Found by the review of #19: past MAX_TRAIL pages the label came from the trail's length.
    #[test]
    fn far_pages_are_labelled_by_their_number_and_previous_never_skips_silently() {
        let total = Total::from_capped(100_000);
        let mut params = PageParams::default();
        for n in 1..=45_i64 {
            let cursor = Cursor::new("t", CursorKey::Int(n), CursorKey::Int(n));
            let page = pager("/p", &[], &params, 50, Some(&cursor), total);
            params = params_of(&page.get_attr("next_url").unwrap().to_string());
        }
        let page = pager("/p", &[], &params, 50, None, total);
        assert_eq!(page.get_attr("from").unwrap().to_string(), "2251");
        // Walking back: every page keeps its own number until the cut trail runs out, which
        // leads to the first page, labelled as such.
        let mut labels = Vec::new();
        let mut current = params;
        while current.cursor.is_some() {
            let page = pager("/p", &[], &current, 50, None, total);
            labels.push(page.get_attr("from").unwrap().to_string());
            current = params_of(&page.get_attr("previous_url").unwrap().to_string());
        }
        let first = pager("/p", &[], &current, 50, None, total);
        assert_eq!(first.get_attr("from").unwrap().to_string(), "1");
        let expected: Vec<String> = (0..labels.len())
            .map(|i| (2251 - 50 * i).to_string())
            .collect();
        assert_eq!(labels, expected);
    }
}
