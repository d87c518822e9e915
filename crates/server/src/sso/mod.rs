//! Single sign-on with organisations' identity providers (SPEC section 10): the `[sso]`
//! settings, the OIDC relying party per provider, and the two pages of the flow,
//! `/ui/sso/<name>/login` (to the provider) and `/ui/sso/<name>/callback` (back). What a
//! sign-in changes in Tessera (the just-in-time user, roles, organisations, attributes) is
//! decided by `tessera_core::services::sso`; nothing here decides access.

pub mod config;
pub mod oidc;
mod routes;

use tessera_core::services::sso::SsoService;

pub use config::{SsoSection, SsoSettings};
pub use routes::routes;

use oidc::OidcProvider;

/// The configured providers with their cached metadata, and the sign-in service.
pub struct Sso {
    pub settings: SsoSettings,
    providers: Vec<OidcProvider>,
    pub service: SsoService,
}

impl Sso {
    /// Builds the relying parties; `public_url` names the callback each provider must know.
    pub fn new(
        settings: SsoSettings,
        public_url: &str,
        service: SsoService,
    ) -> Result<Sso, String> {
        let providers = settings
            .providers
            .iter()
            .map(|p| OidcProvider::new(p.clone(), &callback_url(public_url, &p.name)))
            .collect::<Result<_, _>>()?;
        Ok(Sso {
            settings,
            providers,
            service,
        })
    }

    fn provider(&self, name: &str) -> Option<&OidcProvider> {
        self.providers.iter().find(|p| p.config.name == name)
    }

    /// The names of the providers, in the order of the file, for the login page.
    pub fn names(&self) -> Vec<String> {
        self.providers
            .iter()
            .map(|p| p.config.name.clone())
            .collect()
    }
}

/// The redirect URI to register at the provider: `<public URL>/ui/sso/<name>/callback`.
pub fn callback_url(public_url: &str, name: &str) -> String {
    format!(
        "{}/ui/sso/{name}/callback",
        public_url.trim_end_matches('/')
    )
}
