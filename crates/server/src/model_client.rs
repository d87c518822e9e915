//! The HTTP client for model servers, for sync invocation and the async workers alike. Every
//! call is checked against `[models] allowed_upstreams` first (a version deployed before the
//! list existed or changed is refused, never connected to); names are resolved here rather than
//! by the HTTP stack, and every address is checked before it is connected to (no DNS
//! rebinding; link-local never). A model server's redirect is an answer like any other: never
//! followed. It must not decide who may invoke: the model serving service does.

use std::error::Error as _;
use std::future::Future;
use std::io;
use std::net::{IpAddr, SocketAddr};
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use axum::body::Body;
use axum::http::{Method, Request, Response, Uri, header};
use hyper::body::Incoming;
use hyper_util::client::legacy::Client;
use hyper_util::rt::{TokioExecutor, TokioIo};
use tessera_core::upstreams::{AllowedUpstreams, Host, Scheme, UpstreamUrl};
use tokio::net::TcpStream;

use crate::upstream_client::Pooled;

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// How long one TCP connection attempt to a model server may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Resolves a host name to the addresses a connection could go to: the system resolver in
/// production; tests substitute their own to play DNS.
pub trait Resolve: Send + Sync + 'static {
    fn resolve(&self, name: &str, port: u16) -> BoxFuture<io::Result<Vec<IpAddr>>>;
}

/// `getaddrinfo` through tokio, as every other client on the machine resolves.
pub struct SystemResolver;

impl Resolve for SystemResolver {
    fn resolve(&self, name: &str, port: u16) -> BoxFuture<io::Result<Vec<IpAddr>>> {
        let name = name.to_string();
        Box::pin(async move {
            Ok(tokio::net::lookup_host((name.as_str(), port))
                .await?
                .map(|a| a.ip())
                .collect())
        })
    }
}

/// Why a call did not reach a model server. The messages go to invokers, who may not see the
/// version's URL: they name neither the URL nor an address (the log does).
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error(
        "this version's model server is not allowed by [models] allowed_upstreams (deployed before the list was set or changed): an administrator must allow it, or an owner deploy an allowed version"
    )]
    NotAllowed,
    #[error(
        "the model server's name resolved to no address that [models] allowed_upstreams allows; it was not connected to"
    )]
    AddressNotAllowed,
    #[error("the model server cannot be reached")]
    Unreachable,
}

/// Pooled HTTP/1 connections to model servers, each made through `GuardedConnector`: one pool
/// for the process, or one per serving thread (`per_thread`, the per-core mode).
#[derive(Clone)]
pub struct ModelClient {
    allowed: Arc<AllowedUpstreams>,
    connector: GuardedConnector,
    http: Arc<Pooled<Client<GuardedConnector, Body>>>,
}

impl ModelClient {
    pub fn new(allowed: AllowedUpstreams) -> ModelClient {
        ModelClient::with_resolver(allowed, Arc::new(SystemResolver))
    }

    pub fn with_resolver(allowed: AllowedUpstreams, resolver: Arc<dyn Resolve>) -> ModelClient {
        let allowed = Arc::new(allowed);
        let connector = GuardedConnector {
            allowed: allowed.clone(),
            resolver,
        };
        let make = pool(connector.clone());
        ModelClient {
            allowed,
            connector,
            http: Arc::new(Pooled::new(false, make)),
        }
    }

    /// The same client with a pool per thread that calls (the per-core mode), so that a
    /// model server's connection is driven by the runtime of the request that uses it.
    pub fn per_thread(self) -> ModelClient {
        ModelClient {
            http: Arc::new(Pooled::new(true, pool(self.connector.clone()))),
            ..self
        }
    }

    /// POSTs the JSON `body` to the model server at `url` (a version's URL as stored).
    /// `NotAllowed` when the allow-list does not allow `url`, `AddressNotAllowed` when its name
    /// resolved to no allowed address; the response as it came otherwise, redirects included.
    pub async fn post_json(&self, url: &str, body: Body) -> Result<Response<Incoming>, CallError> {
        let parsed = UpstreamUrl::parse(url).map_err(|error| {
            tracing::warn!(upstream = url, %error, "refused to call a model server: its URL is malformed");
            CallError::NotAllowed
        })?;
        self.allowed.check(&parsed).map_err(|refusal| {
            tracing::warn!(upstream = url, %refusal, "refused to call a model server");
            CallError::NotAllowed
        })?;
        let request = Request::builder()
            .method(Method::POST)
            .uri(parsed.as_str())
            .header(header::CONTENT_TYPE, "application/json")
            .body(body)
            .map_err(|_| CallError::NotAllowed)?;
        self.http.get().request(request).await.map_err(|error| {
            let mut source = error.source();
            while let Some(cause) = source {
                if let Some(ConnectError::Refused(why)) = cause.downcast_ref::<ConnectError>() {
                    tracing::warn!(upstream = url, refusal = %why, "refused to connect to a model server");
                    return CallError::AddressNotAllowed;
                }
                source = cause.source();
            }
            tracing::info!(upstream = url, %error, "a model server cannot be reached");
            CallError::Unreachable
        })
    }
}

/// Makes pools of up to 256 idle connections per model server, each kept for 60 s.
fn pool(
    connector: GuardedConnector,
) -> impl Fn() -> Client<GuardedConnector, Body> + Send + Sync + 'static {
    move || {
        Client::builder(TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .pool_max_idle_per_host(256)
            .build(connector.clone())
    }
}

#[derive(Debug, thiserror::Error)]
enum ConnectError {
    /// Not connected to: the allow-list refused the URL or every address it resolved to.
    #[error("{0}")]
    Refused(String),
    #[error(transparent)]
    Io(#[from] io::Error),
}

/// Connects only where the allow-list permits: checks the URL, resolves its name, checks every
/// address, then tries the allowed addresses in the resolver's order.
#[derive(Clone)]
struct GuardedConnector {
    allowed: Arc<AllowedUpstreams>,
    resolver: Arc<dyn Resolve>,
}

impl GuardedConnector {
    async fn connect(self, uri: Uri) -> Result<TokioIo<TcpStream>, ConnectError> {
        let text = format!(
            "{}://{}",
            uri.scheme_str().unwrap_or_default(),
            uri.authority().map(|a| a.as_str()).unwrap_or_default()
        );
        let url = UpstreamUrl::parse(&text).map_err(|e| ConnectError::Refused(e.to_string()))?;
        self.allowed
            .check(&url)
            .map_err(|r| ConnectError::Refused(format!("{url} {r}")))?;
        if url.scheme() != Scheme::Http {
            return Err(ConnectError::Refused(format!(
                "{url}: only http model servers are supported"
            )));
        }
        let candidates = match url.host() {
            Host::Ip(ip) => vec![*ip],
            Host::Name(name) => self.resolver.resolve(name, url.port()).await?,
        };
        let mut refusals = Vec::new();
        let allowed: Vec<IpAddr> = candidates
            .into_iter()
            .filter(|ip| match self.allowed.check_address(&url, *ip) {
                Ok(()) => true,
                Err(refusal) => {
                    refusals.push(refusal.to_string());
                    false
                }
            })
            .collect();
        if allowed.is_empty() {
            return Err(ConnectError::Refused(if refusals.is_empty() {
                format!("{url}: the name resolved to no address")
            } else {
                format!("{url}: {}", refusals.join("; "))
            }));
        }
        let mut last = io::Error::new(io::ErrorKind::NotFound, "no address");
        for ip in allowed {
            let address = SocketAddr::new(ip, url.port());
            match tokio::time::timeout(CONNECT_TIMEOUT, TcpStream::connect(address)).await {
                Ok(Ok(stream)) => {
                    let _ = stream.set_nodelay(true);
                    return Ok(TokioIo::new(stream));
                }
                Ok(Err(error)) => last = error,
                Err(_) => last = io::Error::new(io::ErrorKind::TimedOut, "connect timed out"),
            }
        }
        Err(ConnectError::Io(last))
    }
}

impl tower::Service<Uri> for GuardedConnector {
    type Response = TokioIo<TcpStream>;
    type Error = ConnectError;
    type Future = BoxFuture<Result<TokioIo<TcpStream>, ConnectError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), ConnectError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, uri: Uri) -> Self::Future {
        Box::pin(self.clone().connect(uri))
    }
}

#[cfg(test)]
mod tests;
