//! Fills a Tessera database with users, PATs and their audit entries, straight through the
//! store's pool in large batched transactions, for `bench/scale.sh`. Not for production data:
//! the token hashes are random, so no secret opens these tokens.
//!
//! Usage: `populate <database-url> <pats> <users>`. The database is opened (and migrated) by
//! the store. Every tenth token is expired, every tenth expires within 7 days, every tenth is
//! revoked; user `user00777` (or the last user) owns one token named `needle-kx7q`, the rare
//! substring the benchmark searches for.
//!
//! Projects and model APIs (`pats / 10` of each, at least one): project `i` is owned by user
//! `i % users` with the next user as a Contributor, and holds model API `i` (every tenth public).
//! The invocation log holds `pats / 4` entries, half of them of one "hot" model API (the
//! first of the needle's owner), whose id the program prints on stdout.
//!
//! The probe user `probe` has the same data in every population, so that the per-user calls of
//! `bench/scale.sh` compare tables of different sizes, not users of different sizes: exactly
//! 100 PATs (`probe-tok-000`…, all live), 10 projects of its own (`probe-own-00`…), each with
//! 6 private model APIs (`a-probe-model-00-0`…, 60 in all: first in the name order, so that a
//! first page of its model APIs is 50 of its own in every database, not public ones in some),
//! and a Contributor on 10 projects of `user00000` (`probe-shared-00`…).

use std::time::Instant;

use tessera_store::postgres::PgStore;
use tessera_store::sqlite::SqliteStore;

const BATCH: usize = 2_000;
/// The probe user's name (see the module's documentation).
const PROBE: &str = "probe";
/// The probe's PATs, own projects, projects it collaborates on, model APIs per own project.
const PROBE_PATS: usize = 100;
const PROBE_PROJECTS: usize = 10;
const PROBE_SHARED: usize = 10;
const PROBE_MODELS_PER_PROJECT: usize = 6;
const DAY_MS: i64 = 86_400_000;

/// How a backend writes a 32-byte blob literal.
#[derive(Clone, Copy)]
enum Dialect {
    Sqlite,
    Postgres,
}

impl Dialect {
    fn blob(self, bytes: &[u8]) -> String {
        let hex: String = bytes.iter().map(|b| format!("{b:02x}")).collect();
        match self {
            Dialect::Sqlite => format!("X'{hex}'"),
            Dialect::Postgres => format!("'\\x{hex}'::bytea"),
        }
    }
}

fn user_name(i: usize) -> String {
    format!("user{i:05}")
}

/// The SQL of batch `range` of tokens (and their audit entries) over `users`.
fn token_batch(
    dialect: Dialect,
    range: std::ops::Range<usize>,
    users: &[String],
    now: i64,
    needle_owner: usize,
) -> String {
    let mut credentials = Vec::with_capacity(range.len());
    let mut audit = Vec::with_capacity(range.len());
    for i in range {
        let owner = i % users.len();
        let nth = i / users.len();
        let id = uuid::Uuid::new_v4().to_string();
        let name = if owner == needle_owner && nth == 42 {
            "needle-kx7q".to_string()
        } else {
            format!("tok-{nth:04}")
        };
        let hash = [
            *uuid::Uuid::new_v4().as_bytes(),
            *uuid::Uuid::new_v4().as_bytes(),
        ]
        .concat();
        let created = now - 400 * DAY_MS + i as i64 * 10;
        let (expires, revoked) = match i % 10 {
            0 => (now - DAY_MS - (i as i64 % 1000), "NULL, NULL".to_string()),
            1 => (
                now + 3 * DAY_MS + (i as i64 % 1000),
                "NULL, NULL".to_string(),
            ),
            2 => (
                now + 200 * DAY_MS,
                format!("{}, 'revoked-by-admin'", now - 3_600_000),
            ),
            _ => (
                now + 200 * DAY_MS + (i as i64 % 1000),
                "NULL, NULL".to_string(),
            ),
        };
        credentials.push(format!(
            "('{id}', 'pat', '{}', '{name}', '', {}, {created}, 31536000, {expires}, {revoked})",
            users[owner],
            dialect.blob(&hash)
        ));
        audit.push(format!(
            "('{}', {created}, '{}', '{}', 'pat.created', 'pat', '{id}', '{name}', 'null')",
            uuid::Uuid::new_v4(),
            users[owner],
            user_name(owner)
        ));
    }
    format!(
        "BEGIN; INSERT INTO credentials (id, kind, principal_id, name, description, token_hash, created_at, \
         lifetime_secs, expires_at, revoked_at, revoked_reason) VALUES {}; \
         INSERT INTO audit_log (id, at, actor_id, actor_name, action, target_type, target_id, target_name, details) \
         VALUES {}; COMMIT;",
        credentials.join(", "),
        audit.join(", ")
    )
}

/// The SQL of batch `range` of projects, each with a collaborator and a model API.
fn project_batch(
    range: std::ops::Range<usize>,
    users: &[String],
    projects: &[String],
    models: &[String],
    now: i64,
) -> String {
    let (mut rows, mut collaborators, mut apis) = (Vec::new(), Vec::new(), Vec::new());
    for i in range {
        let owner = i % users.len();
        let created = now - 300 * DAY_MS + i as i64 * 10;
        rows.push(format!(
            "('{}', 'proj-{:05}', '{}', '', 'private', {created})",
            projects[i],
            i / users.len(),
            users[owner]
        ));
        if users.len() > 1 {
            collaborators.push(format!(
                "('{}', '{}', 'Contributor')",
                projects[i],
                users[(owner + 1) % users.len()]
            ));
        }
        let visibility = if i % 10 == 0 { "public" } else { "private" };
        apis.push(format!(
            "('{}', 'model-{i:07}', '{}', '{}', 'sync', '{visibility}', 'restricted', '', {created})",
            models[i], projects[i], users[owner]
        ));
    }
    let mut sql = format!(
        "BEGIN; INSERT INTO projects (id, name, owner_id, description, visibility, created_at) VALUES {}; \
         INSERT INTO model_apis (id, name, project_id, owner_id, kind, visibility, access_mode, description, created_at) \
         VALUES {};",
        rows.join(", "),
        apis.join(", ")
    );
    if !collaborators.is_empty() {
        sql += &format!(
            " INSERT INTO project_collaborators (project_id, user_id, role) VALUES {};",
            collaborators.join(", ")
        );
    }
    sql + " COMMIT;"
}

/// The SQL of batch `range` of invocation log entries: even ones of `hot`, odd ones spread
/// over every model API.
fn invocation_batch(
    range: std::ops::Range<usize>,
    models: &[String],
    hot: &str,
    now: i64,
) -> String {
    let rows: Vec<String> = range
        .map(|i| {
            let api = if i % 2 == 0 {
                hot
            } else {
                &models[i % models.len()]
            };
            let at = now - 100 * DAY_MS + i as i64 * 10;
            format!("('{api}', {at}, 1, 200, {}, 'client')", i % 97)
        })
        .collect();
    format!(
        "BEGIN; INSERT INTO model_invocations (model_api_id, at, version, status, latency_ms, token_name) \
         VALUES {}; COMMIT;",
        rows.join(", ")
    )
}

fn users_batch(range: std::ops::Range<usize>, ids: &[String], now: i64) -> String {
    let rows: Vec<String> = range
        .map(|i| {
            format!(
                "('{}', 'user', '{}', '{}@example.com', 'First{i}', 'Last{i}', 'Practitioner', 'active', {now})",
                ids[i],
                user_name(i),
                user_name(i)
            )
        })
        .collect();
    format!(
        "BEGIN; INSERT INTO principals (id, kind, user_name, email, first_name, last_name, roles, status, created_at) \
         VALUES {}; COMMIT;",
        rows.join(", ")
    )
}

/// The SQL of the probe user and its data (see the module's documentation); `other` is the
/// owner of the projects it collaborates on.
fn probe_batch(dialect: Dialect, other: &str, now: i64) -> String {
    let me = uuid::Uuid::new_v4().to_string();
    let mut sql = format!(
        "BEGIN; INSERT INTO principals (id, kind, user_name, email, first_name, last_name, roles, status, created_at) \
         VALUES ('{me}', 'user', '{PROBE}', '{PROBE}@example.com', 'Probe', 'User', 'Practitioner', 'active', {now});"
    );
    let tokens: Vec<String> = (0..PROBE_PATS)
        .map(|i| {
            let hash = [
                *uuid::Uuid::new_v4().as_bytes(),
                *uuid::Uuid::new_v4().as_bytes(),
            ]
            .concat();
            format!(
                "('{}', 'pat', '{me}', 'probe-tok-{i:03}', '', {}, {}, 31536000, {}, NULL, NULL)",
                uuid::Uuid::new_v4(),
                dialect.blob(&hash),
                now - DAY_MS + i as i64,
                now + 200 * DAY_MS
            )
        })
        .collect();
    sql += &format!(
        " INSERT INTO credentials (id, kind, principal_id, name, description, token_hash, created_at, \
         lifetime_secs, expires_at, revoked_at, revoked_reason) VALUES {};",
        tokens.join(", ")
    );
    let (mut projects, mut apis, mut shared) = (Vec::new(), Vec::new(), Vec::new());
    for i in 0..PROBE_PROJECTS {
        let project = uuid::Uuid::new_v4().to_string();
        projects.push(format!(
            "('{project}', 'probe-own-{i:02}', '{me}', '', 'private', {now})"
        ));
        for j in 0..PROBE_MODELS_PER_PROJECT {
            apis.push(format!(
                "('{}', 'a-probe-model-{i:02}-{j}', '{project}', '{me}', 'sync', 'private', 'restricted', '', {now})",
                uuid::Uuid::new_v4()
            ));
        }
    }
    for i in 0..PROBE_SHARED {
        let project = uuid::Uuid::new_v4().to_string();
        projects.push(format!(
            "('{project}', 'probe-shared-{i:02}', '{other}', '', 'private', {now})"
        ));
        shared.push(format!("('{project}', '{me}', 'Contributor')"));
    }
    sql += &format!(
        " INSERT INTO projects (id, name, owner_id, description, visibility, created_at) VALUES {}; \
         INSERT INTO model_apis (id, name, project_id, owner_id, kind, visibility, access_mode, description, created_at) \
         VALUES {}; INSERT INTO project_collaborators (project_id, user_id, role) VALUES {}; COMMIT;",
        projects.join(", "),
        apis.join(", "),
        shared.join(", ")
    );
    sql
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let [_, url, pats, users] = args.as_slice() else {
        return Err("usage: populate <database-url> <pats> <users>".into());
    };
    let (pats, users): (usize, usize) = (pats.parse()?, users.parse()?);
    let started = Instant::now();
    let now = chrono::Utc::now().timestamp_millis();
    let ids: Vec<String> = (0..users)
        .map(|_| uuid::Uuid::new_v4().to_string())
        .collect();
    let needle_owner = 777.min(users.saturating_sub(1));
    let sqlite = url.starts_with("sqlite:");
    let dialect = if sqlite {
        Dialect::Sqlite
    } else {
        Dialect::Postgres
    };
    let mut batches = Vec::new();
    for start in (0..users).step_by(BATCH) {
        batches.push(users_batch(start..(start + BATCH).min(users), &ids, now));
    }
    let new_ids =
        |n: usize| -> Vec<String> { (0..n).map(|_| uuid::Uuid::new_v4().to_string()).collect() };
    let n_projects = (pats / 10).max(1);
    let (projects, models) = (new_ids(n_projects), new_ids(n_projects));
    let hot = models[needle_owner.min(n_projects - 1)].clone();
    let mut later = Vec::new();
    for start in (0..n_projects).step_by(BATCH) {
        later.push(project_batch(
            start..(start + BATCH).min(n_projects),
            &ids,
            &projects,
            &models,
            now,
        ));
    }
    later.push(probe_batch(dialect, &ids[0], now));
    let invocations = pats / 4;
    for start in (0..invocations).step_by(BATCH) {
        later.push(invocation_batch(
            start..(start + BATCH).min(invocations),
            &models,
            &hot,
            now,
        ));
    }
    if sqlite {
        let store = SqliteStore::open(url).await?;
        for sql in batches {
            sqlx::raw_sql(&sql).execute(store.pool()).await?;
        }
        for start in (0..pats).step_by(BATCH) {
            let sql = token_batch(
                dialect,
                start..(start + BATCH).min(pats),
                &ids,
                now,
                needle_owner,
            );
            sqlx::raw_sql(&sql).execute(store.pool()).await?;
        }
        for sql in &later {
            sqlx::raw_sql(sql).execute(store.pool()).await?;
        }
        // No ANALYZE: the server never runs one, so the plans measured are the plans it gets.
    } else {
        let store = PgStore::open(url).await?;
        for sql in batches {
            sqlx::raw_sql(&sql).execute(store.pool()).await?;
        }
        for start in (0..pats).step_by(BATCH) {
            let sql = token_batch(
                dialect,
                start..(start + BATCH).min(pats),
                &ids,
                now,
                needle_owner,
            );
            sqlx::raw_sql(&sql).execute(store.pool()).await?;
        }
        for sql in &later {
            sqlx::raw_sql(sql).execute(store.pool()).await?;
        }
        // What autovacuum does soon after a bulk load anyway, done before the measurements
        // rather than during them: a VACUUM of the new rows (it also merges the GIN indexes'
        // pending lists), statistics, and the dirty pages written out. Without it the 1M run of
        // 2026-12-08 measured every call, even those whose queries took 0.1 ms, 3-9x slower
        // while the server vacuumed behind them.
        sqlx::raw_sql("VACUUM (ANALYZE)")
            .execute(store.pool())
            .await?;
        sqlx::raw_sql("CHECKPOINT").execute(store.pool()).await?;
    }
    eprintln!(
        "populated {pats} PATs over {users} users, {n_projects} projects and model APIs, \
         {invocations} invocations in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    println!("{hot}");
    Ok(())
}
