//! BOLT12 primitives: decode, encode, Merkle root, sign, verify, invreq_id, build, amount parsing.

use criterion::{Criterion, black_box, criterion_group, criterion_main};
use invreqd::bolt12::merkle;
use invreqd::bolt12::{
    InvoiceRequest, InvreqFields, Keypair, Network, SecretKey, UnsignedInvoiceRequest, secp,
};
use invreqd::service::Amount;
use lightning::bitcoin::secp256k1::Message;
use serde_json::json;

/// A signed invoice_request from Core Lightning's documentation (`tests/vectors/cln-examples.json`).
const LNR: &str = "lnr1qqgteyhfyp40c79a5y3gfe33nxfs6zstwd5k6urvv5s8getnwsfp2cmvd9nksarwd9hxwgr5v4ehggrnw45hge2syqrzymjxzydqkkw24ufxqslttwlj3s608f0rx2slc7etw0833zgs75srnztgqkppqfnwgkvdr57yzh6h92zg3qctvrm7w38djg67kzcm4yeg8vc4cq633uzq99smfawuu6pz0zh9jl6dl8v25u3kzes975x2j9tr0qp0ux0tlzcxjrgehxh9luz5vwjpk92tys9f9zlm038krcz4uqfxgelwf43tgfc";

fn keypair() -> Keypair {
    Keypair::from_secret_key(secp(), &SecretKey::from_slice(&[0x42; 32]).unwrap())
}

fn fields(kp: &Keypair) -> InvreqFields {
    InvreqFields {
        metadata: [9; 16],
        description: "simple test".into(),
        issuer: Some("clightning test suite".into()),
        absolute_expiry: None,
        amount_msat: 10_000_000,
        network: Network::Regtest,
        payer_id: kp.public_key(),
    }
}

fn bolt12(c: &mut Criterion) {
    let ir = InvoiceRequest::decode(LNR).expect("vector decodes");
    let kp = keypair();
    let unsigned = UnsignedInvoiceRequest::build(&fields(&kp)).unwrap();
    let msg = Message::from_digest(unsigned.sighash());

    c.bench_function(
        "decode_lnr (bech32 + parse + verify + LDK semantics)",
        |b| b.iter(|| InvoiceRequest::decode(black_box(LNR)).unwrap()),
    );
    c.bench_function("encode_lnr", |b| b.iter(|| black_box(&ir).encode()));
    c.bench_function("merkle_root", |b| {
        b.iter(|| merkle::root(black_box(ir.bytes())).unwrap())
    });
    c.bench_function("invreq_id", |b| b.iter(|| black_box(&ir).invreq_id()));
    c.bench_function("verify", |b| b.iter(|| black_box(&ir).verify().unwrap()));
    c.bench_function("bip340_sign (secp256k1, aux rand)", |b| {
        b.iter(|| {
            let aux: [u8; 32] = rand::random();
            secp().sign_schnorr_with_aux_rand(black_box(&msg), &kp, &aux)
        })
    });
    c.bench_function("sign_invreq (sighash + sign + append record)", |b| {
        b.iter(|| black_box(&unsigned).sign(&kp))
    });
    let f = fields(&kp);
    c.bench_function("build_unsigned (LDK RefundBuilder + Merkle root)", |b| {
        b.iter(|| UnsignedInvoiceRequest::build(black_box(&f)).unwrap())
    });
    let amounts = [
        json!(10_000),
        json!("10000sat"),
        json!("1.500sat"),
        json!("0.00012345btc"),
    ];
    c.bench_function("amount_parse (4 forms)", |b| {
        b.iter(|| {
            for a in &amounts {
                black_box(serde_json::from_value::<Amount>(black_box(a).clone()).unwrap());
            }
        })
    });
}

criterion_group!(benches, bolt12);
criterion_main!(benches);
