//! The contract (SPEC section 3): `GET /openapi.json`, OpenAPI 3.1 generated from the handlers'
//! `#[utoipa::path]` annotations and their wire types, and `GET /docs`, a reference of that same
//! document rendered by the server (no CDN, no asset fetched at build time). Public. The
//! `route_coverage` test fails when the router serves a path the document lacks.

mod docs;
mod links;
pub mod rules;
pub mod schemas;
#[cfg(test)]
mod tests;
pub mod tolerance;

use std::sync::LazyLock;

use axum::Router;
use axum::http::header;
use axum::response::{Html, IntoResponse};
use axum::routing::get;
use utoipa::OpenApi;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{ContentBuilder, Ref, ResponseBuilder, SecurityRequirement};

use crate::state::AppState;

pub fn routes() -> Router<AppState> {
    Router::new()
        .route("/openapi.json", get(openapi_json))
        .route("/docs", get(reference))
}

/// The document, built once: it depends on the code only, never on configuration.
static DOCUMENT: LazyLock<String> =
    LazyLock::new(|| document().to_pretty_json().unwrap_or_default());
static REFERENCE: LazyLock<String> = LazyLock::new(|| docs::render(&document()));

/// The OpenAPI 3.1 document of every endpoint.
pub fn document() -> utoipa::openapi::OpenApi {
    ApiDoc::openapi()
}

/// Public: this document.
#[utoipa::path(get, path = "/openapi.json", tag = "contract", operation_id = "openapi",
    security(()),
    responses((status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object)))]
async fn openapi_json() -> impl IntoResponse {
    (
        [
            (header::CONTENT_TYPE, "application/json"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        DOCUMENT.as_str(),
    )
}

/// The reference page's policy: nothing but its own inline stylesheet (allowed by its SHA-256,
/// CSP Level 2 section 4.2), no script at all, no framing, no form target.
static REFERENCE_CSP: LazyLock<String> = LazyLock::new(|| {
    format!(
        "default-src 'none'; style-src '{}'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
        docs::style_source()
    )
});

/// Public: a readable reference of `/openapi.json`, rendered by the server. It carries the
/// web UI's defences: a strict Content-Security-Policy, no framing, no content sniffing.
#[utoipa::path(get, path = "/docs", tag = "contract", operation_id = "docs",
    security(()),
    responses((status = 200, description = "The reference, as an HTML page", content_type = "text/html", body = String)))]
async fn reference() -> impl IntoResponse {
    (
        page_headers(REFERENCE_CSP.as_str()),
        Html(REFERENCE.as_str()),
    )
}

/// The headers of a documentation page: its Content-Security-Policy, no framing, no content
/// sniffing, no referrer beyond this origin (the web UI's defences).
pub fn page_headers(csp: &str) -> [(header::HeaderName, &str); 4] {
    [
        (header::CONTENT_SECURITY_POLICY, csp),
        (header::X_FRAME_OPTIONS, "DENY"),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "same-origin"),
    ]
}

#[derive(OpenApi)]
#[openapi(
    info(
        title = "Tessera",
        description = "Authentication and access control, compatible with Domino's API: personal access tokens, service accounts, legacy API keys, a Keycloak-compatible realm issuing JWTs, and model API invocation. Errors are Domino's FailureEnvelope (`{\"errors\": [...], \"requestId\": ...}`), except on the realm's OAuth endpoints, which answer RFC 6749 error bodies. Paths marked *(Domino)* ignore body fields and query parameters they do not know; Tessera's own paths refuse them with a 400 naming them.",
        license(name = "Apache-2.0", identifier = "Apache-2.0")
    ),
    paths(
        openapi_json, reference,
        super::system::healthz, super::system::readyz, super::system::version,
        super::system::pat_docs,
        super::identity::me, super::identity::users, super::identity::principal,
        super::pats::create, super::pats::list, super::pats::delete_all, super::pats::revoke_all,
        super::pats::expiration_policy, super::pats::delete_one, super::pats::revoke_one,
        super::pats::rotate,
        super::api_key::regenerate,
        super::admin_users::create, super::admin_users::list, super::admin_users::one,
        super::admin_users::update, super::admin_users::set_roles, super::admin_users::deactivate,
        super::admin_users::activate, super::admin_users::set_password,
        super::admin_pats::list, super::admin_pats::bulk_revoke, super::admin_pats::bulk_delete,
        super::admin_pats::delete_one, super::admin_pats::revoke_one,
        super::admin_realm::rotate,
        super::audit::list,
        super::service_accounts::list, super::service_accounts::create,
        super::service_accounts::one, super::service_accounts::deactivate,
        super::service_accounts::activate, super::service_accounts::tokens,
        super::service_accounts::create_token, super::service_accounts::token,
        super::service_accounts::invalidate_token,
        super::organizations::list, super::organizations::create, super::organizations::one,
        super::organizations::add_member, super::organizations::remove_member,
        super::projects::create, super::projects::one, super::projects::add_collaborator,
        super::projects::remove_collaborator, super::projects::list, super::projects::find,
        super::model_apis::create, super::model_apis::list, super::model_apis::one,
        super::model_apis::update, super::model_apis::set_visibility,
        super::model_apis::set_authorization, super::model_apis::transfer,
        super::model_apis::collaborators, super::model_apis::add_collaborator,
        super::model_apis::set_role, super::model_apis::remove_collaborator,
        super::model_serving::versions, super::model_serving::deploy,
        super::model_serving::activate, super::model_serving::tokens,
        super::model_serving::create_token, super::model_serving::reveal,
        super::model_serving::revoke, super::model_serving::logs, super::model_serving::audit,
        super::realm::realm_document, super::realm::certs, super::realm::discovery,
        super::realm::authorize, super::realm::token::token, super::realm::userinfo::userinfo_get,
        super::realm::userinfo::userinfo_post,
        super::forward_auth::verify, super::forward_auth::verify_prefix,
        super::forward_auth::verify_path,
        super::invoke::latest, super::invoke::numbered,
        super::predictions::submit, super::predictions::status,
    ),
    components(schemas(schemas::FailureEnvelope, schemas::OAuthError)),
    modifiers(&Contract),
    tags(
        (name = "identity", description = "Who the caller is (Domino)"),
        (name = "pats", description = "The caller's own personal access tokens (Domino)"),
        (name = "admin", description = "Administration: SysAdmin only, 403 for anyone else"),
        (name = "service-accounts", description = "Service accounts and their tokens (Domino; SysAdmin only)"),
        (name = "projects", description = "Projects, as the dominodatalab client calls them (Domino)"),
        (name = "model-apis", description = "Model API management"),
        (name = "model-invocation", description = "Model invocation with the model's own credentials (Domino)"),
        (name = "realm", description = "The Keycloak-compatible realm: documents, token exchange, userinfo"),
        (name = "forward-auth", description = "Forward authentication for nginx, Traefik and Envoy"),
        (name = "system", description = "Health, readiness, version"),
        (name = "contract", description = "This document and its reference"),
    )
)]
struct ApiDoc;

/// Security schemes, the default requirement and the error responses every operation may give.
struct Contract;

/// Statuses any API operation may answer with an error body, besides those it lists itself:
/// the authentication layer, the body limit, the timeout, the failure throttle and the database.
const ERROR_STATUSES: &[(&str, &str)] = &[
    ("400", "Invalid input; the message names the field"),
    ("401", "No valid credential (with `WWW-Authenticate`)"),
    ("403", "Authenticated but not allowed"),
    ("404", "Not found, or not visible to the caller"),
    ("408", "The request took longer than the server allows"),
    ("409", "Conflict with the current state"),
    ("413", "The body is larger than the server accepts"),
    (
        "429",
        "Too many failed authentications from this address (with `Retry-After`)",
    ),
    (
        "500",
        "Internal error: only a correlation id, the detail is in the log",
    ),
    ("503", "A dependency (the database) cannot be reached"),
];

impl utoipa::Modify for Contract {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        for (name, fields) in rules::EXACTLY_ONE_OF {
            if let Some(schema) = components.schemas.get_mut(*name) {
                *schema = rules::exactly_one_of(schema.clone(), fields).into();
            }
        }
        let http = |scheme, description: &str| {
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(scheme)
                    .description(Some(description))
                    .build(),
            )
        };
        components.add_security_scheme(
            "bearer",
            http(
                HttpAuthScheme::Bearer,
                "A personal access token, a service-account token or a realm access JWT",
            ),
        );
        components.add_security_scheme(
            "apiKey",
            SecurityScheme::ApiKey(ApiKey::Header(ApiKeyValue::with_description(
                "X-Domino-Api-Key",
                "The legacy API key (deprecated: responses carry `Deprecation: true`)",
            ))),
        );
        components.add_security_scheme(
            "modelBasic",
            http(
                HttpAuthScheme::Basic,
                "A model API's access token as both user name and password (`token:token`)",
            ),
        );
        components.add_security_scheme(
            "modelBearer",
            http(
                HttpAuthScheme::Bearer,
                "A model API's access token (asynchronous predictions)",
            ),
        );
        let default = vec![
            SecurityRequirement::new("bearer", Vec::<String>::new()),
            SecurityRequirement::new("apiKey", Vec::<String>::new()),
        ];
        for (path, item) in openapi.paths.paths.iter_mut() {
            let realm = path.starts_with("/auth/realms/");
            let mut seen = std::collections::HashSet::new();
            let mut repeated = std::collections::HashSet::new();
            for operation in operations(item) {
                secure(operation, &default);
                add_errors(operation, realm);
                constrain_parameters(operation);
                if let Some(id) = &operation.operation_id
                    && !seen.insert(id.clone())
                {
                    repeated.insert(id.clone());
                }
            }
            // One handler serving several methods: one operation id per method.
            for (method, operation) in METHODS.iter().zip(slots(item)) {
                if let Some(operation) = operation
                    && let Some(id) = operation.operation_id.as_mut()
                    && repeated.contains(id)
                {
                    id.push_str(method);
                }
            }
        }
        tolerance::annotate(openapi);
        links::add(openapi);
    }
}

const METHODS: [&str; 8] = [
    "Get", "Put", "Post", "Delete", "Options", "Head", "Patch", "Trace",
];

/// The operations of a path item, in `METHODS` order.
fn slots(item: &mut utoipa::openapi::PathItem) -> [Option<&mut Operation>; 8] {
    [
        item.get.as_mut(),
        item.put.as_mut(),
        item.post.as_mut(),
        item.delete.as_mut(),
        item.options.as_mut(),
        item.head.as_mut(),
        item.patch.as_mut(),
        item.trace.as_mut(),
    ]
}

fn operations(item: &mut utoipa::openapi::PathItem) -> impl Iterator<Item = &mut Operation> {
    slots(item).into_iter().flatten()
}

/// No requirement written: the default (a credential). `security(())` alone: public.
fn secure(operation: &mut Operation, default: &[SecurityRequirement]) {
    match &operation.security {
        None => operation.security = Some(default.to_vec()),
        Some(list) if list.len() == 1 && list[0] == SecurityRequirement::default() => {
            operation.security = Some(Vec::new())
        }
        Some(_) => {}
    }
}

/// Gives each path parameter the schema of what it names (`rules::path_parameter`: ids are
/// UUIDs, token names follow the token-name rule, and so on), and every other string parameter
/// without a pattern the edge's one rule for all of them: no NUL character.
fn constrain_parameters(operation: &mut Operation) {
    use utoipa::openapi::RefOr;
    use utoipa::openapi::schema::{Schema, SchemaType, Type};
    for parameter in operation.parameters.iter_mut().flatten() {
        let RefOr::T(parameter) = parameter else {
            continue;
        };
        if parameter.parameter_in == utoipa::openapi::path::ParameterIn::Path
            && let Some(schema) = rules::path_parameter(&parameter.name)
        {
            parameter.schema = Some(schema.into());
        } else if let Some(RefOr::T(Schema::Object(object))) = parameter.schema.as_mut()
            && object.pattern.is_none()
            && match &object.schema_type {
                SchemaType::Type(kind) => *kind == Type::String,
                SchemaType::Array(kinds) => kinds.contains(&Type::String),
                SchemaType::AnyValue => false,
            }
        {
            object.pattern = Some(rules::NO_NUL.to_string());
        }
    }
}

/// Adds the error statuses the operation does not list itself. Under the realm a malformed
/// request or path (400) answers the OAuth error body (RFC 6749 §5.2 `invalid_request`), as the
/// realm's endpoints do; everything else the FailureEnvelope.
fn add_errors(operation: &mut Operation, realm: bool) {
    let body = |schema: &str| {
        ContentBuilder::new()
            .schema(Some(Ref::from_schema_name(schema)))
            .build()
    };
    for (status, description) in ERROR_STATUSES {
        if !operation.responses.responses.contains_key(*status) {
            let (description, content) = if realm && *status == "400" {
                (
                    "`invalid_request`: a malformed request or path",
                    body("OAuthError"),
                )
            } else {
                (*description, body("FailureEnvelope"))
            };
            operation.responses.responses.insert(
                (*status).to_string(),
                ResponseBuilder::new()
                    .description(description)
                    .content("application/json", content)
                    .build()
                    .into(),
            );
        }
    }
}
