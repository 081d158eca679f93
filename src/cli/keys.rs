//! `invreqd keys create|list|revoke`: key management against the configured database.

use std::path::PathBuf;

use clap::{Args, Subcommand};

use crate::auth::{ApiClient, Scope, SpendingPolicy};
use crate::config::default_database_url;
use crate::service::{KeyService, NewKey, unix_now};
use crate::store::{ApiKeyRecord, Store, StoreOptions};

/// `invreqd keys …`.
#[derive(Debug, Args)]
pub struct KeysCommand {
    /// Directory of the SQLite database (when no database URL is given).
    #[arg(
        long,
        env = "INVREQD_DATA_DIR",
        default_value = "./data",
        global = true
    )]
    pub data_dir: PathBuf,
    /// Database URL (`sqlite://…` or `postgres://…`); default: a SQLite file in the data directory.
    #[arg(
        long,
        env = "INVREQD_DATABASE_URL",
        hide_env_values = true,
        global = true
    )]
    pub database_url: Option<String>,
    /// What to do.
    #[command(subcommand)]
    pub action: KeysAction,
}

/// The key commands.
#[derive(Debug, Subcommand)]
pub enum KeysAction {
    /// Create a key and print it (shown once).
    Create {
        /// A human name.
        #[arg(long)]
        name: String,
        /// Whose invoice requests it sees.
        #[arg(long)]
        tenant: String,
        /// A scope (repeat or separate with commas): invoicerequests:read,
        /// invoicerequests:write, invoicerequests:disable, admin.
        #[arg(long = "scope", value_delimiter = ',', required = true, value_parser = parse_scope)]
        scopes: Vec<Scope>,
        /// Seconds from now after which the key stops working.
        #[arg(long)]
        expires_in_secs: Option<u64>,
        /// Largest amount of one invoice request, msat.
        #[arg(long)]
        max_per_request_msat: Option<u64>,
        /// Most the tenant may promise over a rolling 24 hours, msat.
        #[arg(long)]
        max_daily_msat: Option<u64>,
        /// Most the tenant may have outstanding at once, msat.
        #[arg(long)]
        max_outstanding_msat: Option<u64>,
    },
    /// List keys (never their secrets) as JSON lines.
    List {
        /// Only this tenant's keys.
        #[arg(long)]
        tenant: Option<String>,
    },
    /// Revoke a key by id; running servers notice within their --key-cache-ms.
    Revoke {
        /// The key id (16 hex digits: the part after `ird_`).
        key_id: String,
    },
}

fn parse_scope(s: &str) -> Result<Scope, String> {
    Scope::parse(s).ok_or_else(|| {
        let all: Vec<&str> = Scope::ALL.iter().map(|s| s.as_str()).collect();
        format!("unknown scope {s:?}; the scopes are {}", all.join(", "))
    })
}

fn describe(k: &ApiKeyRecord) -> serde_json::Value {
    serde_json::json!({
        "key_id": k.key_id,
        "name": k.name,
        "tenant": k.tenant,
        "scopes": k.scopes,
        "expires_at": k.expires_at,
        "revoked": k.revoked,
        "max_per_request_msat": k.policy.max_per_request_msat,
        "max_daily_msat": k.policy.max_daily_msat,
        "max_outstanding_msat": k.policy.max_outstanding_msat,
        "created_at": k.created_at,
        "revoked_at": k.revoked_at,
    })
}

/// Runs a key command; what it prints goes to stdout.
pub async fn run(cmd: KeysCommand) -> anyhow::Result<()> {
    crate::startup::init_crypto();
    let url = cmd
        .database_url
        .clone()
        .unwrap_or_else(|| default_database_url(&cmd.data_dir));
    if cmd.database_url.is_none() {
        std::fs::create_dir_all(&cmd.data_dir)?;
    }
    let store = Store::connect(&StoreOptions::new(url)).await?;
    let service = KeyService::new(store);
    let actor = ApiClient::cli();
    match cmd.action {
        KeysAction::Create {
            name,
            tenant,
            scopes,
            expires_in_secs,
            max_per_request_msat,
            max_daily_msat,
            max_outstanding_msat,
        } => {
            let created = service
                .create_key(
                    &actor,
                    NewKey {
                        name,
                        tenant,
                        scopes,
                        expires_at: expires_in_secs.map(|s| unix_now().saturating_add(s)),
                        policy: SpendingPolicy {
                            max_per_request_msat,
                            max_daily_msat,
                            max_outstanding_msat,
                        },
                    },
                )
                .await?;
            println!(
                "{}",
                serde_json::json!({"api_key": created.token, "key": describe(&created.record)})
            );
            eprintln!("Store the api_key now: it cannot be shown again.");
        }
        KeysAction::List { tenant } => {
            for k in service.list_keys(tenant.as_deref()).await? {
                println!("{}", describe(&k));
            }
        }
        KeysAction::Revoke { key_id } => {
            let k = service.revoke_key(&actor, &key_id).await?;
            println!("{}", describe(&k));
        }
    }
    Ok(())
}
