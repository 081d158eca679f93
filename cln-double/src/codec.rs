//! The double's own BOLT 12 codec, written from the spec (bolts/12-offer-encoding.md and
//! bolts/01-messaging.md) and not shared with invreqd: a mistake in invreqd's codec must make the
//! two sides disagree, not pass both. Only what a node needs: TLV records, bech32 without a
//! checksum (the `bech32` crate's `NoChecksum`), the signature Merkle tree and building an
//! offerless `invoice_request`.

use std::sync::LazyLock;

use bech32::primitives::decode::CheckedHrpstring;
use bech32::{Hrp, NoChecksum};
use lightning::bitcoin::Network;
use lightning::bitcoin::constants::ChainHash;
use lightning::bitcoin::secp256k1::{All, PublicKey, Secp256k1};
use sha2::{Digest, Sha256};

/// One verification/signing context for the whole double.
pub fn secp() -> &'static Secp256k1<All> {
    static CTX: LazyLock<Secp256k1<All>> = LazyLock::new(Secp256k1::new);
    &CTX
}

/// A malformed TLV stream or string.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct CodecError(&'static str);

/// One record of a TLV stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    /// Its type.
    pub typ: u64,
    /// Its value.
    pub value: &'a [u8],
    /// The whole record as it appears in the stream (type, length, value).
    pub raw: &'a [u8],
}

/// Reads a BigSize at the start of `buf` (minimally encoded, BOLT 1); returns it and its width.
fn read_bigsize(buf: &[u8]) -> Result<(u64, usize), CodecError> {
    let short = CodecError("truncated bigsize");
    let (&first, rest) = buf.split_first().ok_or(short.clone())?;
    let wide = |n: usize| -> Result<u64, CodecError> {
        let bytes = rest.get(..n).ok_or(short.clone())?;
        Ok(bytes.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
    };
    let (v, width, min) = match first {
        0xff => (wide(8)?, 9, 0x1_0000_0000),
        0xfe => (wide(4)?, 5, 0x1_0000),
        0xfd => (wide(2)?, 3, 0xfd),
        b => return Ok((u64::from(b), 1)),
    };
    if v < min {
        return Err(CodecError("non-minimal bigsize"));
    }
    Ok((v, width))
}

/// Appends `v` as a BigSize.
fn put_bigsize(out: &mut Vec<u8>, v: u64) {
    match v {
        0..=0xfc => out.push(v as u8),
        0xfd..=0xffff => {
            out.push(0xfd);
            out.extend_from_slice(&(v as u16).to_be_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(0xfe);
            out.extend_from_slice(&(v as u32).to_be_bytes());
        }
        _ => {
            out.push(0xff);
            out.extend_from_slice(&v.to_be_bytes());
        }
    }
}

/// Every record of a stream, in order.
///
/// # Errors
/// A truncated record, a non-minimal BigSize, or types not strictly ascending.
pub fn records(mut stream: &[u8]) -> Result<Vec<Record<'_>>, CodecError> {
    let mut out: Vec<Record<'_>> = Vec::new();
    while !stream.is_empty() {
        let (typ, a) = read_bigsize(stream)?;
        let (len, b) = read_bigsize(&stream[a..])?;
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| (a + b).checked_add(l))
            .filter(|&e| e <= stream.len())
            .ok_or(CodecError("record longer than the stream"))?;
        if out.last().is_some_and(|last| last.typ >= typ) {
            return Err(CodecError("record types not ascending"));
        }
        out.push(Record {
            typ,
            value: &stream[a + b..end],
            raw: &stream[..end],
        });
        stream = &stream[end..];
    }
    Ok(out)
}

/// Appends one record.
pub fn put_record(out: &mut Vec<u8>, typ: u64, value: &[u8]) {
    put_bigsize(out, typ);
    put_bigsize(out, value.len() as u64);
    out.extend_from_slice(value);
}

/// A `tu64`: big-endian without leading zero bytes.
pub fn tu64(v: u64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let skip = bytes.iter().take_while(|b| **b == 0).count();
    bytes[skip..].to_vec()
}

/// Reads a `tu64` (at most 8 bytes, no leading zero).
///
/// # Errors
/// Longer than 8 bytes, or not minimal.
pub fn read_tu64(value: &[u8]) -> Result<u64, CodecError> {
    if value.len() > 8 || value.first() == Some(&0) {
        return Err(CodecError("bad tu64"));
    }
    Ok(value.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b)))
}

/// Whether a record type is a signature element (240–1000), left out of the Merkle tree.
pub fn is_signature_type(typ: u64) -> bool {
    (240..=1000).contains(&typ)
}

/// `H(tag, msg) = SHA256(SHA256(tag) || SHA256(tag) || msg)`, BIP340's tagged hash.
fn tagged(tag: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    let t = Sha256::digest(tag);
    let mut h = Sha256::new();
    h.update(t);
    h.update(t);
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

fn branch(a: [u8; 32], b: [u8; 32]) -> [u8; 32] {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    tagged(b"LnBranch", &[&lo, &hi])
}

/// The Merkle root of a stream's non-signature records (BOLT 12 "Signature Calculation"):
/// each leaf is `H("LnBranch", H("LnLeaf", record) ⊕ H("LnNonce"||first record, type))`,
/// paired level by level, an odd node carried up unchanged.
///
/// # Errors
/// A malformed stream, or one with no record outside the signature range.
pub fn merkle_root(stream: &[u8]) -> Result<[u8; 32], CodecError> {
    let recs = records(stream)?;
    let first = recs.first().ok_or(CodecError("empty stream"))?.raw;
    let nonce_tag = [b"LnNonce".as_slice(), first].concat();
    let mut level: Vec<[u8; 32]> = recs
        .iter()
        .filter(|r| !is_signature_type(r.typ))
        .map(|r| {
            let mut typ = Vec::new();
            put_bigsize(&mut typ, r.typ);
            branch(tagged(b"LnLeaf", &[r.raw]), tagged(&nonce_tag, &[&typ]))
        })
        .collect();
    if level.is_empty() {
        return Err(CodecError("no records to sign"));
    }
    while level.len() > 1 {
        level = level
            .chunks(2)
            .map(|pair| match pair {
                [a, b] => branch(*a, *b),
                [a] => *a,
                _ => unreachable!("chunks of two"),
            })
            .collect();
    }
    Ok(level[0])
}

/// The message a BIP340 signature signs: `H("lightning" || message || field, root)`.
pub fn signature_digest(message: &str, field: &str, root: [u8; 32]) -> [u8; 32] {
    let tag = format!("lightning{message}{field}");
    tagged(tag.as_bytes(), &[&root])
}

/// The BOLT 12 string of a stream: bech32 without a checksum, lowercase.
pub fn to_bech32(hrp: &str, bytes: &[u8]) -> String {
    let hrp = Hrp::parse(hrp).expect("a valid human-readable part");
    bech32::encode::<NoChecksum>(hrp, bytes).expect("a BOLT 12 string fits")
}

/// Reads a BOLT 12 string (no `+` continuations: the double reads what invreqd sends);
/// returns its human-readable part and bytes.
///
/// # Errors
/// Not bech32 (mixed case, a character outside the alphabet, padding bits set).
pub fn from_bech32(text: &str) -> Result<(String, Vec<u8>), CodecError> {
    let parsed = CheckedHrpstring::new::<NoChecksum>(text)
        .map_err(|_| CodecError("invalid bech32 string"))?;
    let hrp = parsed.hrp().to_lowercase();
    Ok((hrp, parsed.byte_iter().collect()))
}

/// `invreq_id`: SHA256 of the records in 0–159 and 1000000000–2999999999 (CLN's
/// `invreq_id` of an `invoice_request`).
pub fn invreq_id(stream: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    for r in records(stream).unwrap_or_default() {
        if r.typ <= 159 || (1_000_000_000..=2_999_999_999).contains(&r.typ) {
            h.update(r.raw);
        }
    }
    h.finalize().into()
}

/// What an offerless `invoice_request` (CLN `invoicerequest`) says.
#[derive(Debug, Clone)]
pub struct NewInvreq {
    /// `invreq_metadata` (0).
    pub metadata: [u8; 16],
    /// `offer_description` (10).
    pub description: String,
    /// `offer_absolute_expiry` (14), seconds since 1970.
    pub absolute_expiry: Option<u64>,
    /// `offer_issuer` (18).
    pub issuer: Option<String>,
    /// `invreq_chain` (80), written unless mainnet.
    pub network: Network,
    /// `invreq_amount` (82), msat.
    pub amount_msat: u64,
    /// `invreq_payer_id` (88).
    pub payer_id: PublicKey,
}

impl NewInvreq {
    /// The unsigned TLV stream, records in type order.
    pub fn unsigned(&self) -> Vec<u8> {
        let mut out = Vec::new();
        put_record(&mut out, 0, &self.metadata);
        put_record(&mut out, 10, self.description.as_bytes());
        if let Some(e) = self.absolute_expiry {
            put_record(&mut out, 14, &tu64(e));
        }
        if let Some(i) = &self.issuer {
            put_record(&mut out, 18, i.as_bytes());
        }
        if self.network != Network::Bitcoin {
            put_record(
                &mut out,
                80,
                &ChainHash::using_genesis_block(self.network).to_bytes(),
            );
        }
        put_record(&mut out, 82, &tu64(self.amount_msat));
        put_record(&mut out, 88, &self.payer_id.serialize());
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bigsize_follows_bolt1() {
        // BOLT 1 "BigSize encoding tests".
        for (v, hex_) in [
            (0u64, "00"),
            (252, "fc"),
            (253, "fd00fd"),
            (65535, "fdffff"),
            (65536, "fe00010000"),
            (4294967295, "feffffffff"),
            (4294967296, "ff0000000100000000"),
            (u64::MAX, "ffffffffffffffffff"),
        ] {
            let mut out = Vec::new();
            put_bigsize(&mut out, v);
            assert_eq!(hex::encode(&out), hex_);
            assert_eq!(read_bigsize(&out), Ok((v, out.len())));
        }
        for bad in ["fd00fc", "fe0000ffff", "ff00000000ffffffff", "fd00", ""] {
            assert!(read_bigsize(&hex::decode(bad).unwrap()).is_err(), "{bad}");
        }
    }

    #[test]
    fn merkle_root_matches_the_spec_vectors() {
        // bolts/12-offer-encoding.md, "Merkle tree" test vectors (bolt12/merkle-test.json):
        // one record, two, and three.
        let one = hex::decode("010203e8").unwrap();
        assert_eq!(
            hex::encode(merkle_root(&one).unwrap()),
            "b013756c8fee86503a0b4abdab4cddeb1af5d344ca6fc2fa8b6c08938caa6f93"
        );
        let two = hex::decode("010203e802080000010000020003").unwrap();
        assert_eq!(
            hex::encode(merkle_root(&two).unwrap()),
            "c3774abbf4815aa54ccaa026bff6581f01f3be5fe814c620a252534f434bc0d1"
        );
        let three = hex::decode(
            "010203e802080000010000020003\
             03310266e4598d1d3c415f572a8488830b60f7e744ed9235eb0b1ba93283b315c0351800000000000000010000000000000002",
        )
        .unwrap();
        assert_eq!(
            hex::encode(merkle_root(&three).unwrap()),
            "ab2e79b1283b0b31e0b035258de23782df6b89a38cfa7237bde69aed1a658c5d"
        );
    }

    #[test]
    fn the_specs_invoice_request_has_the_specs_root_and_digest() {
        // signature-test.json's last vector: an invoice_request answering an offer.
        let text = "lnr1qqyqqqqqqqqqqqqqqcp4256ypqqkgzshgysy6ct5dpjk6ct5d93kzmpq23ex2ct5d9ek293pqthvwfzadd7jejes8q9lhc4rvjxd022zv5l44g6qah82ru5rdpnpjkppqvjx204vgdzgsqpvcp4mldl3plscny0rt707gvpdh6ndydfacz43euzqhrurageg3n7kafgsek6gz3e9w52parv8gs2hlxzk95tzeswywffxlkeyhml0hh46kndmwf4m6xma3tkq2lu04qz3slje2rfthc89vss";
        let (hrp, bytes) = from_bech32(text).unwrap();
        assert_eq!(hrp, "lnr");
        let root = merkle_root(&bytes).unwrap();
        assert_eq!(
            hex::encode(root),
            "608407c18ad9a94d9ea2bcdbe170b6c20c462a7833a197621c916f78cf18e624"
        );
        assert_eq!(
            hex::encode(signature_digest("invoice_request", "signature", root)),
            "aefe3aa88a69772c246dcaef75ed3e7566c08ecc4e9f995233526a5651fc34cd"
        );
        assert_eq!(to_bech32("lnr", &bytes), text);
    }

    #[test]
    fn strings_round_trip_and_refuse_checksummed_or_mixed_case() {
        let s = to_bech32("lnr", &[1, 2, 3, 250]);
        assert!(s.starts_with("lnr1"));
        assert_eq!(from_bech32(&s).unwrap(), ("lnr".into(), vec![1, 2, 3, 250]));
        let mixed = format!("LNR1{}", &s[4..].to_uppercase()[..1]) + &s[5..];
        assert!(from_bech32(&mixed).is_err());
        assert!(records(&[1, 5, 0]).is_err(), "length past the end");
        assert!(records(&[2, 0, 1, 0]).is_err(), "descending types");
    }
}
