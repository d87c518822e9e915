//! Opaque secrets: generation, format check (prefix + checksum) and the keyed hash kept at rest.
//!
//! A secret reads `<prefix>_<32 base62 random chars><6 base62 chars of CRC32>`: 190 bits of
//! randomness, and a checksum that rejects typos and look-alike strings before any lookup. Only
//! the HMAC-SHA256 of the whole string under the server secret is ever stored. This module never
//! logs, and `Secret` never prints its value through `Debug`.

use hmac::{Hmac, Mac};
use rand::Rng;
use sha2::Sha256;
use subtle::ConstantTimeEq;

const ALPHABET: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const RANDOM_LEN: usize = 32;
const CHECKSUM_LEN: usize = 6;

/// The kinds of opaque secret, each with its own prefix so that scanners can tell them apart.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SecretKind {
    Pat,
    ServiceAccountToken,
    ApiKey,
    ModelToken,
    /// A web UI session, carried only in its cookie.
    Session,
}

impl SecretKind {
    pub const ALL: [SecretKind; 5] = [
        SecretKind::Pat,
        SecretKind::ServiceAccountToken,
        SecretKind::ApiKey,
        SecretKind::ModelToken,
        SecretKind::Session,
    ];

    pub fn prefix(self) -> &'static str {
        match self {
            SecretKind::Pat => "tpat_",
            SecretKind::ServiceAccountToken => "tsat_",
            SecretKind::ApiKey => "tkey_",
            SecretKind::ModelToken => "tmat_",
            SecretKind::Session => "tses_",
        }
    }

    fn from_prefix(s: &str) -> Option<SecretKind> {
        SecretKind::ALL
            .into_iter()
            .find(|k| s.starts_with(k.prefix()))
    }
}

/// A freshly generated secret. Its value leaves the process once, in the creating response.
pub struct Secret {
    kind: SecretKind,
    value: String,
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Secret({}<redacted>)", self.kind.prefix())
    }
}

impl Secret {
    pub fn generate(kind: SecretKind) -> Secret {
        let mut rng = rand::rng();
        let mut value = String::with_capacity(kind.prefix().len() + RANDOM_LEN + CHECKSUM_LEN);
        value.push_str(kind.prefix());
        for _ in 0..RANDOM_LEN {
            value.push(ALPHABET[rng.random_range(0..ALPHABET.len())] as char);
        }
        let checksum = crc32fast::hash(value.as_bytes());
        push_base62_fixed(&mut value, checksum);
        Secret { kind, value }
    }

    pub fn kind(&self) -> SecretKind {
        self.kind
    }

    /// The secret's text, to hand to its owner exactly once.
    pub fn expose(&self) -> &str {
        &self.value
    }

    pub fn into_exposed(self) -> String {
        self.value
    }
}

fn push_base62_fixed(out: &mut String, n: u32) {
    out.extend(base62_fixed(n).iter().map(|&b| b as char));
}

/// `n` as `CHECKSUM_LEN` base62 digits, most significant first.
fn base62_fixed(mut n: u32) -> [u8; CHECKSUM_LEN] {
    let mut digits = [b'0'; CHECKSUM_LEN];
    for d in digits.iter_mut().rev() {
        *d = ALPHABET[(n % 62) as usize];
        n /= 62;
    }
    digits
}

/// A presented string that has the shape of a secret of `kind` and a correct checksum.
/// Checking costs no database read; it does not mean the secret exists.
#[derive(Clone, Copy)]
pub struct WellFormed<'a> {
    pub kind: SecretKind,
    value: &'a str,
}

impl<'a> WellFormed<'a> {
    pub fn as_str(&self) -> &'a str {
        self.value
    }
}

/// Checks prefix, length, alphabet and checksum of a presented secret.
pub fn parse_presented(value: &str) -> Option<WellFormed<'_>> {
    let kind = SecretKind::from_prefix(value)?;
    let expected_len = kind.prefix().len() + RANDOM_LEN + CHECKSUM_LEN;
    if value.len() != expected_len {
        return None;
    }
    let body = &value.as_bytes()[kind.prefix().len()..];
    if !body.iter().all(u8::is_ascii_alphanumeric) {
        return None;
    }
    let (head, tail) = value.split_at(expected_len - CHECKSUM_LEN);
    // On the stack: every presented secret is checked here (issue #16).
    let expected = base62_fixed(crc32fast::hash(head.as_bytes()));
    if expected[..].ct_eq(tail.as_bytes()).into() {
        Some(WellFormed { kind, value })
    } else {
        None
    }
}

/// The keyed hash of a secret: what the database and the caches hold.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    pub fn from_slice(bytes: &[u8]) -> Option<TokenHash> {
        <[u8; 32]>::try_from(bytes).ok().map(TokenHash)
    }

    /// Constant-time equality, for comparing a stored hash with a computed one.
    pub fn ct_eq(&self, other: &TokenHash) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "TokenHash({}…)", &self.to_hex()[..8])
    }
}

/// HMAC-SHA256 under the server secret, with the key schedule computed once.
#[derive(Clone)]
pub struct SecretHasher {
    keyed: Hmac<Sha256>,
}

impl SecretHasher {
    /// `key` is the server secret; at least 32 bytes.
    pub fn new(key: &[u8]) -> Result<SecretHasher, SecretKeyError> {
        if key.len() < 32 {
            return Err(SecretKeyError::TooShort(key.len()));
        }
        let keyed =
            <Hmac<Sha256> as Mac>::new_from_slice(key).map_err(|_| SecretKeyError::TooShort(0))?;
        Ok(SecretHasher { keyed })
    }

    pub fn hash(&self, secret: &str) -> TokenHash {
        let mut mac = self.keyed.clone();
        mac.update(secret.as_bytes());
        TokenHash(mac.finalize().into_bytes().into())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SecretKeyError {
    #[error("the server secret must be at least 32 bytes, got {0}")]
    TooShort(usize),
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_generated_secret_parses_with_its_kind() {
        for kind in SecretKind::ALL {
            let secret = Secret::generate(kind);
            let parsed = parse_presented(secret.expose()).map(|w| w.kind);
            assert_eq!(parsed, Some(kind), "{:?}", secret);
            assert_eq!(secret.expose().len(), kind.prefix().len() + 38);
        }
    }

    #[test]
    fn a_single_changed_character_fails_the_checksum() {
        let secret = Secret::generate(SecretKind::Pat).into_exposed();
        let mut bytes = secret.into_bytes();
        bytes[10] = if bytes[10] == b'a' { b'b' } else { b'a' };
        let typo = String::from_utf8(bytes).unwrap_or_default();
        assert!(parse_presented(&typo).is_none());
    }

    #[test]
    fn wrong_prefix_length_or_alphabet_is_rejected() {
        let secret = Secret::generate(SecretKind::Pat).into_exposed();
        assert!(parse_presented(&secret[1..]).is_none());
        assert!(parse_presented(&format!("{secret}x")).is_none());
        assert!(parse_presented(&secret.replacen("tpat_", "tzzz_", 1)).is_none());
        assert!(parse_presented(&secret.replacen('_', "-", 1)).is_none());
        assert!(parse_presented("").is_none());
        assert!(parse_presented("tpat_").is_none());
    }

    #[test]
    fn two_secrets_differ_and_hash_differently_under_different_keys() {
        let a = Secret::generate(SecretKind::Pat);
        let b = Secret::generate(SecretKind::Pat);
        assert_ne!(a.expose(), b.expose());
        let h1 = SecretHasher::new(&[1u8; 32])
            .map(|h| h.hash(a.expose()))
            .ok();
        let h2 = SecretHasher::new(&[2u8; 32])
            .map(|h| h.hash(a.expose()))
            .ok();
        assert!(h1.is_some() && h1 != h2);
    }

    #[test]
    fn a_short_server_secret_is_refused() {
        assert!(SecretHasher::new(&[0u8; 16]).is_err());
    }

    #[test]
    fn debug_never_shows_the_value() {
        let secret = Secret::generate(SecretKind::ApiKey);
        assert!(!format!("{secret:?}").contains(&secret.expose()[5..]));
    }
}

/// Properties of the secret format, over arbitrary input.
#[cfg(test)]
mod props {
    use proptest::prelude::*;

    use super::*;

    fn kind() -> impl Strategy<Value = SecretKind> {
        prop::sample::select(SecretKind::ALL.to_vec())
    }

    proptest! {
        #[test]
        fn any_string_is_refused_or_has_a_prefix_the_length_and_a_valid_checksum(s in ".{0,64}") {
            if let Some(found) = parse_presented(&s) {
                prop_assert!(s.starts_with(found.kind.prefix()));
                prop_assert_eq!(s.len(), found.kind.prefix().len() + RANDOM_LEN + CHECKSUM_LEN);
                prop_assert_eq!(found.as_str(), s.as_str());
            }
        }

        #[test]
        fn a_generated_secret_is_well_formed_and_of_its_kind(kind in kind()) {
            let secret = Secret::generate(kind);
            let found = parse_presented(secret.expose());
            prop_assert!(found.is_some_and(|f| f.kind == kind));
        }

        #[test]
        fn changing_any_one_character_makes_a_secret_refused(
            kind in kind(),
            at in 0usize..(RANDOM_LEN + CHECKSUM_LEN),
            by in 1usize..62,
        ) {
            let secret = Secret::generate(kind);
            let mut bytes = secret.expose().as_bytes().to_vec();
            let i = kind.prefix().len() + at;
            let old = ALPHABET.iter().position(|&c| c == bytes[i]).unwrap_or(0);
            bytes[i] = ALPHABET[(old + by) % 62];
            let changed = String::from_utf8(bytes).unwrap_or_default();
            prop_assert!(parse_presented(&changed).is_none(), "{changed} accepted");
        }

        #[test]
        fn a_truncated_or_extended_secret_is_refused(kind in kind(), cut in 1usize..38, extra in "[0-9A-Za-z]{1,8}") {
            let secret = Secret::generate(kind);
            let value = secret.expose();
            prop_assert!(parse_presented(&value[..value.len() - cut]).is_none());
            let extended = format!("{value}{extra}");
            prop_assert!(parse_presented(&extended).is_none());
        }
    }
}
