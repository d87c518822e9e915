//! HTTP to a running Tessera for the client commands: the credential on every request, no
//! redirects followed (a custom header such as `X-Domino-Api-Key` would follow them to another
//! host), bounded bodies, and every refusal turned into a [`ClientError`] carrying the server's
//! own message (FailureEnvelope `errors`, or OAuth `error_description`).

use std::time::Duration;

use reqwest::header::{HeaderName, HeaderValue};
use reqwest::{Method, RequestBuilder, Response, StatusCode};
use serde_json::Value;

use super::ClientError;
use super::output::one_line;
use super::settings::{Credential, Host, Scheme};

/// The whole exchange, connection to last byte; a list of 1000 service accounts takes well under it.
const TIMEOUT: Duration = Duration::from_secs(60);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest body read: a page of 1000 entries is about 0.5 MiB.
const MAX_BODY: usize = 16 * 1024 * 1024;
/// How much of a server's message is shown.
const MAX_MESSAGE: usize = 1000;

/// One Tessera, one credential.
pub struct Api {
    http: reqwest::Client,
    pub host: Host,
    credential: Credential,
}

impl Api {
    /// Errors: [`ClientError::Failed`] when the HTTP client cannot be built (no TLS roots).
    pub fn new(host: Host, credential: Credential) -> Result<Api, ClientError> {
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .user_agent(concat!("tessera-cli/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| ClientError::Failed(format!("cannot start an HTTP client: {e}")))?;
        Ok(Api {
            http,
            host,
            credential,
        })
    }

    /// The credential, for the token exchange (which carries it in the form, not a header).
    pub fn credential(&self) -> &Credential {
        &self.credential
    }

    /// `GET` below the host; `query` pairs are URL-encoded.
    pub async fn get(&self, path: &[&str], query: &[(&str, String)]) -> Result<Value, ClientError> {
        let request = self.request(Method::GET, path)?.query(query);
        self.send(request).await
    }

    /// `POST` with a JSON body, or none.
    pub async fn post(&self, path: &[&str], body: Option<&Value>) -> Result<Value, ClientError> {
        let mut request = self.request(Method::POST, path)?;
        if let Some(body) = body {
            request = request.json(body);
        }
        self.send(request).await
    }

    /// `DELETE`; a 204 answers `Value::Null`.
    pub async fn delete(&self, path: &[&str]) -> Result<Value, ClientError> {
        let request = self.request(Method::DELETE, path)?;
        self.send(request).await
    }

    /// `POST` of an `application/x-www-form-urlencoded` body, without the credential header
    /// (the OAuth token endpoint takes the credential in the form).
    pub async fn post_form(
        &self,
        path: &[&str],
        form: &[(&str, &str)],
    ) -> Result<Value, ClientError> {
        let request = self.http.post(self.host.url(path)?).form(form);
        self.send(request).await
    }

    fn request(&self, method: Method, path: &[&str]) -> Result<RequestBuilder, ClientError> {
        let (name, value) = match self.credential.scheme {
            Scheme::Bearer => (
                reqwest::header::AUTHORIZATION,
                format!("Bearer {}", self.credential.expose()),
            ),
            Scheme::ApiKey => (
                HeaderName::from_static("x-domino-api-key"),
                self.credential.expose().to_string(),
            ),
        };
        // The credential was checked to be visible ASCII; this cannot fail, but say so if it does.
        let mut value = HeaderValue::from_str(&value).map_err(|_| {
            ClientError::Credential(format!(
                "{} cannot be sent in an HTTP header",
                self.credential.source
            ))
        })?;
        value.set_sensitive(true);
        Ok(self
            .http
            .request(method, self.host.url(path)?)
            .header(name, value))
    }

    async fn send(&self, request: RequestBuilder) -> Result<Value, ClientError> {
        let response = request.send().await.map_err(|e| self.transport(&e))?;
        let status = response.status();
        let request_id = response
            .headers()
            .get("x-request-id")
            .and_then(|v| v.to_str().ok())
            .map(one_line);
        let retry_after = response
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .map(one_line);
        let location = response
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|v| v.to_str().ok())
            .map(one_line);
        let body = self.body(response).await?;
        if status.is_success() {
            if body.is_empty() {
                return Ok(Value::Null);
            }
            return serde_json::from_slice(&body).map_err(|_| {
                ClientError::Failed(format!(
                    "{} answered HTTP {status} with a body that is not JSON; is it a Tessera?",
                    self.host
                ))
            });
        }
        let mut message = if status.is_redirection() {
            format!(
                "{} redirects to {}; redirects are not followed, so that the credential goes \
                 nowhere else: give the right address with --host",
                self.host,
                location.as_deref().unwrap_or("nowhere")
            )
        } else {
            server_message(&body)
                .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_string())
        };
        if let Some(seconds) = retry_after.filter(|_| status == StatusCode::TOO_MANY_REQUESTS) {
            message.push_str(&format!("; retry after {seconds} s"));
        }
        Err(ClientError::Http {
            status,
            message,
            request_id,
        })
    }

    async fn body(&self, mut response: Response) -> Result<Vec<u8>, ClientError> {
        let mut body = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| self.transport(&e))? {
            if body.len() + chunk.len() > MAX_BODY {
                return Err(ClientError::Failed(format!(
                    "{} sent a body larger than {} MiB",
                    self.host,
                    MAX_BODY / 1024 / 1024
                )));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body)
    }

    /// A failure below HTTP, named with the host and the innermost cause.
    fn transport(&self, error: &reqwest::Error) -> ClientError {
        let mut cause: &dyn std::error::Error = error;
        while let Some(inner) = cause.source() {
            cause = inner;
        }
        let detail = one_line(&cause.to_string());
        let message = if error.is_timeout() {
            format!(
                "{} did not answer within {} s",
                self.host,
                TIMEOUT.as_secs()
            )
        } else if error.is_connect() {
            format!(
                "cannot connect to {}: {detail}; is Tessera running there? Set --host or \
                 DOMINO_API_HOST",
                self.host
            )
        } else {
            format!("talking to {} failed: {detail}", self.host)
        };
        ClientError::Unreachable(message)
    }
}

/// The server's explanation in an error body: FailureEnvelope `errors` (Domino), OAuth
/// `error_description` and `error` (RFC 6749 §5.2), or a short plain-text body.
fn server_message(body: &[u8]) -> Option<String> {
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(json) => json_message(&json)?,
        Err(_) => {
            let text = String::from_utf8_lossy(body);
            let line = text.lines().map(str::trim).find(|l| !l.is_empty())?;
            if line.starts_with('<') {
                return None; // an HTML error page from something in between
            }
            line.to_string()
        }
    };
    let mut text = one_line(&text);
    if let Some((cut, _)) = text.char_indices().nth(MAX_MESSAGE) {
        text.truncate(cut);
        text.push('…');
    }
    Some(text)
}

fn json_message(json: &Value) -> Option<String> {
    let errors: Vec<&str> = json
        .get("errors")
        .and_then(Value::as_array)
        .map(|e| e.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    if !errors.is_empty() {
        return Some(errors.join("; "));
    }
    let text = |key: &str| json.get(key).and_then(Value::as_str);
    match (text("error_description"), text("error")) {
        (Some(description), Some(error)) => Some(format!("{description} ({error})")),
        (Some(one), None) | (None, Some(one)) => Some(one.to_string()),
        (None, None) => text("message").map(str::to_string),
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

    use super::*;

    #[test]
    fn the_failure_envelope_and_oauth_errors_give_the_message() {
        let envelope = br#"{"errors":["name: too long","expiresIn: too large"],"requestId":"r"}"#;
        assert_eq!(
            server_message(envelope).unwrap(),
            "name: too long; expiresIn: too large"
        );
        let oauth = br#"{"error":"invalid_target","error_description":"no such audience"}"#;
        assert_eq!(
            server_message(oauth).unwrap(),
            "no such audience (invalid_target)"
        );
        assert_eq!(
            server_message(b"\n upstream down \n").unwrap(),
            "upstream down"
        );
        assert_eq!(server_message(b"<html><body>502</body></html>"), None);
        assert_eq!(server_message(b"{}"), None);
    }

    #[test]
    fn a_server_message_cannot_move_the_cursor_or_flood_the_terminal() {
        let hostile = format!(
            r#"{{"errors":["\u001b[2Jgone\u009b31m\u202eevil {}"]}}"#,
            "x".repeat(5000)
        );
        let message = server_message(hostile.as_bytes()).unwrap();
        assert!(
            !message.chars().any(|c| c.is_control() || c == '\u{202e}'),
            "{message:?}"
        );
        assert!(message.chars().count() <= MAX_MESSAGE + 1);
    }
}
