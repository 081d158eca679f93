//! Ids as types: an [`InvreqId`], a [`KeyId`] or a [`ClaimToken`] is checked once, where it
//! enters (a path).

use std::str::FromStr;

use super::error::ValidationError;

/// Defines a string newtype read from a path: its pattern (for the OpenAPI document), how a raw
/// value becomes one (`None`: refused) and the rule its [`ValidationError`] states.
macro_rules! path_id {
    (
        $(#[$doc:meta])*
        $name:ident { field: $field:literal, pattern: $pattern:literal, rule: $rule:literal,
        read: $read:expr $(,)? }
    ) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        pub struct $name(String);

        impl $name {
            /// The pattern of the value in a path.
            pub const PATTERN: &'static str = $pattern;

            /// The value, as kept.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(&self.0)
            }
        }

        impl FromStr for $name {
            type Err = ValidationError;

            #[doc = concat!("# Errors\n`", $field, "` when the value is not ", $rule, ".")]
            fn from_str(s: &str) -> Result<Self, ValidationError> {
                let read: fn(&str) -> Option<String> = $read;
                read(s).map(Self).ok_or_else(|| {
                    ValidationError::new($field, concat!($field, " must be ", $rule))
                })
            }
        }
    };
}

path_id! {
    /// An invoice request id: the SHA256 merkle root of its fields (BOLT 12 `invreq_id`), 64 hex
    /// digits, kept lowercase. Any case is read.
    InvreqId {
        field: "invreq_id",
        pattern: "^[0-9a-fA-F]{64}$",
        rule: "64 hexadecimal digits (a SHA256)",
        read: |s| {
            (s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
                .then(|| s.to_ascii_lowercase())
        },
    }
}

path_id! {
    /// An API key's public id: the part of `ird_<key id>_<secret>` after `ird_`, 16 lowercase
    /// hex digits.
    KeyId {
        field: "key_id",
        pattern: "^[0-9a-f]{16}$",
        rule: "16 lowercase hexadecimal digits",
        read: |s| {
            (s.len() == 16 && s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
                .then(|| s.to_owned())
        },
    }
}

path_id! {
    /// A claim page's secret token: 22 URL-safe base64 characters (128 random bits).
    ClaimToken {
        field: "token",
        pattern: "^[A-Za-z0-9_-]{22}$",
        rule: "22 URL-safe base64 characters",
        read: |s| super::claim::is_claim_token(s).then(|| s.to_owned()),
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
        assert!("AAAAAAAAAAAAAAAAAAAA-_".parse::<ClaimToken>().is_ok());
        let e = "AAAA/".parse::<ClaimToken>().unwrap_err();
        assert_eq!(e.field, "token");
        assert_eq!(e.message, "token must be 22 URL-safe base64 characters");
    }
}
