//! Model API versions (deployed only to model servers `[models] allowed_upstreams` allows; their
//! URLs shown only to whom the policy shows them), access tokens, logs and audit history, each
//! guarded by `policy::model_api` through `ModelApiService::authorized`; and the checks of
//! invocations (sync targets, async predictions accepted and looked up), served from
//! `serving_cache`.

use std::sync::Arc;

use crate::audit::AuditEntry;
use crate::authn::Caller;
use crate::ids::{ModelApiId, ModelTokenId, PredictionId};
use crate::invocation_log::InvocationRecorder;
use crate::model_apis::{
    Authorization, Invocation, LoggedInvocation, ModelApi, ModelKind, ModelToken, ModelVersion,
    VersionView,
};
use crate::names::{FieldError, TokenName};
use crate::paging::{Page, PageQuery, Total};
use crate::policy::model_api::{ModelAction, sees_upstream_urls};
use crate::predictions::{Prediction, PredictionPolicy, PredictionStatus};
use crate::realm::keys::KeyCipher;
use crate::secret::{Secret, SecretKind, parse_presented};
use crate::serving_cache::Serving;
use crate::store::invocation_cursor_after;
use crate::upstreams::{AllowedUpstreams, FIELD, Scheme, UpstreamUrl};

use super::model_apis::ModelApiService;
use super::{Context, ServiceError, ServiceResult, taken};

pub struct ModelServingService {
    ctx: Context,
    apis: ModelApiService,
    cipher: KeyCipher,
    log: InvocationRecorder,
    allowed: AllowedUpstreams,
}

/// The versions of a model API as the caller may see them; `upstreams_shown` says whether
/// their upstream URLs are (owners, editors and SysAdmins) or not (everyone else).
pub struct Versions {
    pub versions: Vec<VersionView>,
    pub upstreams_shown: bool,
}

/// Why an invocation is refused.
#[derive(Debug, thiserror::Error)]
pub enum InvokeError {
    #[error("model API not found")]
    NotFound,
    #[error("this model API needs one of its access tokens")]
    Unauthorized,
    #[error("version {0} not found")]
    NoSuchVersion(i64),
    #[error("the model API has no active version")]
    NoActiveVersion,
    #[error("this is a {} model API", .0.as_str())]
    WrongKind(ModelKind),
    #[error("prediction not found")]
    NoSuchPrediction,
    #[error(transparent)]
    Store(#[from] crate::store::StoreError),
}

/// What an authorized invocation may call.
pub struct Target {
    pub api: ModelApi,
    pub version: ModelVersion,
    pub token_name: Option<String>,
}

impl ModelServingService {
    pub fn new(ctx: Context, cipher: KeyCipher, log: InvocationRecorder) -> ModelServingService {
        ModelServingService {
            apis: ModelApiService::new(ctx.clone()),
            ctx,
            cipher,
            log,
            allowed: AllowedUpstreams::default(),
        }
    }

    /// The model servers versions may be deployed to (none until configured).
    pub fn allowing(mut self, allowed: AllowedUpstreams) -> ModelServingService {
        self.allowed = allowed;
        self
    }

    fn audit(&self, caller: &Caller, api: &ModelApi, action: &str) -> AuditEntry {
        AuditEntry {
            target_id: Some(api.id.to_string()),
            target_name: Some(api.name.clone()),
            ..AuditEntry::new(
                &caller.audit_actor(),
                self.ctx.clock.now(),
                action,
                "model_api",
            )
        }
    }

    /// Anyone who may view the model API; the upstream URLs only for those the policy shows
    /// them to (`sees_upstream_urls`).
    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id))]
    pub async fn versions(&self, caller: &Caller, id: ModelApiId) -> ServiceResult<Versions> {
        let api = self.apis.authorized(caller, id, ModelAction::View).await?;
        self.seen_versions(caller, &api).await
    }

    async fn seen_versions(&self, caller: &Caller, api: &ModelApi) -> ServiceResult<Versions> {
        let standing = self.apis.standing(caller, api).await?;
        let shown = sees_upstream_urls(api.visibility, &standing);
        let versions = self.ctx.store.versions(api.id).await?;
        Ok(Versions {
            versions: versions
                .into_iter()
                .map(|v| VersionView::of(v, shown))
                .collect(),
            upstreams_shown: shown,
        })
    }

    /// Deploys `upstream` as the next version (owners, and editors who are project Owner or
    /// Contributor). 400 naming `upstreamUrl` and the setting unless `[models]
    /// allowed_upstreams` allows it (SPEC section 6).
    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id))]
    pub async fn deploy(
        &self,
        caller: &Caller,
        id: ModelApiId,
        upstream: &UpstreamUrl,
        description: &str,
    ) -> ServiceResult<ModelVersion> {
        let api = self
            .apis
            .authorized(caller, id, ModelAction::Deploy)
            .await?;
        self.allowed
            .check(upstream)
            .map_err(|refusal| refusal.for_field(upstream))?;
        if upstream.scheme() == Scheme::Https {
            return Err(FieldError::new(
                FIELD,
                format!("{upstream}: Tessera does not call https model servers yet; use http://"),
            )
            .into());
        }
        let audit = self
            .audit(caller, &api, "model-api.version-deployed")
            .with_detail("upstreamUrl", upstream.as_str());
        let version = self
            .ctx
            .store
            .insert_version(
                id,
                upstream.as_str(),
                description,
                self.ctx.clock.now(),
                &audit,
            )
            .await?;
        self.ctx.forget_model_api(id).await;
        Ok(version)
    }

    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id))]
    pub async fn activate(
        &self,
        caller: &Caller,
        id: ModelApiId,
        number: i64,
    ) -> ServiceResult<Versions> {
        let api = self
            .apis
            .authorized(caller, id, ModelAction::Deploy)
            .await?;
        let audit = self
            .audit(caller, &api, "model-api.version-activated")
            .with_detail("version", number);
        if !self.ctx.store.activate_version(id, number, &audit).await? {
            return Err(ServiceError::NotFound("version"));
        }
        self.ctx.forget_model_api(id).await;
        self.seen_versions(caller, &api).await
    }

    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id))]
    pub async fn tokens(&self, caller: &Caller, id: ModelApiId) -> ServiceResult<Vec<ModelToken>> {
        self.apis
            .authorized(caller, id, ModelAction::ManageTokens)
            .await?;
        Ok(self.ctx.store.model_tokens(id).await?)
    }

    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id))]
    pub async fn create_token(
        &self,
        caller: &Caller,
        id: ModelApiId,
        name: TokenName,
    ) -> ServiceResult<(ModelToken, Secret)> {
        let api = self
            .apis
            .authorized(caller, id, ModelAction::ManageTokens)
            .await?;
        let secret = Secret::generate(SecretKind::ModelToken);
        let token_id = ModelTokenId::new();
        let sealed = self
            .cipher
            .seal(&token_id.to_string(), secret.expose().as_bytes())
            .map_err(|e| ServiceError::Store(crate::store::StoreError::Backend(e.to_string())))?;
        let token = ModelToken {
            id: token_id,
            model_api_id: id,
            name,
            hash: self.ctx.hasher.hash(secret.expose()),
            sealed,
            created_at: self.ctx.clock.now(),
            created_by: caller.principal().user_name.clone(),
            revoked_at: None,
        };
        let audit = self
            .audit(caller, &api, "model-token.created")
            .with_detail("token", token.name.as_str());
        self.ctx
            .store
            .insert_model_token(&token, &audit)
            .await
            .map_err(taken(|| {
                format!("a live token named {:?} exists", token.name.as_str())
            }))?;
        self.ctx.forget_model_api(id).await;
        Ok((token, secret))
    }

    /// Shows a token's value again, as Domino's Invocation tab does; every reveal is audited.
    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id, token = %token))]
    pub async fn reveal(
        &self,
        caller: &Caller,
        id: ModelApiId,
        token: ModelTokenId,
    ) -> ServiceResult<(ModelToken, String)> {
        let api = self
            .apis
            .authorized(caller, id, ModelAction::ManageTokens)
            .await?;
        let found = self
            .ctx
            .store
            .model_tokens(id)
            .await?
            .into_iter()
            .find(|t| t.id == token && t.revoked_at.is_none());
        let found = found.ok_or(ServiceError::NotFound("token"))?;
        let plain = self
            .cipher
            .open(&found.id.to_string(), &found.sealed)
            .map_err(|e| ServiceError::Store(crate::store::StoreError::Backend(e.to_string())))?;
        let value = String::from_utf8(plain)
            .map_err(|e| ServiceError::Store(crate::store::StoreError::Backend(e.to_string())))?;
        let audit = self
            .audit(caller, &api, "model-token.revealed")
            .with_detail("token", found.name.as_str());
        self.ctx.store.append_audit(&audit).await?;
        Ok((found, value))
    }

    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id, token = %token))]
    pub async fn revoke(
        &self,
        caller: &Caller,
        id: ModelApiId,
        token: ModelTokenId,
    ) -> ServiceResult<ModelToken> {
        let api = self
            .apis
            .authorized(caller, id, ModelAction::RevokeTokens)
            .await?;
        let audit = self.audit(caller, &api, "model-token.revoked");
        let revoked = self
            .ctx
            .store
            .revoke_model_token(id, token, self.ctx.clock.now(), &audit)
            .await?
            .ok_or(ServiceError::NotFound("token"))?;
        // Refused from now on, here and (through the bus) on every other node.
        self.ctx.forget_model_api(id).await;
        Ok(revoked)
    }

    /// The newest `limit` invocations of the log (the web page's first page). Owner, editors
    /// and viewers.
    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id))]
    pub async fn logs(
        &self,
        caller: &Caller,
        id: ModelApiId,
        limit: u32,
    ) -> ServiceResult<Vec<Invocation>> {
        let query = PageQuery {
            limit,
            ..PageQuery::default()
        };
        let (page, _) = self.logs_page(caller, id, query).await?;
        Ok(page.items.into_iter().map(|l| l.entry).collect())
    }

    /// A page of the invocation log, newest first (keyset by `seq`, or offset), with its count
    /// (capped). Owner, editors and viewers.
    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id))]
    pub async fn logs_page(
        &self,
        caller: &Caller,
        id: ModelApiId,
        query: PageQuery,
    ) -> ServiceResult<(Page<LoggedInvocation>, Total)> {
        self.apis
            .authorized(caller, id, ModelAction::ViewLogs)
            .await?;
        let limit = query.limit;
        let (found, total) = tokio::try_join!(
            self.ctx.store.invocations(id, &query),
            self.ctx.store.count_invocations(id),
        )?;
        Ok((Page::of(found, limit, invocation_cursor_after), total))
    }

    /// The model API's audit history, newest first: settings, sharing, versions and tokens.
    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id, id = %id))]
    pub async fn audit_history(
        &self,
        caller: &Caller,
        id: ModelApiId,
        limit: u32,
    ) -> ServiceResult<Vec<AuditEntry>> {
        self.apis
            .authorized(caller, id, ModelAction::ViewAudit)
            .await?;
        let query = crate::audit::AuditQuery {
            target: Some(id.to_string()),
            limit,
            ..crate::audit::AuditQuery::default()
        };
        let target = id.to_string();
        let mut entries = self.ctx.store.list_audit(&query).await?.items;
        entries.retain(|e| e.target_id.as_deref() == Some(target.as_str()));
        Ok(entries)
    }

    /// What invocation knows of `id`: from memory, or loaded from the database and kept.
    async fn serving(&self, id: ModelApiId) -> Result<Arc<Serving>, InvokeError> {
        if let Some(serving) = self.ctx.serving.get(id) {
            return Ok(serving);
        }
        let epoch = self.ctx.serving.epoch();
        let api = self
            .ctx
            .store
            .model_api(id)
            .await?
            .ok_or(InvokeError::NotFound)?;
        let versions = self.ctx.store.versions(id).await?;
        let tokens = self.ctx.store.model_tokens(id).await?;
        let serving = Arc::new(Serving::new(api, versions, &tokens));
        self.ctx.serving.put(epoch, serving.clone());
        Ok(serving)
    }

    /// Checks a caller of `id`: anyone for an unrestricted model API; for a restricted one, a
    /// live access token of this very model API. Returns the model API and the token's name.
    async fn admit(
        &self,
        id: ModelApiId,
        token: Option<&str>,
    ) -> Result<(Arc<Serving>, Option<String>), InvokeError> {
        let serving = self.serving(id).await?;
        let token_name = match serving.api.authorization {
            Authorization::Unrestricted => None,
            Authorization::Restricted => {
                let secret = token
                    .and_then(parse_presented)
                    .filter(|w| w.kind == SecretKind::ModelToken)
                    .ok_or(InvokeError::Unauthorized)?;
                let hash = self.ctx.hasher.hash(secret.as_str());
                let name = serving.token_name(&hash).ok_or(InvokeError::Unauthorized)?;
                Some(name.to_string())
            }
        };
        Ok((serving, token_name))
    }

    /// Checks a sync invocation of `version` (the active one when `None`).
    #[tracing::instrument(skip_all, fields(id = %id))]
    pub async fn target(
        &self,
        id: ModelApiId,
        version: Option<i64>,
        token: Option<&str>,
    ) -> Result<Target, InvokeError> {
        let (serving, token_name) = self.admit(id, token).await?;
        if serving.api.kind != ModelKind::Sync {
            return Err(InvokeError::WrongKind(serving.api.kind));
        }
        let version = pick(&serving.versions, version)?.clone();
        Ok(Target {
            api: serving.api.clone(),
            version,
            token_name,
        })
    }

    /// Accepts an async prediction for the active version; it runs later, on some node.
    #[tracing::instrument(skip_all, fields(id = %id))]
    pub async fn submit(
        &self,
        id: ModelApiId,
        token: Option<&str>,
        input: String,
        policy: &PredictionPolicy,
    ) -> Result<Prediction, InvokeError> {
        let (serving, token_name) = self.admit(id, token).await?;
        if serving.api.kind != ModelKind::Async {
            return Err(InvokeError::WrongKind(serving.api.kind));
        }
        let version = pick(&serving.versions, None)?.clone();
        let now = self.ctx.clock.now();
        let deadline = chrono::Duration::from_std(policy.deadline).unwrap_or(chrono::Duration::MAX);
        let prediction = Prediction {
            id: PredictionId::new(),
            model_api_id: id,
            version: version.number,
            upstream_url: version.upstream_url,
            input,
            status: PredictionStatus::Queued,
            attempts: 0,
            result: None,
            errors: Vec::new(),
            token_name,
            created_at: now,
            deadline_at: now + deadline,
            next_attempt_at: now,
            finished_at: None,
        };
        self.ctx.store.insert_prediction(&prediction).await?;
        Ok(prediction)
    }

    /// An async prediction's state, for a caller admitted as for submitting.
    #[tracing::instrument(skip_all, fields(id = %id, prediction = %prediction))]
    pub async fn prediction(
        &self,
        id: ModelApiId,
        token: Option<&str>,
        prediction: PredictionId,
    ) -> Result<Prediction, InvokeError> {
        self.admit(id, token).await?;
        self.ctx
            .store
            .prediction(id, prediction)
            .await?
            .ok_or(InvokeError::NoSuchPrediction)
    }

    /// Logs an invocation, written behind the request (see `invocation_log`).
    pub fn record(&self, invocation: Invocation) {
        self.log.record(invocation);
    }
}

/// Version `number`, or the active one when `None`.
fn pick(versions: &[ModelVersion], number: Option<i64>) -> Result<&ModelVersion, InvokeError> {
    match number {
        Some(n) => versions
            .iter()
            .find(|v| v.number == n)
            .ok_or(InvokeError::NoSuchVersion(n)),
        None => versions
            .iter()
            .find(|v| v.active)
            .ok_or(InvokeError::NoActiveVersion),
    }
}
