//! Reading the audit log (SysAdmin only). Entries are written by the store with each change.

use crate::audit::{AuditEntry, AuditQuery};
use crate::authn::Caller;
use crate::paging::{Page, Total};
use crate::policy;

use super::{Context, ServiceResult};

#[derive(Clone)]
pub struct AuditService {
    ctx: Context,
}

impl AuditService {
    pub fn new(ctx: Context) -> AuditService {
        AuditService { ctx }
    }

    /// A page of entries, newest first, with the cursor of the next page.
    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id))]
    pub async fn list(
        &self,
        caller: &Caller,
        query: AuditQuery,
    ) -> ServiceResult<Page<AuditEntry>> {
        policy::require_admin(caller)?;
        Ok(self.ctx.store.list_audit(&query).await?)
    }

    /// How many entries match `query` (capped, see [`crate::paging::COUNT_CAP`]).
    #[tracing::instrument(skip_all, fields(caller = %caller.principal().id))]
    pub async fn count(&self, caller: &Caller, query: AuditQuery) -> ServiceResult<Total> {
        policy::require_admin(caller)?;
        Ok(self.ctx.store.count_audit(&query).await?)
    }
}
