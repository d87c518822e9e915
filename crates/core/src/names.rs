//! Parsed names: user names, PAT and service-account token names, e-mail addresses.
//!
//! Each type can only be built through `parse`, which normalises and checks once at the edge;
//! the rest of the code never re-checks strings.

use serde::Serialize;

/// Why a field was refused; the message names the rule that was broken.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct FieldError {
    pub field: &'static str,
    pub message: String,
}

impl FieldError {
    pub fn new(field: &'static str, message: impl Into<String>) -> FieldError {
        FieldError {
            field,
            message: message.into(),
        }
    }
}

fn check_charset(
    field: &'static str,
    value: &str,
    max: usize,
    allowed: fn(char) -> bool,
    rule: &str,
) -> Result<(), FieldError> {
    if value.is_empty() {
        return Err(FieldError::new(field, "must not be empty"));
    }
    if value.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if let Some(bad) = value.chars().find(|c| !allowed(*c)) {
        return Err(FieldError::new(
            field,
            format!("may only contain {rule}; found {bad:?}"),
        ));
    }
    // Names appear as path segments (`.../tokens/{name}`): "." and ".." would be resolved away
    // by every client and by Tessera's own path normalisation (RFC 3986 §5.2.4).
    if !value.chars().any(|c| c.is_ascii_alphanumeric()) {
        return Err(FieldError::new(
            field,
            "must contain at least one letter or digit",
        ));
    }
    Ok(())
}

/// `userName`: lowercase `[a-z0-9._-]`, 1–64 characters, unique.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct UserName(String);

impl UserName {
    pub fn parse(field: &'static str, raw: &str) -> Result<UserName, FieldError> {
        let value = raw.trim().to_lowercase();
        check_charset(
            field,
            &value,
            64,
            |c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'),
            "lowercase letters, digits, '.', '_' and '-'",
        )?;
        Ok(UserName(value))
    }

    /// For values read back from storage, which were parsed when written.
    pub fn from_trusted(value: String) -> UserName {
        UserName(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for UserName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A token name (PAT or service-account token): trimmed, lowercased, 1–64 of `[a-z0-9.-]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct TokenName(String);

impl TokenName {
    pub fn parse(field: &'static str, raw: &str) -> Result<TokenName, FieldError> {
        let value = raw.trim().to_lowercase();
        check_charset(
            field,
            &value,
            64,
            |c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '-'),
            "letters, digits, '.' and '-'",
        )?;
        Ok(TokenName(value))
    }

    pub fn from_trusted(value: String) -> TokenName {
        TokenName(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for TokenName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// An e-mail address: trimmed, lowercased, one `@` with text on both sides, no spaces and no
/// control characters (a look-alike `alice@example.com\u{1}` is not another address).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &'static str, raw: &str) -> Result<Email, FieldError> {
        let value = raw.trim().to_lowercase();
        let valid = value.len() <= 254
            && !value.chars().any(|c| c.is_whitespace() || c.is_control())
            && matches!(value.split_once('@'), Some((local, domain))
                if !local.is_empty() && !domain.is_empty() && !domain.contains('@')
                    && !domain.starts_with('.') && !domain.ends_with('.'));
        if valid {
            Ok(Email(value))
        } else {
            Err(FieldError::new(
                field,
                "must be an e-mail address such as name@example.com",
            ))
        }
    }

    pub fn from_trusted(value: String) -> Email {
        Email(value)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whether `c` is a control character (Unicode Cc: NUL, line breaks, DEL, C1) or an invisible
/// format or separator character that changes how text reads without showing itself: the line
/// and paragraph separators U+2028 and U+2029 (Zl, Zp) and the format characters (Cf) such as
/// the soft hyphen, the zero-width space (U+200B), the left-to-right and right-to-left marks
/// (U+200E, U+200F), the bidirectional
/// embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069, which can make
/// `resu` read as `user`), the invisible operators (U+2060-U+2064), the byte-order mark
/// (U+FEFF) and the tag characters (U+E0001, U+E0020-U+E007F). Used for text a provider
/// asserts (single sign-on claims) and for provider text quoted on pages and in the audit log.
///
/// The zero-width non-joiner and joiner (U+200C, U+200D) are not refused: Persian and Indic
/// names and emoji sequences are written with them.
pub fn is_control_or_format(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{00AD}'
                | '\u{0600}'..='\u{0605}'
                | '\u{061C}'
                | '\u{06DD}'
                | '\u{070F}'
                | '\u{0890}'..='\u{0891}'
                | '\u{08E2}'
                | '\u{180E}'
                | '\u{200B}'
                | '\u{200E}'..='\u{200F}'
                | '\u{2028}'..='\u{202E}'
                | '\u{2060}'..='\u{2064}'
                | '\u{2066}'..='\u{206F}'
                | '\u{FEFF}'
                | '\u{FFF9}'..='\u{FFFB}'
                | '\u{110BD}'
                | '\u{110CD}'
                | '\u{13430}'..='\u{1343F}'
                | '\u{1BCA0}'..='\u{1BCA3}'
                | '\u{1D173}'..='\u{1D17A}'
                | '\u{E0001}'
                | '\u{E0020}'..='\u{E007F}'
        )
}

/// Free text such as a description or a first name: trimmed, bounded, no control characters.
pub fn parse_text(field: &'static str, raw: &str, max: usize) -> Result<String, FieldError> {
    let value = raw.trim();
    if value.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if value
        .chars()
        .any(|c| c.is_control() && c != '\n' && c != '\t')
    {
        return Err(FieldError::new(
            field,
            "must not contain control characters",
        ));
    }
    Ok(value.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invisible_format_characters_are_refused_but_joiners_that_spell_names_are_not() {
        for c in [
            '\0', '\n', '\u{7F}', '\u{2028}', '\u{202E}', '\u{200B}', '\u{200F}', '\u{FEFF}',
        ] {
            assert!(is_control_or_format(c), "{c:?} is refused");
        }
        // "Mehrnāz" in Persian with a zero-width non-joiner; an emoji family with joiners.
        for text in [
            "\u{0645}\u{0647}\u{0631}\u{200C}\u{0646}\u{0627}\u{0632}",
            "\u{1F468}\u{200D}\u{1F469}",
            "Ann",
            "Zoë",
        ] {
            assert!(
                !text.chars().any(is_control_or_format),
                "{text:?} is accepted"
            );
        }
    }

    #[test]
    fn token_names_are_trimmed_and_lowercased() {
        let name = TokenName::parse("name", "  My-Token.1 ").map(|n| n.0);
        assert_eq!(name, Ok("my-token.1".to_string()));
    }

    #[test]
    fn names_made_only_of_dots_or_dashes_cannot_become_path_segments() {
        for bad in [".", "..", "._-"] {
            assert!(UserName::parse("userName", bad).is_err(), "{bad:?}");
            assert!(TokenName::parse("name", bad).is_err(), "{bad:?}");
        }
        assert!(TokenName::parse("name", "v1.2").is_ok());
        assert!(UserName::parse("userName", "j.doe").is_ok());
    }

    #[test]
    fn token_names_break_the_rules_with_a_message_naming_it() {
        for bad in [
            "",
            "   ",
            "has space",
            "under_score",
            "ümlaut",
            &"a".repeat(65),
            ".",
            "..",
            "...",
            "-.-",
        ] {
            let err = TokenName::parse("name", bad).err();
            assert!(err.is_some(), "{bad:?} should be refused");
            assert_eq!(err.map(|e| e.field), Some("name"));
        }
        assert!(TokenName::parse("name", &"a".repeat(64)).is_ok());
    }

    #[test]
    fn user_names_allow_underscore_but_not_at() {
        assert!(UserName::parse("userName", "jane_doe.2").is_ok());
        assert!(UserName::parse("userName", "jane@doe").is_err());
    }

    #[test]
    fn emails_need_one_at_with_both_sides() {
        assert!(Email::parse("email", "Jane@Example.com").is_ok());
        for bad in [
            "jane",
            "@x.com",
            "jane@",
            "a@b@c",
            "a b@c.com",
            "a@.com",
            "n\u{0}m@example.com",
            "alice@example.com\u{1}",
            "a\u{85}b@c.com",
        ] {
            assert!(Email::parse("email", bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn text_refuses_control_characters_and_overlong_values() {
        assert!(parse_text("description", "ok\ttext", 10).is_ok());
        assert!(parse_text("description", "bad\u{7}", 10).is_err());
        assert!(parse_text("description", "01234567890", 10).is_err());
    }
}
