//! The query string of a page: like `axum::extract::Query`, but a query the page cannot take
//! (a parameter given twice, a value of the wrong shape) is the UI's HTML error page (400)
//! naming the parameter, never the API's JSON envelope (found by the second review of #17:
//! `?state=a&state=b` on the SSO callback answered JSON).

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::Response;
use minijinja::Value;
use serde::de::DeserializeOwned;

use crate::state::AppState;

/// A page's query parameters, deserialized into `T`; rejected with the HTML error page.
pub struct UiQuery<T>(pub T);

impl<T: DeserializeOwned> FromRequestParts<AppState> for UiQuery<T> {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let query = parts.uri.query().unwrap_or_default();
        parse(query).map(UiQuery).map_err(|message| {
            state
                .templates
                .error(StatusCode::BAD_REQUEST, &message, Value::UNDEFINED)
        })
    }
}

/// Parses a query string; `Err` is the sentence for the page, naming the parameter.
fn parse<T: DeserializeOwned>(query: &str) -> Result<T, String> {
    let pairs: Vec<(String, String)> = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    // No page takes a parameter twice: which one was meant cannot be known.
    for (i, (key, _)) in pairs.iter().enumerate() {
        if pairs[..i].iter().any(|(k, _)| k == key) {
            return Err(format!(
                "The address gives the parameter '{}' more than once; give it once.",
                shown(key)
            ));
        }
    }
    let encoded = form_urlencoded::Serializer::new(String::new())
        .extend_pairs(&pairs)
        .finish();
    let pairs = form_urlencoded::parse(encoded.as_bytes());
    serde_path_to_error::deserialize(serde_urlencoded::Deserializer::new(pairs)).map_err(|error| {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if path == "." || path.is_empty() {
            format!("The address's parameters are not valid: {inner}.")
        } else {
            format!(
                "The address's parameter '{}' is not valid: {inner}.",
                shown(&path)
            )
        }
    })
}

/// A parameter's name as quoted on a page: at most 64 characters, no control characters.
fn shown(name: &str) -> String {
    name.chars().filter(|c| !c.is_control()).take(64).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize, Debug)]
    struct Q {
        #[allow(dead_code)]
        state: Option<String>,
        #[allow(dead_code)]
        count: Option<u32>,
    }

    #[test]
    fn a_repeated_or_malformed_parameter_is_named() {
        assert!(parse::<Q>("state=a&count=2").is_ok());
        let twice = parse::<Q>("state=a&state=b").unwrap_err();
        assert!(twice.contains("'state' more than once"), "{twice}");
        let bad = parse::<Q>("count=many").unwrap_err();
        assert!(bad.contains("'count'"), "{bad}");
    }
}
