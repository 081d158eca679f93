//! `description` and `issuer` (UTF-8 text without control characters) and `label` (any UTF-8
//! string but U+0000).

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
/// An internal name, unique per tenant; never encoded into the `lnr1…`. The seed's "any UTF-8
/// string": empty, tabs, newlines and any other character but U+0000 (which PostgreSQL `text`
/// cannot hold), at most [`Label::MAX_CHARS`] characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Label(String);

impl Label {
    /// The most characters (Unicode scalar values, as JSON Schema's `maxLength` counts) a label
    /// may have.
    pub const MAX_CHARS: usize = 1024;

    /// Checks a label.
    ///
    /// # Errors
    /// `label` when it holds U+0000 or has more than [`Label::MAX_CHARS`] characters.
    pub fn parse(value: String) -> Result<Self, ValidationError> {
        let chars = value.chars().count();
        if chars > Self::MAX_CHARS {
            return Err(ValidationError::new(
                "label",
                format!(
                    "label must be at most {} characters (got {chars})",
                    Self::MAX_CHARS
                ),
            ));
        }
        if value.contains('\u{0}') {
            return Err(ValidationError::new(
                "label",
                "label must not contain U+0000 (any other character is accepted)",
            ));
        }
        Ok(Self(value))
    }

    /// The label.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The label, owned.
    pub fn into_inner(self) -> String {
        self.0
    }
}

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
        for ok in [
            "order 42",
            "",
            "\t",
            "a\nb",
            &"x".repeat(300),
            &"é".repeat(1024),
        ] {
            assert_eq!(Label::parse(ok.into()).unwrap().as_str(), ok);
        }
        for bad in ["nul\u{0}", &"x".repeat(1025)] {
            assert_eq!(Label::parse(bad.into()).unwrap_err().field, "label");
        }
    }
}
