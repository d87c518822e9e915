//! Single sign-on with organisations' identity providers (SPEC section 10): the `[sso]`
//! settings, the OIDC relying party per provider, and the two pages of the flow,
//! `/ui/sso/<name>/login` (to the provider) and `/ui/sso/<name>/callback` (back). What a
//! sign-in changes in Tessera (the just-in-time user, roles, organisations, attributes) is
//! decided by `tessera_core::services::sso`; nothing here decides access.

mod claim_types;
pub mod config;
mod id_token;
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
            .map(|p| {
                OidcProvider::new(
                    p.clone(),
                    &callback_url(public_url, &p.name),
                    settings.remember_failed_discovery,
                )
            })
            .collect::<Result<_, _>>()?;
        Ok(Sso {
            settings,
            providers,
            service,
        })
    }

    /// What an administrator should hear at start, each naming its setting: providers without
    /// `public_url` (see [`SsoSettings::check_public_url`]), passwords switched off with no
    /// `break_glass_admin`, and a break-glass administrator who could not sign in (missing,
    /// deactivated, a service account, not a SysAdmin, no password). Not fatal: the account may
    /// be fixed after start.
    pub async fn startup_warnings(
        &self,
        public_url_given: bool,
        listen: std::net::SocketAddr,
    ) -> Vec<String> {
        let mut warnings = Vec::new();
        if let Ok(Some(warning)) = self.settings.check_public_url(public_url_given, listen) {
            warnings.push(warning);
        }
        match &self.settings.break_glass_admin {
            None if !self.settings.local_login => warnings.push(
                "sso.local_login = false and no sso.break_glass_admin: nobody can sign in with a password, so if every identity provider fails no administrator can sign in; name one with sso.break_glass_admin".into(),
            ),
            None => {}
            Some(name) => match self.service.break_glass_problem(name).await {
                Ok(None) => {}
                Ok(Some(problem)) => warnings.push(format!(
                    "sso.break_glass_admin = \"{name}\" cannot be the break-glass administrator: {problem}"
                )),
                Err(error) => warnings.push(format!("cannot check sso.break_glass_admin: {error}")),
            },
        }
        warnings
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
