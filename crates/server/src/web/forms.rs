//! Reading HTML forms whose fields repeat (checkbox groups such as roles or selected tokens),
//! which `axum::Form` cannot express, and field errors keyed for the templates.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minijinja::Value;
use tessera_core::names::FieldError;

use crate::state::AppState;

/// An `application/x-www-form-urlencoded` body, every field in order.
pub struct Fields(Vec<(String, String)>);

impl Fields {
    /// The first value of `name`, or "".
    pub fn get(&self, name: &str) -> &str {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map_or("", |(_, v)| v.as_str())
    }

    /// The value of `name`; `Err` is the sentence for the UI's 400 page, naming the field.
    pub fn required(&self, name: &str) -> Result<&str, String> {
        match self.0.iter().find(|(k, _)| k == name) {
            Some((_, v)) => Ok(v.as_str()),
            None => Err(format!(
                "The form has no field '{name}'. Reload the page and try again."
            )),
        }
    }

    /// The value of `name` unless it is blank.
    pub fn optional(&self, name: &str) -> Option<&str> {
        Some(self.get(name).trim()).filter(|v| !v.is_empty())
    }

    /// Every value of `name`.
    pub fn all(&self, name: &str) -> Vec<String> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.clone())
            .collect()
    }
}

/// A body that is not a form is refused with the UI's HTML error page, never the API's JSON
/// (found by the third review of #17).
impl FromRequest<AppState> for Fields {
    type Rejection = Response;

    async fn from_request(request: Request, state: &AppState) -> Result<Fields, Response> {
        let page = |status: StatusCode, message: &str| {
            state.templates.error(status, message, Value::UNDEFINED)
        };
        let body = Bytes::from_request(request, state).await.map_err(|rejection| {
            let status = rejection.into_response().status();
            page(status, "The form could not be read (too large or cut off). Reload the page and try again.")
        })?;
        if body.is_empty() {
            return Err(page(
                StatusCode::BAD_REQUEST,
                "The form is empty. Reload the page and try again.",
            ));
        }
        Ok(Fields(
            form_urlencoded::parse(&body)
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect(),
        ))
    }
}

/// Field errors for a template: `errors.<field>` is the message.
#[derive(Default)]
pub struct Errors(std::collections::BTreeMap<&'static str, String>);

impl Errors {
    pub fn add(&mut self, error: FieldError) {
        self.0.entry(error.field).or_insert(error.message);
    }

    pub fn other(&mut self, message: String) {
        self.0.entry("other").or_insert(message);
    }

    pub fn value(&self) -> Value {
        Value::from_serialize(&self.0)
    }
}
