#![allow(clippy::unwrap_used)]

use std::time::Duration;

use axum::http::Method;

use super::{Fast, fast};
use crate::config::GatewayRoute;

fn routes(prefixes: &[&str]) -> Vec<GatewayRoute> {
    let mut routes: Vec<GatewayRoute> = prefixes
        .iter()
        .map(|p| GatewayRoute::new(p, "http://127.0.0.1:9", Duration::from_secs(1)).unwrap())
        .collect();
    routes.sort_by_key(|route| std::cmp::Reverse(route.prefix.len()));
    routes
}

#[test]
fn gateway_paths_go_to_the_longest_prefix_whatever_the_method() {
    let gateway = routes(&["/api/jobs/", "/api/jobs/v2/"]);
    let outer = gateway.iter().position(|r| r.prefix == "/api/jobs/");
    let inner = gateway.iter().position(|r| r.prefix == "/api/jobs/v2/");
    for method in [Method::GET, Method::POST, Method::DELETE, Method::HEAD] {
        let at = |path| match fast(&gateway, &method, path) {
            Some(Fast::Gateway(index)) => Some(index),
            _ => None,
        };
        assert_eq!(at("/api/jobs/"), outer);
        assert_eq!(at("/api/jobs/v1/jobs"), outer);
        assert_eq!(at("/api/jobs/v2"), outer);
        assert_eq!(at("/api/jobs/v2/"), inner);
        assert_eq!(at("/api/jobs/v2/runs/1"), inner);
        // The prefix without its slash is not under it (the router answers 404).
        assert_eq!(at("/api/jobs"), None);
        assert_eq!(at("/api/jobsx/1"), None);
    }
}

#[test]
fn only_plain_sync_invocations_are_served_without_the_router() {
    let gateway = routes(&[]);
    let id = "0192b3c4-0000-7000-8000-000000000001";
    fn post<'p>(gateway: &[GatewayRoute], path: &'p str) -> Option<Fast<'p>> {
        fast(gateway, &Method::POST, path)
    }
    assert_eq!(
        post(&gateway, &format!("/models/{id}/latest/model")),
        Some(Fast::Invoke { id, version: None })
    );
    assert_eq!(
        post(&gateway, &format!("/models/{id}/v/3/model")),
        Some(Fast::Invoke {
            id,
            version: Some(3)
        })
    );
    // To the router: other methods (OPTIONS is the preflight, others 405), escapes (its
    // extractor decodes them), versions that are not numbers (its 404 names them), other shapes.
    for path in [
        format!("/models/{id}/v/three/model"),
        format!("/models/{id}/v/%33/model"),
        format!("/models/%7B{id}%7D/latest/model"),
        format!("/models/{id}/latest/model/"),
        format!("/models/{id}/latest"),
        format!("/models/{id}/v/3/model/x"),
        "/models//latest/model".to_string(),
        "/models/".to_string(),
        format!("/api/modelApis/async/v1/{id}"),
    ] {
        assert_eq!(post(&gateway, &path), None, "{path}");
    }
    for method in [Method::OPTIONS, Method::GET, Method::PUT] {
        assert_eq!(
            fast(&gateway, &method, &format!("/models/{id}/latest/model")),
            None
        );
    }
}
