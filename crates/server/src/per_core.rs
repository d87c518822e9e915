//! The per-core serving mode (`runtime_mode`): `workers` threads, each running a
//! single-threaded tokio runtime that accepts on its own `SO_REUSEPORT` listener (Linux spreads
//! new connections over them by address hash) and serves them with the front (`front`) and the bounds
//! of `listener`, so a request and the upstream call it makes stay on one thread.
//!
//! Shutdown: every thread stops accepting and drains its own connections when told to quit;
//! its runtime then keeps turning (database and upstream connections it opened may still be
//! used by the main runtime's flush of last uses) until `Cores::release` says everything is
//! written.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use socket2::{Domain, Protocol, Socket, Type};
use tokio::sync::{Semaphore, oneshot, watch};

use crate::listener::ListenerLimits;

/// The accept queue of each listener, as tokio's own `TcpListener::bind` asks for.
const BACKLOG: i32 = 1024;

/// `count` listeners on `address`, all with `SO_REUSEPORT`: the first binds (port 0 picks a
/// port), the others join it on the port it got. A port already listened on is refused
/// (`AddrInUse`), also when the other listener is a Tessera of the same user.
///
/// # Errors
/// When the address cannot be bound (in use without `SO_REUSEPORT`, not local, no permission).
pub fn bind(address: SocketAddr, count: usize) -> std::io::Result<Vec<std::net::TcpListener>> {
    // A port some process already listens on (another Tessera included, whose sockets have
    // `SO_REUSEPORT` too) is "in use", as with one plain listener: a socket without the option
    // cannot bind beside listening ones. Without this probe a second server would silently
    // share the port and half of the connections.
    if address.port() != 0 {
        drop(std::net::TcpListener::bind(address)?);
    }
    let first = bind_one(address)?;
    let bound = first.local_addr()?;
    let mut all = vec![first];
    for _ in 1..count.max(1) {
        all.push(bind_one(bound)?);
    }
    Ok(all)
}

fn bind_one(address: SocketAddr) -> std::io::Result<std::net::TcpListener> {
    let socket = Socket::new(
        Domain::for_address(address),
        Type::STREAM,
        Some(Protocol::TCP),
    )?;
    // As tokio's `TcpListener::bind` does: a restart may bind while old connections linger.
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&address.into())?;
    socket.listen(BACKLOG)?;
    Ok(socket.into())
}

/// The serving threads, once started.
pub struct Cores {
    drained: Vec<oneshot::Receiver<anyhow::Result<()>>>,
    threads: Vec<std::thread::JoinHandle<()>>,
    release: watch::Sender<bool>,
}

/// Starts one thread per listener, each serving `service` until `quit` turns true. Open
/// connections are counted together against `limits.max_connections`.
///
/// # Errors
/// When a thread cannot be started.
pub fn start(
    listeners: Vec<std::net::TcpListener>,
    service: impl crate::listener::Serve,
    limits: ListenerLimits,
    quit: watch::Receiver<bool>,
) -> anyhow::Result<Cores> {
    let permits = Arc::new(Semaphore::new(limits.max_connections));
    let (release, released) = watch::channel(false);
    let mut cores = Cores {
        drained: Vec::new(),
        threads: Vec::new(),
        release,
    };
    for (index, listener) in listeners.into_iter().enumerate() {
        let (drained_tx, drained_rx) = oneshot::channel();
        let (service, permits, mut quit, mut released) = (
            service.clone(),
            permits.clone(),
            quit.clone(),
            released.clone(),
        );
        let thread = std::thread::Builder::new()
            .name(format!("tessera-core-{index}"))
            .spawn(move || {
                let runtime = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(runtime) => runtime,
                    Err(error) => {
                        let _ = drained_tx.send(Err(anyhow::Error::new(error)
                            .context(format!("cannot start serving thread {index}"))));
                        return;
                    }
                };
                runtime.block_on(async move {
                    let listener = match tokio::net::TcpListener::from_std(listener) {
                        Ok(listener) => listener,
                        Err(error) => {
                            let _ = drained_tx.send(Err(anyhow::Error::new(error)
                                .context(format!("serving thread {index}: listener"))));
                            return;
                        }
                    };
                    let stop = async move {
                        let _ = quit.wait_for(|q| *q).await;
                    };
                    crate::listener::serve_sharing(listener, service, limits, permits, stop).await;
                    let _ = drained_tx.send(Ok(()));
                    // Keep this runtime's connections (database, upstreams) alive for the
                    // flush that follows the drain.
                    let _ = released.wait_for(|r| *r).await;
                });
            })
            .context("cannot start a serving thread")?;
        cores.drained.push(drained_rx);
        cores.threads.push(thread);
    }
    Ok(cores)
}

impl Cores {
    /// Waits until every thread has stopped accepting and drained its connections.
    ///
    /// # Errors
    /// The first thread that could not serve.
    pub async fn drained(&mut self) -> anyhow::Result<()> {
        let mut first_error = None;
        for drained in self.drained.drain(..) {
            let outcome = drained
                .await
                .unwrap_or_else(|_| Err(anyhow::anyhow!("a serving thread panicked")));
            if let Err(error) = outcome {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    /// Lets the threads end, once nothing more will be written through their connections,
    /// and waits for them.
    pub async fn release(self) {
        let _ = self.release.send(true);
        let threads = self.threads;
        let _ = tokio::task::spawn_blocking(move || {
            for thread in threads {
                let _ = thread.join();
            }
        })
        .await;
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::bind;

    #[test]
    fn a_port_a_server_already_listens_on_is_in_use_not_shared() {
        let first = bind("127.0.0.1:0".parse().unwrap(), 2).unwrap();
        let taken = first[0].local_addr().unwrap();
        assert_eq!(first[1].local_addr().unwrap(), taken);
        let second = bind(taken, 2).unwrap_err();
        assert_eq!(second.kind(), std::io::ErrorKind::AddrInUse);
        drop(first);
        // Free again once the first server is gone.
        assert_eq!(bind(taken, 1).unwrap().len(), 1);
    }
}
