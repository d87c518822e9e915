//! `tessera proxy`: the local API proxy for code running in a run. Listens on loopback,
//! forwards every request to the Tessera host with `Authorization: Bearer <access JWT>`, and
//! serves the JWT itself at `GET /access-token`.
//!
//! The JWT is acquired at the first request (not at start), by one exchange however many
//! requests arrive together, and refreshed in the background before it expires so that no
//! request waits for it. The credential comes from `DOMINO_TOKEN_FILE` (re-read when it
//! changes; a JWT there is used as it is) or from `TESSERA_TOKEN`. Only this machine's software
//! may use it: see `boundary`.

pub mod boundary;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant, SystemTime};

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, Uri, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use http_body_util::BodyExt;
use parking_lot::RwLock;
use serde_json::json;
use tessera_core::realm::looks_like_jwt;

use crate::upstream_client::{UpstreamClient, client};

/// Where the proxy's own credential comes from.
#[derive(Clone, Debug)]
pub enum CredentialSource {
    File(PathBuf),
    Value(String),
}

#[derive(Clone, Debug)]
pub struct ProxyConfig {
    pub listen: SocketAddr,
    /// `DOMINO_API_HOST`, e.g. `http://127.0.0.1:8080`.
    pub host: String,
    pub realm: String,
    pub credential: CredentialSource,
}

#[derive(Clone)]
struct Cached {
    jwt: String,
    /// The credential it was exchanged from.
    source: String,
    expires_at: Instant,
    /// A fifth of its life before it expires: when Tessera stops handing out the same token
    /// from its exchange cache, so a refresh then gets a new one.
    refresh_at: Instant,
}

#[derive(Debug, thiserror::Error)]
enum ProxyError {
    #[error("no credential: {0}")]
    NoCredential(String),
    #[error("cannot reach DOMINO_API_HOST {0}: {1}")]
    Unreachable(String, String),
    #[error("the Tessera host refused the proxy's credential: {0}")]
    Refused(String),
}

impl IntoResponse for ProxyError {
    fn into_response(self) -> Response {
        let status = match self {
            ProxyError::NoCredential(_) => StatusCode::SERVICE_UNAVAILABLE,
            ProxyError::Unreachable(..) => StatusCode::BAD_GATEWAY,
            ProxyError::Refused(_) => StatusCode::UNAUTHORIZED,
        };
        (status, axum::Json(json!({ "errors": [self.to_string()] }))).into_response()
    }
}

pub struct LocalProxy {
    config: ProxyConfig,
    client: UpstreamClient,
    current: RwLock<Option<Cached>>,
    /// Last read of the token file: (modified, length, contents).
    file: RwLock<Option<(SystemTime, u64, String)>>,
    acquiring: tokio::sync::Mutex<()>,
    refreshing: AtomicBool,
    exchanges: AtomicUsize,
}

impl LocalProxy {
    pub fn new(config: ProxyConfig) -> Arc<LocalProxy> {
        Arc::new(LocalProxy {
            config,
            client: client(),
            current: RwLock::new(None),
            file: RwLock::new(None),
            acquiring: tokio::sync::Mutex::new(()),
            refreshing: AtomicBool::new(false),
            exchanges: AtomicUsize::new(0),
        })
    }

    /// How many token exchanges the proxy has made.
    pub fn exchanges(&self) -> usize {
        self.exchanges.load(Ordering::SeqCst)
    }

    pub fn router(self: &Arc<Self>) -> Router {
        Router::new()
            .route("/access-token", get(access_token))
            .fallback(forward)
            .layer(axum::middleware::from_fn(boundary::guard))
            .with_state(self.clone())
    }

    async fn credential(&self) -> Result<String, ProxyError> {
        match &self.config.credential {
            CredentialSource::Value(v) => Ok(v.trim().to_string()),
            CredentialSource::File(path) => {
                let shown = path.display().to_string();
                let meta = tokio::fs::metadata(path).await.map_err(|e| {
                    ProxyError::NoCredential(format!("DOMINO_TOKEN_FILE {shown}: {e}"))
                })?;
                let stamp = (
                    meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
                    meta.len(),
                );
                if let Some((modified, len, value)) = self.file.read().as_ref()
                    && (*modified, *len) == stamp
                {
                    return Ok(value.clone());
                }
                let value = tokio::fs::read_to_string(path)
                    .await
                    .map_err(|e| {
                        ProxyError::NoCredential(format!("DOMINO_TOKEN_FILE {shown}: {e}"))
                    })?
                    .trim()
                    .to_string();
                if value.is_empty() {
                    return Err(ProxyError::NoCredential(format!(
                        "DOMINO_TOKEN_FILE {shown} is empty"
                    )));
                }
                *self.file.write() = Some((stamp.0, stamp.1, value.clone()));
                Ok(value)
            }
        }
    }

    /// The JWT to send upstream.
    async fn token(self: &Arc<Self>) -> Result<String, ProxyError> {
        let source = self.credential().await?;
        if looks_like_jwt(&source) {
            return Ok(source);
        }
        if let Some(c) = self.usable(&source) {
            if Instant::now() >= c.refresh_at && !self.refreshing.swap(true, Ordering::SeqCst) {
                let me = self.clone();
                tokio::spawn(async move {
                    if let Err(error) = me.exchange(&source).await {
                        tracing::warn!(%error, "background token refresh failed; will retry");
                    }
                    me.refreshing.store(false, Ordering::SeqCst);
                });
            }
            return Ok(c.jwt);
        }
        let _one_at_a_time = self.acquiring.lock().await;
        if let Some(c) = self.usable(&source) {
            return Ok(c.jwt);
        }
        self.exchange(&source).await
    }

    /// Drops the cached token if it is `jwt`.
    fn forget(&self, jwt: &str) {
        let mut current = self.current.write();
        if current.as_ref().is_some_and(|c| c.jwt == jwt) {
            *current = None;
        }
    }

    fn usable(&self, source: &str) -> Option<Cached> {
        self.current
            .read()
            .as_ref()
            .filter(|c| {
                c.source == source && c.expires_at > Instant::now() + Duration::from_secs(1)
            })
            .cloned()
    }

    async fn exchange(&self, source: &str) -> Result<String, ProxyError> {
        self.exchanges.fetch_add(1, Ordering::SeqCst);
        let host = self.config.host.trim_end_matches('/');
        let url = format!(
            "{host}/auth/realms/{}/protocol/openid-connect/token",
            self.config.realm
        );
        let form = format!(
            "grant_type=urn%3Aietf%3Aparams%3Aoauth%3Agrant-type%3Atoken-exchange&subject_token={}",
            source
                .replace('%', "%25")
                .replace('&', "%26")
                .replace('+', "%2B")
                .replace('=', "%3D")
        );
        let request = Request::post(&url)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Body::from(form))
            .map_err(|e| ProxyError::Unreachable(host.to_string(), e.to_string()))?;
        let response = tokio::time::timeout(Duration::from_secs(10), self.client.request(request))
            .await
            .map_err(|_| ProxyError::Unreachable(host.to_string(), "timed out".into()))?
            .map_err(|e| ProxyError::Unreachable(host.to_string(), e.to_string()))?;
        let status = response.status();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| ProxyError::Unreachable(host.to_string(), e.to_string()))?
            .to_bytes();
        let value: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
        if !status.is_success() {
            let why = value["error_description"]
                .as_str()
                .or(value["error"].as_str())
                .unwrap_or("no reason given");
            return Err(ProxyError::Refused(format!("{status}: {why}")));
        }
        let (Some(jwt), Some(expires_in)) =
            (value["access_token"].as_str(), value["expires_in"].as_u64())
        else {
            return Err(ProxyError::Refused(
                "the token endpoint answered without a token".into(),
            ));
        };
        let now = Instant::now();
        *self.current.write() = Some(Cached {
            jwt: jwt.to_string(),
            source: source.to_string(),
            expires_at: now + Duration::from_secs(expires_in),
            refresh_at: now + Duration::from_secs(expires_in - expires_in / 5),
        });
        Ok(jwt.to_string())
    }

    /// Serves until `shutdown` resolves.
    ///
    /// # Errors
    /// `InvalidInput` when `listener` is not on a loopback address (see
    /// [`boundary::check_listen`]); otherwise what the server returns.
    pub async fn serve(
        self: Arc<Self>,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    ) -> std::io::Result<()> {
        boundary::check_listen(listener.local_addr()?)
            .map_err(|why| std::io::Error::new(std::io::ErrorKind::InvalidInput, why))?;
        axum::serve(listener, self.router())
            .with_graceful_shutdown(shutdown)
            .await
    }
}

async fn access_token(State(proxy): State<Arc<LocalProxy>>) -> Result<Response, ProxyError> {
    let jwt = proxy.token().await?;
    Ok((
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CACHE_CONTROL, "no-store"),
        ],
        jwt,
    )
        .into_response())
}

async fn forward(
    State(proxy): State<Arc<LocalProxy>>,
    request: Request,
) -> Result<Response, ProxyError> {
    let jwt = proxy.token().await?;
    let host = proxy.config.host.trim_end_matches('/').to_string();
    let (mut parts, body) = request.into_parts();
    let path = parts
        .uri
        .path_and_query()
        .map(|p| p.as_str())
        .unwrap_or("/");
    parts.uri = format!("{host}{path}")
        .parse::<Uri>()
        .map_err(|e| ProxyError::Unreachable(host.clone(), e.to_string()))?;
    parts.headers.remove(header::HOST);
    parts.headers.remove(header::CONNECTION);
    parts.headers.remove("x-domino-api-key");
    let bearer = HeaderValue::from_str(&format!("Bearer {jwt}"))
        .map_err(|e| ProxyError::Refused(e.to_string()))?;
    parts.headers.insert(header::AUTHORIZATION, bearer);
    let response = proxy
        .client
        .request(Request::from_parts(parts, body))
        .await
        .map_err(|e| ProxyError::Unreachable(host, e.to_string()))?;
    if response.status() == StatusCode::UNAUTHORIZED {
        // Tessera refused the token (its source was revoked, its user deactivated, ...): do not
        // hand it out again from `/access-token`; the next call exchanges anew, or says why not.
        proxy.forget(&jwt);
    }
    let (parts, body) = response.into_parts();
    Ok(Response::from_parts(parts, Body::new(body)))
}
