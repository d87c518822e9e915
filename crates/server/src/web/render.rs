//! Page rendering: the templates, compiled into the binary, and the HTML answers built from them.

use axum::http::StatusCode;
use axum::response::{Html, IntoResponse, Response};
use minijinja::{Environment, Value, context};
use tessera_core::services::ServiceError;

use crate::error::ApiError;

const TEMPLATES: [(&str, &str); 15] = [
    ("projects.html", include_str!("templates/projects.html")),
    ("project.html", include_str!("templates/project.html")),
    ("models.html", include_str!("templates/models.html")),
    ("model.html", include_str!("templates/model.html")),
    (
        "model_settings.html",
        include_str!("templates/model_settings.html"),
    ),
    ("base.html", include_str!("templates/base.html")),
    ("macros.html", include_str!("templates/macros.html")),
    (
        "admin_users.html",
        include_str!("templates/admin_users.html"),
    ),
    (
        "admin_service_accounts.html",
        include_str!("templates/admin_service_accounts.html"),
    ),
    (
        "admin_tokens.html",
        include_str!("templates/admin_tokens.html"),
    ),
    (
        "admin_audit.html",
        include_str!("templates/admin_audit.html"),
    ),
    ("login.html", include_str!("templates/login.html")),
    ("error.html", include_str!("templates/error.html")),
    ("account.html", include_str!("templates/account.html")),
    ("api_key.html", include_str!("templates/api_key.html")),
];

pub struct Templates {
    env: Environment<'static>,
}

impl Templates {
    /// Compiles every template; an error names the broken one.
    pub fn new() -> Result<Templates, minijinja::Error> {
        let mut env = Environment::new();
        for (name, source) in TEMPLATES {
            env.add_template(name, source)?;
        }
        Ok(Templates { env })
    }

    fn render(&self, name: &str, ctx: Value) -> Result<String, minijinja::Error> {
        self.env.get_template(name).and_then(|t| t.render(ctx))
    }

    /// `name` rendered with `ctx`, as an HTML answer with `status`.
    pub fn page(&self, status: StatusCode, name: &str, ctx: Value) -> Response {
        match self.render(name, ctx) {
            Ok(html) => (status, Html(html)).into_response(),
            Err(error) => {
                tracing::error!(%error, template = name, "cannot render a page");
                (
                    StatusCode::INTERNAL_SERVER_ERROR,
                    Html("<!doctype html><title>Error</title><p>This page cannot be shown.</p>"),
                )
                    .into_response()
            }
        }
    }

    /// An error page; `viewer` and `csrf` keep the navigation when someone is logged in.
    pub fn error(&self, status: StatusCode, message: &str, nav: Value) -> Response {
        let heading = match status {
            StatusCode::FORBIDDEN => "Not allowed",
            StatusCode::NOT_FOUND => "Not found",
            StatusCode::TOO_MANY_REQUESTS => "Too many attempts",
            StatusCode::SERVICE_UNAVAILABLE => "Unavailable",
            _ => "Something went wrong",
        };
        let ctx = context! { status => status.as_u16(), heading, message, ..nav };
        self.page(status, "error.html", ctx)
    }

    /// The page for a service's failure: the status and message of the API's mapping
    /// ([`ApiError::from`]), so a page and an API call say the same thing (a store failure 500
    /// or 503, text the database cannot hold the visitor's 400). A 5xx is logged with its code.
    pub fn failure(&self, error: &ServiceError, nav: Value) -> Response {
        let api = ApiError::from(error);
        if api.status().is_server_error() {
            tracing::warn!(%error, code = api.code(), "a page failed");
        }
        self.error(api.status(), &api.public_message(), nav)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_compiles_and_escapes_html() {
        let templates = Templates::new().unwrap();
        let html = templates
            .render(
                "error.html",
                context! { status => 404, heading => "Not found", message => "<script>alert(1)</script>" },
            )
            .unwrap();
        assert!(html.contains("&lt;script&gt;alert(1)"), "{html}");
        assert!(!html.contains("<script>alert(1)"));
        let page = templates.error(StatusCode::NOT_FOUND, "gone", Value::UNDEFINED);
        assert_eq!(page.status(), StatusCode::NOT_FOUND);
    }
}
