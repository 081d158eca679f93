//! Runs the CLN REST double for local development: prints its URL, writes its CA and rune.
//!
//! `cargo run -p cln-double -- [DIR]` writes `DIR/ca.pem` and `DIR/rune` (default `./cln-double`)
//! and serves on 127.0.0.1 (port from `CLN_DOUBLE_PORT`, default 3010) until Ctrl-C.

use cln_double::{ClnDouble, DoubleOptions};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dir = std::path::PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or_else(|| "cln-double".into()),
    );
    let port = std::env::var("CLN_DOUBLE_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(3010);
    let double = ClnDouble::start(DoubleOptions {
        port,
        ..DoubleOptions::default()
    })
    .await?;
    std::fs::create_dir_all(&dir)?;
    std::fs::write(dir.join("ca.pem"), double.ca_pem())?;
    std::fs::write(dir.join("rune"), double.rune())?;
    std::fs::write(dir.join("client.pem"), double.client_cert_pem())?;
    std::fs::write(dir.join("client-key.pem"), double.client_key_pem())?;
    println!(
        "cln-double listening on {} (node id {})",
        double.url(),
        double.node_id()
    );
    println!(
        "run: invreqd --node cln-rest --cln-rest-url {} --cln-ca-cert {} --cln-rune-file {}",
        double.url(),
        dir.join("ca.pem").display(),
        dir.join("rune").display()
    );
    println!(
        "or (built with --features grpc): invreqd --node cln-grpc --cln-grpc-url {} --cln-ca-cert {} --cln-client-cert {} --cln-client-key {}",
        double.grpc_url(),
        dir.join("ca.pem").display(),
        dir.join("client.pem").display(),
        dir.join("client-key.pem").display()
    );
    tokio::signal::ctrl_c().await?;
    Ok(())
}
