//! Typed identifiers, so that a user id is never passed where a credential id belongs.

use serde::{Deserialize, Serialize};
use uuid::Uuid;

macro_rules! typed_id {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            pub fn new() -> Self {
                Self(Uuid::new_v4())
            }

            /// Parses the textual form; `None` for anything but a UUID.
            pub fn parse(s: &str) -> Option<Self> {
                Uuid::parse_str(s).ok().map(Self)
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                self.0.fmt(f)
            }
        }
    };
}

typed_id!(
    /// A user or a service account (both are principals stored side by side).
    UserId
);
typed_id!(
    /// A PAT, a service-account token or an API key.
    CredentialId
);
typed_id!(
    /// One entry of the audit log.
    AuditId
);
typed_id!(
    /// An organization.
    OrganizationId
);
typed_id!(
    /// A project.
    ProjectId
);
typed_id!(
    /// A model API.
    ModelApiId
);
typed_id!(
    /// A model API collaborator entry.
    CollaboratorId
);
typed_id!(
    /// A model API access token.
    ModelTokenId
);
typed_id!(
    /// An async prediction (Domino's `asyncPredictionId`).
    PredictionId
);
