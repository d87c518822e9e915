//! The realm: signed access tokens for third parties, verifiable offline against the JWKS.

pub mod claims;
pub mod keys;
pub mod ring;
pub mod service;
pub mod verify;

pub use keys::Algorithm;
pub use service::{IssuedToken, Realm, RealmError, RealmSettings, SharedToken};
pub use verify::{JwtError, JwtVerifier, MAX_JWT_LEN, looks_like_jwt};
