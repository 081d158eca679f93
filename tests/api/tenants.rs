//! Tenant isolation: another tenant's requests are invisible, exactly like unknown ones.

use serde_json::{Value, json};

use crate::helpers::spawn_app;

async fn problem(res: reqwest::Response) -> (u16, Value) {
    (res.status().as_u16(), res.json().await.unwrap())
}

#[tokio::test]
async fn another_tenants_requests_are_invisible() {
    let app = spawn_app().await;
    let alice = app.tenant_client("alice", json!({})).await;
    let bob = app.tenant_client("bob", json!({})).await;
    let url = app.url("/v1/invoicerequests");
    let res = alice
        .post(&url)
        .json(&json!({"amount": 1000, "description": "alice's", "label": "order-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let created: Value = res.json().await.unwrap();
    let id = created["invreq_id"].as_str().unwrap();
    let path = format!("{url}/{id}");

    // GET and DELETE of alice's id by bob: the very answer an unknown id gets.
    let unknown = "ab".repeat(32);
    for (theirs, never) in [
        (
            problem(bob.get(&path).send().await.unwrap()).await,
            problem(bob.get(format!("{url}/{unknown}")).send().await.unwrap()).await,
        ),
        (
            problem(bob.delete(&path).send().await.unwrap()).await,
            problem(bob.delete(format!("{url}/{unknown}")).send().await.unwrap()).await,
        ),
    ] {
        assert_eq!(theirs.0, 404);
        assert_eq!(never.0, 404);
        let strip = |v: &Value| {
            let mut v = v.clone();
            v["detail"] = v["detail"]
                .as_str()
                .unwrap()
                .replace(id, "ID")
                .replace(&unknown, "ID")
                .into();
            v
        };
        assert_eq!(strip(&theirs.1), strip(&never.1));
    }
    // Bob's list is empty, with or without alice's label; the default tenant sees nothing either.
    for client in [&bob, &app.client] {
        for q in ["", "?label=order-1", "?active_only=true"] {
            let page: Value = client
                .get(format!("{url}{q}"))
                .send()
                .await
                .unwrap()
                .json()
                .await
                .unwrap();
            assert_eq!(page["invoicerequests"], json!([]), "{q}");
        }
    }
    // Alice's request is untouched by bob's DELETE.
    let got: Value = alice.get(&path).send().await.unwrap().json().await.unwrap();
    assert_eq!(got["active"], true);
    assert_eq!(got, created);

    // Labels and idempotency keys are per tenant.
    let res = bob
        .post(&url)
        .header("idempotency-key", "k1")
        .json(&json!({"amount": 2000, "description": "bob's", "label": "order-1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        201,
        "the same label in another tenant is free"
    );
    let bobs: Value = res.json().await.unwrap();
    let res = alice
        .post(&url)
        .header("idempotency-key", "k1")
        .json(&json!({"amount": 3000, "description": "alice's second"}))
        .send()
        .await
        .unwrap();
    assert_eq!(
        res.status(),
        201,
        "the same idempotency key in another tenant is free"
    );
    assert!(res.headers().get("idempotent-replayed").is_none());
    let alices: Value = res.json().await.unwrap();
    assert_ne!(alices["invreq_id"], bobs["invreq_id"]);
    let alice_list: Value = alice.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(alice_list["invoicerequests"].as_array().unwrap().len(), 2);
    let bob_list: Value = bob.get(&url).send().await.unwrap().json().await.unwrap();
    assert_eq!(bob_list["invoicerequests"].as_array().unwrap().len(), 1);
}
