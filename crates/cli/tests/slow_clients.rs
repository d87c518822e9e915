//! A flood of slow clients against the real binary under a small open-file limit: the server
//! cuts clients that do not finish their headers in time, never runs out of descriptors, and
//! keeps serving everyone else.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod support;

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use support::{PASSWORD, http, sqlite_url, start_with};

#[test]
fn three_hundred_half_sent_headers_under_a_256_file_limit_do_not_lock_others_out() {
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("tessera.toml");
    std::fs::write(&config, "[limits]\nheader_timeout_secs = 2\n").unwrap();
    let server = start_with(
        dir.path(),
        &sqlite_url(dir.path()),
        &[
            ("TESSERA_ADMIN_PASSWORD", PASSWORD),
            ("TESSERA_CONFIG", config.to_str().unwrap()),
        ],
        Some(256),
    );
    let address = server.base.trim_start_matches("http://").to_string();
    let mut slow = Vec::new();
    for _ in 0..300 {
        let mut stream = TcpStream::connect(&address).unwrap();
        stream
            .write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\nX-Slow: ")
            .unwrap();
        slow.push(stream);
    }
    // Someone else is served within a few header time limits, not after 75 s.
    let started = Instant::now();
    let mut served = false;
    while started.elapsed() < Duration::from_secs(30) {
        if http(&server, "GET", "/healthz", None, None).is_ok_and(|(status, _)| status == 200) {
            served = true;
            break;
        }
    }
    assert!(served, "no one else was served for 30 s");
    // Every slow client is eventually cut by the server (EOF or reset), none kept for good.
    let mut open = 0;
    for stream in &mut slow {
        stream
            .set_read_timeout(Some(Duration::from_secs(15)))
            .unwrap();
        let mut buf = [0u8; 64];
        if let Err(e) = stream.read(&mut buf)
            && matches!(
                e.kind(),
                std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
            )
        {
            open += 1;
        }
    }
    assert_eq!(open, 0, "slow clients still open after their time limit");
    // And the server still works after the flood.
    assert_eq!(http(&server, "GET", "/healthz", None, None).unwrap().0, 200);
}
