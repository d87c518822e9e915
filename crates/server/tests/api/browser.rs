//! A browser without JavaScript, shared by the web-UI and SSO cases: one cookie jar for every
//! server it visits (Tessera and a test provider both listen on 127.0.0.1, and cookies do not
//! tell ports apart), no automatic redirects, the page as text.

use std::collections::HashMap;
use std::time::Duration;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, LOCATION, SET_COOKIE};

/// A cookie jar and the client that sends it.
pub struct Jar {
    client: reqwest::Client,
    /// The cookies it holds, by name.
    pub cookies: HashMap<String, String>,
}

/// What the browser got back.
pub struct Page {
    pub status: StatusCode,
    /// The `Location` header: as the server sent it from `send`, made absolute by `get` and
    /// `post`.
    pub location: Option<String>,
    /// The `Set-Cookie` headers, whole.
    pub set_cookies: Vec<String>,
    /// The body as sent (entities left as they are).
    pub html: String,
}

impl Jar {
    pub fn new() -> Jar {
        Jar {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .unwrap(),
            cookies: HashMap::new(),
        }
    }

    /// A browser whose connections come from `ip`: another loopback address than 127.0.0.1 is
    /// another client address for Tessera (its failure throttle, its audit log).
    pub fn from_address(ip: std::net::IpAddr) -> Jar {
        Jar {
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .local_address(ip)
                .build()
                .unwrap(),
            cookies: HashMap::new(),
        }
    }

    /// The client to build requests for `send` with.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }

    /// Sends `request` with the jar's cookies; keeps the cookies the answer sets and drops those
    /// it empties or expires (`Max-Age=0`, an expiry in 1970).
    pub async fn send(&mut self, request: reqwest::RequestBuilder) -> Page {
        let cookie = self
            .cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ");
        let request = if cookie.is_empty() {
            request
        } else {
            request.header(COOKIE, cookie)
        };
        let response = request.send().await.unwrap();
        let set_cookies: Vec<String> = response
            .headers()
            .get_all(SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_string())
            .collect();
        for c in &set_cookies {
            let (pair, attributes) = c.split_once(';').unwrap_or((c, ""));
            let (k, v) = pair.split_once('=').unwrap();
            let expired = attributes.contains("Max-Age=0") || attributes.contains("1970");
            if v.is_empty() || expired {
                self.cookies.remove(k);
            } else {
                self.cookies.insert(k.to_string(), v.to_string());
            }
        }
        Page {
            status: response.status(),
            location: response
                .headers()
                .get(LOCATION)
                .map(|v| v.to_str().unwrap().to_string()),
            set_cookies,
            html: response.text().await.unwrap(),
        }
    }

    /// GETs the absolute `url`; the page's location is absolute too.
    pub async fn get(&mut self, url: &str) -> Page {
        let request = self.client.get(url);
        absolute(url, self.send(request).await)
    }

    /// POSTs `form` to the absolute `url`; the page's location is absolute too.
    pub async fn post(&mut self, url: &str, form: &[(&str, &str)]) -> Page {
        let request = self.client.post(url).form(form);
        absolute(url, self.send(request).await)
    }
}

/// `page` with its location resolved against the `url` it came from.
fn absolute(url: &str, mut page: Page) -> Page {
    let base = reqwest::Url::parse(url).unwrap();
    page.location = page.location.map(|l| base.join(&l).unwrap().to_string());
    page
}
