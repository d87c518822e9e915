//! The accept loop: serves a router or the front (`Serve`) over HTTP/1.1 with the bounds every
//! listener needs (SPEC section 9): at most `max_connections` open at once (further clients
//! wait in the kernel's backlog until one closes, instead of the process running out of file
//! descriptors), a time limit for receiving a request's headers (also the keep-alive idle
//! limit: a slow or silent client is cut), a bound on the header size, and a graceful drain on
//! shutdown.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{ConnectInfo, Request};
use axum::response::Response;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulShutdown;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt as _;

/// The bounds of one listener.
#[derive(Clone, Copy, Debug)]
pub struct ListenerLimits {
    /// Connections open at once; past it, new clients wait to be accepted.
    pub max_connections: usize,
    /// Time to receive a request's headers, from the moment the connection (or its previous
    /// request) is ready for one. Idle keep-alive connections are closed after it too.
    pub header_timeout: Duration,
    /// The shorter header time limit given to new connections while more than three quarters
    /// of `max_connections` are open, so that a flood of slow clients clears faster.
    pub header_timeout_under_load: Duration,
    /// Largest request head (request line and headers) in bytes; larger ones get 431.
    pub header_bytes: usize,
    /// How long a shutdown waits for in-flight requests before closing their connections.
    pub drain: Duration,
}

impl Default for ListenerLimits {
    fn default() -> Self {
        ListenerLimits {
            max_connections: 10_000,
            header_timeout: Duration::from_secs(10),
            header_timeout_under_load: Duration::from_secs(2),
            header_bytes: 32 * 1024,
            drain: Duration::from_secs(30),
        }
    }
}

impl ListenerLimits {
    /// `max_connections` lowered, when needed, so that open connections stay below the
    /// process's file-descriptor limit with room for the database, upstreams and files.
    pub fn within_file_limit(mut self, open_files: Option<u64>) -> ListenerLimits {
        if let Some(limit) = open_files {
            let reserve = 64 + limit / 4;
            let room = limit.saturating_sub(reserve).max(16);
            self.max_connections = self
                .max_connections
                .min(usize::try_from(room).unwrap_or(usize::MAX));
        }
        self
    }
}

/// What a listener serves: each request with the TCP peer it came from. A `Router` gets the
/// peer as the `ConnectInfo<SocketAddr>` extension; the public listener serves `Front`.
pub trait Serve: Clone + Send + Sync + 'static {
    /// The response to `request` from `peer`.
    fn serve(
        &self,
        peer: SocketAddr,
        request: Request<Incoming>,
    ) -> impl Future<Output = Response> + Send + use<Self>;
}

impl Serve for Router {
    fn serve(
        &self,
        peer: SocketAddr,
        mut request: Request<Incoming>,
    ) -> impl Future<Output = Response> + Send + use<> {
        request.extensions_mut().insert(ConnectInfo(peer));
        let answer = self.clone().oneshot(request);
        async move {
            match answer.await {
                Ok(response) => response,
                Err(never) => match never {},
            }
        }
    }
}

impl Serve for Arc<crate::front::Front> {
    fn serve(
        &self,
        peer: SocketAddr,
        request: Request<Incoming>,
    ) -> impl Future<Output = Response> + Send + use<> {
        self.clone().handle(peer, request)
    }
}

/// Serves `service` on `listener` until `shutdown` resolves, then stops accepting and waits up
/// to `limits.drain` for open requests to finish.
pub async fn serve(
    listener: TcpListener,
    service: impl Serve,
    limits: ListenerLimits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    serve_sharing(listener, service, limits, permits, shutdown).await;
}

/// As `serve`, counting open connections in `permits` (holding `limits.max_connections`),
/// which the listeners of the per-core mode share: the bound is the process's, not a thread's.
pub async fn serve_sharing(
    listener: TcpListener,
    service: impl Serve,
    limits: ListenerLimits,
    permits: Arc<Semaphore>,
    shutdown: impl Future<Output = ()>,
) {
    let busy_above = limits.max_connections - limits.max_connections / 4;
    let graceful = GracefulShutdown::new();
    tokio::pin!(shutdown);
    loop {
        let permit = tokio::select! {
            permit = permits.clone().acquire_owned() => match permit {
                Ok(permit) => permit,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of descriptors or a connection reset before it was accepted: wait a
                    // moment rather than spin, and keep serving the connections already open.
                    tracing::warn!(%error, "cannot accept a connection");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let open = limits.max_connections - permits.available_permits();
        let header_timeout = if open > busy_above {
            limits.header_timeout_under_load.min(limits.header_timeout)
        } else {
            limits.header_timeout
        };
        // One future per request: the service's own, with no tower stack around it.
        let on_connection = service.clone();
        let requests = hyper::service::service_fn(move |request: Request<Incoming>| {
            let answer = on_connection.serve(peer, request);
            async move { Ok::<_, Infallible>(answer.await) }
        });
        let mut builder = hyper::server::conn::http1::Builder::new();
        builder
            .timer(TokioTimer::new())
            .header_read_timeout(header_timeout)
            .max_buf_size(limits.header_bytes.max(8192));
        let connection = builder.serve_connection(TokioIo::new(stream), requests);
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, %peer, "connection ended with an error");
            }
            drop(permit);
        });
    }
    drop(listener);
    if tokio::time::timeout(limits.drain, graceful.shutdown())
        .await
        .is_err()
    {
        tracing::warn!(
            "requests still open after {} s of draining were cut",
            limits.drain.as_secs()
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn connections_stay_below_the_file_limit() {
        let limits = ListenerLimits::default();
        assert_eq!(limits.within_file_limit(None).max_connections, 10_000);
        assert_eq!(
            limits.within_file_limit(Some(1_048_576)).max_connections,
            10_000
        );
        let small = limits.within_file_limit(Some(256)).max_connections;
        assert!((100..256).contains(&small), "{small}");
        assert_eq!(limits.within_file_limit(Some(10)).max_connections, 16);
    }
}
