//! Finding one entry of a list by what the user typed: its id, or its name (compared as the
//! server stores names: trimmed and lowercased). A revoked PAT keeps its name, so after a
//! rotation two tokens share it: a name then means the one still live. A name can look like
//! another entry's id (PAT names allow UUID spelling), so a word matching two entries is
//! ambiguous, never a guess.

use super::ClientError;
use super::output::one_line;

/// How to read an entry: its id, its name, and whether it is live (not revoked).
pub struct Fields<T> {
    pub id: fn(&T) -> &str,
    pub name: fn(&T) -> &str,
    pub live: fn(&T) -> bool,
}

/// The entry of `entries` whose id or name is `typed`; of several sharing a name, the only
/// live one. `what` names the kind (`"token"`), `hint` the command that lists them.
/// Errors: [`ClientError::Failed`] when none matches, or more than one.
pub fn one<'a, T>(
    entries: &'a [T],
    typed: &str,
    fields: Fields<T>,
    what: &str,
    hint: &str,
) -> Result<&'a T, ClientError> {
    let Fields { id, name, live } = fields;
    let wanted = typed.trim().to_lowercase();
    let mut named: Vec<usize> = (0..entries.len())
        .filter(|i| name(&entries[*i]) == wanted)
        .collect();
    let live_named: Vec<usize> = named
        .iter()
        .copied()
        .filter(|i| live(&entries[*i]))
        .collect();
    if named.len() > 1 && !live_named.is_empty() {
        named = live_named;
    }
    let mut found: Vec<usize> = (0..entries.len())
        .filter(|i| id(&entries[*i]).eq_ignore_ascii_case(&wanted))
        .chain(named)
        .collect();
    found.sort_unstable();
    found.dedup();
    let matches: Vec<&T> = found.iter().map(|i| &entries[*i]).collect();
    match matches.as_slice() {
        [one] => Ok(one),
        [] => Err(ClientError::Failed(format!(
            "no {what} has the id or name \"{}\"; `{hint}` shows them",
            one_line(typed)
        ))),
        many => Err(ClientError::Failed(format!(
            "\"{}\" is ambiguous: it matches the {what}s {}; give the id",
            one_line(typed),
            many.iter()
                .map(|e| format!("{} (id {})", one_line(name(e)), one_line(id(e))))
                .collect::<Vec<_>>()
                .join(" and ")
        ))),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    const A: &str = "0190c6a2-7d1e-7c3a-9a55-1f0e2d3c4b5a";
    const B: &str = "0190c6a2-7d1e-7c3a-9a55-1f0e2d3c4b5b";

    type Entry<'a> = (&'a str, &'a str, bool);

    fn find<'a>(entries: &'a [Entry<'a>], typed: &str) -> Result<&'a str, String> {
        let fields: Fields<Entry<'a>> = Fields {
            id: |e| e.0,
            name: |e| e.1,
            live: |e| e.2,
        };
        one(entries, typed, fields, "token", "tessera pat list")
            .map(|e| e.0)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn an_entry_is_found_by_its_id_in_any_case_or_by_its_name_as_the_server_spells_it() {
        let entries = [(A, "ci", true), (B, "laptop", true)];
        assert_eq!(find(&entries, A), Ok(A));
        assert_eq!(find(&entries, &B.to_uppercase()), Ok(B));
        assert_eq!(find(&entries, " Laptop "), Ok(B));
    }

    #[test]
    fn an_unknown_word_is_an_error_pointing_at_the_list() {
        let error = find(&[(A, "ci", true)], "nope").unwrap_err();
        assert!(error.contains("\"nope\""), "{error}");
        assert!(error.contains("tessera pat list"), "{error}");
    }

    #[test]
    fn a_name_spelled_as_another_entry_s_id_is_ambiguous() {
        let entries = [(A, "ci", true), (B, A, true)];
        let error = find(&entries, A).unwrap_err();
        assert!(error.contains("ambiguous"), "{error}");
        assert!(error.contains(B), "{error}");
    }

    #[test]
    fn a_name_shared_with_revoked_tokens_means_the_live_one_and_two_live_ones_are_ambiguous() {
        let rotated = [(A, "ci", false), (B, "ci", true)];
        assert_eq!(find(&rotated, "ci"), Ok(B));
        assert_eq!(find(&rotated, A), Ok(A), "the revoked one by its id");
        let dead = [(A, "ci", false), (B, "ci", false)];
        assert!(find(&dead, "ci").unwrap_err().contains("ambiguous"));
        let live = [(A, "ci", true), (B, "ci", true)];
        assert!(find(&live, "ci").unwrap_err().contains("ambiguous"));
    }
}
