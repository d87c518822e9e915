//! The input rules of `tessera-core` (`names.rs`, `password.rs`, the project and model-API
//! names, the lifetimes) written as JSON Schema, for wire structs' fields
//! (`#[schema(schema_with = rules::user_name)]`) and for path parameters, so that a generated
//! client, a form or a fuzzer knows what the server accepts. A schema here may be narrower than
//! the rule (it leaves out surrounding whitespace the server would trim), never wider.

use tessera_core::names::INVISIBLE;
use tessera_core::services::pats::ExpirationPolicy;
use utoipa::openapi::schema::{KnownFormat, Object, ObjectBuilder, SchemaFormat, Type};

/// One character that is not a control character (Unicode Cc: U+0000–U+001F, U+007F–U+009F),
/// which free text refuses (`names::parse_text`).
const PRINTABLE: &str = r"[^\u0000-\u001F\u007F-\u009F]";

/// The white space characters (Unicode White_Space outside Cc), which `str::trim` removes.
const WHITE_SPACE: &[(u32, u32)] = &[
    (0x20, 0x20),
    (0xA0, 0xA0),
    (0x1680, 0x1680),
    (0x2000, 0x200A),
    (0x2028, 0x2029),
    (0x202F, 0x202F),
    (0x205F, 0x205F),
    (0x3000, 0x3000),
];

/// One character a name may hold (`names::first_invisible`), as a class of ranges of the
/// Basic Multilingual Plane without the control characters, the `INVISIBLE` table of
/// `tessera-core` (generated from it, so the two cannot drift), the joiners U+200C-U+200D
/// (allowed by the server between non-ASCII letters, which a class cannot say), the
/// surrogates and `also_excluded`. Characters beyond U+FFFF (emoji, rare ideographs), which
/// the server accepts, are left out: regular-expression dialects spell them differently, and
/// the schema may be narrower than the rule, never wider.
fn name_char(also_excluded: &[(u32, u32)]) -> String {
    let mut excluded: Vec<(u32, u32)> = vec![
        (0x00, 0x1F),
        (0x7F, 0x9F),
        (0x200C, 0x200D),
        (0xD800, 0xDFFF),
    ];
    excluded.extend(
        INVISIBLE
            .iter()
            .map(|&(low, high)| (u32::from(low), u32::from(high)))
            .filter(|&(low, _)| low <= 0xFFFF),
    );
    excluded.extend_from_slice(also_excluded);
    excluded.sort_unstable();
    let mut class = String::from("[");
    let mut push = |low: u32, high: u32| {
        class.push_str(&format!("\\u{low:04X}"));
        if high > low {
            class.push_str(&format!("-\\u{high:04X}"));
        }
    };
    let mut next = 0;
    for (low, high) in excluded {
        if low > next {
            push(next, low - 1);
        }
        next = next.max(high + 1);
    }
    if next <= 0xFFFF {
        push(next, 0xFFFF);
    }
    class.push(']');
    class
}

/// A name's character that is not white space: what keeps trimmed text from being empty.
fn name_visible() -> String {
    name_char(WHITE_SPACE)
}

fn string(min: usize, max: usize, pattern: String, description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(min))
        .max_length(Some(max))
        .pattern(Some(pattern))
        .description(Some(description))
        .build()
}

/// `userName` (users and service accounts): 1–64 of `[a-z0-9._-]` with a letter or digit;
/// upper case is accepted and folded.
pub fn user_name() -> Object {
    string(
        1,
        64,
        "^[A-Za-z0-9._-]*[A-Za-z0-9][A-Za-z0-9._-]*$".into(),
        "1–64 letters, digits, '.', '_' and '-', with a letter or digit; stored in lower case",
    )
}

/// A token name (PAT, service-account or model token): 1–64 of `[a-z0-9.-]` with a letter or
/// digit, folded to lower case.
pub fn token_name() -> Object {
    string(
        1,
        64,
        "^[A-Za-z0-9.-]*[A-Za-z0-9][A-Za-z0-9.-]*$".into(),
        "1–64 letters, digits, '.' and '-', with a letter or digit; stored in lower case",
    )
}

/// An e-mail address: one `@` with text on both sides, no white space, a domain that neither
/// starts nor ends with a dot, no control and no invisible characters (`name_char`); at most
/// 254 characters.
pub fn email() -> Object {
    let at = u32::from('@');
    let dot = u32::from('.');
    let part = name_char(&[WHITE_SPACE, &[(at, at)]].concat());
    let edge = name_char(&[WHITE_SPACE, &[(at, at), (dot, dot)]].concat());
    let mut schema = string(
        3,
        254,
        format!("^{part}+@{edge}({part}*{edge})?$"),
        "An e-mail address such as name@example.com",
    );
    schema.format = Some(SchemaFormat::KnownFormat(KnownFormat::Email));
    schema
}

/// Free text of at most `max` characters with no control characters, such as a description.
fn text(max: usize) -> Object {
    string(
        0,
        max,
        format!("^{PRINTABLE}*$"),
        "Free text without control characters",
    )
}

/// A description: free text, at most 1,024 characters.
pub fn description() -> Object {
    text(1024)
}

/// A long description (projects, model APIs and their versions): at most 2,000 characters.
pub fn long_description() -> Object {
    text(2000)
}

/// A model server's address: an `http` or `https` URL, which `[models] allowed_upstreams` must
/// also allow.
pub fn upstream_url() -> Object {
    let mut schema = string(
        8,
        2048,
        r"^https?://[^\s\u0000-\u001F\u007F-\u009F]+$".into(),
        "An http or https URL that the server's [models] allowed_upstreams allows",
    );
    schema.format = Some(SchemaFormat::Custom("uri".into()));
    schema
}

/// A first or last name (`names::parse_display_name`): at most 128 characters on one line,
/// with no control or invisible characters (zero-width, bidirectional, filler or blank).
pub fn person_name() -> Object {
    string(
        0,
        128,
        format!("^{}*$", name_char(&[])),
        "At most 128 characters, without control or invisible characters (zero-width, bidirectional, filler, blank)",
    )
}

/// An organization's name (`names::parse_display_name`): 1–100 characters, no control or
/// invisible characters, not only white space.
pub fn organization_name() -> Object {
    let any = name_char(&[]);
    string(
        1,
        100,
        format!("^{any}*{}{any}*$", name_visible()),
        "1–100 characters without control or invisible characters (zero-width, bidirectional, filler, blank), not only white space",
    )
}

/// A project's name, as Domino allows it: 1–100 of letters, digits, '-', '_' and '.'.
pub fn project_name() -> Object {
    string(
        1,
        100,
        "^[A-Za-z0-9._-]+$".into(),
        "1–100 letters, digits, '-', '_' and '.'",
    )
}

/// A model API's name: 1–100 of letters, digits, spaces, '-', '_' and '.', not only spaces.
pub fn model_api_name() -> Object {
    string(
        1,
        100,
        "^[A-Za-z0-9 ._-]*[A-Za-z0-9._-][A-Za-z0-9 ._-]*$".into(),
        "1–100 letters, digits, spaces, '-', '_' and '.'",
    )
}

/// A password: 12–1,024 characters (`password.rs`).
pub fn password() -> Object {
    let mut schema = string(
        tessera_core::password::MIN_LENGTH,
        tessera_core::password::MAX_LENGTH,
        format!("^{PRINTABLE}*$"),
        "12–1024 characters",
    );
    schema.format = Some(SchemaFormat::KnownFormat(KnownFormat::Password));
    schema
}

/// An id: every id of the API is a UUID.
pub fn uuid() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .format(Some(SchemaFormat::Custom("uuid".into())))
        .build()
}

/// A lifetime in seconds: a whole number from 1 to the configured maximum (SPEC section 2; the
/// maximum shown is the default `[pat] max_expires_in`, the server's own answer is at
/// `GET /api/pat/v1/tokens/expiration-policy`). A float without fraction is accepted on the wire.
pub fn lifetime() -> Object {
    ObjectBuilder::new()
        .schema_type(Type::Integer)
        .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
        .minimum(Some(1))
        .maximum(Some(ExpirationPolicy::default().max_secs))
        .description(Some(
            "Seconds, from 1 to the server's maximum (see /api/pat/v1/tokens/expiration-policy)",
        ))
        .build()
}

/// One of a fixed set of words; the server also accepts them in any letter case.
fn one_of(values: &[&str], description: &str) -> Object {
    ObjectBuilder::new()
        .schema_type(Type::String)
        .enum_values(Some(values.iter().copied()))
        .description(Some(description))
        .build()
}

/// `public` or `private`. The server takes any letter case (Domino's clients send `Public`); the
/// document lists each word once, since client generators make one constant per value and
/// refuse two that differ only in case.
pub fn visibility() -> Object {
    one_of(&["public", "private"], "Who may see it; any letter case")
}

/// A model API's authorization: `restricted` (its own access tokens) or `unrestricted`.
pub fn authorization() -> Object {
    one_of(
        &["restricted", "unrestricted"],
        "Whether invocation needs one of the model API's access tokens; any letter case",
    )
}

/// A model API's kind: `sync` or `async`.
pub fn model_kind() -> Object {
    one_of(
        &["sync", "async"],
        "How the model is invoked; any letter case",
    )
}

/// A set of platform roles (Domino's), each once.
pub fn roles() -> utoipa::openapi::schema::Array {
    let names: Vec<&str> = tessera_core::roles::Role::ALL
        .iter()
        .map(|r| r.as_str())
        .collect();
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(one_of(&names, "A role name; any letter case"))
        .unique_items(true)
        .description(Some("Role names, e.g. `Practitioner`, `SysAdmin`"))
        .build()
}

/// A PAT's status, as the listings show it (`TokenStatus`); other spellings such as
/// `expiring-soon` are also accepted.
pub fn pat_status() -> Object {
    one_of(
        &["Active", "ExpiringSoon", "Expired", "Revoked"],
        "The token's status; any letter case",
    )
}

/// A signing algorithm of the realm's keys.
pub fn signing_algorithm() -> Object {
    one_of(&["RS256", "ES256", "EdDSA"], "The new key's algorithm")
}

/// A project collaborator's role (Domino's `projectRole`).
pub fn project_role() -> Object {
    one_of(
        &["Owner", "Contributor", "ResultsConsumer", "LauncherUser"],
        "The collaborator's project role; any letter case",
    )
}

/// A model API collaborator's role.
pub fn model_role() -> Object {
    one_of(
        &["viewer", "editor", "owner"],
        "The collaborator's role on the model API; any letter case",
    )
}

/// Which projects to list: those the caller owns or those they collaborate on.
pub fn relationship() -> Object {
    one_of(
        &["Owned", "Collaborating"],
        "Owned or Collaborating; any letter case",
    )
}

/// The schema of a path parameter, from its name: ids are UUIDs, `tokenName` a token name,
/// `number` a version number, `realm` a realm's name; `None` leaves the parameter as written.
pub fn path_parameter(name: &str) -> Option<Object> {
    match name {
        "tokenName" => Some(token_name()),
        "number" => Some(
            ObjectBuilder::new()
                .schema_type(Type::Integer)
                .format(Some(SchemaFormat::KnownFormat(KnownFormat::Int64)))
                .minimum(Some(1))
                .build(),
        ),
        "realm" => Some(string(
            1,
            255,
            "^[A-Za-z0-9._-]*[A-Za-z0-9][A-Za-z0-9._-]*$".into(),
            "The realm's name, `DominoRealm` by default",
        )),
        "path" => Some(forwarded_path()),
        "id" | "prediction" => Some(uuid()),
        _ if name.ends_with("Id") => Some(uuid()),
        _ => None,
    }
}

/// Bodies that take exactly one of several optional fields (a rule across fields, which the
/// handler checks with "give exactly one of ..."): `(schema name, fields)`.
pub const EXACTLY_ONE_OF: &[(&str, &[&str])] = &[(
    "NewModelCollaboratorBody",
    &["userName", "email", "organization"],
)];

/// `schema` and, in addition, exactly one of `fields` present (JSON Schema `oneOf` over
/// `required`).
pub fn exactly_one_of(
    schema: utoipa::openapi::RefOr<utoipa::openapi::schema::Schema>,
    fields: &[&str],
) -> utoipa::openapi::schema::Schema {
    use utoipa::openapi::schema::{AllOfBuilder, OneOfBuilder};
    let mut one_of = OneOfBuilder::new();
    for field in fields {
        one_of = one_of.item(ObjectBuilder::new().required(*field).build());
    }
    let one_of = utoipa::openapi::schema::Schema::OneOf(one_of.build());
    AllOfBuilder::new().item(schema).item(one_of).build().into()
}

/// The path forward authentication is asked about, as one segment here: the edge refuses what
/// could climb or hide a separator (a backslash, an escaped `/`, `%`, control characters, a
/// segment of dots, `;` path parameters), so the document lists only what it routes.
pub fn forwarded_path() -> Object {
    const SEGMENT: &str = r"[^/\\%;\u0000-\u001F\u007F-\u009F]";
    const NOT_DOT: &str = r"[^./\\%;\u0000-\u001F\u007F-\u009F]";
    string(
        1,
        1024,
        format!("^{SEGMENT}*{NOT_DOT}{SEGMENT}*$"),
        "The path below the prefix, as the proxy in front received it",
    )
}

/// A pattern for a string parameter that has none: no NUL character, which the edge refuses in
/// every query and path (`%00`).
pub const NO_NUL: &str = r"^[^\u0000]*$";

#[cfg(test)]
mod tests {
    use super::*;

    /// Whether `c` is in a class `name_char` wrote (`[\uXXXX-\uYYYY...]`), read back.
    fn in_class(class: &str, c: char) -> bool {
        let inner = class.trim_start_matches('[').trim_end_matches(']');
        inner
            .split("\\u")
            .filter(|s| !s.is_empty())
            .fold((false, None::<u32>), |(found, low), part| {
                let value = u32::from_str_radix(part.trim_end_matches('-'), 16).unwrap();
                match low {
                    Some(low) => (found || (low..=value).contains(&u32::from(c)), None),
                    None if part.ends_with('-') => (found, Some(value)),
                    None => (found || value == u32::from(c), None),
                }
            })
            .0
    }

    #[test]
    fn the_names_pattern_leaves_out_every_character_the_server_refuses() {
        let any = name_char(&[]);
        let visible = name_visible();
        for c in ['a', 'Z', 'é', 'ß', '山', 'م', '-', '\'', '\u{FFFD}'] {
            assert!(in_class(&any, c), "{c:?} in {any}");
            assert!(in_class(&visible, c), "{c:?} visible");
        }
        assert!(in_class(&any, ' ') && !in_class(&visible, ' '));
        assert!(in_class(&any, '\u{3000}') && !in_class(&visible, '\u{3000}'));
        for c in [
            '\0', '\n', '\u{85}', '\u{AD}', '\u{34F}', '\u{115F}', '\u{200B}', '\u{200C}',
            '\u{200D}', '\u{202E}', '\u{2800}', '\u{3164}', '\u{FE0F}', '\u{FEFF}', '\u{FFA0}',
        ] {
            assert!(!in_class(&any, c), "{c:?} left out of {any}");
            assert!(
                tessera_core::names::parse_display_name("n", &format!("x{c}x"), 9).is_err(),
                "the server refuses {c:?}"
            );
        }
    }
}
