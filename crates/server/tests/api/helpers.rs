//! `spawn_app()`: a real Tessera on port 0 with its own database file, and typed helpers.

use std::time::Duration;

use reqwest::{Method, StatusCode};
use serde_json::{Value, json};
use tempfile::TempDir;
use tessera_core::names::UserName;
use tessera_core::services::pats::NewPat;
use tessera_core::upstreams::AllowedUpstreams;
use tessera_server::state::AppState;
use tessera_server::{Application, Config, Overrides};

pub const ADMIN_PASSWORD: &str = "correct-horse-battery-staple";
/// The server secret every test app runs with.
pub const SERVER_SECRET: &str = "test-server-secret-of-at-least-32-bytes";

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub state: AppState,
    /// The database URL the app runs on (`sqlite://...` or `postgres://...`).
    pub database: String,
    _dir: TempDir,
    _pg: Option<PgDatabase>,
    /// A PAT of the bootstrap administrator.
    pub admin_token: String,
    /// `http://ADDRESS` of the management listener, when `metrics_listen` was configured.
    pub metrics_address: Option<String>,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    server: Option<tokio::task::JoinHandle<anyhow::Result<()>>>,
}

/// What a stopped app leaves for the test to inspect: its files and database live as long as this.
pub struct StoppedApp {
    _dir: TempDir,
    _pg: Option<PgDatabase>,
}

/// A response's status and JSON body (Null when the body is empty or not JSON).
pub struct Reply {
    pub status: StatusCode,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}", self.status, self.body)
    }
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// The first message of a FailureEnvelope.
    pub fn error(&self) -> String {
        self.body["errors"][0]
            .as_str()
            .unwrap_or_default()
            .to_string()
    }

    #[track_caller]
    /// A listing of tokens as sorted `userName/name` pairs (the admin token lists).
    pub fn owned_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .body
            .as_array()
            .unwrap_or_else(|| panic!("not a list: {self:?}"))
            .iter()
            .map(|e| {
                format!(
                    "{}/{}",
                    e["userName"].as_str().unwrap(),
                    e["name"].as_str().unwrap()
                )
            })
            .collect();
        names.sort();
        names
    }

    pub fn assert_status(&self, expected: u16) -> &Reply {
        assert_eq!(self.status.as_u16(), expected, "unexpected reply: {self:?}");
        self
    }

    #[track_caller]
    pub fn assert_envelope(&self) -> &Reply {
        assert!(
            self.body["errors"]
                .as_array()
                .is_some_and(|e| !e.is_empty()),
            "no errors in {self:?}"
        );
        assert!(
            self.body["requestId"]
                .as_str()
                .is_some_and(|id| !id.is_empty()),
            "no requestId in {self:?}"
        );
        assert_eq!(
            self.header("x-request-id"),
            self.body["requestId"].as_str(),
            "requestId differs from X-Request-Id"
        );
        let expected = match self.status.as_u16() {
            400 | 422 => "invalid_request",
            401 => "unauthenticated",
            403 => "forbidden",
            404 => "not_found",
            405 => "method_not_allowed",
            409 => "conflict",
            413 => "payload_too_large",
            415 => "unsupported_media_type",
            429 => "too_many_requests",
            500 => "internal",
            502 => "bad_gateway",
            503 => "unavailable",
            504 => "gateway_timeout",
            _ => "client_error",
        };
        assert_eq!(
            self.body["code"].as_str(),
            Some(expected),
            "the envelope's code does not match its status: {self:?}"
        );
        self
    }
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Which database a test binary runs against (each binary sets `crate::BACKEND`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Backend {
    Sqlite,
    Postgres,
}

pub use tessera_testkit::PgDatabase;

pub async fn spawn_app_with(adjust: impl FnOnce(&mut Config)) -> TestApp {
    tessera_testkit::init_test_log();
    let dir = tempfile::tempdir().expect("tempdir");
    let (database, pg) = match crate::BACKEND {
        Backend::Sqlite => (
            format!("sqlite://{}/tessera.db", dir.path().display()),
            None,
        ),
        Backend::Postgres => {
            let db = PgDatabase::create();
            (db.url.clone(), Some(db))
        }
    };
    let overrides = Overrides {
        listen: Some("127.0.0.1:0".into()),
        database: Some(database.clone()),
        server_secret: Some(SERVER_SECRET.into()),
        admin_password: Some(ADMIN_PASSWORD.into()),
        ..Overrides::default()
    };
    let mut config = Config::load(None, overrides).expect("config");
    // Model servers in tests listen on 127.0.0.1, any port.
    config.allowed_upstreams =
        AllowedUpstreams::parse(&["http://127.0.0.1"]).expect("allowed upstreams");
    adjust(&mut config);
    let app = Application::build(config).await.expect("build app");
    let address = format!("http://127.0.0.1:{}", app.port());
    let metrics_address = app.metrics_addr().map(|a| format!("http://{a}"));
    let state = app.state();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(app.run_until_stopped(async {
        let _ = stopped.await;
    }));
    let admin_token = operator_token(&state, "admin", "admin-test").await;
    TestApp {
        address,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(30))
            .build()
            .expect("client"),
        state,
        database,
        _dir: dir,
        _pg: pg,
        admin_token,
        metrics_address,
        stop: Some(stop),
        server: Some(server),
    }
}

/// A PAT made the way `tessera admin token create` makes it.
pub async fn operator_token(state: &AppState, user: &str, name: &str) -> String {
    let user = UserName::parse("username", user).expect("user name");
    let request = NewPat::parse(name, None, None).expect("pat request");
    let (_, secret) = state
        .pats
        .create_for_operator(&user, request)
        .await
        .expect("operator token");
    secret.into_exposed()
}

/// How a request authenticates.
#[derive(Clone, Copy)]
pub enum Auth<'a> {
    None,
    Bearer(&'a str),
    ApiKey(&'a str),
    Basic(&'a str, &'a str),
    Raw(&'a str),
}

impl TestApp {
    pub async fn send(
        &self,
        method: Method,
        path: &str,
        auth: Auth<'_>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = self
            .client
            .request(method, format!("{}{}", self.address, path));
        request = match auth {
            Auth::None => request,
            Auth::Bearer(token) => request.bearer_auth(token),
            Auth::ApiKey(key) => request.header("X-Domino-Api-Key", key),
            Auth::Basic(user, password) => request.basic_auth(user, Some(password)),
            Auth::Raw(value) => request.header("Authorization", value),
        };
        if let Some(body) = body {
            request = request.json(&body);
        }
        let response = request.send().await.expect("request failed");
        let status = response.status();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.expect("body");
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Reply {
            status,
            headers,
            body,
        }
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.send(Method::GET, path, Auth::Bearer(token), None)
            .await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send(Method::POST, path, Auth::Bearer(token), Some(body))
            .await
    }

    pub async fn post_empty(&self, path: &str, token: &str) -> Reply {
        self.send(Method::POST, path, Auth::Bearer(token), None)
            .await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        self.send(Method::DELETE, path, Auth::Bearer(token), None)
            .await
    }

    pub async fn put(&self, path: &str, token: &str, body: Value) -> Reply {
        self.send(Method::PUT, path, Auth::Bearer(token), Some(body))
            .await
    }

    /// `get` as the bootstrap administrator.
    pub async fn admin_get(&self, path: &str) -> Reply {
        self.get(path, &self.admin_token).await
    }

    /// `post` as the bootstrap administrator.
    pub async fn admin_post(&self, path: &str, body: Value) -> Reply {
        self.post(path, &self.admin_token, body).await
    }

    /// `post_empty` as the bootstrap administrator.
    pub async fn admin_post_empty(&self, path: &str) -> Reply {
        self.post_empty(path, &self.admin_token).await
    }

    /// `put` as the bootstrap administrator.
    pub async fn admin_put(&self, path: &str, body: Value) -> Reply {
        self.put(path, &self.admin_token, body).await
    }

    /// `delete` as the bootstrap administrator.
    pub async fn admin_delete(&self, path: &str) -> Reply {
        self.delete(path, &self.admin_token).await
    }

    /// Asks who `auth` is (`GET /v4/users/self`) and asserts the answer's status: 200 while the
    /// credential works, 401 once it is refused.
    pub async fn assert_whoami(&self, auth: Auth<'_>, status: u16) -> Reply {
        let reply = self.send(Method::GET, "/v4/users/self", auth, None).await;
        reply.assert_status(status);
        reply
    }

    /// Creates a user through the admin API; returns its id.
    pub async fn create_user(&self, name: &str, roles: &[&str]) -> String {
        let reply = self
            .post(
                "/api/admin/v1/users",
                &self.admin_token,
                json!({ "userName": name, "email": format!("{name}@example.com"), "roles": roles }),
            )
            .await;
        reply.assert_status(201);
        reply.body["id"].as_str().expect("user id").to_string()
    }

    /// Creates a user and a PAT for it; returns (user id, token).
    pub async fn user_with_token(&self, name: &str, roles: &[&str]) -> (String, String) {
        let id = self.create_user(name, roles).await;
        (id, operator_token(&self.state, name, "bootstrap").await)
    }

    /// Creates a service account (as the administrator) and a token for it; returns the secret.
    pub async fn service_account_token(&self, username: &str, token_name: &str) -> String {
        let sa = self
            .post(
                "/api/serviceAccounts/v1/serviceAccounts",
                &self.admin_token,
                json!({ "username": username }),
            )
            .await;
        sa.assert_status(201);
        let id = sa.body["id"].as_str().expect("service account id");
        let token = self
            .post(
                &format!("/api/serviceAccounts/v1/serviceAccounts/{id}/tokens"),
                &self.admin_token,
                json!({ "name": token_name }),
            )
            .await;
        token.assert_status(201);
        token.body["token"].as_str().expect("token").to_string()
    }

    /// Creates a PAT through the API; returns the whole reply body (with `token`).
    pub async fn create_pat(&self, token: &str, name: &str, expires_in: i64) -> Value {
        let reply = self
            .post(
                "/api/pat/v1/tokens",
                token,
                json!({ "name": name, "expiresIn": expires_in }),
            )
            .await;
        reply.assert_status(201);
        reply.body
    }

    /// Revokes the PAT `pat` (a `create_pat` body) through its owner's `token`; asserts 200.
    pub async fn revoke_pat(&self, token: &str, pat: &Value) -> Reply {
        let id = pat["patId"].as_str().expect("patId");
        let reply = self
            .post_empty(&format!("/api/pat/v1/tokens/{id}/invalidate"), token)
            .await;
        reply.assert_status(200);
        reply
    }

    /// Deploys a version of the model API `api` served at `upstream` as `owner`; asserts 201.
    pub async fn deploy_model_version(&self, owner: &str, api: &str, upstream: &str) -> Reply {
        let path = format!("/api/modelServing/v1/modelApis/{api}/versions");
        let reply = self
            .post(&path, owner, json!({ "upstreamUrl": upstream }))
            .await;
        reply.assert_status(201);
        reply
    }

    /// Creates an access token named `name` for the model API `api` as `owner`; asserts 201
    /// and returns the reply (its body holds `token`).
    pub async fn create_model_token(&self, owner: &str, api: &str, name: &str) -> Reply {
        let reply = self
            .post(
                &format!("/api/modelServing/v1/modelApis/{api}/accessTokens"),
                owner,
                json!({ "name": name }),
            )
            .await;
        reply.assert_status(201);
        reply
    }

    /// Shares the model API `api` with `grantee` (`{"userName"|"email"|"organization": …,
    /// "role": …}`) as `token`.
    pub async fn share_model_api(&self, token: &str, api: &str, grantee: Value) -> Reply {
        let path = format!("/api/modelServing/v1/modelApis/{api}/collaborators");
        self.post(&path, token, grantee).await
    }

    /// Sets the visibility of the model API `api` (`public` or `private`) as `token`.
    pub async fn set_model_visibility(&self, token: &str, api: &str, visibility: &str) -> Reply {
        let path = format!("/api/modelServing/v1/modelApis/{api}/visibility");
        self.put(&path, token, json!({ "visibility": visibility }))
            .await
    }

    /// Runs `sql` on the app's database from beside it (another connection); the first column
    /// of each row, as text.
    pub async fn sql(&self, sql: &str) -> Vec<String> {
        sql_at(&self.database, sql).await
    }

    /// A new project named `name` owned by the holder of `token`; its id.
    pub async fn create_project(&self, token: &str, name: &str) -> String {
        let reply = self
            .post("/v4/projects", token, json!({ "name": name }))
            .await;
        reply.assert_status(200);
        reply.body["id"].as_str().unwrap().to_string()
    }

    /// A new legacy API key for the owner of `token` (regenerating replaces the previous one).
    pub async fn regenerate_api_key(&self, token: &str) -> String {
        let reply = self.post_empty("/api/apiKey/v1/regenerate", token).await;
        reply.assert_status(201);
        reply.body["apiKey"].as_str().unwrap().to_string()
    }

    /// Stops the server as SIGTERM would: drain, flush, return. The returned guard keeps the
    /// database until the test is done reading it.
    pub async fn stop(mut self) -> StoppedApp {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(server) = self.server.take() {
            server.await.expect("join").expect("server result");
        }
        StoppedApp {
            _dir: self._dir,
            _pg: self._pg.take(),
        }
    }
}

/// Polls `check` every 100 ms until it returns true or `within` passes.
pub async fn eventually<F, Fut>(within: Duration, mut check: F) -> bool
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + within;
    loop {
        if check().await {
            return true;
        }
        if tokio::time::Instant::now() >= deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Runs `sql` on the database at `url` over a connection of its own (also after the app that
/// used it stopped, whose pool may belong to runtimes that ended); the first column of each
/// row, as text (a NULL or non-text value is left out).
pub async fn sql_at(url: &str, sql: &str) -> Vec<String> {
    use sqlx::{Connection, Row};
    match crate::BACKEND {
        Backend::Postgres => {
            let mut c = sqlx::PgConnection::connect(url).await.unwrap();
            let rows = sqlx::query(sql).fetch_all(&mut c).await.unwrap();
            rows.iter().filter_map(|r| r.try_get(0).ok()).collect()
        }
        Backend::Sqlite => {
            let mut c = sqlx::SqliteConnection::connect(url).await.unwrap();
            let rows = sqlx::query(sql).fetch_all(&mut c).await.unwrap();
            rows.iter().filter_map(|r| r.try_get(0).ok()).collect()
        }
    }
}
