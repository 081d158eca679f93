//! Ids as types: an [`InvreqId`] or a [`KeyId`] is checked once, where it enters (a path).

use std::str::FromStr;

use super::error::ValidationError;

/// An invoice request id: the SHA256 merkle root of its fields (BOLT 12 `invreq_id`), 64 hex
/// digits, kept lowercase. Any case is read.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct InvreqId(String);

impl InvreqId {
    /// The pattern of the id in a path (any case).
    pub const PATTERN: &'static str = "^[0-9a-fA-F]{64}$";

    /// The id, 64 lowercase hex digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for InvreqId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for InvreqId {
    type Err = ValidationError;

    /// # Errors
    /// `invreq_id` when `s` is not 64 hex digits.
    fn from_str(s: &str) -> Result<Self, ValidationError> {
        if s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()) {
            Ok(Self(s.to_ascii_lowercase()))
        } else {
            Err(ValidationError::new(
                "invreq_id",
                "invreq_id must be 64 hexadecimal digits (a SHA256)",
            ))
        }
    }
}

/// An API key's public id: the part of `ird_<key id>_<secret>` after `ird_`, 16 lowercase hex
/// digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct KeyId(String);

impl KeyId {
    /// The pattern of the id.
    pub const PATTERN: &'static str = "^[0-9a-f]{16}$";

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for KeyId {
    type Err = ValidationError;

    /// # Errors
    /// `key_id` when `s` is not 16 lowercase hex digits.
    fn from_str(s: &str) -> Result<Self, ValidationError> {
        if s.len() == 16 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ValidationError::new(
                "key_id",
                "key_id must be 16 lowercase hexadecimal digits",
            ))
        }
    }
}

/// A claim page's secret token: 22 URL-safe base64 characters (128 random bits).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ClaimToken(String);

impl ClaimToken {
    /// The pattern of the token.
    pub const PATTERN: &'static str = "^[A-Za-z0-9_-]{22}$";

    /// The token.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for ClaimToken {
    type Err = ValidationError;

    /// # Errors
    /// `token` when `s` is not 22 URL-safe base64 characters.
    fn from_str(s: &str) -> Result<Self, ValidationError> {
        if super::claim::is_claim_token(s) {
            Ok(Self(s.to_owned()))
        } else {
            Err(ValidationError::new(
                "token",
                "token must be 22 URL-safe base64 characters",
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_parse_by_their_rule() {
        let id = "AB".repeat(32);
        assert_eq!(id.parse::<InvreqId>().unwrap().as_str(), "ab".repeat(32));
        for bad in ["", "ab", &"g".repeat(64), &"a".repeat(65)] {
            assert_eq!(bad.parse::<InvreqId>().unwrap_err().field, "invreq_id");
        }
        assert!("0123456789abcdef".parse::<KeyId>().is_ok());
        for bad in ["0123456789ABCDEF", "0123", "0123456789abcdeg"] {
            assert_eq!(bad.parse::<KeyId>().unwrap_err().field, "key_id");
        }
    }
}
