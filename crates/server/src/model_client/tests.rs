//! The guarded connector with a scripted resolver playing DNS (names cannot be registered on
//! loopback otherwise) and a real model server on a real port.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};

use parking_lot::Mutex;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;

use super::*;

/// Answers with its script, one entry per resolution; the last entry repeats.
struct ScriptedResolver {
    answers: Mutex<VecDeque<Vec<IpAddr>>>,
    calls: AtomicUsize,
}

impl ScriptedResolver {
    fn new(answers: &[&[&str]]) -> Arc<ScriptedResolver> {
        Arc::new(ScriptedResolver {
            answers: Mutex::new(
                answers
                    .iter()
                    .map(|a| a.iter().map(|s| s.parse().unwrap()).collect())
                    .collect(),
            ),
            calls: AtomicUsize::new(0),
        })
    }
}

impl Resolve for ScriptedResolver {
    fn resolve(&self, _: &str, _: u16) -> BoxFuture<io::Result<Vec<IpAddr>>> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        let mut answers = self.answers.lock();
        let answer = if answers.len() > 1 {
            answers.pop_front().unwrap_or_default()
        } else {
            answers.front().cloned().unwrap_or_default()
        };
        Box::pin(async move { Ok(answer) })
    }
}

/// A model server on 127.0.0.1 answering `{"ok":true}` and closing each connection; counts the
/// connections it accepted.
struct ModelServer {
    port: u16,
    accepted: Arc<AtomicUsize>,
}

impl ModelServer {
    async fn start() -> ModelServer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = accepted.clone();
        tokio::spawn(async move {
            while let Ok((mut stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(async move {
                    let mut buf = vec![0; 4096];
                    let _ = stream.read(&mut buf).await;
                    let body = r#"{"ok":true}"#;
                    let _ = stream
                        .write_all(
                            format!(
                                "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                                body.len()
                            )
                            .as_bytes(),
                        )
                        .await;
                });
            }
        });
        ModelServer { port, accepted }
    }

    /// The connections accepted before a control connection made now: every connection the
    /// client made earlier was queued before it.
    async fn accepted_so_far(&self) -> usize {
        let mut control = TcpStream::connect(("127.0.0.1", self.port)).await.unwrap();
        control.write_all(b"GET / HTTP/1.1\r\n\r\n").await.unwrap();
        let mut answer = Vec::new();
        let _ = control.read_to_end(&mut answer).await;
        self.accepted.load(Ordering::SeqCst) - 1
    }
}

fn client(rules: &[&str], resolver: Arc<ScriptedResolver>) -> ModelClient {
    ModelClient::with_resolver(AllowedUpstreams::parse(rules).unwrap(), resolver)
}

async fn call(client: &ModelClient, url: &str) -> Result<u16, CallError> {
    client
        .post_json(url, Body::from("{}"))
        .await
        .map(|r| r.status().as_u16())
}

#[tokio::test]
async fn a_name_resolving_to_link_local_is_refused_at_connect_time_even_inside_an_allowed_range() {
    let resolver = ScriptedResolver::new(&[&["169.254.169.254"]]);
    let everything = client(
        &["http://*.models.internal", "http://0.0.0.0/0"],
        resolver.clone(),
    );
    let refused = call(&everything, "http://api.models.internal:9100").await;
    assert!(
        matches!(refused, Err(CallError::AddressNotAllowed)),
        "{refused:?}"
    );
    assert_eq!(resolver.calls.load(Ordering::SeqCst), 1);
    let mapped = ScriptedResolver::new(&[&["::ffff:169.254.169.254"]]);
    let everything = client(&["http://*.models.internal", "http://[::]/0"], mapped);
    let refused = call(&everything, "http://api.models.internal:9100").await;
    assert!(
        matches!(refused, Err(CallError::AddressNotAllowed)),
        "{refused:?}"
    );
}

#[tokio::test]
async fn a_name_allowed_by_suffix_reaches_loopback_only_when_an_address_rule_lists_it() {
    let server = ModelServer::start().await;
    let url = format!("http://m.models.internal:{}", server.port);
    let by_name = client(
        &["http://*.models.internal"],
        ScriptedResolver::new(&[&["127.0.0.1"]]),
    );
    let refused = call(&by_name, &url).await;
    assert!(
        matches!(refused, Err(CallError::AddressNotAllowed)),
        "{refused:?}"
    );
    assert_eq!(
        server.accepted_so_far().await,
        0,
        "connected to a refused address"
    );

    let with_range = client(
        &["http://*.models.internal", "http://127.0.0.0/8"],
        ScriptedResolver::new(&[&["169.254.169.254", "::1", "127.0.0.1"]]),
    );
    assert_eq!(call(&with_range, &url).await.unwrap(), 200);
}

#[tokio::test]
async fn every_new_connection_resolves_again_so_a_rebound_name_is_refused() {
    let server = ModelServer::start().await;
    let url = format!("http://m.models.internal:{}", server.port);
    let resolver = ScriptedResolver::new(&[&["127.0.0.1"], &["169.254.169.254"]]);
    let client = client(
        &["http://*.models.internal", "http://127.0.0.0/8"],
        resolver.clone(),
    );
    assert_eq!(call(&client, &url).await.unwrap(), 200);
    let rebound = call(&client, &url).await;
    assert!(
        matches!(rebound, Err(CallError::AddressNotAllowed)),
        "{rebound:?}"
    );
    assert_eq!(resolver.calls.load(Ordering::SeqCst), 2);
    assert_eq!(server.accepted_so_far().await, 1);
}

#[tokio::test]
async fn a_url_the_list_does_not_allow_is_never_connected_to() {
    let server = ModelServer::start().await;
    let url = format!("http://127.0.0.1:{}", server.port);
    let resolver = ScriptedResolver::new(&[&["127.0.0.1"]]);
    for rules in [
        &[][..],
        &["http://127.0.0.1:1"][..],
        &["https://127.0.0.1"][..],
    ] {
        let refused = call(&client(rules, resolver.clone()), &url).await;
        assert!(
            matches!(refused, Err(CallError::NotAllowed)),
            "{rules:?}: {refused:?}"
        );
    }
    for malformed in ["http://0x7f.1", "http://user@127.0.0.1", "ftp://127.0.0.1"] {
        let refused = call(&client(&["http://0.0.0.0/0"], resolver.clone()), malformed).await;
        assert!(matches!(refused, Err(CallError::NotAllowed)), "{malformed}");
    }
    assert_eq!(server.accepted_so_far().await, 0);
    let allowed = client(&["http://127.0.0.1"], resolver.clone());
    assert_eq!(call(&allowed, &url).await.unwrap(), 200);
    assert_eq!(
        resolver.calls.load(Ordering::SeqCst),
        0,
        "an address is not resolved"
    );
}
