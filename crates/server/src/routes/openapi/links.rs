//! OpenAPI links (OpenAPI 3.1 section 4.8.20) from each create operation to the operations on
//! what it created: `POST /v4/projects` answers `{"id": ...}`, which fills `{projectId}` of
//! `GET /v4/projects/{projectId}` and every path below it. Generated clients and stateful fuzzers
//! (Schemathesis) follow them, create → read → change → delete, instead of guessing ids.

use std::collections::BTreeSet;

use utoipa::openapi::link::LinkBuilder;
use utoipa::openapi::schema::Schema;
use utoipa::openapi::{OpenApi, RefOr};

/// The properties of the JSON body a successful `post` on `path` answers with, when the
/// document names its schema.
fn created_fields(document: &OpenApi, path: &str) -> Option<(String, BTreeSet<String>)> {
    let post = document.paths.paths.get(path)?.post.as_ref()?;
    let (status, response) = post
        .responses
        .responses
        .iter()
        .find(|(status, _)| status.as_str() == "201" || status.as_str() == "200")?;
    let RefOr::T(response) = response else {
        return None;
    };
    let RefOr::T(content) = response.content.get("application/json")? else {
        return None;
    };
    let RefOr::Ref(reference) = content.schema.as_ref()? else {
        return None;
    };
    let name = reference.ref_location.rsplit('/').next()?;
    let components = document.components.as_ref()?;
    let Some(RefOr::T(Schema::Object(object))) = components.schemas.get(name) else {
        return None;
    };
    Some((status.clone(), object.properties.keys().cloned().collect()))
}

/// `(parameter, rest)` when `path` is `base/{parameter}` or `base/{parameter}/rest...`.
fn parameter_below<'a>(base: &str, path: &'a str) -> Option<&'a str> {
    let rest = path.strip_prefix(base)?.strip_prefix("/{")?;
    let end = rest.find('}')?;
    Some(&rest[..end])
}

/// Adds the links to every create operation's success response.
pub fn add(document: &mut OpenApi) {
    let paths: Vec<String> = document.paths.paths.keys().cloned().collect();
    let mut planned = Vec::new();
    for base in &paths {
        let Some((status, fields)) = created_fields(document, base) else {
            continue;
        };
        for path in &paths {
            let Some(parameter) = parameter_below(base, path) else {
                continue;
            };
            let field = if fields.contains(parameter) {
                parameter.to_string()
            } else if fields.contains("id") && !base.contains('{') {
                // Below a resource (`.../{orgId}/members`) an answer's `id` may be the parent's
                // (adding a member answers the organization), so only a top-level collection's
                // `id` is taken as the created item's.
                "id".to_string()
            } else {
                continue;
            };
            let item = document.paths.paths.get(path).cloned();
            let Some(mut item) = item else { continue };
            for operation in super::slots(&mut item).into_iter().flatten() {
                if let Some(id) = &operation.operation_id {
                    planned.push((
                        base.clone(),
                        status.clone(),
                        id.clone(),
                        parameter.to_string(),
                        field.clone(),
                    ));
                }
            }
        }
    }
    for (base, status, target, parameter, field) in planned {
        let Some(post) = document
            .paths
            .paths
            .get_mut(&base)
            .and_then(|item| item.post.as_mut())
        else {
            continue;
        };
        if let Some(RefOr::T(response)) = post.responses.responses.get_mut(&status) {
            let link = LinkBuilder::new()
                .operation_id(target.clone())
                .parameter(parameter, format!("$response.body#/{field}"))
                .description(format!("What this operation created, by its `{field}`"))
                .build();
            response.links.insert(target, RefOr::T(link));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_parameter_below_a_base_path_is_found_and_nothing_else() {
        assert_eq!(
            parameter_below("/v4/projects", "/v4/projects/{projectId}/collaborators"),
            Some("projectId")
        );
        assert_eq!(parameter_below("/v4/projects", "/v4/projects"), None);
        assert_eq!(parameter_below("/v4/projects", "/v4/projectsx/{id}"), None);
    }

    #[test]
    fn creating_a_project_links_to_reading_it_by_its_id() {
        let document = super::super::document();
        let created = &document.paths.paths["/v4/projects"]
            .post
            .as_ref()
            .unwrap()
            .responses
            .responses;
        let json = serde_json::to_value(created).unwrap();
        let links = json
            .as_object()
            .unwrap()
            .values()
            .find_map(|r| r.get("links"))
            .expect("the create response has links");
        let to_read = links
            .as_object()
            .unwrap()
            .values()
            .find(|l| l["parameters"]["projectId"] == "$response.body#/id")
            .expect("a link filling projectId from the body's id");
        assert!(to_read["operationId"].is_string());
    }
}
