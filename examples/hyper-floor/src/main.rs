//! `hyper-floor LISTEN UPSTREAM`: a bare reverse proxy on hyper, the floor that `bench/gateway.sh`
//! measures beside nginx and Tessera. Each request is forwarded to `UPSTREAM` (`host:port`) with
//! its method, path, headers and body, and the answer streamed back; nothing is checked or
//! rewritten. One current-thread tokio runtime per core, each accepting on its own
//! `SO_REUSEPORT` listener with its own pooled hyper client, as Tessera's per-core front does,
//! so the difference between this and Tessera is what Tessera does per request.

use std::convert::Infallible;
use std::net::SocketAddr;

use hyper::Request;
use hyper::body::Incoming;
use hyper::http::uri::{Authority, Scheme, Uri};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::{TokioExecutor, TokioIo};

fn main() -> std::io::Result<()> {
    let mut args = std::env::args().skip(1);
    let (Some(listen), Some(upstream)) = (args.next(), args.next()) else {
        eprintln!("usage: hyper-floor LISTEN_ADDR UPSTREAM_HOST:PORT");
        std::process::exit(2);
    };
    let listen: SocketAddr = listen
        .parse()
        .map_err(|e| std::io::Error::other(format!("LISTEN_ADDR {listen:?}: {e}")))?;
    let upstream: Authority = upstream
        .parse()
        .map_err(|e| std::io::Error::other(format!("UPSTREAM {upstream:?}: {e}")))?;
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    let threads: Vec<_> = (0..cores)
        .map(|_| {
            let upstream = upstream.clone();
            std::thread::spawn(move || serve(listen, upstream))
        })
        .collect();
    for thread in threads {
        thread
            .join()
            .map_err(|_| std::io::Error::other("a serving thread panicked"))??;
    }
    Ok(())
}

/// One core's runtime: its listener, its client, its connections.
fn serve(listen: SocketAddr, upstream: Authority) -> std::io::Result<()> {
    let socket = socket2::Socket::new(socket2::Domain::IPV4, socket2::Type::STREAM, None)?;
    socket.set_reuse_address(true)?;
    socket.set_reuse_port(true)?;
    socket.set_nonblocking(true)?;
    socket.bind(&listen.into())?;
    socket.listen(1024)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::from_std(socket.into())?;
        let mut connector = HttpConnector::new();
        connector.set_nodelay(true);
        let client: Client<HttpConnector, Incoming> = Client::builder(TokioExecutor::new())
            .pool_max_idle_per_host(256)
            .build(connector);
        loop {
            let (stream, _) = listener.accept().await?;
            let _ = stream.set_nodelay(true);
            let client = client.clone();
            let upstream = upstream.clone();
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let client = client.clone();
                let upstream = upstream.clone();
                async move {
                    let (mut parts, body) = request.into_parts();
                    let mut uri = parts.uri.into_parts();
                    uri.scheme = Some(Scheme::HTTP);
                    uri.authority = Some(upstream);
                    parts.uri = Uri::from_parts(uri).unwrap_or_default();
                    let answer = match client.request(Request::from_parts(parts, body)).await {
                        Ok(response) => response.map(http_body_util::Either::Left),
                        Err(_) => {
                            let mut refused = hyper::Response::new(http_body_util::Either::Right(
                                http_body_util::Empty::new(),
                            ));
                            *refused.status_mut() = hyper::StatusCode::BAD_GATEWAY;
                            refused
                        }
                    };
                    Ok::<_, Infallible>(answer)
                }
            });
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await;
            });
        }
    })
}
