//! Reading HTML forms whose fields repeat (checkbox groups such as roles or selected tokens),
//! which `axum::Form` cannot express, and field errors keyed for the templates.

use axum::body::Bytes;
use axum::extract::{FromRequest, Request};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use minijinja::Value;
use tessera_core::names::FieldError;

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

impl<S: Send + Sync> FromRequest<S> for Fields {
    type Rejection = Response;

    async fn from_request(request: Request, state: &S) -> Result<Fields, Response> {
        let body = Bytes::from_request(request, state)
            .await
            .map_err(IntoResponse::into_response)?;
        if body.is_empty() {
            return Err((StatusCode::BAD_REQUEST, "the form is empty").into_response());
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
