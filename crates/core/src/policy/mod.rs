//! Who may do what. Every service asks here; nothing else in the code decides access.
//! Credentials and principals here; model APIs in [`model_api`], projects in [`project`].

pub mod model_api;
pub mod project;

use crate::authn::Caller;
use crate::model::{PrincipalKind, User};
use crate::roles::Role;
use crate::services::ServiceError;

pub fn is_admin(user: &User) -> bool {
    user.roles.contains(Role::SysAdmin)
}

/// SysAdmin only; anyone else is refused with 403.
pub fn require_admin(caller: &Caller) -> Result<(), ServiceError> {
    if is_admin(caller.principal()) {
        Ok(())
    } else {
        Err(ServiceError::Forbidden(
            "this action requires the SysAdmin role".into(),
        ))
    }
}

/// PATs and API keys belong to people; service accounts use their own named tokens.
pub fn require_person(caller: &Caller) -> Result<(), ServiceError> {
    match caller.principal().kind {
        PrincipalKind::User => Ok(()),
        PrincipalKind::ServiceAccount => Err(ServiceError::Forbidden(
            "service accounts cannot hold personal access tokens or API keys; use service-account tokens".into(),
        )),
    }
}
