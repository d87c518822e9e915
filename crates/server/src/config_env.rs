//! Every `[section] key` of the TOML file settable from the environment, as
//! `TESSERA_<SECTION>_<KEY>` (`TESSERA_LIMITS_HEADER_TIMEOUT_SECS=5`), for containers configured
//! by variables only.
//!
//! A value is read as a TOML value when it is one (`5`, `true`, `["a", "b"]`, `"text"`) and as
//! a string otherwise (`TESSERA_REALM_ISSUER=http://x`). Arrays of tables (`[[gateway.routes]]`)
//! stay in the file. A variable whose key the section does not have is refused when the file is
//! checked, with the variable named.

use toml::{Table, Value};

/// The sections whose keys the environment can set, in the spelling of the file.
pub const SECTIONS: &[&str] = &[
    "pat", "throttle", "limits", "realm", "models", "sso", "server",
];

/// Variables that have their own meaning (read by the command line or by `Overrides`) and are
/// not `[section] key`s.
const OWN_MEANING: &[&str] = &[
    "TESSERA_MODELS_ALLOWED_UPSTREAMS",
    "TESSERA_REALM",
    "TESSERA_SERVER_SECRET",
];

/// One setting from the environment: the variable, and where it goes in the file.
#[derive(Clone, Debug, PartialEq)]
pub struct EnvSetting {
    pub variable: String,
    pub section: String,
    pub key: String,
    pub value: Value,
}

/// The `TESSERA_<SECTION>_<KEY>` variables among `vars`, sorted by variable name.
pub fn settings(vars: impl IntoIterator<Item = (String, String)>) -> Vec<EnvSetting> {
    let mut found: Vec<EnvSetting> = vars
        .into_iter()
        .filter(|(name, _)| !OWN_MEANING.contains(&name.as_str()))
        .filter_map(|(name, raw)| {
            let rest = name.strip_prefix("TESSERA_")?;
            let section = SECTIONS.iter().find(|s| {
                rest.len() > s.len() + 1
                    && rest[..s.len()].eq_ignore_ascii_case(s)
                    && rest.as_bytes()[s.len()] == b'_'
            })?;
            let key = rest[section.len() + 1..].to_ascii_lowercase();
            Some(EnvSetting {
                section: section.to_string(),
                key,
                value: parse_value(&raw),
                variable: name,
            })
        })
        .collect();
    found.sort_by(|a, b| a.variable.cmp(&b.variable));
    found
}

/// Writes `settings` over the file's `table`, replacing what the file says.
pub fn apply(table: &mut Table, settings: &[EnvSetting]) {
    for setting in settings {
        let section = table
            .entry(setting.section.clone())
            .or_insert_with(|| Value::Table(Table::new()));
        if !section.is_table() {
            *section = Value::Table(Table::new());
        }
        if let Value::Table(section) = section {
            section.insert(setting.key.clone(), setting.value.clone());
        }
    }
}

fn parse_value(raw: &str) -> Value {
    let trimmed = raw.trim();
    format!("v = {trimmed}")
        .parse::<Table>()
        .ok()
        .and_then(|mut t| t.remove("v"))
        .unwrap_or_else(|| Value::String(raw.to_string()))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    fn vars(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn section_keys_are_found_and_typed() {
        let found = settings(vars(&[
            ("TESSERA_LIMITS_HEADER_TIMEOUT_SECS", "5"),
            ("TESSERA_REALM_ISSUER", "http://idp.example/realms/x"),
            ("TESSERA_THROTTLE_ENABLED", "false"),
            ("TESSERA_MODELS_ALLOWED_UPSTREAMS", "http://a"),
            ("TESSERA_REALM", "DominoRealm"),
            ("TESSERA_REALM_", "x"),
            ("TESSERA_DATABASE", "sqlite://x"),
            ("TESSERA_SERVER_SECRET", "not a [server] key"),
            ("TESSERA_SERVER_RUNTIME", "multi-thread"),
            ("PATH", "/bin"),
        ]));
        assert_eq!(
            found
                .iter()
                .map(|s| (s.section.as_str(), s.key.as_str(), s.value.clone()))
                .collect::<Vec<_>>(),
            vec![
                ("limits", "header_timeout_secs", Value::Integer(5)),
                (
                    "realm",
                    "issuer",
                    Value::String("http://idp.example/realms/x".into())
                ),
                ("server", "runtime", Value::String("multi-thread".into())),
                ("throttle", "enabled", Value::Boolean(false)),
            ]
        );
    }

    #[test]
    fn the_environment_replaces_the_file_and_keeps_the_rest() {
        let mut table: Table = "[limits]\nheader_timeout_secs = 10\nheader_bytes = 100\n"
            .parse()
            .unwrap();
        apply(
            &mut table,
            &settings(vars(&[
                ("TESSERA_LIMITS_HEADER_TIMEOUT_SECS", "3"),
                ("TESSERA_PAT_MAX_EXPIRES_IN", "86400"),
                ("TESSERA_MODELS_POLL_MS", "[1, 2]"),
            ])),
        );
        assert_eq!(table["limits"]["header_timeout_secs"].as_integer(), Some(3));
        assert_eq!(table["limits"]["header_bytes"].as_integer(), Some(100));
        assert_eq!(table["pat"]["max_expires_in"].as_integer(), Some(86400));
        assert!(table["models"]["poll_ms"].is_array());
    }
}
