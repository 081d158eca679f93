//! One behavioural suite for the store, run against SQLite always and against PostgreSQL when
//! `TEST_DATABASE_URL` is set (each test in a database of its own).

mod support;

use std::collections::HashSet;
use std::sync::Arc;

use invreqd::domain::lifecycle::Move;
use invreqd::store::{
    ApiKeyRecord, AuditEntry, EndpointRecord, IdempotencyClaim, InvoiceRequestRecord, ListQuery,
    NewEvent, PaymentPart, PaymentStatus, Revocation, SpendingPolicy, Status, Store, StoreError,
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
        submitted: None,
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
                #[cfg_attr(no_test_database, ignore = "TEST_DATABASE_URL is not set")]
                async fn $name() {
                    let s = super::postgres().await.expect("TEST_DATABASE_URL is set");
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
    an_expired_lease_is_taken_over_once_and_a_live_one_is_not,
    a_key_is_bound_in_the_insert_transaction_of_its_owner_only,
    a_failed_record_frees_its_label,
    a_pending_record_that_never_reached_the_node_can_be_deleted,
    sums_of_maximal_amounts_do_not_overflow,
    payment_parts_upsert_and_read,
    counters,
    active_means_one_thing_in_lists_sums_and_reads,
    claim_tokens_one_live_per_request,
    revoking_never_leaves_no_admin_key,
    concurrent_creates_commit_each_row_with_its_event_and_audit_line,
);

/// Many creates at once, each with its `created` event and then its audit line (on SQLite they
/// share group-commit transactions, and a taken label sends a group row by row): every stored
/// row has exactly one event and one queued delivery, a refused row has neither, and every audit
/// line is there once.
async fn concurrent_creates_commit_each_row_with_its_event_and_audit_line(s: Store) {
    s.insert_endpoint(&EndpointRecord {
        id: "wh_1".into(),
        tenant: "t".into(),
        url: "https://example.com/hook".into(),
        event_types: vec!["invoicerequest.created".into()],
        enabled: true,
        secret: "whsec_x".into(),
        failing: false,
        created_at: NOW,
    })
    .await
    .unwrap();
    const N: u64 = 200;
    let s = Arc::new(s);
    let mut tasks = Vec::new();
    for n in 0..N {
        let s = Arc::clone(&s);
        tasks.push(tokio::spawn(async move {
            let mut r = record("t", n);
            // Every tenth shares one label: one of them is stored, the others refused.
            if n % 10 == 0 {
                r.label = Some("shared".into());
            }
            let event = NewEvent::new("t", "invoicerequest.created", &r.invreq_id, format!("{n}"));
            let stored = s.insert_emitting(&r, Some(&event), NOW).await;
            s.append_audit(&AuditEntry {
                at: NOW,
                key_id: "k".into(),
                tenant: "t".into(),
                action: "create".into(),
                invreq_id: Some(r.invreq_id.clone()),
                amount_msat: Some(r.amount_msat),
                subject_key: None,
                outcome: if stored.is_ok() { "ok" } else { "label_taken" }.into(),
            })
            .await
            .unwrap();
            (r.invreq_id, stored)
        }));
    }
    let mut stored = HashSet::new();
    let mut refused = HashSet::new();
    for t in tasks {
        let (id, outcome) = t.await.unwrap();
        match outcome {
            Ok(()) => assert!(stored.insert(id)),
            Err(StoreError::LabelTaken) => assert!(refused.insert(id)),
            Err(e) => panic!("unexpected {e:?}"),
        }
    }
    assert_eq!(refused.len(), 19, "one of the 20 sharing a label is stored");
    assert_eq!(stored.len() as u64, N - 19);
    let events = s.events("t", 0, None, 1000).await.unwrap();
    let subjects: Vec<&String> = events.iter().map(|e| &e.subject).collect();
    assert_eq!(subjects.len(), stored.len(), "one event per stored row");
    assert_eq!(
        subjects.iter().copied().cloned().collect::<HashSet<_>>(),
        stored
    );
    for id in &stored {
        assert!(s.get_any(id).await.unwrap().is_some());
    }
    for id in &refused {
        assert!(s.get_any(id).await.unwrap().is_none());
    }
    assert_eq!(
        s.delivery_queue().await.unwrap().pending,
        stored.len() as u64
    );
    let audit = s.audit_log(Some("t")).await.unwrap();
    assert_eq!(audit.len() as u64, N);
    assert_eq!(
        audit.iter().filter(|a| a.outcome == "ok").count(),
        stored.len()
    );
}

/// One definition of "active" (`lifecycle::is_active`): for every status, with and without an
/// expiry that has passed (a `paying` request past its expiry among them), the `active_only`
/// list, the expiry sweep's selection, the outstanding sum and a read with expiry applied agree.
async fn active_means_one_thing_in_lists_sums_and_reads(s: Store) {
    use invreqd::domain::lifecycle::is_active;
    let mut n = 0;
    let mut want_active = HashSet::new();
    let mut want_due = HashSet::new();
    let mut want_sum = 0;
    for status in Status::ALL {
        for expiry in [None, Some(NOW - 1), Some(NOW), Some(NOW + 60)] {
            n += 1;
            let mut r = record("t", n);
            r.status = status;
            r.active = status.is_live();
            r.absolute_expiry = expiry;
            s.insert(&r).await.unwrap();
            if is_active(status, expiry, NOW) {
                want_active.insert(r.invreq_id.clone());
                want_sum += r.amount_msat;
            } else if status.is_live() && expiry.is_some() {
                want_due.insert(r.invreq_id.clone());
            }
            let read = s
                .get("t", &r.invreq_id)
                .await
                .unwrap()
                .unwrap()
                .effective(NOW);
            assert_eq!(
                read.status.is_live(),
                is_active(status, expiry, NOW),
                "{status:?} expiring {expiry:?} reads {:?}",
                read.status
            );
            assert_eq!(read.active, read.status.is_live() && r.active);
        }
    }
    let q = ListQuery {
        active_only: true,
        include_failed: true,
        limit: 100,
        ..Default::default()
    };
    let listed: HashSet<String> = s
        .list("t", &q, NOW)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.invreq_id)
        .collect();
    assert_eq!(listed, want_active);
    let due: HashSet<String> = s
        .expired_active(NOW, 100)
        .await
        .unwrap()
        .into_iter()
        .map(|r| r.invreq_id)
        .collect();
    assert_eq!(due, want_due);
    assert_eq!(s.outstanding_amount_msat(NOW).await.unwrap(), want_sum);
}

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
        !s.apply(
            &r.invreq_id,
            &Move::new(&[Status::Pending], Status::Failed, false).unwrap(),
            NOW
        )
        .await
        .unwrap()
    );
    assert!(
        s.apply(
            &r.invreq_id,
            &Move::new(&[Status::Open, Status::Paying], Status::Paid, true).unwrap(),
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
        !s.apply(
            &r.invreq_id,
            &Move::new(&[Status::Open], Status::Disabled, false).unwrap(),
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
        s.apply(
            &p2.invreq_id,
            &Move::new(&[Status::Pending], Status::Failed, false).unwrap(),
            NOW
        )
        .await
        .unwrap()
    );
    assert!(s.pending(NOW, 10).await.unwrap().is_empty());
}

async fn idempotency_claim_complete_release(s: Store) {
    let lease = NOW + 4;
    assert_eq!(
        s.claim_idempotency("t", "k", "h1", "o1", NOW, lease)
            .await
            .unwrap(),
        IdempotencyClaim::Claimed
    );
    let IdempotencyClaim::Existing(rec) = s
        .claim_idempotency("t", "k", "h2", "o2", NOW, lease)
        .await
        .unwrap()
    else {
        panic!("second claim sees the first");
    };
    assert_eq!(
        (rec.request_hash.as_str(), rec.response.clone()),
        ("h1", None)
    );
    assert!(
        !s.bind_idempotency("t", "k", "o2", "abc").await.unwrap(),
        "not the owner"
    );
    assert!(s.bind_idempotency("t", "k", "o1", "abc").await.unwrap());
    s.complete_idempotency("t", "k", "abc", 201, "{\"x\":1}")
        .await
        .unwrap();
    // The first response stays.
    s.complete_idempotency("t", "k", "def", 201, "{\"x\":2}")
        .await
        .unwrap();
    let rec = s.idempotency("t", "k").await.unwrap().unwrap();
    assert_eq!(rec.invreq_id.as_deref(), Some("abc"));
    assert_eq!(rec.response, Some((201, "{\"x\":1}".to_string())));
    // A completed key is never released nor taken over, even long after.
    s.release_idempotency("t", "k", "o1").await.unwrap();
    assert!(s.idempotency("t", "k").await.unwrap().is_some());
    assert!(matches!(
        s.claim_idempotency("t", "k", "h1", "o3", NOW + 3600, NOW + 3604)
            .await
            .unwrap(),
        IdempotencyClaim::Existing(_)
    ));
    // Keys are per tenant; an incomplete key can be released by its owner only.
    assert_eq!(
        s.claim_idempotency("u", "k", "h3", "o1", NOW, lease)
            .await
            .unwrap(),
        IdempotencyClaim::Claimed
    );
    s.release_idempotency("u", "k", "other").await.unwrap();
    assert!(s.idempotency("u", "k").await.unwrap().is_some());
    s.release_idempotency("u", "k", "o1").await.unwrap();
    assert_eq!(
        s.claim_idempotency("u", "k", "h4", "o2", NOW, lease)
            .await
            .unwrap(),
        IdempotencyClaim::Claimed
    );
}

async fn concurrent_claims_of_one_key_give_one_owner(s: Store) {
    let s = Arc::new(s);
    let mut tasks = Vec::new();
    for i in 0..16 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.claim_idempotency("t", "race", "h", &format!("o{i}"), NOW, NOW + 4)
                .await
                .unwrap()
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

async fn an_expired_lease_is_taken_over_once_and_a_live_one_is_not(s: Store) {
    s.claim_idempotency("t", "k", "h", "dead", NOW, NOW + 4)
        .await
        .unwrap();
    assert!(s.bind_idempotency("t", "k", "dead", "id1").await.unwrap());
    // Still within the lease: a retry waits.
    assert!(matches!(
        s.claim_idempotency("t", "k", "h", "r0", NOW + 3, NOW + 7)
            .await
            .unwrap(),
        IdempotencyClaim::Existing(_)
    ));
    // Renewed by its owner, it lives on.
    assert!(
        s.renew_idempotency_lease("t", "k", "dead", NOW + 8)
            .await
            .unwrap()
    );
    assert!(matches!(
        s.claim_idempotency("t", "k", "h", "r0", NOW + 6, NOW + 10)
            .await
            .unwrap(),
        IdempotencyClaim::Existing(_)
    ));
    // Past it: many retries at once, one takes over, and learns the bound id.
    let s = Arc::new(s);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let s = s.clone();
        tasks.push(tokio::spawn(async move {
            s.claim_idempotency("t", "k", "h", &format!("r{i}"), NOW + 9, NOW + 13)
                .await
                .unwrap()
        }));
    }
    let mut taken = Vec::new();
    for t in tasks {
        if let IdempotencyClaim::TakenOver(rec) = t.await.unwrap() {
            taken.push(rec);
        }
    }
    assert_eq!(taken.len(), 1);
    assert_eq!(taken[0].invreq_id.as_deref(), Some("id1"));
    // The dead owner can no longer renew, bind or release it.
    assert!(
        !s.renew_idempotency_lease("t", "k", "dead", NOW + 20)
            .await
            .unwrap()
    );
    assert!(!s.bind_idempotency("t", "k", "dead", "id2").await.unwrap());
    s.release_idempotency("t", "k", "dead").await.unwrap();
    assert!(s.idempotency("t", "k").await.unwrap().is_some());
    // Another body under the key is never taken over.
    assert!(matches!(
        s.claim_idempotency("t", "k", "other", "x", NOW + 100, NOW + 104)
            .await
            .unwrap(),
        IdempotencyClaim::Existing(_)
    ));
}

async fn a_key_is_bound_in_the_insert_transaction_of_its_owner_only(s: Store) {
    use invreqd::store::{IdempotencyBinding, SpendingPolicy};
    s.claim_idempotency("t", "k", "h", "o1", NOW, NOW + 4)
        .await
        .unwrap();
    let mut r = record("t", 1);
    r.status = Status::Pending;
    let mine = IdempotencyBinding {
        key: "k",
        owner: "o1",
    };
    s.insert_within_policy(&r, &SpendingPolicy::UNLIMITED, NOW, Some(&mine))
        .await
        .unwrap()
        .unwrap();
    let rec = s.idempotency("t", "k").await.unwrap().unwrap();
    assert_eq!(rec.invreq_id.as_deref(), Some(r.invreq_id.as_str()));
    // A retry took the key over: the old owner's insert writes nothing.
    s.end_idempotency_lease("t", "k", "o1").await.unwrap();
    assert!(matches!(
        s.claim_idempotency("t", "k", "h", "o2", NOW, NOW + 4)
            .await
            .unwrap(),
        IdempotencyClaim::TakenOver(_)
    ));
    let r2 = record("t", 2);
    let limited = SpendingPolicy {
        max_daily_msat: Some(u64::MAX / 2),
        ..SpendingPolicy::UNLIMITED
    };
    for policy in [SpendingPolicy::UNLIMITED, limited] {
        assert!(matches!(
            s.insert_within_policy(&r2, &policy, NOW, Some(&mine)).await,
            Err(StoreError::LeaseLost)
        ));
    }
    assert!(s.get_any(&r2.invreq_id).await.unwrap().is_none());
}

async fn a_failed_record_frees_its_label(s: Store) {
    let mut a = record("t", 1);
    a.label = Some("payout-9".into());
    a.status = Status::Pending;
    s.insert(&a).await.unwrap();
    let mut b = record("t", 2);
    b.label = Some("payout-9".into());
    assert!(matches!(s.insert(&b).await, Err(StoreError::LabelTaken)));
    assert!(
        s.apply(
            &a.invreq_id,
            &Move::new(&[Status::Pending], Status::Failed, false).unwrap(),
            NOW
        )
        .await
        .unwrap()
    );
    s.insert(&b).await.unwrap();
    // Default lists leave the failed one out; asked for, it is there.
    let q = ListQuery {
        limit: 10,
        label: Some("payout-9".into()),
        ..ListQuery::default()
    };
    let listed = s.list("t", &q, NOW).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].invreq_id, b.invreq_id);
    let all = s
        .list(
            "t",
            &ListQuery {
                include_failed: true,
                ..q
            },
            NOW,
        )
        .await
        .unwrap();
    assert_eq!(all.len(), 2);
    assert_eq!(
        s.recently_failed(NOW - 1, 10).await.unwrap()[0].invreq_id,
        a.invreq_id
    );
}

async fn a_pending_record_that_never_reached_the_node_can_be_deleted(s: Store) {
    let mut a = record("t", 1);
    a.status = Status::Pending;
    a.label = Some("l".into());
    a.submitted = Some("lnr1unsigned".into());
    s.insert(&a).await.unwrap();
    assert_eq!(
        s.get_any(&a.invreq_id)
            .await
            .unwrap()
            .unwrap()
            .submitted
            .as_deref(),
        Some("lnr1unsigned")
    );
    let open = record("t", 2);
    s.insert(&open).await.unwrap();
    assert!(
        !s.delete_pending(&open.invreq_id).await.unwrap(),
        "only pending ones"
    );
    assert!(s.delete_pending(&a.invreq_id).await.unwrap());
    assert!(s.get_any(&a.invreq_id).await.unwrap().is_none());
    let mut again = record("t", 3);
    again.label = Some("l".into());
    s.insert(&again).await.unwrap();
}

async fn sums_of_maximal_amounts_do_not_overflow(s: Store) {
    use invreqd::store::SpendingPolicy;
    let max = invreqd::service::MAX_MSAT;
    for n in 0..5 {
        let mut r = record("t", n);
        r.amount_msat = max;
        r.created_at = NOW - 10;
        s.insert(&r).await.unwrap();
    }
    let spent = s.spending("t", NOW).await.unwrap();
    assert_eq!(u128::from(spent.outstanding_msat), 5 * u128::from(max));
    assert_eq!(u128::from(spent.daily_msat), 5 * u128::from(max));
    assert_eq!(
        u128::from(s.outstanding_amount_msat(NOW).await.unwrap()),
        5 * u128::from(max)
    );
    let policy = SpendingPolicy {
        max_outstanding_msat: Some(max),
        ..SpendingPolicy::UNLIMITED
    };
    let refused = s
        .insert_within_policy(&record("t", 9), &policy, NOW, None)
        .await
        .unwrap()
        .unwrap_err();
    assert_eq!(refused.remaining_msat, 0);
}

fn part(invreq_id: &str, partid: u64, created_index: u64) -> PaymentPart {
    PaymentPart {
        payment_hash: "a".repeat(64),
        groupid: 1,
        partid,
        invreq_id: invreq_id.to_owned(),
        status: PaymentStatus::Pending,
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
    p2.status = PaymentStatus::Complete;
    p2.preimage = Some("b".repeat(64));
    p2.completed_at = Some(NOW + 1);
    p2.updated_index = 1;
    s.upsert_payment_part(&p2, NOW + 1).await.unwrap();
    p1.status = PaymentStatus::Failed;
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
    late.status = PaymentStatus::Failed;
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

    // A pending request the node never saw is deleted with its token.
    let mut c = record("t", 3);
    c.status = Status::Pending;
    c.active = false;
    s.insert(&c).await.unwrap();
    s.insert_claim_token(&c.invreq_id, "token-c1", NOW)
        .await
        .unwrap();
    assert!(s.delete_pending(&c.invreq_id).await.unwrap());
    assert!(s.claim_token("token-c1").await.unwrap().is_none());
}

fn key(id: &str, scopes: &[&str], expires_at: Option<u64>) -> ApiKeyRecord {
    ApiKeyRecord {
        key_id: id.to_owned(),
        secret_sha256: "00".repeat(32),
        name: id.to_owned(),
        tenant: "default".into(),
        scopes: scopes.iter().map(|s| (*s).to_owned()).collect(),
        expires_at,
        revoked: false,
        policy: SpendingPolicy::UNLIMITED,
        created_at: NOW - 10,
        revoked_at: None,
    }
}

async fn revoking_never_leaves_no_admin_key(s: Store) {
    s.insert_key(&key("a1", &["admin"], None)).await.unwrap();
    s.insert_key(&key("a2", &["invoicerequests:read", "admin"], None))
        .await
        .unwrap();
    s.insert_key(&key("expired", &["admin"], Some(NOW - 1)))
        .await
        .unwrap();
    s.insert_key(&key("reader", &["invoicerequests:read"], None))
        .await
        .unwrap();
    // Two active admin keys revoked at once: exactly one goes.
    let (r1, r2) = tokio::join!(s.revoke_key("a1", NOW), s.revoke_key("a2", NOW));
    let mut outcomes = [r1.unwrap(), r2.unwrap()];
    outcomes.sort_by_key(|o| format!("{o:?}"));
    assert_eq!(outcomes, [Revocation::LastAdmin, Revocation::Revoked]);
    let left = if s.key("a1").await.unwrap().unwrap().revoked {
        "a2"
    } else {
        "a1"
    };
    assert_eq!(
        s.revoke_key(left, NOW).await.unwrap(),
        Revocation::LastAdmin
    );
    // Keys that are no (active) admin can always go.
    assert_eq!(
        s.revoke_key("expired", NOW).await.unwrap(),
        Revocation::Revoked
    );
    assert_eq!(
        s.revoke_key("reader", NOW).await.unwrap(),
        Revocation::Revoked
    );
    assert_eq!(
        s.revoke_key("reader", NOW).await.unwrap(),
        Revocation::AlreadyRevoked
    );
}
