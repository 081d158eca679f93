//! BOLT12 Merkle root, BIP340 tagged hashes and signature hashes.
//!
//! Leaves are `H("LnLeaf", record)` paired with `H("LnNonce"‖first_record, type)`, combined with
//! `H("LnBranch", min‖max)`; odd nodes are carried up a level unchanged. Signature records
//! (types 240–1000) are excluded.

use std::sync::LazyLock;

use sha2::{Digest, Sha256};

use super::Bolt12Error;
use super::tlv::{TlvIter, TlvRecord, encode_bigsize};

/// A SHA256 state that has already absorbed `SHA256(tag) ‖ SHA256(tag)` (one full block).
fn tag_midstate(tag: &[u8]) -> Sha256 {
    let t = Sha256::digest(tag);
    let mut h = Sha256::new();
    h.update(t);
    h.update(t);
    h
}

static LEAF: LazyLock<Sha256> = LazyLock::new(|| tag_midstate(b"LnLeaf"));
static BRANCH: LazyLock<Sha256> = LazyLock::new(|| tag_midstate(b"LnBranch"));
static INVREQ_SIG: LazyLock<Sha256> =
    LazyLock::new(|| tag_midstate(b"lightninginvoice_requestsignature"));
static INVOICE_SIG: LazyLock<Sha256> = LazyLock::new(|| tag_midstate(b"lightninginvoicesignature"));

/// BIP340 tagged hash: `SHA256(SHA256(tag) ‖ SHA256(tag) ‖ msg)`.
pub fn tagged_hash(tag: &[u8], msg: &[u8]) -> [u8; 32] {
    let mut h = tag_midstate(tag);
    h.update(msg);
    h.finalize().into()
}

/// Signature hash `H("lightning" ‖ messagename ‖ fieldname, root)`.
pub fn sighash(messagename: &str, fieldname: &str, root: [u8; 32]) -> [u8; 32] {
    let mut h = match (messagename, fieldname) {
        ("invoice_request", "signature") => INVREQ_SIG.clone(),
        ("invoice", "signature") => INVOICE_SIG.clone(),
        _ => {
            let mut tag = Vec::with_capacity(9 + messagename.len() + fieldname.len());
            tag.extend_from_slice(b"lightning");
            tag.extend_from_slice(messagename.as_bytes());
            tag.extend_from_slice(fieldname.as_bytes());
            tag_midstate(&tag)
        }
    };
    h.update(root);
    h.finalize().into()
}

/// Whether `typ` is a signature TLV type (240–1000), excluded from the Merkle tree.
#[inline]
pub fn is_signature_type(typ: u64) -> bool {
    (240..=1000).contains(&typ)
}

#[inline]
fn branch(a: &[u8; 32], b: &[u8; 32]) -> [u8; 32] {
    let (lo, hi) = if a <= b { (a, b) } else { (b, a) };
    let mut h = BRANCH.clone();
    h.update(lo);
    h.update(hi);
    h.finalize().into()
}

/// Incremental Merkle tree builder: feed non-signature records in order, then [`finish`].
///
/// Uses a binary-counter stack (no heap allocation); because branches sort their children this
/// yields the same tree as the level-by-level construction with odd nodes carried up.
///
/// [`finish`]: MerkleBuilder::finish
pub struct MerkleBuilder {
    nonce: Option<Sha256>,
    stack: [[u8; 32]; 65],
    levels: [u8; 65],
    len: usize,
}

impl Default for MerkleBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl MerkleBuilder {
    /// An empty builder.
    pub fn new() -> Self {
        Self {
            nonce: None,
            stack: [[0; 32]; 65],
            levels: [0; 65],
            len: 0,
        }
    }

    /// Adds one record (the caller skips signature records).
    pub fn push(&mut self, rec: &TlvRecord<'_>) {
        let nonce_state = self.nonce.get_or_insert_with(|| {
            let mut t = Sha256::new();
            t.update(b"LnNonce");
            t.update(rec.raw);
            let t = t.finalize();
            let mut h = Sha256::new();
            h.update(t);
            h.update(t);
            h
        });
        let mut nh = nonce_state.clone();
        let (ty, tl) = encode_bigsize(rec.typ);
        nh.update(&ty[..tl]);
        let nonce: [u8; 32] = nh.finalize().into();
        let mut lh = LEAF.clone();
        lh.update(rec.raw);
        let leaf: [u8; 32] = lh.finalize().into();

        let mut node = branch(&leaf, &nonce);
        let mut level = 0u8;
        while self.len > 0 && self.levels[self.len - 1] == level {
            self.len -= 1;
            node = branch(&self.stack[self.len], &node);
            level += 1;
        }
        self.stack[self.len] = node;
        self.levels[self.len] = level;
        self.len += 1;
    }

    /// The Merkle root, or `None` when no record was pushed.
    pub fn finish(mut self) -> Option<[u8; 32]> {
        if self.len == 0 {
            return None;
        }
        while self.len > 1 {
            self.len -= 1;
            let top = self.stack[self.len];
            self.stack[self.len - 1] = branch(&self.stack[self.len - 1], &top);
        }
        Some(self.stack[0])
    }
}

/// Merkle root of a TLV stream (signature records 240–1000 excluded).
pub fn root(stream_bytes: &[u8]) -> Result<[u8; 32], Bolt12Error> {
    let mut b = MerkleBuilder::new();
    for rec in TlvIter::new(stream_bytes) {
        let rec = rec?;
        if !is_signature_type(rec.typ) {
            b.push(&rec);
        }
    }
    b.finish().ok_or(Bolt12Error::Truncated)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bolt12::tlv::{parse_stream, write_bigsize, write_record};

    /// Straightforward level-by-level construction, as the spec describes it.
    fn naive_root(bytes: &[u8]) -> [u8; 32] {
        let recs = parse_stream(bytes).unwrap();
        let mut tag = b"LnNonce".to_vec();
        tag.extend_from_slice(recs[0].raw);
        let mut nodes: Vec<[u8; 32]> = recs
            .iter()
            .map(|r| {
                let mut t = Vec::new();
                write_bigsize(&mut t, r.typ);
                branch(&tagged_hash(b"LnLeaf", r.raw), &tagged_hash(&tag, &t))
            })
            .collect();
        while nodes.len() > 1 {
            nodes = nodes
                .chunks(2)
                .map(|c| {
                    if c.len() == 2 {
                        branch(&c[0], &c[1])
                    } else {
                        c[0]
                    }
                })
                .collect();
        }
        nodes[0]
    }

    #[test]
    fn incremental_matches_naive() {
        for n in 1..=40u64 {
            let mut s = Vec::new();
            for t in 0..n {
                write_record(&mut s, t * 3 + 1, &t.to_be_bytes());
            }
            assert_eq!(root(&s).unwrap(), naive_root(&s), "n = {n}");
        }
    }

    #[test]
    fn cached_tags_match() {
        let r = [7u8; 32];
        let mut t = b"lightninginvoice_requestsignature".to_vec();
        assert_eq!(
            sighash("invoice_request", "signature", r),
            tagged_hash(&t, &r)
        );
        t = b"lightninginvoicesignature".to_vec();
        assert_eq!(sighash("invoice", "signature", r), tagged_hash(&t, &r));
        t = b"lightningfoobar".to_vec();
        assert_eq!(sighash("foo", "bar", r), tagged_hash(&t, &r));
    }
}
