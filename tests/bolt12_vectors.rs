//! BOLT12 vectors: the BOLT spec's JSON files, Core Lightning's published examples and the seed.

use invreqd::bolt12::tlv::{self, StreamRules, parse_stream, write_record};
use invreqd::bolt12::{
    Bolt12Error, InvoiceRequest, InvreqFields, Keypair, Network, SecretKey, Signature,
    UnsignedInvoiceRequest, decode_bech32_no_checksum, encode_bech32_no_checksum,
    invreq_id_of_invoice, merkle, secp,
};
use lightning::bitcoin::secp256k1::Message;
use serde_json::Value;

const SEED_ID: &str = "715484ead84bcdae5b33e3015c686fa1bdd4ae9ade3c4729b58257a98cfcd9b5";
const REGTEST: &str = "06226e46111a0b59caaf126043eb5bbf28c34f3a5e332a1fc7b2b73cf188910f";

fn load(name: &str) -> Value {
    let path = format!("{}/tests/vectors/{name}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    serde_json::from_str(&text).unwrap()
}

fn seed_str() -> String {
    load("invoicerequest.schema.json")["examples"][0]["response"]["bolt12"]
        .as_str()
        .unwrap()
        .to_owned()
}

fn h32(s: &str) -> [u8; 32] {
    hex::decode(s).unwrap().try_into().unwrap()
}

/// Rebuilds a stream from (type, value) pairs.
fn stream(records: &[(u64, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    for (t, v) in records {
        write_record(&mut out, *t, v);
    }
    out
}

fn records_of(bytes: &[u8]) -> Vec<(u64, Vec<u8>)> {
    parse_stream(bytes)
        .unwrap()
        .iter()
        .map(|r| (r.typ, r.value.to_vec()))
        .collect()
}

#[test]
fn seed_example_decodes_verifies_and_roundtrips() {
    let s = seed_str();
    let ir = InvoiceRequest::decode(&s).unwrap();
    assert_eq!(hex::encode(ir.invreq_id()), SEED_ID);
    assert!(ir.signature().is_some());
    ir.verify().unwrap();
    assert_eq!(ir.amount_msat(), Some(10_000_000));
    assert_eq!(ir.description(), Some("simple test"));
    assert_eq!(ir.issuer(), Some("clightning test suite"));
    assert_eq!(ir.chain(), Some(h32(REGTEST)));
    assert_eq!(ir.network(), Some(Network::Regtest));
    assert_eq!(
        hex::encode(ir.metadata()),
        "bc92e9206afc78bda12284e63199930d"
    );
    assert_eq!(
        ir.payer_id().to_string(),
        "0266e4598d1d3c415f572a8488830b60f7e744ed9235eb0b1ba93283b315c03518"
    );
    assert_eq!(ir.absolute_expiry(), None);
    assert_eq!(ir.payer_note(), None);
    assert_eq!(ir.quantity(), None);
    assert!(!ir.has_paths());
    assert_eq!(
        hex::encode(ir.merkle_root()),
        "ced49aab5d788b2d3696c1a417111256c38d62bea4b20c79993c8e4a9d3e3a19"
    );
    assert_eq!(
        hex::encode(ir.sighash()),
        "db674765fdc5a6af649718a01b88358b6f5f34a6d13b4b44a563fbcebac24142"
    );
    assert_eq!(ir.encode(), s);
    assert_eq!(ir.to_string(), s);
    assert_eq!(ir.bytes().len(), 194);
}

#[test]
fn cln_invoicerequest_examples() {
    let v = load("cln-examples.json");
    let examples = v["invoicerequest"].as_array().unwrap();
    assert_eq!(examples.len(), 3);
    for ex in examples {
        let s = ex["response"]["bolt12"].as_str().unwrap();
        let ir = InvoiceRequest::decode(s).unwrap_or_else(|e| panic!("{s}: {e}"));
        assert_eq!(
            hex::encode(ir.invreq_id()),
            ex["response"]["invreq_id"].as_str().unwrap()
        );
        assert!(ir.signature().is_some(), "CLN signs its invoice_requests");
        ir.verify().unwrap();
        assert_eq!(ir.encode(), s);
        assert_eq!(ir.description(), ex["params"]["description"].as_str());
        assert_eq!(ir.issuer(), ex["params"]["issuer"].as_str());
        assert_eq!(ir.network(), Some(Network::Regtest));
        assert_eq!(ir.unsigned().invreq_id(), ir.invreq_id());
    }
}

#[test]
fn cln_invoice_hashes_to_the_invreq_it_answers() {
    let v = load("cln-examples.json");
    let lni = v["sendinvoice"][0]["response"]["bolt12"].as_str().unwrap();
    let want = v["invoicerequest"][1]["response"]["invreq_id"]
        .as_str()
        .unwrap();
    assert_eq!(hex::encode(invreq_id_of_invoice(lni).unwrap()), want);
    let lnr = v["invoicerequest"][1]["response"]["bolt12"]
        .as_str()
        .unwrap();
    assert_eq!(
        hex::encode(InvoiceRequest::decode(lnr).unwrap().invreq_id()),
        want
    );
    assert!(matches!(
        invreq_id_of_invoice(lnr),
        Err(Bolt12Error::WrongHrp { .. })
    ));
}

#[test]
fn format_string_vectors() {
    let v = load("format-string-test.json");
    let cases = v.as_array().unwrap();
    assert_eq!(cases.len(), 12);
    let mut reference: Option<Vec<u8>> = None;
    for c in cases {
        let s = c["string"].as_str().unwrap();
        let comment = c["comment"].as_str().unwrap();
        let got = decode_bech32_no_checksum(s);
        if c["valid"].as_bool().unwrap() {
            let (hrp, bytes) = got.unwrap_or_else(|e| panic!("{comment}: {e}"));
            assert_eq!(hrp, "lno", "{comment}");
            match &reference {
                None => reference = Some(bytes),
                Some(r) => assert_eq!(&bytes, r, "{comment}"),
            }
            // Same reader, but the wrong message type for an invoice_request.
            assert!(matches!(
                InvoiceRequest::decode(s),
                Err(Bolt12Error::WrongHrp { .. })
            ));
        } else {
            assert!(got.is_err(), "{comment}: {s:?} should be rejected");
        }
    }
    let reference = reference.unwrap();
    let first = cases[0]["string"].as_str().unwrap();
    assert_eq!(encode_bech32_no_checksum("lno", &reference), first);
}

/// Extracts the hex argument of a key like ``H(`LnLeaf`,010203e8)``.
fn leaf_record(key: &str) -> Option<Vec<u8>> {
    let hex = key.strip_prefix("H(`LnLeaf`,")?.strip_suffix(')')?;
    Some(hex::decode(hex).unwrap())
}

#[test]
fn signature_test_merkle_roots() {
    let v = load("signature-test.json");
    let mut n1_cases = 0;
    for c in v.as_array().unwrap() {
        if c["tlv"] != "n1" {
            continue;
        }
        n1_cases += 1;
        // Rebuild the stream from the leaf records, and check every leaf hash on the way.
        let mut bytes = Vec::new();
        for leaf in c["leaves"].as_array().unwrap() {
            for (k, h) in leaf.as_object().unwrap() {
                if let Some(rec) = leaf_record(k) {
                    assert_eq!(
                        hex::encode(merkle::tagged_hash(b"LnLeaf", &rec)),
                        h.as_str().unwrap()
                    );
                    bytes.extend_from_slice(&rec);
                }
            }
        }
        assert_eq!(
            hex::encode(parse_stream(&bytes).unwrap()[0].raw),
            c["first-tlv"].as_str().unwrap()
        );
        assert_eq!(
            hex::encode(merkle::root(&bytes).unwrap()),
            c["merkle"].as_str().unwrap(),
            "{}",
            c["comment"]
        );
    }
    assert_eq!(n1_cases, 3);
}

#[test]
fn signature_test_invoice_request() {
    let v = load("signature-test.json");
    let c = v
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["tlv"] == "invoice_request")
        .unwrap();
    let (hrp, bytes) = decode_bech32_no_checksum(c["bolt12"].as_str().unwrap()).unwrap();
    assert_eq!(hrp, "lnr");
    let root = merkle::root(&bytes).unwrap();
    assert_eq!(hex::encode(root), c["merkle"].as_str().unwrap());
    assert_eq!(
        c["signature_tag"].as_str().unwrap(),
        "lightninginvoice_requestsignature"
    );
    let sighash = merkle::sighash("invoice_request", "signature", root);
    assert_eq!(
        hex::encode(sighash),
        c["H(signature_tag,merkle)"].as_str().unwrap()
    );
    let want_sig = c["signature"].as_str().unwrap();
    let recs = parse_stream(&bytes).unwrap();
    let sig_rec = recs.iter().find(|r| r.typ == 240).unwrap();
    assert_eq!(hex::encode(sig_rec.value), want_sig);

    // Bob's key 0x42×32 with zero auxiliary randomness reproduces the signature.
    let kp = Keypair::from_secret_key(secp(), &SecretKey::from_slice(&[0x42; 32]).unwrap());
    let msg = Message::from_digest(sighash);
    let sig = secp().sign_schnorr_no_aux_rand(&msg, &kp);
    assert_eq!(hex::encode(sig.as_ref()), want_sig);
    assert_eq!(secp().sign_schnorr_with_aux_rand(&msg, &kp, &[0; 32]), sig);
    let payer = recs.iter().find(|r| r.typ == 88).unwrap().value;
    assert_eq!(payer, kp.public_key().serialize());
    secp()
        .verify_schnorr(&sig, &msg, &kp.x_only_public_key().0)
        .unwrap();

    // It answers an offer (offer fields, issuer id): a valid invoice_request all the same.
    let ir = InvoiceRequest::decode(c["bolt12"].as_str().unwrap()).unwrap();
    assert!(ir.answers_offer());
    assert_eq!(ir.offer().amount, Some(100));
    assert_eq!(ir.offer().currency.as_deref(), Some("USD"));
    assert_eq!(ir.description(), Some("A Mathematical Treatise"));
    assert_eq!(ir.amount_msat(), None);
    assert_eq!(hex::encode(ir.merkle_root()), c["merkle"].as_str().unwrap());
}

/// Offer rules for the shared TLV layer (`lno`): ranges, known even types, text fields.
const OFFER_RULES: StreamRules<'static> = StreamRules {
    ranges: &[(1, 79), (1_000_000_000, 1_999_999_999)],
    known_even: &[2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22],
    utf8: &[
        (6, "offer_currency"),
        (10, "offer_description"),
        (18, "offer_issuer"),
    ],
};

fn shared_layer(s: &str) -> Result<(), Bolt12Error> {
    let (hrp, bytes) = decode_bech32_no_checksum(s)?;
    assert_eq!(hrp, "lno");
    tlv::check_stream(&bytes, &OFFER_RULES).map(|_| ())
}

#[test]
fn offers_test_shared_parsing() {
    let v = load("offers-test.json");
    let cases = v.as_array().unwrap();
    // Valid offers pass the shared layer.
    let valid: Vec<_> = cases.iter().filter(|c| c["valid"] == true).collect();
    assert_eq!(valid.len(), 20);
    for c in valid {
        shared_layer(c["bolt12"].as_str().unwrap())
            .unwrap_or_else(|e| panic!("{}: {e}", c["description"]));
    }
    // Invalid ones that concern parsing shared with `lnr` are rejected by it.
    const SHARED: [&str; 10] = [
        "out of order",
        "truncated at type",
        "truncated in length",
        "truncated after length",
        "truncated in description",
        "UTF-8",
        "unknown even",
        "padding",
        "Contains type",
        "duplicate",
    ];
    let mut selected = 0;
    for c in cases.iter().filter(|c| c["valid"] == false) {
        let d = c["description"].as_str().unwrap();
        if !SHARED.iter().any(|k| d.contains(k)) {
            continue;
        }
        selected += 1;
        let r = shared_layer(c["bolt12"].as_str().unwrap());
        assert!(r.is_err(), "{d}: should be rejected");
    }
    assert!(selected > 0);
    assert_eq!(selected, 16);
}

fn seed_fields(ir: &InvoiceRequest) -> InvreqFields {
    InvreqFields {
        metadata: ir.metadata().try_into().unwrap(),
        description: "simple test".into(),
        issuer: Some("clightning test suite".into()),
        absolute_expiry: None,
        amount_msat: 10_000_000,
        network: Network::Regtest,
        payer_id: ir.payer_id(),
    }
}

#[test]
fn build_reproduces_seed_without_signature() {
    let seed = InvoiceRequest::decode(&seed_str()).unwrap();
    let unsigned = UnsignedInvoiceRequest::build(&seed_fields(&seed)).unwrap();
    let seed_minus_sig: Vec<(u64, Vec<u8>)> = records_of(seed.bytes())
        .into_iter()
        .filter(|(t, _)| *t != 240)
        .collect();
    assert_eq!(unsigned.bytes(), stream(&seed_minus_sig));
    assert_eq!(unsigned, seed.unsigned());
    assert!(seed.same_records_as(&unsigned));
    assert_eq!(hex::encode(unsigned.invreq_id()), SEED_ID);
    assert_eq!(unsigned.merkle_root(), seed.merkle_root());
    assert_eq!(unsigned.sighash(), seed.sighash());
    // Attaching CLN's signature gives back CLN's exact string.
    let again = unsigned.with_signature(seed.signature().unwrap());
    assert_eq!(again.encode(), seed_str());
    again.verify().unwrap();

    // A reader accepts a missing signature.
    let bare = InvoiceRequest::from_bytes(unsigned.bytes().to_vec()).unwrap();
    assert_eq!(bare.signature(), None);
    assert_eq!(hex::encode(bare.invreq_id()), SEED_ID);
}

#[test]
fn sign_with_fresh_key_then_decode() {
    let seed = InvoiceRequest::decode(&seed_str()).unwrap();
    let sk = SecretKey::from_slice(&rand::random::<[u8; 32]>()).unwrap();
    let kp = Keypair::from_secret_key(secp(), &sk);
    let mut fields = seed_fields(&seed);
    fields.payer_id = kp.public_key();
    fields.metadata = rand::random();
    fields.absolute_expiry = Some(1_900_000_000);
    fields.network = Network::Bitcoin;
    fields.issuer = None;
    let unsigned = UnsignedInvoiceRequest::build(&fields).unwrap();
    let signed = unsigned.sign(&kp);
    let s = signed.encode();
    assert!(s.starts_with("lnr1"));
    let back = InvoiceRequest::decode(&s).unwrap();
    assert_eq!(back, signed);
    assert!(back.same_records_as(&unsigned));
    assert_eq!(back.invreq_id(), unsigned.invreq_id());
    assert_eq!(back.payer_id(), kp.public_key());
    assert_eq!(back.absolute_expiry(), Some(1_900_000_000));
    assert_eq!(back.chain(), None);
    assert_eq!(back.network(), Some(Network::Bitcoin));
    assert_eq!(back.issuer(), None);
    // Fresh aux randomness: two signatures differ, both verify; no-aux is deterministic.
    let other = unsigned.sign(&kp);
    assert_ne!(other.signature(), signed.signature());
    InvoiceRequest::decode(&other.encode()).unwrap();
    assert_eq!(
        unsigned.sign_no_aux_rand(&kp).signature(),
        unsigned.sign_no_aux_rand(&kp).signature()
    );
    // Another key's signature is rejected.
    let wrong = Keypair::from_secret_key(secp(), &SecretKey::from_slice(&[7; 32]).unwrap());
    assert_eq!(
        InvoiceRequest::from_bytes(unsigned.sign(&wrong).bytes().to_vec()),
        Err(Bolt12Error::InvalidSignature)
    );
}

#[test]
fn tampering_breaks_the_signature() {
    let seed = InvoiceRequest::decode(&seed_str()).unwrap();
    let bytes = seed.bytes().to_vec();
    // Change one letter of "simple test" (still valid UTF-8 and semantically fine).
    let pos = bytes.windows(11).position(|w| w == b"simple test").unwrap();
    let mut t = bytes.clone();
    t[pos] = b'S';
    assert_eq!(
        InvoiceRequest::from_bytes(t.clone()),
        Err(Bolt12Error::InvalidSignature)
    );
    assert_eq!(
        InvoiceRequest::decode(&encode_bech32_no_checksum("lnr", &t)),
        Err(Bolt12Error::InvalidSignature)
    );
    // Flip a bit of the signature itself.
    let mut t = bytes.clone();
    *t.last_mut().unwrap() ^= 1;
    assert_eq!(
        InvoiceRequest::from_bytes(t),
        Err(Bolt12Error::InvalidSignature)
    );
    // A signature of the wrong length.
    let mut recs = records_of(&bytes);
    recs.last_mut().unwrap().1.pop();
    assert_eq!(
        InvoiceRequest::from_bytes(stream(&recs)),
        Err(Bolt12Error::InvalidSignature)
    );
    // with_signature does not verify, verify() does.
    let bogus = seed
        .unsigned()
        .with_signature(Signature::from_slice(&[1; 64]).unwrap());
    assert_eq!(bogus.verify(), Err(Bolt12Error::InvalidSignature));
}

#[test]
fn case_and_continuations() {
    let s = seed_str();
    let seed = InvoiceRequest::decode(&s).unwrap();
    let upper = InvoiceRequest::decode(&s.to_uppercase()).unwrap();
    assert_eq!(upper.bytes(), seed.bytes());
    assert_eq!(upper.encode(), s);

    let mut mixed = s.clone();
    mixed.replace_range(0..1, "L");
    assert_eq!(InvoiceRequest::decode(&mixed), Err(Bolt12Error::MixedCase));

    let split = format!("{}+\n  {}+{}", &s[..40], &s[40..100], &s[100..]);
    assert_eq!(InvoiceRequest::decode(&split).unwrap(), seed);
    let hrp_split = format!("l+{}", &s[1..]);
    assert_eq!(InvoiceRequest::decode(&hrp_split).unwrap(), seed);
    for bad in [
        format!("{s}+"),
        format!("+{s}"),
        format!("{} +{}", &s[..9], &s[9..]),
    ] {
        assert!(InvoiceRequest::decode(&bad).is_err(), "{bad:?}");
    }
    let mut padding = s.clone();
    padding.push_str("qq");
    assert_eq!(
        InvoiceRequest::decode(&padding),
        Err(Bolt12Error::InvalidPadding)
    );
}

#[test]
fn semantic_rejections() {
    let seed = InvoiceRequest::decode(&seed_str()).unwrap();
    let base: Vec<(u64, Vec<u8>)> = records_of(seed.unsigned().bytes());
    let with = |t: u64, v: Vec<u8>| {
        let mut r = base.clone();
        r.push((t, v));
        r.sort_by_key(|(t, _)| *t);
        InvoiceRequest::from_bytes(stream(&r))
    };
    let without = |t: u64| {
        let r: Vec<_> = base.iter().filter(|(x, _)| *x != t).cloned().collect();
        InvoiceRequest::from_bytes(stream(&r))
    };
    assert!(InvoiceRequest::from_bytes(stream(&base)).is_ok());
    // Not answering an offer: a reader rejects offer_chains, offer_features and
    // offer_quantity_max, and may show offer_metadata, offer_currency and offer_amount.
    assert_eq!(with(2, vec![0; 32]), Err(Bolt12Error::ForbiddenField(2)));
    assert_eq!(with(12, vec![2]), Err(Bolt12Error::ForbiddenField(12)));
    assert_eq!(with(20, vec![1]), Err(Bolt12Error::ForbiddenField(20)));
    for t in [4u64, 6, 8] {
        let ir = with(t, b"USD".to_vec()).unwrap();
        assert!(!ir.answers_offer());
    }
    assert_eq!(with(161, vec![]), Err(Bolt12Error::OutOfRange(161)));
    assert_eq!(with(1001, vec![]), Err(Bolt12Error::OutOfRange(1001)));
    assert_eq!(
        with(3_000_000_001, vec![]),
        Err(Bolt12Error::OutOfRange(3_000_000_001))
    );
    assert_eq!(with(100, vec![]), Err(Bolt12Error::UnknownEvenType(100)));
    assert_eq!(
        with(2_000_000_000, vec![]),
        Err(Bolt12Error::UnknownEvenType(2_000_000_000))
    );
    assert_eq!(with(242, vec![]), Err(Bolt12Error::UnknownEvenType(242)));
    // Unknown odd types are fine, including experimental and signature-range ones.
    let odd = with(101, vec![9]).unwrap();
    assert_ne!(odd.invreq_id(), seed.invreq_id());
    let exp = with(2_000_000_001, vec![9]).unwrap();
    assert_ne!(exp.invreq_id(), seed.invreq_id());
    let sig_odd = with(241, vec![9]).unwrap();
    assert_eq!(sig_odd.invreq_id(), seed.invreq_id());
    assert_eq!(sig_odd.merkle_root(), seed.merkle_root());
    assert_eq!(sig_odd.unsigned(), seed.unsigned());
    // Signing an unsigned request with experimental records puts 240 before them.
    let kp = Keypair::from_secret_key(secp(), &SecretKey::from_slice(&[3; 32]).unwrap());
    let mut r = base.clone();
    r.retain(|(t, _)| *t != 88);
    r.push((88, kp.public_key().serialize().to_vec()));
    r.push((2_000_000_001, vec![9]));
    r.sort_by_key(|(t, _)| *t);
    let exp = InvoiceRequest::from_bytes(stream(&r)).unwrap();
    let signed = exp.unsigned().sign(&kp);
    let back = InvoiceRequest::from_bytes(signed.bytes().to_vec()).unwrap();
    assert!(back.same_records_as(&exp.unsigned()));
    assert_eq!(back.invreq_id(), exp.invreq_id());

    assert_eq!(
        without(0),
        Err(Bolt12Error::MissingField("invreq_metadata"))
    );
    // The writer must set offer_description; the reader has no rule against its absence.
    assert_eq!(without(10).unwrap().description(), None);
    assert_eq!(without(82), Err(Bolt12Error::MissingField("invreq_amount")));
    assert_eq!(
        without(88),
        Err(Bolt12Error::MissingField("invreq_payer_id"))
    );
    // Bad values.
    let mut r = base.clone();
    r.iter_mut().find(|(t, _)| *t == 10).unwrap().1 = vec![0xff, 0xfe];
    assert_eq!(
        InvoiceRequest::from_bytes(stream(&r)),
        Err(Bolt12Error::InvalidUtf8("offer_description"))
    );
    let mut r = base.clone();
    r.iter_mut().find(|(t, _)| *t == 88).unwrap().1[0] = 0x05;
    assert_eq!(
        InvoiceRequest::from_bytes(stream(&r)),
        Err(Bolt12Error::InvalidPubkey)
    );
    let mut r = base.clone();
    r.iter_mut().find(|(t, _)| *t == 82).unwrap().1.insert(0, 0);
    assert_eq!(
        InvoiceRequest::from_bytes(stream(&r)),
        Err(Bolt12Error::InvalidField("invreq_amount"))
    );
    let mut r = base.clone();
    r.iter_mut().find(|(t, _)| *t == 82).unwrap().1 = vec![0xff; 8];
    assert_eq!(
        InvoiceRequest::from_bytes(stream(&r))
            .unwrap()
            .amount_msat(),
        Some(u64::MAX)
    );
    assert_eq!(
        with(84, vec![0x01]),
        Err(Bolt12Error::UnknownRequiredFeature)
    );
    assert!(with(84, vec![0x02]).is_ok());
    assert_eq!(
        with(90, vec![]),
        Err(Bolt12Error::InvalidPaths("invreq_paths"))
    );
    assert!(with(90, vec![0; 10]).is_err());
    // Duplicates and order.
    let mut r = base.clone();
    r.insert(1, r[1].clone());
    assert_eq!(
        InvoiceRequest::from_bytes(stream(&r)),
        Err(Bolt12Error::NotAscending(10))
    );
    // Truncation.
    let b = stream(&base);
    assert_eq!(
        InvoiceRequest::from_bytes(b[..b.len() - 1].to_vec()),
        Err(Bolt12Error::Truncated)
    );
    assert!(InvoiceRequest::from_bytes(Vec::new()).is_err());
}

#[test]
fn build_rejects_bad_amounts() {
    let seed = InvoiceRequest::decode(&seed_str()).unwrap();
    let mut f = seed_fields(&seed);
    f.amount_msat = 0;
    assert_eq!(
        UnsignedInvoiceRequest::build(&f),
        Err(Bolt12Error::InvalidAmount)
    );
    f.amount_msat = u64::MAX;
    assert_eq!(
        UnsignedInvoiceRequest::build(&f),
        Err(Bolt12Error::InvalidAmount)
    );
    for n in [Network::Testnet, Network::Testnet4, Network::Signet] {
        f.amount_msat = 1;
        f.network = n;
        let u = UnsignedInvoiceRequest::build(&f).unwrap();
        let ir = InvoiceRequest::from_bytes(u.bytes().to_vec()).unwrap();
        assert_eq!(ir.network(), Some(n));
        assert_eq!(ir.amount_msat(), Some(1));
    }
}

/// Two offers-test.json range vectors encode their type as `fd` + 4 bytes (not a valid BigSize),
/// so any parser rejects them as truncated before seeing the type. Check the intended cases too.
#[test]
fn offers_test_range_cases_properly_encoded() {
    let v = load("offers-test.json");
    let case = |d: &str| {
        let c = v.as_array().unwrap().iter().find(|c| c["description"] == d);
        decode_bech32_no_checksum(c.unwrap()["bolt12"].as_str().unwrap())
            .unwrap()
            .1
    };
    let big = case("Contains type > 1999999999");
    let even = case("Contains unknown even type (1000000002)");
    assert_eq!(
        tlv::check_stream(&big, &OFFER_RULES).unwrap_err(),
        Bolt12Error::Truncated
    );
    assert_eq!(
        tlv::check_stream(&even, &OFFER_RULES).unwrap_err(),
        Bolt12Error::Truncated
    );
    // The valid prefix (description + issuer id) followed by correctly encoded records.
    let prefix = &big[..big.iter().position(|&b| b == 0xfd).unwrap()];
    assert!(tlv::check_stream(prefix, &OFFER_RULES).is_ok());
    for (t, err) in [
        (2_000_000_000u64, Bolt12Error::OutOfRange(2_000_000_000)),
        (1_000_000_002, Bolt12Error::UnknownEvenType(1_000_000_002)),
        (78, Bolt12Error::UnknownEvenType(78)),
    ] {
        let mut s = prefix.to_vec();
        write_record(&mut s, t, &[1, 2, 3]);
        assert_eq!(tlv::check_stream(&s, &OFFER_RULES).unwrap_err(), err);
    }
}
