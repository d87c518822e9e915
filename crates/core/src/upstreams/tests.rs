use super::*;

fn list(entries: &[&str]) -> AllowedUpstreams {
    AllowedUpstreams::parse(entries).unwrap_or_else(|e| panic!("{e}"))
}

fn url(raw: &str) -> UpstreamUrl {
    UpstreamUrl::parse(raw).unwrap_or_else(|e| panic!("{e}"))
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

const SPEC_EXAMPLE: [&str; 3] = [
    "http://127.0.0.1:9100",
    "http://10.8.0.0/16",
    "https://*.models.internal",
];

#[test]
fn the_spec_example_allows_exactly_what_it_lists() {
    let allowed = list(&SPEC_EXAMPLE);
    for ok in [
        "http://127.0.0.1:9100",
        "http://127.0.0.1:9100/predict",
        "http://10.8.0.1",
        "http://10.8.255.254:8080",
        "https://a.models.internal",
        "https://a.b.models.internal:8443/v1",
    ] {
        assert_eq!(allowed.check(&url(ok)), Ok(()), "{ok}");
    }
    for refused in [
        "http://127.0.0.1:9101",
        "http://127.0.0.1",
        "https://127.0.0.1:9100",
        "http://10.9.0.1",
        "http://[::1]:9100",
        "http://localhost:9100",
        "http://a.models.internal",
        "https://models.internal",
        "https://evilmodels.internal",
        "https://a.models.internal.evil.com",
    ] {
        assert_eq!(
            allowed.check(&url(refused)),
            Err(Refusal::NotListed),
            "{refused}"
        );
    }
}

#[test]
fn with_no_list_nothing_is_allowed_and_the_refusal_says_how_to_allow() {
    let none = AllowedUpstreams::default();
    let refusal = none.check(&url("http://127.0.0.1:9100")).unwrap_err();
    assert_eq!(refusal, Refusal::NoneAllowed);
    let message = refusal.for_field(&url("http://127.0.0.1:9100")).to_string();
    assert!(message.starts_with("upstreamUrl: "), "{message}");
    assert!(message.contains("[models] allowed_upstreams"), "{message}");
    assert!(
        message.contains("TESSERA_MODELS_ALLOWED_UPSTREAMS"),
        "{message}"
    );
}

#[test]
fn a_refused_url_names_the_field_and_the_setting() {
    let message = Refusal::NotListed
        .for_field(&url("http://10.0.0.1"))
        .to_string();
    assert!(
        message.starts_with("upstreamUrl: http://10.0.0.1 "),
        "{message}"
    );
    assert!(message.contains("[models] allowed_upstreams"), "{message}");
}

#[test]
fn link_local_addresses_are_refused_even_inside_an_allowed_range() {
    let everything = list(&["http://0.0.0.0/0", "http://[::]/0"]);
    assert_eq!(everything.check(&url("http://10.0.0.1")), Ok(()));
    for raw in [
        "http://169.254.169.254",
        "http://169.254.0.1:8080",
        "http://[fe80::1]",
        "http://0.0.0.0:9100",
        "http://[::]",
    ] {
        assert!(
            matches!(everything.check(&url(raw)), Err(Refusal::Never(..))),
            "{raw}"
        );
    }
    let u = url("http://10.0.0.1");
    for resolved in [
        "169.254.169.254",
        "::ffff:169.254.169.254",
        "fe80::1",
        "0.0.0.0",
    ] {
        assert!(
            matches!(
                everything.check_address(&u, ip(resolved)),
                Err(Refusal::Never(..))
            ),
            "{resolved}"
        );
    }
}

#[test]
fn a_resolved_name_reaches_internal_addresses_only_through_an_address_rule() {
    let by_name = list(&["http://localhost", "https://*.models.internal"]);
    let local = url("http://localhost:9100");
    assert_eq!(by_name.check(&local), Ok(()));
    assert_eq!(
        by_name.check_address(&local, ip("127.0.0.1")),
        Err(Refusal::Internal(ip("127.0.0.1")))
    );
    assert!(by_name.check_address(&local, ip("::1")).is_err());
    let metadata = url("https://api.models.internal");
    assert!(matches!(
        by_name.check_address(&metadata, ip("169.254.169.254")),
        Err(Refusal::Never(..))
    ));
    assert!(by_name.check_address(&metadata, ip("10.8.1.2")).is_err());
    assert_eq!(by_name.check_address(&metadata, ip("8.8.8.8")), Ok(()));

    let with_range = list(&[
        "http://localhost",
        "http://127.0.0.0/8",
        "http://10.8.0.0/16:443",
    ]);
    assert_eq!(with_range.check_address(&local, ip("127.0.0.1")), Ok(()));
    assert_eq!(
        with_range.check_address(&local, ip("::ffff:127.0.0.1")),
        Ok(())
    );
    assert!(with_range.check_address(&local, ip("::1")).is_err());
    // An address rule's port holds for names resolving into it too.
    assert_eq!(with_range.check_address(&metadata, ip("10.8.1.2")), Ok(()));
    let other_port = url("https://api.models.internal:8443");
    assert!(
        with_range
            .check_address(&other_port, ip("10.8.1.2"))
            .is_err()
    );
}

#[test]
fn an_address_url_connects_only_to_an_address_rule() {
    let allowed = list(&["http://127.0.0.1:9100"]);
    let u = url("http://127.0.0.1:9100");
    assert_eq!(allowed.check_address(&u, ip("127.0.0.1")), Ok(()));
    assert!(allowed.check_address(&u, ip("127.0.0.2")).is_err());
    // A public address in a URL needs a rule as much as a private one.
    let public = url("http://8.8.8.8:9100");
    assert_eq!(allowed.check(&public), Err(Refusal::NotListed));
    assert!(allowed.check_address(&public, ip("8.8.8.8")).is_err());
}

#[test]
fn ports_default_by_scheme_and_a_rule_without_port_allows_any() {
    let allowed = list(&["http://127.0.0.1:80", "https://models.internal"]);
    assert_eq!(allowed.check(&url("http://127.0.0.1")), Ok(()));
    assert_eq!(allowed.check(&url("https://models.internal:1")), Ok(()));
    assert_eq!(allowed.check(&url("https://models.internal:65535")), Ok(()));
    assert!(allowed.check(&url("http://127.0.0.1:8080")).is_err());
}

#[test]
fn rules_are_read_in_every_documented_form() {
    let allowed = list(&[
        " HTTP://Models.Internal:8080/ ",
        "http://[::1]:9100",
        "http://[fd00::]/8:9000",
        "http://192.168.0.0/16:9000",
        "https://*.Svc.Cluster.Local",
    ]);
    assert_eq!(allowed.check(&url("http://models.internal:8080")), Ok(()));
    assert_eq!(allowed.check(&url("http://[::1]:9100")), Ok(()));
    assert_eq!(allowed.check(&url("http://[fd12::1]:9000")), Ok(()));
    assert!(allowed.check(&url("http://[fd12::1]:9001")).is_err());
    assert_eq!(allowed.check(&url("http://192.168.3.4:9000")), Ok(()));
    assert_eq!(
        allowed.check(&url("https://m.ns.svc.cluster.local")),
        Ok(())
    );
}

#[test]
fn malformed_rules_are_refused_with_the_entry_named() {
    for bad in [
        "10.8.0.0/16",
        "ftp://10.8.0.0/16",
        "http://10.8.1.0/16",
        "http://10.8.0.0/33",
        "http://10.8.0.0/x",
        "http://models.internal/predict",
        "http://user@models.internal",
        "http://models.internal:0",
        "http://models.internal:70000",
        "http://*",
        "http://*.",
        "http://a.*.internal",
        "http://0x7f.1",
        "http://2130706433",
        "http://[::ffff:127.0.0.1]",
        "http://169.254.169.254",
        "http://169.254.0.0/16",
        "http://169.254.169.0/24",
        "http://[fe80::]/10",
        "http://0.0.0.0",
        "http://models.internal?x",
        "",
    ] {
        let err = AllowedUpstreams::parse(&[bad]).expect_err(bad);
        assert!(err.contains(&format!("{bad:?}")), "{err}");
    }
}
