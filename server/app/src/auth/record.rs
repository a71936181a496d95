//! A session as it is kept in a shared store: found by a hash of its token, sealed with a key
//! derived from that token, so the store alone can neither find a session by its token nor
//! read or use one.
//!
//! - The **id** is `hex(SHA-256("tidings-session-id:" ‖ token))`. The token is 32 random bytes
//!   (256 bits), so no slow hash is needed: nobody can guess a token from its id.
//! - The **key** is HKDF-SHA256 of the token (salt and info name the purpose and version), a
//!   derivation unrelated to the id: knowing the id gives nothing of the key.
//! - The **sealed record** is `version ‖ nonce ‖ ChaCha20-Poly1305(record)`, with the id as
//!   associated data, so a record copied under another id fails to open. Everything is sealed:
//!   user, projects and roles (tampering with a role is detected, not obeyed), expiry, and the
//!   credentials the session's OpenStack client needs to renew its Keystone tokens. A fresh
//!   random nonce per sealing; a record is sealed once, at login.

use std::collections::BTreeMap;

use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce};
use hkdf::Hkdf;
use rand::RngCore;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use super::ProjectAccess;

/// The first byte of every sealed record: the layout and the derivations above.
const VERSION: u8 = 1;
/// ChaCha20-Poly1305 nonce length.
const NONCE_LEN: usize = 12;

/// What another instance needs to act for the user, sealed under the token.
#[derive(Clone, Serialize, Deserialize)]
pub(super) struct Record {
    /// Keystone user id.
    pub(super) user_id: String,
    /// Login name as Keystone tells it.
    pub(super) user_name: String,
    /// The covered projects by id, with the user's roles.
    pub(super) projects: BTreeMap<String, ProjectAccess>,
    /// Whether the user administers the cloud.
    pub(super) admin: bool,
    /// Login time, ms since the Unix epoch.
    pub(super) created_ms: u64,
    /// The session's absolute end, ms since the Unix epoch.
    pub(super) expires_ms: u64,
    /// The name the user logged in with (their Keystone user name).
    pub(super) username: String,
    /// Their Keystone password: their OpenStack client authenticates with it when its tokens
    /// are due for renewal (Keystone has no refresh token).
    pub(super) password: String,
    /// The project the login was narrowed to, if any.
    pub(super) project: Option<String>,
}

impl std::fmt::Debug for Record {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Record")
            .field("user", &self.user_name)
            .field("projects", &self.projects.keys())
            .finish_non_exhaustive()
    }
}

/// The id a session is stored under: a hash of its token, never the token.
pub fn session_id(token: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"tidings-session-id:")
        .chain_update(token.as_bytes())
        .finalize();
    hex(&digest)
}

/// Seals `record` for storage under `id` with the key of `token`.
pub(super) fn seal(record: &Record, token: &str, id: &str) -> Vec<u8> {
    let json = serde_json::to_vec(record).expect("a record serializes");
    let mut nonce = [0u8; NONCE_LEN];
    rand::rng().fill_bytes(&mut nonce);
    let sealed = cipher(token)
        .encrypt(
            Nonce::from_slice(&nonce),
            Payload {
                msg: &json,
                aad: id.as_bytes(),
            },
        )
        .expect("ChaCha20-Poly1305 seals any length we write");
    let mut out = Vec::with_capacity(1 + NONCE_LEN + sealed.len());
    out.push(VERSION);
    out.extend_from_slice(&nonce);
    out.extend_from_slice(&sealed);
    out
}

/// Opens a sealed record with the key of `token`: `None` when it was not sealed under that
/// token and id, was changed since, or is of a layout this version does not know.
pub(super) fn open(sealed: &[u8], token: &str, id: &str) -> Option<Record> {
    let (&version, rest) = sealed.split_first()?;
    if version != VERSION || rest.len() < NONCE_LEN {
        return None;
    }
    let (nonce, body) = rest.split_at(NONCE_LEN);
    let json = cipher(token)
        .decrypt(
            Nonce::from_slice(nonce),
            Payload {
                msg: body,
                aad: id.as_bytes(),
            },
        )
        .ok()?;
    serde_json::from_slice(&json).ok()
}

/// The AEAD keyed by HKDF-SHA256 of the token.
fn cipher(token: &str) -> ChaCha20Poly1305 {
    let mut key = [0u8; 32];
    Hkdf::<Sha256>::new(Some(b"tidings-session-record-v1"), token.as_bytes())
        .expand(b"chacha20poly1305 key", &mut key)
        .expect("32 bytes is a valid HKDF-SHA256 length");
    ChaCha20Poly1305::new(Key::from_slice(&key))
}

/// Lower-case hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record() -> Record {
        Record {
            user_id: "u1".into(),
            user_name: "alice".into(),
            projects: BTreeMap::new(),
            admin: false,
            created_ms: 1,
            expires_ms: 2,
            username: "alice".into(),
            password: "s3cret-password".into(),
            project: None,
        }
    }

    #[test]
    fn a_sealed_record_opens_only_with_its_token_and_id() {
        let token = "a".repeat(64);
        let id = session_id(&token);
        let sealed = seal(&record(), &token, &id);
        assert_eq!(
            open(&sealed, &token, &id).unwrap().password,
            "s3cret-password"
        );
        assert!(open(&sealed, &"b".repeat(64), &id).is_none());
        assert!(open(&sealed, &id, &id).is_none(), "the id is not the key");
        assert!(open(&sealed, &token, &session_id("other")).is_none());
        let mut tampered = sealed.clone();
        *tampered.last_mut().unwrap() ^= 1;
        assert!(open(&tampered, &token, &id).is_none());
    }

    #[test]
    fn neither_the_token_nor_the_password_appears_in_the_id_or_the_sealed_record() {
        let token = "c0ffee".repeat(10);
        let id = session_id(&token);
        assert_eq!(id.len(), 64);
        assert!(!id.contains(&token));
        let sealed = seal(&record(), &token, &id);
        let text = String::from_utf8_lossy(&sealed);
        assert!(!text.contains("s3cret") && !text.contains("alice") && !text.contains(&token));
    }
}
