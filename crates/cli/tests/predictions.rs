//! Model invocation with the real binary: an async prediction acknowledged before kill -9
//! still completes after the restart (queued or mid-attempt); two nodes sharing one PostgreSQL
//! database never run the same prediction twice, and a model token revoked on one node is
//! refused by the other within the bound.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

mod support;

use support::{PASSWORD, PgDatabase, SECRET, Server, free_port, http, sqlite_url};

/// A model server on `port` answering `{"echo": parameters}`; the first call waits `first_delay`
/// before answering, every call waits `delay`. Records each request's `parameters.n`.
struct ModelServer {
    seen: Arc<Mutex<Vec<i64>>>,
}

impl ModelServer {
    fn start(port: u16, first_delay: Duration, delay: Duration) -> ModelServer {
        let listener = TcpListener::bind(("127.0.0.1", port)).unwrap();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = seen.clone();
        std::thread::spawn(move || {
            let mut first = true;
            for stream in listener.incoming() {
                let Ok(stream) = stream else { continue };
                let wait = if first { first_delay + delay } else { delay };
                first = false;
                let record = record.clone();
                std::thread::spawn(move || answer(stream, wait, &record));
            }
        });
        ModelServer { seen }
    }

    fn seen(&self) -> Vec<i64> {
        self.seen.lock().unwrap().clone()
    }
}

/// Answers one HTTP/1.1 request and closes the connection.
fn answer(stream: std::net::TcpStream, wait: Duration, seen: &Mutex<Vec<i64>>) {
    let mut reader = BufReader::new(stream);
    let mut length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line).unwrap_or(0) == 0 {
            return;
        }
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = value.trim().parse().unwrap_or(0);
        }
    }
    let mut body = vec![0; length];
    if reader.read_exact(&mut body).is_err() {
        return;
    }
    let input: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    std::thread::sleep(wait);
    seen.lock()
        .unwrap()
        .push(input["parameters"]["n"].as_i64().unwrap_or(-1));
    let out = json!({ "echo": input["parameters"] }).to_string();
    let mut stream = reader.into_inner();
    let _ = write!(
        stream,
        "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{out}",
        out.len()
    );
}

/// A configuration with quick retries and a short lease (attempt timeout 2 s + 5 s margin).
fn write_config(dir: &Path) -> String {
    let path = dir.join("tessera.toml");
    std::fs::write(
        &path,
        "[models]\nmax_attempts = 50\nretry_backoff_ms = 100\nattempt_timeout_secs = 2\npoll_ms = 100\n",
    )
    .unwrap();
    path.display().to_string()
}

fn start(dir: &Path, database: &str, config: &str) -> Server {
    support::start(
        dir,
        database,
        &[
            ("TESSERA_ADMIN_PASSWORD", PASSWORD),
            ("TESSERA_SERVER_SECRET", SECRET),
            ("TESSERA_CONFIG", config),
            // The model servers of these tests, allowed through the environment.
            ("TESSERA_MODELS_ALLOWED_UPSTREAMS", "http://127.0.0.1"),
        ],
    )
}

/// Creates a project and an unrestricted async model API whose version calls `upstream`.
fn deploy(server: &Server, admin: &str, name: &str, upstream: &str) -> String {
    let (status, project) = http(
        server,
        "POST",
        "/v4/projects",
        Some(admin),
        Some(json!({ "name": name })),
    )
    .unwrap();
    assert_eq!(status, 200, "{project}");
    let (status, api) = http(
        server,
        "POST",
        "/api/modelServing/v1/modelApis",
        Some(admin),
        Some(json!({ "name": name, "projectId": project["id"], "kind": "async", "visibility": "private", "authorization": "unrestricted" })),
    )
    .unwrap();
    assert_eq!(status, 201, "{api}");
    let id = api["id"].as_str().unwrap().to_string();
    let (status, version) = http(
        server,
        "POST",
        &format!("/api/modelServing/v1/modelApis/{id}/versions"),
        Some(admin),
        Some(json!({ "upstreamUrl": upstream })),
    )
    .unwrap();
    assert_eq!(status, 201, "{version}");
    id
}

fn submit(server: &Server, api: &str, n: i64) -> String {
    let (status, body) = http(
        server,
        "POST",
        &format!("/api/modelApis/async/v1/{api}"),
        None,
        Some(json!({ "parameters": { "n": n } })),
    )
    .unwrap();
    assert_eq!(status, 200, "{body}");
    body["asyncPredictionId"].as_str().unwrap().to_string()
}

/// Polls until the prediction has succeeded or failed, for at most `within`.
fn finished(server: &Server, api: &str, id: &str, within: Duration) -> Value {
    let deadline = Instant::now() + within;
    loop {
        let (status, body) = http(
            server,
            "GET",
            &format!("/api/modelApis/async/v1/{api}/{id}"),
            None,
            None,
        )
        .unwrap();
        assert_eq!(status, 200, "{body}");
        if body["status"] == "succeeded" || body["status"] == "failed" {
            return body;
        }
        assert!(Instant::now() < deadline, "not finished in time: {body}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn admin_token(database: &str) -> String {
    support::operator_token(
        database,
        &[("TESSERA_SERVER_SECRET", SECRET)],
        "admin",
        "ops",
    )
}

#[test]
fn predictions_acknowledged_before_kill_9_complete_after_the_restart() {
    let dir = tempfile::tempdir().unwrap();
    let database = sqlite_url(dir.path());
    let config = write_config(dir.path());
    let mut server = start(dir.path(), &database, &config);
    let admin = admin_token(&database);

    // One model server is up but slow: its first attempt is running when the node dies.
    let slow_port = free_port();
    let _slow = ModelServer::start(slow_port, Duration::from_secs(30), Duration::ZERO);
    let running_api = deploy(
        &server,
        &admin,
        "slow",
        &format!("http://127.0.0.1:{slow_port}"),
    );
    // The other is down: its prediction waits in the queue between attempts.
    let down_port = free_port();
    let queued_api = deploy(
        &server,
        &admin,
        "down",
        &format!("http://127.0.0.1:{down_port}"),
    );
    let running = submit(&server, &running_api, 1);
    let queued = submit(&server, &queued_api, 2);
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let (_, body) = http(
            &server,
            "GET",
            &format!("/api/modelApis/async/v1/{running_api}/{running}"),
            None,
            None,
        )
        .unwrap();
        if body["status"] == "running" {
            break;
        }
        assert!(Instant::now() < deadline, "never claimed: {body}");
        std::thread::sleep(Duration::from_millis(50));
    }
    server.child.kill().unwrap(); // SIGKILL, mid-attempt for one, between attempts for the other
    server.child.wait().unwrap();

    let down = ModelServer::start(down_port, Duration::ZERO, Duration::ZERO);
    let restarted = start(dir.path(), &database, &config);
    let done = finished(&restarted, &queued_api, &queued, Duration::from_secs(30));
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["result"], json!({ "echo": { "n": 2 } }));
    // The interrupted attempt's lease runs out (7 s), then another attempt runs it.
    let done = finished(&restarted, &running_api, &running, Duration::from_secs(40));
    assert_eq!(done["status"], "succeeded", "{done}");
    assert_eq!(done["result"], json!({ "echo": { "n": 1 } }));
    assert_eq!(down.seen(), vec![2]);
}

#[test]
fn two_nodes_on_one_postgresql_run_each_prediction_once() {
    let db = PgDatabase::create();
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let config = write_config(dirs[0].path());
    let model_port = free_port();
    let model = ModelServer::start(model_port, Duration::ZERO, Duration::from_millis(20));
    let first = start(dirs[0].path(), &db.url, &config);
    let second = start(dirs[1].path(), &db.url, &config);
    let admin = admin_token(&db.url);
    let api = deploy(
        &first,
        &admin,
        "shared",
        &format!("http://127.0.0.1:{model_port}"),
    );
    let nodes = [&first, &second];
    let submitted: Vec<(i64, String)> = (0..60)
        .map(|n| (n, submit(nodes[n as usize % 2], &api, n)))
        .collect();
    for (n, id) in &submitted {
        let done = finished(
            nodes[(*n as usize + 1) % 2],
            &api,
            id,
            Duration::from_secs(60),
        );
        assert_eq!(done["status"], "succeeded", "{done}");
        assert_eq!(done["result"]["echo"]["n"], *n);
    }
    let mut calls: HashMap<i64, usize> = HashMap::new();
    for n in model.seen() {
        *calls.entry(n).or_default() += 1;
    }
    assert_eq!(calls.len(), 60, "{calls:?}");
    assert!(calls.values().all(|&c| c == 1), "ran twice: {calls:?}");
}

/// A sync invocation with HTTP Basic `token:token`: the status.
fn invoke_sync(server: &Server, api: &str, token: &str) -> u16 {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        reqwest::Client::new()
            .post(format!("{}/models/{api}/latest/model", server.base))
            .basic_auth(token, Some(token))
            .json(&json!({ "data": { "n": 1 } }))
            .timeout(Duration::from_secs(10))
            .send()
            .await
            .unwrap()
            .status()
            .as_u16()
    })
}

#[test]
fn a_model_token_revoked_on_one_node_is_refused_by_the_other_within_the_bound() {
    let db = PgDatabase::create();
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let config = write_config(dirs[0].path());
    let model_port = free_port();
    let _model = ModelServer::start(model_port, Duration::ZERO, Duration::ZERO);
    let first = start(dirs[0].path(), &db.url, &config);
    let second = start(dirs[1].path(), &db.url, &config);
    let admin = admin_token(&db.url);
    let (_, project) = http(
        &first,
        "POST",
        "/v4/projects",
        Some(&admin),
        Some(json!({ "name": "p" })),
    )
    .unwrap();
    let base = "/api/modelServing/v1/modelApis";
    let (status, api) = http(
        &first,
        "POST",
        base,
        Some(&admin),
        Some(json!({ "name": "sync", "projectId": project["id"], "kind": "sync", "visibility": "private", "authorization": "restricted" })),
    )
    .unwrap();
    assert_eq!(status, 201, "{api}");
    let api = api["id"].as_str().unwrap().to_string();
    let upstream = format!("http://127.0.0.1:{model_port}");
    let deployed = http(
        &first,
        "POST",
        &format!("{base}/{api}/versions"),
        Some(&admin),
        Some(json!({ "upstreamUrl": upstream })),
    )
    .unwrap();
    assert_eq!(deployed.0, 201);
    let (_, token) = http(
        &first,
        "POST",
        &format!("{base}/{api}/accessTokens"),
        Some(&admin),
        Some(json!({ "name": "client" })),
    )
    .unwrap();
    let secret = token["token"].as_str().unwrap().to_string();
    // The second node has the model API cached after a first call.
    assert_eq!(invoke_sync(&second, &api, &secret), 200);
    assert_eq!(invoke_sync(&second, &api, &secret), 200);

    let revoked = http(
        &first,
        "DELETE",
        &format!(
            "{base}/{api}/accessTokens/{}",
            token["id"].as_str().unwrap()
        ),
        Some(&admin),
        None,
    )
    .unwrap();
    assert_eq!(revoked.0, 200);
    let acknowledged = Instant::now();
    while invoke_sync(&second, &api, &secret) != 401 {
        assert!(
            acknowledged.elapsed() < Duration::from_secs(2),
            "the other node still accepts a revoked model token after 2 s"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(invoke_sync(&first, &api, &secret), 401);
}
