//! `tessera pat`: the caller's own personal access tokens through `/api/pat/v1/tokens`
//! (Domino paths, SPEC section 3). `create` and `rotate` print the new secret and nothing
//! else; no other subcommand prints one.

use clap::{Args, Subcommand};
use serde::Deserialize;
use serde_json::{Value, json};

use super::output::{self, cell, when};
use super::{ClientError, ClientOptions, Session, resolve};

const TOKENS: [&str; 4] = ["api", "pat", "v1", "tokens"];

#[derive(Args)]
pub struct PatArgs {
    #[command(subcommand)]
    command: PatCommand,
    #[command(flatten)]
    options: ClientOptions,
}

#[derive(Subcommand)]
enum PatCommand {
    /// Create a token and print only its secret (with --json, the API's creation document).
    Create {
        /// 1-64 characters of a-z, 0-9, '.' and '-' (lowercased), unique among your tokens.
        name: String,
        #[arg(long)]
        description: Option<String>,
        /// Lifetime in seconds [default: the server's policy default].
        #[arg(long, value_name = "SECONDS")]
        expires_in: Option<i64>,
    },
    /// List your tokens (never their secrets).
    #[command(alias = "ls")]
    List,
    /// Revoke a token at once; it stays listed as Revoked until deleted.
    Revoke(Target),
    /// Delete a token and its metadata.
    #[command(alias = "rm")]
    Delete(Target),
    /// A new secret for a token, with the same name, description and lifetime; the old secret
    /// is revoked. Prints only the new secret.
    Rotate {
        /// The token's id or name.
        id_or_name: String,
    },
}

/// One token by id or name, or `--all` of them (never both).
#[derive(Args)]
struct Target {
    /// The token's id or name.
    #[arg(required_unless_present = "all", conflicts_with = "all")]
    id_or_name: Option<String>,
    /// Every one of your tokens, without asking.
    #[arg(long)]
    all: bool,
}

/// The fields of a token the tables and name resolution use.
#[derive(Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Pat {
    pat_id: String,
    name: String,
    #[serde(default)]
    description: String,
    status: String,
    created_at: String,
    expires_at: Option<String>,
    last_used_at: Option<String>,
}

pub async fn run(args: PatArgs) -> Result<(), ClientError> {
    let session = Session::open(&args.options)?;
    match args.command {
        PatCommand::Create {
            name,
            description,
            expires_in,
        } => {
            let mut body = json!({ "name": name });
            if let Some(description) = description {
                body["description"] = json!(description);
            }
            if let Some(seconds) = expires_in {
                body["expiresIn"] = json!(seconds);
            }
            let created = session.api.post(&TOKENS, Some(&body)).await?;
            print_secret(&session, &created)
        }
        PatCommand::List => {
            let tokens = list(&session).await?;
            if session.json {
                return output::print(&output::json(&output::without_secrets(tokens.0))?);
            }
            if tokens.1.is_empty() {
                eprintln!(
                    "You have no personal access tokens; `tessera pat create NAME` makes one."
                );
                return Ok(());
            }
            output::print(&table(&tokens.1))
        }
        PatCommand::Revoke(target) => match target.id_or_name {
            None => {
                let answer = session
                    .api
                    .post(&[&TOKENS[..], &["invalidate"]].concat(), None)
                    .await?;
                print_count(&session, &answer, "Revoked")
            }
            Some(typed) => {
                let id = find(&session, &typed).await?.pat_id;
                let path = [&TOKENS[..], &[id.as_str(), "invalidate"]].concat();
                let revoked = session.api.post(&path, None).await?;
                print_one(&session, revoked)
            }
        },
        PatCommand::Delete(target) => match target.id_or_name {
            None => {
                let answer = session.api.delete(&TOKENS).await?;
                print_count(&session, &answer, "Deleted")
            }
            Some(typed) => {
                let pat = find(&session, &typed).await?;
                session
                    .api
                    .delete(&[&TOKENS[..], &[pat.pat_id.as_str()]].concat())
                    .await?;
                if session.json {
                    let gone = json!({ "patId": pat.pat_id, "name": pat.name, "deleted": true });
                    return output::print(&output::json(&gone)?);
                }
                output::print_line(&format!(
                    "Deleted token {} ({})",
                    cell(&pat.name),
                    cell(&pat.pat_id)
                ))
            }
        },
        PatCommand::Rotate { id_or_name } => {
            let id = find(&session, &id_or_name).await?.pat_id;
            let path = [&TOKENS[..], &[id.as_str(), "rotate"]].concat();
            let rotated = session.api.post(&path, None).await?;
            print_secret(&session, &rotated)
        }
    }
}

/// The API's array as it came, and the rows parsed from it.
async fn list(session: &Session) -> Result<(Value, Vec<Pat>), ClientError> {
    let tokens = session.api.get(&TOKENS, &[]).await?;
    let rows = parse::<Vec<Pat>>(&tokens)?;
    Ok((tokens, rows))
}

async fn find(session: &Session, typed: &str) -> Result<Pat, ClientError> {
    let (_, rows) = list(session).await?;
    let fields: resolve::Fields<Pat> = resolve::Fields {
        id: |p| p.pat_id.as_str(),
        name: |p| p.name.as_str(),
        live: |p| p.status != "Revoked",
    };
    let found = resolve::one(&rows, typed, fields, "token", "tessera pat list")?;
    Ok(found.clone())
}

fn parse<T: serde::de::DeserializeOwned>(value: &Value) -> Result<T, ClientError> {
    T::deserialize(value).map_err(|e| {
        ClientError::Failed(format!(
            "the server's answer is not a token list Tessera sends: {e}"
        ))
    })
}

fn table(tokens: &[Pat]) -> String {
    let rows = tokens
        .iter()
        .map(|p| {
            vec![
                cell(&p.pat_id),
                cell(&p.name),
                cell(&p.status),
                when(p.expires_at.as_deref(), "never"),
                when(p.last_used_at.as_deref(), "never"),
                when(Some(&p.created_at), "-"),
                cell(&p.description),
            ]
        })
        .collect();
    output::table(
        &[
            "ID",
            "NAME",
            "STATUS",
            "EXPIRES",
            "LAST USED",
            "CREATED",
            "DESCRIPTION",
        ],
        rows,
    )
}

fn print_secret(session: &Session, created: &Value) -> Result<(), ClientError> {
    if session.json {
        return output::print(&output::json(created)?);
    }
    output::print_line(output::secret(created, "token")?)
}

fn print_one(session: &Session, document: Value) -> Result<(), ClientError> {
    let document = output::without_secrets(document);
    if session.json {
        return output::print(&output::json(&document)?);
    }
    output::print(&table(&[parse::<Pat>(&document)?]))
}

fn print_count(session: &Session, answer: &Value, done: &str) -> Result<(), ClientError> {
    if session.json {
        return output::print(&output::json(answer)?);
    }
    let count = answer.get("count").and_then(Value::as_u64).unwrap_or(0);
    let noun = if count == 1 { "token" } else { "tokens" };
    output::print_line(&format!("{done} {count} {noun}"))
}
