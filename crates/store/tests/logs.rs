//! What the services and the store write to the log: spans name the ids they work on, never a
//! secret. A PAT is created with every level of the log captured, and the secret it returns is
//! looked for in the capture.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::Write;
use std::sync::{Arc, Mutex};

use tessera_core::authn::Presented;
use tessera_core::cache::CredentialCache;
use tessera_core::clock::SystemClock;
use tessera_core::invalidation::LocalOnly;
use tessera_core::names::{Email, UserName};
use tessera_core::roles::RoleSet;
use tessera_core::secret::SecretHasher;
use tessera_core::services::Context;
use tessera_core::services::pats::{ExpirationPolicy, NewPat, PatService};
use tessera_core::services::users::{NewUser, UserService};
use tessera_core::usage::usage_channel;
use tessera_store::sqlite::SqliteStore;
use tracing_subscriber::fmt::format::FmtSpan;

/// Everything written to the log, shared with the test.
#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl Write for Capture {
    fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(bytes);
        Ok(bytes.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Capture {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.0.lock().unwrap()).into_owned()
    }
}

#[tokio::test]
async fn creating_a_pat_logs_its_ids_at_every_level_and_never_the_secret() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}", dir.path().join("t.db").display());
    let store = Arc::new(SqliteStore::open(&url).await.unwrap());
    let ctx = Context {
        store: store.clone(),
        cache: Arc::new(CredentialCache::new(100)),
        bus: Arc::new(LocalOnly),
        hasher: SecretHasher::new(b"0123456789abcdef0123456789abcdef-log-test").unwrap(),
        clock: Arc::new(SystemClock),
        serving: Arc::default(),
    };
    let (recorder, _usage) = usage_channel();
    let authenticator = ctx.authenticator(recorder);

    // A user signed in with a first PAT, both made the operator's way.
    let user = UserService::new(ctx.clone())
        .create_by_operator(NewUser {
            user_name: UserName::parse("userName", "jane").unwrap(),
            email: Email::parse("email", "jane@example.com").unwrap(),
            first_name: String::new(),
            last_name: String::new(),
            roles: RoleSet::default_for_new_user(),
            password: None,
        })
        .await
        .unwrap();
    let pats = PatService::new(ctx.clone(), ExpirationPolicy::default());
    let first = NewPat::parse("first", None, Some(3600)).unwrap();
    let (_, first_secret) = pats
        .create_for_operator(&user.user_name, first)
        .await
        .unwrap();
    let caller = authenticator
        .authenticate(Presented::Bearer(first_secret.expose()), None)
        .await
        .unwrap();

    let capture = Capture::default();
    let writer = capture.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::NEW)
        .with_ansi(false)
        .with_writer(move || writer.clone())
        .finish();
    let (credential, secret) = {
        let _log = tracing::subscriber::set_default(subscriber);
        let request = NewPat::parse("second", Some("for the log"), Some(3600)).unwrap();
        pats.create(&caller, request).await.unwrap()
    };

    let log = capture.text();
    let secret = secret.expose();
    // The capture holds the service's and the store's spans, with the ids they name.
    for expected in [
        "create".to_string(),
        format!("caller={}", user.id),
        "insert_credential".to_string(),
    ] {
        assert!(log.contains(&expected), "{expected:?} missing from:\n{log}");
    }
    assert!(!secret.is_empty() && secret.len() > 20, "{secret:?}");
    assert!(
        !log.contains(secret),
        "the secret of PAT {} is in the log:\n{log}",
        credential.id
    );
    // Nor any long piece of it (a prefix is public; the random part is not).
    let random = &secret[secret.len() - 20..];
    assert!(
        !log.contains(random),
        "part of the secret is in the log:\n{log}"
    );
}
