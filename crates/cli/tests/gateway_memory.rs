//! The gateway streams: a 1 GiB upload through the real binary reaches the upstream whole while
//! the server's peak resident memory stays a small fraction of it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::time::Duration;

mod support;

use support::{PASSWORD, SECRET, sqlite_url};

const UPLOAD: u64 = 1 << 30;

/// Reads the request's headers; the body's length (Content-Length) or `None` when chunked.
fn read_head(reader: &mut impl BufRead) -> Option<u64> {
    let mut length = None;
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).unwrap();
        let line = line.trim_end();
        if line.is_empty() {
            return length;
        }
        if let Some((name, value)) = line.split_once(':')
            && name.eq_ignore_ascii_case("content-length")
        {
            length = Some(value.trim().parse().unwrap());
        }
    }
}

/// Reads a chunked body to its end; its length.
fn drain_chunked(reader: &mut impl BufRead) -> u64 {
    let mut total = 0;
    loop {
        let mut size = String::new();
        reader.read_line(&mut size).unwrap();
        let size = u64::from_str_radix(size.trim().split(';').next().unwrap(), 16).unwrap();
        total += std::io::copy(&mut reader.by_ref().take(size), &mut std::io::sink()).unwrap();
        let mut crlf = String::new();
        reader.read_line(&mut crlf).unwrap();
        if size == 0 {
            return total;
        }
    }
}

/// An upstream that counts the bytes of each request body and answers with the count.
fn counting_upstream() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let stream = stream.unwrap();
            std::thread::spawn(move || {
                let mut reader = BufReader::with_capacity(1 << 16, stream.try_clone().unwrap());
                let received = match read_head(&mut reader) {
                    Some(n) => {
                        std::io::copy(&mut reader.by_ref().take(n), &mut std::io::sink()).unwrap()
                    }
                    None => drain_chunked(&mut reader),
                };
                let body = format!("{{\"received\":{received}}}");
                let mut stream = stream;
                write!(
                    stream,
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                    body.len()
                )
                .unwrap();
            });
        }
    });
    port
}

/// Peak resident memory of a process, in KiB.
fn peak_rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmHWM in /proc/PID/status")
}

#[test]
fn a_1_gib_upload_streams_through_the_gateway_in_bounded_memory() {
    let dir = tempfile::tempdir().unwrap();
    let upstream = counting_upstream();
    let config = dir.path().join("tessera.toml");
    std::fs::write(
        &config,
        format!(
            "[[gateway.routes]]\nprefix = \"/api/blobs/\"\nupstream = \"http://127.0.0.1:{upstream}\"\ntimeout_secs = 120\n"
        ),
    )
    .unwrap();
    let database = sqlite_url(dir.path());
    let config = config.display().to_string();
    let server = support::start(
        dir.path(),
        &database,
        &[
            ("TESSERA_ADMIN_PASSWORD", PASSWORD),
            ("TESSERA_SERVER_SECRET", SECRET),
            ("TESSERA_CONFIG", &config),
        ],
    );
    let pat = support::operator_token(
        &database,
        &[("TESSERA_SERVER_SECRET", SECRET)],
        "admin",
        "upload",
    );
    let before = peak_rss_kib(server.child.id());

    let port = server.base.rsplit(':').next().unwrap();
    let mut stream = TcpStream::connect(format!("127.0.0.1:{port}")).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(120)))
        .unwrap();
    write!(
        stream,
        "PUT /api/blobs/v1/big HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer {pat}\r\nContent-Type: application/octet-stream\r\nContent-Length: {UPLOAD}\r\n\r\n"
    )
    .unwrap();
    let chunk = vec![b'x'; 1 << 20];
    for _ in 0..(UPLOAD >> 20) {
        stream.write_all(&chunk).unwrap();
    }
    let mut reader = BufReader::new(stream);
    let mut status = String::new();
    reader.read_line(&mut status).unwrap();
    assert!(status.starts_with("HTTP/1.1 200"), "{status}");
    let length = read_head(&mut reader).unwrap();
    let mut body = vec![0; usize::try_from(length).unwrap()];
    reader.read_exact(&mut body).unwrap();
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&body).unwrap()["received"],
        UPLOAD
    );

    let peak = peak_rss_kib(server.child.id());
    eprintln!("tessera peak RSS: {before} KiB before, {peak} KiB after a 1 GiB upload");
    assert!(
        peak < 128 * 1024,
        "the server's peak memory reached {peak} KiB for a 1 GiB upload (before: {before} KiB)"
    );
}
