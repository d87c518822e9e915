//! What the client commands print: tables for people, JSON for scripts, single lines for secrets,
//! all safe for a terminal (text from the server cannot move the cursor, recolour the screen or
//! reverse the reading order), and a closed pipe (`| head`) is not an error.

use std::io::Write;

use comfy_table::{Cell, ContentArrangement, Table, presets};
use serde_json::Value;

use super::ClientError;

/// Longest description shown in a table cell, in characters.
const MAX_CELL: usize = 48;

/// Characters that change how a terminal shows what follows them: C0 and C1 controls and DEL
/// (escape sequences, CSI), and the bidirectional and line-separator formatting characters
/// (text shown in another order than it is read, CVE-2021-42574).
fn is_unsafe(c: char) -> bool {
    c.is_control()
        || matches!(
            c,
            '\u{061c}' | '\u{200e}' | '\u{200f}' | '\u{2028}' | '\u{2029}'
                | '\u{202a}'..='\u{202e}'
                | '\u{2066}'..='\u{2069}'
        )
}

/// `text` on one line: tabs and line breaks become spaces; other unsafe characters are shown
/// escaped, as `\u{1b}`.
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            c if is_unsafe(c) => out.extend(c.escape_unicode()),
            c => out.push(c),
        }
    }
    out.trim().to_string()
}

/// A table cell: [`one_line`], cut to [`MAX_CELL`] characters with an ellipsis.
pub fn cell(text: &str) -> String {
    let line = one_line(text);
    match line.char_indices().nth(MAX_CELL) {
        Some((cut, _)) => format!("{}…", &line[..cut]),
        None => line,
    }
}

/// A timestamp from the API (ISO-8601 UTC) as `2026-11-22 16:40 UTC`; `none` when absent;
/// anything unparseable is shown as it came.
pub fn when(value: Option<&str>, none: &str) -> String {
    match value {
        None => none.to_string(),
        Some(raw) => chrono::DateTime::parse_from_rfc3339(raw)
            .map(|t| {
                t.with_timezone(&chrono::Utc)
                    .format("%Y-%m-%d %H:%M UTC")
                    .to_string()
            })
            .unwrap_or_else(|_| cell(raw)),
    }
}

/// A table with a header row and no borders, like `gh` and `kubectl` print.
pub fn table(header: &[&str], rows: Vec<Vec<String>>) -> String {
    let mut table = Table::new();
    table
        .load_preset(presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .set_header(header.iter().map(|h| Cell::new(*h)));
    for row in rows {
        table.add_row(row);
    }
    for column in table.column_iter_mut() {
        column.set_padding((0, 2));
    }
    let mut text = table
        .lines()
        .map(|l| l.trim_end().to_string())
        .collect::<Vec<_>>()
        .join("\n");
    text.push('\n');
    text
}

/// Pretty JSON in which every unsafe character inside a string is written as a `\uXXXX`
/// escape: the same JSON document for a parser, harmless on a terminal.
pub fn json(value: &Value) -> Result<String, ClientError> {
    let text = serde_json::to_string_pretty(value)
        .map_err(|e| ClientError::Failed(format!("cannot print JSON: {e}")))?;
    let mut out = String::with_capacity(text.len() + 1);
    for c in text.chars() {
        // Structural JSON is ASCII and printable, so these can only be inside strings.
        if is_unsafe(c) && c != '\n' {
            out.push_str(&format!("\\u{:04x}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out.push('\n');
    Ok(out)
}

/// Removes every `token` member (a secret) from a document or from each entry of an array: only
/// the command that creates a secret prints it, whatever the server sent.
pub fn without_secrets(mut value: Value) -> Value {
    match &mut value {
        Value::Object(map) => {
            map.remove("token");
        }
        Value::Array(items) => {
            for item in items.iter_mut().filter_map(Value::as_object_mut) {
                item.remove("token");
            }
        }
        _ => {}
    }
    value
}

/// Writes `text` to stdout; a reader that went away (`| head -1`) ends the output quietly.
pub fn print(text: &str) -> Result<(), ClientError> {
    let mut stdout = std::io::stdout().lock();
    match stdout
        .write_all(text.as_bytes())
        .and_then(|()| stdout.flush())
    {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => Err(ClientError::Failed(format!(
            "cannot write to standard output: {e}"
        ))),
        _ => Ok(()),
    }
}

/// Prints `text` followed by a line break.
pub fn print_line(text: &str) -> Result<(), ClientError> {
    print(&format!("{text}\n"))
}

/// A secret from a creation answer, on a line of its own: only visible ASCII.
/// Errors: the answer has no such field, or it is not a plausible token.
pub fn secret<'a>(document: &'a Value, field: &str) -> Result<&'a str, ClientError> {
    document
        .get(field)
        .and_then(Value::as_str)
        .filter(|s| !s.is_empty() && s.bytes().all(|b| b.is_ascii_graphic()))
        .ok_or_else(|| {
            ClientError::Failed(format!(
                "the server's answer has no {field:?}; nothing was printed"
            ))
        })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use serde_json::json;

    use super::*;

    #[test]
    fn escapes_and_reordering_characters_are_shown_not_obeyed() {
        let shown = one_line("a\u{1b}[31mred\u{9b}2J\u{202e}txt.exe\u{7f}\tb\nc");
        assert_eq!(shown, "a\\u{1b}[31mred\\u{9b}2J\\u{202e}txt.exe\\u{7f} b c");
        assert_eq!(one_line("Ünïcødé names stay"), "Ünïcødé names stay");
    }

    #[test]
    fn long_cells_are_cut_with_an_ellipsis() {
        assert_eq!(cell(&"é".repeat(60)).chars().count(), MAX_CELL + 1);
        assert_eq!(cell("short"), "short");
    }

    #[test]
    fn json_output_is_the_same_document_with_unsafe_characters_escaped() {
        let value = json!({"d": "x\u{1b}[2J\u{9b}\u{202e}\u{2028}y\n", "n": [1, null]});
        let text = json(&value).unwrap();
        assert!(!text.chars().any(|c| is_unsafe(c) && c != '\n'), "{text}");
        let back: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(back, value);
    }

    #[test]
    fn timestamps_are_shown_in_utc_to_the_minute() {
        assert_eq!(
            when(Some("2026-11-22T16:40:05.123Z"), "never"),
            "2026-11-22 16:40 UTC"
        );
        assert_eq!(when(None, "never"), "never");
        assert_eq!(when(Some("soon\u{1b}"), "-"), "soon\\u{1b}");
    }

    #[test]
    fn tokens_are_removed_from_documents_and_from_each_entry_of_a_list() {
        let one = without_secrets(json!({"name": "a", "token": "tpat_x"}));
        assert_eq!(one, json!({"name": "a"}));
        let list = without_secrets(json!([{"token": "tpat_x"}, {"name": "b"}]));
        assert_eq!(list, json!([{}, {"name": "b"}]));
    }

    #[test]
    fn a_table_has_a_header_and_no_trailing_spaces() {
        let text = table(
            &["ID", "NAME"],
            vec![
                vec!["1".into(), "first".into()],
                vec!["22".into(), "x".into()],
            ],
        );
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 3, "{text}");
        assert!(lines[0].starts_with("ID"), "{text}");
        assert!(lines[0].contains("NAME"), "{text}");
        assert!(lines.iter().all(|l| !l.ends_with(' ')), "{text}");
    }
}
