//! `amount`: the seed's msat type, parsed exactly.
//!
//! Hand-written: no crate parses CLN's amount grammar (`msat`, `sat` with three decimals, `btc`
//! with up to eleven) with the strictness the API needs.

use serde_json::Value;

use super::error::ValidationError;

/// The largest amount that exists: 21 000 000 btc, in msat.
pub const MAX_MSAT: u64 = 21_000_000 * MSAT_PER_BTC;
const MSAT_PER_SAT: u64 = 1_000;
const MSAT_PER_BTC: u64 = 100_000_000_000;

/// A positive amount in millisatoshi, at most 21 000 000 btc.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Amount(u64);

impl Amount {
    /// Reads a JSON value: an integer (msat) or a string in the seed's formats.
    pub fn parse(value: &Value) -> Result<Self, ValidationError> {
        let msat = match value {
            Value::Number(n) => match n.as_u64() {
                Some(v) => v,
                None if n.as_i64().is_some() => return Err(invalid("must be positive")),
                None => {
                    return Err(invalid(
                        "must be a whole number of msat that fits 64 bits (use a string such as \"1.500sat\" for fractions)",
                    ));
                }
            },
            Value::String(s) => parse_str(s)?,
            Value::Null => return Err(invalid("must not be null")),
            _ => {
                return Err(invalid(
                    "must be an integer (msat) or a string such as \"10000sat\"",
                ));
            }
        };
        Self::from_msat(msat)
    }

    /// Checks a msat value: positive and at most [`MAX_MSAT`].
    pub fn from_msat(msat: u64) -> Result<Self, ValidationError> {
        if msat == 0 {
            return Err(invalid("must be positive"));
        }
        if msat > MAX_MSAT {
            return Err(invalid("must not exceed 21000000btc"));
        }
        Ok(Self(msat))
    }

    /// The amount in millisatoshi.
    pub fn msat(self) -> u64 {
        self.0
    }
}

fn invalid(reason: &str) -> ValidationError {
    ValidationError::new("amount", format!("amount {reason}"))
}

const FORMAT_HINT: &str = "must be \"<n>\", \"<n>msat\", \"<n>sat\", \"<n>.<3 digits>sat\", \"<n>btc\" or \"<n>.<1-11 digits>btc\"";

fn parse_str(s: &str) -> Result<u64, ValidationError> {
    let (number, unit, max_decimals, exact) = if let Some(n) = s.strip_suffix("msat") {
        (n, 1, 0, true)
    } else if let Some(n) = s.strip_suffix("sat") {
        (n, MSAT_PER_SAT, 3, true)
    } else if let Some(n) = s.strip_suffix("btc") {
        (n, MSAT_PER_BTC, 11, false)
    } else {
        (s, 1, 0, true)
    };
    let (whole, frac) = match number.split_once('.') {
        Some((w, f)) => (w, Some(f)),
        None => (number, None),
    };
    let whole = digits(whole).ok_or_else(|| invalid(FORMAT_HINT))?;
    let mut msat = whole
        .checked_mul(unit)
        .ok_or_else(|| invalid("is too large"))?;
    if let Some(frac) = frac {
        let len_ok = if exact {
            max_decimals > 0 && frac.len() == max_decimals
        } else {
            (1..=max_decimals).contains(&frac.len())
        };
        if !len_ok {
            return Err(invalid(FORMAT_HINT));
        }
        let f = digits(frac).ok_or_else(|| invalid(FORMAT_HINT))?;
        let scale = 10u64.pow((max_decimals - frac.len()) as u32);
        msat = msat
            .checked_add(f * scale)
            .ok_or_else(|| invalid("is too large"))?;
    }
    Ok(msat)
}

/// ASCII digits only (no sign, no spaces), as u64.
fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn accepted() {
        let cases = [
            (json!(10000), 10_000),
            (json!("10000"), 10_000),
            (json!("10000msat"), 10_000),
            (json!("10sat"), 10_000),
            (json!("1.500sat"), 1_500),
            (json!("0.00000001btc"), 1_000),
            (json!("1.12345678901btc"), 112_345_678_901),
            (json!("1btc"), 100_000_000_000),
            (json!("21000000btc"), MAX_MSAT),
            (json!(MAX_MSAT), MAX_MSAT),
            (json!("0.001sat"), 1),
        ];
        for (input, msat) in cases {
            assert_eq!(Amount::parse(&input).map(Amount::msat), Ok(msat), "{input}");
        }
    }

    #[test]
    fn rejected_naming_the_field() {
        let big: Value = serde_json::from_str("18446744073709551616").unwrap();
        let cases = [
            json!(0),
            json!("0msat"),
            json!(-1),
            json!("-1"),
            json!(1.5),
            json!("1.5sat"),
            json!("1.1234sat"),
            json!("1.123456789012btc"),
            json!("10sats"),
            json!(" 10sat"),
            json!("10 sat"),
            json!("1e3"),
            json!("10SAT"),
            json!(""),
            Value::Null,
            json!(true),
            big,
            json!("21000000.00000000001btc"),
            json!(MAX_MSAT + 1),
            json!("18446744073709551615sat"),
            json!("1.btc"),
            json!(".5btc"),
            json!("+5"),
            json!("5msat "),
            json!([1]),
            json!({"msat": 1}),
        ];
        for input in cases {
            let err = Amount::parse(&input).expect_err(&input.to_string());
            assert_eq!(err.field, "amount", "{input}");
            assert!(
                err.message.starts_with("amount "),
                "{input}: {}",
                err.message
            );
        }
    }
}
