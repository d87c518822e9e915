//! The pooled HTTP/1 client that the gateway and the local API proxy forward through: a leaf
//! module, so the client-side `tessera proxy` needs none of the server's state.

use std::time::Duration;

use axum::body::Body;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;

/// A pooled HTTP/1 client for every upstream (keep-alive connections reused per host).
pub type UpstreamClient = Client<HttpConnector, Body>;

/// A client with `TCP_NODELAY`, a 5 s connect timeout and up to 256 idle connections per host,
/// each kept for 60 s.
pub fn client() -> UpstreamClient {
    let mut connector = HttpConnector::new();
    connector.set_nodelay(true);
    connector.set_connect_timeout(Some(Duration::from_secs(5)));
    Client::builder(TokioExecutor::new())
        .pool_idle_timeout(Duration::from_secs(60))
        .pool_max_idle_per_host(256)
        .build(connector)
}
