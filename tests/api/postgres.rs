//! The key store on PostgreSQL (run when `TEST_DATABASE_URL` is set; `.ci/run` sets it): limits
//! hold under concurrency across separate pools (replicas), and one bootstrap key is made.

use std::sync::Arc;

use invreqd::store::{InvoiceRequestRecord, SpendingPolicy, Status, Store, StoreOptions};

/// A fresh database on the test server, so runs never share state.
async fn fresh_database() -> Option<StoreOptions> {
    let base = std::env::var("TEST_DATABASE_URL").ok()?;
    sqlx::any::install_default_drivers();
    let name = format!("invreqd_keys_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::AnyPool::connect(&base)
        .await
        .expect("TEST_DATABASE_URL reachable");
    sqlx::query(sqlx::AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .execute(&admin)
        .await
        .unwrap();
    let (prefix, _) = base.rsplit_once('/').expect("a URL with a database name");
    Some(StoreOptions::new(format!("{prefix}/{name}")))
}

fn record(tenant: &str, amount_msat: u64) -> InvoiceRequestRecord {
    let now = invreqd::service::unix_now();
    InvoiceRequestRecord {
        seq: 0,
        invreq_id: hex::encode(uuid::Uuid::new_v4().as_bytes()).repeat(2),
        tenant: tenant.into(),
        bolt12: String::new(),
        amount_msat,
        description: "pg".into(),
        issuer: None,
        label: None,
        absolute_expiry: None,
        single_use: true,
        active: false,
        used: false,
        status: Status::Pending,
        created_at: now,
        updated_at: now,
        submitted: None,
    }
}

#[tokio::test]
#[cfg_attr(no_test_database, ignore = "TEST_DATABASE_URL is not set")]
async fn postgres_limits_hold_across_replicas_and_one_bootstrap_key_is_made() {
    let opts = fresh_database().await.expect("TEST_DATABASE_URL is set");
    Store::connect(&opts).await.unwrap();
    // Four "replicas", each with its own pool.
    let mut replicas = Vec::new();
    for _ in 0..4 {
        replicas.push(Arc::new(Store::connect(&opts).await.unwrap()));
    }
    let policy = SpendingPolicy {
        max_outstanding_msat: Some(10_000),
        ..SpendingPolicy::UNLIMITED
    };
    let mut tasks = Vec::new();
    for i in 0..100 {
        let store = replicas[i % replicas.len()].clone();
        tasks.push(tokio::spawn(async move {
            store
                .insert_within_policy(
                    &record("pg-race", 1000),
                    &policy,
                    invreqd::service::unix_now(),
                    None,
                )
                .await
                .unwrap()
                .is_ok()
        }));
    }
    let mut ok = 0;
    for t in tasks {
        ok += usize::from(t.await.unwrap());
    }
    assert_eq!(ok, 10);
    let spent = replicas[0]
        .spending("pg-race", invreqd::service::unix_now())
        .await
        .unwrap();
    assert_eq!(spent.outstanding_msat, 10_000);

    let mut tasks = Vec::new();
    for store in &replicas {
        let store = (**store).clone();
        tasks.push(tokio::spawn(async move {
            invreqd::service::KeyService::new(store)
                .ensure_bootstrap_key()
                .await
                .unwrap()
                .is_some()
        }));
    }
    let mut made = 0;
    for t in tasks {
        made += usize::from(t.await.unwrap());
    }
    assert_eq!(made, 1);
    assert_eq!(replicas[0].keys(None).await.unwrap().len(), 1);
}
