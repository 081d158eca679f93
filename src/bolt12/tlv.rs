//! TLV streams as used by BOLT12: BigSize types and lengths, `tu64` values and
//! strictly ascending record types.

use super::Bolt12Error;

/// One TLV record borrowed from a stream.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TlvRecord<'a> {
    /// The record type.
    pub typ: u64,
    /// The value bytes (after type and length).
    pub value: &'a [u8],
    /// The whole record: type ‖ length ‖ value.
    pub raw: &'a [u8],
}

/// Reads a minimally encoded BigSize from the front of `bytes`; returns the value and its size.
pub fn read_bigsize(bytes: &[u8]) -> Result<(u64, usize), Bolt12Error> {
    let first = *bytes.first().ok_or(Bolt12Error::Truncated)?;
    let (value, len, min) = match first {
        0..=0xfc => return Ok((u64::from(first), 1)),
        0xfd => (read_be(bytes, 2)?, 3, 0xfd),
        0xfe => (read_be(bytes, 4)?, 5, 0x1_0000),
        0xff => (read_be(bytes, 8)?, 9, 0x1_0000_0000),
    };
    if value < min {
        return Err(Bolt12Error::NonCanonicalBigSize);
    }
    Ok((value, len))
}

#[inline]
fn read_be(bytes: &[u8], n: usize) -> Result<u64, Bolt12Error> {
    let body = bytes.get(1..1 + n).ok_or(Bolt12Error::Truncated)?;
    Ok(body.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

/// Appends `v` as a BigSize.
pub fn write_bigsize(out: &mut Vec<u8>, v: u64) {
    let (buf, n) = encode_bigsize(v);
    out.extend_from_slice(&buf[..n]);
}

/// `v` as a BigSize in a stack buffer: the buffer and the number of bytes used.
#[inline]
pub fn encode_bigsize(v: u64) -> ([u8; 9], usize) {
    let mut buf = [0u8; 9];
    let n = match v {
        0..=0xfc => {
            buf[0] = v as u8;
            1
        }
        0xfd..=0xffff => {
            buf[0] = 0xfd;
            buf[1..3].copy_from_slice(&(v as u16).to_be_bytes());
            3
        }
        0x1_0000..=0xffff_ffff => {
            buf[0] = 0xfe;
            buf[1..5].copy_from_slice(&(v as u32).to_be_bytes());
            5
        }
        _ => {
            buf[0] = 0xff;
            buf[1..9].copy_from_slice(&v.to_be_bytes());
            9
        }
    };
    (buf, n)
}

/// Number of bytes `v` takes as a BigSize.
pub fn bigsize_len(v: u64) -> usize {
    match v {
        0..=0xfc => 1,
        0xfd..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}

/// `v` as a truncated u64: big-endian with leading zero bytes dropped (0 is empty).
pub fn tu64(v: u64) -> Vec<u8> {
    let bytes = v.to_be_bytes();
    let skip = (v.leading_zeros() / 8) as usize;
    bytes[skip..].to_vec()
}

/// Parses a minimally encoded tu64 value; `field` names it in errors.
pub fn read_tu64(value: &[u8], field: &'static str) -> Result<u64, Bolt12Error> {
    if value.len() > 8 || value.first() == Some(&0) {
        return Err(Bolt12Error::InvalidField(field));
    }
    Ok(value.iter().fold(0u64, |acc, &b| (acc << 8) | u64::from(b)))
}

/// Appends one TLV record.
pub fn write_record(out: &mut Vec<u8>, typ: u64, value: &[u8]) {
    write_bigsize(out, typ);
    write_bigsize(out, value.len() as u64);
    out.extend_from_slice(value);
}

/// Iterator over the records of a stream; yields an error (then stops) on malformed input.
#[derive(Debug, Clone)]
pub struct TlvIter<'a> {
    bytes: &'a [u8],
    pos: usize,
    last: Option<u64>,
    failed: bool,
}

impl<'a> TlvIter<'a> {
    /// Iterates over `bytes`, checking truncation and strictly ascending types.
    pub fn new(bytes: &'a [u8]) -> Self {
        Self {
            bytes,
            pos: 0,
            last: None,
            failed: false,
        }
    }

    fn next_record(&mut self) -> Result<TlvRecord<'a>, Bolt12Error> {
        let start = self.pos;
        let rest = &self.bytes[start..];
        let (typ, tl) = read_bigsize(rest)?;
        if self.last.is_some_and(|last| typ <= last) {
            return Err(Bolt12Error::NotAscending(typ));
        }
        let (len, ll) = read_bigsize(&rest[tl..])?;
        let hdr = tl + ll;
        let end = usize::try_from(len)
            .ok()
            .and_then(|l| hdr.checked_add(l))
            .filter(|&e| e <= rest.len())
            .ok_or(Bolt12Error::Truncated)?;
        self.last = Some(typ);
        self.pos = start + end;
        Ok(TlvRecord {
            typ,
            value: &rest[hdr..end],
            raw: &rest[..end],
        })
    }
}

impl<'a> Iterator for TlvIter<'a> {
    type Item = Result<TlvRecord<'a>, Bolt12Error>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.failed || self.pos >= self.bytes.len() {
            return None;
        }
        let r = self.next_record();
        self.failed = r.is_err();
        Some(r)
    }
}

/// Parses a whole TLV stream (truncation, canonical BigSize and ascending-type checks).
pub fn parse_stream(bytes: &[u8]) -> Result<Vec<TlvRecord<'_>>, Bolt12Error> {
    TlvIter::new(bytes).collect()
}

/// Per-message rules for [`check_stream`].
#[derive(Debug, Clone, Copy)]
pub struct StreamRules<'r> {
    /// Inclusive type ranges a record may use.
    pub ranges: &'r [(u64, u64)],
    /// Even types the message understands (any other even type is rejected).
    pub known_even: &'r [u64],
    /// Types whose value must be UTF-8, with their field names.
    pub utf8: &'r [(u64, &'static str)],
}

/// Generic BOLT12 record checks shared by every message type: syntax (via [`parse_stream`]),
/// allowed type ranges, UTF-8 for text fields and rejection of unknown even types.
pub fn check_stream<'a>(
    bytes: &'a [u8],
    rules: &StreamRules<'_>,
) -> Result<Vec<TlvRecord<'a>>, Bolt12Error> {
    let records = parse_stream(bytes)?;
    for r in &records {
        if !rules
            .ranges
            .iter()
            .any(|&(lo, hi)| (lo..=hi).contains(&r.typ))
        {
            return Err(Bolt12Error::OutOfRange(r.typ));
        }
        if let Some((_, name)) = rules.utf8.iter().find(|(t, _)| *t == r.typ) {
            std::str::from_utf8(r.value).map_err(|_| Bolt12Error::InvalidUtf8(name))?;
        }
        if r.typ % 2 == 0 && !rules.known_even.contains(&r.typ) {
            return Err(Bolt12Error::UnknownEvenType(r.typ));
        }
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bigsize_roundtrip_edges() {
        for v in [
            0u64,
            0xfc,
            0xfd,
            0xffff,
            0x1_0000,
            0xffff_ffff,
            0x1_0000_0000,
            u64::MAX,
        ] {
            let mut out = Vec::new();
            write_bigsize(&mut out, v);
            assert_eq!(out.len(), bigsize_len(v));
            assert_eq!(read_bigsize(&out).unwrap(), (v, out.len()));
        }
    }

    #[test]
    fn bigsize_rejects_non_canonical_and_truncated() {
        assert_eq!(
            read_bigsize(&[0xfd, 0x00, 0xfc]),
            Err(Bolt12Error::NonCanonicalBigSize)
        );
        assert_eq!(
            read_bigsize(&[0xfe, 0x00, 0x00, 0xff, 0xff]),
            Err(Bolt12Error::NonCanonicalBigSize)
        );
        assert_eq!(
            read_bigsize(&[0xff, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]),
            Err(Bolt12Error::NonCanonicalBigSize)
        );
        assert_eq!(read_bigsize(&[]), Err(Bolt12Error::Truncated));
        assert_eq!(read_bigsize(&[0xfd, 0x01]), Err(Bolt12Error::Truncated));
        assert_eq!(read_bigsize(&[0xff, 1, 2, 3]), Err(Bolt12Error::Truncated));
    }

    #[test]
    fn tu64_edges() {
        assert_eq!(tu64(0), Vec::<u8>::new());
        assert_eq!(tu64(1), vec![1]);
        assert_eq!(tu64(0x100), vec![1, 0]);
        assert_eq!(tu64(10_000_000), vec![0x98, 0x96, 0x80]);
        assert_eq!(tu64(u64::MAX), vec![0xff; 8]);
        for v in [0u64, 1, 255, 256, 10_000_000, u64::MAX] {
            assert_eq!(read_tu64(&tu64(v), "x").unwrap(), v);
        }
        assert!(read_tu64(&[0, 1], "x").is_err());
        assert!(read_tu64(&[1; 9], "x").is_err());
    }

    #[test]
    fn stream_checks() {
        let mut s = Vec::new();
        write_record(&mut s, 1, &[1]);
        write_record(&mut s, 3, &[]);
        let recs = parse_stream(&s).unwrap();
        assert_eq!(recs.len(), 2);
        assert_eq!(recs[0].raw, &[1, 1, 1]);
        assert_eq!(recs[1].typ, 3);

        let mut dup = s.clone();
        write_record(&mut dup, 3, &[]);
        assert_eq!(parse_stream(&dup), Err(Bolt12Error::NotAscending(3)));

        let mut trunc = s.clone();
        trunc.extend_from_slice(&[5, 2, 0]);
        assert_eq!(parse_stream(&trunc), Err(Bolt12Error::Truncated));
        assert_eq!(parse_stream(&[5]), Err(Bolt12Error::Truncated));
        assert!(parse_stream(&[]).unwrap().is_empty());
    }
}
