//! `tessera whoami` (`GET /v4/users/self`, Domino) and `tessera exchange` (RFC 8693 token
//! exchange at the realm's token endpoint, SPEC section 4): who the credential is, and an
//! access JWT minted from it.

use clap::Args;
use serde_json::Value;

use super::output;
use super::{ClientError, ClientOptions, Session};

const TOKEN_EXCHANGE: &str = "urn:ietf:params:oauth:grant-type:token-exchange";
const ACCESS_TOKEN: &str = "urn:ietf:params:oauth:token-type:access_token";

#[derive(Args)]
pub struct WhoamiArgs {
    #[command(flatten)]
    options: ClientOptions,
}

#[derive(Args)]
pub struct ExchangeArgs {
    /// The realm whose token endpoint mints the JWT.
    #[arg(long, env = "TESSERA_REALM", default_value = "DominoRealm")]
    realm: String,
    /// An audience the JWT is for (RFC 8693 `audience`); repeat for several [default: the
    /// realm's].
    #[arg(long = "audience", value_name = "AUDIENCE")]
    audiences: Vec<String>,
    #[command(flatten)]
    options: ClientOptions,
}

/// Prints the user name (with `--json`, the `/v4/users/self` document).
pub async fn whoami(args: WhoamiArgs) -> Result<(), ClientError> {
    let session = Session::open(&args.options)?;
    let me = output::without_secrets(session.api.get(&["v4", "users", "self"], &[]).await?);
    if session.json {
        return output::print(&output::json(&me)?);
    }
    let name = me.get("userName").and_then(Value::as_str).ok_or_else(|| {
        ClientError::Failed("the server's answer to /v4/users/self has no userName".into())
    })?;
    output::print_line(&output::one_line(name))
}

/// Prints the access JWT (with `--json`, the whole token response).
pub async fn exchange(args: ExchangeArgs) -> Result<(), ClientError> {
    let session = Session::open(&args.options)?;
    let subject = session.api.credential().expose().to_string();
    let mut form = vec![
        ("grant_type", TOKEN_EXCHANGE),
        ("subject_token", subject.as_str()),
        ("subject_token_type", ACCESS_TOKEN),
        ("requested_token_type", ACCESS_TOKEN),
    ];
    form.extend(args.audiences.iter().map(|a| ("audience", a.as_str())));
    let path = [
        "auth",
        "realms",
        args.realm.as_str(),
        "protocol",
        "openid-connect",
        "token",
    ];
    let answer = session.api.post_form(&path, &form).await?;
    if session.json {
        return output::print(&output::json(&answer)?);
    }
    output::print_line(output::secret(&answer, "access_token")?)
}
