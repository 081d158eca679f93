//! Ids as types: an [`InvreqId`], a [`KeyId`], a [`ClaimToken`], a [`WebhookId`] or an
//! [`EventId`] is checked once, where it enters (a path or a query).

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

path_id! {
    /// A webhook endpoint's id: `wh_` and 32 hex digits, kept lowercase. Any case is read.
    WebhookId {
        field: "webhook_id",
        pattern: "^wh_[0-9a-fA-F]{32}$",
        rule: "wh_ and 32 hexadecimal digits",
        read: |s| {
            s.strip_prefix("wh_")
                .filter(|h| h.len() == 32 && h.bytes().all(|b| b.is_ascii_hexdigit()))
                .map(|h| format!("wh_{}", h.to_ascii_lowercase()))
        },
    }
}

impl WebhookId {
    /// A fresh random id.
    pub fn generate() -> Self {
        Self(format!("wh_{}", uuid::Uuid::new_v4().simple()))
    }
}

/// An event's id: `evt_` and 16 lowercase hex digits of its place in the log, so ids sort like
/// the events (and serve as the `webhook-id` of their deliveries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct EventId(i64);

impl EventId {
    /// The pattern of the id.
    pub const PATTERN: &'static str = "^evt_[0-7][0-9a-f]{15}$";

    /// The id of the event at place `seq` (1 for the first; 0 is the place before it).
    pub fn from_seq(seq: i64) -> Self {
        Self(seq)
    }

    /// Its place in the log.
    pub fn seq(self) -> i64 {
        self.0
    }
}

impl std::fmt::Display for EventId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "evt_{:016x}", self.0)
    }
}

impl FromStr for EventId {
    type Err = ValidationError;

    /// # Errors
    /// `event_id` when `s` is not `evt_` and 16 lowercase hex digits of a number up to
    /// `i64::MAX` ([`EventId::PATTERN`]; `evt_0000000000000000` is the place before the first
    /// event).
    fn from_str(s: &str) -> Result<Self, ValidationError> {
        s.strip_prefix("evt_")
            .filter(|h| h.len() == 16 && h.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')))
            .and_then(|h| i64::from_str_radix(h, 16).ok())
            .map(Self)
            .ok_or_else(|| {
                ValidationError::new(
                    "event_id",
                    "an event id is evt_ and 16 lowercase hexadecimal digits, the first 0 to 7",
                )
            })
    }
}

impl<'de> serde::Deserialize<'de> for EventId {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        s.parse()
            .map_err(|e: ValidationError| serde::de::Error::custom(e.message))
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
        let wh = format!("wh_{}", "AB".repeat(16));
        assert_eq!(
            wh.parse::<WebhookId>().unwrap().as_str(),
            format!("wh_{}", "ab".repeat(16))
        );
        for bad in [
            "wh_",
            "ab".repeat(16).as_str(),
            &format!("wh_{}", "g".repeat(32)),
        ] {
            assert_eq!(bad.parse::<WebhookId>().unwrap_err().field, "webhook_id");
        }
        let evt: EventId = "evt_000000000000002a".parse().unwrap();
        assert_eq!(
            (evt.seq(), evt.to_string()),
            (42, "evt_000000000000002a".to_owned())
        );
        assert_eq!("evt_0000000000000000".parse::<EventId>().unwrap().seq(), 0);
        for bad in [
            "evt_8000000000000000",
            "evt_2a",
            "evt_000000000000002A",
            "000000000000002a",
        ] {
            assert_eq!(bad.parse::<EventId>().unwrap_err().field, "event_id");
        }
    }
}
