//! The key format: `ird_<key id>_<secret>`.
//!
//! The key id is 8 random bytes in hex and names the key in the store; the secret is 32 random
//! bytes in unpadded base64url. The store keeps only SHA256(secret). A fast hash is right here:
//! slow password hashes (argon2, bcrypt) exist to make guessing low-entropy passwords costly, and
//! a 256-bit random secret cannot be guessed however fast the hash is — while every request
//! pays for the hash. Comparison is in constant time (`subtle`).

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use rand::RngCore;
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

/// What every key starts with.
pub const PREFIX: &str = "ird_";

const KEY_ID_BYTES: usize = 8;
const SECRET_BYTES: usize = 32;

/// A freshly made key: the full string is shown once and never stored.
pub struct IssuedKey {
    /// The public id (16 hex digits).
    pub key_id: String,
    /// `ird_<key id>_<secret>`: give it to the client, once.
    pub token: String,
    /// Lowercase hex SHA256 of the secret bytes: what the store keeps.
    pub secret_sha256: String,
}

impl fmt::Debug for IssuedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("IssuedKey")
            .field("key_id", &self.key_id)
            .field("token", &"<redacted>")
            .finish()
    }
}

impl IssuedKey {
    /// A new random key.
    pub fn generate() -> Self {
        let mut id = [0u8; KEY_ID_BYTES];
        let mut secret = [0u8; SECRET_BYTES];
        let mut rng = rand::rngs::OsRng;
        rng.fill_bytes(&mut id);
        rng.fill_bytes(&mut secret);
        let key_id = hex::encode(id);
        let token = format!("{PREFIX}{key_id}_{}", URL_SAFE_NO_PAD.encode(secret));
        Self {
            key_id,
            token,
            secret_sha256: hex::encode(Sha256::digest(secret)),
        }
    }
}

/// A key as presented by a client, parsed but not yet checked against the store.
pub struct PresentedKey {
    key_id: String,
    secret_sha256: [u8; 32],
}

impl fmt::Debug for PresentedKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PresentedKey")
            .field("key_id", &self.key_id)
            .finish_non_exhaustive()
    }
}

impl PresentedKey {
    /// Parses `ird_<16 hex>_<43 base64url>`; `None` when it is not of that shape.
    pub fn parse(token: &str) -> Option<Self> {
        let rest = token.strip_prefix(PREFIX)?;
        // base64url may contain '_': split at the first one only (the id is hex).
        let (key_id, secret) = rest.split_once('_')?;
        if key_id.len() != 2 * KEY_ID_BYTES
            || !key_id
                .bytes()
                .all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
        {
            return None;
        }
        let bytes = URL_SAFE_NO_PAD.decode(secret).ok()?;
        if bytes.len() != SECRET_BYTES {
            return None;
        }
        Some(Self {
            key_id: key_id.to_owned(),
            secret_sha256: Sha256::digest(&bytes).into(),
        })
    }

    /// The id that names the key in the store.
    pub fn key_id(&self) -> &str {
        &self.key_id
    }

    /// Whether the secret hashes to `stored` (lowercase hex), in constant time.
    pub fn matches(&self, stored_sha256_hex: &str) -> bool {
        let mut stored = [0u8; 32];
        if hex::decode_to_slice(stored_sha256_hex, &mut stored).is_err() {
            return false;
        }
        self.secret_sha256.ct_eq(&stored).into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issued_keys_parse_and_match_their_hash_only() {
        for _ in 0..50 {
            let k = IssuedKey::generate();
            assert!(k.token.starts_with("ird_"));
            let p = PresentedKey::parse(&k.token).expect("parses");
            assert_eq!(p.key_id(), k.key_id);
            assert!(p.matches(&k.secret_sha256));
            let other = IssuedKey::generate();
            assert!(!p.matches(&other.secret_sha256));
            assert!(!format!("{k:?}{p:?}").contains(&k.token[21..]));
        }
    }

    #[test]
    fn malformed_keys_do_not_parse() {
        let k = IssuedKey::generate();
        let secret = &k.token[21..];
        for bad in [
            String::new(),
            "ird_".into(),
            format!("ird_{}", k.key_id),
            format!("ird_{}_", k.key_id),
            format!("xyz_{}_{secret}", k.key_id),
            format!("ird_{}_{secret}", k.key_id.to_uppercase()),
            format!("ird_{}_{secret}", &k.key_id[1..]),
            format!("ird_{}_{}", k.key_id, &secret[1..]),
            format!("ird_{}_{secret}A", k.key_id),
            format!("ird_{}_{secret}=", k.key_id),
        ] {
            assert!(PresentedKey::parse(&bad).is_none(), "{bad}");
        }
        assert!(!PresentedKey::parse(&k.token).unwrap().matches("zz"));
    }
}
