//! `tessera sa`: service accounts and their named tokens through
//! `/api/serviceAccounts/v1/serviceAccounts` (Domino paths; SysAdmin only, the server refuses
//! anyone else with 403). An account is named by its username or id; `token create` prints the
//! new secret and nothing else.

use clap::{Args, Subcommand};
use serde::Deserialize;
use serde_json::{Value, json};

use super::output::{self, cell, when};
use super::{ClientError, ClientOptions, Session, resolve};

const ACCOUNTS: [&str; 4] = ["api", "serviceAccounts", "v1", "serviceAccounts"];
/// The server's largest page.
const PAGE: usize = 1000;
/// Pages read at most while listing (a million accounts): the loop is bounded.
const MAX_PAGES: usize = 1000;

#[derive(Args)]
pub struct SaArgs {
    #[command(subcommand)]
    command: SaCommand,
    #[command(flatten)]
    options: ClientOptions,
}

#[derive(Subcommand)]
enum SaCommand {
    /// List service accounts.
    #[command(alias = "ls")]
    List,
    /// Create a service account; it gets your roles.
    Create {
        /// Lowercase letters, digits, '.', '_' and '-'.
        username: String,
        #[arg(long)]
        description: Option<String>,
    },
    /// A service account's tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a token and print only its secret (with --json, the API's creation document).
    Create {
        /// The service account's username or id.
        sa: String,
        /// The token's name, unique for the account.
        name: String,
        /// Lifetime in seconds [default: 4 months, within the server's policy].
        #[arg(long, value_name = "SECONDS")]
        expires_in: Option<i64>,
    },
    /// List an account's tokens (never their secrets).
    #[command(alias = "ls")]
    List {
        /// The service account's username or id.
        sa: String,
    },
    /// Revoke a token at once.
    Revoke {
        /// The service account's username or id.
        sa: String,
        /// The token's name.
        name: String,
    },
}

#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Account {
    id: String,
    username: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    roles: Vec<String>,
    is_active: bool,
    created_at: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Token {
    name: String,
    status: String,
    created_at: String,
    expires_at: Option<String>,
    last_used_at: Option<String>,
}

pub async fn run(args: SaArgs) -> Result<(), ClientError> {
    let session = Session::open(&args.options)?;
    match args.command {
        SaCommand::List => {
            let accounts = accounts(&session).await?;
            if session.json {
                let all = output::without_secrets(Value::Array(accounts));
                return output::print(&output::json(&all)?);
            }
            let rows = parse::<Vec<Account>>(&Value::Array(accounts))?;
            if rows.is_empty() {
                eprintln!("There are no service accounts; `tessera sa create USERNAME` makes one.");
                return Ok(());
            }
            output::print(&accounts_table(&rows))
        }
        SaCommand::Create {
            username,
            description,
        } => {
            let mut body = json!({ "username": username });
            if let Some(description) = description {
                body["description"] = json!(description);
            }
            let created = output::without_secrets(session.api.post(&ACCOUNTS, Some(&body)).await?);
            if session.json {
                return output::print(&output::json(&created)?);
            }
            output::print(&accounts_table(&[parse::<Account>(&created)?]))
        }
        SaCommand::Token { command } => token(&session, command).await,
    }
}

async fn token(session: &Session, command: TokenCommand) -> Result<(), ClientError> {
    match command {
        TokenCommand::Create {
            sa,
            name,
            expires_in,
        } => {
            let account = find(session, &sa).await?;
            let mut body = json!({ "name": name });
            if let Some(seconds) = expires_in {
                body["expiresIn"] = json!(seconds);
            }
            let path = [&ACCOUNTS[..], &[account.id.as_str(), "tokens"]].concat();
            let created = session.api.post(&path, Some(&body)).await?;
            if session.json {
                return output::print(&output::json(&created)?);
            }
            output::print_line(output::secret(&created, "token")?)
        }
        TokenCommand::List { sa } => {
            let account = find(session, &sa).await?;
            let tokens = output::without_secrets(tokens(session, &account).await?);
            if session.json {
                return output::print(&output::json(&tokens)?);
            }
            output::print(&tokens_table(&parse::<Vec<Token>>(&tokens)?))
        }
        TokenCommand::Revoke { sa, name } => {
            let account = find(session, &sa).await?;
            let listed = parse::<Vec<Token>>(&tokens(session, &account).await?)?;
            let wanted = name.trim().to_lowercase();
            let token = listed.iter().find(|t| t.name == wanted).ok_or_else(|| {
                ClientError::Failed(format!(
                    "service account {} has no token named \"{}\"; `tessera sa token list {}` shows them",
                    cell(&account.username),
                    cell(&name),
                    cell(&account.username)
                ))
            })?;
            let path = [
                &ACCOUNTS[..],
                &[
                    account.id.as_str(),
                    "tokens",
                    token.name.as_str(),
                    "invalidate",
                ],
            ]
            .concat();
            let revoked = output::without_secrets(session.api.post(&path, None).await?);
            if session.json {
                return output::print(&output::json(&revoked)?);
            }
            output::print(&tokens_table(&[parse::<Token>(&revoked)?]))
        }
    }
}

/// Every account, page by page (`offset`, `limit`), as the API sent them.
async fn accounts(session: &Session) -> Result<Vec<Value>, ClientError> {
    let mut all = Vec::new();
    for page in 0..MAX_PAGES {
        let query = [
            ("offset", (page * PAGE).to_string()),
            ("limit", PAGE.to_string()),
        ];
        let answer = session.api.get(&ACCOUNTS, &query).await?;
        let Value::Array(entries) = answer else {
            return Err(ClientError::Failed(
                "the server's answer is not a list of service accounts".into(),
            ));
        };
        let last = entries.len() < PAGE;
        all.extend(entries);
        if last {
            return Ok(all);
        }
    }
    Err(ClientError::Failed(format!(
        "more than {} service accounts; stopped listing",
        PAGE * MAX_PAGES
    )))
}

async fn find(session: &Session, typed: &str) -> Result<Account, ClientError> {
    let rows = parse::<Vec<Account>>(&Value::Array(accounts(session).await?))?;
    let fields: resolve::Fields<Account> = resolve::Fields {
        id: |a| a.id.as_str(),
        name: |a| a.username.as_str(),
        live: |a| a.is_active,
    };
    resolve::one(&rows, typed, fields, "service account", "tessera sa list").cloned()
}

async fn tokens(session: &Session, account: &Account) -> Result<Value, ClientError> {
    let path = [&ACCOUNTS[..], &[account.id.as_str(), "tokens"]].concat();
    session.api.get(&path, &[]).await
}

fn parse<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, ClientError> {
    T::deserialize(value).map_err(|e| {
        ClientError::Failed(format!(
            "the server's answer is not what Tessera sends for service accounts: {e}"
        ))
    })
}

fn accounts_table(accounts: &[Account]) -> String {
    let rows = accounts
        .iter()
        .map(|a| {
            vec![
                cell(&a.id),
                cell(&a.username),
                (if a.is_active { "yes" } else { "no" }).to_string(),
                cell(&a.roles.join(",")),
                when(Some(&a.created_at), "-"),
                cell(&a.description),
            ]
        })
        .collect();
    output::table(
        &[
            "ID",
            "USERNAME",
            "ACTIVE",
            "ROLES",
            "CREATED",
            "DESCRIPTION",
        ],
        rows,
    )
}

fn tokens_table(tokens: &[Token]) -> String {
    let rows = tokens
        .iter()
        .map(|t| {
            vec![
                cell(&t.name),
                cell(&t.status),
                when(t.expires_at.as_deref(), "never"),
                when(t.last_used_at.as_deref(), "never"),
                when(Some(&t.created_at), "-"),
            ]
        })
        .collect();
    output::table(&["NAME", "STATUS", "EXPIRES", "LAST USED", "CREATED"], rows)
}
