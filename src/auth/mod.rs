//! API clients: what a key is, what it may do and how it is written.
//!
//! Pure types, no I/O: the store keeps keys ([`crate::store::ApiKeyRecord`]), the service checks
//! them ([`crate::service::Service::authenticate`]) and the API turns the outcome into HTTP.

pub mod token;

use serde::{Deserialize, Serialize};

pub use crate::store::{Limit, LimitExceeded, SpendingPolicy};
pub use token::{IssuedKey, PresentedKey};

/// The tenant of the bootstrap admin key, and of invoice requests made before API keys existed.
pub const DEFAULT_TENANT: &str = "default";

/// What a key may do. Scopes are independent: `admin` manages keys and nothing else.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
pub enum Scope {
    /// Read (get, list) the tenant's invoice requests, and decode.
    #[serde(rename = "invoicerequests:read")]
    InvoiceRequestsRead,
    /// Create invoice requests.
    #[serde(rename = "invoicerequests:write")]
    InvoiceRequestsWrite,
    /// Disable invoice requests.
    #[serde(rename = "invoicerequests:disable")]
    InvoiceRequestsDisable,
    /// Create, list and revoke API keys (of every tenant).
    #[serde(rename = "admin")]
    Admin,
    /// Register, list, test and delete the tenant's webhook endpoints, and see their deliveries.
    #[serde(rename = "webhooks:manage")]
    WebhooksManage,
}

impl Scope {
    /// Every scope.
    pub const ALL: [Scope; 5] = [
        Scope::InvoiceRequestsRead,
        Scope::InvoiceRequestsWrite,
        Scope::InvoiceRequestsDisable,
        Scope::Admin,
        Scope::WebhooksManage,
    ];

    /// The name used in the store, the API and the CLI.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::InvoiceRequestsRead => "invoicerequests:read",
            Scope::InvoiceRequestsWrite => "invoicerequests:write",
            Scope::InvoiceRequestsDisable => "invoicerequests:disable",
            Scope::Admin => "admin",
            Scope::WebhooksManage => "webhooks:manage",
        }
    }

    /// Reads a name.
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|x| x.as_str() == s)
    }
}

impl std::fmt::Display for Scope {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An authenticated API client: the key that made the request, and what it may do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiClient {
    /// The key's public id.
    pub key_id: String,
    /// Whose invoice requests it sees.
    pub tenant: String,
    /// What it may do.
    pub scopes: Vec<Scope>,
    /// Its spending ceilings.
    pub policy: SpendingPolicy,
}

impl ApiClient {
    /// Whether it holds `scope`.
    pub fn has(&self, scope: Scope) -> bool {
        self.scopes.contains(&scope)
    }

    /// The command line, acting as operator (audit trail key id `cli`).
    pub fn cli() -> Self {
        Self {
            key_id: "cli".into(),
            tenant: "-".into(),
            scopes: vec![Scope::Admin],
            policy: SpendingPolicy::UNLIMITED,
        }
    }
}

/// Checks a tenant name: 1 to 64 of `A-Z a-z 0-9 . _ -`.
pub fn valid_tenant(t: &str) -> bool {
    !t.is_empty()
        && t.len() <= 64
        && t.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// Checks a key name: 1 to 128 characters, no control characters.
pub fn valid_key_name(n: &str) -> bool {
    !n.is_empty() && n.chars().count() <= 128 && !n.chars().any(char::is_control)
}
