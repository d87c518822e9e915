//! The OpenID Connect relying party, on the `openidconnect` crate: discovery and JWKS fetched
//! and cached per provider (re-fetched when an ID token names a key the cache does not hold),
//! the authorization URL with PKCE (S256), `state` and `nonce`, the code exchange, the ID
//! token's verification (signature, `iss`, `aud`, `exp`, `nonce`) and a userinfo call when
//! the claims Tessera needs are not in the ID token. It never follows redirects of the
//! provider's back-channel endpoints and never logs tokens or the client secret.

use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, Instant};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use openidconnect::core::{
    CoreAuthDisplay, CoreAuthenticationFlow, CoreClaimName, CoreClaimType, CoreClient,
    CoreClientAuthMethod, CoreErrorResponseType, CoreGrantType, CoreJsonWebKey,
    CoreJweContentEncryptionAlgorithm, CoreJweKeyManagementAlgorithm, CoreRequestTokenError,
    CoreResponseMode, CoreResponseType, CoreSubjectIdentifierType,
};
use openidconnect::{
    AdditionalProviderMetadata, AsyncHttpClient, AuthorizationCode, ClaimsVerificationError,
    ClientId, ClientSecret, CsrfToken, DiscoveryError, HttpClientError, HttpRequest, HttpResponse,
    IssuerUrl, Nonce, OAuth2TokenResponse, PkceCodeChallenge, PkceCodeVerifier, ProviderMetadata,
    RedirectUrl, RequestTokenError, Scope, SignatureVerificationError, TokenResponse,
};
use serde_json::{Map, Value};
use tokio::sync::Mutex;

use super::config::ProviderConfig;
use super::id_token::{
    authorized_party, json_object, log_failure, no_matching_key, not_before, not_verified, payload,
    verifier,
};

/// The largest userinfo answer read (bytes).
const MAX_USERINFO_BYTES: usize = 256 * 1024;
/// The largest answer read from any other endpoint of the provider (discovery, keys, token), in
/// bytes: real ones are a few KiB; a bigger one is refused unread rather than held in memory.
pub const MAX_ANSWER_BYTES: usize = 1024 * 1024;
/// How far the provider's clock may be off Tessera's, either way: an ID token whose `nbf` (RFC
/// 7519 §4.1.5) or `iat` (OIDC Core §3.1.3.7 step 10) is further in the future is refused, and
/// so is one whose `exp` (step 9) is further in the past (RFC 7519 §4.1.4 allows "some small
/// leeway"; before the fourth review of #17 `exp` had none).
pub const CLOCK_SKEW: Duration = Duration::from_secs(60);
/// How deep a JSON answer of the provider may nest (`serde_json`'s own limit).
pub(super) const MAX_JSON_DEPTH: usize = 128;
/// How long discovery and keys are trusted before they are fetched again.
const METADATA_TTL: Duration = Duration::from_secs(3600);
/// The least time between two fetches forced by an unknown key id (a flood of forged tokens
/// must not turn into a flood of requests to the provider), and the default time a failed
/// discovery is remembered (see [`OidcProvider::new`]).
pub const REFETCH_AT_MOST_EVERY: Duration = Duration::from_secs(10);

/// What can go wrong talking to a provider, each with its audit reason. Only a provider that
/// cannot be reached (connection refused, timeout, an HTTP 5xx) is `Unreachable` (a 502 page);
/// an answer that arrived but cannot be trusted is the provider's fault or an attack, never
/// "unreachable" (a 400 page, audited with the reason).
#[derive(Clone, Debug, thiserror::Error)]
pub enum OidcError {
    /// No answer: the connection failed, timed out, or the provider answered HTTP 5xx.
    #[error("the identity provider cannot be reached: {0}")]
    Unreachable(String),
    /// The provider refused the code (`invalid_grant`): used already, expired, or issued for
    /// another flow.
    #[error("the identity provider refused the sign-in code: {0}")]
    CodeRefused(String),
    /// The provider refused Tessera itself (`invalid_client`, `unauthorized_client`...): the
    /// client's settings at the provider or in Tessera are wrong, not the person's sign-in.
    #[error("the identity provider refused Tessera's token request: {0}")]
    ClientRefused(String),
    /// The authorization response's `iss` (RFC 9207) is not the provider's issuer, or is
    /// missing though the provider's discovery says it sends one: possibly another provider's
    /// answer (a mix-up attack), refused before any token request.
    #[error("the sign-in answer's issuer is not the identity provider's: {0}")]
    IssuerMismatch(String),
    /// The ID token failed verification (signature, issuer, audience, expiry or nonce), or a
    /// standard claim of it has another JSON type than OIDC Core says (named).
    #[error("the identity provider's ID token is not valid: {0}")]
    InvalidIdToken(String),
    /// An answer that is not what the protocol says: not JSON, fields missing, no ID token,
    /// userinfo about another subject, an endpoint missing from discovery.
    #[error("the identity provider's answer is not valid: {0}")]
    InvalidAnswer(String),
    /// Tessera's settings for the provider do not match it: the configured issuer is not the
    /// one its discovery document states (OIDC Discovery §4.3; e.g. a trailing slash). An
    /// administrator's problem, not the person's (a 502 page naming both issuers).
    #[error("Tessera's settings for the identity provider do not match it: {0}")]
    Misconfigured(String),
}

impl OidcError {
    /// The stable reason recorded in the audit log.
    pub fn code(&self) -> &'static str {
        match self {
            OidcError::Unreachable(_) => "provider-unreachable",
            OidcError::CodeRefused(_) => "code-refused",
            OidcError::ClientRefused(_) => "client-refused",
            OidcError::IssuerMismatch(_) => "issuer-mismatch",
            OidcError::InvalidIdToken(_) => "invalid-id-token",
            OidcError::InvalidAnswer(_) => "invalid-answer",
            OidcError::Misconfigured(_) => "provider-misconfigured",
        }
    }

    /// A failure of the back channel: no answer is the provider unreachable, an answer over
    /// its bound is an answer that cannot be verified.
    fn transport(error: Transport) -> OidcError {
        match error {
            Transport::TooLarge(_) => OidcError::InvalidAnswer(error.to_string()),
            other => OidcError::Unreachable(error_chain(&other)),
        }
    }

    /// An error of the discovery document or the key set.
    fn discovery(error: DiscoveryError<Transport>) -> OidcError {
        match error {
            DiscoveryError::Request(e) => OidcError::transport(e),
            DiscoveryError::Parse(e) => OidcError::InvalidAnswer(format!(
                "the discovery document or key set is not valid JSON of the expected shape (at {})",
                e.path()
            )),
            DiscoveryError::Response(status, _, _) => {
                OidcError::InvalidAnswer(format!("discovery answered HTTP {status}"))
            }
            DiscoveryError::UrlParse(e) => {
                OidcError::InvalidAnswer(format!("the discovery URL: {e}"))
            }
            // The crate's words: "unexpected issuer URI `<stated>` (expected `<configured>`)".
            DiscoveryError::Validation(e) if e.starts_with("unexpected issuer URI `") => {
                let stated = e.split('`').nth(1).unwrap_or_default();
                let configured = e.split('`').nth(3).unwrap_or_default();
                OidcError::Misconfigured(format!(
                    "its issuer is configured as {configured:?}, but its discovery document states {stated:?} (they must be equal, character for character)"
                ))
            }
            DiscoveryError::Validation(e) | DiscoveryError::Other(e) => {
                OidcError::InvalidAnswer(format!("the discovery document: {e}"))
            }
            other => OidcError::InvalidAnswer(error_chain(&other)),
        }
    }

    /// An error of the token endpoint. An OAuth error answer (RFC 6749 §5.2) is the provider
    /// refusing the code; the body of a garbled answer is never quoted (it may hold tokens).
    fn token(error: CoreRequestTokenError<Transport>) -> OidcError {
        match error {
            RequestTokenError::ServerResponse(r) => match r.error() {
                CoreErrorResponseType::InvalidGrant => {
                    OidcError::CodeRefused("invalid_grant".into())
                }
                other => OidcError::ClientRefused(other.as_ref().to_string()),
            },
            RequestTokenError::Request(e) => OidcError::transport(e),
            // The crate reads the ID token's standard claims with their types while parsing the
            // answer: a claim of another type than OIDC Core says is named (never quoted).
            RequestTokenError::Parse(e, body) => {
                match super::claim_types::unverified_id_token_claims(&body)
                    .and_then(|claims| super::claim_types::problem(&claims))
                {
                    Some(named) => OidcError::InvalidIdToken(named),
                    None => OidcError::InvalidAnswer(format!(
                        "the token response is not valid JSON of the expected shape (at {})",
                        e.path()
                    )),
                }
            }
            RequestTokenError::Other(e) => {
                OidcError::InvalidAnswer(format!("the token response: {e}"))
            }
        }
    }
}

/// A failure to get any answer from the provider: the transport's own, or an HTTP 5xx (the
/// provider is there but cannot serve; retrying later may work).
#[derive(Debug, thiserror::Error)]
pub enum Transport {
    #[error(transparent)]
    Client(#[from] HttpClientError<reqwest::Error>),
    #[error("the provider answered HTTP {0}")]
    ServerError(u16),
    /// An answer longer than the bound (bytes), dropped unread past it.
    #[error("the provider's answer is larger than {0} bytes")]
    TooLarge(usize),
}

/// The back channel to the provider (discovery, keys, token; userinfo shares its client):
/// `reqwest`, with an HTTP 5xx answer turned into a [`Transport`] error so that every endpoint
/// classifies it the same way, and the body read up to [`MAX_ANSWER_BYTES`] (found by the third
/// review of #17: a 200 MB token answer was read whole).
struct Backchannel(reqwest::Client);

impl<'c> AsyncHttpClient<'c> for Backchannel {
    type Error = Transport;
    type Future = Pin<Box<dyn Future<Output = Result<HttpResponse, Transport>> + Send + Sync + 'c>>;

    fn call(&'c self, request: HttpRequest) -> Self::Future {
        Box::pin(async move {
            let client_error =
                |e: reqwest::Error| Transport::Client(HttpClientError::Reqwest(Box::new(e)));
            let request = reqwest::Request::try_from(request).map_err(client_error)?;
            let response = self.0.execute(request).await.map_err(client_error)?;
            let status = response.status();
            if status.is_server_error() {
                return Err(Transport::ServerError(status.as_u16()));
            }
            let mut answer = openidconnect::http::Response::builder()
                .status(status)
                .version(response.version());
            for (name, value) in response.headers() {
                answer = answer.header(name, value);
            }
            let body = read_limited(response, MAX_ANSWER_BYTES).await?;
            answer
                .body(body)
                .map_err(|e| Transport::Client(HttpClientError::Http(e)))
        })
    }
}

/// The body of `response`, refused as [`Transport::TooLarge`] as soon as it passes `limit`
/// bytes (announced by `Content-Length` or counted while reading): never more than `limit`
/// bytes and one chunk are held.
async fn read_limited(mut response: reqwest::Response, limit: usize) -> Result<Vec<u8>, Transport> {
    if response.content_length().is_some_and(|n| n > limit as u64) {
        return Err(Transport::TooLarge(limit));
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| Transport::Client(HttpClientError::Reqwest(Box::new(e))))?
    {
        if body.len() + chunk.len() > limit {
            return Err(Transport::TooLarge(limit));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// The relying party of one provider, from its discovery document.
pub(super) type Client = CoreClient<
    openidconnect::EndpointSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointNotSet,
    openidconnect::EndpointMaybeSet,
    openidconnect::EndpointMaybeSet,
>;

/// What Tessera reads from a discovery document beyond OIDC Discovery: whether the provider
/// sends `iss` in its authorization responses (RFC 9207 §3). Kept as plain JSON, so that a
/// provider sending it as something else than a boolean is not refused for it (only `true`
/// counts).
#[derive(Clone, Debug, Default, serde::Deserialize, serde::Serialize)]
struct IssParameter {
    #[serde(default)]
    authorization_response_iss_parameter_supported: Option<Value>,
}

impl AdditionalProviderMetadata for IssParameter {}

/// A provider's discovery document with its keys.
type Metadata = ProviderMetadata<
    IssParameter,
    CoreAuthDisplay,
    CoreClientAuthMethod,
    CoreClaimName,
    CoreClaimType,
    CoreGrantType,
    CoreJweContentEncryptionAlgorithm,
    CoreJweKeyManagementAlgorithm,
    CoreJsonWebKey,
    CoreResponseMode,
    CoreResponseType,
    CoreSubjectIdentifierType,
>;

/// One configured provider with its cached discovery document and keys.
pub struct OidcProvider {
    pub config: ProviderConfig,
    redirect: RedirectUrl,
    http: Backchannel,
    cache: Mutex<Cache>,
    remember_failure: Duration,
}

/// The discovery document and keys, when fetched, when a refetch was last forced, and the
/// last failed fetch (when no usable document is held).
#[derive(Default)]
struct Cache {
    metadata: Option<(Metadata, Instant)>,
    last_forced: Option<Instant>,
    failed: Option<(OidcError, Instant)>,
}

impl OidcProvider {
    /// `redirect` is `<public URL>/ui/sso/<name>/callback`. A failed fetch of discovery or keys
    /// is remembered for `remember_failure` (by default [`REFETCH_AT_MOST_EVERY`]): within it,
    /// every flow is refused with the same error without asking the provider again (found by
    /// the fifth review of #17: each start against a failing provider was one more fetch and
    /// one more warning).
    pub fn new(
        config: ProviderConfig,
        redirect: &str,
        remember_failure: Duration,
    ) -> Result<OidcProvider, String> {
        let redirect = RedirectUrl::new(redirect.to_string())
            .map_err(|e| format!("callback URL {redirect:?}: {e}"))?;
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| format!("HTTP client: {e}"))?;
        Ok(OidcProvider {
            config,
            redirect,
            http: Backchannel(http),
            cache: Mutex::new(Cache::default()),
            remember_failure,
        })
    }

    /// The discovery document with its keys: cached, fetched when missing, older than an hour,
    /// or (`refresh`) when a token names an unknown key. A failed fetch is logged once, here,
    /// and answered again without a fetch for `remember_failure`.
    async fn metadata(&self, refresh: bool) -> Result<Metadata, OidcError> {
        self.fetched_metadata(refresh)
            .await
            .map(|(metadata, _)| metadata)
    }

    /// [`Self::metadata`], with whether it was fetched now (a forced refresh is skipped within
    /// [`REFETCH_AT_MOST_EVERY`] of the previous one).
    async fn fetched_metadata(&self, refresh: bool) -> Result<(Metadata, bool), OidcError> {
        let mut cache = self.cache.lock().await;
        let refresh = refresh
            && cache
                .last_forced
                .is_none_or(|at| at.elapsed() >= REFETCH_AT_MOST_EVERY);
        if let Some((metadata, at)) = cache.metadata.as_ref()
            && at.elapsed() < METADATA_TTL
            && !refresh
        {
            return Ok((metadata.clone(), false));
        }
        if !refresh
            && let Some((error, at)) = cache.failed.as_ref()
            && at.elapsed() < self.remember_failure
        {
            return Err(error.clone());
        }
        if refresh {
            cache.last_forced = Some(Instant::now());
        }
        let fetched = match IssuerUrl::new(self.config.issuer.clone()) {
            Ok(issuer) => Metadata::discover_async(issuer, &self.http)
                .await
                .map_err(OidcError::discovery),
            Err(e) => Err(OidcError::Misconfigured(format!(
                "its issuer is not a URL ({e})"
            ))),
        };
        match fetched {
            Ok(metadata) => {
                cache.metadata = Some((metadata.clone(), Instant::now()));
                cache.failed = None;
                Ok((metadata, true))
            }
            Err(error) => {
                log_failure(&self.config.name, &error);
                cache.failed = Some((error.clone(), Instant::now()));
                Err(error)
            }
        }
    }

    /// RFC 9207 §2.4: the `iss` of an authorization response (success or error) must be the
    /// provider's issuer exactly, and one must be there when the provider's discovery says
    /// `authorization_response_iss_parameter_supported: true`. Checked before any token request.
    pub async fn check_issuer(&self, iss: Option<&str>) -> Result<(), OidcError> {
        let metadata = self.metadata(false).await?;
        let issuer = metadata.issuer().as_str();
        let checked = match iss {
            Some(iss) if iss == issuer => Ok(()),
            Some(_) => Err(OidcError::IssuerMismatch(format!(
                "its iss parameter (RFC 9207) is not {issuer}"
            ))),
            None if metadata
                .additional_metadata()
                .authorization_response_iss_parameter_supported
                == Some(Value::Bool(true)) =>
            {
                Err(OidcError::IssuerMismatch(format!(
                    "it has no iss parameter, though {issuer} says it sends one (RFC 9207)"
                )))
            }
            None => Ok(()),
        };
        if let Err(error) = &checked {
            log_failure(&self.config.name, error);
        }
        checked
    }

    fn client(&self, metadata: Metadata) -> Client {
        CoreClient::from_provider_metadata(
            metadata,
            ClientId::new(self.config.client_id.clone()),
            Some(ClientSecret::new(self.config.client_secret.clone())),
        )
        .set_redirect_uri(self.redirect.clone())
    }

    /// Where to send the browser: the provider's authorization endpoint with this flow's
    /// `state`, `nonce` and the S256 challenge of `verifier`.
    pub async fn authorization_url(&self, flow: &FlowSecrets) -> Result<String, OidcError> {
        let client = self.client(self.metadata(false).await?);
        let challenge = PkceCodeChallenge::from_code_verifier_sha256(&PkceCodeVerifier::new(
            flow.verifier.clone(),
        ));
        let state = flow.state.clone();
        let nonce = flow.nonce.clone();
        let mut request = client
            .authorize_url(
                CoreAuthenticationFlow::AuthorizationCode,
                move || CsrfToken::new(state),
                move || Nonce::new(nonce),
            )
            .set_pkce_challenge(challenge);
        for scope in self.config.scopes.iter().filter(|s| *s != "openid") {
            request = request.add_scope(Scope::new(scope.clone()));
        }
        let (url, _, _) = request.url();
        Ok(url.to_string())
    }

    /// Exchanges `code` (with the flow's PKCE verifier), verifies the ID token against the
    /// flow's nonce and returns every claim known about the person: the ID token's, completed
    /// by userinfo when a claim Tessera reads is missing.
    /// A failure is logged once (a failed discovery when it was fetched).
    pub async fn finish(
        &self,
        code: &str,
        flow: &FlowSecrets,
    ) -> Result<Map<String, Value>, OidcError> {
        let metadata = self.metadata(false).await?;
        let finished = self.exchange(metadata, code, flow).await;
        if let Err(error) = &finished {
            log_failure(&self.config.name, error);
        }
        finished
    }

    /// [`Self::finish`] once the discovery document is at hand.
    async fn exchange(
        &self,
        metadata: Metadata,
        code: &str,
        flow: &FlowSecrets,
    ) -> Result<Map<String, Value>, OidcError> {
        let client = self.client(metadata.clone());
        let response = client
            .exchange_code(AuthorizationCode::new(code.to_string()))
            .map_err(|e| OidcError::InvalidAnswer(format!("no token endpoint: {e}")))?
            .set_pkce_verifier(PkceCodeVerifier::new(flow.verifier.clone()))
            .request_async(&self.http)
            .await
            .map_err(OidcError::token)?;
        let id_token = response
            .id_token()
            .ok_or_else(|| OidcError::InvalidAnswer("the token response has no id_token".into()))?;
        let nonce = Nonce::new(flow.nonce.clone());
        let verified = {
            let verifier = verifier(&client);
            id_token
                .claims(&verifier, &nonce)
                .map(|c| c.subject().to_string())
        };
        let subject = match verified {
            Ok(subject) => subject,
            Err(ClaimsVerificationError::SignatureVerification(
                SignatureVerificationError::NoMatchingKey,
            )) => {
                // The provider may have rotated its keys: fetch them again, once.
                let (metadata, fetched) = self.fetched_metadata(true).await?;
                let client = self.client(metadata);
                let verifier = verifier(&client);
                match id_token
                    .claims(&verifier, &nonce)
                    .map(|c| c.subject().to_string())
                {
                    Ok(subject) => subject,
                    Err(ClaimsVerificationError::SignatureVerification(
                        SignatureVerificationError::NoMatchingKey,
                    )) => return Err(no_matching_key(&id_token.to_string(), fetched)),
                    Err(e) => return Err(not_verified(e, &id_token.to_string())),
                }
            }
            Err(e) => return Err(not_verified(e, &id_token.to_string())),
        };
        // The signature is verified: the payload's claims, extra ones included, are the
        // provider's.
        let mut claims = payload(&id_token.to_string())?;
        // OIDC Core §2: `sub` is required and identifies the person; an empty one would make
        // everyone the provider sends without one the same Tessera user.
        if subject.trim().is_empty() {
            return Err(OidcError::InvalidIdToken(
                "its subject (sub) is empty".into(),
            ));
        }
        authorized_party(&claims, &self.config.client_id)?;
        not_before(&claims, chrono::Utc::now())?;
        if self.needs_userinfo(&claims) {
            let endpoint = metadata
                .userinfo_endpoint()
                .ok_or_else(|| OidcError::InvalidAnswer("userinfo: no endpoint".into()))?
                .url()
                .clone();
            let info = self
                .userinfo(endpoint, response.access_token().secret(), &subject)
                .await?;
            for (k, v) in info {
                claims.entry(k).or_insert(v);
            }
        }
        Ok(claims)
    }

    /// The userinfo answer (OIDC Core §5.3) as plain JSON, so that a claim of an unexpected
    /// JSON type (a numeric `preferred_username`) is read by [`super::routes`] rather than
    /// failing a typed parse; it must be about `subject` (§5.3.2). A signed (JWT) answer is not
    /// supported: an invalid answer.
    async fn userinfo(
        &self,
        endpoint: reqwest::Url,
        access_token: &str,
        subject: &str,
    ) -> Result<Map<String, Value>, OidcError> {
        let unreachable = |e: reqwest::Error| OidcError::Unreachable(error_chain(&e));

        let response = self
            .http
            .0
            .get(endpoint)
            .bearer_auth(access_token)
            .header(reqwest::header::ACCEPT, "application/json")
            .send()
            .await
            .map_err(unreachable)?;
        let status = response.status();
        if status.is_server_error() {
            return Err(OidcError::Unreachable(format!(
                "userinfo answered HTTP {status}"
            )));
        }
        if !status.is_success() {
            return Err(OidcError::InvalidAnswer(format!(
                "userinfo answered HTTP {status}"
            )));
        }
        let body = read_limited(response, MAX_USERINFO_BYTES)
            .await
            .map_err(|e| match e {
                Transport::TooLarge(limit) => {
                    OidcError::InvalidAnswer(format!("userinfo is larger than {limit} bytes"))
                }
                other => OidcError::transport(other),
            })?;
        let info = json_object(&body)
            .map_err(|what| OidcError::InvalidAnswer(format!("userinfo {what}")))?;
        if info
            .get("sub")
            .and_then(Value::as_str)
            .is_some_and(|sub| sub.trim().is_empty())
        {
            return Err(OidcError::InvalidAnswer(
                "userinfo's subject (sub) is empty".into(),
            ));
        }
        if info.get("sub").and_then(Value::as_str) != Some(subject) {
            return Err(OidcError::InvalidAnswer(
                "userinfo is about another subject than the ID token".into(),
            ));
        }
        Ok(info)
    }

    /// Whether a claim this provider's configuration reads is absent from `claims`.
    fn needs_userinfo(&self, claims: &Map<String, Value>) -> bool {
        let c = &self.config;
        let mut wanted = vec![c.username_claim.as_str(), "email"];
        if !c.rules.role_mapping.is_empty() || !c.rules.organization_mapping.is_empty() {
            wanted.push(c.groups_claim.as_str());
        }
        wanted.extend(c.attributes.values().map(String::as_str));
        wanted.iter().any(|w| !claims.contains_key(*w))
    }
}

/// An error with its sources, for messages and the log (never holds a token).
fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(s) = source {
        text.push_str(": ");
        text.push_str(&s.to_string());
        source = s.source();
    }
    text
}

/// The per-flow secrets, all derived from the random value kept in the browser's short-lived
/// cookie: `state` (echoed in the callback URL), `nonce` (inside the ID token) and the PKCE
/// verifier (sent only with the code). Without the cookie none can be produced, so a callback
/// is accepted only in the browser that started the flow.
#[derive(Clone, Debug)]
pub struct FlowSecrets {
    pub state: String,
    pub nonce: String,
    verifier: String,
}

impl FlowSecrets {
    /// Derives the secrets from the cookie's value and the provider's name (domain-separated
    /// SHA-256): a flow started at one provider has another `state` at every other provider's
    /// callback, so an answer cannot be carried from one provider to another.
    pub fn from_cookie(provider: &str, cookie: &str) -> FlowSecrets {
        use sha2::{Digest, Sha256};
        let derive = |label: &str| {
            let mut h = Sha256::new();
            h.update(label.as_bytes());
            h.update(b"\0");
            h.update(provider.as_bytes());
            h.update(b"\0");
            h.update(cookie.as_bytes());
            URL_SAFE_NO_PAD.encode(h.finalize())
        };
        FlowSecrets {
            state: derive("tessera-sso-state"),
            nonce: derive("tessera-sso-nonce"),
            verifier: derive("tessera-sso-pkce"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flow_secrets_differ_from_each_other_and_between_cookies() {
        let a = FlowSecrets::from_cookie("corp", "corp.abc.1");
        let b = FlowSecrets::from_cookie("corp", "corp.abd.1");
        assert_ne!(a.state, a.nonce);
        assert_ne!(a.nonce, a.verifier);
        assert_ne!(a.state, b.state);
        // The same cookie at another provider's callback gives another state.
        let elsewhere = FlowSecrets::from_cookie("other", "corp.abc.1");
        assert_ne!(a.state, elsewhere.state);
        assert_ne!(a.nonce, elsewhere.nonce);
        // A PKCE verifier is 43-128 unreserved characters (RFC 7636 §4.1).
        assert_eq!(a.verifier.len(), 43);
    }
}
