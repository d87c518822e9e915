//! Storage traits: what the domain needs from a database. Implemented per backend in
//! `tessera-store`; the services never know which backend they talk to.
//!
//! Mutations take the audit entries to write in the same transaction, so that a change and its
//! record are durable together or not at all.

use async_trait::async_trait;

use crate::audit::{AuditActor, AuditEntry, AuditQuery};
use crate::ids::{
    CollaboratorId, CredentialId, ModelApiId, ModelTokenId, OrganizationId, PredictionId,
    ProjectId, UserId,
};
use crate::model::{Credential, CredentialKind, PrincipalKind, Timestamp, TokenStatus, User};
use crate::model_apis::{
    Invocation, LoggedInvocation, ModelApi, ModelCollaborator, ModelToken, ModelVersion,
};
use crate::names::{Email, UserName};
use crate::paging::{Cursor, CursorKey, Page, PageQuery, Total};
use crate::policy::model_api::ProjectRole;
use crate::predictions::{Outcome, Prediction};
use crate::projects::{Project, Relationship};
use crate::realm::keys::StoredKey;
use crate::roles::RoleSet;
use crate::secret::TokenHash;
use crate::sso::{Attributes, FederatedIdentity};

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// A uniqueness rule was broken; `field` names the wire field it concerns.
    #[error("{field} is already taken")]
    Conflict { field: &'static str },
    /// A conflict with a concurrent transaction (deadlock, serialization failure, busy
    /// database): the whole operation can be retried as it is.
    #[error("transient database conflict: {0}")]
    Transient(String),
    /// The database cannot be reached (connection refused or lost, pool exhausted, timeout, or a
    /// conflict that retries did not resolve): a 503 to clients.
    #[error("database unavailable: {0}")]
    Unavailable(String),
    /// Text the database cannot store or compare: PostgreSQL refuses a NUL character (SQLSTATE
    /// 22021) in text. It is the caller's input, so a 400.
    #[error("the text contains a NUL character (\\u0000), which cannot be stored")]
    Unstorable,
    /// The backend failed; the text goes to the log, never to a client.
    #[error("storage backend error: {0}")]
    Backend(String),
}

pub type StoreResult<T> = Result<T, StoreError>;

/// Which principals to list.
#[derive(Clone, Debug, Default)]
pub struct PrincipalQuery {
    pub kind: Option<PrincipalKind>,
    /// Case-insensitive substring of user name, e-mail, first or last name.
    pub search: Option<String>,
    /// Start after this row (keyset pagination, order [`PrincipalQuery::CURSOR_TAG`]).
    pub after: Option<Cursor>,
    pub offset: u32,
    pub limit: u32,
}

impl PrincipalQuery {
    /// Principals are listed by user name (unique), then id.
    pub const CURSOR_TAG: &'static str = "principals";

    /// The cursor of the page that follows `last`.
    pub fn cursor_after(last: &User) -> Cursor {
        Cursor::new(
            Self::CURSOR_TAG,
            CursorKey::Text(last.user_name.as_str().to_string()),
            CursorKey::Text(last.id.to_string()),
        )
    }

    /// Reads a wire cursor for this order (a 400 naming `cursor` otherwise).
    pub fn decode_cursor(raw: &str) -> Result<Cursor, crate::names::FieldError> {
        Cursor::decode(raw, Self::CURSOR_TAG, false, false)
    }
}

/// Profile changes; `None` leaves a field as it is.
#[derive(Clone, Debug, Default)]
pub struct ProfilePatch {
    pub email: Option<Email>,
    pub first_name: Option<String>,
    pub last_name: Option<String>,
    pub description: Option<String>,
}

/// Which credentials a list, revoke or delete applies to. Every set field must match.
#[derive(Clone, Debug, Default)]
pub struct CredentialFilter {
    pub kind: Option<CredentialKind>,
    pub principal_id: Option<UserId>,
    pub user_name: Option<UserName>,
    pub ids: Option<Vec<CredentialId>>,
    pub name: Option<String>,
    /// Case-insensitive substring of the token name or of its owner's user name.
    pub search: Option<String>,
    pub status: Option<TokenStatus>,
    /// Start after this row (keyset pagination in [`CredentialFilter::order`]).
    pub after: Option<Cursor>,
    pub offset: u32,
    /// 0 means no limit (used by bulk actions).
    pub limit: u32,
}

/// The order of a credential listing, chosen by its status filter so that an index on the
/// filtered column also gives the order: newest first, except `Expired` (most recently expired
/// first) and `ExpiringSoon` (soonest to expire first). Ties are broken by id.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CredentialOrder {
    NewestFirst,
    LatestExpiryFirst,
    SoonestExpiryFirst,
}

impl CredentialOrder {
    /// The cursor tag of this order.
    pub fn tag(self) -> &'static str {
        match self {
            CredentialOrder::NewestFirst => "credentials-created",
            CredentialOrder::LatestExpiryFirst => "credentials-expiry-desc",
            CredentialOrder::SoonestExpiryFirst => "credentials-expiry-asc",
        }
    }

    /// The sort key of `c` in this order, in milliseconds since the epoch.
    pub fn key_of(self, c: &Credential) -> i64 {
        match self {
            CredentialOrder::NewestFirst => c.created_at.timestamp_millis(),
            _ => c.expires_at.map_or(i64::MAX, |t| t.timestamp_millis()),
        }
    }
}

impl CredentialFilter {
    /// The order this filter lists in.
    pub fn order(&self) -> CredentialOrder {
        match self.status {
            Some(TokenStatus::Expired) => CredentialOrder::LatestExpiryFirst,
            Some(TokenStatus::ExpiringSoon) => CredentialOrder::SoonestExpiryFirst,
            _ => CredentialOrder::NewestFirst,
        }
    }

    /// The cursor of the page that follows `last`.
    pub fn cursor_after(&self, last: &Credential) -> Cursor {
        let order = self.order();
        Cursor::new(
            order.tag(),
            CursorKey::Int(order.key_of(last)),
            CursorKey::Text(last.id.to_string()),
        )
    }

    /// Reads a wire cursor for this filter's order (a 400 naming `cursor` otherwise).
    pub fn decode_cursor(&self, raw: &str) -> Result<Cursor, crate::names::FieldError> {
        Cursor::decode(raw, self.order().tag(), true, false)
    }
}

/// A credential together with the principal it belongs to.
#[derive(Clone, Debug)]
pub struct OwnedCredential {
    pub credential: Credential,
    pub owner: User,
}

/// One use of a credential, written behind the request path.
#[derive(Clone, Debug)]
pub struct Usage {
    pub credential_id: CredentialId,
    pub at: Timestamp,
    pub ip: Option<String>,
}

#[async_trait]
pub trait PrincipalStore: Send + Sync {
    async fn insert_principal(
        &self,
        user: &User,
        password_hash: Option<&str>,
        audit: &AuditEntry,
    ) -> StoreResult<()>;
    async fn principal(&self, id: UserId) -> StoreResult<Option<User>>;
    async fn principal_by_name(&self, name: &UserName) -> StoreResult<Option<User>>;
    async fn list_principals(&self, query: &PrincipalQuery) -> StoreResult<Vec<User>>;
    async fn count_principals(&self) -> StoreResult<u64>;
    /// How many principals match `query` (its cursor, offset and limit ignored), counted up to
    /// [`crate::paging::COUNT_CAP`].
    async fn count_matching_principals(&self, query: &PrincipalQuery) -> StoreResult<Total>;
    async fn update_profile(
        &self,
        id: UserId,
        patch: &ProfilePatch,
        audit: &AuditEntry,
    ) -> StoreResult<Option<User>>;
    /// Sets the role set; when it differs, revokes every live PAT of the user in the same
    /// transaction (reason `roles-changed`). Returns the user and the PATs revoked.
    async fn set_roles(
        &self,
        id: UserId,
        roles: &RoleSet,
        now: Timestamp,
        actor: &AuditActor,
    ) -> StoreResult<Option<(User, Vec<Credential>)>>;
    /// Activates or deactivates; deactivation revokes every live credential of the principal.
    async fn set_active(
        &self,
        id: UserId,
        active: bool,
        now: Timestamp,
        actor: &AuditActor,
    ) -> StoreResult<Option<(User, Vec<Credential>)>>;
    async fn set_password_hash(
        &self,
        id: UserId,
        hash: &str,
        audit: &AuditEntry,
    ) -> StoreResult<bool>;
    async fn password_hash(&self, name: &UserName) -> StoreResult<Option<(User, Option<String>)>>;
}

#[async_trait]
pub trait CredentialStore: Send + Sync {
    /// Inserts a credential; a duplicate live name of the same kind and owner is `Conflict`.
    async fn insert_credential(
        &self,
        credential: &Credential,
        audit: &AuditEntry,
    ) -> StoreResult<()>;
    /// The credential with keyed hash `hash`, and its owner whatever the owner's status, if it
    /// is neither revoked nor expired at `now` (`expires_at > now`). A revoked or expired
    /// credential reads like an unknown one: the database filters it out and no row is
    /// returned, so that refusing it costs what refusing a secret that never existed costs
    /// (SPEC section 9, "Refusals cost the same").
    async fn live_credential_by_hash(
        &self,
        hash: &TokenHash,
        now: Timestamp,
    ) -> StoreResult<Option<OwnedCredential>>;
    async fn credential(&self, id: CredentialId) -> StoreResult<Option<OwnedCredential>>;
    async fn list_credentials(
        &self,
        filter: &CredentialFilter,
        now: Timestamp,
    ) -> StoreResult<Vec<OwnedCredential>>;
    /// How many credentials match `filter` (its cursor, offset and limit ignored), counted up
    /// to [`crate::paging::COUNT_CAP`].
    async fn count_credentials(
        &self,
        filter: &CredentialFilter,
        now: Timestamp,
    ) -> StoreResult<Total>;
    /// Revokes the live credentials matching `filter`, writing one audit entry each.
    /// Returns those it revoked (not those already revoked).
    async fn revoke_credentials(
        &self,
        filter: &CredentialFilter,
        now: Timestamp,
        reason: &str,
        actor: &AuditActor,
    ) -> StoreResult<Vec<Credential>>;
    /// Deletes the credentials matching `filter`, writing one audit entry each.
    async fn delete_credentials(
        &self,
        filter: &CredentialFilter,
        now: Timestamp,
        actor: &AuditActor,
    ) -> StoreResult<Vec<Credential>>;
    /// Revokes `old` (reason `rotated`) and inserts `new` under the same name, atomically.
    /// `None` when `old` is not live any more.
    async fn rotate_credential(
        &self,
        old: CredentialId,
        new: &Credential,
        now: Timestamp,
        actor: &AuditActor,
    ) -> StoreResult<Option<Credential>>;
    /// Deletes the principal's API keys and inserts `new`, atomically; returns the old ones.
    async fn replace_api_key(
        &self,
        new: &Credential,
        audit: &AuditEntry,
    ) -> StoreResult<Vec<Credential>>;
    /// Writes last-used times; never moves a time backwards.
    async fn record_usage(&self, batch: &[Usage]) -> StoreResult<()>;
}

#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Newest first (time, then order of writing); `next` resumes after the last entry.
    async fn list_audit(&self, query: &AuditQuery) -> StoreResult<Page<AuditEntry>>;
    /// How many entries match `query`, counted up to [`crate::paging::COUNT_CAP`].
    async fn count_audit(&self, query: &AuditQuery) -> StoreResult<Total>;
    /// Records an event that changes nothing else (e.g. a token revealed).
    async fn append_audit(&self, entry: &AuditEntry) -> StoreResult<()>;
}

/// The realm's signing keys, private parts sealed.
#[async_trait]
pub trait KeyStore: Send + Sync {
    async fn signing_keys(&self) -> StoreResult<Vec<StoredKey>>;
    /// Inserts `key` as the active key and retires every other active key at `now`.
    async fn insert_signing_key(
        &self,
        key: &StoredKey,
        now: Timestamp,
        audit: &AuditEntry,
    ) -> StoreResult<()>;
}

/// An organization: a named group of users.
#[derive(Clone, Debug, PartialEq)]
pub struct Organization {
    pub id: OrganizationId,
    pub name: String,
    pub created_at: Timestamp,
    pub members: Vec<(UserId, UserName)>,
}

/// The cursor tag of the organization listing (by name, then id).
pub const ORGANIZATIONS_CURSOR: &str = "organizations";

/// The cursor of the organization page that follows `last`.
pub fn organization_cursor_after(last: &Organization) -> Cursor {
    Cursor::new(
        ORGANIZATIONS_CURSOR,
        CursorKey::Text(last.name.clone()),
        CursorKey::Text(last.id.to_string()),
    )
}

#[async_trait]
pub trait OrganizationStore: Send + Sync {
    /// `Conflict { field: "name" }` when the name is taken.
    async fn insert_organization(&self, org: &Organization, audit: &AuditEntry) -> StoreResult<()>;
    async fn organizations(&self) -> StoreResult<Vec<Organization>>;
    /// The organization named `name`, compared ignoring ASCII case (as Domino's collaborator
    /// form does): the exact spelling when it exists, else the first by name. Served by the
    /// index on `lower(name)` (migration 0014), so its cost does not grow with the number of
    /// organizations.
    async fn organization_by_name(&self, name: &str) -> StoreResult<Option<Organization>>;
    /// A page of organizations by name (unique), after `page.after` (order
    /// [`ORGANIZATIONS_CURSOR`]); served by the name's unique index.
    async fn organization_page(&self, page: &PageQuery) -> StoreResult<Vec<Organization>>;
    /// How many organizations there are, counted up to the cap.
    async fn count_organizations(&self) -> StoreResult<Total>;
    async fn organization(&self, id: OrganizationId) -> StoreResult<Option<Organization>>;
    /// Adds a member; `false` when already a member.
    async fn add_member(
        &self,
        org: OrganizationId,
        user: UserId,
        audit: &AuditEntry,
    ) -> StoreResult<bool>;
    /// Removes a member; `false` when not a member.
    async fn remove_member(
        &self,
        org: OrganizationId,
        user: UserId,
        audit: &AuditEntry,
    ) -> StoreResult<bool>;
    async fn organization_names_of(&self, user: UserId) -> StoreResult<Vec<String>>;
}

/// The cursor tag of a project listing (by name, then id).
pub const PROJECTS_CURSOR: &str = "projects";

/// The cursor of the project page that follows `last`.
pub fn project_cursor_after(last: &Project) -> Cursor {
    Cursor::new(
        PROJECTS_CURSOR,
        CursorKey::Text(last.name.clone()),
        CursorKey::Text(last.id.to_string()),
    )
}

#[async_trait]
pub trait ProjectStore: Send + Sync {
    /// `Conflict { field: "name" }` when the owner already has a project of that name.
    async fn insert_project(&self, project: &Project, audit: &AuditEntry) -> StoreResult<()>;
    async fn project(&self, id: ProjectId) -> StoreResult<Option<Project>>;
    /// The projects of `ids` that exist, each with its collaborators, in any order: one query
    /// per chunk of ids for the projects and one for their collaborators, however many there
    /// are (a page's projects read at once, issue 19).
    async fn projects(&self, ids: &[ProjectId]) -> StoreResult<Vec<Project>>;
    async fn project_by_owner_and_name(
        &self,
        owner: &UserName,
        name: &str,
    ) -> StoreResult<Option<Project>>;
    /// A page of the projects `user` owns or collaborates on, per `relationship`, by name then
    /// id (order [`PROJECTS_CURSOR`]), after `page.after`: rows read are the user's projects,
    /// through `projects (owner_id, name)` and `project_collaborators (user_id)`, never the
    /// whole table.
    async fn projects_of(
        &self,
        user: UserId,
        relationship: Relationship,
        page: &PageQuery,
    ) -> StoreResult<Vec<Project>>;
    /// How many projects `projects_of` would list in all, counted up to the cap.
    async fn count_projects_of(
        &self,
        user: UserId,
        relationship: Relationship,
    ) -> StoreResult<Total>;
    /// Adds a collaborator or changes their role.
    async fn set_project_collaborator(
        &self,
        project: ProjectId,
        user: UserId,
        role: ProjectRole,
        audit: &AuditEntry,
    ) -> StoreResult<()>;
    /// `false` when the user was not a collaborator.
    async fn remove_project_collaborator(
        &self,
        project: ProjectId,
        user: UserId,
        audit: &AuditEntry,
    ) -> StoreResult<bool>;
}

/// Which model APIs a listing holds.
#[derive(Clone, Debug, Default)]
pub struct ModelApiQuery {
    /// Only those this user may discover (SPEC section 6: public ones, and private ones the user
    /// owns, collaborates on directly or through an organization, or reaches through the
    /// project); `None` for every model API (a SysAdmin). The domain's policy still decides each
    /// row: this condition only lets an index find them.
    pub visible_to: Option<UserId>,
    /// Case-insensitive substring of the name or the description.
    pub search: Option<String>,
    pub page: PageQuery,
}

/// The cursor tag of the model API listing (by name, then id).
pub const MODEL_APIS_CURSOR: &str = "model-apis";

/// The cursor of the model API page that follows `last`.
pub fn model_api_cursor_after(last: &ModelApi) -> Cursor {
    Cursor::new(
        MODEL_APIS_CURSOR,
        CursorKey::Text(last.name.clone()),
        CursorKey::Text(last.id.to_string()),
    )
}

#[async_trait]
pub trait ModelApiStore: Send + Sync {
    /// `Conflict { field: "name" }` when the project already has a model API of that name.
    async fn insert_model_api(&self, api: &ModelApi, audit: &AuditEntry) -> StoreResult<()>;
    async fn model_api(&self, id: ModelApiId) -> StoreResult<Option<ModelApi>>;
    async fn model_apis(&self) -> StoreResult<Vec<ModelApi>>;
    /// A page of the model APIs `query` selects, by name then id (order
    /// [`MODEL_APIS_CURSOR`]).
    async fn model_api_page(&self, query: &ModelApiQuery) -> StoreResult<Vec<ModelApi>>;
    /// How many model APIs `query` selects, counted up to the cap.
    async fn count_model_apis(&self, query: &ModelApiQuery) -> StoreResult<Total>;
    /// Saves name, description, visibility, authorization and owner.
    async fn update_model_api(&self, api: &ModelApi, audit: &AuditEntry) -> StoreResult<()>;
    /// Adds or (same grantee) re-roles a collaborator; returns its id.
    async fn set_model_collaborator(
        &self,
        api: ModelApiId,
        collaborator: &ModelCollaborator,
        audit: &AuditEntry,
    ) -> StoreResult<CollaboratorId>;
    async fn remove_model_collaborator(
        &self,
        api: ModelApiId,
        id: CollaboratorId,
        audit: &AuditEntry,
    ) -> StoreResult<bool>;
    /// The organizations `user` belongs to.
    async fn organization_ids_of(&self, user: UserId) -> StoreResult<Vec<OrganizationId>>;
    /// Adds a version numbered one past the last; the first version becomes active.
    async fn insert_version(
        &self,
        api: ModelApiId,
        upstream_url: &str,
        description: &str,
        at: Timestamp,
        audit: &AuditEntry,
    ) -> StoreResult<ModelVersion>;
    async fn versions(&self, api: ModelApiId) -> StoreResult<Vec<ModelVersion>>;
    /// `false` when there is no such version.
    async fn activate_version(
        &self,
        api: ModelApiId,
        number: i64,
        audit: &AuditEntry,
    ) -> StoreResult<bool>;
    /// `Conflict { field: "name" }` for a duplicate live name.
    async fn insert_model_token(&self, token: &ModelToken, audit: &AuditEntry) -> StoreResult<()>;
    async fn model_tokens(&self, api: ModelApiId) -> StoreResult<Vec<ModelToken>>;
    async fn model_token_by_hash(&self, hash: &TokenHash) -> StoreResult<Option<ModelToken>>;
    /// Revokes a live token; `None` when there is none with that id.
    async fn revoke_model_token(
        &self,
        api: ModelApiId,
        id: ModelTokenId,
        at: Timestamp,
        audit: &AuditEntry,
    ) -> StoreResult<Option<ModelToken>>;
    /// Appends invocation logs, all or none.
    async fn record_invocations(&self, batch: &[Invocation]) -> StoreResult<()>;
    /// A page of the model API's invocation log, newest first, after `page.after` (order
    /// [`INVOCATIONS_CURSOR`]) or past `page.offset` entries; served by the index on
    /// `(model_api_id, seq)`.
    async fn invocations(
        &self,
        api: ModelApiId,
        page: &PageQuery,
    ) -> StoreResult<Vec<LoggedInvocation>>;
    /// How many invocations the model API's log holds, counted up to the cap.
    async fn count_invocations(&self, api: ModelApiId) -> StoreResult<Total>;
}

/// The cursor tag of a model API's invocation log (by `seq`, newest first; `seq` is unique, so
/// the tie-breaker repeats it).
pub const INVOCATIONS_CURSOR: &str = "invocations";

/// The cursor of the invocation log page that follows `last`.
pub fn invocation_cursor_after(last: &LoggedInvocation) -> Cursor {
    Cursor::new(
        INVOCATIONS_CURSOR,
        CursorKey::Int(last.seq),
        CursorKey::Int(last.seq),
    )
}

/// The durable queue of async predictions (see `predictions`).
#[async_trait]
pub trait PredictionStore: Send + Sync {
    async fn insert_prediction(&self, prediction: &Prediction) -> StoreResult<()>;
    async fn prediction(
        &self,
        api: ModelApiId,
        id: PredictionId,
    ) -> StoreResult<Option<Prediction>>;
    /// Claims up to `limit` predictions due at `now` (queued and due, or running with an
    /// expired lease, oldest first), marks them running with one more attempt and a lease until
    /// `lease_until`, and returns them. Concurrent claimers never get the same prediction.
    async fn claim_predictions(
        &self,
        now: Timestamp,
        lease_until: Timestamp,
        limit: u32,
    ) -> StoreResult<Vec<Prediction>>;
    /// Applies an attempt's outcome if the prediction is still running that attempt; `false`
    /// when it is not (its lease ran out and another attempt took over).
    async fn settle_prediction(
        &self,
        id: PredictionId,
        attempt: u32,
        outcome: &Outcome,
        now: Timestamp,
    ) -> StoreResult<bool>;
}

/// A web UI session; the store keeps the keyed hash of its cookie secret beside it.
#[derive(Clone, Debug, PartialEq)]
pub struct WebSession {
    pub id: CredentialId,
    pub user_id: UserId,
    pub created_at: Timestamp,
    pub expires_at: Timestamp,
    /// When it was last used, up to a minute out of date.
    pub last_seen_at: Timestamp,
}

/// Web UI sessions.
#[async_trait]
pub trait SessionStore: Send + Sync {
    async fn insert_session(&self, session: &WebSession, hash: &TokenHash) -> StoreResult<()>;
    /// The session with this hash, unless it expired at `now` or was idle since `idle_since`.
    async fn session(
        &self,
        hash: &TokenHash,
        now: Timestamp,
        idle_since: Timestamp,
    ) -> StoreResult<Option<WebSession>>;
    /// Records a use of the session.
    async fn touch_session(&self, id: CredentialId, at: Timestamp) -> StoreResult<()>;
    async fn delete_session(&self, id: CredentialId) -> StoreResult<()>;
    /// Ends every session of `user` (and sweeps expired ones).
    async fn delete_sessions_of(&self, user: UserId, now: Timestamp) -> StoreResult<()>;
}

/// What one sign-in through a provider changed in the user's organisation memberships.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct MembershipChanges {
    /// Organisations created because a mapping named them and they did not exist.
    pub created: Vec<String>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

/// Single sign-on (SPEC section 10): links from a provider's subject to a user, the attributes
/// the provider asserted, and the organisation memberships a provider made.
#[async_trait]
pub trait SsoStore: Send + Sync {
    /// The user linked to `subject` at `provider`.
    async fn sso_user(&self, provider: &str, subject: &str) -> StoreResult<Option<UserId>>;
    /// The principal with this e-mail address (addresses are stored lowercased).
    async fn principal_by_email(&self, email: &Email) -> StoreResult<Option<User>>;
    /// Inserts `user`, linked to `identity` (its provider, subject and user name there), with
    /// `attributes`, atomically. `Conflict` when the user name or e-mail is taken, or the
    /// subject already linked.
    async fn insert_sso_user(
        &self,
        user: &User,
        identity: &FederatedIdentity,
        attributes: &Attributes,
        audit: &AuditEntry,
    ) -> StoreResult<()>;
    /// Records the user name at the provider of the link `identity.provider` and
    /// `identity.subject` (a write only when it changed). Nothing happens for a link that does
    /// not exist.
    async fn set_federated_user_name(&self, identity: &FederatedIdentity) -> StoreResult<()>;
    /// The provider links of `users`, as `(user, identity)` pairs ordered by user and provider;
    /// a user without a link (a local account) has no pair. At most 1,000 users at once.
    async fn federated_identities(
        &self,
        users: &[UserId],
    ) -> StoreResult<Vec<(UserId, FederatedIdentity)>>;
    /// Replaces the user's attributes; writes `audit` (with the old and new values) only when
    /// they changed. Returns whether they changed.
    async fn set_attributes(
        &self,
        user: UserId,
        attributes: &Attributes,
        audit: &AuditEntry,
    ) -> StoreResult<bool>;
    async fn attributes_of(&self, user: UserId) -> StoreResult<Attributes>;
    /// Records that the flow whose `state` hashes to `state_hash` had its callback accepted,
    /// atomically and for every node: `true` the first time, `false` for any later call with
    /// the same hash (a replay). The record is kept until `expires_at`; records expired at `now`
    /// are pruned.
    async fn consume_sso_state(
        &self,
        state_hash: &str,
        expires_at: Timestamp,
        now: Timestamp,
    ) -> StoreResult<bool>;
    /// The identity provider whose group mapping made `user` a member of `org` (its name, as
    /// configured), or `None` when the membership is an administrator's or does not exist.
    async fn membership_provider(
        &self,
        org: OrganizationId,
        user: UserId,
    ) -> StoreResult<Option<String>>;
    /// Makes the memberships `provider` gave `user` exactly `organizations` (by name), in one
    /// transaction: organisations missing are created, memberships added are recorded as the
    /// provider's, and only the provider's are removed (never one an administrator added).
    /// Each change is audited with `actor`.
    async fn sync_sso_memberships(
        &self,
        user: &User,
        provider: &str,
        organizations: &[String],
        now: Timestamp,
        actor: &AuditActor,
    ) -> StoreResult<MembershipChanges>;
}

/// Everything a deployment's database provides.
pub trait Store:
    PrincipalStore
    + CredentialStore
    + AuditStore
    + KeyStore
    + OrganizationStore
    + ProjectStore
    + ModelApiStore
    + PredictionStore
    + SessionStore
    + SsoStore
    + 'static
{
}

impl<T> Store for T where
    T: PrincipalStore
        + CredentialStore
        + AuditStore
        + KeyStore
        + OrganizationStore
        + ProjectStore
        + ModelApiStore
        + PredictionStore
        + SessionStore
        + SsoStore
        + 'static
{
}
