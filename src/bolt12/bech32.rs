//! BOLT12 string encoding: bech32 5-bit data **without checksum**, optionally split with
//! `+` continuations. Readers accept all-lowercase or all-uppercase; writers emit lowercase.

use std::borrow::Cow;

use lightning::bitcoin::bech32::primitives::decode::CheckedHrpstring;
use lightning::bitcoin::bech32::{self, Hrp, NoChecksum};

use super::Bolt12Error;

/// Encodes `bytes` as `hrp1<data>` in lowercase, without checksum or `+` splits.
///
/// # Panics
/// If `hrp` is not a valid bech32 human-readable part (callers pass constants like `"lnr"`).
pub fn encode_bech32_no_checksum(hrp: &str, bytes: &[u8]) -> String {
    let hrp = Hrp::parse(hrp).expect("valid bech32 hrp");
    let mut out = String::with_capacity(hrp.len() + 1 + (bytes.len() * 8).div_ceil(5));
    bech32::encode_lower_to_fmt::<NoChecksum, String>(&mut out, hrp, bytes)
        .expect("writing to a String cannot fail and NoChecksum has no length limit");
    out
}

/// Whether `c` is whitespace as BOLT 12's `+` rule means it: any Unicode `White_Space`
/// character (the six ASCII ones C's `isspace` knows — space, tab, LF, VT, FF, CR — and U+0085,
/// U+00A0, U+1680, U+2000–U+200A, U+2028, U+2029, U+202F, U+205F, U+3000).
pub fn is_continuation_whitespace(c: char) -> bool {
    c.is_whitespace()
}

/// Removes `+` continuations. BOLT 12: "if it encounters a `+` followed by zero or more
/// whitespace characters between two bech32 characters: MUST remove the `+` and whitespace".
/// A `+` with no character before it, whitespace or another `+` on its left, or nothing but
/// whitespace after it is not between two bech32 characters, and is refused; so is whitespace
/// anywhere but after a `+`.
fn strip_continuations(s: &str) -> Result<Cow<'_, str>, Bolt12Error> {
    if !s.contains('+') {
        return Ok(Cow::Borrowed(s));
    }
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars().peekable();
    let mut prev: Option<char> = None;
    while let Some(c) = chars.next() {
        if c == '+' {
            if !prev.is_some_and(|p| p.is_ascii_alphanumeric()) {
                return Err(Bolt12Error::InvalidContinuation);
            }
            while chars.next_if(|&n| is_continuation_whitespace(n)).is_some() {}
            if !chars.peek().is_some_and(char::is_ascii_alphanumeric) {
                return Err(Bolt12Error::InvalidContinuation);
            }
            prev = Some('+');
            continue;
        }
        if is_continuation_whitespace(c) {
            return Err(Bolt12Error::InvalidCharacter(
                "whitespace outside a `+` continuation".into(),
            ));
        }
        // Other characters are copied and judged by the bech32 reader.
        out.push(c);
        prev = Some(c);
    }
    Ok(Cow::Owned(out))
}

/// Decodes a BOLT12 string into its lowercase human-readable part and the data bytes.
///
/// Handles `+` continuations, rejects mixed case, invalid characters and bad padding
/// (more than 4 padding bits, or non-zero padding bits).
pub fn decode_bech32_no_checksum(s: &str) -> Result<(String, Vec<u8>), Bolt12Error> {
    let s = strip_continuations(s)?;
    let (mut lower, mut upper) = (false, false);
    for b in s.bytes() {
        lower |= b.is_ascii_lowercase();
        upper |= b.is_ascii_uppercase();
    }
    if lower && upper {
        return Err(Bolt12Error::MixedCase);
    }
    let parsed = CheckedHrpstring::new::<NoChecksum>(&s)
        .map_err(|e| Bolt12Error::InvalidCharacter(e.to_string()))?;
    parsed
        .validate_segwit_padding()
        .map_err(|_| Bolt12Error::InvalidPadding)?;
    let hrp = parsed.hrp().to_lowercase();
    let bytes: Vec<u8> = parsed.byte_iter().collect();
    Ok((hrp, bytes))
}

/// Decodes a BOLT12 string and checks that its human-readable part is `expected` (lowercase).
pub fn decode_with_hrp(s: &str, expected: &'static str) -> Result<Vec<u8>, Bolt12Error> {
    let (hrp, bytes) = decode_bech32_no_checksum(s)?;
    if hrp != expected {
        return Err(Bolt12Error::WrongHrp {
            expected,
            found: hrp,
        });
    }
    Ok(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_case() {
        let data: Vec<u8> = (0u8..=200).collect();
        let s = encode_bech32_no_checksum("lnr", &data);
        assert!(s.starts_with("lnr1"));
        assert_eq!(
            decode_bech32_no_checksum(&s).unwrap(),
            ("lnr".into(), data.clone())
        );
        assert_eq!(
            decode_bech32_no_checksum(&s.to_uppercase()).unwrap(),
            ("lnr".into(), data.clone())
        );
        let mut mixed = s.clone();
        mixed.replace_range(5..6, &s[5..6].to_uppercase());
        if mixed != s {
            assert_eq!(
                decode_bech32_no_checksum(&mixed),
                Err(Bolt12Error::MixedCase)
            );
        }
        assert!(decode_bech32_no_checksum("lnr1qqq b").is_err());
        assert!(decode_with_hrp(&s, "lno").is_err());
        assert_eq!(
            decode_bech32_no_checksum("lnr1").unwrap().1,
            Vec::<u8>::new()
        );
    }

    #[test]
    fn continuations() {
        let data = [1u8, 2, 3, 4, 5, 6, 7, 8];
        let s = encode_bech32_no_checksum("lnr", &data);
        let split = format!("{}+ \n{}", &s[..6], &s[6..]);
        assert_eq!(decode_bech32_no_checksum(&split).unwrap().1, data);
        for bad in [
            format!("{s}+"),
            format!("+{s}"),
            format!("{}++{}", &s[..6], &s[6..]),
            format!("{} +{}", &s[..6], &s[6..]),
        ] {
            assert!(decode_bech32_no_checksum(&bad).is_err(), "{bad:?}");
        }
    }
}
