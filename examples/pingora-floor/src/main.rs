//! `pingora-floor LISTEN UPSTREAM [steal|no-steal]`: a bare reverse proxy on Cloudflare's Pingora,
//! a floor that `bench/gateway.sh` measures beside nginx, `hyper-floor` and Tessera. Each request
//! goes to `UPSTREAM` (`host:port`) over Pingora's pooled HTTP/1.1 keep-alive connections, with
//! its method, path, headers and body as they came, and the answer goes back as it came: nothing
//! is checked or rewritten (no filter of [`ProxyHttp`] is overridden but `upstream_peer`). The
//! proxy service runs on two worker threads (one per core of the benchmark machine), with tokio's
//! work stealing (`steal`, Pingora's default) or one runtime per thread (`no-steal`).

use async_trait::async_trait;
use pingora_core::server::Server;
use pingora_core::server::configuration::ServerConf;
use pingora_core::upstreams::peer::HttpPeer;
use pingora_proxy::{ProxyHttp, Session};

/// The proxy: every request goes to one upstream, in plain HTTP/1.1.
struct Floor {
    /// `host:port` of the upstream.
    upstream: String,
}

#[async_trait]
impl ProxyHttp for Floor {
    type CTX = ();

    fn new_ctx(&self) {}

    async fn upstream_peer(
        &self,
        _session: &mut Session,
        _ctx: &mut (),
    ) -> pingora_core::Result<Box<HttpPeer>> {
        Ok(Box::new(HttpPeer::new(
            self.upstream.as_str(),
            false,
            String::new(),
        )))
    }
}

fn main() {
    let mut args = std::env::args().skip(1);
    let (Some(listen), Some(upstream)) = (args.next(), args.next()) else {
        eprintln!("usage: pingora-floor LISTEN_ADDR UPSTREAM_HOST:PORT [steal|no-steal]");
        std::process::exit(2);
    };
    let work_stealing = match args.next().as_deref() {
        None | Some("steal") => true,
        Some("no-steal") => false,
        Some(other) => {
            eprintln!("pingora-floor: the third argument is steal or no-steal, not {other:?}");
            std::process::exit(2);
        }
    };
    let conf = ServerConf {
        threads: 2,
        work_stealing,
        // SIGTERM stops it at once (Pingora's default is a graceful shutdown of a minute and more).
        grace_period_seconds: Some(0),
        graceful_shutdown_timeout_seconds: Some(0),
        ..ServerConf::default()
    };
    let mut server = Server::new_with_opt_and_conf(None, conf);
    server.bootstrap();
    let mut proxy = pingora_proxy::http_proxy_service(&server.configuration, Floor { upstream });
    proxy.add_tcp(&listen);
    server.add_service(proxy);
    server.run_forever();
}
