//! Realm signing keys: generation, PKCS#8 at rest encrypted under the server secret,
//! signing with a parsed key (never re-parsed per token), and the public forms published in
//! the JWKS and the realm document.

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use aws_lc_rs::encoding::{AsDer, Pkcs8V1Der, PublicKeyX509Der};
use aws_lc_rs::rand::{SecureRandom, SystemRandom};
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{
    ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, Ed25519KeyPair, KeyPair, RSA_PKCS1_SHA256,
    RsaKeyPair,
};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;

use crate::model::Timestamp;

/// The JWS algorithms the realm signs with. Never `none`, never HMAC.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Algorithm {
    RS256,
    ES256,
    EdDSA,
}

impl Algorithm {
    pub fn as_str(self) -> &'static str {
        match self {
            Algorithm::RS256 => "RS256",
            Algorithm::ES256 => "ES256",
            Algorithm::EdDSA => "EdDSA",
        }
    }

    pub fn parse(raw: &str) -> Option<Algorithm> {
        match raw {
            "RS256" => Some(Algorithm::RS256),
            "ES256" => Some(Algorithm::ES256),
            "EdDSA" => Some(Algorithm::EdDSA),
            _ => None,
        }
    }

    pub fn jsonwebtoken(self) -> jsonwebtoken::Algorithm {
        match self {
            Algorithm::RS256 => jsonwebtoken::Algorithm::RS256,
            Algorithm::ES256 => jsonwebtoken::Algorithm::ES256,
            Algorithm::EdDSA => jsonwebtoken::Algorithm::EdDSA,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum KeyError {
    #[error("could not generate a {0} key")]
    Generate(&'static str),
    #[error(
        "stored signing key {0} cannot be read: this node's server secret differs from the one that sealed it (or the row is corrupt). Every node sharing a database needs the same TESSERA_SERVER_SECRET (or the same server_secret_file); start this node with the secret the others use"
    )]
    Unreadable(String),
    #[error("signing failed")]
    Sign,
}

enum Signer {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
    Ed(Ed25519KeyPair),
}

/// A parsed signing key with its public forms.
pub struct SigningKey {
    pub kid: String,
    pub alg: Algorithm,
    pub created_at: Timestamp,
    pub retired_at: Option<Timestamp>,
    signer: Signer,
    spki_der: Vec<u8>,
    jwk: Value,
    decoding: jsonwebtoken::DecodingKey,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .field("alg", &self.alg)
            .finish_non_exhaustive()
    }
}

fn b64u(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Generates a new key; returns its PKCS#8 document (to encrypt and store) too.
pub fn generate(alg: Algorithm, created_at: Timestamp) -> Result<(SigningKey, Vec<u8>), KeyError> {
    let pkcs8: Vec<u8> = match alg {
        Algorithm::RS256 => {
            let pair =
                RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| KeyError::Generate("RSA"))?;
            let der: Pkcs8V1Der = pair.as_der().map_err(|_| KeyError::Generate("RSA"))?;
            der.as_ref().to_vec()
        }
        Algorithm::ES256 => {
            let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
                .map_err(|_| KeyError::Generate("P-256"))?;
            pair.to_pkcs8v1()
                .map_err(|_| KeyError::Generate("P-256"))?
                .as_ref()
                .to_vec()
        }
        Algorithm::EdDSA => {
            let pair = Ed25519KeyPair::generate().map_err(|_| KeyError::Generate("Ed25519"))?;
            pair.to_pkcs8()
                .map_err(|_| KeyError::Generate("Ed25519"))?
                .as_ref()
                .to_vec()
        }
    };
    let mut kid_bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut kid_bytes)
        .map_err(|_| KeyError::Generate("kid"))?;
    let key = SigningKey::from_pkcs8(b64u(&kid_bytes), alg, &pkcs8, created_at, None)?;
    Ok((key, pkcs8))
}

impl SigningKey {
    pub fn from_pkcs8(
        kid: String,
        alg: Algorithm,
        pkcs8: &[u8],
        created_at: Timestamp,
        retired_at: Option<Timestamp>,
    ) -> Result<SigningKey, KeyError> {
        let bad = || KeyError::Unreadable(kid.clone());
        let (signer, spki_der, jwk, decoding) = match alg {
            Algorithm::RS256 => {
                let pair = RsaKeyPair::from_pkcs8(pkcs8).map_err(|_| bad())?;
                let public = pair.public_key();
                let n = public.modulus().big_endian_without_leading_zero().to_vec();
                let e = public.exponent().big_endian_without_leading_zero().to_vec();
                let spki: PublicKeyX509Der = public.as_der().map_err(|_| bad())?;
                let jwk = json!({ "kid": kid, "kty": "RSA", "alg": "RS256", "use": "sig", "n": b64u(&n), "e": b64u(&e) });
                let decoding = jsonwebtoken::DecodingKey::from_rsa_raw_components(&n, &e);
                (Signer::Rsa(pair), spki.as_ref().to_vec(), jwk, decoding)
            }
            Algorithm::ES256 => {
                let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8)
                    .map_err(|_| bad())?;
                let point = pair.public_key().as_ref().to_vec();
                if point.len() != 65 || point[0] != 4 {
                    return Err(bad());
                }
                let (x, y) = (&point[1..33], &point[33..65]);
                let spki: PublicKeyX509Der = pair.public_key().as_der().map_err(|_| bad())?;
                let jwk = json!({ "kid": kid, "kty": "EC", "alg": "ES256", "use": "sig", "crv": "P-256", "x": b64u(x), "y": b64u(y) });
                let decoding = jsonwebtoken::DecodingKey::from_ec_components(&b64u(x), &b64u(y))
                    .map_err(|_| bad())?;
                (Signer::Ec(pair), spki.as_ref().to_vec(), jwk, decoding)
            }
            Algorithm::EdDSA => {
                let pair = Ed25519KeyPair::from_pkcs8(pkcs8).map_err(|_| bad())?;
                let x = pair.public_key().as_ref().to_vec();
                let spki: PublicKeyX509Der = pair.public_key().as_der().map_err(|_| bad())?;
                let jwk = json!({ "kid": kid, "kty": "OKP", "alg": "EdDSA", "use": "sig", "crv": "Ed25519", "x": b64u(&x) });
                let decoding =
                    jsonwebtoken::DecodingKey::from_ed_components(&b64u(&x)).map_err(|_| bad())?;
                (Signer::Ed(pair), spki.as_ref().to_vec(), jwk, decoding)
            }
        };
        Ok(SigningKey {
            kid,
            alg,
            created_at,
            retired_at,
            signer,
            spki_der,
            jwk,
            decoding,
        })
    }

    /// Signs a JWS signing input (`header.payload`), returning the raw signature.
    pub fn sign(&self, input: &[u8]) -> Result<Vec<u8>, KeyError> {
        let rng = SystemRandom::new();
        match &self.signer {
            Signer::Rsa(pair) => {
                let mut signature = vec![0u8; pair.public_modulus_len()];
                pair.sign(&RSA_PKCS1_SHA256, &rng, input, &mut signature)
                    .map_err(|_| KeyError::Sign)?;
                Ok(signature)
            }
            Signer::Ec(pair) => Ok(pair
                .sign(&rng, input)
                .map_err(|_| KeyError::Sign)?
                .as_ref()
                .to_vec()),
            Signer::Ed(pair) => Ok(pair.sign(input).as_ref().to_vec()),
        }
    }

    /// The JWK published in the JWKS.
    pub fn jwk(&self) -> &Value {
        &self.jwk
    }

    /// Base64 DER SubjectPublicKeyInfo, without PEM armour (Keycloak's `public_key`).
    pub fn public_key_base64(&self) -> String {
        STANDARD.encode(&self.spki_der)
    }

    pub fn decoding_key(&self) -> &jsonwebtoken::DecodingKey {
        &self.decoding
    }
}

/// Encrypts signing keys at rest: AES-256-GCM under a key derived from the server secret.
pub struct KeyCipher {
    key: LessSafeKey,
}

impl KeyCipher {
    pub fn new(server_secret: &[u8]) -> Result<KeyCipher, KeyError> {
        KeyCipher::for_purpose(server_secret, "signing-key-encryption")
    }

    /// A cipher whose key is derived for one purpose, so that keys never serve two.
    pub fn for_purpose(server_secret: &[u8], purpose: &str) -> Result<KeyCipher, KeyError> {
        let mut mac = <Hmac<Sha256> as Mac>::new_from_slice(server_secret)
            .map_err(|_| KeyError::Generate("cipher"))?;
        mac.update(format!("tessera/{purpose}/v1").as_bytes());
        let derived = mac.finalize().into_bytes();
        let unbound =
            UnboundKey::new(&AES_256_GCM, &derived).map_err(|_| KeyError::Generate("cipher"))?;
        Ok(KeyCipher {
            key: LessSafeKey::new(unbound),
        })
    }

    /// `nonce || ciphertext || tag`, bound to `kid` as associated data.
    pub fn seal(&self, kid: &str, plaintext: &[u8]) -> Result<Vec<u8>, KeyError> {
        let mut nonce = [0u8; NONCE_LEN];
        SystemRandom::new()
            .fill(&mut nonce)
            .map_err(|_| KeyError::Generate("nonce"))?;
        let mut buffer = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(kid.as_bytes()),
                &mut buffer,
            )
            .map_err(|_| KeyError::Generate("seal"))?;
        let mut out = nonce.to_vec();
        out.extend_from_slice(&buffer);
        Ok(out)
    }

    pub fn open(&self, kid: &str, sealed: &[u8]) -> Result<Vec<u8>, KeyError> {
        let bad = || KeyError::Unreadable(kid.to_string());
        if sealed.len() < NONCE_LEN {
            return Err(bad());
        }
        let (nonce, body) = sealed.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| bad())?;
        let mut buffer = body.to_vec();
        let plain = self
            .key
            .open_in_place(nonce, Aad::from(kid.as_bytes()), &mut buffer)
            .map_err(|_| bad())?;
        Ok(plain.to_vec())
    }
}

/// A signing key as stored: the private part sealed by `KeyCipher`.
#[derive(Clone, Debug)]
pub struct StoredKey {
    pub kid: String,
    pub alg: String,
    pub sealed_private: Vec<u8>,
    pub created_at: Timestamp,
    pub retired_at: Option<Timestamp>,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sealed_key_opens_only_with_the_same_secret_and_kid() {
        let cipher = KeyCipher::new(&[7u8; 32]).unwrap();
        let sealed = cipher.seal("kid-1", b"private").unwrap();
        assert_eq!(cipher.open("kid-1", &sealed).unwrap(), b"private");
        assert!(cipher.open("kid-2", &sealed).is_err());
        assert!(
            KeyCipher::new(&[8u8; 32])
                .unwrap()
                .open("kid-1", &sealed)
                .is_err()
        );
    }

    #[test]
    fn every_algorithm_generates_signs_and_round_trips_through_pkcs8() {
        for alg in [Algorithm::RS256, Algorithm::ES256, Algorithm::EdDSA] {
            let now = chrono::Utc::now();
            let (key, pkcs8) = generate(alg, now).unwrap();
            let again = SigningKey::from_pkcs8(key.kid.clone(), alg, &pkcs8, now, None).unwrap();
            assert_eq!(key.jwk(), again.jwk());
            assert!(!key.sign(b"input").unwrap().is_empty());
            assert_eq!(key.jwk()["alg"], alg.as_str());
        }
    }
}
