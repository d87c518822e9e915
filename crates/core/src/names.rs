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

/// An e-mail address: trimmed, lowercased, one `@` with text on both sides, no spaces, no
/// control and no invisible characters ([`first_invisible`]: a look-alike
/// `alice@example.com\u{1}` or `al\u{200B}ice@example.com` is not another address).
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(transparent)]
pub struct Email(String);

impl Email {
    pub fn parse(field: &'static str, raw: &str) -> Result<Email, FieldError> {
        let value = raw.trim().to_lowercase();
        if let Some(c) = first_invisible(&value) {
            return Err(FieldError::new(field, invisible_message(c)));
        }
        let valid = value.len() <= 254
            && !value.chars().any(char::is_whitespace)
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

/// The characters a name may not hold besides the control characters (Unicode Cc), as
/// inclusive ranges, sorted: everything that changes how text reads without showing itself.
/// Written from the Unicode Character Database 16.0 (a fact, not a choice):
/// - the format characters (General_Category Cf): the soft hyphen U+00AD, the prepended
///   concatenation marks (U+0600-U+0605, U+06DD, U+070F, U+0890-U+0891, U+08E2, U+110BD,
///   U+110CD), the Arabic letter mark U+061C, the zero-width space U+200B, the left-to-right
///   and right-to-left marks U+200E-U+200F, the bidirectional embeddings, overrides and
///   isolates (U+202A-U+202E, U+2066-U+2069: `resu` can read as `user`), the invisible operators
///   U+2060-U+2064, the byte-order mark U+FEFF, the interlinear annotations U+FFF9-U+FFFB, the
///   Egyptian hieroglyph format controls U+13430-U+1343F, the shorthand format controls
///   U+1BCA0-U+1BCA3, the musical formatting U+1D173-U+1D17A and the tag characters;
/// - the line and paragraph separators U+2028 and U+2029 (Zl, Zp);
/// - the rest of Default_Ignorable_Code_Point (DerivedCoreProperties.txt; UTS #39 §3.3 has
///   identifiers drop them), which are not Cf: the combining grapheme joiner U+034F, the Hangul
///   fillers U+115F, U+1160, U+3164 and U+FFA0, the Khmer inherent vowels U+17B4-U+17B5, the
///   Mongolian free variation selectors U+180B-U+180F, the variation selectors U+FE00-U+FE0F
///   and U+E0100-U+E01EF (within U+E0000-U+E0FFF), and the reserved U+2065 and U+FFF0-U+FFF8;
/// - characters that draw nothing though the property does not say so: the braille pattern
///   blank U+2800 and the musical symbol null notehead U+1D159 (both used to fake empty names).
///
/// The zero-width non-joiner and joiner (U+200C, U+200D) are default-ignorable too but are not
/// here: Persian, Urdu and the Indic scripts spell words with them, and emoji sequences join
/// with U+200D. [`first_invisible`] refuses them only where they cannot do that work, and
/// likewise lets a variation selector follow a visible non-ASCII character (`❤️` is U+2764
/// U+FE0F: an ordinary emoji), where it chooses how that character is drawn.
/// Ordinary spaces (U+0020, U+00A0, U+3000...) show as space and are allowed.
pub const INVISIBLE: &[(char, char)] = &[
    ('\u{00AD}', '\u{00AD}'),
    ('\u{034F}', '\u{034F}'),
    ('\u{0600}', '\u{0605}'),
    ('\u{061C}', '\u{061C}'),
    ('\u{06DD}', '\u{06DD}'),
    ('\u{070F}', '\u{070F}'),
    ('\u{0890}', '\u{0891}'),
    ('\u{08E2}', '\u{08E2}'),
    ('\u{115F}', '\u{1160}'),
    ('\u{17B4}', '\u{17B5}'),
    ('\u{180B}', '\u{180F}'),
    ('\u{200B}', '\u{200B}'),
    ('\u{200E}', '\u{200F}'),
    ('\u{2028}', '\u{202E}'),
    ('\u{2060}', '\u{206F}'),
    ('\u{2800}', '\u{2800}'),
    ('\u{3164}', '\u{3164}'),
    ('\u{FE00}', '\u{FE0F}'),
    ('\u{FEFF}', '\u{FEFF}'),
    ('\u{FFA0}', '\u{FFA0}'),
    ('\u{FFF0}', '\u{FFFB}'),
    ('\u{110BD}', '\u{110BD}'),
    ('\u{110CD}', '\u{110CD}'),
    ('\u{13430}', '\u{1343F}'),
    ('\u{1BCA0}', '\u{1BCA3}'),
    ('\u{1D159}', '\u{1D159}'),
    ('\u{1D173}', '\u{1D17A}'),
    ('\u{E0000}', '\u{E0FFF}'),
];

/// The zero-width non-joiner and joiner, allowed only between two visible non-ASCII
/// characters (see [`first_invisible`]).
const JOINERS: [char; 2] = ['\u{200C}', '\u{200D}'];

/// The variation selectors U+FE00-U+FE0F and U+E0100-U+E01EF (allowed only after a visible
/// non-ASCII character, see [`first_invisible`]).
fn is_variation_selector(c: char) -> bool {
    matches!(c, '\u{FE00}'..='\u{FE0F}' | '\u{E0100}'..='\u{E01EF}')
}

/// Whether `c` is a control character (Unicode Cc: NUL, line breaks, DEL, C1) or one of the
/// [`INVISIBLE`] characters. Used per character where text is cleaned rather than refused
/// (provider text quoted on pages and in the audit log); text that is refused goes through
/// [`first_invisible`], which also places the joiners.
pub fn is_invisible(c: char) -> bool {
    c.is_control()
        || INVISIBLE
            .binary_search_by(|&(low, high)| {
                if high < c {
                    std::cmp::Ordering::Less
                } else if low > c {
                    std::cmp::Ordering::Greater
                } else {
                    std::cmp::Ordering::Equal
                }
            })
            .is_ok()
}

/// The first character of `text` that a name or a provider's claim may not hold: a control or
/// [`INVISIBLE`] character, or a zero-width non-joiner or joiner (U+200C, U+200D) that is not
/// between two visible non-ASCII characters. Between Persian or Devanagari letters, or emoji,
/// a joiner does its work; next to an ASCII character, at either end or beside another joiner
/// it does nothing but make `ad\u{200D}min` look like `admin` (the contextual rule of
/// RFC 5892 Appendix A.1-A.2, simplified to what needs no script tables). `None` when the text
/// is clean.
pub fn first_invisible(text: &str) -> Option<char> {
    let chars: Vec<char> = text.chars().collect();
    let visible_non_ascii = |c: Option<&char>| {
        c.is_some_and(|c| !c.is_ascii() && !is_invisible(*c) && !JOINERS.contains(c))
    };
    chars.iter().enumerate().find_map(|(i, &c)| {
        let refused = if JOINERS.contains(&c) {
            !(i > 0 && visible_non_ascii(chars.get(i - 1)) && visible_non_ascii(chars.get(i + 1)))
        } else if is_variation_selector(c) {
            // Chooses the look of the character before it (an emoji's colour presentation):
            // allowed after a visible non-ASCII character, where it does that, and nowhere
            // else (after `admin` it only hides in the name). Found by the fifth review of #17.
            !(i > 0 && visible_non_ascii(chars.get(i - 1)))
        } else {
            is_invisible(c)
        };
        refused.then_some(c)
    })
}

/// The message for a text holding `c` ([`first_invisible`]), naming the code point.
fn invisible_message(c: char) -> String {
    format!(
        "must not contain control characters or invisible characters (zero-width, bidirectional, blank or filler characters); found U+{:04X}",
        u32::from(c)
    )
}

/// A name people read (a first or last name, an organisation's name): trimmed, at most `max`
/// characters, on one line, with nothing invisible ([`first_invisible`]). The one rule for
/// names typed by an administrator, by a user on their profile, or asserted by an identity
/// provider (`crate::sso::check_text_claim`). May be empty; the caller refuses that if needed.
pub fn parse_display_name(
    field: &'static str,
    raw: &str,
    max: usize,
) -> Result<String, FieldError> {
    let value = raw.trim();
    if value.chars().count() > max {
        return Err(FieldError::new(
            field,
            format!("must be at most {max} characters"),
        ));
    }
    if let Some(c) = first_invisible(value) {
        return Err(FieldError::new(field, invisible_message(c)));
    }
    Ok(value.to_string())
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

    /// Every kind of invisible character, each refused in a name (found by the fourth review
    /// of #17: U+3164, U+034F, variation selectors and the braille blank passed).
    const REFUSED: &[(char, &str)] = &[
        ('\0', "NUL"),
        ('\n', "line feed"),
        ('\t', "tab"),
        ('\u{7F}', "DEL"),
        ('\u{85}', "next line (C1)"),
        ('\u{AD}', "soft hyphen"),
        ('\u{34F}', "combining grapheme joiner"),
        ('\u{61C}', "Arabic letter mark"),
        ('\u{115F}', "Hangul choseong filler"),
        ('\u{1160}', "Hangul jungseong filler"),
        ('\u{17B4}', "Khmer vowel inherent aq"),
        ('\u{17B5}', "Khmer vowel inherent aa"),
        ('\u{180B}', "Mongolian free variation selector one"),
        ('\u{180E}', "Mongolian vowel separator"),
        ('\u{180F}', "Mongolian free variation selector four"),
        ('\u{200B}', "zero-width space"),
        ('\u{200E}', "left-to-right mark"),
        ('\u{200F}', "right-to-left mark"),
        ('\u{2028}', "line separator"),
        ('\u{2029}', "paragraph separator"),
        ('\u{202E}', "right-to-left override"),
        ('\u{2060}', "word joiner"),
        ('\u{2066}', "left-to-right isolate"),
        ('\u{2800}', "braille pattern blank"),
        ('\u{3164}', "Hangul filler"),
        ('\u{FE00}', "variation selector 1"),
        ('\u{FE0F}', "variation selector 16"),
        ('\u{FEFF}', "byte-order mark"),
        ('\u{FFA0}', "halfwidth Hangul filler"),
        ('\u{FFF9}', "interlinear annotation anchor"),
        ('\u{1D159}', "musical symbol null notehead"),
        ('\u{1D173}', "musical symbol begin beam"),
        ('\u{E0001}', "language tag"),
        ('\u{E0041}', "tag latin capital A"),
        ('\u{E0100}', "variation selector 17"),
        ('\u{E01EF}', "variation selector 256"),
    ];

    /// Names in scripts that need more than ASCII, all accepted: accents, CJK, Arabic, Persian
    /// with a zero-width non-joiner, Devanagari with a joiner, an emoji family with joiners.
    const ACCEPTED: &[&str] = &[
        "Zoë",
        "Jörg Müller-Ünal",
        "François",
        "山田 太郎",
        "김민수",
        "محمد",
        "\u{0645}\u{0647}\u{0631}\u{200C}\u{0646}\u{0627}\u{0632}",
        "\u{0915}\u{094D}\u{200D}\u{0937}",
        "\u{1F468}\u{200D}\u{1F469}",
        "Ann \u{2764}\u{FE0F}",
        "\u{845B}\u{E0100}",
        "O'Brien",
        "Ann\u{3000}Lee",
    ];

    #[test]
    fn every_invisible_character_is_refused_in_a_name_naming_the_field_and_the_code_point() {
        for &(c, what) in REFUSED {
            assert!(is_invisible(c), "{what}");
            for text in [format!("An{c}n"), format!("{c}Ann"), format!("Ann{c}")] {
                let refused = parse_display_name("firstName", &format!("x{text}x"), 128);
                let err = refused.expect_err(what);
                assert_eq!(err.field, "firstName", "{what}");
                assert!(
                    err.message.contains(&format!("U+{:04X}", u32::from(c))),
                    "{what}: {}",
                    err.message
                );
            }
            assert_eq!(first_invisible(&format!("a{c}")), Some(c), "{what}");
            assert!(
                Email::parse("email", &format!("a{c}b@example.com")).is_err(),
                "{what}"
            );
        }
        // A name made only of blank or filler characters is refused, not stored as "nothing".
        assert!(parse_display_name("name", "\u{3164}\u{2800}", 100).is_err());
    }

    #[test]
    fn names_in_every_script_are_accepted_joiners_included() {
        for &name in ACCEPTED {
            assert_eq!(first_invisible(name), None, "{name:?}");
            assert_eq!(
                parse_display_name("firstName", name, 128).as_deref(),
                Ok(name)
            );
        }
        assert_eq!(
            parse_display_name("lastName", "  Smith ", 128).as_deref(),
            Ok("Smith")
        );
        assert!(parse_display_name("lastName", &"é".repeat(129), 128).is_err());
        assert!(parse_display_name("lastName", &"é".repeat(128), 128).is_ok());
    }

    #[test]
    fn joiners_are_refused_where_they_join_nothing() {
        for bad in [
            "ad\u{200D}min",
            "ad\u{200C}min",
            "\u{200D}\u{0645}",
            "\u{0645}\u{200C}",
            "\u{0645}\u{200C}\u{200C}\u{0646}",
            "\u{0645}\u{200C}n",
            "\u{200D}",
        ] {
            assert!(first_invisible(bad).is_some(), "{bad:?}");
        }
    }

    #[test]
    fn the_table_is_sorted_and_its_ranges_do_not_overlap() {
        for pair in INVISIBLE.windows(2) {
            assert!(pair[0].0 <= pair[0].1 && pair[0].1 < pair[1].0, "{pair:?}");
        }
        assert!(!is_invisible('a') && !is_invisible(' ') && !is_invisible('\u{202F}'));
        assert!(!is_invisible('\u{200C}') && !is_invisible('\u{200D}'));
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
