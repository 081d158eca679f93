//! `description`, `issuer` and `label`: UTF-8 text without control characters.

use super::error::ValidationError;

/// Checks a text field: non-empty, at most `max_bytes`, no control characters.
///
/// JSON escapes are representation (the JSON parser already decoded them and refused lone
/// surrogates); what they could smuggle, control characters, is refused here.
fn checked_text(field: &str, value: String, max_bytes: usize) -> Result<String, ValidationError> {
    if value.trim().is_empty() {
        return Err(ValidationError::new(
            field,
            format!("{field} must not be empty"),
        ));
    }
    if value.len() > max_bytes {
        return Err(ValidationError::new(
            field,
            format!(
                "{field} must be at most {max_bytes} bytes of UTF-8 (got {})",
                value.len()
            ),
        ));
    }
    if let Some(c) = value.chars().find(|c| c.is_control()) {
        return Err(ValidationError::new(
            field,
            format!(
                "{field} must not contain control characters (found U+{:04X})",
                c as u32
            ),
        ));
    }
    Ok(value)
}

macro_rules! text_type {
    ($(#[$doc:meta])* $name:ident, $field:literal) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name(String);

        impl $name {
            /// Validates the text; `max_bytes` bounds its UTF-8 length.
            pub fn parse(value: String, max_bytes: usize) -> Result<Self, ValidationError> {
                checked_text($field, value, max_bytes).map(Self)
            }

            /// The text.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The text, owned.
            pub fn into_inner(self) -> String {
                self.0
            }
        }
    };
}

text_type!(
    /// What the payment is for; encoded into the `lnr1…` and visible to whoever reads it.
    Description,
    "description"
);
text_type!(
    /// Who issues the request; encoded into the `lnr1…`.
    Issuer,
    "issuer"
);
text_type!(
    /// An internal name, unique per API client; never encoded into the `lnr1…`.
    Label,
    "label"
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn description_rules() {
        let ok = [
            "simple test",
            "ATM withdrawal €5 ✓",
            "x",
            "\u{00e9}t\u{00e9}",
        ];
        for s in ok {
            assert_eq!(Description::parse(s.into(), 640).unwrap().as_str(), s);
        }
        let bad = [
            ("", "must not be empty"),
            ("   ", "must not be empty"),
            ("line\nbreak", "control characters"),
            ("nul\u{0}", "control characters"),
            ("bell\u{7}", "control characters"),
            ("c1\u{85}", "control characters"),
        ];
        for (s, why) in bad {
            let err = Description::parse(s.into(), 640).unwrap_err();
            assert_eq!(err.field, "description");
            assert!(err.message.contains(why), "{s:?}: {}", err.message);
        }
        let err = Description::parse("é".repeat(321), 640).unwrap_err();
        assert!(err.message.contains("at most 640 bytes"), "{}", err.message);
    }

    #[test]
    fn issuer_and_label_name_their_field() {
        assert_eq!(Issuer::parse("".into(), 10).unwrap_err().field, "issuer");
        assert_eq!(Label::parse("\t".into(), 10).unwrap_err().field, "label");
        assert_eq!(
            Label::parse("order 42".into(), 10).unwrap().as_str(),
            "order 42"
        );
    }
}
