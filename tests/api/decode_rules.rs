//! `POST /v1/decode` against BOLT 12's reader rules (`12-offer-encoding.md`, "Requirements for
//! Invoice Requests", the reader; "Encoding", readers of a bolt12 string), with the spec's own
//! vectors as data (`tests/vectors/`, copied from lightning/bolts): each MUST-reject rule is
//! refused naming its reason, each MAY-accept case is decoded, and `+` continuations follow the
//! format-string vectors.

use invreqd::bolt12::tlv::{parse_stream, write_record};
use invreqd::bolt12::{
    Keypair, SecretKey, decode_bech32_no_checksum, encode_bech32_no_checksum, merkle, secp,
};
use lightning::bitcoin::secp256k1::Message;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use crate::helpers::{TestApp, assert_problem, spawn_app};

type Records = Vec<(u64, Vec<u8>)>;

fn vectors(name: &str) -> Value {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

/// The spec's invoice_request vector (it answers an offer), from `signature-test.json`.
fn spec_invreq() -> (String, Value) {
    let v = vectors("signature-test.json");
    let c = v
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["tlv"] == "invoice_request")
        .unwrap()
        .clone();
    (c["bolt12"].as_str().unwrap().to_owned(), c)
}

/// Core Lightning's seed request (no offer, signed), from `invoicerequest.schema.json`.
fn seed() -> String {
    vectors("invoicerequest.schema.json")["examples"][0]["response"]["bolt12"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn records(lnr: &str) -> Records {
    let (_, bytes) = decode_bech32_no_checksum(lnr).unwrap();
    parse_stream(&bytes)
        .unwrap()
        .iter()
        .map(|r| (r.typ, r.value.to_vec()))
        .collect()
}

fn encode(records: &Records) -> String {
    let mut sorted = records.clone();
    sorted.sort_by_key(|(t, _)| *t);
    let mut bytes = Vec::new();
    for (t, v) in &sorted {
        write_record(&mut bytes, *t, v);
    }
    encode_bech32_no_checksum("lnr", &bytes)
}

/// `records` without signature records, re-signed with `key` (BIP340 over the Merkle root,
/// tag `lightninginvoice_requestsignature`) after `invreq_payer_id` is set to its public key.
fn signed_by(records: &Records, key: u8) -> String {
    let kp = Keypair::from_secret_key(secp(), &SecretKey::from_slice(&[key; 32]).unwrap());
    let mut r: Records = records
        .iter()
        .filter(|(t, _)| !(240..=1000).contains(t) && *t != 88)
        .cloned()
        .collect();
    r.push((88, kp.public_key().serialize().to_vec()));
    r.sort_by_key(|(t, _)| *t);
    let mut bytes = Vec::new();
    for (t, v) in &r {
        write_record(&mut bytes, *t, v);
    }
    let sighash = merkle::sighash(
        "invoice_request",
        "signature",
        merkle::root(&bytes).unwrap(),
    );
    let sig = secp().sign_schnorr_no_aux_rand(&Message::from_digest(sighash), &kp);
    r.push((240, sig.as_ref().to_vec()));
    encode(&r)
}

fn with(records: &Records, t: u64, v: &[u8]) -> Records {
    let mut r: Records = records.iter().filter(|(x, _)| *x != t).cloned().collect();
    r.push((t, v.to_vec()));
    r
}

fn without(records: &Records, t: u64) -> Records {
    records.iter().filter(|(x, _)| *x != t).cloned().collect()
}

/// The seed's records without its signature: a no-offer request as the spec's writer makes it.
fn no_offer() -> Records {
    without(&records(&seed()), 240)
}

async fn decoded(app: &TestApp, lnr: &str) -> Value {
    let res = app.post_json("/v1/decode", &json!({"bolt12": lnr})).await;
    assert_eq!(res.status(), 200, "{lnr}");
    res.json().await.unwrap()
}

/// A 400 `invalid_bolt12` on `bolt12` whose detail names `reason`.
async fn refused(app: &TestApp, lnr: &str, reason: &str) {
    let p = assert_problem(
        app.post_json("/v1/decode", &json!({"bolt12": lnr})).await,
        400,
        "invalid_bolt12",
    )
    .await;
    assert_eq!(p["field"], "bolt12");
    let detail = p["detail"].as_str().unwrap();
    assert!(detail.contains(reason), "{detail:?} should name {reason:?}");
}

/// A 32-byte point on the curve as a blinded path: first_node_id, path_key, `num_hops` hops
/// (each a blinded_node_id and 2 bytes of encrypted data).
fn blinded_path(num_hops: u8) -> Vec<u8> {
    let g = Keypair::from_secret_key(secp(), &SecretKey::from_slice(&[7; 32]).unwrap())
        .public_key()
        .serialize();
    let mut p = [g, g].concat();
    p.push(num_hops);
    for _ in 0..num_hops {
        p.extend_from_slice(&g);
        p.extend_from_slice(&[0, 2, 1, 2]);
    }
    p
}

#[tokio::test]
async fn decode_reads_the_spec_vector_that_answers_an_offer() {
    let app = spawn_app().await;
    let (lnr, c) = spec_invreq();
    let d = decoded(&app, &lnr).await;
    assert_eq!(d["answers_offer"], true);
    assert_eq!(d["signature_valid"], true);
    assert_eq!(d["signature"], c["signature"]);
    assert_eq!(d["invreq_metadata"], "0000000000000000");
    assert_eq!(d["offer_description"], "A Mathematical Treatise");
    assert_eq!(d["offer"]["offer_amount"], 100);
    assert_eq!(d["offer"]["offer_currency"], "USD");
    // Alice (0x41×32) issued the offer; Bob (0x42×32) requests.
    let key = |b: u8| {
        Keypair::from_secret_key(secp(), &SecretKey::from_slice(&[b; 32]).unwrap())
            .public_key()
            .to_string()
    };
    assert_eq!(d["offer"]["offer_issuer_id"], key(0x41));
    assert_eq!(d["invreq_payer_id"], key(0x42));
    // No invreq_amount: the offer's amount sets it. Bitcoin (no invreq_chain).
    assert!(d.get("invreq_amount_msat").is_none());
    assert_eq!(d["network"], "bitcoin");
    // invreq_id: SHA256 of every record outside the signature range.
    let (_, bytes) = decode_bech32_no_checksum(&lnr).unwrap();
    let mut h = Sha256::new();
    for r in parse_stream(&bytes).unwrap() {
        if !(240..=1000).contains(&r.typ) {
            h.update(r.raw);
        }
    }
    assert_eq!(d["invreq_id"], hex::encode(h.finalize()));
}

#[tokio::test]
async fn decode_applies_the_readers_must_reject_rules() {
    let app = spawn_app().await;
    let base = no_offer();
    assert_eq!(decoded(&app, &encode(&base)).await["answers_offer"], false);

    // "MUST reject … if `invreq_payer_id` or `invreq_metadata` are not present."
    refused(&app, &encode(&without(&base, 88)), "invreq_payer_id").await;
    refused(&app, &encode(&without(&base, 0)), "invreq_metadata").await;
    // "… if any non-signature TLV fields are outside the inclusive ranges: 0 to 159 and
    // 1000000000 to 2999999999" (odd ones too); odd types inside them are ignored.
    for t in [161u64, 239, 1001, 999_999_999, 3_000_000_001] {
        refused(&app, &encode(&with(&base, t, &[1])), &format!("type {t}")).await;
    }
    for t in [101u64, 159, 241, 999, 1_000_000_001, 2_999_999_999] {
        decoded(&app, &encode(&with(&base, t, &[1]))).await;
    }
    // Unknown even types are refused in every range (BOLT 1).
    for t in [100u64, 242, 2_000_000_000] {
        refused(&app, &encode(&with(&base, t, &[1])), &format!("type {t}")).await;
    }
    // `invreq_features`: unknown odd bits ignored, unknown even bits rejected.
    decoded(&app, &encode(&with(&base, 84, &[0x02, 0x80]))).await;
    refused(&app, &encode(&with(&base, 84, &[0x01])), "feature").await;
    refused(&app, &encode(&with(&base, 84, &[0x04, 0x00])), "feature").await;
    // "if `num_hops` is 0 in any `blinded_path` in `invreq_paths`: MUST reject".
    let paths = with(&base, 90, &[blinded_path(1), blinded_path(2)].concat());
    assert_eq!(
        decoded(&app, &encode(&paths)).await["has_invreq_paths"],
        true
    );
    let empty_hop = with(&base, 90, &[blinded_path(1), blinded_path(0)].concat());
    refused(&app, &encode(&empty_hop), "no hops").await;
    let cut = blinded_path(1);
    refused(
        &app,
        &encode(&with(&base, 90, &cut[..cut.len() - 1])),
        "invreq_paths",
    )
    .await;
    // "MUST reject … if `signature` is not correct": the seed's own signature verifies; a
    // signature by another key or over other fields does not.
    assert_eq!(decoded(&app, &seed()).await["signature_valid"], true);
    let other_key = records(&signed_by(&base, 9))
        .into_iter()
        .find(|(t, _)| *t == 240)
        .unwrap();
    let mut forged = base.clone();
    forged.push(other_key);
    refused(&app, &encode(&forged), "invalid signature").await;
    let mut altered = records(&seed());
    altered.iter_mut().find(|(t, _)| *t == 82).unwrap().1 = vec![0x01];
    refused(&app, &encode(&altered), "invalid signature").await;
    // Not a response to an offer: "MUST reject … if any of the following are present:
    // `offer_chains`, `offer_features` or `offer_quantity_max`", and without `invreq_amount`.
    refused(&app, &encode(&with(&base, 2, &[0; 32])), "type 2").await;
    refused(&app, &encode(&with(&base, 12, &[0x02])), "type 12").await;
    refused(&app, &encode(&with(&base, 20, &[5])), "type 20").await;
    refused(&app, &encode(&without(&base, 82)), "invreq_amount").await;
    // "if `invreq_chain` … MUST reject the invoice request if … not a supported chain".
    refused(
        &app,
        &encode(&with(&base, 80, &[7; 32])),
        "not a supported chain",
    )
    .await;
    // "if `invreq_bip_353_name` is present: MUST reject … if `name` or `domain` contain any bytes
    // which are not `0`-`9`, `a`-`z`, `A`-`Z`, `-`, `_` or `.`".
    let name = |n: &[u8], d: &[u8]| [&[n.len() as u8][..], n, &[d.len() as u8], d].concat();
    let good = decoded(
        &app,
        &encode(&with(&base, 91, &name(b"al-ice_1", b"ex.com"))),
    )
    .await;
    assert_eq!(good["invreq_bip_353_name"]["name"], "al-ice_1");
    assert_eq!(good["invreq_bip_353_name"]["domain"], "ex.com");
    for (n, d) in [
        (&b"al ice"[..], &b"ex.com"[..]),
        (b"alice", b"ex/com"),
        (b"al@", b"x"),
    ] {
        refused(
            &app,
            &encode(&with(&base, 91, &name(n, d))),
            "invreq_bip_353_name",
        )
        .await;
    }
}

#[tokio::test]
async fn decode_accepts_what_a_reader_may_accept() {
    let app = spawn_app().await;
    let base = no_offer();
    // The writer "MUST NOT include `signature`" when not answering an offer: an unsigned one
    // decodes (CLN signs, which a reader accepts when the signature is correct).
    let unsigned = decoded(&app, &encode(&base)).await;
    assert_eq!(unsigned["signature_valid"], false);
    assert!(unsigned.get("signature").is_none());
    assert_eq!(
        unsigned["invreq_id"],
        decoded(&app, &seed()).await["invreq_id"]
    );
    // "MAY use `offer_amount` (or `offer_currency`) for informational display to user";
    // `offer_metadata` has no reader rule either.
    let shown = with(&with(&with(&base, 4, &[9, 9]), 6, b"EUR"), 8, &[0x2a]);
    let d = decoded(&app, &encode(&shown)).await;
    assert_eq!(d["answers_offer"], false);
    assert_eq!(d["offer"]["offer_currency"], "EUR");
    assert_eq!(d["offer"]["offer_amount"], 42);
    assert_eq!(d["offer"]["offer_metadata"], "0909");
    // The writer must set `offer_description`; no reader rule rejects its absence.
    let d = decoded(&app, &encode(&without(&base, 10))).await;
    assert!(d.get("offer_description").is_none());
}

#[tokio::test]
async fn decode_applies_the_offer_response_rules() {
    let app = spawn_app().await;
    let (lnr, _) = spec_invreq();
    let spec = records(&lnr);
    // The vector re-signed by Bob decodes (the signing here is the spec's).
    assert_eq!(signed_by(&spec, 0x42), lnr);
    // Its writer "MUST set `signature`": without one it is refused.
    refused(&app, &encode(&without(&spec, 240)), "missing signature").await;
    // offer_quantity_max: invreq_quantity required, from 1 to the maximum (0: any count).
    let qmax = with(&spec, 20, &[3]);
    refused(&app, &signed_by(&qmax, 0x42), "invreq_quantity is required").await;
    decoded(&app, &signed_by(&with(&qmax, 86, &[3]), 0x42)).await;
    refused(
        &app,
        &signed_by(&with(&qmax, 86, &[4]), 0x42),
        "offer_quantity_max",
    )
    .await;
    decoded(
        &app,
        &signed_by(&with(&with(&spec, 20, &[]), 86, &[200]), 0x42),
    )
    .await;
    // No offer_quantity_max: "MUST reject … if there is an `invreq_quantity` field".
    refused(
        &app,
        &signed_by(&with(&spec, 86, &[1]), 0x42),
        "invreq_quantity",
    )
    .await;
    // An offer amount in msat: invreq_amount may be omitted, must not be below it × quantity.
    let msat = without(&spec, 6);
    decoded(&app, &signed_by(&msat, 0x42)).await;
    decoded(&app, &signed_by(&with(&msat, 82, &[100]), 0x42)).await;
    refused(&app, &signed_by(&with(&msat, 82, &[99]), 0x42), "below").await;
    let two = with(&with(&with(&msat, 20, &[]), 86, &[2]), 82, &[199]);
    refused(&app, &signed_by(&two, 0x42), "below the 200 msat").await;
    // No offer_amount: "MUST reject … if it does not contain `invreq_amount`".
    let no_amount = without(&without(&spec, 8), 6);
    refused(&app, &signed_by(&no_amount, 0x42), "invreq_amount").await;
    let d = decoded(&app, &signed_by(&with(&no_amount, 82, &[0x10]), 0x42)).await;
    assert_eq!(d["invreq_amount_msat"], 16);
    // The offer fields must form a valid offer (offer reader rules).
    refused(
        &app,
        &signed_by(&with(&spec, 12, &[0x01]), 0x42),
        "offer_features",
    )
    .await;
    refused(&app, &signed_by(&with(&spec, 2, &[]), 0x42), "offer_chains").await;
    refused(
        &app,
        &signed_by(&without(&spec, 10), 0x42),
        "offer_description",
    )
    .await;
    refused(
        &app,
        &signed_by(&with(&without(&spec, 8), 82, &[1]), 0x42),
        "offer_currency",
    )
    .await;
    // offer_paths alone also makes it a response; num_hops 0 is refused there too.
    let by_path = with(&without(&spec, 22), 16, &blinded_path(1));
    assert_eq!(
        decoded(&app, &signed_by(&by_path, 0x42)).await["answers_offer"],
        true
    );
    let hopless = with(&without(&spec, 22), 16, &blinded_path(0));
    refused(&app, &signed_by(&hopless, 0x42), "no hops").await;
}

/// Maps the layout of a format-string vector (an `lno` string) onto `lnr`: the same `+` and
/// whitespace before the same character positions (those after the vector's end move to the
/// end) and the same letter case position by position (the rest lowercase, or uppercase when
/// the vector is all uppercase).
fn same_layout(vector: &str, lnr: &str) -> String {
    let mut seps: Vec<(usize, String)> = Vec::new();
    // Per character position: `Some(upper)` for a letter, `None` for a digit.
    let mut cases: Vec<Option<bool>> = Vec::new();
    for ch in vector.chars() {
        if ch == '+' || ch.is_whitespace() {
            let k = cases.len();
            match seps.last_mut() {
                Some((at, s)) if *at == k => s.push(ch),
                _ => seps.push((k, ch.to_string())),
            }
        } else {
            cases.push(ch.is_ascii_alphabetic().then(|| ch.is_ascii_uppercase()));
        }
    }
    let all_upper = cases.iter().flatten().all(|&u| u);
    let n = cases.len();
    let mut out = String::new();
    for (k, ch) in lnr.chars().enumerate() {
        for (at, s) in &seps {
            if *at == k && k < n {
                out.push_str(s);
            }
        }
        let upper = cases.get(k).copied().flatten().unwrap_or(all_upper);
        out.push(if upper { ch.to_ascii_uppercase() } else { ch });
    }
    for (at, s) in &seps {
        if *at >= n {
            out.push_str(s);
        }
    }
    out
}

#[tokio::test]
async fn decode_follows_the_format_string_vectors_and_the_plus_rule() {
    let app = spawn_app().await;
    let lnr = seed();
    let id = decoded(&app, &lnr).await["invreq_id"].clone();
    let v = vectors("format-string-test.json");
    for c in v.as_array().unwrap() {
        let s = same_layout(c["string"].as_str().unwrap(), &lnr);
        if c["valid"] == true {
            assert_eq!(decoded(&app, &s).await["invreq_id"], id, "{}", c["comment"]);
        } else {
            let res = app.post_json("/v1/decode", &json!({"bolt12": s})).await;
            assert_eq!(res.status(), 400, "{}: {s:?}", c["comment"]);
        }
    }
    // "a `+` followed by zero or more whitespace characters": every Unicode White_Space
    // character counts, the ASCII ones C's isspace knows (vertical tab included) and others.
    for ws in [
        " ", "\t", "\n", "\u{0b}", "\u{0c}", "\r", "\r\n \t", "\u{85}", "\u{a0}", "\u{2028}",
        "\u{3000}",
    ] {
        let split = format!("{}+{ws}{}", &lnr[..50], &lnr[50..]);
        assert_eq!(decoded(&app, &split).await["invreq_id"], id, "{ws:?}");
    }
    // Refused: a zero-width space (not White_Space) after `+`, whitespace without a `+` before
    // it, `+` after whitespace. Accepted: `+` next to the separator `1` (between two characters).
    for bad in [
        format!("{}+\u{200b}{}", &lnr[..50], &lnr[50..]),
        format!("{} {}", &lnr[..50], &lnr[50..]),
        format!(" {lnr}"),
        format!("{lnr}\n"),
        format!("{}+ +{}", &lnr[..50], &lnr[50..]),
    ] {
        let res = app.post_json("/v1/decode", &json!({"bolt12": bad})).await;
        assert_eq!(res.status(), 400, "{bad:?}");
    }
    for good in [format!("lnr+1{}", &lnr[4..]), format!("lnr1+{}", &lnr[4..])] {
        assert_eq!(decoded(&app, &good).await["invreq_id"], id, "{good:?}");
    }
}
