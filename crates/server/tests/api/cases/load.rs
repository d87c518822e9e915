//! Under load (issue #19): administrative browsing past its limit is shed at once with 503 and
//! `Retry-After` while PAT creation, first use and revocation go on; refusals and cache hits
//! cost no database read; a full verification cache keeps most entries; `lastUsedAt` is
//! written once a minute per credential on both backends.

use std::time::Duration;

use reqwest::Method;
use sqlx::{Connection, Row};
use tessera_core::secret::{Secret, SecretKind};

use crate::helpers::{Auth, Backend, Reply, TestApp, eventually, spawn_app_with};

const ORGS: &str = "/api/organizations/v1/organizations";

/// A shed request: 503, `Retry-After`, the usual envelope.
#[track_caller]
fn assert_shed(reply: &Reply) {
    reply.assert_status(503).assert_envelope();
    assert_eq!(reply.header("retry-after"), Some("1"), "{reply:?}");
}

/// A user's PAT is created, used for the first time (a store read), revoked, and refused.
async fn credential_work_goes_on(app: &TestApp, owner: &str, name: &str) {
    let created = app.create_pat(owner, name, 3600).await;
    let token = created["token"].as_str().unwrap();
    let id = created["patId"].as_str().unwrap();
    app.get("/api/pat/v1/tokens", token)
        .await
        .assert_status(200);
    app.post_empty(&format!("/api/pat/v1/tokens/{id}/invalidate"), owner)
        .await
        .assert_status(200);
    app.get("/api/pat/v1/tokens", token)
        .await
        .assert_status(401);
}

#[tokio::test]
async fn browsing_past_its_limit_is_shed_at_once_while_credentials_are_created_used_and_revoked() {
    match crate::BACKEND {
        Backend::Postgres => browsing_held_by_a_lock().await,
        Backend::Sqlite => browsing_in_bursts().await,
    }
}

/// PostgreSQL: the listings are held by a lock on the table they read, so that exactly as
/// many as the limit are in progress when the next one comes.
async fn browsing_held_by_a_lock() {
    let app = spawn_app_with(|c| {
        c.db_connections = 4;
        c.interactive_concurrency = 2;
    })
    .await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    let mut locker = sqlx::PgConnection::connect(&app.database).await.unwrap();
    let watcher = sqlx::PgPool::connect(&app.database).await.unwrap();
    sqlx::query("BEGIN").execute(&mut locker).await.unwrap();
    sqlx::query("LOCK TABLE organizations IN ACCESS EXCLUSIVE MODE")
        .execute(&mut locker)
        .await
        .unwrap();
    let held: Vec<_> = (0..2)
        .map(|_| {
            let (client, url, token) = (
                app.client.clone(),
                format!("{}{ORGS}", app.address),
                app.admin_token.clone(),
            );
            tokio::spawn(async move {
                let r = client.get(url).bearer_auth(token).send().await.unwrap();
                r.status().as_u16()
            })
        })
        .collect();
    let waiting = eventually(Duration::from_secs(10), || {
        let watcher = watcher.clone();
        async move {
            let row = sqlx::query(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() \
                 AND application_name = 'tessera' AND wait_event_type = 'Lock'",
            )
            .fetch_one(&watcher)
            .await
            .unwrap();
            row.get::<i64, _>(0) == 2
        }
    })
    .await;
    assert!(waiting, "the two listings never waited on the lock");

    // The limit is reached: the next listing of any kind is shed at once, not queued.
    assert_shed(&app.admin_get(ORGS).await);
    assert_shed(&app.admin_get("/api/pat/v1/admin/tokens").await);
    assert_shed(&app.admin_get("/api/admin/v1/users").await);
    // Probes, verification and credential writes are not browsing: they go on.
    app.send(Method::GET, "/healthz", Auth::None, None)
        .await
        .assert_status(200);
    app.assert_whoami(Auth::Bearer(&jane), 200).await;
    credential_work_goes_on(&app, &jane, "during-browsing").await;

    sqlx::query("COMMIT").execute(&mut locker).await.unwrap();
    for listing in held {
        assert_eq!(listing.await.unwrap(), 200, "a held listing failed");
    }
    app.admin_get(ORGS).await.assert_status(200);
    let metrics = app.state.metrics.render(0);
    assert!(
        metrics.contains("tessera_requests_shed_total 3"),
        "shed requests not counted"
    );
}

/// SQLite readers cannot be held by a lock: bursts of listings over one interactive slot,
/// each with PAT creation, first use and revocation beside it, until one listing is shed.
async fn browsing_in_bursts() {
    let app = spawn_app_with(|c| {
        c.db_connections = 2;
        c.interactive_concurrency = 1;
    })
    .await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    for i in 0..20 {
        app.create_user(&format!("user{i}"), &[]).await;
    }
    let mut shed = 0;
    for burst in 0..20 {
        let listings: Vec<_> = (0..24)
            .map(|_| {
                let (client, url, token) = (
                    app.client.clone(),
                    format!("{}/api/admin/v1/users", app.address),
                    app.admin_token.clone(),
                );
                tokio::spawn(async move {
                    let r = client.get(url).bearer_auth(token).send().await.unwrap();
                    let retry = r.headers().get("retry-after").cloned();
                    (r.status().as_u16(), retry)
                })
            })
            .collect();
        credential_work_goes_on(&app, &jane, &format!("burst-{burst}")).await;
        for listing in listings {
            match listing.await.unwrap() {
                (200, _) => {}
                (503, Some(retry)) if retry == "1" => shed += 1,
                other => panic!("a listing answered {other:?}"),
            }
        }
        if shed > 0 {
            break;
        }
    }
    assert!(shed > 0, "no listing past the limit was ever shed");
}

#[tokio::test]
async fn refused_secrets_and_cached_ones_cost_no_store_read_even_when_throttled() {
    let app = spawn_app_with(|c| c.throttle.max_failures = 6).await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    let revoked = app.create_pat(&jane, "revoked", 3600).await;
    app.revoke_pat(&jane, &revoked).await;
    let expired = app.create_pat(&jane, "expired", 1).await;
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let unknown = Secret::generate(SecretKind::Pat).into_exposed();
    let refused = [
        revoked["token"].as_str().unwrap().to_string(),
        expired["token"].as_str().unwrap().to_string(),
        unknown,
    ];
    let lookups = || app.state.authenticator.store_lookups();

    let before = lookups();
    for secret in &refused {
        app.assert_whoami(Auth::Bearer(secret), 401).await;
    }
    assert!(
        lookups() - before <= 3,
        "a first refusal read the store twice"
    );
    let after_first = lookups();
    let mut throttled = 0;
    for _ in 0..5 {
        for secret in &refused {
            let reply = app.get("/v4/users/self", secret).await;
            match reply.status.as_u16() {
                401 => {}
                429 => {
                    assert!(reply.header("retry-after").is_some(), "{reply:?}");
                    throttled += 1;
                }
                _ => panic!("unexpected {reply:?}"),
            }
        }
    }
    assert!(throttled > 0, "the address was never throttled");
    assert_eq!(
        lookups(),
        after_first,
        "a remembered refusal (401 or 429) read the store"
    );
    // A valid cached credential costs no read either (within the shared cache's second).
    app.assert_whoami(Auth::Bearer(&jane), 200).await;
    let warm = lookups();
    app.assert_whoami(Auth::Bearer(&jane), 200).await;
    assert_eq!(lookups(), warm, "a cache hit read the store");
}

#[tokio::test]
async fn a_full_verification_cache_evicts_a_part_and_keeps_most_entries() {
    const BOUND: usize = 40;
    let app = spawn_app_with(|c| c.cache_entries = BOUND).await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    let mut tokens = Vec::new();
    for i in 0..48 {
        let created = app.create_pat(&jane, &format!("t{i}"), 3600).await;
        tokens.push(created["token"].as_str().unwrap().to_string());
    }
    for token in &tokens {
        app.assert_whoami(Auth::Bearer(token), 200).await;
    }
    let kept = app.state.cache.len();
    assert!(kept <= BOUND, "the cache grew past its bound: {kept}");
    assert!(
        kept >= BOUND - BOUND / 8 - 1,
        "a full cache dropped most of its entries: {kept} left of {BOUND}"
    );
    if crate::BACKEND == Backend::Sqlite {
        // One node: entries live until evicted, so the newest are all still served from memory.
        let before = app.state.authenticator.store_lookups();
        for token in &tokens[tokens.len() - 30..] {
            app.assert_whoami(Auth::Bearer(token), 200).await;
        }
        assert_eq!(
            app.state.authenticator.store_lookups(),
            before,
            "recent entries were evicted"
        );
    }
}

/// Counts every write of `credentials.last_used_at` in a table `usage_writes` of the app's
/// database, by a trigger.
async fn count_usage_writes(app: &TestApp) {
    let statements: &[&str] = match crate::BACKEND {
        Backend::Postgres => &[
            "CREATE TABLE usage_writes (credential_id TEXT NOT NULL)",
            "CREATE FUNCTION count_usage_write() RETURNS trigger LANGUAGE plpgsql AS \
             $$ BEGIN INSERT INTO usage_writes VALUES (NEW.id::text); RETURN NEW; END $$",
            "CREATE TRIGGER usage_written AFTER UPDATE OF last_used_at ON credentials \
             FOR EACH ROW EXECUTE FUNCTION count_usage_write()",
        ],
        Backend::Sqlite => &[
            "CREATE TABLE usage_writes (credential_id TEXT NOT NULL)",
            "CREATE TRIGGER usage_written AFTER UPDATE OF last_used_at ON credentials \
             BEGIN INSERT INTO usage_writes VALUES (NEW.id); END",
        ],
    };
    for sql in statements {
        app.sql(sql).await;
    }
}

#[tokio::test]
async fn last_used_is_written_once_a_minute_per_credential_however_often_it_is_used() {
    let app = spawn_app_with(|_| {}).await;
    let (_, jane) = app.user_with_token("jane", &[]).await;
    count_usage_writes(&app).await;
    let created = app.create_pat(&jane, "busy", 3600).await;
    let (token, id) = (
        created["token"].as_str().unwrap(),
        created["patId"].as_str().unwrap().to_string(),
    );
    // Five uses a second for three seconds: past the shared cache's one-second time-to-live,
    // so the credential is read again from the store twice on PostgreSQL.
    for _ in 0..15 {
        app.assert_whoami(Auth::Bearer(token), 200).await;
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let count =
        format!("SELECT CAST(count(*) AS TEXT) FROM usage_writes WHERE credential_id = '{id}'");
    let written = eventually(Duration::from_secs(5), || {
        let (app, count) = (&app, &count);
        async move { app.sql(count).await == ["1"] }
    })
    .await;
    assert!(written, "the first use was not written");
    // Later flushes write nothing more for it.
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(
        app.sql(&count).await,
        ["1"],
        "lastUsedAt rewritten within the minute"
    );
}
