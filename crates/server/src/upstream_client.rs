//! The pooled HTTP/1 client that the gateway and the local API proxy forward through, and
//! `Pooled`, which gives each serving thread a pool of its own in the per-core mode: a leaf
//! module, so the client-side `tessera proxy` needs none of the server's state.

use std::time::Duration;

use axum::body::Body;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use thread_local::ThreadLocal;

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

/// A client (or any value) shared by every thread, or made once per thread that asks for it.
///
/// Per thread is for the per-core mode (`runtime_mode`): a hyper client's connections are
/// driven by tasks of the runtime that opened them, so a pool per single-threaded runtime keeps
/// a request and its upstream connection on one thread, with no wake-up crossing threads.
pub enum Pooled<T: Send> {
    /// One value for every thread.
    Shared(T),
    /// A value per thread, made by `make` on the thread's first use.
    PerThread {
        values: Box<ThreadLocal<T>>,
        make: Box<dyn Fn() -> T + Send + Sync>,
    },
}

impl<T: Send> Pooled<T> {
    /// `make()` once for all threads (`per_thread` false) or once per thread (true).
    pub fn new(per_thread: bool, make: impl Fn() -> T + Send + Sync + 'static) -> Pooled<T> {
        if per_thread {
            Pooled::PerThread {
                values: Box::new(ThreadLocal::new()),
                make: Box::new(make),
            }
        } else {
            Pooled::Shared(make())
        }
    }

    /// The calling thread's value.
    pub fn get(&self) -> &T {
        match self {
            Pooled::Shared(value) => value,
            Pooled::PerThread { values, make } => values.get_or(make),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn per_thread_values_are_made_once_per_thread() {
        let made = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let counter = made.clone();
        let pooled = Pooled::new(true, move || {
            counter.fetch_add(1, std::sync::atomic::Ordering::SeqCst)
        });
        let here = *pooled.get();
        assert_eq!(*pooled.get(), here);
        let there = std::thread::scope(|s| s.spawn(|| *pooled.get()).join().unwrap_or(usize::MAX));
        assert_ne!(here, there);
        assert_eq!(made.load(std::sync::atomic::Ordering::SeqCst), 2);
        let shared = Pooled::new(false, || std::thread::current().id());
        let first = *shared.get();
        let other = std::thread::scope(|s| s.spawn(|| *shared.get()).join().ok());
        assert_eq!(other, Some(first));
    }
}
