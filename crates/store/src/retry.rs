//! `Retrying<S>`: every storage trait of `S`, with whole operations retried when they lose a
//! conflict with a concurrent transaction. Each write is one transaction, so running it again
//! from the start is safe; after the last attempt the conflict becomes `Unavailable` (503).

use std::future::Future;
use std::time::Duration;

use async_trait::async_trait;
use tessera_core::audit::{AuditActor, AuditEntry, AuditQuery};
use tessera_core::ids::ModelTokenId;
use tessera_core::ids::PredictionId;
use tessera_core::ids::{
    CollaboratorId, CredentialId, ModelApiId, OrganizationId, ProjectId, UserId,
};
use tessera_core::model::{Credential, Timestamp, User};
use tessera_core::model_apis::{Invocation, ModelApi, ModelCollaborator, ModelToken, ModelVersion};
use tessera_core::names::{Email, UserName};
use tessera_core::paging::{Page, PageQuery, Total};
use tessera_core::policy::model_api::ProjectRole;
use tessera_core::predictions::{Outcome, Prediction};
use tessera_core::projects::{Project, Relationship};
use tessera_core::realm::keys::StoredKey;
use tessera_core::roles::RoleSet;
use tessera_core::secret::TokenHash;
use tessera_core::sso::Attributes;
use tessera_core::store::{
    AuditStore, CredentialFilter, CredentialStore, KeyStore, Organization, OrganizationStore,
    OwnedCredential, PrincipalQuery, PrincipalStore, ProfilePatch, StoreError, StoreResult, Usage,
};
use tessera_core::store::{MembershipChanges, SsoStore};
use tessera_core::store::{
    ModelApiQuery, ModelApiStore, PredictionStore, ProjectStore, SessionStore, WebSession,
};

const ATTEMPTS: u32 = 4;

pub struct Retrying<S>(pub S);

async fn retrying<T, F, Fut>(mut op: F) -> StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = StoreResult<T>>,
{
    let mut attempt = 1;
    loop {
        match op().await {
            Err(StoreError::Transient(detail)) if attempt < ATTEMPTS => {
                tracing::debug!(attempt, %detail, "retrying after a transient conflict");
                tokio::time::sleep(Duration::from_millis(5 << attempt)).await;
                attempt += 1;
            }
            Err(StoreError::Transient(detail)) => return Err(StoreError::Unavailable(detail)),
            other => return other,
        }
    }
}

#[async_trait]
impl<S: PrincipalStore> PrincipalStore for Retrying<S> {
    async fn insert_principal(
        &self,
        user: &User,
        password_hash: Option<&str>,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        retrying(|| self.0.insert_principal(user, password_hash, audit)).await
    }
    async fn principal(&self, id: UserId) -> StoreResult<Option<User>> {
        retrying(|| self.0.principal(id)).await
    }
    async fn principal_by_name(&self, name: &UserName) -> StoreResult<Option<User>> {
        retrying(|| self.0.principal_by_name(name)).await
    }
    async fn list_principals(&self, query: &PrincipalQuery) -> StoreResult<Vec<User>> {
        retrying(|| self.0.list_principals(query)).await
    }
    async fn count_principals(&self) -> StoreResult<u64> {
        retrying(|| self.0.count_principals()).await
    }
    async fn count_matching_principals(&self, query: &PrincipalQuery) -> StoreResult<Total> {
        retrying(|| self.0.count_matching_principals(query)).await
    }
    async fn update_profile(
        &self,
        id: UserId,
        patch: &ProfilePatch,
        audit: &AuditEntry,
    ) -> StoreResult<Option<User>> {
        retrying(|| self.0.update_profile(id, patch, audit)).await
    }
    async fn set_roles(
        &self,
        id: UserId,
        roles: &RoleSet,
        now: Timestamp,
        actor: &AuditActor,
    ) -> StoreResult<Option<(User, Vec<Credential>)>> {
        retrying(|| self.0.set_roles(id, roles, now, actor)).await
    }
    async fn set_active(
        &self,
        id: UserId,
        active: bool,
        now: Timestamp,
        actor: &AuditActor,
    ) -> StoreResult<Option<(User, Vec<Credential>)>> {
        retrying(|| self.0.set_active(id, active, now, actor)).await
    }
    async fn set_password_hash(
        &self,
        id: UserId,
        hash: &str,
        audit: &AuditEntry,
    ) -> StoreResult<bool> {
        retrying(|| self.0.set_password_hash(id, hash, audit)).await
    }
    async fn password_hash(&self, name: &UserName) -> StoreResult<Option<(User, Option<String>)>> {
        retrying(|| self.0.password_hash(name)).await
    }
}

#[async_trait]
impl<S: CredentialStore> CredentialStore for Retrying<S> {
    async fn insert_credential(
        &self,
        credential: &Credential,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        retrying(|| self.0.insert_credential(credential, audit)).await
    }
    async fn live_credential_by_hash(
        &self,
        hash: &TokenHash,
        now: Timestamp,
    ) -> StoreResult<Option<OwnedCredential>> {
        retrying(|| self.0.live_credential_by_hash(hash, now)).await
    }
    async fn credential(&self, id: CredentialId) -> StoreResult<Option<OwnedCredential>> {
        retrying(|| self.0.credential(id)).await
    }
    async fn list_credentials(
        &self,
        filter: &CredentialFilter,
        now: Timestamp,
    ) -> StoreResult<Vec<OwnedCredential>> {
        retrying(|| self.0.list_credentials(filter, now)).await
    }
    async fn count_credentials(
        &self,
        filter: &CredentialFilter,
        now: Timestamp,
    ) -> StoreResult<Total> {
        retrying(|| self.0.count_credentials(filter, now)).await
    }
    async fn revoke_credentials(
        &self,
        filter: &CredentialFilter,
        now: Timestamp,
        reason: &str,
        actor: &AuditActor,
    ) -> StoreResult<Vec<Credential>> {
        retrying(|| self.0.revoke_credentials(filter, now, reason, actor)).await
    }
    async fn delete_credentials(
        &self,
        filter: &CredentialFilter,
        now: Timestamp,
        actor: &AuditActor,
    ) -> StoreResult<Vec<Credential>> {
        retrying(|| self.0.delete_credentials(filter, now, actor)).await
    }
    async fn rotate_credential(
        &self,
        old: CredentialId,
        new: &Credential,
        now: Timestamp,
        actor: &AuditActor,
    ) -> StoreResult<Option<Credential>> {
        retrying(|| self.0.rotate_credential(old, new, now, actor)).await
    }
    async fn replace_api_key(
        &self,
        new: &Credential,
        audit: &AuditEntry,
    ) -> StoreResult<Vec<Credential>> {
        retrying(|| self.0.replace_api_key(new, audit)).await
    }
    async fn record_usage(&self, batch: &[Usage]) -> StoreResult<()> {
        retrying(|| self.0.record_usage(batch)).await
    }
}

#[async_trait]
impl<S: AuditStore> AuditStore for Retrying<S> {
    async fn list_audit(&self, query: &AuditQuery) -> StoreResult<Page<AuditEntry>> {
        retrying(|| self.0.list_audit(query)).await
    }
    async fn count_audit(&self, query: &AuditQuery) -> StoreResult<Total> {
        retrying(|| self.0.count_audit(query)).await
    }
    async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()> {
        retrying(|| self.0.append_audit(entry)).await
    }
}

#[async_trait]
impl<S: KeyStore> KeyStore for Retrying<S> {
    async fn signing_keys(&self) -> StoreResult<Vec<StoredKey>> {
        retrying(|| self.0.signing_keys()).await
    }
    async fn insert_signing_key(
        &self,
        key: &StoredKey,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        retrying(|| self.0.insert_signing_key(key, now, audit)).await
    }
}

#[async_trait]
impl<S: OrganizationStore> OrganizationStore for Retrying<S> {
    async fn insert_organization(&self, org: &Organization, audit: &AuditEntry) -> StoreResult<()> {
        retrying(|| self.0.insert_organization(org, audit)).await
    }
    async fn organizations(&self) -> StoreResult<Vec<Organization>> {
        retrying(|| self.0.organizations()).await
    }
    async fn organization_page(&self, page: &PageQuery) -> StoreResult<Vec<Organization>> {
        retrying(|| self.0.organization_page(page)).await
    }
    async fn count_organizations(&self) -> StoreResult<Total> {
        retrying(|| self.0.count_organizations()).await
    }
    async fn organization(&self, id: OrganizationId) -> StoreResult<Option<Organization>> {
        retrying(|| self.0.organization(id)).await
    }
    async fn add_member(
        &self,
        org: OrganizationId,
        user: UserId,
        audit: &AuditEntry,
    ) -> StoreResult<bool> {
        retrying(|| self.0.add_member(org, user, audit)).await
    }
    async fn remove_member(
        &self,
        org: OrganizationId,
        user: UserId,
        audit: &AuditEntry,
    ) -> StoreResult<bool> {
        retrying(|| self.0.remove_member(org, user, audit)).await
    }
    async fn organization_names_of(&self, user: UserId) -> StoreResult<Vec<String>> {
        retrying(|| self.0.organization_names_of(user)).await
    }
}

#[async_trait]
impl<S: ProjectStore> ProjectStore for Retrying<S> {
    async fn insert_project(&self, project: &Project, audit: &AuditEntry) -> StoreResult<()> {
        retrying(|| self.0.insert_project(project, audit)).await
    }
    async fn project(&self, id: ProjectId) -> StoreResult<Option<Project>> {
        retrying(|| self.0.project(id)).await
    }
    async fn project_by_owner_and_name(
        &self,
        owner: &UserName,
        name: &str,
    ) -> StoreResult<Option<Project>> {
        retrying(|| self.0.project_by_owner_and_name(owner, name)).await
    }
    async fn projects_of(
        &self,
        user: UserId,
        relationship: Relationship,
        page: &PageQuery,
    ) -> StoreResult<Vec<Project>> {
        retrying(|| self.0.projects_of(user, relationship, page)).await
    }
    async fn count_projects_of(
        &self,
        user: UserId,
        relationship: Relationship,
    ) -> StoreResult<Total> {
        retrying(|| self.0.count_projects_of(user, relationship)).await
    }
    async fn set_project_collaborator(
        &self,
        project: ProjectId,
        user: UserId,
        role: ProjectRole,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        retrying(|| self.0.set_project_collaborator(project, user, role, audit)).await
    }
    async fn remove_project_collaborator(
        &self,
        project: ProjectId,
        user: UserId,
        audit: &AuditEntry,
    ) -> StoreResult<bool> {
        retrying(|| self.0.remove_project_collaborator(project, user, audit)).await
    }
}

#[async_trait]
impl<S: ModelApiStore> ModelApiStore for Retrying<S> {
    async fn insert_model_api(&self, api: &ModelApi, audit: &AuditEntry) -> StoreResult<()> {
        retrying(|| self.0.insert_model_api(api, audit)).await
    }
    async fn model_api(&self, id: ModelApiId) -> StoreResult<Option<ModelApi>> {
        retrying(|| self.0.model_api(id)).await
    }
    async fn model_api_page(&self, query: &ModelApiQuery) -> StoreResult<Vec<ModelApi>> {
        retrying(|| self.0.model_api_page(query)).await
    }
    async fn count_model_apis(&self, query: &ModelApiQuery) -> StoreResult<Total> {
        retrying(|| self.0.count_model_apis(query)).await
    }
    async fn model_apis(&self) -> StoreResult<Vec<ModelApi>> {
        retrying(|| self.0.model_apis()).await
    }
    async fn update_model_api(&self, api: &ModelApi, audit: &AuditEntry) -> StoreResult<()> {
        retrying(|| self.0.update_model_api(api, audit)).await
    }
    async fn set_model_collaborator(
        &self,
        api: ModelApiId,
        collaborator: &ModelCollaborator,
        audit: &AuditEntry,
    ) -> StoreResult<CollaboratorId> {
        retrying(|| self.0.set_model_collaborator(api, collaborator, audit)).await
    }
    async fn remove_model_collaborator(
        &self,
        api: ModelApiId,
        id: CollaboratorId,
        audit: &AuditEntry,
    ) -> StoreResult<bool> {
        retrying(|| self.0.remove_model_collaborator(api, id, audit)).await
    }
    async fn organization_ids_of(&self, user: UserId) -> StoreResult<Vec<OrganizationId>> {
        retrying(|| self.0.organization_ids_of(user)).await
    }
    async fn insert_version(
        &self,
        api: ModelApiId,
        upstream_url: &str,
        description: &str,
        at: Timestamp,
        audit: &AuditEntry,
    ) -> StoreResult<ModelVersion> {
        retrying(|| {
            self.0
                .insert_version(api, upstream_url, description, at, audit)
        })
        .await
    }
    async fn versions(&self, api: ModelApiId) -> StoreResult<Vec<ModelVersion>> {
        retrying(|| self.0.versions(api)).await
    }
    async fn activate_version(
        &self,
        api: ModelApiId,
        number: i64,
        audit: &AuditEntry,
    ) -> StoreResult<bool> {
        retrying(|| self.0.activate_version(api, number, audit)).await
    }
    async fn insert_model_token(&self, token: &ModelToken, audit: &AuditEntry) -> StoreResult<()> {
        retrying(|| self.0.insert_model_token(token, audit)).await
    }
    async fn model_tokens(&self, api: ModelApiId) -> StoreResult<Vec<ModelToken>> {
        retrying(|| self.0.model_tokens(api)).await
    }
    async fn model_token_by_hash(&self, hash: &TokenHash) -> StoreResult<Option<ModelToken>> {
        retrying(|| self.0.model_token_by_hash(hash)).await
    }
    async fn revoke_model_token(
        &self,
        api: ModelApiId,
        id: ModelTokenId,
        at: Timestamp,
        audit: &AuditEntry,
    ) -> StoreResult<Option<ModelToken>> {
        retrying(|| self.0.revoke_model_token(api, id, at, audit)).await
    }
    async fn record_invocations(&self, batch: &[Invocation]) -> StoreResult<()> {
        retrying(|| self.0.record_invocations(batch)).await
    }
    async fn invocations(&self, api: ModelApiId, limit: u32) -> StoreResult<Vec<Invocation>> {
        retrying(|| self.0.invocations(api, limit)).await
    }
}

#[async_trait]
impl<S: PredictionStore> PredictionStore for Retrying<S> {
    async fn insert_prediction(&self, prediction: &Prediction) -> StoreResult<()> {
        retrying(|| self.0.insert_prediction(prediction)).await
    }
    async fn prediction(
        &self,
        api: ModelApiId,
        id: PredictionId,
    ) -> StoreResult<Option<Prediction>> {
        retrying(|| self.0.prediction(api, id)).await
    }
    async fn claim_predictions(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<Prediction>> {
        retrying(|| self.0.claim_predictions(now, lease_until, limit)).await
    }
    async fn settle_prediction(
        &self,
        id: PredictionId,
        attempt: u32,
        outcome: &Outcome,
        now: Timestamp,
    ) -> StoreResult<bool> {
        retrying(|| self.0.settle_prediction(id, attempt, outcome, now)).await
    }
}

#[async_trait]
impl<S: SessionStore> SessionStore for Retrying<S> {
    async fn insert_session(&self, session: &WebSession, hash: &TokenHash) -> StoreResult<()> {
        retrying(|| self.0.insert_session(session, hash)).await
    }

    async fn session(
        &self,
        hash: &TokenHash,
        now: Timestamp,
        idle_since: Timestamp,
    ) -> StoreResult<Option<WebSession>> {
        retrying(|| self.0.session(hash, now, idle_since)).await
    }

    async fn touch_session(&self, id: CredentialId, at: Timestamp) -> StoreResult<()> {
        retrying(|| self.0.touch_session(id, at)).await
    }

    async fn delete_session(&self, id: CredentialId) -> StoreResult<()> {
        retrying(|| self.0.delete_session(id)).await
    }

    async fn delete_sessions_of(&self, user: UserId, now: Timestamp) -> StoreResult<()> {
        retrying(|| self.0.delete_sessions_of(user, now)).await
    }
}

#[async_trait]
impl<S: SsoStore> SsoStore for Retrying<S> {
    async fn sso_user(&self, provider: &str, subject: &str) -> StoreResult<Option<UserId>> {
        retrying(|| self.0.sso_user(provider, subject)).await
    }

    async fn principal_by_email(&self, email: &Email) -> StoreResult<Option<User>> {
        retrying(|| self.0.principal_by_email(email)).await
    }

    async fn insert_sso_user(
        &self,
        user: &User,
        provider: &str,
        subject: &str,
        attributes: &Attributes,
        audit: &AuditEntry,
    ) -> StoreResult<()> {
        retrying(|| {
            self.0
                .insert_sso_user(user, provider, subject, attributes, audit)
        })
        .await
    }

    async fn set_attributes(
        &self,
        user: UserId,
        attributes: &Attributes,
        audit: &AuditEntry,
    ) -> StoreResult<bool> {
        retrying(|| self.0.set_attributes(user, attributes, audit)).await
    }

    async fn attributes_of(&self, user: UserId) -> StoreResult<Attributes> {
        retrying(|| self.0.attributes_of(user)).await
    }

    async fn consume_sso_state(
        &self,
        state_hash: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool> {
        retrying(|| self.0.consume_sso_state(state_hash, expires_at, now)).await
    }

    async fn sync_sso_memberships(
        &self,
        user: &User,
        provider: &str,
        organizations: &[String],
        now: Timestamp,
        actor: &AuditActor,
    ) -> StoreResult<MembershipChanges> {
        retrying(|| {
            self.0
                .sync_sso_memberships(user, provider, organizations, now, actor)
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::atomic::{AtomicU32, Ordering};

    #[tokio::test]
    async fn transient_conflicts_are_retried_then_reported_unavailable() {
        let calls = AtomicU32::new(0);
        let ok = retrying(|| async {
            if calls.fetch_add(1, Ordering::SeqCst) < 2 {
                Err(StoreError::Transient("deadlock".into()))
            } else {
                Ok(7)
            }
        })
        .await;
        assert_eq!(ok.ok(), Some(7));
        assert_eq!(calls.load(Ordering::SeqCst), 3);

        let calls = AtomicU32::new(0);
        let gave_up: StoreResult<()> = retrying(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(StoreError::Transient("deadlock".into()))
        })
        .await;
        assert!(matches!(gave_up, Err(StoreError::Unavailable(_))));
        assert_eq!(calls.load(Ordering::SeqCst), ATTEMPTS);

        let calls = AtomicU32::new(0);
        let other: StoreResult<()> = retrying(|| async {
            calls.fetch_add(1, Ordering::SeqCst);
            Err(StoreError::Conflict { field: "name" })
        })
        .await;
        assert!(matches!(other, Err(StoreError::Conflict { .. })));
        assert_eq!(
            calls.load(Ordering::SeqCst),
            1,
            "only transient conflicts are retried"
        );
    }
}
