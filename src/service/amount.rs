//! `amount`: the seed's msat type, parsed exactly.
//!
//! Hand-written: no crate parses CLN's amount grammar (`msat`, `sat` with three decimals, `btc`
//! with up to eleven) with the strictness the API needs.

use super::error::ValidationError;

/// The largest amount that exists: 21 000 000 btc, in msat.
pub const MAX_MSAT: u64 = 21_000_000 * MSAT_PER_BTC;
const MSAT_PER_SAT: u64 = 1_000;
const MSAT_PER_BTC: u64 = 100_000_000_000;

/// The amount grammar as a regular expression (the document's `pattern` for string amounts):
/// `<n>`, `<n>msat`, `<n>sat`, `<n>.<3 digits>sat`, `<n>btc` or `<n>.<1-11 digits>btc`.
pub const PATTERN: &str = r"^[0-9]+(msat|sat|btc)?$|^[0-9]+\.[0-9]{3}sat$|^[0-9]+\.[0-9]{1,11}btc$";

/// A positive amount in millisatoshi, at most 21 000 000 btc.
///
/// Deserializes from an integer (msat) or a string of the amount grammar ([`PATTERN`]);
/// serializes as its msat integer (one spelling per amount).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, serde::Serialize)]
#[serde(into = "u64")]
pub struct Amount(u64);

impl From<Amount> for u64 {
    fn from(a: Amount) -> u64 {
        a.0
    }
}

impl Amount {
    /// Reads a string of the amount grammar.
    ///
    /// # Errors
    /// `amount` when it breaks the grammar, is zero or exceeds [`MAX_MSAT`].
    pub fn parse_str(s: &str) -> Result<Self, ValidationError> {
        parse_str(s).and_then(checked).map(Self).map_err(invalid)
    }

    /// Checks a msat value: positive and at most [`MAX_MSAT`].
    ///
    /// # Errors
    /// `amount` when zero or above [`MAX_MSAT`].
    pub fn from_msat(msat: u64) -> Result<Self, ValidationError> {
        checked(msat).map(Self).map_err(invalid)
    }

    /// The amount in millisatoshi.
    pub fn msat(self) -> u64 {
        self.0
    }
}

impl<'de> serde::Deserialize<'de> for Amount {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = Amount;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an integer (msat) or a string such as \"10000sat\"")
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Amount, E> {
                checked(v).map(Amount).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Amount, E> {
                u64::try_from(v)
                    .map_err(|_| E::custom("must be positive"))
                    .and_then(|v| self.visit_u64(v))
            }
            fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<Amount, E> {
                Err(E::custom(
                    "must be a whole number of msat that fits 64 bits (use a string such as \"1.500sat\" for fractions)",
                ))
            }
            fn visit_str<E: serde::de::Error>(self, s: &str) -> Result<Amount, E> {
                parse_str(s)
                    .and_then(checked)
                    .map(Amount)
                    .map_err(E::custom)
            }
        }
        d.deserialize_any(V)
    }
}

fn checked(msat: u64) -> Result<u64, String> {
    if msat == 0 {
        return Err("must be positive".into());
    }
    if msat > MAX_MSAT {
        return Err("must not exceed 21000000btc".into());
    }
    Ok(msat)
}

fn invalid(reason: String) -> ValidationError {
    ValidationError::new("amount", format!("amount {reason}"))
}

const FORMAT_HINT: &str = "must be \"<n>\", \"<n>msat\", \"<n>sat\", \"<n>.<3 digits>sat\", \"<n>btc\" or \"<n>.<1-11 digits>btc\"";

fn parse_str(s: &str) -> Result<u64, String> {
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
    let whole = digits(whole).ok_or(FORMAT_HINT)?;
    let mut msat = whole.checked_mul(unit).ok_or("is too large")?;
    if let Some(frac) = frac {
        let len_ok = if exact {
            max_decimals > 0 && frac.len() == max_decimals
        } else {
            (1..=max_decimals).contains(&frac.len())
        };
        if !len_ok {
            return Err(FORMAT_HINT.into());
        }
        let f = digits(frac).ok_or(FORMAT_HINT)?;
        let scale = 10u64.pow((max_decimals - frac.len()) as u32);
        msat = msat.checked_add(f * scale).ok_or("is too large")?;
    }
    Ok(msat)
}

/// ASCII digits only (no sign, no spaces), as u64 (`None` also when it overflows).
fn digits(s: &str) -> Option<u64> {
    if s.is_empty() || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{Value, json};

    fn parse(v: &Value) -> Result<Amount, String> {
        serde_json::from_value(v.clone()).map_err(|e| e.to_string())
    }

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
            assert_eq!(parse(&input).map(Amount::msat), Ok(msat), "{input}");
            assert_eq!(
                serde_json::to_value(parse(&input).unwrap()).unwrap(),
                json!(msat)
            );
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
            parse(&input).expect_err(&input.to_string());
            if let Value::String(s) = &input {
                assert_eq!(Amount::parse_str(s).unwrap_err().field, "amount", "{input}");
            }
        }
    }
}
