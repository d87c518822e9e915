//! Unit and property tests of `gateway::path`: every spelling of a path has one canonical form,
//! and no canonical form climbs out of the prefix it was written under.

use std::borrow::Cow;

use proptest::prelude::*;

use super::*;

const JOBS: &[&str] = &["/api/jobs/"];

fn ok(path: &str) -> String {
    match normalise(path, JOBS) {
        Ok(p) => p.into_owned(),
        Err(e) => panic!("{path:?} was refused: {e}"),
    }
}

fn refused(path: &str) -> PathError {
    match normalise(path, JOBS) {
        Ok(p) => panic!("{path:?} was accepted as {p:?}"),
        Err(e) => e,
    }
}

#[test]
fn a_canonical_path_is_returned_as_it_is_without_a_copy() {
    for path in [
        "/",
        "/api/jobs/v1/jobs",
        "/api/jobs/",
        "/ui/login",
        "/a/b.c/...d/~x_-",
    ] {
        assert!(
            matches!(normalise(path, JOBS), Ok(Cow::Borrowed(p)) if p == path),
            "{path}"
        );
    }
    // Escapes that stay as they are are not copied out either.
    assert!(matches!(
        normalise("/api/jobs/a%20b", JOBS),
        Ok(Cow::Borrowed(_))
    ));
    assert!(matches!(normalise("*", JOBS), Ok(Cow::Borrowed("*"))));
}

#[test]
fn every_spelling_of_a_dot_segment_is_removed() {
    for (path, expected) in [
        ("/api/jobs/./x", "/api/jobs/x"),
        ("/api/jobs/a/../x", "/api/jobs/x"),
        ("/api/jobs/a/%2e%2e/x", "/api/jobs/x"),
        ("/api/jobs/a/%2E%2E/x", "/api/jobs/x"),
        ("/api/jobs/a/%2E./x", "/api/jobs/x"),
        ("/api/jobs/a/.%2e/x", "/api/jobs/x"),
        ("/api/jobs/%2e/x", "/api/jobs/x"),
        ("/api/jobs/a/b/../../x", "/api/jobs/x"),
        ("/api/jobs/a/..", "/api/jobs/"),
        ("/api/jobs/a/.", "/api/jobs/a/"),
        ("/api/jobs/a/%2e", "/api/jobs/a/"),
        ("/./healthz", "/healthz"),
        ("/x/../healthz", "/healthz"),
    ] {
        assert_eq!(ok(path), expected, "{path}");
    }
}

#[test]
fn repeated_slashes_are_merged_before_dot_segments_are_removed() {
    assert_eq!(ok("//api//jobs///x"), "/api/jobs/x");
    assert_eq!(ok("/api/jobs/x//"), "/api/jobs/x/");
    // `x//..` is `x/..`: the `..` takes `x`, not an empty segment.
    assert_eq!(ok("/api/jobs/a/x//../y"), "/api/jobs/a/y");
}

#[test]
fn unreserved_escapes_are_decoded_and_others_upper_cased_but_never_decoded_twice() {
    assert_eq!(ok("/api/%6Aobs/%7e%41-%5f"), "/api/jobs/~A-_");
    assert_eq!(ok("/api/jobs/a%3ab"), "/api/jobs/a%3Ab");
    assert_eq!(ok("/api/jobs/%252e%252e/x"), "/api/jobs/%252e%252e/x");
    assert_eq!(ok("/api/jobs/%25252F"), "/api/jobs/%25252F");
    assert_eq!(ok("/api/jobs/caf%C3%A9/é"), "/api/jobs/caf%C3%A9/é");
}

#[test]
fn a_climb_out_of_a_route_prefix_is_refused_however_it_is_spelled() {
    for path in [
        "/api/jobs/../../internal/secret.txt",
        "/api/jobs/..",
        "/api/jobs/../",
        "/api/jobs/%2e%2e/%2e%2e/internal",
        "/api/jobs/.%2E/x",
        "/api/jobs/a/../../x",
        "/api/jobs/a//../../x",
        "/api/jobs/../../api/admin/v1/users",
        "/api/jobs/../jobs/x",
        "/api/%6aobs/../x",
        "/api/./jobs/../x",
    ] {
        assert_eq!(
            refused(path),
            PathError::OutOfPrefix("/api/jobs/".into()),
            "{path}"
        );
    }
}

#[test]
fn a_prefix_reached_through_dot_segments_from_elsewhere_is_routed_canonically() {
    assert_eq!(ok("/api/other/../jobs/x"), "/api/jobs/x");
    assert_eq!(ok("/ui/../api/jobs/x"), "/api/jobs/x");
    assert_eq!(ok("/ui/../api/admin/v1/users"), "/api/admin/v1/users");
}

#[test]
fn climbing_above_the_root_is_refused() {
    for path in ["/..", "/../healthz", "/%2e%2e/x", "/a/../../x", "/./../x"] {
        assert_eq!(refused(path), PathError::AboveRoot, "{path}");
    }
}

#[test]
fn hidden_separators_and_nuls_are_refused() {
    for (path, error) in [
        ("/api/jobs/a%2Fb", PathError::EncodedSlash),
        ("/api/jobs/a%2fb", PathError::EncodedSlash),
        ("/api/jobs/..%2F..%2Finternal", PathError::EncodedSlash),
        ("/api/jobs/a%5Cb", PathError::Backslash),
        ("/api/jobs/a%5cb", PathError::Backslash),
        ("/api/jobs/..\\..\\internal", PathError::Backslash),
        ("/api/jobs/a\\b", PathError::Backslash),
        ("/api/jobs/a%00.txt", PathError::Nul),
        ("/healthz%00", PathError::Nul),
    ] {
        assert_eq!(refused(path), error, "{path}");
    }
}

#[test]
fn overlong_and_invalid_utf8_escapes_are_refused() {
    for path in [
        "/api/jobs/%c0%ae%c0%ae/x",
        "/api/jobs/%C0%AF",
        "/api/jobs/%e0%80%ae",
        "/api/jobs/%ff",
        "/api/jobs/%C3",
    ] {
        assert_eq!(refused(path), PathError::NotUtf8, "{path}");
    }
}

#[test]
fn malformed_escapes_are_refused() {
    for path in [
        "/api/jobs/%",
        "/api/jobs/%2",
        "/api/jobs/%zz",
        "/api/jobs/%2g/x",
    ] {
        assert_eq!(refused(path), PathError::MalformedEscape, "{path}");
    }
}

#[test]
fn dot_segments_with_parameters_are_refused() {
    for path in [
        "/api/jobs/..;/..;/internal",
        "/api/jobs/..;jsessionid=x/internal",
        "/api/jobs/.;/x",
        "/api/jobs/%2e%2e;/x",
        "/api/jobs/..%3b/x",
        "/api/jobs/..%3B/x",
    ] {
        assert_eq!(refused(path), PathError::DotWithParameters, "{path}");
    }
    // Names that merely start with dots, or carry parameters, are not dot segments.
    assert_eq!(ok("/api/jobs/...;x"), "/api/jobs/...;x");
    assert_eq!(ok("/api/jobs/.env;x"), "/api/jobs/.env;x");
    assert_eq!(ok("/api/jobs/a;b/c"), "/api/jobs/a;b/c");
}

#[test]
fn the_canonical_check_agrees_with_the_slow_path() {
    for path in [
        "/api/jobs/x",
        "/a/./b",
        "/a//b",
        "/a/%41",
        "/a/..;",
        "/a\\b",
        "x",
    ] {
        let canonical = is_canonical(path);
        let unchanged = normalise(path, JOBS).is_ok_and(|p| p == path);
        assert!(!canonical || unchanged, "{path}");
    }
}

/// Pieces of paths an attacker would combine.
const PIECES: &[&str] = &[
    "a", "jobs", "api", "x.txt", ".", "..", "/", "//", "%2e", "%2E", "%2e%2e", ".%2E", "%2f",
    "%5C", "\\", "%00", "%41", "%7e", "%252e", "%25", ";", "..;", "%3b", "%c0%ae", "%C3%A9", "é",
    "~", "%", "%zz", "-", "...",
];

fn pieces() -> impl Strategy<Value = String> {
    proptest::collection::vec(proptest::sample::select(PIECES), 0..14).prop_map(|p| p.concat())
}

fn has_dot_segment(path: &str) -> bool {
    path.split('/').any(|s| s == "." || s == "..")
}

proptest! {
    // No regression files in the source tree: a failure prints its minimal input.
    #![proptest_config(ProptestConfig { failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn a_path_under_a_prefix_never_escapes_it_nor_keeps_a_dot_segment(rest in pieces()) {
        let path = format!("/api/jobs/{rest}");
        if let Ok(out) = normalise(&path, JOBS) {
            prop_assert!(out.starts_with("/api/jobs/"), "{path:?} -> {out:?}");
            prop_assert!(!has_dot_segment(&out), "{path:?} -> {out:?}");
            prop_assert!(!out.contains("//"), "{path:?} -> {out:?}");
        }
    }

    #[test]
    fn the_canonical_form_is_canonical_and_stable(rest in pieces()) {
        let path = format!("/{rest}");
        if let Ok(out) = normalise(&path, JOBS) {
            prop_assert!(!has_dot_segment(&out), "{path:?} -> {out:?}");
            prop_assert!(out.starts_with('/'), "{path:?} -> {out:?}");
            let again = normalise(&out, JOBS);
            prop_assert_eq!(again.as_deref(), Ok(&*out), "{:?} is not stable", path);
        }
    }
}

#[test]
fn a_query_is_text_only_when_its_escapes_decode_to_utf8() {
    for good in [
        "",
        "a=b",
        "q=%C3%A9",
        "q=%e2%82%ac&x=1",
        "q=100%",
        "q=%zz",
        "q=é",
    ] {
        assert!(query_is_utf8(good), "{good}");
    }
    for bad in ["q=%FF", "q=%ff%fe", "q=%C0%AE", "q=%C3", "a=1&q=%80"] {
        assert!(!query_is_utf8(bad), "{bad}");
    }
}
