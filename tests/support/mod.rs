//! Helpers shared by the test binaries that run real processes or databases
//! (`ops`, `replicas`, `store`); each binary uses a part of them.
#![allow(dead_code)]

use std::path::Path;
use std::process::Command;

use serde_json::Value;

/// Creates an empty PostgreSQL database next to `base` (a `TEST_DATABASE_URL`) and returns its URL.
pub async fn fresh_pg_database(base: &str) -> String {
    use sqlx::Connection;
    let name = format!("invreqd_t_{}", uuid::Uuid::new_v4().simple());
    let mut admin = sqlx::PgConnection::connect(base)
        .await
        .expect("TEST_DATABASE_URL reachable");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&mut admin)
        .await
        .expect("create database");
    let (prefix, _) = base.rsplit_once('/').expect("URL with a database name");
    format!("{prefix}/{name}")
}

/// Makes an API key for the default tenant with the invoice request scopes, through the CLI,
/// on the data directory's store (or `database_url`, when given).
pub fn make_key(data_dir: &Path, database_url: Option<&str>) -> String {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_invreqd"));
    cmd.args([
        "keys", "create", "--name", "test", "--tenant", "default", "--scope",
    ])
    .arg("invoicerequests:read,invoicerequests:write,invoicerequests:disable")
    .arg("--data-dir")
    .arg(data_dir)
    .env_clear();
    if let Some(url) = database_url {
        cmd.args(["--database-url", url]);
    }
    let out = cmd.output().expect("invreqd keys create");
    assert!(
        out.status.success(),
        "keys create: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: Value = serde_json::from_slice(&out.stdout).expect("keys create prints JSON");
    v["api_key"].as_str().expect("api_key").to_string()
}

/// A client builder that sends `key` as its bearer token with every request.
pub fn authed_client_builder(key: &str) -> reqwest::ClientBuilder {
    let mut headers = reqwest::header::HeaderMap::new();
    headers.insert(
        reqwest::header::AUTHORIZATION,
        format!("Bearer {key}").parse().expect("header value"),
    );
    reqwest::Client::builder().default_headers(headers)
}

/// A client that sends `key` as its bearer token with every request.
pub fn authed_client(key: &str) -> reqwest::Client {
    authed_client_builder(key).build().expect("client")
}
