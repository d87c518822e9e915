//! Where a client command talks to and with which credential: `--host` / `DOMINO_API_HOST` and
//! `--token` / `TESSERA_TOKEN` / `DOMINO_TOKEN_FILE` / `DOMINO_USER_API_KEY`, resolved once,
//! checked, and never shown (a credential's value appears in no message and no `Debug`).

use std::fmt;
use std::io::Read;
use std::path::PathBuf;

use reqwest::Url;

use super::ClientError;

/// The host used when neither `--host` nor `DOMINO_API_HOST` is given (`tessera serve`'s default).
pub const DEFAULT_HOST: &str = "http://127.0.0.1:8080";

/// The prefix of Tessera's legacy API keys.
const API_KEY_PREFIX: &str = "tkey_";

/// A token file holds one token; a JWT is a few KiB. Anything larger is a mistake (or `/dev/zero`).
const MAX_TOKEN_FILE: u64 = 64 * 1024;

/// Reads one environment variable; an empty value counts as unset (as `gh` does for `GH_TOKEN`).
pub type Env<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment, for [`Env`].
pub fn process_env(name: &str) -> Option<String> {
    std::env::var_os(name)
        .map(|v| v.to_string_lossy().into_owned())
        .filter(|v| !v.is_empty())
}

/// The API's base URL: `http` or `https`, a host, an optional path prefix (a Tessera behind a
/// reverse proxy at `/tessera/`), no user name, password, query or fragment.
#[derive(Clone, Debug)]
pub struct Host {
    base: Url,
}

impl Host {
    /// `--host`, else `DOMINO_API_HOST`, else [`DEFAULT_HOST`].
    /// Errors: [`ClientError::Usage`] naming the source and what is wrong with it.
    pub fn resolve(flag: Option<&str>, env: Env<'_>) -> Result<Host, ClientError> {
        match (flag, env("DOMINO_API_HOST")) {
            (Some(flag), _) => Host::parse("--host", flag),
            (None, Some(value)) => Host::parse("DOMINO_API_HOST", &value),
            (None, None) => Host::parse("the default host", DEFAULT_HOST),
        }
    }

    fn parse(source: &str, raw: &str) -> Result<Host, ClientError> {
        let bad = |what: &str| ClientError::Usage(format!("{source}: {what}"));
        let raw = raw.trim();
        if !(raw.starts_with("http://") || raw.starts_with("https://")) {
            return Err(bad(
                "must be a URL starting with http:// or https://, e.g. http://127.0.0.1:8080",
            ));
        }
        let mut base = Url::parse(raw).map_err(|e| bad(&format!("not a valid URL ({e})")))?;
        if !base.username().is_empty() || base.password().is_some() {
            // Not echoed: the part before '@' may be a password.
            return Err(bad(
                "must not contain a user name or password; give the credential with --token or TESSERA_TOKEN",
            ));
        }
        if base.query().is_some() || base.fragment().is_some() {
            return Err(bad("must not have a query (?) or fragment (#)"));
        }
        if base.host_str().is_none_or(str::is_empty) {
            return Err(bad("has no host name"));
        }
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Ok(Host { base })
    }

    /// The URL of `segments` below the base, each one percent-encoded as a single segment.
    /// Errors: a segment that is empty, `.` or `..` (a URL cannot carry it as a name).
    pub fn url(&self, segments: &[&str]) -> Result<Url, ClientError> {
        let mut url = self.base.clone();
        if let Some(bad) = segments
            .iter()
            .find(|s| s.is_empty() || **s == "." || **s == "..")
        {
            return Err(ClientError::Failed(format!(
                "{bad:?} cannot be used as a name in a URL path"
            )));
        }
        url.path_segments_mut()
            .map_err(|()| ClientError::Usage(format!("{self}: cannot be a base URL")))?
            .pop_if_empty()
            .extend(segments);
        Ok(url)
    }
}

impl fmt::Display for Host {
    /// The base URL without its trailing slash, for messages.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.base.as_str().trim_end_matches('/'))
    }
}

/// Where the credential came from, for messages (never the value).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    Flag,
    TesseraToken,
    TokenFile(PathBuf),
    ApiKey,
}

impl fmt::Display for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Source::Flag => f.write_str("--token"),
            Source::TesseraToken => f.write_str("TESSERA_TOKEN"),
            Source::TokenFile(path) => write!(f, "DOMINO_TOKEN_FILE ({})", path.display()),
            Source::ApiKey => f.write_str("DOMINO_USER_API_KEY"),
        }
    }
}

/// How the credential is presented: a bearer token (PAT, service-account token or JWT), or a
/// legacy API key in `X-Domino-Api-Key` (SPEC section 2).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scheme {
    Bearer,
    ApiKey,
}

/// The caller's credential. `Debug` shows its source and scheme, never its value.
#[derive(Clone)]
pub struct Credential {
    pub source: Source,
    pub scheme: Scheme,
    value: String,
}

impl fmt::Debug for Credential {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Credential")
            .field("source", &self.source)
            .field("scheme", &self.scheme)
            .finish_non_exhaustive()
    }
}

impl Credential {
    /// `--token`, else `TESSERA_TOKEN`, else the trimmed contents of the file named by
    /// `DOMINO_TOKEN_FILE`, else `DOMINO_USER_API_KEY` (a legacy key, as is a `tkey_` value from
    /// any source). A source that is set but
    /// unusable (a missing or empty file, a value with spaces or control characters) is an error
    /// naming that source, not a reason to fall through to the next one.
    /// Errors: [`ClientError::NoCredential`] when none is set; [`ClientError::Credential`].
    pub fn resolve(flag: Option<&str>, env: Env<'_>) -> Result<Credential, ClientError> {
        let (source, scheme, raw) = if let Some(flag) = flag {
            (Source::Flag, Scheme::Bearer, flag.to_string())
        } else if let Some(token) = env("TESSERA_TOKEN") {
            (Source::TesseraToken, Scheme::Bearer, token)
        } else if let Some(path) = env("DOMINO_TOKEN_FILE") {
            let path = PathBuf::from(path);
            let raw = read_token_file(&path)?;
            (Source::TokenFile(path), Scheme::Bearer, raw)
        } else if let Some(key) = env("DOMINO_USER_API_KEY") {
            (Source::ApiKey, Scheme::ApiKey, key)
        } else {
            return Err(ClientError::NoCredential);
        };
        let value = raw.trim();
        if value.is_empty() {
            return Err(ClientError::Credential(format!("{source} is empty")));
        }
        if !value.bytes().all(|b| b.is_ascii_graphic()) {
            return Err(ClientError::Credential(format!(
                "{source} holds spaces, control characters or non-ASCII text; it must be one token"
            )));
        }
        // A Tessera API key (SPEC section 2: prefix `tkey_`) is only accepted in its own header,
        // wherever it was given.
        let scheme = if value.starts_with(API_KEY_PREFIX) {
            Scheme::ApiKey
        } else {
            scheme
        };
        Ok(Credential {
            source,
            scheme,
            value: value.to_string(),
        })
    }

    /// The secret itself, for the one header (or token-exchange field) that carries it.
    pub fn expose(&self) -> &str {
        &self.value
    }
}

fn read_token_file(path: &std::path::Path) -> Result<String, ClientError> {
    let unreadable = |e: std::io::Error| {
        ClientError::Credential(format!(
            "DOMINO_TOKEN_FILE names {}, which cannot be read: {e}",
            path.display()
        ))
    };
    let file = std::fs::File::open(path).map_err(unreadable)?;
    let mut bytes = Vec::new();
    file.take(MAX_TOKEN_FILE + 1)
        .read_to_end(&mut bytes)
        .map_err(unreadable)?;
    if bytes.len() as u64 > MAX_TOKEN_FILE {
        return Err(ClientError::Credential(format!(
            "DOMINO_TOKEN_FILE ({}) is larger than {} KiB; it must hold one token",
            path.display(),
            MAX_TOKEN_FILE / 1024
        )));
    }
    String::from_utf8(bytes).map_err(|_| {
        ClientError::Credential(format!(
            "DOMINO_TOKEN_FILE ({}) is not text; it must hold one token",
            path.display()
        ))
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| {
            pairs
                .iter()
                .find(|(k, v)| *k == name && !v.is_empty())
                .map(|(_, v)| v.to_string())
        }
    }

    #[test]
    fn the_host_flag_wins_over_the_environment_which_wins_over_the_default() {
        let env = env_of(&[("DOMINO_API_HOST", "http://env.example:81")]);
        let flag = Host::resolve(Some("https://flag.example"), &env).unwrap();
        assert_eq!(flag.to_string(), "https://flag.example");
        assert_eq!(
            Host::resolve(None, &env).unwrap().to_string(),
            "http://env.example:81"
        );
        let none = env_of(&[]);
        assert_eq!(
            Host::resolve(None, &none).unwrap().to_string(),
            DEFAULT_HOST
        );
    }

    #[test]
    fn a_host_keeps_its_path_prefix_and_encodes_each_segment() {
        let none = env_of(&[]);
        let host = Host::resolve(Some("http://h:1/tessera"), &none).unwrap();
        let url = host.url(&["api", "a/b", "c d", "%2e%2e"]).unwrap();
        assert_eq!(
            url.as_str(),
            "http://h:1/tessera/api/a%2Fb/c%20d/%252e%252e"
        );
        let slash = Host::resolve(Some("http://h:1/"), &none).unwrap();
        assert_eq!(slash.url(&["v4"]).unwrap().as_str(), "http://h:1/v4");
    }

    #[test]
    fn dot_segments_and_empty_segments_are_refused_rather_than_dropped() {
        let host = Host::resolve(None, &env_of(&[])).unwrap();
        for bad in [".", "..", ""] {
            assert!(host.url(&["tokens", bad, "invalidate"]).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn hosts_without_a_scheme_or_with_a_password_are_refused_without_echoing_the_password() {
        let none = env_of(&[]);
        for bad in [
            "localhost:8080",
            "ftp://h",
            "http://user:hunter2@h",
            "http://h/?q=1",
            "http://h/#f",
        ] {
            let error = Host::resolve(Some(bad), &none).unwrap_err();
            assert!(matches!(error, ClientError::Usage(_)), "{bad}: {error}");
            assert!(!error.to_string().contains("hunter2"), "{error}");
        }
        let env = env_of(&[("DOMINO_API_HOST", "nucleus:80")]);
        let error = Host::resolve(None, &env).unwrap_err().to_string();
        assert!(error.starts_with("DOMINO_API_HOST:"), "{error}");
    }

    #[test]
    fn the_credential_comes_from_the_flag_then_tessera_token_then_the_file_then_the_api_key() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("token");
        std::fs::write(&file, "  from-file\n").unwrap();
        let path: &'static str = Box::leak(file.display().to_string().into_boxed_str());
        let all: &'static [(&str, &str)] = Box::leak(Box::new([
            ("TESSERA_TOKEN", "from-env"),
            ("DOMINO_TOKEN_FILE", path),
            ("DOMINO_USER_API_KEY", "from-key"),
        ]));
        let env = env_of(all);
        let flag = Credential::resolve(Some("from-flag"), &env).unwrap();
        assert_eq!((&flag.source, flag.expose()), (&Source::Flag, "from-flag"));
        let token = Credential::resolve(None, &env).unwrap();
        assert_eq!(token.expose(), "from-env");
        let env = env_of(&all[1..]);
        let from_file = Credential::resolve(None, &env).unwrap();
        assert_eq!(from_file.expose(), "from-file");
        assert_eq!(from_file.scheme, Scheme::Bearer);
        let env = env_of(&all[2..]);
        let key = Credential::resolve(None, &env).unwrap();
        assert_eq!((key.scheme, key.expose()), (Scheme::ApiKey, "from-key"));
        let error = Credential::resolve(None, &env_of(&[])).unwrap_err();
        assert!(matches!(error, ClientError::NoCredential));
        for name in [
            "--token",
            "TESSERA_TOKEN",
            "DOMINO_TOKEN_FILE",
            "DOMINO_USER_API_KEY",
        ] {
            assert!(error.to_string().contains(name), "{error}");
        }
    }

    #[test]
    fn a_tessera_api_key_goes_in_its_own_header_from_any_source() {
        let flag = Credential::resolve(Some("tkey_abc"), &env_of(&[])).unwrap();
        assert_eq!(flag.scheme, Scheme::ApiKey);
        let pat = Credential::resolve(Some("tpat_abc"), &env_of(&[])).unwrap();
        assert_eq!(pat.scheme, Scheme::Bearer);
        let domino = env_of(&[("DOMINO_USER_API_KEY", "0123abcd")]);
        assert_eq!(
            Credential::resolve(None, &domino).unwrap().scheme,
            Scheme::ApiKey
        );
    }

    #[test]
    fn an_empty_variable_counts_as_unset() {
        let env = env_of(&[("TESSERA_TOKEN", ""), ("DOMINO_USER_API_KEY", "key")]);
        let key = Credential::resolve(None, &env).unwrap();
        assert_eq!(key.source, Source::ApiKey);
    }

    #[test]
    fn a_missing_empty_or_huge_token_file_is_an_error_naming_the_file_not_a_fall_through() {
        let dir = tempfile::tempdir().unwrap();
        let empty = dir.path().join("empty");
        std::fs::write(&empty, "\n \n").unwrap();
        let huge = dir.path().join("huge");
        std::fs::write(&huge, vec![b'a'; 64 * 1024 + 1]).unwrap();
        for path in [dir.path().join("missing"), empty, huge] {
            let name: &'static str = Box::leak(path.display().to_string().into_boxed_str());
            let pairs: &'static [(&str, &str)] = Box::leak(Box::new([
                ("DOMINO_TOKEN_FILE", name),
                ("DOMINO_USER_API_KEY", "key"),
            ]));
            let error = Credential::resolve(None, &env_of(pairs)).unwrap_err();
            assert!(matches!(error, ClientError::Credential(_)), "{error}");
            assert!(error.to_string().contains(name), "{error}");
        }
    }

    #[test]
    fn a_credential_with_inner_spaces_or_control_characters_is_refused_without_echoing_it() {
        for bad in ["tpat_abc def", "tpat_abc\u{1b}[2J", "tpat_é"] {
            let error = Credential::resolve(Some(bad), &env_of(&[])).unwrap_err();
            assert!(matches!(error, ClientError::Credential(_)), "{error}");
            assert!(!error.to_string().contains("tpat_"), "{error}");
        }
        let spaced = Credential::resolve(Some("  tpat_ok\n"), &env_of(&[])).unwrap();
        assert_eq!(spaced.expose(), "tpat_ok");
        assert!(!format!("{spaced:?}").contains("tpat_ok"));
    }
}
