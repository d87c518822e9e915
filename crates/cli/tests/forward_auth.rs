//! Forward authentication with the real nginx (Debian's package, installed by `.ci/run`):
//! `auth_request` asks the real `tessera serve` at `/auth/verify`, and an upstream behind nginx
//! receives the JWT Tessera answered with — never the caller's credential, and nothing at all
//! for a bad or revoked one. Fails, never skips, when nginx is missing.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{BufRead, BufReader, Write};
use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::json;
use support::{exchange, free_port, http, server_with_jane};

/// An upstream on a real port that records the head of every request it gets.
struct Upstream {
    port: u16,
    seen: Arc<Mutex<Vec<String>>>,
    hits: Arc<AtomicUsize>,
}

fn upstream() -> Upstream {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let hits = Arc::new(AtomicUsize::new(0));
    let (s, h) = (seen.clone(), hits.clone());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut head = String::new();
            let mut reader = BufReader::new(stream.try_clone().unwrap());
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                head.push_str(&line);
            }
            h.fetch_add(1, Ordering::SeqCst);
            s.lock().unwrap().push(head.to_ascii_lowercase());
            let _ = stream.write_all(
                b"HTTP/1.1 200 OK\r\nContent-Length: 8\r\nConnection: close\r\n\r\nupstream",
            );
        }
    });
    Upstream { port, seen, hits }
}

fn nginx_binary() -> String {
    for candidate in ["/usr/sbin/nginx", "/usr/bin/nginx"] {
        if Path::new(candidate).exists() {
            return candidate.to_string();
        }
    }
    panic!("nginx is not installed (apt-get install nginx; .ci/run does): the test cannot run");
}

struct Nginx(Child);

impl Drop for Nginx {
    /// SIGTERM, so that the master stops its workers too (SIGKILL would orphan them).
    fn drop(&mut self) {
        let stopped = Command::new("kill")
            .args(["-TERM", &self.0.id().to_string()])
            .status()
            .is_ok_and(|s| s.success());
        if !stopped {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// nginx in front of `upstream`, asking Tessera (`tessera_base`) with `auth_request`.
fn nginx(dir: &Path, port: u16, upstream: u16, tessera_base: &str) -> Nginx {
    std::fs::set_permissions(dir, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let work = dir.display();
    let tessera = tessera_base.trim_start_matches("http://");
    let conf = format!(
        r#"
daemon off;
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/nginx-error.log warn;
events {{ worker_connections 64; }}
http {{
  access_log off;
  client_body_temp_path {work}/body; proxy_temp_path {work}/proxy;
  fastcgi_temp_path {work}/fastcgi; uwsgi_temp_path {work}/uwsgi; scgi_temp_path {work}/scgi;
  server {{
    listen 127.0.0.1:{port};
    location / {{
      auth_request /_tessera;
      auth_request_set $tessera_authorization $upstream_http_authorization;
      auth_request_set $tessera_user $upstream_http_x_tessera_user;
      proxy_set_header Authorization $tessera_authorization;
      proxy_set_header X-Domino-Api-Key "";
      proxy_set_header X-Tessera-User $tessera_user;
      proxy_pass http://127.0.0.1:{upstream};
    }}
    location = /_tessera {{
      internal;
      proxy_pass http://{tessera}/auth/verify$request_uri;
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Forwarded-For $remote_addr;
    }}
  }}
}}
"#
    );
    let path = dir.join("nginx.conf");
    std::fs::write(&path, conf).unwrap();
    let child = Command::new(nginx_binary())
        .args(["-c", path.to_str().unwrap(), "-p", dir.to_str().unwrap()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let nginx = Nginx(child);
    let deadline = Instant::now() + Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            Instant::now() < deadline,
            "nginx did not start: {}",
            std::fs::read_to_string(dir.join("nginx-error.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    nginx
}

/// A request through nginx: (status, body).
fn through(port: u16, path: &str, header: Option<(&str, &str)>) -> (u16, String) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let mut request = reqwest::Client::new()
            .get(format!("http://127.0.0.1:{port}{path}"))
            .timeout(Duration::from_secs(10));
        if let Some((name, value)) = header {
            request = request.header(name, value);
        }
        let response = request.send().await.unwrap();
        (response.status().as_u16(), response.text().await.unwrap())
    })
}

#[test]
fn nginx_auth_request_passes_good_credentials_with_a_jwt_and_stops_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let (server, _, pat) = server_with_jane(dir.path());
    let (_, key) = http(
        &server,
        "POST",
        "/api/apiKey/v1/regenerate",
        Some(&pat),
        None,
    )
    .unwrap();
    let key = key["apiKey"].as_str().unwrap().to_string();
    let jwt = exchange(&server, &pat);

    let up = upstream();
    let nginx_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let _nginx = nginx(nginx_dir.path(), port, up.port, &server.base);

    let bearer = |t: &str| format!("Bearer {t}");
    for (what, header, secret) in [
        ("PAT", ("authorization", bearer(&pat)), pat.as_str()),
        ("JWT", ("authorization", bearer(&jwt)), ""),
        ("API key", ("x-domino-api-key", key.clone()), key.as_str()),
    ] {
        let (status, body) = through(port, "/api/jobs/v1/jobs", Some((header.0, &header.1)));
        assert_eq!((status, body.as_str()), (200, "upstream"), "{what}");
        let seen = up.seen.lock().unwrap().last().cloned().unwrap();
        assert!(seen.contains("authorization: bearer ey"), "{what}: {seen}");
        assert!(seen.contains("x-tessera-user: jane"), "{what}: {seen}");
        if !secret.is_empty() {
            assert!(
                !seen.contains(&secret.to_ascii_lowercase()),
                "{what} leaked upstream"
            );
        }
    }
    let before = up.hits.load(Ordering::SeqCst);
    let revoked = {
        let (_, other) = http(
            &server,
            "POST",
            "/api/pat/v1/tokens",
            Some(&pat),
            Some(json!({ "name": "soon-revoked", "expiresIn": 3600 })),
        )
        .unwrap();
        let id = other["patId"].as_str().unwrap();
        let (status, _) = http(
            &server,
            "POST",
            &format!("/api/pat/v1/tokens/{id}/invalidate"),
            Some(&pat),
            None,
        )
        .unwrap();
        assert_eq!(status, 200);
        other["token"].as_str().unwrap().to_string()
    };
    for (what, header) in [
        ("no credential", None),
        ("a wrong PAT", Some(("authorization", bearer("tpat_wrong")))),
        ("a revoked PAT", Some(("authorization", bearer(&revoked)))),
        (
            "a wrong API key",
            Some(("x-domino-api-key", "tkey_wrong".to_string())),
        ),
    ] {
        let (status, _) = through(
            port,
            "/api/jobs/v1/jobs",
            header.as_ref().map(|(n, v)| (*n, v.as_str())),
        );
        assert_eq!(status, 401, "{what}");
    }
    assert_eq!(
        up.hits.load(Ordering::SeqCst),
        before,
        "a refused request reached the upstream"
    );
}
