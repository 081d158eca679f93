//! A create request, validated on construction.

use serde_json::{Map, Value};

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
    /// The longest label, in UTF-8 bytes.
    pub max_label_bytes: usize,
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
            max_label_bytes: 256,
            max_expiry_secs: None,
            default_expiry_secs: None,
        }
    }
}

/// The request fields: the seed's, and `claim_page`; anything else is refused.
pub const FIELDS: [&str; 7] = [
    "amount",
    "description",
    "issuer",
    "label",
    "absolute_expiry",
    "single_use",
    "claim_page",
];

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
    /// Validates a JSON object of the seed's request fields, at the time `now` (seconds).
    pub fn parse(
        body: &Map<String, Value>,
        limits: &Limits,
        now: u64,
    ) -> Result<Self, ValidationError> {
        if let Some(unknown) = body.keys().find(|k| !FIELDS.contains(&k.as_str())) {
            return Err(ValidationError::new(
                unknown.clone(),
                format!(
                    "unknown field {unknown:?}; the fields are {}",
                    FIELDS.join(", ")
                ),
            ));
        }
        let amount = Amount::parse(body.get("amount").ok_or_else(|| missing("amount"))?)?;
        if amount.msat() > limits.max_amount_msat {
            return Err(ValidationError::new(
                "amount",
                format!(
                    "amount must not exceed {}msat on this server",
                    limits.max_amount_msat
                ),
            ));
        }
        let description = match body.get("description") {
            None | Some(Value::Null) => return Err(missing("description")),
            Some(v) => Description::parse(string("description", v)?, limits.max_text_bytes)?,
        };
        let issuer = optional_string(body, "issuer")?
            .map(|s| Issuer::parse(s, limits.max_text_bytes))
            .transpose()?;
        let label = optional_string(body, "label")?
            .map(|s| Label::parse(s, limits.max_label_bytes))
            .transpose()?;
        let absolute_expiry = match body.get("absolute_expiry") {
            None | Some(Value::Null) => limits.default_expiry_secs.map(|s| now.saturating_add(s)),
            Some(v) => Some(expiry(v, limits, now)?),
        };
        let single_use = boolean(body, "single_use", true)?;
        let claim_page = boolean(body, "claim_page", false)?;
        Ok(Self {
            amount,
            description,
            issuer,
            label,
            absolute_expiry,
            single_use,
            claim_page,
        })
    }
}

fn boolean(body: &Map<String, Value>, field: &str, default: bool) -> Result<bool, ValidationError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(ValidationError::new(
            field,
            format!("{field} must be true or false"),
        )),
    }
}

fn missing(field: &str) -> ValidationError {
    ValidationError::new(field, format!("{field} is required"))
}

fn string(field: &str, v: &Value) -> Result<String, ValidationError> {
    match v {
        Value::String(s) => Ok(s.clone()),
        _ => Err(ValidationError::new(
            field,
            format!("{field} must be a string"),
        )),
    }
}

fn optional_string(
    body: &Map<String, Value>,
    field: &str,
) -> Result<Option<String>, ValidationError> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(None),
        Some(v) => string(field, v).map(Some),
    }
}

/// Stored as a signed 64-bit integer: later than this is refused.
const MAX_EXPIRY: u64 = i64::MAX as u64;

fn expiry(v: &Value, limits: &Limits, now: u64) -> Result<u64, ValidationError> {
    let field = "absolute_expiry";
    let secs = v.as_u64().filter(|s| *s <= MAX_EXPIRY).ok_or_else(|| {
        ValidationError::new(
            field,
            "absolute_expiry must be a whole number of seconds since 1970",
        )
    })?;
    if secs <= now {
        return Err(ValidationError::new(
            field,
            format!("absolute_expiry must lie in the future (now is {now})"),
        ));
    }
    if let Some(max) = limits.max_expiry_secs
        && secs > now.saturating_add(max)
    {
        return Err(ValidationError::new(
            field,
            format!("absolute_expiry must be at most {max} seconds from now on this server"),
        ));
    }
    Ok(secs)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const NOW: u64 = 1_800_000_000;

    fn parse(v: Value) -> Result<NewInvoiceRequest, ValidationError> {
        NewInvoiceRequest::parse(v.as_object().unwrap(), &Limits::default(), NOW)
    }

    #[test]
    fn seed_request_with_defaults() {
        let r = parse(json!({"amount": "10000sat", "description": "simple test", "issuer": "clightning test suite"})).unwrap();
        assert_eq!(r.amount.msat(), 10_000_000);
        assert_eq!(r.description.as_str(), "simple test");
        assert_eq!(r.issuer.unwrap().as_str(), "clightning test suite");
        assert!(r.single_use);
        assert!(!r.claim_page);
        assert_eq!(r.label, None);
        assert_eq!(r.absolute_expiry, None);
    }

    #[test]
    fn each_rule_names_its_field() {
        let cases = [
            (json!({"description": "x"}), "amount"),
            (json!({"amount": 1}), "description"),
            (json!({"amount": 1, "description": null}), "description"),
            (json!({"amount": 1, "description": 5}), "description"),
            (json!({"amount": 1, "description": ""}), "description"),
            (
                json!({"amount": 1, "description": "x", "issuer": 1}),
                "issuer",
            ),
            (
                json!({"amount": 1, "description": "x", "label": ""}),
                "label",
            ),
            (
                json!({"amount": 1, "description": "x", "single_use": "yes"}),
                "single_use",
            ),
            (
                json!({"amount": 1, "description": "x", "absolute_expiry": NOW}),
                "absolute_expiry",
            ),
            (
                json!({"amount": 1, "description": "x", "absolute_expiry": -5}),
                "absolute_expiry",
            ),
            (
                json!({"amount": 1, "description": "x", "absolute_expiry": "1900000000"}),
                "absolute_expiry",
            ),
            (
                json!({"amount": 1, "description": "x", "absolute_expiry": 1.9e9}),
                "absolute_expiry",
            ),
            (
                json!({"amount": 1, "description": "x", "absolute_expiry": u64::MAX}),
                "absolute_expiry",
            ),
            (
                json!({"amount": 1, "description": "x", "claim_page": 1}),
                "claim_page",
            ),
            (
                json!({"amount": 1, "description": "x", "colour": "red"}),
                "colour",
            ),
        ];
        for (body, field) in cases {
            let err = parse(body.clone()).expect_err(&body.to_string());
            assert_eq!(err.field, field, "{body}: {}", err.message);
        }
    }

    #[test]
    fn server_limits() {
        let limits = Limits {
            max_amount_msat: 1000,
            max_expiry_secs: Some(60),
            default_expiry_secs: Some(30),
            ..Limits::default()
        };
        let body = |v: Value| v.as_object().unwrap().clone();
        let p = |v| NewInvoiceRequest::parse(&body(v), &limits, NOW);
        assert!(p(json!({"amount": 1000, "description": "x"})).is_ok());
        assert_eq!(
            p(json!({"amount": 1001, "description": "x"}))
                .unwrap_err()
                .field,
            "amount"
        );
        assert!(p(json!({"amount": 1, "description": "x", "absolute_expiry": NOW + 60})).is_ok());
        assert_eq!(
            p(json!({"amount": 1, "description": "x", "absolute_expiry": NOW + 61}))
                .unwrap_err()
                .field,
            "absolute_expiry"
        );
        assert_eq!(
            p(json!({"amount": 1, "description": "x"}))
                .unwrap()
                .absolute_expiry,
            Some(NOW + 30)
        );
    }
}
