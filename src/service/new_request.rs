//! A create request, validated on construction.

use super::amount::Amount;
use super::error::ValidationError;
use super::text::{Description, Issuer, Label};

/// Limits that the configuration puts on a create request.
#[derive(Debug, Clone)]
pub struct Limits {
    /// The largest amount a single request may ask for.
    pub max_amount_msat: u64,
    /// The longest description or issuer, in UTF-8 bytes.
    pub max_text_bytes: usize,
    /// The latest expiry a request may ask for, in seconds from now (`None`: no limit).
    pub max_expiry_secs: Option<u64>,
    /// Expiry applied when the client gives none, in seconds from now (`None`: none).
    pub default_expiry_secs: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_amount_msat: super::amount::MAX_MSAT,
            max_text_bytes: 640,
            max_expiry_secs: None,
            default_expiry_secs: None,
        }
    }
}

/// The latest `absolute_expiry` there is: the store keeps seconds as a signed 64-bit integer.
pub const MAX_EXPIRY_SECS: u64 = i64::MAX as u64;

/// The most seconds from now a server setting (`--max-expiry-secs`, `--default-expiry-secs`)
/// may name: a hundred years. Larger values would overflow `now + secs`, or make every request
/// expire at once where they wrap; they are refused at start-up.
pub const MAX_EXPIRY_SETTING_SECS: u64 = 100 * 366 * 24 * 3600;

impl Limits {
    /// Checks the settings themselves, at start-up.
    ///
    /// # Errors
    /// A sentence naming the setting and its bound when an expiry setting exceeds
    /// [`MAX_EXPIRY_SETTING_SECS`] or is zero, or the default expiry passes the maximum.
    pub fn check(&self) -> Result<(), String> {
        for (name, v) in [
            ("--max-expiry-secs", self.max_expiry_secs),
            ("--default-expiry-secs", self.default_expiry_secs),
        ] {
            if let Some(v) = v
                && !(1..=MAX_EXPIRY_SETTING_SECS).contains(&v)
            {
                return Err(format!(
                    "{name} must be from 1 to {MAX_EXPIRY_SETTING_SECS} seconds (a hundred years); got {v}"
                ));
            }
        }
        if let (Some(d), Some(m)) = (self.default_expiry_secs, self.max_expiry_secs)
            && d > m
        {
            return Err(format!(
                "--default-expiry-secs ({d}) must not exceed --max-expiry-secs ({m})"
            ));
        }
        if self.max_amount_msat == 0 {
            return Err("--max-amount-msat must be positive".into());
        }
        Ok(())
    }
}

/// A valid request to create an invoice request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewInvoiceRequest {
    /// What will be paid.
    pub amount: Amount,
    /// What for.
    pub description: Description,
    /// Who promises it.
    pub issuer: Option<Issuer>,
    /// The client's own name for it.
    pub label: Option<Label>,
    /// Seconds since 1970 after which it is no longer valid.
    pub absolute_expiry: Option<u64>,
    /// Whether it becomes inactive after one payment (default `true`).
    pub single_use: bool,
    /// Whether it gets a claim page, `/claim/<token>` (default `false`).
    pub claim_page: bool,
}

impl NewInvoiceRequest {
    /// Applies this server's limits at the time `now` (seconds since 1970): the largest amount,
    /// the longest texts, the expiry window, and the default expiry when none was asked for.
    ///
    /// # Errors
    /// The field that passes a limit, naming the limit.
    pub fn within(mut self, limits: &Limits, now: u64) -> Result<Self, ValidationError> {
        if self.amount.msat() > limits.max_amount_msat {
            return Err(ValidationError::new(
                "amount",
                format!(
                    "amount must not exceed {}msat on this server",
                    limits.max_amount_msat
                ),
            ));
        }
        for (field, text) in [
            ("description", Some(self.description.as_str())),
            ("issuer", self.issuer.as_ref().map(Issuer::as_str)),
        ] {
            if let Some(t) = text
                && t.len() > limits.max_text_bytes
            {
                return Err(ValidationError::new(
                    field,
                    format!(
                        "{field} must be at most {} bytes of UTF-8 on this server (got {})",
                        limits.max_text_bytes,
                        t.len()
                    ),
                ));
            }
        }
        self.absolute_expiry = match self.absolute_expiry {
            None => limits.default_expiry_secs.map(|s| now.saturating_add(s)),
            Some(secs) => Some(expiry(secs, limits, now)?),
        };
        Ok(self)
    }
}

fn expiry(secs: u64, limits: &Limits, now: u64) -> Result<u64, ValidationError> {
    let field = "absolute_expiry";
    if secs <= now {
        return Err(ValidationError::new(
            field,
            format!("absolute_expiry must lie in the future (now is {now})"),
        ));
    }
    let latest = match limits.max_expiry_secs {
        Some(max) => now.saturating_add(max).min(MAX_EXPIRY_SECS),
        None => MAX_EXPIRY_SECS,
    };
    if secs > latest {
        return Err(ValidationError::new(
            field,
            format!(
                "absolute_expiry is too far in the future (at most {latest} on this server now)"
            ),
        ));
    }
    Ok(secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: u64 = 1_800_000_000;

    fn req(absolute_expiry: Option<u64>) -> NewInvoiceRequest {
        NewInvoiceRequest {
            amount: Amount::from_msat(1000).unwrap(),
            description: Description::parse("x".into(), usize::MAX).unwrap(),
            issuer: None,
            label: None,
            absolute_expiry,
            single_use: true,
            claim_page: false,
        }
    }

    #[test]
    fn server_limits_name_their_bound() {
        let limits = Limits {
            max_amount_msat: 999,
            ..Limits::default()
        };
        let e = req(None).within(&limits, NOW).unwrap_err();
        assert_eq!(
            (e.field.as_str(), e.message.contains("999msat")),
            ("amount", true)
        );
        let limits = Limits {
            max_expiry_secs: Some(60),
            default_expiry_secs: Some(30),
            ..Limits::default()
        };
        assert!(req(Some(NOW + 60)).within(&limits, NOW).is_ok());
        let e = req(Some(NOW + 61)).within(&limits, NOW).unwrap_err();
        assert_eq!(e.field, "absolute_expiry");
        assert!(
            e.message.contains(&format!("at most {}", NOW + 60)),
            "{}",
            e.message
        );
        let e = req(Some(NOW)).within(&limits, NOW).unwrap_err();
        assert!(e.message.contains("in the future"), "{}", e.message);
        assert_eq!(
            req(None).within(&limits, NOW).unwrap().absolute_expiry,
            Some(NOW + 30)
        );
        let e = req(Some(MAX_EXPIRY_SECS + 1))
            .within(&Limits::default(), NOW)
            .unwrap_err();
        assert!(
            e.message
                .contains(&format!("too far in the future (at most {MAX_EXPIRY_SECS}")),
            "{}",
            e.message
        );
    }

    #[test]
    fn settings_that_overflow_are_refused() {
        let with = |d: Option<u64>, m: Option<u64>| Limits {
            default_expiry_secs: d,
            max_expiry_secs: m,
            ..Limits::default()
        };
        assert!(with(Some(3600), Some(86400)).check().is_ok());
        assert!(with(None, None).check().is_ok());
        let e = with(Some(u64::MAX), None).check().unwrap_err();
        assert!(e.contains("--default-expiry-secs"), "{e}");
        assert!(with(None, Some(u64::MAX - 5)).check().is_err());
        assert!(with(Some(0), None).check().is_err());
        assert!(with(Some(100), Some(10)).check().is_err());
    }
}
