//! The document against the router: every path the API's route modules serve is described.

use std::collections::BTreeSet;

use super::document;

/// The API's route modules (the web UI and the operator-configured gateway routes are not API).
const ROUTE_SOURCES: &[(&str, &str)] = &[
    ("admin_pats.rs", include_str!("../admin_pats.rs")),
    ("admin_realm.rs", include_str!("../admin_realm.rs")),
    ("admin_users.rs", include_str!("../admin_users.rs")),
    ("api_key.rs", include_str!("../api_key.rs")),
    ("audit.rs", include_str!("../audit.rs")),
    ("forward_auth.rs", include_str!("../forward_auth.rs")),
    ("identity.rs", include_str!("../identity.rs")),
    ("invoke.rs", include_str!("../invoke.rs")),
    ("model_apis.rs", include_str!("../model_apis.rs")),
    ("model_serving.rs", include_str!("../model_serving.rs")),
    ("organizations.rs", include_str!("../organizations.rs")),
    ("pats.rs", include_str!("../pats.rs")),
    ("predictions.rs", include_str!("../predictions.rs")),
    ("projects.rs", include_str!("../projects.rs")),
    (
        "service_accounts.rs",
        include_str!("../service_accounts.rs"),
    ),
    ("realm/mod.rs", include_str!("../realm/mod.rs")),
    ("system.rs", include_str!("../system.rs")),
    ("openapi/mod.rs", include_str!("mod.rs")),
];

const MOD_RS: &str = include_str!("../mod.rs");

/// Methods of an axum method router expression (`get(a).post(b)`); `any` is every one the
/// document can describe. `options` is left out: CORS preflights are not API operations.
fn methods(expression: &str) -> Vec<&'static str> {
    if expression.trim_start().starts_with("any(") {
        return vec!["get", "post", "put", "patch", "delete"];
    }
    let mut found = Vec::new();
    for method in ["get", "post", "put", "patch", "delete"] {
        let at_start = expression.trim_start().starts_with(&format!("{method}("));
        if at_start || expression.contains(&format!(".{method}(")) {
            found.push(method);
        }
    }
    found
}

/// `(path, method)` for every `.route(...)` of a module's source; `BASE` and `PREFIX` constants
/// and `format!("{BASE}/{{id}}")` paths are expanded; `{*rest}` becomes `{rest}`.
fn routes_of(name: &str, source: &str) -> Vec<(String, &'static str)> {
    let constant = |key: &str| -> Option<String> {
        let at = source.find(&format!("const {key}: &str = \""))?;
        let rest = &source[at..];
        let start = rest.find('"')? + 1;
        let end = rest[start..].find('"')? + start;
        Some(rest[start..end].to_string())
    };
    let mut out = Vec::new();
    let mut rest = source;
    while let Some(at) = rest.find(".route(") {
        rest = &rest[at + ".route(".len()..];
        // The call's two arguments, up to the matching parenthesis.
        let mut depth = 1;
        let mut end = 0;
        for (i, c) in rest.char_indices() {
            match c {
                '(' => depth += 1,
                ')' => depth -= 1,
                _ => {}
            }
            if depth == 0 {
                end = i;
                break;
            }
        }
        let call = &rest[..end];
        let (path_expr, method_expr) = split_top_level(call);
        let path_expr = path_expr.trim();
        let path = if let Some(literal) = path_expr.strip_prefix('"') {
            literal.trim_end_matches('"').to_string()
        } else if let Some(inner) = path_expr.strip_prefix("&format!(\"") {
            let template = inner.trim_end_matches(')').trim_end_matches('"');
            let base = constant("BASE").unwrap_or_default();
            template
                .replace("{BASE}", &base)
                .replace("{{", "{")
                .replace("}}", "}")
        } else {
            constant(path_expr).unwrap_or_else(|| panic!("{name}: unknown path {path_expr}"))
        };
        let path = path.replace("{*", "{");
        for method in methods(method_expr) {
            out.push((path.clone(), method));
        }
    }
    out
}

fn split_top_level(call: &str) -> (&str, &str) {
    let mut depth = 0;
    for (i, c) in call.char_indices() {
        match c {
            '(' | '[' | '{' => depth += 1,
            ')' | ']' | '}' => depth -= 1,
            ',' if depth == 0 => return (&call[..i], &call[i + 1..]),
            _ => {}
        }
    }
    (call, "")
}

/// Path parameters are named differently in the router (`{pat_id}`) and in the document
/// (`{patId}`); the shape is what must match.
fn shape(path: &str) -> String {
    let mut out = String::new();
    let mut in_param = false;
    for c in path.chars() {
        match c {
            '{' => {
                in_param = true;
                out.push_str("{}");
            }
            '}' => in_param = false,
            _ if in_param => {}
            _ => out.push(c),
        }
    }
    out
}

#[test]
fn every_route_of_the_api_is_in_the_document() {
    let doc = serde_json::to_value(document()).unwrap_or_default();
    let mut documented = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().into_iter().flatten() {
        for method in ["get", "post", "put", "patch", "delete"] {
            if item.get(method).is_some() {
                documented.insert((shape(path), method));
            }
        }
    }
    let mut served = BTreeSet::new();
    for (name, source) in ROUTE_SOURCES {
        for (path, method) in routes_of(name, source) {
            served.insert((shape(&path), method));
        }
    }
    assert!(served.len() > 80, "the route scan found only {served:?}");
    let missing: Vec<_> = served.difference(&documented).collect();
    assert!(
        missing.is_empty(),
        "served but not in /openapi.json: {missing:?}"
    );
    let phantom: Vec<_> = documented.difference(&served).collect();
    assert!(
        phantom.is_empty(),
        "in /openapi.json but not served: {phantom:?}"
    );
}

#[test]
fn every_route_module_is_scanned() {
    for line in MOD_RS.lines() {
        let Some(module) = line
            .trim()
            .strip_prefix("mod ")
            .or_else(|| line.trim().strip_prefix("pub mod "))
        else {
            continue;
        };
        let module = module.trim_end_matches(';');
        if module == "management" {
            continue; // the management listener: metrics and liveness, not the API
        }
        assert!(
            ROUTE_SOURCES
                .iter()
                .any(|(file, _)| file.trim_end_matches(".rs").trim_end_matches("/mod") == module),
            "routes/{module} is not scanned by the route-coverage test"
        );
    }
}

#[test]
fn the_document_is_openapi_3_1_with_unique_operation_ids() {
    let doc = serde_json::to_value(document()).unwrap_or_default();
    assert_eq!(doc["openapi"], "3.1.0");
    let mut ids = BTreeSet::new();
    for item in doc["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(_, i)| i)
    {
        for (_, op) in item.as_object().into_iter().flatten() {
            if let Some(id) = op.get("operationId").and_then(|i| i.as_str()) {
                assert!(ids.insert(id.to_string()), "operationId {id} twice");
            }
        }
    }
    for scheme in ["bearer", "apiKey", "modelBasic", "modelBearer"] {
        assert!(
            doc["components"]["securitySchemes"].get(scheme).is_some(),
            "{scheme}"
        );
    }
}

/// Found by Schemathesis: two wire types named `VersionJson` shared one component, and
/// `GET /version` was documented with a model version's schema.
#[test]
fn each_response_names_its_own_schema() {
    let doc = serde_json::to_value(document()).unwrap_or_default();
    let schema = |path: &str| {
        let reference =
            doc["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
                .to_string();
        let name = reference
            .rsplit('/')
            .next()
            .unwrap_or_default()
            .trim_matches(['"', '}'])
            .to_string();
        doc["components"]["schemas"][name].clone()
    };
    assert!(schema("/version")["properties"]["tesseraVersion"].is_object());
    let versions =
        &doc["paths"]["/api/modelServing/v1/modelApis/{id}/versions"]["get"]["responses"]["200"];
    assert!(
        versions.to_string().contains("ModelVersionJson"),
        "{versions}"
    );
}
