//! The `tessera` binary: parses arguments, loads configuration, starts tracing, and calls into
//! the library. No business logic lives here; the client commands are in `client`.

mod client;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Args, Parser, Subcommand};
use mimalloc::MiMalloc;
use tessera_core::audit::AuditActor;
use tessera_core::names::UserName;
use tessera_core::realm::Algorithm;
use tessera_core::services::pats::{NewPat, PatService};
use tessera_core::services::users::{NewUser, UserService};
use tessera_server::local_proxy::{CredentialSource, LocalProxy, ProxyConfig};
use tessera_server::{
    Application, Config, Overrides, operator_context, shutdown_signal, start_realm,
};

/// A faster allocator than the system's for a server's many small, short-lived allocations
/// (measured by `bench/gateway.sh` and `bench/invoke.sh`).
#[global_allocator]
static ALLOCATOR: MiMalloc = MiMalloc;

#[derive(Parser)]
#[command(
    name = "tessera",
    version,
    about = "Authentication and access control for data-science platform APIs"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the server (API, realm, gateway) on an embedded SQLite database by default.
    Serve(ServeArgs),
    /// The local API proxy for runs: adds an access token to every request to DOMINO_API_HOST.
    Proxy(ProxyArgs),
    /// Operator commands that act on the database directly (also while the server runs).
    Admin {
        #[command(subcommand)]
        command: AdminCommand,
    },
    /// Client commands against a running Tessera over HTTP (pat, sa, exchange, whoami).
    #[command(flatten)]
    Client(client::ClientCommand),
}

#[derive(Args)]
struct DatabaseArgs {
    /// sqlite://PATH or postgres://...
    #[arg(long, env = "TESSERA_DATABASE")]
    database: Option<String>,
    /// TOML configuration file.
    #[arg(long, env = "TESSERA_CONFIG")]
    config: Option<PathBuf>,
}

#[derive(Args)]
struct ServeArgs {
    /// ADDRESS:PORT to listen on [default: 127.0.0.1:8080]
    #[arg(long, env = "TESSERA_LISTEN")]
    listen: Option<String>,
    /// Public base URL used for issuers and links [default: http://<listen>]
    #[arg(long, env = "TESSERA_PUBLIC_URL")]
    public_url: Option<String>,
    #[command(flatten)]
    db: DatabaseArgs,
}

#[derive(Args)]
struct ProxyArgs {
    /// ADDRESS:PORT to listen on (loopback) [default: 127.0.0.1:8899]
    #[arg(long, default_value = "127.0.0.1:8899")]
    listen: std::net::SocketAddr,
    /// The Tessera host to forward to.
    #[arg(long, env = "DOMINO_API_HOST")]
    host: String,
    /// A file holding the credential (a PAT, or a JWT used as it is); re-read when it changes.
    #[arg(long, env = "DOMINO_TOKEN_FILE")]
    token_file: Option<PathBuf>,
    /// The credential itself, when there is no token file.
    #[arg(long, env = "TESSERA_TOKEN", hide_env_values = true)]
    token: Option<String>,
    #[arg(long, env = "TESSERA_REALM", default_value = "DominoRealm")]
    realm: String,
}

#[derive(Subcommand)]
enum AdminCommand {
    /// Users.
    User {
        #[command(subcommand)]
        command: UserCommand,
    },
    /// Personal access tokens.
    Token {
        #[command(subcommand)]
        command: TokenCommand,
    },
    /// The realm's signing keys.
    Keys {
        #[command(subcommand)]
        command: KeysCommand,
    },
}

#[derive(Subcommand)]
enum KeysCommand {
    /// Make a new active signing key; the old one stays published until its tokens expire.
    /// A running server picks the new key up within seconds.
    Rotate {
        /// RS256, ES256 or EdDSA [default: the configured algorithm]
        #[arg(long)]
        algorithm: Option<String>,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

#[derive(Subcommand)]
enum UserCommand {
    /// Create a user.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        #[arg(long)]
        first_name: Option<String>,
        #[arg(long)]
        last_name: Option<String>,
        /// A platform role; repeat for several [default: Practitioner]
        #[arg(long = "role")]
        roles: Vec<String>,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

#[derive(Subcommand)]
enum TokenCommand {
    /// Create a PAT for a user and print only the token on stdout.
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        name: String,
        /// Lifetime in seconds [default: the policy default]
        #[arg(long)]
        expires_in: Option<i64>,
        #[arg(long)]
        description: Option<String>,
        #[command(flatten)]
        db: DatabaseArgs,
    },
}

fn config(
    db: &DatabaseArgs,
    listen: Option<String>,
    public_url: Option<String>,
) -> anyhow::Result<Config> {
    let overrides = Overrides {
        listen,
        database: db.database.clone(),
        public_url,
        server_secret: std::env::var("TESSERA_SERVER_SECRET").ok(),
        admin_password: std::env::var("TESSERA_ADMIN_PASSWORD").ok(),
        trusted_proxies: std::env::var("TESSERA_TRUSTED_PROXIES").ok(),
        metrics_listen: std::env::var("TESSERA_METRICS_LISTEN").ok(),
        models_allowed_upstreams: std::env::var("TESSERA_MODELS_ALLOWED_UPSTREAMS").ok(),
        env: tessera_server::config_env::settings(std::env::vars()),
    };
    Ok(Config::load(db.config.as_deref(), overrides)?)
}

fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_env("TESSERA_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info,sqlx=warn"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
}

async fn serve(args: ServeArgs) -> anyhow::Result<()> {
    init_tracing();
    let config = config(&args.db, args.listen, args.public_url)?;
    // Open connections are bounded below the file limit: use all the system allows.
    if let Err(error) = rlimit::increase_nofile_limit(u64::MAX) {
        tracing::warn!(%error, "cannot raise the open-file limit");
    }
    let app = Application::build(config.clone()).await?;
    if let Some(password) = &app.bootstrap_password {
        println!("Created the first administrator. User name: admin  Password: {password}");
        println!("This password is shown once; change it after logging in.");
    }
    tracing::info!(
        address = %app.local_addr(),
        database = %tessera_store::redact(&config.database),
        max_connections = app.limits().max_connections,
        "tessera listening; web UI at {}/ui/",
        app.state().public_url,
    );
    match app.metrics_addr() {
        Some(address) => tracing::info!(%address, "metrics at http://{address}/metrics"),
        None => tracing::info!("metrics are off; set metrics_listen to serve them"),
    }
    app.run_until_stopped(shutdown_signal()).await
}

async fn proxy(args: ProxyArgs) -> anyhow::Result<()> {
    init_tracing();
    let credential = match (args.token_file, args.token) {
        (Some(file), _) => CredentialSource::File(file),
        (None, Some(token)) => CredentialSource::Value(token),
        (None, None) => anyhow::bail!("no credential: set DOMINO_TOKEN_FILE or TESSERA_TOKEN"),
    };
    if !(args.host.starts_with("http://") || args.host.starts_with("https://")) {
        anyhow::bail!("DOMINO_API_HOST {:?} must start with http://", args.host);
    }
    tessera_server::local_proxy::boundary::check_listen(args.listen)
        .map_err(|why| anyhow::anyhow!(why))?;
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
    let local = listener.local_addr()?;
    let proxy = LocalProxy::new(ProxyConfig {
        listen: local,
        host: args.host.clone(),
        realm: args.realm,
        credential,
    });
    tracing::info!(address = %local, host = %args.host, "local API proxy listening (DOMINO_API_PROXY=http://{local})");
    proxy.serve(listener, shutdown_signal()).await?;
    Ok(())
}

async fn admin(command: AdminCommand) -> anyhow::Result<()> {
    init_tracing();
    match command {
        AdminCommand::User {
            command:
                UserCommand::Create {
                    username,
                    email,
                    first_name,
                    last_name,
                    roles,
                    db,
                },
        } => {
            let request = NewUser::parse(
                &username,
                &email,
                first_name.as_deref(),
                last_name.as_deref(),
                (!roles.is_empty()).then_some(roles.as_slice()),
                None,
            )?;
            let ctx = operator_context(&config(&db, None, None)?).await?;
            let user = UserService::new(ctx).create_by_operator(request).await?;
            println!("{}", user.id);
            Ok(())
        }
        AdminCommand::Token {
            command:
                TokenCommand::Create {
                    username,
                    name,
                    expires_in,
                    description,
                    db,
                },
        } => {
            let user_name = UserName::parse("username", &username)?;
            let request = NewPat::parse(&name, description.as_deref(), expires_in)?;
            let config = config(&db, None, None)?;
            let ctx = operator_context(&config).await?;
            let (_, secret) = PatService::new(ctx, config.expiration)
                .create_for_operator(&user_name, request)
                .await?;
            println!("{}", secret.expose());
            Ok(())
        }
        AdminCommand::Keys {
            command: KeysCommand::Rotate { algorithm, db },
        } => {
            let algorithm = algorithm
                .map(|a| {
                    Algorithm::parse(&a).ok_or_else(|| {
                        anyhow::anyhow!("--algorithm: {a:?} must be RS256, ES256 or EdDSA")
                    })
                })
                .transpose()?;
            let config = config(&db, None, None)?;
            let ctx = operator_context(&config).await?;
            let realm = start_realm(&config, &ctx).await?;
            let (kid, alg) = realm.rotate(algorithm, &AuditActor::command_line()).await?;
            println!("{kid} {}", alg.as_str());
            Ok(())
        }
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        // Client commands log nothing and print their own errors, with their own exit codes.
        Command::Client(command) => return client::run(command).await,
        Command::Serve(args) => serve(args).await,
        Command::Proxy(args) => proxy(args).await,
        Command::Admin { command } => admin(command).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("tessera: {error:#}");
            ExitCode::FAILURE
        }
    }
}
