//! The gateway with a real upstream on a real port: the credential is replaced by a JWT that
//! verifies against the JWKS, nothing unauthenticated gets through, bodies stream, failures are
//! 502/504 with the envelope, upstream answers pass through untouched.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::routing::any;
use axum::{Json, Router};
use reqwest::Method;
use serde_json::{Value, json};
use tessera_server::config::GatewayRoute;

use crate::helpers::{Auth, TestApp, spawn_app_with};
use crate::cases::realm::verify_with_jwks;

pub struct Upstream {
    pub url: String,
    pub hits: Arc<AtomicUsize>,
}

/// An upstream that echoes what it received; `/slow` stalls; `/stream` sends a chunk, then
/// another two seconds later; `/missing` answers 404 in plain text.
pub async fn upstream() -> Upstream {
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let app = Router::new().route(
        "/{*path}",
        any(move |request: Request| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                let path = request.uri().path().to_string();
                if path.ends_with("/slow") {
                    tokio::time::sleep(Duration::from_secs(3)).await;
                }
                if path.ends_with("/missing") {
                    return (axum::http::StatusCode::NOT_FOUND, "upstream says no").into_response();
                }
                if path.ends_with("/stream") {
                    let chunks = futures::stream::unfold(0, |i| async move {
                        match i {
                            0 => Some((Ok::<_, std::io::Error>(Bytes::from_static(b"first;")), 1)),
                            1 => {
                                tokio::time::sleep(Duration::from_secs(2)).await;
                                Some((Ok(Bytes::from_static(b"last")), 2))
                            }
                            _ => None,
                        }
                    });
                    return Body::from_stream(chunks).into_response();
                }
                let method = request.method().to_string();
                let query = request.uri().query().map(str::to_string);
                let headers: serde_json::Map<String, Value> = request
                    .headers()
                    .iter()
                    .map(|(k, v)| (k.to_string(), json!(v.to_str().unwrap_or(""))))
                    .collect();
                let mut stream = request.into_body().into_data_stream();
                let mut length = 0usize;
                use futures::StreamExt;
                while let Some(chunk) = stream.next().await {
                    length += chunk.map(|c| c.len()).unwrap_or(0);
                }
                Json(json!({ "method": method, "path": path, "query": query, "headers": headers, "bodyLength": length })).into_response()
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    Upstream { url, hits }
}

use axum::response::IntoResponse;

pub async fn gateway_app() -> (TestApp, Upstream) {
    let up = upstream().await;
    let routes = vec![
        GatewayRoute::new("/api/jobs/", &up.url, Duration::from_secs(1)).unwrap(),
        GatewayRoute::new("/api/dead/", "http://127.0.0.1:1", Duration::from_secs(1)).unwrap(),
        GatewayRoute::new("/api/idle/", &up.url, Duration::from_secs(1))
            .and_then(|r| r.with_idle_timeout(Duration::from_secs(1)))
            .unwrap(),
    ];
    let app = spawn_app_with(move |c| c.gateway_routes = routes).await;
    (app, up)
}

#[tokio::test]
async fn the_docs_example_reaches_the_upstream_with_a_jwt_instead_of_the_credential() {
    let (app, up) = gateway_app().await;
    let (user_id, pat) = app.user_with_token("jane", &["Practitioner"]).await;
    let reply = app
        .post(
            "/api/jobs/v1/jobs?x=1",
            &pat,
            json!({ "projectId": "12398gg098", "runCommand": "main.py" }),
        )
        .await;
    reply.assert_status(200);
    let seen = &reply.body;
    assert_eq!(seen["method"], "POST");
    assert_eq!(seen["path"], "/api/jobs/v1/jobs");
    assert_eq!(seen["query"], "x=1");
    assert!(seen["bodyLength"].as_u64().unwrap() > 20);
    assert_eq!(seen["headers"]["content-type"], "application/json");
    let authorization = seen["headers"]["authorization"].as_str().unwrap();
    assert!(!authorization.contains(&pat), "the PAT was forwarded");
    let jwt = authorization.strip_prefix("Bearer ").unwrap();
    let claims = verify_with_jwks(&app, jwt).await;
    assert_eq!(claims["sub"], user_id.as_str());
    assert_eq!(claims["preferred_username"], "jane");
    assert_eq!(seen["headers"]["x-forwarded-for"], "127.0.0.1");
    assert_eq!(seen["headers"]["x-forwarded-proto"], "http");
    assert!(
        seen["headers"]["x-forwarded-host"]
            .as_str()
            .is_some_and(|h| h.starts_with("127.0.0.1:"))
    );
    assert_eq!(
        seen["headers"]["x-request-id"].as_str(),
        reply.header("x-request-id")
    );
    assert_eq!(up.hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn every_credential_kind_passes_and_none_is_forwarded() {
    let (app, _up) = gateway_app().await;
    let (_, pat) = app.user_with_token("jane", &[]).await;
    let key = app.post_empty("/api/apiKey/v1/regenerate", &pat).await.body["apiKey"]
        .as_str()
        .unwrap()
        .to_string();
    let jwt = {
        let r = app
            .client
            .post(format!(
                "{}/auth/realms/DominoRealm/protocol/openid-connect/token",
                app.address
            ))
            .form(&[
                (
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:token-exchange",
                ),
                ("subject_token", pat.as_str()),
            ])
            .send()
            .await
            .unwrap();
        r.json::<Value>().await.unwrap()["access_token"]
            .as_str()
            .unwrap()
            .to_string()
    };
    for (auth, secret) in [
        (Auth::ApiKey(&key), key.as_str()),
        (Auth::Basic("", &key), key.as_str()),
        (Auth::Bearer(&jwt), jwt.as_str()),
    ] {
        let reply = app.send(Method::GET, "/api/jobs/v1/jobs", auth, None).await;
        reply.assert_status(200);
        let headers = reply.body["headers"].to_string();
        assert!(reply.body["headers"].get("x-domino-api-key").is_none());
        assert!(
            !headers.contains(&secret[5..]) || secret == jwt,
            "a credential reached the upstream"
        );
        let forwarded = reply.body["headers"]["authorization"].as_str().unwrap();
        assert_eq!(
            verify_with_jwks(&app, forwarded.strip_prefix("Bearer ").unwrap()).await["preferred_username"],
            "jane"
        );
    }
}

#[tokio::test]
async fn unauthenticated_requests_never_reach_the_upstream() {
    let (app, up) = gateway_app().await;
    for auth in [
        Auth::None,
        Auth::Bearer("tpat_nope"),
        Auth::ApiKey("tkey_nope"),
    ] {
        let reply = app
            .send(Method::POST, "/api/jobs/v1/jobs", auth, Some(json!({})))
            .await;
        reply.assert_status(401).assert_envelope();
    }
    assert_eq!(up.hits.load(Ordering::SeqCst), 0);
}

#[tokio::test]
async fn a_refused_upstream_is_502_and_a_slow_one_504_with_the_envelope() {
    let (app, _up) = gateway_app().await;
    let (_, pat) = app.user_with_token("jane", &[]).await;
    let dead = app.get("/api/dead/anything", &pat).await;
    dead.assert_status(502).assert_envelope();
    let started = Instant::now();
    let slow = app.get("/api/jobs/slow", &pat).await;
    slow.assert_status(504).assert_envelope();
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "the gateway waited for the stalled upstream"
    );
}

#[tokio::test]
async fn upstream_answers_pass_through_untouched_and_hop_by_hop_headers_do_not() {
    let (app, _up) = gateway_app().await;
    let (_, pat) = app.user_with_token("jane", &[]).await;
    let missing = app
        .client
        .get(format!("{}/api/jobs/missing", app.address))
        .bearer_auth(&pat)
        .send()
        .await
        .unwrap();
    assert_eq!(missing.status().as_u16(), 404);
    assert_eq!(missing.text().await.unwrap(), "upstream says no");

    let hop = app
        .client
        .get(format!("{}/api/jobs/v1/x", app.address))
        .bearer_auth(&pat)
        .header("connection", "keep-alive, x-private-hop")
        .header("x-private-hop", "secret")
        .header("x-end-to-end", "kept")
        .send()
        .await
        .unwrap()
        .json::<Value>()
        .await
        .unwrap();
    assert!(hop["headers"].get("x-private-hop").is_none(), "{hop}");
    assert_eq!(hop["headers"]["x-end-to-end"], "kept");
}

#[tokio::test]
async fn bodies_stream_both_ways() {
    let (app, _up) = gateway_app().await;
    let (_, pat) = app.user_with_token("jane", &[]).await;
    // The first chunk arrives while the upstream is still producing the rest.
    let started = Instant::now();
    let mut response = app
        .client
        .get(format!("{}/api/jobs/stream", app.address))
        .bearer_auth(&pat)
        .send()
        .await
        .unwrap();
    let first = response.chunk().await.unwrap().unwrap();
    assert_eq!(&first[..], b"first;");
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "the response was buffered"
    );
    // The per-route timeout covers the wait for headers, not a streaming body.
    let mut rest = Vec::new();
    while let Some(chunk) = response.chunk().await.unwrap() {
        rest.extend_from_slice(&chunk);
    }
    assert_eq!(rest, b"last");

    // A 64 MiB upload passes, far above the API's JSON body limit.
    let big = vec![b'x'; 64 * 1024 * 1024];
    let reply = app
        .client
        .put(format!("{}/api/jobs/v1/blob", app.address))
        .bearer_auth(&pat)
        .body(big)
        .send()
        .await
        .unwrap();
    assert_eq!(reply.status().as_u16(), 200);
    assert_eq!(
        reply.json::<Value>().await.unwrap()["bodyLength"],
        64 * 1024 * 1024
    );
}

#[tokio::test]
async fn a_response_that_goes_silent_is_cut_after_the_idle_timeout() {
    let (app, _up) = gateway_app().await;
    let (_, pat) = app.user_with_token("jane", &[]).await;
    let started = Instant::now();
    let mut response = app
        .client
        .get(format!("{}/api/idle/stream", app.address))
        .bearer_auth(&pat)
        .send()
        .await
        .unwrap();
    assert_eq!(&response.chunk().await.unwrap().unwrap()[..], b"first;");
    // The upstream pauses 2 s; the route allows 1 s of silence.
    let mut rest = Vec::new();
    let ended = loop {
        match response.chunk().await {
            Ok(Some(chunk)) => rest.extend_from_slice(&chunk),
            Ok(None) => break "eof",
            Err(_) => break "error",
        }
    };
    assert_eq!(ended, "error", "a cut stream must not look complete");
    assert!(rest.is_empty(), "data after the stall: {rest:?}");
    assert!(
        started.elapsed() < Duration::from_millis(1900),
        "cut only after {:?}",
        started.elapsed()
    );
}

#[test]
fn routes_that_shadow_tessera_or_each_other_are_refused_at_start() {
    let ok = Duration::from_secs(1);
    assert!(GatewayRoute::new("/api/jobs/", "http://127.0.0.1:9000", ok).is_ok());
    for (prefix, upstream) in [
        ("/api/pat/", "http://127.0.0.1:9000"),
        ("/v4/", "http://127.0.0.1:9000"),
        ("/api/", "http://127.0.0.1:9000"),
        ("api/jobs/", "http://127.0.0.1:9000"),
        ("/api/jobs", "http://127.0.0.1:9000"),
        ("/api/jobs/", "https://jobs.example"),
        ("/api/jobs/", "http://127.0.0.1:9000/base"),
        ("/api/./jobs/", "http://127.0.0.1:9000"),
        ("/api//jobs/", "http://127.0.0.1:9000"),
        ("/api/x/../jobs/", "http://127.0.0.1:9000"),
        ("/api/j%6Fbs/", "http://127.0.0.1:9000"),
        ("/api\\jobs/", "http://127.0.0.1:9000"),
    ] {
        assert!(
            GatewayRoute::new(prefix, upstream, ok).is_err(),
            "{prefix} -> {upstream}"
        );
    }
}
