//! Shared application state, handed to handlers by axum. No globals: tests run many apps.

use std::sync::Arc;

use tessera_core::authn::Authenticator;
use tessera_core::realm::Realm;
use tessera_core::services::api_keys::ApiKeyService;
use tessera_core::services::audit_log::AuditService;
use tessera_core::services::organizations::OrganizationService;
use tessera_core::services::pats::PatService;
use tessera_core::services::service_accounts::ServiceAccountService;
use tessera_core::services::users::UserService;
use tessera_core::store::Store;
use tessera_core::throttle::FailureThrottle;

pub type AppState = Arc<AppServices>;

pub struct AppServices {
    pub authenticator: Authenticator,
    pub throttle: FailureThrottle,
    /// The `[limits]` concurrency limits past which requests are shed.
    pub shedder: crate::load::Shedder,
    /// Whose `X-Forwarded-For` names the client (SPEC section 5).
    pub trusted_proxies: crate::client_addr::TrustedProxies,
    pub pats: PatService,
    pub users: UserService,
    pub service_accounts: ServiceAccountService,
    pub api_keys: ApiKeyService,
    pub audit: AuditService,
    pub organizations: OrganizationService,
    pub projects: tessera_core::services::projects::ProjectService,
    pub model_apis: tessera_core::services::model_apis::ModelApiService,
    pub model_serving: tessera_core::services::model_serving::ModelServingService,
    pub realm: Realm,
    pub store: Arc<dyn Store>,
    pub public_url: String,
    pub metrics: crate::metrics::Metrics,
    /// The verification cache, for its size in the metrics.
    pub cache: Arc<tessera_core::cache::CredentialCache>,
    /// What invocations know of each model API, for invalidations heard from other nodes.
    pub serving: Arc<tessera_core::serving_cache::ServingCache>,
    /// Pooled connections to the gateway's upstreams (a pool per serving thread in the
    /// per-core mode).
    pub upstreams: crate::upstream_client::Pooled<crate::upstream_client::UpstreamClient>,
    /// Connections to model servers, only where `[models] allowed_upstreams` allows.
    pub model_servers: crate::model_client::ModelClient,
    /// How long a sync model invocation may wait for the model server.
    pub sync_timeout: std::time::Duration,
    /// How async predictions are run, and the bell rung when one is accepted.
    pub predictions: tessera_core::predictions::PredictionPolicy,
    pub prediction_queue: tokio::sync::Notify,
    /// Web UI sessions and the pages' templates.
    pub sessions: tessera_core::services::sessions::SessionService,
    pub templates: crate::web::Templates,
    /// Single sign-on: the providers and the sign-in service (SPEC section 10).
    pub sso: crate::sso::Sso,
}
