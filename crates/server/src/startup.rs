//! Start-up: open the store, load the server secret, wire the services, bind the listener,
//! serve until told to stop, then drain requests and flush pending last-used writes.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context as _;
use rand::Rng;
use tessera_core::cache::CredentialCache;
use tessera_core::clock::SystemClock;
use tessera_core::invalidation::Notice;
use tessera_core::invocation_log::{self, InvocationWriter, invocation_channel};
use tessera_core::realm::Realm;
use tessera_core::realm::keys::KeyCipher;
use tessera_core::secret::SecretHasher;
use tessera_core::services::Context;
use tessera_core::services::api_keys::ApiKeyService;
use tessera_core::services::audit_log::AuditService;
use tessera_core::services::organizations::OrganizationService;
use tessera_core::services::pats::PatService;
use tessera_core::services::service_accounts::ServiceAccountService;
use tessera_core::services::users::UserService;
use tessera_core::throttle::FailureThrottle;
use tessera_core::usage::{UsageReceiver, usage_channel};
use tessera_store::notify::PgNotifications;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::config::Config;
use crate::listener::ListenerLimits;
use crate::routes;
use crate::runtime_mode::RuntimeMode;
use crate::secret_file;
use crate::state::{AppServices, AppState};

/// The domain context for a configuration: store, secret, cache, clock. Used by the server and
/// by the operator commands of the CLI, so that both compute the same hashes.
pub async fn domain_context(config: &Config) -> anyhow::Result<Context> {
    Ok(open_domain(config).await?.0)
}

/// The domain context for the CLI's operator commands (`tessera admin ...`), which must hash
/// and encrypt with the server's own secret, or a PAT they print is refused by the server
/// (found by the second review of #17). Refused, naming what is missing, when the database was
/// already set up (it holds signing keys) and no secret is at hand (`TESSERA_SERVER_SECRET`
/// unset and no file at `server_secret_file`): a new secret file would be another secret. When a
/// secret is at hand, it must decrypt the database's signing keys. A fresh database gets the
/// secret file `tessera serve` will then use, as before.
pub async fn operator_context(config: &Config) -> anyhow::Result<Context> {
    if config.server_secret.is_none() && !config.secret_file.exists() {
        let probe = tessera_store::open_with(&config.database, Some(1)).await?;
        if !probe.store.signing_keys().await?.is_empty() {
            anyhow::bail!(
                "no server secret: this database was set up by a server with a secret, and this command has none (TESSERA_SERVER_SECRET is not set and the server secret file {} does not exist). Give it the server's secret: TESSERA_SERVER_SECRET as for `tessera serve`, or server_secret_file in the configuration file (--config); a token made with another secret would be refused by the server",
                config.secret_file.display()
            );
        }
    }
    let ctx = domain_context(config).await?;
    if !ctx.store.signing_keys().await?.is_empty() {
        start_realm(config, &ctx).await.map_err(|error| {
            anyhow::anyhow!(
                "the server secret does not match this database's (its signing keys cannot be decrypted: {error}). Give this command the server's secret: TESSERA_SERVER_SECRET as for `tessera serve`, or server_secret_file in the configuration file (--config)"
            )
        })?;
    }
    Ok(ctx)
}

/// How long a cached credential is trusted without re-reading the database when several nodes
/// share it: the bound on a lost invalidation (SPEC: 2 s).
pub const SHARED_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(1);

async fn open_domain(config: &Config) -> anyhow::Result<(Context, Option<PgNotifications>)> {
    let database = tessera_store::open_with(&config.database, Some(config.db_connections)).await?;
    let key = server_secret(config)?;
    let mut cache = CredentialCache::new(config.cache_entries);
    if database.is_shared() {
        cache = cache.with_ttl(SHARED_CACHE_TTL);
    }
    let ctx = Context {
        store: database.store,
        cache: Arc::new(cache),
        bus: database.bus,
        hasher: SecretHasher::new(&key)?,
        clock: Arc::new(SystemClock),
        serving: Arc::default(),
    };
    Ok((ctx, database.notifications))
}

fn server_secret(config: &Config) -> anyhow::Result<Vec<u8>> {
    Ok(match &config.server_secret {
        Some(secret) => secret.as_bytes().to_vec(),
        None => secret_file::load_or_create(&config.secret_file)?,
    })
}

/// The realm for a configuration, its keys loaded (the first one generated on an empty
/// database). Used by the server and by `tessera admin keys rotate`.
pub async fn start_realm(config: &Config, ctx: &Context) -> anyhow::Result<Realm> {
    let cipher = KeyCipher::new(&server_secret(config)?)?;
    Ok(Realm::start(
        config.realm.clone(),
        cipher,
        ctx.store.clone(),
        ctx.clock.clone(),
        ctx.bus.clone(),
    )
    .await?)
}

/// How often keys are re-read, to pick up a rotation made by another process.
const KEY_RELOAD_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// The public listener: one socket for the multi-threaded runtime, or one `SO_REUSEPORT`
/// socket per serving thread (`per_core`).
enum Listeners {
    One(TcpListener),
    PerCore(Vec<std::net::TcpListener>),
}

pub struct Application {
    listeners: Listeners,
    limits: ListenerLimits,
    /// The management listener (`metrics_listen`), when configured.
    metrics_listener: Option<TcpListener>,
    /// The public listener's service: the front and the router behind it.
    front: Arc<crate::front::Front>,
    state: AppState,
    usage: UsageReceiver,
    invocations: InvocationWriter,
    cache: Arc<CredentialCache>,
    notifications: Option<PgNotifications>,
    /// The generated password of the bootstrap `admin`, to print once.
    pub bootstrap_password: Option<String>,
}

impl Application {
    pub async fn build(mut config: Config) -> anyhow::Result<Application> {
        let per_core = config.server.runtime == RuntimeMode::PerCore;
        let listeners = if per_core {
            Listeners::PerCore(
                crate::per_core::bind(config.listen, config.server.workers)
                    .with_context(|| format!("cannot listen on {}", config.listen))?,
            )
        } else {
            Listeners::One(
                TcpListener::bind(config.listen)
                    .await
                    .with_context(|| format!("cannot listen on {}", config.listen))?,
            )
        };
        config.bound_to(match &listeners {
            Listeners::One(listener) => listener.local_addr()?,
            Listeners::PerCore(all) => {
                all.first().context("no listener was bound")?.local_addr()?
            }
        });
        let metrics_listener = match config.metrics_listen {
            Some(address) => Some(
                TcpListener::bind(address)
                    .await
                    .with_context(|| format!("cannot listen for metrics on {address}"))?,
            ),
            None => None,
        };
        let open_files = rlimit::getrlimit(rlimit::Resource::NOFILE)
            .ok()
            .map(|(soft, _)| soft);
        let limits = config.listener.within_file_limit(open_files);
        let (ctx, notifications) = open_domain(&config).await?;
        let (recorder, usage) = usage_channel();
        let (invocations, invocation_writer) = invocation_channel(invocation_log::CAPACITY);
        let users = UserService::new(ctx.clone());
        let bootstrap_password = bootstrap(&users, config.admin_password.clone()).await?;
        let realm = start_realm(&config, &ctx).await?;
        let state: AppState = Arc::new(AppServices {
            authenticator: ctx
                .authenticator(recorder)
                .with_jwt(Arc::new(realm.verifier())),
            realm,
            organizations: OrganizationService::new(ctx.clone()),
            projects: tessera_core::services::projects::ProjectService::new(ctx.clone()),
            model_apis: tessera_core::services::model_apis::ModelApiService::new(ctx.clone()),
            model_serving: tessera_core::services::model_serving::ModelServingService::new(
                ctx.clone(),
                KeyCipher::for_purpose(&server_secret(&config)?, "model-token-encryption")?,
                invocations,
            )
            .allowing(config.allowed_upstreams.clone()),
            throttle: FailureThrottle::new(config.throttle),
            shedder: crate::load::Shedder::new(config.concurrency, config.interactive_concurrency),
            trusted_proxies: config.trusted_proxies.clone(),
            pats: PatService::new(ctx.clone(), config.expiration),
            users,
            service_accounts: ServiceAccountService::new(ctx.clone(), config.expiration),
            api_keys: ApiKeyService::new(ctx.clone()),
            audit: AuditService::new(ctx.clone()),
            store: ctx.store.clone(),
            public_url: config.public_url.clone(),
            upstreams: crate::upstream_client::Pooled::new(
                per_core,
                crate::upstream_client::client,
            ),
            model_servers: {
                let client =
                    crate::model_client::ModelClient::new(config.allowed_upstreams.clone());
                if per_core {
                    client.per_thread()
                } else {
                    client
                }
            },
            metrics: crate::metrics::Metrics::new(
                config
                    .gateway_routes
                    .iter()
                    .map(|r| r.prefix.clone())
                    .collect(),
            ),
            cache: ctx.cache.clone(),
            serving: ctx.serving.clone(),
            sync_timeout: config.sync_timeout,
            predictions: config.predictions.clone(),
            prediction_queue: tokio::sync::Notify::new(),
            sessions: tessera_core::services::sessions::SessionService::new(ctx.clone()),
            templates: crate::web::Templates::new().context("web UI templates")?,
            sso: crate::sso::Sso::new(
                config.sso.clone(),
                &config.public_url,
                tessera_core::services::sso::SsoService::new(ctx.clone()),
            )
            .map_err(|e| anyhow::anyhow!("single sign-on: {e}"))?,
        });
        warn_about_sso(&state, &config).await;
        Ok(Application {
            limits,
            metrics_listener,
            cache: ctx.cache.clone(),
            notifications,
            front: Arc::new(crate::front::Front::new(
                state.clone(),
                routes::router(state.clone(), &config),
                &config,
            )),
            listeners,
            state,
            usage,
            invocations: invocation_writer,
            bootstrap_password,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        let bound = match &self.listeners {
            Listeners::One(listener) => listener.local_addr().ok(),
            Listeners::PerCore(all) => all.first().and_then(|l| l.local_addr().ok()),
        };
        bound.unwrap_or_else(|| SocketAddr::from(([127, 0, 0, 1], 0)))
    }

    pub fn port(&self) -> u16 {
        self.local_addr().port()
    }

    /// Where metrics are served, when `metrics_listen` is configured.
    pub fn metrics_addr(&self) -> Option<SocketAddr> {
        self.metrics_listener
            .as_ref()
            .and_then(|l| l.local_addr().ok())
    }

    /// The public listener's bounds, after the file-descriptor limit.
    pub fn limits(&self) -> ListenerLimits {
        self.limits
    }

    /// The services, for tests and operator tooling running in the same process.
    pub fn state(&self) -> AppState {
        self.state.clone()
    }

    /// Serves until `shutdown` resolves, then stops accepting, drains in-flight requests and
    /// writes every pending last-used time before returning.
    pub async fn run_until_stopped(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        let (stop_tx, stop_rx) = watch::channel(false);
        let flusher = tokio::spawn(self.usage.run(self.state.store.clone(), stop_rx.clone()));
        // Stopped last, once nothing else can log an invocation.
        let (log_stop_tx, log_stop_rx) = watch::channel(false);
        let invocation_writer =
            tokio::spawn(self.invocations.run(self.state.store.clone(), log_stop_rx));
        let reloader = tokio::spawn(reload_keys(self.state.clone(), stop_rx.clone()));
        let predictions = tokio::spawn(crate::predictions_worker::run(
            self.state.clone(),
            stop_rx.clone(),
        ));
        let listener = self.notifications.map(|notifications| {
            let (tx, rx) = tokio::sync::mpsc::channel(1024);
            let hearing = tokio::spawn(notifications.run(tx, stop_rx));
            let applying = tokio::spawn(apply_notices(rx, self.cache.clone(), self.state.clone()));
            (hearing, applying)
        });
        // One shutdown signal for both listeners.
        let (quit_tx, quit_rx) = watch::channel(false);
        tokio::spawn(async move {
            shutdown.await;
            let _ = quit_tx.send(true);
        });
        let quit = |mut rx: watch::Receiver<bool>| async move {
            let _ = rx.wait_for(|q| *q).await;
        };
        let management = self.metrics_listener.map(|listener| {
            let router = routes::management::router(self.state.clone());
            tokio::spawn(crate::listener::serve(
                listener,
                router,
                ListenerLimits {
                    max_connections: 64,
                    ..self.limits
                },
                quit(quit_rx.clone()),
            ))
        });
        let cores = match self.listeners {
            Listeners::One(listener) => {
                crate::listener::serve(listener, self.front, self.limits, quit(quit_rx)).await;
                None
            }
            Listeners::PerCore(listeners) => {
                let mut cores =
                    crate::per_core::start(listeners, self.front, self.limits, quit_rx)?;
                cores.drained().await?;
                Some(cores)
            }
        };
        if let Some(management) = management {
            management.await.context("metrics listener")?;
        }
        let _ = stop_tx.send(true);
        flusher.await.context("last-used flusher")?;
        reloader.await.context("key reloader")?;
        predictions.await.context("prediction workers")?;
        let _ = log_stop_tx.send(true);
        invocation_writer.await.context("invocation log writer")?;
        if let Some((hearing, applying)) = listener {
            hearing.await.context("invalidation listener")?;
            applying.await.context("invalidation applier")?;
        }
        if let Some(cores) = cores {
            cores.release().await;
        }
        Ok(())
    }
}

/// Applies what the other nodes announce; after a gap, forgets everything cached.
async fn apply_notices(
    mut rx: tokio::sync::mpsc::Receiver<Notice>,
    cache: Arc<CredentialCache>,
    state: AppState,
) {
    while let Some(notice) = rx.recv().await {
        match notice {
            Notice::Event(event) => {
                cache.apply(&event);
                state.serving.apply(&event);
                state.realm.apply(&event).await;
            }
            Notice::Gap => {
                cache.clear();
                state.serving.clear();
                state.realm.forget_all();
                if let Err(error) = state.realm.reload().await {
                    tracing::warn!(%error, "could not reload signing keys after a gap");
                }
            }
        }
    }
}

async fn reload_keys(state: AppState, mut stop: watch::Receiver<bool>) {
    loop {
        tokio::select! {
            _ = tokio::time::sleep(KEY_RELOAD_EVERY) => {}
            _ = stop.wait_for(|s| *s) => return,
        }
        if let Err(error) = state.realm.reload().await {
            tracing::warn!(%error, "could not reload signing keys");
        }
    }
}

/// Logs the single sign-on settings an administrator should fix (`Sso::startup_warnings`).
async fn warn_about_sso(state: &AppState, config: &Config) {
    for warning in state
        .sso
        .startup_warnings(config.public_url_given, config.listen)
        .await
    {
        tracing::warn!(setting = "sso", "{warning}");
    }
}

/// On an empty database, creates `admin`; returns the password when it was generated here.
async fn bootstrap(
    users: &UserService,
    configured: Option<String>,
) -> anyhow::Result<Option<String>> {
    let generated = configured.is_none();
    let password = configured.unwrap_or_else(random_password);
    let created = users.bootstrap_admin(password.clone()).await?;
    Ok(match created {
        Some(_) if generated => Some(password),
        _ => None,
    })
}

fn random_password() -> String {
    const ALPHABET: &[u8] = b"abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789";
    let mut rng = rand::rng();
    (0..24)
        .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
        .collect()
}

/// Resolves on SIGTERM or Ctrl-C.
pub async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
    tracing::info!("shutting down: draining requests and flushing writes");
}
