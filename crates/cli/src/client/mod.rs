//! The client commands (`pat`, `sa`, `exchange`, `whoami`, SPEC section 8): they talk to a
//! running Tessera over its HTTP API, as `gh` and `glab` do, and never open the database.
//!
//! Exit codes, as `gh` chose them: 0 success; 1 failure (a refusal by the server, an unknown
//! name, an unreachable host); 2 a usage error (clap's, or a bad `--host`); 4 authentication is
//! needed (no credential, an unusable one, or the server answered 401).

mod api;
mod identity;
mod output;
mod pat;
mod resolve;
mod sa;
mod settings;

use std::process::ExitCode;

use clap::{Args, Subcommand};
use reqwest::StatusCode;

use api::Api;
use settings::{Credential, Host, process_env};

/// Exit code for a failure.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code for a usage error (the same as clap's).
pub const EXIT_USAGE: u8 = 2;
/// Exit code when authentication is needed.
pub const EXIT_AUTH: u8 = 4;

/// The client commands, flattened into the binary's top level.
#[derive(Subcommand)]
pub enum ClientCommand {
    /// Your personal access tokens: create, list, revoke, delete, rotate.
    Pat(pat::PatArgs),
    /// Service accounts and their tokens (administrators).
    Sa(sa::SaArgs),
    /// Print an access JWT for the current credential (RFC 8693 token exchange).
    Exchange(identity::ExchangeArgs),
    /// Print the user name the current credential belongs to.
    Whoami(identity::WhoamiArgs),
}

/// Options every client command takes, before or after its subcommand.
#[derive(Args, Debug)]
pub struct ClientOptions {
    /// Tessera's URL; else DOMINO_API_HOST, else http://127.0.0.1:8080.
    #[arg(long, global = true, value_name = "URL")]
    host: Option<String>,
    /// The credential (PAT, service-account token or JWT); else TESSERA_TOKEN, else the file
    /// named by DOMINO_TOKEN_FILE, else DOMINO_USER_API_KEY (a legacy API key). The variables
    /// are safer: a flag shows in the process list.
    #[arg(long, global = true, value_name = "TOKEN")]
    token: Option<String>,
    /// Print the API's JSON document instead of a table.
    #[arg(long, global = true)]
    json: bool,
}

/// Why a client command failed; shown on stderr after `tessera: `. No variant carries a secret.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Usage(String),
    #[error(
        "no credential: pass --token, or set TESSERA_TOKEN, DOMINO_TOKEN_FILE (a file holding \
         the token) or DOMINO_USER_API_KEY (a legacy API key)"
    )]
    NoCredential,
    #[error("{0}")]
    Credential(String),
    /// The server refused: its own message, the status and the request id for its log.
    #[error("{message} (HTTP {status}{})", request_id.as_ref().map(|id| format!(", request id {id}")).unwrap_or_default())]
    Http {
        status: StatusCode,
        message: String,
        request_id: Option<String>,
    },
    #[error("{0}")]
    Unreachable(String),
    #[error("{0}")]
    Failed(String),
}

impl ClientError {
    /// The process exit code for this error (see the module documentation).
    pub fn exit_code(&self) -> u8 {
        match self {
            ClientError::Usage(_) => EXIT_USAGE,
            ClientError::NoCredential | ClientError::Credential(_) => EXIT_AUTH,
            ClientError::Http { status, .. } if *status == StatusCode::UNAUTHORIZED => EXIT_AUTH,
            ClientError::Http { .. } | ClientError::Unreachable(_) | ClientError::Failed(_) => {
                EXIT_FAILURE
            }
        }
    }
}

/// What a command has to work with: the API (host and credential) and the output format.
pub struct Session {
    pub api: Api,
    pub json: bool,
}

impl Session {
    fn open(options: &ClientOptions) -> Result<Session, ClientError> {
        let host = Host::resolve(options.host.as_deref(), &process_env)?;
        let credential = Credential::resolve(options.token.as_deref(), &process_env)?;
        Ok(Session {
            api: Api::new(host, credential)?,
            json: options.json,
        })
    }
}

/// Runs one client command; errors go to stderr and become the exit code.
pub async fn run(command: ClientCommand) -> ExitCode {
    let result = match command {
        ClientCommand::Pat(args) => pat::run(args).await,
        ClientCommand::Sa(args) => sa::run(args).await,
        ClientCommand::Exchange(args) => identity::exchange(args).await,
        ClientCommand::Whoami(args) => identity::whoami(args).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tessera: {}", output::one_line(&error.to_string()));
            ExitCode::from(error.exit_code())
        }
    }
}
