//! The node's state and its RPC methods, following notes/cln-api.md and notes/cln-live.md.

use std::collections::BTreeMap;

use lightning::bitcoin::Network;
use lightning::bitcoin::constants::ChainHash;
use lightning::bitcoin::secp256k1::{Keypair, Message, PublicKey, Scalar};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::codec::{
    NewInvreq, from_bech32, invreq_id as invreq_id_of, is_signature_type, merkle_root, put_record,
    read_tu64, records, secp, signature_digest, to_bech32,
};
use crate::payee::{InvoiceTerms, invoice_for};
use crate::rpc::{
    INVALID_PARAMS, LIGHTNINGD, OFFER_ALREADY_DISABLED, PAY_INVOICE_REQUEST_INVALID, RpcError,
};

/// Which name `createinvoicerequest` gives its label parameter: the service's own type, so the
/// double and the client agree on the names.
pub use invreqd::node::cln_rest::LabelParam;

/// One stored invoice request (CLN's `invoicerequests` table row).
#[derive(Debug, Clone)]
pub struct StoredInvreq {
    /// The signed `lnr1…` string.
    pub bolt12: String,
    /// Its signed TLV bytes.
    pub bytes: Vec<u8>,
    /// The DB label.
    pub label: Option<String>,
    /// Single-use flag.
    pub single_use: bool,
    /// Still accepts invoices.
    pub active: bool,
    /// Paid at least once.
    pub used: bool,
    /// `invreq_amount`, msat.
    pub amount_msat: Option<u64>,
}

/// One `listsendpays` entry: one part of a payment (CLN keeps a row per part; xpay numbers the
/// parts of one attempt `partid` 1, 2, … under one `groupid`, and a failed part and its retry
/// share the payment hash).
#[derive(Debug, Clone)]
pub struct Sendpay {
    /// `created_index`.
    pub created_index: u64,
    /// `groupid`: one per payment attempt of a hash.
    pub groupid: u64,
    /// `partid`: the part within its group.
    pub partid: u64,
    /// `updated_index`, once its status changed.
    pub updated_index: Option<u64>,
    /// Hex payment hash.
    pub payment_hash: String,
    /// Hex preimage (revealed when complete).
    pub preimage: String,
    /// `pending`, `complete` or `failed`.
    pub status: &'static str,
    /// What this part delivers.
    pub amount_msat: u64,
    /// What this part sent (with fees).
    pub amount_sent_msat: u64,
    /// Seconds since 1970.
    pub created_at: u64,
    /// Seconds since 1970.
    pub completed_at: Option<u64>,
    /// The `lni1…` invoice.
    pub bolt12: String,
    /// The payee's node id.
    pub destination: String,
    /// The invoice request it pays (CLN's hidden `local_invreq_id`).
    pub invreq_id: String,
}

/// Why a simulated payment was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PayError {
    /// The payer's offers plugin refused the invoice (sent back as `invoice_error`).
    #[error("{0}")]
    Refused(String),
    /// lightningd's `check_invoice_request_usage` refused the payment (212).
    #[error("{}", .0.message)]
    Rpc(RpcError),
}

/// The node: keys, network, stored invoice requests and payments.
pub struct NodeState {
    pub(crate) keypair: Keypair,
    alias_base: [u8; 32],
    pub(crate) network: Network,
    pub(crate) version: String,
    pub(crate) label_param: LabelParam,
    pub(crate) invreqs: BTreeMap<String, StoredInvreq>,
    pub(crate) sendpays: Vec<Sendpay>,
    pub(crate) created: u64,
    pub(crate) updated: u64,
    payee: Keypair,
    /// `invoicerequest` adds a blinded path and uses an alias payer key (an unannounced node).
    pub(crate) blinded_paths: bool,
    /// Why the node aborted (`fatal()`), once it did: every later call fails.
    pub(crate) crashed: Option<String>,
}

fn now() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

fn random32() -> [u8; 32] {
    rand::random()
}

fn random_keypair() -> Keypair {
    loop {
        if let Ok(sk) = lightning::bitcoin::secp256k1::SecretKey::from_slice(&random32()) {
            return Keypair::from_secret_key(secp(), &sk);
        }
    }
}

fn network_name(n: Network) -> &'static str {
    match n {
        Network::Bitcoin => "bitcoin",
        Network::Testnet => "testnet",
        Network::Testnet4 => "testnet4",
        Network::Signet => "signet",
        _ => "regtest",
    }
}

/// The parameters object (clnrest passes only objects).
type Params = Map<String, Value>;

fn reject_unknown(params: &Params, known: &[&str]) -> Result<(), RpcError> {
    match params.keys().find(|k| !known.contains(&k.as_str())) {
        Some(k) => Err(RpcError::new(
            INVALID_PARAMS,
            format!(
                "unknown parameter: {k}, this may be caused by a failure to autodetect key=value-style \
                 parameters. Please try using the -k flag and explicit key=value pairs of parameters."
            ),
        )),
        None => Ok(()),
    }
}

fn required<'a>(params: &'a Params, name: &str) -> Result<&'a Value, RpcError> {
    params.get(name).ok_or_else(|| {
        RpcError::new(
            INVALID_PARAMS,
            format!("missing required parameter: {name}"),
        )
    })
}

fn opt_bool(params: &Params, name: &str, default: bool) -> Result<bool, RpcError> {
    match params.get(name) {
        None => Ok(default),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(RpcError::bad_param(name, "should be 'true' or 'false'")),
    }
}

fn opt_string(params: &Params, name: &str) -> Result<Option<String>, RpcError> {
    match params.get(name) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(RpcError::bad_param(
            name,
            "should be a string (without \\u)",
        )),
    }
}

fn opt_u64(params: &Params, name: &str) -> Result<Option<u64>, RpcError> {
    match params.get(name) {
        None => Ok(None),
        Some(Value::Number(n)) => n
            .as_u64()
            .map(Some)
            .ok_or_else(|| RpcError::bad_param(name, "should be an unsigned 64 bit integer")),
        Some(Value::String(s)) => s
            .parse()
            .map(Some)
            .map_err(|_| RpcError::bad_param(name, "should be an unsigned 64 bit integer")),
        Some(_) => Err(RpcError::bad_param(
            name,
            "should be an unsigned 64 bit integer",
        )),
    }
}

fn invreq_id_param(v: &Value, name: &str) -> Result<String, RpcError> {
    v.as_str()
        .filter(|s| s.len() == 64 && s.bytes().all(|b| b.is_ascii_hexdigit()))
        .map(str::to_ascii_lowercase)
        .ok_or_else(|| RpcError::bad_param(name, "should be a 32 byte hex value"))
}

/// CLN's `param_msat`: a number, or `<n>`, `<n>msat`, `<n>sat` (prefix-matched suffixes).
fn parse_msat(v: &Value) -> Result<u64, RpcError> {
    let bad = || RpcError::bad_param("amount", "should be a millisatoshi amount");
    if let Some(n) = v.as_u64() {
        return Ok(n);
    }
    let s = v.as_str().ok_or_else(bad)?;
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let (n, rest) = s.split_at(digits);
    let n: u64 = n.parse().map_err(|_| bad())?;
    if rest.is_empty() || rest.starts_with("msat") {
        Ok(n)
    } else if rest.starts_with("sat") {
        n.checked_mul(1000).ok_or_else(bad)
    } else {
        Err(bad())
    }
}

impl NodeState {
    /// A fresh node with random keys.
    pub fn new(network: Network, version: String, label_param: LabelParam) -> Self {
        Self {
            keypair: random_keypair(),
            alias_base: random32(),
            network,
            version,
            label_param,
            invreqs: BTreeMap::new(),
            sendpays: Vec::new(),
            created: 0,
            updated: 0,
            payee: random_keypair(),
            blinded_paths: false,
            crashed: None,
        }
    }

    /// The node id.
    pub fn id(&self) -> PublicKey {
        self.keypair.public_key()
    }

    /// The counter of a `wait` index.
    pub fn index(&self, name: &str) -> u64 {
        match name {
            "created" => self.created,
            "updated" => self.updated,
            _ => 0,
        }
    }

    /// Runs one RPC method.
    pub fn call(&mut self, method: &str, params: &Params) -> Result<Value, RpcError> {
        match method {
            "getinfo" => self.getinfo(params),
            "createinvoicerequest" => self.createinvoicerequest(params),
            "invoicerequest" => self.invoicerequest(params),
            "listinvoicerequests" => self.listinvoicerequests(params),
            "disableinvoicerequest" => self.disableinvoicerequest(params),
            "listsendpays" => self.listsendpays(params),
            other => Err(RpcError::new(-32601, format!("Unknown command '{other}'"))),
        }
    }

    fn getinfo(&self, params: &Params) -> Result<Value, RpcError> {
        reject_unknown(params, &[])?;
        let id = self.id().to_string();
        Ok(json!({
            "address": [], "alias": "CLNDOUBLE", "binding": [], "blockheight": 0,
            "color": &id[2..8], "fees_collected_msat": 0, "id": id,
            "lightning-dir": "/nonexistent/cln-double", "network": network_name(self.network),
            "num_active_channels": 0, "num_inactive_channels": 0, "num_peers": 0,
            "num_pending_channels": 0,
            "our_features": {"channel": "", "init": "800898880a8a59a1", "invoice": "02000002024100", "node": "808898880a8a59a1"},
            "version": self.version,
        }))
    }

    /// The alias key CLN would accept for `metadata` (and leaks in its error text).
    fn alias_key(&self, metadata: &[u8]) -> PublicKey {
        let mut h = Sha256::new();
        h.update(self.alias_base);
        h.update(metadata);
        let tweak = Scalar::from_be_bytes(h.finalize().into()).unwrap_or(Scalar::ONE);
        self.id()
            .add_exp_tweak(secp(), &tweak)
            .unwrap_or_else(|_| self.id())
    }

    /// The alias key pair for `metadata` (the secret behind [`Self::alias_key`]).
    fn alias_keypair(&self, metadata: &[u8]) -> Keypair {
        let mut h = Sha256::new();
        h.update(self.alias_base);
        h.update(metadata);
        let tweak = Scalar::from_be_bytes(h.finalize().into()).unwrap_or(Scalar::ONE);
        let sk = self
            .keypair
            .secret_key()
            .add_tweak(&tweak)
            .unwrap_or_else(|_| self.keypair.secret_key());
        Keypair::from_secret_key(secp(), &sk)
    }

    fn createinvoicerequest(&mut self, params: &Params) -> Result<Value, RpcError> {
        let label_name = self.label_param.name();
        reject_unknown(params, &["bolt12", "savetodb", "single_use", label_name])?;
        let text = required(params, "bolt12")?
            .as_str()
            .ok_or_else(|| RpcError::bad_param("bolt12", "should be a string"))?;
        let savetodb = match required(params, "savetodb")? {
            Value::Bool(b) => *b,
            _ => {
                return Err(RpcError::bad_param(
                    "savetodb",
                    "should be 'true' or 'false'",
                ));
            }
        };
        let single_use = opt_bool(params, "single_use", true)?;
        let label = opt_string(params, label_name)?;
        let unsigned = self.check_invreq(text)?;
        let signed = self.sign(&unsigned);
        let id = hex::encode(invreq_id_of(&signed));
        let bolt12 = to_bech32("lnr", &signed);
        if savetodb {
            if self.invreqs.contains_key(&id) {
                return Err(RpcError::new(
                    LIGHTNINGD,
                    "Could not create invoice_request!",
                ));
            }
            let amount_msat = amount_of(&signed);
            self.invreqs.insert(
                id.clone(),
                StoredInvreq {
                    bolt12: bolt12.clone(),
                    bytes: signed,
                    label: label.clone(),
                    single_use,
                    active: true,
                    used: false,
                    amount_msat,
                },
            );
        }
        Ok(invreq_json(
            &id,
            &bolt12,
            true,
            single_use,
            false,
            label.as_deref(),
        ))
    }

    /// `createinvoicerequest`'s checks on the string; returns its records without signatures.
    fn check_invreq(&self, text: &str) -> Result<Vec<u8>, RpcError> {
        let bad = |what: &str| RpcError::bad_param("bolt12", what);
        let (hrp, bytes) = from_bech32(text).map_err(|_| bad("invalid bech32 string"))?;
        if hrp != "lnr" {
            return Err(bad(&format!("unexpected prefix {hrp}")));
        }
        let mut unsigned = Vec::with_capacity(bytes.len());
        let (mut metadata, mut payer, mut chain) = (None, None, None);
        for rec in records(&bytes).map_err(|_| bad("invalid invoice_request"))? {
            match rec.typ {
                0 => metadata = Some(rec.value.to_vec()),
                80 => chain = Some(rec.value.to_vec()),
                88 => payer = Some(rec.value.to_vec()),
                _ => {}
            }
            if !is_signature_type(rec.typ) {
                unsigned.extend_from_slice(rec.raw);
            }
        }
        let genesis = ChainHash::using_genesis_block(self.network).to_bytes();
        let chain_ok = match &chain {
            Some(c) => c.as_slice() == genesis,
            None => self.network == Network::Bitcoin,
        };
        if !chain_ok {
            return Err(bad("wrong chain"));
        }
        let metadata = metadata.ok_or_else(|| bad("must have invreq_metadata"))?;
        let payer = payer.ok_or_else(|| bad("must have invreq_payer_id"))?;
        if payer != self.id().serialize() {
            return Err(RpcError::new(
                INVALID_PARAMS,
                format!(
                    "payer_id did not match invreq_metadata derivation {}",
                    self.alias_key(&metadata)
                ),
            ));
        }
        Ok(unsigned)
    }

    /// Appends the node's BIP340 signature record to an unsigned stream.
    fn sign(&self, unsigned: &[u8]) -> Vec<u8> {
        sign_with(unsigned, &self.keypair)
    }

    fn invoicerequest(&mut self, params: &Params) -> Result<Value, RpcError> {
        reject_unknown(
            params,
            &[
                "amount",
                "description",
                "issuer",
                "label",
                "absolute_expiry",
                "single_use",
            ],
        )?;
        let amount_msat = parse_msat(required(params, "amount")?)?;
        let description = opt_string(params, "description")?.unwrap_or_default();
        let issuer = opt_string(params, "issuer")?;
        let label = opt_string(params, "label")?;
        let absolute_expiry = opt_u64(params, "absolute_expiry")?;
        let single_use = opt_bool(params, "single_use", true)?;
        let mut metadata = [0u8; 16];
        metadata.copy_from_slice(&random32()[..16]);
        if amount_msat == 0 {
            return Err(RpcError::bad_param("amount", "must be positive"));
        }
        let mut fields = NewInvreq {
            metadata,
            description,
            absolute_expiry,
            issuer,
            network: self.network,
            amount_msat,
            payer_id: self.id(),
        };
        if self.blinded_paths {
            fields.payer_id = self.alias_keypair(&metadata).public_key();
        }
        let unsigned = fields.unsigned();
        let signed = if self.blinded_paths {
            // One blinded onion-message path [peer → us] (TLV 90 after 88), signed by the alias.
            let mut bytes = unsigned;
            put_record(&mut bytes, 90, &blinded_path());
            sign_with(&bytes, &self.alias_keypair(&metadata))
        } else {
            self.sign(&unsigned)
        };
        let id = hex::encode(invreq_id_of(&signed));
        let bolt12 = to_bech32("lnr", &signed);
        self.invreqs.insert(
            id.clone(),
            StoredInvreq {
                bolt12: bolt12.clone(),
                bytes: signed,
                label: label.clone(),
                single_use,
                active: true,
                used: false,
                amount_msat: Some(amount_msat),
            },
        );
        Ok(invreq_json(
            &id,
            &bolt12,
            true,
            single_use,
            false,
            label.as_deref(),
        ))
    }

    /// A validly signed invoice request that nobody asked for (not stored).
    pub fn foreign_invreq(&self) -> String {
        let unsigned = NewInvreq {
            metadata: [0x5a; 16],
            description: "not what was asked".into(),
            absolute_expiry: None,
            issuer: None,
            network: self.network,
            amount_msat: 1,
            payer_id: self.id(),
        }
        .unsigned();
        to_bech32("lnr", &self.sign(&unsigned))
    }

    fn listinvoicerequests(&self, params: &Params) -> Result<Value, RpcError> {
        reject_unknown(params, &["invreq_id", "active_only"])?;
        let id = params
            .get("invreq_id")
            .map(|v| invreq_id_param(v, "invreq_id"))
            .transpose()?;
        let active_only = opt_bool(params, "active_only", false)?;
        let rows: Vec<Value> = self
            .invreqs
            .iter()
            .filter(|(k, _)| id.as_ref().is_none_or(|id| id == *k))
            .filter(|(_, r)| !active_only || r.active)
            .map(|(k, r)| {
                invreq_json(
                    k,
                    &r.bolt12,
                    r.active,
                    r.single_use,
                    r.used,
                    r.label.as_deref(),
                )
            })
            .collect();
        Ok(json!({ "invoicerequests": rows }))
    }

    fn disableinvoicerequest(&mut self, params: &Params) -> Result<Value, RpcError> {
        reject_unknown(params, &["invreq_id"])?;
        let id = invreq_id_param(required(params, "invreq_id")?, "invreq_id")?;
        let r = self
            .invreqs
            .get_mut(&id)
            .ok_or_else(|| RpcError::new(LIGHTNINGD, "Unknown invoice_request"))?;
        if !r.active {
            return Err(RpcError::new(
                OFFER_ALREADY_DISABLED,
                "invoice_request is not active",
            ));
        }
        r.active = false;
        let answer = invreq_json(
            &id,
            &r.bolt12,
            false,
            r.single_use,
            r.used,
            r.label.as_deref(),
        );
        // CLN v26.06.6 accepts this and aborts when the payment completes, then on every
        // restart (notes/cln-e2e.md F1). The double trips at once, so that a test that gets
        // here fails even if it never completes the payment.
        if let Some(p) = self
            .sendpays
            .iter()
            .find(|p| p.invreq_id == id && p.status == "pending")
        {
            let why = format!(
                "disableinvoicerequest {id} while payment {} is in flight: lightningd would abort \
                 in wallet_invoice_request_mark_used when it completes (CLN v26.06.6)",
                p.payment_hash
            );
            self.crash(why);
            return Err(RpcError::new(LIGHTNINGD, "node crashed"));
        }
        Ok(answer)
    }

    /// lightningd `fatal()`: records why; every later call fails.
    fn crash(&mut self, why: String) {
        eprintln!("cln-double: **BROKEN** lightningd: {why}");
        if self.crashed.is_none() {
            self.crashed = Some(why);
        }
    }

    /// Why the node aborted, if it did.
    pub fn crashed(&self) -> Option<&str> {
        self.crashed.as_deref()
    }

    fn listsendpays(&self, params: &Params) -> Result<Value, RpcError> {
        reject_unknown(
            params,
            &[
                "bolt11",
                "payment_hash",
                "status",
                "index",
                "start",
                "limit",
            ],
        )?;
        let index = opt_string(params, "index")?;
        let start = opt_u64(params, "start")?;
        let limit = opt_u64(params, "limit")?;
        if index.is_none() && (start.is_some() || limit.is_some()) {
            return Err(RpcError::new(
                INVALID_PARAMS,
                "Can only specify {start} or {limit} with {index}",
            ));
        }
        let hash = opt_string(params, "payment_hash")?;
        let status = opt_string(params, "status")?;
        let mut rows: Vec<&Sendpay> = self
            .sendpays
            .iter()
            .filter(|p| hash.as_ref().is_none_or(|h| *h == p.payment_hash))
            .filter(|p| status.as_ref().is_none_or(|s| s == p.status))
            .collect();
        match index.as_deref() {
            None | Some("created") => {
                let start = start.unwrap_or(0);
                rows.retain(|p| p.created_index >= start);
                rows.sort_by_key(|p| p.created_index);
            }
            Some("updated") => {
                let start = start.unwrap_or(0);
                rows.retain(|p| p.updated_index.is_some_and(|u| u >= start));
                rows.sort_by_key(|p| p.updated_index);
            }
            Some(_) => {
                return Err(RpcError::bad_param(
                    "index",
                    "should be 'created' or 'updated'",
                ));
            }
        }
        if let Some(limit) = limit {
            rows.truncate(limit as usize);
        }
        Ok(json!({ "payments": rows.into_iter().map(sendpay_json).collect::<Vec<_>>() }))
    }

    /// The payee's `sendinvoice` for the sum of `parts` reaches us and xpay sends it in those
    /// parts (`(amount_msat, amount_sent_msat)` each): the offers plugin's checks, then
    /// lightningd's `check_invoice_request_usage` per part. A refused first part fails the
    /// payment; a refused later part (212 for a single-use request, F5) is returned beside the
    /// parts already in flight.
    pub fn start_split(
        &mut self,
        invreq_id: &str,
        parts: &[(u64, u64)],
    ) -> Result<(Vec<Sendpay>, Option<RpcError>), PayError> {
        self.alive()?;
        let id = invreq_id.to_ascii_lowercase();
        let total: u64 = parts.iter().map(|p| p.0).sum();
        let r = self
            .invreqs
            .get(&id)
            .ok_or_else(|| PayError::Refused(format!("Unknown invoice_request {id}")))?;
        if !r.active {
            return Err(PayError::Refused(
                "invoice_request no longer available".into(),
            ));
        }
        if r.amount_msat.is_some_and(|a| total > a) {
            return Err(PayError::Refused("invoice amount is too large".into()));
        }
        let preimage = random32();
        let payment_hash: [u8; 32] = Sha256::digest(preimage).into();
        let terms = InvoiceTerms {
            amount_msat: total,
            payment_hash,
            created_at: now(),
            relative_expiry: 90,
        };
        let bolt12 = invoice_for(&r.bytes, &terms, &self.payee);
        let hash = hex::encode(payment_hash);
        let template = Sendpay {
            created_index: 0,
            groupid: 1,
            partid: 0,
            updated_index: None,
            payment_hash: hash,
            preimage: hex::encode(preimage),
            status: "pending",
            amount_msat: 0,
            amount_sent_msat: 0,
            created_at: terms.created_at,
            completed_at: None,
            bolt12,
            destination: self.payee.public_key().to_string(),
            invreq_id: id,
        };
        let mut made = Vec::new();
        for (n, &(amount, sent)) in parts.iter().enumerate() {
            match self.inject(&template, 1, n as u64 + 1, amount, sent) {
                Ok(p) => made.push(p),
                Err(e) if made.is_empty() => return Err(PayError::Rpc(e)),
                Err(e) => return Ok((made, Some(e))),
            }
        }
        Ok((made, None))
    }

    /// xpay sends more parts for a payment already started (a retry after a failed part, or
    /// the rest of a split): the same hash and invoice, in its last group or (`new_group`) a new
    /// one; partids go on from the group's last. Returns the new parts' partids.
    pub fn add_parts(
        &mut self,
        payment_hash: &str,
        parts: &[(u64, u64)],
        new_group: bool,
    ) -> Result<Vec<u64>, PayError> {
        self.alive()?;
        let template = self
            .sendpays
            .iter()
            .filter(|p| p.payment_hash == payment_hash)
            .max_by_key(|p| (p.groupid, p.partid))
            .cloned()
            .ok_or_else(|| PayError::Refused(format!("no payment {payment_hash}")))?;
        let groupid = template.groupid + u64::from(new_group);
        let mut partid = if new_group { 0 } else { template.partid };
        let mut ids = Vec::new();
        for &(amount, sent) in parts {
            partid += 1;
            self.inject(&template, groupid, partid, amount, sent)
                .map_err(PayError::Rpc)?;
            ids.push(partid);
        }
        Ok(ids)
    }

    /// `injectpaymentonion` of one part: lightningd's check, then a `pending` row.
    fn inject(
        &mut self,
        template: &Sendpay,
        groupid: u64,
        partid: u64,
        amount_msat: u64,
        amount_sent_msat: u64,
    ) -> Result<Sendpay, RpcError> {
        self.check_invoice_request_usage(&template.invreq_id)?;
        self.created += 1;
        let pay = Sendpay {
            created_index: self.created,
            groupid,
            partid,
            amount_msat,
            amount_sent_msat,
            created_at: now(),
            status: "pending",
            updated_index: None,
            completed_at: None,
            ..template.clone()
        };
        self.sendpays.push(pay.clone());
        Ok(pay)
    }

    /// lightningd's `check_invoice_request_usage` (`lightningd/pay.c`): error 212 for an unknown
    /// or inactive request, and, for a single-use one, when the FIRST payment row stored for it
    /// is complete or still pending (it looks at no other row: F5 in notes/cln-e2e.md).
    fn check_invoice_request_usage(&self, invreq_id: &str) -> Result<(), RpcError> {
        let refuse = |m: String| RpcError::new(PAY_INVOICE_REQUEST_INVALID, m);
        let r = self
            .invreqs
            .get(invreq_id)
            .ok_or_else(|| refuse("Unknown invoice_request".into()))?;
        if !r.active {
            return Err(refuse("Inactive invoice_request".into()));
        }
        if r.single_use
            && let Some(first) = self
                .sendpays
                .iter()
                .filter(|p| p.invreq_id == invreq_id)
                .min_by_key(|p| p.created_index)
        {
            match first.status {
                "complete" => {
                    return Err(refuse(format!(
                        "Single-use invoice_request already paid with {}",
                        first.payment_hash
                    )));
                }
                "pending" => {
                    return Err(refuse(format!(
                        "Single-use invoice_request already in progress with {}",
                        first.payment_hash
                    )));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Ends every pending part of a payment, oldest first. `None` if none was pending.
    pub fn finish_payment(&mut self, payment_hash: &str, success: bool) -> Option<Sendpay> {
        let parts: Vec<(u64, u64)> = self
            .sendpays
            .iter()
            .filter(|p| p.payment_hash == payment_hash && p.status == "pending")
            .map(|p| (p.groupid, p.partid))
            .collect();
        let mut last = None;
        for (g, p) in parts {
            last = self.finish_part(payment_hash, g, p, success);
        }
        last
    }

    /// Ends one pending part: `updated_index` set (the parts of a payment may end in any order).
    /// A completed part marks the request used like `wallet_invoice_request_mark_used`, which
    /// aborts the node when the request is not active (F1, F5).
    pub fn finish_part(
        &mut self,
        payment_hash: &str,
        groupid: u64,
        partid: u64,
        success: bool,
    ) -> Option<Sendpay> {
        if self.crashed.is_some() {
            return None;
        }
        let pos = self.sendpays.iter().position(|p| {
            p.payment_hash == payment_hash
                && p.groupid == groupid
                && p.partid == partid
                && p.status == "pending"
        })?;
        self.updated += 1;
        let updated = self.updated;
        let pay = &mut self.sendpays[pos];
        pay.status = if success { "complete" } else { "failed" };
        pay.updated_index = Some(updated);
        pay.completed_at = success.then(now);
        let pay = pay.clone();
        if success {
            self.mark_used(&pay.invreq_id);
        }
        Some(pay)
    }

    fn mark_used(&mut self, invreq_id: &str) {
        let Some(r) = self.invreqs.get_mut(invreq_id) else {
            return;
        };
        if !r.active {
            let status = u8::from(r.active) | u8::from(r.single_use) << 1 | u8::from(r.used) << 2;
            self.crash(format!(
                "wallet_invoice_request_mark_used: invreq_id {invreq_id} not active: status {status}"
            ));
            return;
        }
        r.used = true;
        if r.single_use {
            r.active = false;
        }
    }

    fn alive(&self) -> Result<(), PayError> {
        match &self.crashed {
            Some(why) => Err(PayError::Refused(format!("the node is down: {why}"))),
            None => Ok(()),
        }
    }
}

/// Appends a BIP340 signature record by `keypair` to an unsigned stream.
fn sign_with(unsigned: &[u8], keypair: &Keypair) -> Vec<u8> {
    let root = merkle_root(unsigned).expect("checked stream");
    let msg = Message::from_digest(signature_digest("invoice_request", "signature", root));
    let sig = secp().sign_schnorr_no_aux_rand(&msg, keypair);
    let mut out = Vec::with_capacity(unsigned.len() + 67);
    let mut tail = Vec::new();
    for rec in records(unsigned).unwrap_or_default() {
        if rec.typ < 240 {
            out.extend_from_slice(rec.raw);
        } else {
            tail.extend_from_slice(rec.raw);
        }
    }
    put_record(&mut out, 240, sig.as_ref());
    out.extend_from_slice(&tail);
    out
}

/// One blinded path as BOLT12 encodes it: introduction node id, first path key, one hop
/// (blinded node id, 2-byte length, encrypted recipient data). The keys are fresh and the data
/// random: the double only needs a well-formed path (real ones come from CLN's node secret).
fn blinded_path() -> Vec<u8> {
    let mut out = Vec::with_capacity(134);
    out.extend_from_slice(&random_keypair().public_key().serialize());
    out.extend_from_slice(&random_keypair().public_key().serialize());
    out.push(1);
    out.extend_from_slice(&random_keypair().public_key().serialize());
    out.extend_from_slice(&32u16.to_be_bytes());
    out.extend_from_slice(&random32());
    out
}

fn amount_of(bytes: &[u8]) -> Option<u64> {
    records(bytes)
        .ok()?
        .into_iter()
        .find(|r| r.typ == 82)
        .and_then(|r| read_tu64(r.value).ok())
}

fn invreq_json(
    id: &str,
    bolt12: &str,
    active: bool,
    single_use: bool,
    used: bool,
    label: Option<&str>,
) -> Value {
    let mut v = json!({
        "active": active, "bolt12": bolt12, "invreq_id": id, "single_use": single_use, "used": used,
    });
    if let Some(l) = label {
        v["label"] = json!(l);
    }
    v
}

fn sendpay_json(p: &Sendpay) -> Value {
    let mut v = json!({
        "amount_msat": p.amount_msat, "amount_sent_msat": p.amount_sent_msat,
        "bolt12": p.bolt12, "created_at": p.created_at, "created_index": p.created_index,
        "destination": p.destination, "groupid": p.groupid, "id": p.created_index, "partid": p.partid,
        "payment_hash": p.payment_hash, "status": p.status,
    });
    if let Some(u) = p.updated_index {
        v["updated_index"] = json!(u);
    }
    if let Some(c) = p.completed_at {
        v["completed_at"] = json!(c);
    }
    if p.status == "complete" {
        v["payment_preimage"] = json!(p.preimage);
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn node_with(single_use: bool, amount: u64) -> (NodeState, String) {
        let mut n = NodeState::new(
            Network::Regtest,
            "v26.06.6".into(),
            LabelParam::RecurrenceLabel,
        );
        let mut p = Params::new();
        p.insert("amount".into(), json!(amount));
        p.insert("description".into(), json!("t"));
        p.insert("single_use".into(), json!(single_use));
        let v = n.invoicerequest(&p).unwrap();
        (n, v["invreq_id"].as_str().unwrap().to_owned())
    }

    fn rows(n: &NodeState) -> Vec<Value> {
        n.listsendpays(&Params::new()).unwrap()["payments"]
            .as_array()
            .unwrap()
            .clone()
    }

    #[test]
    fn a_split_payment_has_one_row_per_part_without_updated_index_until_updated() {
        let (mut n, id) = node_with(false, 2_500_000_000);
        let (parts, refused) = n
            .start_split(
                &id,
                &[(1_515_000_000, 1_515_000_000), (985_000_000, 985_000_000)],
            )
            .unwrap();
        assert!(refused.is_none());
        let r = rows(&n);
        assert_eq!(r.len(), 2);
        assert_eq!(
            (r[0]["groupid"].as_u64(), r[0]["partid"].as_u64()),
            (Some(1), Some(1))
        );
        assert_eq!(
            (r[1]["groupid"].as_u64(), r[1]["partid"].as_u64()),
            (Some(1), Some(2))
        );
        assert!(r.iter().all(|r| r.get("updated_index").is_none()));
        assert_eq!(r[0]["payment_hash"], r[1]["payment_hash"]);
        // Out of order: part 2 ends first, so part 1 gets the higher updated_index.
        let hash = &parts[0].payment_hash;
        n.finish_part(hash, 1, 2, true).unwrap();
        n.finish_part(hash, 1, 1, true).unwrap();
        let r = rows(&n);
        assert_eq!(r[1]["updated_index"], 1);
        assert_eq!(r[0]["updated_index"], 2);
        assert!(n.crashed().is_none());
        assert!(n.invreqs[&id].used && n.invreqs[&id].active);
    }

    #[test]
    fn a_single_use_request_refuses_its_own_second_part_with_212_and_a_retry_crashes_the_node() {
        let (mut n, id) = node_with(true, 5_000_000);
        let (parts, refused) = n
            .start_split(&id, &[(4_310_000, 4_310_000), (690_000, 690_000)])
            .unwrap();
        assert_eq!(parts.len(), 1);
        let refused = refused.expect("second part refused");
        assert_eq!(refused.code, Some(212));
        assert!(refused.message.contains("already in progress with"));
        let hash = parts[0].payment_hash.clone();
        // The lone part times out; a retry of both parts under the same hash is let through…
        n.finish_part(&hash, 1, 1, false).unwrap();
        n.add_parts(&hash, &[(4_310_000, 4_310_000), (690_000, 690_000)], false)
            .unwrap();
        assert_eq!(rows(&n).len(), 3);
        n.finish_part(&hash, 1, 2, true).unwrap();
        assert!(n.crashed().is_none());
        // …and the second part's success aborts the node (status 6: single-use, used).
        n.finish_part(&hash, 1, 3, true);
        assert!(
            n.crashed().unwrap().contains("not active: status 6"),
            "{:?}",
            n.crashed()
        );
    }

    #[test]
    fn disabling_during_an_in_flight_payment_trips_the_double() {
        let (mut n, id) = node_with(false, 1000);
        n.start_split(&id, &[(1000, 1000)]).unwrap();
        let mut p = Params::new();
        p.insert("invreq_id".into(), json!(id));
        assert!(n.disableinvoicerequest(&p).is_err());
        assert!(n.crashed().unwrap().contains("in flight"));
    }

    #[test]
    fn a_multi_use_request_takes_several_payments_and_a_failed_attempt_is_retried_under_its_hash() {
        let (mut n, id) = node_with(false, 3_000_000);
        let (a, _) = n.start_split(&id, &[(3_000_000, 3_000_000)]).unwrap();
        let (b, _) = n.start_split(&id, &[(3_000_000, 3_000_030)]).unwrap();
        assert_ne!(a[0].payment_hash, b[0].payment_hash);
        n.finish_part(&a[0].payment_hash, 1, 1, false).unwrap();
        assert_eq!(
            n.add_parts(&a[0].payment_hash, &[(3_000_000, 3_000_000)], false)
                .unwrap(),
            vec![2]
        );
        n.finish_payment(&a[0].payment_hash, true).unwrap();
        n.finish_payment(&b[0].payment_hash, true).unwrap();
        let r = rows(&n);
        assert_eq!(r.len(), 3);
        assert_eq!(r.iter().filter(|r| r["status"] == "complete").count(), 2);
        assert!(n.crashed().is_none());
    }
}
