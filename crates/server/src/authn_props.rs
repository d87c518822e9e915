//! Properties of the credential headers' parsing (RFC 6750 Bearer, RFC 7617 Basic, Domino's
//! `X-Domino-Api-Key`), over arbitrary header values.

use axum::http::{HeaderMap, HeaderValue, header};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use proptest::prelude::*;

use super::{Channel, read_credential};

fn headers(pairs: &[(&str, &[u8])]) -> Option<HeaderMap> {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(
            axum::http::HeaderName::from_bytes(name.as_bytes()).ok()?,
            HeaderValue::from_bytes(value).ok()?,
        );
    }
    Some(map)
}

fn channel_name(c: Channel) -> &'static str {
    match c {
        Channel::Bearer => "bearer",
        Channel::ApiKey => "apiKey",
    }
}

proptest! {
    #[test]
    fn any_authorization_value_is_read_or_refused_without_panicking(value in prop::collection::vec(any::<u8>(), 0..200)) {
        if let Some(map) = headers(&[("authorization", &value)]) {
            let _ = read_credential(&map);
        }
    }

    #[test]
    fn a_bearer_token_is_read_whatever_the_scheme_case_and_spacing(
        scheme in "[bB][eE][aA][rR][eE][rR]",
        spaces in " {1,3}",
        token in "[!-~]{1,80}",
    ) {
        let map = headers(&[("authorization", format!("{scheme}{spaces}{token}").as_bytes())]).unwrap_or_default();
        let read = read_credential(&map).ok().flatten().map(|(t, c)| (t.into_owned(), channel_name(c)));
        prop_assert_eq!(read, Some((token, "bearer")));
    }

    #[test]
    fn basic_with_an_empty_user_name_carries_an_api_key_and_any_other_user_is_refused(
        user in "[!-9;-~]{0,20}",
        password in "[ -~]{0,40}",
    ) {
        let encoded = STANDARD.encode(format!("{user}:{password}"));
        let map = headers(&[("authorization", format!("Basic {encoded}").as_bytes())]).unwrap_or_default();
        let read = read_credential(&map).map(|r| r.map(|(t, c)| (t.into_owned(), channel_name(c))));
        if user.is_empty() {
            prop_assert_eq!(read, Ok(Some((password, "apiKey"))));
        } else {
            prop_assert_eq!(read, Err(()));
        }
    }

    #[test]
    fn basic_with_bytes_that_are_not_base64_of_utf8_is_refused(raw in prop::collection::vec(any::<u8>(), 1..40)) {
        let value = [b"Basic ".as_slice(), &raw].concat();
        if let Some(map) = headers(&[("authorization", &value)]) {
            let decodes = std::str::from_utf8(&raw)
                .ok()
                .and_then(|s| STANDARD.decode(s.trim()).ok())
                .and_then(|b| String::from_utf8(b).ok())
                .is_some_and(|s| s.starts_with(':'));
            if !decodes {
                prop_assert_eq!(read_credential(&map).map(|r| r.is_some()), Err(()));
            }
        }
    }

    #[test]
    fn two_credential_lines_are_refused(a in "[!-~]{1,30}", b in "[!-~]{1,30}", api_key in any::<bool>()) {
        let name = if api_key { "x-domino-api-key" } else { header::AUTHORIZATION.as_str() };
        let first = format!("Bearer {a}");
        let second = format!("Bearer {b}");
        let map = headers(&[(name, first.as_bytes()), (name, second.as_bytes())]).unwrap_or_default();
        prop_assert!(read_credential(&map).is_err());
    }

    #[test]
    fn the_api_key_header_wins_over_authorization_and_is_trimmed(key in "[!-~]{1,60}", bearer in "[!-~]{1,60}") {
        let padded = format!("  {key} ");
        let auth = format!("Bearer {bearer}");
        let map = headers(&[("x-domino-api-key", padded.as_bytes()), ("authorization", auth.as_bytes())]).unwrap_or_default();
        let read = read_credential(&map).ok().flatten().map(|(t, c)| (t.into_owned(), channel_name(c)));
        prop_assert_eq!(read, Some((key, "apiKey")));
    }
}
