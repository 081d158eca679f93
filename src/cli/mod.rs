//! The command line: its grammar ([`Cli`]), `invreqd keys …` and the bootstrap admin key at
//! first start.

pub mod bootstrap;
pub mod keys;

use clap::{Parser, Subcommand};

use crate::config::ServeArgs;

/// invreqd: BOLT12 invoice requests over HTTP, on top of Core Lightning.
#[derive(Debug, Parser)]
#[command(name = "invreqd", version, args_conflicts_with_subcommands = true)]
pub struct Cli {
    /// What to do (default: serve).
    #[command(subcommand)]
    pub command: Option<Command>,
    /// Settings of `serve`, when no command is given.
    #[command(flatten)]
    pub serve: ServeArgs,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP service (the default).
    Serve(Box<ServeArgs>),
    /// Print the OpenAPI document.
    Openapi,
    /// Decode an lnr1… string and print its fields as JSON.
    Decode {
        /// The lnr1… string.
        bolt12: String,
    },
    /// Manage API keys in the configured database.
    Keys(keys::KeysCommand),
    /// Seed a store with signed invoice requests (load testing).
    #[cfg(feature = "load-test")]
    #[command(hide = true)]
    BenchSeed(Box<crate::bench::SeedArgs>),
    /// Print what one BIP340 signature costs here (load testing).
    #[cfg(feature = "load-test")]
    #[command(hide = true)]
    BenchSign {
        /// Signatures to time.
        #[arg(long, default_value_t = 20_000)]
        iterations: u32,
    },
    /// Print what serializing one list page's JSON costs here (load testing).
    #[cfg(feature = "load-test")]
    #[command(hide = true)]
    BenchSerialize(Box<crate::bench::SerializeArgs>),
}
