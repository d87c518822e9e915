//! Reading the audit log (SysAdmin only). Entries are written by the store with each change.

use crate::audit::{AuditEntry, AuditQuery};
use crate::authn::Caller;
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

    pub async fn list(&self, caller: &Caller, query: AuditQuery) -> ServiceResult<Vec<AuditEntry>> {
        policy::require_admin(caller)?;
        Ok(self.ctx.store.list_audit(&query).await?)
    }
}
