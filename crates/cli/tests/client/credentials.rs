//! Where the host and the credential come from (flag over environment over file over API key),
//! and where the credential may not go (another host, by redirect).

use std::io::{Read, Write};
use std::net::TcpListener;

use super::{Fixture, client, failure, stdout};
use crate::support::free_port;

#[test]
fn the_credential_comes_from_the_flag_then_tessera_token_then_the_file_then_the_api_key() {
    let app = Fixture::start();
    let alice = app.user("alice");
    let bob = app.user("bob");
    let carol_key = app.api_key(&app.user("carol"));
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("token");
    std::fs::write(&file, format!("\n  {bob}\n")).unwrap();
    let file = file.to_str().unwrap();
    let host = app.server.base.as_str();
    let whoami = |envs: &[(&str, &str)], flag: Option<&str>| {
        let mut all = vec![("DOMINO_API_HOST", host)];
        all.extend_from_slice(envs);
        let mut args = vec!["whoami"];
        args.extend(flag.map(|t| ["--token", t]).into_iter().flatten());
        stdout(&client(&all, &args)).trim().to_string()
    };
    let every = [
        ("TESSERA_TOKEN", alice.as_str()),
        ("DOMINO_TOKEN_FILE", file),
        ("DOMINO_USER_API_KEY", carol_key.as_str()),
    ];
    assert_eq!(whoami(&every, Some(app.admin.as_str())), "admin");
    assert_eq!(whoami(&every, None), "alice");
    assert_eq!(whoami(&every[1..], None), "bob");
    assert_eq!(whoami(&every[2..], None), "carol");
    // An empty variable is unset; a file is not read while a variable above it is set.
    let empty = [("TESSERA_TOKEN", ""), every[1], every[2]];
    assert_eq!(whoami(&empty, None), "bob");
    let missing = dir.path().join("missing");
    let missing = missing.to_str().unwrap();
    let unread = [every[0], ("DOMINO_TOKEN_FILE", missing)];
    assert_eq!(whoami(&unread, None), "alice");
    // The legacy key works for the other commands too, and for the token exchange.
    let key_only = [("DOMINO_API_HOST", host), every[2]];
    let jwt = stdout(&client(&key_only, &["exchange"]));
    assert_eq!(whoami(&[], Some(jwt.trim())), "carol");
    assert!(stdout(&client(&key_only, &["pat", "list"])).contains("laptop"));
    // A Tessera API key given as a token is sent as one.
    assert_eq!(whoami(&[], Some(carol_key.as_str())), "carol");
}

#[test]
fn a_set_but_unusable_token_file_is_an_error_naming_it_not_a_fall_through() {
    let app = Fixture::start();
    let key = app.api_key(&app.admin);
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\n").unwrap();
    for path in [dir.path().join("missing"), empty] {
        let path = path.to_str().unwrap();
        let envs = [
            ("DOMINO_API_HOST", app.server.base.as_str()),
            ("DOMINO_TOKEN_FILE", path),
            ("DOMINO_USER_API_KEY", key.as_str()),
        ];
        let stderr = failure(&client(&envs, &["whoami"]), 4);
        assert!(stderr.contains(path), "{stderr}");
    }
}

#[test]
fn no_credential_is_an_error_naming_the_four_places_one_can_come_from() {
    let app = Fixture::start();
    for args in [
        &["whoami"][..],
        &["pat", "list"],
        &["sa", "list"],
        &["exchange"],
    ] {
        let stderr = failure(&client(&[("DOMINO_API_HOST", &app.server.base)], args), 4);
        for place in [
            "--token",
            "TESSERA_TOKEN",
            "DOMINO_TOKEN_FILE",
            "DOMINO_USER_API_KEY",
        ] {
            assert!(stderr.contains(place), "{args:?}: {stderr}");
        }
    }
}

#[test]
fn the_host_flag_wins_over_domino_api_host_and_an_unreachable_host_is_named() {
    let app = Fixture::start();
    let dead = format!("http://127.0.0.1:{}", free_port());
    let token = app.admin.as_str();
    let flag = client(
        &[("DOMINO_API_HOST", &dead), ("TESSERA_TOKEN", token)],
        &["whoami", "--host", &app.server.base],
    );
    assert_eq!(stdout(&flag), "admin\n");
    let env = client(
        &[
            ("DOMINO_API_HOST", &app.server.base),
            ("TESSERA_TOKEN", token),
        ],
        &["whoami"],
    );
    assert_eq!(stdout(&env), "admin\n");
    let refused = failure(
        &client(
            &[
                ("DOMINO_API_HOST", &app.server.base),
                ("TESSERA_TOKEN", token),
            ],
            &["pat", "list", "--host", &dead],
        ),
        1,
    );
    assert!(
        refused.contains(&dead) && refused.contains("cannot connect"),
        "{refused}"
    );
    assert!(!refused.contains(token), "{refused}");
    let no_scheme = failure(
        &client(
            &[("TESSERA_TOKEN", token)],
            &["whoami", "--host", "localhost:8080"],
        ),
        2,
    );
    assert!(no_scheme.contains("http://"), "{no_scheme}");
    let password = failure(
        &client(
            &[
                ("DOMINO_API_HOST", "http://me:hunter2@127.0.0.1:1"),
                ("TESSERA_TOKEN", token),
            ],
            &["whoami"],
        ),
        2,
    );
    assert!(
        password.contains("DOMINO_API_HOST") && !password.contains("hunter2"),
        "{password}"
    );
}

#[test]
fn a_redirect_is_not_followed_so_the_credential_goes_to_no_other_host() {
    let elsewhere = TcpListener::bind("127.0.0.1:0").unwrap();
    elsewhere.set_nonblocking(true).unwrap();
    let target = format!("http://{}/v4/users/self", elsewhere.local_addr().unwrap());
    let redirector = TcpListener::bind("127.0.0.1:0").unwrap();
    let host = format!("http://{}", redirector.local_addr().unwrap());
    let answer = format!(
        "HTTP/1.1 307 Temporary Redirect\r\nLocation: {target}\r\nContent-Length: 0\r\n\
         Connection: close\r\n\r\n"
    );
    let server = std::thread::spawn(move || {
        let (mut stream, _) = redirector.accept().unwrap();
        let mut request = Vec::new();
        let mut buffer = [0u8; 4096];
        while !request.windows(4).any(|w| w == b"\r\n\r\n") {
            let n = stream.read(&mut buffer).unwrap();
            assert!(n > 0, "the client hung up before its headers ended");
            request.extend_from_slice(&buffer[..n]);
        }
        stream.write_all(answer.as_bytes()).unwrap();
        String::from_utf8_lossy(&request).to_lowercase()
    });
    let output = client(
        &[
            ("DOMINO_API_HOST", &host),
            ("DOMINO_USER_API_KEY", "tkey_thekey"),
        ],
        &["whoami"],
    );
    let request = server.join().unwrap();
    assert!(
        request.contains("x-domino-api-key: tkey_thekey"),
        "{request}"
    );
    let stderr = failure(&output, 1);
    assert!(
        stderr.contains("redirects to") && stderr.contains(&target),
        "{stderr}"
    );
    assert!(!stderr.contains("tkey_thekey"), "{stderr}");
    // The process has exited: had it followed the redirect, its connection would be queued.
    let followed = elsewhere.accept();
    assert!(
        matches!(&followed, Err(e) if e.kind() == std::io::ErrorKind::WouldBlock),
        "the client followed the redirect: {followed:?}"
    );
}
