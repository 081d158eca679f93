//! Readers for the structured BOLT12 field values shared by offers and invoice requests:
//! blinded paths (BOLT 4), feature bitmaps, chain hashes and the BIP 353 name.

use super::{Bolt12Error, PublicKey};

/// Length of a `chain_hash`.
const CHAIN_HASH_LEN: usize = 32;
/// Length of a compressed secp256k1 `point`.
const POINT_LEN: usize = 33;

/// Reads a `point` (33-byte compressed secp256k1 public key) that must lie on the curve.
fn point(bytes: &[u8]) -> Option<PublicKey> {
    PublicKey::from_slice(bytes).ok()
}

/// Splits `n` bytes off the front of `rest`.
fn take<'a>(rest: &mut &'a [u8], n: usize) -> Option<&'a [u8]> {
    if rest.len() < n {
        return None;
    }
    let (head, tail) = rest.split_at(n);
    *rest = tail;
    Some(head)
}

/// Reads one `blinded_path` (BOLT 4) from the front of `rest`: `sciddir_or_pubkey`
/// first_node_id, `point` first_path_key, `byte` num_hops, then num_hops `onionmsg_hop`s
/// (`point` blinded_node_id, `u16` enclen, enclen bytes).
fn blinded_path(rest: &mut &[u8], field: &'static str) -> Result<(), Bolt12Error> {
    let bad = || Bolt12Error::InvalidPaths(field);
    // sciddir_or_pubkey: 0 or 1 then a short_channel_id (8 bytes); 2 or 3 a point.
    match rest.first() {
        Some(0 | 1) => {
            take(rest, 9).ok_or_else(bad)?;
        }
        Some(2 | 3) => {
            point(take(rest, POINT_LEN).ok_or_else(bad)?).ok_or_else(bad)?;
        }
        _ => return Err(bad()),
    }
    point(take(rest, POINT_LEN).ok_or_else(bad)?).ok_or_else(bad)?;
    let num_hops = take(rest, 1).ok_or_else(bad)?[0];
    // BOLT 12: "if `num_hops` is 0 in any `blinded_path` … MUST reject".
    if num_hops == 0 {
        return Err(Bolt12Error::EmptyBlindedPath(field));
    }
    for _ in 0..num_hops {
        point(take(rest, POINT_LEN).ok_or_else(bad)?).ok_or_else(bad)?;
        let len = take(rest, 2).ok_or_else(bad)?;
        let enclen = usize::from(u16::from_be_bytes([len[0], len[1]]));
        take(rest, enclen).ok_or_else(bad)?;
    }
    Ok(())
}

/// Reads a `...*blinded_path` value (`offer_paths`, `invreq_paths`) and returns how many paths
/// it holds.
///
/// # Errors
/// [`Bolt12Error::InvalidPaths`] for a truncated or malformed path or an invalid point,
/// [`Bolt12Error::EmptyBlindedPath`] for a path with `num_hops` 0.
pub fn blinded_paths(value: &[u8], field: &'static str) -> Result<usize, Bolt12Error> {
    let mut rest = value;
    let mut n = 0;
    while !rest.is_empty() {
        blinded_path(&mut rest, field)?;
        n += 1;
    }
    Ok(n)
}

/// Whether a BOLT 9 feature bitmap sets an even (required) bit; no offer or invoice_request
/// feature is defined yet, so every set even bit is unknown. Bits count from the least
/// significant bit of the last byte, so even bits are 0, 2, 4, 6 of every byte.
pub fn requires_unknown_feature(bits: &[u8]) -> bool {
    bits.iter().any(|b| b & 0x55 != 0)
}

/// Reads a `...*chain_hash` value (`offer_chains`).
///
/// # Errors
/// [`Bolt12Error::InvalidField`] when the length is not a multiple of 32.
pub fn chain_hashes(value: &[u8], field: &'static str) -> Result<Vec<[u8; 32]>, Bolt12Error> {
    if !value.len().is_multiple_of(CHAIN_HASH_LEN) {
        return Err(Bolt12Error::InvalidField(field));
    }
    Ok(value
        .chunks_exact(CHAIN_HASH_LEN)
        .map(|c| <[u8; 32]>::try_from(c).expect("chunks of 32"))
        .collect())
}

/// Reads `invreq_bip_353_name`: `u8` name_len, name, `u8` domain_len, domain, nothing after.
///
/// # Errors
/// [`Bolt12Error::InvalidField`] when the lengths do not match the value, or when name or
/// domain holds a byte other than `0`-`9`, `a`-`z`, `A`-`Z`, `-`, `_` or `.` (BOLT 12: "MUST
/// reject").
pub fn bip_353_name(value: &[u8]) -> Result<(String, String), Bolt12Error> {
    const FIELD: &str = "invreq_bip_353_name";
    let bad = || Bolt12Error::InvalidField(FIELD);
    let mut rest = value;
    let mut part = || -> Result<String, Bolt12Error> {
        let len = usize::from(take(&mut rest, 1).ok_or_else(bad)?[0]);
        let bytes = take(&mut rest, len).ok_or_else(bad)?;
        if !bytes
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
        {
            return Err(bad());
        }
        Ok(String::from_utf8(bytes.to_vec()).expect("ASCII"))
    };
    let name = part()?;
    let domain = part()?;
    if !rest.is_empty() {
        return Err(bad());
    }
    Ok((name, domain))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(num_hops: u8) -> Vec<u8> {
        let g = PublicKey::from_slice(
            &hex::decode("0279be667ef9dcbbac55a06295ce870b07029bfcdb2dce28d959f2815b16f81798")
                .unwrap(),
        )
        .unwrap()
        .serialize();
        let mut p = g.to_vec();
        p.extend_from_slice(&g);
        p.push(num_hops);
        for _ in 0..num_hops {
            p.extend_from_slice(&g);
            p.extend_from_slice(&[0, 2, 7, 7]);
        }
        p
    }

    #[test]
    fn blinded_paths_are_read_whole() {
        assert_eq!(blinded_paths(&path(1), "p"), Ok(1));
        let two = [path(2), path(1)].concat();
        assert_eq!(blinded_paths(&two, "p"), Ok(2));
        assert_eq!(
            blinded_paths(&[path(1), path(0)].concat(), "p"),
            Err(Bolt12Error::EmptyBlindedPath("p"))
        );
        let p = path(1);
        assert_eq!(
            blinded_paths(&p[..p.len() - 1], "p"),
            Err(Bolt12Error::InvalidPaths("p"))
        );
        let mut bad_point = path(1);
        bad_point[33] = 0x05; // the path_key's prefix byte
        assert_eq!(
            blinded_paths(&bad_point, "p"),
            Err(Bolt12Error::InvalidPaths("p"))
        );
        // A short_channel_id first node: 1 direction byte + 8 bytes.
        let mut scid = vec![1u8; 9];
        scid[0] = 0;
        scid.extend_from_slice(&path(1)[33..]);
        assert_eq!(blinded_paths(&scid, "p"), Ok(1));
        assert_eq!(blinded_paths(&[], "p"), Ok(0));
    }

    #[test]
    fn bip_353_names() {
        let v = [&[4u8][..], b"user", &[11], b"example.com"].concat();
        assert_eq!(bip_353_name(&v), Ok(("user".into(), "example.com".into())));
        let bad = [&[4u8][..], b"us r", &[1], b"x"].concat();
        assert!(bip_353_name(&bad).is_err());
        assert!(bip_353_name(&v[..v.len() - 1]).is_err());
        assert!(bip_353_name(&[v.clone(), vec![0]].concat()).is_err());
    }

    #[test]
    fn features_and_chains() {
        assert!(!requires_unknown_feature(&[0x02, 0xaa]));
        assert!(requires_unknown_feature(&[0x01]));
        assert!(requires_unknown_feature(&[0x04, 0x00]));
        assert_eq!(chain_hashes(&[0; 64], "c").unwrap().len(), 2);
        assert!(chain_hashes(&[0; 33], "c").is_err());
    }
}
