//! Finding one entry of a list by what the user typed: its id, or its name (compared as the
//! server stores names: trimmed and lowercased). A name can look like another entry's id (PAT
//! names allow UUID spelling), so a word matching two entries is ambiguous, never a guess.

use super::ClientError;
use super::output::one_line;

/// The entry of `entries` whose id or name is `typed`.
/// `what` names the kind (`"token"`), `hint` the command that lists them.
/// Errors: [`ClientError::Failed`] when none matches, or more than one.
pub fn one<'a, T>(
    entries: &'a [T],
    typed: &str,
    id: impl Fn(&T) -> &str,
    name: impl Fn(&T) -> &str,
    what: &str,
    hint: &str,
) -> Result<&'a T, ClientError> {
    let wanted = typed.trim().to_lowercase();
    let matches: Vec<&T> = entries
        .iter()
        .filter(|e| id(e).eq_ignore_ascii_case(&wanted) || name(e) == wanted)
        .collect();
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

    fn find<'a>(entries: &'a [(&'a str, &'a str)], typed: &str) -> Result<&'a str, String> {
        one(
            entries,
            typed,
            |e| e.0,
            |e| e.1,
            "token",
            "tessera pat list",
        )
        .map(|e| e.0)
        .map_err(|e| e.to_string())
    }

    #[test]
    fn an_entry_is_found_by_its_id_in_any_case_or_by_its_name_as_the_server_spells_it() {
        let entries = [(A, "ci"), (B, "laptop")];
        assert_eq!(find(&entries, A), Ok(A));
        assert_eq!(find(&entries, &B.to_uppercase()), Ok(B));
        assert_eq!(find(&entries, " Laptop "), Ok(B));
    }

    #[test]
    fn an_unknown_word_is_an_error_pointing_at_the_list() {
        let error = find(&[(A, "ci")], "nope").unwrap_err();
        assert!(error.contains("\"nope\""), "{error}");
        assert!(error.contains("tessera pat list"), "{error}");
    }

    #[test]
    fn a_name_spelled_as_another_entry_s_id_is_ambiguous() {
        let entries = [(A, "ci"), (B, A)];
        let error = find(&entries, A).unwrap_err();
        assert!(error.contains("ambiguous"), "{error}");
        assert!(error.contains(B), "{error}");
    }
}
