//! Runes, simplified but strict: `base64url(SHA256(master ‖ restrictions) ‖ restrictions)`.
//!
//! The restriction text is CLN's single OR-group of `method=NAME` alternatives joined by `|`
//! (empty: unrestricted). Checking follows clnrest's answers (notes/cln-live.md §7, §9).

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE;
use sha2::{Digest, Sha256};

use crate::rpc::RpcError;

/// Why a rune was refused, with clnrest's HTTP status.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// 401 or 403.
    pub status: u16,
    /// The JSON error body.
    pub error: RpcError,
}

/// Mints a rune from the master secret for the given methods (none: every method).
pub fn mint(master: &[u8; 32], methods: &[&str]) -> String {
    let restrictions = methods
        .iter()
        .map(|m| format!("method={m}"))
        .collect::<Vec<_>>()
        .join("|");
    let mut raw = mac(master, &restrictions).to_vec();
    raw.extend_from_slice(restrictions.as_bytes());
    URL_SAFE.encode(raw)
}

fn mac(master: &[u8; 32], restrictions: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update(master);
    h.update(restrictions.as_bytes());
    h.finalize().into()
}

/// Checks the `Rune` header for a call of `method`.
pub fn check(master: &[u8; 32], rune: Option<&str>, method: &str) -> Result<(), Refusal> {
    let Some(rune) = rune else {
        return Err(Refusal {
            status: 403,
            error: RpcError::new(1501, "Not authorized: Missing rune"),
        });
    };
    let raw = URL_SAFE.decode(rune.trim()).map_err(|_| Refusal {
        status: 401,
        error: RpcError::new(
            -32602,
            "rune: should be base64 string: invalid token (see logs for details)",
        ),
    })?;
    let not_derived = || Refusal {
        status: 401,
        error: RpcError::new(1501, "Not authorized: Not derived from master"),
    };
    if raw.len() < 32 {
        return Err(not_derived());
    }
    let restrictions = std::str::from_utf8(&raw[32..]).map_err(|_| not_derived())?;
    if raw[..32] != mac(master, restrictions) {
        return Err(not_derived());
    }
    if restrictions.is_empty() {
        return Ok(());
    }
    let allowed: Vec<&str> = restrictions
        .split('|')
        .filter_map(|alt| alt.strip_prefix("method="))
        .collect();
    if allowed.contains(&method) {
        return Ok(());
    }
    let why = allowed
        .iter()
        .map(|m| format!("method is not equal to {m}"))
        .collect::<Vec<_>>()
        .join(" AND ");
    Err(Refusal {
        status: 401,
        error: RpcError::new(1502, format!("Not permitted: {why}")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rune_allows_exactly_its_methods() {
        let master = [7u8; 32];
        let rune = mint(&master, &["getinfo", "wait"]);
        assert!(check(&master, Some(&rune), "getinfo").is_ok());
        let r = check(&master, Some(&rune), "withdraw").unwrap_err();
        assert_eq!((r.status, r.error.code), (401, Some(1502)));
        assert_eq!(
            r.error.message,
            "Not permitted: method is not equal to getinfo AND method is not equal to wait"
        );
        assert_eq!(check(&master, None, "getinfo").unwrap_err().status, 403);
        let other = mint(&[8u8; 32], &["getinfo"]);
        assert_eq!(
            check(&master, Some(&other), "getinfo")
                .unwrap_err()
                .error
                .code,
            Some(1501)
        );
        assert_eq!(
            check(&master, Some("not a rune!"), "getinfo")
                .unwrap_err()
                .error
                .code,
            Some(-32602)
        );
        assert!(check(&master, Some(&mint(&master, &[])), "anything").is_ok());
    }
}
