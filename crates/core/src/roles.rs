//! Platform roles and role sets.

use serde::{Deserialize, Serialize};
use std::collections::BTreeSet;

use crate::names::FieldError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum Role {
    SysAdmin,
    Practitioner,
    Librarian,
    ReadOnlySupportStaff,
}

impl Role {
    pub const ALL: [Role; 4] = [
        Role::SysAdmin,
        Role::Practitioner,
        Role::Librarian,
        Role::ReadOnlySupportStaff,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::SysAdmin => "SysAdmin",
            Role::Practitioner => "Practitioner",
            Role::Librarian => "Librarian",
            Role::ReadOnlySupportStaff => "ReadOnlySupportStaff",
        }
    }

    pub fn parse(field: &'static str, raw: &str) -> Result<Role, FieldError> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(raw.trim()))
            .ok_or_else(|| {
                FieldError::new(
                    field,
                    format!(
                        "unknown role {raw:?}; expected one of SysAdmin, Practitioner, Librarian, ReadOnlySupportStaff"
                    ),
                )
            })
    }
}

/// An ordered set of roles; ordered so that comparisons and storage are stable.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct RoleSet(BTreeSet<Role>);

impl RoleSet {
    pub fn new(roles: impl IntoIterator<Item = Role>) -> RoleSet {
        RoleSet(roles.into_iter().collect())
    }

    pub fn default_for_new_user() -> RoleSet {
        RoleSet::new([Role::Practitioner])
    }

    pub fn parse_all(field: &'static str, raw: &[String]) -> Result<RoleSet, FieldError> {
        raw.iter()
            .map(|r| Role::parse(field, r))
            .collect::<Result<BTreeSet<_>, _>>()
            .map(RoleSet)
    }

    pub fn contains(&self, role: Role) -> bool {
        self.0.contains(&role)
    }

    pub fn iter(&self) -> impl Iterator<Item = Role> + '_ {
        self.0.iter().copied()
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// Comma-separated, as stored.
    pub fn to_storage(&self) -> String {
        self.iter().map(Role::as_str).collect::<Vec<_>>().join(",")
    }

    /// Reads the stored form; unknown names (from a newer version) are skipped.
    pub fn from_storage(s: &str) -> RoleSet {
        RoleSet(
            s.split(',')
                .filter_map(|r| Role::parse("roles", r).ok())
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_round_trip_through_storage() {
        let set = RoleSet::new([Role::SysAdmin, Role::Practitioner]);
        assert_eq!(RoleSet::from_storage(&set.to_storage()), set);
        assert_eq!(RoleSet::from_storage(""), RoleSet::default());
    }

    #[test]
    fn an_unknown_role_is_named_in_the_error() {
        let err = RoleSet::parse_all("roles", &["Wizard".into()]).err();
        assert!(err.is_some_and(|e| e.message.contains("Wizard")));
    }
}
