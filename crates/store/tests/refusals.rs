//! Refused secrets are remembered, on both backends: a well-formed secret refused once (unknown,
//! revoked, expired) is refused again without the database — shown by closing the database
//! and still refusing it — while a secret never seen fails closed, nothing is remembered when
//! the database cannot answer, and a refusal that held only because the owner was deactivated
//! ends when the owner is activated, on this node and (PostgreSQL LISTEN/NOTIFY) on another.
//! PostgreSQL: TESSERA_TEST_POSTGRES, default postgres://postgres@127.0.0.1:5432/postgres.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::time::Duration;

use chrono::Utc;
use tessera_core::audit::{AuditActor, AuditEntry};
use tessera_core::authn::{AuthError, Authenticator, Presented};
use tessera_core::cache::CredentialCache;
use tessera_core::clock::SystemClock;
use tessera_core::ids::UserId;
use tessera_core::invalidation::{InvalidationBus, LocalOnly, Notice};
use tessera_core::model::{CredentialKind, PrincipalKind, User};
use tessera_core::names::{TokenName, UserName};
use tessera_core::roles::RoleSet;
use tessera_core::secret::{Secret, SecretHasher, SecretKind};
use tessera_core::services::Context;
use tessera_core::store::{CredentialFilter, Store};
use tessera_core::usage::{UsageReceiver, usage_channel};
use tessera_store::notify::{PgBus, PgNotifications};
use tessera_store::postgres::PgStore;
use tessera_store::sqlite::SqliteStore;
use tessera_testkit::PgDatabase;

const KEY: &[u8] = b"0123456789abcdef0123456789abcdef-test-key";

/// One node: a store, its cache and the authenticator in front of them.
struct Node {
    ctx: Context,
    authenticator: Authenticator,
    _usage: UsageReceiver,
}

impl Node {
    fn new(store: Arc<dyn Store>, bus: Arc<dyn InvalidationBus>) -> Node {
        let (recorder, usage) = usage_channel();
        let ctx = Context {
            store,
            cache: Arc::new(CredentialCache::new(1000)),
            bus,
            hasher: SecretHasher::new(KEY).unwrap(),
            clock: Arc::new(SystemClock),
            serving: Arc::default(),
        };
        let authenticator = ctx.authenticator(recorder);
        Node {
            ctx,
            authenticator,
            _usage: usage,
        }
    }

    /// Ok(()) when accepted; the error otherwise.
    async fn verify(&self, secret: &str) -> Result<(), AuthError> {
        self.authenticator
            .authenticate(Presented::Bearer(secret), None)
            .await
            .map(|_| ())
    }

    async fn user(&self, name: &str) -> UserId {
        let user = User::new(
            PrincipalKind::User,
            UserName::parse("userName", name).unwrap(),
            RoleSet::default_for_new_user(),
            Utc::now(),
        );
        let audit =
            AuditEntry::about_user(&AuditActor::system(), Utc::now(), "user.created", &user);
        self.ctx
            .store
            .insert_principal(&user, None, &audit)
            .await
            .unwrap();
        user.id
    }

    /// A PAT of `owner`; `expired` makes it one that expired a minute ago.
    async fn pat(&self, owner: UserId, name: &str, expired: bool) -> String {
        let (mut credential, secret) = self.ctx.new_credential(
            CredentialKind::Pat,
            owner,
            TokenName::from_trusted(name.into()),
            String::new(),
            Some(3600),
        );
        if expired {
            credential.created_at = Utc::now() - chrono::Duration::minutes(2);
            credential.expires_at = Some(Utc::now() - chrono::Duration::minutes(1));
        }
        let audit = AuditEntry::new(&AuditActor::system(), Utc::now(), "pat.created", "pat");
        self.ctx
            .store
            .insert_credential(&credential, &audit)
            .await
            .unwrap();
        secret.into_exposed()
    }

    async fn revoke_all_of(&self, owner: UserId) {
        let filter = CredentialFilter {
            principal_id: Some(owner),
            ..CredentialFilter::default()
        };
        let revoked = self
            .ctx
            .store
            .revoke_credentials(&filter, Utc::now(), "test", &AuditActor::system())
            .await
            .unwrap();
        self.ctx.forget(&revoked).await;
    }

    async fn set_active(&self, id: UserId, active: bool) {
        self.ctx
            .set_active(id, active, &AuditActor::system(), "user")
            .await
            .unwrap();
    }

    fn remembers(&self, secret: &str) -> bool {
        let hash = self.ctx.hasher.hash(secret);
        self.ctx
            .cache
            .is_refused(&hash, Utc::now().timestamp_millis())
    }
}

fn invalid(result: Result<(), AuthError>) -> bool {
    matches!(result, Err(AuthError::Invalid))
}

/// The same story on either backend; `close` stops the database under the node.
async fn refused_secrets_are_refused_again_without_the_database(
    node: Node,
    close: impl AsyncFnOnce(),
) {
    let jane = node.user("jane").await;
    let valid = node.pat(jane, "valid", false).await;
    let expired = node.pat(jane, "expired", true).await;
    let john = node.user("john").await;
    let revoked = node.pat(john, "revoked", false).await;
    assert_eq!(
        node.verify(&revoked).await.ok(),
        Some(()),
        "not valid before"
    );
    node.revoke_all_of(john).await;
    let unknown = Secret::generate(SecretKind::Pat).into_exposed();

    // The database itself returns no row for a revoked or expired secret, as for an unknown one.
    let now = Utc::now();
    let row = async |secret: &str| {
        let hash = node.ctx.hasher.hash(secret);
        node.ctx
            .store
            .live_credential_by_hash(&hash, now)
            .await
            .unwrap()
    };
    assert!(row(&valid).await.is_some(), "no row for a live credential");
    for (what, secret) in [
        ("revoked", &revoked),
        ("expired", &expired),
        ("unknown", &unknown),
    ] {
        assert!(
            row(secret).await.is_none(),
            "a row left the database for {what}"
        );
    }

    assert!(node.verify(&valid).await.is_ok());
    for (what, secret) in [
        ("revoked", &revoked),
        ("expired", &expired),
        ("unknown", &unknown),
    ] {
        assert!(invalid(node.verify(secret).await), "{what} accepted");
        assert!(node.remembers(secret), "{what} refusal not remembered");
    }

    close().await;
    let never_seen = Secret::generate(SecretKind::Pat).into_exposed();
    assert!(
        matches!(
            node.verify(&never_seen).await,
            Err(AuthError::Unavailable(_))
        ),
        "the database is still answering, or an unseen secret was refused without it"
    );
    assert!(
        !node.remembers(&never_seen),
        "a refusal was remembered while the database could not answer"
    );
    for (what, secret) in [
        ("revoked", &revoked),
        ("expired", &expired),
        ("unknown", &unknown),
    ] {
        assert!(
            invalid(node.verify(secret).await),
            "{what} not refused from memory with the database down"
        );
    }
    assert!(
        node.verify(&valid).await.is_ok(),
        "the valid one is not served from memory"
    );
}

async fn a_refusal_for_a_deactivated_owner_ends_when_the_owner_is_activated(node: Node) {
    let jane = node.user("jane").await;
    node.set_active(jane, false).await;
    // A credential that outlived its owner's deactivation (deactivation revokes those it sees).
    let survivor = node.pat(jane, "survivor", false).await;
    let hash = node.ctx.hasher.hash(&survivor);
    let row = node
        .ctx
        .store
        .live_credential_by_hash(&hash, Utc::now())
        .await
        .unwrap();
    assert!(
        row.is_some_and(|r| !r.owner.is_active()),
        "a live credential of a deactivated owner is not returned with its owner"
    );
    assert!(invalid(node.verify(&survivor).await));
    assert!(node.remembers(&survivor));
    assert!(invalid(node.verify(&survivor).await));

    node.set_active(jane, true).await;
    assert!(
        node.verify(&survivor).await.is_ok(),
        "still refused after the owner was activated"
    );
}

fn sqlite_url(dir: &tempfile::TempDir) -> String {
    format!("sqlite://{}/tessera.db", dir.path().display())
}

#[tokio::test]
async fn sqlite_refuses_a_refused_secret_again_without_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&sqlite_url(&dir)).await.unwrap();
    let pool = store.pool().clone();
    let node = Node::new(Arc::new(store), Arc::new(LocalOnly));
    refused_secrets_are_refused_again_without_the_database(node, async || pool.close().await).await;
}

#[tokio::test]
async fn sqlite_accepts_a_secret_refused_for_a_deactivated_owner_once_the_owner_is_active() {
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(&sqlite_url(&dir)).await.unwrap();
    a_refusal_for_a_deactivated_owner_ends_when_the_owner_is_activated(Node::new(
        Arc::new(store),
        Arc::new(LocalOnly),
    ))
    .await;
}

/// A node on the test database: its store and a second handle on the same database.
async fn node(db: &PgDatabase) -> (Node, PgStore) {
    let store = PgStore::open(&db.url).await.unwrap();
    let bus = Arc::new(PgBus::new(store.pool().clone()));
    let handle = PgStore::open(&db.url).await.unwrap();
    (Node::new(Arc::new(store), bus), handle)
}

#[tokio::test]
async fn postgres_refuses_a_refused_secret_again_without_the_database() {
    let db = PgDatabase::create();
    let store = PgStore::open(&db.url).await.unwrap();
    let pool = store.pool().clone();
    let node = Node::new(Arc::new(store), Arc::new(PgBus::new(pool.clone())));
    refused_secrets_are_refused_again_without_the_database(node, async || pool.close().await).await;
}

#[tokio::test]
async fn postgres_accepts_a_secret_refused_for_a_deactivated_owner_once_the_owner_is_active() {
    let db = PgDatabase::create();
    let (node, _) = node(&db).await;
    a_refusal_for_a_deactivated_owner_ends_when_the_owner_is_activated(node).await;
}

#[tokio::test]
async fn another_node_forgets_a_refusal_for_a_deactivated_owner_when_one_node_activates_the_owner()
{
    let db = PgDatabase::create();
    let (a, _) = node(&db).await;
    let (b, b_store) = node(&db).await;
    // Node B hears node A as the server does (`apply_notices`); its cache has no time-to-live,
    // so only the notification can make it forget.
    let (tx, mut rx) = tokio::sync::mpsc::channel(64);
    let (_stop, stop_rx) = tokio::sync::watch::channel(false);
    tokio::spawn(PgNotifications::new(b_store.pool().clone()).run(tx, stop_rx));
    assert_eq!(rx.recv().await, Some(Notice::Gap), "not listening");
    let cache = b.ctx.cache.clone();
    tokio::spawn(async move {
        while let Some(notice) = rx.recv().await {
            match notice {
                Notice::Event(event) => cache.apply(&event),
                Notice::Gap => cache.clear(),
            }
        }
    });

    let jane = a.user("jane").await;
    a.set_active(jane, false).await;
    let survivor = a.pat(jane, "survivor", false).await;
    // The deactivation's own notification may reach B after its first refusal and make it
    // forget that refusal (as it should): refuse until B remembers it, within a bound.
    let mut remembered = false;
    for _ in 0..40 {
        assert!(invalid(b.verify(&survivor).await));
        if b.remembers(&survivor) {
            remembered = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert!(remembered, "node B never remembered the refusal");

    a.set_active(jane, true).await;
    let mut accepted = false;
    for _ in 0..40 {
        if b.verify(&survivor).await.is_ok() {
            accepted = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        accepted,
        "node B still refuses after node A activated the owner"
    );
}
