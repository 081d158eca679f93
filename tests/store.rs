//! One behavioural suite for the store, run against SQLite always and against PostgreSQL when
//! `TEST_DATABASE_URL` is set (each test in a database of its own).

mod support;

use std::collections::HashSet;
use std::sync::Arc;

use invreqd::store::{
    IdempotencyClaim, InvoiceRequestRecord, ListQuery, PaymentPart, Status, Store, StoreError,
    StoreOptions,
};

/// A store plus what keeps its database alive.
struct TestStore {
    store: Store,
    _dir: Option<tempfile::TempDir>,
}

async fn sqlite() -> TestStore {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("t.db").display());
    let store = Store::connect(&StoreOptions::new(url)).await.unwrap();
    TestStore {
        store,
        _dir: Some(dir),
    }
}

async fn postgres() -> Option<TestStore> {
    let base = std::env::var("TEST_DATABASE_URL").ok()?;
    let url = support::fresh_pg_database(&base).await;
    let store = Store::connect(&StoreOptions::new(url)).await.unwrap();
    Some(TestStore { store, _dir: None })
}

#[test]
fn postgres_runs_in_ci() {
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        assert!(
            std::env::var("TEST_DATABASE_URL").is_ok(),
            "CI must provide TEST_DATABASE_URL so the PostgreSQL suite runs"
        );
    }
}

fn record(tenant: &str, n: u64) -> InvoiceRequestRecord {
    InvoiceRequestRecord {
        seq: 0,
        invreq_id: format!("{:064x}", n + 1_000_000 * tenant.len() as u64),
        tenant: tenant.to_string(),
        bolt12: format!("lnr1test{n}"),
        amount_msat: 1000 + n,
        description: format!("d{n}"),
        issuer: None,
        label: None,
        absolute_expiry: None,
        single_use: true,
        active: true,
        used: false,
        status: Status::Open,
        created_at: 1_700_000_000 + n,
        updated_at: 1_700_000_000 + n,
    }
}

const NOW: u64 = 1_800_000_000;

macro_rules! store_suite {
    ($($name:ident),* $(,)?) => {
        mod sqlite_backend {
            $(
                #[tokio::test]
                async fn $name() {
                    super::$name(super::sqlite().await.store).await;
                }
            )*
        }
        mod postgres_backend {
            $(
                #[tokio::test]
                async fn $name() {
                    let Some(s) = super::postgres().await else {
                        eprintln!("skipped: TEST_DATABASE_URL is not set");
                        return;
                    };
                    super::$name(s.store).await;
                }
            )*
        }
    };
}

store_suite!(
    insert_and_get_round_trip,
    tenants_are_isolated,
    labels_are_unique_per_tenant,
    duplicate_ids_are_refused,
    list_pages_with_a_cursor_and_filters,
    transitions_only_from_expected_states,
    pending_then_active_or_failed,
    idempotency_claim_complete_release,
    concurrent_claims_of_one_key_give_one_owner,
    payment_parts_upsert_and_read,
    counters,
    claim_tokens_one_live_per_request,
);

async fn insert_and_get_round_trip(s: Store) {
    let mut r = record("t", 1);
    r.issuer = Some("shop".into());
    r.label = Some("lbl".into());
    r.absolute_expiry = Some(NOW + 60);
    r.single_use = false;
    r.amount_msat = 2_100_000_000_000_000_000;
    s.insert(&r).await.unwrap();
    let got = s.get("t", &r.invreq_id).await.unwrap().unwrap();
    assert!(got.seq > 0);
    assert_eq!(
        InvoiceRequestRecord {
            seq: got.seq,
            ..r.clone()
        },
        got
    );
    assert_eq!(s.get_any(&r.invreq_id).await.unwrap().unwrap(), got);
    assert!(s.get("t", &"f".repeat(64)).await.unwrap().is_none());
    s.ping().await.unwrap();
}

async fn tenants_are_isolated(s: Store) {
    let a = record("a", 1);
    s.insert(&a).await.unwrap();
    assert!(s.get("b", &a.invreq_id).await.unwrap().is_none());
    let q = ListQuery {
        limit: 10,
        ..ListQuery::default()
    };
    assert!(s.list("b", &q, NOW).await.unwrap().is_empty());
    assert_eq!(s.list("a", &q, NOW).await.unwrap().len(), 1);
}

async fn labels_are_unique_per_tenant(s: Store) {
    let mut a = record("a", 1);
    a.label = Some("same".into());
    s.insert(&a).await.unwrap();
    let mut a2 = record("a", 2);
    a2.label = Some("same".into());
    assert!(matches!(s.insert(&a2).await, Err(StoreError::LabelTaken)));
    let mut b = record("bb", 1);
    b.label = Some("same".into());
    s.insert(&b).await.unwrap();
    // Records without a label do not collide.
    s.insert(&record("a", 3)).await.unwrap();
    s.insert(&record("a", 4)).await.unwrap();
}

async fn duplicate_ids_are_refused(s: Store) {
    let r = record("t", 1);
    s.insert(&r).await.unwrap();
    assert!(matches!(s.insert(&r).await, Err(StoreError::Duplicate)));
}

async fn list_pages_with_a_cursor_and_filters(s: Store) {
    for n in 0..10 {
        let mut r = record("t", n);
        r.label = Some(format!("l{n}"));
        if n == 3 {
            r.status = Status::Disabled;
            r.active = false;
        }
        if n == 5 {
            r.absolute_expiry = Some(NOW - 1);
        }
        s.insert(&r).await.unwrap();
    }
    let mut seen = Vec::new();
    let mut before = None;
    loop {
        let page = s
            .list(
                "t",
                &ListQuery {
                    limit: 4,
                    before_seq: before,
                    ..ListQuery::default()
                },
                NOW,
            )
            .await
            .unwrap();
        if page.is_empty() {
            break;
        }
        // A new record between pages does not disturb the walk.
        if seen.is_empty() {
            s.insert(&record("t", 100)).await.unwrap();
        }
        before = page.last().map(|r| r.seq);
        seen.extend(page.into_iter().map(|r| r.amount_msat - 1000));
    }
    assert_eq!(seen, (0..10).rev().collect::<Vec<_>>());
    let active = s
        .list(
            "t",
            &ListQuery {
                limit: 100,
                active_only: true,
                ..ListQuery::default()
            },
            NOW,
        )
        .await
        .unwrap();
    let active: HashSet<u64> = active.iter().map(|r| r.amount_msat - 1000).collect();
    assert_eq!(active.len(), 9, "11 rows less the disabled and the expired");
    assert!(!active.contains(&3) && !active.contains(&5));
    let labelled = s
        .list(
            "t",
            &ListQuery {
                limit: 100,
                label: Some("l7".into()),
                ..ListQuery::default()
            },
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(labelled.len(), 1);
    assert_eq!(labelled[0].amount_msat, 1007);
}

async fn transitions_only_from_expected_states(s: Store) {
    let r = record("t", 1);
    s.insert(&r).await.unwrap();
    assert!(
        !s.transition(
            &r.invreq_id,
            &[Status::Pending],
            Status::Failed,
            false,
            false,
            NOW
        )
        .await
        .unwrap()
    );
    assert!(
        s.transition(
            &r.invreq_id,
            &[Status::Open, Status::Paying],
            Status::Paid,
            false,
            true,
            NOW
        )
        .await
        .unwrap()
    );
    let got = s.get("t", &r.invreq_id).await.unwrap().unwrap();
    assert_eq!(
        (got.status, got.active, got.used, got.updated_at),
        (Status::Paid, false, true, NOW)
    );
    assert!(
        !s.transition(
            &r.invreq_id,
            &[Status::Open],
            Status::Disabled,
            false,
            false,
            NOW
        )
        .await
        .unwrap()
    );
}

async fn pending_then_active_or_failed(s: Store) {
    let mut p1 = record("t", 1);
    p1.status = Status::Pending;
    p1.active = false;
    p1.bolt12 = String::new();
    let mut p2 = record("t", 2);
    p2.status = Status::Pending;
    p2.active = false;
    s.insert(&p1).await.unwrap();
    s.insert(&p2).await.unwrap();
    s.insert(&record("t", 3)).await.unwrap();
    let pending = s.pending(NOW, 10).await.unwrap();
    assert_eq!(
        pending
            .iter()
            .map(|r| r.invreq_id.clone())
            .collect::<Vec<_>>(),
        vec![p1.invreq_id.clone(), p2.invreq_id.clone()]
    );
    assert!(
        s.pending(1_700_000_001, 10).await.unwrap().len() == 1,
        "age cut-off"
    );
    assert!(s.activate(&p1.invreq_id, "lnr1signed", NOW).await.unwrap());
    assert!(
        !s.activate(&p1.invreq_id, "lnr1again", NOW).await.unwrap(),
        "only once"
    );
    let got = s.get("t", &p1.invreq_id).await.unwrap().unwrap();
    assert_eq!(
        (got.status, got.active, got.bolt12.as_str()),
        (Status::Open, true, "lnr1signed")
    );
    assert!(
        s.transition(
            &p2.invreq_id,
            &[Status::Pending],
            Status::Failed,
            false,
            false,
            NOW
        )
        .await
        .unwrap()
    );
    assert!(s.pending(NOW, 10).await.unwrap().is_empty());
}

async fn idempotency_claim_complete_release(s: Store) {
    assert_eq!(
        s.claim_idempotency("t", "k", "h1", NOW).await.unwrap(),
        IdempotencyClaim::Claimed
    );
    let IdempotencyClaim::Existing(rec) = s.claim_idempotency("t", "k", "h2", NOW).await.unwrap()
    else {
        panic!("second claim sees the first");
    };
    assert_eq!(
        (rec.request_hash.as_str(), rec.response.clone()),
        ("h1", None)
    );
    s.bind_idempotency("t", "k", "abc").await.unwrap();
    s.complete_idempotency("t", "k", "abc", 201, "{\"x\":1}")
        .await
        .unwrap();
    let rec = s.idempotency("t", "k").await.unwrap().unwrap();
    assert_eq!(rec.invreq_id.as_deref(), Some("abc"));
    assert_eq!(rec.response, Some((201, "{\"x\":1}".to_string())));
    // A completed key is never released.
    s.release_idempotency("t", "k").await.unwrap();
    assert!(s.idempotency("t", "k").await.unwrap().is_some());
    // Keys are per tenant; an incomplete key can be released.
    assert_eq!(
        s.claim_idempotency("u", "k", "h3", NOW).await.unwrap(),
        IdempotencyClaim::Claimed
    );
    s.release_idempotency("u", "k").await.unwrap();
    assert_eq!(
        s.claim_idempotency("u", "k", "h4", NOW).await.unwrap(),
        IdempotencyClaim::Claimed
    );
}

async fn concurrent_claims_of_one_key_give_one_owner(s: Store) {
    let s = Arc::new(s);
    let mut tasks = Vec::new();
    for _ in 0..16 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.claim_idempotency("t", "race", "h", NOW).await.unwrap()
        }));
    }
    let mut owners = 0;
    for t in tasks {
        if t.await.unwrap() == IdempotencyClaim::Claimed {
            owners += 1;
        }
    }
    assert_eq!(owners, 1);
}

fn part(invreq_id: &str, partid: u64, created_index: u64) -> PaymentPart {
    PaymentPart {
        payment_hash: "a".repeat(64),
        groupid: 1,
        partid,
        invreq_id: invreq_id.to_owned(),
        status: "pending".into(),
        amount_msat: Some(1001),
        amount_sent_msat: 1002,
        preimage: None,
        created_at: NOW,
        completed_at: None,
        created_index,
        updated_index: 0,
    }
}

async fn payment_parts_upsert_and_read(s: Store) {
    let r = record("t", 1);
    s.insert(&r).await.unwrap();
    let mut p1 = part(&r.invreq_id, 1, 1);
    let mut p2 = part(&r.invreq_id, 2, 2);
    s.upsert_payment_part(&p1, NOW).await.unwrap();
    s.upsert_payment_part(&p2, NOW).await.unwrap();
    // Part 2 ends first (updated_index 1), then part 1 (updated_index 2).
    p2.status = "complete".into();
    p2.preimage = Some("b".repeat(64));
    p2.completed_at = Some(NOW + 1);
    p2.updated_index = 1;
    s.upsert_payment_part(&p2, NOW + 1).await.unwrap();
    p1.status = "failed".into();
    p1.updated_index = 2;
    s.upsert_payment_part(&p1, NOW + 1).await.unwrap();
    assert_eq!(
        s.payment_parts(&r.invreq_id).await.unwrap(),
        vec![p1.clone(), p2.clone()]
    );
    // Older reports arriving late change nothing: the pending row of part 1 (no updated_index)
    // and a failed report for the completed part 2.
    s.upsert_payment_part(&part(&r.invreq_id, 1, 1), NOW + 2)
        .await
        .unwrap();
    let mut late = p2.clone();
    late.status = "failed".into();
    late.updated_index = 9;
    s.upsert_payment_part(&late, NOW + 2).await.unwrap();
    assert_eq!(s.payment_parts(&r.invreq_id).await.unwrap(), vec![p1, p2]);
    assert_eq!(
        s.payment_parts_of(&[r.invreq_id.clone(), "x".repeat(64)])
            .await
            .unwrap()
            .len(),
        2
    );
}

async fn counters(s: Store) {
    assert_eq!(s.counter("w").await.unwrap(), 0);
    s.set_counter("w", 7).await.unwrap();
    s.set_counter("w", 9).await.unwrap();
    assert_eq!(s.counter("w").await.unwrap(), 9);
}

async fn claim_tokens_one_live_per_request(s: Store) {
    let (a, b) = (record("t", 1), record("t", 2));
    s.insert(&a).await.unwrap();
    s.insert(&b).await.unwrap();
    s.insert_claim_token(&a.invreq_id, "token-a1", NOW)
        .await
        .unwrap();
    // One live token per request; a token names one request.
    assert!(matches!(
        s.insert_claim_token(&a.invreq_id, "token-a2", NOW).await,
        Err(StoreError::Duplicate)
    ));
    assert!(matches!(
        s.insert_claim_token(&b.invreq_id, "token-a1", NOW).await,
        Err(StoreError::Duplicate)
    ));
    // Only for a stored request.
    assert!(
        s.insert_claim_token(&format!("{:064x}", 7), "orphan", NOW)
            .await
            .is_err()
    );
    let live = s
        .live_claim_tokens(&[a.invreq_id.as_str(), b.invreq_id.as_str()])
        .await
        .unwrap();
    assert_eq!(live.len(), 1);
    assert_eq!(live[&a.invreq_id], "token-a1");

    // Rotation: the old token is kept, revoked; the new one is live.
    s.rotate_claim_token(&a.invreq_id, "token-a2", NOW + 1)
        .await
        .unwrap();
    let old = s.claim_token("token-a1").await.unwrap().unwrap();
    assert_eq!(old.revoked_at, Some(NOW + 1));
    assert_eq!(old.invreq_id, a.invreq_id);
    let new = s.claim_token("token-a2").await.unwrap().unwrap();
    assert_eq!((new.revoked_at, new.created_at), (None, NOW + 1));
    // Rotating a request without one gives it its first.
    s.rotate_claim_token(&b.invreq_id, "token-b1", NOW)
        .await
        .unwrap();
    let live = s
        .live_claim_tokens(&[a.invreq_id.as_str(), b.invreq_id.as_str()])
        .await
        .unwrap();
    assert_eq!(live[&a.invreq_id], "token-a2");
    assert_eq!(live[&b.invreq_id], "token-b1");

    assert!(s.revoke_claim_token(&a.invreq_id, NOW + 2).await.unwrap());
    assert!(!s.revoke_claim_token(&a.invreq_id, NOW + 3).await.unwrap());
    assert_eq!(
        s.claim_token("token-a2").await.unwrap().unwrap().revoked_at,
        Some(NOW + 2)
    );
    assert!(s.claim_token("never").await.unwrap().is_none());
    assert!(s.live_claim_tokens(&[]).await.unwrap().is_empty());
}
